// `perk run`: a program over a JSON Lines stream, writing the ledger and rejects (spec §7).
#include <fmt/format.h>

#include <cstdio>
#include <optional>

#include <simdjson.h>

#include "cli/analyze.h"
#include "cli/common.h"
#include "cli/input.h"
#include "cli/progress.h"
#include "embed/boundary.h"
#include "compiler/jit.h"
#include "report/report.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"
#include "stdlib/stdlib.h"

namespace perk::cli {
namespace {

// --explain: one JSON line on stderr per rule the engine considers, before its effects: the
// input line that caused it, the rule, its limit use and the value of its `when` (evaluated
// by the reference interpreter in the state the rule sees). Tools can pick these lines out of
// stderr by their "explain" key.
void Explain(const checked::Program& p, int rule_index, const runtime::EvalContext& ctx, std::string_view trigger,
             uint64_t line) {
  const checked::Rule& rule = p.rules[rule_index];
  std::string limit = "null";
  bool limit_ok = true;
  if (rule.has_limit) {
    const int64_t used = runtime::LimitUsed(p, rule_index, ctx);
    limit_ok = used < rule.limit_count;
    limit = fmt::format("{{\"used\":{},\"max\":{}}}", used, rule.limit_count);
  }
  std::string when = "true";
  if (!limit_ok) {
    when = "null";  // not evaluated: the limit stops the rule first
  } else if (rule.when) {
    Value v;
    SourceRange where;
    PerkStatus s = runtime::Eval(*rule.when, ctx, &v, &where);
    when = s != PERK_OK ? stdlib::JsonQuote(s == PERK_DIV_BY_ZERO ? "division by zero" : "arithmetic overflow")
                        : (v.i ? "true" : "false");
  }
  fmt::print(stderr, "{{\"explain\":{{\"line\":{},\"trigger\":{},\"client\":{},\"rule\":{},\"limit\":{},\"when\":{}}}}}\n",
             line, stdlib::JsonQuote(trigger), stdlib::JsonQuote(ctx.client->id), stdlib::JsonQuote(rule.name), limit, when);
}

}  // namespace

void PrintTickStats(const runtime::Engine& engine) {
  const runtime::TickStats& t = engine.tick_stats();
  fmt::print(stderr,
             "perk: day ticks: {} ticks, {} client visits ({:.1f} per tick), {} known clients; {} ticks visited every "
             "client\n",
             t.ticks, t.visits, t.ticks ? static_cast<double>(t.visits) / static_cast<double>(t.ticks) : 0.0,
             engine.clients().size(), t.full_ticks);
  const size_t events = engine.reversal_events(), bytes = engine.reversal_bytes();
  fmt::print(stderr, "perk: reversals can reach {} events, holding {} bytes ({:.0f} per event)\n", events, bytes,
             events ? static_cast<double>(bytes) / static_cast<double>(events) : 0.0);
}

std::unique_ptr<runtime::Evaluator> CreateRunEvaluator(const RunOptions& o, const checked::Program& program,
                                                       std::string* error) {
  // jit::Options::opt_level for the --jit-ir name (checked by the command line parser).
  const std::string& ir = o.jit_ir;
  int level = -1;
  if (ir == "light") level = jit::Options::kLight;
  else if (ir.size() == 2 && ir[0] == 'O' && ir[1] >= '0' && ir[1] <= '3') level = ir[1] - '0';
  return runtime::CreateEvaluator(o.engine == "jit" ? runtime::EngineKind::Jit : runtime::EngineKind::Interp, program,
                                  error, level);
}

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
  // Checked before anything is opened: opening an output truncates it.
  if (!DistinctFiles({{"the program", o.program, false},
                     {"--events", o.events, false},
                     {"--ledger", o.ledger, true},
                     {"--rejects", o.rejects, true},
                     {"--state", o.state, true},
                     {"--report", o.report, true}})) return 2;
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
  // Replaying history, the wall clock says nothing: only a cap on clock jumps applies here.
  embed::BoundaryLimits boundary;
  if (!o.max_clock_jump.empty() && o.max_clock_jump != "off") {
    boundary.max_clock_jump = embed::ParseDuration(o.max_clock_jump, &error);
    if (!boundary.max_clock_jump) {
      fmt::print(stderr, "perk: --max-clock-jump {}\n", error);
      return 2;
    }
  }
  auto reader = InputLines::Open(o.events, o.max_line_bytes, &error);
  if (!reader) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  // With --state the outputs are append-only logs the store continues: never truncated here.
  if (!o.state.empty()) return RunDurable(o, *program, *reader, until, boundary);
  Output ledger, rejects;
  if (!ledger.Open(o.ledger, stdout)) {
    fmt::print(stderr, "perk: cannot write the ledger to {}\n", o.ledger);
    return 2;
  }
  if (!rejects.Open(o.rejects, stderr)) {
    fmt::print(stderr, "perk: cannot write rejects to {}\n", o.rejects);
    return 2;
  }
  auto evaluator = CreateRunEvaluator(o, *program, &error);
  if (!evaluator) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  // The engine and the JIT's code are left for the process exit to reclaim: freeing a million clients' state one by one took 7% of a benchmark run. Kept
  // reachable from a global so leak checkers stay quiet.
  static runtime::Engine* kept_until_exit = nullptr;
  kept_until_exit = new runtime::Engine(*program, evaluator.release());
  runtime::Engine& engine = *kept_until_exit;
  engine.SetFullReevaluation(o.reevaluate == "all");
  uint64_t number = 0;
  if (o.explain)
    engine.SetRuleObserver([&](int rule, const runtime::EvalContext& ctx, std::string_view trigger, uint64_t line) {
      Explain(*program, rule, ctx, trigger, line);
    });

