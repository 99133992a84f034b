// Unit tests for the engine's entry points: decoded records take the same path as lines, and
// both evaluators give the same ledger.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include <functional>

#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"
#include "stdlib/stdlib.h"

namespace {

const char* kProgram = R"(program "Engine test"
currency USD
event deposit { amount: money, first: bool = false }
wallet bonus: money
rule welcome
  on deposit
  when deposit.first
  limit once per client
  then credit bonus deposit.amount * 10%
end
rule big
  on deposit
  when deposit.amount >= 1000 USD
  limit once per client
  then credit bonus deposit.amount / (if deposit.first then 0 else 1)
end
)";

const char* kLines[] = {
    R"({"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"250.00","first":true})",
    R"({"first":true,"type":"deposit","client":"c1","id":"d1","time":"2026-01-05T10:00:00Z","amount":250})",
    R"({"type":"deposit","id":"d2","client":"c2","time":"2026-01-05T10:02:00Z","amount":"1000.00","first":true})",
    R"({"type":"deposit","id":"d3","client":"c2","time":"2026-01-05T10:03:00Z","amount":"40.00","first":true})",
};

std::unique_ptr<perk::checked::Program> Compile() {
  perk::Diagnostics diags("test.perk", kProgram);
  auto program = perk::CompileProgram(kProgram, diags);
  INFO(diags.Render(false));
  REQUIRE(program);
  return program;
}

// A program and its JIT evaluator; the test fails on any diagnostic or JIT error.
struct Compiled {
  std::unique_ptr<perk::checked::Program> program;
  std::unique_ptr<perk::runtime::Evaluator> jit;
};
Compiled CompileWithJit(const char* name, const std::string& text) {
  Compiled c;
  perk::Diagnostics diags(name, text);
  c.program = perk::CompileProgram(text, diags);
  INFO(diags.Render(false));
  REQUIRE(c.program);
  std::string error;
  c.jit = perk::runtime::CreateEvaluator(perk::runtime::EngineKind::Jit, *c.program, &error);
  INFO(error);
  REQUIRE(c.jit);
  return c;
}

std::string RunLines(const perk::checked::Program& p, perk::runtime::Evaluator* e, std::string* rejects) {
  perk::runtime::Engine engine(p, e);
  uint64_t n = 0;
  for (const char* line : kLines) engine.ProcessLine(line, ++n);
  *rejects = engine.rejects();
  return engine.ledger();
}

}  // namespace

TEST_CASE("decoded records give the ledger their lines give") {
  auto p = Compile();
  std::string line_rejects;
  std::string by_line = RunLines(*p, nullptr, &line_rejects);
  // The same records, decoded first (no dedup in the decoder: the engine's own check).
  perk::runtime::RecordDecoder decoder(perk::runtime::InputSchemaOf(*p));
  perk::runtime::Engine engine(*p);
  uint64_t n = 0;
  for (const char* line : kLines) {
    perk::runtime::Record rec;
    std::string error;
    REQUIRE(decoder.Decode(line, [](std::string_view) { return false; }, &rec, &error) == perk::runtime::DecodeOutcome::Ok);
    engine.ProcessDecoded(rec, ++n);
  }
  CHECK(engine.ledger() == by_line);
  CHECK(engine.rejects() == line_rejects);
  CHECK(engine.stats().duplicates == 1);
  // d2 divides by zero in rule `big`: rejected whole, its welcome credit rolled back.
  CHECK(line_rejects.find("\"line\":3") != std::string::npos);
  CHECK(line_rejects.find("division by zero") != std::string::npos);
}

TEST_CASE("the JIT and the interpreter write the same ledger and rejects") {
  auto p = Compile();
  std::string error;
  auto jit = perk::runtime::CreateEvaluator(perk::runtime::EngineKind::Jit, *p, &error);
  INFO(error);
  REQUIRE(jit);
  std::string interp_rejects, jit_rejects;
  std::string interp_ledger = RunLines(*p, nullptr, &interp_rejects);
  std::string jit_ledger = RunLines(*p, jit.get(), &jit_rejects);
  CHECK(!interp_ledger.empty());
  CHECK(jit_ledger == interp_ledger);
  CHECK(jit_rejects == interp_rejects);
}

namespace {

// Every kind of client change a record can make, then a division by zero when `boom` is 0.
const char* kRollbackProgram = R"(program "Rollback"
currency USD
event deposit { amount: money, boom: int = 1 }
event ping { }
wallet bonus: money
var note: string = "none"
tier Base
tier Gold when sum(deposit.amount within 30 days) >= 100 USD hold 10 days
segment active when count(deposit within 7 days) >= 1
rule all
  on deposit
  limit 3 per client within 30 days
  then
    credit bonus deposit.amount * 10%
    set note = "a rather long note that does not fit in a short string"
    grant "depositor"
end
rule total
  on deposit
  then emit "total" { sum: sum(deposit.amount within 30 days) }
end
rule ping_total
  on ping
  then emit "total" { sum: sum(deposit.amount within 30 days) }
end
rule fail
  on deposit
  limit 100 per client
  then credit bonus 1 USD / deposit.boom
end
)";

template <typename S>
std::string Series(const S& s) {
  std::string out;
  for (const auto& b : s.buckets) out += fmt::format("[{} {} {} {} {}]", b.key, b.count, b.sum, b.min, b.max);
  return out;
}

std::string FullState(const perk::checked::Program& p, const perk::runtime::ClientState& c) {
  std::string out = perk::runtime::ClientStateJson(p, c);
  for (const auto& s : c.limits) out += " limit" + Series(s);
  for (const auto& s : c.aggs) out += " agg" + Series(s);
  for (int64_t h : c.holds()) out += fmt::format(" hold{}", h);
  for (const auto& rs : c.rule_series) out += fmt::format(" rule{}:{}:{}:{}", rs.rule, static_cast<int>(rs.kind), rs.key.i, rs.key.s) + Series(rs.series);
  return out;
}

}  // namespace

