// Program load time: parse + check, then JIT compilation at each optimisation level, with the
// JIT's own phases (lowering, optimisation, machine code). Prints the best of N runs.
//   build/jit_load PROGRAM [RUNS]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "compiler/compiler.h"
#include "compiler/jit.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: jit_load PROGRAM [RUNS]\n");
    return 2;
  }
  int runs = argc > 2 ? std::atoi(argv[2]) : 5;
  std::ifstream in(argv[1]);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string source = ss.str();
  auto ms = [](auto since) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
  };
  double best_check = 1e18;
  std::unique_ptr<perk::checked::Program> program;
  for (int r = 0; r < runs; ++r) {
    auto t = std::chrono::steady_clock::now();
    perk::Diagnostics diags(argv[1], source);
    program = perk::CompileProgram(source, diags);
    best_check = std::min(best_check, ms(t));
    if (!program) {
      fmt::print(stderr, "{}", diags.Render(false));
      return 1;
    }
  }
  fmt::print("parse+check: {:.1f} ms ({} rules)\n", best_check, program->rules.size());
  // {-1, 0} is the default: the IR level picked by program size, fast instruction selection.
  const std::pair<int, int> levels[] = {{-1, 0}, {0, 0}, {perk::jit::Options::kLight, 0}, {1, 0}, {2, 0}, {2, 1}, {2, 2}, {3, 3}};
  for (auto [level, codegen] : levels) {
    double best = 1e18;
    perk::jit::LoadStats stats;
    for (int r = 0; r < runs; ++r) {
      auto t = std::chrono::steady_clock::now();
      std::string error;
      auto code = perk::jit::CompiledProgram::Compile(*program, perk::jit::Options{level, codegen, false}, &error);
      double total = ms(t);
      if (!code) {
        fmt::print(stderr, "jit: {}\n", error);
        return 1;
      }
      if (total < best) {
        best = total;
        stats = code->stats();
      }
    }
    const std::string ir = stats.opt_level == perk::jit::Options::kLight ? "light" : fmt::format("O{}", stats.opt_level);
    fmt::print("{}jit IR {} codegen O{}: {:.1f} ms ({} functions in {} modules: lower {:.1f}, compile {:.1f}); load = {:.1f} ms\n",
               level < 0 ? "default: " : "", ir, codegen, best, stats.functions, stats.modules, stats.lower_ms, stats.compile_ms, best_check + best);
  }
  return 0;
}
