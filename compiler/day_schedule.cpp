// ScheduleDayTicks: which day-tick rules can fire only on a client attribute's anniversaries.
#include "compiler/day_schedule.h"

#include <algorithm>

namespace perk {
namespace {

using checked::Expr;
using checked::ExprKind;

// The operations that give a result for every operand (stdlib/ops.cpp returns PERK_OK
// unconditionally for these).
bool OpCannotFail(OpCode op) {
  switch (op) {
    case OpCode::CmpIntDec:
    case OpCode::Min:
    case OpCode::Max:
    case OpCode::Eq:
    case OpCode::Ne:
    case OpCode::Lt:
    case OpCode::Le:
    case OpCode::Gt:
    case OpCode::Ge:
    case OpCode::EqStr:
    case OpCode::NeStr:
    case OpCode::LtStr:
    case OpCode::LeStr:
    case OpCode::GtStr:
    case OpCode::GeStr:
    case OpCode::Not:
    case OpCode::DateOf:
    case OpCode::DaysBetween:  // saturates
    case OpCode::Anniversary:
    case OpCode::DateIn:
    case OpCode::HourIn:
    case OpCode::MinuteIn:
    case OpCode::YearOf:
    case OpCode::MonthOf:
    case OpCode::DayOf:
    case OpCode::WeekdayOf:
    case OpCode::YearsBetween:
    case OpCode::Lower:
    case OpCode::Upper:
    case OpCode::StartsWith:
    case OpCode::Contains: return true;
    default: return false;  // arithmetic, widening, calendar steps: may overflow or divide by zero
  }
}

// The anniversary's attribute when `e` is `anniversary(client.ATTR)` as the checker lowers it:
// Anniversary(ATTR, today) for a date, Anniversary(DateOf|DateIn(ATTR, zone), today) for a time.
std::optional<checked::Anniversary> AnniversaryOf(const Expr& e, const checked::Program& p) {
  if (e.kind != ExprKind::Op || e.op != OpCode::Anniversary || e.args.size() != 2) return std::nullopt;
  if (e.args[1].kind != ExprKind::Today) return std::nullopt;
  const Expr* d = &e.args[0];
  bool is_time = false;
  if (d->kind == ExprKind::Op && (d->op == OpCode::DateOf || d->op == OpCode::DateIn)) {
    if (d->op == OpCode::DateIn && (d->args.size() != 2 || d->args[1].kind != ExprKind::Const ||
                                    d->args[1].value.i != p.zone))
      return std::nullopt;  // a date in another zone than the program's
    d = &d->args[0];
    is_time = true;
  }
  if (d->kind != ExprKind::ClientField) return std::nullopt;
  const Type type = d->index == checked::kClientSince ? Type::Time
                    : d->index >= 0 && static_cast<size_t>(d->index) < p.client_fields.size()
                        ? p.client_fields[d->index].type
                        : Type::Error;
  if (type != (is_time ? Type::Time : Type::Date)) return std::nullopt;
  checked::Anniversary a;
  a.attr = d->index;
  a.is_time = is_time;
  return a;
}

// The conditions of an `and` chain in evaluation order: `(a and b) and c` is a, b, c.
void Conjuncts(const Expr& e, std::vector<const Expr*>* out) {
  if (e.kind == ExprKind::And && e.args.size() == 2) {
    Conjuncts(e.args[0], out);
    Conjuncts(e.args[1], out);
    return;
  }
  out->push_back(&e);
}

checked::DayRuleDue Classify(const checked::Rule& rule, const checked::Program& p,
                             std::vector<checked::Anniversary>* anniversaries) {
  checked::DayRuleDue due;
  if (rule.limit_key && !CannotFailOrChange(*rule.limit_key)) {
    due.reason = checked::DueReason::LimitKeyMayFail;
    return due;
  }
  if (!rule.when) {
    due.reason = checked::DueReason::NoWhen;
    return due;
  }
  std::vector<const Expr*> chain;
  Conjuncts(*rule.when, &chain);
  std::vector<int> known_set;  // attributes an earlier condition tested `is set`
  for (const Expr* c : chain) {
    if (auto a = AnniversaryOf(*c, p)) {
      // An unset optional attribute holds its type's zero, whose anniversary is 1 January: a
      // test `is set` before the anniversary makes the rule false without it.
      a->needs_set = a->attr >= 0 && std::find(known_set.begin(), known_set.end(), a->attr) != known_set.end();
      auto at = std::find(anniversaries->begin(), anniversaries->end(), *a);
      if (at == anniversaries->end()) at = anniversaries->insert(at, *a);
      due.reason = checked::DueReason::Anniversary;
      due.anniversary = static_cast<int>(at - anniversaries->begin());
      return due;
    }
    if (!CannotFailOrChange(*c)) {
      due.reason = checked::DueReason::MayFailBefore;
      return due;
    }
    if (c->kind == ExprKind::AttrSet) known_set.push_back(c->index);
  }
  due.reason = checked::DueReason::NoAnniversary;
  return due;
}

}  // namespace

bool CannotFailOrChange(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Aggregate: return false;
    case ExprKind::Op:
      if (!OpCannotFail(e.op)) return false;
      break;
    default: break;
  }
  for (const Expr& a : e.args)
    if (!CannotFailOrChange(a)) return false;
  return true;
}

checked::DaySchedule ScheduleDayTicks(const checked::Program& p) {
  checked::DaySchedule s;
  s.rules.resize(p.rules.size());
  for (size_t r = 0; r < p.rules.size(); ++r) {
    const checked::TriggerKind t = p.rules[r].trigger;
    if (t == checked::TriggerKind::EveryDay || t == checked::TriggerKind::EveryWeek ||
        t == checked::TriggerKind::EveryMonth)
      s.rules[r] = Classify(p.rules[r], p, &s.anniversaries);
  }
  for (int kind = 0; kind < 4; ++kind) {
    s.every_client[kind] = false;
    for (int r : p.day_tick_rules[kind]) {
      const checked::DayRuleDue& due = s.rules[r];
      if (due.reason != checked::DueReason::Anniversary) {
        s.every_client[kind] = true;
        continue;
      }
      auto& list = s.anniversaries_of_day[kind];
      if (std::find(list.begin(), list.end(), due.anniversary) == list.end()) list.push_back(due.anniversary);
    }
    if (s.every_client[kind]) s.anniversaries_of_day[kind].clear();
  }
  return s;
}

}  // namespace perk