TEST_CASE("a rolled-back record leaves its client exactly as it was") {
  perk::Diagnostics diags("rollback.perk", kRollbackProgram);
  auto p = perk::CompileProgram(kRollbackProgram, diags);
  INFO(diags.Render(false));
  REQUIRE(p);
  std::string error;
  auto jit = perk::runtime::CreateEvaluator(perk::runtime::EngineKind::Jit, *p, &error);
  REQUIRE(jit);
  for (perk::runtime::Evaluator* evaluator : {static_cast<perk::runtime::Evaluator*>(nullptr), jit.get()}) {
    perk::runtime::Engine engine(*p, evaluator);
    // Two accepted deposits on one day (one bucket), so the failing third both adds to an
    // existing bucket and, on a later day, pushes a new one.
    engine.ProcessLine(R"({"type":"deposit","id":"a","client":"c","time":"2026-01-05T10:00:00Z","amount":"60.00"})", 1);
    engine.ProcessLine(R"({"type":"deposit","id":"b","client":"c","time":"2026-01-05T11:00:00Z","amount":"50.00"})", 2);
    REQUIRE(engine.rejects().empty());
    const perk::runtime::ClientState* c = engine.FindClient("c");
    REQUIRE(c);
    CHECK(c->tier() == 1);
    std::string before = FullState(*p, *c);
    std::string ledger_before = engine.ledger();
    engine.ProcessLine(R"({"type":"deposit","id":"x","client":"c","time":"2026-01-05T12:00:00Z","amount":"70.00","boom":0})", 3);
    CHECK(FullState(*p, *engine.FindClient("c")) == before);
    CHECK(engine.ledger() == ledger_before);
    // On a later day (after the ticks up to it), the failing deposit pushes a new bucket.
    engine.AdvanceTo(perk::stdlib::kMicrosPerDay * 20462 + 12 * perk::stdlib::kMicrosPerHour);
    before = FullState(*p, *engine.FindClient("c"));
    ledger_before = engine.ledger();
    engine.ProcessLine(R"({"type":"deposit","id":"y","client":"c","time":"2026-01-09T12:00:00Z","amount":"70.00","boom":0})", 4);
    CHECK(FullState(*p, *engine.FindClient("c")) == before);
    CHECK(engine.ledger() == ledger_before);
    CHECK(engine.stats().rejects == 2);
    // A record that adds to no window reads the cached ones: the rolled-back deposits are out.
    engine.ProcessLine(R"({"type":"ping","id":"p","client":"c","time":"2026-01-09T13:00:00Z"})", 5);
    CHECK(engine.ledger().find(R"("trigger":"p","client":"c","time":"2026-01-09T13:00:00Z","rule":"ping_total","action":"emit","name":"total","data":{"sum":"110.00"})") !=
          std::string::npos);
    // The windows read after the rollbacks are the restored ones (the failing records read
    // them, with their own deposits in, before failing): one more deposit takes the 30-day sum
    // to 110 + 20, not 110 + 140 + 20; the limit (3 per 30 days) still has room.
    engine.ProcessLine(R"({"type":"deposit","id":"z","client":"c","time":"2026-01-10T12:00:00Z","amount":"20.00"})", 6);
    INFO(engine.ledger());
    CHECK(engine.ledger().find(R"("rule":"all","action":"credit","wallet":"bonus","amount":"2.00","balance":"15.00")") !=
          std::string::npos);
    CHECK(engine.ledger().find(R"("trigger":"z","client":"c","time":"2026-01-10T12:00:00Z","rule":"total","action":"emit","name":"total","data":{"sum":"130.00"})") !=
          std::string::npos);
  }
}

