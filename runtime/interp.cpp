// The reference interpreter: a direct walk of checked expressions. It defines what every
// expression means; the JIT is tested against it.
#include "runtime/interp.h"

#include <functional>

namespace perk::runtime {

PerkStatus EvalAggregate(const checked::AggUse& use, const EvalContext& ctx, Value* out) {
  const checked::AggSlot& slot = ctx.program->agg_slots[use.slot];
  const AggSeries& series = ctx.client->aggs[use.slot];
  Bucket b;
  int64_t key = use.window.LastKey(BucketKey(slot.unit, ctx.now, ctx.program->zone));
  // The window caches are numbered by the program's uses; a use from elsewhere (none today)
  // would fold its buckets directly.
  const auto& uses = ctx.program->aggregates;
  const bool own = !uses.empty() && std::less_equal<>{}(uses.data(), &use) && std::less<>{}(&use, uses.data() + uses.size());
  if (ctx.windows && own) {
    WindowCache* cache = &ctx.windows[ctx.agg_windows->of_use[static_cast<size_t>(&use - uses.data())]];
    if (!QueryCached(series, key, use.window.count, &b, cache)) return PERK_OVERFLOW;
  } else if (!series.Query(key, use.window.count, &b)) {
    return PERK_OVERFLOW;
  }
  out->s.clear();
  if (b.count == 0) {
    out->i = 0;
    return PERK_OK;
  }
  switch (use.kind) {
    case checked::AggKind::Count: out->i = b.count; return PERK_OK;
    case checked::AggKind::Sum: out->i = b.sum; return PERK_OK;
    case checked::AggKind::Highest: out->i = b.max; return PERK_OK;
    case checked::AggKind::Lowest: out->i = b.min; return PERK_OK;
    case checked::AggKind::Avg:
      // An int average is a decimal; decimal and money averages keep their scale.
      if (slot.field_type == Type::Int) return perk_int_div(b.sum, b.count, &out->i);
      return perk_money_div_int(b.sum, b.count, &out->i);
  }
  return PERK_OK;
}

namespace {

// An operation of three operands (stdlib/ops.def: AddTimeIn, SubTimeIn).
PerkStatus EvalOp3(const checked::Expr& e, const EvalContext& ctx, Value* out, SourceRange* where) {
  Value args[3];
  for (size_t k = 0; k < 3; ++k)
    if (PerkStatus s = Eval(e.args[k], ctx, &args[k], where); s != PERK_OK) return s;
  PerkStatus s = ApplyOp(e.op, args, out);
  if (s != PERK_OK) *where = e.range;
  return s;
}

}  // namespace

PerkStatus Eval(const checked::Expr& e, const EvalContext& ctx, Value* out, SourceRange* where) {
  using K = checked::ExprKind;
  switch (e.kind) {
    case K::Const: *out = e.value; return PERK_OK;
    case K::Param: *out = ctx.program->params[e.index].value; return PERK_OK;
    case K::EventField: {
      const Record& r = *ctx.event;
      switch (e.index) {
        case checked::kFieldId: *out = Value::Str(r.id); break;
        case checked::kFieldClient: *out = Value::Str(r.client); break;
        case checked::kFieldTime: *out = Value::Int(r.time); break;
        default: *out = r.fields[e.index]; break;
      }
      return PERK_OK;
    }
    case K::ClientField:
      if (e.index == checked::kClientId) *out = Value::Str(ctx.client->id);
      else if (e.index == checked::kClientSince) *out = Value::Int(ctx.client->since());
      else *out = ctx.client->attrs[e.index];
      return PERK_OK;
    case K::AttrSet: *out = Value::Int(ctx.client->attr_unset[e.index] ? 0 : 1); return PERK_OK;
    case K::Wallet: *out = Value::Int(ctx.client->wallets()[e.index]); return PERK_OK;
    case K::Pending: *out = Value::Int(ctx.client->PendingOf(e.index)); return PERK_OK;
    case K::Var: *out = ctx.client->var(e.index); return PERK_OK;
    case K::Segment: *out = Value::Int(ctx.client->segment(e.index) ? 1 : 0); return PERK_OK;
    case K::CurrentTier: *out = Value::Int(ctx.client->tier()); return PERK_OK;
    case K::PreviousTier: *out = Value::Int(ctx.previous_tier); return PERK_OK;
    case K::Now: *out = Value::Int(ctx.now); return PERK_OK;
    case K::Today: *out = Value::Int(ctx.today); return PERK_OK;
    case K::HasBadge: {
      Value name;
      if (PerkStatus s = Eval(e.args[0], ctx, &name, where); s != PERK_OK) return s;
      *out = Value::Int(ctx.client->HasBadge(name.s) ? 1 : 0);
      return PERK_OK;
    }
    case K::Aggregate: {
      PerkStatus s = EvalAggregate(ctx.program->aggregates[e.index], ctx, out);
      if (s != PERK_OK) *where = e.range;
      return s;
    }
    case K::Op: {
      // [v0.2] The calendar steps in a zone take three operands; two Values for the rest, as
      // every op built one before (a third cost the interpreter several per cent on forex).
      if (e.args.size() > 2) return EvalOp3(e, ctx, out, where);
      Value args[2];
      for (size_t k = 0; k < e.args.size(); ++k)
        if (PerkStatus s = Eval(e.args[k], ctx, &args[k], where); s != PERK_OK) return s;
      PerkStatus s = ApplyOp(e.op, args, out);
      if (s != PERK_OK) *where = e.range;
      return s;
    }
    case K::And:
    case K::Or: {
      if (PerkStatus s = Eval(e.args[0], ctx, out, where); s != PERK_OK) return s;
      if ((e.kind == K::And) != (out->i != 0)) return PERK_OK;
      return Eval(e.args[1], ctx, out, where);
    }
    case K::If: {
      Value c;
      if (PerkStatus s = Eval(e.args[0], ctx, &c, where); s != PERK_OK) return s;
      return Eval(e.args[c.i ? 1 : 2], ctx, out, where);
    }
    case K::In: {
      Value x, item;
      if (PerkStatus s = Eval(e.args[0], ctx, &x, where); s != PERK_OK) return s;
      for (size_t k = 1; k < e.args.size(); ++k) {
        if (PerkStatus s = Eval(e.args[k], ctx, &item, where); s != PERK_OK) return s;
        if (item == x) {
          *out = Value::Int(1);
          return PERK_OK;
        }
      }
      *out = Value::Int(0);
      return PERK_OK;
    }
  }
  return PERK_OK;
}

PerkStatus Evaluator::EvaluateConditions(ConditionSet set, const EvalContext& ctx, uint8_t* results, int* failed,
                                         SourceRange* where) {
  const checked::Program& p = *ctx.program;
  const size_t n = set == ConditionSet::Tiers ? (p.tiers.empty() ? 0 : p.tiers.size() - 1) : p.segments.size();
  for (size_t j = 0; j < n; ++j) {
    const checked::Expr& e = set == ConditionSet::Tiers ? *p.tiers[j + 1].when : p.segments[j].when;
    Value v;
    if (PerkStatus s = Evaluate(e, ctx, &v, where); s != PERK_OK) {
      *failed = static_cast<int>(j);
      return s;
    }
    results[j] = v.i != 0;
  }
  return PERK_OK;
}

PerkStatus InterpEvaluator::Evaluate(const checked::Expr& e, const EvalContext& ctx, Value* out, SourceRange* where) {
  return Eval(e, ctx, out, where);
}

}  // namespace perk::runtime
