// Lowering of checked expressions to LLVM IR and their compilation with ORC LLJIT.
//
// Each top-level expression becomes `i32 @perk_eN(ptr %ctx, ptr %out)`. Values are i64 (every
// non-string type, at the scales of stdlib.h) or a (ptr, i64) string slice. The lowering follows
// the reference interpreter (runtime/interp.cpp) step for step: operands left to right, `and`,
// `or`, `if` and `in` evaluated lazily, and a failing operation reports the range of the same
// sub-expression, so both engines reject the same records with the same words.
#include "compiler/jit.h"

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/Bitcode/BitcodeWriter.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Transforms/Scalar/EarlyCSE.h>
#include <llvm/Transforms/Scalar/SROA.h>
#include <llvm/Transforms/Scalar/SimplifyCFG.h>
#include <llvm/MC/MCContext.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <string_view>
#include <unordered_map>

#include "compiler/jit_cache.h"
#include "stdlib/zone.h"

namespace perk::jit {

Str StringArena::Keep(std::string s) {
  strings_.push_back(std::make_unique<std::string>(std::move(s)));
  const std::string& kept = *strings_.back();
  return Str{kept.data(), static_cast<int64_t>(kept.size())};
}

namespace {

// ---- helpers native code calls (plain C signatures; their addresses are given to the JIT) ----

int32_t StrCompare(const char* a, int64_t an, const char* b, int64_t bn) {
  int c = std::string_view(a, an).compare(std::string_view(b, bn));
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}
int32_t StrStartsWith(const char* a, int64_t an, const char* b, int64_t bn) {
  return stdlib::StartsWith(std::string_view(a, an), std::string_view(b, bn)) ? 1 : 0;
}
int32_t StrContains(const char* a, int64_t an, const char* b, int64_t bn) {
  return stdlib::Contains(std::string_view(a, an), std::string_view(b, bn)) ? 1 : 0;
}
void StrLower(void* arena, const char* a, int64_t an, Str* out) {
  *out = static_cast<StringArena*>(arena)->Keep(stdlib::Lower(std::string_view(a, an)));
}
void StrUpper(void* arena, const char* a, int64_t an, Str* out) {
  *out = static_cast<StringArena*>(arena)->Keep(stdlib::Upper(std::string_view(a, an)));
}

enum class Sig { Status1, Status2, Status3, Pure1, Pure2, Pure3, StrCmp, StrMap };

struct Helper {
  const char* name;
  void* address;
  Sig sig;
};

const Helper kHelpers[] = {
    {"perk_int_div", reinterpret_cast<void*>(&perk_int_div), Sig::Status2},
    {"perk_int_mod", reinterpret_cast<void*>(&perk_int_mod), Sig::Status2},
    {"perk_dec_mul", reinterpret_cast<void*>(&perk_dec_mul), Sig::Status2},
    {"perk_dec_div", reinterpret_cast<void*>(&perk_dec_div), Sig::Status2},
    {"perk_dec_floor", reinterpret_cast<void*>(&perk_dec_floor), Sig::Status1},
    {"perk_dec_ceil", reinterpret_cast<void*>(&perk_dec_ceil), Sig::Status1},
    {"perk_dec_round", reinterpret_cast<void*>(&perk_dec_round), Sig::Status1},
    {"perk_money_mul_int", reinterpret_cast<void*>(&perk_money_mul_int), Sig::Status2},
    {"perk_money_mul_dec", reinterpret_cast<void*>(&perk_money_mul_dec), Sig::Status2},
    {"perk_money_div_int", reinterpret_cast<void*>(&perk_money_div_int), Sig::Status2},
    {"perk_money_div_dec", reinterpret_cast<void*>(&perk_money_div_dec), Sig::Status2},
    {"perk_money_div_money", reinterpret_cast<void*>(&perk_money_div_money), Sig::Status2},
    {"perk_money_floor", reinterpret_cast<void*>(&perk_money_floor), Sig::Status1},
    {"perk_money_ceil", reinterpret_cast<void*>(&perk_money_ceil), Sig::Status1},
    {"perk_money_round", reinterpret_cast<void*>(&perk_money_round), Sig::Status1},
    {"perk_time_date", reinterpret_cast<void*>(&perk_time_date), Sig::Pure1},
    {"perk_time_add", reinterpret_cast<void*>(&perk_time_add), Sig::Status2},
    {"perk_time_sub", reinterpret_cast<void*>(&perk_time_sub), Sig::Status2},
    {"perk_days_between", reinterpret_cast<void*>(&perk_days_between), Sig::Pure2},
    {"perk_anniversary", reinterpret_cast<void*>(&perk_anniversary), Sig::Pure2},
    // [v0.2] The calendar in a zone (stdlib/zone.h); pure, though they cache zone lookups.
    {"perk_tz_date", reinterpret_cast<void*>(&perk_tz_date), Sig::Pure2},
    {"perk_tz_hour", reinterpret_cast<void*>(&perk_tz_hour), Sig::Pure2},
    {"perk_tz_minute", reinterpret_cast<void*>(&perk_tz_minute), Sig::Pure2},
    {"perk_tz_bucket", reinterpret_cast<void*>(&perk_tz_bucket), Sig::Pure3},
    {"perk_tz_add", reinterpret_cast<void*>(&perk_tz_add), Sig::Status3},
    {"perk_tz_sub", reinterpret_cast<void*>(&perk_tz_sub), Sig::Status3},
    {"perk_date_add", reinterpret_cast<void*>(&perk_date_add), Sig::Status2},
    {"perk_date_sub", reinterpret_cast<void*>(&perk_date_sub), Sig::Status2},
    {"perk_date_year", reinterpret_cast<void*>(&perk_date_year), Sig::Pure1},
    {"perk_date_month", reinterpret_cast<void*>(&perk_date_month), Sig::Pure1},
    {"perk_date_day", reinterpret_cast<void*>(&perk_date_day), Sig::Pure1},
    {"perk_date_weekday", reinterpret_cast<void*>(&perk_date_weekday), Sig::Pure1},
    {"perk_years_between", reinterpret_cast<void*>(&perk_years_between), Sig::Pure2},
    {"perk_jit_str_compare", reinterpret_cast<void*>(&StrCompare), Sig::StrCmp},
    {"perk_jit_str_starts_with", reinterpret_cast<void*>(&StrStartsWith), Sig::StrCmp},
    {"perk_jit_str_contains", reinterpret_cast<void*>(&StrContains), Sig::StrCmp},
    {"perk_jit_str_lower", reinterpret_cast<void*>(&StrLower), Sig::StrMap},
    {"perk_jit_str_upper", reinterpret_cast<void*>(&StrUpper), Sig::StrMap},
};

// Where perk::Value keeps its parts. Native code reads Values in place, so the layout of
// std::string (pointer, then length) is checked on this build before anything is compiled.
struct ValueLayout {
  int64_t size = sizeof(Value);
  int64_t str = 0;  // offset of the std::string's data pointer; its length follows it
  int64_t string_size = sizeof(std::string);  // the stride of a std::string array (string vars)
};

bool CheckValueLayout(ValueLayout* layout) {
  for (const char* text : {"short", "a string long enough to live outside any small-string buffer"}) {
    Value v = Value::Str(text);
    v.i = 42;
    const char* base = reinterpret_cast<const char*>(&v);
    layout->str = reinterpret_cast<const char*>(&v.s) - base;
    const char* data;
    int64_t size;
    std::memcpy(&data, base + layout->str, sizeof data);
    std::memcpy(&size, base + layout->str + 8, sizeof size);
    int64_t i;
    std::memcpy(&i, base, sizeof i);
    if (data != v.s.data() || size != static_cast<int64_t>(v.s.size()) || i != 42) return false;
  }
  return true;
}

double Millis(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count();
}

// ---- lowering ----

class Lowering {
 public:
  Lowering(const checked::Program& program, llvm::Module& module, const ValueLayout& layout,
           std::vector<SourceRange>* sites, int32_t site_base, std::vector<const checked::Action*>* actions)
      : program_(program),
        windows_(checked::AggWindowsOf(program)),
        client_(checked::ClientLayoutOf(program)),
        module_(module),
        c_(module.getContext()),
        b_(c_),
        layout_(layout),
        sites_(sites),
        site_base_(site_base),
        actions_(actions),
        i1_(llvm::Type::getInt1Ty(c_)),
        i8_(llvm::Type::getInt8Ty(c_)),
        i32_(llvm::Type::getInt32Ty(c_)),
        i64_(llvm::Type::getInt64Ty(c_)),
        ptr_(llvm::PointerType::get(c_, 0)) {}

