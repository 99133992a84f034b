// Expression evaluation alone, JIT against interpreter: the question `build/core` cannot answer
// because both engines share everything else (the engine loop, state, windows, the ledger).
// For each decoded event record, every expression the engine would evaluate for it is
// evaluated against one client: each rule's `when` and every action value and data value of
// the record's rules (both arms of an `if` action), then the tier and segment conditions as
// the engine batches them. Nothing is applied. The client is a real one, taken from an engine
// that ran the first records; aggregates fold its calendar buckets (no window caches), through
// the same runtime code for both evaluators. Reports ns per evaluation, best of N runs, and
// checks that both evaluators gave the same results.
//   build/expr [--program bench/forex.perk] [--events FILE] [--records N] [--runs N]
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"

namespace {

using perk::runtime::EvalContext;
using perk::runtime::Evaluator;

using bench::ThreadCpuNs;

// The expressions of `actions` in the order the engine could evaluate them (both arms of an
// `if`: this measures evaluation, not which arm a firing takes).
void ActionExprs(const std::vector<perk::checked::Action>& actions, std::vector<const perk::checked::Expr*>* out) {
  for (const auto& a : actions) {
    if (a.value) out->push_back(&*a.value);
    for (const auto& d : a.data) out->push_back(&d.value);
    ActionExprs(a.then_actions, out);
    ActionExprs(a.else_actions, out);
  }
}

struct Totals {
  uint64_t evaluations = 0;
  uint64_t checksum = 1469598103934665603ull;
  uint64_t failures = 0;
  void Add(int64_t v) { checksum = (checksum ^ static_cast<uint64_t>(v)) * 1099511628211ull; }
};

}  // namespace

