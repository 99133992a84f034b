// The JIT's native functions as an Evaluator: fills the ABI context of compiler/jit.h from the
// engine's state, calls, and copies the result out.
#include "compiler/jit.h"

#include <cstddef>
#include <exception>
#include <utility>

#include "runtime/engine.h"
#include "runtime/interp.h"

namespace perk::runtime {

// Compiled code reads the engine's window caches in place (compiler/jit.h).
static_assert(sizeof(WindowCache) == sizeof(jit::WindowView));
static_assert(offsetof(WindowCache, from) == offsetof(jit::WindowView, from));
static_assert(offsetof(WindowCache, until) == offsetof(jit::WindowView, until));
static_assert(offsetof(WindowCache, fold) + offsetof(Bucket, key) == offsetof(jit::WindowView, key));
static_assert(offsetof(WindowCache, fold) + offsetof(Bucket, count) == offsetof(jit::WindowView, count));
static_assert(offsetof(WindowCache, fold) + offsetof(Bucket, sum) == offsetof(jit::WindowView, sum));
static_assert(offsetof(WindowCache, fold) + offsetof(Bucket, min) == offsetof(jit::WindowView, min));
static_assert(offsetof(WindowCache, fold) + offsetof(Bucket, max) == offsetof(jit::WindowView, max));

namespace {

PerkStatus AggregateCallback(const void* runtime, int32_t use, int64_t* out) {
  const auto* ctx = static_cast<const EvalContext*>(runtime);
  Value v;
  PerkStatus s = EvalAggregate(ctx->program->aggregates[use], *ctx, &v);
  *out = v.i;
  return s;
}

int32_t HasBadgeCallback(const void* runtime, const char* data, int64_t size) {
  const auto* ctx = static_cast<const EvalContext*>(runtime);
  return ctx->client->HasBadge(std::string_view(data, static_cast<size_t>(size))) ? 1 : 0;
}

int64_t PendingCallback(const void* runtime, int32_t wallet) {
  return static_cast<const EvalContext*>(runtime)->client->PendingOf(wallet);
}

jit::Str Slice(const std::string& s) { return jit::Str{s.data(), static_cast<int64_t>(s.size())}; }
// Field by field: GCC built an empty Str on the stack and copied it with one 16-byte load of
// the two 8-byte stores, which stalls on store forwarding (a third of
// JitEvaluator::Evaluate's samples).
void SetEmpty(jit::Str* s) {
  s->data = "";
  s->size = 0;
}

// What of the context a compiled expression reads besides the client's block. A day tick
// evaluates a handful of expressions per client; filling only their inputs keeps the tick from
// touching the client's other cache lines (measured: half of the tick's time went to those
// first touches).
enum Uses : uint8_t {
  kUsesEvent = 1,
  kUsesAttrs = 2,
  kUsesVarText = 4,
  kUsesClientId = 8,
};

uint8_t UsesOf(const checked::Expr& e) {
  using K = checked::ExprKind;
  uint8_t uses = 0;
  switch (e.kind) {
    case K::EventField: uses |= kUsesEvent; break;
    case K::ClientField:
      if (e.index == checked::kClientId) uses |= kUsesClientId;
      else if (e.index != checked::kClientSince) uses |= kUsesAttrs;
      break;
    case K::AttrSet: uses |= kUsesAttrs; break;
    case K::Var:
      if (IsText(e.type)) uses |= kUsesVarText;
      break;
    default: break;
  }
  for (const auto& arg : e.args) uses |= UsesOf(arg);
  return uses;
}

class JitEvaluator final : public Evaluator {
 public:
  JitEvaluator(std::unique_ptr<jit::CompiledProgram> code, const checked::Program& program)
      : code_(std::move(code)), program_(program) {
    for (const checked::Expr* e : checked::TopLevelExpressions(program)) uses_.push_back(UsesOf(*e));
    for (size_t k = 1; k < program.tiers.size(); ++k) tier_uses_ |= UsesOf(*program.tiers[k].when);
    for (const auto& sg : program.segments) segment_uses_ |= UsesOf(sg.when);
    rule_uses_.resize(program.rules.size());
    for (size_t r = 0; r < program.rules.size(); ++r) {
      const checked::Rule& rule = program.rules[r];
      if (rule.when) rule_uses_[r] |= UsesOf(*rule.when);
      rule_uses_[r] |= ActionUses(rule.actions);
    }
    hooks_.host = this;
    hooks_.limit_open = &LimitOpenHook;
    hooks_.act = &ActHook;
    hooks_.limit_add = &LimitAddHook;
  }

