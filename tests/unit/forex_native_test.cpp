// The benchmark's hand-written floor (bench/native/forex_native.h) must write the same ledger
// as the engine, or bench/core compares different work. The benchmark stream exercises only the
// common paths, so this drives both through a generated stream built to reach the rare ones:
// budget skips, VIP holds running out, 29 February birthdays, clients without a profile,
// duplicates inside and past the dedup window, out-of-order records, runtime errors that roll
// a record back (a client's first record included), escaped ids, fractional and offset times,
// and `--until`.
#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <set>
#include <fstream>
#include <sstream>

#include "bench/native/forex_native.h"
#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "stdlib/stdlib.h"

namespace {

namespace fs = std::filesystem;
using perk::stdlib::FormatTime;
using perk::stdlib::kMicrosPerDay;

// A small deterministic generator (the same numbers on every platform).
struct Rng {
  uint64_t s;
  uint64_t Next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }
};

std::string Quote(std::string_view s) { return perk::stdlib::JsonQuote(s); }

// The stream: lines in time order, except the few meant to be rejected as out of order.
std::vector<std::string> MakeStream(int64_t* until) {
  Rng rng{0x9E3779B97F4A7C15ull};
  const int64_t start = *perk::stdlib::ParseTime("2026-12-20T00:00:00Z", nullptr);
  const int kDays = 115, kClients = 240;
  std::vector<std::string> lines;
  std::vector<std::string> client_ids;
  for (int k = 0; k < kClients; ++k) client_ids.push_back(fmt::format("c{:03}", k));
  client_ids[7] = "q\"7";    // ids that need escaping in the ledger
  client_ids[8] = "back\\8";
  std::vector<bool> introduced(kClients, false);
  struct Sent {
    std::string line;
    std::string id;
    int64_t time;
  };
  std::vector<Sent> sent;
  std::set<size_t> resent;
  int next_id = 0;
  bool escaped_id = false;
  auto time_text = [&](int64_t t, int n) {
    // Every 37th record is written with a +02:00 offset; the engine normalises it to UTC.
    if (n % 37 == 0) return FormatTime(t + 2 * perk::stdlib::kMicrosPerHour).substr(0, 19) + "+02:00";
    return FormatTime(t);
  };
  for (int day = 0; day < kDays; ++day) {
    const int per_day = 90;
    for (int j = 0; j < per_day; ++j) {
      int64_t t = start + day * kMicrosPerDay + (j * kMicrosPerDay) / per_day + (j % 3 == 0 ? 250'000 : 0);
      // Clients arrive over the first 40 days; a few whales are active from the start.
      int active = std::min(kClients, 20 + day * 6);
      int k = rng.Below(4) == 0 ? static_cast<int>(rng.Below(10)) * 10 : static_cast<int>(rng.Below(active));
      const std::string& cid = client_ids[k];
      std::string ts = time_text(t, static_cast<int>(lines.size()));
      std::string id;
      std::string line;
      if (!introduced[k]) {
        introduced[k] = true;
        // Every 13th client never sends a profile: country "CY", born 1970-01-01 (a birthday
        // on 1 January).
        if (k % 13 != 5) {
          std::string birth = k % 19 == 2 ? "1992-02-29" : fmt::format("19{}-{:02}-{:02}", 60 + k % 40, 1 + k % 12, 1 + k % 28);
          if (k % 23 == 4) birth = "1988-12-2" + std::to_string(k % 10);
          std::string country = k % 11 == 4 ? "US" : "DE";
          lines.push_back(fmt::format(R"({{"type":"profile","client":{},"time":"{}","country":"{}","birthdate":"{}"}})",
                                      Quote(cid), ts, country, birth));
        }
        id = fmt::format("d{}", ++next_id);
        std::string amount = k % 9 == 0 ? "50.00" : fmt::format("{}.{:02}", 100 + rng.Below(3000), rng.Below(100));
        line = fmt::format(R"({{"type":"deposit","id":"{}","client":{},"time":"{}","amount":"{}","first":true}})", id,
                           Quote(cid), ts, amount);
      } else {
        int64_t r = rng.Below(100);
        bool whale = k % 10 == 0 && day < 55;
        bool lapser = k % 7 == 3 && day > 25;  // goes quiet on trades, keeps logging in
        if (r < 70 && !lapser) {
          static const char* kSymbols[] = {"EURUSD", "GBPUSD", "USDJPY", "USDCHF", "XAUUSD",
                                           "XAGUSD", "BTCUSD", "AUDCAD", "US30",   "EURGBP"};
          static const char* kLots[] = {"0.01", "0.05", "0.1", "0.25", "1", "2.5", "10", "0.333333"};
          int64_t usd = whale ? 400'000 + rng.Below(2'000'000) : 1'000 + rng.Below(60'000);
          id = fmt::format("t{}", ++next_id);
          line = fmt::format(R"({{"type":"trade","id":"{}","client":{},"time":"{}","symbol":"{}","lots":"{}","volume":"{}.{:02}"}})",
                             id, Quote(cid), ts, kSymbols[rng.Below(10)], kLots[rng.Below(8)], usd, rng.Below(100));
        } else if (r < 85 && !(lapser && r < 80)) {
          static const char* kMethods[] = {"card", "wire", "crypto", "ewallet"};
          id = fmt::format("d{}", ++next_id);
          std::string first = rng.Below(2) ? R"(,"first":false)" : "";
          line = fmt::format(R"({{"type":"deposit","id":"{}","client":{},"time":"{}","amount":"{}.00","method":"{}"{}}})", id,
                             Quote(cid), ts, 100 + rng.Below(8000), kMethods[rng.Below(4)], first);
        } else {
          static const char* kDevices[] = {"web", "ios", "an\"droid"};
          id = fmt::format("l{}", ++next_id);
          line = fmt::format(R"({{"type":"login","id":"{}","client":{},"time":"{}","device":{}}})", id, Quote(cid), ts,
                             Quote(kDevices[rng.Below(3)]));
        }
      }
      // An id with a backslash, on a trade of at least 0.1 lots (it always writes a stamp).
      if (!escaped_id && next_id >= 4000 && line.find(R"("type":"trade")") != std::string::npos &&
          line.find(R"("lots":"0.0)") == std::string::npos) {
        escaped_id = true;
        std::string was = fmt::format("\"id\":\"{}\"", id);
        line.replace(line.find(was), was.size(), R"("id":"x\\y")");
        id = "x\\y";
      }
      lines.push_back(line);
      sent.push_back({line, id, t});

      // Some clients change country on day 60.
      if (day == 60 && j == 5)
        for (int m = 6; m < kClients; m += 17)
          if (introduced[m])
            // Some of them also take their birthdate back (`null`: unset, spec §4).
            lines.push_back(fmt::format(R"({{"type":"profile","client":{},"time":"{}","country":"US"{}}})", Quote(client_ids[m]),
                                        ts, m % 34 == 6 ? R"(,"birthdate":null)" : ""));
      // Duplicates: a line sent again a few records later (within the window: skipped).
      if (j % 29 == 7 && sent.size() > 10) lines.push_back(sent[sent.size() - 1 - rng.Below(8)].line);
      // An id sent again 40 days later with a new time: past the window, so processed again.
      // Each at most once: sent twice within 30 days with two times, it would be a conflicting
      // reuse of the id (spec §4, C14), which the floor does not model.
      if (day >= 45 && j == 11) {
        const size_t pick = static_cast<size_t>(rng.Below(std::min<int64_t>(sent.size(), 300)));
        const Sent& old = sent[pick];
        std::string again = old.line;
        size_t at = again.find("\"time\":\"") + 8;
        again.replace(at, again.find('"', at) - at, ts);
        if (old.time + 31 * kMicrosPerDay < t && resent.insert(pick).second) lines.push_back(again);
      }
      // Out of order: an hour before the clock.
      if (j == 50 && day % 9 == 4)
        lines.push_back(fmt::format(R"({{"type":"login","id":"late{}","client":"c001","time":"{}"}})", day,
                                    FormatTime(t - perk::stdlib::kMicrosPerHour)));
      // Runtime errors: lots so large that the points overflow (after the volume was recorded),
      // for a known client and for a client whose first record this is.
      if (j == 60 && day % 10 == 3) {
        std::string who = day % 20 == 3 ? fmt::format("fresh{}", day) : client_ids[10];
        lines.push_back(fmt::format(R"({{"type":"trade","id":"big{}","client":"{}","time":"{}","symbol":"XAUUSD","lots":"9000000000000","volume":"5.00"}})",
                                    day, who, ts));
      }
      // Two trades whose volumes overflow the day's sum: the second is rejected.
      if (j == 70 && day == 33)
        for (int m = 0; m < 2; ++m)
          lines.push_back(fmt::format(R"({{"type":"trade","id":"huge{}","client":"c020","time":"{}","symbol":"EURUSD","lots":"1","volume":"50000000000000000.00"}})",
                                      m, ts));
      if (j == 80 && day % 15 == 0) lines.push_back(fmt::format(R"({{"type":"tick","time":"{}"}})", FormatTime(t)));
    }
  }
  *until = start + (kDays + 20) * kMicrosPerDay;
  return lines;
}

std::string ReadProgram() {
  std::ifstream in(fs::path(__FILE__).parent_path() / "../../bench/forex.perk");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Replace(std::string& s, std::string_view from, std::string_view to) {
  size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  s.replace(at, from.size(), to);
}

// The first line where two ledgers differ, for the failure message.
std::string FirstDifference(const std::string& a, const std::string& b) {
  std::istringstream x(a), y(b);
  std::string la, lb;
  for (int n = 1;; ++n) {
    bool ga = static_cast<bool>(std::getline(x, la)), gb = static_cast<bool>(std::getline(y, lb));
    if (!ga && !gb) return "none";
    if (!ga || !gb || la != lb) return fmt::format("line {}:\n  engine: {}\n  native: {}", n, ga ? la : "<end>", gb ? lb : "<end>");
  }
}

}  // namespace

TEST_CASE("the hand-written forex floor writes the engine's ledger", "[bench]") {
  std::string source = ReadProgram();
  REQUIRE(!source.empty());
  // Small budgets so that both run out; the floor reads them from the program.
  Replace(source, "budget 5_000_000 USD", "budget 9_000 USD");
  Replace(source, "budget 1_000_000 USD within 30 days", "budget 12_000 USD within 30 days");
  perk::Diagnostics diags("forex.perk", source);
  auto program = perk::CompileProgram(source, diags);
  REQUIRE(program);
  std::string error;
  REQUIRE(perk::OverrideParam(*program, "stamps_per_card", "4", &error));
  REQUIRE(perk::OverrideParam(*program, "welcome_rate", "35%", &error));

  int64_t until = 0;
  const std::vector<std::string> lines = MakeStream(&until);

  // The floor takes decoded records; dedup is its own business, so the decoder never skips.
  forex_native::Engine native(forex_native::ConfigFrom(*program));
  perk::runtime::RecordDecoder decoder(perk::runtime::InputSchemaOf(*program));
  std::string native_ledger;
  for (size_t i = 0; i < lines.size(); ++i) {
    perk::runtime::Record rec;
    auto outcome = decoder.Decode(lines[i], [](std::string_view) { return false; }, &rec, &error);
    INFO(lines[i] << "\n" << error);
    REQUIRE(outcome == perk::runtime::DecodeOutcome::Ok);
    native.Process(rec);
  }
  native.AdvanceTo(until);
  native_ledger.assign(native.ledger().view());

  for (auto kind : {perk::runtime::EngineKind::Jit, perk::runtime::EngineKind::Interp}) {
    SECTION(kind == perk::runtime::EngineKind::Jit ? "jit" : "interp") {
      auto evaluator = perk::runtime::CreateEvaluator(kind, *program, &error);
      REQUIRE(evaluator);
      perk::runtime::Engine engine(*program, evaluator.get());
      for (size_t i = 0; i < lines.size(); ++i) engine.ProcessLine(lines[i], i + 1);
      engine.AdvanceTo(until);
      const std::string& ledger = engine.ledger();

      INFO(FirstDifference(ledger, native_ledger));
      CHECK(ledger == native_ledger);
      const auto& s = engine.stats();
      const auto& n = native.stats();
      CHECK(s.records == n.records);
      CHECK(s.accepted == n.accepted);
      CHECK(s.effects == n.effects);
      CHECK(s.rejects == n.rejects);
      CHECK(s.duplicates == n.duplicates);

      // The stream reached the rare paths, or the equality above proves little.
      CHECK(s.duplicates > 10);
      CHECK(s.rejects > 10);
      for (const char* needle :
           {R"("action":"skip","reason":"budget")", R"("rule":"redeposit","action":"skip")", R"("badge":"vip")",
            R"("from":"VIP","to":)", R"("segment":"lapsing","member":true)", R"("segment":"lapsing","member":false)",
            R"("name":"winback_offer")", R"("template":"happy_birthday")", R"("trigger":"day:2027-02-28","client":"c002","time":"2027-02-28T00:00:00Z","rule":"birthday")",
            R"("template":"punch_card_full")", R"("name":"crypto_deposit")",
            R"("client":"q\"7")", R"("trigger":"x\\y")", R"(:00.25Z")", R"("device":"an\"droid")",
            R"("rule":"welcome","action":"credit")", R"("rule":"redeposit","action":"credit")"}) {
        INFO(needle);
        CHECK(ledger.find(needle) != std::string::npos);
      }
      // c005 has no profile: its birthdate is unset, so 1 January is no birthday (v0.1 read
      // the unset date as 1970-01-01 and paid one).
      CHECK(ledger.find(R"("trigger":"day:2027-01-01","client":"c005","time":"2027-01-01T00:00:00Z","rule":"birthday")") ==
            std::string::npos);
    }
  }
}
