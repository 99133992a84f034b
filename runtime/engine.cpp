// The engine loop of spec §5: validation, the clock and day ticks, dedup, rules, tiers and
// segments, budgets and limits, record atomicity, and the ledger encoding of §6.
#include "runtime/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <deque>
#include <map>

#include "runtime/id_table.h"
#include "runtime/interp.h"
#include "runtime/jsonl_sink.h"
#include "runtime/records.h"
#include "runtime/reversal.h"
#include "stdlib/stdlib.h"
#include "stdlib/zone.h"

namespace perk::runtime {

namespace {

// Ids are remembered for 30 days of event time (spec §4).
constexpr int64_t kDedupWindow = 30 * stdlib::kMicrosPerDay;
// [v0.2] Events sent by events sent by ... an input record: at most this many links (spec §5).
constexpr int kMaxSendDepth = 8;

// A runtime error inside a record: what failed and where, for the reject message.
struct RuntimeError {
  std::string message;
};

const char* StatusWords(PerkStatus s) { return s == PERK_DIV_BY_ZERO ? "division by zero" : "arithmetic overflow"; }

}  // namespace

InputSchema InputSchemaOf(const checked::Program& p) {
  InputSchema s;
  for (const auto& ev : p.events) {
    EventSpec es;
    es.name = ev.name;
    for (const auto& f : ev.fields) es.fields.push_back({f.name, f.type, f.has_default, f.default_value});
    s.events.push_back(std::move(es));
  }
  for (const auto& f : p.client_fields) s.client_fields.push_back({f.name, f.type, f.has_default, f.default_value});
  return s;
}

struct Engine::Impl {
  Impl(const checked::Program& p, Evaluator* e)
      : program(p),
        layout(checked::ClientLayoutOf(p)),
        decoder(InputSchemaOf(p)),
        evaluator(e ? e : &interp),
        agg_windows(AggWindowsOf(p)),
        jsonl(p) {
    budgets.resize(p.rules.size());
    window_count.resize(agg_windows.size());
    for (size_t u = 0; u < p.aggregates.size(); ++u) window_count[agg_windows.of_use[u]] = p.aggregates[u].window.count;
    for (const auto& sg : p.segments) segments_read_segments |= ReadsSegment(sg.when);
    condition_wallets.assign(p.wallets.size(), 0);
    condition_vars.assign(p.vars.size(), 0);
    condition_slots.assign(p.agg_slots.size(), 0);
    for (const auto& t : p.tiers)
      if (t.when) NoteConditionInputs(*t.when);
    for (const auto& sg : p.segments) NoteConditionInputs(sg.when);
    anniversary_index.assign(p.day_schedule.anniversaries.size(), std::vector<std::vector<uint32_t>>(kMonthDays));
    slot_extremes.assign(p.agg_slots.size(), 0);
    for (const auto& use : p.aggregates)
      if (use.kind == checked::AggKind::Highest || use.kind == checked::AggKind::Lowest) slot_extremes[use.slot] = 1;
  }

  // ---- [v0.2] reversals (runtime/reversal.h) ----
  ReversalMemory reversal_memory;
  std::vector<uint8_t> slot_extremes;  // per aggregate slot: some use reads its highest or lowest
  // Whether what is done now belongs to the event in progress (its Record, rules and
  // re-evaluation) and is captured for a reversal; not at day ticks or reversals, which are
  // never reversed.
  bool capturing = false;

  static bool ReadsSegment(const checked::Expr& e) {
    if (e.kind == checked::ExprKind::Segment) return true;
    for (const auto& arg : e.args)
      if (ReadsSegment(arg)) return true;
    return false;
  }

  // Records what tier and segment conditions read: what time alone can change (windowed
  // aggregates, the clock) and what rules and records can (wallets, vars, badges, aggregates).
  void NoteConditionInputs(const checked::Expr& e) {
    switch (e.kind) {
      case checked::ExprKind::Wallet: condition_wallets[e.index] = 1; break;
      case checked::ExprKind::Var: condition_vars[e.index] = 1; break;
      case checked::ExprKind::HasBadge: conditions_read_badges = true; break;
      case checked::ExprKind::Pending: conditions_read_pending = true; break;
      case checked::ExprKind::Now:
      case checked::ExprKind::Today:
      case checked::ExprKind::EventField:    // differs between events and ticks
      case checked::ExprKind::PreviousTier:  // likewise
        conditions_read_clock = true;
        break;
      case checked::ExprKind::Aggregate: {
        const checked::AggUse& u = program.aggregates[e.index];
        condition_slots[u.slot] = 1;
        ConditionWindow w{agg_windows.of_use[e.index], program.agg_slots[u.slot].unit, u.window.previous};
        if (w.unit == checked::WindowUnit::All) break;  // changes only with new values
        if (std::find(condition_windows.begin(), condition_windows.end(), w) == condition_windows.end())
          condition_windows.push_back(w);
        break;
      }
      default: break;
    }
    for (const auto& arg : e.args) NoteConditionInputs(arg);
  }

  const checked::Program& program;
  const checked::ClientLayout layout;  // of every client's block
  bool segments_read_segments = false;
  RecordDecoder decoder;
  InterpEvaluator interp;
  Evaluator* evaluator;
  RunStats stats;
  uint64_t seq = 0;
  RuleObserver observer;

  bool has_clock = false;
  int64_t clock = 0;

  ClientList clients;  // in order of first appearance
  // Client id -> index in clients; the ids themselves stay in clients.
  struct ClientIdOf {
    const ClientList* clients;
    std::string_view operator()(uint32_t k) const { return (*clients)[k].id; }
  };
  ClientIndex<ClientIdOf> client_index{ClientIdOf{&clients}};
  std::vector<Series> budgets;  // per rule, over all clients

  // Window caches: agg_windows.size() per client, in the client's block.
  AggWindows agg_windows;
  std::vector<int64_t> window_count;  // per window: its length in units (0: all history)
  WindowCache* WindowsOf(ClientState& c) { return agg_windows.size() ? c.windows() : nullptr; }
  void ClearWindows(ClientState& c) {
    WindowCache* w = c.windows();
    for (size_t k = 0; k < agg_windows.size(); ++k) w[k].Clear();
  }

  // ---- re-evaluations that cannot change a client's tier or segments ----
  // Re-evaluated later, tier and segment conditions give what they gave at the client's last
  // Reevaluate unless what they read of the client changed since, or time moved a window they
  // read past a bucket, ended a tier hold, or changed what they read of the clock.
  // stability[k].until is the time before which client k's last Reevaluate holds for the time
  // part, INT64_MIN when unknown. A day tick or an event before it skips the re-evaluation
  // unless its own changes touch what the conditions read (ChangesConditionInputs): most
  // clients on most days, and events that only credit a wallet no condition reads. Every
  // change to a client not followed by a Reevaluate (a profile record, a rollback, Restore)
  // resets it.
  bool conditions_read_clock = false;
  bool conditions_read_badges = false;
  bool conditions_read_pending = false;  // [v0.2] `pending(W)`
  std::vector<uint8_t> condition_wallets, condition_vars, condition_slots;  // read by a condition
  struct ConditionWindow {
    int window;  // in agg_windows
    checked::WindowUnit unit;
    bool previous;  // [v0.2] `within previous`: folds end one bucket before the current one
    bool operator==(const ConditionWindow&) const = default;
  };
  std::vector<ConditionWindow> condition_windows;  // distinct, with a unit, read by conditions
  // Per client, side by side so that one cache line serves MustReevaluate and SetStableUntil.
  struct Stability {
    int64_t until = INT64_MIN;
    int64_t wake_at = INT64_MAX;  // the time of the tick of its pending wake-up; INT64_MAX: none
  };
  std::vector<Stability> stability;
  bool full_reevaluation = false;  // Engine::SetFullReevaluation: re-evaluate every time regardless

  // Whether the unit of work so far (its undo log) changed something a tier or segment
  // condition reads.
  bool ChangesConditionInputs() const {
    for (const Undo& u : undo_log) {
      switch (u.kind) {
        case Undo::Wallet:
          if (condition_wallets[u.index]) return true;
          break;
        case Undo::Var:
          if (condition_vars[u.index]) return true;
          break;
        case Undo::Badge:
          if (conditions_read_badges) return true;
          break;
        case Undo::Lots:  // the wallet's own entry covers the balance
          if (conditions_read_pending) return true;
          break;
        case Undo::Agg:
          if (condition_slots[u.index]) return true;
          break;
        case Undo::Limit:  // no expression reads a limit or a budget
        case Undo::ClientBudget:
        case Undo::KeyedLimit: break;
        case Undo::Tier:
        case Undo::Hold:
        case Undo::Segment: return true;  // only Reevaluate changes them; if not, be safe
      }
    }
    return false;
  }
  bool MustReevaluate(const ClientState& c) const {
    return full_reevaluation || now >= stability[c.index].until || ChangesConditionInputs();
  }

  // Right after a Reevaluate at `now`. Every window it read has a cache that holds at now's key
  // (both evaluators fold through the caches), until the key where a bucket leaves or enters the
  // window; a window it did not read cannot change its results, as long as those it read stay.
  int64_t StableUntil(const ClientState& c) {
    int64_t until = INT64_MAX;
    for (size_t k = 1; k < program.tiers.size(); ++k)
      if (program.tiers[k].hold_micros > 0 && now < c.holds()[k]) until = std::min(until, c.holds()[k]);
    const WindowCache* caches = c.windows();
    for (const ConditionWindow& w : condition_windows) {
      const WindowCache& cache = caches[w.window];
      const int64_t key = BucketKey(w.unit, now, program.zone) - (w.previous ? 1 : 0);
      if (key >= cache.from && key < cache.until)
        until = std::min(until, BucketStart(w.unit, cache.until + (w.previous ? 1 : 0), program.zone));
    }
    return until;
  }

  // ---- day ticks that visit only what is due (docs/architecture.md, "Day ticks") ----
  // A tick visits a client when a rule due that day may fire for it or when its tier and
  // segment conditions must be re-evaluated (now >= stability[k].until): every other client's
  // visit would change nothing. The second set comes from a timer wheel keyed by tick day; the
  // first from an index of clients by the month and day of each attribute whose anniversary a
  // rule waits for (program.day_schedule says which rules, and it is all clients when one rule
  // due that day cannot be scheduled). Both are kept lazily: an entry is checked against the
  // client when its day comes and dropped when it no longer holds, so a change costs a push.
  TickStats tick_stats;
  std::vector<uint32_t> due;  // the clients of the tick in progress, by index

  // Tick day -> clients whose wake-up is at its tick (kNextTick: the next tick, whichever it
  // is). A client's valid entry is the one at stability[k].wake_at; others are stale.
  static constexpr int64_t kNextTick = INT64_MIN;
  std::map<int64_t, std::vector<uint32_t>> wakeups;

  // Sets stability[k].until, and makes sure a wake-up comes no later than the first tick at or
  // after it: a pending one that early is kept, else one is pushed at that tick's day.
  void SetStableUntil(uint32_t k, int64_t until) {
    Stability& st = stability[k];
    st.until = until;
    if (until >= st.wake_at) return;
    int64_t day = kNextTick, start = INT64_MIN;
    if (until != INT64_MIN) {
      if (until > stdlib::kMaxTime) return;  // no record's time reaches it
      day = LocalDate(until);
      start = DayStart(day);
      while (start < until) start = DayStart(++day);
    }
    wakeups[day].push_back(k);
    st.wake_at = start;
  }

  // Moves the clients whose wake-up tick has come (every tick up to `day`) into `due`; those
  // not due after all (their stable time moved later) get a later wake-up.
  void TakeWakeups(int64_t day, std::vector<uint32_t>* out) {
    while (!wakeups.empty() && wakeups.begin()->first <= day) {
      auto node = wakeups.extract(wakeups.begin());
      const int64_t start = node.key() == kNextTick ? INT64_MIN : DayStart(node.key());
      for (uint32_t k : node.mapped()) {
        if (k >= clients.size() || stability[k].wake_at != start) continue;  // stale
        stability[k].wake_at = INT64_MAX;
        if (now >= stability[k].until) out->push_back(k);
        else SetStableUntil(k, stability[k].until);
      }
    }
  }

  // Per DaySchedule anniversary, clients by month * 32 + day of the attribute (entries may be
  // stale or repeated: checked when their day comes).
  static constexpr int kMonthDays = 13 * 32;
  std::vector<std::vector<std::vector<uint32_t>>> anniversary_index;
  std::vector<int> anniversary_keys;  // a profile record's client's keys before it

  // The key of client c in anniversary index a; -1 when no rule waiting for it can fire.
  int AnniversaryKey(const ClientState& c, const checked::Anniversary& a) const {
    if (a.needs_set && c.attr_unset[a.attr]) return -1;
    const int64_t v = a.attr == checked::kClientSince ? c.since() : c.attrs[a.attr].i;
    const int64_t day = a.is_time ? LocalDate(v) : v;
    return static_cast<int>(perk_date_month(day) * 32 + perk_date_day(day));
  }
  void IndexAnniversaries(const ClientState& c) {
    const auto& all = program.day_schedule.anniversaries;
    for (size_t a = 0; a < all.size(); ++a)
      if (int key = AnniversaryKey(c, all[a]); key >= 0) anniversary_index[a][key].push_back(c.index);
  }