  int RunRules(checked::TriggerKind trigger, int event, const EvalContext& ctx, RuleHost* host, int* failed_rule,
               SourceRange* where) override {
    if (ctx.program != &program_) return kNoNativeRules;
    jit::TriggerFn fn = nullptr;
    const std::vector<int>* rules = nullptr;
    switch (trigger) {
      case checked::TriggerKind::Event:
        fn = code_->EventRules(static_cast<size_t>(event));
        rules = &program_.rules_by_event[static_cast<size_t>(event)];
        break;
      case checked::TriggerKind::Reversed:
        fn = code_->ReversedRules(static_cast<size_t>(event));
        rules = &program_.reversed_rules_by_event[static_cast<size_t>(event)];
        break;
      case checked::TriggerKind::TierChanged:
        fn = code_->TierChangedRules();
        rules = &program_.tier_changed_rules;
        break;
      case checked::TriggerKind::EveryDay:
      case checked::TriggerKind::EveryWeek:
      case checked::TriggerKind::EveryMonth:
        // A day tick's rules: `event` is the day's checked::DayKind when the program has
        // `every week` or `every month` rules, else -1 (every day only).
        fn = event > 0 ? code_->DayTickRules(event) : code_->DailyRules();
        rules = event > 0 ? &program_.day_tick_rules[event] : &program_.daily_rules;
        break;
      case checked::TriggerKind::Entering:
      case checked::TriggerKind::Leaving: {
        // `event` is the segment here.
        const bool entering = trigger == checked::TriggerKind::Entering;
        const auto& by_segment = entering ? program_.entering_rules : program_.leaving_rules;
        if (static_cast<size_t>(event) >= by_segment.size()) return kNoNativeRules;
        fn = code_->SegmentRules(static_cast<size_t>(event), entering);
        rules = &by_segment[static_cast<size_t>(event)];
        break;
      }
    }
    if (!fn) return kNoNativeRules;
    uint8_t uses = 0;
    for (int r : *rules) uses |= rule_uses_[static_cast<size_t>(r)];
    jit::Context c;
    Fill(ctx, uses, &c);
    c.hooks = &hooks_;
    host_ = host;
    int32_t failed = -1;
    int32_t status = fn(&c, &failed);
    host_ = nullptr;
    arena_.Clear();
    if (hook_error_) std::rethrow_exception(std::exchange(hook_error_, nullptr));
    if (status != PERK_OK) {
      *failed_rule = failed;
      *where = code_->ErrorSite(c.error_site);
    }
    return status;
  }

  PerkStatus EvaluateConditions(ConditionSet set, const EvalContext& ctx, uint8_t* results, int* failed,
                                SourceRange* where) override {
    // Only for this program's own conditions (the REPL swaps programs under evaluators).
    if (ctx.program != &program_) return Evaluator::EvaluateConditions(set, ctx, results, failed, where);
    const bool tiers = set == ConditionSet::Tiers;
    jit::BatchFn fn = tiers ? code_->TierConditions() : code_->SegmentConditions();
    jit::Context c;
    Fill(ctx, tiers ? tier_uses_ : segment_uses_, &c);
    int32_t index = 0;
    auto status = static_cast<PerkStatus>(fn(&c, results, &index));
    arena_.Clear();
    if (status != PERK_OK) {
      *failed = index;
      *where = code_->ErrorSite(c.error_site);
    }
    return status;
  }

  PerkStatus Evaluate(const checked::Expr& e, const EvalContext& ctx, Value* out, SourceRange* where) override {
    jit::NativeFn fn = code_->Find(&e);
    // Only expressions from outside the program (the REPL's) are not compiled.
    if (!fn) return Eval(e, ctx, out, where);
    jit::Context c;
    Fill(ctx, uses_[static_cast<size_t>(e.top_index)], &c);
    jit::Result r;
    auto status = static_cast<PerkStatus>(fn(&c, &r));
    if (status != PERK_OK) {
      *where = code_->ErrorSite(c.error_site);
      if (!host_) arena_.Clear();
      return status;
    }
    if (IsText(e.type)) {
      out->i = 0;
      out->s.assign(r.data, static_cast<size_t>(r.size));
      // Called from a hook (a keyed limit's key) inside a trigger entry, whose strings live in
      // the arena until that entry returns.
      if (!host_) arena_.Clear();
    } else {
      out->i = r.i;
      out->s.clear();
    }
    return PERK_OK;
  }

 private:
  static uint8_t ActionUses(const std::vector<checked::Action>& actions) {
    uint8_t uses = 0;
    for (const auto& a : actions) {
      if (a.value) uses |= UsesOf(*a.value);
      for (const auto& d : a.data) uses |= UsesOf(d.value);
      uses |= ActionUses(a.then_actions) | ActionUses(a.else_actions);
    }
    return uses;
  }

