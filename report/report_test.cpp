// Unit tests for the report: figures folded from real engine ledgers, reject reasons, the
// effect matcher of `perk diff`, number formats, and the page's self-containment.
#include <catch2/catch.hpp>

#include "compiler/compiler.h"
#include "report/html.h"
#include "report/report.h"
#include "runtime/engine.h"
#include "stdlib/stdlib.h"

namespace {

using perk::report::RunFigures;

std::unique_ptr<perk::checked::Program> Compile(const std::string& source) {
  perk::Diagnostics diags("test.perk", source);
  auto p = perk::CompileProgram(source, diags);
  INFO(diags.Render(false));
  REQUIRE(p);
  return p;
}

const char* kProgram = R"(
program "Report test"
currency USD
event buy { amount: money }
event use { points: int }
client { country: string }
wallet cash: money
wallet pts: int
tier Base
tier Gold when sum(buy.amount within 30 days) >= 100 USD
segment big when count(buy) >= 2
rule back "Cashback" on buy budget 15 USD within 1 day then
  credit pts 10
  credit cash buy.amount * 10%
end
rule redeem on use then debit pts use.points end
)";

const char* kEvents[] = {
    R"({"type":"buy","id":"b1","client":"c1","time":"2026-03-01T10:00:00Z","amount":"50.00"})",
    R"({"type":"buy","id":"b2","client":"c2","time":"2026-03-01T11:00:00Z","amount":"120.00"})",
    R"({"type":"buy","id":"b3","client":"c1","time":"2026-03-02T09:00:00Z","amount":"60.00"})",
    R"({"type":"use","id":"u1","client":"c1","time":"2026-03-02T10:00:00Z","points":15})",
    R"({"type":"profile","client":"c3","time":"2026-03-02T11:00:00Z","country":"DE"})",
    R"({"type":"buy","id":"b4","client":"c4","time":"2026-03-02T12:00:00Z","amount":"1.001"})",
    R"({"type":"buy","id":"b5","client":"c5","time":"2026-03-02T12:00:00Z","amount":"2.005"})",
    R"({"type": "buy",)",
};

// Runs the events, feeding the collector one line at a time as `perk run` does in chunks.
RunFigures Collect(const perk::checked::Program& program, std::string* ledger_out = nullptr) {
  perk::runtime::Engine engine(program);
  perk::report::Collector collector(program, 3);
  collector.Begin(engine.clients());
  engine.AddSink(&collector);
  uint64_t n = 0;
  for (const char* line : kEvents) {
    engine.ProcessLine(line, ++n);
    if (ledger_out) *ledger_out += engine.ledger();
    engine.ledger().clear();
    engine.rejects().clear();
  }
  return collector.Finish(engine.clients(), engine.stats());
}

}  // namespace

