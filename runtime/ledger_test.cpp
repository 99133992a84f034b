// Unit tests for typed output: the JSON Lines writer spells every ledger action as spec §6
// does, and the engine hands sinks the entries and outcomes its ledger and rejects say.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/jsonl_sink.h"
#include "stdlib/stdlib.h"

namespace {

using perk::runtime::LedgerAction;
using perk::runtime::LedgerEntry;
using perk::runtime::LedgerValue;
using perk::runtime::RecordOutcome;
using perk::runtime::RecordStatus;

// Every ledger action: credits (partial too) and a debit, a set, notify and emit with data, a
// grant, a send, a budget skip, a tier change and segment changes, and a rule that fails for
// one client at a day tick.
const char* kProgram = R"(program "Typed output"
currency USD
event deposit { amount: money, note: string = "" }
event redeem { amount: money }
event redeemed { by: client }
wallet bonus: money
wallet points: int
var last: money = 0 USD
tier Base
tier Gold when points >= 10
segment big when bonus >= 5 USD
rule cashback
  on deposit
  budget 6 USD partial
  then
    credit bonus deposit.amount * 10%
    credit points 10
    set last = deposit.amount
    notify "thanks" { amount: deposit.amount, note: deposit.note, tier: tier }
    emit "seen" { n: 1 }
    grant "depositor"
end
rule pay
  on redeem
  then
    debit bonus redeem.amount
    send redeemed to redeem.client { by: client.id }
end
rule daily
  every day
  when points > 0
  then credit points floor(100 / (points - 10))
end
)";

std::unique_ptr<perk::checked::Program> Compile(const char* text) {
  perk::Diagnostics diags("typed.perk", text);
  auto program = perk::CompileProgram(text, diags);
  INFO(diags.Render(false));
  REQUIRE(program);
  return program;
}

const char* kLines[] = {
    R"({"type":"deposit","id":"d1","client":"a","time":"2026-01-05T10:00:00Z","amount":"50.00","note":"x\"y"})",
    R"({"type":"deposit","id":"d1","client":"a","time":"2026-01-05T10:00:00Z","amount":"50.00","note":"x\"y"})",
    R"({"type":"deposit","id":"d2","client":"b","time":"2026-01-05T11:00:00Z","amount":"20.00"})",
    R"({"type":"redeem","id":"r1","client":"a","time":"2026-01-05T12:00:00Z","amount":"4.00"})",
    "",
    R"({"type":"deposit","id":"d3","client":"a","time":"2026-01-05T13:00:00Z","amount":"oops"})",
    R"({"type":"redeem","id":"r2","client":"b","time":"2026-01-06T09:00:00Z","amount":"1.00"})",
    R"({"type":"deposit","id":"d4","client":"b","time":"2026-01-06T10:00:00Z","amount":"10.00"})",
};

// A sink that keeps what it is handed: each entry re-encoded by a JSON Lines writer of its
// own, with the typed fields the test looks at.
struct Recorder final : perk::runtime::Sink {
  explicit Recorder(const perk::checked::Program& p) : text(p) {}
  void Entry(const LedgerEntry& e) override {
    text.Entry(e);
    actions.push_back(e.action);
    if (e.action == LedgerAction::Credit || e.action == LedgerAction::Debit || e.action == LedgerAction::Skip)
      amounts.push_back(std::string(e.client) + " " + std::string(e.target) + " " + std::to_string(e.amount) + " " +
                        std::to_string(e.balance) + (e.partial ? " partial" : ""));
  }
  void Outcome(const RecordOutcome& o) override {
    text.Outcome(o);
    outcomes.push_back(std::to_string(o.line) + " " + perk::runtime::RecordStatusName(o.status) + " " + std::string(o.id) + " " +
                       std::string(o.client) + (o.message.empty() ? "" : " " + std::string(o.message.substr(0, 24))));
  }
  perk::runtime::JsonlSink text;
  std::vector<LedgerAction> actions;
  std::vector<std::string> amounts;
  std::vector<std::string> outcomes;
};

}  // namespace

