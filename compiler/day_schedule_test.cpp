// Which day-tick rules the engine may visit only on anniversaries (compiler/day_schedule.h), and
// why the others are due for every client every day.
#include <catch2/catch.hpp>

#include <string>

#include "compiler/compiler.h"

namespace {

using perk::checked::DueReason;

std::unique_ptr<perk::checked::Program> Compile(const std::string& rules, const std::string& zone = "") {
  const std::string source = R"(program "Days")" + std::string("\n") + zone + R"(
event trade { volume: int }
client { birthdate: date, seen: time, joined: date = 2020-02-29, country: string = "CY" }
wallet points: int
var n: int = 0
)" + rules;
  perk::Diagnostics diags("t.perk", source);
  auto program = perk::CompileProgram(source, diags);
  INFO(diags.Render(false));
  REQUIRE(program);
  return program;
}

std::string Rule(const std::string& when, const std::string& trigger = "every day") {
  static int n = 0;
  return "rule r" + std::to_string(++n) + "\n  " + trigger + "\n" + (when.empty() ? "" : "  when " + when + "\n") + "  then credit points 1\nend\n";
}

// The reason the only rule of a program with `when` gets.
DueReason ReasonOf(const std::string& when) {
  auto p = Compile(Rule(when));
  REQUIRE(p->day_schedule.rules.size() == 1);
  return p->day_schedule.rules[0].reason;
}

}  // namespace

TEST_CASE("a rule that waits for a client attribute's anniversary is due only then") {
  auto p = Compile(Rule("client.birthdate is set and anniversary(client.birthdate)"));
  const auto& s = p->day_schedule;
  REQUIRE(s.rules.size() == 1);
  CHECK(s.rules[0].reason == DueReason::Anniversary);
  REQUIRE(s.anniversaries.size() == 1);
  CHECK(s.anniversaries[0].attr == 0);  // birthdate
  CHECK_FALSE(s.anniversaries[0].is_time);
  // `is set` first: an unset birthdate (held as 1970-01-01) never makes it due.
  CHECK(s.anniversaries[0].needs_set);
  for (int kind = 0; kind < 4; ++kind) {
    CHECK_FALSE(s.every_client[kind]);
    CHECK(s.anniversaries_of_day[kind] == std::vector<int>{0});
  }
}

TEST_CASE("conditions that cannot fail may come before the anniversary, anything may come after") {
  CHECK(ReasonOf("anniversary(client.joined)") == DueReason::Anniversary);
  CHECK(ReasonOf("client.country == \"CY\" and weekday(today) < 6 and points >= 0 and anniversary(client.joined)") ==
        DueReason::Anniversary);
  CHECK(ReasonOf("anniversary(client.joined) and points * 1000 > n + 1") == DueReason::Anniversary);
  CHECK(ReasonOf("(n > 0 and anniversary(client.joined)) and points / n > 1") == DueReason::Anniversary);
  CHECK(ReasonOf("anniversary(client.since)") == DueReason::Anniversary);
  CHECK(ReasonOf("client.seen is set and anniversary(client.seen)") == DueReason::Anniversary);
}

TEST_CASE("a rule is due every day when a condition before the anniversary may fail or folds an aggregate") {
  CHECK(ReasonOf("points + 1 > 0 and anniversary(client.joined)") == DueReason::MayFailBefore);
  CHECK(ReasonOf("points / n > 1 and anniversary(client.joined)") == DueReason::MayFailBefore);
  CHECK(ReasonOf("sum(trade.volume within 30 days) > 0 and anniversary(client.joined)") == DueReason::MayFailBefore);
  CHECK(ReasonOf("count(trade) > 0 and anniversary(client.joined)") == DueReason::MayFailBefore);
}

TEST_CASE("a rule is due every day unless its `when` is an `and` chain through an anniversary") {
  CHECK(ReasonOf("") == DueReason::NoWhen);
  CHECK(ReasonOf("points > 10") == DueReason::NoAnniversary);
  CHECK(ReasonOf("anniversary(client.joined) or points > 10") == DueReason::NoAnniversary);
  CHECK(ReasonOf("not anniversary(client.joined)") == DueReason::NoAnniversary);
  CHECK(ReasonOf("anniversary(client.birthdate otherwise 2000-01-01)") == DueReason::NoAnniversary);
  CHECK(ReasonOf("anniversary(today)") == DueReason::NoAnniversary);
  CHECK(ReasonOf("if anniversary(client.joined) then points > 0 else false") == DueReason::NoAnniversary);
}

TEST_CASE("the attributes are told apart: a time's date, `since`, and whether `is set` comes first") {
  auto p = Compile(Rule("anniversary(client.joined)") + Rule("client.seen is set and anniversary(client.seen)") +
                   Rule("anniversary(client.since)") + Rule("anniversary(client.joined) and points > 1"));
  const auto& s = p->day_schedule;
  REQUIRE(s.anniversaries.size() == 3);
  CHECK(s.rules[0].anniversary == 0);
  CHECK(s.rules[3].anniversary == 0);  // the same attribute, one index
  CHECK(s.anniversaries[0].attr == 2);
  CHECK_FALSE(s.anniversaries[0].needs_set);
  CHECK(s.anniversaries[1].attr == 1);
  CHECK(s.anniversaries[1].is_time);
  CHECK(s.anniversaries[1].needs_set);
  CHECK(s.anniversaries[2].attr == perk::checked::kClientSince);
  CHECK(s.anniversaries[2].is_time);
}

TEST_CASE("one rule due for every client on a kind of day makes that day's tick visit everyone") {
  auto p = Compile(Rule("anniversary(client.joined)") + Rule("points > 100", "every week") +
                   Rule("client.birthdate is set and anniversary(client.birthdate)", "every month") +
                   "rule ev on trade then credit points 1 end\n");
  const auto& s = p->day_schedule;
  CHECK(s.rules[0].reason == DueReason::Anniversary);
  CHECK(s.rules[1].reason == DueReason::NoAnniversary);
  CHECK(s.rules[2].reason == DueReason::Anniversary);
  using perk::checked::kFirstOfMonth;
  using perk::checked::kMonday;
  using perk::checked::kMondayFirst;
  using perk::checked::kPlainDay;
  CHECK_FALSE(s.every_client[kPlainDay]);
  CHECK(s.anniversaries_of_day[kPlainDay] == std::vector<int>{0});
  CHECK(s.every_client[kMonday]);
  CHECK(s.every_client[kMondayFirst]);
  CHECK_FALSE(s.every_client[kFirstOfMonth]);
  CHECK(s.anniversaries_of_day[kFirstOfMonth] == std::vector<int>{0, 1});
}

TEST_CASE("a time attribute's anniversary is of its date in the program's zone") {
  auto p = Compile(Rule("client.seen is set and anniversary(client.seen)"), "timezone \"Asia/Tokyo\"");
  const auto& s = p->day_schedule;
  REQUIRE(s.rules[0].reason == DueReason::Anniversary);
  CHECK(s.anniversaries[0].is_time);
}
