// Tests for the scenario-file parser of `perk test` (cli/perktest_parse.cpp): the shapes of
// every expectation kind, and errors with their line and column.
#include <catch2/catch.hpp>

#include <string>

#include "cli/perktest.h"

namespace perk::perktest {
namespace {

ParseError OnlyError(const File& f) {
  REQUIRE(f.errors.size() == 1);
  return f.errors[0];
}

TEST_CASE("perktest: a scenario with records and every expectation kind") {
  File f = Parse(R"(# comment
program "program.perk"
param rate=25%

scenario "welcome"
  param cap=500
  deposit c1 amount=250 first at 2026-01-05T10:00
  {"type":"trade","id":"t1","client":"c1","time":"2026-01-05T11:00:00Z","lots":1}
  expect credit bonus 75.00 USD to c1 by welcome
  expect no credit bonus to c2
  expect no effects to c3
  expect tier Bronze -> Silver to c1
  expect segment vip joined
  expect set streak = 3
  expect reject "amount"
  expect client c1 balance bonus = 75.00 at 2026-02-01 10:00
  expect client c1 tier Gold
  expect client c1 in vip
  expect client c1 not in lost at +3d
end
)");
  REQUIRE(f.errors.empty());
  REQUIRE(f.scenarios.size() == 1);
  const Scenario& s = f.scenarios[0];
  CHECK(s.name == "welcome");
  CHECK(s.program == "program.perk");
  REQUIRE(s.params.size() == 2);
  CHECK(s.params[0].text == "rate=25%");
  CHECK(s.params[1].text == "cap=500");
  REQUIRE(s.steps.size() == 13);
  CHECK(s.steps[0].is_record);
  CHECK(s.steps[0].record.pos.line == 7);
  CHECK(s.steps[0].record.pos.column == 3);
  CHECK(s.steps[1].record.text.front() == '{');
  const Expectation& credit = s.steps[2].expect;
  CHECK(credit.kind == ExpectKind::Effect);
  CHECK(*credit.effect.action == runtime::LedgerAction::Credit);
  CHECK(credit.effect.target->text == "bonus");
  CHECK(credit.effect.value->text == "75.00USD");
  CHECK(credit.effect.client->text == "c1");
  CHECK(credit.effect.rule->text == "welcome");
  CHECK(credit.effect.rule->pos.column == 42);
  CHECK(s.steps[3].expect.kind == ExpectKind::NoEffect);
  CHECK(!s.steps[3].expect.effect.value);
  CHECK(!s.steps[4].expect.effect.action);
  CHECK(s.steps[4].expect.effect.client->text == "c3");
  CHECK(s.steps[5].expect.effect.from->text == "Bronze");
  CHECK(s.steps[5].expect.effect.target->text == "Silver");
  CHECK(*s.steps[6].expect.effect.joined);
  CHECK(s.steps[7].expect.effect.value->text == "3");
  CHECK(s.steps[8].expect.kind == ExpectKind::Reject);
  CHECK(s.steps[8].expect.reject_text->text == "amount");
  const Expectation& balance = s.steps[9].expect;
  CHECK(balance.kind == ExpectKind::Balance);
  CHECK(balance.client.text == "c1");
  CHECK(balance.name.text == "bonus");
  CHECK(balance.value.text == "75.00");
  CHECK(balance.at->text == "2026-02-01T10:00");
  CHECK(s.steps[10].expect.kind == ExpectKind::Tier);
  CHECK(s.steps[11].expect.kind == ExpectKind::InSegment);
  CHECK(s.steps[12].expect.kind == ExpectKind::NotInSegment);
  CHECK(s.steps[12].expect.at->text == "+3d");
}

TEST_CASE("perktest: errors carry line and column and say what to do") {
  SECTION("an unknown action") {
    const ParseError e = OnlyError(Parse("program \"p.perk\"\nscenario \"s\"\n  expect credt bonus\nend\n"));
    CHECK(e.pos.line == 3);
    CHECK(e.pos.column == 10);
    CHECK(e.message.find("`credt` is not a ledger action") == 0);
  }
  SECTION("a close action is suggested; anything else gets the list") {
    const ParseError close = OnlyError(Parse("program \"p.perk\"\nscenario \"s\"\n  expect credt bonus\nend\n"));
    CHECK(close.message == "`credt` is not a ledger action; did you mean `credit`?");
    const ParseError far = OnlyError(Parse("program \"p.perk\"\nscenario \"s\"\n  expect bananas\nend\n"));
    CHECK(far.message.find("`bananas` is not something to expect: write `expect ACTION ...`") == 0);
    CHECK(far.message.find("the actions are `credit`, `debit`") != std::string::npos);
  }
  SECTION("a scenario without end") {
    const ParseError e = OnlyError(Parse("program \"p.perk\"\nscenario \"s\"\n  expect no effects\n"));
    CHECK(e.pos.line == 2);
    CHECK(e.message.find("add `end`") != std::string::npos);
  }
  SECTION("a record outside a scenario") {
    const ParseError e = OnlyError(Parse("program \"p.perk\"\n   deposit c1 amount=5\n"));
    CHECK(e.pos.line == 2);
    CHECK(e.pos.column == 4);
    CHECK(e.message.find("scenario") != std::string::npos);
  }
  SECTION("no program") {
    const ParseError e = OnlyError(Parse("scenario \"s\"\n  expect no effects\nend\n"));
    CHECK(e.message.find("add `program \"program.perk\"`") != std::string::npos);
  }
  SECTION("an unclosed string") {
    const ParseError e = OnlyError(Parse("program \"p.perk\"\nscenario \"s\"\n  expect reject \"amount\nend\n"));
    CHECK(e.pos.line == 3);
    CHECK(e.pos.column == 17);
  }
  SECTION("a client expectation without its value") {
    const ParseError e = OnlyError(Parse("program \"p.perk\"\nscenario \"s\"\n  expect client c1 balance bonus 5\nend\n"));
    CHECK(e.pos.column == 20);
    CHECK(e.message == "write `balance NAME = VALUE`");
  }
  SECTION("a scenario that expects nothing") {
    const ParseError e = OnlyError(Parse("program \"p.perk\"\nscenario \"s\"\n  deposit c1 amount=5\nend\n"));
    CHECK(e.message.find("expects nothing") != std::string::npos);
  }
  SECTION("several errors are all reported, in order") {
    File f = Parse("program \"p.perk\"\nscenario \"s\"\n  expect credit bonus to\n  expect segment vip in\nend\n");
    REQUIRE(f.errors.size() == 2);
    CHECK(f.errors[0].pos.line == 3);
    CHECK(f.errors[1].pos.line == 4);
    CHECK(f.scenarios.empty());
  }
}

TEST_CASE("perktest: errors render with the line and a caret") {
  std::string text = "program \"p.perk\"\nscenario \"s\"\n  expect credt bonus\nend\n";
  File f = Parse(text);
  REQUIRE(f.errors.size() == 1);
  std::string out = RenderError("t.perktest", text, f.errors[0]);
  CHECK(out.find("t.perktest:3:10: error: `credt` is not a ledger action") == 0);
  CHECK(out.find("\n    expect credt bonus\n           ^~~~~\n") != std::string::npos);
}

}  // namespace
}  // namespace perk::perktest
