// Program load time: parse + check, then JIT compilation with the JIT's own phases (lowering,
// optimisation and machine code, linking), without the object cache (cold) and from it
// (cached). Prints the first run (a fresh process's parser has no prediction cache yet) and the
// median of N runs.
//   build/jit_load PROGRAM [RUNS] [--levels]
// --levels adds the cold load at each IR and codegen optimisation level.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/jit.h"

namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double Millis(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

struct Jit {
  std::vector<double> total, lower, cache, compile, link;
  perk::jit::LoadStats stats;
};

// `runs` compilations with `options`; false when one fails.
bool Measure(const perk::checked::Program& program, const perk::jit::Options& options, int runs, Jit* out) {
  for (int r = 0; r < runs; ++r) {
    auto t = std::chrono::steady_clock::now();
    std::string error;
    auto code = perk::jit::CompiledProgram::Compile(program, options, &error);
    double ms = Millis(t);
    if (!code) {
      fmt::print(stderr, "jit: {}\n", error);
      return false;
    }
    out->total.push_back(ms);
    out->lower.push_back(code->stats().lower_ms);
    out->cache.push_back(code->stats().cache_ms);
    out->compile.push_back(code->stats().compile_ms);
    out->link.push_back(code->stats().link_ms);
    out->stats = code->stats();
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const bool levels = std::erase(args, "--levels") > 0;
  if (args.empty()) {
    fmt::print(stderr, "usage: jit_load PROGRAM [RUNS] [--levels]\n");
    return 2;
  }
  const int runs = std::max(1, args.size() > 1 ? std::atoi(args[1].c_str()) : 9);
  std::ifstream in(args[0]);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string source = ss.str();

  std::vector<double> check;
  std::unique_ptr<perk::checked::Program> program;
  for (int r = 0; r < runs; ++r) {
    auto t = std::chrono::steady_clock::now();
    perk::Diagnostics diags(args[0], source);
    program = perk::CompileProgram(source, diags);
    check.push_back(Millis(t));
    if (!program) {
      fmt::print(stderr, "{}", diags.Render(false));
      return 1;
    }
  }
  const double check_ms = Median(check);
  fmt::print("parse+check: first {:.1f} ms, median {:.1f} ms ({} rules)\n", check[0], check_ms, program->rules.size());

  // The default options: IR level by program size, fast instruction selection.
  perk::jit::Options cold;
  cold.cache_dir = "";
  Jit c;
  if (!Measure(*program, cold, runs, &c)) return 1;
  fmt::print("jit cold ({} functions in {} modules): median {:.1f} ms (lower {:.1f}, optimise+codegen {:.1f}, link {:.1f}); "
             "load = {:.1f} ms\n",
             c.stats.functions, c.stats.modules, Median(c.total), Median(c.lower), Median(c.compile), Median(c.link),
             check_ms + Median(c.total));

  // The object cache, in a directory of its own: the first compilation stores, the rest hit.
  const std::string dir = (std::filesystem::temp_directory_path() / ("perk-jit-load-" + std::to_string(::getpid()))).string();
  perk::jit::Options cached;
  cached.cache_dir = dir;
  Jit store, hit;
  bool ok = Measure(*program, cached, 1, &store) && Measure(*program, cached, runs, &hit);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!ok) return 1;
  if (hit.stats.cache != perk::jit::CacheUse::Hit) {
    fmt::print(stderr, "jit_load: the second load did not hit the object cache in {}\n", dir);
    return 1;
  }
  fmt::print("jit storing to the cache: {:.1f} ms\n", store.total[0]);
  fmt::print("jit cached: median {:.1f} ms (lower {:.1f}, key and read {:.1f}, link {:.1f}); load = {:.1f} ms\n",
             Median(hit.total), Median(hit.lower), Median(hit.cache), Median(hit.link), check_ms + Median(hit.total));

  if (!levels) return 0;
  const std::pair<int, int> table[] = {{0, 0}, {perk::jit::Options::kLight, 0}, {1, 0}, {2, 0}, {2, 1}, {2, 2}, {3, 3}};
  for (auto [level, codegen] : table) {
    perk::jit::Options options;
    options.opt_level = level;
    options.codegen_level = codegen;
    options.cache_dir = "";
    Jit j;
    if (!Measure(*program, options, runs, &j)) return 1;
    const std::string ir = level == perk::jit::Options::kLight ? "light" : fmt::format("O{}", level);
    fmt::print("jit IR {} codegen O{}: median {:.1f} ms (lower {:.1f}, optimise+codegen {:.1f}, link {:.1f}); load = {:.1f} ms\n",
               ir, codegen, Median(j.total), Median(j.lower), Median(j.compile), Median(j.link), check_ms + Median(j.total));
  }
  return 0;
}
