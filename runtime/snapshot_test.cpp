// Unit tests for the durable-state encodings, program identity, upgrades, and the engine's
// export/restore seam (a restored engine continues exactly like the one that saved).
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/snapshot.h"

using namespace perk::runtime;

namespace {

const char* kProgram = R"(program "Snap"
currency USD
event deposit { amount: money }
client { country: string = "CY" }
wallet bonus: money
wallet points: int
var note: string = "none"
tier Base
tier Gold when sum(deposit.amount within 30 days) >= 500 USD
segment big when count(deposit within 7 days) >= 2
rule reward
  on deposit
  limit 2 per client within 7 days
  budget 1_000 USD within 30 days
  then
    credit bonus deposit.amount * 10%
    credit points 1
    set note = "deposited"
    grant "depositor"
end
)";

std::unique_ptr<perk::checked::Program> Compile(const std::string& source) {
  perk::Diagnostics diags("snap.perk", source);
  auto p = perk::CompileProgram(source, diags);
  REQUIRE(p);
  REQUIRE_FALSE(diags.HasErrors());
  return p;
}

std::string Line(int n, const char* client, const char* day, const char* amount) {
  return std::string(R"({"type":"deposit","id":"d)") + std::to_string(n) + R"(","client":")" + client +
         R"(","time":"2026-01-)" + day + R"(T10:00:00Z","amount":")" + amount + R"("})";
}

}  // namespace

TEST_CASE("varints round-trip, and a truncated or overlong blob is refused") {
  std::string out;
  {
    ByteWriter w(&out);
    for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, INT64_MIN, INT64_MAX, int64_t{300}}) w.I(v);
    w.Bytes("hello");
  }
  ByteReader r(out);
  for (int64_t want : {int64_t{0}, int64_t{-1}, int64_t{1}, INT64_MIN, INT64_MAX, int64_t{300}}) {
    int64_t v;
    REQUIRE(r.I(&v));
    CHECK(v == want);
  }
  std::string s;
  REQUIRE(r.Bytes(&s));
  CHECK(s == "hello");
  CHECK(r.done());
  ByteReader cut(std::string_view(out).substr(0, out.size() - 2));
  int64_t v;
  for (int k = 0; k < 6; ++k) cut.I(&v);
  CHECK_FALSE(cut.Bytes(&s));
  std::string overlong(11, '\xff');
  ByteReader bad(overlong);
  uint64_t u;
  CHECK_FALSE(bad.U(&u));
}