int main(int argc, char** argv) {
  std::string program_path = "bench/forex.perk";
  std::string events_path = "bench/out/events_1000000_100000_60.jsonl";
  size_t max_records = 200000;
  int runs = 3;
  for (int k = 1; k + 1 < argc; k += 2) {
    std::string flag = argv[k];
    if (flag == "--program") program_path = argv[k + 1];
    else if (flag == "--events") events_path = argv[k + 1];
    else if (flag == "--records") max_records = std::stoul(argv[k + 1]);
    else if (flag == "--runs") runs = std::stoi(argv[k + 1]);
    else {
      fmt::print(stderr, "usage: expr [--program FILE] [--events FILE] [--records N] [--runs N]\n");
      return 2;
    }
  }
  int load_status = 0;
  auto program = bench::LoadProgram(program_path, "expr", &load_status);
  if (!program) return load_status;

  std::string error;
  auto reader = perk::runtime::LineReader::Open(events_path, &error);
  if (!reader) {
    fmt::print(stderr, "expr: {} (generate it with bench/run_core.sh)\n", error);
    return 1;
  }
  // The first records run through an engine, which leaves a client with history; its event
  // records are what the expressions are evaluated for.
  perk::runtime::Engine engine(*program);
  perk::runtime::RecordDecoder decoder(perk::runtime::InputSchemaOf(*program));
  std::vector<perk::runtime::Record> events;
  std::string_view line;
  uint64_t number = 0;
  std::string busiest;
  std::map<std::string, int> per_client;
  while (events.size() < max_records && reader->Next(&line, &number)) {
    engine.ProcessLine(line, number);
    engine.ledger().clear();
    engine.rejects().clear();
    perk::runtime::Record rec;
    if (decoder.Decode(line, nullptr, &rec, &error) != perk::runtime::DecodeOutcome::Ok) continue;
    if (rec.kind != perk::runtime::RecordKind::Event) continue;
    if (++per_client[rec.client] > (busiest.empty() ? 0 : per_client[busiest])) busiest = rec.client;
    events.push_back(std::move(rec));
  }
  const perk::runtime::ClientState* client = engine.FindClient(busiest);
  if (!client || events.empty()) {
    fmt::print(stderr, "expr: no event records in {}\n", events_path);
    return 1;
  }

  // Per event type, the expressions its records are evaluated with.
  std::vector<std::vector<const perk::checked::Expr*>> by_event(program->events.size());
  for (size_t ev = 0; ev < program->events.size(); ++ev)
    for (int r : program->rules_by_event[ev]) {
      const auto& rule = program->rules[static_cast<size_t>(r)];
      if (rule.when) by_event[ev].push_back(&*rule.when);
      ActionExprs(rule.actions, &by_event[ev]);
    }
  const size_t tiers = program->tiers.empty() ? 0 : program->tiers.size() - 1;
  const size_t segments = program->segments.size();

  auto jit = perk::runtime::CreateEvaluator(perk::runtime::EngineKind::Jit, *program, &error);
  if (!jit) {
    fmt::print(stderr, "expr: {}\n", error);
    return 1;
  }
  perk::runtime::InterpEvaluator interp;

  // part 0: the rules' expressions; part 1: the tier and segment conditions (their aggregates
  // fold the client's buckets, the same runtime code for both evaluators).
  auto one_run = [&](Evaluator& e, int part, Totals* t) {
    perk::Value out;
    perk::SourceRange where;
    std::vector<uint8_t> results(std::max<size_t>(1, std::max(tiers, segments)));
    int failed = 0;
    for (const auto& rec : events) {
      EvalContext ctx;
      ctx.program = program.get();
      ctx.client = client;
      ctx.event = &rec;
      ctx.now = rec.time;
      ctx.today = perk_time_date(rec.time);
      if (part == 0) for (const perk::checked::Expr* x : by_event[static_cast<size_t>(rec.event_index)]) {
        if (e.Evaluate(*x, ctx, &out, &where) != PERK_OK) {
          ++t->failures;
          continue;
        }
        t->Add(out.i);
        t->Add(static_cast<int64_t>(out.s.size()));
        ++t->evaluations;
      }
      if (part == 1 && tiers) {
        if (e.EvaluateConditions(perk::runtime::ConditionSet::Tiers, ctx, results.data(), &failed, &where) != PERK_OK) ++t->failures;
        for (size_t k = 0; k < tiers; ++k) t->Add(results[k]);
        t->evaluations += tiers;
      }
      if (part == 1 && segments) {
        if (e.EvaluateConditions(perk::runtime::ConditionSet::Segments, ctx, results.data(), &failed, &where) != PERK_OK) ++t->failures;
        for (size_t k = 0; k < segments; ++k) t->Add(results[k]);
        t->evaluations += segments;
      }
    }
  };

  fmt::print("expr: {} ({} rules) over {} event records of {}, client `{}`; thread CPU time, best of {}\n",
             program_path, program->rules.size(), events.size(), events_path, busiest, runs);
  Evaluator* evaluators[2] = {jit.get(), &interp};
  const char* names[2] = {"jit", "interp"};
  const char* parts[2] = {"rules' expressions", "tier and segment conditions"};
  bool agree = true;
  for (int part = 0; part < 2; ++part) {
    double best[2] = {1e300, 1e300};
    Totals totals[2];
    for (int r = 0; r < runs; ++r)
      for (int k = 0; k < 2; ++k) {
        Totals t;
        int64_t start = ThreadCpuNs();
        one_run(*evaluators[k], part, &t);
        double ns = static_cast<double>(ThreadCpuNs() - start);
        best[k] = std::min(best[k], ns / static_cast<double>(std::max<uint64_t>(1, t.evaluations)));
        totals[k] = t;
      }
    fmt::print("{}:\n", parts[part]);
    for (int k = 0; k < 2; ++k)
      fmt::print("  {:<7} {:7.1f} ns/evaluation ({} evaluations per run, {} failed; checksum {:016x})\n", names[k], best[k],
                 totals[k].evaluations, totals[k].failures, totals[k].checksum);
    fmt::print("  interp / jit = {:.2f}x\n", best[1] / best[0]);
    agree = agree && totals[0].checksum == totals[1].checksum && totals[0].failures == totals[1].failures;
  }
  if (!agree) {
    fmt::print(stderr, "expr: the evaluators disagree\n");
    return 1;
  }
  return 0;
}