TEST_CASE("ProcessLines gives exactly what ProcessLine gives, line by line") {
  auto p = Compile();
  // Duplicates inside one batch (valid and malformed), an id that expires within the batch
  // (30 days later), blank lines, rejects, out-of-order records and a rolled-back record.
  std::vector<std::string> lines = {
      R"({"type":"deposit","id":"a","client":"c1","time":"2026-01-01T10:00:00Z","amount":"100.00","first":true})",
      R"({"type":"deposit","id":"a","client":"c1","time":"2026-01-01T10:01:00Z","amount":"100.00"})",
      R"({"type":"deposit","id":"a","client":"c1","time":"2026-01-01T10:02:00Z","amount":"bad"})",
      // The same record again, keys reordered and the amount spelt differently: a duplicate.
      R"({"amount":100,"first":true,"type":"deposit","id":"a","client":"c1","time":"2026-01-01T10:00:00Z"})",
      // Ticks with ids are deduplicated like any record: a repeated id neither moves the clock
      // (b, at 11:00, stays in order) nor is counted; a new one is remembered.
      R"({"type":"tick","id":"a","time":"2026-01-03T00:00:00Z"})",
      R"({"type":"tick","id":"t1","time":"2026-01-01T10:30:00Z"})",
      R"({"type":"deposit","id":"t1","client":"c9","time":"2026-01-01T10:40:00Z","amount":"100.00","first":true})",
      R"({"type":"tick","id":5,"time":"2026-01-01T10:50:00Z"})",
      "   ",
      R"({"type":"deposit","id":"b","client":"c2","time":"2026-01-01T11:00:00Z","amount":"2000.00","first":true})",
      R"({"type":"deposit","id":"c","client":"c3","time":"2026-01-01T09:00:00Z","amount":"5.00"})",
      R"({"type":"nope","id":"d","client":"c3","time":"2026-01-02T09:00:00Z"})",
      R"({"type":"deposit","id":"e","client":"c3","time":"2026-01-02T09:00:00Z","amount":"50.00","first":true})",
      R"({"type":"deposit","id":"e","client":"c3","time":"2026-01-02T09:00:01Z","amount":"oops"})",
      R"({"type":"deposit","id":"e","client":"c3","time":"2026-01-02T09:00:00Z","amount":"50","first":true,"x":1})",
      R"({"type":"deposit","id":"g","client":"c5","time":"2026-02-14T10:00:00Z","amount":"10.00"})",
      R"({"type":"deposit","id":"a","client":"c1","time":"2026-02-15T10:00:00Z","amount":"1500.00"})",
      R"({"type":"deposit","id":"a","client":"c1","time":"2026-02-15T10:01:00Z","amount":"x"})",
      R"(not json)",
      R"({"type":"deposit","id":"f","client":"c4","time":"2026-02-16T10:00:00Z","amount":"1000.00","first":true})",
  };
  std::vector<uint64_t> numbers;
  for (size_t k = 0; k < lines.size(); ++k) numbers.push_back(k + 1);
  perk::runtime::Engine one_by_one(*p);
  for (size_t k = 0; k < lines.size(); ++k) one_by_one.ProcessLine(lines[k], numbers[k]);
  // Ids reused with other content (another time, a bad amount, another type) are rejected as
  // conflicting reuses; the same content is a duplicate however it is spelt (spec §4, C14).
  REQUIRE(one_by_one.stats().duplicates == 2);
  REQUIRE(one_by_one.rejects().find(R"("line":2,"error":"id \"a\" was already used)") != std::string::npos);
  REQUIRE(one_by_one.rejects().find(R"("line":3,"error":"id \"a\" was already used by an earlier record with different content (field `amount`)") != std::string::npos);
  REQUIRE(one_by_one.rejects().find("engine clock 2026-01-03") == std::string::npos);
  REQUIRE(one_by_one.ledger().find(R"("trigger":"t1")") == std::string::npos);
  REQUIRE(one_by_one.rejects().find(R"("line":8,"error":"`id`: expected a string, got 5")") != std::string::npos);
  // `a` expired when `g` moved the clock on: its second use is a new record.
  REQUIRE(one_by_one.ledger().find(R"("trigger":"a","client":"c1","time":"2026-02-15T10:00:00Z")") != std::string::npos);
  REQUIRE(one_by_one.stats().rejects >= 4);
  for (size_t batch = 1; batch <= lines.size(); ++batch) {
    perk::runtime::Engine batched(*p);
    std::vector<std::string_view> views(lines.begin(), lines.end());
    for (size_t start = 0; start < lines.size(); start += batch) {
      size_t n = std::min(batch, lines.size() - start);
      batched.ProcessLines(views.data() + start, numbers.data() + start, n);
    }
    INFO("batch " << batch);
    CHECK(batched.ledger() == one_by_one.ledger());
    CHECK(batched.rejects() == one_by_one.rejects());
    CHECK(batched.stats().records == one_by_one.stats().records);
    CHECK(batched.stats().accepted == one_by_one.stats().accepted);
    CHECK(batched.stats().duplicates == one_by_one.stats().duplicates);
  }
}

namespace {

// Trigger entries: budget skips end a firing, a failing credit rejects the record, strings flow
// through `set` and `notify`, nested `if`s branch, and tier_changed and daily rules run natively.
const char* kTriggerProgram = R"(program "Triggers"
currency USD
event e { n: int, s: string = "x", a: money = 0 USD }
client { nick: string = "anon" }
wallet w: int
wallet m: money
var name: string = ""
tier Base
tier Gold when w >= 5
rule naming
  on e
  then
    set name = if e.s == "x" then client.nick else upper(e.s)
    notify "named" { who: name, n: e.n, half: e.a / 2 }
end
rule budgeted
  on e
  limit 3 per client within 30 days
  budget 10 USD
  then
    credit m e.a
    credit w 1
end
rule branching
  on e
  when e.n > 0
  then
    if e.n > 100 then
      credit w e.n
    else
      if e.n > 10 then
        debit w 2
      else
        emit "small" { n: e.n, rate: e.n / (e.n - 3) }
      end
    end
end
rule up
  on tier_changed
  when tier > previous_tier
  then notify "up" { from: previous_tier, to: tier }
end
rule nightly
  every day
  when w > 0
  then debit w 1
end
rule weekly
  every week
  when w > 0
  then notify "weekly" { w: w, monday: weekday(today) }
end
rule monthly
  every month
  then emit "monthly" { first: day(today), nightly_before: w }
end
)";

const char* kTriggerLines[] = {
    R"({"type":"e","id":"1","client":"c1","time":"2026-03-01T10:00:00Z","n":1,"a":"4.00"})",
    R"({"type":"e","id":"2","client":"c1","time":"2026-03-01T11:00:00Z","n":2,"s":"ab","a":"5.00"})",
    R"({"type":"e","id":"3","client":"c2","time":"2026-03-01T12:00:00Z","n":3,"a":"1.00"})",
    R"({"type":"e","id":"4","client":"c1","time":"2026-03-02T10:00:00Z","n":500,"a":"3.00"})",
    R"({"type":"e","id":"5","client":"c1","time":"2026-03-02T11:00:00Z","n":20})",
    R"({"type":"e","id":"6","client":"c2","time":"2026-03-04T10:00:00Z","n":9223372036854775807})",
    R"({"type":"e","id":"7","client":"c2","time":"2026-03-04T11:00:00Z","n":9223372036854775807})",
    R"({"type":"e","id":"8","client":"c3","time":"2026-03-05T10:00:00Z","n":4,"s":"q"})",
    R"({"type":"e","id":"9","client":"c1","time":"2026-03-06T10:00:00Z","n":5})",  // past rule budgeted's limit
    // Past Monday 9 March and 1 April: `every week` and `every month` run with `every day`.
    R"({"type":"e","id":"10","client":"c3","time":"2026-04-01T09:00:00Z","n":1})",
};

