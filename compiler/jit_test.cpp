// Tests for the JIT (compiler/jit.cpp through runtime/jit_evaluator.cpp): every operation
// against stdlib's ApplyOp on edge values, error sites, strings, badges, aggregates, short
// circuits, and programs large enough to be split into several modules. The interpreter is
// the reference; tests/difftest compares the two engines on random programs as well.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <climits>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/jit.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"
#include "runtime/state.h"
#include "stdlib/ops.h"
#include "stdlib/stdlib.h"

namespace perk {
namespace {

using checked::Expr;
using checked::ExprKind;

std::unique_ptr<checked::Program> MustCompile(std::string_view source) {
  Diagnostics diags("test.perk", source);
  auto program = CompileProgram(source, diags);
  INFO(source << diags.Render());
  REQUIRE(program != nullptr);
  return program;
}

int64_t At(const char* text) {
  std::string err;
  auto t = stdlib::ParseTime(text, &err);
  REQUIRE(t.has_value());
  return *t;
}

int64_t Day(const char* text) {
  std::string err;
  auto d = stdlib::ParseDate(text, &err);
  REQUIRE(d.has_value());
  return *d;
}

// The 1-based column of `needle` on 1-based line `line` of `source`.
uint32_t Column(std::string_view source, int line, std::string_view needle) {
  size_t start = 0;
  for (int k = 1; k < line; ++k) start = source.find('\n', start) + 1;
  size_t at = source.find(needle, start);
  REQUIRE(at != std::string_view::npos);
  REQUIRE(source.substr(start, at - start).find('\n') == std::string_view::npos);
  return static_cast<uint32_t>(at - start + 1);
}

// A compiled program with both evaluators and one client and one event record to evaluate
// its expressions against.
struct Harness {
  std::unique_ptr<checked::Program> program;
  std::unique_ptr<runtime::Evaluator> jit;
  runtime::InterpEvaluator interp;
  runtime::ClientState client;
  runtime::Record record;
  int64_t now = 0;

  explicit Harness(std::string_view source) : program(MustCompile(source)) {
    std::string error;
    jit = runtime::CreateEvaluator(runtime::EngineKind::Jit, *program, &error);
    INFO(error);
    REQUIRE(jit != nullptr);
    client = runtime::NewClient(*program, "c1", At("2026-01-01T00:00:00Z"));
    record.kind = runtime::RecordKind::Event;
    record.event_index = 0;
    record.id = "e1";
    record.client = "c1";
    now = record.time = At("2026-03-01T10:00:00Z");
    if (!program->events.empty()) record.fields.resize(program->events[0].fields.size());
  }

  runtime::EvalContext Context() const {
    runtime::EvalContext ctx;
    ctx.program = program.get();
    ctx.client = &client;
    ctx.event = &record;
    ctx.now = now;
    ctx.today = perk_time_date(now);
    return ctx;
  }

  // The data values of the first rule's first action, by key.
  const Expr& Data(std::string_view key) const {
    for (const auto& d : program->rules.at(0).actions.at(0).data)
      if (d.key == key) return d.value;
    FAIL("no data key " << key);
    return program->rules[0].actions[0].data[0].value;
  }

