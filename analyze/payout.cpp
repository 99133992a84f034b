// What rules can pay (per firing, per client, per campaign), overlaps between rules, negative
// credits, and the witness streams that demonstrate them.
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "analyze/analyzer.h"
#include "analyze/watchdog.h"
#include "stdlib/stdlib.h"

namespace perk::analyze {

namespace {

using checked::Action;
using checked::Rule;
using checked::TriggerKind;
using checked::Window;
using checked::WindowUnit;

std::string WindowText(const Window& w) {
  if (w.unit == WindowUnit::All) return "";
  const char* unit = "day";
  switch (w.unit) {
    case WindowUnit::Minute: unit = "minute"; break;
    case WindowUnit::Hour: unit = "hour"; break;
    case WindowUnit::Day: unit = "day"; break;
    case WindowUnit::Month: unit = "month"; break;
    case WindowUnit::Year: unit = "year"; break;
    case WindowUnit::All: break;
  }
  return fmt::format("{}{} {}{}", w.previous ? "previous " : "", w.count, unit, w.count == 1 ? "" : "s");
}

Bound Bounded(int64_t value, std::string window, std::string why) {
  Bound b;
  b.state = Bound::State::Bounded;
  b.value = value;
  b.window = std::move(window);
  b.why = std::move(why);
  return b;
}

Bound Unbounded(std::string why) {
  Bound b;
  b.why = std::move(why);
  return b;
}

bool ModelTrue(const z3::model& m, const z3::expr& e) { return m.eval(e, true).is_true(); }

int64_t ModelValue(const z3::model& m, const z3::expr& e) {
  int64_t v = 0;
  m.eval(e, true).is_numeral_i64(v);
  return v;
}

// Interval analysis of an amount, over the checked expression alone (no `when`): enough for the
// usual caps (`min(x, 500 USD)`, constants, `if` branches), which the optimiser handles slowly
// through the roundings. Bounds are widened by one unit around every rounding.
struct Interval {
  __int128 lo, hi;
};
constexpr __int128 kInf = static_cast<__int128>(1) << 100;

__int128 Clamp(__int128 v) { return v > kInf ? kInf : v < -kInf ? -kInf : v; }

std::optional<int64_t> ConstantOf(const checked::Program& program, const checked::Expr& e) {
  if (IsText(e.type)) return std::nullopt;
  if (e.kind == checked::ExprKind::Const) return e.value.i;
  if (e.kind == checked::ExprKind::Param) return program.params[e.index].value.i;
  return std::nullopt;
}

Interval Range(const checked::Program& program, const checked::Expr& e) {
  using checked::ExprKind;
  const Interval any{-kInf, kInf};
  if (auto c = ConstantOf(program, e)) return {*c, *c};
  if (e.kind == ExprKind::If) {
    Interval a = Range(program, e.args[1]), b = Range(program, e.args[2]);
    return {std::min(a.lo, b.lo), std::max(a.hi, b.hi)};
  }
  if (e.kind != ExprKind::Op) return any;
  auto arg = [&](int i) { return Range(program, e.args[i]); };
  auto scaled = [&](Interval x, __int128 num, __int128 den) {
    // x * num / den rounded, num and den constants (den > 0).
    __int128 a = Clamp(x.lo * num / den), b = Clamp(x.hi * num / den);
    if (x.lo <= -kInf || x.hi >= kInf) return any;
    return Interval{std::min(a, b) - 1, std::max(a, b) + 1};
  };
  switch (e.op) {
    case OpCode::Add: {
      Interval a = arg(0), b = arg(1);
      return {Clamp(a.lo + b.lo), Clamp(a.hi + b.hi)};
    }
    case OpCode::Sub: {
      Interval a = arg(0), b = arg(1);
      return {Clamp(a.lo - b.hi), Clamp(a.hi - b.lo)};
    }
    case OpCode::Neg: {
      Interval a = arg(0);
      return {-a.hi, -a.lo};
    }
    case OpCode::Min: {
      Interval a = arg(0), b = arg(1);
      return {std::min(a.lo, b.lo), std::min(a.hi, b.hi)};
    }
    case OpCode::Max: {
      Interval a = arg(0), b = arg(1);
      return {std::max(a.lo, b.lo), std::max(a.hi, b.hi)};
    }
    case OpCode::MulInt:
    case OpCode::MulMoneyInt:
    case OpCode::MulDec:
    case OpCode::MulMoneyDec: {
      const bool dec = e.op == OpCode::MulDec || e.op == OpCode::MulMoneyDec;
      for (int i : {0, 1})
        if (auto k = ConstantOf(program, e.args[i])) return scaled(arg(1 - i), *k, dec ? stdlib::kDecimalScale : 1);
      return any;
    }
    case OpCode::DivMoneyInt:
      if (auto k = ConstantOf(program, e.args[1]); k && *k > 0) return scaled(arg(0), 1, *k);
      return any;
    case OpCode::FloorDec:
    case OpCode::CeilDec:
    case OpCode::RoundDec: return scaled(arg(0), 1, stdlib::kDecimalScale);
    case OpCode::FloorMoney:
    case OpCode::CeilMoney:
    case OpCode::RoundMoney: {
      Interval a = arg(0);
      return {Clamp(a.lo - 100), Clamp(a.hi + 100)};
    }
    default: return any;
  }
}

}  // namespace

std::string Analyzer::Amount(int wallet, int64_t value) const {
  const checked::Wallet& w = program_.wallets[wallet];
  if (w.type == Type::Money) return fmt::format("{} {}", stdlib::FormatMoney(value), program_.currency);
  return fmt::format("{} {}", value, w.name);
}

void Analyzer::BeginPinned(const Rule& rule) {
  tr_.written_by_trigger.clear();
  for (int r : program_.rules_by_event[rule.event]) {
    std::set<std::string> keys;
    std::function<void(const std::vector<Action>&)> walk = [&](const std::vector<Action>& actions) {
      for (const Action& a : actions) {
        switch (a.kind) {
          case checked::ActionKind::Credit:
            keys.insert(fmt::format("w{}", a.target));
            keys.insert(fmt::format("p{}", a.target));
            break;
          case checked::ActionKind::Debit: keys.insert(fmt::format("w{}", a.target)); break;
          case checked::ActionKind::Set: keys.insert(fmt::format("v{}", a.target)); break;
          case checked::ActionKind::Grant: keys.insert("b" + a.name); break;
          default: break;
        }
        walk(a.then_actions);
        walk(a.else_actions);
      }
    };
    walk(program_.rules[r].actions);
    tr_.written_by_trigger.insert(keys.begin(), keys.end());
  }
  tr_.Begin(rule, Mode::Pinned);
}

std::vector<Claim> Analyzer::CreditClaims(const Rule& rule, const RuleFormula& f, const z3::model& m, int wallet) {
  std::vector<Claim> out;
  for (const CreditAt& c : f.credits) {
    if (wallet >= 0 && c.action->target != wallet) continue;
    if (!ModelTrue(m, c.path)) continue;
    int64_t v = ModelValue(m, c.amount);
    if (v <= 0) continue;
    const checked::Wallet& w = program_.wallets[c.action->target];
    out.push_back({true, rule.name, "credit", w.name, w.type == Type::Money ? stdlib::FormatMoney(v) : std::to_string(v)});
  }
  return out;
}

int Analyzer::WitnessFor(const Rule& rule, const std::function<z3::expr(const RuleFormula&)>& goal,
                         const std::function<std::vector<Claim>(const RuleFormula&, const z3::model&)>& claims,
                         const std::string& name, const std::string& about) {
  if (!options_.witnesses || rule.trigger != TriggerKind::Event) return -1;
  // Non-negative event values read better (and are what streams hold); negative ones only when
  // nothing else shows it.
  const bool nonnegative = tr_.nonnegative_inputs;
  z3::model model(ctx_);
  std::optional<RuleFormula> found;
  for (bool prefer : {true, false}) {
    if (!prefer && nonnegative) break;
    tr_.nonnegative_inputs = prefer || nonnegative;
    BeginPinned(rule);
    RuleFormula f = Translate(rule);
    z3::expr g = goal(f);
    if (!tr_.exact()) break;
    if (Check(tr_.constraints(), g, &model) == z3::sat) {
      found.emplace(std::move(f));
      break;
    }
  }
  tr_.nonnegative_inputs = nonnegative;
  if (!found) return -1;
  const RuleFormula& f = *found;
  Witness w;
  w.name = fmt::format("{:02}-{}", report_.witnesses.size() + 1, name);
  w.about = about;
  w.lines = tr_.WitnessRecords(model, "w1");
  w.claims = claims(f, model);
  report_.witnesses.push_back(std::move(w));
  return static_cast<int>(report_.witnesses.size()) - 1;
}

Bound Analyzer::MaxPerFiring(const Rule& rule, const RuleFormula& f, int wallet, const std::vector<z3::expr>& base) {
  z3::expr total = Total(f, [wallet](const Action& a) { return a.target == wallet; });
  // Interval analysis first; the solver then only says whether that bound is reached.
  __int128 interval = 0;
  for (const CreditAt& c : f.credits)
    if (c.action->target == wallet) interval += std::max<__int128>(0, Range(program_, *c.action->value).hi);
  if (interval < (static_cast<__int128>(1) << 62)) {
    const int64_t cap = static_cast<int64_t>(interval);
    std::vector<z3::expr> with_when = base;
    with_when.push_back(f.when);
    if (Check(with_when, total == ctx_.int_val(cap), nullptr) == z3::sat)
      return CapByBudgets(rule, wallet, Bounded(cap, "", "from its credit expressions and `when`"));
  }
  // Past 2^62 units a credit no longer fits any real balance: a plain check answers "unbounded"
  // at once, where the optimiser would search an unbounded objective through the roundings.
  const z3::expr huge = ctx_.int_val(int64_t{1} << 62);
  std::vector<z3::expr> with_when = base;
  with_when.push_back(f.when);
  const z3::check_result past = Check(with_when, total >= huge, nullptr);
  if (past == z3::sat) {
    Bound b = Unbounded("nothing caps the amount: neither the `when` nor a `min(...)` bounds it");
    return CapByBudgets(rule, wallet, b);
  }
  z3::optimize opt(ctx_);
  z3::params p(ctx_);
  p.set("rlimit", options_.effort);
  opt.set(p);
  for (const z3::expr& c : base) opt.add(c);
  opt.add(f.when);
  if (past == z3::unsat) opt.add(total < huge);
  z3::optimize::handle h = opt.maximize(total);
  ++report_.queries;
  z3::check_result r = z3::unknown;
  {
    Watchdog watchdog(ctx_, options_.query_ms);
    r = opt.check();
  }
  Bound b;
  if (r == z3::unknown && interval < (static_cast<__int128>(1) << 62)) {
    b = Bounded(static_cast<int64_t>(interval), "", "from its credit expressions (interval analysis)");
  } else if (r == z3::unknown) {
    ++report_.unknowns;
    b.state = Bound::State::Unknown;
    b.why = fmt::format("the solver gave up at its effort limit ({}, `--effort`)", options_.effort);
  } else if (r == z3::unsat) {
    b = Bounded(0, "", "it can never credit");
  } else {
    int64_t v = 0;
    if (opt.upper(h).is_numeral_i64(v)) {
      b = Bounded(v, "", "from its credit expressions and `when`");
    } else {
      b = Unbounded("nothing caps the amount: neither the `when` nor a `min(...)` bounds it");
    }
  }
  return CapByBudgets(rule, wallet, b);
}

// A budget caps what one firing can credit (a larger credit is skipped, or cut with `partial`).
Bound Analyzer::CapByBudgets(const Rule& rule, int wallet, Bound b) {
  const Type type = program_.wallets[wallet].type;
  auto cap = [&](bool has, Type t, int64_t amount, const char* clause) {
    if (!has || t != type) return;
    if (b.state != Bound::State::Bounded || amount < b.value) b = Bounded(amount, "", fmt::format("its `{}`", clause));
  };
  // A budget `within previous …` is held against what the previous window spent, never against
  // this firing's own credits: it caps nothing here.
  cap(rule.has_budget && !rule.budget_window.previous, rule.budget_type, rule.budget_cents, "budget");
  cap(rule.has_client_budget && !rule.client_budget_window.previous, rule.client_budget_type,
      rule.client_budget_amount, "budget … per client");
  return b;
}

void Analyzer::PerClientAndCampaign(const Rule& rule, Payout* p) {
  std::vector<Bound> candidates;
  if (rule.has_limit && !rule.limit_key && p->per_firing.bounded()) {
    int64_t v = 0;
    if (!__builtin_mul_overflow(rule.limit_count, p->per_firing.value, &v))
      candidates.push_back(Bounded(v, WindowText(rule.limit_window),
                                   fmt::format("`limit {} per client` × the most one firing pays", rule.limit_count)));
  }
  if (rule.has_client_budget && rule.client_budget_type == p->type && !rule.client_budget_window.previous)
    candidates.push_back(Bounded(rule.client_budget_amount, WindowText(rule.client_budget_window), "its `budget … per client`"));
  if (rule.has_budget && rule.budget_type == p->type && !rule.budget_window.previous)
    candidates.push_back(Bounded(rule.budget_cents, WindowText(rule.budget_window), "its `budget` (all clients)"));
  const Bound* best = nullptr;
  for (const Bound& c : candidates) {
    if (!best) {
      best = &c;
      continue;
    }
    // A bound for ever says more than one per window; among equals, the smaller.
    const bool c_ever = c.window.empty(), best_ever = best->window.empty();
    if ((c_ever && !best_ever) || (c_ever == best_ever && c.value < best->value)) best = &c;
  }
  if (best) {
    p->per_client = *best;
  } else if (p->per_firing.state == Bound::State::Unknown) {
    p->per_client = p->per_firing;
  } else {
    std::string why = rule.limit_key ? "its `limit` counts per key, not per client, and it has no `budget … per client` or `budget`"
                                     : "it has no `limit … per client`, no `budget … per client` and no `budget`";
    if (!p->per_firing.bounded() && rule.has_limit) why = "one firing has no bound (" + p->per_firing.why + ")";
    p->per_client = Unbounded(why);
  }
  if (rule.has_budget && rule.budget_type == p->type && !rule.budget_window.previous)
    p->campaign = Bounded(rule.budget_cents, WindowText(rule.budget_window), "its `budget`");
  else if (rule.has_budget && rule.budget_type == p->type)
    p->campaign = Unbounded("its `budget` counts only the previous window, not what the current one pays");
  else
    p->campaign = Unbounded("it has no `budget` clause");
}

void Analyzer::Payouts(const Rule& rule, const RuleFormula& f, const std::vector<z3::expr>& base) {
  std::vector<int> wallets;
  for (const CreditAt& c : f.credits)
    if (std::find(wallets.begin(), wallets.end(), c.action->target) == wallets.end()) wallets.push_back(c.action->target);
  for (int w : wallets) {
    Payout p;
    p.rule = rule.name;
    p.wallet = program_.wallets[w].name;
    p.type = program_.wallets[w].type;
    p.worth = program_.wallets[w].worth;
    for (const CreditAt& c : f.credits)
      if (c.action->target == w) {
        p.range = c.action->range;
        break;
      }
    p.per_firing = MaxPerFiring(rule, f, w, base);
    PerClientAndCampaign(rule, &p);
    const bool priced = p.type == Type::Money || p.worth > 0;
    if (priced && p.per_client.state == Bound::State::Unbounded) {
      Add(FindingKind::UnboundedPayout, p.range, rule.name,
          fmt::format("rule `{}` can pay one client without bound through `{}`: {}; add `limit N per client`, "
                      "`budget M per client` or a cap with `min(...)`",
                      rule.name, p.wallet, p.per_client.why));
    }
    report_.payouts.push_back(std::move(p));
  }
  // Witnesses of the worst cases, and the credits that can be negative, over a first record.
  for (Payout& p : report_.payouts) {
    if (p.rule != rule.name || !p.per_firing.bounded() || p.per_firing.value <= 0) continue;
    int w = -1;
    for (size_t i = 0; i < program_.wallets.size(); ++i)
      if (program_.wallets[i].name == p.wallet) w = static_cast<int>(i);
    const int64_t bound = p.per_firing.value;
    p.witness = WitnessFor(
        rule,
        [&](const RuleFormula& g) {
          return g.when && FitsBudgets(rule, g) &&
                 Total(g, [w](const Action& a) { return a.target == w; }) == ctx_.int_val(bound);
        },
        [&](const RuleFormula& g, const z3::model& m) { return CreditClaims(rule, g, m, w); },
        fmt::format("{}-{}-max", rule.name, p.wallet),
        fmt::format("rule `{}` credits {} to `{}` in one firing", rule.name, Amount(w, bound), p.wallet));
    p.reached = p.witness >= 0;
  }
  NegativeCredits(rule);
}

namespace {

// Whether an amount can go below zero for non-negative inputs at all: only through a
// subtraction, a negation or a negative constant. The rest is not asked (it saves most queries).
bool MayGoNegative(const checked::Program& program, const checked::Expr& e) {
  using checked::ExprKind;
  if (e.kind == ExprKind::Op && (e.op == OpCode::Sub || e.op == OpCode::Neg || e.op == OpCode::SubTime)) return true;
  if (e.kind == ExprKind::Const && !IsText(e.type) && e.value.i < 0) return true;
  if (e.kind == ExprKind::Param && !IsText(e.type) && program.params[e.index].value.i < 0) return true;
  if (e.kind == ExprKind::Wallet || e.kind == ExprKind::Var || e.kind == ExprKind::Aggregate) return true;
  for (const checked::Expr& a : e.args)
    if (MayGoNegative(program, a)) return true;
  return false;
}

}  // namespace

void Analyzer::NegativeCredits(const Rule& rule) {
  if (rule.trigger != TriggerKind::Event) return;
  BeginPinned(rule);
  std::vector<const Action*> credits;
  for (const CreditAt& c : Translate(rule).credits) credits.push_back(c.action);
  for (size_t i = 0; i < credits.size(); ++i) {
    if (!MayGoNegative(program_, *credits[i]->value)) continue;
    tr_.nonnegative_inputs = true;
    const Action* action = nullptr;
    int witness = WitnessFor(
        rule,
        [&](const RuleFormula& g) {
          action = g.credits[i].action;
          z3::expr goal = g.when && g.credits[i].path && g.credits[i].amount < 0;
          // The rule's other credits to the wallet pay nothing, so no credit entry is the claim.
          for (size_t j = 0; j < g.credits.size(); ++j)
            if (j != i && g.credits[j].action->target == action->target)
              goal = goal && !(g.credits[j].path && g.credits[j].amount > 0);
          return goal;
        },
        [&](const RuleFormula&, const z3::model&) {
          return std::vector<Claim>{{false, rule.name, "credit", program_.wallets[action->target].name, ""}};
        },
        fmt::format("{}-negative", rule.name), fmt::format("rule `{}` computes a negative credit", rule.name));
    tr_.nonnegative_inputs = false;
    if (witness < 0) continue;
    report_.witnesses[witness].about =
        fmt::format("rule `{}` computes a negative amount for `{}` and credits nothing", rule.name,
                    program_.wallets[action->target].name);
    Add(FindingKind::NegativeCredit, action->value->range, rule.name,
        fmt::format("rule `{}` can compute a negative credit to `{}` (for non-negative event values), which credits "
                    "nothing; guard it with `when` or `max(..., 0)` if that is meant",
                    rule.name, program_.wallets[action->target].name),
        witness);
  }
}

void Analyzer::Overlaps() {
  if (!options_.witnesses) return;
  for (size_t ev = 0; ev < program_.rules_by_event.size(); ++ev) {
    const std::vector<int>& rules = program_.rules_by_event[ev];
    if (rules.size() < 2) continue;
    tr_.nonnegative_inputs = true;
    BeginPinned(program_.rules[rules[0]]);
    std::vector<RuleFormula> formulas;
    for (int r : rules) {
      tr_.ResetExact();
      RuleFormula f = Translate(program_.rules[r]);
      f.exact = tr_.exact();
      formulas.push_back(std::move(f));
    }
    tr_.nonnegative_inputs = false;
    // One solver for the event: each pair is a push, a check and a pop.
    z3::solver s(ctx_);
    z3::params prm(ctx_);
    prm.set("rlimit", options_.effort);
    s.set(prm);
    for (const z3::expr& c : tr_.constraints()) s.add(c);
    for (size_t i = 0; i < rules.size(); ++i) {
      if (!formulas[i].exact) continue;
      for (size_t j = i + 1; j < rules.size(); ++j) {
        if (!formulas[j].exact) continue;
        int wallet = -1;
        for (const CreditAt& a : formulas[i].credits)
          for (const CreditAt& b : formulas[j].credits)
            if (wallet < 0 && a.action->target == b.action->target) wallet = a.action->target;
        if (wallet < 0) continue;
        const Rule& ri = program_.rules[rules[i]];
        const Rule& rj = program_.rules[rules[j]];
        auto to_w = [wallet](const Action& a) { return a.target == wallet; };
        s.push();
        s.add(formulas[i].when && FitsBudgets(ri, formulas[i]) && Total(formulas[i], to_w) > 0);
        s.add(formulas[j].when && FitsBudgets(rj, formulas[j]) && Total(formulas[j], to_w) > 0);
        ++report_.queries;
        z3::check_result r = z3::unknown;
        {
          Watchdog watchdog(ctx_, options_.query_ms);
          r = s.check();
        }
        if (r == z3::unknown) ++report_.unknowns;
        if (r == z3::sat) {
          z3::model m = s.get_model();
          Witness w;
          w.name = fmt::format("{:02}-overlap-{}-{}", report_.witnesses.size() + 1, ri.name, rj.name);
          w.about = fmt::format("rules `{}` and `{}` both credit `{}` for one `{}`", ri.name, rj.name,
                                program_.wallets[wallet].name, program_.events[ev].name);
          w.lines = tr_.WitnessRecords(m, "w1");
          w.claims = CreditClaims(ri, formulas[i], m, wallet);
          for (Claim& c : CreditClaims(rj, formulas[j], m, wallet)) w.claims.push_back(std::move(c));
          report_.witnesses.push_back(std::move(w));
          Add(FindingKind::Overlap, rj.range, rj.name,
              fmt::format("rules `{}` (line {}) and `{}` can both credit `{}` for one `{}` record; if one bonus per "
                          "record is meant, exclude one rule's condition from the other's",
                          ri.name, ri.range.line, rj.name, program_.wallets[wallet].name, program_.events[ev].name),
              static_cast<int>(report_.witnesses.size()) - 1);
        }
        s.pop();
      }
    }
  }
}

void Analyzer::Totals() {
  std::map<std::string, std::vector<const Payout*>> by_wallet;
  for (const Payout& p : report_.payouts) by_wallet[p.wallet].push_back(&p);
  auto sum = [](const std::vector<std::pair<const Payout*, int64_t>>& parts) {
    Bound total = Bounded(0, "", "the sum of the rules' budgets");
    bool first = true;
    for (const auto& [p, scale] : parts) {
      if (!p->campaign.bounded()) return Unbounded(fmt::format("rule `{}` has no `budget`", p->rule));
      if (!first && p->campaign.window != total.window)
        return Unbounded(fmt::format("the budgets' windows differ (rule `{}`: {})", p->rule,
                                     p->campaign.window.empty() ? "for ever" : "per " + p->campaign.window));
      first = false;
      total.window = p->campaign.window;
      int64_t v = 0;
      if (__builtin_mul_overflow(p->campaign.value, scale, &v) || __builtin_add_overflow(total.value, v, &total.value))
        return Unbounded("the sum does not fit in 64 bits");
    }
    return total;
  };
  std::vector<std::pair<const Payout*, int64_t>> priced;
  for (const checked::Wallet& w : program_.wallets) {
    auto it = by_wallet.find(w.name);
    if (it == by_wallet.end()) continue;
    std::vector<std::pair<const Payout*, int64_t>> parts;
    for (const Payout* p : it->second) parts.push_back({p, 1});
    report_.wallet_totals.push_back({w.name, sum(parts)});
    const int64_t scale = w.type == Type::Money ? 1 : w.worth;
    if (scale > 0)
      for (const Payout* p : it->second) priced.push_back({p, scale});
  }
  report_.program_total = priced.empty() ? Bounded(0, "", "no rule credits money or priced points") : sum(priced);
}

}  // namespace perk::analyze