struct Run {
  std::string ledger, rejects;
};

Run RunTriggerLines(const perk::checked::Program& p, perk::runtime::Evaluator* e) {
  perk::runtime::Engine engine(p, e);
  uint64_t n = 0;
  for (const char* line : kTriggerLines) engine.ProcessLine(line, ++n);
  return {engine.ledger(), engine.rejects()};
}

// Records what a trigger entry asks of the runtime; stops firings of `stop_rule` at its first
// action and throws at the first action of `throw_rule`.
struct RecordingHost final : perk::runtime::RuleHost {
  std::vector<std::string> calls;
  int stop_rule = -1, throw_rule = -1;
  bool LimitOpen(int rule) override {
    calls.push_back(fmt::format("open {}", rule));
    return true;
  }
  void LimitAdd(int rule) override { calls.push_back(fmt::format("add {}", rule)); }
  bool Act(int rule, const perk::checked::Action& a, const perk::Value* values) override {
    calls.push_back(fmt::format("act {} {} {} {}", rule, static_cast<int>(a.kind), values[0].i, values[0].s));
    if (rule == throw_rule) throw std::runtime_error("host failed");
    return rule != stop_rule;
  }
};

}  // namespace

TEST_CASE("trigger entries give the interpreter's ledger and rejects") {
  const std::string text = kTriggerProgram;
  Compiled c = CompileWithJit("triggers.perk", text);
  Run interp = RunTriggerLines(*c.program, nullptr);
  Run native = RunTriggerLines(*c.program, c.jit.get());
  CHECK(native.ledger == interp.ledger);
  CHECK(native.rejects == interp.rejects);
  // What the program is there to exercise, so that the comparison is not of empty ledgers.
  CHECK(interp.ledger.find(R"("reason":"budget")") != std::string::npos);
  CHECK(interp.ledger.find(R"("value":"AB")") != std::string::npos);
  CHECK(interp.ledger.find(R"("template":"up")") != std::string::npos);
  CHECK(interp.ledger.find(R"("rule":"nightly")") != std::string::npos);
  CHECK(interp.ledger.find(R"("trigger":"day:2026-03-09","client":"c1","time":"2026-03-09T00:00:00Z","rule":"weekly")") != std::string::npos);
  CHECK(interp.ledger.find(R"("trigger":"day:2026-04-01","client":"c1","time":"2026-04-01T00:00:00Z","rule":"monthly")") != std::string::npos);
  CHECK(interp.rejects.find("the balance of wallet `w` would overflow") != std::string::npos);
  CHECK(interp.rejects.find("rule `branching`: division by zero") != std::string::npos);
}

TEST_CASE("a trigger entry runs its rules in order through the host") {
  perk::Diagnostics diags("triggers.perk", kTriggerProgram);
  auto p = perk::CompileProgram(kTriggerProgram, diags);
  REQUIRE(p);
  std::string error;
  auto jit = perk::runtime::CreateEvaluator(perk::runtime::EngineKind::Jit, *p, &error);
  REQUIRE(jit);
  perk::runtime::ClientState client = perk::runtime::NewClient(*p, "c1", 0);
  perk::runtime::Record rec;
  rec.kind = perk::runtime::RecordKind::Event;
  rec.event_index = 0;
  rec.fields = {perk::Value::Int(200), perk::Value::Str("hi"), perk::Value::Int(700)};
  perk::runtime::EvalContext ctx;
  ctx.program = p.get();
  ctx.client = &client;
  ctx.event = &rec;
  int failed = -1;
  perk::SourceRange where;
  const int credit = static_cast<int>(perk::checked::ActionKind::Credit);
  const int set = static_cast<int>(perk::checked::ActionKind::Set);
  const int notify = static_cast<int>(perk::checked::ActionKind::Notify);

  RecordingHost host;
  REQUIRE(jit->RunRules(perk::checked::TriggerKind::Event, 0, ctx, &host, &failed, &where) == PERK_OK);
  CHECK(host.calls == std::vector<std::string>{
                          fmt::format("act 0 {} 0 HI", set), fmt::format("act 0 {} 0 ", notify), "open 1",
                          fmt::format("act 1 {} 700 ", credit), fmt::format("act 1 {} 1 ", credit), "add 1",
                          fmt::format("act 2 {} 200 ", credit)});

  // A budget skip at rule 1's first action ends that firing: no second credit, no limit count.
  RecordingHost stopping;
  stopping.stop_rule = 1;
  REQUIRE(jit->RunRules(perk::checked::TriggerKind::Event, 0, ctx, &stopping, &failed, &where) == PERK_OK);
  CHECK(stopping.calls == std::vector<std::string>{fmt::format("act 0 {} 0 HI", set),
                                                   fmt::format("act 0 {} 0 ", notify), "open 1",
                                                   fmt::format("act 1 {} 700 ", credit),
                                                   fmt::format("act 2 {} 200 ", credit)});

  // A host's exception crosses the native frames and stops the run.
  RecordingHost throwing;
  throwing.throw_rule = 1;
  CHECK_THROWS_WITH(jit->RunRules(perk::checked::TriggerKind::Event, 0, ctx, &throwing, &failed, &where),
                    "host failed");
  CHECK(throwing.calls.back() == fmt::format("act 1 {} 700 ", credit));

  // A failing expression names its rule and where it failed: 3 / (3 - 3).
  rec.fields[0] = perk::Value::Int(3);
  RecordingHost plain;
  CHECK(jit->RunRules(perk::checked::TriggerKind::Event, 0, ctx, &plain, &failed, &where) == PERK_DIV_BY_ZERO);
  CHECK(failed == 2);
  CHECK(where.line == 34);  // the emit's `rate`

  // The interpreter has no trigger entries: the engine runs the rules itself.
  perk::runtime::InterpEvaluator interp;
  CHECK(interp.RunRules(perk::checked::TriggerKind::Event, 0, ctx, &plain, &failed, &where) ==
        perk::runtime::kNoNativeRules);
}

