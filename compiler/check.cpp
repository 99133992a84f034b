// The checker: resolves names, types every expression, enforces what each place may read,
// folds constants, and produces the checked program. Keeps going after errors so one run
// reports them all; an expression of Type::Error never causes a second diagnostic.
#include <fmt/format.h>

#include <algorithm>
#include <pthread.h>

#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include "compiler/compiler.h"
#include "compiler/day_schedule.h"
#include "compiler/safety.h"
#include "stdlib/stdlib.h"
#include "stdlib/zone.h"

namespace perk {
namespace {

using checked::Expr;
using checked::ExprKind;
using checked::Program;
using checked::Window;
using checked::WindowUnit;

// Where an expression stands decides what it may read (spec §3).
enum class Place {
  ParamInit,    // literals and operators only
  Constant,     // + params (var initialisers, field defaults, limit, budget, `in` lists)
  AggFilter,    // + the aggregate's event fields
  TierCond,     // client state: attributes, wallets, vars, tier, segments, aggregates, now
  SegmentCond,  // same as TierCond
  RuleEvent,    // + the trigger event's fields
  RuleTierChanged,  // + previous_tier
  RuleDaily,    // client state only
  LimitKey,     // [v0.2] `limit N per KEY`: the trigger event's fields, params and constants
  RuleSegment,  // [v0.2] `on entering` / `on leaving`: client state only, like RuleDaily
  RevenueFilter,  // [v0.2] `revenue E.f where C`: like AggFilter, E's fields, params and constants
};

struct Scope {
  Place place;
  int event = -1;  // RuleEvent, AggFilter, LimitKey and RevenueFilter: the event whose fields are readable
};

bool IsConstantPlace(Place p) { return p == Place::ParamInit || p == Place::Constant; }

// The first read of a segment numbered `from` or later in `e`, or null.
const Expr* FindSegmentRead(const Expr& e, int from) {
  if (e.kind == ExprKind::Segment && e.index >= from) return &e;
  for (const auto& a : e.args)
    if (const Expr* found = FindSegmentRead(a, from)) return found;
  return nullptr;
}

bool IsNumeric(Type t) { return t == Type::Int || t == Type::Decimal || t == Type::Money; }
// Types whose values order as int64 (everything but strings).
bool IsOrdered(Type t) {
  return t == Type::Int || t == Type::Decimal || t == Type::Money || t == Type::Time || t == Type::Date ||
         t == Type::Tier;
}

// [v0.2] A client as its id, a string: both are text at run time, so only the type changes.
checked::Expr AsText(checked::Expr e) {
  if (e.type == Type::Client) e.type = Type::String;
  return e;
}

Type FromTypeName(ast::TypeName n) {
  switch (n) {
    case ast::TypeName::Int: return Type::Int;
    case ast::TypeName::Decimal: return Type::Decimal;
    case ast::TypeName::Money: return Type::Money;
    case ast::TypeName::Bool: return Type::Bool;
    case ast::TypeName::String: return Type::String;
    case ast::TypeName::Time: return Type::Time;
    case ast::TypeName::Date: return Type::Date;
    case ast::TypeName::Tier: return Type::Tier;
    case ast::TypeName::Client: return Type::Client;
  }
  return Type::Error;
}

std::string Q(std::string_view s) { return fmt::format("`{}`", s); }
std::string QT(Type t) { return Q(TypeName(t)); }

Expr ErrorExpr(SourceRange r) {
  Expr e;
  e.kind = ExprKind::Const;
  e.type = Type::Error;
  e.range = r;
  return e;
}

// `if c then a else b`, with a and b already of one type.
Expr IfNode(Expr c, Expr a, Expr b, SourceRange r) {
  Expr out;
  out.kind = ExprKind::If;
  out.type = a.type;
  out.range = r;
  out.args.push_back(std::move(c));
  out.args.push_back(std::move(a));
  out.args.push_back(std::move(b));
  return out;
}

Expr ConstExpr(Type t, Value v, SourceRange r) {
  Expr e;
  e.kind = ExprKind::Const;
  e.type = t;
  e.value = std::move(v);
  e.range = r;
  return e;
}

// The duration's value (stdlib/zone.h): microseconds, or for months and years their count of
// months above stdlib::kMonthsTag; nullopt when that does not fit (about 292,000 years of
// microseconds, 10,000 years of months).
std::optional<int64_t> DurationMicros(const ast::Duration& d) {
  int64_t unit = 0;
  switch (d.unit) {
    case ast::DurationUnit::Month:
    case ast::DurationUnit::Year: {
      const int64_t per = d.unit == ast::DurationUnit::Year ? 12 : 1;
      if (d.count > 120'000 / per) return std::nullopt;
      return stdlib::kMonthsTag + d.count * per;
    }
    case ast::DurationUnit::Minute: unit = stdlib::kMicrosPerMinute; break;
    case ast::DurationUnit::Hour: unit = stdlib::kMicrosPerHour; break;
    case ast::DurationUnit::Day: unit = stdlib::kMicrosPerDay; break;
    case ast::DurationUnit::Week: unit = 7 * stdlib::kMicrosPerDay; break;
  }
  int64_t micros = 0;
  if (__builtin_mul_overflow(d.count, unit, &micros) || micros >= stdlib::kMonthsTag) return std::nullopt;
  return micros;
}

// [v0.2] The duration value of an `expires after` or `pending` duration in days, weeks, months
// or years, bounded like a window (10000 days, 328 months, 27 years) so that a lot's date never
// leaves the calendar; nullopt when longer.
std::optional<int64_t> LotDurationValue(const ast::Duration& d) {
  const int64_t limit = d.unit == ast::DurationUnit::Week    ? 10'000 / 7
                        : d.unit == ast::DurationUnit::Month ? 328
                        : d.unit == ast::DurationUnit::Year  ? 27
                                                             : 10'000;
  if (d.count <= 0 || d.count > limit) return std::nullopt;
  return DurationMicros(d);
}

// The unit a window or a duration param counts in (weeks count days), and back.
WindowUnit WindowUnitOf(ast::DurationUnit u) {
  switch (u) {
    case ast::DurationUnit::Minute: return WindowUnit::Minute;
    case ast::DurationUnit::Hour: return WindowUnit::Hour;
    case ast::DurationUnit::Day:
    case ast::DurationUnit::Week: return WindowUnit::Day;
    case ast::DurationUnit::Month: return WindowUnit::Month;
    case ast::DurationUnit::Year: return WindowUnit::Year;
  }
  return WindowUnit::Day;
}
ast::DurationUnit AstUnit(WindowUnit u) {
  switch (u) {
    case WindowUnit::Minute: return ast::DurationUnit::Minute;
    case WindowUnit::Hour: return ast::DurationUnit::Hour;
    case WindowUnit::Month: return ast::DurationUnit::Month;
    case WindowUnit::Year: return ast::DurationUnit::Year;
    default: return ast::DurationUnit::Day;
  }
}

// [v0.2] A hold of days or longer steps the calendar in a zone, and one of months or years
// everywhere (spec §2); hold_micros then bounds its length (31 days a month) for the
// re-evaluation skip. Otherwise the hold is an exact length.
void SetHold(checked::Tier& t, int64_t micros, bool calendar_unit, int32_t zone) {
  t.hold_calendar = 0;
  if (stdlib::IsMonths(micros) || (calendar_unit && zone != stdlib::kUtcZone)) {
    t.hold_calendar = micros;
    t.hold_micros = stdlib::IsMonths(micros) ? stdlib::MonthsOf(micros) * 31 * stdlib::kMicrosPerDay : micros;
  } else {
    t.hold_micros = micros;
  }
}

// [v0.2] Days, weeks, months and years are calendar steps (spec §2); minutes and hours are
// exact lengths. Known from the literal as written (`24 hours` is not `1 day` in a zone with
// daylight saving time).
bool IsCalendarDuration(const ast::Expr& e) {
  if (e.kind != ast::ExprKind::DurationLit || !e.duration) return false;
  return e.duration->unit != ast::DurationUnit::Minute && e.duration->unit != ast::DurationUnit::Hour;
}

constexpr const char* kDurationTooLong = "this duration is too long; a duration must be shorter than about 292,000 years";

const char* StatusText(PerkStatus s) {
  return s == PERK_DIV_BY_ZERO ? "divides by zero" : "overflows";
}

// Evaluates a constant expression (Const, Param and pure operations over them).
std::optional<Value> FoldConstant(const Expr& e, const std::vector<checked::Param>& params,
                                  PerkStatus* status) {
  switch (e.kind) {
    case ExprKind::Const: return e.value;
    case ExprKind::Param: return params[e.index].value;
    case ExprKind::Op: {
      Value args[3];
      for (size_t k = 0; k < e.args.size(); ++k) {
        auto v = FoldConstant(e.args[k], params, status);
        if (!v) return std::nullopt;
        args[k] = std::move(*v);
      }
      Value out;
      PerkStatus s = ApplyOp(e.op, args, &out);
      if (s != PERK_OK) {
        *status = s;
        return std::nullopt;
      }
      return out;
    }
    case ExprKind::If: {
      auto c = FoldConstant(e.args[0], params, status);
      if (!c) return std::nullopt;
      return FoldConstant(e.args[c->i ? 1 : 2], params, status);
    }
    case ExprKind::And:
    case ExprKind::Or: {
      auto a = FoldConstant(e.args[0], params, status);
      if (!a) return std::nullopt;
      if ((e.kind == ExprKind::And) != (a->i != 0)) return a;
      return FoldConstant(e.args[1], params, status);
    }
    case ExprKind::In: {
      auto x = FoldConstant(e.args[0], params, status);
      if (!x) return std::nullopt;
      for (size_t k = 1; k < e.args.size(); ++k) {
        auto v = FoldConstant(e.args[k], params, status);
        if (!v) return std::nullopt;
        if (*v == *x) return Value::Int(1);
      }
      return Value::Int(0);
    }
    default: return std::nullopt;
  }
}

bool IsFoldable(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Const:
    case ExprKind::Param: return true;
    case ExprKind::Op:
    case ExprKind::If:
    case ExprKind::And:
    case ExprKind::Or:
    case ExprKind::In:
      return std::all_of(e.args.begin(), e.args.end(), IsFoldable);
    default: return false;
  }
}

// A canonical text of a checked expression: equal texts mean equal filters.
void KeyOf(const Expr& e, std::string& out) {
  out += fmt::format("({} {} {} {} {}", static_cast<int>(e.kind), static_cast<int>(e.type),
                     static_cast<int>(e.op), e.index, e.value.i);
  if (!e.value.s.empty()) out += fmt::format(" {:?}", e.value.s);
  for (const auto& a : e.args) KeyOf(a, out);
  out += ")";
}

class Checker {
 public:
  Checker(const ast::Program& ast, Diagnostics& diags) : ast_(ast), diags_(diags) {}

  std::unique_ptr<Program> Run();

  // For the REPL: checks one expression against an already checked program.
  std::optional<Expr> CheckStandalone(const Program& program, const ast::Expr& e, int event, Program* extended);

 private:
  enum class SymKind { Event, Wallet, Var, Param, Tier, Segment, Rule };
  struct Symbol {
    SymKind kind;
    int index;
    SourceRange range;
  };

  // An error; a suggestion DidYouMean just made for it becomes its fix.
  void Error(DiagKind k, SourceRange r, std::string msg) {
    diags_.Report(k, r, std::move(msg));
    if (!suggested_.second.empty()) diags_.SuggestFix(suggested_.first, suggested_.second);
    suggested_ = {};
  }

  void Declare(const std::string& name, SymKind kind, int index, SourceRange range);
  const Symbol* Lookup(const std::string& name) const;
  std::vector<std::string> NamesOf(std::function<bool(SymKind)> keep) const;
  std::string DidYouMean(const std::string& name, const std::vector<std::string>& candidates) const;
  // The last suggestion (name, suggested name), for the next Error's fix.
  mutable std::pair<std::string, std::string> suggested_;
  void Use(const std::string& name) { used_.insert(name); }

  void CheckHeader();
  void DeclareAll();
  void CheckParams();
  void CheckFields(const std::vector<ast::FieldDecl>& decls, bool client, std::vector<checked::Field>* out);
  void CheckWallets();
  // [v0.2] C12, for reports only: `worth M` on int wallets and `revenue E.f [where C]`.
  void CheckWorth();
  void CheckRevenues();
  void CheckVars();
  void CheckTiers();
  void CheckSegments();
  void CheckRules();
  void CheckActions(const std::vector<ast::Action>& in, const Scope& scope, const ast::RuleDecl& rule,
                    std::vector<checked::Action>* out);
  // A budget's amount: a constant `money` (counting credits to money wallets) or `int` (to int
  // wallets), more than zero; its type in *type.
  std::optional<int64_t> CheckBudgetAmount(const ast::Expr& e, Type* type, std::shared_ptr<const Expr>* keep);
  void WarnUnused();

  bool RequireMoney(SourceRange r);
  std::optional<Window> CheckWindow(const ast::Duration& d);
  // A duration written with a param (v0.2, C5: `n days`, `inactive`) as the literal it stands
  // for with the param's value now; *ref says how to recompute it after --param overrides
  // (ref->param stays -1 for a literal). nullopt after an error.
  std::optional<ast::Duration> ResolveDuration(const ast::Duration& d, checked::ParamDuration* ref);
  // Records that the window or hold just checked (target, index) comes from a param.
  void NoteParamDuration(checked::ParamDuration::Target target, size_t index);
  void CheckRenamedFrom(size_t rule);
  std::optional<int64_t> CheckLotDuration(const ast::Duration& d, const char* what, checked::ParamDuration::Target target,
                                          size_t index);
  checked::ParamDuration last_window_param_;
  // Checks `e` in `scope` and converts it to `want` (int widens to decimal); reports
  // TypeMismatch with `what` naming the place on failure.
  Expr CheckAs(const ast::Expr& e, const Scope& scope, Type want, const std::string& what);
  // A constant of type `want`: its expression (kept for refolding) and value.
  std::optional<Value> CheckConstant(const ast::Expr& e, Place place, Type want, const std::string& what,
                                     std::shared_ptr<const Expr>* keep);
  // CheckConstant's second half: `x`, checked from `e`, folded to its value.
  std::optional<Value> FoldChecked(const ast::Expr& e, Expr x, Place place, const std::string& what,
                                   std::shared_ptr<const Expr>* keep);

  Expr Check(const ast::Expr& e, const Scope& s);
  Expr CheckName(const ast::Expr& e, const Scope& s);
  Expr CheckField(const ast::Expr& e, const Scope& s);
  Expr CheckUnary(const ast::Expr& e, const Scope& s);
  Expr CheckBinary(const ast::Expr& e, const Scope& s);
  Expr CheckIn(const ast::Expr& e, const Scope& s);
  Expr CheckIf(const ast::Expr& e, const Scope& s);
  Expr CheckCall(const ast::Expr& e, const Scope& s);
  Expr CheckAggregate(const ast::Expr& e, const Scope& s);
  Expr CheckLiteral(const ast::Expr& e, const Scope& s);
  Expr CheckIsSet(const ast::Expr& e, const Scope& s);
  Expr CheckOtherwise(const ast::Expr& e, const Scope& s);

  // ---- values that may be unset (spec §2; check_optional.cpp would be its own file)
  // The optional client attribute `e` reads (`client.NAME` without a default), or -1.
  int OptionalAttrOf(const ast::Expr& e) const;
  // Adds to known_set_ the optional attributes that are set whenever `cond` evaluates to
  // `when_true`: `x is set` when true, `x is not set` when false, through `not`, the operands
  // of `and` when true and of `or` when false.
  void LearnFacts(const ast::Expr& cond, bool when_true);

  // Builds op(args) with the given result type, folding it when every argument is constant.
  Expr MakeOp(OpCode op, Type type, SourceRange r, std::vector<Expr> args);
  Expr Widen(Expr e);  // int -> decimal
  bool CheckSend(const ast::Action& a, const Scope& scope, checked::Action* out);
  // Brings two numeric operands to one type when int meets decimal; false when they differ.
  bool Unify(Expr& a, Expr& b);
  bool NeedState(const ast::Expr& e, const Scope& s, const char* what);
  Expr CheckPending(const ast::Expr& e, const Scope& s);

