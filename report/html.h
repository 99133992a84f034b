// Pieces of the report pages: escaping, number formats, and inline SVG charts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "report/report.h"

namespace perk::report::html {

std::string Esc(std::string_view s);
std::string Int(int64_t n);                // 1,234,567
std::string Money(int64_t cents);          // 1,234.56
std::string SignedInt(int64_t n);          // +12, -3, 0
std::string SignedMoney(int64_t cents);
// a / b as a percentage with one decimal ("12.5%"), "–" when b is 0; exact integer rounding.
std::string Percent(int64_t a, int64_t b);
// a / b in basis points (1/100 of a percent), rounded half up; 0 when b is 0.
int64_t BasisPoints(int64_t a, int64_t b);
std::string Date(int64_t day);
// Basis points as a signed percentage with two decimals ("-12.34%").
std::string BpPercent(int64_t bp);

enum class Unit { Count, Money, BasisPoints };
std::string Format(Unit unit, int64_t v);

struct Series {
  std::string name;
  std::string color;
  std::vector<int64_t> values;  // one per bucket
};

enum class ChartKind { StackedBars, Lines, StackedArea };

struct Chart {
  std::string id;     // data-chart, for tests and links
  std::string title;  // the accessible name
  ChartKind kind = ChartKind::StackedBars;
  Unit unit = Unit::Count;
  std::vector<std::string> labels;  // one per bucket
  std::vector<Series> series;
};

// The chart as a figure: a legend in HTML, then an <svg> that scales with the page. Each
// series is a <g data-series=NAME data-values="v1 v2 …"> holding the raw values.
std::string Render(const Chart& chart);

// A colour from a fixed palette that colour-blind readers can tell apart; the last is grey.
const char* Color(size_t k);
constexpr const char* kOtherColor = "#8c8c8c";

// The calendar from the first to the last of `days` cut into at most `max` buckets of equal
// width in days (the last may be shorter). `days` holds only days with data, in order.
struct Buckets {
  int64_t width = 1;  // days per bucket
  std::vector<std::pair<size_t, size_t>> ranges;  // per bucket: the days in it, [begin, end) indexes
  std::vector<size_t> state;                      // per bucket: the index of its last day with data so far
  std::vector<std::string> labels;
};
Buckets MakeBuckets(const std::vector<DayFigures>& days, size_t max = 120);

// The page frame: head with the inline stylesheet, then the body's content.
std::string Page(const std::string& title, const std::string& body);

}  // namespace perk::report::html
