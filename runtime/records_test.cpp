// Tests for input record decoding (spec §4) and the block line reader.
#include "runtime/records.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>

namespace perk::runtime {
namespace {

using Catch::Matchers::Contains;

constexpr std::string_view kTime = R"("time":"2026-01-05T10:00:00Z")";
constexpr int64_t kTimeMicros = 1767607200000000;  // 2026-01-05T10:00:00Z

InputSchema TestSchema() {
  InputSchema schema;
  EventSpec deposit{"deposit", {}};
  deposit.fields.push_back({"amount", Type::Money, false, {}});
  deposit.fields.push_back({"method", Type::String, true, Value::Str("card")});
  deposit.fields.push_back({"first", Type::Bool, true, Value::Int(0)});
  schema.events.push_back(deposit);
  EventSpec trade{"trade", {}};
  trade.fields.push_back({"lots", Type::Decimal, false, {}});
  trade.fields.push_back({"count", Type::Int, true, Value::Int(7)});
  trade.fields.push_back({"opened", Type::Time, true, Value::Int(0)});
  trade.fields.push_back({"day", Type::Date, true, Value::Int(0)});
  trade.fields.push_back({"symbol", Type::String, true, Value::Str("EURUSD")});
  schema.events.push_back(trade);
  schema.client_fields.push_back({"birthdate", Type::Date, false, {}});
  schema.client_fields.push_back({"name", Type::String, true, Value::Str("friend")});
  schema.client_fields.push_back({"vip", Type::Bool, false, {}});
  return schema;
}

// Decodes lines against TestSchema; `seen` ids count as already processed.
struct Harness {
  RecordDecoder decoder{TestSchema()};
  std::vector<std::string> seen;
  std::vector<std::string> asked;
  Record record;
  std::string error;

  DecodeOutcome Decode(std::string_view line) {
    error.clear();
    return decoder.Decode(
        line,
        [this](std::string_view id) {
          asked.emplace_back(id);
          for (const std::string& s : seen) {
            if (s == id) return true;
          }
          return false;
        },
        &record, &error);
  }

