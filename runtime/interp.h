// The reference interpreter's expression evaluator over the checked AST.
#pragma once

#include "compiler/checked.h"
#include "runtime/records.h"
#include "runtime/state.h"
#include "stdlib/stdlib.h"

namespace perk::runtime {

struct EvalContext {
  const checked::Program* program = nullptr;
  const ClientState* client = nullptr;
  const Record* event = nullptr;  // the trigger event, when there is one
  int64_t now = 0;
  int64_t today = 0;
  int64_t previous_tier = 0;
  // The client's window caches (in its block; see WindowCache), indexed by
  // AggWindows::of_use. Without them, every aggregate read folds its buckets.
  WindowCache* windows = nullptr;
  const AggWindows* agg_windows = nullptr;
};

// The condition lists the engine re-evaluates as a whole: tiers 1.. (the base tier has no
// condition) and the segments, in declaration order.
enum class ConditionSet { Tiers, Segments };

// The engine's side of a native rules run (Evaluator::RunRules): limits and actions are applied
// by the engine's own code whichever engine evaluates, so their effects have one definition.
class RuleHost {
 public:
  virtual ~RuleHost() = default;
  // Whether `rule`'s limit still lets it fire.
  virtual bool LimitOpen(int rule) = 0;
  // Counts a completed firing of `rule` against its limit.
  virtual void LimitAdd(int rule) = 0;
  // Applies `action` (not an `if`) of `rule` with its evaluated values: values[0] is the amount
  // or value, values[k] the k-th data value. False when a budget skip ends the firing. May
  // throw; the evaluator carries the exception across native frames.
  virtual bool Act(int rule, const checked::Action& action, const Value* values) = 0;
};

// What Evaluator::RunRules returns when it has no native entry for the trigger.
constexpr int kNoNativeRules = -1;

// How the engine evaluates checked expressions: the reference interpreter below, or native
// code compiled by the JIT (compiler/jit). Both must give identical results.
class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // Evaluates one top-level expression of the program (a `when`, an action's value, a data
  // value, a tier or segment condition, an aggregate's `where`).
  virtual PerkStatus Evaluate(const checked::Expr& e, const EvalContext& ctx, Value* out, SourceRange* where) = 0;
  // Evaluates every condition of `set` in order into results[j] (0 or 1), stopping at the first
  // runtime error: its j in *failed, where it failed in *where. This one calls Evaluate for
  // each; the JIT's makes one native call.
  virtual PerkStatus EvaluateConditions(ConditionSet set, const EvalContext& ctx, uint8_t* results, int* failed,
                                        SourceRange* where);
  // Runs the rules of a trigger (event `event` for TriggerKind::Event, segment `event` for
  // Entering and Leaving) in one native call, with
  // `host` for limits and actions. Returns PERK_OK; the PerkStatus of a failing expression, its
  // rule in *failed_rule and where in *where; or kNoNativeRules, and the engine runs them.
  virtual int RunRules(checked::TriggerKind trigger, int event, const EvalContext& ctx, RuleHost* host,
                       int* failed_rule, SourceRange* where) {
    (void)trigger, (void)event, (void)ctx, (void)host, (void)failed_rule, (void)where;
    return kNoNativeRules;
  }
};

// The reference interpreter as an Evaluator.
class InterpEvaluator final : public Evaluator {
 public:
  PerkStatus Evaluate(const checked::Expr& e, const EvalContext& ctx, Value* out, SourceRange* where) override;
};

// Evaluates `e`. On a runtime error (overflow, division by zero) returns its status and
// points *where at the sub-expression that failed.
PerkStatus Eval(const checked::Expr& e, const EvalContext& ctx, Value* out, SourceRange* where);

// Evaluates an aggregate use for the context's client at ctx.now.
PerkStatus EvalAggregate(const checked::AggUse& use, const EvalContext& ctx, Value* out);

}  // namespace perk::runtime