  void Function(const checked::Expr& e, const std::string& name) {
    auto* type = llvm::FunctionType::get(i32_, {ptr_, ptr_}, false);
    fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, module_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    ctx_ = fn_->getArg(0);
    llvm::Value* out = fn_->getArg(1);
    entry_ = llvm::BasicBlock::Create(c_, "entry", fn_);
    b_.SetInsertPoint(entry_);
    V v = Lower(e);
    if (IsText(e.type)) {
      b_.CreateStore(v.p, Field(out, offsetof(Result, data)));
      b_.CreateStore(v.n, Field(out, offsetof(Result, size)));
    } else {
      b_.CreateStore(v.i, Field(out, offsetof(Result, i)));
    }
    b_.CreateRet(b_.getInt32(PERK_OK));
  }

  // `i32 name(ctx, i8* results, i32* failed)`: calls the functions of the boolean expressions
  // `tops` (top-level indexes) in order, storing each result in results[j]; on the first
  // failure stores j in *failed and returns its status (error_site is set by the callee).
  void Batch(const std::vector<int>& tops, const std::string& name) {
    auto* type = llvm::FunctionType::get(i32_, {ptr_, ptr_, ptr_}, false);
    auto* expr_type = llvm::FunctionType::get(i32_, {ptr_, ptr_}, false);
    fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, module_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    ctx_ = fn_->getArg(0);
    llvm::Value* results = fn_->getArg(1);
    llvm::Value* failed = fn_->getArg(2);
    entry_ = llvm::BasicBlock::Create(c_, "entry", fn_);
    b_.SetInsertPoint(entry_);
    llvm::Value* out = EntryAlloca(llvm::ArrayType::get(i8_, sizeof(Result)));
    for (size_t j = 0; j < tops.size(); ++j) {
      llvm::FunctionCallee callee = module_.getOrInsertFunction("perk_e" + std::to_string(tops[j]), expr_type);
      llvm::Value* status = b_.CreateCall(callee, {ctx_, out});
      auto* fail = llvm::BasicBlock::Create(c_, "fail", fn_);
      auto* ok = llvm::BasicBlock::Create(c_, "ok", fn_);
      llvm::MDBuilder md(c_);
      b_.CreateCondBr(b_.CreateICmpNE(status, b_.getInt32(PERK_OK)), fail, ok, md.createUnlikelyBranchWeights());
      b_.SetInsertPoint(fail);
      b_.CreateStore(b_.getInt32(static_cast<int32_t>(j)), failed);
      b_.CreateRet(status);
      b_.SetInsertPoint(ok);
      llvm::Value* value = b_.CreateLoad(i64_, Field(out, offsetof(Result, i)));
      b_.CreateStore(b_.CreateZExt(b_.CreateICmpNE(value, b_.getInt64(0)), i8_), Field(results, static_cast<int64_t>(j)));
    }
    b_.CreateRet(b_.getInt32(PERK_OK));
  }

  // A trigger entry (TriggerFn) named `name` for the rules `rules` (indexes into
  // program.rules), in order. Each expression is a call to its perk_eN, which LLVM may inline
  // within a module, or never when `inline_calls` is false; limits and actions go through
  // ctx->hooks.
  void Rules(const std::vector<int>& rules, const std::string& name, bool inline_calls) {
    inline_rule_calls_ = inline_calls;
    auto* type = llvm::FunctionType::get(i32_, {ptr_, ptr_}, false);
    fn_ = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, module_);
    fn_->addFnAttr(llvm::Attribute::NoUnwind);
    ctx_ = fn_->getArg(0);
    failed_rule_ = fn_->getArg(1);
    entry_ = llvm::BasicBlock::Create(c_, "entry", fn_);
    b_.SetInsertPoint(entry_);
    size_t values = 1;
    for (int r : rules) values = std::max(values, MaxValues(program_.rules[r].actions));
    values_ = EntryAlloca(llvm::ArrayType::get(i8_, values * sizeof(Result)));
    llvm::Value* hooks = LoadCtx(ptr_, offsetof(Context, hooks));
    host_ = b_.CreateLoad(ptr_, Field(hooks, offsetof(RuleHooks, host)));
    act_ = b_.CreateLoad(ptr_, Field(hooks, offsetof(RuleHooks, act)));
    llvm::Value* limit_open = b_.CreateLoad(ptr_, Field(hooks, offsetof(RuleHooks, limit_open)));
    llvm::Value* limit_add = b_.CreateLoad(ptr_, Field(hooks, offsetof(RuleHooks, limit_add)));
    auto* limit_type = llvm::FunctionType::get(i32_, {ptr_, i32_}, false);
    auto* add_type = llvm::FunctionType::get(llvm::Type::getVoidTy(c_), {ptr_, i32_}, false);
    for (int r : rules) {
      const checked::Rule& rule = program_.rules[r];
      rule_ = r;
      auto* next = llvm::BasicBlock::Create(c_, "rule.next", fn_);
      if (rule.has_limit) {
        llvm::Value* open = b_.CreateCall(limit_type, limit_open, {host_, b_.getInt32(r)});
        auto* go = llvm::BasicBlock::Create(c_, "rule.open", fn_);
        b_.CreateCondBr(b_.CreateICmpEQ(open, b_.getInt32(0)), next, go);
        b_.SetInsertPoint(go);
      }
      if (rule.when) {
        llvm::Value* holds = CallTop(*rule.when, values_);
        auto* go = llvm::BasicBlock::Create(c_, "rule.fires", fn_);
        b_.CreateCondBr(b_.CreateICmpEQ(holds, b_.getInt64(0)), next, go);
        b_.SetInsertPoint(go);
      }
      RuleActions(rule.actions, next);
      if (rule.has_limit) b_.CreateCall(add_type, limit_add, {host_, b_.getInt32(r)});
      b_.CreateBr(next);
      b_.SetInsertPoint(next);
    }
    b_.CreateRet(b_.getInt32(PERK_OK));
  }

 private:
  static size_t MaxValues(const std::vector<checked::Action>& actions) {
    size_t n = 1;
    for (const auto& a : actions)
      n = std::max({n, checked::ValueCount(a), MaxValues(a.then_actions), MaxValues(a.else_actions)});
    return n;
  }

  // Calls the function of top-level expression `e` with its result in *out; leaves the trigger
  // entry on failure (the callee has set error_site). Returns the result's i64.
  llvm::Value* CallTop(const checked::Expr& e, llvm::Value* out) {
    auto* expr_type = llvm::FunctionType::get(i32_, {ptr_, ptr_}, false);
    llvm::FunctionCallee callee = module_.getOrInsertFunction("perk_e" + std::to_string(e.top_index), expr_type);
    llvm::CallInst* status = b_.CreateCall(callee, {ctx_, out});
    if (!inline_rule_calls_) status->addFnAttr(llvm::Attribute::NoInline);
    LeaveIfNotOk(status);
    return b_.CreateLoad(i64_, Field(out, offsetof(Result, i)));
  }

  // Leaves a trigger entry with `status` unless it is PERK_OK, naming the current rule.
  void LeaveIfNotOk(llvm::Value* status) {
    auto* fail = llvm::BasicBlock::Create(c_, "rule.fail", fn_);
    auto* ok = llvm::BasicBlock::Create(c_, "ok", fn_);
    llvm::MDBuilder md(c_);
    b_.CreateCondBr(b_.CreateICmpNE(status, b_.getInt32(PERK_OK)), fail, ok, md.createUnlikelyBranchWeights());
    b_.SetInsertPoint(fail);
    b_.CreateStore(b_.getInt32(rule_), failed_rule_);
    b_.CreateRet(status);
    b_.SetInsertPoint(ok);
  }

