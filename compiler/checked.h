// The checked program: every name resolved to a slot, every expression typed and lowered
// to explicit operations (widenings inserted, constants folded). The interpreter walks it;
// the JIT lowers it; the runtime sizes client state from it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/diagnostics.h"
#include "stdlib/ops.h"
#include "stdlib/value.h"

namespace perk::checked {

// Built-in fields every event has, as negative field indexes.
constexpr int kFieldId = -1;
constexpr int kFieldClient = -2;
constexpr int kFieldTime = -3;
// Built-in client attributes.
constexpr int kClientId = -1;
constexpr int kClientSince = -2;

enum class ExprKind : uint8_t {
  Const,         // value
  Param,         // index: the param's value at load time (after --param overrides)
  EventField,    // index: field of the trigger event (or kField*)
  ClientField,   // index: client attribute (or kClient*)
  Wallet,        // index: balance
  Var,           // index
  Segment,       // index: current membership
  CurrentTier,   // the client's tier rank
  PreviousTier,  // in `on tier_changed` rules
  Now,
  Today,
  HasBadge,      // args[0]: the badge name
  Aggregate,     // index: aggregate use (Program::aggregates)
  Pending,       // index: wallet; [v0.2] `pending(W)`, its credits not yet released
  Op,            // op(args...)
  And,           // short-circuit
  Or,
  If,            // args[0] ? args[1] : args[2]
  In,            // args[0] in args[1..] (int64-ordered or strings, by args[0]'s type)
  AttrSet,       // index: whether the optional client attribute is set (v0.2), a bool
};

struct Expr {
  ExprKind kind = ExprKind::Const;
  Type type = Type::Error;
  OpCode op = OpCode::Add;
  int index = 0;
  Value value;
  SourceRange range;  // for :explain and runtime error messages
  std::string text;   // the source text of this sub-expression, for :explain
  std::vector<Expr> args;
  // Position among TopLevelExpressions(program), -1 for sub-expressions: lets an evaluator
  // find its compiled code for an expression without a lookup.
  int top_index = -1;
};

// A window over calendar buckets (spec §3): the last `count` units ending with the current one,
// or with `previous` [v0.2] the `count` units before the current one. Buckets are local to the
// program's zone (stdlib/zone.h's perk_tz_bucket numbers the units as here).
enum class WindowUnit : uint8_t { Minute, Hour, Day, All, Month, Year };
struct Window {
  WindowUnit unit = WindowUnit::All;
  int64_t count = 0;  // in units; weeks are already 7 days, years are not months
  bool previous = false;
  bool operator==(const Window&) const = default;
  // The bucket key a fold over this window ends with, given the current bucket's key.
  int64_t LastKey(int64_t current) const { return previous ? current - 1 : current; }
};

enum class AggKind : uint8_t { Count, Sum, Avg, Highest, Lowest };

// Where an event's values accumulate: one per distinct (event, field, filter, unit); its
// buckets cover the longest window any use of it asks for.
struct AggSlot {
  int event = 0;
  int field = -1;      // -1 for count-only slots
  Type field_type = Type::Int;
  std::optional<Expr> where;
  WindowUnit unit = WindowUnit::All;
  int64_t max_count = 0;  // buckets kept
};

// One use of an aggregate in an expression.
struct AggUse {
  int slot = 0;
  AggKind kind = AggKind::Count;
  Window window;
  Type type = Type::Int;  // the result type
};

struct Field {
  std::string name;
  Type type = Type::Int;
  // A client attribute without a default is optional (spec §2): unset until a profile sets
  // it, holding its type's zero meanwhile. Event fields without one must be given.
  bool has_default = false;
  Value default_value;
  std::shared_ptr<const Expr> default_expr;  // refolded after --param overrides
};

struct Event {
  std::string name;
  std::vector<Field> fields;
  std::vector<int> agg_slots;  // slots fed by this event, in order
};

struct Wallet {
  std::string name;
  Type type = Type::Int;  // Int or Money
  // [v0.2] `expires after D`: the duration value (stdlib/zone.h's, days or months) that
  // perk_date_add adds to a lot's date to give its expiry date; 0 when it never expires.
  int64_t expiry = 0;
  // [v0.2] `worth M` (C12): the money value of one unit of an int wallet, in cents; 0 when
  // the wallet has none (its points are not priced). Only reports read it.
  int64_t worth = 0;
  std::shared_ptr<const Expr> worth_expr = nullptr;  // refolded after --param overrides
};

struct Var {
  std::string name;
  Type type = Type::Int;
  Value init;
  std::shared_ptr<const Expr> init_expr;  // refolded after --param overrides
};

struct Param {
  std::string name;
  Type type = Type::Int;
  Value value;  // a duration's is its length in microseconds
  // v0.2 (C5): how `--param` reads an override, the form the param was declared in: a
  // percentage (`30%`) takes only a percentage; a duration keeps its unit and count here.
  bool percent = false;
  Window duration;  // a duration param's unit and count (`60 days` is {Day, 60}; weeks are days)
};

// A window or hold whose length comes from a param (v0.2, C5: `within n days`, `hold n days`,
// `within inactive`), recomputed when `--param` overrides the param: the count is the int
// param's value times `per` units (7 for weeks), or, with `whole`, the duration param's window.
struct ParamDuration {
  enum class Target : uint8_t { AggWindow, LimitWindow, BudgetWindow, ClientBudgetWindow, TierHold, WalletExpiry, Pending };
  Target target = Target::AggWindow;
  int index = 0;  // the aggregate use, rule, tier, wallet (WalletExpiry) or Program::pending_for entry
  int param = 0;
  bool whole = false;
  WindowUnit unit = WindowUnit::Day;
  int64_t per = 1;
};

struct Tier {
  std::string name;
  std::optional<Expr> when;  // none for the base tier
  int64_t hold_micros = 0;   // 0: no hold
  // [v0.2] A hold that is a calendar step (days or weeks in a zone other than UTC, months,
  // years): the duration value to add with perk_tz_add, with hold_micros then its nominal
  // length (never 0). 0 when the hold is an exact length (hold_micros).
  int64_t hold_calendar = 0;
};

struct Segment {
  std::string name;
  Expr when;
};

enum class ActionKind : uint8_t { Credit, Debit, Set, Notify, Grant, Emit, Send, If };

struct DataEntry {
  std::string key;
  Expr value;
  int field = -1;  // Send: the sent event's field it gives
};

struct Action {
  ActionKind kind = ActionKind::Credit;
  int target = 0;          // wallet (Credit/Debit), var (Set) or [v0.2] the event sent (Send)
  // [v0.2] Credit `pending D`: the index of D's duration value in Program::pending_for; -1
  // when the credit is available at once.
  int pending = -1;
  std::string name;        // template (Notify), badge (Grant), name (Emit), event (Send)
  std::optional<Expr> value;  // amount / value / condition / the client sent to (Send)
  std::vector<DataEntry> data;
  std::vector<Action> then_actions;
  std::vector<Action> else_actions;
  SourceRange range;
};

// Where an evaluated action's values sit (RuleHost::Act): its value first, then its data values.
inline size_t DataSlot(const Action& a, size_t k) { return (a.value ? 1 : 0) + k; }
inline size_t ValueCount(const Action& a) { return (a.value ? 1 : 0) + a.data.size(); }

// [v0.2] Entering/Leaving: `on entering SEGMENT` / `on leaving SEGMENT` (Rule::segment).
// [v0.2] Reversed: `on EVENT reversed` (Rule::event), run by a reversal record of that event.
enum class TriggerKind : uint8_t { Event, TierChanged, EveryDay, EveryWeek, EveryMonth, Entering, Leaving, Reversed };

// [v0.2] What a day tick runs depends on the day (spec §5 step 2b): `every day` rules on
// every day, `every week` rules too on Mondays, `every month` rules too on the 1st.
enum DayKind : uint8_t { kPlainDay = 0, kMonday = 1, kFirstOfMonth = 2, kMondayFirst = 3 };

struct Rule {
  std::string name;
  std::string label;
  // `renamed from OLD`: an upgrade carries OLD's limit and budget history and what reversals
  // remember of it over to this rule (runtime/snapshot.h PlanUpgrade). Not part of the
  // program's identity: it changes how state is moved, not how the program behaves.
  std::string renamed_from;
  TriggerKind trigger = TriggerKind::Event;
  int event = -1;  // TriggerKind::Event and Reversed
  int segment = -1;  // TriggerKind::Entering and Leaving
  std::optional<Expr> when;
  // limit: at most limit_count completed firings per client in limit_window.
  bool has_limit = false;
  int64_t limit_count = 0;
  Window limit_window;
  // [v0.2] `limit N per KEY`: firings count per client and value of the key, an expression over
  // the trigger event's fields and constants; none for `per client`.
  std::optional<Expr> limit_key;
  // budget: what this rule credits over all clients in budget_window, in the unit of
  // budget_type's wallets (cents for money, units for int; the name is v0.1's).
  bool has_budget = false;
  int64_t budget_cents = 0;
  Window budget_window;
  Type budget_type = Type::Money;  // [v0.2] Int: counts credits to int wallets only
  bool budget_partial = false;     // [v0.2] `partial`: cut a credit to what is left
  // [v0.2] `budget M per client`: the same per client, kept in client state.
  bool has_client_budget = false;
  int64_t client_budget_amount = 0;
  Window client_budget_window;
  Type client_budget_type = Type::Money;
  bool client_budget_partial = false;
  std::shared_ptr<const Expr> client_budget_expr;
  // The constant expressions behind limit_count and budget_cents (refolded after overrides).
  std::shared_ptr<const Expr> limit_expr;
  std::shared_ptr<const Expr> budget_expr;
  std::vector<Action> actions;
  SourceRange range;
};

// [v0.2] Which clients a day-tick rule can fire for, from compiler/day_schedule.h (issue 19): the
// engine visits at a tick only the clients some rule due that day may fire for, and those whose
// tier or segment conditions may have changed. Computed once per checked program; a program
// built without it (day_schedule.rules empty) has every rule due for every client.
// A client date (or time) attribute whose anniversaries the engine indexes by month and day.
struct Anniversary {
  int attr = 0;            // a client attribute index, or kClientSince
  bool is_time = false;    // a time: its date in the program's zone counts
  bool needs_set = false;  // a rule tests `is set` first: an unset attribute is never due
  bool operator==(const Anniversary&) const = default;
};
// Why a day-tick rule is due where it is.
enum class DueReason : uint8_t {
  Anniversary,      // due only on the anniversaries of DayRuleDue::anniversary
  NoWhen,           // no `when`: due for every client
  NoAnniversary,    // its `when` is no `and` chain with `anniversary(client.ATTR)` in it
  MayFailBefore,    // a condition before the anniversary may fail (overflow, division) or
                    // folds an aggregate (which fills window caches): it must run every day
  LimitKeyMayFail,  // its limit's key is evaluated before `when` and may fail
};
struct DayRuleDue {
  DueReason reason = DueReason::NoWhen;
  int anniversary = -1;  // index in DaySchedule::anniversaries when reason is Anniversary
};
struct DaySchedule {
  std::vector<DayRuleDue> rules;  // per rule of the program (entries of other triggers unused)
  std::vector<Anniversary> anniversaries;  // distinct
  // Per DayKind: whether a rule due that day may fire for any client (the tick visits every
  // client), else the anniversaries whose clients its rules may fire for.
  bool every_client[4] = {true, true, true, true};
  std::vector<int> anniversaries_of_day[4];
};

// [v0.2] `revenue EVENT.FIELD [where C]` (C12): an accepted event of type `event` brings the
// broker `fields[field]` (money) when `where` holds (a bool over the event's fields, params
// and constants). Only reports read it; the engine never evaluates `where`.
struct Revenue {
  int event = 0;
  int field = 0;
  std::optional<Expr> where;
};

struct Program {
  std::string name;
  std::string currency;  // "" when the program uses no money
  // [v0.2] The program's time zone: its IANA name and its stdlib/zone.h id (0: UTC).
  std::string timezone = "UTC";
  int32_t zone = 0;
  std::vector<Event> events;
  std::vector<Field> client_fields;
  std::vector<Wallet> wallets;
  std::vector<Var> vars;
  std::vector<Param> params;
  std::vector<Tier> tiers;  // rank order; empty when the program declares none
  std::vector<Segment> segments;
  std::vector<Rule> rules;
  std::vector<Revenue> revenues;  // [v0.2] in declaration order
  std::vector<AggSlot> agg_slots;
  std::vector<AggUse> aggregates;
  // [v0.2] The durations of `credit ... pending D` actions (checked::Action::pending), as
  // duration values for perk_date_add: days or months.
  std::vector<int64_t> pending_for;
  bool has_lots = false;  // a wallet expires or a credit is pending: day ticks release and expire
  // The windows and holds that params set (refolded after --param overrides).
  std::vector<ParamDuration> param_durations;
  // Rule indexes by trigger, in declaration order.
  std::vector<std::vector<int>> rules_by_event;
  std::vector<std::vector<int>> reversed_rules_by_event;  // [v0.2] `on EVENT reversed`
  std::vector<int> tier_changed_rules;
  std::vector<int> daily_rules;
  // [v0.2] The day-tick rules due on each DayKind, in declaration order ([kPlainDay] is
  // daily_rules); all four are the same list when no rule runs every week or month.
  std::vector<int> day_tick_rules[4];
  bool has_calendar_ticks = false;  // some rule runs `every week` or `every month`
  // [v0.2] Per segment: its `on entering` and `on leaving` rules.
  std::vector<std::vector<int>> entering_rules;
  std::vector<std::vector<int>> leaving_rules;
  // [v0.2] Which clients each day-tick rule can fire for (compiler/day_schedule.h).
  DaySchedule day_schedule;

