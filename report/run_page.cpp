// The page of `perk run --report`: what a program cost and whom it reached.
#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "report/html.h"
#include "report/report.h"

namespace perk::report {

using namespace html;

namespace {

constexpr size_t kChartRules = 7;  // rules drawn on their own; the rest are "other rules"

std::string Kpi(const char* key, int64_t raw, const std::string& shown, const std::string& label) {
  return fmt::format("<div class=\"kpi\" data-k=\"{}\" data-v=\"{}\"><b>{}</b><span>{}</span></div>", key, raw, shown,
                     label);
}

// Sums a per-day flow over each bucket.
template <typename F>
std::vector<int64_t> Flow(const std::vector<DayFigures>& days, const Buckets& b, F get) {
  std::vector<int64_t> out;
  for (auto [begin, end] : b.ranges) {
    int64_t sum = 0;
    for (size_t d = begin; d < end; ++d) sum += get(days[d]);
    out.push_back(sum);
  }
  return out;
}

// Takes a per-day state at the end of each bucket.
template <typename F>
std::vector<int64_t> State(const std::vector<DayFigures>& days, const Buckets& b, F get) {
  std::vector<int64_t> out;
  for (size_t last : b.state) out.push_back(get(days[last]));
  return out;
}

// A per-rule chart: the biggest rules by `weight` on their own, the rest summed.
Chart RuleChart(const RunFigures& f, const Buckets& b, const char* id, const char* title, Unit unit,
                const std::vector<int64_t>& weight, const std::vector<int64_t> DayFigures::*per_rule) {
  std::vector<size_t> order(f.rules.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t c) { return weight[a] > weight[c]; });
  while (!order.empty() && weight[order.back()] == 0) order.pop_back();
  Chart c{id, title, ChartKind::StackedBars, unit, b.labels, {}};
  size_t own = order.size() > kChartRules + 1 ? kChartRules : order.size();
  for (size_t k = 0; k < own; ++k) {
    size_t r = order[k];
    c.series.push_back({f.rules[r].name, Color(k), Flow(f.days, b, [&](const DayFigures& d) { return (d.*per_rule)[r]; })});
  }
  if (own < order.size()) {
    std::vector<size_t> rest(order.begin() + own, order.end());
    c.series.push_back({fmt::format("{} other rules", rest.size()), kOtherColor, Flow(f.days, b, [&](const DayFigures& d) {
                          int64_t s = 0;
                          for (size_t r : rest) s += (d.*per_rule)[r];
                          return s;
                        })});
  }
  return c;
}

std::string WindowText(const checked::Window& w) {
  const char* unit = w.unit == checked::WindowUnit::Minute ? "minute"
                     : w.unit == checked::WindowUnit::Hour  ? "hour"
                     : w.unit == checked::WindowUnit::Month ? "month"
                     : w.unit == checked::WindowUnit::Year  ? "year"
                                                            : "day";
  if (w.unit == checked::WindowUnit::All) return "in total";
  return fmt::format("per {}{} {}{}", w.previous ? "previous " : "", w.count, unit, w.count == 1 ? "" : "s");
}

std::string UseBar(int64_t used, int64_t budget) {
  int64_t bp = BasisPoints(used, budget);
  int64_t width = std::min<int64_t>(bp, 10000);
  return fmt::format("<div class=\"bar\"><span{} style=\"width:{}.{:02}%\"></span></div>", bp >= 9500 ? " class=\"over\"" : "",
                     width / 100, width % 100);
}


// A cost cell: money, and the unpriced points beside it when there are any.
std::string CostCells(const Cost& c) {
  return fmt::format("<td data-k=\"cost\" data-v=\"{}\">{}</td><td data-k=\"unpriced_points\" data-v=\"{}\">{}</td>", c.cents,
                     Money(c.cents), c.unpriced_points, c.unpriced_points ? Int(c.unpriced_points) : "–");
}

std::string GroupRow(const char* attr, const GroupValue& g) {
  return fmt::format(
      "<tr {}=\"{}\"><td class=\"l\">{}</td><td data-k=\"clients\" data-v=\"{}\">{}</td><td data-k=\"revenue\" data-v=\"{}\">{}</td>"
      "<td data-k=\"revenue_per_client\" data-v=\"{}\">{}</td>{}<td data-k=\"value\" data-v=\"{}\">{}</td>"
      "<td data-k=\"value_per_client\" data-v=\"{}\">{}</td></tr>",
      attr, Esc(g.name), Esc(g.name), g.clients, Int(g.clients), g.revenue, Money(g.revenue), PerClient(g.revenue, g.clients),
      Money(PerClient(g.revenue, g.clients)), CostCells(g.cost), g.value(), Money(g.value()), PerClient(g.value(), g.clients),
      Money(PerClient(g.value(), g.clients)));
}

constexpr const char* kGroupHead =
    "<thead><tr><th class=\"l\"></th><th>Clients</th><th>Revenue</th><th>Revenue per client</th><th>Cost</th>"
    "<th>Unpriced points</th><th>Lifetime value</th><th>Value per client</th></tr></thead><tbody>";

// [v0.2] C12: what the program cost, what it brought, and for whom (docs/report.md).
std::string ValueSection(const RunFigures& f) {
  const ValueFigures& v = f.value;
  const std::string cur = f.currency.empty() ? "" : " (" + Esc(f.currency) + ")";
  std::string body = "<section id=\"value\"><h2>Cost and return" + cur + "</h2>";
  body += "<dl class=\"defs\">"
          "<dt>Cost</dt><dd>What the rules gave minus what they took back: money credits at face value, point "
          "credits at their wallet's <code>worth</code> per point, less debits valued the same way (a redemption or a "
          "claw-back lowers the cost of the rule that wrote it). Points of a wallet without <code>worth</code> are not "
          "priced: they are counted apart as unpriced points. Budget skips cost nothing. A reversal's counter-entries "
          "net in: a counter-debit lowers the cost of the rule it answers by what it took back, a counter-credit "
          "raises it.</dd>"
          "<dt>Revenue</dt><dd>The sum, over accepted events, of the money fields the program declares with "
          "<code>revenue EVENT.FIELD [where C]</code>, for the events whose condition holds. A reversed event's revenue "
          "leaves every figure (when the event was accepted in this run). Events sent by a rule (<code>send</code>) "
          "are not input and bring no revenue.</dd>"
          "<dt>Participants</dt><dd>Clients a rule credited at least once in this run (a reversal's counter-credit "
          "does not count); non-participants are the other clients with an accepted record or a wallet movement in "
          "this run.</dd>"
          "<dt>Return on investment (per rule)</dt><dd>(R − C) / C, where C is the rule's cost and R the revenue of the "
          "clients it credited, counted from the record that brought each client's first credit from the rule on. "
          "Shown as a percentage rounded half away from zero to 0.01%; none when C is not above zero or includes "
          "unpriced points.</dd>"
          "<dt>Lifetime value</dt><dd>A client's revenue minus its cost, over this run; grouped by tier and by segment "
          "as at the end of the run (a client in two segments counts in both). Per-client figures are rounded half away "
          "from zero to the cent.</dd>"
          "<dt>Cost per segment</dt><dd>The cost of the entries written while the client was a member of the "
          "segment.</dd></dl>";
  body += "<div class=\"kpis\">";
  body += Kpi("cost", v.cost.cents, Money(v.cost.cents), "cost" + cur);
  if (v.cost.unpriced_points) body += Kpi("unpriced_points", v.cost.unpriced_points, Int(v.cost.unpriced_points), "unpriced points (net)");
  if (v.has_revenue) {
    body += Kpi("revenue", v.revenue, Money(v.revenue), "revenue" + cur);
    body += Kpi("value", v.revenue - v.cost.cents, Money(v.revenue - v.cost.cents), "revenue minus cost" + cur);
    body += Kpi("revenue_events", v.revenue_events, Int(v.revenue_events), "events with revenue");
  }
  body += "</div>";
  if (v.has_unpriced)
    body += "<p class=\"note\">Some int wallets have no <code>worth</code>: their points are shown as points and left out of "
            "the money figures.</p>";
  if (!v.has_revenue)
    body += "<p class=\"note\">The program declares no <code>revenue</code>: revenue, return and lifetime value are not "
            "known.</p>";
  if (v.revenue_reversed)
    body += fmt::format("<p class=\"note\" data-k=\"revenue_reversed\" data-v=\"{}\">{} event{} with revenue "
                        "reversed: {} revenue is out of these figures.</p>",
                        v.revenue_reversed, Int(v.revenue_reversed), v.revenue_reversed == 1 ? " was" : "s were",
                        v.revenue_reversed == 1 ? "its" : "their");
  if (v.revenue_errors)
    body += fmt::format("<p class=\"note\">A revenue condition failed to evaluate {} time{} (an overflow): those events "
                        "count no revenue.</p>",
                        Int(v.revenue_errors), v.revenue_errors == 1 ? "" : "s");

  body += "<h3>Per rule</h3><div class=\"scroll\"><table data-table=\"rule-value\"><thead><tr><th class=\"l\">Rule</th>"
          "<th>Cost</th><th>Unpriced points</th><th>Clients credited</th><th>Their revenue</th><th>ROI</th></tr></thead><tbody>";
  for (const auto& r : f.rules) {
    auto roi = v.has_revenue ? RoiBasisPoints(r.value.revenue, r.value.cost) : std::nullopt;
    body += fmt::format("<tr data-rule=\"{}\"><td class=\"l\">{}</td>{}<td data-k=\"credited_clients\" data-v=\"{}\">{}</td>"
                        "<td data-k=\"revenue\" data-v=\"{}\">{}</td><td data-k=\"roi_bp\"{}>{}</td></tr>",
                        Esc(r.name), Esc(r.name), CostCells(r.value.cost), r.value.credited_clients, Int(r.value.credited_clients),
                        r.value.revenue, v.has_revenue ? Money(r.value.revenue) : "–", roi ? fmt::format(" data-v=\"{}\"", *roi) : "",
                        roi ? BpPercent(*roi) : "–");
  }
  body += "</tbody></table></div>";

  if (!f.segments.empty()) {
    body += "<h3>Cost per segment</h3><div class=\"scroll\"><table data-table=\"segment-cost\"><thead><tr><th class=\"l\">"
            "Segment</th><th>Cost</th><th>Unpriced points</th></tr></thead><tbody>";
    for (size_t s = 0; s < f.segments.size() && s < v.segment_cost.size(); ++s)
      body += fmt::format("<tr data-segment=\"{}\"><td class=\"l\">{}</td>{}</tr>", Esc(f.segments[s]), Esc(f.segments[s]),
                          CostCells(v.segment_cost[s]));
    body += "</tbody></table></div>";
  }

  if (v.has_revenue) {
    body += "<h3>Participants and non-participants</h3><div class=\"scroll\"><table data-table=\"participation-value\">";
    body += kGroupHead + GroupRow("data-group", v.participants) + GroupRow("data-group", v.non_participants);
    body += "</tbody></table></div>";
    if (f.tiers.size() > 1) {
      body += "<h3>Lifetime value by tier</h3><div class=\"scroll\"><table data-table=\"clv-tier\">";
      body += kGroupHead;
      for (const auto& g : v.by_tier) body += GroupRow("data-tier", g);
      body += "</tbody></table></div>";
    }
    if (!f.segments.empty()) {
      body += "<h3>Lifetime value by segment</h3><div class=\"scroll\"><table data-table=\"clv-segment\">";
      body += kGroupHead;
      for (const auto& g : v.by_segment) body += GroupRow("data-segment", g);
      body += GroupRow("data-segment", v.no_segment);
      body += "</tbody></table></div>";
    }
  }
  return body + "</section>\n";
}
// [issue 22] What the program can cost at worst, proved before any record (docs/analyze.md).
std::string WorstCaseSection(const WorstCase& w) {
  auto cell = [](const char* key, const WorstCase::Bound& b) {
    return fmt::format("<td class=\"l\" data-k=\"{}\" data-v=\"{}\">{}</td>", key, b.raw, Esc(b.text));
  };
  std::string body =
      "<section id=\"worst-case\"><h2>Worst case (perk analyze)</h2><p class=\"note\">What the program can pay at "
      "most, proved from its rules before any record: per firing, per client and for the whole campaign. "
      "\"Unbounded\" names the clause that is missing.</p>";
  if (!w.payouts.empty()) {
    body += "<div class=\"scroll\"><table><thead><tr><th class=\"l\">Rule</th><th class=\"l\">Wallet</th>"
            "<th class=\"l\">Per firing</th><th class=\"l\">Per client</th><th class=\"l\">Campaign</th></tr></thead><tbody>";
    for (const WorstCase::Row& r : w.payouts)
      body += fmt::format("<tr data-rule=\"{}\" data-wallet=\"{}\"><td class=\"l\">{}</td><td class=\"l\">{}</td>{}{}{}</tr>",
                          Esc(r.rule), Esc(r.wallet), Esc(r.rule), Esc(r.wallet), cell("per_firing", r.per_firing),
                          cell("per_client", r.per_client), cell("campaign", r.campaign));
    body += "</tbody></table></div>";
    body += fmt::format("<p data-k=\"program_total\" data-v=\"{}\">The whole program: {}.</p>", w.program_total.raw,
                        Esc(w.program_total.text));
  }
  body += fmt::format("<p>{} finding{}.</p>", w.findings.size(), w.findings.size() == 1 ? "" : "s");
  if (!w.findings.empty()) {
    body += "<ul>";
    for (const WorstCase::Finding& f : w.findings)
      body += fmt::format("<li data-code=\"{}\" data-line=\"{}\">line {}: {}: {} [{}]</li>", Esc(f.code), f.line, f.line,
                          Esc(f.severity), Esc(f.message), Esc(f.code));
    body += "</ul>";
  }
  return body + "</section>\n";
}

}  // namespace

