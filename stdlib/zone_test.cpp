// Unit tests for time zones and the calendar functions of stdlib/zone.h, on zones whose clock
// changes are awkward: Berlin's 2026 changes at 02:00, Sao Paulo's midnight gap of 2018 and
// its repeated hour before midnight of 2019, and Lord Howe's 30-minute shift.
#include <catch2/catch.hpp>

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "stdlib/stdlib.h"
#include "stdlib/zone.h"

namespace {

using perk::stdlib::FormatDate;
using perk::stdlib::FormatTime;
using perk::stdlib::kMicrosPerDay;
using perk::stdlib::kMicrosPerHour;
using perk::stdlib::kMonthsTag;
using perk::stdlib::LoadZone;

int64_t T(std::string_view text) {
  std::string error;
  auto t = perk::stdlib::ParseTime(text, &error);
  INFO(text << ": " << error);
  REQUIRE(t.has_value());
  return *t;
}

int64_t D(std::string_view text) {
  std::string error;
  auto d = perk::stdlib::ParseDate(text, &error);
  REQUIRE(d.has_value());
  return *d;
}

int32_t Zone(const char* name) {
  int32_t z = LoadZone(name);
  REQUIRE(z > 0);
  return z;
}

std::string Date(int32_t zone, std::string_view time) { return FormatDate(perk_tz_date(zone, T(time))); }
std::string DayStart(int32_t zone, std::string_view date) { return FormatTime(perk_tz_day_start(zone, D(date))); }

std::string Add(int32_t zone, std::string_view time, int64_t duration) {
  int64_t out = 0;
  REQUIRE(perk_tz_add(zone, T(time), duration, &out) == PERK_OK);
  return FormatTime(out);
}
std::string Sub(int32_t zone, std::string_view time, int64_t duration) {
  int64_t out = 0;
  REQUIRE(perk_tz_sub(zone, T(time), duration, &out) == PERK_OK);
  return FormatTime(out);
}
std::string AddDate(std::string_view date, int64_t duration) {
  int64_t out = 0;
  REQUIRE(perk_date_add(D(date), duration, &out) == PERK_OK);
  return FormatDate(out);
}
std::string SubDate(std::string_view date, int64_t duration) {
  int64_t out = 0;
  REQUIRE(perk_date_sub(D(date), duration, &out) == PERK_OK);
  return FormatDate(out);
}

constexpr int64_t kDay = kMicrosPerDay;
constexpr int64_t Months(int64_t n) { return kMonthsTag + n; }

}  // namespace

TEST_CASE("zones load by IANA name; UTC is zone 0 and unknown names are refused") {
  CHECK(LoadZone("UTC") == 0);
  CHECK(LoadZone("Europe/Berlin") == LoadZone("Europe/Berlin"));
  CHECK(LoadZone("Europe/Berlin") != LoadZone("Asia/Tokyo"));
  CHECK(perk::stdlib::ZoneName(LoadZone("Asia/Tokyo")) == "Asia/Tokyo");
  CHECK(LoadZone("Europe/Berln") == -1);
  CHECK(LoadZone("") == -1);
  // The machine's own zone and files are not names: a program means the same everywhere.
  CHECK(LoadZone("localtime") == -1);
  CHECK(LoadZone("/etc/localtime") == -1);
  CHECK(LoadZone("../zoneinfo/UTC") == -1);
}

TEST_CASE("UTC is v0.1's calendar") {
  CHECK(perk_tz_date(0, T("2026-01-05T23:59:59.999999Z")) == D("2026-01-05"));
  CHECK(perk_tz_date(0, T("1969-12-31T23:00:00Z")) == -1);
  CHECK(perk_tz_day_start(0, D("2026-01-05")) == T("2026-01-05T00:00:00Z"));
  CHECK(perk_tz_hour(0, T("2026-01-05T10:59:00Z")) == 10);
  CHECK(perk_tz_minute(0, T("2026-01-05T10:59:00Z")) == 59);
  CHECK(Add(0, "2026-01-31T10:00:00Z", Months(1)) == "2026-02-28T10:00:00Z");
  CHECK(Add(0, "2026-03-28T10:00:00Z", 2 * kDay) == "2026-03-30T10:00:00Z");
}

