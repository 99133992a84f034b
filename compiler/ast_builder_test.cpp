// Tests for the grammar, the AST builder (ast_builder.cpp) and diagnostics.cpp.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"

namespace perk::ast {
namespace {

// The shared conformance programs, embedded so the test runs anywhere; the folder itself is
// also parsed below when it is present.
const char* const kFirstDeposit = R"(program "Welcome"
currency USD

event deposit { amount: money, first: bool = false }
wallet bonus: money
param rate = 30%

rule welcome "First deposit bonus"
  on deposit
  when deposit.first and deposit.amount >= 100 USD
  limit once per client
  then
    credit bonus min(deposit.amount * rate, 500 USD)
    notify "welcome_bonus" { amount: deposit.amount }
end

rule redeposit
  on deposit
  when not deposit.first
  then credit bonus deposit.amount * 5%
end
)";

const char* const kTiers = R"(program "Tiers"
currency USD

event trade { symbol: string, volume: money }
wallet points: int

tier Bronze
tier Silver when sum(trade.volume within 7 days) >= 10_000 USD
tier Gold   when sum(trade.volume within 7 days) >= 50_000 USD hold 3 days

rule trade_points
  on trade
  then credit points floor(trade.volume / 1_000 USD) * (if tier >= Gold then 3 else if tier == Silver then 2 else 1)
end

rule upgrade_gift
  on tier_changed
  when tier > previous_tier
  then notify "tier_up" { from: previous_tier, to: tier }
end
)";

const char* const kDaily = R"(program "Daily"
currency USD

event login {}
client { birthdate: date, name: string = "friend" }
wallet bonus: money

segment dormant when count(login within 3 days) == 0

rule birthday "Birthday gift"
  every day
  when anniversary(client.birthdate)
  then
    credit bonus 20 USD
    notify "birthday" { name: client.name }
end

rule regular
  on login
  when count(login within 3 days) >= 3 and not has_badge("regular")
  then grant "regular"
end
)";

const char* const kBudget = R"(program "Budget"
currency USD

event deposit { amount: money }
wallet bonus: money
var deposits_seen: int = 0

rule cashback
  on deposit
  limit 2 per client within 7 days
  budget 100 USD
  then
    set deposits_seen = deposits_seen + 1
    credit bonus deposit.amount * 10%
    emit "cashback_paid" { n: deposits_seen }
end
)";

const char* const kCheckErrors = R"(program "Broken"
currency USD

event trade { lots: decimal, volume: money }
wallet points: int

rule lots_points
  on trade
  then credit points trade.lots * 10
end

rule big_trade
  on trade
  when trade.volume > 100
  then credit points 1
end

rule on_deposit
  on deposit
  then credit points 1
end
)";

struct Parsed {
  explicit Parsed(std::string text)
      : source(std::move(text)), diags("test.perk", source), program(ParseProgram(source, diags)) {}
  std::string source;
  Diagnostics diags;
  std::unique_ptr<Program> program;
};

// Every diagnostic as "LINE:COL kind: message", for readable failures.
std::string Listing(const Diagnostics& diags) {
  std::string out;
  for (const Diagnostic& d : diags.all()) {
    out += std::to_string(d.range.line) + ":" + std::to_string(d.range.column) + " " +
           Info(d.kind).name + ": " + d.message + "\n";
  }
  return out;
}

