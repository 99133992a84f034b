// Checks at the input boundary: see boundary.h.
#include "embed/boundary.h"

#include <fmt/format.h>

#include <chrono>

#include "stdlib/stdlib.h"

namespace perk::embed {

namespace {

struct Peeked {
  std::optional<int64_t> time;
  size_t client_bytes = 0;
};

bool Peek(simdjson::ondemand::parser& parser, std::string_view line, bool want_client, Peeked* out) {
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return false;
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) return false;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    std::string_view value;
    if (key == "time") {
      if (field.value().get_string().get(value)) continue;
      std::string error;
      out->time = stdlib::ParseTime(value, &error);
    } else if (want_client && key == "client") {
      if (field.value().get_string().get(value) == simdjson::SUCCESS) out->client_bytes = value.size();
    }
  }
  return true;
}

std::string Span(int64_t micros) {
  const int64_t s = micros / 1000000;
  if (s % 86400 == 0 && s != 0) return fmt::format("{}d", s / 86400);
  if (s % 3600 == 0 && s != 0) return fmt::format("{}h", s / 3600);
  if (s % 60 == 0 && s != 0) return fmt::format("{}m", s / 60);
  return fmt::format("{}s", s);
}

}  // namespace

std::optional<int64_t> PeekTime(simdjson::ondemand::parser& parser, std::string_view line) {
  Peeked p;
  if (!Peek(parser, line, false, &p)) return std::nullopt;
  return p.time;
}

std::string CheckBoundary(simdjson::ondemand::parser& parser, std::string_view line, const BoundaryLimits& limits,
                          std::optional<int64_t> clock, int64_t now) {
  if (!limits.any()) return {};
  Peeked p;
  if (!Peek(parser, line, limits.max_client_id_bytes != 0, &p)) return {};
  if (limits.max_client_id_bytes && p.client_bytes > limits.max_client_id_bytes)
    return fmt::format("the client id is {} bytes long; client ids are at most {} bytes", p.client_bytes,
                       limits.max_client_id_bytes);
  if (!p.time) return {};
  if (limits.max_future && *p.time > now + *limits.max_future)
    return fmt::format("time {} is more than {} ahead of the wall clock ({}); a mistyped date would move the clock "
                       "past every real event (--max-future)",
                       stdlib::FormatTime(*p.time), Span(*limits.max_future), stdlib::FormatTime(now));
  if (limits.max_clock_jump && clock && *p.time > *clock + *limits.max_clock_jump)
    return fmt::format("time {} would move the clock from {} by more than {} at once (--max-clock-jump)",
                       stdlib::FormatTime(*p.time), stdlib::FormatTime(*clock), Span(*limits.max_clock_jump));
  return {};
}

std::optional<int64_t> ParseDuration(std::string_view text, std::string* error) {
  if (text == "0") return 0;
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  if (digits == 0 || digits > 9 || digits + 1 != text.size()) {
    *error = fmt::format("`{}` is not a duration: write a number and a unit, e.g. 90s, 10m, 36h or 7d", text);
    return std::nullopt;
  }
  const int64_t n = std::stoll(std::string(text.substr(0, digits)));
  int64_t unit = 0;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default:
      *error = fmt::format("`{}` is not a duration: the unit is s, m, h or d", text);
      return std::nullopt;
  }
  return n * unit * 1000000;
}

int64_t WallClockMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace perk::embed
