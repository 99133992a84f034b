// Unit tests for the engine's entry points: decoded records take the same path as lines, and
// both evaluators give the same ledger.
#include <catch2/catch.hpp>

#include <functional>

#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"

namespace {

const char* kProgram = R"(program "Engine test"
currency USD
event deposit { amount: money, first: bool = false }
wallet bonus: money
rule welcome
  on deposit
  when deposit.first
  limit once per client
  then credit bonus deposit.amount * 10%
end
rule big
  on deposit
  when deposit.amount >= 1000 USD
  limit once per client
  then credit bonus deposit.amount / (if deposit.first then 0 else 1)
end
)";

const char* kLines[] = {
    R"({"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"250.00","first":true})",
    R"({"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:01:00Z","amount":"250.00","first":true})",
    R"({"type":"deposit","id":"d2","client":"c2","time":"2026-01-05T10:02:00Z","amount":"1000.00","first":true})",
    R"({"type":"deposit","id":"d3","client":"c2","time":"2026-01-05T10:03:00Z","amount":"40.00","first":true})",
};

std::unique_ptr<perk::checked::Program> Compile() {
  perk::Diagnostics diags("test.perk", kProgram);
  auto program = perk::CompileProgram(kProgram, diags);
  INFO(diags.Render(false));
  REQUIRE(program);
  return program;
}

std::string RunLines(const perk::checked::Program& p, perk::runtime::Evaluator* e, std::string* rejects) {
  perk::runtime::Engine engine(p, e);
  uint64_t n = 0;
  for (const char* line : kLines) engine.ProcessLine(line, ++n);
  *rejects = engine.rejects();
  return engine.ledger();
}

}  // namespace

TEST_CASE("decoded records give the ledger their lines give") {
  auto p = Compile();
  std::string line_rejects;
  std::string by_line = RunLines(*p, nullptr, &line_rejects);
  // The same records, decoded first (no dedup in the decoder: the engine's own check).
  perk::runtime::RecordDecoder decoder(perk::runtime::InputSchemaOf(*p));
  perk::runtime::Engine engine(*p);
  uint64_t n = 0;
  for (const char* line : kLines) {
    perk::runtime::Record rec;
    std::string error;
    REQUIRE(decoder.Decode(line, [](std::string_view) { return false; }, &rec, &error) == perk::runtime::DecodeOutcome::Ok);
    engine.ProcessDecoded(rec, ++n);
  }
  CHECK(engine.ledger() == by_line);
  CHECK(engine.rejects() == line_rejects);
  CHECK(engine.stats().duplicates == 1);
  // d2 divides by zero in rule `big`: rejected whole, its welcome credit rolled back.
  CHECK(line_rejects.find("\"line\":3") != std::string::npos);
  CHECK(line_rejects.find("division by zero") != std::string::npos);
}

TEST_CASE("the JIT and the interpreter write the same ledger and rejects") {
  auto p = Compile();
  std::string error;
  auto jit = perk::runtime::CreateEvaluator(perk::runtime::EngineKind::Jit, *p, &error);
  INFO(error);
  REQUIRE(jit);
  std::string interp_rejects, jit_rejects;
  std::string interp_ledger = RunLines(*p, nullptr, &interp_rejects);
  std::string jit_ledger = RunLines(*p, jit.get(), &jit_rejects);
  CHECK(!interp_ledger.empty());
  CHECK(jit_ledger == interp_ledger);
  CHECK(jit_rejects == interp_rejects);
}