  struct Outcome {
    PerkStatus status;
    Value value;
    SourceRange where;
  };
  Outcome Run(runtime::Evaluator& e, const Expr& x) const {
    Outcome o{PERK_OK, {}, {}};
    o.status = e.Evaluate(x, Context(), &o.value, &o.where);
    return o;
  }
  Outcome Jit(const Expr& x) const { return Run(*jit, x); }
  Outcome Interp(const Expr& x) const { return Run(const_cast<runtime::InterpEvaluator&>(interp), x); }
};

// Edge values for each type, as stored in a Value.
std::vector<Value> EdgeValues(Type t) {
  std::vector<Value> out;
  auto ints = [&](std::initializer_list<int64_t> vs) {
    for (int64_t v : vs) out.push_back(Value::Int(v));
  };
  switch (t) {
    case Type::Int:
    case Type::Decimal:
    case Type::Money:
      ints({0, 1, -1, 2, -2, 7, -7, 49, 50, -50, 99, 100, 101, 499'999, 500'000, -500'000, 1'000'000, -1'000'000,
            1'500'001, 3'037'000'499, 3'037'000'500, -3'037'000'500, 9'223'372'036'854, 9'223'372'036'855,
            -9'223'372'036'855, INT64_MAX, INT64_MAX - 1, INT64_MIN, INT64_MIN + 1});
      break;
    case Type::Bool: ints({0, 1}); break;
    case Type::String:
      for (const char* s : {"", "a", "ab", "abc", "ABC", "b", "Straße", "STRASSE", "ΣΊΣΥΦΟΣ", "σίσυφος", "привет",
                            "😀", "a😀", "\xC3\xA9", "a string long enough to live outside any small-string buffer"})
        out.push_back(Value::Str(s));
      out.push_back(Value::Str(std::string("a\0b", 3)));
      break;
    case Type::Time:
      ints({0, -1, 1, 86'399'999'999, 86'400'000'000, -86'400'000'000, At("2024-02-29T23:59:59.999999Z"),
            At("2026-03-01T10:00:00Z"), At("0000-01-01T00:00:00Z"), At("9999-12-31T23:59:59.999999Z"),
            // Berlin's 2026 clock changes: the gap at 02:00 local, and the repeated 02:00-03:00.
            At("2026-03-29T00:59:59.5Z"), At("2026-03-29T01:00:00Z"), At("2026-02-28T01:30:00Z"),
            At("2026-10-25T00:30:00Z"), At("2026-10-25T01:30:00Z"), At("2026-01-31T23:30:00Z")});
      break;
    case Type::Date:
      ints({0, -1, 1, Day("2024-02-29"), Day("2025-02-28"), Day("2026-02-28"), Day("2000-02-29"), Day("2026-03-01"),
            Day("0000-01-01"), Day("9999-12-31")});
      break;
    default: break;
  }
  return out;
}

// Checks the JIT against ApplyOp and the interpreter for the single operation `x`, whose
// operands are event fields (or `today`), over every combination of edge values.
void CheckOpOnEdges(Harness& h, const Expr& x, OpCode op) {
  REQUIRE(x.kind == ExprKind::Op);
  REQUIRE(x.op == op);
  REQUIRE(x.args.size() == static_cast<size_t>(OpArity(op)));
  std::vector<std::vector<Value>> domains;
  for (const auto& a : x.args) {
    // A constant operand (the duration of `e.t + 1 minute`) keeps its one value.
    REQUIRE((a.kind == ExprKind::EventField || a.kind == ExprKind::Today || a.kind == ExprKind::Const));
    domains.push_back(a.kind == ExprKind::Const ? std::vector<Value>{a.value} : EdgeValues(a.type));
  }
  std::vector<size_t> pick(domains.size(), 0);
  int checked = 0;
  while (true) {
    Value args[3];
    for (size_t k = 0; k < domains.size(); ++k) {
      args[k] = domains[k][pick[k]];
      if (x.args[k].kind == ExprKind::EventField) h.record.fields[x.args[k].index] = args[k];
      else if (x.args[k].kind == ExprKind::Today) h.now = perk_date_start(args[k].i) + 3'600'000'000;  // `today` is the date of `now`
    }
    Value want;
    PerkStatus want_status = ApplyOp(op, args, &want);
    auto got = h.Jit(x);
    auto ref = h.Interp(x);
    INFO(fmt::format("{}({}, {}) '{}'/'{}'", OpName(op), args[0].i, args[1].i, args[0].s, args[1].s));
    REQUIRE(got.status == want_status);
    REQUIRE(ref.status == want_status);
    if (want_status == PERK_OK) {
      REQUIRE(got.value.i == want.i);
      REQUIRE(got.value.s == want.s);
    } else {
      // A failing operation names itself, in both engines.
      REQUIRE(got.where.line == x.range.line);
      REQUIRE(got.where.column == x.range.column);
      REQUIRE(ref.where.line == x.range.line);
      REQUIRE(ref.where.column == x.range.column);
    }
    ++checked;
    size_t k = 0;
    while (k < pick.size() && ++pick[k] == domains[k].size()) pick[k++] = 0;
    if (k == pick.size()) break;
  }
  CHECK(checked > 0);
}

const char* const kOpsProgram = R"(program "ops"
currency USD
event e { a: int, b: int, d: decimal, f: decimal, m: money, n: money, p: bool, q: bool,
          s: string, u: string, t: time, t2: time, dt: date, dt2: date }
var dv: decimal = 0
rule r on e then
  emit "ops" {
    add: e.a + e.b, sub: e.a - e.b, neg: -e.a, abs: abs(e.a), mul: e.a * e.b, div: e.a / e.b,
    mod: e.a mod e.b, mul_dec: e.d * e.f, div_dec: e.d / e.f, mul_money_int: e.m * e.a,
    mul_money_dec: e.m * e.d, div_money_int: e.m / e.a, div_money_dec: e.m / e.d,
    div_money_money: e.m / e.n, floor_dec: floor(e.d), ceil_dec: ceil(e.d), round_dec: round(e.d),
    floor_money: floor(e.m), ceil_money: ceil(e.m), round_money: round(e.m),
    min: min(e.a, e.b), max: max(e.m, e.n), min_time: min(e.t, e.t2), max_date: max(e.dt, e.dt2),
    eq: e.a == e.b, ne: e.a != e.b, lt: e.a < e.b, le: e.a <= e.b, gt: e.a > e.b, ge: e.a >= e.b,
    eq_bool: e.p == e.q, lt_date: e.dt < e.dt2,
    eq_str: e.s == e.u, ne_str: e.s != e.u, lt_str: e.s < e.u, le_str: e.s <= e.u, gt_str: e.s > e.u,
    ge_str: e.s >= e.u, not: not e.p, date_of: date(e.t), days_between: days_between(e.dt, e.dt2),
    anniversary: anniversary(e.dt), lower: lower(e.s), upper: upper(e.s),
    starts_with: starts_with(e.s, e.u), contains: contains(e.s, e.u), years_between: years_between(e.dt, e.dt2),
    add_time: e.t + 1 minute, sub_time: e.t - 2 days, cmp_int_dec: e.a < e.d
  }
  set dv = e.a
end
)";

TEST_CASE("jit: every operation matches ApplyOp and the interpreter on edge values") {
  Harness h(kOpsProgram);
  const std::vector<std::pair<const char*, OpCode>> cases = {
      {"add", OpCode::Add},
      {"sub", OpCode::Sub},
      {"neg", OpCode::Neg},
      {"abs", OpCode::Abs},
      {"mul", OpCode::MulInt},
      {"div", OpCode::DivInt},
      {"mod", OpCode::ModInt},
      {"mul_dec", OpCode::MulDec},
      {"div_dec", OpCode::DivDec},
      {"mul_money_int", OpCode::MulMoneyInt},
      {"mul_money_dec", OpCode::MulMoneyDec},
      {"div_money_int", OpCode::DivMoneyInt},
      {"div_money_dec", OpCode::DivMoneyDec},
      {"div_money_money", OpCode::DivMoneyMoney},
      {"floor_dec", OpCode::FloorDec},
      {"ceil_dec", OpCode::CeilDec},
      {"round_dec", OpCode::RoundDec},
      {"floor_money", OpCode::FloorMoney},
      {"ceil_money", OpCode::CeilMoney},
      {"round_money", OpCode::RoundMoney},
      {"min", OpCode::Min},
      {"max", OpCode::Max},
      {"min_time", OpCode::Min},
      {"max_date", OpCode::Max},
      {"eq", OpCode::Eq},
      {"ne", OpCode::Ne},
      {"lt", OpCode::Lt},
      {"le", OpCode::Le},
      {"gt", OpCode::Gt},
      {"ge", OpCode::Ge},
      {"eq_bool", OpCode::Eq},
      {"lt_date", OpCode::Lt},
      {"eq_str", OpCode::EqStr},
      {"ne_str", OpCode::NeStr},
      {"lt_str", OpCode::LtStr},
      {"le_str", OpCode::LeStr},
      {"gt_str", OpCode::GtStr},
      {"ge_str", OpCode::GeStr},
      {"not", OpCode::Not},
      {"date_of", OpCode::DateOf},
      {"days_between", OpCode::DaysBetween},
      {"anniversary", OpCode::Anniversary},
      {"years_between", OpCode::YearsBetween},
      {"lower", OpCode::Lower},
      {"upper", OpCode::Upper},
      {"starts_with", OpCode::StartsWith},
      {"contains", OpCode::Contains},
      {"add_time", OpCode::AddTime},
      {"sub_time", OpCode::SubTime},
  };
  for (const auto& [key, op] : cases) {
    INFO(key);
    CheckOpOnEdges(h, h.Data(key), op);
  }
  // int < decimal compares the sign of CmpIntDec with 0.
  CheckOpOnEdges(h, h.Data("cmp_int_dec").args.at(0), OpCode::CmpIntDec);
  // `set dv = e.a` widens the int to the var's decimal.
  CheckOpOnEdges(h, *h.program->rules[0].actions.at(1).value, OpCode::WidenInt);
}

// [v0.2] The calendar in a zone with daylight saving time (the ops that take a zone appear
// only in programs outside UTC).
const char* const kZoneOpsProgram = R"(program "zone ops"
timezone "Europe/Berlin"
event e { t: time, dt: date }
rule r on e then
  emit "ops" {
    date_in: date(e.t), hour_in: hour(e.t), minute_in: minute(e.t), year_of: year(e.dt),
    month_of: month(e.dt), day_of: day(e.dt), weekday_of: weekday(e.dt),
    add_time_in: e.t + 1 month, sub_time_in: e.t - 2 days, add_date: e.dt + 1 month,
    sub_date: e.dt - 3 weeks
  }
end
)";