  // The actions of a rule firing, in order; a budget skip (kRuleStopped) goes to `stopped`.
  void RuleActions(const std::vector<checked::Action>& actions, llvm::BasicBlock* stopped) {
    auto* act_type = llvm::FunctionType::get(i32_, {ptr_, i32_, ptr_, ptr_}, false);
    for (const checked::Action& a : actions) {
      if (a.kind == checked::ActionKind::If) {
        llvm::Value* cond = CallTop(*a.value, values_);
        auto* then_block = llvm::BasicBlock::Create(c_, "act.then", fn_);
        auto* else_block = llvm::BasicBlock::Create(c_, "act.else", fn_);
        auto* join = llvm::BasicBlock::Create(c_, "act.join", fn_);
        b_.CreateCondBr(b_.CreateICmpNE(cond, b_.getInt64(0)), then_block, else_block);
        b_.SetInsertPoint(then_block);
        RuleActions(a.then_actions, stopped);
        b_.CreateBr(join);
        b_.SetInsertPoint(else_block);
        RuleActions(a.else_actions, stopped);
        b_.CreateBr(join);
        b_.SetInsertPoint(join);
        continue;
      }
      if (a.value) CallTop(*a.value, values_);
      for (size_t k = 0; k < a.data.size(); ++k)
        CallTop(a.data[k].value, Field(values_, static_cast<int64_t>(checked::DataSlot(a, k) * sizeof(Result))));
      // The checked program outlives the code, so the action is named by its address: the
      // address of the symbol perk_action<N>, defined when the code is linked, so that the
      // code itself holds no address of this process and can be kept in the object cache.
      llvm::Value* action = module_.getOrInsertGlobal("perk_action" + std::to_string(actions_->size()), i8_);
      actions_->push_back(&a);
      llvm::Value* status = b_.CreateCall(act_type, act_, {host_, b_.getInt32(rule_), action, values_});
      auto* go = llvm::BasicBlock::Create(c_, "act.done", fn_);
      auto* not_ok = llvm::BasicBlock::Create(c_, "act.not_ok", fn_);
      llvm::MDBuilder md(c_);
      b_.CreateCondBr(b_.CreateICmpEQ(status, b_.getInt32(PERK_OK)), go, not_ok, md.createLikelyBranchWeights());
      b_.SetInsertPoint(not_ok);
      auto* failed = llvm::BasicBlock::Create(c_, "act.failed", fn_);
      // The hook returns PERK_OK, kRuleStopped or kHookFailed. An ordered comparison here,
      // not a second equality, keeps SimplifyCFG from folding both tests into a `switch`,
      // which fast instruction selection cannot compile (it falls back to SelectionDAG).
      static_assert(kRuleStopped < kHookFailed);
      b_.CreateCondBr(b_.CreateICmpSLT(status, b_.getInt32(kHookFailed)), stopped, failed);
      b_.SetInsertPoint(failed);
      b_.CreateStore(b_.getInt32(rule_), failed_rule_);
      b_.CreateRet(status);
      b_.SetInsertPoint(go);
    }
  }

  // A lowered value: `i` for every type but string, `p` and `n` for strings.
  struct V {
    llvm::Value* i = nullptr;
    llvm::Value* p = nullptr;
    llvm::Value* n = nullptr;
  };

  llvm::Value* Field(llvm::Value* base, int64_t offset) {
    return offset == 0 ? base : b_.CreateConstInBoundsGEP1_64(i8_, base, offset);
  }
  llvm::Value* LoadCtx(llvm::Type* type, size_t offset) { return b_.CreateLoad(type, Field(ctx_, offset)); }

  // An element of a Value array held by the context at `array_offset`.
  V LoadValue(size_t array_offset, int index, Type type) {
    llvm::Value* base = LoadCtx(ptr_, array_offset);
    llvm::Value* at = Field(base, static_cast<int64_t>(index) * layout_.size);
    if (IsText(type))
      return V{nullptr, b_.CreateLoad(ptr_, Field(at, layout_.str)), b_.CreateLoad(i64_, Field(at, layout_.str + 8))};
    return V{b_.CreateLoad(i64_, at)};
  }
  // Slot `slot` of the client's block.
  llvm::Value* LoadSlot(int32_t slot) {
    return b_.CreateLoad(i64_, Field(LoadCtx(ptr_, offsetof(Context, client)), static_cast<int64_t>(slot) * 8));
  }
  V LoadStr(size_t offset) {
    return V{nullptr, LoadCtx(ptr_, offset + offsetof(Str, data)), LoadCtx(i64_, offset + offsetof(Str, size))};
  }

  // An aggregate read: in place from the client's cached window when it holds for the current
  // bucket key (the common case: a day tick re-reads unchanged windows), else through the
  // runtime, which folds the buckets and refills the cache. Averages always call back.
  V Aggregate(const checked::Expr& e) {
    const checked::AggUse& use = program_.aggregates[e.index];
    llvm::BasicBlock* call_block = llvm::BasicBlock::Create(c_, "agg.call", fn_);
    llvm::BasicBlock* join = llvm::BasicBlock::Create(c_, "agg.join", fn_);
    llvm::Value* hit_value = nullptr;
    llvm::BasicBlock* hit_end = nullptr;
    if (use.kind != checked::AggKind::Avg) {
      llvm::BasicBlock* check = llvm::BasicBlock::Create(c_, "agg.check", fn_);
      llvm::BasicBlock* hit = llvm::BasicBlock::Create(c_, "agg.hit", fn_);
      llvm::Value* windows = LoadCtx(ptr_, offsetof(Context, windows));
      b_.CreateCondBr(b_.CreateICmpEQ(windows, llvm::ConstantPointerNull::get(llvm::PointerType::get(c_, 0))), call_block,
                      check);
      b_.SetInsertPoint(check);
      const checked::AggSlot& slot = program_.agg_slots[use.slot];
      llvm::Value* key = BucketKey(slot.unit, LoadCtx(i64_, offsetof(Context, now)));
      if (use.window.previous) key = b_.CreateSub(key, b_.getInt64(1));
      const int64_t base = static_cast<int64_t>(windows_.of_use[e.index]) * static_cast<int64_t>(sizeof(WindowView));
      llvm::Value* w = Field(windows, base);
      llvm::Value* from = b_.CreateLoad(i64_, Field(w, offsetof(WindowView, from)));
      llvm::Value* until = b_.CreateLoad(i64_, Field(w, offsetof(WindowView, until)));
      llvm::Value* holds = b_.CreateAnd(b_.CreateICmpSGE(key, from), b_.CreateICmpSLT(key, until));
      b_.CreateCondBr(holds, hit, call_block);
      b_.SetInsertPoint(hit);
      llvm::Value* count = b_.CreateLoad(i64_, Field(w, offsetof(WindowView, count)));
      size_t field = offsetof(WindowView, count);
      if (use.kind == checked::AggKind::Sum) field = offsetof(WindowView, sum);
      if (use.kind == checked::AggKind::Highest) field = offsetof(WindowView, max);
      if (use.kind == checked::AggKind::Lowest) field = offsetof(WindowView, min);
      // An empty window reads 0 whatever the kind (the fold's min and max are then unset).
      hit_value = b_.CreateSelect(b_.CreateICmpEQ(count, b_.getInt64(0)), b_.getInt64(0),
                                  b_.CreateLoad(i64_, Field(w, static_cast<int64_t>(field))));
      b_.CreateBr(join);
      hit_end = b_.GetInsertBlock();
    } else {
      b_.CreateBr(call_block);
    }
    b_.SetInsertPoint(call_block);
    auto* type = llvm::FunctionType::get(i32_, {ptr_, i32_, ptr_}, false);
    llvm::Value* callback = LoadCtx(ptr_, offsetof(Context, aggregate));
    llvm::Value* out = EntryAlloca(i64_);
    llvm::Value* status = b_.CreateCall(type, callback, {LoadCtx(ptr_, offsetof(Context, runtime)), b_.getInt32(e.index), out});
    FailIf(status, e.range);
    llvm::Value* called = b_.CreateLoad(i64_, out);
    b_.CreateBr(join);
    llvm::BasicBlock* call_end = b_.GetInsertBlock();
    b_.SetInsertPoint(join);
    if (!hit_value) return V{called};
    llvm::PHINode* phi = b_.CreatePHI(i64_, 2);
    phi->addIncoming(hit_value, hit_end);
    phi->addIncoming(called, call_end);
    return V{phi};
  }