  // Adds the clients of anniversary index a whose attribute's key is `key` to `out`, and keeps
  // only those in the bucket.
  void TakeAnniversaries(size_t a, int key, std::vector<uint32_t>* out) {
    std::vector<uint32_t>& bucket = anniversary_index[a][key];
    const checked::Anniversary& ann = program.day_schedule.anniversaries[a];
    size_t kept = 0;
    for (uint32_t k : bucket)
      if (k < clients.size() && AnniversaryKey(clients[k], ann) == key) bucket[kept++] = k;
    bucket.resize(kept);
    std::sort(bucket.begin(), bucket.end());
    bucket.erase(std::unique(bucket.begin(), bucket.end()), bucket.end());
    out->insert(out->end(), bucket.begin(), bucket.end());
  }

  // The clients the rules of a tick on `day` (of DayKind `kind`) may fire for; `anniversary`
  // holds on 28 February for a 29 February in a year without one (stdlib's perk_anniversary).
  void TakeAnniversariesOf(int64_t day, int kind, std::vector<uint32_t>* out) {
    const int month = static_cast<int>(perk_date_month(day)), dom = static_cast<int>(perk_date_day(day));
    const bool feb29_too = month == 2 && dom == 28 && perk_date_month(day + 1) == 3;
    for (int a : program.day_schedule.anniversaries_of_day[kind]) {
      TakeAnniversaries(static_cast<size_t>(a), month * 32 + dom, out);
      if (feb29_too) TakeAnniversaries(static_cast<size_t>(a), 2 * 32 + 29, out);
    }
  }

  // Event ids remembered within the dedup window, oldest first.
  DedupSet seen_ids;
  uint64_t remembered_total = 0;  // ids ever remembered: numbers them for the durable store

  // Clients created or changed since the store last asked (Engine::TakeDirtyClients).
  std::vector<uint8_t> dirty;
  std::vector<uint32_t> dirty_list;
  void MarkDirty(const ClientState& c) {
    size_t k = c.index;
    if (k >= dirty.size()) dirty.resize(std::max(k + 1, dirty.size() * 2));
    if (dirty[k]) return;
    dirty[k] = 1;
    dirty_list.push_back(static_cast<uint32_t>(k));
  }

  // The trigger being processed: the fields every ledger entry it writes shares.
  std::string trigger_id;     // the input record's id; empty for a day tick
  // The id entries carry: trigger_id, or [v0.2] a sent event's id (kept in `sent`). Entries
  // view it until Flush, so it never points at a string that changes before then.
  std::string_view trigger_view;
  bool trigger_is_day = false;
  uint64_t trigger_serial = 0;  // LedgerEntry::trigger_serial: counts triggers
  int64_t now = 0;
  int64_t today = 0;  // the local date of now (perk_tz_date), set with it
  uint64_t current_line = 0;

  // Budget use made by the current unit of work, undone on rollback: (rule, bucket key, cents).
  struct BudgetUse {
    int rule;
    int64_t key;
    int64_t cents;
  };
  std::vector<BudgetUse> budget_undo;

  // The undo log of the unit of work in progress: one entry per change to its client, so a
  // rollback restores exactly what changed and the common case (a record that credits one
  // wallet) copies one integer rather than the whole client.
  struct Undo {
    // ClientBudget/KeyedLimit: `index` is the rule, the entry of ClientState::rule_series is
    // found again by rule (and key, kept in undo_values for KeyedLimit); `old` is 1 when the
    // add created the entry.
    // Lots: the client's lots and pending credits before the change are in undo_lots.
    enum Kind : uint8_t { Wallet, Var, Tier, Hold, Segment, Badge, Limit, Agg, ClientBudget, KeyedLimit, Lots } kind;
    bool pushed = false;  // Limit/Agg/ClientBudget/KeyedLimit: the add pushed a new bucket (else `bucket` was the last)
    uint32_t index = 0;
    int64_t old = 0;
    Bucket bucket;
  };
  std::vector<Undo> undo_log;
  std::vector<Value> undo_values;  // old values of vars, in the order of their Var entries
  // [v0.2] The client's lots and pending credits before each change, in the order of their Lots
  // entries: [0, undo_lots_used) are in use. A whole copy: a client holds a few lots (one per
  // expiry date), and a change to them is a credit or debit of an expiring wallet, a pending
  // credit or a day tick's release. The copies are assigned into books kept from record to
  // record, so once warm a change costs no allocation.
  struct LotBook {
    std::vector<Lot> lots;
    std::vector<PendingCredit> pending;
  };
  std::vector<LotBook> undo_lots;
  size_t undo_lots_used = 0;
  void LogLots(ClientState& c) {
    undo_log.push_back({Undo::Lots, false, 0, 0, {}});
    if (undo_lots_used == undo_lots.size()) undo_lots.emplace_back();
    LotBook& book = undo_lots[undo_lots_used++];
    book.lots = c.lots;
    book.pending = c.pending_credits;
  }
  void ClearUndo() {
    undo_log.clear();
    undo_values.clear();
    undo_lots_used = 0;
  }

  void SetWallet(ClientState& c, int k, int64_t v) {
    undo_log.push_back({Undo::Wallet, false, static_cast<uint32_t>(k), c.wallets()[k], {}});
    c.wallets()[k] = v;
  }
  void SetVar(ClientState& c, int k, Value v) {
    undo_log.push_back({Undo::Var, false, static_cast<uint32_t>(k), 0, {}});
    undo_values.push_back(c.var(k));
    c.set_var(k, std::move(v));
  }
  void SetTier(ClientState& c, int64_t v) {
    undo_log.push_back({Undo::Tier, false, 0, c.tier(), {}});
    c.tier() = v;
  }
  void SetHold(ClientState& c, size_t k, int64_t v) {
    undo_log.push_back({Undo::Hold, false, static_cast<uint32_t>(k), c.holds()[k], {}});
    c.holds()[k] = v;
  }
  void SetSegment(ClientState& c, size_t k, bool member) {
    undo_log.push_back({Undo::Segment, false, static_cast<uint32_t>(k), c.segment(k), {}});
    c.set_segment(k, member);
  }
  void Grant(ClientState& c, const std::string& badge) {
    undo_log.push_back({Undo::Badge, false, 0, 0, {}});
    c.badges.push_back(badge);
  }
  // Series::Add, logged: the add changes only the last bucket or pushes one (the buckets it
  // drops from the front are past every window from now on, so dropping them needs no undo).
  template <typename S>
  bool AddToSeries(Undo::Kind kind, uint32_t index, S& series, int64_t key, int64_t value, int64_t keep) {
    Undo u{kind, true, index, 0, {}};
    if (!series.buckets.empty() && series.buckets.back().key == key) {
      u.pushed = false;
      u.bucket = series.buckets.back();
    }
    undo_log.push_back(u);
    return series.Add(key, value, keep);
  }
  // ---- per-client rule series (budgets per client, keyed limits) ----
  // The client's series of (kind, rule, key), or null; the newest first (a client has few).
  template <typename Client>
  static auto FindRuleSeries(Client& c, RuleSeries::Kind kind, int r, const Value* key) -> decltype(c.rule_series.data()) {
    for (size_t k = c.rule_series.size(); k-- > 0;) {
      auto& rs = c.rule_series[k];
      if (rs.kind == kind && rs.rule == r && (!key || rs.key == *key)) return &rs;
    }
    return nullptr;
  }
  // Adds `value` at bucket key `bucket` to the client's series of (kind, rule, key), logged.
  bool AddToRuleSeries(ClientState& c, RuleSeries::Kind kind, int r, const Value* key, int64_t bucket, int64_t value,
                       int64_t keep) {
    RuleSeries* rs = FindRuleSeries(c, kind, r, key);
    const bool created = rs == nullptr;
    if (created) {
      RuleSeries fresh;
      fresh.kind = kind;
      fresh.rule = r;
      if (key) fresh.key = *key;
      c.rule_series.push_back(std::move(fresh));
      rs = &c.rule_series.back();
    }
    const Undo::Kind undo_kind = kind == RuleSeries::ClientBudget ? Undo::ClientBudget : Undo::KeyedLimit;
    if (undo_kind == Undo::KeyedLimit) undo_values.push_back(key ? *key : Value{});
    Undo u{undo_kind, true, static_cast<uint32_t>(r), created ? 1 : 0, {}};
    if (!rs->series.buckets.empty() && rs->series.buckets.back().key == bucket) {
      u.pushed = false;
      u.bucket = rs->series.buckets.back();
    }
    undo_log.push_back(u);
    return rs->series.Add(bucket, value, keep);
  }
  void UndoRuleSeries(ClientState& c, const Undo& u, const Value* key) {
    const RuleSeries::Kind kind = u.kind == Undo::ClientBudget ? RuleSeries::ClientBudget : RuleSeries::KeyedLimit;
    RuleSeries* rs = FindRuleSeries(c, kind, static_cast<int>(u.index), key);
    if (!rs) return;
    if (u.old == 1) {
      c.rule_series.erase(c.rule_series.begin() + (rs - c.rule_series.data()));
      return;
    }
    if (u.pushed) rs->series.buckets.pop_back();
    else rs->series.buckets.back() = u.bucket;
  }

  // Undoes the log down to `size`, newest first.
  void UndoTo(ClientState& c, size_t size) {
    bool aggs_changed = false;
    while (undo_log.size() > size) {
      const Undo& u = undo_log.back();
      switch (u.kind) {
        case Undo::Wallet: c.wallets()[u.index] = u.old; break;
        case Undo::Var:
          c.set_var(u.index, std::move(undo_values.back()));
          undo_values.pop_back();
          break;
        case Undo::Tier: c.tier() = u.old; break;
        case Undo::Hold: c.holds()[u.index] = u.old; break;
        case Undo::Segment: c.set_segment(u.index, u.old != 0); break;
        case Undo::Badge: c.badges.pop_back(); break;
        case Undo::Limit: {
          Series& series = c.limits[u.index];
          if (u.pushed) series.buckets.pop_back();
          else series.buckets.back() = u.bucket;
          break;
        }
        case Undo::Agg: {
          AggSeries& series = c.aggs[u.index];
          if (u.pushed) series.buckets.pop_back();
          else series.buckets.back() = u.bucket;
          aggs_changed = true;
          break;
        }
        case Undo::ClientBudget: UndoRuleSeries(c, u, nullptr); break;
        case Undo::KeyedLimit:
          UndoRuleSeries(c, u, &undo_values.back());
          undo_values.pop_back();
          break;
        case Undo::Lots: {
          LotBook& book = undo_lots[--undo_lots_used];
          c.lots.swap(book.lots);
          c.pending_credits.swap(book.pending);
          break;
        }
      }
      undo_log.pop_back();
    }
    if (aggs_changed) ClearWindows(c);
  }

  // ---- output (runtime/sink.h) ----

  JsonlSink jsonl;           // Engine::ledger() and rejects()
  std::vector<Sink*> sinks;  // Engine::AddSink, served after jsonl

  // The entries of the record in progress, handed to the sinks when it ends (FinishRecord):
  // a rollback only shortens `pending`. Value slots are reused from record to record (copy
  // assignment keeps a string's buffer), so an entry costs no allocation once warm.
  struct PendingEntry {
    LedgerEntry entry;  // client and values are resolved when handed out
    uint32_t values_begin = 0;  // in pending_values
    uint32_t values_count = 0;
  };
  std::vector<PendingEntry> pending;
  std::vector<Value> pending_values;        // slots [0, value_count) are in use
  std::vector<LedgerValue> pending_fields;  // parallel to them
  size_t value_count = 0;
  struct TickFailure {
    uint64_t line;
    std::string message;
  };
  std::vector<TickFailure> tick_failures;  // of the record in progress

  // ---- [v0.2] sent events (spec §5 step 5) ----
  // The events sent while processing the input record in progress (its day ticks included), in
  // the order sent; each is processed as its own unit right after the unit that sent it (the
  // record, or one client's part of a tick), and those it sends join the end. A deque: the
  // ledger entries of the record view their ids and clients until Flush clears it, and
  // pushing at its end moves none of them. A rollback pops the sends it takes back.
  struct SentEvent {
    runtime::Record record;  // for `to`, at the sender's time, id TRIGGER/RULE/N, defaults filled in
    int depth = 1;           // links from the input record or day tick: 1 for what they send
    // [C10] The reversal memory's index the sending event gets (it is being captured when it
    // sends), or kNone when the sender cannot be reversed (a day tick, a reversal).
    uint64_t sender = ReversalMemory::kNone;
  };
  std::deque<SentEvent> sent;
  size_t sent_next = 0;   // the first not yet processed
  int trigger_depth = 0;  // of the trigger in progress: 0 for an input record or a day tick
  // Numbers the sends of one firing from 1: a rule fires at most once per trigger and client.
  uint64_t send_serial = 0;
  uint32_t send_client = 0;
  int send_rule = -1;
  int send_count = 0;
  // The record's own outcome, once known (none for a blank line).
  bool has_outcome = false;
  RecordStatus outcome_status = RecordStatus::Accepted;
  std::string outcome_message;

