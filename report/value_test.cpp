// Unit tests for the report's cost and return figures (C12): the arithmetic of costs, ROI and
// per-client values in exact integers, and the figures folded from a real engine run.
#include <catch2/catch.hpp>

#include <limits>

#include "compiler/compiler.h"
#include "report/report.h"
#include "report/value.h"
#include "runtime/engine.h"

namespace {

using perk::report::Cost;
using perk::report::CostOf;
using perk::report::PerClient;
using perk::report::RoiBasisPoints;

std::unique_ptr<perk::checked::Program> Compile(const std::string& source) {
  perk::Diagnostics diags("test.perk", source);
  auto p = perk::CompileProgram(source, diags);
  INFO(diags.Render(false));
  REQUIRE(p);
  return p;
}

perk::checked::Wallet Wallet(perk::Type type, int64_t worth) {
  perk::checked::Wallet w;
  w.name = "w";
  w.type = type;
  w.worth = worth;
  return w;
}

}  // namespace

TEST_CASE("cost prices money at face value and points by worth", "[report][value]") {
  const auto money = Wallet(perk::Type::Money, 0), priced = Wallet(perk::Type::Int, 3), unpriced = Wallet(perk::Type::Int, 0);
  CHECK(CostOf(money, 1250, false).cents == 1250);
  CHECK(CostOf(money, 1250, true).cents == -1250);
  CHECK(CostOf(priced, 7, false).cents == 21);
  CHECK(CostOf(priced, 7, true).cents == -21);
  CHECK(CostOf(priced, 7, false).unpriced_points == 0);
  CHECK(CostOf(unpriced, 7, false).cents == 0);
  CHECK(CostOf(unpriced, 7, false).unpriced_points == 7);
  CHECK(CostOf(unpriced, 7, true).unpriced_points == -7);
  // A price times a huge amount saturates rather than wraps.
  CHECK(CostOf(priced, std::numeric_limits<int64_t>::max() / 2, false).cents == std::numeric_limits<int64_t>::max());
  Cost sum;
  sum += Cost{std::numeric_limits<int64_t>::max(), 1};
  sum += Cost{5, 1};
  CHECK(sum.cents == std::numeric_limits<int64_t>::max());
  CHECK(sum.unpriced_points == 2);
}

TEST_CASE("ROI is (revenue - cost) / cost in basis points, half away from zero", "[report][value]") {
  CHECK(RoiBasisPoints(300, Cost{100, 0}) == 20000);
  CHECK(RoiBasisPoints(100, Cost{100, 0}) == 0);
  CHECK(RoiBasisPoints(0, Cost{100, 0}) == -10000);
  // 1/3 = 3333.33 bp -> 3333; 2/3 = 6666.67 -> 6667; -1/3 -> -3333; -2/3 -> -6667.
  CHECK(RoiBasisPoints(4, Cost{3, 0}) == 3333);
  CHECK(RoiBasisPoints(5, Cost{3, 0}) == 6667);
  CHECK(RoiBasisPoints(2, Cost{3, 0}) == -3333);
  CHECK(RoiBasisPoints(1, Cost{3, 0}) == -6667);
  // Exactly half a basis point goes away from zero: 1/20000 and -1/20000.
  CHECK(RoiBasisPoints(20001, Cost{20000, 0}) == 1);
  CHECK(RoiBasisPoints(19999, Cost{20000, 0}) == -1);
  // No meaning: no cost, a net gain back, or unpriced points in the cost.
  CHECK_FALSE(RoiBasisPoints(100, Cost{0, 0}).has_value());
  CHECK_FALSE(RoiBasisPoints(100, Cost{-5, 0}).has_value());
  CHECK_FALSE(RoiBasisPoints(100, Cost{50, 10}).has_value());
}

