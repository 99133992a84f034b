// `perk analyze` and `perk check --analyze`: the worst-case payouts, dead rules, overlaps and
// suspicious arithmetic of a program (docs/analyze.md).
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace perk::checked {
struct Program;
}
namespace perk::report {
struct WorstCase;
}

namespace perk::cli {

struct AnalyzeCliOptions {
  std::string program;
  std::vector<std::string> params;
  bool json = false;
  std::string witness_dir;     // write each witness stream and its claims here
  unsigned effort = 5'000'000;  // per solver question, in Z3 resource units (analyze.h)
  unsigned query_ms = 10'000;   // and in wall-clock time
  bool from_check = false;     // `perk check --analyze`
};

// Registers `analyze` on `app`, and `--analyze` on the `check` subcommand.
CLI::App* AddAnalyzeCommand(CLI::App& app, CLI::App* check, AnalyzeCliOptions* options);

int Analyze(const AnalyzeCliOptions& options);
// After `perk check PROGRAM` gave `check_code`: the analysis too when --analyze was given.
int AnalyzeAfterCheck(int check_code, const std::string& path, AnalyzeCliOptions options);
// The analysis as `perk run --report`'s page shows it (its "Worst case" section).
report::WorstCase WorstCaseOf(const checked::Program& program);

}  // namespace perk::cli
