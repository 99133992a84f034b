// `perk fmt`: rewrites programs in their canonical layout, or checks that they are (docs/fmt.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace perk::cli {

struct FmtOptions {
  std::vector<std::string> files;  // none, or "-": standard input to standard output
  bool check = false;
};

// Registers the subcommand and its options on `app`.
CLI::App* AddFmtCommand(CLI::App& app, FmtOptions* options);

// 0: every file formatted (or already so); 1: --check found a file to reformat; 2: a file
// could not be read, written or parsed.
int Fmt(const FmtOptions& options);

// A unified diff of two texts, line by line, with three lines of context; "" when equal.
std::string UnifiedDiff(std::string_view old_text, std::string_view new_text, const std::string& old_name,
                        const std::string& new_name);

}  // namespace perk::cli