TEST_CASE("jit: the calendar operations in a zone match ApplyOp and the interpreter on edge values") {
  Harness h(kZoneOpsProgram);
  const std::vector<std::pair<const char*, OpCode>> cases = {
      {"date_in", OpCode::DateIn},       {"hour_in", OpCode::HourIn},         {"minute_in", OpCode::MinuteIn},
      {"year_of", OpCode::YearOf},       {"month_of", OpCode::MonthOf},       {"day_of", OpCode::DayOf},
      {"weekday_of", OpCode::WeekdayOf}, {"add_time_in", OpCode::AddTimeIn},  {"sub_time_in", OpCode::SubTimeIn},
      {"add_date", OpCode::AddDate},     {"sub_date", OpCode::SubDate},
  };
  for (const auto& [key, op] : cases) {
    INFO(key);
    CheckOpOnEdges(h, h.Data(key), op);
  }
}

TEST_CASE("jit: every operation in ops.def is covered by the edge-value test") {
  // A new op must be added to kOpsProgram (or kZoneOpsProgram) and the lists above.
  std::set<int> seen;
  Harness h(kOpsProgram);
  std::function<void(const Expr&)> walk = [&](const Expr& e) {
    if (e.kind == ExprKind::Op) seen.insert(static_cast<int>(e.op));
    for (const auto& a : e.args) walk(a);
  };
  for (const auto& d : h.program->rules[0].actions[0].data) walk(d.value);
  walk(*h.program->rules[0].actions[1].value);
  Harness zone(kZoneOpsProgram);
  for (const auto& d : zone.program->rules[0].actions[0].data) walk(d.value);
  int count = 0;
#define PERK_OP(name, arity, description) ++count;
#include "stdlib/ops.def"
#undef PERK_OP
  CHECK(static_cast<int>(seen.size()) == count);
}