TEST_CASE("the engine hands sinks typed entries and outcomes that are its ledger and rejects") {
  auto p = Compile(kProgram);
  perk::runtime::Engine engine(*p);
  Recorder recorder(*p);
  engine.AddSink(&recorder);
  uint64_t n = 0;
  for (const char* line : kLines) engine.ProcessLine(line, ++n);
  engine.AdvanceTo(perk::stdlib::UtcDayStart(20459 + 1) + 1);  // past 2026-01-07T00:00:00Z

  INFO(engine.ledger());
  INFO(engine.rejects());
  // The typed values, written again, are the engine's text byte for byte.
  CHECK(recorder.text.ledger() == engine.ledger());
  CHECK(recorder.text.rejects() == engine.rejects());

  // Every action of the .def list occurs (release and expire: the next test).
  for (int a = 0; a < perk::runtime::kLedgerActions; ++a) {
    if (a == static_cast<int>(LedgerAction::Release) || a == static_cast<int>(LedgerAction::Expire)) continue;
    INFO(perk::runtime::LedgerActionName(static_cast<LedgerAction>(a)));
    CHECK(std::count(recorder.actions.begin(), recorder.actions.end(), static_cast<LedgerAction>(a)) > 0);
  }
  // Amounts are fixed point: cents for money wallets, units for int ones. b's cashback is cut
  // to what the budget had left (6 USD - 5 USD), and a's second credit asks for more.
  // d4 finds the budget spent: its firing is rolled back to one skip with the amount asked.
  std::vector<std::string> amounts = {"a bonus 500 500", "a points 10 10", "b bonus 100 100 partial", "b points 10 10",
                                      "a bonus 400 100",  "b bonus 100 0",  "b bonus 100 0"};
  CHECK(recorder.amounts == amounts);

  // One outcome per non-blank line, in order; the day tick of 2026-01-06 fails for both
  // clients (points - 10 is 0) before r2's own outcome.
  std::vector<std::string> expected = {
      "1 accepted d1 a",
      "2 duplicate d1 a",
      "3 accepted d2 b",
      "4 accepted r1 a",
      "6 rejected d3 a field `amount`: expected",
      "7 tick_failed   day tick 2026-01-06 for ",
      "7 tick_failed   day tick 2026-01-06 for ",
      "7 accepted r2 b",
      "8 accepted d4 b",
      // Engine::AdvanceTo: the tick of 2026-01-07, with the last line's number.
      "8 tick_failed   day tick 2026-01-07 for ",
      "8 tick_failed   day tick 2026-01-07 for ",
  };
  CHECK(recorder.outcomes == expected);
}