namespace {

// Day ticks and events skip re-evaluating tiers and segments that cannot have changed. Each way a condition's
// inputs change between evaluations is here, so that a wrong skip shows in the ledger; the
// clock-reading segment, which rules skips out, is added by the test.
const char* kTickProgram = R"(program "Day ticks"
currency USD
event trade { volume: money }
event deposit { amount: money }
event login { device: string = "web" }
client { country: string = "US" }
var nights: int = 0
wallet cash: money
wallet points: int
tier Bronze
tier Silver when sum(trade.volume within 3 days) >= 100 USD or client.country == "DE"
tier Gold when count(trade within 3 days) >= 2 hold 3 days
segment veteran when nights >= 2
segment europe when client.country == "DE"
segment quiet when client.country == "UK" and count(trade within 5 days) >= 1 and count(trade within 1 day) == 0
segment rich when cash >= 100 USD
segment starred when has_badge("star")
rule deposited
  on deposit
  then
    credit cash deposit.amount
    credit points 1
end
rule first_login
  on login
  then grant "star"
end
rule nightly
  every day
  when client.country == "US" and nights < 2
  then set nights = nights + 1
end
rule promoted
  on tier_changed
  when tier > previous_tier
  then notify "promoted" { to: tier }
end
)";

// c1 trades three times at one instant: Gold holds, and the third evaluation finds the hold
// where it would put it; the ticks of the next two days must still move it. c5's `nights`
// reaches 2 by a day tick rule. c6 moves to Germany by a profile record, and the tier and the
// segment that read the attribute follow at the next tick (v0.2: tiers read no segments). c3 trades across days, so that windows drop
// buckets one by one. c7 only ages (for the segment that reads the clock). c8's deposits
// credit a wallet a segment reads; its login grants a badge another one reads.
const char* kTickLines[] = {
    R"({"type":"profile","client":"c1","time":"2026-03-01T10:00:00Z","country":"FR"})",
    R"({"type":"profile","client":"c5","time":"2026-03-01T10:00:00Z","country":"US"})",
    R"({"type":"profile","client":"c6","time":"2026-03-01T10:00:00Z","country":"FR"})",
    R"({"type":"profile","client":"c3","time":"2026-03-01T10:00:00Z","country":"UK"})",
    R"({"type":"profile","client":"c7","time":"2026-03-01T10:00:00Z","country":"FR"})",
    R"({"type":"profile","client":"c8","time":"2026-03-01T10:00:00Z","country":"FR"})",
    R"({"type":"trade","id":"t1","client":"c1","time":"2026-03-01T12:00:00Z","volume":"60.00"})",
    R"({"type":"trade","id":"t2","client":"c1","time":"2026-03-01T12:00:00Z","volume":"60.00"})",
    R"({"type":"trade","id":"t3","client":"c1","time":"2026-03-01T12:00:00Z","volume":"60.00"})",
    R"({"type":"trade","id":"t4","client":"c3","time":"2026-03-01T13:00:00Z","volume":"10.00"})",
    R"({"type":"trade","id":"t5","client":"c3","time":"2026-03-03T13:00:00Z","volume":"50.00"})",
    R"({"type":"profile","client":"c6","time":"2026-03-03T14:00:00Z","country":"DE"})",
    R"({"type":"trade","id":"t6","client":"c3","time":"2026-03-04T13:00:00Z","volume":"50.00"})",
    R"({"type":"trade","id":"t7","client":"c3","time":"2026-03-04T13:30:00Z","volume":"1.00"})",
    R"({"type":"deposit","id":"d1","client":"c8","time":"2026-03-05T10:00:00Z","amount":"50.00"})",
    R"({"type":"deposit","id":"d2","client":"c8","time":"2026-03-06T10:00:00Z","amount":"60.00"})",
    R"({"type":"login","id":"l1","client":"c8","time":"2026-03-07T10:00:00Z"})",
    R"({"type":"tick","time":"2026-03-15T00:00:00Z"})",
};

std::string RunTicks(const perk::checked::Program& p, perk::runtime::Evaluator* e, bool full) {
  perk::runtime::Engine engine(p, e);
  engine.SetFullReevaluation(full);
  uint64_t n = 0;
  for (const char* line : kTickLines) engine.ProcessLine(line, ++n);
  INFO(engine.rejects());
  CHECK(engine.rejects().empty());
  return engine.ledger();
}

}  // namespace

