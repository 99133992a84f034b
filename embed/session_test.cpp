// Unit tests for the embedding session: outcomes per record, retry answers, the day ticks a
// record starts, and how long answers are kept.
#include "embed/session.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>

using perk::embed::BatchResult;
using perk::embed::Error;
using perk::embed::RecordStatus;
using perk::embed::Session;
using perk::embed::SessionOptions;

namespace {

// A daily rule that divides by the client's `divisor` attribute: a client whose divisor is 0
// makes its day tick fail.
const char* kProgram = R"(program "Test"
currency USD
event deposit { amount: money }
client { divisor: int = 1 }
wallet bonus: money
wallet tally: int
rule pay "ten percent"
  on deposit
  budget 1_000_000 USD
  then
    credit bonus deposit.amount * 10%
end
rule daily "a day counted"
  every day
  then
    credit tally floor(1 / client.divisor)
end
)";

std::unique_ptr<Session> Open(SessionOptions options = {}) {
  options.engine = perk::runtime::EngineKind::Interp;
  Error error;
  auto s = Session::Open("test.perk", kProgram, options, &error);
  INFO(error.message);
  REQUIRE(s);
  return s;
}

std::string Deposit(const std::string& id, const std::string& client, const std::string& time, const std::string& amount) {
  return R"({"type":"deposit","id":")" + id + R"(","client":")" + client + R"(","time":")" + time +
         R"(","amount":")" + amount + R"("})";
}

BatchResult Process(Session& s, const std::string& jsonl) {
  BatchResult r;
  Error e;
  REQUIRE(s.Process(jsonl, &r, &e));
  return r;
}

}  // namespace

TEST_CASE("each non-blank line gets an outcome, numbered within its batch") {
  auto s = Open();
  BatchResult r = Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00") + "\n\n" +
                                  R"({"type":"deposit","id":"d2"})" + "\n" +
                                  Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00") + "\r\n");
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[0].line == 1);
  CHECK(r.records[0].status == RecordStatus::Accepted);
  CHECK(r.records[0].id == "d1");
  CHECK(r.records[1].line == 3);
  CHECK(r.records[1].status == RecordStatus::Rejected);
  CHECK(r.records[1].id == "d2");
  CHECK_FALSE(r.records[1].error.empty());
  CHECK(r.records[2].status == RecordStatus::Duplicate);
  CHECK(r.records[2].effects == r.records[0].effects);
  CHECK((r.accepted == 1 && r.rejected == 1 && r.duplicates == 1));
  CHECK(r.Rejects().find("{\"line\":3,\"error\":") == 0);
  std::string json = r.Json();
  CHECK(json.find(R"({"accepted":1,"duplicates":1,"rejected":1,"records":[{"line":1,"id":"d1","status":"accepted","effects":[{"seq":1,)") == 0);
}

TEST_CASE("a rejected record is named by its id wherever the id stands in the line") {
  auto s = Open();
  BatchResult r = Process(*s, R"({"type":"deposit","amount":"lots","client":"c1","time":"2026-01-05T10:00:00Z","id":"late"})" "\n" +
                                  Deposit("early", "c1", "2026-01-05T10:00:00Z", "x") + "\n" +
                                  R"({"type":"deposit","id":7,"client":"c1","time":"2026-01-05T10:00:00Z","amount":"1.00"})");
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[0].id == "late");
  CHECK(r.records[1].id == "early");
  CHECK(r.records[2].id.empty());
  for (const auto& rec : r.records) {
    CHECK(rec.status == RecordStatus::Rejected);
    CHECK_FALSE(rec.error.empty());
  }
}

TEST_CASE("a byte order mark at the start of a body is skipped, elsewhere it is data") {
  auto s = Open();
  BatchResult r = Process(*s, "\xEF\xBB\xBF" + Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00") + "\n" +
                                  "\xEF\xBB\xBF" + Deposit("d2", "c1", "2026-01-05T10:00:00Z", "100.00"));
  REQUIRE(r.records.size() == 2);
  CHECK(r.records[0].status == RecordStatus::Accepted);
  CHECK(r.records[1].status == RecordStatus::Rejected);
}