  // runtime's BucketKey: the floor of time / unit (0 for all history).
  llvm::Value* BucketKey(checked::WindowUnit unit, llvm::Value* time) {
    int64_t micros = 0;
    if (unit == checked::WindowUnit::All) return b_.getInt64(0);
    // [v0.2] Local buckets outside UTC, and months and years anywhere: the runtime's function.
    if (program_.zone != 0 || unit == checked::WindowUnit::Month || unit == checked::WindowUnit::Year)
      return b_.CreateCall(Declare("perk_tz_bucket"),
                           {b_.getInt64(program_.zone), b_.getInt64(static_cast<int64_t>(unit)), time});
    switch (unit) {
      case checked::WindowUnit::Minute: micros = stdlib::kMicrosPerMinute; break;
      case checked::WindowUnit::Hour: micros = stdlib::kMicrosPerHour; break;
      case checked::WindowUnit::Day: micros = stdlib::kMicrosPerDay; break;
      default: return b_.getInt64(0);
    }
    llvm::Value* d = b_.getInt64(micros);
    llvm::Value* q = b_.CreateSDiv(time, d);
    llvm::Value* r = b_.CreateSRem(time, d);
    return b_.CreateSub(q, b_.CreateZExt(b_.CreateICmpSLT(r, b_.getInt64(0)), i64_));
  }

  llvm::Value* EntryAlloca(llvm::Type* type) {
    llvm::IRBuilder<> at(entry_, entry_->begin());
    return at.CreateAlloca(type);
  }

  // Leaves the function with `status` (an i32) when it is not PERK_OK, naming `where`.
  void FailIf(llvm::Value* status, const SourceRange& where) {
    int32_t site = site_base_ + static_cast<int32_t>(sites_->size());
    sites_->push_back(where);
    auto* fail = llvm::BasicBlock::Create(c_, "fail", fn_);
    auto* ok = llvm::BasicBlock::Create(c_, "ok", fn_);
    llvm::MDBuilder md(c_);
    b_.CreateCondBr(b_.CreateICmpNE(status, b_.getInt32(PERK_OK)), fail, ok, md.createUnlikelyBranchWeights());
    b_.SetInsertPoint(fail);
    b_.CreateStore(b_.getInt32(site), Field(ctx_, offsetof(Context, error_site)));
    b_.CreateRet(status);
    b_.SetInsertPoint(ok);
  }
  void FailOnOverflow(llvm::Value* overflowed, const SourceRange& where) {
    FailIf(b_.CreateSelect(overflowed, b_.getInt32(PERK_OVERFLOW), b_.getInt32(PERK_OK)), where);
  }

  llvm::FunctionCallee Declare(const char* name) {
    for (const Helper& h : kHelpers) {
      if (std::strcmp(h.name, name) != 0) continue;
      llvm::FunctionType* type = nullptr;
      switch (h.sig) {
        case Sig::Status1: type = llvm::FunctionType::get(i32_, {i64_, ptr_}, false); break;
        case Sig::Status2: type = llvm::FunctionType::get(i32_, {i64_, i64_, ptr_}, false); break;
        case Sig::Status3: type = llvm::FunctionType::get(i32_, {i64_, i64_, i64_, ptr_}, false); break;
        case Sig::Pure3: type = llvm::FunctionType::get(i64_, {i64_, i64_, i64_}, false); break;
        case Sig::Pure1: type = llvm::FunctionType::get(i64_, {i64_}, false); break;
        case Sig::Pure2: type = llvm::FunctionType::get(i64_, {i64_, i64_}, false); break;
        case Sig::StrCmp: type = llvm::FunctionType::get(i32_, {ptr_, i64_, ptr_, i64_}, false); break;
        case Sig::StrMap: type = llvm::FunctionType::get(llvm::Type::getVoidTy(c_), {ptr_, ptr_, i64_, ptr_}, false); break;
      }
      llvm::FunctionCallee callee = module_.getOrInsertFunction(name, type);
      if (auto* f = llvm::dyn_cast<llvm::Function>(callee.getCallee())) {
        f->addFnAttr(llvm::Attribute::NoUnwind);
        // Pure helpers read nothing but their arguments: let LLVM merge and hoist calls to them.
        if (h.sig == Sig::Pure1 || h.sig == Sig::Pure2 || h.sig == Sig::Pure3) f->setDoesNotAccessMemory();
        if (h.sig == Sig::StrCmp) f->setOnlyReadsMemory();
      }
      return callee;
    }
    return {};
  }

  // A stdlib function that returns a PerkStatus and writes an int64.
  llvm::Value* CallChecked(const char* name, std::initializer_list<llvm::Value*> args, const SourceRange& where) {
    llvm::Value* slot = EntryAlloca(i64_);
    std::vector<llvm::Value*> all(args);
    all.push_back(slot);
    llvm::Value* status = b_.CreateCall(Declare(name), all);
    FailIf(status, where);
    return b_.CreateLoad(i64_, slot);
  }

  llvm::Value* WithOverflow(llvm::Intrinsic::ID id, llvm::Value* x, llvm::Value* y, const SourceRange& where) {
    llvm::Value* pair = b_.CreateBinaryIntrinsic(id, x, y);
    FailOnOverflow(b_.CreateExtractValue(pair, 1), where);
    return b_.CreateExtractValue(pair, 0);
  }

  llvm::Value* Bool(llvm::Value* bit) { return b_.CreateZExt(bit, i64_); }

  llvm::Value* StrCall(const char* name, const V& a, const V& b) {
    return b_.CreateCall(Declare(name), {a.p, a.n, b.p, b.n});
  }

  V StrMap(const char* name, const V& a) {
    llvm::Value* slot = EntryAlloca(llvm::StructType::get(c_, {ptr_, i64_}));
    b_.CreateCall(Declare(name), {LoadCtx(ptr_, offsetof(Context, arena)), a.p, a.n, slot});
    return V{nullptr, b_.CreateLoad(ptr_, Field(slot, offsetof(Str, data))),
             b_.CreateLoad(i64_, Field(slot, offsetof(Str, size)))};
  }

