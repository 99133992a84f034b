// Chunks faulted in ahead of need (runtime/chunk_source.h).
#include "runtime/chunk_source.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>

namespace perk::runtime {

ChunkSource& ChunkSource::Shared() {
  static ChunkSource source;
  return source;
}

ChunkSource::~ChunkSource() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  for (void* chunk : ready_) Release(chunk);
}

void* ChunkSource::Map(bool fault_in) {
  void* p = mmap(nullptr, kChunkBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  madvise(p, kChunkBytes, MADV_HUGEPAGE);
  if (fault_in) {
#ifdef MADV_POPULATE_WRITE
    if (madvise(p, kChunkBytes, MADV_POPULATE_WRITE) == 0) return p;
#endif
    // An older kernel: writing a zero to each page faults it in and leaves it zero.
    const long page = sysconf(_SC_PAGESIZE);
    for (size_t at = 0; at < kChunkBytes; at += static_cast<size_t>(page))
      static_cast<volatile char*>(p)[at] = 0;
  }
  return p;
}

void ChunkSource::Release(void* chunk) { munmap(chunk, kChunkBytes); }

void* ChunkSource::Take() {
  {
    std::unique_lock lock(mu_);
    if (!worker_.joinable() && !stopping_) worker_ = std::thread([this] { Work(); });
    if (!ready_.empty()) {
      void* chunk = ready_.back();
      ready_.pop_back();
      ++taken_ready_;
      lock.unlock();
      wake_.notify_one();
      return chunk;
    }
    ++taken_cold_;
  }
  wake_.notify_one();
  void* chunk = Map(/*fault_in=*/false);
  if (!chunk) throw std::bad_alloc();
  return chunk;
}

void ChunkSource::Work() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || (!failed_ && ready_.size() < kAhead); });
    if (stopping_) return;
    lock.unlock();
    void* chunk = Map(/*fault_in=*/true);
    lock.lock();
    if (!chunk) {
      failed_ = true;  // out of memory: stop working ahead, callers map for themselves
      continue;
    }
    ready_.push_back(chunk);
  }
}

size_t ChunkSource::taken_ready() const {
  std::lock_guard lock(mu_);
  return taken_ready_;
}
size_t ChunkSource::taken_cold() const {
  std::lock_guard lock(mu_);
  return taken_cold_;
}

}  // namespace perk::runtime
