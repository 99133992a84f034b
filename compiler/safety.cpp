#include "compiler/safety.h"

#include <fmt/format.h>

#include <set>
#include <utility>
#include <vector>

namespace perk {
namespace {

using checked::Action;
using checked::ActionKind;
using checked::Expr;
using checked::ExprKind;

// Where the program writes an integer literal: the checker folds constants, so only the source
// tells `deposit.amount * 30` (a percentage that lost its `%`) from `deposit.amount * (60 / 2)`.
using LiteralAt = std::set<std::pair<uint32_t, uint32_t>>;  // (line, column)

void IntLiterals(const ast::Expr& e, LiteralAt* out) {
  if (e.kind == ast::ExprKind::IntLit) out->insert({e.range.line, e.range.column});
  for (const auto& a : e.args)
    if (a) IntLiterals(*a, out);
}

void IntLiterals(const std::vector<ast::Action>& actions, LiteralAt* out) {
  for (const auto& a : actions) {
    if (a.kind == ast::ActionKind::Credit && a.value) IntLiterals(*a.value, out);
    IntLiterals(a.then_actions, out);
    IntLiterals(a.else_actions, out);
  }
}

// The first `money * N` or `N * money` in `e` with N an integer literal of 2 or more.
const Expr* MoneyTimesLiteral(const Expr& e, const LiteralAt& literals) {
  if (e.kind == ExprKind::Op && e.op == OpCode::MulMoneyInt) {
    const Expr& n = e.args[1];  // the checker puts the money operand first
    if (n.kind == ExprKind::Const && n.value.i >= 2 && literals.count({n.range.line, n.range.column})) return &n;
  }
  for (const Expr& a : e.args)
    if (const Expr* found = MoneyTimesLiteral(a, literals)) return found;
  return nullptr;
}

// True when `e` is false whatever the client, the event and the clock: a constant, or an `and`
// with such an operand, an `or` of only such operands, `not` of a constant true. Params are not
// constants here: the operator may override them at load time.
bool NeverTrue(const Expr& e);
bool AlwaysTrue(const Expr& e) {
  if (e.kind == ExprKind::Const) return e.value.i != 0;
  if (e.kind == ExprKind::Op && e.op == OpCode::Not) return NeverTrue(e.args[0]);
  return false;
}
bool NeverTrue(const Expr& e) {
  switch (e.kind) {
    case ExprKind::Const: return e.value.i == 0;
    case ExprKind::And:
      for (const Expr& a : e.args)
        if (NeverTrue(a)) return true;
      return false;
    case ExprKind::Or:
      for (const Expr& a : e.args)
        if (!NeverTrue(a)) return false;
      return true;
    case ExprKind::Op: return e.op == OpCode::Not && AlwaysTrue(e.args[0]);
    default: return false;
  }
}

void WarnCredits(const checked::Rule& rule, const std::vector<Action>& actions, const LiteralAt& literals,
                 Diagnostics& diags) {
  for (const Action& a : actions) {
    if (a.kind == ActionKind::If) {
      WarnCredits(rule, a.then_actions, literals, diags);
      WarnCredits(rule, a.else_actions, literals, diags);
      continue;
    }
    if (a.kind != ActionKind::Credit || !a.value) continue;
    if (const Expr* n = MoneyTimesLiteral(*a.value, literals)) {
      diags.Report(DiagKind::MoneyTimesInteger, n->range,
                   fmt::format("rule `{}` credits money multiplied by {}, {} times the amount; did you mean `{}%`?",
                               rule.name, n->value.i, n->value.i, n->value.i));
      diags.SuggestFix(std::to_string(n->value.i), fmt::format("{}%", n->value.i));
    }
  }
}

}  // namespace

void WarnUnsafe(const ast::Program& source, const checked::Program& program, Diagnostics& diags) {
  LiteralAt literals;
  for (const auto& rule : source.rules) IntLiterals(rule.actions, &literals);
  for (const checked::Rule& rule : program.rules) {
    WarnCredits(rule, rule.actions, literals, diags);
    if (rule.when && NeverTrue(*rule.when)) {
      diags.Report(DiagKind::NeverFires, rule.when->range,
                   fmt::format("rule `{}` can never fire: its `when` is false whatever the client or event; "
                               "fix the condition or remove the rule",
                               rule.name));
    }
  }
}

}  // namespace perk