  LedgerEntry& BeginEntry(const ClientState& c, const checked::Rule* rule, LedgerAction action) {
    ++seq;
    PendingEntry& p = pending.emplace_back();
    p.values_begin = static_cast<uint32_t>(value_count);
    LedgerEntry& e = p.entry;
    e.seq = seq;
    e.action = action;
    e.day_tick = trigger_is_day;
    if (!trigger_is_day) e.event_id = trigger_view;  // set once per trigger, before its entries
    e.day = today;
    e.trigger_serial = trigger_serial;
    e.time = now;
    e.client_index = static_cast<uint32_t>(c.index);
    if (rule) {
      e.rule = static_cast<int>(rule - program.rules.data());
      e.rule_name = rule->name;
    }
    return e;
  }
  void AddValue(std::string_view key, Type type, const Value& v) {
    if (value_count == pending_values.size()) pending_values.emplace_back();
    pending_values[value_count] = v;
    pending_fields.push_back({key, type, nullptr});
    ++value_count;
    ++pending.back().values_count;
  }
  void SetMovement(LedgerEntry& e, const checked::Wallet& w, int64_t amount, int64_t balance) {
    e.target = w.name;
    e.amount_type = w.type;
    e.amount = amount;
    e.balance = balance;
  }

  void EndEntry() { ++stats.effects; }

  // A reject line from a day tick that failed for one client (DayTick): the record goes on.
  void Reject(uint64_t line, std::string_view error) {
    tick_failures.push_back({line, std::string(error)});
    ++stats.rejects;
  }
  // The record itself is rejected.
  void RejectRecord(uint64_t line, std::string_view error) {
    ++stats.rejects;
    SetOutcome(RecordStatus::Rejected);
    outcome_message.assign(error);
  }
  void SetOutcome(RecordStatus status) {
    has_outcome = true;
    outcome_status = status;
    if (status == RecordStatus::Accepted) ++stats.accepted;
    if (status == RecordStatus::Duplicate) ++stats.duplicates;
  }

  // Hands the committed entries and the tick failures to the sinks.
  void Flush() {
    for (size_t k = 0; k < value_count; ++k) pending_fields[k].value = &pending_values[k];
    for (PendingEntry& p : pending) {
      LedgerEntry& e = p.entry;
      e.client = clients[e.client_index].id;
      e.values = std::span<const LedgerValue>(pending_fields.data() + p.values_begin, p.values_count);
      jsonl.Entry(e);
      for (Sink* s : sinks) s->Entry(e);
    }
    pending.clear();
    pending_fields.clear();
    value_count = 0;
    if (!sent.empty()) {  // every one was processed before the record ended
      sent.clear();  // not called on the common path: a deque's clear costs even when empty
      sent_next = 0;
    }
    if (tick_failures.empty()) return;
    for (const TickFailure& f : tick_failures) Hand(RecordOutcome{RecordStatus::TickFailed, f.line, {}, {}, f.message});
    tick_failures.clear();
  }
  void Hand(const RecordOutcome& o) {
    jsonl.Outcome(o);
    for (Sink* s : sinks) s->Outcome(o);
  }
  // The end of an input line: its entries, its tick failures, then its outcome.
  void FinishRecord(const runtime::Record& rec, uint64_t line) {
    Flush();
    if (!has_outcome) return;
    has_outcome = false;
    Hand(RecordOutcome{outcome_status, line, rec.id, rec.client,
                       outcome_status == RecordStatus::Rejected ? std::string_view(outcome_message) : std::string_view(),
                       outcome_status == RecordStatus::Accepted ? &rec : nullptr});
  }

  void SetTrigger(std::string_view id, int64_t time) {
    trigger_id.assign(id);
    trigger_view = trigger_id;
    trigger_is_day = false;
    ++trigger_serial;
    now = time;
    today = LocalDate(time);
  }
  // [v0.2] Dates and day starts in the program's zone; v0.1's UTC arithmetic when it is UTC.
  int64_t LocalDate(int64_t time) const {
    return program.zone == stdlib::kUtcZone ? stdlib::UtcDate(time) : perk_tz_date(program.zone, time);
  }
  int64_t DayStart(int64_t day) const {
    return program.zone == stdlib::kUtcZone ? stdlib::UtcDayStart(day) : perk_tz_day_start(program.zone, day);
  }
  void SetDayTrigger(int64_t day) {
    trigger_id.clear();
    trigger_view = {};
    trigger_is_day = true;
    ++trigger_serial;
    now = DayStart(day);
    today = day;
  }

  // ---- rules ----

  EvalContext Context(ClientState& c, const Record* event, int64_t previous_tier) {
    EvalContext ctx;
    // The reference mode folds every window from its buckets: it checks the caches too.
    ctx.windows = full_reevaluation ? nullptr : WindowsOf(c);
    ctx.agg_windows = &agg_windows;
    ctx.program = &program;
    ctx.client = &c;
    ctx.event = event;
    ctx.now = now;
    ctx.today = today;
    ctx.previous_tier = previous_tier;
    return ctx;
  }

  // `what` and `name` say what is being evaluated when no rule is (e.g. "tier", "Gold"); the
  // message is only formatted when evaluation fails, never on the per-record path.
  Value MustEval(const checked::Expr& e, const EvalContext& ctx, const checked::Rule* rule, const char* what = "",
                 std::string_view name = {}) {
    Value v;
    SourceRange where;
    PerkStatus s = evaluator->Evaluate(e, ctx, &v, &where);
    if (s != PERK_OK) {
      std::string who = rule ? fmt::format("rule `{}`", rule->name) : fmt::format(fmt::runtime(what), name);
      throw RuntimeError{fmt::format("{}: {} at program line {}, column {}", who, StatusWords(s), where.line, where.column)};
    }
    return v;
  }

  int64_t BudgetUsed(int r) const {
    const checked::Rule& rule = program.rules[r];
    Bucket b;
    budgets[r].Query(WindowKey(rule.budget_window, now, program.zone), rule.budget_window.count, &b);
    return b.sum;
  }

  int64_t ClientBudgetUsed(const ClientState& c, int r) const {
    const checked::Rule& rule = program.rules[r];
    const RuleSeries* rs = FindRuleSeries(c, RuleSeries::ClientBudget, r, nullptr);
    if (!rs) return 0;
    Bucket b;
    rs->series.Query(WindowKey(rule.client_budget_window, now, program.zone), rule.client_budget_window.count, &b);
    return b.sum;
  }

  // ---- all-or-nothing firings ----
  // Where the firing in progress started: a budget skip takes everything it did back to here
  // (a few integers: the pending entries and values, the counters, and the undo logs' lengths).
  struct FiringMark {
    size_t entries;
    size_t values;
    uint64_t seq;
    uint64_t effects;
    size_t budget_undo_size;
    size_t sent_size;
    size_t undo_size;
    ReversalMemory::Mark captured;  // the reversal pools' ends, when capturing
  };
  FiringMark firing_mark{};
  void BeginFiring() {
    firing_mark = {pending.size(),     value_count,    seq, stats.effects, budget_undo.size(), sent.size(),
                   undo_log.size(), reversal_memory.End()};
  }
  // A credit more than a budget has left: none of the firing's actions are kept, and the ledger
  // gets one `skip` entry with the amount asked. Returns false: the firing stops.
  bool SkipFiring(ClientState& c, const checked::Rule& rule, const char* reason, const checked::Wallet& w,
                  int64_t asked) {
    Rollback(Savepoint{firing_mark.entries, firing_mark.values, firing_mark.seq, firing_mark.effects,
                       firing_mark.budget_undo_size, firing_mark.sent_size});
    UndoTo(c, firing_mark.undo_size);
    if (capturing) reversal_memory.Truncate(firing_mark.captured);
    LedgerEntry& e = BeginEntry(c, &rule, LedgerAction::Skip);
    e.reason = reason;
    SetMovement(e, w, asked, 0);
    EndEntry();
    return false;
  }
  static bool HasBudget(const checked::Rule& rule) { return rule.has_budget || rule.has_client_budget; }

  // Runs actions; returns false when a budget skip stopped the firing.
  bool RunActions(const std::vector<checked::Action>& actions, ClientState& c, const Record* event, int64_t previous_tier,
                  int r) {
    const checked::Rule& rule = program.rules[r];
    for (const auto& a : actions) {
      EvalContext ctx = Context(c, event, previous_tier);
      if (a.kind == checked::ActionKind::If) {
        bool cond = MustEval(*a.value, ctx, &rule).i != 0;
        if (!RunActions(cond ? a.then_actions : a.else_actions, c, event, previous_tier, r)) return false;
        continue;
      }
      // Every value is evaluated before anything is applied: a failing value changes nothing.
      action_values.resize(std::max<size_t>(1, checked::ValueCount(a)));
      if (a.value) action_values[0] = MustEval(*a.value, ctx, &rule);
      for (size_t k = 0; k < a.data.size(); ++k) action_values[checked::DataSlot(a, k)] = MustEval(a.data[k].value, ctx, &rule);
      if (!Apply(c, r, a, action_values.data())) return false;
    }
    return true;
  }
  std::vector<Value> action_values;

  // Applies an evaluated action (not an `if`) for both engines; false when a budget skip
  // stopped the firing.
  bool Apply(ClientState& c, int r, const checked::Action& a, const Value* values) {
    const checked::Rule& rule = program.rules[r];
    switch (a.kind) {
      case checked::ActionKind::Credit: {
        int64_t amount = values[0].i;
        if (amount <= 0) break;
        const checked::Wallet& w = program.wallets[a.target];
        // A money budget counts credits to money wallets, an int budget to int wallets. The
        // campaign budget is asked first, then the per-client one with the amount as cut.
        const bool campaign = rule.has_budget && rule.budget_type == w.type;
        const bool per_client = rule.has_client_budget && rule.client_budget_type == w.type;
        bool partial = false;
        if (campaign || per_client) {
          const int64_t asked = amount;
          if (campaign) {
            const int64_t left = rule.budget_cents - BudgetUsed(r);
            if (amount > left) {
              if (!rule.budget_partial || left <= 0) return SkipFiring(c, rule, "budget", w, asked);
              amount = left;
              partial = true;
            }
          }
          if (per_client) {
            const int64_t left = rule.client_budget_amount - ClientBudgetUsed(c, r);
            if (amount > left) {
              if (!rule.client_budget_partial || left <= 0) return SkipFiring(c, rule, "client budget", w, asked);
              amount = left;
              partial = true;
            }
          }
        }
        int64_t balance;
        if (perk_int_add(c.wallets()[a.target], amount, &balance) != PERK_OK ||
            (a.pending >= 0 && perk_int_add(balance, c.PendingOf(a.target), &balance) != PERK_OK))
          throw RuntimeError{fmt::format("rule `{}`: the balance of wallet `{}` would overflow", rule.name, w.name)};
        // [v0.2] A pending credit stays out of the balance until its release date (spec §3);
        // the check above keeps balance + everything pending in range, so its release cannot
        // overflow unless later credits fill the wallet first.
        int64_t until = 0;
        if (a.pending >= 0) {
          until = DateAfter(today, program.pending_for[a.pending], rule);
          balance = c.wallets()[a.target];
        }
        int64_t budget_bucket = kNoBucket, client_budget_bucket = kNoBucket;
        if (campaign) {
          int64_t key = BucketKey(rule.budget_window.unit, now, program.zone);
          budget_bucket = key;
          if (!budgets[r].Add(key, amount, rule.budget_window.count + rule.budget_window.previous))
            throw RuntimeError{fmt::format("rule `{}`: budget use overflows", rule.name)};
          budget_undo.push_back({r, key, amount});
        }
        if (per_client) {
          MarkDirty(c);
          const checked::Window& cw = rule.client_budget_window;
          client_budget_bucket = BucketKey(cw.unit, now, program.zone);
          if (!AddToRuleSeries(c, RuleSeries::ClientBudget, r, nullptr, client_budget_bucket, amount,
                               cw.count + cw.previous))
            throw RuntimeError{fmt::format("rule `{}`: budget use overflows", rule.name)};
        }
        MarkDirty(c);
        LedgerEntry& e = BeginEntry(c, &rule, LedgerAction::Credit);
        SetMovement(e, w, amount, balance);
        e.partial = partial;
        if (a.pending >= 0) {
          e.pending = true;
          e.until = until;
          AddPendingCredit(c, PendingCredit{a.target, until, amount, e.seq});
        } else {
          SetWallet(c, a.target, balance);
          if (w.expiry != 0) AddLot(c, Lot{a.target, DateAfter(today, w.expiry, rule), amount});
        }
        EndEntry();
        if (capturing)
          reversal_memory.Capture(
              FiringEffect{a.pending >= 0 ? FiringEffect::PendingCredit : FiringEffect::Credit, r, a.target, 0, e.seq,
                           amount, 0, budget_bucket, client_budget_bucket});
        break;
      }
      case checked::ActionKind::Debit: {
        int64_t take = std::min(values[0].i, c.wallets()[a.target]);
        if (take <= 0) break;
        const checked::Wallet& w = program.wallets[a.target];
        MarkDirty(c);
        SetWallet(c, a.target, c.wallets()[a.target] - take);
        if (w.expiry != 0) TakeFromLots(c, a.target, take);
        LedgerEntry& e = BeginEntry(c, &rule, LedgerAction::Debit);
        SetMovement(e, w, take, c.wallets()[a.target]);
        EndEntry();
        if (capturing) reversal_memory.Capture(FiringEffect{FiringEffect::Debit, r, a.target, 0, e.seq, take});
        break;
      }
      case checked::ActionKind::Set: {
        const checked::Var& var = program.vars[a.target];
        BeginEntry(c, &rule, LedgerAction::Set).target = var.name;
        AddValue({}, var.type, values[0]);
        EndEntry();
        MarkDirty(c);
        SetVar(c, a.target, values[0]);
        break;
      }
      case checked::ActionKind::Notify:
      case checked::ActionKind::Emit: {
        bool notify = a.kind == checked::ActionKind::Notify;
        BeginEntry(c, &rule, notify ? LedgerAction::Notify : LedgerAction::Emit).target = a.name;
        for (size_t k = 0; k < a.data.size(); ++k)
          AddValue(a.data[k].key, a.data[k].value.type, values[checked::DataSlot(a, k)]);
        EndEntry();
        break;
      }
      case checked::ActionKind::Send: Send(c, rule, a, values); break;
      case checked::ActionKind::Grant: {
        if (c.HasBadge(a.name)) break;
        MarkDirty(c);
        Grant(c, a.name);
        BeginEntry(c, &rule, LedgerAction::Grant).target = a.name;
        EndEntry();
        break;
      }
      case checked::ActionKind::If: break;  // RunActions branches; native code too
    }
    return true;
  }

