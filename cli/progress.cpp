// The progress line: redrawn in place at most ten times a second, cleared at the end.
#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace perk::cli {

namespace {

// Shown only after this long, so short runs print nothing at all.
constexpr auto kDelay = std::chrono::milliseconds(500);
constexpr auto kEvery = std::chrono::milliseconds(100);
constexpr int kBarWidth = 24;

std::string Duration(double seconds) {
  auto s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string Rate(double per_second) {
  if (per_second >= 1e6) return fmt::format("{:.2f}M", per_second / 1e6);
  if (per_second >= 1e3) return fmt::format("{:.1f}k", per_second / 1e3);
  return fmt::format("{:.0f}", per_second);
}

}  // namespace

Progress::Progress(const runtime::LineReader& reader) : Progress(reader.total_bytes()) {}

Progress::Progress(int64_t total_bytes)
    : total_bytes_(total_bytes),
      enabled_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() { Done(); }

void Progress::Update(uint64_t records, bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && (now - start_ < kDelay || now - last_ < kEvery)) return;
  last_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? records / elapsed : 0;
  std::string line;
  int64_t total = total_bytes_;
  uint64_t done = consumed_;
  if (total > 0) {
    double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    int filled = static_cast<int>(fraction * kBarWidth);
    double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0;
    line = fmt::format("[{}{}] {:3.0f}%  {} records  {}/s  ETA {}", std::string(filled, '#'),
                       std::string(kBarWidth - filled, '.'), fraction * 100, records, Rate(rate), Duration(eta));
  } else {
    line = fmt::format("{} records  {}/s  {} elapsed", records, Rate(rate), Duration(elapsed));
  }
  // \r and erase-line redraw in place; the line stays shorter than a narrow terminal.
  fmt::print(stderr, "\r\033[K{}", line);
  std::fflush(stderr);
  shown_ = true;
}

void Progress::Done() {
  if (shown_) {
    fmt::print(stderr, "\r\033[K");
    std::fflush(stderr);
    shown_ = false;
  }
  enabled_ = false;
}

}  // namespace perk::cli
