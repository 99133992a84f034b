// Checked expressions as Z3 integer arithmetic (analyze/translate.h).
#include "analyze/translate.h"

#include <fmt/format.h>

#include "stdlib/stdlib.h"
#include "stdlib/zone.h"

namespace perk::analyze {

using checked::Expr;
using checked::ExprKind;

namespace {

constexpr int64_t kScale = stdlib::kDecimalScale;
// A witness's values stay small enough that the engine's checked arithmetic does not overflow,
// and its times in years RFC 3339 and the calendar functions handle.
constexpr int64_t kWitnessMagnitude = 1'000'000'000'000;
constexpr int64_t kWitnessFrom = 1'577'836'800'000'000;  // 2020-01-01T00:00:00Z
constexpr int64_t kWitnessUntil = 2'051'222'400'000'000;  // 2035-01-01T00:00:00Z

bool IsStringLike(Type t) { return IsText(t); }

}  // namespace

Translator::Translator(z3::context& ctx, const checked::Program& program) : ctx_(ctx), program_(program) {
  // Code 1 is the empty string, so that a client id can be kept from being empty.
  string_codes_[""] = 1;
  strings_.push_back("");
}

void Translator::Begin(const checked::Rule& rule, Mode mode) {
  rule_ = &rule;
  mode_ = mode;
  exact_ = true;
  vars_.clear();
  versions_.clear();
  constraints_.clear();
  event_fields_.clear();
  attrs_.clear();
  attr_set_.clear();
}

z3::expr Translator::StringCode(const std::string& s) {
  auto [it, added] = string_codes_.emplace(s, static_cast<int64_t>(strings_.size()) + 1);
  if (added) strings_.push_back(s);
  return ctx_.int_val(it->second);
}

std::string Translator::StringOf(int64_t code) const {
  if (code >= 1 && code <= static_cast<int64_t>(strings_.size())) return strings_[code - 1];
  std::string s = fmt::format("w{}", code < 0 ? -code * 2 + 1 : code * 2);
  while (string_codes_.count(s)) s += "_";
  return s;
}

z3::expr Translator::Var(const std::string& name, Type type) {
  auto it = vars_.find(name);
  if (it != vars_.end()) return it->second;
  z3::expr v = ctx_.int_const(name.c_str());
  vars_.emplace(name, v);
  switch (type) {
    case Type::Bool: constraints_.push_back(v >= 0 && v <= 1); break;
    case Type::Tier: {
      constraints_.push_back(v >= 0 && v < ctx_.int_val(static_cast<int64_t>(std::max<size_t>(program_.tiers.size(), 1))));
      for (int t : unreachable_tiers) constraints_.push_back(v != t);
      break;
    }
    case Type::Client: constraints_.push_back(v != 1); break;
    default: break;
  }
  const bool numeric = type == Type::Int || type == Type::Money || type == Type::Decimal;
  if (nonnegative_inputs && numeric && (name[0] == 'e' || name[0] == 'c')) constraints_.push_back(v >= 0);
  if (mode_ == Mode::Pinned) {
    // Keep a witness's values writable and away from overflow.
    if (type == Type::Int || type == Type::Money || type == Type::Decimal)
      constraints_.push_back(v >= ctx_.int_val(-kWitnessMagnitude) && v <= ctx_.int_val(kWitnessMagnitude));
    if (type == Type::Time) constraints_.push_back(v >= ctx_.int_val(kWitnessFrom) && v < ctx_.int_val(kWitnessUntil));
    if (type == Type::Date) constraints_.push_back(v >= 0 && v <= 40'000);
    if (IsStringLike(type)) constraints_.push_back(v >= -1'000'000 && v <= 1'000'000);
  }
  return v;
}

z3::expr Translator::Fresh(Type type) { return Var(fmt::format("fresh{}", fresh_++), type); }

bool Translator::ConstOf(const Expr& e, int64_t* out) {
  if (e.kind == ExprKind::Const && !IsText(e.type)) {
    *out = e.value.i;
    return true;
  }
  if (e.kind == ExprKind::Param && !IsText(e.type)) {
    *out = program_.params[e.index].value.i;
    return true;
  }
  return false;
}

z3::expr Translator::AsBool(const Val& v) { return v.is_bool ? v.e : v.e != 0; }
z3::expr Translator::AsInt(const Val& v) { return v.is_bool ? z3::ite(v.e, ctx_.int_val(1), ctx_.int_val(0)) : v.e; }

// n / d rounded half away from zero, as stdlib's DivRound.
z3::expr Translator::DivRound(const z3::expr& n, int64_t d) {
  z3::expr num = d < 0 ? -n : n;
  int64_t den = d < 0 ? -d : d;
  z3::expr two_d = ctx_.int_val(2) * ctx_.int_val(den);
  z3::expr dd = ctx_.int_val(den);
  return z3::ite(num >= 0, (2 * num + dd) / two_d, -((-2 * num + dd) / two_d));
}

// n / d truncated toward zero (C), for `mod`.
z3::expr Translator::DivTrunc(const z3::expr& n, int64_t d) {
  z3::expr num = d < 0 ? -n : n;
  z3::expr den = ctx_.int_val(d < 0 ? -d : d);
  return z3::ite(num >= 0, num / den, -((-num) / den));
}

z3::expr Translator::State(const std::string& key, Type type, int64_t start, bool start_is_string,
                           const std::string& start_text) {
  if (mode_ == Mode::Pinned) {
    if (!written_by_trigger.count(key)) return start_is_string ? StringCode(start_text) : ctx_.int_val(start);
    return Inexact(type);
  }
  return Var(fmt::format("{}#{}", key, versions_[key]), type);
}

void Translator::Written(const checked::Action& a) {
  using checked::ActionKind;
  switch (a.kind) {
    case ActionKind::Credit:
      versions_[fmt::format("w{}", a.target)]++;
      versions_[fmt::format("p{}", a.target)]++;
      break;
    case ActionKind::Debit: versions_[fmt::format("w{}", a.target)]++; break;
    case ActionKind::Set: versions_[fmt::format("v{}", a.target)]++; break;
    case ActionKind::Grant: versions_["b" + a.name]++; break;
    case ActionKind::If:
      for (const auto& b : a.then_actions) Written(b);
      for (const auto& b : a.else_actions) Written(b);
      break;
    default: break;
  }
}

z3::expr Translator::Bool(const Expr& e) { return AsBool(T(e)); }
z3::expr Translator::Int(const Expr& e) { return AsInt(T(e)); }

z3::expr Translator::Aggregate(const Expr& e) {
  const checked::AggUse& use = program_.aggregates[e.index];
  const checked::AggSlot& slot = program_.agg_slots[use.slot];
  if (mode_ == Mode::Over) {
    // Uses that fold the same buckets the same way are one value at one evaluation.
    z3::expr v = Var(fmt::format("agg{}_{}_{}_{}_{}", use.slot, static_cast<int>(use.kind), static_cast<int>(use.window.unit),
                                 use.window.count, use.window.previous),
                     use.type);
    if (use.kind == checked::AggKind::Count) constraints_.push_back(v >= 0);
    return v;
  }
  // A new client's first record: only the trigger event is in its history, in today's bucket.
  bool holds_trigger = rule_->trigger == checked::TriggerKind::Event && slot.event == rule_->event &&
                       !use.window.previous && (use.window.unit == checked::WindowUnit::All || use.window.count >= 1);
  if (!holds_trigger) return ctx_.int_val(0);
  z3::expr in = slot.where ? Bool(*slot.where) : ctx_.bool_val(true);
  if (use.kind == checked::AggKind::Count) return z3::ite(in, ctx_.int_val(1), ctx_.int_val(0));
  z3::expr value = Var(fmt::format("e{}", slot.field), slot.field_type);
  event_fields_.emplace(slot.field, value);
  // avg of int fields is a decimal.
  if (use.kind == checked::AggKind::Avg && slot.field_type == Type::Int) value = value * ctx_.int_val(kScale);
  return z3::ite(in, value, ctx_.int_val(0));
}

Translator::Val Translator::T(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Const:
      if (IsText(e.type)) return {StringCode(e.value.s), false};
      if (e.type == Type::Bool) return {ctx_.bool_val(e.value.i != 0), true};
      return {ctx_.int_val(e.value.i), false};
    case ExprKind::Param: {
      const checked::Param& p = program_.params[e.index];
      if (IsText(e.type)) return {StringCode(p.value.s), false};
      if (e.type == Type::Bool) return {ctx_.bool_val(p.value.i != 0), true};
      return {ctx_.int_val(p.value.i), false};
    }
    case ExprKind::EventField: {
      bool has_event = rule_->trigger == checked::TriggerKind::Event || rule_->trigger == checked::TriggerKind::Reversed;
      if (!has_event) return {Inexact(e.type), e.type == Type::Bool ? false : false};
      if (e.index == checked::kFieldClient) return {Var("client", Type::Client), false};
      if (e.index == checked::kFieldId) return {Var("id", Type::Client), false};
      if (e.index == checked::kFieldTime) return {Var("time", Type::Time), false};
      z3::expr v = Var(fmt::format("e{}", e.index), e.type);
      event_fields_.emplace(e.index, v);
      return {v, false};
    }
    case ExprKind::ClientField: {
      if (e.index == checked::kClientId) return {Var("client", Type::Client), false};
      if (e.index == checked::kClientSince) {
        // A witness's profile and event come at the same time: the client is known since then.
        if (mode_ == Mode::Pinned && rule_->trigger == checked::TriggerKind::Event) return {Var("time", Type::Time), false};
        return {Var("since", Type::Time), false};
      }
      z3::expr v = Var(fmt::format("c{}", e.index), e.type);
      attrs_.emplace(e.index, v);
      const checked::Field& f = program_.client_fields[e.index];
      if (!f.has_default) {
        // An unset optional attribute holds its type's zero.
        z3::expr set = Var(fmt::format("cset{}", e.index), Type::Bool);
        attr_set_.emplace(e.index, set);
        z3::expr zero = IsText(e.type) ? StringCode("") : ctx_.int_val(0);
        constraints_.push_back(z3::implies(set == 0, v == zero));
      }
      return {v, false};
    }
    case ExprKind::AttrSet: {
      z3::expr set = Var(fmt::format("cset{}", e.index), Type::Bool);
      attr_set_.emplace(e.index, set);
      // The attribute's own variable, so the witness can give it a value.
      z3::expr v = Var(fmt::format("c{}", e.index), program_.client_fields[e.index].type);
      attrs_.emplace(e.index, v);
      return {set == 1, true};
    }
    case ExprKind::Wallet:
      return {State(fmt::format("w{}", e.index), e.type, 0, false, ""), false};
    case ExprKind::Pending:
      return {State(fmt::format("p{}", e.index), e.type, 0, false, ""), false};
    case ExprKind::Var: {
      const checked::Var& v = program_.vars[e.index];
      z3::expr x = State(fmt::format("v{}", e.index), e.type, v.init.i, IsText(v.type), v.init.s);
      if (e.type == Type::Bool) return {x != 0, true};
      return {x, false};
    }
    case ExprKind::Segment: {
      if (never_entered_segments.count(e.index)) return {ctx_.bool_val(false), true};
      if (mode_ == Mode::Pinned && rule_->trigger == checked::TriggerKind::Event) return {ctx_.bool_val(false), true};
      if (mode_ == Mode::Pinned) return {Inexact(Type::Bool) != 0, true};
      return {Var(fmt::format("s{}", e.index), Type::Bool) != 0, true};
    }
    case ExprKind::CurrentTier:
      if (mode_ == Mode::Pinned && rule_->trigger == checked::TriggerKind::Event) return {ctx_.int_val(0), false};
      if (mode_ == Mode::Pinned) return {Inexact(Type::Tier), false};
      return {Var("tier", Type::Tier), false};
    case ExprKind::PreviousTier:
      if (mode_ == Mode::Pinned) return {Inexact(Type::Tier), false};
      return {Var("previous_tier", Type::Tier), false};
    case ExprKind::Now:
      if (rule_->trigger == checked::TriggerKind::Event) return {Var("time", Type::Time), false};
      if (mode_ == Mode::Pinned) return {Inexact(Type::Time), false};
      return {Var("now", Type::Time), false};
    case ExprKind::Today: {
      if (rule_->trigger == checked::TriggerKind::Event && program_.zone == 0) {
        return {Var("time", Type::Time) / ctx_.int_val(stdlib::kMicrosPerDay), false};
      }
      if (mode_ == Mode::Pinned) return {Inexact(Type::Date), false};
      return {Var("today", Type::Date), false};
    }
    case ExprKind::HasBadge: {
      const std::string key = "b" + (e.args.empty() ? std::string() : e.args[0].value.s);
      if (mode_ == Mode::Pinned && rule_->trigger == checked::TriggerKind::Event && !written_by_trigger.count(key))
        return {ctx_.bool_val(false), true};
      if (mode_ == Mode::Pinned) return {Inexact(Type::Bool) != 0, true};
      return {Var(fmt::format("{}#{}", key, versions_[key]), Type::Bool) != 0, true};
    }
    case ExprKind::Aggregate: return {Aggregate(e), false};
    case ExprKind::Op: return Op(e);
    case ExprKind::And: {
      z3::expr_vector parts(ctx_);
      for (const Expr& a : e.args) parts.push_back(Bool(a));
      return {z3::mk_and(parts), true};
    }
    case ExprKind::Or: {
      z3::expr_vector parts(ctx_);
      for (const Expr& a : e.args) parts.push_back(Bool(a));
      return {z3::mk_or(parts), true};
    }
    case ExprKind::If: {
      Val t = T(e.args[1]), f = T(e.args[2]);
      z3::expr c = Bool(e.args[0]);
      if (t.is_bool && f.is_bool) return {z3::ite(c, t.e, f.e), true};
      return {z3::ite(c, AsInt(t), AsInt(f)), false};
    }
    case ExprKind::In: {
      z3::expr x = Int(e.args[0]);
      z3::expr_vector parts(ctx_);
      for (size_t i = 1; i < e.args.size(); ++i) parts.push_back(x == Int(e.args[i]));
      return {z3::mk_or(parts), true};
    }
  }
  return {Inexact(e.type), false};
}

Translator::Val Translator::Op(const Expr& e) {
  auto a = [&](int i) { return Int(e.args[i]); };
  int64_t k = 0;
  // The constant operand of a product or quotient, if any: the translation stays linear.
  auto const_arg = [&](int i) { return ConstOf(e.args[i], &k); };
  const Type t = e.type;
  auto cmp = [&](z3::expr r) { return Val{r, true}; };
  switch (e.op) {
    case OpCode::Add: return {a(0) + a(1), false};
    case OpCode::Sub: return {a(0) - a(1), false};
    case OpCode::Neg: return {-a(0), false};
    case OpCode::Abs: {
      z3::expr x = a(0);
      return {z3::ite(x >= 0, x, -x), false};
    }
    case OpCode::MulInt:
    case OpCode::MulMoneyInt:
      if (const_arg(1)) return {a(0) * ctx_.int_val(k), false};
      if (const_arg(0)) return {ctx_.int_val(k) * a(1), false};
      return {Inexact(t), false};
    case OpCode::MulDec:
    case OpCode::MulMoneyDec:
      if (const_arg(1)) return {DivRound(a(0) * ctx_.int_val(k), kScale), false};
      if (const_arg(0)) return {DivRound(ctx_.int_val(k) * a(1), kScale), false};
      return {Inexact(t), false};
    case OpCode::DivInt:
    case OpCode::DivDec:
    case OpCode::DivMoneyDec:
    case OpCode::DivMoneyMoney:
      if (const_arg(1) && k != 0) return {DivRound(a(0) * ctx_.int_val(kScale), k), false};
      return {Inexact(t), false};
    case OpCode::DivMoneyInt:
      if (const_arg(1) && k != 0) return {DivRound(a(0), k), false};
      return {Inexact(t), false};
    case OpCode::ModInt:
      if (const_arg(1) && k != 0) {
        z3::expr x = a(0);
        return {x - ctx_.int_val(k) * DivTrunc(x, k), false};
      }
      return {Inexact(t), false};
    case OpCode::WidenInt: return {a(0) * ctx_.int_val(kScale), false};
    case OpCode::CmpIntDec: {
      z3::expr x = a(0) * ctx_.int_val(kScale), y = a(1);
      return {z3::ite(x < y, ctx_.int_val(-1), z3::ite(x == y, ctx_.int_val(0), ctx_.int_val(1))), false};
    }
    case OpCode::AddTime:
    case OpCode::SubTime:
      if (const_arg(1) && !stdlib::IsMonths(k)) return {e.op == OpCode::AddTime ? a(0) + ctx_.int_val(k) : a(0) - ctx_.int_val(k), false};
      return {Inexact(t), false};
    case OpCode::FloorDec: return {a(0) / ctx_.int_val(kScale), false};
    case OpCode::CeilDec: return {-((-a(0)) / ctx_.int_val(kScale)), false};
    case OpCode::RoundDec: return {DivRound(a(0), kScale), false};
    case OpCode::FloorMoney: return {(a(0) / ctx_.int_val(100)) * ctx_.int_val(100), false};
    case OpCode::CeilMoney: return {-((-a(0)) / ctx_.int_val(100)) * ctx_.int_val(100), false};
    case OpCode::RoundMoney: return {DivRound(a(0), 100) * ctx_.int_val(100), false};
    case OpCode::Min: {
      z3::expr x = a(0), y = a(1);
      return {z3::ite(x <= y, x, y), false};
    }
    case OpCode::Max: {
      z3::expr x = a(0), y = a(1);
      return {z3::ite(x >= y, x, y), false};
    }
    case OpCode::Eq:
    case OpCode::EqStr: return cmp(a(0) == a(1));
    case OpCode::Ne:
    case OpCode::NeStr: return cmp(a(0) != a(1));
    case OpCode::Lt: return cmp(a(0) < a(1));
    case OpCode::Le: return cmp(a(0) <= a(1));
    case OpCode::Gt: return cmp(a(0) > a(1));
    case OpCode::Ge: return cmp(a(0) >= a(1));
    case OpCode::Not: return cmp(!Bool(e.args[0]));
    case OpCode::DateOf: return {a(0) / ctx_.int_val(stdlib::kMicrosPerDay), false};
    case OpCode::DaysBetween: return {a(1) - a(0), false};
    case OpCode::DateIn:
      if (const_arg(1) && k == 0) return {a(0) / ctx_.int_val(stdlib::kMicrosPerDay), false};
      return {Inexact(t), false};
    case OpCode::HourIn:
    case OpCode::MinuteIn: {
      const bool hour = e.op == OpCode::HourIn;
      if (const_arg(1) && k == 0)
        return {z3::mod(a(0) / ctx_.int_val(hour ? stdlib::kMicrosPerHour : 60'000'000), hour ? 24 : 60), false};
      z3::expr v = Inexact(Type::Int);
      constraints_.push_back(v >= 0 && v <= (hour ? 23 : 59));
      return {v, false};
    }
    case OpCode::WeekdayOf: return {z3::mod(a(0) + 3, 7) + 1, false};
    case OpCode::MonthOf:
    case OpCode::DayOf: {
      z3::expr v = Inexact(Type::Int);
      constraints_.push_back(v >= 1 && v <= (e.op == OpCode::MonthOf ? 12 : 31));
      return {v, false};
    }
    case OpCode::LtStr:
    case OpCode::LeStr:
    case OpCode::GtStr:
    case OpCode::GeStr:
    case OpCode::StartsWith:
    case OpCode::Contains:
    case OpCode::Anniversary: {
      // Evaluate the operands anyway: their variables then reach the witness.
      for (const Expr& x : e.args) T(x);
      return {Inexact(Type::Bool) != 0, true};
    }
    default:
      for (const Expr& x : e.args) T(x);
      if (t == Type::Bool) return {Inexact(Type::Bool) != 0, true};
      return {Inexact(t), false};
  }
}

namespace {

std::string ValueJson(Type type, int64_t v, const std::string& text) {
  switch (type) {
    case Type::Money: return fmt::format("\"{}\"", stdlib::FormatMoney(v));
    case Type::Decimal: return fmt::format("\"{}\"", stdlib::FormatDecimal(v));
    case Type::Bool: return v ? "true" : "false";
    case Type::Time: return fmt::format("\"{}\"", stdlib::FormatTime(v));
    case Type::Date: return fmt::format("\"{}\"", stdlib::FormatDate(v));
    case Type::String:
    case Type::Client: return stdlib::JsonQuote(text);
    default: return fmt::format("{}", v);
  }
}

int64_t ModelInt(const z3::model& m, const z3::expr& e, int64_t otherwise) {
  z3::expr v = m.eval(e, true);
  int64_t out = otherwise;
  if (v.is_numeral_i64(out)) return out;
  return otherwise;
}

}  // namespace

std::vector<std::string> Translator::WitnessRecords(const z3::model& model, const std::string& id) const {
  std::vector<std::string> out;
  auto var = [&](const char* name, int64_t otherwise) {
    auto it = vars_.find(name);
    return it == vars_.end() ? otherwise : ModelInt(model, it->second, otherwise);
  };
  const int64_t time = var("time", kWitnessFrom + 10 * stdlib::kMicrosPerHour);
  std::string client = "c1";
  if (vars_.count("client")) client = StringOf(var("client", 0));
  if (client.empty()) client = "c1";
  const std::string time_text = stdlib::FormatTime(time);
  std::string profile;
  for (const auto& [index, v] : attrs_) {
    const checked::Field& f = program_.client_fields[index];
    auto set = attr_set_.find(index);
    if (set != attr_set_.end() && ModelInt(model, set->second, 0) == 0) continue;
    int64_t x = ModelInt(model, v, 0);
    profile += fmt::format(",{}:{}", stdlib::JsonQuote(f.name), ValueJson(f.type, x, IsText(f.type) ? StringOf(x) : ""));
  }
  if (!profile.empty())
    out.push_back(fmt::format("{{\"type\":\"profile\",\"client\":{},\"time\":\"{}\"{}}}", stdlib::JsonQuote(client), time_text,
                              profile));
  const checked::Event& ev = program_.events[rule_->event];
  std::string event_id = id;
  if (vars_.count("id")) {
    std::string s = StringOf(var("id", 0));
    if (!s.empty() && s.find('/') == std::string::npos) event_id = s;
  }
  std::string fields;
  for (size_t i = 0; i < ev.fields.size(); ++i) {
    const checked::Field& f = ev.fields[i];
    auto it = event_fields_.find(static_cast<int>(i));
    int64_t x = 0;
    if (it != event_fields_.end()) {
      x = ModelInt(model, it->second, 0);
    } else if (f.has_default) {
      continue;
    } else if (f.type == Type::Time) {
      x = time;
    } else if (f.type == Type::Date) {
      x = stdlib::UtcDate(time);
    } else if (f.type == Type::Client) {
      fields += fmt::format(",{}:\"{}\"", stdlib::JsonQuote(f.name), "c2");
      continue;
    }
    fields += fmt::format(",{}:{}", stdlib::JsonQuote(f.name), ValueJson(f.type, x, IsText(f.type) ? StringOf(x) : ""));
  }
  out.push_back(fmt::format("{{\"type\":{},\"id\":{},\"client\":{},\"time\":\"{}\"{}}}", stdlib::JsonQuote(ev.name),
                            stdlib::JsonQuote(event_id), stdlib::JsonQuote(client), time_text, fields));
  return out;
}

}  // namespace perk::analyze
