// `perk run`: a program over a JSON Lines stream, writing the ledger and rejects (spec §7).
#include <fmt/format.h>

#include <cstdio>
#include <optional>

#include "cli/common.h"
#include "cli/progress.h"
#include "report/report.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"
#include "stdlib/stdlib.h"

namespace perk::cli {

int Run(const RunOptions& o) {
  if (o.engine != "jit" && o.engine != "interp") {
    fmt::print(stderr, "perk: --engine must be `jit` or `interp`, got `{}`\n", o.engine);
    return 2;
  }
  if (o.state.empty() && !o.allow_drop.empty()) {
    fmt::print(stderr, "perk: --allow-drop only applies to a program upgrade on --state\n");
    return 2;
  }
  if (!o.state.empty() && !o.report.empty()) {
    // A report describes one run from an empty start; a durable run continues earlier ones.
    fmt::print(stderr, "perk: --report describes a run from an empty state; run without --state to get one\n");
    return 2;
  }
  int code = 0;
  auto program = Load(o.program, false, &code);
  if (!program) return code;
  if (!ApplyParams(*program, o.params)) return 2;
  std::optional<int64_t> until;
  if (!o.until.empty()) {
    std::string error;
    until = stdlib::ParseTime(o.until, &error);
    if (!until) {
      fmt::print(stderr, "perk: --until {}: {}\n", o.until, error);
      return 2;
    }
  }
  std::string error;
  auto reader = runtime::LineReader::Open(o.events, &error);
  if (!reader) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  // With --state the outputs are append-only logs the store continues: never truncated here.
  if (!o.state.empty()) return RunDurable(o, *program, *reader, until);
  Output ledger, rejects;
  if (!ledger.Open(o.ledger, stdout)) {
    fmt::print(stderr, "perk: cannot write the ledger to {}\n", o.ledger);
    return 2;
  }
  if (!rejects.Open(o.rejects, stderr)) {
    fmt::print(stderr, "perk: cannot write rejects to {}\n", o.rejects);
    return 2;
  }
  auto evaluator = runtime::CreateEvaluator(o.engine == "jit" ? runtime::EngineKind::Jit : runtime::EngineKind::Interp,
                                           *program, &error);
  if (!evaluator) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  // The engine and the JIT's code are left for the process exit to reclaim: freeing a million clients' state one by one took 7% of a benchmark run. Kept
  // reachable from a global so leak checkers stay quiet.
  static runtime::Engine* kept_until_exit = nullptr;
  kept_until_exit = new runtime::Engine(*program, evaluator.release());
  runtime::Engine& engine = *kept_until_exit;

  // --report: the collector sees every ledger and reject line just before it is written out.
  Output report_out;
  std::unique_ptr<report::Collector> collector;
  if (!o.report.empty()) {
    if ((o.report == "-") && (o.ledger.empty() || o.ledger == "-")) {
      fmt::print(stderr, "perk: --report - and the ledger would both go to stdout; give --ledger FILE\n");
      return 2;
    }
    if (!report_out.Open(o.report, stdout)) {
      fmt::print(stderr, "perk: cannot write the report to {}\n", o.report);
      return 2;
    }
    collector = std::make_unique<report::Collector>(*program);
    collector->Begin(engine.clients());
  }
  auto write_ledger = [&] {
    if (collector) collector->AddLedger(engine.ledger());
    return ledger.Write(engine.ledger());
  };
  auto write_rejects = [&] {
    if (collector) collector->AddRejects(engine.rejects());
    return rejects.Write(engine.rejects());
  };
  Progress progress(*reader);
  std::string_view line;
  uint64_t number = 0;
  bool ok = true;
  while (reader->Next(&line, &number)) {
    engine.ProcessLine(line, number);
    if (engine.ledger().size() > (1 << 20)) ok &= write_ledger();
    if (engine.rejects().size() > (1 << 16)) ok &= write_rejects();
    progress.Tick(number, line.size());
  }
  progress.Done();
  if (!reader->error().empty()) {
    // A read error mid-file must not look like the end of input: say so and fail.
    ok &= write_ledger() && write_rejects();
    ledger.Flush();
    rejects.Flush();
    fmt::print(stderr, "perk: reading {} failed after line {}: {}\n", o.events, number, reader->error());
    // A report of part of the input would look complete: leave none.
    if (collector && o.report != "-") std::remove(o.report.c_str());
    return 2;
  }
  if (until) engine.AdvanceTo(*until);
  ok &= write_ledger();
  ok &= write_rejects();
  ok &= ledger.Flush() && rejects.Flush();
  const auto& s = engine.stats();
  if (collector) {
    report::RunFigures figures = collector->Finish(engine.clients(), s);
    std::string page = report::RunPage(figures, {program->name, o.program, o.events, o.engine});
    ok &= report_out.Write(page) && report_out.Flush();
  }
  fmt::print(stderr, "perk: {} records, {} effects, {} rejects, {} duplicates\n", s.records, s.effects, s.rejects,
             s.duplicates);
  if (!ok) {
    fmt::print(stderr, "perk: writing the output failed (disk full?)\n");
    return 2;
  }
  return 0;
}

}  // namespace perk::cli
