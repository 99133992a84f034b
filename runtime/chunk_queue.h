// A first-in first-out queue with indexed access, kept in 2 MiB chunks that are reused as the
// front moves on. What reversals remember (runtime/reversal.h) lives in these: 30 days of events,
// hundreds of megabytes on a busy stream, appended at the back and dropped at the front.
//
// Why not std::deque: it allocates a 512-byte node every few elements and frees one as often,
// and every fresh 4 KiB page it touches is a page fault (on the benchmark VM they were most of
// the cost of remembering events). A queue's first chunk comes from mmap and is faulted in page
// by page as it fills (a small queue touches only the pages it uses); a queue that outgrows it is
// a big one, and takes its next chunks from ChunkSource, which faults them in ahead on a thread
// of its own, as transparent huge pages. Emptied chunks are kept for the next ones, so a queue
// in steady state allocates nothing.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

#include "runtime/chunk_source.h"

namespace perk::runtime {

template <typename T>
class ChunkQueue {
 public:
  static constexpr size_t kChunkBytes = ChunkSource::kChunkBytes;
  static constexpr size_t kPerChunk = kChunkBytes / sizeof(T);

  ChunkQueue() = default;
  ChunkQueue(const ChunkQueue&) = delete;
  ChunkQueue& operator=(const ChunkQueue&) = delete;
  ChunkQueue(ChunkQueue&& o) noexcept { *this = std::move(o); }
  ChunkQueue& operator=(ChunkQueue&& o) noexcept {
    if (this == &o) return *this;
    Release();
    chunks_ = std::move(o.chunks_);
    spare_ = std::move(o.spare_);
    first_ = std::exchange(o.first_, 0);
    size_ = std::exchange(o.size_, 0);
    o.chunks_.clear();
    o.spare_.clear();
    return *this;
  }
  ~ChunkQueue() { Release(); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  T& operator[](size_t i) { return *Slot(first_ + i); }
  const T& operator[](size_t i) const { return *Slot(first_ + i); }
  T& front() { return *Slot(first_); }
  const T& front() const { return *Slot(first_); }

  template <typename... Args>
  T& emplace_back(Args&&... args) {
    const size_t pos = first_ + size_;
    if (pos / kPerChunk == chunks_.size()) chunks_.push_back(NewChunk());
    T* slot = new (Slot(pos)) T(std::forward<Args>(args)...);
    ++size_;
    return *slot;
  }
  void push_back(const T& value) { emplace_back(value); }
  void push_back(T&& value) { emplace_back(std::move(value)); }

  void pop_front() {
    Slot(first_)->~T();
    --size_;
    if (++first_ == kPerChunk) {
      spare_.push_back(chunks_.front());
      chunks_.erase(chunks_.begin());
      first_ = 0;
    }
  }
  // Shrinks to `n` elements, dropping them at the back (n <= size()).
  void resize(size_t n) {
    while (size_ > n) Slot(first_ + --size_)->~T();
  }
  void clear() {
    resize(0);
    for (T* chunk : chunks_) spare_.push_back(chunk);
    chunks_.clear();
    first_ = 0;
  }

  template <typename F>
  void ForEach(F f) const {
    for (size_t i = 0; i < size_; ++i) f((*this)[i]);
  }

 private:
  T* Slot(size_t pos) const { return chunks_[pos / kPerChunk] + pos % kPerChunk; }

  T* NewChunk() {
    if (!spare_.empty()) {
      T* chunk = spare_.back();
      spare_.pop_back();
      return chunk;
    }
    if (!chunks_.empty()) return static_cast<T*>(ChunkSource::Shared().Take());
    void* p = mmap(nullptr, kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void Release() {
    resize(0);
    for (T* chunk : chunks_) ChunkSource::Release(chunk);
    for (T* chunk : spare_) ChunkSource::Release(chunk);
    chunks_.clear();
    spare_.clear();
    first_ = 0;
  }

  std::vector<T*> chunks_;  // chunks_[0] holds the front, at first_
  std::vector<T*> spare_;   // emptied chunks, for the next ones
  size_t first_ = 0;
  size_t size_ = 0;
};

}  // namespace perk::runtime
