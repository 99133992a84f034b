// Tests for how `perk test` judges a scenario's two runs (cli/perktest_judge.cpp): shared
// failures once, the engines' own where they part, and a diff when their ledgers differ.
#include <catch2/catch.hpp>

#include <string>

#include "cli/perktest_run.h"

namespace perk::perktest {
namespace {

RunResult Result(std::vector<Failure> failures, std::vector<std::string> ledger) {
  RunResult r;
  r.failures = std::move(failures);
  r.ledger = std::move(ledger);
  return r;
}

const Failure kMissed{8, "line 8: expected entry not written: credit bonus 75.00", "    - credit bonus 75.00\n",
                      "    rule welcome ...\n"};

TEST_CASE("perktest judge: both engines pass and agree") {
  auto r = Result({}, {"line7 credit bonus +75.00 -> 75.00 to c1 by welcome"});
  CHECK(Judge(r, r).empty());
}

TEST_CASE("perktest judge: a failure both share is shown once, with the explanation") {
  auto r = Result({kMissed}, {});
  std::string out = Judge(r, r);
  CHECK(out == "line 8: expected entry not written: credit bonus 75.00\n    - credit bonus 75.00\n"
               "    why (`:explain` of the reference interpreter):\n    rule welcome ...\n");
}

TEST_CASE("perktest judge: where the engines part, each one's failures are named") {
  std::string out = Judge(Result({}, {"a"}), Result({kMissed}, {"a"}));
  CHECK(out == "line 8: expected entry not written: credit bonus 75.00 (jit)\n    - credit bonus 75.00\n");
}

TEST_CASE("perktest judge: different ledgers fail, with the first entries that differ") {
  std::string out = Judge(Result({}, {"same", "interp's"}), Result({}, {"same", "jit's", "more"}));
  CHECK(out == "the engines wrote different ledgers (interp is the reference):\n"
               "    - interp interp's\n    + jit    jit's\n    + jit    more\n");
}

}  // namespace
}  // namespace perk::perktest