  // --report: the collector is a sink of the engine: it sees every entry and outcome typed.
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
    engine.AddSink(collector.get());
  }
  auto write_ledger = [&] { return ledger.Write(engine.ledger()); };
  auto write_rejects = [&] { return rejects.Write(engine.rejects()); };
  Progress progress(reader->total_bytes());
  std::string_view line;
  bool ok = true;
  uint64_t boundary_rejects = 0;  // lines rejected here, before the engine: too long, clock jumps
  simdjson::ondemand::parser parser;
  // The engine's clock when the pending batch began: a line within --max-clock-jump of it
  // cannot move the clock further, whatever the batch does before it; any other line waits for
  // the batch to be processed and is checked against the clock then.
  std::optional<int64_t> batch_clock;
  auto note_clock = [&] {
    batch_clock.reset();
    if (engine.has_clock()) batch_clock = engine.clock();
  };
  note_clock();
  // Lines go to the engine in batches (it decodes a batch, then looks ahead within it); the
  // reader's views last only until its next line, so a batch keeps copies.
  constexpr size_t kBatch = 64;
  std::string batch_text;
  std::vector<size_t> batch_ends;
  std::vector<uint64_t> batch_numbers;
  std::vector<std::string_view> batch_lines;
  auto process_batch = [&] {
    batch_lines.clear();
    size_t start = 0;
    for (size_t end : batch_ends) {
      batch_lines.emplace_back(batch_text.data() + start, end - start);
      start = end;
    }
    engine.ProcessLines(batch_lines.data(), batch_numbers.data(), batch_lines.size());
    batch_text.clear();
    batch_ends.clear();
    batch_numbers.clear();
    if (engine.ledger().size() > (1 << 20)) ok &= write_ledger();
    if (engine.rejects().size() > (1 << 16)) ok &= write_rejects();
    note_clock();
  };
  auto reject_here = [&](std::string_view why) {
    if (!batch_numbers.empty()) process_batch();
    engine.rejects() += RejectLine(number, why);
    ++boundary_rejects;
  };
  uint64_t skipped = 0;
  for (InputLines::Got got; (got = reader->Next(&line, &number, &skipped)) != InputLines::Got::End;) {
    if (got == InputLines::Got::TooLong) {
      reject_here(TooLongMessage(skipped, o.max_line_bytes));
      continue;
    }
    if (boundary.max_clock_jump) {
      const std::optional<int64_t> t = embed::PeekTime(parser, line);
      if (t && (!batch_clock || *t > *batch_clock + *boundary.max_clock_jump)) {
        if (!batch_numbers.empty()) process_batch();
        std::string why = embed::CheckBoundary(parser, line, boundary, batch_clock, 0);
        if (!why.empty()) {
          reject_here(why);
          continue;
        }
      }
    }
    batch_text.append(line);
    batch_ends.push_back(batch_text.size());
    batch_numbers.push_back(number);
    if (batch_numbers.size() == kBatch) process_batch();
    progress.Tick(number, line.size());
  }
  if (!batch_numbers.empty()) process_batch();
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
    std::string page = report::RunPage(figures, {program->name, o.program, o.events, o.engine, WorstCaseOf(*program)});
    ok &= report_out.Write(page) && report_out.Flush();
  }
  fmt::print(stderr, "perk: {} records, {} effects, {} rejects, {} duplicates\n", s.records + boundary_rejects,
             s.effects, s.rejects + boundary_rejects, s.duplicates);
  if (o.stats) PrintTickStats(engine);
  if (!ok) {
    fmt::print(stderr, "perk: writing the output failed (disk full?)\n");
    return 2;
  }
  return 0;
}

}  // namespace perk::cli