TEST_CASE("a record's effects include the day ticks it started, and its retry returns them again") {
  auto s = Open();
  Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
  BatchResult r = Process(*s, Deposit("d2", "c1", "2026-01-07T10:00:00Z", "50.00"));
  REQUIRE(r.records.size() == 1);
  const std::string& effects = r.records[0].effects;
  CHECK(effects.find(R"("trigger":"day:2026-01-06")") != std::string::npos);
  CHECK(effects.find(R"("trigger":"day:2026-01-07")") != std::string::npos);
  CHECK(effects.find(R"("trigger":"d2")") != std::string::npos);
  BatchResult again = Process(*s, Deposit("d2", "c1", "2026-01-07T10:00:00Z", "50.00"));
  CHECK(again.records[0].status == RecordStatus::Duplicate);
  CHECK(again.records[0].effects == effects);
}

TEST_CASE("a tick with an id is answered again on its retry") {
  auto s = Open();
  Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
  const std::string tick = R"({"type":"tick","id":"t1","time":"2026-01-07T00:00:00Z"})";
  BatchResult first = Process(*s, tick);
  REQUIRE(first.records.size() == 1);
  CHECK(first.records[0].status == RecordStatus::Accepted);
  CHECK(first.records[0].effects.find("\"trigger\":\"day:2026-01-07\"") != std::string::npos);
  BatchResult retry = Process(*s, tick);
  REQUIRE(retry.records.size() == 1);
  CHECK(retry.records[0].status == RecordStatus::Duplicate);
  CHECK_FALSE(retry.records[0].forgotten);
  CHECK(retry.records[0].effects == first.records[0].effects);
}

TEST_CASE("a day tick that fails for a client is reported with the record that started it") {
  auto s = Open();
  Process(*s, R"({"type":"profile","client":"c0","time":"2026-01-05T09:00:00Z","divisor":0})");
  BatchResult r = Process(*s, Deposit("d1", "c1", "2026-01-06T10:00:00Z", "100.00"));
  REQUIRE(r.records.size() == 1);
  CHECK(r.records[0].status == RecordStatus::Accepted);
  REQUIRE(r.records[0].tick_errors.size() == 1);
  CHECK(r.records[0].tick_errors[0].find("division by zero") != std::string::npos);
  CHECK(r.Json().find("\"tick_errors\":[") != std::string::npos);
}

TEST_CASE("answers are kept as long as the engine remembers the id") {
  auto s = Open();
  Process(*s, Deposit("old", "c1", "2026-01-01T10:00:00Z", "100.00"));
  CHECK(s->Stats().answers_kept == 1);
  // 31 days on, both the engine and the session have forgotten `old`: it is new again.
  Process(*s, Deposit("later", "c1", "2026-02-01T11:00:00Z", "1.00"));
  CHECK(s->Stats().answers_kept == 1);
  BatchResult r = Process(*s, Deposit("old", "c1", "2026-02-01T12:00:00Z", "100.00"));
  CHECK(r.records[0].status == RecordStatus::Accepted);
}

TEST_CASE("past the byte budget the oldest answers go, and their retries say the effects are unknown") {
  SessionOptions options;
  options.answer_bytes = 1;
  auto s = Open(options);
  Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
  BatchResult r = Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
  CHECK(r.records[0].status == RecordStatus::Duplicate);
  CHECK(r.records[0].forgotten);
  CHECK(r.Json().find("\"effects\":null") != std::string::npos);
  CHECK(s->Stats().engine.effects == 1);
}

TEST_CASE("open reports program errors and bad params as codes with messages") {
  Error error;
  CHECK_FALSE(Session::Open("bad.perk", "program \"x\"\nwallet w: mony\n", {}, &error));
  CHECK(error.code == perk::embed::ErrorCode::Program);
  CHECK(error.message.find("bad.perk:2:") != std::string::npos);
  SessionOptions options;
  options.params = {"nope=1"};
  CHECK_FALSE(Session::Open("test.perk", kProgram, options, &error));
  CHECK(error.code == perk::embed::ErrorCode::Param);
  CHECK_FALSE(Session::OpenFile("/nonexistent.perk", {}, &error));
  CHECK(error.code == perk::embed::ErrorCode::Io);
}

TEST_CASE("clients read back as JSON") {
  auto s = Open();
  Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
  std::string json;
  REQUIRE(s->ClientJson("c1", &json));
  CHECK(json.find(R"("wallets":{"bonus":"10.00","tally":0})") != std::string::npos);
  CHECK_FALSE(s->ClientJson("c2", &json));
}