  // ---- [v0.2] lots and pending credits (spec §3, §5 step 2a) ----

  // The date `duration` (days or months, stdlib/zone.h) after `day`; a runtime error of `rule`
  // (null: the day tick) past the year 9999.
  int64_t DateAfter(int64_t day, int64_t duration, const checked::Rule* rule) const {
    int64_t out;
    if (perk_date_add(day, duration, &out) != PERK_OK)
      throw RuntimeError{fmt::format("{}: a release or expiry date after {} is past the year 9999",
                                     rule ? fmt::format("rule `{}`", rule->name) : std::string("release"),
                                     stdlib::FormatDate(day))};
    return out;
  }
  int64_t DateAfter(int64_t day, int64_t duration, const checked::Rule& rule) const { return DateAfter(day, duration, &rule); }

  // Tick day -> clients with a lot expiring or a credit released that day (entries may be stale
  // after a rollback or a debit: a visit with nothing due does nothing).
  std::map<int64_t, std::vector<uint32_t>> lot_wakeups;
  void WakeForLots(uint32_t k, int64_t day) {
    std::vector<uint32_t>& v = lot_wakeups[day];
    if (v.empty() || v.back() != k) v.push_back(k);
  }
  // Moves the clients of every lot wake-up up to `day` into `out` (days a zone skipped included).
  void TakeLotWakeups(int64_t day, std::vector<uint32_t>* out) {
    while (!lot_wakeups.empty() && lot_wakeups.begin()->first <= day) {
      auto node = lot_wakeups.extract(lot_wakeups.begin());
      for (uint32_t k : node.mapped())
        if (k < clients.size()) out->push_back(k);
    }
  }
  static bool LotsDue(const ClientState& c, int64_t day) {
    return (!c.lots.empty() && c.lots.front().expires <= day) ||
           (!c.pending_credits.empty() && c.pending_credits.front().until <= day);
  }

  void AddLot(ClientState& c, Lot lot) {
    LogLots(c);
    AddLotUnlogged(c, lot);
  }
  void AddPendingCredit(ClientState& c, PendingCredit p) {
    LogLots(c);
    auto at = std::upper_bound(c.pending_credits.begin(), c.pending_credits.end(), p,
                               [](const PendingCredit& a, const PendingCredit& b) { return a.until < b.until; });
    c.pending_credits.insert(at, p);
    WakeForLots(c.index, p.until);
  }
  // A debit of `take` (at most the balance) from an expiring wallet: its lots that expire first
  // give first; what they do not cover comes from the part of the balance no lot covers.
  void TakeFromLots(ClientState& c, int wallet, int64_t take) {
    LogLots(c);
    for (Lot& lot : c.lots) {
      if (take == 0) break;
      if (lot.wallet != wallet) continue;
      const int64_t t = std::min(take, lot.amount);
      lot.amount -= t;
      take -= t;
    }
    std::erase_if(c.lots, [](const Lot& lot) { return lot.amount == 0; });
  }

  // Step 2(a) for one client: per wallet in declaration order, the credits released that day
  // (one `release` entry with their sum), then the lots that expire (one `expire` entry).
  // `day` is the tick's date; anything due earlier (a date the zone skipped) goes too.
  void ReleaseAndExpire(ClientState& c, int64_t day) {
    if (!LotsDue(c, day)) return;
    MarkDirty(c);
    LogLots(c);
    for (size_t w = 0; w < program.wallets.size(); ++w) {
      const checked::Wallet& wallet = program.wallets[w];
      const auto k = static_cast<int32_t>(w);
      int64_t released = 0;
      size_t kept = 0;
      for (size_t j = 0; j < c.pending_credits.size(); ++j) {
        const PendingCredit p = c.pending_credits[j];
        if (p.wallet != k || p.until > day) {
          c.pending_credits[kept++] = p;
          continue;
        }
        released += p.amount;  // the credit's check keeps the sum in range
        // A released credit to an expiring wallet is a lot from its release date on.
        if (wallet.expiry != 0) AddLotUnlogged(c, Lot{k, DateAfter(p.until, wallet.expiry, nullptr), p.amount});
      }
      c.pending_credits.resize(kept);
      if (released > 0) {
        int64_t balance;
        if (perk_int_add(c.wallets()[w], released, &balance) != PERK_OK)
          throw RuntimeError{fmt::format("release: the balance of wallet `{}` would overflow", wallet.name)};
        SetWallet(c, k, balance);
        SetMovement(BeginEntry(c, nullptr, LedgerAction::Release), wallet, released, balance);
        EndEntry();
      }
      if (wallet.expiry == 0) continue;
      int64_t expired = 0;
      for (const Lot& lot : c.lots)
        if (lot.wallet == k && lot.expires <= day) expired += lot.amount;
      std::erase_if(c.lots, [&](const Lot& lot) { return lot.wallet == k && lot.expires <= day; });
      expired = std::min(expired, c.wallets()[w]);
      if (expired > 0) {
        SetWallet(c, k, c.wallets()[w] - expired);
        SetMovement(BeginEntry(c, nullptr, LedgerAction::Expire), wallet, expired, c.wallets()[w]);
        EndEntry();
      }
    }
  }
  // AddLot within a change already logged. Lots of one wallet add up to at most its balance,
  // which did not overflow: merging cannot either.
  void AddLotUnlogged(ClientState& c, Lot lot) {
    auto at = std::upper_bound(c.lots.begin(), c.lots.end(), lot, [](const Lot& a, const Lot& b) {
      return a.expires != b.expires ? a.expires < b.expires : a.wallet < b.wallet;
    });
    if (at != c.lots.begin() && (at - 1)->expires == lot.expires && (at - 1)->wallet == lot.wallet) (at - 1)->amount += lot.amount;
    else c.lots.insert(at, lot);
    WakeForLots(c.index, lot.expires);
  }

  // [v0.2] `send EVENT to X`: queues the event for X (processed after the current unit, §5
  // step 5) and writes the `send` entry, which a rollback of the firing takes back with it.
  void Send(const ClientState& c, const checked::Rule& rule, const checked::Action& a, const Value* values) {
    const checked::Event& ev = program.events[a.target];
    if (trigger_depth >= kMaxSendDepth)
      throw RuntimeError{fmt::format("rule `{}`: `send {}` would make a chain of more than {} sent events; an event "
                                     "sent by a sent event ... stops there (is a rule sending in a loop?)",
                                     rule.name, ev.name, kMaxSendDepth)};
    if (values[0].s.empty())  // the checker admits only client values, which are never empty
      throw RuntimeError{fmt::format("rule `{}`: `send {}` names no client", rule.name, ev.name)};
    const int r = static_cast<int>(&rule - program.rules.data());
    if (send_serial != trigger_serial || send_client != c.index || send_rule != r) {
      send_serial = trigger_serial;
      send_client = static_cast<uint32_t>(c.index);
      send_rule = r;
      send_count = 0;
    }
    SentEvent& s = sent.emplace_back();
    s.depth = trigger_depth + 1;
    s.sender = capturing ? reversal_memory.end() : ReversalMemory::kNone;
    runtime::Record& rec = s.record;
    rec.kind = RecordKind::Event;
    rec.event_index = a.target;
    // TRIGGER/RULE/N; at a day tick the trigger is day:DATE/CLIENT (spec §5).
    if (trigger_is_day) rec.id = fmt::format("day:{}/{}", stdlib::FormatDate(today), c.id);
    else rec.id.assign(trigger_view);
    fmt::format_to(std::back_inserter(rec.id), "/{}/{}", rule.name, ++send_count);
    rec.client = values[0].s;
    rec.time = now;
    rec.fields.resize(ev.fields.size());
    for (size_t k = 0; k < ev.fields.size(); ++k) rec.fields[k] = ev.fields[k].default_value;
    for (size_t k = 0; k < a.data.size(); ++k) rec.fields[a.data[k].field] = values[checked::DataSlot(a, k)];
    rec.present.assign(ev.fields.size(), true);
    LedgerEntry& e = BeginEntry(c, &rule, LedgerAction::Send);
    e.target = ev.name;
    e.send_to = rec.client;
    e.sent_id = rec.id;
    EndEntry();
  }

  // Processes the sent events not yet processed, in order, those they send included. Each is
  // atomic on its own: a runtime error rolls back that event only and is written to the
  // rejects with the line of the input record, like a failed client part of a day tick.
  void ProcessSent() {
    while (sent_next < sent.size()) {
      SentEvent& s = sent[sent_next++];
      const runtime::Record& rec = s.record;
      const IdHashes hashes = HashesOf(rec);
      uint64_t remembered;
      // Derived ids cannot collide with input ids (those may not contain `/`), nor with each
      // other; one remembered already was processed already (the record was fed again).
      if (seen_ids.Find(rec.id, hashes.id, &remembered)) continue;
      trigger_view = rec.id;
      trigger_is_day = false;
      ++trigger_serial;
      now = rec.time;
      today = LocalDate(rec.time);
      trigger_depth = s.depth;
      // A client first known through a send is known from the send's time (spec §5).
      std::string error;
      ClientState* c = ApplyEvent(rec, hashes, &error);
      trigger_depth = 0;
      if (!c) {
        Reject(current_line, fmt::format("sent event `{}` for client `{}`: {}", rec.id, rec.client, error));
        continue;
      }
      // [C10] What it did is remembered too: reversing its sender reverses it.
      RememberForReversal(*c, rec, /*sent=*/true, s.sender);
      Remember(rec, hashes);
    }
  }

  // The RuleHost of native rules runs: the client whose rules run, and the trigger event.
  struct Host final : RuleHost {
    Impl* impl = nullptr;
    ClientState* client = nullptr;
    const Record* event = nullptr;
    int firing = -1;  // the rule whose firing has begun
    bool LimitOpen(int r) override { return impl->LimitOpen(*client, r, event); }
    void LimitAdd(int r) override { impl->LimitAdd(*client, r); }
    bool Act(int r, const checked::Action& a, const Value* values) override {
      // A firing begins with its first action (nothing before it changes state); each rule
      // fires at most once per trigger run.
      if (r != firing) {
        firing = r;
        if (HasBudget(impl->program.rules[r])) impl->BeginFiring();
      }
      return impl->Apply(*client, r, a, values);
    }
  };

