// Judging one scenario's two runs: what failed on each engine, and whether they agree.
#include <fmt/format.h>

#include "cli/perktest_run.h"

namespace perk::perktest {
namespace {

std::string RenderFailures(const std::vector<Failure>& failures, const char* engines, bool with_explain) {
  std::string out;
  for (const Failure& f : failures) {
    out += f.headline + (engines ? fmt::format(" ({})", engines) : "") + "\n" + f.detail;
    if (with_explain && !f.explain.empty()) out += "    why (`:explain` of the reference interpreter):\n" + f.explain;
  }
  return out;
}

}  // namespace

std::string Judge(const perktest::RunResult& interp, const perktest::RunResult& jit) {
  std::string out;
  if (interp.failures == jit.failures) {
    out = RenderFailures(interp.failures, nullptr, true);
  } else {
    // Where the engines part, each one's own failures: the interpreter is the reference.
    out = RenderFailures(interp.failures, "interp", true) + RenderFailures(jit.failures, "jit", false);
  }
  if (interp.ledger != jit.ledger) {
    out += "the engines wrote different ledgers (interp is the reference):\n";
    size_t k = 0;
    while (k < interp.ledger.size() && k < jit.ledger.size() && interp.ledger[k] == jit.ledger[k]) ++k;
    for (size_t j = k; j < interp.ledger.size() && j < k + 5; ++j) out += "    - interp " + interp.ledger[j] + "\n";
    for (size_t j = k; j < jit.ledger.size() && j < k + 5; ++j) out += "    + jit    " + jit.ledger[j] + "\n";
  }
  return out;
}

}  // namespace perk::perktest
