// Reports about runs (`perk run --report`, `perk diff`): a collector that folds the ledger and
// rejects into per-rule, per-day and per-client figures, and a writer of one self-contained
// HTML page with inline SVG charts. What every figure means is in docs/report.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/checked.h"
#include "report/value.h"
#include "runtime/engine.h"
#include "runtime/state.h"

namespace perk::report {

// Ledger actions (runtime/ledger_actions.def), in the order the report lists them.
using Action = runtime::LedgerAction;
constexpr int kRuleActions = 8;  // Credit .. Skip: the actions a rule writes
static_assert(static_cast<int>(Action::Skip) == kRuleActions - 1, "rule actions come first in ledger_actions.def");
inline const char* ActionName(Action a) { return runtime::LedgerActionName(a); }

struct RuleFigures {
  std::string name;
  std::string label;
  int64_t by_action[kRuleActions] = {};  // ledger entries of this rule, by action
  int64_t effects = 0;                   // every entry of this rule but skips
  int64_t clients = 0;                   // distinct clients with at least one effect of this rule
  int64_t money_credited = 0;            // cents, money wallets
  int64_t money_debited = 0;
  int64_t points_issued = 0;             // int wallets
  int64_t points_redeemed = 0;
  int64_t skipped_cents = 0;             // money the budget refused (sum of skip amounts)
  bool has_budget = false;
  int64_t budget_cents = 0;
  checked::Window budget_window;
  int64_t budget_peak = 0;       // the most credited within one budget window (all of it without a window)
  int64_t budget_peak_time = 0;  // when that peak was reached (micros)
  RuleValue value;               // [v0.2] cost, clients credited, their revenue (report/value.h)
};

struct WalletFigures {
  std::string name;
  Type type = Type::Int;
  int64_t credited = 0;
  int64_t debited = 0;
  int64_t credits = 0;  // entries
  int64_t debits = 0;
};

// One calendar day (UTC). Flows happen on the day; states are as at the end of the day.
struct DayFigures {
  int64_t day = 0;                   // days since 1970-01-01
  std::vector<int64_t> rule_effects;  // per rule
  std::vector<int64_t> rule_money;    // per rule: money credited (cents)
  int64_t effects = 0;
  int64_t money_credited = 0;
  int64_t points_issued = 0;
  int64_t points_redeemed = 0;
  int64_t skips = 0;
  int64_t clients_with_effects = 0;  // distinct clients with an effect that day
  int64_t new_clients = 0;           // clients first seen that day
  int64_t new_participants = 0;      // clients whose first effect fell on that day
  int64_t tier_ups = 0;
  int64_t tier_downs = 0;
  // States at the end of the day.
  int64_t known_clients = 0;
  int64_t participants = 0;
  std::vector<int64_t> tier_counts;    // per tier
  std::vector<int64_t> segment_sizes;  // per segment
};

struct ClientFigures {
  std::string id;
  int64_t money_credited = 0;
  int64_t points_issued = 0;
  int64_t points_redeemed = 0;
  int64_t effects = 0;
  std::string tier;  // at the end of the run ("" without tiers)
};

struct RejectReason {
  std::string reason;   // the message with its varying parts (values, ids, times) taken out
  int64_t count = 0;
  uint64_t first_line = 0;
  std::string example;  // the first full message
};

struct RunFigures {
  std::string program_name;
  std::string currency;  // "" when the program has no money
  std::vector<std::string> tiers;
  std::vector<std::string> segments;
  std::vector<RuleFigures> rules;
  std::vector<WalletFigures> wallets;
  // The days with ledger entries or new clients, in order; a day left out had no flows and
  // the states of the day before.
  std::vector<DayFigures> days;
  std::vector<std::vector<int64_t>> tier_moves;  // [from][to]
  std::vector<int64_t> segment_enters;
  std::vector<int64_t> segment_leaves;
  std::vector<int64_t> tiers_at_start;           // clients known before the run, by tier
  std::vector<ClientFigures> top_clients;        // by value, best first
  std::vector<RejectReason> reject_reasons;      // most frequent first
  runtime::RunStats stats;
  int64_t ledger_entries = 0;
  int64_t effects = 0;
  int64_t known_clients = 0;     // at the end of the run
  int64_t active_clients = 0;
  int64_t participants = 0;      // clients with at least one effect
  int64_t money_credited = 0;
  int64_t money_debited = 0;
  int64_t points_issued = 0;
  int64_t points_redeemed = 0;
  int64_t budget_skips = 0;
  int64_t rejects = 0;
  ValueFigures value;  // [v0.2] cost and return (report/value.h)
};

// Folds one run's ledger entries and rejects into RunFigures: a sink of the engine
// (Engine::AddSink) that reads each entry's typed fields once. Memory is O(clients + days x
// rules).
class Collector final : public runtime::Sink {
 public:
  // The program must outlive the collector.
  explicit Collector(const checked::Program& program, size_t top_clients = 20);
  ~Collector();
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;