TEST_CASE("skipping re-evaluations that cannot change anything gives the ledger of re-evaluating every time") {
  for (bool reads_clock : {false, true}) {
    const std::string text =
        std::string(kTickProgram) + (reads_clock ? "segment fresh when days_between(client.since, today) < 3\n" : "");
    CAPTURE(reads_clock);
    Compiled c = CompileWithJit("ticks.perk", text);
    const perk::checked::Program& p = *c.program;
    const std::string reference = RunTicks(p, nullptr, true);
    CHECK(RunTicks(p, nullptr, false) == reference);
    CHECK(RunTicks(p, c.jit.get(), false) == reference);
    CHECK(RunTicks(p, c.jit.get(), true) == reference);
    // What the stream is there to exercise, so that the comparison is not of ledgers where
    // nothing happens at a tick.
    auto has = [&](const std::string& day, const std::string& client, const std::string& entry) {
      return reference.find(fmt::format(R"("trigger":"day:{}","client":"{}","time":"{}T00:00:00Z","rule":null,{})", day,
                                        client, day, entry)) != std::string::npos;
    };
    CHECK(has("2026-03-06", "c1", R"("action":"tier","from":"Gold","to":"Bronze")"));
    CHECK(has("2026-03-03", "c5", R"("action":"segment","segment":"veteran","member":true)"));
    CHECK(has("2026-03-04", "c6", R"("action":"segment","segment":"europe","member":true)"));
    CHECK(has("2026-03-04", "c6", R"("action":"tier","from":"Bronze","to":"Silver")"));
    CHECK(has("2026-03-02", "c3", R"("action":"segment","segment":"quiet","member":true)"));
    CHECK(has("2026-03-05", "c3", R"("action":"segment","segment":"quiet","member":true)"));
    CHECK(reference.find(R"("trigger":"d2","client":"c8","time":"2026-03-06T10:00:00Z","rule":null,"action":"segment","segment":"rich","member":true)") != std::string::npos);
    CHECK(reference.find(R"("trigger":"l1","client":"c8","time":"2026-03-07T10:00:00Z","rule":null,"action":"segment","segment":"starred","member":true)") != std::string::npos);
    if (reads_clock) CHECK(has("2026-03-04", "c7", R"("action":"segment","segment":"fresh","member":false)"));
  }
}

TEST_CASE("a client block past its inline slots, with more than 64 segments, reads alike in both engines") {
  // 70 segments take two words of bits; five distinct windows (7 slots each) push the block past
  // ClientState::kInlineSlots, so it lives on the heap; a string var keeps its text beside it.
  std::string text = R"(program "Wide"
event ping { n: int }
wallet points: int
var n: int = 0
var tag: string = "start"
var last: int = 0
tier Base
)";
  for (int k = 1; k <= 5; ++k) text += fmt::format("tier T{} when count(ping within {} days) >= {}\n", k, k, k);
  for (int k = 0; k < 70; ++k) text += fmt::format("segment s{} when points >= {}\n", k, k * 10);
  text += R"(rule add
  on ping
  then
    credit points ping.n
    set n = n + 1
    set tag = if s65 then "sixty-five and a string too long for a small buffer" else tag
    set last = if s63 and not s64 then 63 else last
    emit "seen" { points: points, n: n, tag: tag, s0: s0, s63: s63, s64: s64, s65: s65, s69: s69, tier: tier }
end
)";
  Compiled c = CompileWithJit("wide.perk", text);
  const perk::checked::ClientLayout layout = perk::checked::ClientLayoutOf(*c.program);
  CHECK(layout.segment_words() == 2);
  CHECK(layout.size() > static_cast<int32_t>(perk::runtime::ClientState::kInlineSlots));
  std::vector<std::string> lines;
  const int amounts[] = {5, 300, 330, 10, 10, 20};
  for (int k = 0; k < 6; ++k)
    lines.push_back(fmt::format(R"({{"type":"ping","id":"p{}","client":"c","time":"2026-01-0{}T10:00:00Z","n":{}}})", k,
                                k + 1, amounts[k]));
  std::string ledgers[2], states[2];
  for (int e = 0; e < 2; ++e) {
    perk::runtime::Engine engine(*c.program, e ? c.jit.get() : nullptr);
    uint64_t n = 0;
    for (const auto& line : lines) engine.ProcessLine(line, ++n);
    CHECK(engine.rejects().empty());
    ledgers[e] = engine.ledger();
    const perk::runtime::ClientState* client = engine.FindClient("c");
    REQUIRE(client);
    states[e] = perk::runtime::ClientStateJson(*c.program, *client);
    CHECK(client->wallets()[0] == 675);
    CHECK(client->segment(65));
    CHECK_FALSE(client->segment(69));
    CHECK(client->var(1).s == "sixty-five and a string too long for a small buffer");
  }
  CHECK(ledgers[1] == ledgers[0]);
  CHECK(states[1] == states[0]);
  // At 635 points (after the third ping) the client was in s63 but not s64: the fourth saw it.
  CHECK(ledgers[0].find(R"("var":"last","value":63)") != std::string::npos);
  CHECK(ledgers[0].find(R"("segment":"s65","member":true)") != std::string::npos);
  CHECK(ledgers[0].find(R"("to":"T5")") != std::string::npos);
}

namespace {

// v0.2 firings: a skip takes back everything the firing did; a later runtime error takes back
// the whole record, per-client budget use and keyed limits included.
const char* kFiringProgram = R"(program "Firings"
currency USD
event deposit { amount: money, friend: string = "x", boom: int = 1 }
wallet bonus: money
wallet points: int
var n: int = 0
segment rich when bonus >= 30 USD
rule first
  on deposit
  limit once per deposit.friend
  budget 40 USD per client within 7 days
  then
    set n = n + 1
    grant "seen"
    credit points 5
    debit bonus 1 USD
    credit bonus deposit.amount
    notify "paid"
end
rule second
  on deposit
  budget 100 USD partial
  then credit bonus 100 USD / deposit.boom
end
rule hello
  on entering rich
  budget 1 per client
  then
    emit "rich"
    credit points 2
end
)";

}  // namespace

