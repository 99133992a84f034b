// Per-client and program-wide state: wallets, vars, tier and holds, segments, badges, and the
// calendar-bucket series behind windowed aggregates, limits and budgets.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "compiler/checked.h"
#include "runtime/small_vec.h"
#include "stdlib/stdlib.h"
#include "stdlib/value.h"
#include "stdlib/zone.h"

namespace perk::runtime {

// One calendar bucket (a minute, an hour or a day, or the whole history for WindowUnit::All).
struct Bucket {
  int64_t key = 0;
  int64_t count = 0;
  int64_t sum = 0;
  int64_t min = 0;
  int64_t max = 0;
};

// Non-empty buckets in increasing key order; only the last `keep` units are kept, so memory
// is bounded by the longest window and by how many distinct units saw events. Aggregate series
// (AggSeries) keep their first buckets inline: every record of their event adds to them.
// Limit and budget series (Series), one per rule, stay a bare vector: most rules never use one.
template <typename Buckets>
struct BasicSeries {
  Buckets buckets;

  // Adds a value at `key`; returns false when the sum overflows (nothing changed then).
  bool Add(int64_t key, int64_t value, int64_t keep) {
    if (!buckets.empty() && buckets.back().key == key) {
      Bucket& b = buckets.back();
      int64_t sum;
      if (perk_int_add(b.sum, value, &sum) != PERK_OK) return false;
      b.sum = sum;
      b.count += 1;
      b.min = std::min(b.min, value);
      b.max = std::max(b.max, value);
      return true;
    }
    buckets.push_back(Bucket{key, 1, value, value, value});
    if (keep > 0) {
      // Drop buckets that no window can reach any more: keys <= key - keep.
      auto first = std::find_if(buckets.begin(), buckets.end(), [&](const Bucket& b) { return b.key > key - keep; });
      buckets.erase(buckets.begin(), first);
    }
    return true;
  }

