// Where a big ChunkQueue (runtime/chunk_queue.h) gets its next 2 MiB chunk: from a thread that
// maps and faults in chunks ahead of need.
//
// Why: the first touch of fresh memory is a page fault, and on the benchmark VM faulting in
// the reversal memory's 90 MB cost about 4% of a whole `perk run` on the engine's thread
// (docs/state.md). The engine runs on one core; the faults can be taken on another, before the
// engine reaches the memory. A chunk handed out is zero-filled like any fresh mapping, so a
// queue cannot tell where it came from. The thread starts with the first chunk asked for and
// keeps at most kAhead chunks ready: an idle process holds nothing extra, a growing one at most
// kAhead * 2 MiB it has not used yet.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace perk::runtime {

class ChunkSource {
 public:
  static constexpr size_t kChunkBytes = size_t{2} << 20;
  static constexpr size_t kAhead = 2;

  // The process's one source (its thread is joined at exit).
  static ChunkSource& Shared();

  // A zero-filled chunk of kChunkBytes, marked for transparent huge pages: a ready one when
  // there is one, else mapped on the caller's thread. Throws std::bad_alloc when out of memory.
  void* Take();
  // Returns a chunk to the system.
  static void Release(void* chunk);

  ChunkSource() = default;
  ChunkSource(const ChunkSource&) = delete;
  ChunkSource& operator=(const ChunkSource&) = delete;
  ~ChunkSource();

  // How many chunks were handed out already faulted in, and how many were mapped by the caller
  // (for tests and --stats-like measurements).
  size_t taken_ready() const;
  size_t taken_cold() const;

 private:
  // Maps a chunk; with `fault_in`, touches every page of it. Null when out of memory.
  static void* Map(bool fault_in);
  void Work();

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::vector<void*> ready_;
  std::thread worker_;
  bool stopping_ = false;
  bool failed_ = false;  // the worker could not map: callers map (and fail) themselves
  size_t taken_ready_ = 0, taken_cold_ = 0;
};

}  // namespace perk::runtime
