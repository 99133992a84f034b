// [v0.2] What a reversal (spec §4, C10) needs to remember about an accepted event: what it
// added to its client's aggregates, and what its firings did (their limit counts, credits and
// debits with the budget buckets they used). Kept for the 30-day reversal horizon only, so the
// memory follows the last 30 days' activity (docs/state.md has the bytes per event).
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "runtime/chunk_queue.h"
#include "runtime/records.h"
#include "runtime/state.h"
#include "stdlib/stdlib.h"
#include "stdlib/value.h"

namespace perk::runtime {

// How far back a reversal reaches: 30 days (720 hours) of event time (spec §4).
constexpr int64_t kReversalHorizon = 720 * stdlib::kMicrosPerHour;
// A budget bucket key meaning "this credit used no such budget".
constexpr int64_t kNoBucket = INT64_MIN;

// One value an event added to one aggregate slot's bucket.
struct AggContribution {
  int32_t slot = 0;
  int64_t key = 0;    // the bucket key
  int64_t value = 0;  // the field's value (0 for count-only slots)
};

// One effect of one of the event's firings that a reversal answers, in ledger order. The
// reversal walks this list in order (Engine::Impl::UndoEffects), the single place that turns
// each kind into its counter-effect.
struct FiringEffect {
  enum Kind : uint8_t {
    Credit,      // a counter-debit of `amount` (at most the balance), budgets get back what it took
    Debit,       // a counter-credit of `amount`
    Limit,       // the firing counted once in `rule`'s limit series at bucket `bucket`
    KeyedLimit,  // the same for `limit N per K`, under FiringEffects::keys[key_index]
    // [C11] A `credit ... pending D`: while not yet released, answered by a pending
    // counter-debit of the whole amount (the pending credit is cancelled, the budgets get it
    // back); once released, like Credit.
    PendingCredit,
  };
  // [C9] The events a firing sent are not effects here: each is a RememberedEvent of its own
  // that names its sender (RememberedEvent::sender), reversed after its sender.
  Kind kind = Credit;
  int32_t rule = 0;
  int32_t wallet = 0;      // Credit, Debit
  uint32_t key_index = 0;  // KeyedLimit
  uint64_t seq = 0;        // Credit, Debit: the entry it answers (`reverses`)
  int64_t amount = 0;      // Credit, Debit: what it moved
  int64_t bucket = 0;      // Limit, KeyedLimit: the limit series' bucket key
  int64_t budget_bucket = kNoBucket;         // Credit: the campaign budget's bucket
  int64_t client_budget_bucket = kNoBucket;  // Credit: the per-client budget's bucket
};

// An event's id in 16 bytes: up to 15 bytes in place (ids are short: the 1M benchmark's are 2
// to 8 bytes), longer ones on the heap. Half of a std::string, for every remembered event.
class EventId {
 public:
  EventId() { bytes_[kTag] = 0; }
  EventId(const EventId&) = delete;
  EventId& operator=(const EventId&) = delete;
  EventId(EventId&& o) noexcept {
    std::memcpy(bytes_, o.bytes_, sizeof bytes_);
    o.bytes_[kTag] = 0;
  }
  EventId& operator=(EventId&& o) noexcept {
    if (this != &o) {
      Free();
      std::memcpy(bytes_, o.bytes_, sizeof bytes_);
      o.bytes_[kTag] = 0;
    }
    return *this;
  }
  EventId& operator=(std::string_view s) {
    Free();
    Assign(s);
    return *this;
  }
  ~EventId() { Free(); }

  std::string_view view() const {
    if (bytes_[kTag] != kOnHeap) return {reinterpret_cast<const char*>(bytes_), bytes_[kTag]};
    const char* p;
    uint32_t n;
    std::memcpy(&p, bytes_, sizeof p);
    std::memcpy(&n, bytes_ + 8, sizeof n);
    return {p, n};
  }
  bool operator==(std::string_view s) const { return view() == s; }
  // What it holds outside its 16 bytes.
  size_t HeapBytes() const { return bytes_[kTag] == kOnHeap ? view().size() : 0; }

