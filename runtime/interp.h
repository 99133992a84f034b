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
  // The client's window caches (the engine's; see WindowCache), indexed by
  // AggWindows::of_use. Without them, every aggregate read folds its buckets.
  WindowCache* windows = nullptr;
  const AggWindows* agg_windows = nullptr;
};

// The condition lists the engine re-evaluates as a whole: tiers 1.. (the base tier has no
// condition) and the segments, in declaration order.
enum class ConditionSet { Tiers, Segments };

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
