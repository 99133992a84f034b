// Open-addressing tables for the ids the engine looks up on every record: the client index
// (client id -> index in the engine's client vector) and the dedup set (event ids remembered
// for the dedup window, oldest first). They replace std::unordered_map/unordered_set keyed by
// std::string, whose node per id, pointer chasing and copied strings cost a large share of
// event time.
//
// Both tables use the same slots: 8 bytes, (tag, ref). The tag is 32 bits of the id's hash
// (never 0: 0 marks an empty slot), and its low bits are also the slot's home position, so
// the table can grow without the ids. ref is what the slot points at: a client index, or a
// position in the dedup FIFO. The id itself is never stored in the slot; a tag match is
// confirmed by comparing the id where it lives (the client's state, the FIFO's byte arena).
// Linear probing at load <= 1/2, power-of-two capacity, deletion by backward shift (no
// tombstones, so probe lengths never degrade after many erases).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace perk::runtime {

// A fast, deterministic 64-bit hash of an id's bytes (the same on every run and platform of
// one byte order). Not keyed: it does not defend against ids crafted to collide, and neither
// did std::hash.
inline uint64_t HashId(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  auto load8 = [](const char* q) {
    uint64_t w;
    std::memcpy(&w, q, 8);
    return w;
  };
  auto load4 = [](const char* q) {
    uint32_t w;
    std::memcpy(&w, q, 4);
    return static_cast<uint64_t>(w);
  };
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(n) * 0xff51afd7ed558ccdull);
  while (n > 8) {
    h = (h ^ load8(p)) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  // The last 1..8 bytes, read as overlapping words rather than byte by byte; the length is
  // already mixed in, so the overlap cannot make two ids of one length collide by itself.
  uint64_t w = 0;
  if (s.size() >= 8) {
    w = load8(s.data() + s.size() - 8);
  } else if (n >= 4) {
    w = load4(p) | (load4(p + n - 4) << 32);
  } else if (n > 0) {
    w = static_cast<unsigned char>(p[0]) | (static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
        (static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16);
  }
  h = (h ^ w) * 0x94d049bb133111ebull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return h;
}

namespace id_table_detail {

struct Slot {
  uint32_t tag;  // 0: empty
  uint32_t ref;
};

inline uint32_t TagOf(uint64_t hash) {
  uint32_t t = static_cast<uint32_t>(hash);
  return t ? t : 1;
}

// The slot array shared by both tables: it knows tags and refs, never ids.
class TagTable {
 public:
  TagTable() { Clear(); }

  size_t size() const { return size_; }
  size_t capacity() const { return slots_.size(); }

  // The slot holding `tag` whose ref satisfies match(ref), or the empty slot that ends the
  // probe (where such an entry would be filled in).
  template <class Match>
  size_t Probe(uint32_t tag, const Match& match) const {
    for (size_t i = tag & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.tag == 0 || (s.tag == tag && match(s.ref))) return i;
    }
  }
  bool IsEmpty(size_t i) const { return slots_[i].tag == 0; }
  // Starts loading the slot a probe for `tag` begins at (batches look ahead with it).
  void PrefetchHome(uint32_t tag) const { __builtin_prefetch(slots_.data() + (tag & mask_)); }
  uint32_t Ref(size_t i) const { return slots_[i].ref; }

  // Fills the empty slot Probe returned. Call Reserve(size() + 1) before that Probe: growing
  // moves slots.
  void Fill(size_t i, uint32_t tag, uint32_t ref) {
    slots_[i] = Slot{tag, ref};
    ++size_;
  }
  // Grows so that n entries fit at load <= 1/2.
  void Reserve(size_t n) {
    if (n * 2 > slots_.size()) Grow(n);
  }
  void Erase(size_t i);
  void Clear();

 private:
  void Grow(size_t n);

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace id_table_detail

// Client id -> index into the owner's vector of clients. The ids stay in the owner's vector:
// key(k) returns the id of entry k as a string_view (KeyOf is a small callable holding a
// pointer to the vector), and the index must be able to call it for every entry it holds.
template <class KeyOf>
class ClientIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit ClientIndex(KeyOf key) : key_(key) {}

  size_t size() const { return table_.size(); }

  uint32_t Find(std::string_view id) const { return Find(id, HashId(id)); }
  void Prefetch(uint64_t hash) const { table_.PrefetchHome(id_table_detail::TagOf(hash)); }
  // `hash` must be HashId(id), except in tests, which pass hashes chosen to collide.
  uint32_t Find(std::string_view id, uint64_t hash) const {
    size_t i = table_.Probe(id_table_detail::TagOf(hash), [&](uint32_t k) { return key_(k) == id; });
    return table_.IsEmpty(i) ? kNone : table_.Ref(i);
  }

  // Maps key(index) to index. The id must not be in the index yet (Find first).
  void Insert(std::string_view id, uint32_t index) { Insert(index, HashId(id)); }
  void Insert(uint32_t index, uint64_t hash) {
    table_.Reserve(table_.size() + 1);
    uint32_t tag = id_table_detail::TagOf(hash);
    table_.Fill(table_.Probe(tag, [](uint32_t) { return false; }), tag, index);
  }

  // Removes the entry of `index`, whose id is `id` (the engine drops its newest client this
  // way when the client's first record is rolled back). False when it is not there.
  bool Erase(std::string_view id, uint32_t index) { return Erase(index, HashId(id)); }
  bool Erase(uint32_t index, uint64_t hash) {
    size_t i = table_.Probe(id_table_detail::TagOf(hash), [&](uint32_t k) { return k == index; });
    if (table_.IsEmpty(i)) return false;
    table_.Erase(i);
    return true;
  }

  void Clear() { table_.Clear(); }

  // Indexes entries 0..n-1 afresh (restoring saved clients). When two entries have the same
  // id, the first wins, as std::unordered_map::emplace would have it.
  void Rebuild(uint32_t n) {
    table_.Clear();
    table_.Reserve(n);
    for (uint32_t k = 0; k < n; ++k) {
      std::string_view id = key_(k);
      uint64_t hash = HashId(id);
      if (Find(id, hash) == kNone) Insert(k, hash);
    }
  }

 private:
  KeyOf key_;
  id_table_detail::TagTable table_;
};

// Event ids remembered with their time, oldest first, for the sliding dedup window: the
// engine asks Contains for each record, Inserts the ids it accepts and expires the oldest as
// its clock passes. Memory is bounded by the ids in the window (at its largest): entries live
// in a ring, their bytes in an arena that is compacted as the front expires, and the hash
// slots point into the ring. No allocation per id.
//
// Exactly the behaviour of the std::unordered_set + std::deque it replaced, even for an id
// inserted while it is still remembered (the engine never does that): the FIFO gets a second
// entry, the set holds the id once, and the id is forgotten when either entry expires.
class DedupSet {
 public:
  DedupSet() = default;

  // FIFO entries (ids remembered and not yet expired), counting a repeated id each time.
  size_t size() const { return static_cast<size_t>(tail_ - head_); }

  bool Contains(std::string_view id) const { return !id.empty() && Contains(id, HashId(id)); }
  void Prefetch(uint64_t hash) const { table_.PrefetchHome(id_table_detail::TagOf(hash)); }
  // `hash` must be HashId(id), except in tests.
  bool Contains(std::string_view id, uint64_t hash) const {
    if (id.empty()) return false;
    size_t i = table_.Probe(id_table_detail::TagOf(hash), [&](uint32_t ref) { return IdAt(ref) == id; });
    return !table_.IsEmpty(i);
  }

  // Remembers `id` at `time`, as the newest entry. Empty ids are never stored: returns false.
  // Expiry looks at the oldest entry only, so times should not decrease from one insert to the
  // next (the engine's clock does not); if they do, a newer entry waits for the older ones.
  bool Insert(int64_t time, std::string_view id) { return Insert(time, id, HashId(id)); }
  bool Insert(int64_t time, std::string_view id, uint64_t hash, uint64_t content = kUnknownContent);

  // A remembered record's content hash (spec §4, C14: an id reused with different content is
  // not a duplicate). kUnknownContent for ids remembered without one (a state written before
  // content hashes were kept): such an id is a plain duplicate whatever comes with it.
  static constexpr uint64_t kUnknownContent = 0;
  // The content hash remembered with `id`, or false when the id is not remembered.
  bool Find(std::string_view id, uint64_t* content) const { return Find(id, HashId(id), content); }
  // `hash` must be HashId(id), except in tests.
  bool Find(std::string_view id, uint64_t hash, uint64_t* content) const {
    if (id.empty()) return false;
    size_t i = table_.Probe(id_table_detail::TagOf(hash), [&](uint32_t ref) { return IdAt(ref) == id; });
    if (table_.IsEmpty(i)) return false;
    *content = ring_[table_.Ref(i) & ring_mask_].content;
    return true;
  }

  // Forgets the oldest entries while their time is < cutoff, in insertion order.
  void ExpireOlderThan(int64_t cutoff) {
    while (head_ != tail_ && ring_[head_ & ring_mask_].time < cutoff) PopFront();
    if (arena_dead_ > kCompactMin && arena_dead_ * 2 > arena_.size()) Compact();
  }

  void Clear();

  // Calls f(time, id) for the entries from the n-th oldest (0-based) to the newest.
  template <class F>
  void ForEachFrom(size_t n, F&& f) const {
    for (uint64_t s = head_ + n; s < tail_; ++s) {
      const Entry& e = ring_[s & ring_mask_];
      f(e.time, Bytes(e));
    }
  }
  // The same with each entry's content hash: f(time, id, content).
  template <class F>
  void ForEachFromWithContent(size_t n, F&& f) const {
    for (uint64_t s = head_ + n; s < tail_; ++s) {
      const Entry& e = ring_[s & ring_mask_];
      f(e.time, Bytes(e), e.content);
    }
  }

  // Bytes the arena holds, live and not yet compacted away (tests check it stays bounded).
  size_t arena_bytes() const { return arena_.size(); }

 private:
  static constexpr size_t kCompactMin = 64 * 1024;

  struct Entry {
    int64_t time;
    uint64_t offset;  // of the id's bytes in the arena, counted from the arena's first byte ever
    uint32_t size;
    uint32_t tag;
    uint64_t content;  // the record's content hash, or kUnknownContent
  };

  std::string_view Bytes(const Entry& e) const {
    return std::string_view(arena_.data() + (e.offset - arena_base_), e.size);
  }
  // A slot's ref is the entry's sequence number mod 2^32: the ring never holds 2^32 entries,
  // and its power-of-two size divides 2^32, so the ring grows without touching the slots.
  std::string_view IdAt(uint32_t ref) const { return Bytes(ring_[ref & ring_mask_]); }

  void PopFront();
  void GrowRing();
  void Compact();

  id_table_detail::TagTable table_;
  std::vector<Entry> ring_;  // power-of-two size; entry s at s & ring_mask_
  uint64_t ring_mask_ = 0;
  uint64_t head_ = 0;  // sequence number of the oldest entry
  uint64_t tail_ = 0;  // sequence number the next entry gets
  std::string arena_;  // ids' bytes in insertion order; arena_[0] is byte arena_base_ ever
  uint64_t arena_base_ = 0;
  size_t arena_dead_ = 0;  // bytes at the front of arena_ whose entries have expired
};

inline bool DedupSet::Insert(int64_t time, std::string_view id, uint64_t hash, uint64_t content) {
  if (id.empty()) return false;
  if (tail_ - head_ == ring_.size()) GrowRing();
  table_.Reserve(table_.size() + 1);
  const uint32_t tag = id_table_detail::TagOf(hash);
  size_t i = table_.Probe(tag, [&](uint32_t ref) { return IdAt(ref) == id; });
  if (table_.IsEmpty(i)) table_.Fill(i, tag, static_cast<uint32_t>(tail_));
  ring_[tail_ & ring_mask_] = Entry{time, arena_base_ + arena_.size(), static_cast<uint32_t>(id.size()), tag, content};
  arena_.append(id);
  ++tail_;
  return true;
}

}  // namespace perk::runtime