  V Op(const checked::Expr& e) {
    V a[3];
    for (size_t k = 0; k < e.args.size() && k < 3; ++k) a[k] = Lower(e.args[k]);
    llvm::Value* x = a[0].i;
    llvm::Value* y = a[1].i;
    llvm::Value* z = a[2].i;
    const SourceRange& at = e.range;
    using llvm::Intrinsic::ID;
    switch (e.op) {
      case OpCode::Add: return V{WithOverflow(llvm::Intrinsic::sadd_with_overflow, x, y, at)};
      case OpCode::Sub: return V{WithOverflow(llvm::Intrinsic::ssub_with_overflow, x, y, at)};
      case OpCode::Neg: return V{WithOverflow(llvm::Intrinsic::ssub_with_overflow, b_.getInt64(0), x, at)};
      case OpCode::Abs: {
        llvm::Value* negated = WithOverflow(llvm::Intrinsic::ssub_with_overflow, b_.getInt64(0), x, at);
        return V{b_.CreateSelect(b_.CreateICmpSLT(x, b_.getInt64(0)), negated, x)};
      }
      case OpCode::MulInt: return V{WithOverflow(llvm::Intrinsic::smul_with_overflow, x, y, at)};
      case OpCode::WidenInt:
        return V{WithOverflow(llvm::Intrinsic::smul_with_overflow, x, b_.getInt64(stdlib::kDecimalScale), at)};
      case OpCode::DivInt: return V{CallChecked("perk_int_div", {x, y}, at)};
      case OpCode::ModInt: return V{CallChecked("perk_int_mod", {x, y}, at)};
      case OpCode::MulDec: return V{CallChecked("perk_dec_mul", {x, y}, at)};
      case OpCode::DivDec: return V{CallChecked("perk_dec_div", {x, y}, at)};
      case OpCode::MulMoneyInt: return V{CallChecked("perk_money_mul_int", {x, y}, at)};
      case OpCode::MulMoneyDec: return V{CallChecked("perk_money_mul_dec", {x, y}, at)};
      case OpCode::CmpIntDec: {
        llvm::Type* i128 = b_.getInt128Ty();
        llvm::Value* scaled = b_.CreateMul(b_.CreateSExt(x, i128), llvm::ConstantInt::get(i128, stdlib::kDecimalScale));
        llvm::Value* wide = b_.CreateSExt(y, i128);
        return V{b_.CreateSelect(b_.CreateICmpSLT(scaled, wide), b_.getInt64(-1),
                                 b_.CreateSelect(b_.CreateICmpSGT(scaled, wide), b_.getInt64(1), b_.getInt64(0)))};
      }
      case OpCode::AddTime: return V{CallChecked("perk_time_add", {x, y}, at)};
      case OpCode::SubTime: return V{CallChecked("perk_time_sub", {x, y}, at)};
      case OpCode::DivMoneyInt: return V{CallChecked("perk_money_div_int", {x, y}, at)};
      case OpCode::DivMoneyDec: return V{CallChecked("perk_money_div_dec", {x, y}, at)};
      case OpCode::DivMoneyMoney: return V{CallChecked("perk_money_div_money", {x, y}, at)};
      case OpCode::FloorDec: return V{CallChecked("perk_dec_floor", {x}, at)};
      case OpCode::CeilDec: return V{CallChecked("perk_dec_ceil", {x}, at)};
      case OpCode::RoundDec: return V{CallChecked("perk_dec_round", {x}, at)};
      case OpCode::FloorMoney: return V{CallChecked("perk_money_floor", {x}, at)};
      case OpCode::CeilMoney: return V{CallChecked("perk_money_ceil", {x}, at)};
      case OpCode::RoundMoney: return V{CallChecked("perk_money_round", {x}, at)};
      case OpCode::Min: return V{b_.CreateSelect(b_.CreateICmpSLT(x, y), x, y)};
      case OpCode::Max: return V{b_.CreateSelect(b_.CreateICmpSGT(x, y), x, y)};
      case OpCode::Eq: return V{Bool(b_.CreateICmpEQ(x, y))};
      case OpCode::Ne: return V{Bool(b_.CreateICmpNE(x, y))};
      case OpCode::Lt: return V{Bool(b_.CreateICmpSLT(x, y))};
      case OpCode::Le: return V{Bool(b_.CreateICmpSLE(x, y))};
      case OpCode::Gt: return V{Bool(b_.CreateICmpSGT(x, y))};
      case OpCode::Ge: return V{Bool(b_.CreateICmpSGE(x, y))};
      case OpCode::EqStr:
      case OpCode::NeStr:
      case OpCode::LtStr:
      case OpCode::LeStr:
      case OpCode::GtStr:
      case OpCode::GeStr: {
        llvm::Value* c = StrCall("perk_jit_str_compare", a[0], a[1]);
        llvm::Value* zero = b_.getInt32(0);
        switch (e.op) {
          case OpCode::EqStr: return V{Bool(b_.CreateICmpEQ(c, zero))};
          case OpCode::NeStr: return V{Bool(b_.CreateICmpNE(c, zero))};
          case OpCode::LtStr: return V{Bool(b_.CreateICmpSLT(c, zero))};
          case OpCode::LeStr: return V{Bool(b_.CreateICmpSLE(c, zero))};
          case OpCode::GtStr: return V{Bool(b_.CreateICmpSGT(c, zero))};
          default: return V{Bool(b_.CreateICmpSGE(c, zero))};
        }
      }
      case OpCode::Not: return V{Bool(b_.CreateICmpEQ(x, b_.getInt64(0)))};
      case OpCode::DateOf: return V{b_.CreateCall(Declare("perk_time_date"), {x})};
      case OpCode::DaysBetween: return V{b_.CreateCall(Declare("perk_days_between"), {x, y})};
      case OpCode::Anniversary: return V{b_.CreateCall(Declare("perk_anniversary"), {x, y})};
      case OpCode::DateIn: return V{b_.CreateCall(Declare("perk_tz_date"), {y, x})};
      case OpCode::HourIn: return V{b_.CreateCall(Declare("perk_tz_hour"), {y, x})};
      case OpCode::MinuteIn: return V{b_.CreateCall(Declare("perk_tz_minute"), {y, x})};
      case OpCode::YearOf: return V{b_.CreateCall(Declare("perk_date_year"), {x})};
      case OpCode::MonthOf: return V{b_.CreateCall(Declare("perk_date_month"), {x})};
      case OpCode::DayOf: return V{b_.CreateCall(Declare("perk_date_day"), {x})};
      case OpCode::WeekdayOf: return V{b_.CreateCall(Declare("perk_date_weekday"), {x})};
      case OpCode::AddTimeIn: return V{CallChecked("perk_tz_add", {z, x, y}, at)};
      case OpCode::SubTimeIn: return V{CallChecked("perk_tz_sub", {z, x, y}, at)};
      case OpCode::AddDate: return V{CallChecked("perk_date_add", {x, y}, at)};
      case OpCode::SubDate: return V{CallChecked("perk_date_sub", {x, y}, at)};
      case OpCode::YearsBetween: return V{b_.CreateCall(Declare("perk_years_between"), {x, y})};
      case OpCode::Lower: return StrMap("perk_jit_str_lower", a[0]);
      case OpCode::Upper: return StrMap("perk_jit_str_upper", a[0]);
      case OpCode::StartsWith:
        return V{Bool(b_.CreateICmpNE(StrCall("perk_jit_str_starts_with", a[0], a[1]), b_.getInt32(0)))};
      case OpCode::Contains:
        return V{Bool(b_.CreateICmpNE(StrCall("perk_jit_str_contains", a[0], a[1]), b_.getInt32(0)))};
    }
    return V{b_.getInt64(0)};
  }

  V Const(const Value& value, Type type) {
    if (IsText(type))
      return V{nullptr, b_.CreateGlobalStringPtr(value.s, "str"), b_.getInt64(static_cast<int64_t>(value.s.size()))};
    return V{b_.getInt64(value.i)};
  }

  // Merges the values two or more paths bring to `join`.
  V Phi(Type type, const std::vector<std::pair<V, llvm::BasicBlock*>>& incoming) {
    auto n = static_cast<unsigned>(incoming.size());
    if (IsText(type)) {
      llvm::PHINode* p = b_.CreatePHI(ptr_, n);
      llvm::PHINode* len = b_.CreatePHI(i64_, n);
      for (const auto& [v, from] : incoming) {
        p->addIncoming(v.p, from);
        len->addIncoming(v.n, from);
      }
      return V{nullptr, p, len};
    }
    llvm::PHINode* i = b_.CreatePHI(i64_, n);
    for (const auto& [v, from] : incoming) i->addIncoming(v.i, from);
    return V{i};
  }

