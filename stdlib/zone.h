// [v0.2] The program's time zone (spec §2 "Time zone"): IANA zones loaded through Abseil, and
// the calendar functions of time and date values in a zone, extern "C" for generated code.
//
// A zone is named by a small id (0 is UTC) that the checker puts into the checked program as
// a constant operand; the interpreter, the constant folder and the JIT pass it to the same
// functions. Every function takes the UTC fast path for id 0, so v0.1 programs pay nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stdlib/stdlib.h"

namespace perk::stdlib {

constexpr int32_t kUtcZone = 0;

// Loads an IANA zone ("Europe/Berlin", "UTC") and returns its id, the same id for the same
// name for the life of the process; -1 when the name is not a zone. Thread-safe.
int32_t LoadZone(std::string_view name);
// The name a zone id was loaded as ("UTC" for 0).
std::string ZoneName(int32_t zone);
// The zone names the system's tzdata lists (zone1970.tab, and UTC), for suggestions in
// diagnostics; empty when the list cannot be read.
std::vector<std::string> ListedZoneNames();

// Duration values (spec §2): minutes and hours are exact lengths in microseconds; days and
// weeks are too (a day is 24 hours in UTC, where v0.1 programs live), and the checker marks
// where they are calendar steps; months and years have no length, so their count is kept
// above kMonthsTag (`1 month` is kMonthsTag + 1, `2 years` kMonthsTag + 24).
constexpr int64_t kMonthsTag = int64_t{1} << 62;
inline bool IsMonths(int64_t duration) { return duration >= kMonthsTag; }
inline int64_t MonthsOf(int64_t duration) { return duration - kMonthsTag; }

}  // namespace perk::stdlib

extern "C" {

// The local wall-clock reading of time t in microseconds since 1970-01-01T00:00 local, made
// monotone: while the clock is turned back (a repeated hour), it stays at the last reading
// before the turn until the clock passes it again. Dates, day ticks and window buckets come
// from it, so they never go backwards while time goes forwards.
int64_t perk_tz_wall(int64_t zone, int64_t t);
// The local date of time t (days since 1970-01-01).
int64_t perk_tz_date(int64_t zone, int64_t t);
// The first instant of local day `day`: local midnight, or the first instant after it when
// midnight does not exist; the earlier one when it occurs twice. Saturates like
// perk_date_start.
int64_t perk_tz_day_start(int64_t zone, int64_t day);
// The bucket key of time t for a window unit (checked::WindowUnit: 0 minute, 1 hour, 2 day,
// 3 all history, 4 month, 5 year): local clock minutes and hours, local dates, months as
// year * 12 + month - 1, years.
int64_t perk_tz_bucket(int64_t zone, int64_t unit, int64_t t);
// The local clock's hour (0-23) and minute (0-59) at time t: the real reading, also during
// a repeated hour.
int64_t perk_tz_hour(int64_t zone, int64_t t);
int64_t perk_tz_minute(int64_t zone, int64_t t);
// time ± a calendar duration (days, weeks, months or years, spec §2): the local date moves by
// whole days or months (the day of the month clamped to the month's last day) and the local
// clock time is kept; a local time in a gap moves forward by the gap's length, one that occurs
// twice takes the earlier instant. PERK_OVERFLOW outside the years 0000-9999.
PerkStatus perk_tz_add(int64_t zone, int64_t t, int64_t duration, int64_t* out);
PerkStatus perk_tz_sub(int64_t zone, int64_t t, int64_t duration, int64_t* out);
// date ± days, weeks, months or years; PERK_OVERFLOW outside the years 0000-9999.
PerkStatus perk_date_add(int64_t day, int64_t duration, int64_t* out);
PerkStatus perk_date_sub(int64_t day, int64_t duration, int64_t* out);
// Fields of a date: year, month (1-12), day of the month (1-31), weekday (1 Monday .. 7 Sunday).
int64_t perk_date_year(int64_t day);
int64_t perk_date_month(int64_t day);
int64_t perk_date_day(int64_t day);
int64_t perk_date_weekday(int64_t day);

}  // extern "C"
