// Escaping, number formats, buckets, the stylesheet and the SVG charts of the report pages.
#include "report/html.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "stdlib/stdlib.h"

namespace perk::report::html {

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

std::string Group(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

uint64_t Magnitude(int64_t n) { return n < 0 ? 0 - static_cast<uint64_t>(n) : static_cast<uint64_t>(n); }

}  // namespace

std::string Int(int64_t n) { return (n < 0 ? "-" : "") + Group(Magnitude(n)); }

std::string Money(int64_t cents) {
  uint64_t m = Magnitude(cents);
  return fmt::format("{}{}.{:02}", cents < 0 ? "-" : "", Group(m / 100), m % 100);
}

std::string SignedInt(int64_t n) { return (n > 0 ? "+" : "") + Int(n); }
std::string SignedMoney(int64_t cents) { return (cents > 0 ? "+" : "") + Money(cents); }

int64_t BasisPoints(int64_t a, int64_t b) {
  if (b == 0) return 0;
  // a and b are counts of clients or sums well below 2^63 / 20000.
  __int128 num = static_cast<__int128>(a) * 20000 + b;
  return static_cast<int64_t>(num / (2 * static_cast<__int128>(b)));
}

std::string Percent(int64_t a, int64_t b) {
  if (b == 0) return "–";
  int64_t bp = BasisPoints(a, b);
  // One decimal: round basis points to tenths of a percent, half up.
  int64_t tenths = (bp + 5) / 10;
  return fmt::format("{}.{}%", tenths / 10, tenths % 10);
}

std::string Date(int64_t day) { return stdlib::FormatDate(day); }

std::string BpPercent(int64_t bp) {
  const uint64_t m = Magnitude(bp);
  return fmt::format("{}{}.{:02}%", bp < 0 ? "-" : "", m / 100, m % 100);
}

std::string Format(Unit unit, int64_t v) {
  switch (unit) {
    case Unit::Money: return Money(v);
    case Unit::BasisPoints: return fmt::format("{}.{:02}%", v / 100, v % 100);
    case Unit::Count: break;
  }
  return Int(v);
}

const char* Color(size_t k) {
  static const char* kPalette[] = {"#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#b8a000", "#6a3d9a"};
  return kPalette[k % (sizeof kPalette / sizeof kPalette[0])];
}

Buckets MakeBuckets(const std::vector<DayFigures>& days, size_t max) {
  Buckets b;
  if (days.empty()) return b;
  const int64_t first = days.front().day, span = days.back().day - first + 1;
  b.width = (span + static_cast<int64_t>(max) - 1) / static_cast<int64_t>(max);
  size_t k = 0;
  for (int64_t start = first; start < first + span; start += b.width) {
    size_t begin = k;
    while (k < days.size() && days[k].day < start + b.width) ++k;
    b.ranges.emplace_back(begin, k);
    // The first bucket holds the first day, so a state is always there to carry forward.
    b.state.push_back(k - 1);
    b.labels.push_back(Date(start));
  }
  // Within one year the year says nothing: "04-01" leaves room between labels on a phone.
  if (Date(first).substr(0, 4) == Date(first + span - 1).substr(0, 4))
    for (auto& label : b.labels) label = label.substr(5);
  return b;
}

namespace {

constexpr double kWidth = 720, kHeight = 220, kLeft = 64, kRight = 8, kTop = 10, kBottom = 26;

// A round axis step giving about four gridlines up to `max`.
double NiceStep(double max) {
  if (max <= 0) return 1;
  double raw = max / 4;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

// Short axis labels: 1.2k, 3M, 45%.
std::string AxisLabel(Unit unit, double v) {
  if (unit == Unit::BasisPoints) return fmt::format("{:g}%", v / 100);
  if (unit == Unit::Money) v /= 100;
  double a = std::fabs(v);
  if (a >= 1e9) return fmt::format("{:g}B", v / 1e9);
  if (a >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (a >= 1e3) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", v);
}

std::string Num(double v) { return fmt::format("{:.1f}", v); }

}  // namespace

std::string Render(const Chart& c) {
  const size_t n = c.labels.size();
  std::string out = fmt::format("<figure class=\"chart\"><figcaption>{}</figcaption><ul class=\"legend\">", Esc(c.title));
  for (const auto& s : c.series)
    out += fmt::format("<li><i style=\"background:{}\"></i>{}</li>", s.color, Esc(s.name));
  out += "</ul>";

  // The y range: stacked kinds stack, lines take the largest value.
  double max = 0;
  for (size_t i = 0; i < n; ++i) {
    double stack = 0;
    for (const auto& s : c.series) {
      double v = static_cast<double>(i < s.values.size() ? s.values[i] : 0);
      if (c.kind == ChartKind::Lines) max = std::max(max, v);
      else stack += std::max(0.0, v);
    }
    max = std::max(max, stack);
  }
  double step = NiceStep(max);
  // Counts and money (in cents) are whole: no gridline at 0.5 client.
  if (c.unit != Unit::BasisPoints) step = std::max(step, 1.0);
  double top = std::max(step, std::ceil(max / step) * step);
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto y = [&](double v) { return kTop + plot_h - v / top * plot_h; };
  auto x_mid = [&](size_t i) { return kLeft + (i + 0.5) * plot_w / std::max<size_t>(n, 1); };

  out += fmt::format(
      "<svg data-chart=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" preserveAspectRatio=\"xMidYMid meet\">",
      Esc(c.id), kWidth, kHeight, Esc(c.title));
  // Gridlines and their labels.
  out += "<g class=\"axis\">";
  for (double v = 0; v <= top + step / 2; v += step) {
    out += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                       kLeft, kWidth - kRight, Num(y(v)), Num(y(v)), kLeft - 6, Num(y(v) + 4), AxisLabel(c.unit, v));
  }
  // About six dates along the bottom.
  size_t every = std::max<size_t>(1, (n + 5) / 6);
  for (size_t i = 0; i < n; i += every)
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", Num(x_mid(i)), kHeight - 8,
                       Esc(c.labels[i]));
  out += "</g>";