TEST_CASE("jit: a failing sub-expression is reported at its own position, like the interpreter") {
  const char* source = R"(program "sites"
event e { a: int, b: int, c: int }
rule r on e then
  emit "x" {
    nested: e.a * (e.b mod e.c),
    left_first: (e.a / e.c) + (e.a * e.b),
    short_and: e.c != 0 and e.a / e.c > 1,
    short_or: e.c == 0 or e.a mod e.c == 0,
    lazy_if: if e.c == 0 then 0.0 else e.a / e.c,
    widen: e.a + 0.5
  }
end
)";
  Harness h(source);
  auto set = [&](int64_t a, int64_t b, int64_t c) {
    h.record.fields[0] = Value::Int(a);
    h.record.fields[1] = Value::Int(b);
    h.record.fields[2] = Value::Int(c);
  };
  auto same = [&](const char* key, PerkStatus want, uint32_t line, uint32_t column) {
    const Expr& x = h.Data(key);
    auto got = h.Jit(x);
    auto ref = h.Interp(x);
    INFO(key);
    REQUIRE(got.status == want);
    REQUIRE(ref.status == want);
    if (want != PERK_OK) {
      CHECK(got.where.line == line);
      CHECK(got.where.column == column);
      CHECK(ref.where.line == line);
      CHECK(ref.where.column == column);
    } else {
      CHECK(got.value.i == ref.value.i);
    }
  };
  set(5, 7, 0);
  // A range includes the sub-expression's parentheses.
  same("nested", PERK_DIV_BY_ZERO, 5, Column(source, 5, "(e.b mod e.c)"));
  same("left_first", PERK_DIV_BY_ZERO, 6, Column(source, 6, "(e.a / e.c)"));
  same("short_and", PERK_OK, 0, 0);
  same("short_or", PERK_OK, 0, 0);
  same("lazy_if", PERK_OK, 0, 0);
  set(INT64_MAX, 2, 0);
  // Both operands would fail: the left one is reported.
  same("left_first", PERK_DIV_BY_ZERO, 6, Column(source, 6, "(e.a / e.c)"));
  set(4'000'000'000'000'000'000, 3, 10'000'000);
  same("left_first", PERK_OVERFLOW, 6, Column(source, 6, "(e.a * e.b)"));
  same("nested", PERK_OVERFLOW, 5, Column(source, 5, "e.a * (e.b mod e.c)"));
  set(INT64_MAX, 2, 1);
  same("nested", PERK_OK, 0, 0);
  // The int operand, widened to decimal, overflows at its own position.
  same("widen", PERK_OVERFLOW, 10, Column(source, 10, "e.a + 0.5"));
}

