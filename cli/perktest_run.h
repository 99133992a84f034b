// Running one `perk test` scenario on one engine, from an empty state, and checking its
// expectations against the engine's typed output (runtime/sink.h) and client state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cli/perktest.h"
#include "cli/repl_view.h"
#include "compiler/checked.h"
#include "runtime/engine.h"
#include "runtime/interp.h"

namespace perk::perktest {

// A program as scenarios run it: checked, with its params applied, and the JIT's code for it.
struct LoadedProgram {
  std::string source;
  repl::SourceLines lines;  // for `:explain`'s expression texts
  std::unique_ptr<checked::Program> program;
  std::unique_ptr<runtime::Evaluator> jit;  // null when the JIT cannot compile it (jit_error says why)
  std::string jit_error;
};

// One expectation that did not hold (or a record the scenario could not feed).
struct Failure {
  uint32_t line = 0;     // in the scenario file
  std::string headline;  // "line 14: expected entry not written: credit bonus 75.00 to c1 by welcome"
  std::string detail;    // the diff of expected against written entries, indented
  std::string explain;   // why the rule did not write it (the reference interpreter's :explain)
  bool operator==(const Failure& o) const { return line == o.line && headline == o.headline && detail == o.detail; }
};

struct RunResult {
  std::vector<Failure> failures;
  std::vector<std::string> ledger;  // every entry written, as text, to compare the engines
};

// Checks the names a scenario's expectations use against the program (wallets, vars, tiers,
// segments, rules, amounts); each problem points at the word.
std::vector<ParseError> Validate(const Scenario& scenario, const checked::Program& program);

// Both engines' results as the report shows them; "" when both met every expectation and
// wrote the same ledger. Failures both share are shown once, with the interpreter's
// explanations; where they differ, each engine's own; a ledger that differs gets a diff.
std::string Judge(const RunResult& interp, const RunResult& jit);

// Runs `scenario` on a fresh engine of `kind`. With `explain`, missed entries carry the rule's
// explanation (traced through the engine's rule observer, evaluated by the interpreter).
RunResult RunScenario(const Scenario& scenario, const LoadedProgram& program, runtime::EngineKind kind, bool explain);

}  // namespace perk::perktest
