// The engine: feeds input records through a checked program in the order of spec §5 and
// writes the ledger (§6) and rejects. The public entry point of runtime/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/checked.h"
#include "runtime/sink.h"
#include "runtime/state.h"

namespace perk::runtime {

enum class EngineKind { Jit, Interp };

struct RunStats {
  uint64_t records = 0;     // non-blank input lines
  uint64_t accepted = 0;
  uint64_t effects = 0;     // ledger entries
  uint64_t rejects = 0;
  uint64_t duplicates = 0;
};

// What day ticks did (`perk run --stats`): this engine's since it was created (not kept in
// durable state, unlike RunStats).
struct TickStats {
  uint64_t ticks = 0;       // day ticks that could do anything
  uint64_t visits = 0;      // clients visited: their tick rules run, their conditions re-evaluated if due
  uint64_t full_ticks = 0;  // ticks that visited every known client (a rule due for any client,
                            // --reevaluate all, --explain)
};

class Evaluator;
class ReversalMemory;
struct Record;
struct InputSchema;

// What the decoder expects of records for a program: its events and client fields.
InputSchema InputSchemaOf(const checked::Program& program);

// The engine-wide state a durable store keeps besides clients and dedup ids.
struct EngineState {
  bool has_clock = false;
  int64_t clock = 0;
  uint64_t seq = 0;              // the last ledger seq written
  uint64_t remembered = 0;       // dedup ids ever remembered (numbers them for the store)
  RunStats stats;                // totals over every run on the state
  std::vector<Series> budgets;   // per rule
};

struct EvalContext;

// Called as each rule is considered, before its `limit` is checked, with the context its
// `when` would be evaluated in (for `perk repl`'s :explain and `perk run --explain`), the
// trigger its ledger entries carry (an event id, or `day:YYYY-MM-DD`) and the input line being
// processed (for a day tick, the line of the record whose time started it). Valid only during
// the call.
using RuleObserver =
    std::function<void(int rule, const EvalContext& ctx, std::string_view trigger, uint64_t line)>;

// The evaluator behind an engine kind: the reference interpreter, or the program compiled to
// native code. Returns nullptr with *error set when the JIT cannot compile the program. The
// program must outlive the evaluator, and must not change after it is created (params
// overridden first). `jit_ir` picks the JIT's IR pipeline (jit::Options::opt_level: -1 by
// program size, 0..3, or jit::Options::kLight); the interpreter ignores it. `jit_cache` is the
// JIT's object cache directory ("" for none; unset: the process's, jit::DefaultCacheDir).
std::unique_ptr<Evaluator> CreateEvaluator(EngineKind kind, const checked::Program& program, std::string* error,
                                           int jit_ir = -1, std::optional<std::string> jit_cache = std::nullopt);

class Engine {
 public:
  // The program must outlive the engine. Without an evaluator the engine uses the reference
  // interpreter; with one (the JIT's), it must outlive the engine too.
  explicit Engine(const checked::Program& program, Evaluator* evaluator = nullptr);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Feeds one input line (without its newline) with its 1-based line number. The ledger
  // entries and the outcome it gives go to the sinks (runtime/sink.h): the JSON Lines writer
  // behind ledger() and rejects(), then those added by AddSink.
  void ProcessLine(std::string_view line, uint64_t line_number);
  // ProcessLine over n lines in order, with exactly its result (ledger, rejects, stats); faster
  // for the same reason as ProcessDecodedBatch (`perk run` feeds it batches of lines).
  void ProcessLines(const std::string_view* lines, const uint64_t* line_numbers, size_t n);

  // Feeds one record decoded beforehand (by a RecordDecoder over InputSchemaOf(program), which
  // rejects ids containing `/`, reserved for sent events): the path of ProcessLine after decoding. For benchmarks of the evaluation core and for
  // embedders that decode themselves.
  void ProcessDecoded(const Record& record, uint64_t line_number);
  // ProcessDecoded over n records in order (line_numbers[k] for records[k]), with the same
  // result; it looks a few records ahead to start loading their clients' state early, so
  // that the cache misses of neighbouring records overlap.
  void ProcessDecodedBatch(const Record* records, const uint64_t* line_numbers, size_t n);

