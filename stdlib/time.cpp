// UTC times and calendar dates: RFC 3339 parsing and formatting, civil calendar conversion,
// and the time/date built-ins called by generated code.
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "stdlib/stdlib.h"

namespace perk::stdlib {

namespace {

bool IsLeapYear(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Reads exactly `count` ASCII digits at text[pos].
bool ReadFixed(std::string_view text, size_t pos, size_t count, int64_t* out) {
  if (pos + count > text.size()) return false;
  int64_t v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// "YYYY-MM-DD" at the start of text, validated against the calendar.
enum class DateResult { Ok, Malformed, NoSuchDay };

DateResult ReadDate(std::string_view text, int64_t* days) {
  int64_t y = 0, m = 0, d = 0;
  if (!ReadFixed(text, 0, 4, &y) || text.size() < 10 || text[4] != '-' ||
      !ReadFixed(text, 5, 2, &m) || text[7] != '-' || !ReadFixed(text, 8, 2, &d)) {
    return DateResult::Malformed;
  }
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, static_cast<unsigned>(m))) {
    return DateResult::NoSuchDay;
  }
  *days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return DateResult::Ok;
}

std::optional<int64_t> Fail(std::string* error, const char* why) {
  if (error) *error = why;
  return std::nullopt;
}

}  // namespace

// Howard Hinnant's days_from_civil (http://howardhinnant.github.io/date_algorithms.html).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Howard Hinnant's civil_from_days.
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

std::optional<int64_t> ParseDate(std::string_view text, std::string* error) {
  int64_t days = 0;
  switch (ReadDate(text, &days)) {
    case DateResult::Malformed: return Fail(error, "is not a date like 2026-01-05");
    case DateResult::NoSuchDay: return Fail(error, "is not a valid calendar date");
    case DateResult::Ok: break;
  }
  if (text.size() != 10) return Fail(error, "is not a date like 2026-01-05");
  return days;
}

std::optional<int64_t> ParseTime(std::string_view text, std::string* error) {
  constexpr const char* kMalformed = "is not an RFC 3339 time like 2026-01-05T10:00:00Z";
  int64_t days = 0;
  switch (ReadDate(text, &days)) {
    case DateResult::Malformed: return Fail(error, kMalformed);
    case DateResult::NoSuchDay: return Fail(error, "is not a valid calendar date");
    case DateResult::Ok: break;
  }
  int64_t hh = 0, mm = 0, ss = 0;
  if (text.size() < 19 || (text[10] != 'T' && text[10] != 't' && text[10] != ' ') ||
      !ReadFixed(text, 11, 2, &hh) || text[13] != ':' || !ReadFixed(text, 14, 2, &mm) ||
      text[16] != ':' || !ReadFixed(text, 17, 2, &ss)) {
    return Fail(error, kMalformed);
  }
  // Hour 24 and leap second 60 are rejected: the engine has no way to represent them exactly.
  if (hh > 23 || mm > 59 || ss > 59) return Fail(error, "has a time of day out of range");
  size_t pos = 19;
  int64_t fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    size_t count = pos - start;
    if (count == 0) return Fail(error, kMalformed);
    if (count > 6) return Fail(error, "has more than 6 fractional second digits");
    ReadFixed(text, start, count, &fraction);
    for (size_t i = count; i < 6; ++i) fraction *= 10;
  }
  int64_t offset = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    bool negative = text[pos] == '-';
    int64_t oh = 0, om = 0;
    if (!ReadFixed(text, pos + 1, 2, &oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadFixed(text, pos + 4, 2, &om)) {
      return Fail(error, kMalformed);
    }
    if (oh > 23 || om > 59) return Fail(error, "has a UTC offset out of range");
    offset = (oh * kMicrosPerHour + om * kMicrosPerMinute) * (negative ? -1 : 1);
    pos += 6;
  } else {
    return Fail(error, "has no UTC offset (add Z or +HH:MM)");
  }
  if (pos != text.size()) return Fail(error, kMalformed);
  // Years 0000-9999 keep this far inside int64 micros (about ±292,000 years).
  const int64_t micros = days * kMicrosPerDay + hh * kMicrosPerHour + mm * kMicrosPerMinute +
                         ss * kMicrosPerSecond + fraction - offset;
  // An offset can carry the first or last day across the range ("0000-01-01T00:00:00+01:00"),
  // and the ledger could not write the result back as RFC 3339.
  if (micros < kMinTime || micros > kMaxTime) return Fail(error, "falls outside the years 0000-9999 in UTC");
  return micros;
}

