// Times the report alone: runs the events through the engine (the reference interpreter) into
// a sink that keeps a copy of every entry and outcome, then folds those copies into the
// collector, as `perk run --report` hands them out, and builds the page.
// usage: report_collect PROGRAM EVENTS [PAGE]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <string>

#include "compiler/compiler.h"
#include "report/report.h"
#include "runtime/engine.h"
#include "runtime/records.h"

namespace {

// Entries and outcomes with what their views point at copied (names of the program stay
// views: the program outlives them).
struct Kept final : perk::runtime::Sink {
  struct Entry {
    perk::runtime::LedgerEntry entry;
    std::string client, event_id;
    std::vector<perk::Value> values;
    std::vector<perk::runtime::LedgerValue> fields;
  };
  struct Outcome {
    perk::runtime::RecordOutcome outcome;
    std::string id, client, message;
  };
  std::deque<Entry> entries;  // a deque: the views of a kept entry point into it
  std::deque<Outcome> outcomes;
  void Entry(const perk::runtime::LedgerEntry& e) override {
    auto& k = entries.emplace_back();
    k.entry = e;
    k.client = e.client;
    k.event_id = e.event_id;
    k.entry.client = k.client;
    k.entry.event_id = k.event_id;
    for (const auto& v : e.values) k.values.push_back(*v.value);
    for (size_t i = 0; i < e.values.size(); ++i) k.fields.push_back({e.values[i].key, e.values[i].type, &k.values[i]});
    k.entry.values = k.fields;
  }
  void Outcome(const perk::runtime::RecordOutcome& o) override {
    auto& k = outcomes.emplace_back();
    k.outcome = o;
    k.id = o.id, k.client = o.client, k.message = o.message;
    k.outcome.id = k.id, k.outcome.client = k.client, k.outcome.message = k.message;
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fmt::print(stderr, "usage: report_collect PROGRAM EVENTS [PAGE]\n");
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
  std::string error;
  auto reader = perk::runtime::LineReader::Open(argv[2], &error);
  if (!reader) {
    fmt::print(stderr, "{}\n", error);
    return 2;
  }
  perk::runtime::Engine engine(*program);
  Kept kept;
  engine.AddSink(&kept);
  std::string_view line;
  uint64_t number = 0;
  while (reader->Next(&line, &number)) {
    engine.ProcessLine(line, number);
    engine.ledger().clear();
    engine.rejects().clear();
  }

  auto start = std::chrono::steady_clock::now();
  perk::report::Collector collector(*program);
  for (const auto& k : kept.entries) collector.Entry(k.entry);
  for (const auto& k : kept.outcomes) collector.Outcome(k.outcome);
  auto collected = std::chrono::steady_clock::now();
  perk::report::RunFigures figures = collector.Finish(engine.clients(), engine.stats());
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
  fmt::print("collector: {} ledger entries in {:.0f} ms; page: {:.0f} ms, {} bytes\n", figures.ledger_entries,
             ms(start, collected), ms(collected, done), page.size());
  return 0;
}
