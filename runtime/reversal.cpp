// [v0.2] The memory behind reversals (runtime/reversal.h).
#include "runtime/reversal.h"

#include <algorithm>

namespace perk::runtime {

void ReversalMemory::Add(RememberedEvent event) {
  Link(event, end());
  events_.push_back(std::move(event));
}

RememberedEvent& ReversalMemory::Append(uint32_t client) {
  RememberedEvent& event = events_.emplace_back();
  event.client = client;
  Link(event, end() - 1);
  return event;
}

// Gives the event numbered `index` what was captured since the last one, and chains it to its
// client's previous event.
void ReversalMemory::Link(RememberedEvent& event, uint64_t index) {
  if (event.client >= last_of_client_.size()) last_of_client_.resize(event.client + 1, kNone);
  const Mark end = End();
  event.aggs_begin = captured_from_.aggs;
  event.aggs_count = static_cast<uint32_t>(end.aggs - captured_from_.aggs);
  event.effects_begin = captured_from_.effects;
  event.effects_count = static_cast<uint32_t>(end.effects - captured_from_.effects);
  event.keys_begin = captured_from_.keys;
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
  while (!events_.empty() && events_.front().time < cutoff) {
    RememberedEvent& e = events_.front();
    if (!e.reversed) {
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
    const Mark next = events_.size() > 1
                          ? Mark{events_[1].aggs_begin, events_[1].effects_begin, events_[1].keys_begin}
                          : captured_from_;
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
  e->record.reset();
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
  aged_.clear();
  base_ = aggs_base_ = effects_base_ = keys_base_ = 0;
  captured_from_ = {};
  reversed_log_.clear();
}

size_t ReversalMemory::Bytes() const {
  size_t n = events_.size() * sizeof(RememberedEvent);
  events_.ForEach([&](const RememberedEvent& e) {
    if (e.id.size() > 15) n += e.id.capacity() + 1;
    if (e.record) n += sizeof(Record) + e.record->fields.capacity() * sizeof(Value) + e.record->id.capacity();
  });
  n += aggs_.size() * sizeof(AggContribution) + effects_.size() * sizeof(FiringEffect) + keys_.size() * sizeof(Value);
  n += last_of_client_.capacity() * sizeof(uint64_t);
  n += aged_.size() * (sizeof(Bucket) + 16 + 4 * sizeof(void*));
  return n;
}

}  // namespace perk::runtime
