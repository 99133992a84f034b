// The Perk abstract syntax tree: what the program says, with source ranges, before names
// and types are resolved. Built from the ANTLR parse tree by ast_builder.cpp (the only file
// that sees generated code) and consumed by the checker.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/diagnostics.h"

namespace perk::ast {

enum class TypeName { Int, Decimal, Money, Bool, String, Time, Date, Tier, Client };
struct TypeRef {
  TypeName name = TypeName::Int;
  SourceRange range;
};

enum class DurationUnit { Minute, Hour, Day, Week, Month, Year };
struct Duration {
  int64_t count = 0;  // as written: `30 days` is {30, Day}
  DurationUnit unit = DurationUnit::Day;
  SourceRange range;
  // [v0.2] `within previous N units`: only ever set on a window.
  bool previous = false;
  // v0.2 (C5): the count is the int param `param` (`within n days`); with `whole`, the whole
  // duration is the duration param `param` (`within inactive`), and count and unit are unused.
  std::string param;
  bool whole = false;
  SourceRange param_range;  // the param's name, when `param` is set
};

enum class ExprKind {
  Error,       // a part the parser could not build; the checker gives it no type, silently
  IntLit,      // text: digits as written, '_' included ("1_000")
  DecimalLit,  // text: "2.5"
  PercentLit,  // text: the number before '%' ("30" for 30%, "2.5" for 2.5%)
  MoneyLit,    // text: the number; currency: the code ("250.50", "USD")
  StringLit,   // text: the value, escapes already decoded (valid UTF-8)
  BoolLit,     // bool_value
  DateLit,     // text: "2026-03-01"
  TimeLit,     // text: "2026-03-01T10:00:00Z"
  DurationLit, // duration (in `now - 30 days`)
  Name,        // text: an identifier
  ClientRef,   // the keyword `client`, only ever the base of a Field
  Field,       // args[0] . text   (deposit.amount, client.birthdate)
  Tier,        // the keyword `tier`: the client's current tier
  PreviousTier,
  Now,
  Today,
  Unary,       // uop args[0]
  Binary,      // args[0] bop args[1]
  In,          // args[0] in [args[1], args[2], ...]
  If,          // if args[0] then args[1] else args[2]
  Call,        // text(args...): min max abs floor ceil round date days_between anniversary
               // has_badge lower upper starts_with contains pending (any name; the checker resolves)
  Aggregate,   // agg(text[.field] [where where] [within within])
  IsSet,       // args[0] is set; bool_value: `is not set`
  Otherwise,   // args[0] otherwise args[1]
};

enum class UnaryOp { Neg, Not };
enum class BinaryOp { Add, Sub, Mul, Div, Mod, Eq, Ne, Lt, Le, Gt, Ge, And, Or };
enum class AggKind { Count, Sum, Avg, Highest, Lowest };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind = ExprKind::Error;
  SourceRange range;  // the whole expression
  std::string text;
  std::string currency;       // MoneyLit
  SourceRange name_range;     // Field: the field name; Aggregate: the event name; Call: callee
  bool bool_value = false;    // BoolLit
  UnaryOp uop = UnaryOp::Neg;
  BinaryOp bop = BinaryOp::Add;
  AggKind agg = AggKind::Count;
  std::string field;          // Aggregate: the field ("" for count)
  SourceRange field_range;    // Aggregate
  ExprPtr where;              // Aggregate, optional
  std::optional<Duration> within;  // Aggregate, optional
  std::optional<Duration> duration;  // DurationLit
  std::vector<ExprPtr> args;
};

struct FieldDecl {
  std::string name;
  SourceRange range;
  TypeRef type;
  ExprPtr default_value;  // optional
  SourceRange name_range;  // the name alone (the editor's go to definition)
};

struct EventDecl {
  std::string name;
  SourceRange range;
  std::vector<FieldDecl> fields;
  SourceRange name_range;
};

struct WalletDecl {
  std::string name;
  SourceRange range;
  TypeRef type;
  ExprPtr worth;                   // [v0.2] `worth M`, optional (C12)
  std::optional<Duration> expiry;  // [v0.2] `expires after D`, optional (C11)
  SourceRange name_range;
};

struct VarDecl {
  std::string name;
  SourceRange range;
  TypeRef type;
  ExprPtr init;
  SourceRange name_range;
};