TEST_CASE("per-client figures round half away from zero to the cent", "[report][value]") {
  CHECK(PerClient(1000, 3) == 333);
  CHECK(PerClient(1001, 2) == 501);  // 500.5
  CHECK(PerClient(-1001, 2) == -501);
  CHECK(PerClient(999, 2) == 500);  // 499.5
  CHECK(PerClient(5, 0) == 0);
}

namespace {

const char* kValueProgram = R"(
program "Value test"
currency USD
event trade { lots: decimal, fee: money = 0 USD, demo: bool = false }
event use { points: int }
wallet pts: int worth point_value
wallet stamps: int
wallet cash: money
param point_value = 0.05 USD
param min_fee = 1 USD
tier Base
tier Gold when count(trade) >= 2
segment busy when count(trade) >= 2
revenue trade.fee where not trade.demo and trade.fee >= min_fee
rule earn on trade when not trade.demo then
  credit pts 10
  credit stamps 1
end
rule cashback on trade when trade.lots >= 2 then credit cash 3 USD end
rule spend on use then debit pts use.points end
)";

const char* kValueEvents[] = {
    // c1: trades twice (Gold and busy after the second), spends 4 points.
    R"({"type":"trade","id":"t1","client":"c1","time":"2026-03-01T10:00:00Z","lots":1,"fee":"2.00"})",
    R"({"type":"trade","id":"t2","client":"c1","time":"2026-03-01T11:00:00Z","lots":3,"fee":"5.50"})",
    R"({"type":"use","id":"u1","client":"c1","time":"2026-03-01T12:00:00Z","points":4})",
    // c2: a demo trade (no credit, no revenue) and a live one under the fee minimum (credit, no revenue).
    R"({"type":"trade","id":"t3","client":"c2","time":"2026-03-01T13:00:00Z","lots":1,"fee":"9.00","demo":true})",
    R"({"type":"trade","id":"t4","client":"c2","time":"2026-03-01T14:00:00Z","lots":1,"fee":"0.50"})",
    // c3: a demo trade only: a non-participant, and its fee is no revenue.
    R"({"type":"trade","id":"t5","client":"c3","time":"2026-03-01T15:00:00Z","lots":1,"fee":"4.00","demo":true})",
};

}  // namespace

TEST_CASE("the collector folds cost, revenue, ROI and lifetime value from a run", "[report][value]") {
  auto program = Compile(kValueProgram);
  REQUIRE(program->wallets[0].worth == 5);
  perk::runtime::Engine engine(*program);
  perk::report::Collector collector(*program);
  collector.Begin(engine.clients());
  engine.AddSink(&collector);
  uint64_t n = 0;
  for (const char* line : kValueEvents) engine.ProcessLine(line, ++n);
  engine.RemoveSink(&collector);
  perk::report::RunFigures f = collector.Finish(engine.clients(), engine.stats());
  const auto& v = f.value;
  CHECK(v.has_revenue);
  CHECK(v.has_worth);
  CHECK(v.has_unpriced);
  // Revenue: t1 2.00 + t2 5.50; t4 is under the minimum, t3 and t5 are demo.
  CHECK(v.revenue == 750);
  CHECK(v.revenue_events == 2);
  // earn: 3 live trades x 10 points x 5 cents = 150, and 3 stamps unpriced; cashback: 300 (t2);
  // spend: -4 points x 5 cents = -20.
  REQUIRE(f.rules.size() == 3);
  CHECK(f.rules[0].value.cost.cents == 150);
  CHECK(f.rules[0].value.cost.unpriced_points == 3);
  CHECK(f.rules[1].value.cost.cents == 300);
  CHECK(f.rules[2].value.cost.cents == -20);
  CHECK(v.cost.cents == 430);
  CHECK(v.cost.unpriced_points == 3);
  // Clients credited and their revenue from their first credit on (that record included).
  CHECK(f.rules[0].value.credited_clients == 2);
  CHECK(f.rules[0].value.revenue == 750);
  CHECK(f.rules[1].value.credited_clients == 1);
  CHECK(f.rules[1].value.revenue == 550);  // t2 only: c1's credit came with it
  CHECK(RoiBasisPoints(f.rules[1].value.revenue, f.rules[1].value.cost) == 8333);  // (550-300)/300
  CHECK_FALSE(RoiBasisPoints(f.rules[0].value.revenue, f.rules[0].value.cost).has_value());  // unpriced stamps
  // Participants c1, c2; non-participant c3 (demo only).
  CHECK(v.participants.clients == 2);
  CHECK(v.participants.revenue == 750);
  CHECK(v.participants.cost.cents == 430);
  CHECK(v.non_participants.clients == 1);
  CHECK(v.non_participants.revenue == 0);
  // By tier at the end: c1 and c2 Gold (two trades each), c3 Base.
  REQUIRE(v.by_tier.size() == 2);
  CHECK(v.by_tier[0].clients == 1);
  CHECK(v.by_tier[1].clients == 2);
  CHECK(v.by_tier[1].value() == 750 - 430);
  // Segment cost: entries written while a member. c1 joined busy after t2's rules ran, so only
  // u1's debit (-20) counts; c2 joined after t4.
  REQUIRE(v.segment_cost.size() == 1);
  CHECK(v.segment_cost[0].cents == -20);
  CHECK(v.by_segment[0].clients == 2);
  CHECK(v.no_segment.clients == 1);
}