 private:
  static constexpr size_t kTag = 15;               // the length in place, or kOnHeap
  static constexpr unsigned char kOnHeap = 0xff;  // a char* at 0 and its uint32 length at 8
  void Assign(std::string_view s) {
    if (s.size() < kTag) {
      std::memcpy(bytes_, s.data(), s.size());
      bytes_[kTag] = static_cast<unsigned char>(s.size());
      return;
    }
    if (s.size() > UINT32_MAX) throw std::length_error("an event id of 4 GiB or more");
    char* p = new char[s.size()];
    std::memcpy(p, s.data(), s.size());
    const auto n = static_cast<uint32_t>(s.size());
    std::memcpy(bytes_, &p, sizeof p);
    std::memcpy(bytes_ + 8, &n, sizeof n);
    bytes_[kTag] = kOnHeap;
  }
  void Free() {
    if (bytes_[kTag] != kOnHeap) return;
    char* p;
    std::memcpy(&p, bytes_, sizeof p);
    delete[] p;
    bytes_[kTag] = 0;
  }
  alignas(8) unsigned char bytes_[16];
};

// An accepted event as a reversal sees it, in 72 bytes (docs/state.md). What it added and did
// lives in ReversalMemory's pools (first-in first-out like the events, so no event allocates on
// its own); the rarer things (who sent it, the end of what it sent, the event itself for
// `on EVENT reversed` rules) are asked of ReversalMemory by the event's index.
struct RememberedEvent {
  EventId id;
  int64_t time = 0;
  // Its client's previous remembered event (an absolute index into ReversalMemory), or
  // kNone: the chain a reversal walks to find the event and to refold highest and lowest.
  uint64_t previous_of_client = UINT64_MAX;
  uint32_t client = 0;  // index in the engine's clients
  int32_t event_index = 0;
  uint32_t aggs_count = 0;
  uint32_t effects_count = 0;
  // Where its entries start in the aggregate, effect and key pools: the low 32 bits of the
  // absolute index (a pool never holds 2^32 entries, so they name one entry exactly).
  uint32_t aggs_from = 0, effects_from = 0, keys_from = 0;
  // [C9] ReversalMemory::SenderOf and ChainEndOf, as distances from the event's own index
  // (0: none). Everything one input event sends is remembered right after it.
  uint32_t sender_back = 0;
  uint32_t chain_ahead = 0;
  bool reversed = false;
  bool sent = false;         // [C9] made by `send`: reversed only with the event that sent it
  bool has_record = false;   // ReversalMemory::RecordOf has the event itself
};
static_assert(sizeof(RememberedEvent) == 72, "docs/state.md gives the bytes per remembered event");

// Every remembered event in order of acceptance (so in time order), with pools of what they
// added and did. An event in progress appends to the pools as it goes (the capture); a
// rollback truncates them, and Add commits them to the event.
class ReversalMemory {
 public:
  static constexpr uint64_t kNone = UINT64_MAX;

  // The pools' ends: marks for Truncate, and where the event in progress starts.
  struct Mark {
    uint64_t aggs, effects, keys;
  };
  Mark End() const {
    return {aggs_base_ + aggs_.size(), effects_base_ + effects_.size(), keys_base_ + keys_.size()};
  }
  void Truncate(const Mark& m) {
    aggs_.resize(m.aggs - aggs_base_);
    effects_.resize(m.effects - effects_base_);
    keys_.resize(m.keys - keys_base_);
  }
  void Capture(const AggContribution& a) { aggs_.push_back(a); }
  void Capture(const FiringEffect& f) { effects_.push_back(f); }
  // A keyed limit's key: its index, for FiringEffect::key_index.
  uint32_t CaptureKey(const Value& key) {
    keys_.push_back(key);
    return static_cast<uint32_t>(keys_base_ + keys_.size() - 1 - captured_from_.keys);
  }
  // Begins capturing for an event: what it appends from here on is its own.
  void BeginCapture() { captured_from_ = End(); }

  // Commits the event in progress (what was captured since BeginCapture) as index end(); links
  // it to its client's previous one. `sender`: the index of the event that sent it, or kNone.
  // `record`: the event itself, kept for `on EVENT reversed` rules (or null).
  void Add(RememberedEvent event, uint64_t sender = kNone, std::unique_ptr<Record> record = nullptr);
  // The same, built in place (no temporary to move): the caller fills in id, time, event_index
  // and sent.
  RememberedEvent& Append(uint32_t client, uint64_t sender);
  // The event itself, for an event remembered with one; null otherwise.
  const Record* RecordOf(uint64_t index) const {
    auto it = records_.find(index);
    return it == records_.end() ? nullptr : it->second.get();
  }
  void KeepRecord(uint64_t index, std::unique_ptr<Record> record);
  // [C9] The index of the event that sent the event at `index`, or kNone (an input event, or
  // one a day tick or a reversal sent).
  uint64_t SenderOf(uint64_t index) const {
    const RememberedEvent* e = At(index);
    return e && e->sender_back ? index - e->sender_back : kNone;
  }
  // [C9] For an input event that sent events: the end of the range after it where everything
  // it sent, directly or not, was remembered; else 0.
  uint64_t ChainEndOf(uint64_t index) const {
    const RememberedEvent* e = At(index);
    return e && e->chain_ahead ? index + e->chain_ahead : 0;
  }
  void SetChainEnd(uint64_t index, uint64_t chain_end);