  // The hooks of trigger entries (compiler/jit.h). They run between native frames, so no
  // exception may leave them: one is kept and rethrown once the native call has returned.
  static int32_t LimitOpenHook(void* self, int32_t rule) {
    auto* e = static_cast<JitEvaluator*>(self);
    try {
      return e->host_->LimitOpen(rule) ? 1 : 0;
    } catch (...) {
      // Cannot fail today; if it did, a closed limit is the safe answer and the error is kept.
      e->hook_error_ = std::current_exception();
      return 0;
    }
  }
  static void LimitAddHook(void* self, int32_t rule) {
    auto* e = static_cast<JitEvaluator*>(self);
    try {
      e->host_->LimitAdd(rule);
    } catch (...) {
      e->hook_error_ = std::current_exception();
    }
  }
  static int32_t ActHook(void* self, int32_t rule, const void* action, const jit::Result* results) {
    auto* e = static_cast<JitEvaluator*>(self);
    const auto& a = *static_cast<const checked::Action*>(action);
    try {
      if (e->hook_error_) return jit::kHookFailed;
      size_t n = std::max<size_t>(1, checked::ValueCount(a));
      if (e->values_.size() < n) e->values_.resize(n);
      if (a.value) Copy(a.value->type, results[0], &e->values_[0]);
      for (size_t k = 0; k < a.data.size(); ++k) {
        const size_t slot = checked::DataSlot(a, k);
        Copy(a.data[k].value.type, results[slot], &e->values_[slot]);
      }
      return e->host_->Act(rule, a, e->values_.data()) ? PERK_OK : jit::kRuleStopped;
    } catch (...) {
      e->hook_error_ = std::current_exception();
      return jit::kHookFailed;
    }
  }
  static void Copy(Type type, const jit::Result& r, Value* out) {
    if (IsText(type)) {
      out->i = 0;
      out->s.assign(r.data, static_cast<size_t>(r.size));
    } else {
      out->i = r.i;
      out->s.clear();
    }
  }

  // The ABI context for an evaluation, with only the inputs in `uses` filled in.
  void Fill(const EvalContext& ctx, uint8_t uses, jit::Context* out) {
    jit::Context& c = *out;
    const ClientState& client = *ctx.client;
    if ((uses & kUsesEvent) && ctx.event) {
      c.event_fields = ctx.event->fields.data();
      c.event_time = ctx.event->time;
      c.event_id = Slice(ctx.event->id);
      c.event_client = Slice(ctx.event->client);
    } else {
      c.event_fields = nullptr;
      c.event_time = 0;
      SetEmpty(&c.event_id);
      SetEmpty(&c.event_client);
    }
    c.client = client.slots.data();
    c.attrs = uses & kUsesAttrs ? client.attrs.data() : nullptr;
    c.attr_unset = uses & kUsesAttrs ? client.attr_unset.data() : nullptr;
    c.var_text = uses & kUsesVarText ? client.var_text.data() : nullptr;
    c.previous_tier = ctx.previous_tier;
    c.now = ctx.now;
    c.today = ctx.today;
    if (uses & kUsesClientId) {
      c.client_id = Slice(client.id);
    } else {
      SetEmpty(&c.client_id);
    }
    c.windows = reinterpret_cast<const jit::WindowView*>(ctx.windows);
    c.runtime = &ctx;
    c.aggregate = &AggregateCallback;
    c.has_badge = &HasBadgeCallback;
    c.pending = &PendingCallback;
    c.arena = &arena_;
    c.hooks = nullptr;
    c.error_site = -1;
  }

  std::unique_ptr<jit::CompiledProgram> code_;
  const checked::Program& program_;
  std::vector<uint8_t> uses_;  // by top_index
  uint8_t tier_uses_ = 0, segment_uses_ = 0;
  std::vector<uint8_t> rule_uses_;  // by rule: what its `when` and action values read
  jit::StringArena arena_;
  jit::RuleHooks hooks_{};
  RuleHost* host_ = nullptr;  // during a trigger entry
  std::exception_ptr hook_error_;
  std::vector<Value> values_;  // an action's values, for the host
};

}  // namespace

std::unique_ptr<Evaluator> CreateEvaluator(EngineKind kind, const checked::Program& program, std::string* error,
                                           int jit_ir, std::optional<std::string> jit_cache) {
  if (kind == EngineKind::Interp) return std::make_unique<InterpEvaluator>();
  jit::Options options;
  options.opt_level = jit_ir;
  options.cache_dir = std::move(jit_cache);
  auto code = jit::CompiledProgram::Compile(program, options, error);
  if (!code) return nullptr;
  return std::make_unique<JitEvaluator>(std::move(code), program);
}

}  // namespace perk::runtime