  // Clients the engine already knows before the first record (a resumed run): their tiers
  // and segments are where the day-by-day counts start.
  void Begin(const runtime::ClientList& clients);
  // The engine's entries and outcomes (Engine::AddSink), in the order it hands them out.
  void Entry(const runtime::LedgerEntry& entry) override;
  void Outcome(const runtime::RecordOutcome& outcome) override;
  // After the last lines: the engine's clients and counts at the end of the run.
  RunFigures Finish(const runtime::ClientList& clients, const runtime::RunStats& stats);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Compares two versions' ledgers written on the same input: effects are matched by what they
// are (trigger, client, rule, action, wallet / var / template / badge / segment, and their
// order within that), and differ by value (amount, value, data, tier). See docs/report.md.
struct RuleDiff {
  std::string rule;  // "" for tier and segment entries
  int64_t gained = 0;
  int64_t lost = 0;
  int64_t changed = 0;
};

struct TierChange {
  std::string client;
  std::string old_tier;
  std::string new_tier;
};

struct DiffFigures {
  std::vector<RuleDiff> rules;  // rules of both versions, old's order then new's
  int64_t gained = 0;
  int64_t lost = 0;
  int64_t changed = 0;
  int64_t same = 0;
  std::vector<std::string> gained_examples;   // ledger lines (new), the first few
  std::vector<std::string> lost_examples;     // ledger lines (old)
  std::vector<std::pair<std::string, std::string>> changed_examples;  // (old line, new line)
  int64_t clients_compared = 0;              // known to both
  int64_t tier_differs = 0;                  // of those, with another tier at the end
  int64_t tier_higher = 0;                   // new tier ranks higher (by position in its program)
  std::vector<std::string> tier_names;       // union, old's order then new's extra
  std::vector<std::vector<int64_t>> tier_matrix;  // [old][new] over tier_names
  std::vector<TierChange> tier_examples;
  int64_t only_old_clients = 0;
  int64_t only_new_clients = 0;
};

class EffectDiff {
 public:
  EffectDiff(const checked::Program& old_program, const checked::Program& new_program, size_t examples = 10);
  ~EffectDiff();
  EffectDiff(const EffectDiff&) = delete;
  EffectDiff& operator=(const EffectDiff&) = delete;

  // Sinks for each version's engine (Engine::AddSink): they keep the entries of the line in
  // progress until EndLine.
  runtime::Sink& old_sink();
  runtime::Sink& new_sink();
  // After each input line, with each engine's clock day: pairs the entries both versions
  // wrote since the last call. Day-tick entries are matched once both clocks have passed
  // their day (a version that rejected a record runs its ticks later); event entries at once.
  void EndLine(int64_t old_clock_day, int64_t new_clock_day);
  DiffFigures Finish(const runtime::ClientList& old_clients,
                     const runtime::ClientList& new_clients);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What the page says about where the figures came from.
// [issue 22] What `perk analyze` proves about the program (docs/analyze.md), as the run page
// shows it beside what the run did: each rule's worst case per firing, per client and for the
// campaign, and the findings.
struct WorstCase {
  struct Bound {
    int64_t raw = -1;  // cents (or an int wallet's units) when bounded; -1 unbounded, -2 unknown
    std::string text;  // as `perk analyze` words it
  };
  struct Row {
    std::string rule, wallet;
    Bound per_firing, per_client, campaign;
  };
  std::vector<Row> payouts;
  Bound program_total;
  struct Finding {
    uint32_t line = 0;
    std::string code, severity, message;
  };
  std::vector<Finding> findings;
};

struct PageInfo {
  std::string title;
  std::string program;  // path(s) as given
  std::string events;
  std::string engine;
  std::optional<WorstCase> worst_case;  // shown when the caller analysed the program
};

std::string RunPage(const RunFigures& run, const PageInfo& info);
std::string DiffPage(const RunFigures& old_run, const RunFigures& new_run, const DiffFigures& diff,
                     const PageInfo& info);
// The diff's text summary for stdout.
std::string DiffText(const RunFigures& old_run, const RunFigures& new_run, const DiffFigures& diff,
                     const PageInfo& info);

}  // namespace perk::report