  // Folds the buckets with keys in (key - count, key] (all of them when count == 0) into
  // *out; returns false when their sum overflows. The sum is exact (128-bit) until the end, so
  // whether it overflows does not depend on the order the values came in (or are folded in:
  // AddToCache adds the newest value last).
  bool Query(int64_t key, int64_t count, Bucket* result) const {
    Bucket out;
    __int128 sum = 0;
    bool first = true;
    for (size_t k = buckets.size(); k-- > 0;) {
      const Bucket& b = buckets[k];
      if (b.key > key) continue;
      if (count > 0 && b.key <= key - count) break;
      out.count += b.count;
      sum += b.sum;
      out.min = first ? b.min : std::min(out.min, b.min);
      out.max = first ? b.max : std::max(out.max, b.max);
      first = false;
    }
    if (sum > INT64_MAX || sum < INT64_MIN) return false;
    out.sum = static_cast<int64_t>(sum);
    *result = out;
    return true;
  }
};
using Series = BasicSeries<std::vector<Bucket>>;
using AggSeries = BasicSeries<SmallVec<Bucket, 2>>;

// A window fold remembered between reads of the same window: it holds for query keys in
// [from, until) as long as the series gets no new value (the engine updates it on every Add,
// see AddToCache, and clears it on rollback). Day ticks and events read windows far more often
// than a bucket enters or leaves them; most reads hit this instead of folding calendar buckets
// out of the client's heap.
struct WindowCache {
  int64_t from = 0;
  int64_t until = INT64_MIN;  // an empty range: nothing cached
  Bucket fold;
  void Clear() { until = INT64_MIN; }
};

// Folds like Series::Query, through *cache: a hit when `key` is in the cached range, otherwise
// the fold is computed and cached with the keys it holds for (until the oldest bucket leaves
// the window or a later bucket enters it). An overflowing fold is never cached.
bool QueryCached(const AggSeries& series, int64_t key, int64_t count, Bucket* out, WindowCache* cache);

using checked::AggWindows;
using checked::AggWindowsOf;

// Keeps a cached fold right after `value` was added to its series at bucket `key`, the newest:
// the fold gains the value, and now holds only for query keys whose window contains `key`
// (a trade then does not refold its client's windows). Clears it if nothing is left or the sum
// overflows. `count` is the window's length in units, or 0 for the whole history of a series
// that keeps every bucket (a series that drops old buckets has windows of at most `keep` units,
// whose folds its drops do not change).
void AddToCache(WindowCache* cache, int64_t key, int64_t value, int64_t count);

// The bucket key of a time for a window unit in a zone (stdlib/zone.h; 0 is UTC): local
// minutes, hours and days, months as year * 12 + month - 1, years.
// The zone-aware general case of both is out of line (state.cpp); UTC minutes, hours, days
// and all history, the v0.1 arithmetic that every record and condition window of a UTC program
// needs, are inline so that they stay a division or a multiplication.
int64_t ZonedBucketKey(checked::WindowUnit unit, int64_t time_micros, int32_t zone);
int64_t ZonedBucketStart(checked::WindowUnit unit, int64_t key, int32_t zone);
inline int64_t BucketKey(checked::WindowUnit unit, int64_t time_micros, int32_t zone) {
  if (zone == stdlib::kUtcZone) {
    auto floordiv = [](int64_t a, int64_t b) { return a / b - ((a % b != 0) && (a < 0)); };  // b > 0
    switch (unit) {
      case checked::WindowUnit::Minute: return floordiv(time_micros, stdlib::kMicrosPerMinute);
      case checked::WindowUnit::Hour: return floordiv(time_micros, stdlib::kMicrosPerHour);
      case checked::WindowUnit::Day: return floordiv(time_micros, stdlib::kMicrosPerDay);
      case checked::WindowUnit::All: return 0;
      case checked::WindowUnit::Month:
      case checked::WindowUnit::Year: break;  // the calendar
    }
  }
  return ZonedBucketKey(unit, time_micros, zone);
}
// The first time whose bucket key is `key` (BucketKey's inverse), saturated to INT64_MIN or
// INT64_MAX; INT64_MAX for WindowUnit::All. For local minutes and hours outside UTC it may be
// a little early (a lower bound), which is all StableUntil needs.
inline int64_t BucketStart(checked::WindowUnit unit, int64_t key, int32_t zone) {
  if (zone == stdlib::kUtcZone) {
    int64_t unit_micros = 0;
    switch (unit) {
      case checked::WindowUnit::Minute: unit_micros = stdlib::kMicrosPerMinute; break;
      case checked::WindowUnit::Hour: unit_micros = stdlib::kMicrosPerHour; break;
      case checked::WindowUnit::Day: unit_micros = stdlib::kMicrosPerDay; break;
      case checked::WindowUnit::All: return INT64_MAX;  // one bucket for ever
      case checked::WindowUnit::Month:
      case checked::WindowUnit::Year: return ZonedBucketStart(unit, key, zone);  // the calendar
    }
    int64_t start;
    if (__builtin_mul_overflow(key, unit_micros, &start)) return key > 0 ? INT64_MAX : INT64_MIN;
    return start;
  }
  return ZonedBucketStart(unit, key, zone);
}
// The key a fold over window `w` ends with at time t: the current bucket's, or with
// `previous` the one before it.
inline int64_t WindowKey(const checked::Window& w, int64_t t, int32_t zone) {
  return w.LastKey(BucketKey(w.unit, t, zone));
}

// [v0.2] A per-client series of one rule that is not its plain limit: what its `budget ... per
// client` credited (kind ClientBudget), or the completed firings of its `limit N per KEY` for
// one key value (kind KeyedLimit).
struct RuleSeries {
  enum Kind : uint8_t { ClientBudget, KeyedLimit };
  Kind kind = ClientBudget;
  int32_t rule = 0;
  Value key;  // KeyedLimit: the key's value
  Series series;
};

// [v0.2] What is left of one credit to an expiring wallet (spec §3, C11): it expires at the day
// tick of `expires`. Credits of one wallet that expire on the same date share a lot, since
// nothing tells them apart any more; debits take lots in (expires, wallet) order.
struct Lot {
  int32_t wallet = 0;
  int64_t expires = 0;  // a local date, days since the epoch
  int64_t amount = 0;   // > 0: a lot used up is dropped
  bool operator==(const Lot&) const = default;
};

// [v0.2] A pending credit (`credit W x pending D`): kept out of the balance until the day tick
// of `until`. `seq` is the ledger seq of the credit entry that made it: it names the credit for
// whatever cancels it later (a reversal's pending counter-debit, C10).
struct PendingCredit {
  int32_t wallet = 0;
  int64_t until = 0;  // the release date: a local date, days since the epoch
  int64_t amount = 0;
  uint64_t seq = 0;
  bool operator==(const PendingCredit&) const = default;
};

// One client's state. Everything of fixed size lives in one flat block of int64 slots laid out
// by checked::ClientLayout (since, tier, holds, segment bits, window caches, wallets, numeric
// vars): the compiler computes the layout once, the interpreter and the engine read through the
// accessors below, and the JIT compiles the same offsets into its loads from the block's base.
// The block keeps kInlineSlots slots inside the struct (a typical program's block fits), so a
// client is one allocation-free object whose first cache lines are what a day tick reads.
struct ClientState {
  static constexpr uint32_t kInlineSlots = 32;