  // Starts loading the client's link, which Append reads once the event is done: with many
  // clients it is a cache miss, taken while the event's rules run.
  void PrefetchLink(uint32_t client) const {
    if (client < last_of_client_.size()) __builtin_prefetch(&last_of_client_[client], 1);
  }
  // The index of the client's remembered event with this id, or kNone.
  uint64_t IndexOfClient(uint32_t client, std::string_view id) const;
  RememberedEvent* At(uint64_t index) { return index >= base_ && index < end() ? &events_[index - base_] : nullptr; }
  const RememberedEvent* At(uint64_t index) const {
    return index >= base_ && index < end() ? &events_[index - base_] : nullptr;
  }
  uint64_t end() const { return base_ + events_.size(); }
  uint64_t begin() const { return base_; }
  size_t size() const { return events_.size(); }
  uint64_t LastOf(uint32_t client) const { return client < last_of_client_.size() ? last_of_client_[client] : kNone; }

  // What an event added and did.
  const AggContribution& AggAt(const RememberedEvent& e, uint32_t k) const {
    return aggs_[Offset(e.aggs_from, aggs_base_) + k];
  }
  const FiringEffect& EffectAt(const RememberedEvent& e, uint32_t k) const {
    return effects_[Offset(e.effects_from, effects_base_) + k];
  }
  const Value& KeyAt(const RememberedEvent& e, uint32_t k) const { return keys_[Offset(e.keys_from, keys_base_) + k]; }

  // Drops the events older than `cutoff` (time < cutoff). For slots that need their buckets'
  // highest and lowest (`extremes[slot]`), folds what a dropped event added into the aged
  // fold of its bucket, so that a later reversal in the same bucket refolds it exactly.
  // Called at every record: the common case, nothing old enough, costs one comparison.
  void DropOlderThan(int64_t cutoff, const std::vector<uint8_t>& extremes) {
    if (!events_.empty() && events_.front().time < cutoff) DropOlderThanSlow(cutoff, extremes);
  }
  // Forgets aged folds of buckets no remembered event can reach (keys before `min_key(slot)`).
  template <typename MinKey>
  void DropAgedBefore(MinKey min_key) {
    for (auto it = aged_.begin(); it != aged_.end();) {
      if (std::get<2>(it->first) < min_key(std::get<1>(it->first))) it = aged_.erase(it);
      else ++it;
    }
  }
  // The fold of what dropped events added to (client, slot, key), or null.
  const Bucket* Aged(uint32_t client, int32_t slot, int64_t key) const {
    auto it = aged_.find({client, slot, key});
    return it == aged_.end() ? nullptr : &it->second;
  }
  void Clear();

  // Marks a remembered event reversed: nothing of what it added is needed any more (a later
  // refold skips it). Logged for the durable store when LogReversed is on.
  void MarkReversed(uint64_t index);

  // ---- [C10] the seam for durable state (runtime/store.h, runtime/snapshot.h) ----
  // Whether MarkReversed logs the indexes it marks, for TakeReversed (only a store takes them).
  void LogReversed(bool on) { log_reversed_ = on; }
  // The indexes marked reversed since the last call; clears the log.
  void TakeReversed(std::vector<uint64_t>* out) {
    out->clear();
    std::swap(*out, reversed_log_);
  }
  // A restored memory starts empty at `base`: the index its first event had in the run that
  // saved it, so the stored indexes (sender, chain_end, the reversed log) stay valid.
  void RestartAt(uint64_t base) {
    Clear();
    base_ = base;
  }
  // The number of keys the event captured (those its keyed-limit effects name).
  uint32_t KeyCount(const RememberedEvent& e) const;
  using AgedFolds = std::map<std::tuple<uint32_t, int32_t, int64_t>, Bucket>;
  const AgedFolds& aged() const { return aged_; }
  AgedFolds& mutable_aged() { return aged_; }

  // Bytes held, for docs/state.md's measurement (an estimate of heap use).
  size_t Bytes() const;

 private:
  void DropOlderThanSlow(int64_t cutoff, const std::vector<uint8_t>& extremes);
  void Link(RememberedEvent& event, uint64_t index, uint64_t sender);
  // The position in a pool (whose front has absolute index `base`) of the entry whose absolute
  // index has the low 32 bits `from`.
  static size_t Offset(uint32_t from, uint64_t base) { return static_cast<uint32_t>(from - static_cast<uint32_t>(base)); }

  ChunkQueue<RememberedEvent> events_;
  uint64_t base_ = 0;  // the absolute index of events_.front()
  ChunkQueue<AggContribution> aggs_;
  ChunkQueue<FiringEffect> effects_;
  ChunkQueue<Value> keys_;
  uint64_t aggs_base_ = 0, effects_base_ = 0, keys_base_ = 0;
  Mark captured_from_{};
  std::vector<uint64_t> last_of_client_;
  std::unordered_map<uint64_t, std::unique_ptr<Record>> records_;  // by index: RememberedEvent::has_record
  AgedFolds aged_;
  bool log_reversed_ = false;
  std::vector<uint64_t> reversed_log_;
};

}  // namespace perk::runtime