  // Decodes a line expected to be rejected and returns the reason.
  std::string RejectReason(std::string_view line) {
    DecodeOutcome outcome = Decode(line);
    INFO(line);
    INFO("outcome " << static_cast<int>(outcome));
    REQUIRE(outcome == DecodeOutcome::Reject);
    REQUIRE_FALSE(error.empty());
    return error;
  }
};

std::string Deposit(std::string_view rest) {
  return std::string(R"({"type":"deposit","id":"d1","client":"c1",)") + std::string(kTime) +
         (rest.empty() ? "" : ",") + std::string(rest) + "}";
}

std::string Trade(std::string_view rest) {
  return std::string(R"({"type":"trade","id":"t1","client":"c1",)") + std::string(kTime) + R"(,"lots":1)" +
         (rest.empty() ? "" : ",") + std::string(rest) + "}";
}

std::string Profile(std::string_view rest) {
  return std::string(R"({"type":"profile","client":"c1",)") + std::string(kTime) + (rest.empty() ? "" : ",") +
         std::string(rest) + "}";
}

int64_t DepositAmount(Harness& h, std::string_view amount_json) {
  std::string line = Deposit(std::string(R"("amount":)") + std::string(amount_json));
  INFO(line << " -> " << h.error);
  REQUIRE(h.Decode(line) == DecodeOutcome::Ok);
  return h.record.fields[0].i;
}

int64_t TradeLots(Harness& h, std::string_view lots_json) {
  std::string line = R"({"type":"trade","id":"t1","client":"c1",)" + std::string(kTime) + R"(,"lots":)" +
                     std::string(lots_json) + "}";
  INFO(line << " -> " << h.error);
  REQUIRE(h.Decode(line) == DecodeOutcome::Ok);
  return h.record.fields[0].i;
}

// ---- well-formed records ----

TEST_CASE("records: an event with every field given", "[records]") {
  Harness h;
  REQUIRE(h.Decode(Deposit(R"("amount":"250.55","method":"wire","first":true)")) == DecodeOutcome::Ok);
  const Record& r = h.record;
  CHECK(r.kind == RecordKind::Event);
  CHECK(r.event_index == 0);
  CHECK(r.id == "d1");
  CHECK(r.client == "c1");
  CHECK(r.time == kTimeMicros);
  REQUIRE(r.fields.size() == 3);
  CHECK(r.fields[0].i == 25055);
  CHECK(r.fields[1].s == "wire");
  CHECK(r.fields[2].i == 1);
}

TEST_CASE("records: [v0.2] client fields, and ids with `/` reserved for sent events", "[records]") {
  InputSchema schema;
  EventSpec signup{"signup", {}};
  signup.fields.push_back({"referrer", Type::Client, false, {}});
  schema.events.push_back(signup);
  schema.client_fields.push_back({"referred_by", Type::Client, false, {}});
  RecordDecoder decoder(schema);
  Record r;
  std::string error;
  auto line = [](std::string_view id, std::string_view referrer) {
    return std::string(R"({"type":"signup","id":")") + std::string(id) + R"(","client":"f1",)" + std::string(kTime) +
           R"(,"referrer":)" + std::string(referrer) + "}";
  };
  REQUIRE(decoder.Decode(line("s1", R"("r1")"), nullptr, &r, &error) == DecodeOutcome::Ok);
  CHECK(r.fields[0].s == "r1");
  CHECK(decoder.Decode(line("s2", R"("")"), nullptr, &r, &error) == DecodeOutcome::Reject);
  CHECK_THAT(error, Contains("a non-empty string"));
  CHECK(decoder.Decode(line("s3", "7"), nullptr, &r, &error) == DecodeOutcome::Reject);
  // A sent id fed as input is rejected before the dedup look-up: never a duplicate.
  bool asked = false;
  auto seen = [&](std::string_view) { return asked = true; };
  CHECK(decoder.Decode(line("d1/refer/1", R"("r1")"), seen, &r, &error) == DecodeOutcome::Reject);
  CHECK_FALSE(asked);
  CHECK_THAT(error, Contains("reserved for the ids of events sent by rules"));
  // `null` unsets the optional client attribute.
  REQUIRE(decoder.Decode(R"({"type":"profile","client":"f1",)" + std::string(kTime) + R"(,"referred_by":null})", nullptr,
                         &r, &error) == DecodeOutcome::Ok);
  CHECK(r.nulled[0]);

  CHECK(SenderOf("d1") == "");
  CHECK(SenderOf("d1/refer/1") == "d1");
  CHECK(SenderOf("d1/refer/1/pay/2") == "d1/refer/1");
  CHECK(SenderOf("day:2026-04-02/c1/statement/1") == "day:2026-04-02/c1");
}

TEST_CASE("records: missing fields take their defaults, and null counts as missing", "[records]") {
  Harness h;
  REQUIRE(h.Decode(Deposit(R"("amount":10)")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[1].s == "card");
  CHECK(h.record.fields[2].i == 0);
  REQUIRE(h.Decode(Deposit(R"("amount":10,"method":null,"first":null)")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[1].s == "card");
  CHECK(h.record.fields[2].i == 0);

  REQUIRE(h.Decode(Trade("")) == DecodeOutcome::Ok);
  CHECK(h.record.event_index == 1);
  CHECK(h.record.fields[1].i == 7);
  CHECK(h.record.fields[4].s == "EURUSD");
}

TEST_CASE("records: a missing field without a default is rejected", "[records]") {
  Harness h;
  CHECK(h.RejectReason(Deposit(R"("first":true)")) == "missing field `amount` (it has no default)");
  CHECK(h.RejectReason(Deposit(R"("amount":null)")) == "missing field `amount` (it has no default)");
}

TEST_CASE("records: money is read from its decimal text, as a number or a string", "[records]") {
  Harness h;
  CHECK(DepositAmount(h, "250.10") == 25010);
  CHECK(DepositAmount(h, R"("250.10")") == 25010);
  CHECK(DepositAmount(h, "50") == 5000);
  CHECK(DepositAmount(h, R"("1000")") == 100000);
  CHECK(DepositAmount(h, "0.1") == 10);
  CHECK(DepositAmount(h, "-0.5") == -50);
  CHECK(DepositAmount(h, "0") == 0);
  // Values a double cannot hold exactly.
  CHECK(DepositAmount(h, "0.29") == 29);
  CHECK(DepositAmount(h, "92233720368547758.07") == INT64_MAX);
  CHECK(DepositAmount(h, R"("-92233720368547758.08")") == INT64_MIN);
}

TEST_CASE("records: exponents in numbers", "[records]") {
  Harness h;
  CHECK(DepositAmount(h, "1e2") == 10000);
  CHECK(DepositAmount(h, "1E2") == 10000);
  CHECK(DepositAmount(h, "1e+2") == 10000);
  CHECK(DepositAmount(h, "1.5e-1") == 15);
  CHECK(DepositAmount(h, R"("2.5e1")") == 2500);
  CHECK(DepositAmount(h, "12345e-2") == 12345);
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":1e-3)")), Contains("`amount`") && Contains("2 decimal places"));
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":1e400)")), Contains("`amount`") && Contains("out of range"));
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":1e-99999999999999999999)")),
             Contains("`amount`") && Contains("decimal places"));
}

TEST_CASE("records: money has at most 2 decimal places", "[records]") {
  Harness h;
  CHECK(h.RejectReason(Deposit(R"("amount":"10.001")")) ==
        R"(field `amount`: money has at most 2 decimal places, got "10.001")");
  CHECK(h.RejectReason(Deposit(R"("amount":10.001)")) ==
        "field `amount`: money has at most 2 decimal places, got 10.001");
  // Written digits count, even zeros.
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":"10.000")")), Contains("2 decimal places"));
}