// An expression as Dump prints it: S-expressions that show the grouping.
std::string Sexpr(ExprPtr expr) {
  Program program;
  program.params.push_back({"p", {}, std::nullopt, std::move(expr)});
  std::string dump = Dump(program);
  std::string marker = "param p = ";
  size_t at = dump.find(marker);
  REQUIRE(at != std::string::npos);
  std::string out = dump.substr(at + marker.size());
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string ParseToSexpr(const std::string& text) {
  Diagnostics diags("expr", text);
  ExprPtr expr = ParseExpression(text, diags);
  INFO(Listing(diags));
  REQUIRE(expr != nullptr);
  REQUIRE(diags.all().empty());
  return Sexpr(std::move(expr));
}

std::vector<uint32_t> ErrorLines(const Diagnostics& diags, DiagKind kind) {
  std::vector<uint32_t> lines;
  for (const Diagnostic& d : diags.all()) {
    if (d.kind == kind) lines.push_back(d.range.line);
  }
  return lines;
}

// Checks the promise of ast.h: no null where a value is required, and every range placed.
void CheckExpr(const Expr* e) {
  REQUIRE(e != nullptr);
  if (e->kind != ExprKind::Error) {
    CHECK(e->range.line >= 1);
    CHECK(e->range.column >= 1);
  }
  switch (e->kind) {
    case ExprKind::Field:
    case ExprKind::Unary: REQUIRE(e->args.size() == 1); break;
    case ExprKind::Binary: REQUIRE(e->args.size() == 2); break;
    case ExprKind::If: REQUIRE(e->args.size() == 3); break;
    case ExprKind::In: REQUIRE(e->args.size() >= 1); break;
    case ExprKind::DurationLit: REQUIRE(e->duration.has_value()); break;
    default: break;
  }
  for (const ExprPtr& arg : e->args) CheckExpr(arg.get());
  if (e->where) CheckExpr(e->where.get());
}

void CheckActions(const std::vector<Action>& actions) {
  for (const Action& a : actions) {
    switch (a.kind) {
      case ActionKind::Credit:
      case ActionKind::Debit:
      case ActionKind::Set:
      case ActionKind::If: CheckExpr(a.value.get()); break;
      default: break;
    }
    for (const DataEntry& d : a.data) CheckExpr(d.value.get());
    CheckActions(a.then_actions);
    CheckActions(a.else_actions);
  }
}

void CheckProgramShape(const Program& p) {
  for (const auto& e : p.events) {
    for (const auto& f : e.fields) {
      if (f.default_value) CheckExpr(f.default_value.get());
    }
  }
  for (const auto& v : p.vars) CheckExpr(v.init.get());
  for (const auto& v : p.params) CheckExpr(v.value.get());
  for (const auto& t : p.tiers) {
    if (t.when) CheckExpr(t.when.get());
  }
  for (const auto& s : p.segments) CheckExpr(s.when.get());
  for (const auto& r : p.rules) {
    CHECK(!r.name.empty());
    if (r.when) CheckExpr(r.when.get());
    if (r.limit && !r.limit->once) CheckExpr(r.limit->count.get());
    if (r.budget) CheckExpr(r.budget->amount.get());
    CheckActions(r.actions);
  }
}

// ---------------------------------------------------------------- conformance programs

TEST_CASE("every conformance program parses without diagnostics", "[ast]") {
  for (const char* source : {kFirstDeposit, kTiers, kDaily, kBudget, kCheckErrors}) {
    Parsed p(source);
    INFO(source << Listing(p.diags));
    CHECK(p.diags.all().empty());
    CheckProgramShape(*p.program);
  }
  // Perk's copy of the conformance cases: new cases are covered too, except those still listed as
  // expected failures (tests/conformance_expected_failures.txt; the conformance suite runs them).
  namespace fs = std::filesystem;
  fs::path tests = fs::path(__FILE__).parent_path() / "../tests";
  std::set<std::string> expected_failures;
  std::ifstream list(tests / "conformance_expected_failures.txt");
  for (std::string line; std::getline(list, line);) {
    std::istringstream words(line.substr(0, line.find('#')));
    if (std::string name; words >> name) expected_failures.insert(name);
  }
  int parsed = 0;
  for (const auto& entry : fs::directory_iterator(tests / "conformance")) {
    fs::path file = entry.path() / "program.perk";
    if (!fs::exists(file) || expected_failures.count(entry.path().filename().string())) continue;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    Parsed p(text.str());
    INFO(file.string() << "\n" << Listing(p.diags));
    CHECK(p.diags.all().empty());
    ++parsed;
  }
  CHECK(parsed > 0);
}

TEST_CASE("the first-deposit program has the expected shape", "[ast]") {
  Parsed p(kFirstDeposit);
  const Program& prog = *p.program;
  CHECK(prog.name == "Welcome");
  CHECK(prog.name_range.line == 1);
  CHECK(prog.name_range.column == 9);
  CHECK(prog.name_range.length == 9);
  REQUIRE(prog.currency);
  CHECK(*prog.currency == "USD");
  REQUIRE(prog.events.size() == 1);
  REQUIRE(prog.events[0].fields.size() == 2);
  CHECK(prog.events[0].fields[0].name == "amount");
  CHECK(prog.events[0].fields[0].type.name == TypeName::Money);
  CHECK(prog.events[0].fields[1].type.name == TypeName::Bool);
  REQUIRE(prog.events[0].fields[1].default_value);
  CHECK(prog.events[0].fields[1].default_value->kind == ExprKind::BoolLit);
  REQUIRE(prog.params.size() == 1);
  CHECK(prog.params[0].value->kind == ExprKind::PercentLit);
  CHECK(prog.params[0].value->text == "30");

  REQUIRE(prog.rules.size() == 2);
  const RuleDecl& welcome = prog.rules[0];
  CHECK(welcome.name == "welcome");
  CHECK(welcome.label == "First deposit bonus");
  // The rule's range is its first line.
  CHECK(welcome.range.line == 8);
  CHECK(welcome.range.column == 1);
  CHECK(welcome.range.length == std::string("rule welcome \"First deposit bonus\"").size());
  CHECK(welcome.trigger.kind == TriggerKind::Event);
  CHECK(welcome.trigger.event == "deposit");
  REQUIRE(welcome.when);
  CHECK(welcome.when->kind == ExprKind::Binary);
  CHECK(welcome.when->bop == BinaryOp::And);
  const Expr& money = *welcome.when->args[1]->args[1];
  CHECK(money.kind == ExprKind::MoneyLit);
  CHECK(money.text == "100");
  CHECK(money.currency == "USD");
  REQUIRE(welcome.limit);
  CHECK(welcome.limit->once);
  CHECK(welcome.limit->count == nullptr);
  CHECK_FALSE(welcome.budget);
  REQUIRE(welcome.actions.size() == 2);
  CHECK(welcome.actions[0].kind == ActionKind::Credit);
  CHECK(welcome.actions[0].target == "bonus");
  CHECK(welcome.actions[0].value->kind == ExprKind::Call);
  CHECK(welcome.actions[0].value->text == "min");
  CHECK(welcome.actions[0].value->args.size() == 2);
  CHECK(welcome.actions[1].kind == ActionKind::Notify);
  CHECK(welcome.actions[1].target == "welcome_bonus");
  REQUIRE(welcome.actions[1].data.size() == 1);
  CHECK(welcome.actions[1].data[0].key == "amount");
  CHECK(welcome.actions[1].data[0].value->kind == ExprKind::Field);

  CHECK(prog.rules[1].when->kind == ExprKind::Unary);
  CHECK(prog.rules[1].when->uop == UnaryOp::Not);
}

TEST_CASE("tiers, aggregates, if expressions and tier_changed", "[ast]") {
  Parsed p(kTiers);
  const Program& prog = *p.program;
  REQUIRE(prog.tiers.size() == 3);
  CHECK(prog.tiers[0].when == nullptr);
  CHECK_FALSE(prog.tiers[1].hold);
  REQUIRE(prog.tiers[2].hold);
  CHECK(prog.tiers[2].hold->count == 3);
  CHECK(prog.tiers[2].hold->unit == DurationUnit::Day);
  const Expr& sum = *prog.tiers[1].when->args[0];
  CHECK(sum.kind == ExprKind::Aggregate);
  CHECK(sum.agg == AggKind::Sum);
  CHECK(sum.text == "trade");
  CHECK(sum.field == "volume");
  REQUIRE(sum.within);
  CHECK(sum.within->count == 7);
  CHECK(prog.tiers[1].when->args[1]->text == "10_000");
  CHECK(Sexpr(std::move(p.program->rules[0].actions[0].value)) ==
        "(* (floor (/ trade.volume 1_000 USD)) (if (>= tier Gold) 3 (if (== tier Silver) 2 1)))");
  CHECK(prog.rules[1].trigger.kind == TriggerKind::TierChanged);
  CHECK(prog.rules[1].when->args[1]->kind == ExprKind::PreviousTier);
}

TEST_CASE("[v0.2] client types and send actions", "[ast]") {
  Parsed p(R"(program "Referrals"
event signup { referrer: client }
event reward { friend: client, note: string = "x" }
client { referred_by: client }
rule joined
  on signup
  then send reward to signup.referrer { friend: signup.client }
end
)");
  const Program& prog = *p.program;
  CHECK(prog.events[0].fields[0].type.name == TypeName::Client);
  CHECK(prog.client_fields[0].type.name == TypeName::Client);
  const Action& a = prog.rules[0].actions[0];
  CHECK(a.kind == ActionKind::Send);
  CHECK(a.target == "reward");
  REQUIRE(a.value);
  CHECK(a.value->kind == ExprKind::Field);
  REQUIRE(a.data.size() == 1);
  CHECK(a.data[0].key == "friend");
  CHECK(Dump(prog).find("send reward to ") != std::string::npos);
}

TEST_CASE("every day, client blocks, segments, limits and budgets", "[ast]") {
  Parsed daily(kDaily);
  const Program& prog = *daily.program;
  REQUIRE(prog.events.size() == 1);
  CHECK(prog.events[0].fields.empty());
  REQUIRE(prog.client_fields.size() == 2);
  CHECK(prog.client_fields[0].type.name == TypeName::Date);
  CHECK(prog.client_fields[1].default_value->text == "friend");
  REQUIRE(prog.segments.size() == 1);
  CHECK(prog.segments[0].when->args[0]->agg == AggKind::Count);
  CHECK(prog.rules[0].trigger.kind == TriggerKind::EveryDay);
  CHECK(prog.rules[0].when->kind == ExprKind::Call);
  CHECK(prog.rules[0].when->args[0]->args[0]->kind == ExprKind::ClientRef);
  CHECK(prog.rules[1].actions[0].kind == ActionKind::Grant);

  Parsed budget(kBudget);
  const RuleDecl& rule = budget.program->rules[0];
  REQUIRE(rule.limit);
  CHECK_FALSE(rule.limit->once);
  CHECK(rule.limit->count->kind == ExprKind::IntLit);
  CHECK(rule.limit->count->text == "2");
  REQUIRE(rule.limit->within);
  CHECK(rule.limit->within->count == 7);
  REQUIRE(rule.budget);
  CHECK(rule.budget->amount->kind == ExprKind::MoneyLit);
  CHECK_FALSE(rule.budget->within);
  CHECK(rule.actions[0].kind == ActionKind::Set);
  CHECK(rule.actions[0].target == "deposits_seen");
  CHECK(rule.actions[2].kind == ActionKind::Emit);
  CHECK(budget.program->vars[0].init->kind == ExprKind::IntLit);
}

TEST_CASE("clauses in any order, a param as the limit, action ifs", "[ast]") {
  Parsed p(R"(program "x"
currency USD
event e { amount: money }
wallet w: money
param per_client: int = 3
rule r
  on e
  budget 1_000 USD within 30 days
  limit per_client per client within 1 week
  when e.amount > 0 USD
  then
    if e.amount > 100 USD then
      credit w 5 USD
    else if e.amount > 10 USD then
      credit w 1 USD
    end end
    debit w 1 USD
end
)");
  INFO(Listing(p.diags));
  REQUIRE(p.diags.all().empty());
  const RuleDecl& r = p.program->rules[0];
  REQUIRE(r.limit);
  CHECK(r.limit->count->kind == ExprKind::Name);
  CHECK(r.limit->count->text == "per_client");
  CHECK(r.limit->within->unit == DurationUnit::Week);
  REQUIRE(r.budget->within);
  CHECK(r.budget->within->count == 30);
  REQUIRE(r.when);
  REQUIRE(p.program->params[0].type);
  CHECK(p.program->params[0].type->name == TypeName::Int);
  REQUIRE(r.actions.size() == 2);
  const Action& outer = r.actions[0];
  CHECK(outer.kind == ActionKind::If);
  CHECK(outer.has_else);
  REQUIRE(outer.then_actions.size() == 1);
  REQUIRE(outer.else_actions.size() == 1);
  const Action& inner = outer.else_actions[0];
  CHECK(inner.kind == ActionKind::If);
  CHECK_FALSE(inner.has_else);
  CHECK(inner.then_actions[0].target == "w");
  CHECK(r.actions[1].kind == ActionKind::Debit);
}

TEST_CASE("commas between fields are optional, trailing ones allowed", "[ast]") {
  Parsed p(R"(program "x"
event e { a: int = 5 b: money c: date, d: int = 2, }
client {}
client { tier_name: string }
rule r on e then notify "n" { x: 1 y: e.a, } end
)");
  INFO(Listing(p.diags));
  REQUIRE(p.diags.all().empty());
  const auto& fields = p.program->events[0].fields;
  REQUIRE(fields.size() == 4);
  // `5 b` is the int 5, then the field b: not a money literal in currency `b`.
  CHECK(fields[0].default_value->kind == ExprKind::IntLit);
  CHECK(fields[1].name == "b");
  CHECK(p.program->client_fields.size() == 1);
  CHECK(p.program->rules[0].actions[0].data.size() == 2);
}

// ---------------------------------------------------------------- expressions

TEST_CASE("operator precedence", "[ast][expr]") {
  CHECK(ParseToSexpr("a + b * c") == "(+ a (* b c))");
  CHECK(ParseToSexpr("a * b + c") == "(+ (* a b) c)");
  CHECK(ParseToSexpr("a - b - c") == "(- (- a b) c)");
  CHECK(ParseToSexpr("a mod b / c") == "(/ (mod a b) c)");
  CHECK(ParseToSexpr("not a and b") == "(and (not a) b)");
  CHECK(ParseToSexpr("a or b and c") == "(or a (and b c))");
  CHECK(ParseToSexpr("not a == b") == "(not (== a b))");
  CHECK(ParseToSexpr("- x * y") == "(* (- x) y)");
  CHECK(ParseToSexpr("- - x") == "(- (- x))");
  CHECK(ParseToSexpr("a + b >= c * 2") == "(>= (+ a b) (* c 2))");
  CHECK(ParseToSexpr("x in [1, 2, 3] and y") == "(and (in x [1 2 3]) y)");
  CHECK(ParseToSexpr("if a then b else if c then d else e") == "(if a b (if c d e))");
  CHECK(ParseToSexpr("if a then 1 else 2 + 3") == "(if a 1 (+ 2 3))");
  CHECK(ParseToSexpr("if if a then b else c then d else e") == "(if (if a b c) d e)");
  CHECK(ParseToSexpr("(a + b) * c") == "(* (+ a b) c)");
  CHECK(ParseToSexpr("now - 30 days") == "(- now 30 days)");
  CHECK(ParseToSexpr("date(now) == today") == "(== (date now) today)");
}

TEST_CASE("literals keep their text", "[ast][expr]") {
  CHECK(ParseToSexpr("1_000_000") == "1_000_000");
  CHECK(ParseToSexpr("2.5") == "2.5");
  CHECK(ParseToSexpr("2.5%") == "2.5%");
  CHECK(ParseToSexpr("250.50 USD") == "250.50 USD");
  CHECK(ParseToSexpr("1_000 EUR") == "1_000 EUR");
  CHECK(ParseToSexpr("2026-03-01") == "2026-03-01");
  CHECK(ParseToSexpr("2026-03-01T10:00:00Z") == "2026-03-01T10:00:00Z");
  CHECK(ParseToSexpr("2026-03-01T10:00:00.250+02:00") == "2026-03-01T10:00:00.250+02:00");
  CHECK(ParseToSexpr("true or false") == "(or true false)");
  CHECK(ParseToSexpr("1 minute + 2 hours + 1 week") == "(+ (+ 1 minute 2 hours) 1 week)");
  // Dates win over subtraction by longest match; with spaces it is subtraction.
  CHECK(ParseToSexpr("2026 - 03 - 01") == "(- (- 2026 03) 01)");

  Diagnostics diags("expr", "30%");
  ExprPtr percent = ParseExpression("30%", diags);
  REQUIRE(percent);
  CHECK(percent->kind == ExprKind::PercentLit);
  CHECK(percent->text == "30");
  CHECK(percent->range.length == 3);
}

TEST_CASE("after `.` any word names a field", "[ast][expr]") {
  CHECK(ParseToSexpr("deposit.time") == "deposit.time");
  CHECK(ParseToSexpr("client.id") == "client.id");
  CHECK(ParseToSexpr("x.date") == "x.date");
  CHECK(ParseToSexpr("e.count + e.end") == "(+ e.count e.end)");
  Diagnostics diags("expr", "deposit.time");
  ExprPtr e = ParseExpression("deposit.time", diags);
  REQUIRE(e);
  CHECK(e->kind == ExprKind::Field);
  CHECK(e->text == "time");
  CHECK(e->name_range.column == 9);
  CHECK(e->name_range.length == 4);
  CHECK(e->range.column == 1);
  CHECK(e->range.length == 12);
  CHECK(e->args[0]->kind == ExprKind::Name);
  // Declared fields may be keywords too, except ones that start declarations or actions.
  Parsed p("program \"x\"\nevent e { date: date, time: time, client: string, count: int }\n");
  INFO(Listing(p.diags));
  CHECK(p.diags.all().empty());
  CHECK(p.program->events[0].fields.size() == 4);
}

TEST_CASE("aggregates through ParseExpression", "[ast][expr]") {
  Diagnostics d1("expr", "");
  ExprPtr count = ParseExpression("count(trade within 30 days)", d1);
  REQUIRE(count);
  CHECK(count->kind == ExprKind::Aggregate);
  CHECK(count->agg == AggKind::Count);
  CHECK(count->text == "trade");
  CHECK(count->field.empty());
  CHECK(count->where == nullptr);
  REQUIRE(count->within);
  CHECK(count->within->count == 30);
  CHECK(count->within->unit == DurationUnit::Day);
  CHECK(count->name_range.column == 7);
  CHECK(count->range.length == 27);

  Diagnostics d2("expr", "");
  ExprPtr sum =
      ParseExpression("sum(trade.volume where trade.symbol == \"EURUSD\" within 4 weeks)", d2);
  REQUIRE(sum);
  CHECK(sum->agg == AggKind::Sum);
  CHECK(sum->text == "trade");
  CHECK(sum->field == "volume");
  CHECK(sum->field_range.column == 11);
  REQUIRE(sum->where);
  CHECK(Sexpr(std::move(sum->where)) == "(== trade.symbol \"EURUSD\")");
  REQUIRE(sum->within);
  CHECK(sum->within->count == 4);
  CHECK(sum->within->unit == DurationUnit::Week);

  CHECK(ParseToSexpr("avg(t.x) + highest(t.x where t.y > 1) - lowest(t.x within 2 hours)") ==
        "(- (+ (avg t.x) (highest t.x where (> t.y 1))) (lowest t.x within 2 hours))");
}

TEST_CASE("ParseExpression returns null on any error", "[ast][expr]") {
  for (const char* text : {"", "a +", "1 2", "count()", "f(1,,2)", "a.", "(a"}) {
    Diagnostics diags("expr", text);
    INFO(text);
    CHECK(ParseExpression(text, diags) == nullptr);
    CHECK(diags.HasErrors());
  }
}

// ---------------------------------------------------------------- Unicode and strings

TEST_CASE("Unicode identifiers and strings", "[ast][unicode]") {
  Parsed p(R"(program "Лояльность"
event покупка { сумма: money }
wallet баллы: int
rule приветствие "Привет"
  on покупка
  when покупка.сумма > 5 EUR
  then notify "Анна" { имя: "\u{1F600}\t\"\\\n" }
end
)");
  INFO(Listing(p.diags));
  REQUIRE(p.diags.all().empty());
  CHECK(p.program->name == "Лояльность");
  CHECK(p.program->events[0].name == "покупка");
  const RuleDecl& r = p.program->rules[0];
  CHECK(r.name == "приветствие");
  CHECK(r.label == "Привет");
  CHECK(r.trigger.event == "покупка");
  CHECK(r.actions[0].target == "Анна");
  CHECK(r.actions[0].data[0].key == "имя");
  CHECK(r.actions[0].data[0].value->text == "\xF0\x9F\x98\x80\t\"\\\n");
  // Columns and lengths count code points, not bytes.
  const Expr& when = *r.when;
  CHECK(when.range.line == 6);
  CHECK(when.range.column == 8);
  CHECK(when.range.length == std::string("покупка.сумма > 5 EUR").size() - 12);
  CHECK(when.args[1]->range.column == 24);
  CHECK(when.args[0]->name_range.column == 16);
  CHECK(when.args[0]->name_range.length == 5);
}

TEST_CASE("bad escapes are reported where they are", "[ast][unicode]") {
  Parsed p(R"(program "x"
rule r every day then
  grant "a\qb"
  notify "\u{110000} \u{D800} \u{} \u{1234567} ok \u{41}"
end
)");
  std::vector<uint32_t> columns;
  for (const Diagnostic& d : p.diags.all()) {
    CHECK(d.kind == DiagKind::BadEscape);
    CHECK(d.range.line == (columns.empty() ? 3u : 4u));
    columns.push_back(d.range.column);
  }
  CHECK(columns == std::vector<uint32_t>{11, 11, 22, 31, 36});
  CHECK(p.diags.all()[0].message.find("`\\q`") != std::string::npos);
  CHECK(p.diags.all()[0].range.length == 2);
  // The actions stay, so the checker still sees the rule.
  CHECK(p.program->rules[0].actions.size() == 2);
}

TEST_CASE("a string literal with a bad escape becomes an Error node", "[ast][unicode]") {
  Parsed p("program \"x\"\nparam p = \"a\\rb\"\n");
  CHECK(ErrorLines(p.diags, DiagKind::BadEscape) == std::vector<uint32_t>{2});
  CHECK(p.program->params[0].value->kind == ExprKind::Error);
}

TEST_CASE("ill-formed UTF-8 is reported, not thrown", "[ast][unicode]") {
  Parsed p("program \"x\"\n# caf\xE9\nparam p = \"\xFF\xFE\"\n");
  CHECK(ErrorLines(p.diags, DiagKind::SyntaxError) == std::vector<uint32_t>{2, 3});
  REQUIRE(p.program->params.size() == 1);
  CHECK(p.program->params[0].value->text == "\xEF\xBF\xBD\xEF\xBF\xBD");
}

// ---------------------------------------------------------------- syntax errors

TEST_CASE("three broken rules give three errors at their lines", "[ast][errors]") {
  Parsed p(R"(program "Broken"
currency USD
event deposit { amount: money }
wallet bonus: money

rule one
  then credit bonus 5 USD
end

rule two
  on deposit
  when deposit.amount >=
  then credit bonus 5 USD
end

rule three
  on deposit
  then credit bonus 5 USD

rule four
  on deposit
  then credit bonus 1 USD
end
)");
  INFO(Listing(p.diags));
  CHECK(ErrorLines(p.diags, DiagKind::SyntaxError) == std::vector<uint32_t>{7, 13, 18});
  const auto& all = p.diags.all();
  REQUIRE(all.size() == 3);
  CHECK(all[0].message ==
        "unexpected `then`; a rule needs a trigger (`on EVENT`, `on tier_changed` or "
        "`every day`) first");
  CHECK(all[1].message == "unexpected `then`; expected an expression");
  CHECK(all[2].message == "expected `end` to close rule `three`");
  // Just after the last token of the unfinished rule.
  CHECK(all[2].range.column == 26);
  // Rules that parsed, or parsed in part, are all in the tree.
  REQUIRE(p.program->rules.size() == 3);
  CHECK(p.program->rules[0].name == "two");
  CHECK(p.program->rules[0].when->args[1]->kind == ExprKind::Error);
  CHECK(p.program->rules[2].name == "four");
  CheckProgramShape(*p.program);
}

TEST_CASE("syntax errors are worded for people", "[ast][errors]") {
  struct Case {
    const char* source;
    const char* message;
    uint32_t line, column;
  };
  const Case cases[] = {
      {"event e {}", "unexpected `event`; a program starts with `program \"Name\"`", 1, 1},
      {"program \"x\"\nwalet w: int", "unexpected `walet`; did you mean `wallet`?", 2, 1},
      {"program \"x\"\nrule r on e wen x then end", "unexpected `wen`; did you mean `when`?", 2,
       13},
      {"program \"x\"\nrule r on e when x = 1 then end",
       "unexpected `=`; to compare two values write `==`", 2, 20},
      {"program \"x\"\nrule r on e when 1 < x < 3 then end",
       "unexpected `<`; comparisons do not chain: write `a < b and b < c`", 2, 24},
      {"program \"x\"\nrule r on e when x credit w 1 end",
       "unexpected `credit`; write `then` before the actions", 2, 20},
      {"program \"x\"\nevent e { a: int\nwallet w: int", "expected `}` to close event `e`", 2,
       17},
      {"program \"x\"\nparam p = min(1, 2\nwallet w: int",
       "expected `)` to close the `(` on line 2", 2, 19},
      {"program \"x\"\nparam p = 1 + if a then 1 else 2",
       "an `if` inside a larger expression goes in parentheses: `(if c then a else b)`", 2, 15},
      {"program \"x\"\nparam p = if a then 1\nwallet w: int",
       "expected `else` after `1`; an `if` inside an expression needs one: "
       "`if c then a else b`",
       2, 22},
      {"program \"x\"\nparam p = if a then 1 end",
       "unexpected `end`; expected `else`; an `if` inside an expression needs one: "
       "`if c then a else b`",
       2, 23},
      {"program \"x\"\nrule on e then end", "expected a rule name before `on`", 2, 6},
      {"program \"x\"\nsegment s\nwallet w: int", "expected `when` after `s`", 2, 10},
      {"program \"x\"\nrule r on e then\n  if x then grant \"a\"\nrule q on e then end",
       "expected `end` to close the `if` on line 3", 3, 22},
      {"program \"x\"\nparam p = a.", "unexpected end of the program; expected a field name "
       "after `.`", 2, 13},
      {"program \"x\"\nparam p = 30 %", "unexpected `%`; write a percentage with no space "
       "before `%`, as in `30%`", 2, 14},
      {"program \"x\"\nparam p = a && b", "unexpected `&&`; write `and` instead", 2, 13},
      {"program \"x\"\nparam p = \"abc\nwallet w: int",
       "this string has no closing `\"`; a string ends on its own line", 2, 11},
      {"program \"x\"\nparam p = 1 @ 2", "unexpected character `@`", 2, 13},
      {"program \"x\"\nwallet w int", "expected `:` before `int`", 2, 10},
      {"program \"x\"\nwallet w: 5", "unexpected `5`; expected a type (`int`, `decimal`, "
       "`money`, `bool`, `string`, `time`, `date`, `tier` or `client`)", 2, 11},
      {"program \"x\"\nrule r on 5 then end", "unexpected `5`; expected an event name, "
       "`tier_changed`, `entering` or `leaving`", 2, 11},
      {"program \"x\"\nprogram \"y\"", "unexpected `program`; `program \"Name\"` comes once, "
       "at the top of the file", 2, 1},
  };
  for (const Case& c : cases) {
    Parsed p(c.source);
    INFO(c.source << "\n" << Listing(p.diags));
    REQUIRE(!p.diags.all().empty());
    const Diagnostic& first = p.diags.all()[0];
    CHECK(first.kind == DiagKind::SyntaxError);
    CHECK(first.range.length >= 1);
    CHECK(first.message == c.message);
    CHECK(first.range.line == c.line);
    CHECK(first.range.column == c.column);
    CHECK(p.diags.all().size() == 1);
    CheckProgramShape(*p.program);
  }
}

TEST_CASE("builder-level errors: duplicate clauses, bad literals, duplicate currency",
          "[ast][errors]") {
  Parsed p(R"(program "x"
currency USD
rule r
  on e
  when a
  limit once per client
  when b
  budget 5 USD
  limit 2 per client
  budget 6 USD
  then set v = 99999999999999999999
end
tier T when x hold 99999999999999999999 days
param t = 2026-03-01T10:00
param d = 1.5 days
param c = count(e.x)
param s = sum(e)
currency EUR
)");
  INFO(Listing(p.diags));
  CHECK(ErrorLines(p.diags, DiagKind::DuplicateClause) == std::vector<uint32_t>{7, 9, 10});
  CHECK(ErrorLines(p.diags, DiagKind::BadLiteral) == std::vector<uint32_t>{11, 13, 14, 15});
  CHECK(ErrorLines(p.diags, DiagKind::SyntaxError) == std::vector<uint32_t>{16, 17});
  CHECK(ErrorLines(p.diags, DiagKind::DuplicateCurrency) == std::vector<uint32_t>{18});
  const auto& all = p.diags.all();
  CHECK(all[0].message == "rule `r` has two `when` clauses; join the conditions with `and`");
  REQUIRE(all[0].notes.size() == 1);
  CHECK(all[0].notes[0].first.line == 5);
  // The first clause of each kind is kept.
  const RuleDecl& r = p.program->rules[0];
  CHECK(r.when->text == "a");
  CHECK(r.limit->once);
  CHECK(r.budget->amount->text == "5");
  CHECK(r.actions[0].value->kind == ExprKind::Error);
  CHECK(*p.program->currency == "USD");
  CHECK(p.program->params[1].value->kind == ExprKind::Error);
  CHECK_FALSE(p.program->tiers[0].hold);
}

TEST_CASE("the largest int is fine, one more is not", "[ast][errors]") {
  Parsed ok("program \"x\"\nparam p = 9_223_372_036_854_775_807\n");
  CHECK(ok.diags.all().empty());
  Parsed bad("program \"x\"\nparam p = 9_223_372_036_854_775_808\n");
  CHECK(ErrorLines(bad.diags, DiagKind::BadLiteral) == std::vector<uint32_t>{2});
}

TEST_CASE("syntax errors stop at 50", "[ast][errors]") {
  std::string source = "program \"x\"\n";
  for (int i = 0; i < 80; ++i) source += "rule r" + std::to_string(i) + " then end\n";
  Parsed p(source);
  CHECK(p.diags.errors() == 51);
  CHECK(p.diags.all().back().message.find("too many syntax errors") == 0);
}

TEST_CASE("random damage never crashes and never leaves a null", "[ast][errors]") {
  std::mt19937 rng(12345);
  const std::vector<std::string> pieces = {
      "(", ")", "{", "}", "[", "]", ",", ":", ".", "=", "==", "end", "then", "if", "else",
      "rule", "when", "\"", "\\", "%", "5", "x", "on", "limit", "budget", "within", "days",
      "@", "\n", "2026-01-01", "count(", "-", "not", "\xC3", "\xE2\x80\x9C"};
  for (const char* base : {kFirstDeposit, kTiers, kDaily, kBudget, kCheckErrors}) {
    for (int round = 0; round < 150; ++round) {
      std::string text = base;
      int edits = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < edits; ++k) {
        size_t at = rng() % (text.size() + 1);
        switch (rng() % 3) {
          case 0: text.erase(at, 1 + rng() % 6); break;
          case 1: text.insert(at, pieces[rng() % pieces.size()]); break;
          default: text.insert(at, " " + pieces[rng() % pieces.size()] + " "); break;
        }
      }
      Parsed p(text);
      INFO(text);
      REQUIRE(p.program != nullptr);
      CheckProgramShape(*p.program);
      for (const Diagnostic& d : p.diags.all()) {
        CHECK(d.range.line >= 1);
        CHECK(d.range.column >= 1);
        CHECK(d.message.find("mismatched") == std::string::npos);
        CHECK(d.message.find("<EOF>") == std::string::npos);
      }
      (void)p.diags.Render();
    }
  }
}