TEST_CASE("jit: the engine reports a runtime error naming the rule and position with either engine") {
  auto program = MustCompile(R"(program "reject"
event e { a: int, b: int }
wallet pts: int
rule r on e then
  credit pts 1
  credit pts floor(e.a / e.b)
end
)");
  std::string error;
  auto jit = runtime::CreateEvaluator(runtime::EngineKind::Jit, *program, &error);
  REQUIRE(jit);
  std::map<std::string, std::string> ledgers, rejects;
  for (const char* kind : {"jit", "interp"}) {
    runtime::Engine engine(*program, std::string(kind) == "jit" ? jit.get() : nullptr);
    engine.ProcessLine(R"({"type":"e","id":"1","client":"c","time":"2026-01-01T00:00:00Z","a":7,"b":2})", 1);
    engine.ProcessLine(R"({"type":"e","id":"2","client":"c","time":"2026-01-01T00:00:01Z","a":7,"b":0})", 2);
    ledgers[kind] = engine.ledger();
    rejects[kind] = engine.rejects();
  }
  CHECK(ledgers["jit"] == ledgers["interp"]);
  CHECK(rejects["jit"] == rejects["interp"]);
  CHECK(rejects["jit"] == "{\"line\":2,\"error\":\"rule `r`: division by zero at program line 6, column 20\"}\n");
  // The first credit of the rejected record is rolled back: only record 1's entries remain.
  CHECK(ledgers["jit"].find("\"trigger\":\"2\"") == std::string::npos);
}

