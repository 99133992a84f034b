// `perk repl [PROGRAM]`: the engineers' workbench for trying a program record by record.
#pragma once

#include <string>
#include <vector>

namespace perk::cli {

struct ReplOptions {
  std::string program;  // "" to start with an empty program
  std::string engine = "interp";
  std::vector<std::string> params;
  bool json = false;  // print effects as ledger lines instead of tables
};

// Runs the session on stdin/stdout: with line editing when stdin is a terminal, plain lines
// otherwise. Returns the process exit code (0 unless the options themselves are wrong).
int Repl(const ReplOptions& options);

}  // namespace perk::cli
