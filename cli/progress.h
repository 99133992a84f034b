// A progress line on stderr for long runs: records/s, and percent and ETA when the input's
// size is known. Only when stderr is a terminal, so pipes, logs and tests never see it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "runtime/records.h"

namespace perk::cli {

class Progress {
 public:
  explicit Progress(const runtime::LineReader& reader);
  explicit Progress(int64_t total_bytes);  // -1 when unknown
  ~Progress();
  // Call once per line with its length; cheap: the clock is read every few thousand lines.
  void Tick(uint64_t records, size_t line_bytes) {
    consumed_ += line_bytes + 1;
    if (enabled_ && (records & 4095) == 0) Update(records, false);
  }
  // Clears the line (before the run's summary is printed).
  void Done();

 private:
  void Update(uint64_t records, bool force);

  const int64_t total_bytes_;
  bool enabled_ = false;
  bool shown_ = false;
  // Bytes of the lines handed to the engine: the reader reads ahead in large blocks, so its
  // own count would run ahead of the work.
  uint64_t consumed_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace perk::cli