  checked::ClientLayout layout;
  SmallVec<int64_t, kInlineSlots> slots;
  std::vector<Series> limits;       // per rule (empty series for rules without a limit)
  InlineVec<AggSeries, 2> aggs;     // per aggregate slot
  std::string id;
  InlineVec<Value, 4> attrs;
  // Per attribute, 1 while an optional one (no default) is unset (spec §2); its value in
  // `attrs` is then its type's zero. Attributes with a default are never unset.
  SmallVec<uint8_t, 8> attr_unset;
  // The text of string vars, by var index: empty unless the program has a string var, then one
  // entry per var (a numeric var's stays empty). Kept beside the block: strings own memory.
  std::vector<std::string> var_text;
  std::vector<std::string> badges;  // in grant order
  // [v0.2] Per-client budget use and keyed limits, in order of first use; empty (no
  // allocation) for programs without them. Keyed limits with a window are pruned as they age.
  std::vector<RuleSeries> rule_series;
  // [v0.2] Lots of expiring wallets, by (expires, wallet), and pending credits, by (until, seq);
  // both empty (no allocation) for programs without them. For an expiring wallet the lots add
  // up to its balance (a balance from before the wallet expired is the part they do not cover).
  std::vector<Lot> lots;
  std::vector<PendingCredit> pending_credits;
  // What wallet `k` has pending: `pending(W)`.
  int64_t PendingOf(int k) const {
    int64_t sum = 0;
    for (const PendingCredit& p : pending_credits)
      if (p.wallet == k) sum += p.amount;  // bounded when credited: no overflow
    return sum;
  }

  // The client's position among the engine's clients (ClientList), set by the engine.
  uint32_t index = 0;

  // Gives the client `layout`'s block with every slot at its start (0; window caches empty).
  void Shape(const checked::ClientLayout& to);
  // Moves the client to the layout `to`, keeping each region's values by index (the first n of
  // each, where both layouts have them); window caches start empty.
  void Reshape(const checked::ClientLayout& to);

  int64_t& since() { return slots[checked::ClientLayout::kSince]; }
  int64_t since() const { return slots[checked::ClientLayout::kSince]; }
  int64_t& tier() { return slots[checked::ClientLayout::kTier]; }
  int64_t tier() const { return slots[checked::ClientLayout::kTier]; }
  // Per tier: the hold lasts while now < holds()[k].
  std::span<int64_t> holds() { return Region(checked::ClientLayout::kHolds, layout.tiers); }
  std::span<const int64_t> holds() const { return Region(checked::ClientLayout::kHolds, layout.tiers); }
  std::span<int64_t> wallets() { return Region(layout.wallets_at(), layout.wallets); }
  std::span<const int64_t> wallets() const { return Region(layout.wallets_at(), layout.wallets); }
  // Vars' values; a string var's slot is 0 and its text is var_text's.
  std::span<int64_t> var_slots() { return Region(layout.vars_at(), layout.vars); }
  std::span<const int64_t> var_slots() const { return Region(layout.vars_at(), layout.vars); }
  Value var(size_t k) const { return Value{var_slots()[k], k < var_text.size() ? var_text[k] : std::string()}; }
  void set_var(size_t k, Value v);
  bool segment(size_t k) const { return (slots[layout.segments_at() + k / 64] >> (k % 64)) & 1; }
  void set_segment(size_t k, bool member) {
    int64_t& word = slots[layout.segments_at() + k / 64];
    const int64_t bit = int64_t{1} << (k % 64);
    word = member ? (word | bit) : (word & ~bit);
  }
  // The cached folds of the program's windows (checked::AggWindows numbers them).
  WindowCache* windows() { return reinterpret_cast<WindowCache*>(slots.data() + layout.windows_at()); }
  const WindowCache* windows() const { return reinterpret_cast<const WindowCache*>(slots.data() + layout.windows_at()); }

