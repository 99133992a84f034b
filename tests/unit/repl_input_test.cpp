// Tests for what `perk repl` reads (cli/repl_input.cpp): classification, continuation,
// times, the short record form, input errors and completion.
#include <catch2/catch.hpp>
#include <unistd.h>
#include <fstream>
#include <filesystem>

#include <set>
#include <string>

#include "cli/repl_input.h"
#include "compiler/compiler.h"
#include "stdlib/stdlib.h"

namespace perk::repl {
namespace {

const char* const kProgram = R"(program "T"
currency USD
event deposit { amount: money, first: bool = false, method: string = "card", at_time: time = 2026-01-01T00:00:00Z }
event trade { lots: decimal, n: int }
client { country: string = "CY" }
wallet bonus: money
wallet points: int
tier Bronze
tier Gold when bonus > 10 USD
rule r on deposit limit once per client then credit bonus deposit.amount end
rule t on trade then credit points trade.n end
)";

const checked::Program& Program() {
  static std::unique_ptr<checked::Program> p = [] {
    Diagnostics diags("t.perk", kProgram);
    auto prog = CompileProgram(kProgram, diags);
    if (!prog) FAIL(diags.Render());
    return prog;
  }();
  return *p;
}

int64_t T(const char* text) {
  std::string error;
  auto t = stdlib::ParseTime(text, &error);
  REQUIRE(t);
  return *t;
}

ShortFormContext Context() {
  ShortFormContext c;
  c.clock = T("2026-01-05T10:00:00Z");
  c.default_time = *c.clock;
  c.next_id = [n = 0]() mutable { return "repl-" + std::to_string(++n); };
  return c;
}

std::string Json(std::string_view line) {
  InputError error;
  auto sf = ParseShortForm(line, Program(), Context(), &error);
  INFO(error.message);
  REQUIRE(sf);
  return sf->json;
}

InputError Error(std::string_view line) {
  InputError error;
  auto sf = ParseShortForm(line, Program(), Context(), &error);
  REQUIRE_FALSE(sf);
  return error;
}

TEST_CASE("inputs are classified by their first words", "[repl]") {
  const auto& p = Program();
  CHECK(Classify("", p) == InputKind::Empty);
  CHECK(Classify("   # a comment", p) == InputKind::Empty);
  CHECK(Classify(":help", p) == InputKind::Command);
  CHECK(Classify("  :load x.perk", p) == InputKind::Command);
  CHECK(Classify(R"({"type":"tick"})", p) == InputKind::Json);
  CHECK(Classify("deposit c1 amount=5", p) == InputKind::ShortForm);
  CHECK(Classify("deposit", p) == InputKind::ShortForm);
  CHECK(Classify("profile c1 country=DE", p) == InputKind::ShortForm);
  CHECK(Classify("tick 2026-01-06", p) == InputKind::ShortForm);
  CHECK(Classify("tick +1d", p) == InputKind::ShortForm);
  CHECK(Classify("deposit.amount", p) == InputKind::Expression);
  CHECK(Classify("deposit . amount", p) == InputKind::Expression);
  CHECK(Classify("count(deposit)", p) == InputKind::Expression);
  CHECK(Classify("bonus + 1 USD", p) == InputKind::Expression);
  CHECK(Classify("wallet w: int", p) == InputKind::Declaration);
  CHECK(Classify("rule x on deposit then end", p) == InputKind::Declaration);
  CHECK(Classify("client { age: int }", p) == InputKind::Declaration);
  CHECK(Classify("client.country", p) == InputKind::Expression);
  CHECK(Classify("tier Silver when bonus > 5 USD", p) == InputKind::Declaration);
  CHECK(Classify("tier >= Gold", p) == InputKind::Expression);
  CHECK(Classify("tier in [Gold]", p) == InputKind::Expression);
  CHECK(Classify("tier", p) == InputKind::Expression);
  CHECK(Classify("program \"x\"", p) == InputKind::Declaration);
  // An undeclared word and another word: a record of an event the program lacks, which the
  // short form then names; an undeclared word alone or before an operator: an expression.
  CHECK(Classify("withdrawal c1 amount=5", p) == InputKind::ShortForm);
  CHECK(Classify("withdrawal", p) == InputKind::Expression);
  CHECK(Classify("withdrawal and bonus", p) == InputKind::Expression);
  CHECK(Classify("not bonus", p) == InputKind::Expression);
  CHECK(Classify("if true then 1 else 2", p) == InputKind::Expression);
}

TEST_CASE("unfinished input asks for more lines; wrong input does not", "[repl]") {
  CHECK(NeedsMore(InputKind::Declaration, "rule r on deposit"));
  CHECK(NeedsMore(InputKind::Declaration, "rule r on deposit\n  when deposit.amount >"));
  CHECK(NeedsMore(InputKind::Declaration, "rule r on deposit then credit bonus 5 USD"));
  CHECK(NeedsMore(InputKind::Declaration, "rule r on deposit then credit bonus 5 USD  # a comment"));
  CHECK(NeedsMore(InputKind::Declaration, "event e {"));
  CHECK(NeedsMore(InputKind::Declaration, "tier Gold when"));
  CHECK_FALSE(NeedsMore(InputKind::Declaration, "rule r on deposit then credit bonus 5 USD end"));
  CHECK_FALSE(NeedsMore(InputKind::Declaration, "wallet w: int"));
  CHECK_FALSE(NeedsMore(InputKind::Declaration, "rule r \"abc"));  // the quote error is not at the end
  CHECK_FALSE(NeedsMore(InputKind::Declaration, "rule ) on deposit"));
  CHECK(NeedsMore(InputKind::Expression, "count(deposit"));
  CHECK(NeedsMore(InputKind::Expression, "1 +"));
  CHECK(NeedsMore(InputKind::Expression, "if bonus > 1 USD then 1"));
  CHECK_FALSE(NeedsMore(InputKind::Expression, "1 + 2"));
  CHECK_FALSE(NeedsMore(InputKind::Expression, "1 + + 2 )"));
  CHECK(NeedsMore(InputKind::Json, R"({"type": "deposit",)"));
  CHECK_FALSE(NeedsMore(InputKind::Json, R"({"type": "a{b"})"));
  CHECK_FALSE(NeedsMore(InputKind::ShortForm, "deposit"));
  CHECK_FALSE(NeedsMore(InputKind::Command, ":load"));
}

TEST_CASE("times: RFC 3339, short forms, dates and steps from the clock", "[repl]") {
  std::string error;
  std::optional<int64_t> clock = T("2026-01-05T10:00:00Z");
  CHECK(ParseWhen("2026-01-05T10:00:00Z", clock, &error) == T("2026-01-05T10:00:00Z"));
  CHECK(ParseWhen("2026-01-05T10:00", clock, &error) == T("2026-01-05T10:00:00Z"));
  CHECK(ParseWhen("2026-01-05T10:00:30", clock, &error) == T("2026-01-05T10:00:30Z"));
  CHECK(ParseWhen("2026-01-05T12:00:00+02:00", clock, &error) == T("2026-01-05T10:00:00Z"));
  CHECK(ParseWhen("2026-01-06", clock, &error) == T("2026-01-06T00:00:00Z"));
  CHECK(ParseWhen(" +90m ", clock, &error) == T("2026-01-05T11:30:00Z"));
  CHECK(ParseWhen("+2h", clock, &error) == T("2026-01-05T12:00:00Z"));
  CHECK(ParseWhen("+3d", clock, &error) == T("2026-01-08T10:00:00Z"));
  CHECK(ParseWhen("+30s", clock, &error) == T("2026-01-05T10:00:30Z"));
  CHECK_FALSE(ParseWhen("+2y", clock, &error));
  CHECK(error.find("step forward") != std::string::npos);
  CHECK_FALSE(ParseWhen("+h", clock, &error));
  CHECK_FALSE(ParseWhen("+9999999999d", clock, &error));
  CHECK(error == "`+9999999999d` goes past the year 9999");
  CHECK_FALSE(ParseWhen("+99999999999999999999d", clock, &error));
  CHECK(error.find("step forward") != std::string::npos);
  CHECK_FALSE(ParseWhen("+1d", std::nullopt, &error));
  CHECK(error.find("no record has set it") != std::string::npos);
  CHECK_FALSE(ParseWhen("yesterday", clock, &error));
  CHECK(error.find("cannot read `yesterday` as a time") != std::string::npos);
  CHECK_FALSE(ParseWhen("2026-13-01", clock, &error));
}

TEST_CASE("the short form becomes a JSON record typed by the schema", "[repl]") {
  CHECK(Json("deposit c1 amount=250 first=true at 2026-01-05T10:00") ==
        R"({"type":"deposit","id":"repl-1","client":"c1","time":"2026-01-05T10:00:00Z","amount":250,"first":true})");
  // Left out: the id (fresh) and the time (the clock).
  CHECK(Json("deposit c1 amount=1_000.50") ==
        R"({"type":"deposit","id":"repl-1","client":"c1","time":"2026-01-05T10:00:00Z","amount":1000.50})");
  CHECK(Json("deposit c1 amount=25USD first method=\"bank wire\" id=d7 at +1h") ==
        R"({"type":"deposit","id":"d7","client":"c1","time":"2026-01-05T11:00:00Z","amount":25,"first":true,"method":"bank wire"})");
  CHECK(Json("deposit c1 amount=5 at_time=2026-01-02T03:04") ==
        R"({"type":"deposit","id":"repl-1","client":"c1","time":"2026-01-05T10:00:00Z","amount":5,"at_time":"2026-01-02T03:04:00Z"})");
  CHECK(Json("deposit c1 amount=5 at 2026-01-06 09:30") ==
        R"({"type":"deposit","id":"repl-1","client":"c1","time":"2026-01-06T09:30:00Z","amount":5})");
  CHECK(Json("deposit c1 amount=5 time=2026-01-07") ==
        R"({"type":"deposit","id":"repl-1","client":"c1","time":"2026-01-07T00:00:00Z","amount":5})");
  CHECK(Json("trade c2 lots=12.5% n=3") ==
        R"({"type":"trade","id":"repl-1","client":"c2","time":"2026-01-05T10:00:00Z","lots":"0.125","n":3})");
  // What is not a number goes through as a string, for the decoder to reject with its reason.
  CHECK(Json("trade c2 lots=abc n=01") ==
        R"({"type":"trade","id":"repl-1","client":"c2","time":"2026-01-05T10:00:00Z","lots":"abc","n":"01"})");
  CHECK(Json("deposit c1 amount=5 first=maybe") ==
        R"({"type":"deposit","id":"repl-1","client":"c1","time":"2026-01-05T10:00:00Z","amount":5,"first":"maybe"})");
  CHECK(Json("profile c1 country=DE at 2026-01-06") ==
        R"({"type":"profile","client":"c1","time":"2026-01-06T00:00:00Z","country":"DE"})");
  CHECK(Json("tick 2026-01-09") == R"({"type":"tick","time":"2026-01-09T00:00:00Z"})");
  CHECK(Json("tick at +1d") == R"({"type":"tick","time":"2026-01-06T10:00:00Z"})");
  CHECK(Json("deposit \"c 1\" amount=5 # a comment") ==
        R"({"type":"deposit","id":"repl-1","client":"c 1","time":"2026-01-05T10:00:00Z","amount":5})");
}

TEST_CASE("short-form errors point at the word that is wrong", "[repl]") {
  InputError e = Error("deposit c1 amont=250");
  CHECK(e.kind == ErrorKind::UnknownField);
  CHECK(e.column == 12);
  CHECK(e.length == 5);
  CHECK(e.message == "the event `deposit` has no field `amont`; did you mean `amount`?");

  e = Error("deposit c1 amount=5 colour=red");
  CHECK(e.message.find("its fields are amount, first, method, at_time") != std::string::npos);

  e = Error("deposit");
  CHECK(e.kind == ErrorKind::BadShortForm);
  CHECK(e.message == "`deposit` needs a client id next: `deposit c1 ...`");
  CHECK(Error("deposit amount=5").column == 1);

  e = Error("deposit c1 amount=5 at tomorrow");
  CHECK(e.kind == ErrorKind::BadTime);
  CHECK(e.column == 24);
  CHECK(e.length == 8);

  e = Error("deposit c1 amount=5 at");
  CHECK(e.kind == ErrorKind::BadTime);
  CHECK(e.column == 21);

  CHECK(Error("deposit c1 amount=5 amount=6").message == "`amount` is given twice");
  CHECK(Error("deposit c1 amount=").message == "`amount=` needs a value after `=`");
  CHECK(Error("deposit c1 amount").message == "`amount` needs a value: `amount=...`");
  CHECK(Error("deposit c1 amount=5 blah").message == "expected `field=value` or `at TIME`, found `blah`");
  CHECK(Error("deposit c1 amount=5 client=c2").message.find("second word") != std::string::npos);
  CHECK(Error("deposit c1 amount=5 at 2026-01-06 at 2026-01-07").message == "the time is given twice");
  CHECK(Error("deposit c1 id=a id=b").message == "the id is given twice");
  CHECK(Error("deposti c1 amount=5").message == "there is no event `deposti`; did you mean `deposit`?");
  CHECK(Error("tick").kind == ErrorKind::BadTime);
  CHECK(Error("tick 2026-01-06 extra").message == "a tick takes only a time; remove this");
  e = Error("deposit c1 method=\"open");
  CHECK(e.message == "this string has no closing `\"`");
  CHECK(e.column == 19);
  // Columns count code points, so the caret lines up after non-ASCII text.
  e = Error("deposit \"é\" amont=1");
  CHECK(e.column == 13);
}

TEST_CASE("input errors render like diagnostics, with a stable code", "[repl]") {
  InputError e{ErrorKind::UnknownField, 12, 5, "no field `amont`"};
  CHECK(RenderInputError(e, "deposit c1 amont=250", false) ==
        "<input>:1:12: error: no field `amont` [R0003]\n"
        "  deposit c1 amont=250\n"
        "             ^~~~~\n");
  InputError whole{ErrorKind::NoClient, 0, 1, "no current client"};
  CHECK(RenderInputError(whole, "bonus", false) == "<input>: error: no current client [R0006]\n");
  // Codes are unique and numbered R0001, R0002, ...
  std::set<std::string> codes;
  for (ErrorKind k : AllErrorKinds()) codes.insert(ErrorCode(k));
  CHECK(codes.size() == AllErrorKinds().size());
  CHECK(std::string(ErrorCode(ErrorKind::UnknownCommand)) == "R0001");
}

std::vector<std::string> Candidates(std::string_view before, size_t* start = nullptr) {
  Completion c = Complete(before, Program(), {"c1", "c2", "d9"});
  if (start) *start = c.start;
  return c.candidates;
}

TEST_CASE("file names complete within the directory typed", "[repl]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("perk_complete_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "sub");
  for (const char* f : {"fw.perk", "fw2.perk", "other.jsonl", ".hidden"}) std::ofstream(dir / f) << "x";
  const std::string d = dir.string();
  auto complete = [](const std::string& line) { return Complete(line, Program(), {}); };
  Completion c = complete(":load " + d + "/fw");
  CHECK(c.start == 6);
  CHECK(c.candidates == std::vector<std::string>{d + "/fw.perk", d + "/fw2.perk"});
  CHECK(complete(":save " + d + "/").candidates ==
        std::vector<std::string>{d + "/fw.perk", d + "/fw2.perk", d + "/other.jsonl", d + "/sub/"});
  CHECK(complete(":load " + d + "/.h").candidates == std::vector<std::string>{d + "/.hidden"});
  CHECK(complete(":load " + d + "/nothing/fw").candidates.empty());
  const fs::path cwd = fs::current_path();
  fs::current_path(dir);
  CHECK(complete(":load ./fw.").candidates == std::vector<std::string>{"./fw.perk"});
  CHECK(complete(":load s").candidates == std::vector<std::string>{"sub/"});
  fs::current_path(cwd);
  fs::remove_all(dir);
}

TEST_CASE("completion offers commands, names, fields and clients", "[repl]") {
  CHECK(Candidates(":cl") == std::vector<std::string>{":client", ":clients"});
  CHECK(Candidates(":e") == std::vector<std::string>{":engine", ":explain"});
  CHECK(Candidates(":engine ") == std::vector<std::string>{"interp", "jit"});
  CHECK(Candidates(":client c") == std::vector<std::string>{"c1", "c2"});
  size_t start = 0;
  CHECK(Candidates("deposit.am", &start) == std::vector<std::string>{"amount"});
  CHECK(start == 8);
  CHECK(Candidates("1 + deposit.") == std::vector<std::string>{"amount", "at_time", "client", "first", "id", "method", "time"});
  CHECK(Candidates("client.c") == std::vector<std::string>{"country"});
  CHECK(Candidates("bo") == std::vector<std::string>{"bonus", "bool"});
  CHECK(Candidates("count(dep") == std::vector<std::string>{"deposit"});
  CHECK(Candidates("tier >= G") == std::vector<std::string>{"Gold"});
  CHECK(Candidates(":type poi") == std::vector<std::string>{"points"});
  CHECK(Candidates("ti") == std::vector<std::string>{"tick", "tier", "tier_changed", "time", "timezone"});
  // The short form: a client, then fields with `=`, `at` and `id=`; bool values.
  CHECK(Candidates("deposit c") == std::vector<std::string>{"c1", "c2"});
  CHECK(Candidates("deposit c1 a") == std::vector<std::string>{"amount=", "at", "at_time="});
  CHECK(Candidates("deposit c1 amount=5 f") == std::vector<std::string>{"first="});
  CHECK(Candidates("deposit c1 first=") == std::vector<std::string>{"false", "true"});
  CHECK(Candidates("deposit c1 amount=").empty());
  CHECK(Candidates("profile c1 co") == std::vector<std::string>{"country="});
  CHECK(Candidates(":quit ").empty());
}

}  // namespace
}  // namespace perk::repl