TEST_CASE("the JSON Lines writer spells each ledger action as spec §6") {
  auto p = Compile(kProgram);
  perk::runtime::JsonlSink sink(*p);
  LedgerEntry e;
  e.seq = 7;
  e.event_id = "d\"1";
  e.trigger_serial = 1;
  e.time = perk::stdlib::UtcDayStart(20458) + 36000 * int64_t{1000000};  // 2026-01-05T10:00:00Z
  e.client = "c";
  e.rule = 0;
  e.rule_name = "cashback";
  const std::string prefix = R"({"seq":7,"trigger":"d\"1","client":"c","time":"2026-01-05T10:00:00Z",)";
  auto written = [&](const LedgerEntry& entry) {
    sink.ledger().clear();
    sink.Entry(entry);
    return sink.ledger();
  };

  LedgerEntry credit = e;
  credit.action = LedgerAction::Credit;
  credit.target = "bonus";
  credit.amount_type = perk::Type::Money;
  credit.amount = 150;
  credit.balance = 1005;
  CHECK(written(credit) == prefix + R"("rule":"cashback","action":"credit","wallet":"bonus","amount":"1.50","balance":"10.05"})" "\n");
  credit.partial = true;
  credit.amount_type = perk::Type::Int;
  CHECK(written(credit) == prefix + R"("rule":"cashback","action":"credit","wallet":"bonus","amount":150,"balance":1005,"partial":true})" "\n");

  LedgerEntry debit = credit;
  debit.action = LedgerAction::Debit;
  CHECK(written(debit) == prefix + R"("rule":"cashback","action":"debit","wallet":"bonus","amount":150,"balance":1005})" "\n");

  LedgerEntry skip = credit;
  skip.action = LedgerAction::Skip;
  skip.reason = "client budget";
  skip.amount_type = perk::Type::Money;
  CHECK(written(skip) == prefix + R"("rule":"cashback","action":"skip","reason":"client budget","wallet":"bonus","amount":"1.50"})" "\n");

  perk::Value money = perk::Value::Int(2500), text = perk::Value::Str("a\nb"), gold = perk::Value::Int(1);
  LedgerValue set_values[] = {{"", perk::Type::Money, &money}};
  LedgerEntry set = e;
  set.action = LedgerAction::Set;
  set.target = "last";
  set.values = set_values;
  CHECK(written(set) == prefix + R"("rule":"cashback","action":"set","var":"last","value":"25.00"})" "\n");

  LedgerValue data[] = {{"amount", perk::Type::Money, &money}, {"note", perk::Type::String, &text}, {"tier", perk::Type::Tier, &gold}};
  LedgerEntry notify = e;
  notify.action = LedgerAction::Notify;
  notify.target = "thanks";
  notify.values = data;
  CHECK(written(notify) ==
        prefix + R"("rule":"cashback","action":"notify","template":"thanks","data":{"amount":"25.00","note":"a\nb","tier":"Gold"}})" "\n");
  LedgerEntry emit = e;
  emit.action = LedgerAction::Emit;
  emit.target = "seen";
  CHECK(written(emit) == prefix + R"("rule":"cashback","action":"emit","name":"seen","data":{}})" "\n");

  LedgerEntry grant = e;
  grant.action = LedgerAction::Grant;
  grant.target = "depositor";
  CHECK(written(grant) == prefix + R"("rule":"cashback","action":"grant","badge":"depositor"})" "\n");

  // Tier and segment entries have no rule; a day tick's trigger is its date.
  LedgerEntry tier = e;
  tier.rule = -1;
  tier.rule_name = {};
  tier.day_tick = true;
  tier.event_id = {};
  tier.day = 20459;
  tier.trigger_serial = 2;
  tier.time = perk::stdlib::UtcDayStart(20459);
  tier.action = LedgerAction::Tier;
  tier.from = "Base";
  tier.to = "Gold";
  const std::string day_prefix = R"({"seq":7,"trigger":"day:2026-01-06","client":"c","time":"2026-01-06T00:00:00Z",)";
  CHECK(written(tier) == day_prefix + R"("rule":null,"action":"tier","from":"Base","to":"Gold"})" "\n");
  LedgerEntry segment = tier;
  segment.action = LedgerAction::Segment;
  segment.target = "big";
  segment.member = false;
  CHECK(written(segment) == day_prefix + R"("rule":null,"action":"segment","segment":"big","member":false})" "\n");

  // Outcomes: only rejections and tick failures are reject lines.
  sink.Outcome(RecordOutcome{RecordStatus::Accepted, 3, "d1", "c", {}});
  sink.Outcome(RecordOutcome{RecordStatus::Duplicate, 4, "d1", "c", {}});
  CHECK(sink.rejects().empty());
  sink.Outcome(RecordOutcome{RecordStatus::Rejected, 5, "", "", "bad \"x\""});
  sink.Outcome(RecordOutcome{RecordStatus::TickFailed, 6, "", "", "tick"});
  CHECK(sink.rejects() == "{\"line\":5,\"error\":\"bad \\\"x\\\"\"}\n{\"line\":6,\"error\":\"tick\"}\n");
}

TEST_CASE("the JSON Lines writer has room for strings that escape to their longest") {
  // Entry writes into room it reserves beforehand; every byte here escapes to six (\u00XX).
  auto p = Compile(kProgram);
  perk::runtime::JsonlSink sink(*p);
  const std::string worst(3000, '\x01');
  const std::string quoted = perk::stdlib::JsonQuote(worst);
  perk::Value text = perk::Value::Str(worst);
  perk::runtime::LedgerValue data[2] = {{worst, perk::Type::String, &text}, {"m", perk::Type::Money, &text}};
  perk::Value money = perk::Value::Int(INT64_MIN);
  data[1].value = &money;
  LedgerEntry e;
  e.seq = UINT64_MAX;
  e.event_id = worst;
  e.trigger_serial = 1;
  e.time = INT64_MIN;
  e.client = worst;
  e.rule = 0;
  e.action = LedgerAction::Notify;
  e.target = worst;
  e.values = data;
  sink.Entry(e);
  std::string expected = "{\"seq\":18446744073709551615,\"trigger\":" + quoted + ",\"client\":" + quoted +
                         ",\"time\":\"" + perk::stdlib::FormatTime(INT64_MIN) + "\",\"rule\":\"cashback\"," +
                         "\"action\":\"notify\",\"template\":" + quoted + ",\"data\":{" + quoted + ":" + quoted +
                         ",\"m\":\"-92233720368547758.08\"}}\n";
  CHECK(sink.ledger() == expected);
  CHECK(quoted.size() == 6 * worst.size() + 2);
}

