// Durable state on the command line: `perk run --state` and `perk state`.
#include <fmt/format.h>
#include <simdjson.h>

#include <cstdlib>

#include "cli/common.h"
#include "cli/input.h"
#include "embed/boundary.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"
#include "runtime/store.h"
#include "stdlib/stdlib.h"

namespace perk::cli {

namespace {

// A positive integer from the environment (test and tuning knobs), or `fallback`.
uint64_t EnvCount(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  unsigned long long n = std::strtoull(v, &end, 10);
  return (*end == '\0' && n > 0) ? n : fallback;
}

}  // namespace

int RunDurable(const RunOptions& o, const checked::Program& program, InputLines& reader,
               std::optional<int64_t> until, const embed::BoundaryLimits& boundary) {
  if (o.ledger.empty() || o.ledger == "-" || o.rejects.empty() || o.rejects == "-") {
    fmt::print(stderr,
               "perk: --state needs --ledger FILE and --rejects FILE: they are append-only logs that the state "
               "continues run after run\n");
    return 2;
  }
  std::string error;
  auto evaluator = CreateRunEvaluator(o, program, &error);
  if (!evaluator) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  runtime::StoreOptions so;
  so.ledger_path = o.ledger;
  so.rejects_path = o.rejects;
  so.allow_drop = o.allow_drop;
  // Group-commit bounds; the crash test makes batches small to get many commits.
  so.batch_records = EnvCount("PERK_COMMIT_RECORDS", so.batch_records);
  so.batch_millis = EnvCount("PERK_COMMIT_MILLIS", so.batch_millis);
  std::vector<std::string> notes;
  auto store = runtime::Store::Open(o.state, program, evaluator.get(), so, &error, &notes);
  for (const auto& n : notes) fmt::print(stderr, "perk: note: {}\n", n);
  if (!store) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  store->engine().SetFullReevaluation(o.reevaluate == "all");
  runtime::InputPosition from = store->BeginInput(o.events);
  if (from.offset > 0) {
    if (!reader.SeekTo(from.offset, from.line)) {
      fmt::print(stderr, "perk: cannot seek {} to continue after line {}\n", o.events, from.line);
      return 2;
    }
    fmt::print(stderr, "perk: {}: continuing after line {}, where the state stopped\n", o.events, from.line);
  }
  const runtime::RunStats before = store->engine().stats();
  std::string_view line;
  uint64_t number = 0, skipped = 0, boundary_rejects = 0;
  simdjson::ondemand::parser parser;
  runtime::Engine& engine = store->engine();
  for (InputLines::Got got; (got = reader.Next(&line, &number, &skipped)) != InputLines::Got::End;) {
    std::string why;
    if (got == InputLines::Got::TooLong) {
      why = TooLongMessage(skipped, o.max_line_bytes);
    } else if (boundary.any()) {
      std::optional<int64_t> clock;
      if (engine.has_clock()) clock = engine.clock();
      why = embed::CheckBoundary(parser, line, boundary, clock, 0);
    }
    // A line rejected here still moves the input position the state records (as a blank
    // line, which the engine skips), so that a later run continues after it; its reject line
    // goes first, into the same commit.
    if (!why.empty()) {
      engine.rejects() += RejectLine(number, why);
      ++boundary_rejects;
    }
    if (!store->ProcessLine(why.empty() ? line : std::string_view(), number, reader.offset())) {
      fmt::print(stderr, "perk: {}\n", store->error());
      return 2;
    }
  }
  if (!reader.error().empty()) {
    // Keep what was read before the error: it is valid input, committed like any batch.
    bool committed = store->Commit();
    fmt::print(stderr, "perk: reading {} failed after line {}: {}{}\n", o.events, number, reader.error(),
               committed ? "; the records before it are committed" : "");
    return 2;
  }
  if (until) store->AdvanceTo(*until);
  if (!store->Commit()) {
    fmt::print(stderr, "perk: {}\n", store->error());
    return 2;
  }
  runtime::StoreInfo info = store->Info();
  if (info.ledger_unconfirmed > 0 || info.rejects_unconfirmed > 0) {
    fmt::print(stderr,
               "perk: the input ended before reproducing what an interrupted run wrote past its last commit ({} bytes "
               "of ledger, {} of rejects); everything read is committed. Feed the rest of the stream it was "
               "interrupted in\n",
               info.ledger_unconfirmed, info.rejects_unconfirmed);
    return 2;
  }
  if (std::getenv("PERK_STATE_TIMING"))
    fmt::print(stderr,
               "perk: state: {} commits; engine thread: packing batches {:.0f} ms CPU; writer thread: {:.0f} ms "
               "CPU, outputs written and synced {:.0f} ms, transactions {:.0f} ms (wall); {} client rows written "
               "({} bytes)\n",
               info.commits, info.collect_millis, info.writer_cpu_millis, info.output_millis, info.sql_millis,
               info.client_rows, info.client_bytes);
  const runtime::RunStats& s = store->engine().stats();
  fmt::print(stderr, "perk: {} records, {} effects, {} rejects, {} duplicates\n",
             s.records - before.records + boundary_rejects, s.effects - before.effects,
             s.rejects - before.rejects + boundary_rejects, s.duplicates - before.duplicates);
  if (o.stats) PrintTickStats(store->engine());
  return 0;
}

namespace {

// `perk state STATE verify --ledger FILE [--rejects FILE]`: 0 when the files hold what the state
// committed, 1 where they do not.
int Verify(const runtime::Store& store, const StateOptions& o) {
  if (o.ledger.empty() && o.rejects.empty()) {
    fmt::print(stderr, "perk: `perk state STATE verify` needs --ledger FILE (and --rejects FILE to check it too)\n");
    return 2;
  }
  int rc = 0;
  for (bool rejects : {false, true}) {
    const std::string& file = rejects ? o.rejects : o.ledger;
    if (file.empty()) continue;
    std::string report;
    bool ok = store.VerifyOutput(rejects, file, &report);
    fmt::print(ok ? stdout : stderr, "{}{}\n", ok ? "" : "perk: ", report);
    if (!ok) rc = 1;
  }
  return rc;
}

}  // namespace

int State(const StateOptions& given) {
  StateOptions o = given;
  auto known = [](const std::string& what) { return what == "client" || what == "stats" || what == "verify"; };
  if (o.path == "verify" && !known(o.what)) std::swap(o.path, o.what);  // `perk state verify STATE`
  if (!known(o.what)) {
    fmt::print(stderr, "perk: `perk state STATE WHAT`: WHAT is client, stats or verify, not `{}`\n", o.what);
    return 2;
  }
  std::string error;
  auto store = runtime::Store::OpenForReading(o.path, &error);
  if (!store) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  if (o.what == "verify") return Verify(*store, o);
  const checked::Program& p = store->program();
  runtime::Engine& engine = store->engine();
  if (o.what == "client") {
    if (o.id.empty()) {
      fmt::print(stderr, "perk: `perk state STATE client ID` needs the client id\n");
      return 2;
    }
    const runtime::ClientState* c = engine.FindClient(o.id);
    if (!c) {
      fmt::print(stderr, "perk: no client `{}` in {}\n", o.id, o.path);
      return 1;
    }
    fmt::print("{}\n", runtime::ClientStateJson(p, *c));
    return 0;
  }
  runtime::StoreInfo info = store->Info();
  const runtime::RunStats& s = engine.stats();
  runtime::EngineState es = engine.SaveState();
  std::string totals;
  for (size_t k = 0; k < p.wallets.size(); ++k) {
    int64_t sum = 0;
    bool overflow = false;
    for (const auto& c : engine.clients()) overflow |= perk_int_add(sum, c.wallets()[k], &sum) != PERK_OK;
    totals += fmt::format("{}{}:{}", k ? "," : "", stdlib::JsonQuote(p.wallets[k].name),
                          overflow ? "\"overflow\"" : runtime::FormatValueJson(p, p.wallets[k].type, Value::Int(sum)));
  }
  std::string tiers;
  for (size_t t = 0; t < p.tiers.size(); ++t) {
    uint64_t n = 0;
    for (const auto& c : engine.clients()) n += c.tier() == static_cast<int64_t>(t);
    tiers += fmt::format("{}{}:{}", t ? "," : "", stdlib::JsonQuote(p.tiers[t].name), n);
  }
  fmt::print(
      "{{\"program\":{},\"identity\":\"{}\",\"clients\":{},\"records\":{},\"accepted\":{},\"effects\":{},"
      "\"rejects\":{},\"duplicates\":{},\"seq\":{},\"clock\":{},\"dedup_ids\":{},\"ledger_bytes\":{},"
      "\"rejects_bytes\":{},\"commits\":{},\"input\":{{\"line\":{},\"offset\":{}}},\"state_bytes\":{},"
      "\"state_live_bytes\":{},\"state_bytes_per_client\":{},\"wallet_totals\":{{{}}},\"tiers\":{{{}}}}}\n",
      stdlib::JsonQuote(info.program), info.identity, info.clients, s.records, s.accepted, s.effects, s.rejects,
      s.duplicates, es.seq, es.has_clock ? "\"" + stdlib::FormatTime(es.clock) + "\"" : std::string("null"),
      info.remembered_ids, info.ledger_bytes, info.rejects_bytes, info.commits, info.input.line, info.input.offset,
      info.file_bytes, info.live_bytes, info.clients ? info.live_bytes / info.clients : 0, totals, tiers);
  return 0;
}

}  // namespace perk::cli