std::string RunPage(const RunFigures& f, const PageInfo& info) {
  const std::string cur = f.currency.empty() ? "" : " " + Esc(f.currency);
  std::string body;
  Buckets b = MakeBuckets(f.days);
  int64_t span = f.days.empty() ? 0 : f.days.back().day - f.days.front().day + 1;
  std::string period = f.days.empty() ? "no ledger entries"
                                      : fmt::format("{} to {} ({} day{})", Date(f.days.front().day), Date(f.days.back().day),
                                                    span, span == 1 ? "" : "s");
  body += fmt::format("<header><h1>{}</h1><p class=\"sub\">perk run report · program {} · events {} · engine {} · {}</p></header>\n",
                      Esc(f.program_name), Esc(info.program), Esc(info.events), Esc(info.engine), period);
  if (b.width > 1)
    body += fmt::format("<p class=\"note\">Charts show {}-day buckets: flows are summed over a bucket, states are as at its last day.</p>",
                        b.width);

  // ---- summary ----
  body += "<section id=\"summary\"><h2>Summary</h2><div class=\"kpis\">";
  body += Kpi("records", f.stats.records, Int(f.stats.records),
              fmt::format("records ({} accepted, {} duplicates)", Int(f.stats.accepted), Int(f.stats.duplicates)));
  body += Kpi("active_clients", f.active_clients, Int(f.active_clients), "active clients");
  body += Kpi("participants", f.participants, Int(f.participants), "clients with at least one effect");
  body += Kpi("participation_bp", BasisPoints(f.participants, f.active_clients), Percent(f.participants, f.active_clients),
              "participation rate");
  body += Kpi("effects", f.effects, Int(f.effects), "effects (rule ledger entries, skips excluded)");
  body += Kpi("money_credited", f.money_credited, Money(f.money_credited),
              f.currency.empty() ? "money credited" : "money credited (" + Esc(f.currency) + ")");
  body += Kpi("points_issued", f.points_issued, Int(f.points_issued), "points issued");
  body += Kpi("points_redeemed", f.points_redeemed, Int(f.points_redeemed), "points redeemed");
  body += Kpi("redemption_bp", BasisPoints(f.points_redeemed, f.points_issued), Percent(f.points_redeemed, f.points_issued),
              "redemption rate");
  body += Kpi("budget_skips", f.budget_skips, Int(f.budget_skips), "credits refused by a budget");
  body += Kpi("rejects", f.rejects, Int(f.rejects), "rejected records");
  body += "</div></section>\n";

  // ---- per day ----
  std::vector<int64_t> money_weight, effect_weight;
  for (const auto& r : f.rules) {
    money_weight.push_back(r.money_credited);
    effect_weight.push_back(r.effects);
  }
  body += "<section id=\"per-day\"><h2>Per day</h2><div class=\"charts\">";
  if (f.money_credited > 0)
    body += Render(RuleChart(f, b, "money-per-day", ("Money credited per day, by rule" + (cur.empty() ? "" : " (" + cur.substr(1) + ")")).c_str(), Unit::Money,
                             money_weight, &DayFigures::rule_money));
  body += Render(RuleChart(f, b, "effects-per-day", "Effects per day, by rule", Unit::Count, effect_weight,
                           &DayFigures::rule_effects));
  body += "</div></section>\n";

  // ---- rules ----
  body += "<section id=\"rules\"><h2>Rules</h2><div class=\"scroll\"><table><thead><tr><th>Rule</th><th>Effects</th>"
          "<th>Clients</th><th>Money credited</th><th>Points issued</th><th>Points redeemed</th><th>Budget skips</th>"
          "<th class=\"l\">Actions</th></tr></thead><tbody>";
  for (const auto& r : f.rules) {
    std::string actions;
    for (int a = 0; a < kRuleActions; ++a)
      if (r.by_action[a]) actions += fmt::format("{}{} {}", actions.empty() ? "" : " · ", ActionName(static_cast<Action>(a)), Int(r.by_action[a]));
    body += fmt::format(
        "<tr data-rule=\"{}\"><td class=\"l\">{}{}</td><td data-k=\"effects\" data-v=\"{}\">{}</td>"
        "<td data-k=\"clients\" data-v=\"{}\">{}</td><td data-k=\"money_credited\" data-v=\"{}\">{}</td>"
        "<td data-k=\"points_issued\" data-v=\"{}\">{}</td><td data-k=\"points_redeemed\" data-v=\"{}\">{}</td>"
        "<td data-k=\"skips\" data-v=\"{}\">{}</td><td class=\"l\"><small>{}</small></td></tr>",
        Esc(r.name), Esc(r.name), r.label.empty() ? "" : "<br><small>" + Esc(r.label) + "</small>", r.effects, Int(r.effects),
        r.clients, Int(r.clients), r.money_credited, Money(r.money_credited), r.points_issued, Int(r.points_issued),
        r.points_redeemed, Int(r.points_redeemed), r.by_action[static_cast<int>(Action::Skip)],
        Int(r.by_action[static_cast<int>(Action::Skip)]), actions.empty() ? "–" : actions);
  }
  body += "</tbody></table></div></section>\n";

  // ---- cost and return ----
  if (!f.wallets.empty() || f.value.has_revenue) body += ValueSection(f);

  // ---- budgets ----
  bool any_budget = std::any_of(f.rules.begin(), f.rules.end(), [](const RuleFigures& r) { return r.has_budget; });
  if (any_budget) {
    body += "<section id=\"budgets\"><h2>Budget use</h2><p class=\"note\">Use is the most the rule credited within one "
            "budget window (the whole run for a budget without a window), against the budget.</p><div class=\"scroll\"><table>"
            "<thead><tr><th>Rule</th><th>Budget</th><th>Credited</th><th>Peak in a window</th><th>Use</th><th></th>"
            "<th>Skips</th><th>Refused</th></tr></thead><tbody>";
    for (const auto& r : f.rules) {
      if (!r.has_budget) continue;
      body += fmt::format(
          "<tr data-rule=\"{}\"><td>{}</td><td>{} <small>{}</small></td><td data-k=\"money_credited\" data-v=\"{}\">{}</td>"
          "<td data-k=\"budget_peak\" data-v=\"{}\">{}</td><td data-k=\"budget_use_bp\" data-v=\"{}\">{}</td><td>{}</td>"
          "<td data-k=\"skips\" data-v=\"{}\">{}</td><td data-k=\"skipped\" data-v=\"{}\">{}</td></tr>",
          Esc(r.name), Esc(r.name), Money(r.budget_cents), WindowText(r.budget_window), r.money_credited, Money(r.money_credited),
          r.budget_peak, Money(r.budget_peak), BasisPoints(r.budget_peak, r.budget_cents), Percent(r.budget_peak, r.budget_cents),
          UseBar(r.budget_peak, r.budget_cents), r.by_action[static_cast<int>(Action::Skip)],
          Int(r.by_action[static_cast<int>(Action::Skip)]), r.skipped_cents, Money(r.skipped_cents));
    }
    body += "</tbody></table></div></section>\n";
  }

  // ---- points ----
  if (f.points_issued > 0 || f.points_redeemed > 0) {
    Chart c{"points-per-day", "Points issued and redeemed per day", ChartKind::Lines, Unit::Count, b.labels, {}};
    c.series.push_back({"issued", Color(0), Flow(f.days, b, [](const DayFigures& d) { return d.points_issued; })});
    c.series.push_back({"redeemed", Color(1), Flow(f.days, b, [](const DayFigures& d) { return d.points_redeemed; })});
    body += fmt::format("<section id=\"points\"><h2>Points</h2><p>Issued {}, redeemed {}: a redemption rate of {}.</p>{}</section>\n",
                        Int(f.points_issued), Int(f.points_redeemed), Percent(f.points_redeemed, f.points_issued), Render(c));
  }

  // ---- participation ----
  {
    Chart rate{"participation", "Participation rate: clients with an effect so far, among clients known so far",
               ChartKind::Lines, Unit::BasisPoints, b.labels, {}};
    rate.series.push_back({"participation", Color(0), State(f.days, b, [](const DayFigures& d) {
                             return BasisPoints(d.participants, d.known_clients);
                           })});
    Chart daily{"clients-with-effects", "Clients with an effect, per day", ChartKind::StackedBars, Unit::Count, b.labels, {}};
    daily.series.push_back({"clients with an effect", Color(2), Flow(f.days, b, [](const DayFigures& d) { return d.clients_with_effects; })});
    daily.series.push_back({"new clients", Color(4), Flow(f.days, b, [](const DayFigures& d) { return d.new_clients; })});
    // Two different measures: draw them as separate charts rather than one stack.
    Chart fresh{"new-clients", "New clients per day", ChartKind::StackedBars, Unit::Count, b.labels, {daily.series[1]}};
    daily.series.pop_back();
    body += fmt::format("<section id=\"participation\"><h2>Participation</h2><p>{} of {} active clients had at least one "
                        "effect ({}); a reversal's counter-entry makes no client a participant.</p><div class=\"charts\">{}{}{}</div></section>\n",
                        Int(f.participants), Int(f.active_clients), Percent(f.participants, f.active_clients), Render(rate),
                        Render(daily), Render(fresh));
  }

  // ---- tiers ----
  if (f.tiers.size() > 1) {
    Chart c{"tiers", "Clients by tier (end of day)", ChartKind::StackedArea, Unit::Count, b.labels, {}};
    for (size_t t = 0; t < f.tiers.size(); ++t)
      c.series.push_back({f.tiers[t], Color(t), State(f.days, b, [t](const DayFigures& d) { return d.tier_counts[t]; })});
    Chart moves{"tier-moves", "Tier moves per day", ChartKind::StackedBars, Unit::Count, b.labels, {}};
    moves.series.push_back({"up", Color(2), Flow(f.days, b, [](const DayFigures& d) { return d.tier_ups; })});
    moves.series.push_back({"down", Color(5), Flow(f.days, b, [](const DayFigures& d) { return d.tier_downs; })});
    body += "<section id=\"tiers\"><h2>Tiers</h2><div class=\"charts\">" + Render(c) + Render(moves) + "</div>";
    body += "<div class=\"scroll\"><table data-table=\"tier-counts\"><thead><tr><th>Tier</th><th>At start</th><th>At end</th>"
            "</tr></thead><tbody>";
    for (size_t t = 0; t < f.tiers.size(); ++t) {
      int64_t end = f.days.empty() ? f.tiers_at_start[t] : f.days.back().tier_counts[t];
      body += fmt::format("<tr data-tier=\"{}\"><td>{}</td><td data-k=\"start\" data-v=\"{}\">{}</td><td data-k=\"end\" "
                          "data-v=\"{}\">{}</td></tr>",
                          Esc(f.tiers[t]), Esc(f.tiers[t]), f.tiers_at_start[t], Int(f.tiers_at_start[t]), end, Int(end));
    }
    body += "</tbody></table></div><h2>Tier moves</h2><p class=\"note\">Rows: from; columns: to.</p><div class=\"scroll\">"
            "<table data-table=\"tier-moves\"><thead><tr><th>from \\ to</th>";
    for (const auto& t : f.tiers) body += "<th>" + Esc(t) + "</th>";
    body += "</tr></thead><tbody>";
    for (size_t from = 0; from < f.tiers.size(); ++from) {
      body += "<tr><td>" + Esc(f.tiers[from]) + "</td>";
      for (size_t to = 0; to < f.tiers.size(); ++to)
        body += from == to ? "<td>–</td>"
                           : fmt::format("<td data-from=\"{}\" data-to=\"{}\" data-v=\"{}\">{}</td>", Esc(f.tiers[from]),
                                         Esc(f.tiers[to]), f.tier_moves[from][to], Int(f.tier_moves[from][to]));
      body += "</tr>";
    }
    body += "</tbody></table></div></section>\n";
  }

  // ---- segments ----
  if (!f.segments.empty()) {
    Chart c{"segments", "Segment sizes (end of day)", ChartKind::Lines, Unit::Count, b.labels, {}};
    for (size_t s = 0; s < f.segments.size(); ++s)
      c.series.push_back({f.segments[s], Color(s), State(f.days, b, [s](const DayFigures& d) { return d.segment_sizes[s]; })});
    body += "<section id=\"segments\"><h2>Segments</h2>" + Render(c);
    body += "<div class=\"scroll\"><table><thead><tr><th>Segment</th><th>Entered</th><th>Left</th><th>Size at end</th></tr>"
            "</thead><tbody>";
    for (size_t s = 0; s < f.segments.size(); ++s) {
      int64_t end = f.days.empty() ? 0 : f.days.back().segment_sizes[s];
      body += fmt::format("<tr data-segment=\"{}\"><td>{}</td><td data-k=\"enters\" data-v=\"{}\">{}</td><td data-k=\"leaves\" "
                          "data-v=\"{}\">{}</td><td data-k=\"size\" data-v=\"{}\">{}</td></tr>",
                          Esc(f.segments[s]), Esc(f.segments[s]), f.segment_enters[s], Int(f.segment_enters[s]),
                          f.segment_leaves[s], Int(f.segment_leaves[s]), end, Int(end));
    }
    body += "</tbody></table></div></section>\n";
  }

  // ---- wallets ----
  if (!f.wallets.empty()) {
    body += "<section id=\"wallets\"><h2>Wallets</h2><div class=\"scroll\"><table><thead><tr><th>Wallet</th><th>Type</th>"
            "<th>Credited</th><th>Debited</th><th>Credits</th><th>Debits</th></tr></thead><tbody>";
    for (const auto& w : f.wallets) {
      bool money = w.type == Type::Money;
      body += fmt::format("<tr data-wallet=\"{}\"><td>{}</td><td>{}</td><td data-k=\"credited\" data-v=\"{}\">{}</td>"
                          "<td data-k=\"debited\" data-v=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
                          Esc(w.name), Esc(w.name), money ? "money" : "points (int)", w.credited,
                          money ? Money(w.credited) : Int(w.credited), w.debited, money ? Money(w.debited) : Int(w.debited),
                          Int(w.credits), Int(w.debits));
    }
    body += "</tbody></table></div></section>\n";
  }

  // ---- top clients ----
  body += fmt::format("<section id=\"top-clients\"><h2>Top clients by value</h2><p class=\"note\">Ranked by money credited, then "
                      "points issued.</p><div class=\"scroll\"><table><thead><tr><th>#</th><th class=\"l\">Client</th>"
                      "<th>Money credited</th><th>Points issued</th><th>Points redeemed</th><th>Effects</th>{}</tr></thead><tbody>",
                      f.tiers.empty() ? "" : "<th>Tier</th>");
  for (size_t k = 0; k < f.top_clients.size(); ++k) {
    const auto& c = f.top_clients[k];
    body += fmt::format("<tr data-client=\"{}\"><td>{}</td><td class=\"l\">{}</td><td data-k=\"money_credited\" data-v=\"{}\">{}</td>"
                        "<td data-k=\"points_issued\" data-v=\"{}\">{}</td><td data-k=\"points_redeemed\" data-v=\"{}\">{}</td>"
                        "<td data-k=\"effects\" data-v=\"{}\">{}</td>{}</tr>",
                        Esc(c.id), k + 1, Esc(c.id), c.money_credited, Money(c.money_credited), c.points_issued,
                        Int(c.points_issued), c.points_redeemed, Int(c.points_redeemed), c.effects, Int(c.effects),
                        f.tiers.empty() ? "" : "<td>" + Esc(c.tier) + "</td>");
  }
  body += "</tbody></table></div></section>\n";

  // ---- rejects ----
  body += fmt::format("<section id=\"rejects\"><h2>Rejects by reason</h2><p>{} record{} rejected.</p>", Int(f.rejects),
                      f.rejects == 1 ? "" : "s");
  if (!f.reject_reasons.empty()) {
    body += "<div class=\"scroll\"><table><thead><tr><th class=\"l\">Reason</th><th>Count</th><th>First line</th>"
            "<th class=\"l\">Example</th></tr></thead><tbody>";
    constexpr size_t kShown = 25;
    for (size_t k = 0; k < f.reject_reasons.size() && k < kShown; ++k) {
      const auto& r = f.reject_reasons[k];
      body += fmt::format("<tr data-reason=\"{}\"><td class=\"l\">{}</td><td data-k=\"count\" data-v=\"{}\">{}</td><td>{}</td>"
                          "<td class=\"l\"><small>{}</small></td></tr>",
                          Esc(r.reason), Esc(r.reason), r.count, Int(r.count), r.first_line, Esc(r.example));
    }
    if (f.reject_reasons.size() > kShown) {
      int64_t rest = 0;
      for (size_t k = kShown; k < f.reject_reasons.size(); ++k) rest += f.reject_reasons[k].count;
      body += fmt::format("<tr><td class=\"l\">{} other reasons</td><td>{}</td><td></td><td></td></tr>",
                          f.reject_reasons.size() - kShown, Int(rest));
    }
    body += "</tbody></table></div>";
  }
  body += "</section>\n";
  if (info.worst_case) body += WorstCaseSection(*info.worst_case);
  body += "<p class=\"note\">Every figure is defined in docs/report.md of the Perk sources. Money is exact; "
          "charts are drawn from the same exact figures.</p>";
  return Page(f.program_name + " · perk run report", body);
}

}  // namespace perk::report