TEST_CASE("a restored engine continues exactly like the one that saved") {
  auto program = Compile(kProgram);
  std::vector<std::string> first = {Line(1, "a", "01", "300.00"), Line(2, "b", "01", "50.00"),
                                    R"({"type":"profile","client":"a","time":"2026-01-02T09:00:00Z","country":"DE"})",
                                    Line(3, "a", "02", "300.00")};
  // d1 again as it was (a duplicate), then with another time (a conflicting reuse of the id).
  std::vector<std::string> second = {Line(1, "a", "01", "300.00"), Line(1, "a", "03", "300.00"), Line(4, "a", "03", "300.00"),
                                     Line(5, "b", "09", "900.00"), Line(6, "a", "10", "10.00")};
  Engine whole(*program);
  uint64_t n = 0;
  for (const auto& l : first) whole.ProcessLine(l, ++n);
  for (const auto& l : second) whole.ProcessLine(l, ++n);

  Engine saver(*program);
  n = 0;
  for (const auto& l : first) saver.ProcessLine(l, ++n);
  std::vector<uint32_t> dirty;
  saver.TakeDirtyClients(&dirty);
  CHECK(dirty == std::vector<uint32_t>{0, 1});
  std::vector<ClientState> clients;
  for (const auto& c : saver.clients()) {
    std::string blob;
    EncodeClient(c, &blob);
    ClientState back;
    REQUIRE(DecodeClient(blob, &back));
    CHECK(back.badges == c.badges);
    CHECK(back.attrs == c.attrs);
    clients.push_back(std::move(back));
  }
  std::vector<std::pair<int64_t, std::string_view>> ids;
  std::vector<uint64_t> contents;
  saver.ForRememberedSince(0, [&](int64_t t, std::string_view id, uint64_t content) {
    ids.emplace_back(t, id);
    contents.push_back(content);
  });
  CHECK(ids.size() == 3);  // the three events; the profile has no id
  std::string seen_blob, engine_blob;
  EncodeSeen(ids, &seen_blob, contents);
  EncodeEngineState(saver.SaveState(), &engine_blob);
  std::vector<std::pair<int64_t, std::string>> seen;
  std::vector<uint64_t> seen_contents;
  EngineState es;
  REQUIRE(DecodeSeen(seen_blob, &seen, &seen_contents));
  CHECK(seen_contents == contents);
  REQUIRE(DecodeEngineState(engine_blob, &es));

  // A state written before content hashes were kept: its ids are duplicates whatever comes
  // with them (line 5 reuses id 1 with another time, which is otherwise a conflicting reuse).
  {
    std::string old_blob;
    EncodeSeen(ids, &old_blob);
    std::vector<std::pair<int64_t, std::string>> old_seen;
    std::vector<uint64_t> old_contents;
    REQUIRE(DecodeSeen(old_blob, &old_seen, &old_contents));
    CHECK(old_seen == seen);
    CHECK(old_contents == std::vector<uint64_t>(3, 0));
    Engine old_restored(*program);
    old_restored.Restore(es, clients, old_seen, old_contents);
    uint64_t m = first.size();
    for (const auto& l : second) old_restored.ProcessLine(l, ++m);
    CHECK(old_restored.rejects().empty());
    CHECK(old_restored.stats().duplicates == 2);
    CHECK(whole.stats().duplicates == 1);
    CHECK(whole.rejects().find("already used by an earlier record with different content") != std::string::npos);
  }

  Engine restored(*program);
  restored.Restore(es, clients, seen, seen_contents);
  restored.ledger() = saver.ledger();
  restored.rejects() = saver.rejects();
  for (const auto& l : second) restored.ProcessLine(l, ++n);
  CHECK(restored.ledger() == whole.ledger());
  CHECK(restored.rejects() == whole.rejects());
  CHECK(restored.stats().duplicates == 1);
  // Only what changed after the restore is dirty.
  restored.TakeDirtyClients(&dirty);
  CHECK(dirty == std::vector<uint32_t>{0, 1});
  restored.TakeDirtyClients(&dirty);
  CHECK(dirty.empty());
}

TEST_CASE("corrupt client blobs are refused, never misread") {
  auto program = Compile(kProgram);
  ClientState c = NewClient(*program, "a", 0);
  c.badges = {"x", "y"};
  std::string blob;
  EncodeClient(c, &blob);
  ClientState back;
  for (size_t cut = 0; cut < blob.size(); ++cut) CHECK_FALSE(DecodeClient(std::string_view(blob).substr(0, cut), &back));
  CHECK_FALSE(DecodeClient(blob + "x", &back));
  std::string other_version = blob;
  other_version[0] = 9;
  CHECK_FALSE(DecodeClient(other_version, &back));
}

TEST_CASE("a damaged client blob is told from a malformed one, by its checksum, with its id") {
  auto program = Compile(kProgram);
  ClientState c = NewClient(*program, "client-7", 0);
  c.wallets()[0] = 200;
  std::string blob;
  EncodeClient(c, &blob);
  size_t damaged = 0;
  // Every byte of the fields after the id, changed: a checksum mismatch, never a client.
  for (size_t k = 5 + 1 + c.id.size(); k + 4 < blob.size(); ++k) {
    std::string bad = blob;
    bad[k] ^= 0x04;
    ByteReader r(bad);
    ClientState back;
    ClientBlob got = DecodeClientChecked(r, &back);
    CHECK(got == ClientBlob::Damaged);
    CHECK(back.id == "client-7");
    damaged += got == ClientBlob::Damaged;
  }
  CHECK(damaged > 5);
  // The checksum itself changed: damaged too.
  std::string bad = blob;
  bad.back() ^= 1;
  ByteReader r(bad);
  ClientState back;
  CHECK(DecodeClientChecked(r, &back) == ClientBlob::Damaged);
  // A blob cut short does not even frame: malformed.
  ByteReader cut(std::string_view(blob).substr(0, blob.size() - 2));
  CHECK(DecodeClientChecked(cut, &back) == ClientBlob::Malformed);
  ByteReader whole(blob);
  CHECK(DecodeClientChecked(whole, &back) == ClientBlob::Ok);
  CHECK(back.wallets()[0] == 200);
}