TEST_CASE("jit: strings from lower, upper, if and params are returned intact") {
  Harness h(R"(program "strings"
event e { s: string, k: bool }
param greeting = "Grüße"
rule r on e then
  emit "x" {
    lower: lower(e.s), upper: upper(e.s), nested: upper(lower(e.s)),
    pick: if e.k then lower(e.s) else greeting,
    member: lower(e.s) in ["straße", "σίσυφοσ", ""],
    id: e.id, client: client.id, cat: if starts_with(e.s, "a") then e.client else e.id
  }
end
)");
  struct Case {
    const char* in;
    const char* lower;
    const char* upper;
  };
  const Case cases[] = {{"", "", ""},
                        {"ABC", "abc", "ABC"},
                        // One code point to one (no ß -> SS, no final sigma): stdlib's fixed tables.
                        {"Straße", "straße", "STRAßE"},
                        {"ΣΊΣΥΦΟΣ", "σίσυφοσ", "ΣΊΣΥΦΟΣ"},
                        {"ПРИВЕТ мир", "привет мир", "ПРИВЕТ МИР"},
                        {"a string long enough to live outside any small-string buffer",
                         "a string long enough to live outside any small-string buffer",
                         "A STRING LONG ENOUGH TO LIVE OUTSIDE ANY SMALL-STRING BUFFER"}};
  for (const Case& c : cases) {
    for (int k = 0; k < 2; ++k) {
      h.record.fields[0] = Value::Str(c.in);
      h.record.fields[1] = Value::Int(k);
      INFO(c.in);
      CHECK(h.Jit(h.Data("lower")).value.s == stdlib::Lower(c.in));
      CHECK(h.Jit(h.Data("upper")).value.s == stdlib::Upper(c.in));
      CHECK(h.Jit(h.Data("lower")).value.s == c.lower);
      CHECK(h.Jit(h.Data("upper")).value.s == c.upper);
      for (const char* key : {"nested", "pick", "member", "id", "client", "cat"}) {
        auto got = h.Jit(h.Data(key));
        auto ref = h.Interp(h.Data(key));
        INFO(key);
        REQUIRE(got.status == PERK_OK);
        CHECK(got.value == ref.value);
      }
    }
  }
  h.record.fields[1] = Value::Int(0);
  CHECK(h.Jit(h.Data("pick")).value.s == "Grüße");
  h.record.fields[0] = Value::Str("STRASSE");
  CHECK(h.Jit(h.Data("member")).value.i == 0);
  h.record.fields[0] = Value::Str("Straße");
  CHECK(h.Jit(h.Data("member")).value.i == 1);
}