namespace {
struct ScratchDir {
  std::string path;
  ScratchDir() {
    char tmpl[] = "/tmp/perk-session-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~ScratchDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};
}  // namespace

TEST_CASE("with state, answers outlive the session and are read back from the ledger file") {
  ScratchDir dir;
  SessionOptions options;
  options.state_path = dir.path + "/state.db";
  std::string original;
  {
    auto s = Open(options);
    BatchResult r = Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
    original = r.records[0].effects;
    REQUIRE_FALSE(original.empty());
  }
  // A tiny budget keeps no effects in memory: the retry reads them from the ledger file.
  options.answer_bytes = 1;
  auto s = Open(options);
  CHECK(s->Stats().answers_kept == 1);
  BatchResult r = Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
  CHECK(r.records[0].status == RecordStatus::Duplicate);
  CHECK(r.records[0].effects == original);
  Process(*s, Deposit("d2", "c1", "2026-01-05T11:00:00Z", "10.00"));
  Process(*s, Deposit("d3", "c1", "2026-01-05T12:00:00Z", "10.00"));
  r = Process(*s, Deposit("d2", "c1", "2026-01-05T11:00:00Z", "10.00") + "\n" +
                      Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
  CHECK(r.records[0].effects.find(R"("trigger":"d2")") != std::string::npos);
  CHECK(r.records[1].effects == original);
}

TEST_CASE("a reload in memory keeps the clients and upgrades them to the new program") {
  auto s = Open();
  Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
  std::string v2 = kProgram;
  v2.replace(v2.find("wallet tally: int"), 17, "wallet tally: int\nwallet extra: int");
  perk::embed::ReloadResult result;
  Error error;
  REQUIRE(s->Reload("v2.perk", v2, {}, {}, &result, &error));
  CHECK(result.version == 2);
  std::string json;
  REQUIRE(s->ClientJson("c1", &json));
  CHECK(json.find(R"("wallets":{"bonus":"10.00","tally":0,"extra":0})") != std::string::npos);
  // The dedup window and the ledger's seq carry over.
  BatchResult r = Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
  CHECK(r.records[0].status == RecordStatus::Duplicate);
  r = Process(*s, Deposit("d2", "c1", "2026-01-05T11:00:00Z", "100.00"));
  CHECK(r.records[0].effects.find(R"("seq":2,)") != std::string::npos);
  // Dropping a wallet is refused unless allowed; the old version goes on.
  std::string v3 = v2;
  v3.replace(v3.find("\nwallet extra: int"), 18, "");
  CHECK_FALSE(s->Reload("v3.perk", v3, {}, {}, &result, &error));
  CHECK(error.code == perk::embed::ErrorCode::Upgrade);
  CHECK(s->Stats().program_version == 2);
  REQUIRE(s->Reload("v3.perk", v3, {}, {"extra"}, &result, &error));
  CHECK(result.version == 3);
}

TEST_CASE("a reload in memory carries over what reversals remember") {
  auto s = Open();
  Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00") + "\n" +
                  Deposit("d2", "c1", "2026-01-05T11:00:00Z", "50.00"));
  auto reversal = [](const std::string& id, const std::string& of, const std::string& time) {
    return R"({"type":"reversal","id":")" + id + R"(","client":"c1","time":")" + time + R"(","of":")" + of + R"("})";
  };
  // d2 is reversed before the reload: reversing it again afterwards is refused as before.
  BatchResult r = Process(*s, reversal("r2", "d2", "2026-01-05T12:00:00Z"));
  REQUIRE(r.records[0].status == RecordStatus::Accepted);
  std::string v2 = kProgram;
  v2.replace(v2.find("wallet tally: int"), 17, "wallet tally: int\nwallet extra: int");
  perk::embed::ReloadResult result;
  Error error;
  REQUIRE(s->Reload("v2.perk", v2, {}, {}, &result, &error));
  r = Process(*s, reversal("r1", "d1", "2026-01-05T13:00:00Z") + "\n" + reversal("r3", "d2", "2026-01-05T13:00:01Z"));
  INFO(r.Json());
  REQUIRE(r.records[0].status == RecordStatus::Accepted);
  CHECK(r.records[0].effects.find(R"("action":"debit","wallet":"bonus","amount":"10.00","balance":"0.00","reverses":1)") !=
        std::string::npos);
  CHECK(r.records[1].status == RecordStatus::Rejected);
  CHECK(r.records[1].error.find("already reversed") != std::string::npos);
  CHECK(result.notes.empty());
}

TEST_CASE("a reload in memory refuses to reset a renamed rule's limit unless allowed, and `renamed from` keeps it") {
  const std::string v1 = R"(program "Once"
currency USD
event deposit { amount: money }
wallet bonus: money
rule welcome "welcome"
  on deposit
  limit once per client
  then credit bonus 10 USD
end
)";
  auto open = [&] {
    SessionOptions options;
    options.engine = perk::runtime::EngineKind::Interp;
    Error error;
    auto s = Session::Open("v1.perk", v1, options, &error);
    INFO(error.message);
    REQUIRE(s);
    Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "100.00"));
    return s;
  };
  auto bonus = [](Session& s) {
    std::string json;
    REQUIRE(s.ClientJson("c1", &json));
    return json.substr(json.find(R"("bonus":)"), 15);
  };
  std::string renamed = v1;
  renamed.replace(renamed.find("rule welcome"), 12, "rule greeting");
  perk::embed::ReloadResult result;
  Error error;

  auto s = open();
  CHECK_FALSE(s->Reload("v2.perk", renamed, {}, {}, &result, &error));
  CHECK(error.code == perk::embed::ErrorCode::Upgrade);
  CHECK(error.message.find("rule `welcome`") != std::string::npos);
  CHECK(error.message.find("allow_drop=NAME") != std::string::npos);
  CHECK(error.message.find("renamed from OLD") != std::string::npos);
  CHECK(s->Stats().program_version == 1);

  std::string carried = renamed;
  carried.replace(carried.find(R"("welcome")"), 9, R"("welcome" renamed from welcome)");
  REQUIRE(s->Reload("v3.perk", carried, {}, {}, &result, &error));
  CHECK(result.notes.empty());
  BatchResult r = Process(*s, Deposit("d2", "c1", "2026-01-06T10:00:00Z", "100.00"));
  CHECK(bonus(*s) == R"("bonus":"10.00")");
  // What reversals remember of `welcome` follows it to `greeting`.
  r = Process(*s, R"({"type":"reversal","id":"r1","client":"c1","time":"2026-01-06T11:00:00Z","of":"d1"})");
  INFO(r.Json());
  CHECK(r.records[0].status == RecordStatus::Accepted);
  CHECK(r.records[0].effects.find(R"("rule":"greeting")") != std::string::npos);

  // Allowed by the old name: the limit starts afresh and c1 is paid again.
  auto t = open();
  REQUIRE(t->Reload("v2.perk", renamed, {}, {"welcome"}, &result, &error));
  // Its firings' limit counts are gone too, so d1 can no longer be reversed (a second note).
  REQUIRE(result.notes.size() == 2);
  CHECK(result.notes[0] == "reversals: 1 events accepted before the upgrade can no longer be reversed (their type, or a rule, wallet or limit their firings used, changed or is gone)");
  CHECK(result.notes[1].find("dropped: rule `welcome`") == 0);
  Process(*t, Deposit("d2", "c1", "2026-01-06T10:00:00Z", "100.00"));
  CHECK(bonus(*t) == R"("bonus":"20.00")");
}