TEST_CASE("identity ignores layout and comments but not behaviour or params") {
  auto a = Compile(kProgram);
  auto b = Compile(std::string("# a comment\n") + kProgram);
  CHECK(ProgramIdentity(*a) == ProgramIdentity(*b));
  std::string changed = kProgram;
  changed.replace(changed.find("10%"), 3, "11%");
  CHECK(ProgramIdentity(*a) != ProgramIdentity(*Compile(changed)));
}

TEST_CASE("an upgrade keeps same-named same-typed slots and lists what it would lose") {
  auto old_program = Compile(kProgram);
  StateSchema old_schema = SchemaOf(*old_program);
  std::string blob;
  EncodeSchema(old_schema, &blob);
  StateSchema decoded;
  REQUIRE(DecodeSchema(blob, &decoded));
  CHECK(decoded.wallets == old_schema.wallets);
  CHECK(decoded.aggs == old_schema.aggs);

  std::string src = kProgram;
  src.replace(src.find("wallet points: int"), 18, "wallet cash: money\nwallet points: money");
  src.replace(src.find("credit points 1"), 15, "credit points 1 USD");
  auto now = Compile(src);
  UpgradePlan plan = PlanUpgrade(old_schema, *now, {});
  REQUIRE(plan.lost.size() == 1);
  CHECK(plan.lost[0] == "wallet `points` (int) retyped to money(USD)");
  plan = PlanUpgrade(old_schema, *now, {"points", "pionts", "bonus"});
  CHECK(plan.lost.empty());
  CHECK(plan.dropped.size() == 1);
  // A misspelt name, and one the upgrade keeps, drop nothing: the caller is told.
  CHECK(plan.unused_allow_drop == std::vector<std::string>{"pionts", "bonus"});

  ClientState c = NewClient(*old_program, "a", 5);
  c.wallets()[0] = 1234;
  c.wallets()[1] = 7;
  c.set_var(0, perk::Value::Str("kept"));
  c.tier() = 1;
  c.badges = {"depositor"};
  ClientState m = MigrateClient(c, plan, *now);
  CHECK(std::vector<int64_t>(m.wallets().begin(), m.wallets().end()) == std::vector<int64_t>{1234, 0, 0});  // bonus kept, cash new, points dropped
  CHECK(m.var(0).s == "kept");
  CHECK(m.tier() == 1);
  CHECK(m.badges == c.badges);
  CHECK(m.since() == 5);
}

