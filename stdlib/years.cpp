// years_between (spec §2, v0.2): whole years between two dates, by the anniversary rule.
// Kept apart from time.cpp, whose calendar is being made time-zone aware: this works on dates
// (days since 1970-01-01), which the checker makes from times through the same DateOf op as
// date(t), so it follows whatever calendar DateOf uses.
#include <cstdint>

#include "stdlib/stdlib.h"

namespace {

bool IsLeap(int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

// Whole years from a to b when a <= b: a year is complete on its anniversary, with 29 February
// counting as 28 February in years that have none (as anniversary() does).
int64_t YearsForward(int64_t a_days, int64_t b_days) {
  int64_t ay = 0, by = 0;
  unsigned am = 0, ad = 0, bm = 0, bd = 0;
  perk::stdlib::CivilFromDays(a_days, &ay, &am, &ad);
  perk::stdlib::CivilFromDays(b_days, &by, &bm, &bd);
  if (am == 2 && ad == 29 && !IsLeap(by)) ad = 28;
  int64_t years = by - ay;
  if (bm < am || (bm == am && bd < ad)) --years;
  return years;
}

}  // namespace

extern "C" {

int64_t perk_years_between(int64_t a_days, int64_t b_days) {
  // Backwards it is the forward count, negated: years_between(a, b) == -years_between(b, a).
  return a_days <= b_days ? YearsForward(a_days, b_days) : -YearsForward(b_days, a_days);
}

}  // extern "C"
