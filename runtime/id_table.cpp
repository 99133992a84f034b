// The cold parts of the id tables: growth, deletion, expiry and compaction.
#include "runtime/id_table.h"

#include <stdexcept>

namespace perk::runtime {

namespace id_table_detail {

namespace {
constexpr size_t kMinSlots = 16;
}  // namespace

void TagTable::Clear() {
  slots_.assign(kMinSlots, Slot{0, 0});
  mask_ = kMinSlots - 1;
  size_ = 0;
}

void TagTable::Grow(size_t n) {
  size_t capacity = slots_.size();
  while (n * 2 > capacity) capacity *= 2;
  // Home positions come from the 32-bit tag: beyond 2^32 slots they would stop spreading.
  if (capacity > (size_t{1} << 32)) throw std::length_error("id table: more than 2^31 ids");
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{0, 0});
  mask_ = capacity - 1;
  for (const Slot& s : old) {
    if (s.tag == 0) continue;
    size_t i = s.tag & mask_;
    while (slots_[i].tag != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

// Backward-shift deletion: each later slot of the run that may move back into the hole does,
// so every entry stays reachable from its home without tombstones.
void TagTable::Erase(size_t hole) {
  for (size_t j = (hole + 1) & mask_; slots_[j].tag != 0; j = (j + 1) & mask_) {
    size_t home = slots_[j].tag & mask_;
    // The entry at j may move to the hole when the hole lies on its probe path, home .. j.
    if (((j - home) & mask_) >= ((j - hole) & mask_)) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = Slot{0, 0};
  --size_;
}

}  // namespace id_table_detail

void DedupSet::PopFront() {
  const Entry& e = ring_[head_ & ring_mask_];
  const uint32_t ref = static_cast<uint32_t>(head_);
  const std::string_view id = Bytes(e);
  // The id's slot points at this entry, or, when the id was inserted again while remembered,
  // at another entry with the same bytes; the set forgets the id either way, as
  // std::unordered_set::erase(id) did.
  size_t i = table_.Probe(e.tag, [&](uint32_t r) { return r == ref || IdAt(r) == id; });
  if (!table_.IsEmpty(i)) table_.Erase(i);
  arena_dead_ += e.size;
  ++head_;
  if (head_ == tail_) {
    // Empty: the arena starts afresh at no cost.
    arena_base_ += arena_.size();
    arena_.clear();
    arena_dead_ = 0;
  }
}

void DedupSet::Compact() {
  arena_.erase(0, arena_dead_);
  arena_base_ += arena_dead_;
  arena_dead_ = 0;
}

void DedupSet::GrowRing() {
  size_t capacity = ring_.empty() ? 16 : ring_.size() * 2;
  if (capacity > (size_t{1} << 31)) throw std::length_error("dedup set: more than 2^31 ids in the window");
  std::vector<Entry> grown(capacity);
  const uint64_t mask = capacity - 1;
  for (uint64_t s = head_; s < tail_; ++s) grown[s & mask] = ring_[s & ring_mask_];
  ring_ = std::move(grown);
  ring_mask_ = mask;
}

void DedupSet::Clear() {
  table_.Clear();
  ring_.clear();
  ring_.shrink_to_fit();
  ring_mask_ = 0;
  head_ = tail_ = 0;
  arena_.clear();
  arena_.shrink_to_fit();
  arena_base_ = 0;
  arena_dead_ = 0;
}

}  // namespace perk::runtime
