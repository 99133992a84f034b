// Unit tests for RFC 3339 times, dates, the civil calendar and the time built-ins.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <limits>
#include <random>

#include "stdlib/stdlib.h"

namespace {

using perk::stdlib::CivilFromDays;
using perk::stdlib::DaysFromCivil;
using perk::stdlib::FormatDate;
using perk::stdlib::FormatTime;
using perk::stdlib::kMicrosPerDay;
using perk::stdlib::ParseDate;
using perk::stdlib::ParseTime;

int64_t Time(std::string_view text) {
  std::string error;
  std::optional<int64_t> t = ParseTime(text, &error);
  INFO("text: " << text << " error: " << error);
  REQUIRE(t.has_value());
  return *t;
}

int64_t Date(std::string_view text) {
  std::string error;
  std::optional<int64_t> d = ParseDate(text, &error);
  INFO("text: " << text << " error: " << error);
  REQUIRE(d.has_value());
  return *d;
}

bool Anniversary(std::string_view d, std::string_view today) {
  return perk_anniversary(Date(d), Date(today)) != 0;
}

}  // namespace

TEST_CASE("ParseTime reads UTC times", "[time]") {
  CHECK(Time("1970-01-01T00:00:00Z") == 0);
  CHECK(Time("2026-01-05T10:00:00Z") == 1'767'607'200'000'000);
  CHECK(Time("2026-01-05t10:00:00z") == 1'767'607'200'000'000);
  CHECK(Time("2026-01-05 10:00:00Z") == 1'767'607'200'000'000);
  CHECK(Time("2026-01-05T10:00:00+00:00") == 1'767'607'200'000'000);
  CHECK(Time("2026-01-05T10:00:00-00:00") == 1'767'607'200'000'000);
  CHECK(Time("1969-12-31T23:59:59.999999Z") == -1);
  CHECK(Time("0001-01-01T00:00:00Z") == -62'135'596'800'000'000);
  CHECK(Time("9999-12-31T23:59:59.999999Z") == 253'402'300'799'999'999);
  CHECK(Time("1900-03-01T12:30:15.5Z") == -2'203'846'184'500'000);
}

TEST_CASE("times stay within the years 0000-9999 in UTC", "[time]") {
  using perk::stdlib::kMaxTime;
  using perk::stdlib::kMinTime;
  CHECK(Time("0000-01-01T00:00:00Z") == kMinTime);
  CHECK(Time("9999-12-31T23:59:59.999999Z") == kMaxTime);
  CHECK(FormatTime(kMinTime) == "0000-01-01T00:00:00Z");
  CHECK(FormatTime(kMaxTime) == "9999-12-31T23:59:59.999999Z");
  // An offset that carries the first or last day across the range: the ledger could not
  // write the result as RFC 3339, so the text is refused.
  std::string error;
  CHECK(ParseTime("0000-01-01T00:00:00+01:00", &error) == std::nullopt);
  CHECK(error == "falls outside the years 0000-9999 in UTC");
  CHECK(ParseTime("9999-12-31T23:59:59-00:01", nullptr) == std::nullopt);
  CHECK(Time("0000-01-01T00:59:59+00:59") == kMinTime + 59 * 1'000'000);
  // Time arithmetic overflows where the range ends, and leaves the output untouched then.
  int64_t out = 7;
  CHECK(perk_time_add(kMaxTime - 10, 10, &out) == PERK_OK);
  CHECK(out == kMaxTime);
  out = 7;
  CHECK(perk_time_add(kMaxTime - 10, 11, &out) == PERK_OVERFLOW);
  CHECK(perk_time_sub(kMinTime + 10, 11, &out) == PERK_OVERFLOW);
  CHECK(perk_time_add(kMinTime, -1, &out) == PERK_OVERFLOW);
  CHECK(perk_time_sub(kMaxTime, -1, &out) == PERK_OVERFLOW);
  CHECK(perk_time_add(0, INT64_MAX, &out) == PERK_OVERFLOW);
  CHECK(out == 7);
  CHECK(perk_time_sub(kMinTime + 10, 10, &out) == PERK_OK);
  CHECK(out == kMinTime);
}

TEST_CASE("ParseTime reads fractions of 1 to 6 digits", "[time]") {
  int64_t base = Time("2026-01-05T10:00:00Z");
  CHECK(Time("2026-01-05T10:00:00.5Z") - base == 500'000);
  CHECK(Time("2026-01-05T10:00:00.123Z") - base == 123'000);
  CHECK(Time("2026-01-05T10:00:00.000001Z") - base == 1);
  CHECK(Time("2026-01-05T10:00:00.123456Z") - base == 123'456);
  CHECK(Time("2026-01-05T10:00:00.000000Z") == base);
  std::string error;
  CHECK(ParseTime("2026-01-05T10:00:00.1234567Z", &error) == std::nullopt);
  CHECK(error == "has more than 6 fractional second digits");
  CHECK(ParseTime("2026-01-05T10:00:00.Z", nullptr) == std::nullopt);
}

TEST_CASE("ParseTime normalises offsets to UTC", "[time]") {
  CHECK(Time("2026-01-01T01:00:00+02:00") == Time("2025-12-31T23:00:00Z"));
  CHECK(Time("2025-12-31T23:30:00-01:30") == Time("2026-01-01T01:00:00Z"));
  CHECK(Time("2026-01-05T10:00:00.123+02:00") == Time("2026-01-05T08:00:00.123Z"));
  CHECK(Time("2024-03-01T00:00:00+00:01") == Time("2024-02-29T23:59:00Z"));
  CHECK(Time("1970-01-01T00:00:00+23:59") == -(23 * 60 + 59) * 60 * int64_t{1'000'000});
  CHECK(FormatTime(Time("2026-01-01T01:00:00+02:00")) == "2025-12-31T23:00:00Z");
}

TEST_CASE("ParseTime validates the calendar and the clock", "[time]") {
  CHECK(Time("2024-02-29T00:00:00Z") == DaysFromCivil(2024, 2, 29) * kMicrosPerDay);
  CHECK(Time("2000-02-29T00:00:00Z") == DaysFromCivil(2000, 2, 29) * kMicrosPerDay);
  std::string error;
  CHECK(ParseTime("2026-02-29T00:00:00Z", &error) == std::nullopt);
  CHECK(error == "is not a valid calendar date");
  for (const char* text :
       {"1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z", "2026-01-00T00:00:00Z", "2026-01-32T00:00:00Z",
        "2026-01-05T24:00:00Z", "2026-01-05T23:60:00Z", "2026-12-31T23:59:60Z",
        "2026-01-05T10:00:00+24:00", "2026-01-05T10:00:00+02:60"}) {
    INFO("text: " << text);
    CHECK(ParseTime(text, nullptr) == std::nullopt);
  }
}

TEST_CASE("ParseTime rejects malformed text", "[time]") {
  for (const char* text :
       {"", "2026-01-05", "2026-01-05T10:00Z", "2026-01-05T10:00:00", "26-01-05T10:00:00Z",
        "+2026-01-05T10:00:00Z", "20260-01-05T10:00:00Z", "2026-1-05T10:00:00Z",
        "2026/01/05T10:00:00Z", "2026-01-05X10:00:00Z", "2026-01-05T10:00:00+0200",
        "2026-01-05T10:00:00+02", "2026-01-05T10:00:00+2:00", "2026-01-05T10:00:00Z ",
        " 2026-01-05T10:00:00Z", "2026-01-05T10:00:00ZZ", "2026-01-05T1a:00:00Z",
        "2026-01-05T10:00:00.-1Z", "2026-01-05T10:00:00,5Z"}) {
    INFO("text: '" << text << "'");
    CHECK(ParseTime(text, nullptr) == std::nullopt);
  }
}

TEST_CASE("FormatTime writes UTC with a trimmed fraction", "[time]") {
  CHECK(FormatTime(0) == "1970-01-01T00:00:00Z");
  CHECK(FormatTime(1'767'607'200'000'000) == "2026-01-05T10:00:00Z");
  CHECK(FormatTime(1'767'607'200'500'000) == "2026-01-05T10:00:00.5Z");
  CHECK(FormatTime(1'767'607'200'123'456) == "2026-01-05T10:00:00.123456Z");
  CHECK(FormatTime(1'767'607'200'000'010) == "2026-01-05T10:00:00.00001Z");
  CHECK(FormatTime(-1) == "1969-12-31T23:59:59.999999Z");
  CHECK(FormatTime(-kMicrosPerDay) == "1969-12-31T00:00:00Z");
  CHECK(FormatTime(-2'203'846'184'500'000) == "1900-03-01T12:30:15.5Z");
  CHECK(FormatTime(253'402'300'799'999'999) == "9999-12-31T23:59:59.999999Z");
  CHECK(FormatTime(DaysFromCivil(0, 1, 1) * kMicrosPerDay) == "0000-01-01T00:00:00Z");
  // The int64 limits format without overflow, outside the four-digit years.
  CHECK(FormatTime(std::numeric_limits<int64_t>::max()) == "294247-01-10T04:00:54.775807Z");
  CHECK(FormatTime(std::numeric_limits<int64_t>::min()) == "-290308-12-21T19:59:05.224192Z");
}

TEST_CASE("FormatTime and FormatDate agree with fmt's formatting on random times", "[time]") {
  // The reference: what both functions wrote through fmt before they wrote digits by hand.
  auto reference_date = [](int64_t days) {
    int64_t y = 0;
    unsigned m = 0, d = 0;
    CivilFromDays(days, &y, &m, &d);
    return y < 0 ? fmt::format("-{:04}-{:02}-{:02}", -y, m, d) : fmt::format("{:04}-{:02}-{:02}", y, m, d);
  };
  auto reference_time = [&](int64_t micros) {
    int64_t days = perk_time_date(micros);
    int64_t in_day = static_cast<int64_t>(static_cast<uint64_t>(micros) - static_cast<uint64_t>(days) * static_cast<uint64_t>(kMicrosPerDay));
    std::string text = reference_date(days) + fmt::format("T{:02}:{:02}:{:02}", in_day / 3'600'000'000, in_day / 60'000'000 % 60,
                                                          in_day / 1'000'000 % 60);
    if (in_day % 1'000'000 != 0) {
      std::string digits = fmt::format("{:06}", in_day % 1'000'000);
      digits.erase(digits.find_last_not_of('0') + 1);
      text += "." + digits;
    }
    return text + "Z";
  };
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> any_time(perk::stdlib::kMinTime, perk::stdlib::kMaxTime);
  std::uniform_int_distribution<int64_t> any_int64;
  for (int k = 0; k < 200'000; ++k) {
    int64_t t = any_time(rng);
    if (k % 3 == 1) t -= t % 1'000'000;  // whole seconds
    if (k % 3 == 2) t -= t % 1'000;      // trailing zeros in the fraction
    if (k % 50 == 0) t = any_int64(rng);  // outside the four-digit years
    REQUIRE(FormatTime(t) == reference_time(t));
    int64_t days = perk_time_date(t);
    REQUIRE(FormatDate(days) == reference_date(days));
  }
}

TEST_CASE("time text round trips", "[time]") {
  for (const char* text :
       {"2026-01-05T10:00:00Z", "2024-02-29T23:59:59.999999Z", "1969-07-20T20:17:40.1Z",
        "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1600-02-29T12:00:00.000001Z"}) {
    CHECK(FormatTime(Time(text)) == text);
  }
  for (int64_t t = -3 * kMicrosPerDay; t <= 3 * kMicrosPerDay; t += 3'599'999'937) {
    CHECK(Time(FormatTime(t)) == t);
  }
}

TEST_CASE("ParseDate and FormatDate", "[time]") {
  CHECK(Date("1970-01-01") == 0);
  CHECK(Date("2026-01-05") == 20'458);
  CHECK(Date("2000-02-29") == 11'016);
  CHECK(Date("1969-12-31") == -1);
  CHECK(Date("0000-03-01") == -719'468);
  CHECK(FormatDate(20'458) == "2026-01-05");
  CHECK(FormatDate(-1) == "1969-12-31");
  CHECK(FormatDate(-719'468) == "0000-03-01");
  CHECK(FormatDate(-719'469) == "0000-02-29");
  CHECK(FormatDate(-719'529) == "-0001-12-31");
  CHECK(Date("2024-02-29") == Date("2024-02-28") + 1);
  std::string error;
  CHECK(ParseDate("2026-02-29", &error) == std::nullopt);
  CHECK(error == "is not a valid calendar date");
  for (const char* text : {"", "2026-1-05", "2026-01-05T00:00:00Z", "2026-01-05 ", "20260105",
                           "-2026-01-05", "2100-02-29", "2026-06-31"}) {
    INFO("text: '" << text << "'");
    CHECK(ParseDate(text, nullptr) == std::nullopt);
  }
}

TEST_CASE("civil calendar conversion is its own inverse", "[time]") {
  CHECK(DaysFromCivil(1970, 1, 1) == 0);
  CHECK(DaysFromCivil(2000, 3, 1) == 11'017);
  CHECK(DaysFromCivil(-1, 12, 31) == -719'529);
  for (int64_t days = -800'000; days <= 3'000'000; days += 97) {
    int64_t y = 0;
    unsigned m = 0, d = 0;
    CivilFromDays(days, &y, &m, &d);
    REQUIRE(DaysFromCivil(y, m, d) == days);
  }
}

TEST_CASE("perk_time_date floors toward the earlier day", "[time]") {
  CHECK(perk_time_date(0) == 0);
  CHECK(perk_time_date(kMicrosPerDay - 1) == 0);
  CHECK(perk_time_date(kMicrosPerDay) == 1);
  CHECK(perk_time_date(-1) == -1);
  CHECK(perk_time_date(-kMicrosPerDay) == -1);
  CHECK(perk_time_date(-kMicrosPerDay - 1) == -2);
  CHECK(perk_time_date(Time("2026-01-05T23:59:59.999999Z")) == Date("2026-01-05"));
  CHECK(perk_time_date(Time("1950-06-15T12:00:00Z")) == Date("1950-06-15"));
  CHECK(perk_time_date(std::numeric_limits<int64_t>::min()) == -106'751'992);
}

TEST_CASE("perk_date_start and perk_days_between", "[time]") {
  CHECK(perk_date_start(Date("2026-01-05")) == Time("2026-01-05T00:00:00Z"));
  CHECK(perk_date_start(-1) == -kMicrosPerDay);
  CHECK(perk_date_start(perk_time_date(std::numeric_limits<int64_t>::min())) ==
        std::numeric_limits<int64_t>::min());
  CHECK(perk_days_between(Date("2026-01-05"), Date("2026-03-01")) == 55);
  CHECK(perk_days_between(Date("2026-03-01"), Date("2026-01-05")) == -55);
  CHECK(perk_days_between(Date("2024-02-28"), Date("2024-03-01")) == 2);
  CHECK(perk_days_between(Date("2026-02-28"), Date("2026-03-01")) == 1);
}

TEST_CASE("perk_anniversary", "[time]") {
  CHECK(Anniversary("1990-05-17", "2026-05-17"));
  CHECK_FALSE(Anniversary("1990-05-17", "2026-05-18"));
  CHECK_FALSE(Anniversary("1990-05-17", "2026-06-17"));
  // Only in a later year.
  CHECK_FALSE(Anniversary("2026-05-17", "2026-05-17"));
  CHECK_FALSE(Anniversary("2027-05-17", "2026-05-17"));
  CHECK(Anniversary("2025-05-17", "2026-05-17"));
  // 29 February counts as 28 February in non-leap years, and only then.
  CHECK(Anniversary("2000-02-29", "2026-02-28"));
  CHECK_FALSE(Anniversary("2000-02-29", "2026-03-01"));
  CHECK_FALSE(Anniversary("2000-02-29", "2028-02-28"));
  CHECK(Anniversary("2000-02-29", "2028-02-29"));
  CHECK_FALSE(Anniversary("2000-02-29", "2100-03-01"));
  CHECK(Anniversary("2000-02-29", "2100-02-28"));
  CHECK(Anniversary("1999-02-28", "2028-02-28"));
  CHECK_FALSE(Anniversary("1999-02-28", "2028-02-29"));
  CHECK(Anniversary("1960-01-01", "2026-01-01"));
  // Many birthdays against one `today` in a row, as a day tick asks (today's date is kept).
  CHECK(Anniversary("1990-05-17", "2026-05-17"));
  CHECK(Anniversary("1985-05-17", "2026-05-17"));
  CHECK_FALSE(Anniversary("1985-05-18", "2026-05-17"));
  CHECK_FALSE(Anniversary("2026-05-17", "2026-05-17"));
  CHECK(Anniversary("1985-05-18", "2026-05-18"));
}