TEST_CASE("a record timed far ahead of the wall clock is rejected, and later records are accepted") {
  auto s = Open();
  BatchResult r = Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "10.00") + "\n" +
                                  Deposit("d2", "c1", "2062-03-01T10:00:00Z", "10.00") + "\n" +
                                  Deposit("d3", "c1", "2026-01-06T10:00:00Z", "10.00"));
  REQUIRE(r.records.size() == 3);
  CHECK(r.records[0].status == RecordStatus::Accepted);
  CHECK(r.records[1].status == RecordStatus::Rejected);
  CHECK(r.records[1].id == "d2");
  CHECK(r.records[1].error.find("ahead of the wall clock") != std::string::npos);
  CHECK(r.records[2].status == RecordStatus::Accepted);
}

TEST_CASE("a clock jump past the cap and a client id past its cap are rejected") {
  SessionOptions options;
  options.boundary.max_clock_jump = int64_t{36} * 3600 * 1000000;
  auto s = Open(options);
  BatchResult r = Process(*s, Deposit("d1", "c1", "2026-01-05T10:00:00Z", "10.00") + "\n" +
                                  Deposit("d2", "c1", "2026-01-08T10:00:00Z", "10.00") + "\n" +
                                  Deposit("d3", "c1", "2026-01-06T10:00:00Z", "10.00") + "\n" +
                                  Deposit("d4", std::string(257, 'c'), "2026-01-06T10:00:00Z", "10.00"));
  REQUIRE(r.records.size() == 4);
  CHECK(r.records[1].status == RecordStatus::Rejected);
  CHECK(r.records[1].error.find("--max-clock-jump") != std::string::npos);
  CHECK(r.records[2].status == RecordStatus::Accepted);
  CHECK(r.records[3].status == RecordStatus::Rejected);
  CHECK(r.records[3].error.find("at most 256 bytes") != std::string::npos);
}