  bool HasBadge(std::string_view badge) const;

 private:
  std::span<int64_t> Region(int32_t at, uint32_t n) { return {slots.data() + at, n}; }
  std::span<const int64_t> Region(int32_t at, uint32_t n) const { return {slots.data() + at, n}; }
};
static_assert(sizeof(WindowCache) == checked::ClientLayout::kWindowSlots * sizeof(int64_t));
static_assert(alignof(WindowCache) == alignof(int64_t));

// The engine's clients in order of first appearance, stored in fixed-size chunks: a client
// never moves once created (a growing vector moved every client, hundreds of bytes each, and
// touched fresh pages for all of them at every doubling).
class ClientList {
 public:
  static constexpr size_t kChunk = 1024;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ClientState& operator[](size_t k) { return chunks_[k / kChunk][k % kChunk]; }
  const ClientState& operator[](size_t k) const { return chunks_[k / kChunk][k % kChunk]; }
  ClientState& back() { return (*this)[size_ - 1]; }
  const ClientState& back() const { return (*this)[size_ - 1]; }

  // Appends `c`, setting its index.
  ClientState& push_back(ClientState c) {
    if (size_ == chunks_.size() * kChunk) chunks_.push_back(std::make_unique<ClientState[]>(kChunk));
    ClientState& slot = (*this)[size_];
    slot = std::move(c);
    slot.index = static_cast<uint32_t>(size_++);
    return slot;
  }
  void pop_back() { (*this)[--size_] = ClientState{}; }
  void clear() {
    chunks_.clear();
    size_ = 0;
  }

  template <typename List, typename Value>
  class Iter {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = ClientState;
    using difference_type = std::ptrdiff_t;
    using pointer = Value*;
    using reference = Value&;
    Iter(List* list, size_t k) : list_(list), k_(k) {}
    Value& operator*() const { return (*list_)[k_]; }
    Value* operator->() const { return &(*list_)[k_]; }
    Iter& operator++() {
      ++k_;
      return *this;
    }
    bool operator==(const Iter& o) const { return k_ == o.k_; }
    bool operator!=(const Iter& o) const { return k_ != o.k_; }

   private:
    List* list_;
    size_t k_;
  };
  using iterator = Iter<ClientList, ClientState>;
  using const_iterator = Iter<const ClientList, const ClientState>;
  iterator begin() { return {this, 0}; }
  iterator end() { return {this, size_}; }
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

 private:
  std::vector<std::unique_ptr<ClientState[]>> chunks_;
  size_t size_ = 0;
};

// A new client with every value at its start (wallets 0, vars at their initial values,
// attributes at their defaults, the base tier, outside every segment).
ClientState NewClient(const checked::Program& program, std::string id, int64_t since);
// The same with the program's layout (checked::ClientLayoutOf) computed beforehand.
ClientState NewClient(const checked::Program& program, const checked::ClientLayout& layout, std::string id,
                      int64_t since);

// Gives a client decoded from a v0.1 state (no ClientState::attr_unset) its unset flags: v0.1
// gave an attribute without a default its type's zero (0, "", false, 1970-01-01) until a
// profile set it, so an optional attribute holding that zero is taken as never set; any other
// value as set. (A profile that set one to exactly that zero is read as unset too: v0.1 cannot
// tell them apart, and reading an unset value as set would, say, pay every such client a
// birthday bonus on 1 January.) A client with flags is left as it is.
void ResolveUnsetAttributes(const checked::Program& program, ClientState* client);
bool IsZeroValue(const Value& value);

// Whether a var of `program` is a string (then clients keep ClientState::var_text).
bool HasStringVars(const checked::Program& program);

}  // namespace perk::runtime