TEST_CASE("jit: has_badge, segments, tiers, wallets, vars and client attributes read the client's state") {
  Harness h(R"(program "state"
currency USD
event e { name: string }
client { country: string = "CY", birthdate: date, vip: bool }
wallet pts: int
wallet cash: money
var best: tier = Silver
var note: string = "n"
tier Bronze
tier Silver when pts > 10
tier Gold when cash >= 100 USD
segment big when pts > 100
rule r on e then
  emit "x" {
    badge: has_badge(e.name), fixed: has_badge("gold"), seg: big, level: tier, best: best,
    up: tier > best, pts: pts, cash: cash, note: note, country: client.country,
    birthday: client.birthdate is set and anniversary(client.birthdate), vip: client.vip otherwise false,
    since: client.since, now: now, today: today, bday_set: client.birthdate is set,
    no_vip: client.vip is not set, age: if client.birthdate is set then years_between(client.birthdate, today) else -1
  }
end
)");
  auto all_same = [&]() {
    for (const auto& d : h.program->rules[0].actions[0].data) {
      auto got = h.Jit(d.value);
      auto ref = h.Interp(d.value);
      INFO(d.key);
      REQUIRE(got.status == PERK_OK);
      CHECK(got.value == ref.value);
    }
  };
  h.record.fields[0] = Value::Str("gold");
  CHECK(h.Jit(h.Data("badge")).value.i == 0);
  all_same();
  h.client.badges = {"silver", "gold"};
  CHECK(h.Jit(h.Data("badge")).value.i == 1);
  CHECK(h.Jit(h.Data("fixed")).value.i == 1);
  h.record.fields[0] = Value::Str("gol");
  CHECK(h.Jit(h.Data("badge")).value.i == 0);
  h.client.set_segment(0, true);
  h.client.tier() = 2;
  h.client.wallets()[0] = 150;
  h.client.wallets()[1] = 12'345;
  h.client.set_var(1, Value::Str("a string long enough to live outside any small-string buffer"));
  // Optional attributes start unset: read through `is set` and `otherwise` in both engines.
  CHECK(h.Jit(h.Data("bday_set")).value.i == 0);
  CHECK(h.Jit(h.Data("no_vip")).value.i == 1);
  CHECK(h.Jit(h.Data("age")).value.i == -1);
  CHECK(h.Jit(h.Data("vip")).value.i == 0);
  h.client.attrs[0] = Value::Str("ΣΊΣΥΦΟΣ");
  h.client.attrs[1] = Value::Int(Day("2000-03-01"));
  h.client.attrs[2] = Value::Int(1);
  h.client.attr_unset[1] = h.client.attr_unset[2] = 0;
  CHECK(h.Jit(h.Data("seg")).value.i == 1);
  CHECK(h.Jit(h.Data("level")).value.i == 2);
  CHECK(h.Jit(h.Data("up")).value.i == 1);
  CHECK(h.Jit(h.Data("pts")).value.i == 150);
  CHECK(h.Jit(h.Data("cash")).value.i == 12'345);
  CHECK(h.Jit(h.Data("note")).value.s == "a string long enough to live outside any small-string buffer");
  CHECK(h.Jit(h.Data("country")).value.s == "ΣΊΣΥΦΟΣ");
  CHECK(h.Jit(h.Data("birthday")).value.i == 1);
  CHECK(h.Jit(h.Data("bday_set")).value.i == 1);
  CHECK(h.Jit(h.Data("no_vip")).value.i == 0);
  CHECK(h.Jit(h.Data("vip")).value.i == 1);
  CHECK(h.Jit(h.Data("age")).value.i == 26);
  CHECK(h.Jit(h.Data("since")).value.i == At("2026-01-01T00:00:00Z"));
  CHECK(h.Jit(h.Data("today")).value.i == Day("2026-03-01"));
  all_same();
}

TEST_CASE("jit: aggregates and where filters give the interpreter's ledger through the engine") {
  const char* source = R"(program "aggs"
currency USD
event deposit { amount: money, method: string = "card", lots: decimal = 1, n: int = 1 }
wallet pts: int
rule r on deposit then
  emit "aggs" {
    count: count(deposit), cards: count(deposit where deposit.method == "card" within 2 days),
    sum: sum(deposit.amount within 3 hours), avg: avg(deposit.amount), avg_n: avg(deposit.n within 1 week),
    high: highest(deposit.lots within 10 minutes), low: lowest(deposit.amount where deposit.amount > 0 USD),
    big: sum(deposit.n where deposit.n > 1000)
  }
  credit pts count(deposit within 1 day)
end
)";
  auto program = MustCompile(source);
  std::string error;
  auto jit = runtime::CreateEvaluator(runtime::EngineKind::Jit, *program, &error);
  REQUIRE(jit);
  const std::vector<std::string> lines = {
      R"({"type":"deposit","id":"1","client":"c","time":"2026-01-01T10:00:00Z","amount":"10.05","n":3})",
      R"({"type":"deposit","id":"2","client":"c","time":"2026-01-01T10:05:00Z","amount":"-3","method":"wire","lots":"2.5"})",
      R"({"type":"deposit","id":"3","client":"d","time":"2026-01-01T12:59:59Z","amount":"0.01","n":5000})",
      R"({"type":"deposit","id":"4","client":"c","time":"2026-01-02T00:00:00Z","amount":"100","n":9223372036854775807})",
      R"({"type":"deposit","id":"5","client":"c","time":"2026-01-02T00:00:01Z","amount":"1","n":9223372036854775807})",
      R"({"type":"deposit","id":"6","client":"c","time":"2026-01-05T00:00:00Z","amount":"7.77","lots":"0.000001"})",
  };
  std::map<std::string, std::string> ledgers, rejects;
  for (const char* kind : {"jit", "interp"}) {
    runtime::Engine engine(*program, std::string(kind) == "jit" ? jit.get() : nullptr);
    for (size_t k = 0; k < lines.size(); ++k) engine.ProcessLine(lines[k], k + 1);
    ledgers[kind] = engine.ledger();
    rejects[kind] = engine.rejects();
  }
  CHECK(ledgers["jit"] == ledgers["interp"]);
  CHECK(rejects["jit"] == rejects["interp"]);
  // Record 5 overflows the running sum behind `big` (n = INT64_MAX twice).
  CHECK(rejects["jit"].find("\"line\":5") != std::string::npos);
  CHECK(ledgers["jit"].find(R"("data":{"count":1,"cards":1,"sum":"10.05","avg":"10.05","avg_n":"3","high":"1","low":"10.05","big":0})") !=
        std::string::npos);
}