  const ast::Program& ast_;
  Diagnostics& diags_;
  std::unique_ptr<Program> prog_;
  std::unordered_map<std::string, Symbol> symbols_;
  std::vector<std::string> symbol_order_;
  std::set<std::string> used_;
  std::map<std::string, int> slot_keys_;
  bool money_error_reported_ = false;
  bool money_budget_ = false;  // the rule being checked has a money budget (W0001)
  // Optional attributes known to be set where the checker is (a stack: callers restore its
  // size), and whether the next expression checked may read an optional attribute itself
  // (the operand of `is set` or the left of `otherwise`).
  std::vector<int> known_set_;
  bool optional_ok_ = false;
  static constexpr int kMaxDepth = 256;
  int depth_ = 0;
  int action_depth_ = 0;
  bool depth_reported_ = false;
};

void Checker::Declare(const std::string& name, SymKind kind, int index, SourceRange range) {
  auto [it, inserted] = symbols_.emplace(name, Symbol{kind, index, range});
  if (!inserted) {
    Error(DiagKind::DuplicateName, range,
          fmt::format("{} is already declared; every event, wallet, var, param, tier, segment and rule "
                      "needs its own name",
                      Q(name)));
    diags_.Note(it->second.range, fmt::format("{} first declared here", Q(name)));
    return;
  }
  symbol_order_.push_back(name);
}

const Checker::Symbol* Checker::Lookup(const std::string& name) const {
  auto it = symbols_.find(name);
  return it == symbols_.end() ? nullptr : &it->second;
}

std::vector<std::string> Checker::NamesOf(std::function<bool(SymKind)> keep) const {
  std::vector<std::string> out;
  for (const auto& n : symbol_order_)
    if (keep(symbols_.at(n).kind)) out.push_back(n);
  return out;
}

std::string Checker::DidYouMean(const std::string& name, const std::vector<std::string>& candidates) const {
  std::string best = ClosestName(name, candidates);
  suggested_ = {name, best};
  return best.empty() ? "" : fmt::format("; did you mean {}?", Q(best));
}

bool Checker::RequireMoney(SourceRange r) {
  if (!prog_->currency.empty()) return true;
  if (!money_error_reported_) {
    Error(DiagKind::MissingCurrency, r,
          "money is used but the program declares no currency; add `currency USD` (or your code) after "
          "`program`");
    money_error_reported_ = true;
  }
  return false;
}

std::optional<ast::Duration> Checker::ResolveDuration(const ast::Duration& d, checked::ParamDuration* ref) {
  ref->param = -1;
  if (d.param.empty()) return d;
  const Symbol* sym = Lookup(d.param);
  if (!sym || sym->kind != SymKind::Param) {
    Error(DiagKind::TypeMismatch, d.range,
          fmt::format("{} is not a param; a duration is a whole number or an `int` param with a unit (`30 days`, "
                      "`n days`), or a duration param (`param inactive = 60 days`)",
                      Q(d.param)));
    return std::nullopt;
  }
  Use(d.param);
  const checked::Param& p = prog_->params[sym->index];
  if (p.type == Type::Error) return std::nullopt;
  ast::Duration out = d;
  out.param.clear();
  out.whole = false;
  ref->whole = d.whole;
  if (d.whole) {
    if (p.type != Type::Duration) {
      Error(DiagKind::TypeMismatch, d.range,
            fmt::format("the param {} is {}, not a duration; {}", Q(d.param), QT(p.type),
                        p.type == Type::Int ? fmt::format("give its count a unit, like `{} days`", d.param)
                                            : fmt::format("a duration param is declared like `param {} = 30 days`", d.param)));
      return std::nullopt;
    }
    out.count = p.duration.count;
    out.unit = AstUnit(p.duration.unit);
  } else {
    if (p.type != Type::Int) {
      Error(DiagKind::TypeMismatch, d.range,
            fmt::format("the count of a duration is a whole number or an `int` param, and {} is {}", Q(d.param),
                        QT(p.type)));
      return std::nullopt;
    }
    out.count = p.value.i;
    ref->unit = WindowUnitOf(d.unit);
    ref->per = d.unit == ast::DurationUnit::Week ? 7 : 1;
  }
  ref->param = sym->index;
  return out;
}

void Checker::NoteParamDuration(checked::ParamDuration::Target target, size_t index) {
  if (last_window_param_.param < 0) return;
  checked::ParamDuration pd = last_window_param_;
  pd.target = target;
  pd.index = static_cast<int>(index);
  prog_->param_durations.push_back(pd);
  last_window_param_.param = -1;
}

// [v0.2] `expires after D` and `pending D` (C11): a whole number of days, weeks, months or years,
// since lots expire and pending credits are released at day ticks. Returns the duration value
// perk_date_add takes, and notes a param that sets it.
std::optional<int64_t> Checker::CheckLotDuration(const ast::Duration& given, const char* what,
                                                 checked::ParamDuration::Target target, size_t index) {
  checked::ParamDuration ref;
  auto resolved = ResolveDuration(given, &ref);
  if (!resolved) return std::nullopt;
  const ast::Duration& d = *resolved;
  if (d.unit == ast::DurationUnit::Minute || d.unit == ast::DurationUnit::Hour) {
    Error(DiagKind::LotDurationUnit, given.range,
          fmt::format("{} counts whole days, weeks, months or years, since it happens at a day tick; write "
                      "days instead (`1 day` rather than `24 hours`)",
                      what));
    return std::nullopt;
  }
  if (d.count <= 0) {
    Error(DiagKind::BadDuration, given.range, "a duration must be at least 1");
    return std::nullopt;
  }
  auto value = LotDurationValue(d);
  if (!value) {
    Error(DiagKind::BadDuration, given.range,
          fmt::format("{} is longer than 10000 days (or 328 months, or 27 years)", what));
    return std::nullopt;
  }
  if (ref.param >= 0) {
    ref.target = target;
    ref.index = static_cast<int>(index);
    prog_->param_durations.push_back(ref);
  }
  return value;
}

std::optional<Window> Checker::CheckWindow(const ast::Duration& given) {
  auto resolved = ResolveDuration(given, &last_window_param_);
  if (!resolved) return std::nullopt;
  const ast::Duration& d = *resolved;
  if (d.count <= 0) {
    Error(DiagKind::BadDuration, d.range, "a duration must be at least 1");
    return std::nullopt;
  }
  Window w;
  bool too_long = false;
  switch (d.unit) {
    case ast::DurationUnit::Minute: w.unit = WindowUnit::Minute; w.count = d.count; break;
    case ast::DurationUnit::Hour: w.unit = WindowUnit::Hour; w.count = d.count; break;
    case ast::DurationUnit::Day: w.unit = WindowUnit::Day; w.count = d.count; break;
    // A huge count of weeks must not wrap around to a small (or negative) number of days.
    case ast::DurationUnit::Week: w.unit = WindowUnit::Day; too_long = __builtin_mul_overflow(d.count, 7, &w.count); break;
    case ast::DurationUnit::Month: w.unit = WindowUnit::Month; w.count = d.count; too_long = d.count > 328; break;
    case ast::DurationUnit::Year: w.unit = WindowUnit::Year; w.count = d.count; too_long = d.count > 27; break;
  }
  if (d.previous && (w.unit == WindowUnit::Minute || w.unit == WindowUnit::Hour)) {
    Error(DiagKind::BadWindowUnit, d.range,
          "`within previous` counts whole days, weeks, months or years before the current one; for the last "
          "minutes or hours write `within` without `previous`");
    return std::nullopt;
  }
  w.previous = d.previous;
  // Bounded state: windows longer than ~27 years are certainly a mistake.
  if (too_long || w.count > 10'000 * (w.unit == WindowUnit::Day ? 1 : w.unit == WindowUnit::Hour ? 24 : w.unit == WindowUnit::Minute ? 1440 : 1)) {
    Error(DiagKind::BadDuration, d.range, "this window is longer than 10000 days; leave out `within` to count the whole history");
    return std::nullopt;
  }
  return w;
}

Expr Checker::Widen(Expr e) {
  if (e.type != Type::Int) return e;
  std::vector<Expr> args;
  SourceRange r = e.range;
  args.push_back(std::move(e));
  return MakeOp(OpCode::WidenInt, Type::Decimal, r, std::move(args));
}

bool Checker::Unify(Expr& a, Expr& b) {
  if (a.type == b.type) return true;
  if (a.type == Type::Int && b.type == Type::Decimal) {
    a = Widen(std::move(a));
    return true;
  }
  if (a.type == Type::Decimal && b.type == Type::Int) {
    b = Widen(std::move(b));
    return true;
  }
  return false;
}

Expr Checker::MakeOp(OpCode op, Type type, SourceRange r, std::vector<Expr> args) {
  // An operand already reported (an int too large to widen to decimal) makes no new error; an
  // error operand is a Const and would otherwise fold as the value 0 ("divides by zero").
  for (const Expr& a : args)
    if (a.type == Type::Error) return ErrorExpr(r);
  bool all_const = std::all_of(args.begin(), args.end(), [](const Expr& a) { return a.kind == ExprKind::Const; });
  if (all_const) {
    Value vals[3];
    for (size_t k = 0; k < args.size(); ++k) vals[k] = args[k].value;
    Value out;
    PerkStatus s = ApplyOp(op, vals, &out);
    if (s != PERK_OK) {
      Error(DiagKind::ConstantOverflow, r, fmt::format("this constant expression {}", StatusText(s)));
      return ErrorExpr(r);
    }
    return ConstExpr(type, std::move(out), r);
  }
  Expr e;
  e.kind = ExprKind::Op;
  e.op = op;
  e.type = type;
  e.range = r;
  e.args = std::move(args);
  return e;
}

Expr Checker::CheckAs(const ast::Expr& e, const Scope& scope, Type want, const std::string& what) {
  Expr x = Check(e, scope);
  if (x.type == Type::Error || want == Type::Error) return x;
  if (x.type == want) return x;
  if (x.type == Type::Int && want == Type::Decimal) return Widen(std::move(x));
  // [v0.2] A client reads as its id where a string is wanted (`set last = client.id`).
  if (x.type == Type::Client && want == Type::String) return AsText(std::move(x));
  std::string hint;
  if (want == Type::Int && x.type == Type::Decimal)
    hint = "; wrap it in `floor()`, `ceil()` or `round()`";
  else if (want == Type::Money && (x.type == Type::Int || x.type == Type::Decimal) && !prog_->currency.empty())
    hint = fmt::format("; write amounts with the currency, e.g. `10 {}`", prog_->currency);
  else if (want == Type::Int && x.type == Type::Money)
    hint = "; divide by an amount (`x / 1 USD`) and round to get a number";
  Error(DiagKind::TypeMismatch, e.range, fmt::format("{} needs {}, found {}{}", what, QT(want), QT(x.type), hint));
  return ErrorExpr(e.range);
}

std::optional<Value> Checker::CheckConstant(const ast::Expr& e, Place place, Type want, const std::string& what,
                                            std::shared_ptr<const Expr>* keep) {
  return FoldChecked(e, CheckAs(e, Scope{place}, want, what), place, what, keep);
}

std::optional<Value> Checker::FoldChecked(const ast::Expr& e, Expr x, Place place, const std::string& what,
                                          std::shared_ptr<const Expr>* keep) {
  if (x.type == Type::Error) return std::nullopt;
  if (!IsFoldable(x)) {
    Error(DiagKind::NotConstant, e.range,
          fmt::format("{} must be a constant: a literal{}, known when the program loads", what,
                      place == Place::Constant ? " or a param" : ""));
    return std::nullopt;
  }
  PerkStatus status = PERK_OK;
  auto v = FoldConstant(x, prog_->params, &status);
  if (!v) {
    Error(DiagKind::ConstantOverflow, e.range, fmt::format("this constant expression {}", StatusText(status)));
    return std::nullopt;
  }
  if (keep) *keep = std::make_shared<const Expr>(std::move(x));
  return v;
}

bool Checker::NeedState(const ast::Expr& e, const Scope& s, const char* what) {
  if (s.place == Place::LimitKey) {
    Error(DiagKind::LimitKeyReadsState, e.range,
          fmt::format("a limit's key may read only the trigger event's fields, params and constants, not {}; "
                      "count firings per client with `per client`, or key them by an event field", what));
    return false;
  }
  if (s.place == Place::AggFilter) {
    Error(DiagKind::FilterReadsState, e.range,
          fmt::format("an aggregate's `where` may read only the event's fields, params and constants, not {}", what));
    return false;
  }
  if (s.place == Place::RevenueFilter) {
    Error(DiagKind::FilterReadsState, e.range,
          fmt::format("a `revenue` declaration's `where` may read only the event's fields, params and constants, not {}; "
                      "revenue is a property of the event, whoever the client is",
                      what));
    return false;
  }
  if (IsConstantPlace(s.place)) {
    Error(DiagKind::NotConstant, e.range,
          fmt::format("this must be a constant known when the program loads, but {} changes per client", what));
    return false;
  }
  return true;
}

Expr Checker::Check(const ast::Expr& e, const Scope& s) {
  // Long operator chains make deep trees; bound the recursion of every later phase here.
  struct DepthGuard {
    int& d;
    explicit DepthGuard(int& depth) : d(++depth) {}
    ~DepthGuard() { --d; }
  } guard(depth_);
  if (depth_ > kMaxDepth) {
    if (!depth_reported_) {
      Error(DiagKind::SyntaxError, e.range,
            fmt::format("this expression nests more than {} operations deep; split it into smaller parts", kMaxDepth));
      depth_reported_ = true;
    }
    return ErrorExpr(e.range);
  }
  // Only the expression asked for may read an optional attribute, not its parts.
  const bool optional_ok = std::exchange(optional_ok_, false);
  switch (e.kind) {
    case ast::ExprKind::Error: return ErrorExpr(e.range);
    case ast::ExprKind::IntLit:
    case ast::ExprKind::DecimalLit:
    case ast::ExprKind::PercentLit:
    case ast::ExprKind::MoneyLit:
    case ast::ExprKind::StringLit:
    case ast::ExprKind::BoolLit:
    case ast::ExprKind::DateLit:
    case ast::ExprKind::TimeLit:
    case ast::ExprKind::DurationLit: return CheckLiteral(e, s);
    case ast::ExprKind::Name: return CheckName(e, s);
    case ast::ExprKind::ClientRef:
      Error(DiagKind::NotAValue, e.range, "`client` is not a value; read one of its attributes, like `client.id`");
      return ErrorExpr(e.range);
    case ast::ExprKind::Field: {
      Expr x = CheckField(e, s);
      if (x.kind == ExprKind::ClientField && x.type != Type::Error && !optional_ok) {
        int k = OptionalAttrOf(e);
        if (k >= 0 && std::find(known_set_.begin(), known_set_.end(), k) == known_set_.end()) {
          const std::string name = "client." + e.text;
          Error(DiagKind::OptionalRead, e.range,
                fmt::format("`{0}` may be unset (it has no default, so it is unset until a profile sets it); test it "
                            "first, as in `{0} is set and ...`, or say what to use when it is unset, as in `{0} "
                            "otherwise ...`",
                            name));
          return ErrorExpr(e.range);
        }
      }
      return x;
    }
    case ast::ExprKind::IsSet: return CheckIsSet(e, s);
    case ast::ExprKind::Otherwise: return CheckOtherwise(e, s);
    case ast::ExprKind::Tier: {
      // ast_ is empty for a REPL expression, whose program is prog_.
      if (ast_.tiers.empty() && prog_->tiers.empty()) {
        Error(DiagKind::TierUsedWithoutTiers, e.range, "`tier` is used but the program declares no tiers; add `tier NAME` declarations");
        return ErrorExpr(e.range);
      }
      if (!NeedState(e, s, "the client's tier")) return ErrorExpr(e.range);
      Expr x;
      x.kind = ExprKind::CurrentTier;
      x.type = Type::Tier;
      x.range = e.range;
      return x;
    }
    case ast::ExprKind::PreviousTier: {
      if (s.place != Place::RuleTierChanged) {
        Error(DiagKind::PreviousTierNotInScope, e.range, "`previous_tier` exists only in rules `on tier_changed`");
        return ErrorExpr(e.range);
      }
      Expr x;
      x.kind = ExprKind::PreviousTier;
      x.type = Type::Tier;
      x.range = e.range;
      return x;
    }
    case ast::ExprKind::Now:
    case ast::ExprKind::Today: {
      bool now = e.kind == ast::ExprKind::Now;
      if (!NeedState(e, s, now ? "`now`" : "`today`")) return ErrorExpr(e.range);
      Expr x;
      x.kind = now ? ExprKind::Now : ExprKind::Today;
      x.type = now ? Type::Time : Type::Date;
      x.range = e.range;
      return x;
    }
    case ast::ExprKind::Unary: return CheckUnary(e, s);
    case ast::ExprKind::Binary: return CheckBinary(e, s);
    case ast::ExprKind::In: return CheckIn(e, s);
    case ast::ExprKind::If: return CheckIf(e, s);
    case ast::ExprKind::Call: return CheckCall(e, s);
    case ast::ExprKind::Aggregate: return CheckAggregate(e, s);
  }
  return ErrorExpr(e.range);
}

Expr Checker::CheckLiteral(const ast::Expr& e, const Scope& s) {
  std::string err;
  switch (e.kind) {
    case ast::ExprKind::IntLit: {
      auto v = stdlib::ParseScaled(e.text, 0, true, false, &err);
      if (!v) {
        Error(DiagKind::BadLiteral, e.range, fmt::format("the number {} {}; an int is 64-bit", e.text, err));
        return ErrorExpr(e.range);
      }
      return ConstExpr(Type::Int, Value::Int(*v), e.range);
    }
    case ast::ExprKind::DecimalLit: {
      auto v = stdlib::ParseScaled(e.text, 6, true, false, &err);
      if (!v) {
        Error(DiagKind::BadLiteral, e.range, fmt::format("the decimal {} {}; decimals have at most 6 places", e.text, err));
        return ErrorExpr(e.range);
      }
      return ConstExpr(Type::Decimal, Value::Int(*v), e.range);
    }
    case ast::ExprKind::PercentLit: {
      // p% is p/100: parsing with 4 places gives micro-units directly.
      auto v = stdlib::ParseScaled(e.text, 4, true, false, &err);
      if (!v) {
        Error(DiagKind::BadLiteral, e.range, fmt::format("the percentage {}% {}; percentages have at most 4 decimal places", e.text, err));
        return ErrorExpr(e.range);
      }
      return ConstExpr(Type::Decimal, Value::Int(*v), e.range);
    }
    case ast::ExprKind::MoneyLit: {
      if (!RequireMoney(e.range)) return ErrorExpr(e.range);
      if (e.currency != prog_->currency) {
        Error(DiagKind::WrongCurrency, e.range,
              fmt::format("{} is not this program's currency; amounts are in {}", Q(e.currency), Q(prog_->currency)));
        return ErrorExpr(e.range);
      }
      auto v = stdlib::ParseScaled(e.text, 2, true, false, &err);
      if (!v) {
        Error(DiagKind::BadLiteral, e.range, fmt::format("the amount {} {} {}; money has whole cents", e.text, e.currency, err));
        return ErrorExpr(e.range);
      }
      return ConstExpr(Type::Money, Value::Int(*v), e.range);
    }
    case ast::ExprKind::StringLit: return ConstExpr(Type::String, Value::Str(e.text), e.range);
    case ast::ExprKind::BoolLit: return ConstExpr(Type::Bool, Value::Int(e.bool_value ? 1 : 0), e.range);
    case ast::ExprKind::DateLit: {
      auto v = stdlib::ParseDate(e.text, &err);
      if (!v) {
        Error(DiagKind::BadLiteral, e.range, fmt::format("the date {} {}", Q(e.text), err));
        return ErrorExpr(e.range);
      }
      return ConstExpr(Type::Date, Value::Int(*v), e.range);
    }
    case ast::ExprKind::TimeLit: {
      auto v = stdlib::ParseTime(e.text, &err);
      if (!v) {
        Error(DiagKind::BadLiteral, e.range, fmt::format("the time {} {}", Q(e.text), err));
        return ErrorExpr(e.range);
      }
      return ConstExpr(Type::Time, Value::Int(*v), e.range);
    }
    case ast::ExprKind::DurationLit: {
      if (e.duration && !e.duration->param.empty()) {
        // `n days` (C5): the int param's value times the unit, computed where it is read, so
        // an override applies.
        checked::ParamDuration ref;
        auto d = ResolveDuration(*e.duration, &ref);
        if (!d) return ErrorExpr(e.range);
        ast::Duration one = *d;
        one.count = 1;
        Expr n;
        n.kind = ExprKind::Param;
        n.type = Type::Int;
        n.index = ref.param;
        n.range = e.range;
        // Months and years are counted above stdlib::kMonthsTag, not multiplied out: `n months`
        // is the tag plus n (plus 12n for years). A count below 0 then reads as no month count
        // and fails where it is used, as an overflow of the time.
        const bool months = d->unit == ast::DurationUnit::Month || d->unit == ast::DurationUnit::Year;
        const int64_t per = !months ? *DurationMicros(one) : d->unit == ast::DurationUnit::Year ? 12 : 1;
        std::vector<Expr> args;
        args.push_back(std::move(n));
        args.push_back(ConstExpr(Type::Int, Value::Int(per), e.range));
        Expr product = MakeOp(OpCode::MulInt, months ? Type::Int : Type::Duration, e.range, std::move(args));
        if (!months) return product;
        std::vector<Expr> tagged;
        tagged.push_back(std::move(product));
        tagged.push_back(ConstExpr(Type::Int, Value::Int(stdlib::kMonthsTag), e.range));
        return MakeOp(OpCode::Add, Type::Duration, e.range, std::move(tagged));
      }
      if (!e.duration || e.duration->count <= 0) {
        Error(DiagKind::BadDuration, e.range, "a duration must be at least 1");
        return ErrorExpr(e.range);
      }
      auto micros = DurationMicros(*e.duration);
      if (!micros) {
        Error(DiagKind::BadDuration, e.range, kDurationTooLong);
        return ErrorExpr(e.range);
      }
      return ConstExpr(Type::Duration, Value::Int(*micros), e.range);
    }
    default: break;
  }
  (void)s;
  return ErrorExpr(e.range);
}

Expr Checker::CheckName(const ast::Expr& e, const Scope& s) {
  const Symbol* sym = Lookup(e.text);
  if (!sym) {
    Error(DiagKind::UnknownName, e.range,
          fmt::format("{} is not declared{}", Q(e.text),
                      DidYouMean(e.text, NamesOf([](SymKind k) { return k != SymKind::Rule && k != SymKind::Event; }))));
    return ErrorExpr(e.range);
  }
  Use(e.text);
  Expr x;
  x.range = e.range;
  x.index = sym->index;
  switch (sym->kind) {
    case SymKind::Event:
      Error(DiagKind::NotAValue, e.range,
            fmt::format("{} is an event, not a value; read one of its fields, like `{}.id`, or count it with `count({})`",
                        Q(e.text), e.text, e.text));
      return ErrorExpr(e.range);
    case SymKind::Rule:
      Error(DiagKind::NotAValue, e.range, fmt::format("{} is a rule, not a value", Q(e.text)));
      return ErrorExpr(e.range);
    case SymKind::Tier: return ConstExpr(Type::Tier, Value::Int(sym->index), e.range);
    case SymKind::Param:
      if (s.place == Place::ParamInit) {
        Error(DiagKind::NotConstant, e.range,
              fmt::format("a param's value must be a literal; it cannot use the param {}", Q(e.text)));
        return ErrorExpr(e.range);
      }
      if (sym->index >= static_cast<int>(prog_->params.size()) || prog_->params[sym->index].type == Type::Error)
        return ErrorExpr(e.range);
      x.kind = ExprKind::Param;
      x.type = prog_->params[sym->index].type;
      return x;
    case SymKind::Wallet:
      if (!NeedState(e, s, fmt::format("the wallet {}", Q(e.text)).c_str())) return ErrorExpr(e.range);
      x.kind = ExprKind::Wallet;
      x.type = prog_->wallets[sym->index].type;
      return x;
    case SymKind::Var:
      if (!NeedState(e, s, fmt::format("the var {}", Q(e.text)).c_str())) return ErrorExpr(e.range);
      x.kind = ExprKind::Var;
      x.type = prog_->vars[sym->index].type;
      return x;
    case SymKind::Segment:
      if (!NeedState(e, s, fmt::format("the segment {}", Q(e.text)).c_str())) return ErrorExpr(e.range);
      x.kind = ExprKind::Segment;
      x.type = Type::Bool;
      return x;
  }
  return ErrorExpr(e.range);
}

Expr Checker::CheckField(const ast::Expr& e, const Scope& s) {
  if (e.args.empty()) return ErrorExpr(e.range);
  const ast::Expr& base = *e.args[0];
  Expr x;
  x.range = e.range;
  if (base.kind == ast::ExprKind::ClientRef) {
    if (!NeedState(e, s, "a client attribute")) return ErrorExpr(e.range);
    x.kind = ExprKind::ClientField;
    if (e.text == "id") {
      x.index = checked::kClientId;
      x.type = Type::Client;
      return x;
    }
    if (e.text == "since") {
      x.index = checked::kClientSince;
      x.type = Type::Time;
      return x;
    }
    for (size_t k = 0; k < prog_->client_fields.size(); ++k) {
      if (prog_->client_fields[k].name == e.text) {
        x.index = static_cast<int>(k);
        x.type = prog_->client_fields[k].type;
        return x;
      }
    }
    std::vector<std::string> names{"id", "since"};
    for (const auto& f : ast_.client_fields) names.push_back(f.name);
    for (const auto& f : prog_->client_fields) names.push_back(f.name);
    Error(DiagKind::UnknownField, e.name_range,
          fmt::format("the client has no attribute {}{}; declare it in `client {{ ... }}`", Q(e.text),
                      DidYouMean(e.text, names)));
    return ErrorExpr(e.range);
  }
  if (base.kind == ast::ExprKind::Error) return ErrorExpr(e.range);
  if (base.kind != ast::ExprKind::Name) {
    Error(DiagKind::UnknownField, e.name_range, "only an event or `client` has fields");
    return ErrorExpr(e.range);
  }
  const Symbol* sym = Lookup(base.text);
  if (!sym || sym->kind != SymKind::Event) {
    if (sym) {
      Error(DiagKind::UnknownField, base.range, fmt::format("{} is not an event, so it has no fields", Q(base.text)));
    } else {
      Error(DiagKind::UnknownEvent, base.range,
            fmt::format("there is no event {}{}", Q(base.text),
                        DidYouMean(base.text, NamesOf([](SymKind k) { return k == SymKind::Event; }))));
    }
    return ErrorExpr(e.range);
  }
  Use(base.text);
  const int ev = sym->index;
  // Params are checked before events: a constant can never read an event anyway.
  if (IsConstantPlace(s.place)) {
    Error(DiagKind::NotConstant, e.range,
          fmt::format("this must be a constant known when the program loads, but {}.{} is a field of each event",
                      base.text, e.text));
    return ErrorExpr(e.range);
  }
  if (ev >= static_cast<int>(prog_->events.size())) return ErrorExpr(e.range);
  const checked::Event& event = prog_->events[ev];
  int field = 0;
  Type type = Type::Error;
  if (e.text == "id") {
    field = checked::kFieldId, type = Type::String;
  } else if (e.text == "client") {
    field = checked::kFieldClient, type = Type::Client;
  } else if (e.text == "time") {
    field = checked::kFieldTime, type = Type::Time;
  } else {
    field = -1;
    for (size_t k = 0; k < event.fields.size(); ++k)
      if (event.fields[k].name == e.text) field = static_cast<int>(k), type = event.fields[k].type;
    // A field whose declaration already got an error: its uses report nothing more.
    if (field >= 0 && type == Type::Error) return ErrorExpr(e.range);
    if (field < 0) {
      std::vector<std::string> names{"id", "client", "time"};
      for (const auto& f : event.fields) names.push_back(f.name);
      Error(DiagKind::UnknownField, e.name_range,
            fmt::format("the event {} has no field {}{}", Q(event.name), Q(e.text), DidYouMean(e.text, names)));
      return ErrorExpr(e.range);
    }
  }
  if (!((s.place == Place::RuleEvent || s.place == Place::AggFilter || s.place == Place::LimitKey ||
         s.place == Place::RevenueFilter) &&
        s.event == ev)) {
    std::string where;
    if (s.place == Place::RuleEvent || (s.place == Place::LimitKey && s.event >= 0))
      where = fmt::format("this rule runs `on {}`", prog_->events[s.event].name);
    else if (s.place == Place::AggFilter)
      where = fmt::format("this filter is over {} events", Q(prog_->events[s.event].name));
    else if (s.place == Place::RevenueFilter)
      where = fmt::format("this `revenue` is over {} events", Q(prog_->events[s.event].name));
    else if (s.place == Place::RuleDaily)
      where = "`every day` rules see no event";
    else if (s.place == Place::RuleSegment)
      where = "`on entering` and `on leaving` rules see no event";
    else if (s.place == Place::RuleTierChanged)
      where = "`on tier_changed` rules see no event";
    else if (s.place == Place::TierCond || s.place == Place::SegmentCond)
      where = "tier and segment conditions see no event";
    else if (s.place == Place::LimitKey)
      where = "this rule has no trigger event";
    else
      where = "constants cannot read events";
    Error(DiagKind::EventNotInScope, e.range,
          fmt::format("{}.{} can only be read in rules `on {}` or inside an aggregate like `count({} where ...)`; {}",
                      event.name, e.text, event.name, event.name, where));
    return ErrorExpr(e.range);
  }
  x.kind = ExprKind::EventField;
  x.index = field;
  x.type = type;
  return x;
}

Expr Checker::CheckUnary(const ast::Expr& e, const Scope& s) {
  Expr a = Check(*e.args[0], s);
  if (a.type == Type::Error) return ErrorExpr(e.range);
  std::vector<Expr> args;
  if (e.uop == ast::UnaryOp::Not) {
    if (a.type != Type::Bool) {
      Error(DiagKind::BadOperands, e.range, fmt::format("`not` needs a `bool`, found {}", QT(a.type)));
      return ErrorExpr(e.range);
    }
    args.push_back(std::move(a));
    return MakeOp(OpCode::Not, Type::Bool, e.range, std::move(args));
  }
  if (!IsNumeric(a.type)) {
    Error(DiagKind::BadOperands, e.range, fmt::format("`-` needs a number or money, found {}", QT(a.type)));
    return ErrorExpr(e.range);
  }
  Type t = a.type;
  args.push_back(std::move(a));
  return MakeOp(OpCode::Neg, t, e.range, std::move(args));
}

Expr Checker::CheckBinary(const ast::Expr& e, const Scope& s) {
  using B = ast::BinaryOp;
  Expr a = Check(*e.args[0], s);
  // The right of `and` runs only when the left is true, the right of `or` when it is false.
  const size_t known = known_set_.size();
  if (e.bop == B::And || e.bop == B::Or) LearnFacts(*e.args[0], e.bop == B::And);
  Expr b = Check(*e.args[1], s);
  known_set_.resize(known);
  if (a.type == Type::Error || b.type == Type::Error) return ErrorExpr(e.range);
  const B op = e.bop;
  auto pair = [&](Expr x, Expr y) {
    std::vector<Expr> v;
    v.push_back(std::move(x));
    v.push_back(std::move(y));
    return v;
  };
  const char* sym = "";
  switch (op) {
    case B::Add: sym = "+"; break;
    case B::Sub: sym = "-"; break;
    case B::Mul: sym = "*"; break;
    case B::Div: sym = "/"; break;
    case B::Mod: sym = "mod"; break;
    case B::Eq: sym = "=="; break;
    case B::Ne: sym = "!="; break;
    case B::Lt: sym = "<"; break;
    case B::Le: sym = "<="; break;
    case B::Gt: sym = ">"; break;
    case B::Ge: sym = ">="; break;
    case B::And: sym = "and"; break;
    case B::Or: sym = "or"; break;
  }
  auto money_hint = [&]() -> std::string {
    if ((a.type == Type::Money) != (b.type == Type::Money) && (IsNumeric(a.type) && IsNumeric(b.type)) &&
        !prog_->currency.empty())
      return fmt::format("; write the amount with its currency, e.g. `100 {}`", prog_->currency);
    return "";
  };
  auto bad = [&](const std::string& extra) {
    Error(DiagKind::BadOperands, e.range,
          fmt::format("`{}` cannot take {} and {}{}", sym, QT(a.type), QT(b.type), extra));
    return ErrorExpr(e.range);
  };
  if (a.type == Type::Duration || b.type == Type::Duration) {
    if (op == B::Add || op == B::Sub) {
      // [v0.2] Days and longer are calendar steps in the zone; in UTC a day or a week is an
      // exact length, so v0.1 programs keep their plain addition.
      const bool swapped = op == B::Add && a.type == Type::Duration && (b.type == Type::Time || b.type == Type::Date);
      const ast::Expr& dur_ast = swapped ? *e.args[0] : *e.args[1];
      if (swapped) std::swap(a, b);
      // The duration's value when it is known at load time (a literal or a param).
      std::optional<int64_t> value;
      if (b.kind == ExprKind::Const) value = b.value.i;
      if (b.kind == ExprKind::Param) value = prog_->params[b.index].value.i;
      // `n months` with an int param `n` (C5) is months too, though its value is only known
      // where it is read: it must step the calendar, never be added as microseconds.
      const bool counted_months = dur_ast.kind == ast::ExprKind::DurationLit && dur_ast.duration &&
                                  (dur_ast.duration->unit == ast::DurationUnit::Month ||
                                   dur_ast.duration->unit == ast::DurationUnit::Year);
      const bool months = (value && stdlib::IsMonths(*value)) || counted_months;
      // A literal steps the calendar by its unit as written; a param (another branch adds
      // duration params) when it is months or whole days, as `1 day` would.
      const bool calendar = dur_ast.kind == ast::ExprKind::DurationLit
                                ? IsCalendarDuration(dur_ast)
                                : value && (months || (*value != 0 && *value % stdlib::kMicrosPerDay == 0));
      if (a.type == Type::Time && b.type == Type::Duration) {
        if (calendar && (prog_->zone != stdlib::kUtcZone || months)) {
          std::vector<Expr> v = pair(std::move(a), std::move(b));
          v.push_back(ConstExpr(Type::Int, Value::Int(prog_->zone), e.range));
          return MakeOp(op == B::Add ? OpCode::AddTimeIn : OpCode::SubTimeIn, Type::Time, e.range, std::move(v));
        }
        return MakeOp(op == B::Add ? OpCode::AddTime : OpCode::SubTime, Type::Time, e.range, pair(std::move(a), std::move(b)));
      }
      if (a.type == Type::Date && b.type == Type::Duration) {
        if (!calendar) {
          Error(DiagKind::BadWindowUnit, e.range,
                "a date moves by whole days, weeks, months or years, not minutes or hours; add those to a time");
          return ErrorExpr(e.range);
        }
        return MakeOp(op == B::Add ? OpCode::AddDate : OpCode::SubDate, Type::Date, e.range, pair(std::move(a), std::move(b)));
      }
    }
    Error(DiagKind::DurationMisuse, e.range,
          "a duration can only be added to or subtracted from a time or a date (`now - 30 days`), or used in `within` and `hold`");
    return ErrorExpr(e.range);
  }
  switch (op) {
    case B::And:
    case B::Or: {
      if (a.type != Type::Bool || b.type != Type::Bool) return bad("; both sides must be `bool`");
      Expr x;
      x.kind = op == B::And ? ExprKind::And : ExprKind::Or;
      x.type = Type::Bool;
      x.range = e.range;
      x.args = pair(std::move(a), std::move(b));
      if (x.args[0].kind == ExprKind::Const && x.args[1].kind == ExprKind::Const) {
        bool r = op == B::And ? (x.args[0].value.i && x.args[1].value.i) : (x.args[0].value.i || x.args[1].value.i);
        return ConstExpr(Type::Bool, Value::Int(r), e.range);
      }
      return x;
    }
    case B::Add:
    case B::Sub: {
      OpCode code = op == B::Add ? OpCode::Add : OpCode::Sub;
      if (IsNumeric(a.type) && IsNumeric(b.type) && Unify(a, b)) {
        Type t = a.type;
        return MakeOp(code, t, e.range, pair(std::move(a), std::move(b)));
      }
      if (a.type == Type::Time && b.type == Type::Time && op == B::Sub)
        return bad("; use `days_between(a, b)` to count days between times");
      return bad(money_hint());
    }
    case B::Mul: {
      if (a.type == Type::Money && b.type == Type::Money)
        return bad("; multiply money by a number or a percentage, e.g. `deposit.amount * 10%`");
      if (a.type == Type::Money && b.type == Type::Int) return MakeOp(OpCode::MulMoneyInt, Type::Money, e.range, pair(std::move(a), std::move(b)));
      if (a.type == Type::Int && b.type == Type::Money) return MakeOp(OpCode::MulMoneyInt, Type::Money, e.range, pair(std::move(b), std::move(a)));
      if (a.type == Type::Money && b.type == Type::Decimal) return MakeOp(OpCode::MulMoneyDec, Type::Money, e.range, pair(std::move(a), std::move(b)));
      if (a.type == Type::Decimal && b.type == Type::Money) return MakeOp(OpCode::MulMoneyDec, Type::Money, e.range, pair(std::move(b), std::move(a)));
      if (a.type == Type::Int && b.type == Type::Int) return MakeOp(OpCode::MulInt, Type::Int, e.range, pair(std::move(a), std::move(b)));
      if (IsNumeric(a.type) && IsNumeric(b.type) && Unify(a, b)) return MakeOp(OpCode::MulDec, Type::Decimal, e.range, pair(std::move(a), std::move(b)));
      return bad("");
    }
    case B::Div: {
      if (a.type == Type::Money && b.type == Type::Money) return MakeOp(OpCode::DivMoneyMoney, Type::Decimal, e.range, pair(std::move(a), std::move(b)));
      if (a.type == Type::Money && b.type == Type::Int) return MakeOp(OpCode::DivMoneyInt, Type::Money, e.range, pair(std::move(a), std::move(b)));
      if (a.type == Type::Money && b.type == Type::Decimal) return MakeOp(OpCode::DivMoneyDec, Type::Money, e.range, pair(std::move(a), std::move(b)));
      if (a.type == Type::Int && b.type == Type::Int) return MakeOp(OpCode::DivInt, Type::Decimal, e.range, pair(std::move(a), std::move(b)));
      if (a.type != Type::Money && b.type != Type::Money && IsNumeric(a.type) && IsNumeric(b.type) && Unify(a, b))
        return MakeOp(OpCode::DivDec, Type::Decimal, e.range, pair(std::move(a), std::move(b)));
      if (b.type == Type::Money && IsNumeric(a.type)) return bad("; only money can be divided by money");
      return bad("");
    }
    case B::Mod:
      if (a.type == Type::Int && b.type == Type::Int) return MakeOp(OpCode::ModInt, Type::Int, e.range, pair(std::move(a), std::move(b)));
      return bad("; `mod` takes two `int`s");
    case B::Eq:
    case B::Ne:
    case B::Lt:
    case B::Le:
    case B::Gt:
    case B::Ge: {
      static const OpCode kInt[] = {OpCode::Eq, OpCode::Ne, OpCode::Lt, OpCode::Le, OpCode::Gt, OpCode::Ge};
      static const OpCode kStr[] = {OpCode::EqStr, OpCode::NeStr, OpCode::LtStr, OpCode::LeStr, OpCode::GtStr, OpCode::GeStr};
      int k = static_cast<int>(op) - static_cast<int>(B::Eq);
      // int against decimal compares exactly: widening the int would overflow past about 9.2e12
      // (decimal's range) and turn a plain comparison into a runtime error. The sign of their
      // difference is compared with 0 instead, the int side always first.
      if ((a.type == Type::Int && b.type == Type::Decimal) || (a.type == Type::Decimal && b.type == Type::Int)) {
        const bool int_first = a.type == Type::Int;
        Expr cmp = int_first ? MakeOp(OpCode::CmpIntDec, Type::Int, e.range, pair(std::move(a), std::move(b)))
                             : MakeOp(OpCode::CmpIntDec, Type::Int, e.range, pair(std::move(b), std::move(a)));
        Expr zero = ConstExpr(Type::Int, Value::Int(0), e.range);
        return int_first ? MakeOp(kInt[k], Type::Bool, e.range, pair(std::move(cmp), std::move(zero)))
                         : MakeOp(kInt[k], Type::Bool, e.range, pair(std::move(zero), std::move(cmp)));
      }
      if (IsNumeric(a.type) && IsNumeric(b.type)) Unify(a, b);
      // [v0.2] A client compares with a client or a string as its id (ordered like strings, as
      // v0.1's string-typed `client.id` was).
      if (IsText(a.type) && IsText(b.type) && (a.type == Type::Client || b.type == Type::Client)) {
        a = AsText(std::move(a));
        b = AsText(std::move(b));
      }
      if (a.type != b.type) {
        Error(DiagKind::BadComparison, e.range,
              fmt::format("cannot compare {} with {}{}", QT(a.type), QT(b.type), money_hint()));
        return ErrorExpr(e.range);
      }
      const bool equality = op == B::Eq || op == B::Ne;
      if (!equality && !IsOrdered(a.type) && a.type != Type::String) {
        Error(DiagKind::BadComparison, e.range, fmt::format("{} values have no order; use `==` or `!=`", QT(a.type)));
        return ErrorExpr(e.range);
      }
      return MakeOp(a.type == Type::String ? kStr[k] : kInt[k], Type::Bool, e.range, pair(std::move(a), std::move(b)));
    }
  }
  return ErrorExpr(e.range);
}

Expr Checker::CheckIn(const ast::Expr& e, const Scope& s) {
  Expr x = Check(*e.args[0], s);
  std::vector<Expr> items;
  bool ok = x.type != Type::Error;
  for (size_t k = 1; k < e.args.size(); ++k) {
    Expr it = Check(*e.args[k], Scope{IsConstantPlace(s.place) ? s.place : Place::Constant});
    if (it.type == Type::Error) {
      ok = false;
      continue;
    }
    if (!IsFoldable(it)) {
      Error(DiagKind::NotConstant, e.args[k]->range, "the list after `in` holds constants only: literals and params");
      ok = false;
      continue;
    }
    items.push_back(std::move(it));
  }
  if (!ok) return ErrorExpr(e.range);
  if (x.type == Type::Duration) {
    Error(DiagKind::DurationMisuse, e.range, "durations cannot be compared");
    return ErrorExpr(e.range);
  }
  // The list holds values of x's type (spec §2); int items widen to a decimal x at check
  // time, but an int x is never widened to meet decimal items.
  Expr r;
  r.kind = ExprKind::In;
  r.type = Type::Bool;
  r.range = e.range;
  // [v0.2] A client is in a list of ids.
  if (x.type == Type::Client && !items.empty() && items[0].type == Type::String) x = AsText(std::move(x));
  r.args.push_back(std::move(x));
  for (auto& it : items) {
    if (it.type == Type::Int && r.args[0].type == Type::Decimal) it = Widen(std::move(it));
    if (it.type != r.args[0].type) {
      Error(DiagKind::TypeMismatch, it.range,
            fmt::format("the list after `in` must hold {} values like the left side, found {}", QT(r.args[0].type), QT(it.type)));
      return ErrorExpr(e.range);
    }
    r.args.push_back(std::move(it));
  }
  return r;
}

Expr Checker::CheckIf(const ast::Expr& e, const Scope& s) {
  Expr c = Check(*e.args[0], s);
  const size_t known = known_set_.size();
  LearnFacts(*e.args[0], true);
  Expr a = Check(*e.args[1], s);
  known_set_.resize(known);
  LearnFacts(*e.args[0], false);
  Expr b = Check(*e.args[2], s);
  known_set_.resize(known);
  if (c.type == Type::Error || a.type == Type::Error || b.type == Type::Error) return ErrorExpr(e.range);
  if (c.type != Type::Bool) {
    Error(DiagKind::TypeMismatch, e.args[0]->range, fmt::format("the condition of `if` needs a `bool`, found {}", QT(c.type)));
    return ErrorExpr(e.range);
  }
  if (IsNumeric(a.type) && IsNumeric(b.type)) Unify(a, b);
  // [v0.2] A client and a string meet as a string (`if k then e.client else e.id`).
  if (IsText(a.type) && IsText(b.type) && a.type != b.type) a = AsText(std::move(a)), b = AsText(std::move(b));
  if (a.type != b.type || a.type == Type::Duration) {
    Error(DiagKind::BranchMismatch, e.range,
          fmt::format("the branches of `if` must have one type, found {} and {}", QT(a.type), QT(b.type)));
    return ErrorExpr(e.range);
  }
  if (c.kind == ExprKind::Const) return c.value.i ? std::move(a) : std::move(b);
  return IfNode(std::move(c), std::move(a), std::move(b), e.range);
}

int Checker::OptionalAttrOf(const ast::Expr& e) const {
  if (e.kind != ast::ExprKind::Field || e.args.empty() || e.args[0]->kind != ast::ExprKind::ClientRef) return -1;
  for (size_t k = 0; k < prog_->client_fields.size(); ++k) {
    const checked::Field& f = prog_->client_fields[k];
    if (f.name == e.text) return f.has_default || f.type == Type::Error ? -1 : static_cast<int>(k);
  }
  return -1;
}

void Checker::LearnFacts(const ast::Expr& cond, bool when_true) {
  switch (cond.kind) {
    case ast::ExprKind::IsSet:
      // `x is set` true, or `x is not set` false: x is set.
      if (cond.bool_value != when_true && !cond.args.empty()) {
        int k = OptionalAttrOf(*cond.args[0]);
        if (k >= 0) known_set_.push_back(k);
      }
      return;
    case ast::ExprKind::Unary:
      if (cond.uop == ast::UnaryOp::Not && !cond.args.empty()) LearnFacts(*cond.args[0], !when_true);
      return;
    case ast::ExprKind::Binary:
      // Both operands of a true `and` are true; both of a false `or` are false.
      if ((cond.bop == ast::BinaryOp::And && when_true) || (cond.bop == ast::BinaryOp::Or && !when_true)) {
        for (const auto& a : cond.args) LearnFacts(*a, when_true);
      }
      return;
    default: return;
  }
}

// `x is set`, `x is not set` (spec §2): a test of an optional client attribute; anything
// else is always set, so the test is a constant.
Expr Checker::CheckIsSet(const ast::Expr& e, const Scope& s) {
  if (e.args.empty()) return ErrorExpr(e.range);
  optional_ok_ = true;
  Expr x = Check(*e.args[0], s);
  optional_ok_ = false;
  if (x.type == Type::Error) return ErrorExpr(e.range);
  const bool negated = e.bool_value;
  const int k = OptionalAttrOf(*e.args[0]);
  if (k < 0) return ConstExpr(Type::Bool, Value::Int(negated ? 0 : 1), e.range);
  Expr r;
  r.kind = ExprKind::AttrSet;
  r.type = Type::Bool;
  r.index = k;
  r.range = e.range;
  if (!negated) return r;
  std::vector<Expr> args;
  args.push_back(std::move(r));
  return MakeOp(OpCode::Not, Type::Bool, e.range, std::move(args));
}

// `x otherwise y` (spec §2): x when it is set, else y, of one type; lowered to
// `if x is set then x else y`.
Expr Checker::CheckOtherwise(const ast::Expr& e, const Scope& s) {
  if (e.args.size() != 2) return ErrorExpr(e.range);
  optional_ok_ = true;
  Expr a = Check(*e.args[0], s);
  optional_ok_ = false;
  Expr b = Check(*e.args[1], s);
  if (a.type == Type::Error || b.type == Type::Error) return ErrorExpr(e.range);
  if (IsNumeric(a.type) && IsNumeric(b.type)) Unify(a, b);
  if (IsText(a.type) && IsText(b.type) && a.type != b.type) a = AsText(std::move(a)), b = AsText(std::move(b));
  if (a.type != b.type || a.type == Type::Duration) {
    Error(DiagKind::BranchMismatch, e.range,
          fmt::format("both sides of `otherwise` must have one type, found {} and {}", QT(a.type), QT(b.type)));
    return ErrorExpr(e.range);
  }
  const int k = OptionalAttrOf(*e.args[0]);
  if (k < 0) return a;
  Expr set;
  set.kind = ExprKind::AttrSet;
  set.type = Type::Bool;
  set.index = k;
  set.range = e.args[0]->range;
  return IfNode(std::move(set), std::move(a), std::move(b), e.range);
}

// [v0.2] `pending(W)`: what wallet W has pending, of W's type (spec §2); W must name a wallet.
Expr Checker::CheckPending(const ast::Expr& e, const Scope& s) {
  const ast::Expr* arg = e.args.size() == 1 ? e.args[0].get() : nullptr;
  const Symbol* sym = arg && arg->kind == ast::ExprKind::Name ? Lookup(arg->text) : nullptr;
  if (!sym || sym->kind != SymKind::Wallet) {
    auto wallets = NamesOf([](SymKind k) { return k == SymKind::Wallet; });
    std::string hint = arg && arg->kind == ast::ExprKind::Name && !sym ? DidYouMean(arg->text, wallets) : "";
    Error(DiagKind::PendingNotWallet, arg ? arg->range : e.range,
          fmt::format("`pending` takes the name of one wallet, as in `pending({})`{}{}",
                      wallets.empty() ? std::string("points") : wallets.front(),
                      arg && arg->kind == ast::ExprKind::Name ? fmt::format(", and {} is {}", Q(arg->text), sym ? "not a wallet" : "not declared") : "",
                      hint));
    return ErrorExpr(e.range);
  }
  if (!NeedState(e, s, fmt::format("the pending credits of {}", Q(arg->text)).c_str())) return ErrorExpr(e.range);
  Use(arg->text);
  Expr x;
  x.kind = ExprKind::Pending;
  x.type = prog_->wallets[sym->index].type;
  x.index = sym->index;
  x.range = e.range;
  return x;
}

Expr Checker::CheckCall(const ast::Expr& e, const Scope& s) {
  static const std::vector<std::string> kBuiltins = {
#define PERK_BUILTIN(name, signature, description) #name,
#include "stdlib/builtins.def"
#undef PERK_BUILTIN
  };
  const std::string& f = e.text;
  if (f == "pending") return CheckPending(e, s);
  if (std::find(kBuiltins.begin(), kBuiltins.end(), f) == kBuiltins.end()) {
    Error(DiagKind::UnknownFunction, e.name_range,
          fmt::format("there is no function {}{}", Q(f), DidYouMean(f, kBuiltins)));
    return ErrorExpr(e.range);
  }
  std::vector<Expr> args;
  bool ok = true;
  for (const auto& a : e.args) {
    args.push_back(Check(*a, s));
    ok &= args.back().type != Type::Error;
  }
  if (!ok) return ErrorExpr(e.range);
  auto arity = [&](size_t n) {
    if (args.size() == n) return true;
    Error(DiagKind::BadArguments, e.range, fmt::format("{} takes {} argument{}, found {}", Q(f), n, n == 1 ? "" : "s", args.size()));
    return false;
  };
  auto want = [&](size_t k, std::initializer_list<Type> types, const char* what) {
    for (Type t : types) {
      // [v0.2] A client reads as its id where a string is wanted (`starts_with(client.id, "vip")`).
      if (t == Type::String && args[k].type == Type::Client) args[k] = AsText(std::move(args[k]));
      if (args[k].type == t) return true;
    }
    Error(DiagKind::BadArguments, args[k].range, fmt::format("{} takes {}, found {}", Q(f), what, QT(args[k].type)));
    return false;
  };
  // The date of a time in the program's zone (v0.1's UTC op when the zone is UTC).
  auto in_zone = [&](OpCode op, Type type, Expr x) {
    SourceRange r = x.range;
    std::vector<Expr> v;
    v.push_back(std::move(x));
    v.push_back(ConstExpr(Type::Int, Value::Int(prog_->zone), r));
    return MakeOp(op, type, r, std::move(v));
  };
  auto to_date = [&](Expr x) {
    if (x.type != Type::Time) return x;
    if (prog_->zone != stdlib::kUtcZone) return in_zone(OpCode::DateIn, Type::Date, std::move(x));
    SourceRange r = x.range;
    std::vector<Expr> v;
    v.push_back(std::move(x));
    return MakeOp(OpCode::DateOf, Type::Date, r, std::move(v));
  };
  // [v0.2] Calendar functions of a date or a time, in the program's zone.
  if (f == "year" || f == "month" || f == "day" || f == "weekday") {
    if (!arity(1) || !want(0, {Type::Time, Type::Date}, "a date or a time")) return ErrorExpr(e.range);
    const OpCode op = f == "year" ? OpCode::YearOf : f == "month" ? OpCode::MonthOf : f == "day" ? OpCode::DayOf : OpCode::WeekdayOf;
    std::vector<Expr> v;
    v.push_back(to_date(std::move(args[0])));
    return MakeOp(op, Type::Int, e.range, std::move(v));
  }
  if (f == "hour" || f == "minute") {
    if (!arity(1) || !want(0, {Type::Time}, "a time")) return ErrorExpr(e.range);
    Expr x = in_zone(f == "hour" ? OpCode::HourIn : OpCode::MinuteIn, Type::Int, std::move(args[0]));
    x.range = e.range;
    return x;
  }
  if (f == "min" || f == "max") {
    if (args.size() < 2) {
      Error(DiagKind::BadArguments, e.range, fmt::format("{} takes at least 2 arguments, found {}", Q(f), args.size()));
      return ErrorExpr(e.range);
    }
    bool any_decimal = std::any_of(args.begin(), args.end(), [](const Expr& a) { return a.type == Type::Decimal; });
    for (auto& a : args)
      if (any_decimal && a.type == Type::Int) a = Widen(std::move(a));
    for (const auto& a : args)
      if (a.type == Type::Error) return ErrorExpr(e.range);  // reported already
    Type t = args[0].type;
    for (const auto& a : args) {
      if (a.type != t || !IsOrdered(t)) {
        Error(DiagKind::BadArguments, e.range,
              fmt::format("{} takes values of one ordered type (numbers, money, times, dates, tiers), found {} and {}", Q(f),
                          QT(t), QT(a.type)));
        return ErrorExpr(e.range);
      }
    }
    Expr acc = std::move(args[0]);
    for (size_t k = 1; k < args.size(); ++k) {
      std::vector<Expr> v;
      v.push_back(std::move(acc));
      v.push_back(std::move(args[k]));
      acc = MakeOp(f == "min" ? OpCode::Min : OpCode::Max, t, e.range, std::move(v));
    }
    acc.range = e.range;
    return acc;
  }
  if (f == "abs") {
    if (!arity(1) || !want(0, {Type::Int, Type::Decimal, Type::Money}, "a number or money")) return ErrorExpr(e.range);
    Type t = args[0].type;
    return MakeOp(OpCode::Abs, t, e.range, std::move(args));
  }
  if (f == "floor" || f == "ceil" || f == "round") {
    if (!arity(1) || !want(0, {Type::Int, Type::Decimal, Type::Money}, "a decimal or money")) return ErrorExpr(e.range);
    if (args[0].type == Type::Int) return std::move(args[0]);
    bool money = args[0].type == Type::Money;
    OpCode op = f == "floor" ? (money ? OpCode::FloorMoney : OpCode::FloorDec)
                : f == "ceil" ? (money ? OpCode::CeilMoney : OpCode::CeilDec)
                              : (money ? OpCode::RoundMoney : OpCode::RoundDec);
    return MakeOp(op, money ? Type::Money : Type::Int, e.range, std::move(args));
  }
  if (f == "date") {
    if (!arity(1) || !want(0, {Type::Time, Type::Date}, "a time")) return ErrorExpr(e.range);
    return to_date(std::move(args[0]));
  }
  if (f == "days_between") {
    if (!arity(2) || !want(0, {Type::Time, Type::Date}, "dates or times") || !want(1, {Type::Time, Type::Date}, "dates or times"))
      return ErrorExpr(e.range);
    std::vector<Expr> v;
    v.push_back(to_date(std::move(args[0])));
    v.push_back(to_date(std::move(args[1])));
    return MakeOp(OpCode::DaysBetween, Type::Int, e.range, std::move(v));
  }
  if (f == "years_between") {
    if (!arity(2) || !want(0, {Type::Time, Type::Date}, "dates or times") || !want(1, {Type::Time, Type::Date}, "dates or times"))
      return ErrorExpr(e.range);
    std::vector<Expr> v;
    v.push_back(to_date(std::move(args[0])));
    v.push_back(to_date(std::move(args[1])));
    return MakeOp(OpCode::YearsBetween, Type::Int, e.range, std::move(v));
  }
  if (f == "anniversary") {
    if (!arity(1) || !want(0, {Type::Time, Type::Date}, "a date")) return ErrorExpr(e.range);
    if (!NeedState(e, s, "`anniversary` (it depends on today)")) return ErrorExpr(e.range);
    Expr today;
    today.kind = ExprKind::Today;
    today.type = Type::Date;
    today.range = e.range;
    std::vector<Expr> v;
    v.push_back(to_date(std::move(args[0])));
    v.push_back(std::move(today));
    return MakeOp(OpCode::Anniversary, Type::Bool, e.range, std::move(v));
  }
  if (f == "has_badge") {
    if (!arity(1) || !want(0, {Type::String}, "a badge name (a string)")) return ErrorExpr(e.range);
    if (!NeedState(e, s, "the client's badges")) return ErrorExpr(e.range);
    Expr x;
    x.kind = ExprKind::HasBadge;
    x.type = Type::Bool;
    x.range = e.range;
    x.args = std::move(args);
    return x;
  }
  if (f == "lower" || f == "upper") {
    if (!arity(1) || !want(0, {Type::String}, "a string")) return ErrorExpr(e.range);
    return MakeOp(f == "lower" ? OpCode::Lower : OpCode::Upper, Type::String, e.range, std::move(args));
  }
  // starts_with, contains
  if (!arity(2) || !want(0, {Type::String}, "strings") || !want(1, {Type::String}, "strings")) return ErrorExpr(e.range);
  return MakeOp(f == "starts_with" ? OpCode::StartsWith : OpCode::Contains, Type::Bool, e.range, std::move(args));
}

Expr Checker::CheckAggregate(const ast::Expr& e, const Scope& s) {
  static const char* kNames[] = {"count", "sum", "avg", "highest", "lowest"};
  const char* agg_name = kNames[static_cast<int>(e.agg)];
  if (s.place == Place::AggFilter) {
    Error(DiagKind::FilterReadsState, e.range, "an aggregate's `where` cannot contain another aggregate");
    return ErrorExpr(e.range);
  }
  if (s.place == Place::RevenueFilter) {
    Error(DiagKind::FilterReadsState, e.range,
          fmt::format("a `revenue` declaration's `where` may read only the event's fields, params and constants, not "
                      "`{}`, which depends on the client's history",
                      agg_name));
    return ErrorExpr(e.range);
  }
  if (s.place == Place::LimitKey) {
    Error(DiagKind::LimitKeyReadsState, e.range,
          fmt::format("a limit's key may read only the trigger event's fields, params and constants, not `{}`, "
                      "which depends on the client's history",
                      agg_name));
    return ErrorExpr(e.range);
  }
  if (IsConstantPlace(s.place)) {
    Error(DiagKind::NotConstant, e.range, fmt::format("this must be a constant, but `{}` depends on the client's history", agg_name));
    return ErrorExpr(e.range);
  }
  const Symbol* sym = Lookup(e.text);
  if (!sym || sym->kind != SymKind::Event) {
    Error(DiagKind::UnknownEvent, e.name_range,
          fmt::format("`{}` needs an event type, and there is no event {}{}", agg_name, Q(e.text),
                      DidYouMean(e.text, NamesOf([](SymKind k) { return k == SymKind::Event; }))));
    return ErrorExpr(e.range);
  }
  Use(e.text);
  const int ev = sym->index;
  if (ev >= static_cast<int>(prog_->events.size())) return ErrorExpr(e.range);
  const checked::Event& event = prog_->events[ev];
  int field = -1;
  Type ftype = Type::Int;
  if (e.agg == ast::AggKind::Count) {
    if (!e.field.empty()) {
      Error(DiagKind::BadAggregate, e.field_range,
            fmt::format("`count` counts events: write `count({})`, or `sum({}.{})` to add up a field", e.text, e.text, e.field));
      return ErrorExpr(e.range);
    }
  } else {
    if (e.field.empty()) {
      Error(DiagKind::BadAggregate, e.name_range,
            fmt::format("`{}` needs a numeric field, like `{}({}.amount)`", agg_name, agg_name, e.text));
      return ErrorExpr(e.range);
    }
    for (size_t k = 0; k < event.fields.size(); ++k)
      if (event.fields[k].name == e.field) field = static_cast<int>(k), ftype = event.fields[k].type;
    if (field < 0) {
      std::vector<std::string> names;
      for (const auto& f : event.fields) names.push_back(f.name);
      Error(DiagKind::UnknownField, e.field_range,
            fmt::format("the event {} has no field {}{}", Q(event.name), Q(e.field), DidYouMean(e.field, names)));
      return ErrorExpr(e.range);
    }
    if (ftype == Type::Error) return ErrorExpr(e.range);  // its declaration got the error
    if (!IsNumeric(ftype)) {
      Error(DiagKind::BadAggregate, e.field_range,
            fmt::format("`{}` needs a numeric field (`int`, `decimal` or `money`), but {}.{} is {}", agg_name, event.name,
                        e.field, QT(ftype)));
      return ErrorExpr(e.range);
    }
  }
  std::optional<Expr> where;
  if (e.where) {
    Expr w = CheckAs(*e.where, Scope{Place::AggFilter, ev}, Type::Bool, "`where`");
    if (w.type == Type::Error) return ErrorExpr(e.range);
    if (w.kind == ExprKind::Const && w.value.i == 1) {
      // `where true` filters nothing.
    } else {
      where = std::move(w);
    }
  }
  Window window;
  if (e.within) {
    auto w = CheckWindow(*e.within);
    if (!w) return ErrorExpr(e.range);
    window = *w;
    NoteParamDuration(checked::ParamDuration::Target::AggWindow, prog_->aggregates.size());
  }
  // Share one slot between aggregates over the same events, field, filter and bucket unit.
  std::string key = fmt::format("{}|{}|{}|", ev, field, static_cast<int>(window.unit));
  if (where) KeyOf(*where, key);
  int slot;
  auto it = slot_keys_.find(key);
  if (it != slot_keys_.end()) {
    slot = it->second;
  } else {
    slot = static_cast<int>(prog_->agg_slots.size());
    checked::AggSlot st;
    st.event = ev;
    st.field = field;
    st.field_type = ftype;
    st.where = std::move(where);
    st.unit = window.unit;
    prog_->agg_slots.push_back(std::move(st));
    prog_->events[ev].agg_slots.push_back(slot);
    slot_keys_.emplace(key, slot);
  }
  auto& st = prog_->agg_slots[slot];
  // A `previous` window ends one bucket before the current one, so it reaches one further back.
  st.max_count = std::max(st.max_count, window.count + (window.previous ? 1 : 0));
  checked::AggUse use;
  use.slot = slot;
  use.kind = static_cast<checked::AggKind>(e.agg);
  use.window = window;
  switch (e.agg) {
    case ast::AggKind::Count: use.type = Type::Int; break;
    case ast::AggKind::Avg: use.type = ftype == Type::Int ? Type::Decimal : ftype; break;
    default: use.type = ftype; break;
  }
  Expr x;
  x.kind = ExprKind::Aggregate;
  x.index = static_cast<int>(prog_->aggregates.size());
  x.type = use.type;
  x.range = e.range;
  prog_->aggregates.push_back(use);
  return x;
}

// ---- declarations ----

void Checker::CheckHeader() {
  prog_->name = ast_.name;
  if (ast_.currency) {
    const std::string& c = *ast_.currency;
    bool ok = c.size() == 3 && std::all_of(c.begin(), c.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
    if (!ok) {
      Error(DiagKind::BadCurrencyCode, ast_.currency_range,
            fmt::format("{} is not a currency code; use three capital letters, like `USD` or `EUR`", Q(c)));
    }
    prog_->currency = c;
  }
  if (ast_.timezone) {
    const int32_t zone = stdlib::LoadZone(*ast_.timezone);
    if (zone < 0) {
      Error(DiagKind::UnknownTimezone, ast_.timezone_range,
            fmt::format("{} is not a time zone this machine knows; write an IANA name like `\"Europe/Berlin\"` or "
                        "`\"America/New_York\"`, or leave out `timezone` for UTC{}",
                        Q(*ast_.timezone), DidYouMean(*ast_.timezone, stdlib::ListedZoneNames())));
    } else {
      prog_->zone = zone;
      prog_->timezone = *ast_.timezone;
    }
  }
}

void Checker::DeclareAll() {
  for (size_t k = 0; k < ast_.events.size(); ++k) {
    const ast::EventDecl& ev = ast_.events[k];
    // Input records of these types are profiles and ticks (spec §4): such an event could
    // never arrive, and its rules would never run.
    if (ev.name == "profile" || ev.name == "tick" || ev.name == "reversal")
      Error(DiagKind::ReservedEvent, ev.range,
            fmt::format("records of type {} are {}, never events; choose another name for this event", Q(ev.name),
                        ev.name == "profile" ? "client profiles"
                        : ev.name == "tick"  ? "clock ticks"
                                             : "reversals of earlier events"));
    Declare(ev.name, SymKind::Event, k, ev.range);
  }
  for (size_t k = 0; k < ast_.wallets.size(); ++k) Declare(ast_.wallets[k].name, SymKind::Wallet, k, ast_.wallets[k].range);
  for (size_t k = 0; k < ast_.vars.size(); ++k) Declare(ast_.vars[k].name, SymKind::Var, k, ast_.vars[k].range);
  for (size_t k = 0; k < ast_.params.size(); ++k) Declare(ast_.params[k].name, SymKind::Param, k, ast_.params[k].range);
  for (size_t k = 0; k < ast_.tiers.size(); ++k) Declare(ast_.tiers[k].name, SymKind::Tier, k, ast_.tiers[k].range);
  for (size_t k = 0; k < ast_.segments.size(); ++k) Declare(ast_.segments[k].name, SymKind::Segment, k, ast_.segments[k].range);
  for (size_t k = 0; k < ast_.rules.size(); ++k) Declare(ast_.rules[k].name, SymKind::Rule, k, ast_.rules[k].range);
}

void Checker::CheckParams() {
  for (const auto& p : ast_.params) {
    checked::Param out;
    out.name = p.name;
    out.type = Type::Error;
    // The form --param overrides are read in (C5): a percentage, or a duration's unit.
    const ast::Expr* lit = p.value.get();
    if (lit->kind == ast::ExprKind::Unary && lit->uop == ast::UnaryOp::Neg && !lit->args.empty()) lit = lit->args[0].get();
    out.percent = lit->kind == ast::ExprKind::PercentLit;
    if (p.type) {
      Type want = FromTypeName(p.type->name);
      if (want == Type::Money) RequireMoney(p.type->range);
      if (want == Type::Tier || want == Type::Client) {
        Error(DiagKind::BadFieldType, p.type->range, fmt::format("a param cannot be a {}", TypeName(want)));
        want = Type::Error;
      }
      if (want != Type::Error) {
        auto v = CheckConstant(*p.value, Place::ParamInit, want, fmt::format("the param {}", Q(p.name)), nullptr);
        if (v) out.type = want, out.value = *v;
      }
    } else {
      Expr x = Check(*p.value, Scope{Place::ParamInit});
      if (x.type == Type::Duration) {
        if (p.value->kind != ast::ExprKind::DurationLit || !p.value->duration || !p.value->duration->param.empty()) {
          Error(DiagKind::DurationMisuse, p.value->range, "a duration param is a duration literal, like `param inactive = 60 days`");
        } else {
          const ast::Duration& d = *p.value->duration;
          out.type = Type::Duration;
          out.value = x.value;
          out.duration.unit = WindowUnitOf(d.unit);
          out.duration.count = d.unit == ast::DurationUnit::Week ? d.count * 7 : d.count;
        }
      } else if (x.type == Type::Tier) {
        Error(DiagKind::BadFieldType, p.value->range, "a param cannot be a tier");
      } else if (x.type != Type::Error) {
        PerkStatus st = PERK_OK;
        auto v = IsFoldable(x) ? FoldConstant(x, prog_->params, &st) : std::nullopt;
        if (v) {
          out.type = x.type;
          out.value = *v;
        } else {
          Error(DiagKind::NotConstant, p.value->range, fmt::format("the param {} must be a constant", Q(p.name)));
        }
      }
    }
    prog_->params.push_back(std::move(out));
  }
}

void Checker::CheckFields(const std::vector<ast::FieldDecl>& decls, bool client, std::vector<checked::Field>* out) {
  std::map<std::string, SourceRange> seen;
  for (const auto& f : decls) {
    static const std::set<std::string> kEventReserved = {"id", "client", "time", "type"};
    static const std::set<std::string> kClientReserved = {"id", "since", "client", "time", "type"};
    const auto& reserved = client ? kClientReserved : kEventReserved;
    checked::Field cf;
    cf.name = f.name;
    cf.type = FromTypeName(f.type.name);
    if (reserved.count(f.name)) {
      Error(DiagKind::ReservedField, f.range,
            fmt::format("{} is built in{}; choose another name", Q(f.name),
                        client ? " (`client.id` and `client.since` always exist)" : " (every event has `id`, `client` and `time`)"));
      cf.type = Type::Error;
    } else if (auto [it, ok] = seen.emplace(f.name, f.range); !ok) {
      Error(DiagKind::DuplicateField, f.range, fmt::format("the field {} is declared twice", Q(f.name)));
      diags_.Note(it->second, "first declared here");
      continue;
    }
    if (cf.type == Type::Tier) {
      Error(DiagKind::BadFieldType, f.type.range, "a field cannot be a tier; records carry int, decimal, money, bool, string, time or date");
      cf.type = Type::Error;
    }
    if (cf.type == Type::Money) RequireMoney(f.type.range);
    if (f.default_value && cf.type != Type::Error) {
      // [v0.2] A client's default is its id, a non-empty string constant (`house: client = "h1"`).
      const Type want = cf.type == Type::Client ? Type::String : cf.type;
      auto v = CheckConstant(*f.default_value, Place::Constant, want, fmt::format("the default of {}", Q(f.name)),
                             &cf.default_expr);
      if (v && cf.type == Type::Client && v->s.empty()) {
        Error(DiagKind::BadFieldType, f.default_value->range,
              fmt::format("the default of {} names no client; write a client id like `\"house\"`", Q(f.name)));
        v.reset();
      }
      if (v) cf.has_default = true, cf.default_value = *v;
    }
    // A client attribute without a default is optional (spec §2): unset until a profile sets
    // it. Its slot holds the type's zero meanwhile (default_value), which nothing reads.
    out->push_back(std::move(cf));
  }
}

void Checker::CheckWallets() {
  for (const auto& w : ast_.wallets) {
    Type t = FromTypeName(w.type.name);
    if (t != Type::Int && t != Type::Money) {
      Error(DiagKind::BadWalletType, w.type.range,
            fmt::format("a wallet holds `int` (points, stamps) or `money`, not {}; use a `var` for other values", QT(t)));
      t = Type::Error;
    }
    if (t == Type::Money) RequireMoney(w.type.range);
    // `worth M` is C12's (reports); this part only parses it.
    int64_t expiry = 0;
    if (w.expiry) {
      auto value = CheckLotDuration(*w.expiry, "`expires after`", checked::ParamDuration::Target::WalletExpiry,
                                    prog_->wallets.size());
      if (value) {
        expiry = *value;
        prog_->has_lots = true;
      }
    }
    prog_->wallets.push_back({w.name, t, expiry});
  }
}

void Checker::CheckWorth() {
  for (size_t k = 0; k < ast_.wallets.size() && k < prog_->wallets.size(); ++k) {
    const ast::WalletDecl& w = ast_.wallets[k];
    if (!w.worth) continue;
    checked::Wallet& out = prog_->wallets[k];
    if (out.type == Type::Error) continue;  // its type got the error
    if (out.type != Type::Int) {
      Error(DiagKind::BadWorth, w.worth->range,
            fmt::format("`worth` prices the units of an `int` wallet (points); {} holds money already, so remove `worth`",
                        Q(w.name)));
      continue;
    }
    if (!RequireMoney(w.worth->range)) continue;
    auto v = CheckConstant(*w.worth, Place::Constant, Type::Money, fmt::format("the `worth` of {}", Q(w.name)), &out.worth_expr);
    if (!v) continue;
    if (v->i <= 0) {
      Error(DiagKind::BadWorth, w.worth->range,
            fmt::format("the `worth` of {} is the money value of one unit and must be more than zero; leave it out "
                        "to show the wallet's points unpriced",
                        Q(w.name)));
      out.worth_expr = nullptr;
      continue;
    }
    out.worth = v->i;
  }
}

void Checker::CheckRevenues() {
  std::map<std::pair<int, int>, SourceRange> seen;
  for (const ast::RevenueDecl& r : ast_.revenues) {
    const Symbol* sym = Lookup(r.event);
    if (!sym || sym->kind != SymKind::Event) {
      Error(DiagKind::UnknownEvent, r.event_range,
            fmt::format("`revenue` needs an event type, and there is no event {}{}", Q(r.event),
                        DidYouMean(r.event, NamesOf([](SymKind k) { return k == SymKind::Event; }))));
      continue;
    }
    Use(r.event);
    const int ev = sym->index;
    if (ev >= static_cast<int>(prog_->events.size())) continue;
    const checked::Event& event = prog_->events[ev];
    int field = -1;
    for (size_t k = 0; k < event.fields.size(); ++k)
      if (event.fields[k].name == r.field) field = static_cast<int>(k);
    if (field < 0) {
      std::vector<std::string> names;
      for (const auto& f : event.fields) names.push_back(f.name);
      Error(DiagKind::UnknownField, r.field_range,
            fmt::format("the event {} has no field {}{}", Q(event.name), Q(r.field), DidYouMean(r.field, names)));
      continue;
    }
    const Type ftype = event.fields[field].type;
    if (ftype == Type::Error) continue;  // its declaration got the error
    if (ftype != Type::Money) {
      Error(DiagKind::BadRevenue, r.field_range,
            fmt::format("`revenue` names a `money` field (a commission, a spread), but {}.{} is {}", event.name, r.field,
                        QT(ftype)));
      continue;
    }
    checked::Revenue out;
    out.event = ev;
    out.field = field;
    if (r.where) {
      Expr w = CheckAs(*r.where, Scope{Place::RevenueFilter, ev}, Type::Bool, "`where`");
      if (w.type == Type::Error) continue;
      // `where true` filters nothing.
      if (!(w.kind == ExprKind::Const && w.value.i == 1)) out.where = std::move(w);
    }
    if (auto [it, fresh] = seen.emplace(std::pair{ev, field}, r.range); !fresh) {
      Error(DiagKind::BadRevenue, r.range,
            fmt::format("`revenue {}.{}` is declared twice, which would count the same money twice; keep one, and "
                        "join the conditions with `or`",
                        event.name, r.field));
      diags_.Note(it->second, "first declared here");
      continue;
    }
    prog_->revenues.push_back(std::move(out));
  }
}

void Checker::CheckVars() {
  for (const auto& v : ast_.vars) {
    checked::Var out;
    out.name = v.name;
    out.type = FromTypeName(v.type.name);
    if (out.type == Type::Money) RequireMoney(v.type.range);
    if (out.type == Type::Client) {
      // Only records and profiles name clients; a var would need a client constant.
      Error(DiagKind::BadFieldType, v.type.range,
            fmt::format("a var cannot be a client; keep the id in a `string` var, or declare `{}: client` in "
                        "`client {{ ... }}` and set it with a profile record",
                        v.name));
      out.type = Type::Error;
    }
    if (v.init) {
      auto val = CheckConstant(*v.init, Place::Constant, out.type, fmt::format("the initial value of {}", Q(v.name)), &out.init_expr);
      if (val) out.init = *val;
    }
    prog_->vars.push_back(std::move(out));
  }
}

void Checker::CheckTiers() {
  // Register names first: conditions may compare with any tier (`tier >= Gold`).
  for (size_t k = 0; k < ast_.tiers.size(); ++k) {
    const auto& t = ast_.tiers[k];
    checked::Tier out;
    out.name = t.name;
    if (k == 0 && t.when) {
      Error(DiagKind::BaseTierHasCondition, t.when->range,
            fmt::format("the first tier, {}, is the base tier every client starts in, so it takes no `when`; declare "
                        "a tier without a condition first",
                        Q(t.name)));
    }
    if (k > 0 && !t.when) {
      Error(DiagKind::TierNeedsCondition, t.range,
            fmt::format("the tier {} needs a `when` condition; only the first tier (the base) has none", Q(t.name)));
    }
    if (t.when && k > 0) out.when = CheckAs(*t.when, Scope{Place::TierCond}, Type::Bool, fmt::format("the condition of tier {}", Q(t.name)));
    // [v0.2] Tiers are evaluated before segments, so a tier reads none (v0.1 allowed it).
    if (out.when) {
      if (const Expr* read = FindSegmentRead(*out.when, 0)) {
        const std::string& seg = ast_.segments[read->index].name;
        Error(DiagKind::TierReadsSegment, read->range,
              fmt::format("the condition of tier {} reads the segment {}, but tiers are evaluated before segments "
                          "and read none; write the segment's condition into the tier's `when` instead",
                          Q(t.name), Q(seg)));
      }
    }
    if (t.hold) {
      checked::ParamDuration ref;
      auto hold = ResolveDuration(*t.hold, &ref);
      if (!hold) {
      } else if (hold->count <= 0) {
        Error(DiagKind::BadDuration, t.hold->range, "a hold must be at least 1");
      } else if (auto micros = DurationMicros(*hold)) {
        SetHold(out, *micros, hold->unit != ast::DurationUnit::Minute && hold->unit != ast::DurationUnit::Hour,
                prog_->zone);
        if (ref.param >= 0) {
          ref.target = checked::ParamDuration::Target::TierHold;
          ref.index = static_cast<int>(prog_->tiers.size());
          prog_->param_durations.push_back(ref);
        }
      } else {
        Error(DiagKind::BadDuration, t.hold->range, kDurationTooLong);
      }
    }
    prog_->tiers.push_back(std::move(out));
  }
}

void Checker::CheckSegments() {
  for (const auto& sg : ast_.segments) {
    checked::Segment out;
    out.name = sg.name;
    if (sg.when) out.when = CheckAs(*sg.when, Scope{Place::SegmentCond}, Type::Bool, fmt::format("the condition of segment {}", Q(sg.name)));
    else out.when = ConstExpr(Type::Bool, Value::Int(0), sg.range);
    // [v0.2] Segments are evaluated in declaration order, each seeing the new values of those
    // before it: one declared later (or itself) has no new value yet.
    const int self = static_cast<int>(prog_->segments.size());
    if (const Expr* read = FindSegmentRead(out.when, self)) {
      const std::string& other = ast_.segments[read->index].name;
      if (read->index == self)
        Error(DiagKind::SegmentReadsLaterSegment, read->range,
              fmt::format("the condition of segment {} reads itself; a segment may read only the segments declared "
                          "before it",
                          Q(sg.name)));
      else
        Error(DiagKind::SegmentReadsLaterSegment, read->range,
              fmt::format("the condition of segment {} reads the segment {}, declared after it; segments are "
                          "evaluated in declaration order, so declare {} before {}",
                          Q(sg.name), Q(other), Q(other), Q(sg.name)));
    }
    prog_->segments.push_back(std::move(out));
  }
}

void Checker::CheckActions(const std::vector<ast::Action>& in, const Scope& scope, const ast::RuleDecl& rule,
                           std::vector<checked::Action>* out) {
  for (const auto& a : in) {
    checked::Action c;
    c.kind = static_cast<checked::ActionKind>(a.kind);
    c.range = a.range;
    c.name = a.target;
    switch (a.kind) {
      case ast::ActionKind::Credit:
      case ast::ActionKind::Debit: {
        const char* verb = a.kind == ast::ActionKind::Credit ? "credit" : "debit";
        const Symbol* sym = Lookup(a.target);
        if (!sym || sym->kind != SymKind::Wallet) {
          if (sym)
            Error(DiagKind::NotAssignable, a.target_range, fmt::format("`{}` needs a wallet, and {} is not one", verb, Q(a.target)));
          else
            Error(DiagKind::UnknownName, a.target_range,
                  fmt::format("there is no wallet {}{}", Q(a.target), DidYouMean(a.target, NamesOf([](SymKind k) { return k == SymKind::Wallet; }))));
          if (a.value) Check(*a.value, scope);
          continue;
        }
        Use(a.target);
        c.target = sym->index;
        Type wt = prog_->wallets[sym->index].type;
        if (a.value) c.value = CheckAs(*a.value, scope, wt, fmt::format("`{} {}`", verb, a.target));
        if (a.pending) {
          auto value = CheckLotDuration(*a.pending, "`pending`", checked::ParamDuration::Target::Pending,
                                        prog_->pending_for.size());
          if (value) {
            c.pending = static_cast<int>(prog_->pending_for.size());
            prog_->pending_for.push_back(*value);
            prog_->has_lots = true;
          }
        }
        if (a.kind == ast::ActionKind::Credit && wt == Type::Money && !rule.limit && !money_budget_) {
          // An int budget (v0.2) counts points only: it does not bound money.
          const bool int_budget = rule.budget || rule.client_budget;
          diags_.Report(DiagKind::UncappedCredit, a.range,
                        fmt::format("rule {} credits money with neither `limit` nor {}; add one so a mistake "
                                    "cannot pay out without bound",
                                    Q(rule.name), int_budget ? "a money `budget` (its budget counts points)" : "`budget`"));
        }
        break;
      }
      case ast::ActionKind::Set: {
        const Symbol* sym = Lookup(a.target);
        if (!sym || sym->kind != SymKind::Var) {
          if (sym)
            Error(DiagKind::NotAssignable, a.target_range, fmt::format("`set` changes a var, and {} is not one", Q(a.target)));
          else
            Error(DiagKind::UnknownName, a.target_range,
                  fmt::format("there is no var {}{}", Q(a.target), DidYouMean(a.target, NamesOf([](SymKind k) { return k == SymKind::Var; }))));
          if (a.value) Check(*a.value, scope);
          continue;
        }
        Use(a.target);
        c.target = sym->index;
        if (a.value) c.value = CheckAs(*a.value, scope, prog_->vars[sym->index].type, fmt::format("`set {}`", a.target));
        break;
      }
      case ast::ActionKind::Notify:
      case ast::ActionKind::Emit: {
        std::set<std::string> keys;
        for (const auto& d : a.data) {
          if (!keys.insert(d.key).second) {
            Error(DiagKind::DuplicateField, d.range, fmt::format("the key {} appears twice", Q(d.key)));
            continue;
          }
          Expr v = Check(*d.value, scope);
          if (v.type == Type::Duration) {
            Error(DiagKind::DurationMisuse, d.value->range, "a duration cannot be sent; send a time or a number");
            continue;
          }
          c.data.push_back({d.key, std::move(v)});
        }
        break;
      }
      case ast::ActionKind::Grant: break;
      case ast::ActionKind::Send:
        if (!CheckSend(a, scope, &c)) continue;
        break;
      case ast::ActionKind::If: {
        // The engine runs nested actions recursively: bound them as deep expressions are.
        if (action_depth_ >= kMaxDepth) {
          if (!depth_reported_) {
            Error(DiagKind::SyntaxError, a.range,
                  fmt::format("these `if` actions nest more than {} deep; split the rule into smaller ones", kMaxDepth));
            depth_reported_ = true;
          }
          break;
        }
        ++action_depth_;
        if (a.value) c.value = CheckAs(*a.value, scope, Type::Bool, "the condition of `if`");
        const size_t known = known_set_.size();
        if (a.value) LearnFacts(*a.value, true);
        CheckActions(a.then_actions, scope, rule, &c.then_actions);
        known_set_.resize(known);
        if (a.value) LearnFacts(*a.value, false);
        CheckActions(a.else_actions, scope, rule, &c.else_actions);
        known_set_.resize(known);
        --action_depth_;
        break;
      }
    }
    out->push_back(std::move(c));
  }
}

// [v0.2] `send EVENT to X { field: x, ... }` (spec §3): X a client, each field given once with
// its declared type, every field without a default given. False when the action is dropped.
bool Checker::CheckSend(const ast::Action& a, const Scope& scope, checked::Action* out) {
  const Symbol* sym = Lookup(a.target);
  const bool known = sym && sym->kind == SymKind::Event && sym->index < static_cast<int>(prog_->events.size());
  if (!known) {
    if (sym)
      Error(DiagKind::UnknownEvent, a.target_range, fmt::format("`send` makes an event, and {} is not an event type", Q(a.target)));
    else
      Error(DiagKind::UnknownEvent, a.target_range,
            fmt::format("there is no event {} to send{}", Q(a.target),
                        DidYouMean(a.target, NamesOf([](SymKind k) { return k == SymKind::Event; }))));
  } else {
    Use(a.target);
  }
  bool ok = known;
  if (a.value) {
    Expr to = Check(*a.value, scope);
    if (to.type != Type::Client && to.type != Type::Error) {
      Error(DiagKind::TypeMismatch, a.value->range,
            fmt::format("`send {} to` needs a `client`, found {}{}", a.target, QT(to.type),
                        IsText(to.type) ? "; a string is not a client: send to a `client` field or attribute, like "
                                          "`client.referred_by` or `signup.referrer`"
                                        : ""));
      ok = false;
    }
    if (to.type == Type::Error) ok = false;
    out->value = std::move(to);
  }
  const checked::Event* ev = known ? &prog_->events[sym->index] : nullptr;
  if (ev) out->target = sym->index;
  std::set<std::string> keys;
  for (const auto& d : a.data) {
    if (!keys.insert(d.key).second) {
      Error(DiagKind::DuplicateField, d.range, fmt::format("the field {} is given twice", Q(d.key)));
      ok = false;
      continue;
    }
    int field = -1;
    if (ev)
      for (size_t k = 0; k < ev->fields.size(); ++k)
        if (ev->fields[k].name == d.key) field = static_cast<int>(k);
    if (ev && field < 0) {
      std::vector<std::string> names;
      for (const auto& f : ev->fields) names.push_back(f.name);
      const bool builtin = d.key == "id" || d.key == "client" || d.key == "time";
      Error(DiagKind::UnknownField, d.range,
            builtin ? fmt::format("a sent event's {} is set by the engine (its id is derived, its client is the one "
                                  "after `to`, its time the sender's); leave it out",
                                  Q(d.key))
                    : fmt::format("the event {} has no field {}{}", Q(ev->name), Q(d.key), DidYouMean(d.key, names)));
      Check(*d.value, scope);
      ok = false;
      continue;
    }
    if (!ev || ev->fields[field].type == Type::Error) {
      Check(*d.value, scope);
      continue;
    }
    Expr v = CheckAs(*d.value, scope, ev->fields[field].type, fmt::format("the field {} of `send {}`", Q(d.key), ev->name));
    if (v.type == Type::Error) ok = false;
    out->data.push_back({d.key, std::move(v), field});
  }
  if (ev) {
    for (const auto& f : ev->fields) {
      if (f.has_default || f.type == Type::Error || keys.count(f.name)) continue;
      Error(DiagKind::SendMissingField, a.range,
            fmt::format("`send {}` must give the field {}, which has no default; add `{}: ...` to the braces, or "
                        "give it a default in `event {}`",
                        ev->name, Q(f.name), f.name, ev->name));
      ok = false;
    }
  }
  return ok;
}

// [v0.2] The rules each kind of day runs at its tick, in declaration order (spec §5 step 2b).
static void DayTickRules(checked::Program& p) {
  for (int kind = 0; kind < 4; ++kind) {
    auto& list = p.day_tick_rules[kind];
    list.clear();
    for (size_t k = 0; k < p.rules.size(); ++k) {
      const checked::TriggerKind t = p.rules[k].trigger;
      if (t == checked::TriggerKind::EveryDay || (t == checked::TriggerKind::EveryWeek && (kind & checked::kMonday)) ||
          (t == checked::TriggerKind::EveryMonth && (kind & checked::kFirstOfMonth)))
        list.push_back(static_cast<int>(k));
    }
  }
}

void Checker::CheckRules() {
  prog_->rules_by_event.resize(prog_->events.size());
  prog_->reversed_rules_by_event.resize(prog_->events.size());
  prog_->entering_rules.resize(prog_->segments.size());
  prog_->leaving_rules.resize(prog_->segments.size());
  for (size_t k = 0; k < ast_.rules.size(); ++k) {
    const auto& r = ast_.rules[k];
    checked::Rule out;
    out.name = r.name;
    out.label = r.label;
    out.range = r.range;
    CheckRenamedFrom(k);
    out.renamed_from = r.renamed_from;
    Scope scope{Place::RuleEvent};
    switch (r.trigger.kind) {
      case ast::TriggerKind::Event: {
        // `on EVENT reversed` reads the reversed event's fields like `on EVENT` reads its own.
        out.trigger = r.trigger.reversed ? checked::TriggerKind::Reversed : checked::TriggerKind::Event;
        const Symbol* sym = Lookup(r.trigger.event);
        if (!sym || sym->kind != SymKind::Event) {
          std::string hint = DidYouMean(r.trigger.event, NamesOf([](SymKind kk) { return kk == SymKind::Event; }));
          if (hint.empty()) hint = fmt::format("; declare it with `event {} {{ ... }}`", r.trigger.event);
          Error(DiagKind::UnknownEvent, r.trigger.range, fmt::format("there is no event {}{}", Q(r.trigger.event), hint));
          out.event = -1;
          scope.place = Place::RuleDaily;  // check the rest without event fields
        } else {
          Use(r.trigger.event);
          out.event = sym->index;
          scope.event = sym->index;
          (r.trigger.reversed ? prog_->reversed_rules_by_event : prog_->rules_by_event)[sym->index].push_back(
              static_cast<int>(k));
        }
        break;
      }
      case ast::TriggerKind::TierChanged:
        out.trigger = checked::TriggerKind::TierChanged;
        scope.place = Place::RuleTierChanged;
        if (ast_.tiers.empty())
          Error(DiagKind::TierUsedWithoutTiers, r.trigger.range, "`on tier_changed` needs tiers; the program declares none");
        prog_->tier_changed_rules.push_back(static_cast<int>(k));
        break;
      case ast::TriggerKind::EveryDay:
        out.trigger = checked::TriggerKind::EveryDay;
        scope.place = Place::RuleDaily;
        prog_->daily_rules.push_back(static_cast<int>(k));
        break;
      case ast::TriggerKind::EveryWeek:
      case ast::TriggerKind::EveryMonth:
        out.trigger = r.trigger.kind == ast::TriggerKind::EveryWeek ? checked::TriggerKind::EveryWeek
                                                                    : checked::TriggerKind::EveryMonth;
        scope.place = Place::RuleDaily;
        prog_->has_calendar_ticks = true;
        break;
      case ast::TriggerKind::Entering:
      case ast::TriggerKind::Leaving: {
        const bool entering = r.trigger.kind == ast::TriggerKind::Entering;
        out.trigger = entering ? checked::TriggerKind::Entering : checked::TriggerKind::Leaving;
        // A segment's rules see no event: they run after the trigger's, at events and ticks alike.
        scope.place = Place::RuleSegment;
        const Symbol* sym = Lookup(r.trigger.event);
        if (!sym || sym->kind != SymKind::Segment || sym->index >= static_cast<int>(prog_->segments.size())) {
          std::string hint = DidYouMean(r.trigger.event, NamesOf([](SymKind kk) { return kk == SymKind::Segment; }));
          if (hint.empty() && !sym) hint = fmt::format("; declare it with `segment {} when ...`", r.trigger.event);
          Error(DiagKind::UnknownSegment, r.trigger.range,
                fmt::format("`on {}` needs a segment, but {} is {}{}", entering ? "entering" : "leaving",
                            Q(r.trigger.event), sym ? "not a segment" : "not declared", hint));
        } else {
          Use(r.trigger.event);
          out.segment = sym->index;
          (entering ? prog_->entering_rules : prog_->leaving_rules)[sym->index].push_back(static_cast<int>(k));
        }
        break;
      }
    }
    if (r.limit) {
      out.has_limit = true;
      if (r.limit->once) {
        out.limit_count = 1;
      } else if (r.limit->count) {
        auto v = CheckConstant(*r.limit->count, Place::Constant, Type::Int, "`limit`", &out.limit_expr);
        if (v && v->i <= 0)
          Error(DiagKind::BadLimit, r.limit->count->range, "a `limit` must allow at least 1 firing; remove the rule to disable it");
        if (v) out.limit_count = v->i;
      }
      if (r.limit->within) {
        if (auto w = CheckWindow(*r.limit->within)) out.limit_window = *w;
        NoteParamDuration(checked::ParamDuration::Target::LimitWindow, prog_->rules.size());
      }
      if (r.limit->key) {
        Scope key_scope{Place::LimitKey, scope.place == Place::RuleEvent ? scope.event : -1};
        Expr key = Check(*r.limit->key, key_scope);
        if (key.type == Type::Duration) {
          Error(DiagKind::DurationMisuse, r.limit->key->range, "a limit's key cannot be a duration; key it by an event field");
        } else if (key.type != Type::Error) {
          out.limit_key = std::move(key);
        }
      }
    }
    if (r.budget) {
      out.has_budget = true;
      out.budget_partial = r.budget->partial;
      if (r.budget->amount) {
        if (auto v = CheckBudgetAmount(*r.budget->amount, &out.budget_type, &out.budget_expr)) out.budget_cents = *v;
      }
      if (r.budget->within) {
        if (auto w = CheckWindow(*r.budget->within)) out.budget_window = *w;
        NoteParamDuration(checked::ParamDuration::Target::BudgetWindow, prog_->rules.size());
      }
    }
    if (r.client_budget) {
      out.has_client_budget = true;
      out.client_budget_partial = r.client_budget->partial;
      if (r.client_budget->amount) {
        if (auto v = CheckBudgetAmount(*r.client_budget->amount, &out.client_budget_type, &out.client_budget_expr))
          out.client_budget_amount = *v;
      }
      if (r.client_budget->within) {
        if (auto w = CheckWindow(*r.client_budget->within)) out.client_budget_window = *w;
        NoteParamDuration(checked::ParamDuration::Target::ClientBudgetWindow, prog_->rules.size());
      }
    }
    if (r.when) out.when = CheckAs(*r.when, scope, Type::Bool, "`when`");
    money_budget_ = (r.budget && out.budget_type == Type::Money) || (r.client_budget && out.client_budget_type == Type::Money);
    // The actions run only when `when` held: what it tested is set there (spec §2).
    const size_t known = known_set_.size();
    if (r.when) LearnFacts(*r.when, true);
    CheckActions(r.actions, scope, r, &out.actions);
    known_set_.resize(known);
    prog_->rules.push_back(std::move(out));
  }
}

// `renamed from OLD` moves OLD's history in the state to the rule, so OLD must be gone from the
// program and moved to one rule only. A name the state does not know is fine: the program may
// be loaded on a fresh state.
void Checker::CheckRenamedFrom(size_t k) {
  const ast::RuleDecl& r = ast_.rules[k];
  if (r.renamed_from.empty()) return;
  for (const ast::RuleDecl& other : ast_.rules)
    if (other.name == r.renamed_from) {
      Error(DiagKind::RenamedFromExisting, r.renamed_range,
            fmt::format("rule {} is renamed from {}, but the program still declares a rule {}; remove "
                        "`renamed from` or rename that rule as well",
                        Q(r.name), Q(r.renamed_from), Q(r.renamed_from)));
      diags_.Note(other.range, fmt::format("{} is declared here", Q(r.renamed_from)));
      return;
    }
  for (size_t j = 0; j < k; ++j)
    if (ast_.rules[j].renamed_from == r.renamed_from) {
      Error(DiagKind::DuplicateRename, r.renamed_range,
            fmt::format("rules {} and {} are both renamed from {}; a rule's history can go to one rule only, so keep "
                        "`renamed from` on one of them",
                        Q(ast_.rules[j].name), Q(r.name), Q(r.renamed_from)));
      diags_.Note(ast_.rules[j].renamed_range, fmt::format("{} is renamed from {} here", Q(ast_.rules[j].name),
                                                             Q(r.renamed_from)));
      return;
    }
}

std::optional<int64_t> Checker::CheckBudgetAmount(const ast::Expr& e, Type* type, std::shared_ptr<const Expr>* keep) {
  Expr x = Check(e, Scope{Place::Constant});
  if (x.type == Type::Error) return std::nullopt;
  if (x.type != Type::Int && x.type != Type::Money) {
    std::string hint = (x.type == Type::Decimal && !prog_->currency.empty())
                           ? fmt::format("; write an amount with the currency, e.g. `100 {}`", prog_->currency)
                           : "";
    Error(DiagKind::TypeMismatch, e.range,
          fmt::format("`budget` needs `money` (for credits to money wallets) or `int` (for int wallets), found {}{}",
                      QT(x.type), hint));
    return std::nullopt;
  }
  const Type want = x.type;
  auto v = FoldChecked(e, std::move(x), Place::Constant, "`budget`", keep);
  if (!v) return std::nullopt;
  if (v->i <= 0) {
    Error(DiagKind::BadBudget, e.range, "a `budget` must be more than zero");
    return std::nullopt;
  }
  *type = want;
  return v->i;
}

void Checker::WarnUnused() {
  auto warn = [&](const std::string& name, SourceRange range, const char* what) {
    if (used_.count(name) || symbols_.at(name).range.line != range.line || symbols_.at(name).range.column != range.column) return;
    diags_.Report(DiagKind::UnusedDeclaration, range,
                  fmt::format("the {} {} is declared but never used; remove it or use it in a rule", what, Q(name)));
  };
  for (const auto& e : ast_.events) warn(e.name, e.range, "event");
  for (const auto& w : ast_.wallets) warn(w.name, w.range, "wallet");
  for (const auto& v : ast_.vars) warn(v.name, v.range, "var");
  for (const auto& p : ast_.params) warn(p.name, p.range, "param");
}

std::unique_ptr<Program> Checker::Run() {
  // Errors reported before checking come from parsing: a declaration's only uses may sit in
  // the part that did not parse, so "never used" would be a false alarm then.
  const bool parsed_cleanly = diags_.errors() == 0;
  prog_ = std::make_unique<Program>();
  CheckHeader();
  DeclareAll();
  CheckParams();
  for (const auto& e : ast_.events) {
    checked::Event ev;
    ev.name = e.name;
    CheckFields(e.fields, false, &ev.fields);
    prog_->events.push_back(std::move(ev));
  }
  CheckFields(ast_.client_fields, true, &prog_->client_fields);
  CheckWallets();
  CheckWorth();
  CheckRevenues();
  CheckVars();
  CheckTiers();
  CheckSegments();
  CheckRules();
  DayTickRules(*prog_);
  if (parsed_cleanly) WarnUnused();
  if (diags_.HasErrors()) return nullptr;
  return std::move(prog_);
}

std::optional<Expr> Checker::CheckStandalone(const Program& program, const ast::Expr& e, int event,
                                             Program* extended) {
  // The REPL's program is already checked: rebuild the symbol table from it.
  prog_ = std::make_unique<Program>(program);
  for (size_t k = 0; k < program.events.size(); ++k) symbols_[program.events[k].name] = {SymKind::Event, static_cast<int>(k), {}};
  for (size_t k = 0; k < program.wallets.size(); ++k) symbols_[program.wallets[k].name] = {SymKind::Wallet, static_cast<int>(k), {}};
  for (size_t k = 0; k < program.vars.size(); ++k) symbols_[program.vars[k].name] = {SymKind::Var, static_cast<int>(k), {}};
  for (size_t k = 0; k < program.params.size(); ++k) symbols_[program.params[k].name] = {SymKind::Param, static_cast<int>(k), {}};
  for (size_t k = 0; k < program.tiers.size(); ++k) symbols_[program.tiers[k].name] = {SymKind::Tier, static_cast<int>(k), {}};
  for (size_t k = 0; k < program.segments.size(); ++k) symbols_[program.segments[k].name] = {SymKind::Segment, static_cast<int>(k), {}};
  for (size_t k = 0; k < program.rules.size(); ++k) symbols_[program.rules[k].name] = {SymKind::Rule, static_cast<int>(k), {}};
  for (const auto& [name, sym] : symbols_) symbol_order_.push_back(name);
  std::sort(symbol_order_.begin(), symbol_order_.end());
  Expr x = Check(e, Scope{event >= 0 ? Place::RuleEvent : Place::RuleDaily, event});
  if (diags_.HasErrors() || x.type == Type::Error) return std::nullopt;
  // The expression's aggregate indexes point into prog_, which holds its new slots and uses.
  *extended = std::move(*prog_);
  return x;
}

}  // namespace

std::unique_ptr<checked::Program> CheckProgram(const ast::Program& program, Diagnostics& diags) {
  std::unique_ptr<checked::Program> checked = Checker(program, diags).Run();
  if (checked) {
    WarnUnsafe(program, *checked, diags);
    checked->day_schedule = ScheduleDayTicks(*checked);
  }
  return checked;
}

namespace {

// ANTLR's parser and prediction recurse once per nesting level of the input, and nesting can
// come from chains no bracket count sees (`if c then if c then ...`, `not not ...`). Parsing
// on a thread with a large stack, with the program's size capped, makes that recursion safe;
// the checker then refuses expressions deeper than it allows, bounding every later phase.
constexpr size_t kMaxProgramBytes = 1 << 20;
constexpr size_t kCompileStackBytes = size_t{1} << 30;  // reserved, not committed

struct CompileJob {
  std::string_view source;
  Diagnostics* diags;
  std::unique_ptr<checked::Program> result;
};

void* RunCompile(void* arg) {
  auto* job = static_cast<CompileJob*>(arg);
  auto ast = ast::ParseProgram(job->source, *job->diags);
  if (ast) job->result = CheckProgram(*ast, *job->diags);
  return nullptr;
}

}  // namespace

std::unique_ptr<checked::Program> CompileProgram(std::string_view source, Diagnostics& diags) {
  if (source.size() > kMaxProgramBytes) {
    diags.Report(DiagKind::SyntaxError, {1, 1, 1},
                 fmt::format("the program is {} bytes; Perk reads programs of at most {} bytes", source.size(),
                             kMaxProgramBytes));
    return nullptr;
  }
  CompileJob job{source, &diags, nullptr};
  pthread_attr_t attr;
  pthread_t thread;
  bool threaded = pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, kCompileStackBytes) == 0 &&
                  pthread_create(&thread, &attr, RunCompile, &job) == 0;
  pthread_attr_destroy(&attr);
  if (threaded) pthread_join(thread, nullptr);
  else RunCompile(&job);
  if (diags.HasErrors()) return nullptr;
  if (job.result) {
    std::vector<const checked::Expr*> top = checked::TopLevelExpressions(*job.result);
    for (size_t k = 0; k < top.size(); ++k) const_cast<checked::Expr*>(top[k])->top_index = static_cast<int>(k);
  }
  return std::move(job.result);
}

namespace {

void CollectActions(const std::vector<checked::Action>& actions, std::vector<const checked::Expr*>* out) {
  for (const auto& a : actions) {
    if (a.value) out->push_back(&*a.value);
    for (const auto& d : a.data) out->push_back(&d.value);
    CollectActions(a.then_actions, out);
    CollectActions(a.else_actions, out);
  }
}

}  // namespace

std::vector<const checked::Expr*> checked::TopLevelExpressions(const checked::Program& p) {
  std::vector<const Expr*> out;
  for (const auto& r : p.rules) {
    if (r.limit_key) out.push_back(&*r.limit_key);
    if (r.when) out.push_back(&*r.when);
    CollectActions(r.actions, &out);
  }
  for (const auto& t : p.tiers)
    if (t.when) out.push_back(&*t.when);
  for (const auto& s : p.segments) out.push_back(&s.when);
  for (const auto& slot : p.agg_slots)
    if (slot.where) out.push_back(&*slot.where);
  return out;
}

std::optional<checked::Expr> CheckExpression(const checked::Program& program, const ast::Expr& expr, int event,
                                             Diagnostics& diags, checked::Program* extended) {
  ast::Program empty;
  return Checker(empty, diags).CheckStandalone(program, expr, event, extended);
}

namespace {

// Recomputes the windows and holds that params set (C5), and the buckets each aggregate slot
// keeps, after overrides.
bool RefoldDurations(checked::Program& p, std::string* error) {
  using Target = checked::ParamDuration::Target;
  if (p.param_durations.empty()) return true;
  for (const auto& pd : p.param_durations) {
    const checked::Param& param = p.params[pd.param];
    Window w;
    if (pd.whole) {
      w = param.duration;
    } else {
      w.unit = pd.unit;
      if (param.value.i <= 0 || __builtin_mul_overflow(param.value.i, pd.per, &w.count)) {
        *error = fmt::format("`{}` counts a duration, which must be at least 1", param.name);
        return false;
      }
    }
    if (pd.target == Target::WalletExpiry || pd.target == Target::Pending) {
      ast::Duration d;
      d.unit = AstUnit(w.unit);
      d.count = w.count;  // weeks are already days
      auto value = w.unit == WindowUnit::Minute || w.unit == WindowUnit::Hour ? std::nullopt : LotDurationValue(d);
      if (!value) {
        *error = fmt::format("`{}` sets {}, which counts whole days, weeks, months or years up to 10000 days", param.name,
                             pd.target == Target::Pending ? "a `pending` duration" : "an `expires after` duration");
        return false;
      }
      if (pd.target == Target::Pending) p.pending_for[pd.index] = *value;
      else p.wallets[pd.index].expiry = *value;
      continue;
    }
    if (pd.target == Target::TierHold) {
      ast::Duration d;
      d.unit = AstUnit(w.unit);
      d.count = w.count;
      auto micros = DurationMicros(d);
      if (!micros) {
        *error = fmt::format("the hold that `{}` sets is too long", param.name);
        return false;
      }
      SetHold(p.tiers[pd.index], *micros, w.unit != WindowUnit::Minute && w.unit != WindowUnit::Hour, p.zone);
      continue;
    }
    // The same bound as a window written in the program (Checker::CheckWindow).
    const int64_t max_count = w.unit == WindowUnit::Minute ? 10'000 * 1440
                              : w.unit == WindowUnit::Hour ? 10'000 * 24
                              : w.unit == WindowUnit::Month ? 328
                              : w.unit == WindowUnit::Year  ? 27
                                                            : 10'000;
    if (w.count > max_count) {
      *error = fmt::format("the window that `{}` sets is longer than 10000 days", param.name);
      return false;
    }
    // `within previous n days` stays a previous window whatever n becomes.
    auto set = [&](Window& target) {
      const bool previous = target.previous;
      if (previous && (w.unit == WindowUnit::Minute || w.unit == WindowUnit::Hour)) return false;
      target = w;
      target.previous = previous;
      return true;
    };
    bool ok = true;
    switch (pd.target) {
      case Target::AggWindow: {
        checked::AggUse& use = p.aggregates[pd.index];
        if (p.agg_slots[use.slot].unit != w.unit) {
          *error = fmt::format("`{}` sets an aggregate's window, which counts in the unit it was declared in; give "
                               "the override in that unit",
                               param.name);
          return false;
        }
        ok = set(use.window);
        break;
      }
      case Target::LimitWindow: ok = set(p.rules[pd.index].limit_window); break;
      case Target::BudgetWindow: ok = set(p.rules[pd.index].budget_window); break;
      case Target::ClientBudgetWindow: ok = set(p.rules[pd.index].client_budget_window); break;
      case Target::TierHold:
      case Target::WalletExpiry:
      case Target::Pending: break;
    }
    if (!ok) {
      *error = fmt::format("`{}` sets a `within previous` window, which counts whole days, weeks, months or years",
                           param.name);
      return false;
    }
  }
  for (auto& slot : p.agg_slots) slot.max_count = 0;
  for (const auto& use : p.aggregates) {
    auto& slot = p.agg_slots[use.slot];
    slot.max_count = std::max(slot.max_count, use.window.count + (use.window.previous ? 1 : 0));
  }
  return true;
}

// [v0.2] A wallet's `worth` after param overrides: still more than zero.
template <typename Fold>
bool RefoldWorth(checked::Program& p, Fold& fold, std::string* error) {
  for (auto& w : p.wallets) {
    if (!w.worth_expr) continue;
    Value v;
    if (!fold(w.worth_expr, &v, "the worth of wallet `" + w.name + "`")) return false;
    if (v.i <= 0) {
      *error = fmt::format("the worth of wallet `{}` must be more than zero", w.name);
      return false;
    }
    w.worth = v.i;
  }
  return true;
}

// Recomputes the constants that may depend on params, after overrides.
bool Refold(checked::Program& p, std::string* error) {
  auto fold = [&](const std::shared_ptr<const Expr>& e, Value* out, const std::string& what) {
    if (!e) return true;
    PerkStatus st = PERK_OK;
    auto v = FoldConstant(*e, p.params, &st);
    if (!v) {
      *error = fmt::format("{} {} with this param value", what, StatusText(st));
      return false;
    }
    *out = *v;
    return true;
  };
  for (auto& ev : p.events)
    for (auto& f : ev.fields)
      if (!fold(f.default_expr, &f.default_value, "the default of `" + f.name + "`")) return false;
  for (auto& f : p.client_fields)
    if (!fold(f.default_expr, &f.default_value, "the default of `" + f.name + "`")) return false;
  for (auto& v : p.vars)
    if (!fold(v.init_expr, &v.init, "the initial value of `" + v.name + "`")) return false;
  if (!RefoldWorth(p, fold, error)) return false;
  for (auto& r : p.rules) {
    Value v;
    if (r.limit_expr) {
      if (!fold(r.limit_expr, &v, "the limit of rule `" + r.name + "`")) return false;
      if (v.i <= 0) {
        *error = fmt::format("the limit of rule `{}` must be at least 1", r.name);
        return false;
      }
      r.limit_count = v.i;
    }
    if (r.budget_expr) {
      if (!fold(r.budget_expr, &v, "the budget of rule `" + r.name + "`")) return false;
      if (v.i <= 0) {
        *error = fmt::format("the budget of rule `{}` must be more than zero", r.name);
        return false;
      }
      r.budget_cents = v.i;
    }
    if (r.client_budget_expr) {
      if (!fold(r.client_budget_expr, &v, "the per-client budget of rule `" + r.name + "`")) return false;
      if (v.i <= 0) {
        *error = fmt::format("the per-client budget of rule `{}` must be more than zero", r.name);
        return false;
      }
      r.client_budget_amount = v.i;
    }
  }
  return RefoldDurations(p, error);
}

// Refold after `--param name=text`: its errors say which override caused them.
bool RefoldAfter(checked::Program& program, const std::string& name, const std::string& text, std::string* error) {
  if (Refold(program, error)) return true;
  *error = fmt::format("--param {}={}: {}", name, text, *error);
  return false;
}

}  // namespace

bool OverrideParam(checked::Program& program, const std::string& name, const std::string& text, std::string* error) {
  int idx = program.FindParam(name);
  if (idx < 0) {
    std::vector<std::string> names;
    for (const auto& p : program.params) names.push_back(p.name);
    std::string best = ClosestName(name, names);
    *error = fmt::format("--param {}={}: the program has no param `{}`{}", name, text, name,
                         best.empty() ? "" : fmt::format("; did you mean `{}`?", best));
    return false;
  }
  checked::Param& p = program.params[idx];
  // A refused override leaves the program as it was.
  const checked::Param saved = p;
  auto finish = [&]() {
    if (RefoldAfter(program, name, text, error)) return true;
    p = saved;
    std::string ignored;
    Refold(program, &ignored);
    return false;
  };
  std::string err;
  std::optional<int64_t> v;
  std::string t = text;
  auto strip = [](std::string s) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    return s;
  };
  t = strip(t);
  // Read in the param's declared form (spec §3, C5): a percentage param takes only a
  // percentage, money only the program's currency, a duration a duration.
  auto refuse = [&](const std::string& why) {
    *error = fmt::format("--param {}={}: {}", name, text, why);
    return false;
  };
  switch (p.type) {
    case Type::Int: v = stdlib::ParseScaled(t, 0, true, false, &err); break;
    case Type::Decimal:
      if (!t.empty() && t.back() == '%') v = stdlib::ParseScaled(t.substr(0, t.size() - 1), 4, true, false, &err);
      else if (p.percent)
        return refuse(fmt::format("`{}` is declared as a percentage; write one, like `{}%`", name, t.empty() ? "25" : t));
      else v = stdlib::ParseScaled(t, 6, true, false, &err);
      break;
    case Type::Money: {
      // The amount, then the currency code (`5 USD`).
      size_t space = t.find_last_of(' ');
      std::string code = space == std::string::npos ? std::string() : t.substr(space + 1);
      if (code.empty())
        return refuse(fmt::format("`{}` is money; write it with the program's currency, like `{} {}`", name,
                                  t.empty() ? "5" : t, program.currency));
      if (code != program.currency)
        return refuse(fmt::format("`{}` is not the program's currency; `{}` is money in {}, like `{} {}`", code, name,
                                  program.currency, strip(t.substr(0, space)), program.currency));
      v = stdlib::ParseScaled(strip(t.substr(0, space)), 2, true, false, &err);
      break;
    }
    case Type::Duration: {
      // `45 days`, `3 months`: a whole number and a unit (weeks count days).
      size_t space = t.find(' ');
      std::string unit = space == std::string::npos ? std::string() : strip(t.substr(space + 1));
      auto count = stdlib::ParseScaled(space == std::string::npos ? t : t.substr(0, space), 0, false, false, &err);
      if (unit.size() > 1 && unit.back() == 's') unit.pop_back();
      static const std::pair<const char*, ast::DurationUnit> kUnits[] = {
          {"minute", ast::DurationUnit::Minute}, {"hour", ast::DurationUnit::Hour},
          {"day", ast::DurationUnit::Day},       {"week", ast::DurationUnit::Week},
          {"month", ast::DurationUnit::Month},   {"year", ast::DurationUnit::Year}};
      std::optional<ast::DurationUnit> du;
      for (const auto& [word, u] : kUnits)
        if (unit == word) du = u;
      if (!count || !du || *count <= 0)
        return refuse(fmt::format("`{}` is a duration; write a whole number of at least 1 and a unit, like `45 days`",
                                  name));
      ast::Duration d;
      d.count = *count;
      d.unit = *du;
      auto micros = DurationMicros(d);
      int64_t units = 0;
      if (!micros || __builtin_mul_overflow(*count, *du == ast::DurationUnit::Week ? 7 : 1, &units))
        return refuse("this duration is too long");
      p.value = Value::Int(*micros);
      p.duration = Window{WindowUnitOf(*du), units};
      return finish();
    }
    case Type::Bool:
      if (t == "true") v = 1;
      else if (t == "false") v = 0;
      else err = "is not `true` or `false`";
      break;
    case Type::String: {
      std::string s = text;
      if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
      p.value = Value::Str(s);
      return finish();
    }
    case Type::Date: v = stdlib::ParseDate(t, &err); break;
    case Type::Time: v = stdlib::ParseTime(t, &err); break;
    default: err = "cannot be overridden"; break;
  }
  if (!v) {
    *error = fmt::format("--param {}={}: {} (the param is {})", name, text, err.empty() ? "is not valid" : err, QT(p.type));
    return false;
  }
  p.value = Value::Int(*v);
  return finish();
}

