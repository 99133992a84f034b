// [v0.2] The memory behind reversals (runtime/reversal.h).
#include "runtime/reversal.h"

#include <algorithm>

namespace perk::runtime {

void ReversalMemory::Add(RememberedEvent event, uint64_t sender, std::unique_ptr<Record> record) {
  const uint64_t index = end();
  Link(event, index, sender);
  event.has_record = record != nullptr;
  events_.push_back(std::move(event));
  if (record) records_[index] = std::move(record);
}

RememberedEvent& ReversalMemory::Append(uint32_t client, uint64_t sender) {
  RememberedEvent& event = events_.emplace_back();
  event.client = client;
  Link(event, end() - 1, sender);
  return event;
}

void ReversalMemory::KeepRecord(uint64_t index, std::unique_ptr<Record> record) {
  RememberedEvent* e = At(index);
  if (!e || !record) return;
  e->has_record = true;
  records_[index] = std::move(record);
}

// A distance between two events' indexes, as RememberedEvent keeps it. Everything one input
// event sends is remembered right after it, so these are small; 2^32 would be hundreds of
// gigabytes of events.
static uint32_t Distance(uint64_t from, uint64_t to) {
  if (to - from > UINT32_MAX) throw std::length_error("a chain of sent events over 2^32 events long");
  return static_cast<uint32_t>(to - from);
}

void ReversalMemory::SetChainEnd(uint64_t index, uint64_t chain_end) {
  if (RememberedEvent* e = At(index)) e->chain_ahead = chain_end > index ? Distance(index, chain_end) : 0;
}

// Gives the event numbered `index` what was captured since the last one, and chains it to its
// client's previous event.
void ReversalMemory::Link(RememberedEvent& event, uint64_t index, uint64_t sender) {
  if (event.client >= last_of_client_.size()) last_of_client_.resize(event.client + 1, kNone);
  const Mark end = End();
  event.aggs_from = static_cast<uint32_t>(captured_from_.aggs);
  event.aggs_count = static_cast<uint32_t>(end.aggs - captured_from_.aggs);
  event.effects_from = static_cast<uint32_t>(captured_from_.effects);
  event.effects_count = static_cast<uint32_t>(end.effects - captured_from_.effects);
  event.keys_from = static_cast<uint32_t>(captured_from_.keys);
  event.sender_back = sender < index ? Distance(sender, index) : 0;
  event.previous_of_client = last_of_client_[event.client];
  last_of_client_[event.client] = index;
  captured_from_ = end;
}

uint64_t ReversalMemory::IndexOfClient(uint32_t client, std::string_view id) const {
  for (uint64_t k = LastOf(client); k != kNone;) {
    if (k < base_ || k >= end()) return kNone;
    const RememberedEvent& e = events_[k - base_];
    if (e.id == id) return k;
    k = e.previous_of_client;
  }
  return kNone;
}

void ReversalMemory::DropOlderThanSlow(int64_t cutoff, const std::vector<uint8_t>& extremes) {
  // Only highest and lowest need what a dropped event added; without them its contributions
  // are not even read (they are old memory, out of every cache).
  const bool any_extremes = std::find(extremes.begin(), extremes.end(), 1) != extremes.end();
  while (!events_.empty() && events_.front().time < cutoff) {
    RememberedEvent& e = events_.front();
    if (any_extremes && !e.reversed) {
      for (uint32_t k = 0; k < e.aggs_count; ++k) {
        const AggContribution& a = AggAt(e, k);
        if (static_cast<size_t>(a.slot) >= extremes.size() || !extremes[a.slot]) continue;
        auto [it, fresh] = aged_.try_emplace({e.client, a.slot, a.key}, Bucket{a.key, 1, a.value, a.value, a.value});
        if (fresh) continue;
        Bucket& b = it->second;
        b.count += 1;
        b.min = std::min(b.min, a.value);
        b.max = std::max(b.max, a.value);
      }
    }
    if (last_of_client_[e.client] == base_) last_of_client_[e.client] = kNone;
    // The pools hold the events' entries in the same order: the next event's start (or the
    // end of what is committed) is where this one's end.
    const Mark next = events_.size() > 1 ? Mark{aggs_base_ + Offset(events_[1].aggs_from, aggs_base_),
                                                 effects_base_ + Offset(events_[1].effects_from, effects_base_),
                                                 keys_base_ + Offset(events_[1].keys_from, keys_base_)}
                                          : captured_from_;
    if (e.has_record) records_.erase(base_);
    while (aggs_base_ < next.aggs) aggs_.pop_front(), ++aggs_base_;
    while (effects_base_ < next.effects) effects_.pop_front(), ++effects_base_;
    while (keys_base_ < next.keys) keys_.pop_front(), ++keys_base_;
    events_.pop_front();
    ++base_;
  }
}

void ReversalMemory::MarkReversed(uint64_t index) {
  RememberedEvent* e = At(index);
  if (!e) return;
  e->reversed = true;
  e->aggs_count = e->effects_count = 0;
  if (e->has_record) records_.erase(index);
  e->has_record = false;
  if (log_reversed_) reversed_log_.push_back(index);
}

uint32_t ReversalMemory::KeyCount(const RememberedEvent& e) const {
  uint32_t n = 0;
  for (uint32_t k = 0; k < e.effects_count; ++k) {
    const FiringEffect& f = EffectAt(e, k);
    if (f.kind == FiringEffect::KeyedLimit) n = std::max(n, f.key_index + 1);
  }
  return n;
}

void ReversalMemory::Clear() {
  events_.clear();
  aggs_.clear();
  effects_.clear();
  keys_.clear();
  last_of_client_.clear();
  records_.clear();
  aged_.clear();
  base_ = aggs_base_ = effects_base_ = keys_base_ = 0;
  captured_from_ = {};
  reversed_log_.clear();
}

size_t ReversalMemory::Bytes() const {
  size_t n = events_.size() * sizeof(RememberedEvent);
  events_.ForEach([&](const RememberedEvent& e) {
    n += e.id.HeapBytes();
  });
  for (const auto& [index, r] : records_)
    n += sizeof(Record) + r->fields.capacity() * sizeof(Value) + r->id.capacity() + 4 * sizeof(void*);
  n += aggs_.size() * sizeof(AggContribution) + effects_.size() * sizeof(FiringEffect) + keys_.size() * sizeof(Value);
  n += last_of_client_.capacity() * sizeof(uint64_t);
  n += aged_.size() * (sizeof(Bucket) + 16 + 4 * sizeof(void*));
  return n;
}

}  // namespace perk::runtime
