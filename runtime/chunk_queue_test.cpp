// Unit tests for ChunkQueue: indexing, dropping at both ends across chunk boundaries, chunk
// reuse and moves, with an element type that owns memory (destructors must run exactly once).
#include "runtime/chunk_queue.h"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <vector>
#include <string>

namespace {

int live = 0;  // elements constructed and not yet destroyed

// 4 KiB, so that a 2 MiB chunk holds 512 and a few thousand elements span several chunks.
struct Big {
  explicit Big(int v) : value(v), text(std::to_string(v) + " with enough text to leave the inline buffer") { ++live; }
  Big(Big&& o) noexcept : value(o.value), text(std::move(o.text)) { ++live; }
  ~Big() { --live; }
  int value;
  std::string text;
  std::array<char, 4096 - sizeof(int) - sizeof(std::string)> pad{};
};

}  // namespace

TEST_CASE("ChunkQueue keeps order and indexes across chunks as the front moves on") {
  using perk::runtime::ChunkQueue;
  static_assert(ChunkQueue<Big>::kPerChunk < 600);  // 1300 elements span three chunks
  {
    ChunkQueue<Big> q;
    int next = 0, first = 0;
    for (; next < 1300; ++next) q.emplace_back(next);
    for (; first < 700; ++first) {
      REQUIRE(q.front().value == first);
      q.pop_front();
    }
    for (; next < 2600; ++next) q.emplace_back(next);  // reuses the emptied chunk
    REQUIRE(q.size() == static_cast<size_t>(next - first));
    for (size_t i = 0; i < q.size(); ++i) REQUIRE(q[i].value == first + static_cast<int>(i));
    REQUIRE(q[q.size() - 1].text.rfind("2599 ", 0) == 0);
    CHECK(live == next - first);

    q.resize(100);  // drops at the back
    CHECK(q.size() == 100);
    CHECK(q[99].value == first + 99);
    CHECK(live == 100);
    q.emplace_back(-1);
    CHECK(q[100].value == -1);

    ChunkQueue<Big> moved = std::move(q);
    CHECK(q.empty());
    CHECK(moved.size() == 101);
    CHECK(moved.front().value == first);
    int sum = 0;
    moved.ForEach([&](const Big& b) { sum += b.value == -1 ? 0 : 1; });
    CHECK(sum == 100);
    moved.clear();
    CHECK(moved.empty());
    CHECK(live == 0);
    moved.emplace_back(7);
    CHECK(moved.front().value == 7);
  }
  CHECK(live == 0);
}

// A queue's chunks after its first come from the shared source; whether faulted in ahead or
// mapped on the spot, they read as zero, like any fresh memory.
TEST_CASE("chunk source: chunks handed out are fresh and zero", "[chunk_queue]") {
  using perk::runtime::ChunkQueue;
  using perk::runtime::ChunkSource;
  ChunkSource& source = ChunkSource::Shared();
  const size_t before = source.taken_ready() + source.taken_cold();
  std::vector<void*> chunks;
  for (int k = 0; k < 5; ++k) {
    chunks.push_back(source.Take());
    const auto* bytes = static_cast<const unsigned char*>(chunks.back());
    size_t nonzero = 0;
    for (size_t at = 0; at < ChunkSource::kChunkBytes; at += 512) nonzero += bytes[at] != 0;
    CHECK(nonzero == 0);
    std::memset(chunks.back(), 0xab, ChunkSource::kChunkBytes);  // written to, then given back
  }
  CHECK(source.taken_ready() + source.taken_cold() == before + 5);
  for (void* chunk : chunks) ChunkSource::Release(chunk);

  struct Wide {
    int64_t words[8] = {};
  };
  ChunkQueue<Wide> q;
  const size_t n = 3 * ChunkQueue<Wide>::kPerChunk + 5;
  for (size_t i = 0; i < n; ++i) q.emplace_back().words[i % 8] = static_cast<int64_t>(i);
  CHECK(source.taken_ready() + source.taken_cold() == before + 5 + 3);
  for (size_t i = 0; i < n; ++i) REQUIRE(q[i].words[i % 8] == static_cast<int64_t>(i));
}