TEST_CASE("Europe/Berlin, 2026: a 23-hour day in March and a 25-hour day in October") {
  const int32_t z = Zone("Europe/Berlin");
  // 29 March: 02:00 CET becomes 03:00 CEST at 01:00Z.
  CHECK(Date(z, "2026-03-28T22:59:59Z") == "2026-03-28");
  CHECK(Date(z, "2026-03-28T23:00:00Z") == "2026-03-29");
  CHECK(DayStart(z, "2026-03-29") == "2026-03-28T23:00:00Z");
  CHECK(DayStart(z, "2026-03-30") == "2026-03-29T22:00:00Z");
  CHECK(perk_tz_hour(z, T("2026-03-29T00:59:59Z")) == 1);
  CHECK(perk_tz_hour(z, T("2026-03-29T01:00:00Z")) == 3);
  // 25 October: 03:00 CEST becomes 02:00 CET at 01:00Z; 02:00-03:00 happens twice.
  CHECK(DayStart(z, "2026-10-25") == "2026-10-24T22:00:00Z");
  CHECK(DayStart(z, "2026-10-26") == "2026-10-25T23:00:00Z");
  CHECK(perk_tz_hour(z, T("2026-10-25T00:30:00Z")) == 2);
  CHECK(perk_tz_hour(z, T("2026-10-25T01:30:00Z")) == 2);
  CHECK(perk_tz_minute(z, T("2026-10-25T01:30:00Z")) == 30);
  // Buckets never go back: the repeated hour is one local hour bucket, and the repeated
  // minutes stay in the last minute before the change until the clock passes it again.
  const int64_t hour = 1, minute = 0;
  CHECK(perk_tz_bucket(z, hour, T("2026-10-25T00:30:00Z")) == perk_tz_bucket(z, hour, T("2026-10-25T01:30:00Z")));
  CHECK(perk_tz_bucket(z, hour, T("2026-10-25T02:00:00Z")) == perk_tz_bucket(z, hour, T("2026-10-25T01:30:00Z")) + 1);
  CHECK(perk_tz_bucket(z, minute, T("2026-10-25T01:30:00Z")) == perk_tz_bucket(z, minute, T("2026-10-25T00:59:00Z")));
  CHECK(perk_tz_bucket(z, minute, T("2026-10-25T02:00:00Z")) == perk_tz_bucket(z, minute, T("2026-10-25T00:59:00Z")) + 1);
  // Calendar steps keep the local clock time: 02:30 on the 29th does not exist, so a day
  // after 02:30 on the 28th moves forward by the gap to 03:30 CEST; 02:30 on 25 October
  // exists twice and takes the earlier instant (CEST).
  CHECK(Add(z, "2026-03-28T01:30:00Z", kDay) == "2026-03-29T01:30:00Z");
  CHECK(Add(z, "2026-03-28T12:00:00Z", kDay) == "2026-03-29T11:00:00Z");  // 13:00 local both days
  CHECK(Add(z, "2026-10-24T00:30:00Z", kDay) == "2026-10-25T00:30:00Z");
  CHECK(Add(z, "2026-10-24T12:00:00Z", kDay) == "2026-10-25T13:00:00Z");  // 14:00 local both days
  CHECK(Sub(z, "2026-03-30T10:00:00Z", 7 * kDay) == "2026-03-23T11:00:00Z");
  CHECK(Add(z, "2026-03-15T12:00:00Z", Months(1)) == "2026-04-15T11:00:00Z");
  CHECK(Add(z, "2026-01-31T12:00:00.25Z", Months(1)) == "2026-02-28T12:00:00.25Z");
  // Minutes and hours are exact lengths, even across a change.
  CHECK(Add(z, "2026-03-29T00:30:00Z", kMicrosPerHour) == "2026-03-29T01:30:00Z");
}

