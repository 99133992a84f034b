// years_between (spec §2): whole years by the anniversary rule, 29 February as 28 February.
#include <catch2/catch.hpp>

#include "stdlib/stdlib.h"

namespace {

int64_t Day(const char* text) { return *perk::stdlib::ParseDate(text, nullptr); }
int64_t Years(const char* a, const char* b) { return perk_years_between(Day(a), Day(b)); }

}  // namespace

TEST_CASE("years_between counts a year complete on its anniversary") {
  CHECK(Years("1990-05-17", "2026-05-16") == 35);
  CHECK(Years("1990-05-17", "2026-05-17") == 36);
  CHECK(Years("1990-05-17", "1990-05-17") == 0);
  CHECK(Years("1990-05-17", "1991-05-16") == 0);
  CHECK(Years("1990-12-31", "1991-01-01") == 0);
  CHECK(Years("1990-01-01", "1990-12-31") == 0);
  CHECK(Years("0000-01-01", "9999-12-31") == 9999);
}

TEST_CASE("years_between: 29 February counts as 28 February in years without one") {
  // The conformance case's client: 21 on 27 February 2026, 22 on the 28th.
  CHECK(Years("2004-02-29", "2026-02-27") == 21);
  CHECK(Years("2004-02-29", "2026-02-28") == 22);
  CHECK(Years("2004-02-29", "2026-03-01") == 22);
  // In a leap year the anniversary is the 29th itself.
  CHECK(Years("2004-02-29", "2028-02-28") == 23);
  CHECK(Years("2004-02-29", "2028-02-29") == 24);
  CHECK(Years("2004-02-29", "2005-02-28") == 1);
  // 1900 and 2100 are not leap years, 2000 is.
  CHECK(Years("1896-02-29", "1900-02-28") == 4);
  CHECK(Years("1996-02-29", "2000-02-28") == 3);
  CHECK(Years("1996-02-29", "2000-02-29") == 4);
  // Born on the 28th: the 29th of a leap year changes nothing.
  CHECK(Years("2003-02-28", "2004-02-28") == 1);
  CHECK(Years("2003-02-28", "2004-02-27") == 0);
}

TEST_CASE("years_between is negative, and antisymmetric, when b is before a") {
  CHECK(Years("2026-05-17", "1990-05-17") == -36);
  CHECK(Years("2026-05-16", "1990-05-17") == -35);
  CHECK(Years("2026-02-28", "2004-02-29") == -22);
  CHECK(Years("1991-05-16", "1990-05-17") == 0);
  for (const char* a : {"2004-02-29", "1990-05-17", "2000-01-01", "2026-12-31"})
    for (const char* b : {"2004-02-28", "2026-02-28", "1970-01-01", "2028-02-29", "2026-12-31"})
      CHECK(Years(a, b) == -Years(b, a));
}
