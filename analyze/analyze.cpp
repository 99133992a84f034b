// AnalyzeProgram: dead rules, unreachable tiers and segments, payouts, overlaps and suspicious
// arithmetic, each question one solver query over analyze/translate.h's encoding.
#include "analyze/analyze.h"

#include <fmt/format.h>
#include <z3++.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "analyze/analyzer.h"
#include "analyze/translate.h"
#include "analyze/watchdog.h"
#include "stdlib/stdlib.h"

namespace perk::analyze {

namespace {

using checked::Action;
using checked::ActionKind;
using checked::Expr;
using checked::ExprKind;
using checked::Rule;
using checked::TriggerKind;

const FindingKindInfo kInfos[] = {
#define PERK_FINDING(name, code, severity, summary) {#name, code, #severity, summary},
#include "analyze/finding_kinds.def"
#undef PERK_FINDING
};

// Collects what a rule's firing does, translated in action order (a read after a write sees a
// new value).
void Walk(Translator& tr, const std::vector<Action>& actions, const z3::expr& path, RuleFormula* out) {
  for (const Action& a : actions) {
    if (a.kind == ActionKind::If) {
      z3::expr c = tr.Bool(*a.value);
      Walk(tr, a.then_actions, path && c, out);
      Walk(tr, a.else_actions, path && !c, out);
      continue;
    }
    if (a.kind == ActionKind::Credit && a.value) out->credits.push_back({&a, path, tr.Int(*a.value)});
    tr.Written(a);
  }
}

// A rule standing in for the evaluation of tier and segment conditions (no event).
Rule EvaluationContext() {
  Rule r;
  r.trigger = TriggerKind::EveryDay;
  return r;
}

}  // namespace

const FindingKindInfo& Info(FindingKind kind) { return kInfos[static_cast<int>(kind)]; }

const std::vector<FindingKind>& AllFindingKinds() {
  static const std::vector<FindingKind> all = [] {
    std::vector<FindingKind> v;
    for (size_t i = 0; i < std::size(kInfos); ++i) v.push_back(static_cast<FindingKind>(i));
    return v;
  }();
  return all;
}

Analyzer::Analyzer(const checked::Program& program, const AnalyzeOptions& options)
    : program_(program), options_(options), tr_(ctx_, program) {}

z3::check_result Analyzer::Check(const std::vector<z3::expr>& constraints, const z3::expr& goal, z3::model* model) {
  // One solver for the whole analysis, each question a push and a pop: making a solver per
  // question cost more than most questions.
  if (!solver_) {
    solver_.emplace(ctx_);
    z3::params p(ctx_);
    p.set("rlimit", options_.effort);
    solver_->set(p);
  }
  z3::solver& s = *solver_;
  s.push();
  for (const z3::expr& c : constraints) s.add(c);
  s.add(goal);
  ++report_.queries;
  z3::check_result r = z3::unknown;
  {
    Watchdog watchdog(ctx_, options_.query_ms);
    r = s.check();
  }
  if (r == z3::unknown) ++report_.unknowns;
  if (r == z3::sat && model) *model = s.get_model();
  s.pop();
  return r;
}

void Analyzer::Add(FindingKind kind, SourceRange range, const std::string& rule, std::string message, int witness) {
  report_.findings.push_back({kind, range, rule, std::move(message), witness});
}

RuleFormula Analyzer::Translate(const Rule& rule) {
  RuleFormula f{rule.when ? tr_.Bool(*rule.when) : ctx_.bool_val(true), {}, true};
  Walk(tr_, rule.actions, ctx_.bool_val(true), &f);
  return f;
}

z3::expr Analyzer::Total(const RuleFormula& f, const std::function<bool(const Action&)>& which) {
  z3::expr sum = ctx_.int_val(0);
  for (const CreditAt& c : f.credits) {
    if (!which(*c.action)) continue;
    sum = sum + z3::ite(c.path && c.amount > 0, c.amount, ctx_.int_val(0));
  }
  return sum;
}

z3::expr Analyzer::FitsBudgets(const Rule& rule, const RuleFormula& f, bool strict_only) {
  z3::expr fits = ctx_.bool_val(true);
  auto of_type = [&](Type t) {
    return [this, t](const Action& a) { return program_.wallets[a.target].type == t; };
  };
  // A budget `within previous …` is held against the previous window only (see CapByBudgets).
  if (rule.has_budget && !rule.budget_window.previous && !(strict_only && rule.budget_partial))
    fits = fits && Total(f, of_type(rule.budget_type)) <= ctx_.int_val(rule.budget_cents);
  if (rule.has_client_budget && !rule.client_budget_window.previous && !(strict_only && rule.client_budget_partial))
    fits = fits && Total(f, of_type(rule.client_budget_type)) <= ctx_.int_val(rule.client_budget_amount);
  return fits;
}

void Analyzer::Reachability() {
  Rule context = EvaluationContext();
  const auto& tiers = program_.tiers;
  for (size_t k = 1; k < tiers.size(); ++k) {
    if (!tiers[k].when) continue;
    tr_.Begin(context, Mode::Over);
    z3::expr when_k = tr_.Bool(*tiers[k].when);
    z3::check_result r = Check(tr_.constraints(), when_k, nullptr);
    if (r == z3::unsat) {
      tr_.unreachable_tiers.insert(static_cast<int>(k));
      Add(FindingKind::TierUnreachable, tiers[k].when->range, "",
          fmt::format("tier `{}` can never be reached: its condition can never hold; fix the condition or remove the tier",
                      tiers[k].name));
      continue;
    }
    // A higher tier that qualifies whenever this one does, for at least as long, always wins.
    const bool exact_hold = tiers[k].hold_calendar == 0;
    for (size_t j = k + 1; j < tiers.size() && exact_hold; ++j) {
      if (!tiers[j].when || tiers[j].hold_calendar != 0 || tiers[j].hold_micros < tiers[k].hold_micros) continue;
      tr_.Begin(context, Mode::Over);
      z3::expr a = tr_.Bool(*tiers[k].when);
      z3::expr b = tr_.Bool(*tiers[j].when);
      if (Check(tr_.constraints(), a && !b, nullptr) == z3::unsat) {
        tr_.unreachable_tiers.insert(static_cast<int>(k));
        Add(FindingKind::TierUnreachable, tiers[k].when->range, "",
            fmt::format("tier `{}` can never be reached: whenever its condition holds, the higher tier `{}` qualifies too "
                        "(for at least as long); make `{}`'s condition stricter than `{}`'s",
                        tiers[k].name, tiers[j].name, tiers[j].name, tiers[k].name));
        break;
      }
    }
  }
  for (size_t s = 0; s < program_.segments.size(); ++s) {
    tr_.Begin(context, Mode::Over);
    z3::expr when = tr_.Bool(program_.segments[s].when);
    if (Check(tr_.constraints(), when, nullptr) == z3::unsat) {
      tr_.never_entered_segments.insert(static_cast<int>(s));
      Add(FindingKind::SegmentNeverEntered, program_.segments[s].when.range, "",
          fmt::format("segment `{}` can never be entered: its condition can never hold", program_.segments[s].name));
    }
  }
}

bool Analyzer::TriggerCanHappen(const Rule& rule) {
  size_t reachable_tiers = program_.tiers.empty() ? 1 : program_.tiers.size() - tr_.unreachable_tiers.size();
  std::string why;
  if (rule.trigger == TriggerKind::TierChanged && reachable_tiers < 2)
    why = program_.tiers.size() < 2 ? "the program has fewer than two tiers" : "no tier but the base tier can be reached";
  if ((rule.trigger == TriggerKind::Entering || rule.trigger == TriggerKind::Leaving) &&
      tr_.never_entered_segments.count(rule.segment))
    why = fmt::format("segment `{}` can never be entered", program_.segments[rule.segment].name);
  if (why.empty()) return true;
  Add(FindingKind::TriggerNeverHappens, rule.range, rule.name,
      fmt::format("rule `{}` can never fire: {}", rule.name, why));
  return false;
}

void Analyzer::RuleFacts(const Rule& rule) {
  if (!TriggerCanHappen(rule)) return;
  tr_.Begin(rule, Mode::Over);
  RuleFormula f = Translate(rule);
  std::vector<z3::expr> base = tr_.constraints();
  if (rule.trigger == TriggerKind::TierChanged) base.push_back(ctx_.int_const("tier") != ctx_.int_const("previous_tier"));
  if (rule.trigger == TriggerKind::Entering) base.push_back(ctx_.int_const(fmt::format("s{}", rule.segment).c_str()) == 1);
  if (rule.trigger == TriggerKind::Leaving) base.push_back(ctx_.int_const(fmt::format("s{}", rule.segment).c_str()) == 0);
  const SourceRange at = rule.when ? rule.when->range : rule.range;
  z3::check_result r = Check(base, f.when, nullptr);
  if (r == z3::unsat) {
    Add(FindingKind::NeverFires, at, rule.name,
        fmt::format("rule `{}` can never fire: its `when` can never hold (given the types, the params' values and what "
                    "the tiers and segments can be); fix the condition or remove the rule",
                    rule.name));
    return;
  }
  if (r == z3::unknown) {
    Add(FindingKind::Unknown, at, rule.name,
        fmt::format("could not decide within the solver's effort limit ({}, `--effort`) whether rule `{}` can "
                    "fire; nothing is claimed about it",
                    options_.effort, rule.name));
  }
  // Every firing asks more than a fresh budget holds (a `partial` one cuts instead): none ever
  // completes.
  const bool strict_budget = (rule.has_budget && !rule.budget_partial) || (rule.has_client_budget && !rule.client_budget_partial);
  if (strict_budget && !f.credits.empty() && Check(base, f.when && FitsBudgets(rule, f, true), nullptr) == z3::unsat) {
    Add(FindingKind::BudgetStopsRule, rule.range, rule.name,
        fmt::format("rule `{}` can never complete a firing: every firing would credit more than its budget, so each "
                    "is skipped; raise the budget or cap the credit",
                    rule.name));
    return;
  }
  Payouts(rule, f, base);
}

void Analyzer::Arithmetic(const Rule& rule, const std::vector<Action>& actions) {
  for (const Action& a : actions) {
    Arithmetic(rule, a.then_actions);
    Arithmetic(rule, a.else_actions);
    if (a.kind != ActionKind::Credit || !a.value) continue;
    std::vector<const Expr*> stack{&*a.value};
    while (!stack.empty()) {
      const Expr* e = stack.back();
      stack.pop_back();
      for (const Expr& x : e->args) stack.push_back(&x);
      // A rate above 100% of a money amount: a literal or param folded to a constant decimal.
      if (e->kind == ExprKind::Op && e->op == OpCode::MulMoneyDec) {
        const Expr& rate = e->args[1];
        const bool constant = rate.kind == ExprKind::Const || rate.kind == ExprKind::Param;
        const int64_t v = rate.kind == ExprKind::Param ? program_.params[rate.index].value.i : rate.value.i;
        if (constant && v > stdlib::kDecimalScale)
          Add(FindingKind::PercentOver100, rate.range, rule.name,
              fmt::format("rule `{}` credits {}% of a money amount, more than the amount itself; did you mean {}%?",
                          rule.name, stdlib::FormatDecimal(v * 100), stdlib::FormatDecimal(v)));
      }
      // The checker folds constants, so a constant int here was written as one (or as arithmetic
      // of literals, which is as suspicious).
      if (e->kind == ExprKind::Op && e->op == OpCode::MulMoneyInt) {
        const Expr& n = e->args[1];
        if (n.kind == ExprKind::Const && n.value.i >= 2)
          Add(FindingKind::MoneyTimesLargeInt, n.range, rule.name,
              fmt::format("rule `{}` credits money multiplied by {}, {} times the amount; did you mean `{}%`?", rule.name,
                          n.value.i, n.value.i, n.value.i));
      }
    }
  }
}

Report Analyzer::Run() {
  try {
    Reachability();
    for (const Rule& rule : program_.rules) {
      Arithmetic(rule, rule.actions);
      RuleFacts(rule);
    }
    Overlaps();
    Totals();
  } catch (const z3::exception& e) {
    Add(FindingKind::Unknown, SourceRange{}, "", fmt::format("the solver failed: {}; the report is incomplete", e.msg()));
  }
  std::stable_sort(report_.findings.begin(), report_.findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.range.line, a.range.column) < std::tie(b.range.line, b.range.column);
  });
  return std::move(report_);
}

Report AnalyzeProgram(const checked::Program& program, const AnalyzeOptions& options) {
  Analyzer analyzer(program, options);
  return analyzer.Run();
}

}  // namespace perk::analyze