  // The key of the keyed limit being checked, from LimitOpen to the LimitAdd of the same firing.
  Value limit_key;
  bool LimitOpen(ClientState& c, int r, const Record* event) {
    const checked::Rule& rule = program.rules[r];
    const int64_t bucket = WindowKey(rule.limit_window, now, program.zone);
    Bucket b;
    if (rule.limit_key) {
      limit_key = MustEval(*rule.limit_key, Context(c, event, 0), &rule);
      const RuleSeries* rs = FindRuleSeries(c, RuleSeries::KeyedLimit, r, &limit_key);
      if (!rs) return true;
      rs->series.Query(bucket, rule.limit_window.count, &b);
    } else {
      c.limits[r].Query(bucket, rule.limit_window.count, &b);
    }
    return b.count < rule.limit_count;
  }
  void LimitAdd(ClientState& c, int r) {
    const checked::Rule& rule = program.rules[r];
    MarkDirty(c);
    const int64_t bucket = BucketKey(rule.limit_window.unit, now, program.zone);
    const int64_t keep = rule.limit_window.count + rule.limit_window.previous;  // buckets a window reads
    if (rule.limit_key) {
      if (rule.limit_window.count > 0) PruneKeyedLimits(c, r, bucket - keep);
      AddToRuleSeries(c, RuleSeries::KeyedLimit, r, &limit_key, bucket, 1, keep);
      if (capturing)
        reversal_memory.Capture(FiringEffect{FiringEffect::KeyedLimit, r, 0, reversal_memory.CaptureKey(limit_key), 0, 0, bucket});
      return;
    }
    AddToSeries(Undo::Limit, static_cast<uint32_t>(r), c.limits[r], bucket, 1, keep);
    if (capturing) reversal_memory.Capture(FiringEffect{FiringEffect::Limit, r, 0, 0, 0, 0, bucket});
  }
  // Drops the keys of rule r whose firings are all at bucket keys <= `last_out`: past the
  // window from now on, they can never count again (so dropping them needs no undo, and a
  // series changed by this unit of work, at the current bucket, is never dropped).
  void PruneKeyedLimits(ClientState& c, int r, int64_t last_out) {
    auto& v = c.rule_series;
    v.erase(std::remove_if(v.begin(), v.end(),
                           [&](const RuleSeries& rs) {
                             return rs.kind == RuleSeries::KeyedLimit && rs.rule == r &&
                                    (rs.series.buckets.empty() || rs.series.buckets.back().key <= last_out);
                           }),
            v.end());
  }

  // The rules of a trigger, in order: in one native call when the evaluator has a trigger
  // entry (and no observer watches rule by rule), else here.
  void RunRules(checked::TriggerKind trigger, int event_index, const std::vector<int>& rules, ClientState& c,
                const Record* event, int64_t previous_tier) {
    if (rules.empty()) return;
    if (!observer) {
      Host host;
      host.impl = this;
      host.client = &c;
      host.event = event;
      int failed = 0;
      SourceRange where;
      int s = evaluator->RunRules(trigger, event_index, Context(c, event, previous_tier), &host, &failed, &where);
      if (s == PERK_OK) return;
      if (s != kNoNativeRules)
        throw RuntimeError{fmt::format("rule `{}`: {} at program line {}, column {}", program.rules[failed].name,
                                       StatusWords(static_cast<PerkStatus>(s)), where.line, where.column)};
    }
    for (int r : rules) {
      const checked::Rule& rule = program.rules[r];
      if (observer)
        observer(r, Context(c, event, previous_tier),
                 trigger_is_day ? "day:" + stdlib::FormatDate(today) : std::string(trigger_view), current_line);
      if (rule.has_limit && !LimitOpen(c, r, event)) continue;
      if (rule.when) {
        EvalContext ctx = Context(c, event, previous_tier);
        if (MustEval(*rule.when, ctx, &rule).i == 0) continue;
      }
      if (HasBudget(rule)) BeginFiring();
      if (!RunActions(rule.actions, c, event, previous_tier, r)) continue;
      if (rule.has_limit) LimitAdd(c, r);
    }
  }

  // Step 4: tier, then `on tier_changed` rules, then segments.
  // Evaluates a whole condition list (one native call with the JIT) into condition_results.
  std::vector<uint8_t> condition_results;
  const uint8_t* EvalConditions(ConditionSet set, size_t n, ClientState& c, const Record* event) {
    condition_results.resize(std::max(condition_results.size(), n));
    EvalContext ctx = Context(c, event, 0);
    int failed = 0;
    SourceRange where;
    PerkStatus s = evaluator->EvaluateConditions(set, ctx, condition_results.data(), &failed, &where);
    if (s != PERK_OK) {
      std::string who = set == ConditionSet::Tiers ? fmt::format("tier `{}`", program.tiers[failed + 1].name)
                                                   : fmt::format("segment `{}`", program.segments[failed].name);
      throw RuntimeError{fmt::format("{}: {} at program line {}, column {}", who, StatusWords(s), where.line, where.column)};
    }
    return condition_results.data();
  }

  std::vector<int> segment_changes;  // Reevaluate's membership changes, in segment order
  void Reevaluate(ClientState& c, const Record* event) {
    const size_t log_size = undo_log.size();
    // A hold tier whose condition holds moves its hold's end at every evaluation.
    bool extends_hold = false;
    if (!program.tiers.empty()) {
      int64_t best = 0;
      // Every tier's condition is evaluated before any hold changes: conditions cannot read
      // holds, and the tier itself changes only after the loop.
      const uint8_t* tier_holds = EvalConditions(ConditionSet::Tiers, program.tiers.size() - 1, c, event);
      for (size_t k = 1; k < program.tiers.size(); ++k) {
        const checked::Tier& t = program.tiers[k];
        bool holds = tier_holds[k - 1] != 0;
        if (holds && t.hold_micros > 0) {
          extends_hold = true;
          int64_t end;
          if (t.hold_calendar != 0) {
            // [v0.2] A calendar hold (`hold 1 month`, or days in a zone): a step of the calendar.
            if (perk_tz_add(program.zone, now, t.hold_calendar, &end) != PERK_OK) end = INT64_MAX;
          } else if (perk_int_add(now, t.hold_micros, &end) != PERK_OK) {
            end = INT64_MAX;
          }
          if (c.holds()[k] != end) {
            MarkDirty(c);
            SetHold(c, k, end);
          }
        }
        if (holds || (t.hold_micros > 0 && now < c.holds()[k])) best = static_cast<int64_t>(k);
      }
      if (best != c.tier()) {
        int64_t previous = c.tier();
        MarkDirty(c);
        SetTier(c, best);
        LedgerEntry& e = BeginEntry(c, nullptr, LedgerAction::Tier);
        e.from = program.tiers[previous].name;
        e.to = program.tiers[best].name;
        EndEntry();
        RunRules(checked::TriggerKind::TierChanged, -1, program.tier_changed_rules, c, nullptr, previous);
      }
    }
    // Segments in one call unless a segment's condition reads a segment, which must see the
    // memberships updated before it.
    const uint8_t* members = nullptr;
    segment_changes.clear();
    if (!program.segments.empty() && !segments_read_segments)
      members = EvalConditions(ConditionSet::Segments, program.segments.size(), c, event);
    for (size_t k = 0; k < program.segments.size(); ++k) {
      const checked::Segment& sg = program.segments[k];
      bool member;
      if (members) {
        member = members[k] != 0;
      } else {
        EvalContext ctx = Context(c, event, 0);
        member = MustEval(sg.when, ctx, nullptr, "segment `{}`", sg.name).i != 0;
      }
      if (member != c.segment(k)) {
        MarkDirty(c);
        SetSegment(c, k, member);
        LedgerEntry& e = BeginEntry(c, nullptr, LedgerAction::Segment);
        e.target = sg.name;
        e.member = member;
        EndEntry();
        segment_changes.push_back(static_cast<int>(k));
      }
    }
    // [v0.2] Then each change's `on entering` / `on leaving` rules, change by change in segment
    // order. They cause no re-evaluation; what they change is read from the next one on.
    for (int k : segment_changes) {
      const bool member = c.segment(static_cast<size_t>(k));
      const auto& by_segment = member ? program.entering_rules : program.leaving_rules;
      if (static_cast<size_t>(k) < by_segment.size())
        RunRules(member ? checked::TriggerKind::Entering : checked::TriggerKind::Leaving, k, by_segment[k], c, nullptr, 0);
    }
    // What changed here (a tier, a hold, a membership, `on tier_changed` rules) may change what
    // the conditions read: the next tick re-evaluates.
    bool stable = !full_reevaluation && !conditions_read_clock && !extends_hold && undo_log.size() == log_size;
    SetStableUntil(c.index, stable ? StableUntil(c) : INT64_MIN);
  }

  // ---- atomic units of work ----

  struct Savepoint {
    size_t entries;  // in pending
    size_t values;
    uint64_t seq;
    uint64_t effects;
    size_t budget_undo_size;
    size_t sent_size;  // a rolled-back firing sends nothing
  };
  Savepoint Save() const { return {pending.size(), value_count, seq, stats.effects, budget_undo.size(), sent.size()}; }
  void Rollback(const Savepoint& sp) {
    while (sent.size() > sp.sent_size) sent.pop_back();
    pending.resize(sp.entries);
    pending_fields.resize(sp.values);
    value_count = sp.values;
    seq = sp.seq;
    stats.effects = sp.effects;
    while (budget_undo.size() > sp.budget_undo_size) {
      const BudgetUse& u = budget_undo.back();
      for (auto& b : budgets[u.rule].buckets)
        if (b.key == u.key) b.sum -= u.cents, b.count -= 1;
      budget_undo.pop_back();
    }
  }

  // A day tick at DAY T00:00:00Z: the known clients something is due for (see "day ticks that
  // visit only what is due"), in order of first appearance. Each client's part is atomic on its
  // own, so one failing client cannot block the others.
  void DayTick(int64_t day) {
    // [v0.2] The rules due this day: `every week` ones on Mondays, `every month` ones on the 1st.
    const int kind = program.has_calendar_ticks ? DayKindOf(day) : -1;  // -1: every day only
    const std::vector<int>& rules = kind >= 0 ? program.day_tick_rules[kind] : program.daily_rules;
    // Nothing can happen at a tick without day-tick rules, tier conditions, segments, or
    // [v0.2] credits to release and lots to expire.
    if (rules.empty() && program.tiers.size() <= 1 && program.segments.empty() && !program.has_lots) return;
    SetDayTrigger(day);
    ++tick_stats.ticks;
    due.clear();
    TakeWakeups(day, &due);
    const int day_kind = kind >= 0 ? kind : checked::kPlainDay;
    // The reference mode, and an observer (it sees every rule considered for every client),
    // visit every client, as does a rule that may fire for any client.
    const bool schedule_known = program.day_schedule.rules.size() == program.rules.size();
    const bool everyone = full_reevaluation || (!rules.empty() && (observer || !schedule_known ||
                                                                   program.day_schedule.every_client[day_kind]));
    if (everyone) {
      ++tick_stats.full_ticks;
      lot_wakeups.erase(lot_wakeups.begin(), lot_wakeups.upper_bound(day));  // every client is visited
      // Clients first known through a send during the tick are not visited by it.
      const size_t known = clients.size();
      for (size_t k = 0; k < known; ++k) {
        if (rules.empty() && !full_reevaluation && now < stability[k].until && !LotsDue(clients[k], day)) continue;
        VisitAtTick(day, kind, rules, static_cast<uint32_t>(k));
      }
      return;
    }
    TakeLotWakeups(day, &due);
    if (!rules.empty()) TakeAnniversariesOf(day, day_kind, &due);
    std::sort(due.begin(), due.end());
    due.erase(std::unique(due.begin(), due.end()), due.end());
    for (uint32_t k : due) VisitAtTick(day, kind, rules, k);
  }

  void VisitAtTick(int64_t day, int kind, const std::vector<int>& rules, uint32_t k) {
    ++tick_stats.visits;
    ClientState& c = clients[k];
    Savepoint sp = Save();
    ClearUndo();
    try {
      if (program.has_lots) ReleaseAndExpire(c, day);
      RunRules(checked::TriggerKind::EveryDay, kind, rules, c, nullptr, 0);
      if (MustReevaluate(c)) Reevaluate(c, nullptr);
    } catch (const RuntimeError& e) {
      Rollback(sp);
      UndoTo(c, 0);
      SetStableUntil(k, INT64_MIN);
      if (LotsDue(c, day)) WakeForLots(k, day + 1);  // what was due is released the next tick
      Reject(current_line, fmt::format("day tick {} for client `{}`: {}", stdlib::FormatDate(day), c.id, e.message));
    }
    budget_undo.clear();
    // [v0.2] What this client's part sent comes right after it (spec §5); then the tick goes on.
    if (sent_next < sent.size()) {
      ProcessSent();
      SetDayTrigger(day);
    }
  }

  static int DayKindOf(int64_t day) {
    return (perk_date_weekday(day) == 1 ? checked::kMonday : 0) | (perk_date_day(day) == 1 ? checked::kFirstOfMonth : 0);
  }

  void AdvanceClock(int64_t time) {
    if (!has_clock) {
      has_clock = true;
      clock = time;
      return;
    }
    int64_t from = LocalDate(clock), to = LocalDate(time);
    for (int64_t d = from + 1; d <= to; ++d) {
      // A date the zone skipped entirely (Pacific/Apia's 2011-12-30) has no tick.
      if (program.zone != stdlib::kUtcZone && LocalDate(DayStart(d)) != d) continue;
      DayTick(d);
      clock = DayStart(d);
    }
    if (time > clock) clock = time;
    // Forget ids older than the dedup window: an id stays while clock - time <= the window.
    seen_ids.ExpireOlderThan(clock - kDedupWindow);
    // And what reversals need of events past their reach; aged folds once a day.
    reversal_memory.DropOlderThan(clock - kReversalHorizon, slot_extremes);
    if (to > from)
      reversal_memory.DropAgedBefore([&](int32_t s) {
        return BucketKey(program.agg_slots[s].unit, clock - kReversalHorizon, program.zone);
      });
  }