TEST_CASE("a client's stored bytes stay those of earlier builds, whatever the in-memory layout") {
  // State files written by earlier builds must keep loading, so the encoding is pinned here: a
  // change to these bytes needs a new kClientVersion and a reader for the old one. (The flat
  // client block changed only the in-memory layout; a state written by the build before it
  // continues byte for byte the same.)
  auto program = Compile(kProgram);
  ClientState c = NewClient(*program, "c1", 1'767'607'200'000'000);
  c.attrs[0] = perk::Value::Str("DE");
  c.wallets()[0] = 1234;
  c.wallets()[1] = -7;
  c.set_var(0, perk::Value::Str("deposited"));
  c.tier() = 1;
  c.holds()[1] = 99;
  c.set_segment(0, true);
  c.badges = {"depositor"};
  c.limits[0].Add(20'458, 1, 7);
  c.aggs[0].Add(20'458, 5000, 30);
  std::string blob;
  EncodeClient(c, &blob);
  std::string hex;
  for (unsigned char ch : blob) hex += fmt::format("{:02x}", ch);
  // Version 4: version 3's fields (after its version byte) framed by their length (0x4d, 4
  // bytes) and their checksum (4 bytes). Version 3 (v0.2): version 1's bytes, then the unset
  // flags of the attributes (one, set), then the per-client budgets and keyed limits (none),
  // then lots and pending credits (none).
  CHECK(hex ==
        "044d000000"
        "02633180a091f4a3e8a306010002444502a4130d0100096465706f7369746564020200c60101010109646570"
        "6f7369746f720101d4bf02020202020201d4bf0202904e904e904e000100000000"
        "c4712a7e");
  // Version 3's bytes (before checksums) still decode, to the same client.
  {
    const std::string v3 =
        "0302633180a091f4a3e8a306010002444502a4130d0100096465706f7369746564020200c60101010109646570"
        "6f7369746f720101d4bf02020202020201d4bf0202904e904e904e000100000000";
    std::string bytes;
    for (size_t k = 0; k < v3.size(); k += 2) bytes += static_cast<char>(std::stoi(v3.substr(k, 2), nullptr, 16));
    ClientState old;
    REQUIRE(DecodeClient(bytes, &old));
    CHECK(ClientStateJson(*program, old) == ClientStateJson(*program, c));
  }
  // Version 2's bytes (without lots) still decode, to the same client.
  {
    const std::string v2 =
        "0202633180a091f4a3e8a306010002444502a4130d0100096465706f7369746564020200c60101010109646570"
        "6f7369746f720101d4bf02020202020201d4bf0202904e904e904e00010000";
    std::string bytes;
    for (size_t k = 0; k < v2.size(); k += 2) bytes += static_cast<char>(std::stoi(v2.substr(k, 2), nullptr, 16));
    ClientState old;
    REQUIRE(DecodeClient(bytes, &old));
    CHECK(ClientStateJson(*program, old) == ClientStateJson(*program, c));
  }
  ClientState back;
  REQUIRE(DecodeClient(blob, &back));
  CHECK(ClientStateJson(*program, back) == ClientStateJson(*program, c));
  CHECK(back.holds()[1] == 99);
  CHECK(back.attr_unset.size() == 1);

  // A client written by v0.1 (version 1, no flags) still decodes; the program decides the flags.
  std::string v01;
  const std::string v01_hex =
      "0102633180a091f4a3e8a306010002444502a4130d0100096465706f7369746564020200c60101010109646570"
      "6f7369746f720101d4bf02020202020201d4bf0202904e904e904e00";
  for (size_t k = 0; k < v01_hex.size(); k += 2) v01 += static_cast<char>(std::stoi(v01_hex.substr(k, 2), nullptr, 16));
  ClientState old;
  REQUIRE(DecodeClient(v01, &old));
  CHECK(old.attr_unset.empty());
  ResolveUnsetAttributes(*program, &old);
  CHECK(ClientStateJson(*program, old) == ClientStateJson(*program, c));
}

TEST_CASE("optional attributes: unset flags are stored, and a v0.1 client's zero values read as unset") {
  auto program = Compile(R"(program "Opt"
event ping {}
client { birthdate: date, nick: string, level: int = 3, vip: bool }
rule r on ping when client.birthdate is set then emit "x" { n: client.nick otherwise "-" } end
)");
  ClientState c = NewClient(*program, "c1", 0);
  CHECK(std::vector<uint8_t>(c.attr_unset.begin(), c.attr_unset.end()) == std::vector<uint8_t>{1, 1, 0, 1});
  CHECK(ClientStateJson(*program, c).find(R"("attributes":{"birthdate":null,"nick":null,"level":3,"vip":null})") != std::string::npos);
  c.attrs[0] = perk::Value::Int(7000);
  c.attr_unset[0] = 0;
  c.attr_unset[3] = 0;  // vip set to false: a value, not unset
  std::string blob;
  EncodeClient(c, &blob);
  ClientState back;
  REQUIRE(DecodeClient(blob, &back));
  CHECK(std::vector<uint8_t>(back.attr_unset.begin(), back.attr_unset.end()) == std::vector<uint8_t>{0, 1, 0, 0});
  CHECK(ClientStateJson(*program, back).find(R"("attributes":{"birthdate":"1989-03-02","nick":null,"level":3,"vip":false})") != std::string::npos);

  // As v0.1 stored it (no flags): the optional attributes holding their type's zero are unset,
  // `vip` (false) among them; `level` has a default and never is.
  back.attr_unset.clear();
  back.attrs[2] = perk::Value::Int(0);
  ResolveUnsetAttributes(*program, &back);
  CHECK(std::vector<uint8_t>(back.attr_unset.begin(), back.attr_unset.end()) == std::vector<uint8_t>{0, 1, 0, 1});

  // An upgrade that gives `nick` a default: an unset nick takes it.
  auto now = Compile(R"(program "Opt"
event ping {}
client { birthdate: date, nick: string = "friend", level: int = 3, vip: bool }
rule r on ping when client.birthdate is set then emit "x" { n: client.nick } end
)");
  UpgradePlan plan = PlanUpgrade(SchemaOf(*program), *now, {});
  ClientState m = MigrateClient(back, plan, *now);
  CHECK(ClientStateJson(*now, m).find(R"("attributes":{"birthdate":"1989-03-02","nick":"friend","level":0,"vip":null})") != std::string::npos);
}

TEST_CASE("per-client budgets and keyed limits are stored, restored and follow their rule in an upgrade") {
  const std::string source = R"(program "Keys"
currency USD
event signup { friend: string }
wallet bonus: money
rule referral
  on signup
  limit once per signup.friend within 30 days
  budget 15 USD per client within 30 days partial
  then credit bonus 10 USD
end
)";
  auto program = Compile(source);
  auto signup = [](int n, const char* day, const char* friend_id) {
    return fmt::format(R"({{"type":"signup","id":"s{}","client":"a","time":"2026-01-{}T10:00:00Z","friend":"{}"}})", n, day,
                       friend_id);
  };
  std::vector<std::string> first = {signup(1, "01", "x")};
  std::vector<std::string> second = {signup(2, "02", "x"), signup(3, "02", "y"), signup(4, "03", "z")};
  Engine whole(*program);
  uint64_t n = 0;
  for (const auto& l : first) whole.ProcessLine(l, ++n);
  for (const auto& l : second) whole.ProcessLine(l, ++n);
  // x once; y cut to the 5 USD left; z skipped with nothing left.
  CHECK(whole.ledger().find(R"("amount":"5.00","balance":"15.00","partial":true)") != std::string::npos);
  CHECK(whole.ledger().find(R"("trigger":"s4","client":"a","time":"2026-01-03T10:00:00Z","rule":"referral","action":"skip","reason":"client budget")") !=
        std::string::npos);

  Engine saver(*program);
  n = 0;
  for (const auto& l : first) saver.ProcessLine(l, ++n);
  REQUIRE(saver.clients()[0].rule_series.size() == 2);
  std::string blob;
  EncodeClient(saver.clients()[0], &blob);
  CHECK(blob[0] == 4);  // the v0.2 encoding (version 3 since lots, framed with a checksum since 4)
  ClientState back;
  REQUIRE(DecodeClient(blob, &back));
  REQUIRE(back.rule_series.size() == 2);
  CHECK(back.rule_series[0].kind == saver.clients()[0].rule_series[0].kind);
  CHECK(back.rule_series[1].key == saver.clients()[0].rule_series[1].key);
  // Every strict prefix is refused.
  for (size_t k = 0; k < blob.size(); ++k) CHECK_FALSE(DecodeClient(std::string_view(blob).substr(0, k), &back));
  REQUIRE(DecodeClient(blob, &back));
  std::string engine_blob;
  EncodeEngineState(saver.SaveState(), &engine_blob);
  EngineState es;
  REQUIRE(DecodeEngineState(engine_blob, &es));
  Engine restored(*program);
  restored.Restore(es, {back}, {});
  restored.ledger() = saver.ledger();
  for (const auto& l : second) restored.ProcessLine(l, ++n);
  CHECK(restored.ledger() == whole.ledger());

  // A client without them is written with an empty list, and decodes to one.
  ClientState plain = NewClient(*program, "p", 0);
  std::string plain_blob;
  EncodeClient(plain, &plain_blob);
  CHECK(plain_blob[0] == 4);
  ClientState plain_back;
  REQUIRE(DecodeClient(plain_blob, &plain_back));
  CHECK(plain_back.rule_series.empty());

  // An upgrade that adds a rule before `referral` keeps its series under its new index.
  std::string changed = source;
  changed.replace(changed.find("rule referral"), 0, "rule other on signup then credit bonus 1 USD end\n");
  auto next = Compile(changed);
  UpgradePlan plan = PlanUpgrade(SchemaOf(*program), *next, {});
  ClientState moved = MigrateClient(back, plan, *next);
  REQUIRE(moved.rule_series.size() == 2);
  CHECK(moved.rule_series[0].rule == 1);
  // A changed key starts afresh.
  std::string rekeyed = source;
  rekeyed.replace(rekeyed.find("per signup.friend"), 17, "per signup.id");
  auto third = Compile(rekeyed);
  CHECK(MigrateClient(back, PlanUpgrade(SchemaOf(*program), *third, {}), *third).rule_series.empty());
}

TEST_CASE("an upgrade refuses to reset a rule's limit and budget history unless allowed or renamed from") {
  auto program = Compile(kProgram);
  const StateSchema old_schema = SchemaOf(*program);
  auto with = [&](const char* from, const char* to) {
    std::string src = kProgram;
    src.replace(src.find(from), std::string_view(from).size(), to);
    return Compile(src);
  };

  // Renamed without saying so: refused, naming the old rule; the advice names `renamed from`.
  auto renamed = with("rule reward", "rule deposit_reward");
  UpgradePlan plan = PlanUpgrade(old_schema, *renamed, {});
  REQUIRE(plan.lost.size() == 1);
  CHECK(plan.lost[0] ==
        "rule `reward` removed or renamed: its limit and budget history would start afresh (what it paid could be paid "
        "again)");
  CHECK(plan.lost_rule_history);
  CHECK(LostAdvice(plan, "--allow-drop NAME").find("renamed from OLD") != std::string::npos);
  CHECK(plan.rules == std::vector<int>{-1});
  // Allowed by the old name: dropped, and the name is used.
  plan = PlanUpgrade(old_schema, *renamed, {"reward"});
  CHECK(plan.lost.empty());
  CHECK(plan.dropped.size() == 1);
  CHECK(plan.unused_allow_drop.empty());
  // The new name of a rule the state has never seen allows nothing.
  CHECK(PlanUpgrade(old_schema, *renamed, {"deposit_reward"}).lost.size() == 1);

  // `renamed from`: the rule keeps the series and stands for the old rule.
  auto carried = with("rule reward", "rule deposit_reward renamed from reward");
  REQUIRE(carried->rules[0].renamed_from == "reward");
  plan = PlanUpgrade(old_schema, *carried, {});
  CHECK(plan.lost.empty());
  CHECK(plan.reset.empty());
  CHECK(plan.rules == std::vector<int>{0});
  CHECK(plan.rule_names == std::vector<int>{0});
  CHECK(MigrateBudgets({Series{}}, plan, *carried).size() == 1);
  // ... once the state knows the new name, `renamed from` a name it does not know is harmless.
  CHECK(PlanUpgrade(SchemaOf(*carried), *carried, {}).rules == std::vector<int>{0});

  // A changed limit window or budget window resets the history too: refused, allowed by name.
  for (auto [from, to] : {std::pair{"limit 2 per client within 7 days", "limit 2 per client within 8 days"},
                          std::pair{"budget 1_000 USD within 30 days", "budget 1_000 USD within 31 days"}}) {
    auto changed = with(from, to);
    plan = PlanUpgrade(old_schema, *changed, {});
    REQUIRE(plan.lost.size() == 1);
    CHECK(plan.lost[0] ==
          "rule `reward` changed its limit or budget window or key: its limit and budget history would start afresh "
          "(what it paid could be paid again)");
    CHECK(PlanUpgrade(old_schema, *changed, {"reward"}).lost.empty());
  }
  // A changed count or amount keeps the series (only windows and keys shape them).
  CHECK(PlanUpgrade(old_schema, *with("limit 2 per", "limit 3 per"), {}).lost.empty());
  // Removed: refused.
  auto removed = Compile(std::string(kProgram).substr(0, std::string_view(kProgram).find("rule reward")));
  CHECK(PlanUpgrade(old_schema, *removed, {}).lost.size() == 1);
  CHECK(PlanUpgrade(old_schema, *removed, {"reward"}).lost.empty());

  // A rule with neither limit nor budget has no history: renaming or removing it is no loss,
  // and a limit it gains counts from now (noted).
  auto plain = Compile("program \"P\"\nevent ping {}\nrule r on ping then emit \"x\" end\n");
  auto plain_renamed = Compile("program \"P\"\nevent ping {}\nrule s on ping then emit \"x\" end\n");
  CHECK(PlanUpgrade(SchemaOf(*plain), *plain_renamed, {}).lost.empty());
  auto limited = Compile("program \"P\"\nevent ping {}\nrule r on ping limit once per client then emit \"x\" end\n");
  plan = PlanUpgrade(SchemaOf(*plain), *limited, {});
  CHECK(plan.lost.empty());
  REQUIRE(plan.reset.size() == 1);
  CHECK(plan.reset[0] == "rule `r`: its new limit or budget counts from now");
}

TEST_CASE("lots and pending credits survive encoding, dates as deltas") {
  auto program = Compile(kProgram);
  ClientState c = NewClient(*program, "c1", 5);
  c.lots = {{0, 20'458, 100}, {1, 20'458, 7}, {0, 20'500, 3}};
  c.pending_credits = {{1, 20'460, 250, 12}, {0, 20'470, 9, 40}};
  std::string blob;
  EncodeClient(c, &blob);
  ClientState back;
  REQUIRE(DecodeClient(blob, &back));
  CHECK(back.lots == c.lots);
  CHECK(back.pending_credits == c.pending_credits);
  CHECK(back.PendingOf(1) == 250);
  // A truncated blob is refused, never misread.
  for (size_t n = 1; n < 12; ++n) CHECK_FALSE(DecodeClient(std::string_view(blob).substr(0, blob.size() - n), &back));
}

// [C10] What reversals remember: written in two rows and a frame, read back into a memory that
// starts where the saved one began, with the indexes (sender, chain end, reversed marks) as
// stored; a truncated row or a missing one is refused.
TEST_CASE("reversal memory round-trips through rows and a frame, indexes as stored") {
  ReversalMemory m;
  auto add = [&](std::string id, uint32_t client, int64_t time, uint64_t sender, bool keep_record) {
    m.BeginCapture();
    m.Capture(AggContribution{1, time / 10, time * 3});
    const uint32_t key = m.CaptureKey(perk::Value::Str("friend-" + id));
    m.Capture(FiringEffect{FiringEffect::KeyedLimit, 2, 0, key, 0, 0, 77});
    m.Capture(FiringEffect{FiringEffect::Credit, 0, 1, 0, 5, -250, 0, kNoBucket, 123});
    RememberedEvent e;
    e.id = std::move(id);
    e.client = client;
    e.event_index = 1;
    e.time = time;
    e.sent = sender != ReversalMemory::kNone;
    std::unique_ptr<Record> record;
    if (keep_record) {
      record = std::make_unique<Record>();
      record->kind = RecordKind::Event;
      record->client = "c" + std::to_string(client);
      record->fields = {perk::Value::Int(42), perk::Value::Str("card")};
      record->present = {true, false};
    }
    m.Add(std::move(e), sender, std::move(record));
  };
  m.LogReversed(true);
  add("d0", 0, 1000, ReversalMemory::kNone, false);  // dropped past the horizon below
  add("d1", 1, 2000, ReversalMemory::kNone, true);
  add("d1/r/1", 0, 2000, 1, false);  // sent by d1
  m.SetChainEnd(1, 3);
  std::vector<uint64_t> reversed;
  m.TakeReversed(&reversed);
  std::string row1;
  EncodeRememberedRow(m, 0, reversed, &row1);
  const std::vector<uint8_t> extremes = {0, 1};
  m.DropOlderThan(1500, extremes);  // d0 leaves an aged fold
  add("d2", 1, 3000, ReversalMemory::kNone, false);
  m.MarkReversed(1);
  m.TakeReversed(&reversed);
  REQUIRE(reversed == std::vector<uint64_t>{1});
  std::string row2, frame;
  EncodeRememberedRow(m, 3, reversed, &row2);
  EncodeReversalFrame(m, {"deposit amount:money(USD)"}, &frame);

  ReversalMemory r;
  uint64_t end = 0;
  std::vector<uint64_t> marks;
  std::vector<std::string> types;
  REQUIRE(DecodeReversalFrame(frame, &r, &end, &types));
  CHECK(types == std::vector<std::string>{"deposit amount:money(USD)"});
  REQUIRE(DecodeRememberedRow(row1, &r, &marks));
  REQUIRE(DecodeRememberedRow(row2, &r, &marks));
  for (uint64_t k : marks) r.MarkReversed(k);
  CHECK(end == 4);
  CHECK(r.begin() == 1);
  CHECK(r.end() == 4);
  CHECK(r.At(0) == nullptr);
  CHECK(r.At(1)->reversed);
  CHECK(r.ChainEndOf(1) == 3);
  CHECK(r.At(1)->effects_count == 0);
  const RememberedEvent& sent = *r.At(2);
  CHECK(sent.id == "d1/r/1");
  CHECK(sent.sent);
  CHECK(r.SenderOf(2) == 1);
  CHECK(sent.time == 2000);
  REQUIRE(sent.aggs_count == 1);
  CHECK(r.AggAt(sent, 0).value == 6000);
  REQUIRE(sent.effects_count == 2);
  CHECK(r.EffectAt(sent, 0).kind == FiringEffect::KeyedLimit);
  CHECK(r.KeyAt(sent, r.EffectAt(sent, 0).key_index).s == "friend-d1/r/1");
  CHECK(r.EffectAt(sent, 1).amount == -250);
  CHECK(r.EffectAt(sent, 1).budget_bucket == kNoBucket);
  CHECK(r.EffectAt(sent, 1).client_budget_bucket == 123);
  CHECK(r.LastOf(1) == 3);
  CHECK(r.At(3)->previous_of_client == 1);
  CHECK(r.LastOf(0) == 2);
  CHECK(r.IndexOfClient(1, "d2") == 3);
  const Bucket* aged = r.Aged(0, 1, 100);
  REQUIRE(aged != nullptr);
  CHECK(aged->max == 3000);

  // An event with its fields kept, reversed in a later batch: the mark drops them.
  ReversalMemory again;
  marks.clear();
  REQUIRE(DecodeReversalFrame(frame, &again, &end, &types));
  REQUIRE(DecodeRememberedRow(row1, &again, &marks));
  REQUIRE(again.RecordOf(1) != nullptr);
  CHECK(again.RecordOf(1)->fields[1].s == "card");
  CHECK(again.RecordOf(1)->present == std::vector<bool>{true, false});

  // Truncated, or a row missing (a gap between the frame's begin and the next row): refused.
  ReversalMemory bad;
  REQUIRE(DecodeReversalFrame(frame, &bad, &end, &types));
  CHECK_FALSE(DecodeRememberedRow(std::string_view(row1).substr(0, row1.size() - 3), &bad, &marks));
  ReversalMemory gap;
  REQUIRE(DecodeReversalFrame(frame, &gap, &end, &types));
  CHECK_FALSE(DecodeRememberedRow(row2, &gap, &marks));
  CHECK_FALSE(DecodeReversalFrame(std::string_view(frame).substr(0, frame.size() - 1), &gap, &end, &types));
}