TEST_CASE("records: money out of range or malformed", "[records]") {
  Harness h;
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":"92233720368547758.08")")),
             Contains("field `amount`") && Contains("out of range") && Contains("92233720368547758.08"));
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":123456789012345678901234567890)")),
             Contains("field `amount`") && Contains("out of range"));
  for (std::string_view bad : {R"("abc")", R"(" 1")", R"("1,00")", R"("+1")", R"("01")", R"("1.")", R"(".5")",
                               R"("")", R"("1_000")", "true", "[1]", R"({"v":1})"}) {
    std::string reason = h.RejectReason(Deposit(std::string(R"("amount":)") + std::string(bad)));
    CHECK_THAT(reason, Contains("field `amount`: expected money"));
  }
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":true)")), Contains("got true"));
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":[1])")), Contains("got an array"));
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":{"v":1})")), Contains("got an object"));
}

TEST_CASE("records: decimals have at most 6 decimal places", "[records]") {
  Harness h;
  CHECK(TradeLots(h, "0.123456") == 123456);
  CHECK(TradeLots(h, R"("0.123456")") == 123456);
  CHECK(TradeLots(h, "2.5") == 2500000);
  CHECK(TradeLots(h, "3") == 3000000);
  CHECK(TradeLots(h, "1.2345678e1") == 12345678);
  std::string line =
      R"({"type":"trade","id":"t1","client":"c1",)" + std::string(kTime) + R"(,"lots":0.1234567})";
  CHECK(h.RejectReason(line) == "field `lots`: a decimal has at most 6 decimal places, got 0.1234567");
  line = R"({"type":"trade","id":"t1","client":"c1",)" + std::string(kTime) + R"(,"lots":"x"})";
  CHECK_THAT(h.RejectReason(line), Contains("field `lots`: expected a decimal") && Contains(R"(got "x")"));
  line = R"({"type":"trade","id":"t1","client":"c1",)" + std::string(kTime) + R"(,"lots":1e13})";
  CHECK_THAT(h.RejectReason(line), Contains("field `lots`: decimal out of range"));
}