  // The record's ids hashed once: the client table, the dedup set and the content hash all
  // use these (HashId of the same bytes), rather than each hashing the ids again.
  struct IdHashes {
    uint64_t client;
    uint64_t id;
  };
  static IdHashes HashesOf(const runtime::Record& rec) { return {HashId(rec.client), HashId(rec.id)}; }

  // `hash` is HashId(id).
  ClientState& GetClient(const std::string& id, uint64_t hash, int64_t time, bool* created) {
    uint32_t k = client_index.Find(id, hash);
    if (k != client_index.kNone) {
      *created = false;
      return clients[k];
    }
    *created = true;
    client_index.Insert(static_cast<uint32_t>(clients.size()), hash);
    clients.push_back(NewClient(program, layout, id, time));
    stability.resize(clients.size());
    SetStableUntil(clients.back().index, INT64_MIN);
    IndexAnniversaries(clients.back());
    MarkDirty(clients.back());
    return clients.back();
  }

  void DropNewestClient() {
    client_index.Erase(clients.back().id, static_cast<uint32_t>(clients.size() - 1));
    clients.pop_back();
    stability.resize(clients.size());  // its wake-up and anniversary entries are stale now
  }

  // Step 3: record into the aggregates the event feeds.
  void Record(ClientState& c, const runtime::Record& rec) {
    const checked::Event& ev = program.events[rec.event_index];
    for (int s : ev.agg_slots) {
      const checked::AggSlot& slot = program.agg_slots[s];
      if (slot.where) {
        EvalContext ctx = Context(c, &rec, 0);
        if (MustEval(*slot.where, ctx, nullptr, "the `where` of an aggregate over `{}`", ev.name).i == 0) continue;
      }
      int64_t v = slot.field >= 0 ? rec.fields[slot.field].i : 0;
      MarkDirty(c);
      const int64_t key = BucketKey(slot.unit, rec.time, program.zone);
      // A failed add changes nothing here; the rollback that follows clears the caches.
      if (!AddToSeries(Undo::Agg, static_cast<uint32_t>(s), c.aggs[s], key, v, slot.max_count))
        throw RuntimeError{fmt::format("the running sum of `{}.{}` overflows", ev.name, ev.fields[slot.field].name)};
      if (capturing) reversal_memory.Capture(AggContribution{s, key, v});
      WindowCache* windows = WindowsOf(c);
      for (int w : agg_windows.of_slot[s]) AddToCache(&windows[w], key, v, window_count[w]);
    }
  }

  // Records the event `rec` (an input one or a sent one; the caller has set the trigger) for
  // its client, runs its rules and re-evaluates, capturing what it does for a reversal. Atomic:
  // on a runtime error all of it is undone (a client it made known is dropped again), and the
  // error's message is returned in *error with a null client.
  ClientState* ApplyEvent(const runtime::Record& rec, const IdHashes& hashes, std::string* error) {
    Savepoint sp = Save();
    bool created = false;
    ClientState* c = &GetClient(rec.client, hashes.client, rec.time, &created);
    reversal_memory.PrefetchLink(static_cast<uint32_t>(c->index));
    ClearUndo();
    const ReversalMemory::Mark capture_mark = reversal_memory.End();
    reversal_memory.BeginCapture();
    capturing = true;
    try {
      Record(*c, rec);
      RunRules(checked::TriggerKind::Event, rec.event_index, program.rules_by_event[rec.event_index], *c, &rec, 0);
      if (MustReevaluate(*c)) Reevaluate(*c, &rec);
    } catch (const RuntimeError& e) {
      capturing = false;
      reversal_memory.Truncate(capture_mark);
      Rollback(sp);
      if (created) {
        DropNewestClient();
      } else {
        UndoTo(*c, 0);
        SetStableUntil(c->index, INT64_MIN);
      }
      budget_undo.clear();
      *error = e.message;
      return nullptr;
    }
    budget_undo.clear();
    capturing = false;
    return c;
  }

  void ProcessEvent(const runtime::Record& rec, const IdHashes& hashes) {
    SetTrigger(rec.id, rec.time);
    std::string error;
    ClientState* c = ApplyEvent(rec, hashes, &error);
    if (!c) {
      RejectRecord(current_line, error);
      return;
    }
    const uint64_t self = reversal_memory.end();
    RememberForReversal(*c, rec, /*sent=*/false, ReversalMemory::kNone);
    Remember(rec, hashes);
    SetOutcome(RecordStatus::Accepted);
    if (sent_next < sent.size()) {
      ProcessSent();
      // Everything the event sent, directly or not, was remembered right after it.
      reversal_memory.SetChainEnd(self, reversal_memory.end());
    }
  }

  // ---- [v0.2] reversals (spec §4, C10) ----

  // Keeps what the accepted event `rec` did (captured since it began) for a reversal.
  // `sender`: for a sent event, its sender's index in the memory (kNone: it cannot be reversed
  // through its sender, as when a day tick sent it).
  void RememberForReversal(const ClientState& c, const runtime::Record& rec, bool sent, uint64_t sender) {
    const uint64_t index = reversal_memory.end();
    RememberedEvent& e = reversal_memory.Append(static_cast<uint32_t>(c.index), sender);
    e.id = rec.id;
    e.sent = sent;
    e.event_index = rec.event_index;
    e.time = rec.time;
    // `on EVENT reversed` rules read the event's fields: only then is the event itself kept.
    if (!program.reversed_rules_by_event[rec.event_index].empty())
      reversal_memory.KeepRecord(index, std::make_unique<runtime::Record>(rec));
  }

  // Why a reversal of `of` by `rec` cannot be processed, or "" when it can.
  std::string ReversalProblem(const runtime::Record& rec, const RememberedEvent* ev) const {
    const std::string of = stdlib::JsonQuote(rec.of);
    // Events are found among their client's; those older than the horizon are forgotten with
    // their ids (docs/semantics.md).
    uint64_t content;
    if (!ev && seen_ids.Find(rec.of, &content))
      return fmt::format("reversal of {}: the id is not an event of client {} that a reversal can reach: it names "
                         "another client's record, a record that is not an event, or an event accepted before a "
                         "program upgrade (docs/state.md)",
                         of, stdlib::JsonQuote(rec.client));
    if (!ev)
      return fmt::format("reversal of {}: no event with this id within the last 30 days (720 hours): the id is "
                         "unknown, or names an event older than a reversal can reach",
                         of);
    if (ev->sent) return fmt::format("reversal of {}: the event was sent by a rule; reverse the event that sent it", of);
    if (ev->reversed) return fmt::format("reversal of {}: the event is already reversed", of);
    if (rec.time - ev->time > kReversalHorizon)
      return fmt::format("reversal of {}: the event is more than 30 days (720 hours) older than the reversal", of);
    return {};
  }

  void ProcessReversal(const runtime::Record& rec, const IdHashes& hashes) {
    const uint32_t k = client_index.Find(rec.client, hashes.client);
    const uint64_t index = k == client_index.kNone ? ReversalMemory::kNone : reversal_memory.IndexOfClient(k, rec.of);
    RememberedEvent* ev = reversal_memory.At(index);
    if (std::string problem = ReversalProblem(rec, ev); !problem.empty()) {
      RejectRecord(current_line, problem);
      return;
    }
    // A reversal is rare and touches series in the middle: it is undone by copies of what it
    // may change (the clients it reaches and the budgets) rather than through the undo log.
    Savepoint sp = Save();
    reversal_saved.clear();
    reversal_done.clear();
    std::vector<Series> saved_budgets = budgets;
    ClearUndo();
    SetTrigger(rec.id, rec.time);
    try {
      Reverse(index, reversal_memory.ChainEndOf(index));
    } catch (const RuntimeError& e) {
      Rollback(sp);
      for (auto& [k, saved] : reversal_saved) {
        clients[k] = std::move(saved);
        SetStableUntil(k, INT64_MIN);
      }
      budgets = std::move(saved_budgets);
      budget_undo.clear();
      RejectRecord(current_line, e.message);
      return;
    }
    budget_undo.clear();
    for (uint64_t done : reversal_done) reversal_memory.MarkReversed(done);
    Remember(rec, hashes);
    SetOutcome(RecordStatus::Accepted);
    // What its `on EVENT reversed` rules sent comes after it, like any record's sends.
    if (sent_next < sent.size()) ProcessSent();
  }

  // The clients a reversal in progress changed, as they were before it, and the events it
  // reversed (marked once it is kept).
  std::vector<std::pair<uint32_t, ClientState>> reversal_saved;
  std::vector<uint64_t> reversal_done;

  // Reverses one remembered event (spec §4): out of its aggregates, its firings' effects
  // answered, its `on EVENT reversed` rules, its client's re-evaluation; then the events it
  // sent, in the order sent, each the same way (depth first: an event's own sends before the
  // next event its sender sent). `chain_end`: where the input event's sends end in the memory.
  void Reverse(uint64_t self, uint64_t chain_end) {
    RememberedEvent& ev = *reversal_memory.At(self);
    const uint32_t k = ev.client;
    if (std::none_of(reversal_saved.begin(), reversal_saved.end(), [&](const auto& p) { return p.first == k; }))
      reversal_saved.emplace_back(k, clients[k]);
    ClientState& c = clients[k];
    TakeOutOfAggregates(c, ev);
    UndoEffects(c, ev);
    const auto& rules = program.reversed_rules_by_event[ev.event_index];
    RunRules(checked::TriggerKind::Reversed, ev.event_index, rules, c, reversal_memory.RecordOf(self), 0);
    Reevaluate(c, nullptr);
    MarkDirty(c);
    SetStableUntil(k, INT64_MIN);  // its aggregates changed in the middle of their series
    reversal_done.push_back(self);
    for (uint64_t j = self + 1; j < chain_end; ++j) {
      const RememberedEvent* sent_event = reversal_memory.At(j);
      if (sent_event && reversal_memory.SenderOf(j) == self && !sent_event->reversed) Reverse(j, chain_end);
    }
  }

  // Takes the event's values out of its client's aggregate buckets: count and sum exactly; a
  // bucket whose highest or lowest was this value is refolded from what else is remembered in
  // it (its client's other remembered events and the aged fold of the forgotten ones).
  void TakeOutOfAggregates(ClientState& c, const RememberedEvent& ev) {
    for (uint32_t k = 0; k < ev.aggs_count; ++k) {
      const AggContribution& a = reversal_memory.AggAt(ev, k);
      auto& buckets = c.aggs[a.slot].buckets;
      Bucket* b = std::find_if(buckets.begin(), buckets.end(), [&](const Bucket& x) { return x.key == a.key; });
      if (b == buckets.end()) continue;  // dropped: past every window
      b->count -= 1;
      b->sum -= a.value;
      if (b->count <= 0) {
        buckets.erase(b, b + 1);
        continue;
      }
      if (a.value == b->min || a.value == b->max) Refold(c, ev, a, b);
    }
    ClearWindows(c);
  }
  void Refold(const ClientState& c, const RememberedEvent& ev, const AggContribution& a, Bucket* b) {
    bool first = true;
    auto fold = [&](int64_t lo, int64_t hi) {
      b->min = first ? lo : std::min(b->min, lo);
      b->max = first ? hi : std::max(b->max, hi);
      first = false;
    };
    if (const Bucket* aged = reversal_memory.Aged(c.index, a.slot, a.key)) fold(aged->min, aged->max);
    for (uint64_t k = reversal_memory.LastOf(c.index); k != ReversalMemory::kNone;) {
      const RememberedEvent* other = reversal_memory.At(k);
      if (!other) break;
      if (other != &ev && !other->reversed)
        for (uint32_t j = 0; j < other->aggs_count; ++j) {
          const AggContribution& o = reversal_memory.AggAt(*other, j);
          if (o.slot == a.slot && o.key == a.key) fold(o.value, o.value);
        }
      k = other->previous_of_client;
    }
  }

