// The JIT: lowers a checked program's expressions to LLVM IR, optimises them with LLVM's new
// pass manager and compiles them to native code with ORC LLJIT. One native function per
// top-level expression (a `when`, an action's value, a data value, a tier or segment
// condition, an aggregate's `where`); the runtime calls them through the ABI below, which it
// fills from its own state. Nothing here knows the runtime's types.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/checked.h"
#include "stdlib/stdlib.h"

namespace perk::jit {

// A string slice: native code reads strings in place and never owns them.
struct Str {
  const char* data;
  int64_t size;
};

// What native code reads, filled by the runtime before each call. Value arrays are read in
// place (their int64 at offset 0, their std::string's pointer and length), so the layout of
// perk::Value is checked once when the JIT starts.
// A client's cached fold of one aggregate window (checked::AggWindows numbers them), kept by
// the runtime (runtime/state.h's WindowCache has exactly this layout): it holds for bucket keys
// in [from, until). Compiled code reads it in place and calls back only when it does not hold.
struct WindowView {
  int64_t from;
  int64_t until;
  int64_t key;
  int64_t count;
  int64_t sum;
  int64_t min;
  int64_t max;
};

struct Result;

// The runtime's side of a trigger entry (see TriggerFn): what compiled rules call for what lives
// in the runtime's structures. Limits, budgets, wallets, vars, badges and ledger entries are
// applied by the same runtime code for both engines, so their bytes have one definition.
struct RuleHooks {
  void* host;
  // 1 while `rule`'s limit lets it fire, else 0.
  int32_t (*limit_open)(void* host, int32_t rule);
  // Applies `action` (a const checked::Action* of `rule`) with its evaluated values: the
  // amount or value in values[0], or one value per data entry. Returns PERK_OK, kRuleStopped
  // when a budget skip ends the firing, or kHookFailed (the runtime keeps what failed).
  int32_t (*act)(void* host, int32_t rule, const void* action, const Result* values);
  // Counts a completed firing against `rule`'s limit.
  void (*limit_add)(void* host, int32_t rule);
};
constexpr int32_t kRuleStopped = 1000;
constexpr int32_t kHookFailed = 1001;

struct Context {
  const Value* event_fields;  // the trigger record's fields; null without a trigger event
  // The client's flat block (checked::ClientLayout): since, tier, segment bits, wallets and
  // numeric vars are read from it at offsets compiled into the code.
  const int64_t* client;
  const Value* attrs;             // client attributes
  const uint8_t* attr_unset;      // per attribute, 1 while an optional one is unset
  const std::string* var_text;    // the text of string vars, by var index
  int64_t event_time;
  int64_t previous_tier;
  int64_t now;
  int64_t today;
  Str event_id;
  Str event_client;
  Str client_id;
  // The client's windows (in its block), or null (then every aggregate read calls back).
  const WindowView* windows;
  // Callbacks into the runtime for what lives in its own structures.
  const void* runtime;
  PerkStatus (*aggregate)(const void* runtime, int32_t use, int64_t* out);
  int32_t (*has_badge)(const void* runtime, const char* data, int64_t size);
  int64_t (*pending)(const void* runtime, int32_t wallet);  // [v0.2] `pending(W)`
  // Strings made during a call (lower, upper) live here until the runtime has copied the result.
  void* arena;
  // Only for trigger entries.
  const RuleHooks* hooks;
  // Out: on failure, the index of the failing sub-expression (see CompiledProgram::ErrorSite).
  int32_t error_site;
};

struct Result {
  int64_t i;
  const char* data;  // string results
  int64_t size;
};

// Returns a PerkStatus; on PERK_OK the result is in *out.
using NativeFn = int32_t (*)(Context* ctx, Result* out);
// Several boolean expressions in one call: results[j] is 0 or 1 for the j-th; on a failure,
// *failed is its j and the status is returned (ctx->error_site says where, as for NativeFn).
using BatchFn = int32_t (*)(Context* ctx, uint8_t* results, int32_t* failed);

// A trigger entry: runs the rules of one trigger in declaration order (limit, `when`, actions,
// limit count), calling ctx->hooks for limits and actions. Returns PERK_OK; a PerkStatus of a
// failing expression with its rule's index in *failed_rule (ctx->error_site says where, as for
// NativeFn); or kHookFailed when a hook failed.
using TriggerFn = int32_t (*)(Context* ctx, int32_t* failed_rule);

// Owns the strings `lower` and `upper` make during one call.
class StringArena {
 public:
  Str Keep(std::string s);
  void Clear() { strings_.clear(); }

