// `perk diff`: runs both versions side by side over one read of the input, line by line, so
// their ledgers can be matched as they are written; prints a summary and writes the page.
#include "cli/diff.h"

#include <fmt/format.h>

#include <optional>

#include "cli/common.h"
#include "cli/progress.h"
#include "report/report.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"
#include "stdlib/stdlib.h"
#include "stdlib/zone.h"

namespace perk::cli {

namespace {

// The clock's date in the program's zone, as the engine's day ticks count days.
int64_t ClockDay(const runtime::Engine& e, const checked::Program& p) {
  return e.has_clock() ? perk_tz_date(p.zone, e.clock()) : INT64_MIN;
}

}  // namespace

int Diff(const DiffOptions& o) {
  if (o.engine != "jit" && o.engine != "interp") {
    fmt::print(stderr, "perk: --engine must be `jit` or `interp`, got `{}`\n", o.engine);
    return 2;
  }
  if (!DistinctFiles({{"the old program", o.old_program, false},
                     {"the new program", o.new_program, false},
                     {"--events", o.events, false},
                     {"--report", o.report, true}})) return 2;
  int code = 0;
  auto old_program = Load(o.old_program, false, &code);
  if (!old_program) return code;
  auto new_program = Load(o.new_program, false, &code);
  if (!new_program) return code;
  std::optional<int64_t> until;
  std::string error;
  if (!o.until.empty()) {
    until = stdlib::ParseTime(o.until, &error);
    if (!until) {
      fmt::print(stderr, "perk: --until {}: {}\n", o.until, error);
      return 2;
    }
  }
  auto reader = runtime::LineReader::Open(o.events, &error);
  if (!reader) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  Output report_out;
  if (!o.report.empty() && !report_out.Open(o.report, stdout)) {
    fmt::print(stderr, "perk: cannot write the report to {}\n", o.report);
    return 2;
  }
  auto kind = o.engine == "jit" ? runtime::EngineKind::Jit : runtime::EngineKind::Interp;
  auto old_evaluator = runtime::CreateEvaluator(kind, *old_program, &error);
  if (!old_evaluator) {
    fmt::print(stderr, "perk: {}: {}\n", o.old_program, error);
    return 2;
  }
  auto new_evaluator = runtime::CreateEvaluator(kind, *new_program, &error);
  if (!new_evaluator) {
    fmt::print(stderr, "perk: {}: {}\n", o.new_program, error);
    return 2;
  }
  runtime::Engine old_engine(*old_program, old_evaluator.get()), new_engine(*new_program, new_evaluator.get());
  report::Collector old_collector(*old_program), new_collector(*new_program);
  old_collector.Begin(old_engine.clients());
  new_collector.Begin(new_engine.clients());
  old_engine.AddSink(&old_collector);
  new_engine.AddSink(&new_collector);
  report::EffectDiff diff(*old_program, *new_program);
  old_engine.AddSink(&diff.old_sink());
  new_engine.AddSink(&diff.new_sink());

  // After each input line: the matcher pairs what both versions wrote (the collectors and
  // the matcher are sinks: they have seen the entries already), and the text is dropped.
  auto drain = [&] {
    diff.EndLine(ClockDay(old_engine, *old_program), ClockDay(new_engine, *new_program));
    old_engine.ledger().clear();
    new_engine.ledger().clear();
    old_engine.rejects().clear();
    new_engine.rejects().clear();
  };
  Progress progress(*reader);
  std::string_view line;
  uint64_t number = 0;
  while (reader->Next(&line, &number)) {
    old_engine.ProcessLine(line, number);
    new_engine.ProcessLine(line, number);
    drain();
    progress.Tick(number, line.size());
  }
  progress.Done();
  if (!reader->error().empty()) {
    fmt::print(stderr, "perk: reading {} failed after line {}: {}\n", o.events, number, reader->error());
    return 2;
  }
  if (until) {
    old_engine.AdvanceTo(*until);
    new_engine.AdvanceTo(*until);
    drain();
  }

  report::RunFigures old_figures = old_collector.Finish(old_engine.clients(), old_engine.stats());
  report::RunFigures new_figures = new_collector.Finish(new_engine.clients(), new_engine.stats());
  report::DiffFigures figures = diff.Finish(old_engine.clients(), new_engine.clients());
  report::PageInfo info{"", o.old_program + " → " + o.new_program, o.events, o.engine};
  std::string text = report::DiffText(old_figures, new_figures, figures, info);
  bool ok = true;
  // With the page on stdout, the text summary goes to stderr so the page stays whole.
  bool page_on_stdout = o.report == "-";
  fmt::print(page_on_stdout ? stderr : stdout, "{}", text);
  if (!o.report.empty()) {
    std::string page = report::DiffPage(old_figures, new_figures, figures, info);
    ok = report_out.Write(page) && report_out.Flush();
  }
  if (!ok || std::fflush(stdout) != 0) {
    fmt::print(stderr, "perk: writing the output failed (disk full?)\n");
    return 2;
  }
  return 0;
}

}  // namespace perk::cli