TEST_CASE("Dump prints declarations and rules", "[ast]") {
  Parsed p(kBudget);
  CHECK(Dump(*p.program) == R"(program "Budget"
currency USD
event deposit
  amount: money
wallet bonus: money
var deposits_seen: int = 0
rule cashback
  on deposit
  limit 2 per client within 7 days
  budget 100 USD
  then
    set deposits_seen = (+ deposits_seen 1)
    credit bonus (* deposit.amount 10%)
    emit "cashback_paid" {n: deposits_seen}
end
)");
}

TEST_CASE("[v0.2] timezone, calendar calls, month and year durations, previous windows, every week/month", "[ast]") {
  Parsed p(R"(program "Calendar"
currency USD
timezone "Asia/Tokyo"
event trade { volume: money, day: date }
tier Base
tier Gold when sum(trade.volume within previous 1 month) > 0 USD hold 2 months
rule r
  on trade
  when weekday(trade.time) >= 6 and hour(trade.time) < 6 and year(trade.day) > 2000
  limit once per client within previous 2 years
  then emit "x" { m: month(trade.time + 1 year), d: day(trade.day - 3 months), n: minute(now), day: trade.day }
end
rule w every week then emit "w" end
rule m every month then emit "m" end
)");
  INFO(Listing(p.diags));
  REQUIRE_FALSE(p.diags.HasErrors());
  const Program& prog = *p.program;
  REQUIRE(prog.timezone);
  CHECK(*prog.timezone == "Asia/Tokyo");
  const auto& window = prog.tiers[1].when->args[0]->within;
  REQUIRE(window);
  CHECK(window->previous);
  CHECK(window->unit == DurationUnit::Month);
  REQUIRE(prog.tiers[1].hold);
  CHECK(prog.tiers[1].hold->unit == DurationUnit::Month);
  CHECK_FALSE(prog.tiers[1].hold->previous);
  CHECK(prog.rules[0].limit->within->previous);
  CHECK(prog.rules[0].limit->within->unit == DurationUnit::Year);
  CHECK(Sexpr(std::move(p.program->rules[0].when)) ==
        "(and (and (>= (weekday trade.time) 6) (< (hour trade.time) 6)) (> (year trade.day) 2000))");
  CHECK(prog.rules[1].trigger.kind == TriggerKind::EveryWeek);
  CHECK(prog.rules[2].trigger.kind == TriggerKind::EveryMonth);
  // A second `timezone` is reported where it is written.
  Parsed twice("program \"x\"\ntimezone \"UTC\"\ntimezone \"UTC\"\n");
  CHECK(twice.diags.HasErrors());
}

