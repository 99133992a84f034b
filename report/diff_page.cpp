// The page and the text summary of `perk diff`: two versions on the same history.
#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "report/html.h"
#include "report/report.h"

namespace perk::report {

using namespace html;

namespace {

const RuleFigures* FindRule(const RunFigures& f, const std::string& name) {
  for (const auto& r : f.rules)
    if (r.name == name) return &r;
  return nullptr;
}

// Changes are marked, not judged: more cost or fewer skips can each be what the marketer wanted.
std::string DeltaClass(int64_t d) { return d != 0 ? " class=\"chg\"" : ""; }

struct Figure {
  const char* key;
  const char* label;
  bool money;
  int64_t RunFigures::*field;
};
const Figure kFigures[] = {
    {"money_credited", "money credited", true, &RunFigures::money_credited},
    {"points_issued", "points issued", false, &RunFigures::points_issued},
    {"points_redeemed", "points redeemed", false, &RunFigures::points_redeemed},
    {"effects", "effects", false, &RunFigures::effects},
    {"participants", "clients with an effect", false, &RunFigures::participants},
    {"active_clients", "active clients", false, &RunFigures::active_clients},
    {"budget_skips", "budget skips", false, &RunFigures::budget_skips},
    {"rejects", "rejected records", false, &RunFigures::rejects},
};

std::string Shown(bool money, int64_t v) { return money ? Money(v) : Int(v); }
std::string ShownDelta(bool money, int64_t v) { return money ? SignedMoney(v) : SignedInt(v); }

// Rule names of both versions: old's order, then rules only the new version has.
std::vector<std::string> RuleNames(const RunFigures& o, const RunFigures& n) {
  std::vector<std::string> names;
  for (const auto& r : o.rules) names.push_back(r.name);
  for (const auto& r : n.rules)
    if (!FindRule(o, r.name)) names.push_back(r.name);
  return names;
}

const RuleDiff* FindDiff(const DiffFigures& d, const std::string& rule) {
  for (const auto& r : d.rules)
    if (r.rule == rule) return &r;
  return nullptr;
}

// [v0.2] C12 side by side: cost priced by `worth`, revenue, and ROI per rule (docs/report.md).
std::string ValueSection(const RunFigures& o, const RunFigures& n) {
  const ValueFigures &vo = o.value, &vn = n.value;
  const bool revenue = vo.has_revenue || vn.has_revenue;
  std::string body = "<section id=\"value\"><h2>Cost and return</h2><p class=\"note\">Cost: money credits at face value and "
                     "point credits at their wallet's <code>worth</code>, less debits valued the same way; points without "
                     "<code>worth</code> are counted apart as unpriced points. Revenue: the fields each version declares with "
                     "<code>revenue</code>, over its accepted events. ROI: (revenue of the clients the rule credited, from their "
                     "first credit on, minus the rule's cost) / its cost. Definitions: docs/report.md, \"Cost and return\".</p>"
                     "<div class=\"scroll\"><table data-table=\"value-summary\"><thead><tr><th>Figure</th><th>Old</th>"
                     "<th>New</th><th>Change</th></tr></thead><tbody>";
  auto row = [&](const char* key, const char* label, bool money, int64_t a, int64_t b) {
    body += fmt::format("<tr data-figure=\"{}\"><td>{}</td><td data-k=\"old\" data-v=\"{}\">{}</td><td data-k=\"new\" "
                        "data-v=\"{}\">{}</td><td{}>{}</td></tr>",
                        key, label, a, Shown(money, a), b, Shown(money, b), DeltaClass(b - a), ShownDelta(money, b - a));
  };
  row("cost", "cost", true, vo.cost.cents, vn.cost.cents);
  if (vo.cost.unpriced_points || vn.cost.unpriced_points)
    row("unpriced_points", "unpriced points (net)", false, vo.cost.unpriced_points, vn.cost.unpriced_points);
  if (revenue) {
    row("revenue", "revenue", true, vo.revenue, vn.revenue);
    row("value", "revenue minus cost", true, vo.revenue - vo.cost.cents, vn.revenue - vn.cost.cents);
    row("participants", "participants (credited)", false, vo.participants.clients, vn.participants.clients);
    row("participant_revenue", "revenue per participant", true, PerClient(vo.participants.revenue, vo.participants.clients),
        PerClient(vn.participants.revenue, vn.participants.clients));
    row("non_participant_revenue", "revenue per non-participant", true,
        PerClient(vo.non_participants.revenue, vo.non_participants.clients),
        PerClient(vn.non_participants.revenue, vn.non_participants.clients));
  }
  body += "</tbody></table></div><div class=\"scroll\"><table data-table=\"rule-value\"><thead><tr><th>Rule</th>"
          "<th>Cost old</th><th>Cost new</th><th>Change</th><th>ROI old</th><th>ROI new</th></tr></thead><tbody>";
  auto roi_cell = [&](const char* key, const RuleFigures* r, bool has_revenue) {
    auto bp = r && has_revenue ? RoiBasisPoints(r->value.revenue, r->value.cost) : std::nullopt;
    return bp ? fmt::format("<td data-k=\"{}\" data-v=\"{}\">{}</td>", key, *bp, BpPercent(*bp)) : std::string("<td>–</td>");
  };
  for (const auto& name : RuleNames(o, n)) {
    const RuleFigures *a = FindRule(o, name), *z = FindRule(n, name);
    const int64_t ca = a ? a->value.cost.cents : 0, cz = z ? z->value.cost.cents : 0;
    body += fmt::format("<tr data-rule=\"{}\"><td>{}</td><td data-k=\"cost_old\" data-v=\"{}\">{}</td><td data-k=\"cost_new\" "
                        "data-v=\"{}\">{}</td><td{}>{}</td>{}{}</tr>",
                        Esc(name), Esc(name), ca, Money(ca), cz, Money(cz), DeltaClass(cz - ca), SignedMoney(cz - ca),
                        roi_cell("roi_old", a, vo.has_revenue), roi_cell("roi_new", z, vn.has_revenue));
  }
  return body + "</tbody></table></div></section>\n";
}

}  // namespace

std::string DiffPage(const RunFigures& o, const RunFigures& n, const DiffFigures& d, const PageInfo& info) {
  const std::string cur = n.currency.empty() ? "" : " " + Esc(n.currency);
  std::string body = fmt::format("<header><h1>{} → {}</h1><p class=\"sub\">perk diff · {} · events {} · engine {}</p></header>\n",
                                 Esc(o.program_name), Esc(n.program_name), Esc(info.program), Esc(info.events), Esc(info.engine));

  body += "<section id=\"summary\"><h2>Summary</h2><div class=\"scroll\"><table><thead><tr><th>Figure</th><th>Old</th>"
          "<th>New</th><th>Change</th></tr></thead><tbody>";
  for (const auto& fig : kFigures) {
    int64_t a = o.*fig.field, b = n.*fig.field;
    body += fmt::format("<tr data-figure=\"{}\"><td>{}</td><td data-k=\"old\" data-v=\"{}\">{}</td><td data-k=\"new\" data-v=\"{}\">"
                        "{}</td><td{}>{}</td></tr>",
                        fig.key, fig.label, a, Shown(fig.money, a), b, Shown(fig.money, b), DeltaClass(b - a),
                        ShownDelta(fig.money, b - a));
  }
  body += "</tbody></table></div></section>\n";

  body += "<section id=\"effects\"><h2>Effects</h2><div class=\"kpis\">";
  for (auto [key, label, v] : {std::tuple{"gained", "effects gained (only in new)", d.gained},
                               std::tuple{"lost", "effects lost (only in old)", d.lost},
                               std::tuple{"changed", "effects changed (other amount or value)", d.changed},
                               std::tuple{"same", "effects the same", d.same}})
    body += fmt::format("<div class=\"kpi\" data-k=\"{}\" data-v=\"{}\"><b>{}</b><span>{}</span></div>", key, v, Int(v), label);
  body += "</div></section>\n";

  // Money per day, old against new, over the days either version has.
  {
    std::map<int64_t, std::pair<int64_t, int64_t>> per_day;
    for (const auto& day : o.days) per_day[day.day].first += day.money_credited;
    for (const auto& day : n.days) per_day[day.day].second += day.money_credited;
    std::vector<DayFigures> days;
    for (const auto& [day, _] : per_day) {
      days.emplace_back();
      days.back().day = day;
    }
    Buckets b = MakeBuckets(days);
    Chart c{"money-per-day", "Money credited per day" + (cur.empty() ? "" : " (" + cur.substr(1) + ")"), ChartKind::Lines,
            Unit::Money, b.labels, {}};
    std::vector<int64_t> ov, nv;
    for (auto [begin, end] : b.ranges) {
      int64_t a = 0, z = 0;
      for (size_t k = begin; k < end; ++k) {
        const auto& sums = per_day[days[k].day];
        a += sums.first;
        z += sums.second;
      }
      ov.push_back(a);
      nv.push_back(z);
    }
    c.series.push_back({"old", Color(0), ov});
    c.series.push_back({"new", Color(1), nv});
    if (!days.empty()) body += "<section id=\"per-day\"><h2>Per day</h2>" + Render(c) + "</section>\n";
  }

  // Rules side by side.
  body += "<section id=\"rules\"><h2>Rules</h2><div class=\"scroll\"><table><thead><tr><th>Rule</th><th>Cost old</th>"
          "<th>Cost new</th><th>Change</th><th>Clients old</th><th>Clients new</th><th>Effects old</th><th>Effects new</th>"
          "<th>Gained</th><th>Lost</th><th>Changed</th></tr></thead><tbody>";
  for (const auto& name : RuleNames(o, n)) {
    const RuleFigures *a = FindRule(o, name), *z = FindRule(n, name);
    const RuleDiff* rd = FindDiff(d, name);
    RuleDiff none;
    if (!rd) rd = &none;
    int64_t ca = a ? a->money_credited : 0, cz = z ? z->money_credited : 0;
    std::string tag = !a ? " <small>(new rule)</small>" : !z ? " <small>(removed)</small>" : "";
    body += fmt::format(
        "<tr data-rule=\"{}\"><td>{}{}</td><td data-k=\"cost_old\" data-v=\"{}\">{}</td><td data-k=\"cost_new\" data-v=\"{}\">{}</td>"
        "<td{}>{}</td><td data-k=\"clients_old\" data-v=\"{}\">{}</td><td data-k=\"clients_new\" data-v=\"{}\">{}</td>"
        "<td data-k=\"effects_old\" data-v=\"{}\">{}</td><td data-k=\"effects_new\" data-v=\"{}\">{}</td>"
        "<td data-k=\"gained\" data-v=\"{}\">{}</td><td data-k=\"lost\" data-v=\"{}\">{}</td><td data-k=\"changed\" data-v=\"{}\">{}</td></tr>",
        Esc(name), Esc(name), tag, ca, Money(ca), cz, Money(cz), DeltaClass(cz - ca), SignedMoney(cz - ca), a ? a->clients : 0,
        Int(a ? a->clients : 0), z ? z->clients : 0, Int(z ? z->clients : 0), a ? a->effects : 0, Int(a ? a->effects : 0),
        z ? z->effects : 0, Int(z ? z->effects : 0), rd->gained, Int(rd->gained), rd->lost, Int(rd->lost), rd->changed,
        Int(rd->changed));
  }
  if (const RuleDiff* rd = FindDiff(d, ""); rd && (rd->gained || rd->lost || rd->changed))
    body += fmt::format("<tr data-rule=\"\"><td><small>tier and segment entries</small></td><td></td><td></td><td></td><td></td>"
                        "<td></td><td></td><td></td><td data-k=\"gained\" data-v=\"{}\">{}</td><td data-k=\"lost\" data-v=\"{}\">"
                        "{}</td><td data-k=\"changed\" data-v=\"{}\">{}</td></tr>",
                        rd->gained, Int(rd->gained), rd->lost, Int(rd->lost), rd->changed, Int(rd->changed));
  body += "</tbody></table></div></section>\n";

  body += ValueSection(o, n);

  // Tiers at the end of the run.
  if (!d.tier_names.empty()) {
    body += fmt::format("<section id=\"tiers\"><h2>Tiers at the end</h2><p><b data-k=\"tier_differs\" data-v=\"{}\">{}</b> of {} "
                        "clients end in another tier ({} higher, {} lower).</p>",
                        d.tier_differs, Int(d.tier_differs), Int(d.clients_compared), Int(d.tier_higher),
                        Int(d.tier_differs - d.tier_higher));
    body += "<p class=\"note\">Rows: tier with the old version; columns: with the new one.</p><div class=\"scroll\">"
            "<table data-table=\"tier-matrix\"><thead><tr><th>old \\ new</th>";
    for (const auto& t : d.tier_names) body += "<th>" + Esc(t) + "</th>";
    body += "</tr></thead><tbody>";
    for (size_t a = 0; a < d.tier_names.size(); ++a) {
      body += "<tr><td>" + Esc(d.tier_names[a]) + "</td>";
      for (size_t z = 0; z < d.tier_names.size(); ++z)
        body += fmt::format("<td data-from=\"{}\" data-to=\"{}\" data-v=\"{}\"{}>{}</td>", Esc(d.tier_names[a]),
                            Esc(d.tier_names[z]), d.tier_matrix[a][z], a == z || d.tier_matrix[a][z] == 0 ? "" : " class=\"chg\"", Int(d.tier_matrix[a][z]));
      body += "</tr>";
    }
    body += "</tbody></table></div>";
    if (!d.tier_examples.empty()) {
      body += "<h2>Examples</h2><div class=\"scroll\"><table><thead><tr><th>Client</th><th>Old</th><th>New</th></tr></thead><tbody>";
      for (const auto& t : d.tier_examples)
        body += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>", Esc(t.client), Esc(t.old_tier), Esc(t.new_tier));
      body += "</tbody></table></div>";
    }
    if (d.only_old_clients || d.only_new_clients)
      body += fmt::format("<p class=\"note\">{} clients are known only to the old version and {} only to the new one (their "
                          "records were rejected by the other).</p>",
                          Int(d.only_old_clients), Int(d.only_new_clients));
    body += "</section>\n";
  }

  // Examples of differing effects.
  auto lines = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& l : v) s += Esc(l) + "\n";
    return s;
  };
  if (!d.gained_examples.empty() || !d.lost_examples.empty() || !d.changed_examples.empty()) {
    body += "<section id=\"examples\"><h2>Examples of differing effects</h2>";
    if (!d.gained_examples.empty()) body += "<h3>Gained (new ledger)</h3><pre>" + lines(d.gained_examples) + "</pre>";
    if (!d.lost_examples.empty()) body += "<h3>Lost (old ledger)</h3><pre>" + lines(d.lost_examples) + "</pre>";
    if (!d.changed_examples.empty()) {
      body += "<h3>Changed (old, then new)</h3><pre>";
      for (const auto& [a, z] : d.changed_examples) body += "- " + Esc(a) + "\n+ " + Esc(z) + "\n";
      body += "</pre>";
    }
    body += "</section>\n";
  }
  body += "<p class=\"note\">Every figure is defined in docs/report.md of the Perk sources.</p>";
  return Page(o.program_name + " → " + n.program_name + " · perk diff", body);
}