  // Answers each effect of the event's firings, in ledger order (spec §4). The one place each
  // kind of remembered effect turns into its counter-effect.
  void UndoEffects(ClientState& c, const RememberedEvent& ev) {
    for (uint32_t k = 0; k < ev.effects_count; ++k) {
      const FiringEffect& f = reversal_memory.EffectAt(ev, k);
      const checked::Rule& rule = program.rules[f.rule];
      switch (f.kind) {
        case FiringEffect::PendingCredit:
          if (CancelPending(c, rule, f)) break;
          [[fallthrough]];  // released already: answered like any credit
        case FiringEffect::Credit: {
          // A counter-debit, at most the balance, taken like any debit (the lots that expire
          // first); written even when it takes nothing.
          const checked::Wallet& w = program.wallets[f.wallet];
          const int64_t take = std::max<int64_t>(0, std::min(f.amount, c.wallets()[f.wallet]));
          MarkDirty(c);
          SetWallet(c, f.wallet, c.wallets()[f.wallet] - take);
          if (w.expiry != 0) TakeFromLots(c, f.wallet, take);
          LedgerEntry& e = BeginEntry(c, &rule, LedgerAction::Debit);
          SetMovement(e, w, take, c.wallets()[f.wallet]);
          e.reverses = f.seq;
          e.short_amount = f.amount - take;
          EndEntry();
          GiveBackToBudgets(c, f, take);
          break;
        }
        case FiringEffect::Debit: {
          const checked::Wallet& w = program.wallets[f.wallet];
          int64_t balance;
          if (perk_int_add(c.wallets()[f.wallet], f.amount, &balance) != PERK_OK)
            throw RuntimeError{fmt::format("rule `{}`: the balance of wallet `{}` would overflow", rule.name, w.name)};
          MarkDirty(c);
          SetWallet(c, f.wallet, balance);
          // A counter-credit to an expiring wallet is a lot from the reversal's date (spec §3).
          if (w.expiry != 0) AddLot(c, Lot{f.wallet, DateAfter(today, w.expiry, rule), f.amount});
          LedgerEntry& e = BeginEntry(c, &rule, LedgerAction::Credit);
          SetMovement(e, w, f.amount, balance);
          e.reverses = f.seq;
          EndEntry();
          break;
        }
        case FiringEffect::Limit: TakeOutOfLimit(c.limits[f.rule].buckets, f.bucket); break;
        case FiringEffect::KeyedLimit:
          if (RuleSeries* rs = FindRuleSeries(c, RuleSeries::KeyedLimit, f.rule, &reversal_memory.KeyAt(ev, f.key_index)))
            TakeOutOfLimit(rs->series.buckets, f.bucket);
          break;
      }
    }
  }
  // [C11] A pending credit not yet released: cancelled by a pending counter-debit of the whole
  // amount (`pending`, `until`; the balance is unchanged), and the budgets get it back. False
  // when it was released already.
  bool CancelPending(ClientState& c, const checked::Rule& rule, const FiringEffect& f) {
    auto p = std::find_if(c.pending_credits.begin(), c.pending_credits.end(),
                          [&](const PendingCredit& x) { return x.seq == f.seq; });
    if (p == c.pending_credits.end()) return false;
    const int64_t until = p->until;
    LogLots(c);
    c.pending_credits.erase(p);
    MarkDirty(c);
    LedgerEntry& e = BeginEntry(c, &rule, LedgerAction::Debit);
    SetMovement(e, program.wallets[f.wallet], f.amount, c.wallets()[f.wallet]);
    e.pending = true;
    e.until = until;
    e.reverses = f.seq;
    EndEntry();
    GiveBackToBudgets(c, f, f.amount);
    return true;
  }
  // Each budget gets back what a counter-debit took, in the bucket the credit was taken from.
  void GiveBackToBudgets(ClientState& c, const FiringEffect& f, int64_t took) {
    if (f.budget_bucket != kNoBucket)
      for (Bucket& b : budgets[f.rule].buckets)
        if (b.key == f.budget_bucket) b.sum -= took;
    if (f.client_budget_bucket != kNoBucket)
      if (RuleSeries* rs = FindRuleSeries(c, RuleSeries::ClientBudget, f.rule, nullptr))
        for (Bucket& b : rs->series.buckets)
          if (b.key == f.client_budget_bucket) b.sum -= took;
  }

  // One completed firing less in a limit series (a bucket already dropped is past the window).
  static void TakeOutOfLimit(std::vector<Bucket>& buckets, int64_t key) {
    auto b = std::find_if(buckets.begin(), buckets.end(), [&](const Bucket& x) { return x.key == key; });
    if (b == buckets.end()) return;
    b->count -= 1;
    b->sum -= 1;
    if (b->count <= 0) buckets.erase(b);
  }

  // An accepted record's id, with what the record said (spec §4, C14).
  void Remember(const runtime::Record& rec, const IdHashes& hashes) {
    if (rec.id.empty()) return;
    seen_ids.Insert(rec.time, rec.id, hashes.id, decoder.ContentHash(rec, hashes.client));
    ++remembered_total;
  }

  // A record whose id is remembered: a duplicate when it says what the first record said (or
  // when the first one's content is unknown, remembered by an older build), else rejected as
  // a conflicting reuse of the id; the first record stands either way. `rec` is null when the
  // line did not decode (`error` says why).
  void ReusedId(std::string_view id, uint64_t remembered, const runtime::Record* rec, const std::string& error,
                uint64_t line_number) {
    if (remembered == DedupSet::kUnknownContent || (rec && decoder.ContentHash(*rec) == remembered)) {
      SetOutcome(RecordStatus::Duplicate);
      return;
    }
    RejectRecord(line_number,
           fmt::format("id {} was already used by an earlier record with different content{}; the first record stands "
                       "(a record sent again must be the same; a new record needs a new id)",
                       stdlib::JsonQuote(id), rec ? std::string() : " (" + error + ")"));
  }

  void ProcessLine(std::string_view line, uint64_t line_number) {
    runtime::Record rec;
    ProcessLine(line, line_number, rec);
    FinishRecord(rec, line_number);
  }
  void ProcessLine(std::string_view line, uint64_t line_number, runtime::Record& rec) {
    current_line = line_number;
    std::string error;
    uint64_t remembered = 0;
    DecodeOutcome outcome = decoder.Decode(
        line, [&](std::string_view id) { return seen_ids.Find(id, &remembered); }, &rec, &error);
    if (outcome == DecodeOutcome::Blank) return;
    ++stats.records;
    if (outcome == DecodeOutcome::Duplicate) {
      // The decoder stopped at the id; the whole record is read only to compare it.
      std::string id = rec.id;
      if (remembered == DedupSet::kUnknownContent) {
        SetOutcome(RecordStatus::Duplicate);
        return;
      }
      outcome = decoder.Decode(line, nullptr, &rec, &error);
      ReusedId(id, remembered, outcome == DecodeOutcome::Ok ? &rec : nullptr, error, line_number);
      return;
    }
    if (outcome == DecodeOutcome::Reject) {
      RejectRecord(line_number, error);
      return;
    }
    Dispatch(rec, line_number, HashesOf(rec));
  }

  // `hashes` is HashesOf(rec).
  void ProcessDecoded(const runtime::Record& rec, uint64_t line_number, const IdHashes& hashes) {
    current_line = line_number;
    ++stats.records;
    uint64_t remembered;
    // An id with `/` (reserved for sent events) never gets here: the RecordDecoder that decoded
    // the record rejected it (Engine::ProcessDecoded's contract).
    if (!rec.id.empty() && seen_ids.Find(rec.id, hashes.id, &remembered)) ReusedId(rec.id, remembered, &rec, std::string(), line_number);
    else Dispatch(rec, line_number, hashes);
    FinishRecord(rec, line_number);
  }

  // Group prefetching: record i+kFar's table slots are requested, record i+kNear's client
  // (found through its now-cached slot) is requested, and record i is processed. What is
  // looked up ahead is only a hint: processing looks everything up again, so a client created
  // or dropped in between costs a miss, never a wrong answer. rec_at(j) is record j, or null
  // for a line that is not a decoded record; process(i, hashes) handles line i, given its
  // record's HashesOf (computed once, ahead, for the prefetches; unset for a null record).
  template <typename RecordAt, typename Process>
  void Pipelined(size_t n, RecordAt rec_at, Process process) {
    constexpr size_t kRing = 16, kFar = 12, kNear = 6, kArrays = 3;
    IdHashes hashes[kRing];  // record j's at j % kRing, from slots_ahead(j) until slots_ahead(j + kRing)
    uint32_t found[kRing];
    auto slots_ahead = [&](size_t j) {
      const runtime::Record* r = rec_at(j);
      if (!r) return;
      hashes[j % kRing] = HashesOf(*r);
      if (r->kind == RecordKind::Tick) return;
      client_index.Prefetch(hashes[j % kRing].client);
      if (!r->id.empty()) seen_ids.Prefetch(hashes[j % kRing].id);
    };
    auto client_ahead = [&](size_t j) {
      found[j % kRing] = ClientIndex<ClientIdOf>::kNone;
      const runtime::Record* r = rec_at(j);
      if (!r || r->kind == RecordKind::Tick) return;
      uint32_t k = client_index.Find(r->client, hashes[j % kRing].client);
      found[j % kRing] = k;
      if (k >= clients.size()) return;
      const char* c = reinterpret_cast<const char*>(&clients[k]);
      for (size_t off = 0; off < sizeof(ClientState); off += 64) __builtin_prefetch(c + off);
    };
    // Then the heap arrays of the client's struct (it has arrived by now).
    auto arrays_ahead = [&](size_t j) {
      uint32_t k = found[j % kRing];
      if (k >= clients.size()) return;
      const ClientState& c = clients[k];
      __builtin_prefetch(c.limits.data());
      if (c.slots.size() > ClientState::kInlineSlots) __builtin_prefetch(c.slots.data());
      if (c.attrs.size() > 4) __builtin_prefetch(c.attrs.data());
    };
    for (size_t j = 0; j < std::min(n, kFar); ++j) slots_ahead(j);
    for (size_t j = 0; j < std::min(n, kNear); ++j) client_ahead(j);
    for (size_t j = 0; j < std::min(n, kArrays); ++j) arrays_ahead(j);
    for (size_t i = 0; i < n; ++i) {
      if (i + kFar < n) slots_ahead(i + kFar);
      if (i + kNear < n) client_ahead(i + kNear);
      if (i + kArrays < n) arrays_ahead(i + kArrays);
      process(i, hashes[i % kRing]);
    }
  }

  void ProcessBatch(const runtime::Record* recs, const uint64_t* lines, size_t n) {
    Pipelined(
        n, [&](size_t j) { return &recs[j]; },
        [&](size_t i, const IdHashes& hashes) { ProcessDecoded(recs[i], lines[i], hashes); });
  }

  // Lines decoded up front (into records reused from batch to batch), then processed in order
  // through the pipeline. The decoder does not look for duplicates here: that would be a cold
  // probe of the id table per record, and the look-up that counts is made at the record's
  // turn, after the pipeline has prefetched its slot. A decoded record is checked by
  // ProcessDecoded; a rejected line (it may be a duplicate, which wins over a malformed field)
  // is decoded again, with the check, by ProcessLine. The result is exactly ProcessLine line by
  // line.
  std::vector<runtime::Record> batch_records;
  std::vector<DecodeOutcome> batch_outcomes;
  void ProcessLines(const std::string_view* lines, const uint64_t* numbers, size_t n) {
    if (batch_records.size() < n) batch_records.resize(n);
    batch_outcomes.resize(n);
    std::string error;
    for (size_t k = 0; k < n; ++k) batch_outcomes[k] = decoder.Decode(lines[k], nullptr, &batch_records[k], &error);
    Pipelined(
        n, [&](size_t j) { return batch_outcomes[j] == DecodeOutcome::Ok ? &batch_records[j] : nullptr; },
        [&](size_t i, const IdHashes& hashes) {
          switch (batch_outcomes[i]) {
            case DecodeOutcome::Blank: return;
            case DecodeOutcome::Ok: ProcessDecoded(batch_records[i], numbers[i], hashes); return;
            case DecodeOutcome::Duplicate:  // not given without a duplicate check
            case DecodeOutcome::Reject: ProcessLine(lines[i], numbers[i]); return;
          }
        });
  }