  std::vector<double> base(n, 0);
  const double slot = plot_w / std::max<size_t>(n, 1);
  for (const auto& s : c.series) {
    std::string values;
    for (size_t i = 0; i < n; ++i) {
      if (i) values += ' ';
      values += std::to_string(i < s.values.size() ? s.values[i] : 0);
    }
    out += fmt::format("<g data-series=\"{}\" data-values=\"{}\" fill=\"{}\" stroke=\"{}\">", Esc(s.name), values, s.color,
                       s.color);
    auto value = [&](size_t i) { return static_cast<double>(i < s.values.size() ? s.values[i] : 0); };
    switch (c.kind) {
      case ChartKind::StackedBars:
        for (size_t i = 0; i < n; ++i) {
          double v = std::max(0.0, value(i));
          if (v <= 0) continue;
          double y0 = y(base[i]), y1 = y(base[i] + v);
          out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{} {}: {}</title></rect>",
                             Num(kLeft + i * slot + slot * 0.1), Num(y1), Num(slot * 0.8), Num(std::max(0.5, y0 - y1)),
                             Esc(c.labels[i]), Esc(s.name), Format(c.unit, s.values[i]));
          base[i] += v;
        }
        break;
      case ChartKind::Lines: {
        std::string points;
        for (size_t i = 0; i < n; ++i) points += fmt::format("{}{},{}", i ? " " : "", Num(x_mid(i)), Num(y(value(i))));
        if (n == 1) out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\"/>", Num(x_mid(0)), Num(y(value(0))));
        else out += fmt::format("<polyline fill=\"none\" stroke-width=\"2\" points=\"{}\"/>", points);
        break;
      }
      case ChartKind::StackedArea: {
        std::string upper, lower;
        for (size_t i = 0; i < n; ++i) {
          double v = std::max(0.0, value(i));
          upper += fmt::format("{},{} ", Num(x_mid(i)), Num(y(base[i] + v)));
        }
        for (size_t i = n; i-- > 0;) lower += fmt::format("{},{} ", Num(x_mid(i)), Num(y(base[i])));
        for (size_t i = 0; i < n; ++i) base[i] += std::max(0.0, value(i));
        if (n == 1) {
          out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>", Num(kLeft + slot * 0.1),
                             Num(y(base[0])), Num(slot * 0.8), Num(y(base[0] - std::max(0.0, value(0))) - y(base[0])));
        } else {
          out += fmt::format("<polygon stroke=\"none\" fill-opacity=\"0.85\" points=\"{}{}\"/>", upper, lower);
        }
        break;
      }
    }
    out += "</g>";
  }
  out += "</svg></figure>";
  return out;
}

std::string Page(const std::string& title, const std::string& body) {
  // One stylesheet, no scripts, no external resources: the page works offline and by mail.
  static const char* kStyle = R"(
:root{--fg:#1d2330;--muted:#5b6475;--line:#dde1e8;--bg:#f6f7f9;--card:#fff;--accent:#0072b2}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:.2em 0}
h2{font-size:1.15em;margin:0 0 .6em}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px;margin:14px 0}
.sub,.note,figcaption{color:var(--muted);font-size:.9em}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:10px}
.kpi{border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.kpi b{display:block;font-size:1.3em;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.kpi span{color:var(--muted);font-size:.85em}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
td.l,th.l{text-align:left;white-space:normal}
td{font-variant-numeric:tabular-nums}
small{color:var(--muted)}
figure{margin:0 0 12px;min-width:0}
h3{font-size:1em;margin:.8em 0 .3em}
dl.defs{font-size:.9em;margin:.4em 0 1em}dl.defs dt{font-weight:600}dl.defs dd{margin:0 0 .4em 1.2em;color:var(--muted)}
.charts figure+figure{margin-top:18px}
svg{width:100%;height:auto;display:block}
.axis line{stroke:var(--line)}
.axis text{fill:var(--muted);font-size:11px;stroke:none}
.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85em}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
.bar{background:#e9edf2;border-radius:3px;height:10px;min-width:80px}
.bar span{display:block;height:10px;border-radius:3px;background:var(--accent)}
.bar span.over{background:#d55e00}
.chg{font-weight:600;color:#0b4f8a}
pre{background:var(--bg);padding:8px;overflow-x:auto;font-size:.8em}
.warn{border-color:#d55e00}
@media (max-width:600px){main{padding:8px}section{padding:10px}.kpi b{font-size:1.1em}
/* The charts shrink to half size on a phone: larger text in chart units keeps the axes legible. */
.axis text{font-size:19px}}
)";
  return fmt::format(
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{}</style></head>"
      "<body><main>\n{}\n</main></body></html>\n",
      Esc(title), kStyle, body);
}

}  // namespace perk::report::html