std::string DiffText(const RunFigures& o, const RunFigures& n, const DiffFigures& d, const PageInfo& info) {
  std::string out = fmt::format("perk diff: {} on {}\n\n", info.program, info.events);
  out += fmt::format("{:<24} {:>18} {:>18} {:>18}\n", "", "old", "new", "change");
  for (const auto& fig : kFigures) {
    int64_t a = o.*fig.field, b = n.*fig.field;
    std::string label = fig.money && !n.currency.empty() ? fmt::format("{} ({})", fig.label, n.currency) : fig.label;
    out += fmt::format("{:<24} {:>18} {:>18} {:>18}\n", label, Shown(fig.money, a), Shown(fig.money, b),
                       ShownDelta(fig.money, b - a));
  }
  out += fmt::format("\neffects: {} gained, {} lost, {} changed, {} the same\n\n", Int(d.gained), Int(d.lost), Int(d.changed),
                     Int(d.same));
  out += fmt::format("{:<20} {:>15} {:>15} {:>15} {:>9} {:>9} {:>8} {:>8} {:>8}\n", "rule", "cost old", "cost new", "change",
                     "clients", "clients", "gained", "lost", "changed");
  out += fmt::format("{:<20} {:>15} {:>15} {:>15} {:>9} {:>9}\n", "", "", "", "", "old", "new");
  for (const auto& name : RuleNames(o, n)) {
    const RuleFigures *a = FindRule(o, name), *z = FindRule(n, name);
    const RuleDiff* rd = FindDiff(d, name);
    int64_t ca = a ? a->money_credited : 0, cz = z ? z->money_credited : 0;
    out += fmt::format("{:<20} {:>15} {:>15} {:>15} {:>9} {:>9} {:>8} {:>8} {:>8}{}\n", name, Money(ca), Money(cz),
                       SignedMoney(cz - ca), Int(a ? a->clients : 0), Int(z ? z->clients : 0), Int(rd ? rd->gained : 0),
                       Int(rd ? rd->lost : 0), Int(rd ? rd->changed : 0), !a ? "  (new rule)" : !z ? "  (removed)" : "");
  }
  if (const RuleDiff* rd = FindDiff(d, ""); rd && (rd->gained || rd->lost || rd->changed))
    out += fmt::format("{:<20} {:>15} {:>15} {:>15} {:>9} {:>9} {:>8} {:>8} {:>8}\n", "(tier, segment)", "", "", "", "", "",
                       Int(rd->gained), Int(rd->lost), Int(rd->changed));
  if (!d.tier_names.empty())
    out += fmt::format("\ntiers: {} of {} clients end in another tier ({} higher, {} lower)\n", Int(d.tier_differs),
                       Int(d.clients_compared), Int(d.tier_higher), Int(d.tier_differs - d.tier_higher));
  if (d.only_old_clients || d.only_new_clients)
    out += fmt::format("clients known only to old: {}, only to new: {}\n", Int(d.only_old_clients), Int(d.only_new_clients));
  return out;
}

}  // namespace perk::report