  V Lower(const checked::Expr& e) {
    using K = checked::ExprKind;
    switch (e.kind) {
      case K::Const: return Const(e.value, e.type);
      case K::Param: return Const(program_.params[e.index].value, e.type);
      case K::EventField:
        switch (e.index) {
          case checked::kFieldId: return LoadStr(offsetof(Context, event_id));
          case checked::kFieldClient: return LoadStr(offsetof(Context, event_client));
          case checked::kFieldTime: return V{LoadCtx(i64_, offsetof(Context, event_time))};
          default: return LoadValue(offsetof(Context, event_fields), e.index, e.type);
        }
      case K::ClientField:
        if (e.index == checked::kClientId) return LoadStr(offsetof(Context, client_id));
        if (e.index == checked::kClientSince) return V{LoadSlot(checked::ClientLayout::kSince)};
        return LoadValue(offsetof(Context, attrs), e.index, e.type);
      case K::AttrSet: {
        llvm::Value* unset = b_.CreateLoad(i8_, Field(LoadCtx(ptr_, offsetof(Context, attr_unset)), e.index));
        return V{b_.CreateZExt(b_.CreateICmpEQ(unset, b_.getInt8(0)), i64_)};
      }
      case K::Wallet: return V{LoadSlot(client_.wallets_at() + e.index)};
      case K::Var:
        if (IsText(e.type)) {
          llvm::Value* at = Field(LoadCtx(ptr_, offsetof(Context, var_text)), static_cast<int64_t>(e.index) * layout_.string_size);
          return V{nullptr, b_.CreateLoad(ptr_, at), b_.CreateLoad(i64_, Field(at, 8))};
        }
        return V{LoadSlot(client_.vars_at() + e.index)};
      case K::Segment: {
        llvm::Value* word = LoadSlot(client_.segments_at() + e.index / 64);
        return V{b_.CreateAnd(b_.CreateLShr(word, b_.getInt64(e.index % 64)), b_.getInt64(1))};
      }
      case K::CurrentTier: return V{LoadSlot(checked::ClientLayout::kTier)};
      case K::PreviousTier: return V{LoadCtx(i64_, offsetof(Context, previous_tier))};
      case K::Now: return V{LoadCtx(i64_, offsetof(Context, now))};
      case K::Today: return V{LoadCtx(i64_, offsetof(Context, today))};
      case K::HasBadge: {
        V name = Lower(e.args[0]);
        auto* type = llvm::FunctionType::get(i32_, {ptr_, ptr_, i64_}, false);
        llvm::Value* callback = LoadCtx(ptr_, offsetof(Context, has_badge));
        llvm::Value* has = b_.CreateCall(type, callback, {LoadCtx(ptr_, offsetof(Context, runtime)), name.p, name.n});
        return V{Bool(b_.CreateICmpNE(has, b_.getInt32(0)))};
      }
      case K::Pending: {
        // [v0.2] `pending(W)`: the pending credits live in the runtime's client state.
        auto* type = llvm::FunctionType::get(i64_, {ptr_, i32_}, false);
        llvm::Value* callback = LoadCtx(ptr_, offsetof(Context, pending));
        return V{b_.CreateCall(type, callback, {LoadCtx(ptr_, offsetof(Context, runtime)), b_.getInt32(e.index)})};
      }
      case K::Aggregate: return Aggregate(e);
      case K::Op: return Op(e);
      case K::And:
      case K::Or: {
        V left = Lower(e.args[0]);
        llvm::BasicBlock* left_end = b_.GetInsertBlock();
        auto* right_block = llvm::BasicBlock::Create(c_, e.kind == K::And ? "and.rhs" : "or.rhs", fn_);
        auto* join = llvm::BasicBlock::Create(c_, "join", fn_);
        llvm::Value* truthy = b_.CreateICmpNE(left.i, b_.getInt64(0));
        if (e.kind == K::And) b_.CreateCondBr(truthy, right_block, join);
        else b_.CreateCondBr(truthy, join, right_block);
        b_.SetInsertPoint(right_block);
        V right = Lower(e.args[1]);
        llvm::BasicBlock* right_end = b_.GetInsertBlock();
        b_.CreateBr(join);
        b_.SetInsertPoint(join);
        return Phi(Type::Bool, {{left, left_end}, {right, right_end}});
      }
      case K::If: {
        V cond = Lower(e.args[0]);
        auto* then_block = llvm::BasicBlock::Create(c_, "then", fn_);
        auto* else_block = llvm::BasicBlock::Create(c_, "else", fn_);
        auto* join = llvm::BasicBlock::Create(c_, "join", fn_);
        b_.CreateCondBr(b_.CreateICmpNE(cond.i, b_.getInt64(0)), then_block, else_block);
        b_.SetInsertPoint(then_block);
        V then_value = Lower(e.args[1]);
        llvm::BasicBlock* then_end = b_.GetInsertBlock();
        b_.CreateBr(join);
        b_.SetInsertPoint(else_block);
        V else_value = Lower(e.args[2]);
        llvm::BasicBlock* else_end = b_.GetInsertBlock();
        b_.CreateBr(join);
        b_.SetInsertPoint(join);
        return Phi(e.type, {{then_value, then_end}, {else_value, else_end}});
      }
      case K::In: {
        V x = Lower(e.args[0]);
        const bool strings = IsText(e.args[0].type);
        auto* join = llvm::BasicBlock::Create(c_, "in.join", fn_);
        std::vector<std::pair<V, llvm::BasicBlock*>> incoming;
        for (size_t k = 1; k < e.args.size(); ++k) {
          V item = Lower(e.args[k]);
          llvm::Value* equal = strings ? b_.CreateICmpEQ(StrCall("perk_jit_str_compare", x, item), b_.getInt32(0))
                                       : b_.CreateICmpEQ(x.i, item.i);
          auto* next = llvm::BasicBlock::Create(c_, "in.next", fn_);
          incoming.push_back({V{b_.getInt64(1)}, b_.GetInsertBlock()});
          b_.CreateCondBr(equal, join, next);
          b_.SetInsertPoint(next);
        }
        incoming.push_back({V{b_.getInt64(0)}, b_.GetInsertBlock()});
        b_.CreateBr(join);
        b_.SetInsertPoint(join);
        return Phi(Type::Bool, incoming);
      }
    }
    return V{b_.getInt64(0)};
  }

  const checked::Program& program_;
  const checked::AggWindows windows_;
  const checked::ClientLayout client_;
  llvm::Module& module_;
  llvm::LLVMContext& c_;
  llvm::IRBuilder<> b_;
  const ValueLayout& layout_;
  std::vector<SourceRange>* sites_;
  int32_t site_base_;
  std::vector<const checked::Action*>* actions_;
  llvm::Type* i1_;
  llvm::Type* i8_;
  llvm::Type* i32_;
  llvm::Type* i64_;
  llvm::PointerType* ptr_;
  llvm::Function* fn_ = nullptr;
  llvm::Value* ctx_ = nullptr;
  llvm::BasicBlock* entry_ = nullptr;
  // Trigger entries only.
  llvm::Value* failed_rule_ = nullptr;
  llvm::Value* values_ = nullptr;
  llvm::Value* host_ = nullptr;
  llvm::Value* act_ = nullptr;
  int32_t rule_ = 0;
  bool inline_rule_calls_ = true;
};

std::string ErrorText(llvm::Error e) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << e;
  return os.str();
}

}  // namespace

struct CompiledProgram::Impl {
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::vector<const checked::Expr*> exprs;  // by top_index
  std::vector<NativeFn> functions;          // by top_index
  BatchFn tier_conditions = nullptr;
  BatchFn segment_conditions = nullptr;
  std::vector<TriggerFn> event_rules;  // by event
  std::vector<TriggerFn> reversed_rules;  // by event; null without `on EVENT reversed` rules
  TriggerFn tier_changed_rules = nullptr;
  TriggerFn daily_rules = nullptr;
  TriggerFn day_kind_rules[4] = {};  // by checked::DayKind
  std::vector<TriggerFn> entering_rules, leaving_rules;  // by segment; null without rules
  std::vector<std::vector<SourceRange>> sites;  // per module
  std::vector<const checked::Action*> actions;  // by the N of perk_action<N>
  LoadStats stats;
  std::string ir;
};

