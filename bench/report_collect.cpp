// Times the report alone: feeds a ledger file to the collector in 1 MiB chunks, as `perk run`
// drains it, then builds the page. usage: report_collect PROGRAM LEDGER [PAGE]
// The clients' first days are not in a ledger, so new-client figures stay empty here.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "compiler/compiler.h"
#include "report/report.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: report_collect PROGRAM LEDGER [PAGE]\n");
    return 2;
  }
  std::string source;
  {
    FILE* f = std::fopen(argv[1], "rb");
    if (!f) return 2;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) source.append(buf, n);
    std::fclose(f);
  }
  perk::Diagnostics diags(argv[1], source);
  auto program = perk::CompileProgram(source, diags);
  if (!program) {
    fmt::print(stderr, "{}", diags.Render(false));
    return 1;
  }
  FILE* ledger = std::fopen(argv[2], "rb");
  if (!ledger) {
    fmt::print(stderr, "cannot read {}\n", argv[2]);
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  perk::report::Collector collector(*program);
  std::string chunk, rest;
  std::vector<char> buf(1 << 20);
  size_t n, bytes = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), ledger)) > 0) {
    bytes += n;
    chunk = rest;
    chunk.append(buf.data(), n);
    size_t cut = chunk.rfind('\n');
    if (cut == std::string::npos) {
      rest = chunk;
      continue;
    }
    rest = chunk.substr(cut + 1);
    chunk.resize(cut + 1);
    collector.AddLedger(chunk);
  }
  if (!rest.empty()) collector.AddLedger(rest);
  std::fclose(ledger);
  auto collected = std::chrono::steady_clock::now();
  perk::report::RunFigures figures = collector.Finish({}, {});
  std::string page = perk::report::RunPage(figures, {"", argv[1], argv[2], "-"});
  auto done = std::chrono::steady_clock::now();
  if (argc > 3) {
    FILE* out = std::fopen(argv[3], "wb");
    if (out) {
      std::fwrite(page.data(), 1, page.size(), out);
      std::fclose(out);
    }
  }
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  fmt::print("collector: {} ledger lines ({:.0f} MB) in {:.0f} ms; page: {:.0f} ms, {} bytes{}\n", figures.ledger_entries,
             bytes / 1e6, ms(start, collected), ms(collected, done), page.size(),
             figures.unreadable_lines ? fmt::format(" ({} unreadable lines!)", figures.unreadable_lines) : "");
  return figures.unreadable_lines ? 1 : 0;
}