struct ParamDecl {
  std::string name;
  SourceRange range;
  std::optional<TypeRef> type;  // `param x: money = 10 USD`; usually inferred
  ExprPtr value;
  SourceRange name_range;
};

struct TierDecl {
  std::string name;
  SourceRange range;
  ExprPtr when;  // null for the base tier
  std::optional<Duration> hold;
  SourceRange name_range;
};

// [v0.2] `revenue EVENT.FIELD [where C]` (C12).
struct RevenueDecl {
  std::string event;
  SourceRange event_range;
  std::string field;
  SourceRange field_range;
  SourceRange range;
  ExprPtr where;  // optional
};

struct SegmentDecl {
  std::string name;
  SourceRange range;
  ExprPtr when;
  SourceRange name_range;
};

enum class TriggerKind { Event, TierChanged, EveryDay, EveryWeek, EveryMonth, Entering, Leaving };
struct Trigger {
  TriggerKind kind = TriggerKind::Event;
  std::string event;  // TriggerKind::Event; Entering/Leaving: the segment's name
  bool reversed = false;  // [v0.2] TriggerKind::Event: `on EVENT reversed`
  SourceRange range;
  SourceRange event_range;  // Event/Entering/Leaving: the name alone
};

struct Limit {
  bool once = false;
  ExprPtr count;  // null when once
  ExprPtr key;    // `per KEY`; null for `per client`
  std::optional<Duration> within;
  SourceRange range;
};

struct Budget {
  ExprPtr amount;
  bool per_client = false;  // `budget M per client`
  bool partial = false;     // `... partial`
  std::optional<Duration> within;
  SourceRange range;
};

enum class ActionKind { Credit, Debit, Set, Notify, Grant, Emit, Send, If };

struct DataEntry {
  std::string key;
  SourceRange range;
  ExprPtr value;
};

struct Action {
  ActionKind kind = ActionKind::Credit;
  SourceRange range;
  // Credit/Debit: the wallet; Set: the var; Notify: the template; Grant: the badge;
  // Emit: the name (string literals already decoded); Send: the event type.
  std::string target;
  SourceRange target_range;
  ExprPtr value;  // Credit/Debit: amount; Set: value; If: condition; Send: the client sent to
  std::optional<Duration> pending;  // [v0.2] Credit: `pending D`
  std::vector<DataEntry> data;  // Notify/Emit; Send: the fields given
  std::vector<Action> then_actions;  // If
  std::vector<Action> else_actions;  // If
  bool has_else = false;
};

struct RuleDecl {
  std::string name;
  SourceRange range;
  std::string label;  // optional
  std::string renamed_from;  // `renamed from OLD`; empty when not renamed
  SourceRange renamed_range;
  Trigger trigger;
  ExprPtr when;  // optional
  std::optional<Limit> limit;
  std::optional<Budget> budget;         // the campaign budget
  std::optional<Budget> client_budget;  // `budget M per client`
  std::vector<Action> actions;
  SourceRange name_range;
  uint32_t end_line = 0;  // the line of its `end` (0 when missing)
};

struct Program {
  std::string name;
  SourceRange name_range;
  std::optional<std::string> currency;
  SourceRange currency_range;
  std::optional<std::string> timezone;  // [v0.2] `timezone "Europe/Berlin"`, as written
  SourceRange timezone_range;
  std::vector<EventDecl> events;
  std::vector<FieldDecl> client_fields;  // all `client { }` blocks, in order
  std::vector<WalletDecl> wallets;
  std::vector<VarDecl> vars;
  std::vector<ParamDecl> params;
  std::vector<TierDecl> tiers;
  std::vector<SegmentDecl> segments;
  std::vector<RuleDecl> rules;
  std::vector<RevenueDecl> revenues;
};

// Parses a whole program. Syntax errors go to `diags` (every one, with ANTLR recovery);
// the returned tree holds everything that parsed, with ExprKind::Error for broken parts,
// so the checker can still report type errors elsewhere. Never throws.
std::unique_ptr<Program> ParseProgram(std::string_view source, Diagnostics& diags);

// Parses a single expression (the REPL); nullptr with diagnostics on error.
ExprPtr ParseExpression(std::string_view source, Diagnostics& diags);

// Every keyword of the language, as written (`program` ... `duration`), from the grammar.
const std::vector<std::string>& Keywords();

// A readable dump of the tree, for `perk dump ast` golden tests.
std::string Dump(const Program& program);

}  // namespace perk::ast
