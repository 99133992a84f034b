// Params in durations and `--param` overrides read in the param's declared form (spec §1,
// §3, C5).
#include <catch2/catch.hpp>

#include <string>

#include "compiler/compiler.h"
#include "stdlib/zone.h"

namespace {

const char* const kProgram = R"(program "Params"
currency USD
event trade { volume: money }
wallet pts: int
param rate = 30%
param ratio = 0.5
param cap = 5 USD
param n = 3
param inactive = 2 days
param quick = 90 minutes
tier Base
tier Active when count(trade within n days) >= 2 hold n weeks
segment quiet when count(trade within inactive) == 0
rule r
  on trade
  limit n per client within n days
  budget 100 USD within inactive
  then
    credit pts 1
    emit "x" { a: now - inactive, b: now - n hours, c: now + quick, r: rate, q: ratio, cap: cap }
end
)";

std::unique_ptr<perk::checked::Program> Compile() {
  perk::Diagnostics diags("t.perk", kProgram);
  auto p = perk::CompileProgram(kProgram, diags);
  INFO(diags.Render(false));
  REQUIRE(p);
  return p;
}

// The override's error, or "" when it is taken.
std::string Override(perk::checked::Program& p, const std::string& name, const std::string& text) {
  std::string error;
  return perk::OverrideParam(p, name, text, &error) ? std::string() : error;
}

}  // namespace

TEST_CASE("params: an int param counts a duration, a duration param is one") {
  auto p = Compile();
  using perk::checked::WindowUnit;
  CHECK(p->rules[0].limit_window.unit == WindowUnit::Day);
  CHECK(p->rules[0].limit_window.count == 3);
  CHECK(p->rules[0].budget_window.count == 2);
  CHECK(p->tiers[1].hold_micros == 21 * 86'400'000'000LL);
  CHECK(p->aggregates.size() == 2);
  CHECK(p->aggregates[0].window.count == 3);
  CHECK(p->aggregates[1].window.count == 2);
  // Overrides reach every window and hold, and the buckets the slot keeps.
  CHECK(Override(*p, "n", "10") == "");
  CHECK(Override(*p, "inactive", "4 weeks") == "");
  CHECK(p->rules[0].limit_window.count == 10);
  CHECK(p->rules[0].budget_window.count == 28);
  CHECK(p->tiers[1].hold_micros == 70 * 86'400'000'000LL);
  CHECK(p->aggregates[0].window.count == 10);
  CHECK(p->aggregates[1].window.count == 28);
  CHECK(p->agg_slots[p->aggregates[1].slot].max_count == 28);
  CHECK(p->params[p->FindParam("inactive")].value.i == 28 * 86'400'000'000LL);
}

TEST_CASE("params: --param is read in the param's declared form") {
  auto p = Compile();
  // A percentage takes only a percentage; a plain decimal takes either.
  CHECK(Override(*p, "rate", "25%") == "");
  CHECK(p->params[p->FindParam("rate")].value.i == 250'000);
  CHECK(Override(*p, "rate", "25").find("declared as a percentage; write one, like `25%`") != std::string::npos);
  CHECK(Override(*p, "rate", "0.25").find("like `0.25%`") != std::string::npos);
  CHECK(Override(*p, "ratio", "0.25") == "");
  CHECK(Override(*p, "ratio", "25%") == "");
  // Money takes the program's currency, and only it.
  CHECK(Override(*p, "cap", "7.50 USD") == "");
  CHECK(p->params[p->FindParam("cap")].value.i == 750);
  CHECK(Override(*p, "cap", "7").find("write it with the program's currency, like `7 USD`") != std::string::npos);
  CHECK(Override(*p, "cap", "7 EUR").find("`EUR` is not the program's currency") != std::string::npos);
  // A duration takes a duration, in a unit that keeps its aggregate windows' unit.
  CHECK(Override(*p, "inactive", "45 days") == "");
  CHECK(Override(*p, "inactive", "45").find("is a duration; write a whole number of at least 1 and a unit") !=
        std::string::npos);
  CHECK(Override(*p, "inactive", "0 days").find("at least 1") != std::string::npos);
  CHECK(Override(*p, "inactive", "3 hours").find("in the unit it was declared in") != std::string::npos);
  CHECK(Override(*p, "quick", "2 hours") == "");
  CHECK(p->params[p->FindParam("quick")].value.i == 7'200'000'000LL);
  // A count of a duration must stay at least 1.
  CHECK(Override(*p, "n", "0").find("at least 1") != std::string::npos);
}

TEST_CASE("params: a duration's count must be an int param, a whole duration a duration param") {
  auto check = [](const std::string& decls) {
    const std::string source = "program \"P\"\nevent e {}\nparam d = 2.5\nparam w = 3 days\nparam k = 2\n" + decls;
    perk::Diagnostics diags("t.perk", source);
    auto p = perk::CompileProgram(source, diags);
    return p ? std::string() : diags.Render(false);
  };
  CHECK(check("segment s when count(e within k days) > 0 and count(e within w) > 0\n") == "");
  CHECK(check("segment s when count(e within d days) > 0\n").find("[E0030]") != std::string::npos);
  CHECK(check("segment s when count(e within k) > 0\n").find("[E0030]") != std::string::npos);
  CHECK(check("segment s when count(e within nope days) > 0\n").find("is not a param") != std::string::npos);
  CHECK(check("param z = 0\nsegment s when count(e within z days) > 0\n").find("[E0064]") != std::string::npos);
}

TEST_CASE("lots: expiry and pending durations are date steps, set by params, checked and refolded") {
  const std::string source = R"(program "Lots"
currency USD
event e { n: int }
param k = 3
param grace = 2 weeks
wallet pts: int expires after k days
wallet cash: money expires after 1 month
wallet plain: int
rule r
  on e
  limit once per client
  then
    credit pts e.n pending grace
    credit cash 1 USD pending 1 year
    credit plain pending(pts)
    emit "x" { held: pending(cash) }
end
)";
  perk::Diagnostics diags("t.perk", source);
  auto p = perk::CompileProgram(source, diags);
  INFO(diags.Render(false));
  REQUIRE(p);
  constexpr int64_t kDay = 86'400'000'000LL;
  CHECK(p->has_lots);
  CHECK(p->wallets[0].expiry == 3 * kDay);
  CHECK(p->wallets[1].expiry == perk::stdlib::kMonthsTag + 1);
  CHECK(p->wallets[2].expiry == 0);
  const auto& actions = p->rules[0].actions;
  REQUIRE(actions.size() == 4);
  CHECK(p->pending_for[actions[0].pending] == 14 * kDay);
  CHECK(p->pending_for[actions[1].pending] == perk::stdlib::kMonthsTag + 12);
  CHECK(actions[2].pending == -1);
  // pending(W) has W's type.
  CHECK(actions[2].value->kind == perk::checked::ExprKind::Pending);
  CHECK(actions[2].value->type == perk::Type::Int);
  CHECK(actions[3].data[0].value.type == perk::Type::Money);
  // Overrides refold both; hours are refused.
  CHECK(Override(*p, "k", "10") == "");
  CHECK(p->wallets[0].expiry == 10 * kDay);
  CHECK(Override(*p, "grace", "5 days") == "");
  CHECK(p->pending_for[actions[0].pending] == 5 * kDay);
  CHECK(Override(*p, "grace", "5 hours").find("counts whole days") != std::string::npos);
}
