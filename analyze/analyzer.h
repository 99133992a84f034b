// The analyzer's state while it walks one program: the solver context, the translation, and
// the report being built. Internal to analyze/ (analyze.cpp asks the questions about rules,
// tiers and segments; payout.cpp about amounts, overlaps and witnesses).
#pragma once

#include <z3++.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "analyze/analyze.h"
#include "analyze/translate.h"

namespace perk::analyze {

// A credit a firing may make: taken when `path` holds, of `amount` (credits nothing when <= 0).
struct CreditAt {
  const checked::Action* action;
  z3::expr path;
  z3::expr amount;
};

struct RuleFormula {
  z3::expr when;
  std::vector<CreditAt> credits;
  bool exact = true;  // Pinned mode: a model of it is a real first record
};

class Analyzer {
 public:
  Analyzer(const checked::Program& program, const AnalyzeOptions& options);
  Report Run();

 private:
  z3::check_result Check(const std::vector<z3::expr>& constraints, const z3::expr& goal, z3::model* model);
  void Add(FindingKind kind, SourceRange range, const std::string& rule, std::string message, int witness = -1);
  RuleFormula Translate(const checked::Rule& rule);
  z3::expr Total(const RuleFormula& f, const std::function<bool(const checked::Action&)>& which);
  // The credits of one firing fit the rule's budgets while they are full (with `strict_only`,
  // only the budgets without `partial`, which skip a firing rather than cut it).
  z3::expr FitsBudgets(const checked::Rule& rule, const RuleFormula& f, bool strict_only = false);

  void Reachability();
  bool TriggerCanHappen(const checked::Rule& rule);
  void RuleFacts(const checked::Rule& rule);
  void Arithmetic(const checked::Rule& rule, const std::vector<checked::Action>& actions);

  // payout.cpp
  void Payouts(const checked::Rule& rule, const RuleFormula& f, const std::vector<z3::expr>& base);
  Bound MaxPerFiring(const checked::Rule& rule, const RuleFormula& f, int wallet, const std::vector<z3::expr>& base);
  Bound CapByBudgets(const checked::Rule& rule, int wallet, Bound b);
  void PerClientAndCampaign(const checked::Rule& rule, Payout* p);
  // Pinned-mode questions about `rule` on its event: a witness for `goal`, or -1.
  int WitnessFor(const checked::Rule& rule, const std::function<z3::expr(const RuleFormula&)>& goal,
                 const std::function<std::vector<Claim>(const RuleFormula&, const z3::model&)>& claims,
                 const std::string& name, const std::string& about);
  void NegativeCredits(const checked::Rule& rule);
  void Overlaps();
  void Totals();
  std::vector<Claim> CreditClaims(const checked::Rule& rule, const RuleFormula& f, const z3::model& m, int wallet);
  std::string Amount(int wallet, int64_t value) const;
  void BeginPinned(const checked::Rule& rule);

  const checked::Program& program_;
  AnalyzeOptions options_;
  z3::context ctx_;
  Translator tr_;
  Report report_;
  std::optional<z3::solver> solver_;
};

}  // namespace perk::analyze