TEST_CASE("America/Sao_Paulo: the midnight that did not exist (2018-11-04) and the repeated hour before midnight (2019-02-16)") {
  const int32_t z = Zone("America/Sao_Paulo");
  // 2018-11-04 00:00 -03 became 01:00 -02: the day starts at its first instant, 01:00 local.
  CHECK(DayStart(z, "2018-11-04") == "2018-11-04T03:00:00Z");
  CHECK(DayStart(z, "2018-11-03") == "2018-11-03T03:00:00Z");
  CHECK(Date(z, "2018-11-04T02:59:59.999999Z") == "2018-11-03");
  CHECK(Date(z, "2018-11-04T03:00:00Z") == "2018-11-04");
  CHECK(perk_tz_hour(z, T("2018-11-04T03:00:00Z")) == 1);
  // 00:00 on 4 November does not exist: a day after 00:00 on the 3rd is 01:00 on the 4th.
  CHECK(Add(z, "2018-11-03T03:00:00Z", kDay) == "2018-11-04T03:00:00Z");
  CHECK(Add(z, "2018-11-03T03:30:00Z", kDay) == "2018-11-04T03:30:00Z");
  CHECK(Add(z, "2018-11-03T04:00:00Z", kDay) == "2018-11-04T03:00:00Z");  // 01:00 local both days
  // 2019-02-17 00:00 -02 became 2019-02-16 23:00 -03: 23:00-24:00 on the 16th happened twice.
  CHECK(Date(z, "2019-02-17T01:30:00Z") == "2019-02-16");
  CHECK(Date(z, "2019-02-17T02:30:00Z") == "2019-02-16");
  CHECK(Date(z, "2019-02-17T03:00:00Z") == "2019-02-17");
  CHECK(DayStart(z, "2019-02-17") == "2019-02-17T03:00:00Z");
  CHECK(perk_tz_hour(z, T("2019-02-17T02:30:00Z")) == 23);
  CHECK(Add(z, "2019-02-16T01:30:00Z", kDay) == "2019-02-17T01:30:00Z");  // 23:30 local, the earlier
}

TEST_CASE("Australia/Lord_Howe: a 30-minute shift on a half-hour offset") {
  const int32_t z = Zone("Australia/Lord_Howe");
  // +11:00 in summer, +10:30 in winter.
  CHECK(perk_tz_hour(z, T("2026-01-01T00:00:00Z")) == 11);
  CHECK(perk_tz_hour(z, T("2026-07-01T00:00:00Z")) == 10);
  CHECK(perk_tz_minute(z, T("2026-07-01T00:00:00Z")) == 30);
  CHECK(Date(z, "2026-07-01T13:29:59Z") == "2026-07-01");
  CHECK(Date(z, "2026-07-01T13:30:00Z") == "2026-07-02");
  CHECK(DayStart(z, "2026-07-02") == "2026-07-01T13:30:00Z");
  // 5 April 2026, 02:00 +11 became 01:30 +10:30 (at 15:00Z): 01:30-02:00 happened twice.
  CHECK(perk_tz_minute(z, T("2026-04-04T15:15:00Z")) == 45);
  CHECK(Add(z, "2026-04-03T14:45:00Z", kDay) == "2026-04-04T14:45:00Z");  // 01:45, the earlier (+11)
  CHECK(Add(z, "2026-04-03T16:00:00Z", kDay) == "2026-04-04T16:30:00Z");  // 03:00 local both days
  // 4 October 2026, 02:00 +10:30 became 02:30 +11 (at 15:30Z): 02:15 does not exist and moves
  // forward by the 30-minute gap.
  CHECK(Add(z, "2026-10-02T15:45:00Z", kDay) == "2026-10-03T15:45:00Z");
  CHECK(perk_tz_hour(z, T("2026-10-03T15:45:00Z")) == 2);
  CHECK(perk_tz_minute(z, T("2026-10-03T15:45:00Z")) == 45);
}

TEST_CASE("month and year steps clamp the day to the month's last day") {
  CHECK(AddDate("2026-01-31", Months(1)) == "2026-02-28");
  CHECK(AddDate("2024-01-31", Months(1)) == "2024-02-29");
  CHECK(AddDate("2024-02-29", Months(12)) == "2025-02-28");
  CHECK(SubDate("2026-03-31", Months(1)) == "2026-02-28");
  CHECK(AddDate("2026-12-15", Months(1)) == "2027-01-15");
  CHECK(SubDate("2026-01-15", Months(13)) == "2024-12-15");
  CHECK(AddDate("2026-01-31", 3 * kDay) == "2026-02-03");
  CHECK(SubDate("2026-03-01", kDay) == "2026-02-28");
  // Past the years 0000-9999 is an overflow.
  int64_t out = 0;
  CHECK(perk_date_add(D("9999-12-31"), kDay, &out) == PERK_OVERFLOW);
  CHECK(perk_date_sub(D("0000-01-15"), Months(1), &out) == PERK_OVERFLOW);
  CHECK(perk_tz_add(0, T("9999-12-01T00:00:00Z"), Months(1), &out) == PERK_OVERFLOW);
}

