// Checks at the input boundary, before a record reaches the engine (docs/serve.md, "Input
// limits"; docs/embedding.md): a record timed too far ahead of the wall clock, one that would
// move the engine's clock too far at once, and a client id past its cap. A mistyped year
// otherwise moves the clock for good: every real event after it is out of order.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/records.h"

namespace perk::embed {

struct BoundaryLimits {
  std::optional<int64_t> max_future;      // micros a record's time may be ahead of the wall clock
  std::optional<int64_t> max_clock_jump;  // micros a record may move the engine's clock forward
  size_t max_client_id_bytes = 0;         // 0: no cap

  bool any() const { return max_future || max_clock_jump || max_client_id_bytes; }
};

constexpr size_t kDefaultMaxClientIdBytes = runtime::kMaxClientIdBytes;
constexpr int64_t kDefaultMaxFutureMicros = int64_t{10} * 60 * 1000000;  // 10 minutes

// Why `line` must be rejected before the engine sees it, or "" to hand it over (a line that is
// not a JSON object, or has no time, goes to the engine, which says why it is wrong). `clock` is
// the engine's clock (nullopt before its first record); `now` the wall clock, in micros.
std::string CheckBoundary(simdjson::ondemand::parser& parser, std::string_view line, const BoundaryLimits& limits,
                          std::optional<int64_t> clock, int64_t now);

// The record's time, when the line is a JSON object with a valid "time".
std::optional<int64_t> PeekTime(simdjson::ondemand::parser& parser, std::string_view line);

// A duration such as `10m`, `36h`, `7d`, `90s` or `0` (micros); nullopt with *error set.
std::optional<int64_t> ParseDuration(std::string_view text, std::string* error);

// The wall clock in micros since the epoch.
int64_t WallClockMicros();

}  // namespace perk::embed