TEST_CASE("a skipped firing keeps nothing, and a failing record takes back budgets and keyed limits") {
  Compiled c = CompileWithJit("firings.perk", kFiringProgram);
  const perk::checked::Program& p = *c.program;
  for (perk::runtime::Evaluator* evaluator : {static_cast<perk::runtime::Evaluator*>(nullptr), c.jit.get()}) {
    perk::runtime::Engine engine(p, evaluator);
    engine.ProcessLine(R"({"type":"deposit","id":"d1","client":"c","time":"2026-01-05T10:00:00Z","amount":"30.00"})", 1);
    const perk::runtime::ClientState* client = engine.FindClient("c");
    REQUIRE(client);
    INFO(engine.ledger());
    // first pays 30 (a 40 per-client budget); second is cut to what the campaign has left;
    // rich is entered and hello's int budget of 1 refuses its 2 points, taking back the emit.
    CHECK(engine.ledger().find(R"("rule":"second","action":"credit","wallet":"bonus","amount":"100.00")") != std::string::npos);
    CHECK(engine.ledger().find(R"("rule":"hello","action":"skip","reason":"client budget","wallet":"points","amount":2})") !=
          std::string::npos);
    CHECK(engine.ledger().find(R"("emit")") == std::string::npos);
    CHECK(client->wallets()[1] == 5);
    // A new friend: first asks 20 with 10 left of its client budget: skipped, and its set,
    // grant, credit and debit before the credit are not kept; the keyed limit stays open.
    std::string before = FullState(p, *client);
    engine.ProcessLine(R"({"type":"deposit","id":"d2","client":"c","time":"2026-01-06T10:00:00Z","amount":"20.00","friend":"y"})", 2);
    INFO(engine.ledger());
    CHECK(engine.ledger().find(R"("trigger":"d2","client":"c","time":"2026-01-06T10:00:00Z","rule":"first","action":"skip","reason":"client budget","wallet":"bonus","amount":"20.00"})") !=
          std::string::npos);
    CHECK(client->var(0).i == 1);
    CHECK(client->wallets()[1] == 5);
    // second's campaign budget is spent: nothing left, so it is skipped rather than cut.
    CHECK(engine.ledger().find(R"("trigger":"d2","client":"c","time":"2026-01-06T10:00:00Z","rule":"second","action":"skip","reason":"budget")") !=
          std::string::npos);
    // A record whose second rule fails after the first fired (friend z, 5 USD fits): none of
    // it is kept, not the per-client budget use nor the keyed limit's firing.
    before = FullState(p, *client);
    const std::string ledger_before = engine.ledger();
    engine.ProcessLine(R"({"type":"deposit","id":"d3","client":"c","time":"2026-01-06T11:00:00Z","amount":"5.00","friend":"z","boom":0})", 3);
    CHECK(engine.stats().rejects == 1);
    CHECK(FullState(p, *client) == before);
    CHECK(engine.ledger() == ledger_before);
    // The same deposit without the failure: z is fired for the first time.
    engine.ProcessLine(R"({"type":"deposit","id":"d4","client":"c","time":"2026-01-06T12:00:00Z","amount":"5.00","friend":"z"})", 4);
    CHECK(engine.ledger().find(R"("trigger":"d4","client":"c","time":"2026-01-06T12:00:00Z","rule":"first","action":"credit","wallet":"bonus","amount":"5.00")") !=
          std::string::npos);
    CHECK(client->var(0).i == 2);
  }
}

TEST_CASE("`on entering` and `on leaving` rules have native entries, one per segment that has rules") {
  Compiled c = CompileWithJit("firings.perk", kFiringProgram);
  perk::runtime::ClientState client = perk::runtime::NewClient(*c.program, "c1", 0);
  perk::runtime::EvalContext ctx;
  ctx.program = c.program.get();
  ctx.client = &client;
  int failed = -1;
  perk::SourceRange where;
  RecordingHost host;
  REQUIRE(c.jit->RunRules(perk::checked::TriggerKind::Entering, 0, ctx, &host, &failed, &where) == PERK_OK);
  CHECK(host.calls == std::vector<std::string>{fmt::format("act 2 {} 0 ", static_cast<int>(perk::checked::ActionKind::Emit)),
                                               fmt::format("act 2 {} 2 ", static_cast<int>(perk::checked::ActionKind::Credit))});
  // `rich` has no `on leaving` rules: no entry, and the engine has nothing to run.
  CHECK(c.jit->RunRules(perk::checked::TriggerKind::Leaving, 0, ctx, &host, &failed, &where) == perk::runtime::kNoNativeRules);
}

namespace {

// Issue 19: day ticks visit the clients whose birthday it is, and those whose tier or segment
// conditions may have changed. 50 quiet clients; q1's birthday is 25 February, q2's is 29
// February (due on 28 February in 2027), q3 has none, q4 moves its birthday from the 24th to
// the 26th by a profile record and q5 unsets its own (the index must follow both), and t1's
// trades make it Silver for three days.
const char* kBirthdayProgram = R"(program "Birthdays"
event trade { volume: int }
client { birthdate: date, country: string = "CY" }
wallet points: int
tier Bronze
tier Silver when sum(trade.volume within 3 days) >= 100
rule birthday
  every day
  when client.birthdate is set and anniversary(client.birthdate)
  then
    credit points 250
    notify "happy_birthday" { points: points }
end
)";