  // Advances the clock to `time`, running every day tick it passes (`perk run --until`).
  void AdvanceTo(int64_t time);

  // Complete ledger lines and reject lines written so far; drain them as you like.
  std::string& ledger();
  std::string& rejects();
  // Hands every committed ledger entry and every outcome to `sink` too, from the next input
  // line on, after the JSON Lines writer. The sink must stay alive until removed.
  void AddSink(Sink* sink);
  void RemoveSink(Sink* sink);
  const RunStats& stats() const;
  // The seq of the last ledger entry written, those of the line in progress included (for
  // `:explain`, which attributes entries to the rule considered before them).
  uint64_t seq() const;
  const TickStats& tick_stats() const;
  // [v0.2] What reversals can reach now: the events remembered and an estimate of the heap
  // bytes they hold (runtime/reversal.h; `perk run --stats`, docs/state.md).
  size_t reversal_events() const;
  size_t reversal_bytes() const;

  // Introspection (REPL, state dumps): clients in order of first appearance.
  const ClientList& clients() const;
  const ClientState* FindClient(std::string_view id) const;
  bool has_clock() const;
  int64_t clock() const;
  // Observes rule decisions from now on; an empty function stops observing.
  void SetRuleObserver(RuleObserver observer);
  // An event or a day tick re-evaluates a client's tier and segment conditions only when they
  // can give something new (docs/architecture.md, "Re-evaluating only what can change"), and a
  // day tick visits only the clients something is due for ("Day ticks: visiting only what is
  // due"); with `full`, every time and every client, as the reference for differential tests
  // of those choices (`perk run --reevaluate all`).
  void SetFullReevaluation(bool full);

  // ---- the seam for durable state (runtime/store.h) ----
  EngineState SaveState() const;
  // Indexes in clients() of the clients created or changed since the last call, increasing;
  // clears the set.
  void TakeDirtyClients(std::vector<uint32_t>* out);
  // Calls f(time, id) for each dedup id still remembered that was the n-th remembered with
  // n > after (n counts from 1), oldest first.
  void ForRememberedSince(uint64_t after, const std::function<void(int64_t, std::string_view)>& f) const;
  // The same with each id's content hash (spec §4, C14), for the store to keep.
  void ForRememberedSince(uint64_t after, const std::function<void(int64_t, std::string_view, uint64_t)>& f) const;
  // How many dedup ids are remembered now.
  size_t remembered_count() const;
  // [C10] What reversals remember (runtime/reversal.h), for the store to write; once
  // LogReversed is called, the indexes of remembered events reversed since the last
  // TakeReversed (which clears them).
  const ReversalMemory& reversal_memory() const;
  void LogReversed();
  void TakeReversed(std::vector<uint64_t>* out);
  // Restores it (from the store or an in-memory reload, before any record). Reversals are
  // logged for TakeReversed only after LogReversed.
  void RestoreReversalMemory(ReversalMemory memory);
  // Restores saved state into a fresh engine, before any record: clients in order of first
  // appearance, dedup ids oldest first (ids the clock has already expired are dropped).
  // `contents` holds each remembered id's content hash; ids without one (an older state) are
  // duplicates whatever comes with them.
  void Restore(EngineState state, std::vector<ClientState> clients, std::vector<std::pair<int64_t, std::string>> remembered,
               std::vector<uint64_t> contents = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Formats a value of a static type for the ledger: int as a number, money "75.00",
// decimal "0.3", time, date and tier names as strings (spec §6).
std::string FormatValueJson(const checked::Program& program, Type type, const Value& value);

// How many completed firings count against `rule`'s limit for ctx's client at ctx.now (for a
// keyed limit, under the key ctx's event gives, evaluated by the interpreter); 0 when a key
// fails to evaluate. For :explain and --explain.
int64_t LimitUsed(const checked::Program& program, int rule, const EvalContext& ctx);

// One client's state as a JSON object: id, since, attributes, wallets, vars, tier, segments
// and badges, by name (`perk state S client ID`, libperk, `GET /v1/clients/{id}`).
std::string ClientStateJson(const checked::Program& program, const ClientState& client);

}  // namespace perk::runtime
