// [v0.2] Time zones through Abseil (the IANA database of the system's tzdata), and the
// calendar functions of stdlib/zone.h.
#include "stdlib/zone.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

namespace perk::stdlib {
namespace {

struct Zone {
  std::string name;
  absl::TimeZone tz;
};

// Zones are never unloaded, so a loaded id can be read without a lock: the slots are published
// once, with release/acquire, before their id is handed out.
constexpr int32_t kMaxZones = 1024;  // tzdata names about 600 zones, links included
std::array<std::atomic<const Zone*>, kMaxZones> g_zones{};
std::mutex g_load_mutex;
int32_t g_zone_count = 0;  // under g_load_mutex

const Zone* ZoneAt(int64_t id) {
  if (id < 0 || id >= kMaxZones) return nullptr;
  return g_zones[static_cast<size_t>(id)].load(std::memory_order_acquire);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool IsLeap(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }
int64_t MonthDays(int64_t y, int64_t m) {
  static constexpr int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

constexpr int64_t kFirstDay = -719'528;    // 0000-01-01
constexpr int64_t kLastDay = 2'932'896;    // 9999-12-31

// The span of instants [from, until) over which a zone's offset is constant, and the turned-back
// clock at its start, if any: until hold_until the wall clock stays at hold_wall or above.
struct Span {
  int64_t zone = -1;
  int64_t from = 0, until = 0;
  int64_t offset = 0;  // micros
  int64_t hold_until = std::numeric_limits<int64_t>::min();
  int64_t hold_wall = 0;
};

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

// The instant of a transition: the first instant with the new offset.
int64_t TransitionInstant(const absl::TimeZone& tz, const absl::TimeZone::CivilTransition& tr) {
  const absl::TimeZone::TimeInfo info = tz.At(tr.to);
  return Micros(info.kind == absl::TimeZone::TimeInfo::UNIQUE ? info.pre : info.trans);
}

Span ComputeSpan(int64_t zone, const absl::TimeZone& tz, int64_t t) {
  Span s;
  s.zone = zone;
  const absl::Time at = absl::FromUnixMicros(t);
  s.offset = int64_t{tz.At(at).offset} * kMicrosPerSecond;
  s.from = std::numeric_limits<int64_t>::min();
  s.until = std::numeric_limits<int64_t>::max();
  absl::TimeZone::CivilTransition tr;
  // Transitions fall on whole seconds and absl looks them up by the second: probe from the
  // next whole second, and step back once if that found one after t.
  bool found = tz.PrevTransition(absl::FromUnixSeconds(FloorDiv(t, kMicrosPerSecond) + 1), &tr);
  if (found && TransitionInstant(tz, tr) > t)
    found = tz.PrevTransition(absl::FromUnixMicros(TransitionInstant(tz, tr)), &tr);
  if (found) {
    const int64_t start = TransitionInstant(tz, tr);
    if (start <= t) {
      s.from = start;
      // Seconds the clock was turned back at `start` (the offset before was larger by that).
      const int64_t back = tr.from - tr.to;
      if (back > 0) {
        s.hold_until = start + back * kMicrosPerSecond;
        s.hold_wall = start - 1 + s.offset + back * kMicrosPerSecond;
      }
    }
  }
  if (tz.NextTransition(at, &tr)) {
    const int64_t end = TransitionInstant(tz, tr);
    if (end > t) s.until = end;
  }
  // A span that does not hold t, or whose ends disagree with t's offset (absl leaves distant
  // transitions unspecified): t alone.
  auto offset_at = [&](int64_t x) { return int64_t{tz.At(absl::FromUnixMicros(x)).offset} * kMicrosPerSecond; };
  if (s.from > t || s.until <= t || (s.from != std::numeric_limits<int64_t>::min() && offset_at(s.from) != s.offset) ||
      (s.until != std::numeric_limits<int64_t>::max() && offset_at(s.until - 1) != s.offset)) {
    s.from = t;
    s.until = t + 1;
    s.hold_until = std::numeric_limits<int64_t>::min();
  }
  return s;
}

// One cached span per thread and zone slot: records come in time order, so nearly every
// lookup hits the span of the previous one.
const Span& SpanOf(int64_t zone, int64_t t) {
  thread_local std::array<Span, 8> cache;
  Span& s = cache[static_cast<size_t>(zone) & 7];
  if (s.zone == zone && t >= s.from && t < s.until) return s;
  const Zone* z = ZoneAt(zone);
  if (z == nullptr) {  // not a loaded zone: UTC, so every caller gets an answer
    s = Span{};
    s.zone = zone;
    s.from = std::numeric_limits<int64_t>::min();
    s.until = std::numeric_limits<int64_t>::max();
    return s;
  }
  s = ComputeSpan(zone, z->tz, t);
  return s;
}

int64_t Wall(int64_t zone, int64_t t) {
  if (zone == kUtcZone) return t;
  const Span& s = SpanOf(zone, t);
  int64_t wall = 0;
  if (__builtin_add_overflow(t, s.offset, &wall)) return t < 0 ? INT64_MIN : INT64_MAX;
  return t < s.hold_until ? std::max(wall, s.hold_wall) : wall;
}

// The real local reading (not held during a repeated hour).
int64_t RealWall(int64_t zone, int64_t t) {
  if (zone == kUtcZone) return t;
  int64_t wall = 0;
  if (__builtin_add_overflow(t, SpanOf(zone, t).offset, &wall)) return t < 0 ? INT64_MIN : INT64_MAX;
  return wall;
}

// The date `months` months after (y, m, d), clamped to the month's last day.
bool StepMonths(int64_t y, int64_t m, int64_t d, int64_t months, int64_t* ny, int64_t* nm, int64_t* nd) {
  int64_t index = 0;
  if (__builtin_mul_overflow(y, 12, &index) || __builtin_add_overflow(index, m - 1, &index) ||
      __builtin_add_overflow(index, months, &index))
    return false;
  *ny = FloorDiv(index, 12);
  *nm = index - *ny * 12 + 1;
  if (*ny < 0 || *ny > 9999) return false;
  *nd = std::min(d, MonthDays(*ny, *nm));
  return true;
}

// date ± duration in days or months; false outside the years 0000-9999.
bool StepDate(int64_t day, int64_t duration, bool negative, int64_t* out) {
  if (IsMonths(duration)) {
    int64_t y = 0;
    unsigned m = 0, d = 0;
    CivilFromDays(day, &y, &m, &d);
    int64_t ny = 0, nm = 0, nd = 0;
    const int64_t months = negative ? -MonthsOf(duration) : MonthsOf(duration);
    if (!StepMonths(y, m, d, months, &ny, &nm, &nd)) return false;
    *out = DaysFromCivil(ny, static_cast<unsigned>(nm), static_cast<unsigned>(nd));
    return true;
  }
  const int64_t days = duration / kMicrosPerDay;
  int64_t r = 0;
  if (negative ? __builtin_sub_overflow(day, days, &r) : __builtin_add_overflow(day, days, &r)) return false;
  if (r < kFirstDay || r > kLastDay) return false;
  *out = r;
  return true;
}

PerkStatus CalendarStep(int64_t zone, int64_t t, int64_t duration, bool negative, int64_t* out) {
  // A length of time (minutes, hours) is exact whatever the zone.
  if (!IsMonths(duration) && duration % kMicrosPerDay != 0)
    return negative ? perk_time_sub(t, duration, out) : perk_time_add(t, duration, out);
  if (t < kMinTime || t > kMaxTime) return PERK_OVERFLOW;
  const int64_t wall = RealWall(zone, t);
  const int64_t day = FloorDiv(wall, kMicrosPerDay);
  const int64_t in_day = wall - day * kMicrosPerDay;
  int64_t new_day = 0;
  if (!StepDate(day, duration, negative, &new_day)) return PERK_OVERFLOW;
  int64_t r = 0;
  if (zone == kUtcZone || ZoneAt(zone) == nullptr) {
    r = new_day * kMicrosPerDay + in_day;
  } else {
    int64_t y = 0;
    unsigned m = 0, d = 0;
    CivilFromDays(new_day, &y, &m, &d);
    const int64_t secs = in_day / kMicrosPerSecond;
    const absl::CivilSecond civil(y, m, d, secs / 3600, secs / 60 % 60, secs % 60);
    // `pre` is the instant by the offset before any transition: past a gap by the gap's
    // length, and the earlier of two instants that share a reading.
    r = Micros(ZoneAt(zone)->tz.At(civil).pre) + in_day % kMicrosPerSecond;
  }
  if (r < kMinTime || r > kMaxTime) return PERK_OVERFLOW;
  *out = r;
  return PERK_OK;
}

}  // namespace

int32_t LoadZone(std::string_view name) {
  if (name == "UTC") return kUtcZone;
  // Names only: no file paths, and not the machine's own zone, so a program means the same
  // everywhere.
  if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos ||
      name == "localtime")
    return -1;
  std::lock_guard<std::mutex> lock(g_load_mutex);
  if (g_zone_count == 0) {
    static const Zone kUtc{"UTC", absl::UTCTimeZone()};
    g_zones[0].store(&kUtc, std::memory_order_release);
    g_zone_count = 1;
  }
  for (int32_t k = 1; k < g_zone_count; ++k)
    if (g_zones[static_cast<size_t>(k)].load(std::memory_order_relaxed)->name == name) return k;
  absl::TimeZone tz;
  if (g_zone_count >= kMaxZones || !absl::LoadTimeZone(std::string(name), &tz)) return -1;
  auto* zone = new Zone{std::string(name), tz};  // lives for the process: ids stay valid
  g_zones[static_cast<size_t>(g_zone_count)].store(zone, std::memory_order_release);
  return g_zone_count++;
}

std::vector<std::string> ListedZoneNames() {
  const char* dir = std::getenv("TZDIR");
  std::ifstream in(std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/zone1970.tab");
  std::vector<std::string> names{"UTC"};
  std::string line;
  // Lines are "CODES<TAB>COORDINATES<TAB>TZ[<TAB>COMMENTS]"; `#` starts a comment line.
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t a = line.find('\t'), b = a == std::string::npos ? a : line.find('\t', a + 1);
    if (b == std::string::npos) continue;
    size_t c = line.find('\t', b + 1);
    names.push_back(line.substr(b + 1, c == std::string::npos ? std::string::npos : c - b - 1));
  }
  return names;
}

std::string ZoneName(int32_t zone) {
  const Zone* z = zone == kUtcZone ? nullptr : ZoneAt(zone);
  return z ? z->name : "UTC";
}

}  // namespace perk::stdlib

using namespace perk::stdlib;

extern "C" {

int64_t perk_tz_wall(int64_t zone, int64_t t) { return Wall(zone, t); }

int64_t perk_tz_date(int64_t zone, int64_t t) { return FloorDiv(Wall(zone, t), kMicrosPerDay); }

int64_t perk_tz_day_start(int64_t zone, int64_t day) {
  const Zone* z = zone == kUtcZone ? nullptr : ZoneAt(zone);
  if (z == nullptr || day < kFirstDay - 1 || day > kLastDay + 1) return perk_date_start(day);
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(day, &y, &m, &d);
  const absl::TimeZone::TimeInfo info = z->tz.At(absl::CivilSecond(y, m, d, 0, 0, 0));
  // Midnight in a gap: the first instant after it, which is the transition.
  return Micros(info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre);
}

int64_t perk_tz_bucket(int64_t zone, int64_t unit, int64_t t) {
  const int64_t wall = Wall(zone, t);
  switch (unit) {
    case 0: return FloorDiv(wall, kMicrosPerMinute);
    case 1: return FloorDiv(wall, kMicrosPerHour);
    case 2: return FloorDiv(wall, kMicrosPerDay);
    case 4:
    case 5: {
      int64_t y = 0;
      unsigned m = 0, d = 0;
      CivilFromDays(FloorDiv(wall, kMicrosPerDay), &y, &m, &d);
      return unit == 4 ? y * 12 + m - 1 : y;
    }
    default: return 0;
  }
}

int64_t perk_tz_hour(int64_t zone, int64_t t) {
  const int64_t wall = RealWall(zone, t);
  return (wall - FloorDiv(wall, kMicrosPerDay) * kMicrosPerDay) / kMicrosPerHour;
}

int64_t perk_tz_minute(int64_t zone, int64_t t) {
  const int64_t wall = RealWall(zone, t);
  return (wall - FloorDiv(wall, kMicrosPerHour) * kMicrosPerHour) / kMicrosPerMinute;
}

PerkStatus perk_tz_add(int64_t zone, int64_t t, int64_t duration, int64_t* out) {
  return CalendarStep(zone, t, duration, false, out);
}

PerkStatus perk_tz_sub(int64_t zone, int64_t t, int64_t duration, int64_t* out) {
  return CalendarStep(zone, t, duration, true, out);
}

PerkStatus perk_date_add(int64_t day, int64_t duration, int64_t* out) {
  return StepDate(day, duration, false, out) ? PERK_OK : PERK_OVERFLOW;
}

PerkStatus perk_date_sub(int64_t day, int64_t duration, int64_t* out) {
  return StepDate(day, duration, true, out) ? PERK_OK : PERK_OVERFLOW;
}

int64_t perk_date_year(int64_t day) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(day, &y, &m, &d);
  return y;
}

int64_t perk_date_month(int64_t day) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(day, &y, &m, &d);
  return m;
}

int64_t perk_date_day(int64_t day) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(day, &y, &m, &d);
  return d;
}

int64_t perk_date_weekday(int64_t day) {
  // 1970-01-01 was a Thursday (4).
  return FloorDiv(day + 3, 7) * -7 + day + 3 + 1;
}

}  // extern "C"