TEST_CASE("the collector's figures match the ledger, day by day") {
  auto program = Compile(kProgram);
  std::string ledger;
  RunFigures f = Collect(*program, &ledger);
  INFO(ledger);
  // b1: 10 pts + 5.00; b2: 12.00 refused (5.00 used of 15.00), so its 10 pts are not kept
  // either (a firing is all or nothing); b3: 10 pts + 6.00 (a new day).
  CHECK(f.money_credited == 1100);
  CHECK(f.points_issued == 20);
  CHECK(f.points_redeemed == 15);
  CHECK(f.budget_skips == 1);
  CHECK(f.effects == 5);
  CHECK(f.known_clients == 3);
  CHECK(f.active_clients == 3);
  CHECK(f.participants == 1);
  CHECK(f.rejects == 3);

  REQUIRE(f.rules.size() == 2);
  const auto& back = f.rules[0];
  CHECK(back.name == "back");
  CHECK(back.label == "Cashback");
  CHECK(back.effects == 4);
  CHECK(back.clients == 1);
  CHECK(back.skipped_cents == 1200);
  CHECK(back.budget_peak == 600);
  CHECK(back.has_budget);
  CHECK(back.budget_cents == 1500);
  CHECK(f.rules[1].points_redeemed == 15);
  CHECK(f.rules[1].clients == 1);

  REQUIRE(f.days.size() == 2);
  const auto &d1 = f.days[0], &d2 = f.days[1];
  CHECK(perk::stdlib::FormatDate(d1.day) == "2026-03-01");
  CHECK(d1.money_credited == 500);
  CHECK(d2.money_credited == 600);
  CHECK(d1.rule_money[0] == 500);
  CHECK(d1.skips == 1);
  CHECK(d1.new_clients == 2);
  CHECK(d2.new_clients == 1);
  CHECK(d1.clients_with_effects == 1);
  CHECK(d2.clients_with_effects == 1);
  CHECK(d1.participants == 1);
  // Base, Gold at the end of each day: c2 reached Gold on day 1, c1 on day 2; c3 joined at Base.
  CHECK(d1.tier_counts == std::vector<int64_t>{1, 1});
  CHECK(d2.tier_counts == std::vector<int64_t>{1, 2});
  CHECK(d1.tier_ups == 1);
  CHECK(d2.tier_ups == 1);
  CHECK(d1.segment_sizes == std::vector<int64_t>{0});
  CHECK(d2.segment_sizes == std::vector<int64_t>{1});
  CHECK(f.tier_moves[0][1] == 2);
  CHECK(f.segment_enters[0] == 1);

  // c2's only firing was skipped: it got nothing.
  REQUIRE(f.top_clients.size() == 1);
  CHECK(f.top_clients[0].id == "c1");
  CHECK(f.top_clients[0].money_credited == 1100);
  CHECK(f.top_clients[0].points_issued == 20);
  CHECK(f.top_clients[0].tier == "Gold");

  REQUIRE(f.wallets.size() == 2);
  CHECK(f.wallets[0].credited == 1100);
  CHECK(f.wallets[1].debited == 15);
}

TEST_CASE("reject reasons group messages that differ only in values") {
  auto program = Compile(kProgram);
  RunFigures f = Collect(*program);
  REQUIRE(f.reject_reasons.size() == 2);
  // Lines 6 and 7 are one reason; the example is the first full message.
  CHECK(f.reject_reasons[0].count == 2);
  CHECK(f.reject_reasons[0].first_line == 6);
  CHECK(f.reject_reasons[0].reason.find("1.001") == std::string::npos);
  CHECK(f.reject_reasons[0].example.find("1.001") != std::string::npos);
  CHECK(f.reject_reasons[1].reason == "not a JSON object: invalid JSON");
}

TEST_CASE("diff matches effects by identity and tells gained, lost and changed") {
  auto old_program = Compile(kProgram);
  std::string changed = kProgram;
  // New version: 30% cashback, no redeem rule, a new welcome rule.
  changed.replace(changed.find("buy.amount * 10%"), 16, "buy.amount * 30%");
  changed.replace(changed.find("rule redeem on use then debit pts use.points end"), 48,
                  "rule welcome on buy limit once per client then emit \"hello\" end");
  auto new_program = Compile(changed);
  perk::runtime::Engine a(*old_program), b(*new_program);
  perk::report::EffectDiff diff(*old_program, *new_program);
  a.AddSink(&diff.old_sink());
  b.AddSink(&diff.new_sink());
  uint64_t n = 0;
  for (const char* line : kEvents) {
    a.ProcessLine(line, ++n);
    b.ProcessLine(line, n);
    diff.EndLine(perk_time_date(a.clock()), perk_time_date(b.clock()));
    a.ledger().clear();
    b.ledger().clear();
  }
  auto d = diff.Finish(a.clients(), b.clients());
  // Old: b1 pts+cash 5, b2 skip(12), b3 pts+cash 6, u1 debit.
  // New: b1 pts+cash 15+hello, b2 skip(36)+hello, b3 skip(18) (over the day's 15.00).
  // A skipped firing keeps none of its actions, so b2 and the new b3 credit no points.
  auto rule = [&](const std::string& name) {
    for (const auto& r : d.rules)
      if (r.rule == name) return r;
    FAIL("no rule " << name);
    return perk::report::RuleDiff{};
  };
  CHECK(rule("back").changed == 2);  // b1's cash amount, b2's skip amount
  CHECK(rule("back").gained == 1);   // b3: a skip instead of the 12.00 credit
  CHECK(rule("back").lost == 2);     // b3's points and 6.00 credit (all or nothing)
  CHECK(rule("redeem").lost == 1);
  CHECK(rule("welcome").gained == 2);
  CHECK(d.same == 4);  // b1's points credit, two tier entries, one segment entry
  CHECK(d.clients_compared == 3);
  REQUIRE(d.tier_names.size() == 2);
  CHECK(d.tier_differs == 0);
  CHECK(d.gained_examples.size() == 3);
}

