// What the benchmark executables share: reading and checking a program, and thread CPU time.
// Header-only because every bench/*.cpp is built as its own executable.
#pragma once

#include <fmt/format.h>
#include <time.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "compiler/compiler.h"

namespace bench {

// CPU time of this thread: on a machine shared with other work, wall time mostly measures
// the neighbours.
inline int64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// The checked program at `path`, or nullptr after printing why (prefixed with `tool`), with
// *exit_code 2 when the file cannot be read and 1 when the program has errors.
inline std::unique_ptr<perk::checked::Program> LoadProgram(const std::string& path, const char* tool, int* exit_code) {
  std::ifstream in(path);
  if (!in) {
    fmt::print(stderr, "{}: cannot read {}\n", tool, path);
    *exit_code = 2;
    return nullptr;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string source = ss.str();
  perk::Diagnostics diags(path, source);
  auto program = perk::CompileProgram(source, diags);
  if (!program) {
    fmt::print(stderr, "{}", diags.Render(false));
    *exit_code = 1;
  }
  return program;
}

}  // namespace bench
