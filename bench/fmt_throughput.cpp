// `perk fmt`'s layout in process (FormatSource, as the language server calls it): thread CPU
// time per call on one program, median of RUNS, beside parsing the same text to an AST.
// usage: build/fmt_throughput PROGRAM [RUNS]
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "compiler/ast.h"
#include "compiler/format.h"

namespace {

template <typename F>
double MedianMs(int runs, F&& f) {
  std::vector<int64_t> ns;
  for (int i = 0; i < runs; ++i) {
    int64_t start = bench::ThreadCpuNs();
    f();
    ns.push_back(bench::ThreadCpuNs() - start);
  }
  std::sort(ns.begin(), ns.end());
  return static_cast<double>(ns[ns.size() / 2]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    fmt::print(stderr, "usage: fmt_throughput PROGRAM [RUNS]\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string source = buffer.str();
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 21;
  perk::Diagnostics first(argv[1], source);
  auto formatted = perk::FormatSource(source, first);
  if (!formatted) {
    fmt::print(stderr, "{}", first.Render(false));
    return 1;
  }
  for (const auto& [name, text] : {std::pair<const char*, const std::string*>{"as written", &source},
                                   {"already formatted", &*formatted}}) {
    double ms = MedianMs(runs, [&] {
      perk::Diagnostics diags(argv[1], *text);
      if (!perk::FormatSource(*text, diags)) std::abort();
    });
    fmt::print("FormatSource ({}): {:.1f} ms CPU, median of {}; {:.2f} MB/s\n", name, ms, runs,
               static_cast<double>(text->size()) / ms / 1e3);
  }
  // On this thread: CompileProgram would run on its own, out of the thread's CPU time.
  double parse = MedianMs(runs, [&] {
    perk::Diagnostics diags(argv[1], source);
    perk::ast::ParseProgram(source, diags);
  });
  fmt::print("ParseProgram alone (for scale): {:.1f} ms CPU, median of {}\n", parse, runs);
  return 0;
}