  // A decoded record that is not a duplicate: clock, then the record's kind.
  void Dispatch(const runtime::Record& rec, uint64_t line_number, const IdHashes& hashes) {
    if (has_clock && rec.time < clock) {
      RejectRecord(line_number, fmt::format("out of order: time {} is earlier than the engine clock {}; records must come in time order",
                                      stdlib::FormatTime(rec.time), stdlib::FormatTime(clock)));
      return;
    }
    AdvanceClock(rec.time);
    switch (rec.kind) {
      case RecordKind::Tick:
        Remember(rec, hashes);
        SetOutcome(RecordStatus::Accepted);
        return;
      case RecordKind::Profile: {
        bool created;
        ClientState& c = GetClient(rec.client, hashes.client, rec.time, &created);
        const auto& anniversaries = program.day_schedule.anniversaries;
        anniversary_keys.clear();
        for (const auto& a : anniversaries) anniversary_keys.push_back(AnniversaryKey(c, a));
        for (size_t k = 0; k < rec.fields.size(); ++k) {
          if (k >= rec.present.size() || !rec.present[k]) continue;
          if (k < rec.nulled.size() && rec.nulled[k]) {
            // `null` unsets an optional attribute and returns one with a default to it (spec §4).
            const checked::Field& f = program.client_fields[k];
            c.attrs[k] = f.default_value;
            c.attr_unset[k] = f.has_default ? 0 : 1;
          } else {
            c.attrs[k] = rec.fields[k];
            c.attr_unset[k] = 0;
          }
        }
        for (size_t a = 0; a < anniversaries.size(); ++a) {
          const int key = AnniversaryKey(c, anniversaries[a]);
          if (key >= 0 && key != anniversary_keys[a]) anniversary_index[a][key].push_back(c.index);
        }
        MarkDirty(c);
        SetStableUntil(c.index, INT64_MIN);  // conditions may read the attributes
        Remember(rec, hashes);
        SetOutcome(RecordStatus::Accepted);
        return;
      }
      case RecordKind::Event: ProcessEvent(rec, hashes); return;
      case RecordKind::Reversal: ProcessReversal(rec, hashes); return;
    }
  }
};

Engine::Engine(const checked::Program& program, Evaluator* evaluator)
    : impl_(std::make_unique<Impl>(program, evaluator)) {}
Engine::~Engine() = default;

void Engine::ProcessLine(std::string_view line, uint64_t line_number) { impl_->ProcessLine(line, line_number); }
void Engine::ProcessDecoded(const Record& record, uint64_t line_number) {
  impl_->ProcessDecoded(record, line_number, Impl::HashesOf(record));
}
void Engine::ProcessLines(const std::string_view* lines, const uint64_t* line_numbers, size_t n) {
  impl_->ProcessLines(lines, line_numbers, n);
}
void Engine::ProcessDecodedBatch(const Record* records, const uint64_t* line_numbers, size_t n) {
  impl_->ProcessBatch(records, line_numbers, n);
}

void Engine::AdvanceTo(int64_t time) {
  if (!impl_->has_clock || time <= impl_->clock) return;
  impl_->AdvanceClock(time);
  impl_->Flush();
}

std::string& Engine::ledger() { return impl_->jsonl.ledger(); }
std::string& Engine::rejects() { return impl_->jsonl.rejects(); }
uint64_t Engine::seq() const { return impl_->seq; }
void Engine::AddSink(Sink* sink) { impl_->sinks.push_back(sink); }
void Engine::RemoveSink(Sink* sink) { std::erase(impl_->sinks, sink); }
const RunStats& Engine::stats() const { return impl_->stats; }
const TickStats& Engine::tick_stats() const { return impl_->tick_stats; }
size_t Engine::reversal_events() const { return impl_->reversal_memory.size(); }
size_t Engine::reversal_bytes() const { return impl_->reversal_memory.Bytes(); }
const ReversalMemory& Engine::reversal_memory() const { return impl_->reversal_memory; }
void Engine::RestoreReversalMemory(ReversalMemory memory) {
  impl_->reversal_memory = std::move(memory);
}
void Engine::LogReversed() { impl_->reversal_memory.LogReversed(true); }
void Engine::TakeReversed(std::vector<uint64_t>* out) { impl_->reversal_memory.TakeReversed(out); }
const ClientList& Engine::clients() const { return impl_->clients; }
const ClientState* Engine::FindClient(std::string_view id) const {
  uint32_t k = impl_->client_index.Find(id);
  return k == impl_->client_index.kNone ? nullptr : &impl_->clients[k];
}
bool Engine::has_clock() const { return impl_->has_clock; }
int64_t Engine::clock() const { return impl_->clock; }
void Engine::SetRuleObserver(RuleObserver observer) { impl_->observer = std::move(observer); }
void Engine::SetFullReevaluation(bool full) { impl_->full_reevaluation = full; }

EngineState Engine::SaveState() const {
  const Impl& m = *impl_;
  return EngineState{m.has_clock, m.clock, m.seq, m.remembered_total, m.stats, m.budgets};
}

void Engine::TakeDirtyClients(std::vector<uint32_t>* out) {
  Impl& m = *impl_;
  out->clear();
  std::sort(m.dirty_list.begin(), m.dirty_list.end());
  for (uint32_t k : m.dirty_list) {
    m.dirty[k] = 0;
    // A client created by a record that was then rolled back is gone again.
    if (k < m.clients.size()) out->push_back(k);
  }
  m.dirty_list.clear();
}

void Engine::ForRememberedSince(uint64_t after, const std::function<void(int64_t, std::string_view)>& f) const {
  const Impl& m = *impl_;
  // The set holds the ids numbered (total - size, total].
  uint64_t first = m.remembered_total - m.seen_ids.size();
  size_t skip = after > first ? static_cast<size_t>(after - first) : 0;
  m.seen_ids.ForEachFrom(skip, f);
}

void Engine::ForRememberedSince(uint64_t after,
                                const std::function<void(int64_t, std::string_view, uint64_t)>& f) const {
  const Impl& m = *impl_;
  uint64_t first = m.remembered_total - m.seen_ids.size();
  size_t skip = after > first ? static_cast<size_t>(after - first) : 0;
  m.seen_ids.ForEachFromWithContent(skip, f);
}

size_t Engine::remembered_count() const { return impl_->seen_ids.size(); }

void Engine::Restore(EngineState state, std::vector<ClientState> clients,
                     std::vector<std::pair<int64_t, std::string>> remembered, std::vector<uint64_t> contents) {
  Impl& m = *impl_;
  m.has_clock = state.has_clock;
  m.clock = state.clock;
  m.seq = state.seq;
  m.remembered_total = state.remembered;
  m.stats = state.stats;
  if (state.budgets.size() == m.budgets.size()) m.budgets = std::move(state.budgets);
  m.clients.clear();
  const bool string_vars = HasStringVars(m.program);
  for (auto& c : clients) {
    // Decoded without the program, a client has no window caches yet (they are not stored).
    c.Reshape(m.layout);
    ResolveUnsetAttributes(m.program, &c);
    m.ClearWindows(c);
    if (string_vars) c.var_text.resize(m.program.vars.size());
    m.clients.push_back(std::move(c));
  }
  // Nothing is known of the restored clients' conditions: the next tick visits every one.
  m.stability.assign(m.clients.size(), Impl::Stability{INT64_MIN, INT64_MIN});
  m.wakeups.clear();
  auto& next = m.wakeups[Impl::kNextTick];
  for (uint32_t k = 0; k < m.clients.size(); ++k) next.push_back(k);
  for (auto& index : m.anniversary_index)
    for (auto& bucket : index) bucket.clear();
  for (const ClientState& c : m.clients) m.IndexAnniversaries(c);
  // [v0.2] Every date a restored client has a lot expiring or a credit released.
  m.lot_wakeups.clear();
  for (const ClientState& c : m.clients) {
    for (const Lot& lot : c.lots) m.WakeForLots(c.index, lot.expires);
    for (const PendingCredit& p : c.pending_credits) m.WakeForLots(c.index, p.until);
  }
  m.client_index.Rebuild(static_cast<uint32_t>(m.clients.size()));
  m.dirty.assign(m.clients.size(), 0);
  m.dirty_list.clear();
  m.seen_ids.Clear();
  // The same rule as AdvanceClock: an id stays while clock - time <= the window. The run that
  // saved the state had already dropped the older ones, so the window is exactly as it was.
  for (size_t k = 0; k < remembered.size(); ++k) {
    const auto& [time, id] = remembered[k];
    if (m.has_clock && m.clock - time > kDedupWindow) continue;
    m.seen_ids.Insert(time, id, HashId(id), k < contents.size() ? contents[k] : DedupSet::kUnknownContent);
  }
}

int64_t LimitUsed(const checked::Program& p, int r, const EvalContext& ctx) {
  const checked::Rule& rule = p.rules[r];
  const int64_t bucket = WindowKey(rule.limit_window, ctx.now, p.zone);
  Bucket b;
  if (!rule.limit_key) {
    ctx.client->limits[r].Query(bucket, rule.limit_window.count, &b);
    return b.count;
  }
  Value key;
  SourceRange where;
  if (Eval(*rule.limit_key, ctx, &key, &where) != PERK_OK) return 0;
  for (const RuleSeries& rs : ctx.client->rule_series)
    if (rs.kind == RuleSeries::KeyedLimit && rs.rule == r && rs.key == key) {
      rs.series.Query(bucket, rule.limit_window.count, &b);
      return b.count;
    }
  return 0;
}

std::string ClientStateJson(const checked::Program& p, const ClientState& c) {
  std::string out = fmt::format("{{\"id\":{},\"since\":\"{}\"", stdlib::JsonQuote(c.id), stdlib::FormatTime(c.since()));
  auto object = [&](const char* key, size_t n, auto name, auto value) {
    out += fmt::format(",\"{}\":{{", key);
    for (size_t k = 0; k < n; ++k) out += fmt::format("{}{}:{}", k ? "," : "", stdlib::JsonQuote(name(k)), value(k));
    out += "}";
  };
  object(
      "attributes", p.client_fields.size(), [&](size_t k) { return p.client_fields[k].name; },
      [&](size_t k) {
        // An unset optional attribute is null (spec §2).
        if (k < c.attr_unset.size() && c.attr_unset[k]) return std::string("null");
        return FormatValueJson(p, p.client_fields[k].type, c.attrs[k]);
      });
  object(
      "wallets", p.wallets.size(), [&](size_t k) { return p.wallets[k].name; },
      [&](size_t k) { return FormatValueJson(p, p.wallets[k].type, Value::Int(c.wallets()[k])); });
  object(
      "vars", p.vars.size(), [&](size_t k) { return p.vars[k].name; },
      [&](size_t k) { return FormatValueJson(p, p.vars[k].type, c.var(k)); });
  out += ",\"tier\":" + (p.tiers.empty() ? std::string("null") : FormatValueJson(p, Type::Tier, Value::Int(c.tier())));
  object(
      "segments", p.segments.size(), [&](size_t k) { return p.segments[k].name; },
      [&](size_t k) { return std::string(c.segment(k) ? "true" : "false"); });
  out += ",\"badges\":[";
  for (size_t k = 0; k < c.badges.size(); ++k) out += (k ? "," : "") + stdlib::JsonQuote(c.badges[k]);
  out += "]";
  // [v0.2] Pending amounts per wallet, then each pending credit with its release date and each
  // lot with its expiry date, when the program has them (so older programs print as before).
  if (p.has_lots || !c.lots.empty() || !c.pending_credits.empty()) {
    auto wallet_name = [&](int32_t k) {
      return k >= 0 && static_cast<size_t>(k) < p.wallets.size() ? p.wallets[k].name : fmt::format("#{}", k);
    };
    auto amount = [&](int32_t k, int64_t v) {
      return k >= 0 && static_cast<size_t>(k) < p.wallets.size() ? FormatValueJson(p, p.wallets[k].type, Value::Int(v))
                                                                  : std::to_string(v);
    };
    object(
        "pending", p.wallets.size(), [&](size_t k) { return p.wallets[k].name; },
        [&](size_t k) { return amount(static_cast<int32_t>(k), c.PendingOf(static_cast<int>(k))); });
    out += ",\"pending_credits\":[";
    for (size_t k = 0; k < c.pending_credits.size(); ++k) {
      const PendingCredit& pc = c.pending_credits[k];
      out += fmt::format("{}{{\"wallet\":{},\"amount\":{},\"until\":\"{}\",\"seq\":{}}}", k ? "," : "",
                         stdlib::JsonQuote(wallet_name(pc.wallet)), amount(pc.wallet, pc.amount),
                         stdlib::FormatDate(pc.until), pc.seq);
    }
    out += "],\"lots\":[";
    for (size_t k = 0; k < c.lots.size(); ++k) {
      const Lot& lot = c.lots[k];
      out += fmt::format("{}{{\"wallet\":{},\"amount\":{},\"expires\":\"{}\"}}", k ? "," : "",
                         stdlib::JsonQuote(wallet_name(lot.wallet)), amount(lot.wallet, lot.amount),
                         stdlib::FormatDate(lot.expires));
    }
    out += "]";
  }
  // [v0.2] Per-client budget use and keyed limits, only when the client has any (so v0.1
  // states print as before): each series' total over the buckets it still keeps.
  if (!c.rule_series.empty()) {
    out += ",\"rule_series\":[";
    for (size_t k = 0; k < c.rule_series.size(); ++k) {
      const RuleSeries& rs = c.rule_series[k];
      const bool known = rs.rule >= 0 && static_cast<size_t>(rs.rule) < p.rules.size();
      std::string rule = known ? p.rules[rs.rule].name : fmt::format("#{}", rs.rule);
      int64_t count = 0, sum = 0;
      for (const Bucket& b : rs.series.buckets) count += b.count, sum += b.sum;
      out += fmt::format("{}{{\"rule\":{},\"kind\":\"{}\"", k ? "," : "", stdlib::JsonQuote(rule),
                         rs.kind == RuleSeries::ClientBudget ? "client budget" : "keyed limit");
      if (rs.kind == RuleSeries::KeyedLimit) {
        // The key's type is the rule's; a state read without its program shows the raw value.
        const bool typed = known && p.rules[rs.rule].limit_key;
        out += ",\"key\":" + (typed ? FormatValueJson(p, p.rules[rs.rule].limit_key->type, rs.key)
                                     : (rs.key.s.empty() ? std::to_string(rs.key.i) : stdlib::JsonQuote(rs.key.s)));
        out += fmt::format(",\"firings\":{}}}", count);
      } else {
        const bool typed = known && p.rules[rs.rule].has_client_budget;
        out += ",\"used\":" + (typed ? FormatValueJson(p, p.rules[rs.rule].client_budget_type, Value::Int(sum))
                                      : std::to_string(sum));
        out += "}";
      }
    }
    out += "]";
  }
  out += "}";
  return out;
}

}  // namespace perk::runtime