 private:
  std::vector<std::unique_ptr<std::string>> strings_;
};

struct Options {
  // 0..3, LLVM's IR pipelines, or kLight: SROA, EarlyCSE, InstCombine and SimplifyCFG per
  // function, without inlining. -1 picks by size: O2, or kLight for programs of more than
  // kLargeProgram functions, where O2's passes would dominate the load time while the compiled
  // expressions are a small part of a run either way. A generated 200-rule program (739
  // functions, bench/jit_load): load 208-238 ms at O1, 112-125 ms at kLight; the same
  // program's run (build/core over 200k records) takes the same time with either.
  int opt_level = -1;
  static constexpr int kLight = 4;
  static constexpr int kLargeProgram = 256;
  // 0..3, instruction selection and register allocation. Perk's functions are small and
  // straight-line: fast instruction selection (0) costs a fifth of the default's time
  // (measure with bench/jit_load).
  int codegen_level = 0;
  bool keep_ir = false;  // keep the optimised module's text for ir(); bypasses the cache
  // The object cache's directory (compiler/jit_cache.h); "" is none. Unset: the process's
  // default (SetDefaultCacheDir), which is none unless the perk command or libperk set it.
  std::optional<std::string> cache_dir;
};

enum class CacheUse { Off, Hit, Miss };

struct LoadStats {
  int functions = 0;
  int modules = 0;        // compiled on parallel threads
  int opt_level = 0;      // the IR pipeline used
  double lower_ms = 0;    // checked AST -> LLVM IR
  double cache_ms = 0;    // the object cache: the key, reading the entry, writing it on a miss
  double compile_ms = 0;  // IR pipeline and machine code (wall time); 0 on a cache hit
  double link_ms = 0;     // the objects linked in memory
  CacheUse cache = CacheUse::Off;
  bool cache_stored = false;  // a miss whose code was written to the cache
};

class CompiledProgram {
 public:
  // Compiles every top-level expression of `program`, which must outlive the result and not
  // change after (params are folded in as constants). Returns nullptr with *error set when
  // LLVM cannot compile for this machine.
  static std::unique_ptr<CompiledProgram> Compile(const checked::Program& program, const Options& options,
                                                  std::string* error);
  ~CompiledProgram();

  // The native function for a top-level expression of the program, or nullptr.
  NativeFn Find(const checked::Expr* e) const;
  // The conditions of tiers 1.. (tier 0 has none) and of the segments, in declaration order.
  BatchFn TierConditions() const;
  BatchFn SegmentConditions() const;
  // The trigger entries: the rules of event `event`, of `on tier_changed` and of `every day`.
  TriggerFn EventRules(size_t event) const;
  TriggerFn ReversedRules(size_t event) const;  // [v0.2] null when the event has none
  TriggerFn TierChangedRules() const;
  TriggerFn DailyRules() const;
  // [v0.2] The day-tick rules of a checked::DayKind (DayTickRules(0) is DailyRules()).
  TriggerFn DayTickRules(int day_kind) const;
  // [v0.2] The `on entering` (or `on leaving`) rules of segment `segment`; null when it has none.
  TriggerFn SegmentRules(size_t segment, bool entering) const;
  // Where a failing native call stopped: the source range of that sub-expression.
  const SourceRange& ErrorSite(int32_t site) const;
  const LoadStats& stats() const;
  // The optimised module as LLVM IR text when Options::keep_ir (for `perk dump ir`).
  const std::string& ir() const;

  struct Impl;

 private:
  explicit CompiledProgram(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace perk::jit