std::vector<std::string> BirthdayLines() {
  std::vector<std::string> lines;
  const char* at = "2027-02-20T08:00:00Z";
  for (int k = 10; k < 60; ++k)
    lines.push_back(fmt::format(R"({{"type":"profile","client":"q{}","time":"{}","birthdate":"1980-07-{:02}"}})", k,
                                at, k % 28 + 1));
  lines.push_back(fmt::format(R"({{"type":"profile","client":"q1","time":"{}","birthdate":"1990-02-25"}})", at));
  lines.push_back(fmt::format(R"({{"type":"profile","client":"q2","time":"{}","birthdate":"2000-02-29"}})", at));
  lines.push_back(fmt::format(R"({{"type":"profile","client":"q3","time":"{}","country":"DE"}})", at));
  lines.push_back(fmt::format(R"({{"type":"profile","client":"q4","time":"{}","birthdate":"1985-02-24"}})", at));
  lines.push_back(fmt::format(R"({{"type":"profile","client":"q5","time":"{}","birthdate":"1985-02-27"}})", at));
  lines.push_back(R"({"type":"trade","id":"t1","client":"t1","time":"2027-02-20T09:00:00Z","volume":150})");
  lines.push_back(R"({"type":"profile","client":"q4","time":"2027-02-20T10:00:00Z","birthdate":"1985-02-26"})");
  lines.push_back(R"({"type":"profile","client":"q5","time":"2027-02-20T10:00:00Z","birthdate":null})");
  return lines;
}

// Runs the stream, then ticks day by day to 3 March: the ledger, and the visits of each tick.
std::string RunBirthdays(const perk::checked::Program& p, perk::runtime::Evaluator* e, bool full,
                         std::vector<uint64_t>* visits) {
  perk::runtime::Engine engine(p, e);
  engine.SetFullReevaluation(full);
  uint64_t n = 0;
  for (const std::string& line : BirthdayLines()) engine.ProcessLine(line, ++n);
  for (int day = 21; day <= 31; ++day) {
    const uint64_t before = engine.tick_stats().visits;
    const std::string date = day <= 28 ? fmt::format("2027-02-{:02}", day) : fmt::format("2027-03-{:02}", day - 28);
    engine.AdvanceTo(*perk::stdlib::ParseTime(date + "T00:00:00Z", nullptr));
    visits->push_back(engine.tick_stats().visits - before);
  }
  INFO(engine.rejects());
  CHECK(engine.rejects().empty());
  CHECK(engine.tick_stats().ticks == 11);
  CHECK(engine.tick_stats().full_ticks == (full ? 11 : 0));
  return engine.ledger();
}

}  // namespace

TEST_CASE("a schedulable day-tick rule visits only the clients it is due for, with the ledger of visiting all") {
  Compiled c = CompileWithJit("birthdays.perk", kBirthdayProgram);
  const perk::checked::Program& p = *c.program;
  REQUIRE(p.day_schedule.rules[0].reason == perk::checked::DueReason::Anniversary);
  std::vector<uint64_t> all, interp, jit, jit_all;
  const std::string reference = RunBirthdays(p, nullptr, true, &all);
  CHECK(RunBirthdays(p, nullptr, false, &interp) == reference);
  CHECK(RunBirthdays(p, c.jit.get(), false, &jit) == reference);
  CHECK(RunBirthdays(p, c.jit.get(), true, &jit_all) == reference);
  const uint64_t known = 56;
  CHECK(all == std::vector<uint64_t>(11, known));
  CHECK(jit == interp);
  // 21 Feb: every client (none evaluated yet); 23 Feb: t1's window drops its trade (Silver
  // ends), and on the 24th its emptied window's fold holds no further than then; 25th q1; 26th
  // q4 (not the 24th); 28th q2 (29 February in 2027); q5 never.
  CHECK(interp == std::vector<uint64_t>{known, 0, 1, 1, 1, 1, 0, 1, 0, 0, 0});
  auto has = [&](const std::string& day, const std::string& client, const std::string& entry) {
    return reference.find(fmt::format(R"("trigger":"day:{}","client":"{}","time":"{}T00:00:00Z",{})", day, client, day,
                                      entry)) != std::string::npos;
  };
  CHECK(has("2027-02-25", "q1", R"("rule":"birthday","action":"credit")"));
  CHECK(has("2027-02-26", "q4", R"("rule":"birthday","action":"credit")"));
  CHECK(has("2027-02-28", "q2", R"("rule":"birthday","action":"credit")"));
  CHECK(has("2027-02-23", "t1", R"("rule":null,"action":"tier","from":"Silver","to":"Bronze")"));
  CHECK(reference.find(R"("client":"q5")") == std::string::npos);
  CHECK(reference.find(R"("trigger":"day:2027-02-24","client":"q4")") == std::string::npos);
}

TEST_CASE("a restored engine indexes its clients' birthdays again and visits every client once") {
  Compiled c = CompileWithJit("birthdays.perk", kBirthdayProgram);
  const perk::checked::Program& p = *c.program;
  perk::runtime::Engine first(p);
  uint64_t n = 0;
  for (const std::string& line : BirthdayLines()) first.ProcessLine(line, ++n);
  first.AdvanceTo(*perk::stdlib::ParseTime("2027-02-22T00:00:00Z", nullptr));
  std::vector<perk::runtime::ClientState> clients(first.clients().begin(), first.clients().end());
  perk::runtime::Engine restored(p);
  restored.Restore(first.SaveState(), clients, {});
  std::vector<uint64_t> visits;
  for (const char* date : {"2027-02-23", "2027-02-24", "2027-02-25"}) {
    const uint64_t before = restored.tick_stats().visits;
    restored.AdvanceTo(*perk::stdlib::ParseTime(std::string(date) + "T00:00:00Z", nullptr));
    visits.push_back(restored.tick_stats().visits - before);
  }
  // Nothing is known of restored clients' conditions: all are visited at the first tick (then
  // t1 on the 24th, as without the restore, and q1 on its birthday).
  CHECK(visits == std::vector<uint64_t>{56, 1, 1});
  CHECK(restored.ledger().find(R"("trigger":"day:2027-02-25","client":"q1","time":"2027-02-25T00:00:00Z","rule":"birthday")") !=
        std::string::npos);
}
