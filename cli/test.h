// `perk test [PATH...]`: runs the scenarios of `*.perktest` files with both engines
// (docs/test.md).
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace perk::cli {

struct TestOptions {
  std::vector<std::string> paths;  // files or folders; none: the working directory
  std::string junit;               // write JUnit XML here
};

// Registers the subcommand and its options on `app`.
CLI::App* AddTestCommand(CLI::App& app, TestOptions* options);

int Test(const TestOptions& options);

}  // namespace perk::cli
