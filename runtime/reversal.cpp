// [v0.2] The memory behind reversals (runtime/reversal.h).
#include "runtime/reversal.h"

#include <algorithm>

namespace perk::runtime {

void ReversalMemory::Add(RememberedEvent event) {
  if (event.client >= last_of_client_.size()) last_of_client_.resize(event.client + 1, kNone);
  event.previous_of_client = last_of_client_[event.client];
  const uint64_t index = end();
  last_of_client_[event.client] = index;
  events_.push_back(std::move(event));
  // The view points into the element, which a deque never moves.
  by_id_.emplace(events_.back().id, index);
}

void ReversalMemory::DropOlderThan(int64_t cutoff, const std::vector<uint8_t>& extremes) {
  while (!events_.empty() && events_.front().time < cutoff) {
    RememberedEvent& e = events_.front();
    if (!e.reversed) {
      for (const AggContribution& a : e.aggs) {
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
    by_id_.erase(e.id);
    events_.pop_front();
    ++base_;
  }
}

void ReversalMemory::Clear() {
  events_.clear();
  by_id_.clear();
  last_of_client_.clear();
  aged_.clear();
  base_ = 0;
}

size_t ReversalMemory::Bytes() const {
  size_t n = events_.size() * sizeof(RememberedEvent);
  for (const RememberedEvent& e : events_) {
    if (e.id.size() > 15) n += e.id.capacity() + 1;
    n += e.aggs.capacity() * sizeof(AggContribution) + e.effects.capacity() * sizeof(FiringEffect) +
         e.keys.capacity() * sizeof(Value);
    if (e.record) n += sizeof(Record) + e.record->fields.capacity() * sizeof(Value) + e.record->id.capacity();
  }
  // An unordered_map node and its bucket slot per id.
  n += by_id_.size() * (sizeof(std::string_view) + sizeof(uint64_t) + 2 * sizeof(void*)) +
       by_id_.bucket_count() * sizeof(void*);
  n += last_of_client_.capacity() * sizeof(uint64_t);
  n += aged_.size() * (sizeof(Bucket) + 16 + 4 * sizeof(void*));
  return n;
}

}  // namespace perk::runtime