namespace {

// [v0.2] Reversals and sends: a deposit bonus, a referral reward sent to the referrer, and a
// fee per trade as revenue.
const char* kReversalProgram = R"(program "Chargebacks"
currency USD
event deposit { amount: money }
event trade { fee: money }
event reward { friend: client }
client { referred_by: client }
wallet bonus: money
revenue trade.fee
revenue deposit.amount
rule welcome on deposit limit once per client budget 38 USD then credit bonus 10 USD end
rule refer on deposit when client.referred_by is set then send reward to client.referred_by { friend: deposit.client } end
rule pay on reward then credit bonus 5 USD end
rule use on trade then debit bonus 4 USD end
)";

// Before the report starts: c3 is credited and spends; the run then reverses c3's trade.
const char* kBeforeReport[] = {
    R"({"type":"deposit","id":"d0","client":"c3","time":"2026-03-01T08:00:00Z","amount":"20.00"})",
    R"({"type":"trade","id":"t0","client":"c3","time":"2026-03-01T08:30:00Z","fee":"1.00"})",
};

const char* kReversalEvents[] = {
    R"({"type":"profile","client":"f1","time":"2026-03-01T09:00:00Z","referred_by":"r1"})",
    // f1 deposits 100 (revenue 100.00): welcome 10 to f1, reward 5 to r1 by a sent event.
    R"({"type":"deposit","id":"d1","client":"f1","time":"2026-03-01T10:00:00Z","amount":"100.00"})",
    // f1 trades (fee 1.00): uses 4 of the bonus; t2 uses 4 more.
    R"({"type":"trade","id":"t1","client":"f1","time":"2026-03-01T11:00:00Z","fee":"1.00"})",
    R"({"type":"trade","id":"t2","client":"f1","time":"2026-03-01T11:30:00Z","fee":"2.00"})",
    // c2 deposits 50 and trades: its bonus is used by the trade.
    R"({"type":"deposit","id":"d2","client":"c2","time":"2026-03-01T12:00:00Z","amount":"50.00"})",
    R"({"type":"trade","id":"t3","client":"c2","time":"2026-03-01T12:30:00Z","fee":"3.00"})",
    // The busted trade t3: a counter-credit of 4 to c2 (rule `use`, which never credits).
    R"({"type":"reversal","id":"v1","client":"c2","time":"2026-03-01T13:00:00Z","of":"t3"})",
    // The chargeback of d1: f1's bonus (2 left) taken back short; r1's reward taken back.
    R"({"type":"reversal","id":"v2","client":"f1","time":"2026-03-01T14:00:00Z","of":"d1"})",
    // c3's trade from before the report: a counter-credit is c3's only entry in it, and t0's
    // revenue was never counted here, so none is taken out.
    R"({"type":"reversal","id":"v3","client":"c3","time":"2026-03-01T15:00:00Z","of":"t0"})",
    // c4's welcome fits the 38.00 budget (10.00 of it used by c3 before the report) only because
    // the chargeback of d1 gave 2.00 back.
    R"({"type":"deposit","id":"d4","client":"c4","time":"2026-03-01T16:00:00Z","amount":"1.00"})",
};

}  // namespace