CompiledProgram::CompiledProgram(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CompiledProgram::~CompiledProgram() = default;

NativeFn CompiledProgram::Find(const checked::Expr* e) const {
  // The pointer check keeps expressions from elsewhere (a REPL line, a copy of the program)
  // from running code compiled for another expression.
  size_t k = static_cast<size_t>(e->top_index);
  return e->top_index >= 0 && k < impl_->exprs.size() && impl_->exprs[k] == e ? impl_->functions[k] : nullptr;
}
const LoadStats& CompiledProgram::stats() const { return impl_->stats; }
BatchFn CompiledProgram::TierConditions() const { return impl_->tier_conditions; }
BatchFn CompiledProgram::SegmentConditions() const { return impl_->segment_conditions; }
TriggerFn CompiledProgram::EventRules(size_t event) const {
  return event < impl_->event_rules.size() ? impl_->event_rules[event] : nullptr;
}
TriggerFn CompiledProgram::ReversedRules(size_t event) const {
  return event < impl_->reversed_rules.size() ? impl_->reversed_rules[event] : nullptr;
}
TriggerFn CompiledProgram::TierChangedRules() const { return impl_->tier_changed_rules; }
TriggerFn CompiledProgram::DailyRules() const { return impl_->daily_rules; }
TriggerFn CompiledProgram::DayTickRules(int day_kind) const { return impl_->day_kind_rules[day_kind & 3]; }
TriggerFn CompiledProgram::SegmentRules(size_t segment, bool entering) const {
  const auto& fns = entering ? impl_->entering_rules : impl_->leaving_rules;
  return segment < fns.size() ? fns[segment] : nullptr;
}
const std::string& CompiledProgram::ir() const { return impl_->ir; }

namespace {

// LLVM's IR pipeline at `level` over one module, tuned for `machine`.
void Optimize(llvm::Module& module, int level, llvm::TargetMachine* machine) {
  if (level <= 0) return;
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder builder(machine);
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  if (level == Options::kLight) {
    // Promotes the lowering's allocas to registers and folds what that exposes; no inlining,
    // no loop passes (our functions have no loops). No InstCombine either: it was a fifth of
    // the pipeline's time, and it turns selects into min/max intrinsics that fast instruction
    // selection cannot compile.
    llvm::FunctionPassManager fpm;
    fpm.addPass(llvm::SROAPass(llvm::SROAOptions::ModifyCFG));
    fpm.addPass(llvm::EarlyCSEPass());
    fpm.addPass(llvm::SimplifyCFGPass());
    llvm::ModulePassManager mpm;
    mpm.addPass(llvm::createModuleToFunctionPassAdaptor(std::move(fpm)));
    mpm.run(module, mam);
    return;
  }
  llvm::OptimizationLevel opt = level == 1   ? llvm::OptimizationLevel::O1
                                : level == 2 ? llvm::OptimizationLevel::O2
                                             : llvm::OptimizationLevel::O3;
  builder.buildPerModuleDefaultPipeline(opt).run(module, mam);
}

llvm::CodeGenOptLevel CodegenLevel(int level) {
  return level <= 0 ? llvm::CodeGenOptLevel::None
         : level == 1 ? llvm::CodeGenOptLevel::Less
         : level == 2 ? llvm::CodeGenOptLevel::Default
                      : llvm::CodeGenOptLevel::Aggressive;
}

// Error sites are numbered per module: the module's index in the high bits.
constexpr int kSiteBits = 24;

// Bump when what turns IR into machine code changes in a way the IR does not show (the
// passes of Optimize, the code generator's settings), so that old cache entries stop matching.
constexpr int kCodegenVersion = 4;  // 2: [v0.2] sends (an action's data values follow its value); 3: lots; 4: reversals

// Optimises `module` at `level` and compiles it to an object file in *object, with a target
// machine of its own (compile threads must not share one). With `ir`, keeps the optimised IR.
bool EmitObject(llvm::Module& module, const llvm::orc::JITTargetMachineBuilder& host, int level, std::string* ir,
                std::string* object) {
  llvm::orc::JITTargetMachineBuilder local = host;
  auto machine = local.createTargetMachine();
  if (!machine) {
    llvm::consumeError(machine.takeError());
    return false;
  }
  Optimize(module, level, machine->get());
  if (ir != nullptr) {
    llvm::raw_string_ostream os(*ir);
    module.print(os, nullptr);
  }
  llvm::SmallVector<char, 0> buffer;
  llvm::raw_svector_ostream os(buffer);
  llvm::legacy::PassManager passes;
  llvm::MCContext* mc = nullptr;
  if ((*machine)->addPassesToEmitMC(passes, mc, os)) return false;
  passes.run(module);
  object->assign(buffer.begin(), buffer.end());
  return true;
}

// Feeds printed IR to the key without keeping the text.
class KeyStream : public llvm::raw_ostream {
 public:
  explicit KeyStream(cache::KeyBuilder& key) : key_(key) { SetBufferSize(1 << 16); }
  ~KeyStream() override { flush(); }

 private:
  void write_impl(const char* data, size_t size) override {
    key_.Add(std::string_view(data, size));
    pos_ += size;
  }
  uint64_t current_pos() const override { return pos_; }
  cache::KeyBuilder& key_;
  uint64_t pos_ = 0;
};

// The hash of one module's bitcode.
cache::Key ModuleKey(const llvm::Module& module) {
  cache::KeyBuilder key;
  {
    KeyStream os(key);
    llvm::WriteBitcodeToFile(module, os);
  }
  return key.Finish();
}

cache::Key CacheKey(const std::vector<cache::Key>& modules, const llvm::TargetMachine& machine, int opt_level,
                    int codegen_level) {
  cache::KeyBuilder key;
  key.Add("perk jit");
  key.Add(std::to_string(kCodegenVersion));
  key.Add(LLVM_VERSION_STRING);
  key.Add(machine.getTargetTriple().str());
  key.Add(machine.getTargetCPU());
  key.Add(machine.getTargetFeatureString());
  key.Add(std::to_string(opt_level) + "/" + std::to_string(codegen_level));
  key.Add(std::to_string(modules.size()));
  for (const auto& m : modules) key.Add(std::string_view(reinterpret_cast<const char*>(m.data()), m.size()));
  return key.Finish();
}

}  // namespace

const SourceRange& CompiledProgram::ErrorSite(int32_t site) const {
  return impl_->sites.at(site >> kSiteBits).at(site & ((1 << kSiteBits) - 1));
}

std::unique_ptr<CompiledProgram> CompiledProgram::Compile(const checked::Program& program, const Options& options,
                                                          std::string* error) {
  static std::once_flag init_once;
  std::call_once(init_once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  ValueLayout layout;
  if (!CheckValueLayout(&layout)) {
    *error = "the JIT does not support this C++ standard library's string layout; run with `--engine interp`";
    return nullptr;
  }
  auto impl = std::make_unique<Impl>();
  auto start = std::chrono::steady_clock::now();

  auto host = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!host) {
    *error = "the JIT cannot target this machine: " + ErrorText(host.takeError());
    return nullptr;
  }
  host->setCodeGenOptLevel(CodegenLevel(options.codegen_level));
  // What LLJIT's in-memory linker expects (LLJITBuilder sets the same for its own compiler):
  // position-independent code, small code model; symbols outside the code (helpers, actions)
  // are reached through the GOT and stubs the linker makes, so any address will do.
  host->setRelocationModel(llvm::Reloc::PIC_);
  host->setCodeModel(llvm::CodeModel::Small);
  auto machine = host->createTargetMachine();
  if (!machine) {
    *error = "the JIT cannot target this machine: " + ErrorText(machine.takeError());
    return nullptr;
  }

  // Large programs are split into modules that optimise and compile on parallel threads; each
  // module has its own LLVMContext, as concurrent compilation requires.
  std::vector<const checked::Expr*> exprs = checked::TopLevelExpressions(program);
  const unsigned cores = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
  const size_t parts = std::max<size_t>(1, std::min<size_t>(cores, exprs.size() / 64));
  const bool large = exprs.size() > static_cast<size_t>(Options::kLargeProgram);
  const int opt_level = options.opt_level >= 0 ? options.opt_level : large ? Options::kLight : 2;
  // Each module is lowered (and, with a cache, hashed) on a thread of its own: they share
  // only the checked program, which they read. Module 0 holds the trigger entries, so only
  // its Lowering numbers actions.
  const std::string cache_dir = options.keep_ir ? "" : options.cache_dir ? *options.cache_dir : DefaultCacheDir();
  std::vector<std::unique_ptr<llvm::LLVMContext>> contexts(parts);
  std::vector<std::unique_ptr<llvm::Module>> modules(parts);
  std::vector<std::vector<std::string>> part_names(parts);
  std::vector<cache::Key> part_keys(parts);
  impl->sites.resize(parts);
  auto lower = [&](size_t part) {
    contexts[part] = std::make_unique<llvm::LLVMContext>();
    modules[part] = std::make_unique<llvm::Module>("perk" + std::to_string(part), *contexts[part]);
    llvm::Module* module = modules[part].get();
    std::vector<std::string>& names = part_names[part];
    module->setDataLayout((*machine)->createDataLayout());
    module->setTargetTriple((*machine)->getTargetTriple().str());
    Lowering lowering(program, *module, layout, &impl->sites[part], static_cast<int32_t>(part) << kSiteBits,
                      &impl->actions);
    for (size_t k = part; k < exprs.size(); k += parts) {
      names.push_back("perk_e" + std::to_string(k));
      lowering.Function(*exprs[k], "perk_e" + std::to_string(k));
    }
    if (part == 0) {
      // Tier and segment re-evaluation as one native call each (the engine runs them for
      // every client at every day tick and after every event).
      std::vector<int> tiers, segments;
      for (size_t k = 1; k < program.tiers.size(); ++k) tiers.push_back(program.tiers[k].when->top_index);
      for (const auto& sg : program.segments) segments.push_back(sg.when.top_index);
      lowering.Batch(tiers, "perk_tiers");
      lowering.Batch(segments, "perk_segments");
      names.push_back("perk_tiers");
      names.push_back("perk_segments");
      // One entry per trigger, running its rules in order. In a large program, inlining every
      // expression into the entries would make module 0 several times the size of the others
      // and its compilation the whole load time, so the entries call them instead.
      for (size_t ev = 0; ev < program.events.size(); ++ev) {
        lowering.Rules(program.rules_by_event[ev], "perk_rules_event" + std::to_string(ev), !large);
        names.push_back("perk_rules_event" + std::to_string(ev));
        // [v0.2] `on EVENT reversed`: only for events that have such rules (most have none).
        if (!program.reversed_rules_by_event[ev].empty()) {
          lowering.Rules(program.reversed_rules_by_event[ev], "perk_rules_reversed" + std::to_string(ev), !large);
          names.push_back("perk_rules_reversed" + std::to_string(ev));
        }
      }
      lowering.Rules(program.tier_changed_rules, "perk_rules_tier_changed", !large);
      lowering.Rules(program.daily_rules, "perk_rules_daily", !large);
      names.push_back("perk_rules_tier_changed");
      names.push_back("perk_rules_daily");
      // [v0.2] The day-tick rules of Mondays, of 1sts and of Mondays that are 1sts.
      if (program.has_calendar_ticks) {
        for (int kind = 1; kind < 4; ++kind) {
          const std::string name = "perk_rules_day_kind" + std::to_string(kind);
          lowering.Rules(program.day_tick_rules[kind], name, !large);
          names.push_back(name);
        }
      }
      // [v0.2] `on entering` / `on leaving`: an entry per segment that has such rules.
      for (size_t k = 0; k < program.entering_rules.size(); ++k) {
        if (program.entering_rules[k].empty()) continue;
        lowering.Rules(program.entering_rules[k], "perk_rules_entering" + std::to_string(k), !large);
        names.push_back("perk_rules_entering" + std::to_string(k));
      }
      for (size_t k = 0; k < program.leaving_rules.size(); ++k) {
        if (program.leaving_rules[k].empty()) continue;
        lowering.Rules(program.leaving_rules[k], "perk_rules_leaving" + std::to_string(k), !large);
        names.push_back("perk_rules_leaving" + std::to_string(k));
      }
    }
    if (!cache_dir.empty()) part_keys[part] = ModuleKey(*module);
  };
  {
    std::vector<std::thread> threads;
    for (size_t part = 1; part < parts; ++part) threads.emplace_back(lower, part);
    lower(0);
    for (auto& t : threads) t.join();
  }
  std::vector<std::string> names;
  for (auto& n : part_names) names.insert(names.end(), n.begin(), n.end());
  impl->stats.functions = static_cast<int>(exprs.size());
  impl->stats.opt_level = opt_level;
  impl->stats.modules = static_cast<int>(parts);
  impl->stats.lower_ms = Millis(start);

  // The object cache, keyed by the lowered IR (which holds the program, its params and the
  // layouts it reads as constants) and by everything that turns IR into machine code.
  start = std::chrono::steady_clock::now();
  cache::Key key{};
  std::vector<std::string> objects;
  if (!cache_dir.empty()) {
    key = CacheKey(part_keys, **machine, opt_level, options.codegen_level);
    impl->stats.cache = cache::Read(cache_dir, key, parts, &objects) ? CacheUse::Hit : CacheUse::Miss;
    impl->stats.cache_ms = Millis(start);
  }
  if (impl->stats.cache != CacheUse::Hit) {
    start = std::chrono::steady_clock::now();
    for (const auto& module : modules) {
      std::string broken;
      llvm::raw_string_ostream broken_os(broken);
      if (llvm::verifyModule(*module, &broken_os)) {
        *error = "internal error: the JIT built invalid code: " + broken_os.str();
        return nullptr;
      }
    }
    // Each module is optimised and compiled on its own thread (this one does the first).
    objects.assign(parts, "");
    std::vector<std::string> irs(parts), errors(parts);
    auto work = [&](size_t part) {
      if (!EmitObject(*modules[part], *host, opt_level, options.keep_ir ? &irs[part] : nullptr, &objects[part]))
        errors[part] = "LLVM cannot compile the program for this machine";
    };
    std::vector<std::thread> threads;
    for (size_t part = 1; part < parts; ++part) threads.emplace_back(work, part);
    work(0);
    for (auto& t : threads) t.join();
    for (const auto& e : errors) {
      if (!e.empty()) {
        *error = "the JIT cannot compile the program: " + e;
        return nullptr;
      }
    }
    for (auto& text : irs) impl->ir += text;
    impl->stats.compile_ms = Millis(start);
    if (impl->stats.cache == CacheUse::Miss) {
      start = std::chrono::steady_clock::now();
      impl->stats.cache_stored = cache::Write(cache_dir, key, objects);
      impl->stats.cache_ms += Millis(start);
    }
  }
  if (impl->stats.cache != CacheUse::Off && cache::Logging()) {
    std::fprintf(stderr, "perk: jit cache %s %s/%s.perkjit\n",
                 impl->stats.cache == CacheUse::Hit ? "hit" : impl->stats.cache_stored ? "miss, stored" : "miss",
                 cache_dir.c_str(), cache::Hex(key).c_str());
  }
  modules.clear();
  contexts.clear();

  start = std::chrono::steady_clock::now();
  llvm::orc::LLJITBuilder builder;
  builder.setJITTargetMachineBuilder(*host);
  auto jit = builder.create();
  if (!jit) {
    *error = "the JIT cannot start: " + ErrorText(jit.takeError());
    return nullptr;
  }
  impl->jit = std::move(*jit);
  llvm::orc::SymbolMap outside;
  for (const Helper& h : kHelpers)
    outside[impl->jit->mangleAndIntern(h.name)] = {llvm::orc::ExecutorAddr::fromPtr(h.address),
                                                    llvm::JITSymbolFlags::Exported | llvm::JITSymbolFlags::Callable};
  for (size_t k = 0; k < impl->actions.size(); ++k)
    outside[impl->jit->mangleAndIntern("perk_action" + std::to_string(k))] = {
        llvm::orc::ExecutorAddr::fromPtr(impl->actions[k]), llvm::JITSymbolFlags::Exported};
  if (auto e = impl->jit->getMainJITDylib().define(llvm::orc::absoluteSymbols(std::move(outside)))) {
    *error = "the JIT cannot start: " + ErrorText(std::move(e));
    return nullptr;
  }
  for (size_t part = 0; part < parts; ++part) {
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(objects[part], "perk" + std::to_string(part));
    if (auto e = impl->jit->addObjectFile(std::move(buffer))) {
      *error = "the JIT cannot load the program's code: " + ErrorText(std::move(e));
      return nullptr;
    }
  }
  llvm::orc::SymbolLookupSet wanted;
  for (const auto& name : names) wanted.add(impl->jit->mangleAndIntern(name));
  auto found = impl->jit->getExecutionSession().lookup(
      llvm::orc::makeJITDylibSearchOrder(&impl->jit->getMainJITDylib()), std::move(wanted));
  if (!found) {
    *error = "the JIT cannot load the program's code: " + ErrorText(found.takeError());
    return nullptr;
  }
  impl->exprs = exprs;
  impl->functions.resize(exprs.size());
  for (size_t k = 0; k < exprs.size(); ++k)
    impl->functions[k] = (*found)[impl->jit->mangleAndIntern("perk_e" + std::to_string(k))].getAddress().toPtr<NativeFn>();
  impl->tier_conditions = (*found)[impl->jit->mangleAndIntern("perk_tiers")].getAddress().toPtr<BatchFn>();
  impl->segment_conditions = (*found)[impl->jit->mangleAndIntern("perk_segments")].getAddress().toPtr<BatchFn>();
  auto trigger = [&](const std::string& name) {
    return (*found)[impl->jit->mangleAndIntern(name)].getAddress().toPtr<TriggerFn>();
  };
  for (size_t ev = 0; ev < program.events.size(); ++ev)
    impl->event_rules.push_back(trigger("perk_rules_event" + std::to_string(ev)));
  for (size_t ev = 0; ev < program.events.size(); ++ev)
    impl->reversed_rules.push_back(program.reversed_rules_by_event[ev].empty()
                                       ? nullptr
                                       : trigger("perk_rules_reversed" + std::to_string(ev)));
  impl->tier_changed_rules = trigger("perk_rules_tier_changed");
  impl->daily_rules = trigger("perk_rules_daily");
  impl->day_kind_rules[0] = impl->daily_rules;
  for (int kind = 1; kind < 4; ++kind)
    impl->day_kind_rules[kind] =
        program.has_calendar_ticks ? trigger("perk_rules_day_kind" + std::to_string(kind)) : impl->daily_rules;
  impl->entering_rules.assign(program.entering_rules.size(), nullptr);
  impl->leaving_rules.assign(program.leaving_rules.size(), nullptr);
  for (size_t k = 0; k < program.entering_rules.size(); ++k)
    if (!program.entering_rules[k].empty()) impl->entering_rules[k] = trigger("perk_rules_entering" + std::to_string(k));
  for (size_t k = 0; k < program.leaving_rules.size(); ++k)
    if (!program.leaving_rules[k].empty()) impl->leaving_rules[k] = trigger("perk_rules_leaving" + std::to_string(k));
  impl->stats.link_ms = Millis(start);
  return std::unique_ptr<CompiledProgram>(new CompiledProgram(std::move(impl)));
}

}  // namespace perk::jit