TEST_CASE("v0.2 `on EVENT reversed` triggers", "[ast]") {
  Parsed p(R"(program "R"
event deposit { amount: int }
rule a on deposit then emit "x" end
rule b on deposit reversed then emit "y" { amount: deposit.amount } end
)");
  REQUIRE(p.diags.all().empty());
  const Program& prog = *p.program;
  REQUIRE(prog.rules.size() == 2);
  CHECK(prog.rules[0].trigger.kind == TriggerKind::Event);
  CHECK_FALSE(prog.rules[0].trigger.reversed);
  CHECK(prog.rules[1].trigger.kind == TriggerKind::Event);
  CHECK(prog.rules[1].trigger.event == "deposit");
  CHECK(prog.rules[1].trigger.reversed);
  CHECK(Dump(prog).find("  on deposit reversed\n") != std::string::npos);
}

TEST_CASE("v0.2 rule clauses: keyed limits, per-client and partial budgets, segment triggers", "[ast]") {
  Parsed p(R"(program "V2"
currency USD
event signup { friend: string }
wallet bonus: money
segment active when count(signup) >= 1
rule r
  on signup
  budget 10 USD partial
  limit once per signup.friend within 30 days
  budget 5 per client within 7 days
  then credit bonus 1 USD
end
rule e on entering active then credit bonus 1 USD end
rule l on leaving active limit 2 per client then credit bonus 1 USD end
)");
  REQUIRE(p.diags.all().empty());
  const Program& prog = *p.program;
  REQUIRE(prog.rules.size() == 3);
  const RuleDecl& r = prog.rules[0];
  REQUIRE(r.limit);
  REQUIRE(r.limit->key);
  CHECK(r.limit->key->kind == ExprKind::Field);
  REQUIRE(r.budget);
  CHECK(r.budget->partial);
  CHECK_FALSE(r.budget->per_client);
  REQUIRE(r.client_budget);
  CHECK(r.client_budget->per_client);
  CHECK_FALSE(r.client_budget->partial);
  CHECK(r.client_budget->amount->kind == ExprKind::IntLit);
  CHECK(prog.rules[1].trigger.kind == TriggerKind::Entering);
  CHECK(prog.rules[1].trigger.event == "active");
  CHECK(prog.rules[2].trigger.kind == TriggerKind::Leaving);
  REQUIRE(prog.rules[2].limit);
  CHECK_FALSE(prog.rules[2].limit->key);
  const std::string dump = Dump(prog);
  CHECK(dump.find("  limit once per signup.friend within 30 days\n  budget 10 USD partial\n"
                  "  budget 5 per client within 7 days\n") != std::string::npos);
  CHECK(dump.find("  on entering active\n") != std::string::npos);
  CHECK(dump.find("  on leaving active\n  limit 2 per client\n") != std::string::npos);
}

}  // namespace
}  // namespace perk::ast