TEST_CASE("a reversal nets into cost, takes its event's revenue out, and makes no participant", "[report][value]") {
  auto program = Compile(kReversalProgram);
  perk::runtime::Engine engine(*program);
  uint64_t n = 0;
  for (const char* line : kBeforeReport) engine.ProcessLine(line, ++n);
  perk::report::Collector collector(*program);
  collector.Begin(engine.clients());
  engine.AddSink(&collector);
  for (const char* line : kReversalEvents) engine.ProcessLine(line, ++n);
  engine.RemoveSink(&collector);
  perk::report::RunFigures f = collector.Finish(engine.clients(), engine.stats());
  const auto& v = f.value;
  // Revenue: d1 100.00 and t3 3.00 are reversed; d2 50.00, t1 1.00, t2 2.00, d4 1.00 stay.
  // The sent reward is no input and brings none.
  CHECK(v.revenue == 5400);
  CHECK(v.revenue_events == 4);
  CHECK(v.revenue_reversed == 2);
  REQUIRE(f.rules.size() == 4);
  // welcome: +10 f1, +10 c2, then -2 (all f1 had left; 8 short), +10 c4 = 28.00.
  CHECK(f.rules[0].value.cost.cents == 2800);
  // pay: +5 to r1, -5 back = 0.
  CHECK(f.rules[2].value.cost.cents == 0);
  // use: -4 -4 (f1) -4 (c2) +4 (counter-credit of t3) +4 (of t0) = -4.00.
  CHECK(f.rules[3].value.cost.cents == -400);
  CHECK(v.cost.cents == 2400);
  // The counter-credits make c2 and c3 no clients of `use`, and `use` no revenue.
  CHECK(f.rules[3].value.credited_clients == 0);
  CHECK(f.rules[3].value.revenue == 0);
  // welcome credited f1, c2 and c4; their revenue from then on, less the reversed d1 and t3.
  CHECK(f.rules[0].value.credited_clients == 3);
  CHECK(f.rules[0].value.revenue == 5400);
  // pay credited r1 (a sent event), whose own revenue is none.
  CHECK(f.rules[2].value.credited_clients == 1);
  CHECK(f.rules[2].value.revenue == 0);
  // Participants: f1, c2, r1 (credited before the reversals), c4.
  CHECK(v.participants.clients == 4);
  CHECK(v.participants.revenue == 5400);
  // c3: only a counter-credit in this run: active, not a participant.
  CHECK(v.non_participants.clients == 1);
  CHECK(v.non_participants.cost.cents == 400);
  CHECK(v.non_participants.revenue == 0);
  // The run's own figures agree: c3 is no participant and no client of `use`; the budget's
  // peak in this run is 20.00 then 28.00, never the 30.00 it would be without the 2.00 given back.
  CHECK(f.participants == 4);
  CHECK(f.rules[3].clients == 2);
  CHECK(f.rules[0].budget_peak == 2800);
}

TEST_CASE("worth follows a --param override, and must stay positive", "[report][value]") {
  auto program = Compile(kValueProgram);
  std::string error;
  REQUIRE(perk::OverrideParam(*program, "point_value", "0.10 USD", &error));
  CHECK(program->wallets[0].worth == 10);
  CHECK_FALSE(perk::OverrideParam(*program, "point_value", "0 USD", &error));
  CHECK(error.find("worth of wallet `pts`") != std::string::npos);
}