TEST_CASE("calendar fields of a date") {
  CHECK(perk_date_weekday(D("2026-03-30")) == 1);  // a Monday
  CHECK(perk_date_weekday(D("2026-03-29")) == 7);
  CHECK(perk_date_weekday(D("1970-01-01")) == 4);
  CHECK(perk_date_weekday(D("1969-12-29")) == 1);
  CHECK(perk_date_year(D("2026-03-30")) == 2026);
  CHECK(perk_date_month(D("2026-03-30")) == 3);
  CHECK(perk_date_day(D("2026-03-30")) == 30);
  CHECK(perk_date_day(D("0000-02-29")) == 29);
}

TEST_CASE("month and year buckets are local calendar months and years") {
  const int32_t tokyo = Zone("Asia/Tokyo");
  const int64_t month = 4, year = 5;
  CHECK(perk_tz_bucket(tokyo, month, T("2026-03-31T14:59:59Z")) == 2026 * 12 + 2);
  CHECK(perk_tz_bucket(tokyo, month, T("2026-03-31T15:00:00Z")) == 2026 * 12 + 3);
  CHECK(perk_tz_bucket(tokyo, year, T("2026-12-31T15:00:00Z")) == 2027);
  CHECK(perk_tz_bucket(0, year, T("2026-12-31T15:00:00Z")) == 2026);
}

TEST_CASE("the cached spans agree with absl at random instants, in any order, and buckets never go back") {
  std::mt19937_64 rng(20261207);
  for (const char* name : {"Europe/Berlin", "America/Sao_Paulo", "Australia/Lord_Howe", "Asia/Tokyo",
                           "America/New_York", "Asia/Kolkata", "Antarctica/Troll", "Pacific/Apia"}) {
    INFO(name);
    const int32_t z = Zone(name);
    absl::TimeZone tz;
    REQUIRE(absl::LoadTimeZone(name, &tz));
    const int64_t lo = T("1950-01-01T00:00:00Z"), hi = T("2060-01-01T00:00:00Z");
    std::vector<int64_t> times;
    for (int k = 0; k < 4000; ++k) times.push_back(lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo)));
    // Near every clock change too, where the spans end.
    absl::TimeZone::CivilTransition tr;
    for (absl::Time at = absl::FromUnixMicros(lo); tz.NextTransition(at, &tr) && at < absl::FromUnixMicros(hi);) {
      at = tz.At(tr.to).trans;
      const int64_t x = absl::ToUnixMicros(at);
      for (int64_t d : {-1, 0, 1, 999'999, 1'000'000}) times.push_back(x + d);
    }
    auto check = [&](int64_t t) {
      const absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixMicros(t), tz);
      INFO(FormatTime(t));
      REQUIRE(perk_tz_hour(z, t) == cs.hour());
      REQUIRE(perk_tz_minute(z, t) == cs.minute());
    };
    for (int64_t t : times) check(t);  // random order: the cache keeps moving
    std::sort(times.begin(), times.end());
    int64_t last_day = INT64_MIN, last_minute = INT64_MIN;
    for (int64_t t : times) {
      check(t);
      const int64_t day = perk_tz_date(z, t), minute = perk_tz_bucket(z, 0, t);
      REQUIRE(day >= last_day);
      REQUIRE(minute >= last_minute);
      // A day starts where its date begins.
      REQUIRE(perk_tz_date(z, perk_tz_day_start(z, day)) == day);
      REQUIRE(perk_tz_date(z, perk_tz_day_start(z, day) - 1) < day);
      last_day = day, last_minute = minute;
    }
  }
}

TEST_CASE("the listed zone names are the system's, each loadable") {
  const std::vector<std::string> names = perk::stdlib::ListedZoneNames();
  REQUIRE(names.size() > 100);
  CHECK(std::find(names.begin(), names.end(), "Europe/Berlin") != names.end());
  CHECK(std::find(names.begin(), names.end(), "America/Sao_Paulo") != names.end());
  for (const auto& name : names) {
    INFO(name);
    CHECK(LoadZone(name) >= 0);
  }
}