namespace {

// Writes v (0..99) as two digits.
char* Put2(char* p, int64_t v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
  return p + 2;
}

// "YYYY-MM-DD" for years 0000-9999, the only ones Perk reads or writes as input and ledger
// times; digit by digit rather than through fmt: the ledger formats a time for every trigger
// that writes an entry, and fmt's format-string parsing was a third of the engine's
// instructions per event (callgrind, bench/core).
char* PutDate(char* p, int64_t y, unsigned m, unsigned d) {
  p = Put2(p, y / 100);
  p = Put2(p, y % 100);
  *p++ = '-';
  p = Put2(p, m);
  *p++ = '-';
  return Put2(p, d);
}

}  // namespace

char* PutDate(char* p, int64_t days) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  if (y >= 0 && y <= 9999) return PutDate(p, y, m, d);
  // A sign or a fifth digit: not on the ledger's path.
  auto text = y < 0 ? fmt::format("-{:04}-{:02}-{:02}", -y, m, d) : fmt::format("{:04}-{:02}-{:02}", y, m, d);
  std::memcpy(p, text.data(), text.size());
  return p + text.size();
}

char* PutTime(char* p, int64_t micros) {
  int64_t days = perk_time_date(micros);
  // Computed as a difference from the day's start in unsigned arithmetic: for the earliest
  // int64 times the day's start itself is below INT64_MIN.
  int64_t in_day = static_cast<int64_t>(static_cast<uint64_t>(micros) -
                                        static_cast<uint64_t>(days) *
                                            static_cast<uint64_t>(kMicrosPerDay));
  int64_t hh = in_day / kMicrosPerHour;
  int64_t mm = in_day / kMicrosPerMinute % 60;
  int64_t ss = in_day / kMicrosPerSecond % 60;
  int64_t fraction = in_day % kMicrosPerSecond;
  p = PutDate(p, days);
  *p++ = 'T';
  p = Put2(p, hh);
  *p++ = ':';
  p = Put2(p, mm);
  *p++ = ':';
  p = Put2(p, ss);
  if (fraction != 0) {
    *p++ = '.';
    for (int64_t unit = kMicrosPerSecond / 10; fraction != 0; unit /= 10) {
      *p++ = static_cast<char>('0' + fraction / unit);
      fraction %= unit;
    }
  }
  *p++ = 'Z';
  return p;
}

std::string FormatDate(int64_t days) {
  char text[kMaxFormatted];
  return std::string(text, static_cast<size_t>(PutDate(text, days) - text));
}

std::string FormatTime(int64_t micros) {
  char text[kMaxFormatted];
  return std::string(text, static_cast<size_t>(PutTime(text, micros) - text));
}

}  // namespace perk::stdlib

extern "C" {

PerkStatus perk_time_add(int64_t micros, int64_t duration, int64_t* out) {
  int64_t v;
  if (__builtin_add_overflow(micros, duration, &v) || v < perk::stdlib::kMinTime || v > perk::stdlib::kMaxTime)
    return PERK_OVERFLOW;
  *out = v;
  return PERK_OK;
}

PerkStatus perk_time_sub(int64_t micros, int64_t duration, int64_t* out) {
  int64_t v;
  if (__builtin_sub_overflow(micros, duration, &v) || v < perk::stdlib::kMinTime || v > perk::stdlib::kMaxTime)
    return PERK_OVERFLOW;
  *out = v;
  return PERK_OK;
}

int64_t perk_time_date(int64_t micros) { return perk::stdlib::UtcDate(micros); }

int64_t perk_date_start(int64_t days) { return perk::stdlib::UtcDayStart(days); }

// Saturates like perk_date_start; real dates are never near the limits.
int64_t perk_days_between(int64_t a_days, int64_t b_days) {
  int64_t out = 0;
  if (__builtin_sub_overflow(b_days, a_days, &out)) {
    return b_days < 0 ? std::numeric_limits<int64_t>::min() : std::numeric_limits<int64_t>::max();
  }
  return out;
}

int64_t perk_anniversary(int64_t d_days, int64_t today_days) {
  // A day tick asks this of every client with the same `today`: its calendar date is kept.
  struct Civil {
    int64_t days = INT64_MIN, y = 0;
    unsigned m = 0, d = 0;
  };
  thread_local Civil today;
  if (today.days != today_days) {
    perk::stdlib::CivilFromDays(today_days, &today.y, &today.m, &today.d);
    today.days = today_days;
  }
  const int64_t ty = today.y;
  const unsigned tm = today.m, td = today.d;
  int64_t dy = 0;
  unsigned dm = 0, dd = 0;
  perk::stdlib::CivilFromDays(d_days, &dy, &dm, &dd);
  if (ty <= dy) return 0;
  if (dm == 2 && dd == 29 && !perk::stdlib::IsLeapYear(ty)) dd = 28;
  return tm == dm && td == dd ? 1 : 0;
}

}  // extern "C"