TEST_CASE("number formats are exact") {
  using namespace perk::report::html;
  CHECK(Money(123456789) == "1,234,567.89");
  CHECK(Money(-5) == "-0.05");
  CHECK(Int(1000) == "1,000");
  CHECK(Int(-999) == "-999");
  CHECK(SignedMoney(250) == "+2.50");
  CHECK(Percent(1, 3) == "33.3%");
  CHECK(Percent(2, 3) == "66.7%");
  CHECK(Percent(1, 0) == "–");
  CHECK(BasisPoints(1, 8) == 1250);
  CHECK(Esc("<a href=\"x\">&") == "&lt;a href=&quot;x&quot;&gt;&amp;");
}

TEST_CASE("the page is self-contained and carries its figures") {
  auto program = Compile(kProgram);
  RunFigures f = Collect(*program);
  std::string page = perk::report::RunPage(f, {"", "p.perk", "e.jsonl", "interp"});
  CHECK(page.find("<script") == std::string::npos);
  CHECK(page.find("http://") == std::string::npos);
  CHECK(page.find("https://") == std::string::npos);
  CHECK(page.find("data-chart=\"money-per-day\"") != std::string::npos);
  CHECK(page.find("data-k=\"money_credited\" data-v=\"1100\"") != std::string::npos);
  CHECK(page.find("data-series=\"back\" data-values=\"500 600\"") != std::string::npos);
}

TEST_CASE("buckets cover the calendar, days with data or not") {
  using perk::report::DayFigures;
  std::vector<DayFigures> days(3);
  days[0].day = 1000;
  days[1].day = 1005;
  days[2].day = 1300;
  auto b = perk::report::html::MakeBuckets(days, 120);
  CHECK(b.width == 3);  // 301 days in at most 120 buckets
  REQUIRE(b.ranges.size() == 101);
  CHECK(b.ranges[0] == std::make_pair<size_t, size_t>(0, 1));
  CHECK(b.ranges[1] == std::make_pair<size_t, size_t>(1, 2));  // days 1003..1005
  CHECK(b.ranges[2] == std::make_pair<size_t, size_t>(2, 2));  // empty
  CHECK(b.state[50] == 1);                                     // carries day 1005's state
  CHECK(b.ranges[100] == std::make_pair<size_t, size_t>(2, 3));
  CHECK(b.labels[1] == perk::stdlib::FormatDate(1003));  // 1972 to 1973: labels keep the year
  days.resize(2);                                         // 1972-09-27 and 1972-10-02
  auto same_year = perk::report::html::MakeBuckets(days, 120);
  CHECK(same_year.labels[0] == "09-27");
}

TEST_CASE("records centuries apart cost two days, not every day between") {
  auto program = Compile(kProgram);
  perk::report::Collector c(*program);
  perk::runtime::LedgerEntry e;
  e.action = perk::runtime::LedgerAction::Credit;
  e.client = "c";
  for (size_t r = 0; r < program->rules.size(); ++r)
    if (program->rules[r].name == "back") e.rule = static_cast<int>(r), e.rule_name = "back";
  REQUIRE(e.rule >= 0);
  e.target = "pts";
  e.seq = 1, e.event_id = "a", e.time = *perk::stdlib::ParseTime("1971-01-01T00:00:00Z", nullptr), e.amount = 10, e.balance = 10;
  c.Entry(e);
  e.seq = 2, e.event_id = "b", e.time = *perk::stdlib::ParseTime("9999-12-31T00:00:00Z", nullptr), e.amount = 5, e.balance = 15;
  c.Entry(e);
  RunFigures f = c.Finish({}, {});
  CHECK(f.days.size() == 2);
  CHECK(f.points_issued == 15);
  std::string page = perk::report::RunPage(f, {"", "p", "e", "interp"});
  CHECK(page.size() < 200'000);
}