  int FindEvent(std::string_view name) const;
  int FindParam(std::string_view name) const;
};

// Every expression the engine evaluates on its own, in a fixed order: each rule's limit key,
// `when` and action values and data (nested `if`s included), then tier conditions, segment conditions and
// aggregate `where` filters.
std::vector<const Expr*> TopLevelExpressions(const Program& program);

// The distinct (slot, window length, previous) of a program's aggregate uses: uses that fold the
// same buckets (e.g. three tier conditions over one 30-day volume) read the same window. The
// runtime keeps one cached fold per client per window (runtime/state.h's WindowCache), and the
// JIT reads it in place, so both take the numbering from here.
struct AggWindows {
  std::vector<int> of_use;                // per AggUse: its window
  std::vector<std::vector<int>> of_slot;  // per AggSlot: the windows over it
  size_t count = 0;
  size_t size() const { return count; }
};
AggWindows AggWindowsOf(const Program& program);

// The flat layout of a client's state: one block of int64 slots per client, computed here once
// and shared by the runtime (runtime/state.h's ClientState keeps the block), the interpreter and
// the JIT (which compiles these offsets into its loads). In the order a day tick reads them:
// since, tier, the tiers' hold ends, segment membership bits, the window caches (kWindowSlots
// each, in AggWindows order: from, until and the fold's key, count, sum, min, max), then
// wallets and vars (a string var's slot is 0; its text is kept beside the block). What has no
// fixed size (attributes' strings, badges, the calendar buckets behind aggregates and limits)
// stays outside it. A pure function of the counts, so a client decoded without its program has
// the same layout as one made by it.
struct ClientLayout {
  static constexpr int32_t kSince = 0;
  static constexpr int32_t kTier = 1;
  static constexpr int32_t kHolds = 2;
  static constexpr int32_t kWindowSlots = 7;

  uint32_t tiers = 0, segments = 0, windows = 0, wallets = 0, vars = 0;

  int32_t segment_words() const { return static_cast<int32_t>((segments + 63) / 64); }
  int32_t segments_at() const { return kHolds + static_cast<int32_t>(tiers); }
  int32_t windows_at() const { return segments_at() + segment_words(); }
  int32_t wallets_at() const { return windows_at() + kWindowSlots * static_cast<int32_t>(windows); }
  int32_t vars_at() const { return wallets_at() + static_cast<int32_t>(wallets); }
  int32_t size() const { return vars_at() + static_cast<int32_t>(vars); }
  bool operator==(const ClientLayout&) const = default;
};
ClientLayout ClientLayoutOf(const Program& program);

}  // namespace perk::checked
