// Shared pieces of the `perk` subcommands.
#include "cli/common.h"

#include <fmt/format.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "compiler/compiler.h"

namespace perk::cli {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::unique_ptr<checked::Program> Load(const std::string& path, bool show_warnings, int* exit_code) {
  std::string source;
  if (!ReadFile(path, &source)) {
    fmt::print(stderr, "perk: cannot read {}\n", path);
    *exit_code = 2;
    return nullptr;
  }
  perk::Diagnostics diags(path, source);
  auto program = perk::CompileProgram(source, diags);
  bool color = isatty(fileno(stderr));
  if (diags.HasErrors() || (show_warnings && diags.warnings() > 0)) fmt::print(stderr, "{}", diags.Render(color));
  if (diags.HasErrors()) {
    fmt::print(stderr, "{}: {} error{}{}\n", path, diags.errors(), diags.errors() == 1 ? "" : "s",
               diags.warnings() ? fmt::format(", {} warning{}", diags.warnings(), diags.warnings() == 1 ? "" : "s") : "");
    *exit_code = 1;
    return nullptr;
  }
  *exit_code = 0;
  return program;
}

bool ApplyParams(checked::Program& program, const std::vector<std::string>& params) {
  for (const auto& p : params) {
    auto eq = p.find('=');
    if (eq == std::string::npos) {
      fmt::print(stderr, "perk: --param takes NAME=VALUE, got `{}`\n", p);
      return false;
    }
    std::string error;
    if (!OverrideParam(program, p.substr(0, eq), p.substr(eq + 1), &error)) {
      fmt::print(stderr, "perk: {}\n", error);
      return false;
    }
  }
  return true;
}

}  // namespace perk::cli