int checked::Program::FindEvent(std::string_view name) const {
  for (size_t k = 0; k < events.size(); ++k)
    if (events[k].name == name) return static_cast<int>(k);
  return -1;
}

int checked::Program::FindParam(std::string_view name) const {
  for (size_t k = 0; k < params.size(); ++k)
    if (params[k].name == name) return static_cast<int>(k);
  return -1;
}

checked::AggWindows checked::AggWindowsOf(const checked::Program& p) {
  AggWindows w;
  w.of_slot.resize(p.agg_slots.size());
  // [v0.2] A `previous` window folds other buckets than the window of the same length ending
  // now: each keeps its own cache, so both stay valid for StableUntil.
  std::vector<std::tuple<int, int64_t, bool>> seen;
  for (const auto& use : p.aggregates) {
    std::tuple<int, int64_t, bool> key{use.slot, use.window.count, use.window.previous};
    auto it = std::find(seen.begin(), seen.end(), key);
    int index = static_cast<int>(it - seen.begin());
    if (it == seen.end()) {
      seen.push_back(key);
      w.of_slot[use.slot].push_back(index);
    }
    w.of_use.push_back(index);
  }
  w.count = seen.size();
  return w;
}

checked::ClientLayout checked::ClientLayoutOf(const checked::Program& p) {
  ClientLayout layout;
  layout.tiers = static_cast<uint32_t>(p.tiers.size());
  layout.segments = static_cast<uint32_t>(p.segments.size());
  layout.windows = static_cast<uint32_t>(AggWindowsOf(p).size());
  layout.wallets = static_cast<uint32_t>(p.wallets.size());
  layout.vars = static_cast<uint32_t>(p.vars.size());
  return layout;
}


}  // namespace perk