TEST_CASE("records: ints are whole numbers, as numbers or strings", "[records]") {
  Harness h;
  REQUIRE(h.Decode(Trade(R"("count":42)")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[1].i == 42);
  REQUIRE(h.Decode(Trade(R"("count":"-42")")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[1].i == -42);
  REQUIRE(h.Decode(Trade(R"("count":1e2)")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[1].i == 100);
  REQUIRE(h.Decode(Trade(R"("count":-9223372036854775808)")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[1].i == INT64_MIN);
  CHECK(h.RejectReason(Trade(R"("count":1.5)")) == "field `count`: an int must be a whole number, got 1.5");
  CHECK_THAT(h.RejectReason(Trade(R"("count":"1.0")")), Contains("field `count`: an int must be a whole number"));
  CHECK_THAT(h.RejectReason(Trade(R"("count":9223372036854775808)")),
             Contains("field `count`: int out of range"));
  CHECK_THAT(h.RejectReason(Trade(R"("count":"seven")")), Contains("field `count`: expected an int"));
  CHECK_THAT(h.RejectReason(Trade(R"("count":false)")), Contains("field `count`: expected an int"));
}

TEST_CASE("records: bools are JSON true or false only", "[records]") {
  Harness h;
  REQUIRE(h.Decode(Deposit(R"("amount":1,"first":false)")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[2].i == 0);
  REQUIRE(h.Decode(Deposit(R"("amount":1,"first":true)")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[2].i == 1);
  CHECK(h.RejectReason(Deposit(R"("amount":1,"first":"yes")")) == R"(field `first`: expected true or false, got "yes")");
  CHECK(h.RejectReason(Deposit(R"("amount":1,"first":1)")) == "field `first`: expected true or false, got 1");
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":1,"first":"true")")), Contains("field `first`"));
}

TEST_CASE("records: strings are JSON strings, unescaped", "[records]") {
  Harness h;
  REQUIRE(h.Decode(Deposit(R"("amount":1,"method":"A\"\\\n\u00e9\ud83d\ude00Анна")")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[1].s == "A\"\\\n\xc3\xa9\xf0\x9f\x98\x80\xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0");
  CHECK(h.record.fields[1].i == 0);
  CHECK(h.RejectReason(Deposit(R"("amount":1,"method":5)")) == "field `method`: expected a string, got 5");
  CHECK_THAT(h.RejectReason(Deposit(R"("amount":1,"method":["card"])")), Contains("field `method`"));
}

TEST_CASE("records: time and date fields", "[records]") {
  Harness h;
  REQUIRE(h.Decode(Trade(R"("opened":"2026-01-05T12:00:00.5+02:00","day":"1990-05-17")")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[2].i == kTimeMicros + 500000);
  CHECK(h.record.fields[3].i == 7441);
  CHECK_THAT(h.RejectReason(Trade(R"("opened":"2026-01-05")")), Contains("field `opened`") && Contains("2026-01-05"));
  CHECK_THAT(h.RejectReason(Trade(R"("opened":1767607200)")),
             Contains("field `opened`: expected an RFC 3339 time") && Contains("got 1767607200"));
  CHECK_THAT(h.RejectReason(Trade(R"("day":"1990-5-17")")), Contains("field `day`") && Contains("\"1990-5-17\""));
  CHECK_THAT(h.RejectReason(Trade(R"("day":"2026-02-30")")), Contains("field `day`") && Contains("\"2026-02-30\""));
  CHECK_THAT(h.RejectReason(Trade(R"("day":19900517)")), Contains("field `day`: expected a date"));
}

// ---- the record envelope: type, time, id, client ----

TEST_CASE("records: the record type", "[records]") {
  Harness h;
  CHECK(h.RejectReason(R"({"type":"withdrawal","id":"w1","client":"c1","time":"2026-01-07T10:00:00Z"})") ==
        "unknown record type `withdrawal`; expected deposit, trade, profile, tick or reversal");
  CHECK(h.RejectReason(R"({"id":"w1","client":"c1","time":"2026-01-07T10:00:00Z"})") ==
        "missing `type`; expected deposit, trade, profile, tick or reversal");
  CHECK(h.RejectReason(R"({"type":null,"time":"2026-01-07T10:00:00Z"})") ==
        "missing `type`; expected deposit, trade, profile, tick or reversal");
  CHECK_THAT(h.RejectReason(R"({"type":7,"time":"2026-01-07T10:00:00Z"})"),
             Contains("`type`: expected a string") && Contains("got 7"));
  // Case matters; odd names are quoted so the message stays readable.
  CHECK_THAT(h.RejectReason(R"({"type":"Deposit","time":"2026-01-07T10:00:00Z"})"), Contains("`Deposit`"));
  CHECK_THAT(h.RejectReason(R"({"type":"a`b\u0001","time":"2026-01-07T10:00:00Z"})"),
             Contains(R"("a`b\u0001")"));
}

TEST_CASE("records: every record needs an RFC 3339 time", "[records]") {
  Harness h;
  CHECK_THAT(h.RejectReason(R"({"type":"tick"})"), Contains("missing `time`"));
  CHECK_THAT(h.RejectReason(R"({"type":"deposit","id":"d1","client":"c1","amount":1})"), Contains("missing `time`"));
  CHECK_THAT(h.RejectReason(R"({"type":"tick","time":"2026-13-01"})"),
             Contains("`time`") && Contains("\"2026-13-01\""));
  CHECK_THAT(h.RejectReason(R"({"type":"tick","time":"2026-01-05T10:00:00"})"),
             Contains("`time`") && Contains("UTC offset"));
  CHECK_THAT(h.RejectReason(R"({"type":"tick","time":1767607200})"),
             Contains("`time`: expected an RFC 3339 time") && Contains("got 1767607200"));
  REQUIRE(h.Decode(R"({"type":"tick","time":"2026-01-05T12:00:00+02:00"})") == DecodeOutcome::Ok);
  CHECK(h.record.time == kTimeMicros);
}

TEST_CASE("records: events need a non-empty id and client", "[records]") {
  Harness h;
  std::string t(kTime);
  CHECK_THAT(h.RejectReason(R"({"type":"deposit","client":"c1","amount":1,)" + t + "}"),
             Contains("missing `id`") && Contains("deposit"));
  CHECK(h.RejectReason(R"({"type":"deposit","id":"","client":"c1","amount":1,)" + t + "}") ==
        R"(`id`: expected a non-empty string, got "")");
  CHECK(h.RejectReason(R"({"type":"deposit","id":12,"client":"c1","amount":1,)" + t + "}") ==
        "`id`: expected a non-empty string, got 12");
  CHECK_THAT(h.RejectReason(R"({"type":"deposit","id":"d1","amount":1,)" + t + "}"),
             Contains("missing `client`"));
  CHECK_THAT(h.RejectReason(R"({"type":"deposit","id":"d1","client":"","amount":1,)" + t + "}"),
             Contains("`client`: expected a non-empty string"));
  CHECK_THAT(h.RejectReason(R"({"type":"deposit","id":"d1","client":{},"amount":1,)" + t + "}"),
             Contains("`client`") && Contains("got an object"));
}

TEST_CASE("records: profile sets only the client fields it names", "[records]") {
  Harness h;
  REQUIRE(h.Decode(Profile(R"("birthdate":"1990-05-17","since":"ignored","extra":1)")) == DecodeOutcome::Ok);
  const Record& r = h.record;
  CHECK(r.kind == RecordKind::Profile);
  CHECK(r.event_index == -1);
  CHECK(r.client == "c1");
  CHECK(r.id.empty());
  CHECK(r.time == kTimeMicros);
  REQUIRE(r.fields.size() == 3);
  REQUIRE(r.present.size() == 3);
  CHECK(r.present == std::vector<bool>{true, false, false});
  CHECK(r.fields[0].i == 7441);
  // No defaults: an attribute the profile does not name keeps its value in the engine.
  CHECK(r.fields[1].s.empty());

  REQUIRE(h.Decode(Profile(R"("id":"p1","name":"Анна","vip":true,"birthdate":null)")) == DecodeOutcome::Ok);
  CHECK(h.record.id == "p1");
  // `null` names the field, to unset it (or return it to its default).
  CHECK(h.record.present == std::vector<bool>{true, true, true});
  CHECK(h.record.nulled == std::vector<bool>{true, false, false});
  CHECK(h.record.fields[1].s == "Анна");
  CHECK(h.record.fields[2].i == 1);

  REQUIRE(h.Decode(Profile("")) == DecodeOutcome::Ok);
  CHECK(h.record.present == std::vector<bool>{false, false, false});

  CHECK_THAT(h.RejectReason(R"({"type":"profile",)" + std::string(kTime) + "}"), Contains("missing `client`"));
  CHECK(h.RejectReason(Profile(R"("vip":"yes")")) == R"(field `vip`: expected true or false, got "yes")");
  CHECK_THAT(h.RejectReason(Profile(R"("birthdate":"17.05.1990")")), Contains("field `birthdate`"));
  CHECK_THAT(h.RejectReason(Profile(R"("id":5)")), Contains("`id`: expected a string"));
}

TEST_CASE("records: tick needs only a time", "[records]") {
  Harness h;
  REQUIRE(h.Decode(R"({"type":"tick","time":"2026-02-01T00:00:00Z"})") == DecodeOutcome::Ok);
  CHECK(h.record.kind == RecordKind::Tick);
  CHECK(h.record.event_index == -1);
  CHECK(h.record.fields.empty());
  REQUIRE(h.Decode(R"({"type":"tick","time":"2026-02-01T00:00:00Z","client":5,"x":[{"a":[1,{"b":null}]}]})") ==
          DecodeOutcome::Ok);
}

TEST_CASE("records: unknown keys are ignored, keys are unescaped, order does not matter", "[records]") {
  Harness h;
  REQUIRE(h.Decode(R"({"amount":"5","extra":"x","nested":{"amount":"bad"},"time":"2026-01-05T10:00:00Z",)"
                   R"("client":"c1","\u0069d":"d1","t\u0079pe":"deposit"})") == DecodeOutcome::Ok);
  CHECK(h.record.id == "d1");
  CHECK(h.record.fields[0].i == 500);
  // A key another event type declares is not read for this one.
  REQUIRE(h.Decode(Deposit(R"("amount":1,"lots":"not a decimal")")) == DecodeOutcome::Ok);
}

TEST_CASE("records: a key given twice is rejected", "[records]") {
  Harness h;
  CHECK(h.RejectReason(Deposit(R"("amount":1,"amount":2)")) == "key `amount` appears twice");
  CHECK(h.RejectReason(Deposit(R"("amount":1,"extra":1,"extra":2)")) == "key `extra` appears twice");
  CHECK(h.RejectReason(R"({"type":"tick","type":"tick",)" + std::string(kTime) + "}") == "key `type` appears twice");
  CHECK(h.RejectReason(R"({"id":"a","id":"b","type":"tick",)" + std::string(kTime) + "}") ==
        "key `id` appears twice");
  // Many unknown keys: the repeat is still found.
  std::string line = "{";
  for (int i = 0; i < 100; ++i) line += "\"k" + std::to_string(i) + "\":1,";
  line += R"("k50":2})";
  CHECK(h.RejectReason(line) == "key `k50` appears twice");
  // Nested objects in unknown keys are not checked.
  REQUIRE(h.Decode(Deposit(R"("amount":1,"extra":{"a":1,"a":2})")) == DecodeOutcome::Ok);
}

// ---- duplicates ----

TEST_CASE("records: a duplicate id is found before any other check", "[records]") {
  Harness h;
  h.seen = {"d1"};
  CHECK(h.Decode(Deposit(R"("amount":"250.55")")) == DecodeOutcome::Duplicate);
  CHECK(h.record.id == "d1");
  CHECK(h.asked == std::vector<std::string>{"d1"});
  // Bad type, bad time, bad fields, repeated keys: still a duplicate.
  CHECK(h.Decode(R"({"type":"withdrawal","id":"d1"})") == DecodeOutcome::Duplicate);
  CHECK(h.Decode(R"({"type":5,"id":"d1","time":"yesterday"})") == DecodeOutcome::Duplicate);
  CHECK(h.Decode(R"({"id":"d1"})") == DecodeOutcome::Duplicate);
  CHECK(h.Decode(R"({"time":"bad","amount":"10.001","amount":1,"id":"d1","type":"deposit"})") ==
        DecodeOutcome::Duplicate);
  // A profile's id is asked about too.
  CHECK(h.Decode(Profile(R"("id":"d1")")) == DecodeOutcome::Duplicate);

  // Not asked: no id, an empty or non-string id, invalid JSON, a repeated `id` key.
  h.asked.clear();
  CHECK(h.Decode(Profile("")) == DecodeOutcome::Ok);
  CHECK(h.Decode(R"({"type":"deposit","id":""})") == DecodeOutcome::Reject);
  CHECK(h.Decode(R"({"type":"deposit","id":5})") == DecodeOutcome::Reject);
  CHECK(h.Decode(R"({"type":"deposit","id":"d1","amount":})") == DecodeOutcome::Reject);
  CHECK(h.Decode(R"({"type":"deposit","id":"d1","id":"d1"})") == DecodeOutcome::Reject);
  CHECK(h.asked.empty());

  // A new id is asked once and decodes normally.
  CHECK(h.Decode(R"({"type":"deposit","id":"d2","client":"c1","amount":1,)" + std::string(kTime) + "}") ==
        DecodeOutcome::Ok);
  CHECK(h.asked == std::vector<std::string>{"d2"});
}

TEST_CASE("records: an empty is_duplicate callback means no duplicates", "[records]") {
  RecordDecoder decoder(TestSchema());
  Record record;
  std::string error;
  CHECK(decoder.Decode(Deposit(R"("amount":1)"), {}, &record, &error) == DecodeOutcome::Ok);
}

// ---- malformed lines ----

TEST_CASE("records: blank lines", "[records]") {
  Harness h;
  for (std::string_view line : {"", " ", "\t", "\r", "  \t \r"}) {
    CHECK(h.Decode(line) == DecodeOutcome::Blank);
  }
  CHECK(h.asked.empty());
}

TEST_CASE("records: lines that are not JSON objects", "[records]") {
  Harness h;
  for (std::string_view line : std::initializer_list<std::string_view>{"x", "[1,2]", "\"deposit\"", "42", "true", "null", "{", "}", "{\"type\":\"tick\"", "{\"type\" \"tick\"}",
        "{\"type\":\"tick\",}", "{\"type\":tick}", "{'type':'tick'}", "{1:2}", "{tick:1}", "{\"a\"}", "{\"a\":}", "{\"a\\\"b\":1,}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}",
        "{\"a\":nul}", "{\"a\":nullx}", "{\"a\":truex}", "{\"a\":\"\\x\"}", "{\"a\":\"\\ud800\"}", "{\"a\":[1,2}}",
        "{\"a\":{\"b\":1,}}", "{\"a\":1} x", "{\"a\":1}}", "{\"a\":1}{\"b\":2}", "{\"a\":\"unclosed}",
        "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}", "{\"a\":\"\xc3\"}", "\xef\xbb\xbf{}", std::string_view("{\0}", 3)}) {
    CHECK_THAT(h.RejectReason(line), Contains("not a JSON object"));
  }
  CHECK(h.RejectReason("[1,2]") == "not a JSON object: the line holds an array");
  CHECK(h.RejectReason("null") == "not a JSON object: the line holds null");
  CHECK(h.RejectReason("false") == "not a JSON object: the line holds a bool");
  // Words that only start like null, true or false are not JSON at all.
  for (std::string_view line : {"nope", "nul", "nullx", "tru", "fals", "not json", "true x"}) {
    CHECK(h.RejectReason(line) == "not a JSON object: invalid JSON (the line is not JSON text)");
  }
  CHECK_THAT(h.RejectReason("{\"a\":\"\xff\"}"), Contains("UTF-8"));
  CHECK_THAT(h.RejectReason("{\"a\":1}}"), Contains("after the closing"));
  // Trailing whitespace is fine.
  CHECK(h.Decode(R"({"type":"tick","time":"2026-01-05T10:00:00Z"}  )") == DecodeOutcome::Ok);
  CHECK(h.Decode(" \t{\"type\":\"tick\",\"time\":\"2026-01-05T10:00:00Z\"}\r") == DecodeOutcome::Ok);
}

TEST_CASE("records: deep nesting is rejected, not walked", "[records]") {
  Harness h;
  for (int depth : {10, 100, 1000, 100000}) {
    std::string line = R"({"type":"tick",)" + std::string(kTime) + R"(,"x":)" + std::string(depth, '[') +
                       std::string(depth, ']') + "}";
    DecodeOutcome outcome = h.Decode(line);
    if (depth <= 100) {
      CHECK(outcome == DecodeOutcome::Ok);
    } else {
      CHECK(outcome == DecodeOutcome::Reject);
      CHECK_THAT(h.error, Contains("nested"));
    }
  }
  std::string deep_object = R"({"type":"tick",)" + std::string(kTime) + R"(,"x":)";
  for (int i = 0; i < 50000; ++i) deep_object += R"({"a":)";
  deep_object += "1" + std::string(50000, '}') + "}";
  CHECK_THAT(h.RejectReason(deep_object), Contains("nested"));
  CHECK_THAT(h.RejectReason(std::string(1000000, '{')), Contains("not a JSON object"));
}

TEST_CASE("records: huge lines and values", "[records]") {
  Harness h;
  std::string big(5 << 20, 'x');
  REQUIRE(h.Decode(Deposit(R"("amount":1,"method":")" + big + "\"")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[1].s.size() == big.size());
  // A huge bad value is shown cut short.
  std::string reason = h.RejectReason(Deposit(R"("amount":")" + big + "\""));
  CHECK_THAT(reason, Contains("field `amount`"));
  CHECK(reason.size() < 200);
  reason = h.RejectReason(Deposit(R"("amount":1)" + std::string(100000, '0')));
  CHECK_THAT(reason, Contains("out of range"));
  CHECK(reason.size() < 200);
  // Many unknown keys.
  std::string many = R"({"type":"tick",)" + std::string(kTime);
  for (int i = 0; i < 100000; ++i) many += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  CHECK(h.Decode(many + "}") == DecodeOutcome::Ok);
  // And back to small lines with the grown buffers.
  CHECK(DepositAmount(h, "1") == 100);
}

TEST_CASE("records: a reused record is overwritten whole", "[records]") {
  Harness h;
  REQUIRE(h.Decode(Trade(R"("symbol":"XAUUSD","count":3)")) == DecodeOutcome::Ok);
  REQUIRE(h.record.fields.size() == 5);
  REQUIRE(h.Decode(Deposit(R"("amount":"2.00","method":"wire")")) == DecodeOutcome::Ok);
  REQUIRE(h.record.fields.size() == 3);
  CHECK(h.record.fields[0] == Value::Int(200));
  CHECK(h.record.fields[1] == Value::Str("wire"));
  CHECK(h.record.fields[2] == Value::Int(0));
  REQUIRE(h.Decode(Profile(R"("name":"Ann")")) == DecodeOutcome::Ok);
  CHECK(h.record.fields[0] == Value::Int(0));
  CHECK(h.record.fields[1] == Value::Str("Ann"));
  REQUIRE(h.Decode(R"({"type":"tick","time":"2026-02-01T00:00:00Z"})") == DecodeOutcome::Ok);
  CHECK(h.record.id.empty());
  CHECK(h.record.client.empty());
}

TEST_CASE("records: conformance case 001 lines", "[records]") {
  InputSchema schema;
  schema.events.push_back({"deposit", {{"amount", Type::Money, false, {}}, {"first", Type::Bool, true, Value::Int(0)}}});
  RecordDecoder decoder(schema);
  std::vector<std::string> processed;
  auto is_duplicate = [&](std::string_view id) {
    return std::find(processed.begin(), processed.end(), id) != processed.end();
  };
  const char* lines[] = {
      R"({"type":"deposit","id":"d1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"250.55","first":true})",
      R"({"type":"deposit","id":"d2","client":"c2","time":"2026-01-05T11:00:00Z","amount":50,"first":true})",
      R"({"type":"deposit","id":"d1","client":"c1","time":"2026-01-06T11:00:00Z","amount":"250.55","first":true})",
      R"({"type":"deposit","id":"d7","client":"c2","time":"2026-01-07T09:00:00Z","amount":"10.001"})",
      R"({"type":"withdrawal","id":"w1","client":"c1","time":"2026-01-07T10:00:00Z"})",
      R"({"type":"deposit","id":"d8","client":"c1","time":"2026-01-07T11:00:00Z","first":true})",
      R"({"type":"deposit","id":"d9","client":"c1","time":"2026-01-08T11:00:00Z","amount":200,"first":true,"extra":"x"})",
  };
  std::vector<DecodeOutcome> outcomes;
  std::vector<std::string> errors;
  for (const char* line : lines) {
    Record record;
    std::string error;
    outcomes.push_back(decoder.Decode(line, is_duplicate, &record, &error));
    if (outcomes.back() == DecodeOutcome::Ok) processed.push_back(record.id);
    errors.push_back(error);
  }
  using O = DecodeOutcome;
  CHECK(outcomes == std::vector<O>{O::Ok, O::Ok, O::Duplicate, O::Reject, O::Reject, O::Reject, O::Ok});
  CHECK(errors[3] == R"(field `amount`: money has at most 2 decimal places, got "10.001")");
  CHECK(errors[4] == "unknown record type `withdrawal`; expected deposit, profile, tick or reversal");
  CHECK(errors[5] == "missing field `amount` (it has no default)");
}

TEST_CASE("records: event fields named like envelope keys never read them", "[records]") {
  InputSchema schema;
  schema.events.push_back({"order", {{"type", Type::String, true, Value::Str("plain")}}});
  schema.client_fields.push_back({"since", Type::Int, false, {}});
  RecordDecoder decoder(schema);
  Record record;
  std::string error;
  REQUIRE(decoder.Decode(R"({"type":"order","id":"o1","client":"c1","time":"2026-01-05T10:00:00Z"})", {}, &record,
                         &error) == DecodeOutcome::Ok);
  CHECK(record.fields[0].s == "plain");
  REQUIRE(decoder.Decode(R"({"type":"profile","client":"c1","time":"2026-01-05T10:00:00Z","since":5})", {}, &record,
                         &error) == DecodeOutcome::Ok);
  CHECK(record.present == std::vector<bool>{false});
}

TEST_CASE("records: garbage never crashes and every reject has a reason", "[records]") {
  Harness h;
  h.seen = {"d1"};
  std::mt19937 rng(12345);
  const std::string seeds[] = {
      Deposit(R"("amount":"250.55","method":"wire","first":true,"x":[1,{"y":null}])"),
      Trade(R"("count":"42","opened":"2026-01-05T12:00:00.5+02:00","day":"1990-05-17")"),
      Profile(R"("birthdate":"1990-05-17","name":"Анна","vip":false)"),
  };
  const char alphabet[] = "{}[]\":,\\-+.eE0123456789tfnul \x01\x7f\xc3\xa9\xff";
  int counts[4] = {0, 0, 0, 0};
  for (int i = 0; i < 30000; ++i) {
    std::string line = seeds[i % 3];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !line.empty(); ++e) {
      size_t pos = rng() % line.size();
      switch (rng() % 4) {
        case 0: line[pos] = alphabet[rng() % (sizeof alphabet - 1)]; break;
        case 1: line.erase(pos, 1 + rng() % 8); break;
        case 2: line.insert(pos, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
        case 3: line.resize(pos); break;
      }
    }
    DecodeOutcome outcome = h.Decode(line);
    ++counts[static_cast<int>(outcome)];
    if (outcome == DecodeOutcome::Reject && h.error.empty()) FAIL("empty reason for: " << line);
  }
  // Garbage bytes.
  for (int i = 0; i < 5000; ++i) {
    std::string line(rng() % 200, '\0');
    for (char& c : line) c = static_cast<char>(rng());
    if (h.Decode(line) == DecodeOutcome::Reject && h.error.empty()) FAIL("empty reason");
  }
  CHECK(counts[0] > 0);
  CHECK(counts[3] > 0);
}

// ---- LineReader ----

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/perk_records_test_XXXXXX";
    int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
    close(fd);
    path = name;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

std::vector<std::pair<uint64_t, std::string>> ReadAll(LineReader& reader) {
  std::vector<std::pair<uint64_t, std::string>> lines;
  std::string_view line;
  uint64_t number = 0;
  while (reader.Next(&line, &number)) lines.emplace_back(number, std::string(line));
  return lines;
}

std::vector<std::pair<uint64_t, std::string>> ReadFile(const std::string& content) {
  TempFile file(content);
  std::string error;
  auto reader = LineReader::Open(file.path, &error);
  REQUIRE(reader);
  auto lines = ReadAll(*reader);
  CHECK(reader->bytes_read() == content.size());
  CHECK(reader->total_bytes() == static_cast<int64_t>(content.size()));
  CHECK(reader->error().empty());
  return lines;
}

using Lines = std::vector<std::pair<uint64_t, std::string>>;

TEST_CASE("line reader: numbering, blank lines, CRLF, a last line without newline", "[records]") {
  CHECK(ReadFile("").empty());
  CHECK(ReadFile("\n") == Lines{{1, ""}});
  CHECK(ReadFile("a") == Lines{{1, "a"}});
  CHECK(ReadFile("a\n") == Lines{{1, "a"}});
  CHECK(ReadFile("a\n\nb\r\n\r\nc") == Lines{{1, "a"}, {2, ""}, {3, "b"}, {4, ""}, {5, "c"}});
  CHECK(ReadFile("a\r") == Lines{{1, "a"}});
  // A byte order mark is dropped at the start of the input only.
  CHECK(ReadFile("\xEF\xBB\xBF" "a\n\xEF\xBB\xBF" "b") == Lines{{1, "a"}, {2, "\xEF\xBB\xBF" "b"}});
  CHECK(ReadFile("\xEF\xBB\xBF") == Lines{{1, ""}});
  // Only a final \r is a line ending's.
  CHECK(ReadFile("a\rb\n") == Lines{{1, "a\rb"}});
}

TEST_CASE("line reader: lines across blocks and longer than a block", "[records]") {
  std::string content;
  Lines expected;
  std::mt19937 rng(7);
  uint64_t number = 0;
  // Short lines up to just before the 1 MiB mark, then one that straddles it.
  while (content.size() < (1 << 20) - 10) {
    std::string line(rng() % 100, 'a' + static_cast<char>(rng() % 26));
    content += line + "\n";
    expected.emplace_back(++number, line);
  }
  std::string straddle(40, 's');
  content += straddle + "\r\n";
  expected.emplace_back(++number, straddle);
  // A line of 3.5 MiB, and more after it.
  std::string huge(7 << 19, 'h');
  content += huge + "\n";
  expected.emplace_back(++number, huge);
  for (int i = 0; i < 1000; ++i) {
    std::string line = std::to_string(i);
    content += line + "\n";
    expected.emplace_back(++number, line);
  }
  std::string last(3 << 20, 'z');
  content += last;
  expected.emplace_back(++number, last);
  Lines lines = ReadFile(content);
  REQUIRE(lines.size() == expected.size());
  CHECK(lines == expected);
}

TEST_CASE("line reader: errors and stdin", "[records]") {
  std::string error;
  CHECK(LineReader::Open("/nonexistent/perk/events.jsonl", &error) == nullptr);
  CHECK_THAT(error, Contains("/nonexistent/perk/events.jsonl"));
  error.clear();
  CHECK(LineReader::Open("/tmp", &error) == nullptr);
  CHECK_THAT(error, Contains("directory"));

  TempFile file("x\ny\n");
  int saved = dup(STDIN_FILENO);
  FILE* in = std::fopen(file.path.c_str(), "r");
  REQUIRE(in);
  dup2(fileno(in), STDIN_FILENO);
  auto reader = LineReader::Open("-", &error);
  REQUIRE(reader);
  Lines lines = ReadAll(*reader);
  reader.reset();
  dup2(saved, STDIN_FILENO);
  close(saved);
  std::fclose(in);
  CHECK(lines == Lines{{1, "x"}, {2, "y"}});
}

}  // namespace
}  // namespace perk::runtime