// ---------------------------------------------------------------- diagnostics.cpp

namespace perk {
namespace {

TEST_CASE("Render prints the location, the line and a caret", "[diagnostics]") {
  std::string source = "program \"x\"\nrule r on e when x = 1 then end\n";
  Diagnostics diags("promo.perk", source);
  diags.Report(DiagKind::UnknownName, {2, 18, 1}, "unknown name `x`");
  diags.Note({1, 9, 3}, "the program is named here");
  diags.Report(DiagKind::SyntaxError, {2, 13, 4}, "first by position");
  diags.Report(DiagKind::UncappedCredit, {2, 1, 4}, "a warning");
  CHECK(diags.errors() == 2);
  CHECK(diags.warnings() == 1);
  CHECK(diags.Render() ==
        "promo.perk:2:1: warning: a warning [W0001]\n"
        "  rule r on e when x = 1 then end\n"
        "  ^~~~\n"
        "promo.perk:2:13: error: first by position [E0001]\n"
        "  rule r on e when x = 1 then end\n"
        "              ^~~~\n"
        "promo.perk:2:18: error: unknown name `x` [E0011]\n"
        "  rule r on e when x = 1 then end\n"
        "                   ^\n"
        "promo.perk:1:9: note: the program is named here\n"
        "  program \"x\"\n"
        "          ^~~\n");
}

TEST_CASE("Render counts code points and keeps tabs", "[diagnostics]") {
  std::string source = "\tпараметр = «x» @\n";
  Diagnostics diags("t.perk", source);
  diags.Report(DiagKind::SyntaxError, {1, 17, 1}, "unexpected character `@`");
  CHECK(diags.Render() ==
        "t.perk:1:17: error: unexpected character `@` [E0001]\n"
        "  \tпараметр = «x» @\n"
        "  \t               ^\n");
}

TEST_CASE("Render keeps the caret on the line and handles odd places", "[diagnostics]") {
  Diagnostics diags("t.perk", "ab\r\n");
  diags.Report(DiagKind::SyntaxError, {1, 2, 40}, "long");
  diags.Report(DiagKind::SyntaxError, {1, 3, 1}, "at the end");
  diags.Report(DiagKind::UnknownName, {0, 0, 1}, "no place");
  diags.Report(DiagKind::SyntaxError, {9, 1, 1}, "past the end");
  CHECK(diags.Render() ==
        "t.perk: error: no place [E0011]\n"
        "t.perk:1:2: error: long [E0001]\n"
        "  ab\n"
        "   ^\n"
        "t.perk:1:3: error: at the end [E0001]\n"
        "  ab\n"
        "    ^\n"
        "t.perk:9:1: error: past the end [E0001]\n");
}

TEST_CASE("Render colours only when asked", "[diagnostics]") {
  Diagnostics diags("t.perk", "x\n");
  diags.Report(DiagKind::SyntaxError, {1, 1, 1}, "bad");
  CHECK(diags.Render(false).find('\033') == std::string::npos);
  std::string coloured = diags.Render(true);
  CHECK(coloured.find("\033[1;31merror:\033[0m") != std::string::npos);
}

TEST_CASE("the registry lists every kind once", "[diagnostics]") {
  const auto& kinds = AllDiagKinds();
  REQUIRE(!kinds.empty());
  CHECK(kinds.front() == DiagKind::SyntaxError);
  std::set<std::string> codes, names;
  for (DiagKind kind : kinds) {
    codes.insert(Info(kind).code);
    names.insert(Info(kind).name);
  }
  CHECK(codes.size() == kinds.size());
  CHECK(names.size() == kinds.size());
  CHECK(std::string(Info(DiagKind::BadEscape).code) == "E0002");
  CHECK(Info(DiagKind::UnusedDeclaration).severity == Severity::Warning);
}

TEST_CASE("ClosestName suggests only close names", "[diagnostics]") {
  std::vector<std::string> names = {"bonus", "points", "deposit", "Gold", "покупка"};
  CHECK(ClosestName("bonuss", names) == "bonus");
  // Levenshtein: a swap costs two edits, too many for a five-letter name.
  CHECK(ClosestName("bonsu", names) == "");
  CHECK(ClosestName("point", names) == "points");
  CHECK(ClosestName("gold", names) == "Gold");
  CHECK(ClosestName("depost", names) == "deposit");
  CHECK(ClosestName("покупкa", names) == "покупка");  // a Latin `a` at the end
  CHECK(ClosestName("xyz", names) == "");
  CHECK(ClosestName("withdrawal", names) == "");
  CHECK(ClosestName("bonus", {}) == "");
}

}  // namespace
}  // namespace perk