TEST_CASE("ledger action names round-trip through the .def list") {
  for (int a = 0; a < perk::runtime::kLedgerActions; ++a) {
    LedgerAction parsed;
    REQUIRE(perk::runtime::ParseLedgerAction(perk::runtime::LedgerActionName(static_cast<LedgerAction>(a)), &parsed));
    CHECK(static_cast<int>(parsed) == a);
  }
  LedgerAction parsed;
  CHECK_FALSE(perk::runtime::ParseLedgerAction("refund", &parsed));
}

TEST_CASE("entries a rollback takes back never reach a sink") {
  // The second credit divides by zero after the first was made: the record is rejected whole.
  auto p = Compile(R"(program "Rollback"
event deposit { n: int }
wallet points: int
rule r
  on deposit
  then
    credit points 1
    credit points floor(10 / (deposit.n - points))
end
)");
  perk::runtime::Engine engine(*p);
  Recorder recorder(*p);
  engine.AddSink(&recorder);
  engine.ProcessLine(R"({"type":"deposit","id":"a","client":"c","time":"2026-01-05T10:00:00Z","n":1})", 1);
  CHECK(recorder.actions.empty());
  CHECK(engine.seq() == 0);
  engine.ProcessLine(R"({"type":"deposit","id":"b","client":"c","time":"2026-01-05T11:00:00Z","n":3})", 2);
  std::vector<std::string> amounts = {"c points 1 1", "c points 5 6"};
  CHECK(recorder.amounts == amounts);
  CHECK(engine.seq() == 2);
  REQUIRE(recorder.outcomes.size() == 2);
  CHECK(recorder.outcomes[0] == "1 rejected a c rule `r`: division by ze");
  CHECK(recorder.outcomes[1] == "2 accepted b c");
  CHECK(recorder.text.ledger() == engine.ledger());
}

TEST_CASE("pending credits, releases and expiries reach sinks typed, as the ledger writes them") {
  auto p = Compile(R"(program "Lots"
currency USD
event deposit { amount: money }
wallet bonus: money expires after 2 days
rule cashback
  on deposit
  limit 3 per client
  then credit bonus deposit.amount * 10% pending 1 day
end
)");
  perk::runtime::Engine engine(*p);
  Recorder recorder(*p);
  engine.AddSink(&recorder);
  engine.ProcessLine(R"({"type":"deposit","id":"d1","client":"a","time":"2026-01-05T10:00:00Z","amount":"50.00"})", 1);
  engine.AdvanceTo(perk::stdlib::UtcDayStart(20459 + 2) + 1);  // past 2026-01-08T00:00:00Z
  INFO(engine.ledger());
  CHECK(recorder.text.ledger() == engine.ledger());
  CHECK(recorder.actions == std::vector<LedgerAction>{LedgerAction::Credit, LedgerAction::Release, LedgerAction::Expire});
  // The credit is pending until 2026-01-06 with the balance unchanged; released that day, it
  // is a lot that expires two days after its release date.
  CHECK(engine.ledger() ==
        R"({"seq":1,"trigger":"d1","client":"a","time":"2026-01-05T10:00:00Z","rule":"cashback","action":"credit","wallet":"bonus","amount":"5.00","balance":"0.00","pending":true,"until":"2026-01-06"})"
        "\n"
        R"({"seq":2,"trigger":"day:2026-01-06","client":"a","time":"2026-01-06T00:00:00Z","rule":null,"action":"release","wallet":"bonus","amount":"5.00","balance":"5.00"})"
        "\n"
        R"({"seq":3,"trigger":"day:2026-01-08","client":"a","time":"2026-01-08T00:00:00Z","rule":null,"action":"expire","wallet":"bonus","amount":"5.00","balance":"0.00"})"
        "\n");
}