TEST_CASE("jit: every top-level expression is compiled, also when the program is split into modules") {
  // Enough expressions for several modules (CompiledProgram splits past 64 per module).
  std::string source = "program \"many\"\nevent e { a: int, b: int }\nwallet pts: int\n";
  const int kRules = 300;
  for (int k = 0; k < kRules; ++k)
    source += fmt::format("rule r{} on e when e.a == {} then credit pts floor(e.a / e.b) + {} end\n", k, k, k);
  auto program = MustCompile(source);
  std::string error;
  auto code = jit::CompiledProgram::Compile(*program, jit::Options{}, &error);
  INFO(error);
  REQUIRE(code);
  for (const auto& r : program->rules) {
    CHECK(code->Find(&*r.when) != nullptr);
    CHECK(code->Find(&*r.actions[0].value) != nullptr);
  }
  CHECK(code->stats().functions == 2 * kRules);
  // Past Options::kLargeProgram functions the light pipeline compiles, and the trigger entries
  // call the expressions instead of inlining them.
  CHECK(code->stats().opt_level == jit::Options::kLight);
  auto jit = runtime::CreateEvaluator(runtime::EngineKind::Jit, *program, &error);
  REQUIRE(jit);
  // A division by zero in rule rK names rK's line, whichever module compiled it.
  const int fail_in[] = {0, 1, 63, 64, 150, 298, 299};
  const int credit_in[] = {2, 64, 65, 199, 299};
  std::map<std::string, std::string> rejects, ledgers;
  for (const char* kind : {"jit", "interp"}) {
    runtime::Engine engine(*program, std::string(kind) == "jit" ? jit.get() : nullptr);
    int line = 0;
    for (int k : fail_in) {
      ++line;
      engine.ProcessLine(fmt::format(R"({{"type":"e","id":"{}","client":"c","time":"2026-01-01T00:00:00Z","a":{},"b":0}})", line, k),
                         line);
    }
    for (int k : credit_in) {
      ++line;
      engine.ProcessLine(fmt::format(R"({{"type":"e","id":"{}","client":"c","time":"2026-01-01T00:00:00Z","a":{},"b":2}})", line, k),
                         line);
    }
    rejects[kind] = engine.rejects();
    ledgers[kind] = engine.ledger();
  }
  CHECK(rejects["jit"] == rejects["interp"]);
  CHECK(ledgers["jit"] == ledgers["interp"]);
  // Rule rK credits floor(K / 2) + K: one credit per event, from the rule its `a` selects.
  for (int k : credit_in) {
    INFO("credit of r" << k);
    CHECK(ledgers["jit"].find(fmt::format("\"rule\":\"r{}\",\"action\":\"credit\",\"wallet\":\"pts\",\"amount\":{},", k, k / 2 + k)) != std::string::npos);
  }
  std::string want;
  int line = 0;
  for (int k : fail_in) {
    ++line;
    want += fmt::format("{{\"line\":{},\"error\":\"rule `r{}`: division by zero at program line {}, column {}\"}}\n", line,
                        k, 4 + k, Column(source, 4 + k, "e.a / e.b"));
  }
  CHECK(rejects["jit"] == want);
}

}  // namespace
}  // namespace perk
