// bench/forex.perk written by hand in C++: the floor the JIT core is measured against
// (bench/core.cpp). It keeps Perk's semantics (spec §4-§6 and docs/semantics.md) so that it
// writes the same ledger bytes as the engine: rules in declaration order, limit before `when`,
// budgets with skip entries, tier re-evaluation with the VIP hold, the `lapsing` segment, a day
// tick at midnight UTC over every known client in order of first appearance, dedup of ids for
// 30 days, exact money arithmetic and record atomicity. What it does differently is what a
// C++ engineer writing this one program for speed would do:
//   - clients are flat structs found through an open-addressing table of id hashes;
//   - the 30/60/7-day windows are running sums per client over rings of day buckets, kept
//     day-major (one array per day slot, indexed by client) so that the day tick, which moves
//     every client's windows one day on, streams through memory instead of hopping; O(1) per
//     client per day instead of folding calendar buckets at every read. An event adds to
//     today's accumulators in the client's struct; the tick moves them to their day slot;
//   - the one aggregate the three tier conditions share is read once;
//   - string attributes the rules only compare (country) are reduced to flags on update;
//   - the ledger is written straight into one buffer, with ids quoted once per client.
// Header-only because every bench/*.cpp is built as its own executable.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/checked.h"
#include "runtime/records.h"
#include "stdlib/stdlib.h"

namespace forex_native {

using perk::runtime::Record;
using perk::runtime::RecordKind;

constexpr int64_t kMicrosPerDay = perk::stdlib::kMicrosPerDay;
constexpr int64_t kDedupWindow = 30 * kMicrosPerDay;
constexpr int64_t kNever = INT64_MIN / 4;  // a day long before any window

struct Stats {
  uint64_t records = 0;
  uint64_t accepted = 0;
  uint64_t effects = 0;
  uint64_t rejects = 0;
  uint64_t duplicates = 0;
};

inline uint64_t HashBytes(const char* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0x94d049bb133111ebull;
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 32;
  return h | 1;  // 0 marks an empty slot
}

// Six ASCII bytes as one integer, for comparing instrument and method names in one go.
constexpr uint64_t Tag6(const char (&s)[7]) {
  uint64_t v = 0;
  for (int i = 5; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}
inline uint64_t Tag6Of(const std::string& s) {
  if (s.size() != 6) return 0;
  uint64_t v = 0;
  std::memcpy(&v, s.data(), 6);
  return v;
}

// Ids of accepted records with their time. An id counts as seen while the clock is at most 30
// days past its time (the engine forgets it then); expired entries are dropped when the table
// is rebuilt, which happens only as it fills. Ids of up to 8 bytes (all of the benchmark's)
// live in the slot itself, so a lookup touches one cache line.
class IdSet {
 public:
  IdSet() { Resize(1 << 16); }

  // Is `id` remembered at clock `clock`?
  bool Seen(std::string_view id, int64_t clock) const {
    uint64_t h = HashBytes(id.data(), id.size());
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.hash == 0) return false;
      if (s.hash == h && Matches(s, id)) return clock - s.time <= kDedupWindow;
    }
  }

  void Remember(std::string_view id, int64_t time, int64_t clock) {
    if (id.empty()) return;
    uint64_t h = HashBytes(id.data(), id.size());
    size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.hash == 0) break;
      if (s.hash == h && Matches(s, id)) {
        s.time = time;  // an expired id sent again
        return;
      }
    }
    Place(slots_[i], h, time, id);
    if (++used_ * 2 > slots_.size()) Rebuild(clock);
  }

 private:
  static constexpr size_t kInline = 8;
  struct Slot {
    uint64_t hash;
    int64_t time;
    uint32_t len;
    uint32_t off;  // into arena_ when len > kInline
    char key[kInline];
  };

  bool Matches(const Slot& s, std::string_view id) const {
    if (s.len != id.size()) return false;
    const char* bytes = s.len <= kInline ? s.key : arena_.data() + s.off;
    return std::memcmp(bytes, id.data(), id.size()) == 0;
  }

  void Place(Slot& s, uint64_t h, int64_t time, std::string_view id) {
    s = Slot{h, time, static_cast<uint32_t>(id.size()), 0, {}};
    if (id.size() <= kInline) {
      std::memcpy(s.key, id.data(), id.size());
    } else {
      s.off = static_cast<uint32_t>(arena_.size());
      arena_.append(id);
    }
  }

  void Resize(size_t cap) {
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    used_ = 0;
  }

  // Drops expired ids and compacts the long ones' bytes; grows when the live ids still fill a
  // quarter.
  void Rebuild(int64_t clock) {
    std::vector<Slot> old;
    old.swap(slots_);
    std::string old_arena;
    old_arena.swap(arena_);
    size_t live = 0;
    for (const Slot& s : old)
      if (s.hash != 0 && clock - s.time <= kDedupWindow) ++live;
    size_t cap = old.size();
    while (live * 4 > cap) cap *= 2;
    Resize(cap);
    for (const Slot& s : old) {
      if (s.hash == 0 || clock - s.time > kDedupWindow) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].hash != 0) i = (i + 1) & mask_;
      std::string_view id = s.len <= kInline ? std::string_view(s.key, s.len) : std::string_view(old_arena).substr(s.off, s.len);
      Place(slots_[i], s.hash, s.time, id);
      ++used_;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t used_ = 0;
};

// The ledger buffer: raw appends, room for one entry ensured up front.
class Out {
 public:
  Out() {
    buf_.resize(1 << 22);
    pos_ = buf_.data();
    end_ = buf_.data() + buf_.size();
  }
  Out(const Out&) = delete;
  Out& operator=(const Out&) = delete;
  void Reserve(size_t n) {
    if (static_cast<size_t>(end_ - pos_) < n) Grow(n);
  }
  template <size_t N>
  void Lit(const char (&s)[N]) {
    std::memcpy(pos_, s, N - 1);
    pos_ += N - 1;
  }
  void Put(std::string_view s) {
    Reserve(s.size() + 256);
    std::memcpy(pos_, s.data(), s.size());
    pos_ += s.size();
  }
  void Char(char c) { *pos_++ = c; }
  void Int(int64_t v) { pos_ = std::to_chars(pos_, pos_ + 24, v).ptr; }
  // Money as "75.00": sign, whole units, two decimals.
  void Money(int64_t cents) {
    uint64_t m = cents < 0 ? 0 - static_cast<uint64_t>(cents) : static_cast<uint64_t>(cents);
    if (cents < 0) *pos_++ = '-';
    pos_ = std::to_chars(pos_, pos_ + 24, m / 100).ptr;
    unsigned f = static_cast<unsigned>(m % 100);
    pos_[0] = '.';
    pos_[1] = static_cast<char>('0' + f / 10);
    pos_[2] = static_cast<char>('0' + f % 10);
    pos_ += 3;
  }
  void MoneyString(int64_t cents) {
    Char('"');
    Money(cents);
    Char('"');
  }

  size_t size() const { return static_cast<size_t>(pos_ - buf_.data()); }
  std::string_view view() const { return std::string_view(buf_.data(), size()); }
  void Truncate(size_t n) { pos_ = buf_.data() + n; }
  void Clear() { pos_ = buf_.data(); }

 private:
  void Grow(size_t n) {
    size_t used = size();
    buf_.resize(std::max(buf_.size() * 2, used + n));
    pos_ = buf_.data() + used;
    end_ = buf_.data() + buf_.size();
  }
  std::string buf_;
  char* pos_ = nullptr;
  char* end_ = nullptr;
};

inline bool NeedsEscape(std::string_view s) {
  for (char ch : s)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == '"' || ch == '\\') return true;
  return false;
}

// Floor division for days and bucket keys (times before 1970 included).
inline int64_t DayOf(int64_t micros) {
  int64_t q = micros / kMicrosPerDay;
  return q - ((micros % kMicrosPerDay != 0) && (micros < 0));
}

// What the program's declarations fix: params after --param overrides, limits and budgets.
struct Config {
  int64_t welcome_rate = 0;  // decimal micros
  int64_t welcome_cap = 0;   // cents
  int64_t stamps_per_card = 0;
  int64_t welcome_budget = 0;    // cents, over all time
  int64_t redeposit_budget = 0;  // cents, within 30 days
};

// Reads the params and budgets from the checked program and checks that its declarations are
// laid out as this file assumes, so the floor can never silently run a different program.
inline Config ConfigFrom(const perk::checked::Program& p) {
  auto fail = [](const std::string& what) { throw std::runtime_error("forex_native: program differs: " + what); };
  auto param = [&](const char* name) {
    int k = p.FindParam(name);
    if (k < 0) fail(std::string("no param ") + name);
    return p.params[k].value.i;
  };
  auto expect_event = [&](int index, const char* name, std::vector<const char*> fields) {
    if (index >= static_cast<int>(p.events.size()) || p.events[index].name != name) fail(std::string("event ") + name);
    const auto& ev = p.events[index];
    if (ev.fields.size() != fields.size()) fail(std::string("fields of ") + name);
    for (size_t k = 0; k < fields.size(); ++k)
      if (ev.fields[k].name != fields[k]) fail(std::string("field ") + fields[k]);
  };
  expect_event(0, "deposit", {"amount", "method", "first"});
  expect_event(1, "trade", {"symbol", "lots", "volume"});
  expect_event(2, "login", {"device"});
  if (p.client_fields.size() != 2 || p.client_fields[0].name != "country" || p.client_fields[1].name != "birthdate")
    fail("client fields");
  if (p.client_fields[1].has_default) fail("birthdate is optional");
  const char* rules[] = {"welcome", "redeposit", "crypto_deposit", "pair_points", "punch_card", "tier_up", "winback",
                         "birthday"};
  if (p.rules.size() != 8) fail("rule count");
  for (size_t k = 0; k < 8; ++k)
    if (p.rules[k].name != rules[k]) fail(std::string("rule ") + rules[k]);
  if (p.tiers.size() != 4 || p.segments.size() != 1 || p.wallets.size() != 2 || p.vars.size() != 1) fail("declarations");
  if (p.vars[0].init.i != 0) fail("trade_stamps initial value");
  if (p.client_fields[0].default_value.s == "US") fail("country default");
  using perk::checked::Window;
  using perk::checked::WindowUnit;
  auto expect_limit = [&](int r, int64_t count, Window w) {
    const auto& rule = p.rules[r];
    if (!rule.has_limit || rule.limit_count != count || !(rule.limit_window == w)) fail("limit of " + rule.name);
  };
  expect_limit(0, 1, Window{WindowUnit::All, 0});
  expect_limit(1, 2, Window{WindowUnit::Day, 30});
  expect_limit(6, 1, Window{WindowUnit::Day, 30});
  for (int r : {2, 3, 4, 5, 7})
    if (p.rules[r].has_limit || p.rules[r].has_budget) fail("limit or budget of " + p.rules[r].name);
  if (!p.rules[0].has_budget || !(p.rules[0].budget_window == Window{WindowUnit::All, 0})) fail("welcome budget");
  if (!p.rules[1].has_budget || !(p.rules[1].budget_window == Window{WindowUnit::Day, 30})) fail("redeposit budget");
  if (p.tiers[1].hold_micros != 0 || p.tiers[2].hold_micros != 0 || p.tiers[3].hold_micros != 30 * kMicrosPerDay)
    fail("tier holds");
  Config c;
  c.welcome_rate = param("welcome_rate");
  c.welcome_cap = param("welcome_cap");
  c.stamps_per_card = param("stamps_per_card");
  c.welcome_budget = p.rules[0].budget_cents;
  c.redeposit_budget = p.rules[1].budget_cents;
  return c;
}

class Engine {
 public:
  explicit Engine(const Config& config) : cfg_(config) {
    clients_.reserve(1 << 17);
    cold_.reserve(1 << 17);
    ResizeIndex(1 << 12);
  }

  Out& ledger() { return out_; }
  const Stats& stats() const { return stats_; }

  // One decoded record (by a RecordDecoder over InputSchemaOf(program)), as Engine::ProcessDecoded.
  void Process(const Record& r) {
    ++stats_.records;
    if (!r.id.empty() && has_clock_ && ids_.Seen(r.id, clock_)) {
      ++stats_.duplicates;
      return;
    }
    if (has_clock_ && r.time < clock_) {
      Reject();
      return;
    }
    AdvanceClock(r.time);
    switch (r.kind) {
      case RecordKind::Tick: ++stats_.accepted; return;
      case RecordKind::Profile: {
        bool created;
        uint32_t k = GetClient(r.client, &created);
        Client& c = clients_[k];
        // `null` returns country to its default (not "US") and unsets the birthdate.
        if (r.present[0]) c.us = !r.nulled[0] && r.fields[0].s == "US";
        if (r.present[1]) {
          if (r.nulled[1]) c.birth_month = 0;
          else SetBirthdate(c, r.fields[1].i);
        }
        ids_.Remember(r.id, r.time, clock_);
        ++stats_.accepted;
        return;
      }
      case RecordKind::Event: ProcessEvent(r); return;
    }
  }

  // `perk run --until`: the day ticks up to `time`.
  void AdvanceTo(int64_t time) {
    if (has_clock_ && time > clock_) AdvanceClock(time);
  }

 private:
  // Per-client state. The first cache line holds what the day tick reads; the rest is read
  // only by events. Trade counts are 32-bit: one client would need 4 billion trades in a
  // window to overflow them.
  struct alignas(64) Client {
    // -- read at every tick --
    int64_t sum30 = 0;  // trade.volume over the days (day-30, day]
    int64_t vip_hold_until = 0;
    int64_t points = 0;  // wallet
    int64_t today_volume = 0;  // today's trade.volume and trades, moved to the day slots at
    uint32_t today_count = 0;  // the next tick so that an event touches only this struct
    int32_t cnt60 = 0;   // trades over (day-60, day]
    int32_t cnt7 = 0;    // trades over (day-7, day]
    int32_t birth_year = 1970;
    uint8_t birth_month = 0, birth_day = 1;  // month 0: the birthdate is unset
    uint8_t tier = 0;  // 0 Bronze, 1 Silver, 2 Gold, 3 VIP
    bool lapsing = false;
    // -- read by events --
    alignas(64) int64_t bonus = 0;  // wallet, cents
    int64_t stamps = 0;             // var trade_stamps
    int64_t redeposit_last = kNever, redeposit_before = kNever;  // days of its last two firings
    int64_t winback_last = kNever;
    bool welcome_done = false;
    bool us = false;
    bool vip_badge = false;
  };
  // Day slots: 32 for volume (a 30-day window plus the day entering), 64 for counts (60 + 1).
  static constexpr int kVolumeSlots = 32, kCountSlots = 64;

  struct IndexSlot {
    uint64_t hash = 0;
    uint32_t client = 0;
    uint32_t len = 0;
    char key[16] = {};
  };
  struct Cold {
    std::string id;
    std::string quoted;  // as it appears in the ledger
  };

  static constexpr std::string_view kTierNames[] = {"\"Bronze\"", "\"Silver\"", "\"Gold\"", "\"VIP\""};
  static constexpr int64_t kSilver = 500'000'00, kGold = 2'500'000'00, kVip = 10'000'000'00;

  // ---- clients ----

  uint32_t GetClient(const std::string& id, bool* created) {
    uint64_t h = HashBytes(id.data(), id.size());
    size_t i = h & index_mask_;
    for (;; i = (i + 1) & index_mask_) {
      const IndexSlot& s = index_[i];
      if (s.hash == 0) break;
      if (s.hash == h && IndexMatches(s, id)) {
        *created = false;
        return s.client;
      }
    }
    *created = true;
    uint32_t k = static_cast<uint32_t>(clients_.size());
    index_[i] = MakeSlot(h, k, id);
    clients_.emplace_back();
    for (auto& column : volume_) column.push_back(0);
    for (auto& column : count_) column.push_back(0);
    Cold cold;
    cold.id = id;
    perk::stdlib::AppendJsonQuoted(cold.quoted, id);
    cold_.push_back(std::move(cold));
    if (clients_.size() * 2 > index_.size()) ResizeIndex(index_.size() * 2);
    return k;
  }

  // Undoes the creation of the newest client (its first record failed).
  void DropNewestClient() {
    const std::string& id = cold_.back().id;
    uint64_t h = HashBytes(id.data(), id.size());
    size_t i = h & index_mask_;
    while (index_[i].client != clients_.size() - 1 || index_[i].hash != h) i = (i + 1) & index_mask_;
    // Backward-shift deletion keeps every probe chain unbroken.
    for (size_t j = (i + 1) & index_mask_; index_[j].hash != 0; j = (j + 1) & index_mask_) {
      size_t home = index_[j].hash & index_mask_;
      bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
      if (movable) {
        index_[i] = index_[j];
        i = j;
      }
    }
    index_[i] = IndexSlot{};
    clients_.pop_back();
    for (auto& column : volume_) column.pop_back();
    for (auto& column : count_) column.pop_back();
    cold_.pop_back();
  }

  void ResizeIndex(size_t cap) {
    index_.assign(cap, IndexSlot{});
    index_mask_ = cap - 1;
    for (uint32_t k = 0; k < cold_.size(); ++k) {
      uint64_t h = HashBytes(cold_[k].id.data(), cold_[k].id.size());
      size_t i = h & index_mask_;
      while (index_[i].hash != 0) i = (i + 1) & index_mask_;
      index_[i] = MakeSlot(h, k, cold_[k].id);
    }
  }

  // Client ids of up to 16 bytes (all of the benchmark's) are kept in the index slot.
  static constexpr size_t kInlineId = 16;
  bool IndexMatches(const IndexSlot& s, const std::string& id) const {
    if (s.len != id.size()) return false;
    if (s.len <= kInlineId) return std::memcmp(s.key, id.data(), s.len) == 0;
    return cold_[s.client].id == id;
  }
  static IndexSlot MakeSlot(uint64_t h, uint32_t k, const std::string& id) {
    IndexSlot s{h, k, static_cast<uint32_t>(id.size()), {}};
    if (id.size() <= kInlineId) std::memcpy(s.key, id.data(), id.size());
    return s;
  }

  static void SetBirthdate(Client& c, int64_t days) {
    int64_t y;
    unsigned m, d;
    perk::stdlib::CivilFromDays(days, &y, &m, &d);
    c.birth_year = static_cast<int32_t>(std::clamp<int64_t>(y, INT32_MIN, INT32_MAX));
    c.birth_month = static_cast<uint8_t>(m);
    c.birth_day = static_cast<uint8_t>(d);
  }

  // Moves every client's running window sums on to `day` (the day after windows_day_): the
  // day that ended goes from the clients' accumulators into its slot, and the day leaving each
  // window is subtracted.
  void ShiftWindows(int64_t day) {
    int64_t* ended_volume = volume_[(day - 1) & (kVolumeSlots - 1)].data();
    uint32_t* ended_count = count_[(day - 1) & (kCountSlots - 1)].data();
    const int64_t* leave30 = volume_[(day - 30) & (kVolumeSlots - 1)].data();
    const uint32_t* leave60 = count_[(day - 60) & (kCountSlots - 1)].data();
    const uint32_t* leave7 = count_[(day - 7) & (kCountSlots - 1)].data();
    const size_t n = clients_.size();
    Client* c = clients_.data();
    for (size_t k = 0; k < n; ++k) {
      ended_volume[k] = c[k].today_volume;
      ended_count[k] = c[k].today_count;
      c[k].today_volume = 0;
      c[k].today_count = 0;
      c[k].sum30 -= leave30[k];
      c[k].cnt60 -= static_cast<int32_t>(leave60[k]);
      c[k].cnt7 -= static_cast<int32_t>(leave7[k]);
    }
    windows_day_ = day;
  }

  // The program-wide window of re-deposit budget use.
  void AlignBudget(int64_t day) {
    if (budget_day_ >= day) return;
    if (day - budget_day_ >= 64) {
      std::fill(std::begin(budget_ring_), std::end(budget_ring_), 0);
      redeposit_used_ = 0;
    } else {
      for (int64_t x = budget_day_ + 1; x <= day; ++x) {
        redeposit_used_ -= budget_ring_[(x - 30) & 63];
        budget_ring_[x & 63] = 0;
      }
    }
    budget_day_ = day;
  }

  // ---- ledger ----

  void SetEventTrigger(const Record& r) {
    trigger_.clear();
    if (NeedsEscape(r.id)) {
      perk::stdlib::AppendJsonQuoted(trigger_, r.id);
    } else {
      trigger_.push_back('"');
      trigger_.append(r.id);
      trigger_.push_back('"');
    }
    SetTime(r.time);
  }

  void SetTime(int64_t t) {
    now_ = t;
    int64_t day = DayOf(t);
    if (day != date_day_) {
      date_day_ = day;
      date_text_ = perk::stdlib::FormatDate(day);
    }
    time_.assign("\"");
    time_.append(date_text_);
    int64_t in_day = t - day * kMicrosPerDay;
    int64_t secs = in_day / 1'000'000, frac = in_day % 1'000'000;
    char hms[9] = {'T',
                   static_cast<char>('0' + secs / 36000),
                   static_cast<char>('0' + secs / 3600 % 10),
                   ':',
                   static_cast<char>('0' + secs / 600 % 6),
                   static_cast<char>('0' + secs / 60 % 10),
                   ':',
                   static_cast<char>('0' + secs % 60 / 10),
                   static_cast<char>('0' + secs % 10)};
    time_.append(hms, 9);
    if (frac != 0) {
      char digits[7];
      for (int i = 5; i >= 0; --i, frac /= 10) digits[i] = static_cast<char>('0' + frac % 10);
      int n = 6;
      while (digits[n - 1] == '0') --n;
      time_.push_back('.');
      time_.append(digits, n);
    }
    time_.append("Z\"");
  }

  // `rule` is the rule's name already quoted, or "null".
  void Begin(uint32_t k, std::string_view rule, std::string_view action) {
    out_.Reserve(512 + trigger_.size() + cold_[k].quoted.size());
    out_.Lit("{\"seq\":");
    out_.Int(static_cast<int64_t>(++seq_));
    out_.Lit(",\"trigger\":");
    out_.Put(trigger_);
    out_.Lit(",\"client\":");
    out_.Put(cold_[k].quoted);
    out_.Lit(",\"time\":");
    out_.Put(time_);
    out_.Lit(",\"rule\":");
    out_.Put(rule);
    out_.Lit(",\"action\":\"");
    out_.Put(action);
    out_.Char('"');
  }
  void End() {
    out_.Lit("}\n");
    ++stats_.effects;
  }

  void CreditEntry(uint32_t k, std::string_view rule, bool money, const char* wallet_json, int64_t amount,
                   int64_t balance) {
    Begin(k, rule, "credit");
    out_.Put(wallet_json);
    out_.Lit(",\"amount\":");
    money ? out_.MoneyString(amount) : out_.Int(amount);
    out_.Lit(",\"balance\":");
    money ? out_.MoneyString(balance) : out_.Int(balance);
    End();
  }

  void Reject() { ++stats_.rejects; }

  // ---- the program ----

  // Re-evaluates tier (with `on tier_changed`) and the segment, step 4 of §5. Nothing here can
  // fail: the window sums it reads were checked when they were added to.
  void Reevaluate(uint32_t k) {
    Client& c = clients_[k];
    const int64_t s = c.sum30;
    const bool vip = s >= kVip;
    if (vip) {
      int64_t end;
      if (__builtin_add_overflow(now_, 30 * kMicrosPerDay, &end)) end = INT64_MAX;
      c.vip_hold_until = end;
    }
    const uint8_t best = (vip || now_ < c.vip_hold_until) ? 3 : s >= kGold ? 2 : s >= kSilver ? 1 : 0;
    if (best != c.tier) {
      const uint8_t previous = c.tier;
      c.tier = best;
      Begin(k, "null", "tier");
      out_.Lit(",\"from\":");
      out_.Put(kTierNames[previous]);
      out_.Lit(",\"to\":");
      out_.Put(kTierNames[best]);
      End();
      // rule tier_up
      if (best > previous) {
        Begin(k, "\"tier_up\"", "notify");
        out_.Lit(",\"template\":\"tier_up\",\"data\":{\"from\":");
        out_.Put(kTierNames[previous]);
        out_.Lit(",\"to\":");
        out_.Put(kTierNames[best]);
        out_.Lit("}");
        End();
        if (best == 3 && !c.vip_badge) {
          c.vip_badge = true;
          Begin(k, "\"tier_up\"", "grant");
          out_.Lit(",\"badge\":\"vip\"");
          End();
        }
      }
    }
    const bool member = c.cnt60 >= 10 && c.cnt7 == 0;
    if (member != c.lapsing) {
      c.lapsing = member;
      Begin(k, "null", "segment");
      out_.Lit(",\"segment\":\"lapsing\",\"member\":");
      member ? out_.Lit("true") : out_.Lit("false");
      End();
    }
  }

  void DayTick(int64_t day) {
    trigger_ = "\"day:" + perk::stdlib::FormatDate(day) + "\"";
    SetTime(day * kMicrosPerDay);
    today_ = day;
    AlignBudget(day);
    int64_t ty;
    unsigned tm, td;
    perk::stdlib::CivilFromDays(day, &ty, &tm, &td);
    const bool leap = ty % 4 == 0 && (ty % 100 != 0 || ty % 400 == 0);
    // Ticks come one day at a time, so the windows move by exactly one day here.
    ShiftWindows(day);
    const uint32_t n = static_cast<uint32_t>(clients_.size());
    for (uint32_t k = 0; k < n; ++k) {
      Client& c = clients_[k];
      // rule birthday: client.birthdate is set and anniversary(client.birthdate); 29 February
      // counts as 28 February. An unset birthdate has month 0, which no day has.
      if (c.birth_month == tm && ty > c.birth_year &&
          (c.birth_day == td || (c.birth_day == 29 && tm == 2 && td == 28 && !leap))) {
        int64_t balance;
        if (__builtin_add_overflow(c.points, int64_t{250}, &balance)) {
          Reject();  // this client's part of the tick is rolled back: nothing of it ran yet
          continue;
        }
        c.points = balance;
        CreditEntry(k, "\"birthday\"", false, ",\"wallet\":\"points\"", 250, balance);
        Begin(k, "\"birthday\"", "notify");
        out_.Lit(",\"template\":\"happy_birthday\",\"data\":{\"points\":");
        out_.Int(c.points);
        out_.Lit("}");
        End();
      }
      Reevaluate(k);
    }
  }

  void AdvanceClock(int64_t time) {
    if (!has_clock_) {
      has_clock_ = true;
      clock_ = time;
      today_ = DayOf(time);
      budget_day_ = windows_day_ = today_;
      return;
    }
    const int64_t from = DayOf(clock_), to = DayOf(time);
    for (int64_t d = from + 1; d <= to; ++d) {
      DayTick(d);
      clock_ = d * kMicrosPerDay;
    }
    if (time > clock_) clock_ = time;
  }

  // Steps 3 and 4 of §5 for one event, atomically: on a runtime error everything it did is
  // undone from a copy of the client's state and of the program-wide budget use.
  void ProcessEvent(const Record& r) {
    bool created;
    const uint32_t k = GetClient(r.client, &created);
    Client& c = clients_[k];
    const int64_t today = today_;
    AlignBudget(today);
    SetEventTrigger(r);

    const Client saved = c;
    const size_t ledger_size = out_.size();
    const uint64_t seq = seq_, effects = stats_.effects;
    const int64_t welcome_used = welcome_used_, redeposit_used = redeposit_used_;
    const int64_t budget_slot = budget_ring_[today & 63];

    bool ok = true;
    switch (r.event_index) {
      case 0: ok = Deposit(k, r, today); break;
      case 1: ok = Trade(k, r); break;
      case 2: Login(k, r, today); break;
    }
    if (ok) {
      Reevaluate(k);
      ids_.Remember(r.id, r.time, clock_);
      ++stats_.accepted;
      return;
    }
    out_.Truncate(ledger_size);
    seq_ = seq;
    stats_.effects = effects;
    welcome_used_ = welcome_used;
    redeposit_used_ = redeposit_used;
    budget_ring_[today & 63] = budget_slot;
    if (created) {
      DropNewestClient();
    } else {
      clients_[k] = saved;
    }
    Reject();
  }

  // Rules welcome, redeposit, crypto_deposit. False on a runtime error.
  bool Deposit(uint32_t k, const Record& r, int64_t today) {
    Client& c = clients_[k];
    const int64_t amount = r.fields[0].i;
    const bool first = r.fields[2].i != 0;
    // welcome: limit once per client, then when, then actions; budget over all time.
    if (!c.welcome_done && first && amount >= 100'00 && !c.us) {
      int64_t bonus;
      if (perk_money_mul_dec(amount, cfg_.welcome_rate, &bonus) != PERK_OK) return false;
      bonus = std::min(bonus, cfg_.welcome_cap);
      bool run = true;
      if (bonus > 0) {
        if (bonus > cfg_.welcome_budget - welcome_used_) {
          SkipEntry(k, "\"welcome\"", bonus);
          run = false;
        } else {
          int64_t balance;
          if (__builtin_add_overflow(c.bonus, bonus, &balance)) return false;
          if (__builtin_add_overflow(welcome_used_, bonus, &welcome_used_)) return false;
          c.bonus = balance;
          CreditEntry(k, "\"welcome\"", true, ",\"wallet\":\"bonus\"", bonus, balance);
        }
      }
      if (run) {
        Begin(k, "\"welcome\"", "notify");
        out_.Lit(",\"template\":\"welcome_bonus\",\"data\":{\"deposit\":");
        out_.MoneyString(amount);
        out_.Lit(",\"bonus\":");
        out_.MoneyString(c.bonus);
        out_.Lit("}");
        End();
        c.welcome_done = true;
      }
    }
    // redeposit: limit 2 per client within 30 days; budget within 30 days.
    const int64_t fired = (c.redeposit_last > today - 30) + (c.redeposit_before > today - 30);
    if (fired < 2 && !first && amount >= 250'00 && !c.us) {
      static constexpr int64_t kRate[] = {20'000, 50'000, 100'000, 200'000};  // 2% 5% 10% 20%
      int64_t bonus;
      if (perk_money_mul_dec(amount, kRate[c.tier], &bonus) != PERK_OK) return false;
      bonus = std::min<int64_t>(bonus, 2'000'00);
      bool run = true;
      if (bonus > 0) {
        if (bonus > cfg_.redeposit_budget - redeposit_used_) {
          SkipEntry(k, "\"redeposit\"", bonus);
          run = false;
        } else {
          int64_t balance;
          if (__builtin_add_overflow(c.bonus, bonus, &balance)) return false;
          if (__builtin_add_overflow(budget_ring_[today & 63], bonus, &budget_ring_[today & 63])) return false;
          redeposit_used_ += bonus;
          c.bonus = balance;
          CreditEntry(k, "\"redeposit\"", true, ",\"wallet\":\"bonus\"", bonus, balance);
        }
      }
      if (run) {
        c.redeposit_before = c.redeposit_last;
        c.redeposit_last = today;
      }
    }
    // crypto_deposit
    if (Tag6Of(r.fields[1].s) == Tag6("crypto")) {
      Begin(k, "\"crypto_deposit\"", "emit");
      out_.Lit(",\"name\":\"crypto_deposit\",\"data\":{\"amount\":");
      out_.MoneyString(amount);
      out_.Lit("}");
      End();
    }
    return true;
  }

  void SkipEntry(uint32_t k, std::string_view rule, int64_t amount) {
    Begin(k, rule, "skip");
    out_.Lit(",\"reason\":\"budget\",\"wallet\":\"bonus\",\"amount\":");
    out_.MoneyString(amount);
    End();
  }

  // Records the trade into the windows, then rules pair_points and punch_card.
  bool Trade(uint32_t k, const Record& r) {
    Client& c = clients_[k];
    const int64_t lots = r.fields[1].i, volume = r.fields[2].i;
    if (__builtin_add_overflow(c.today_volume, volume, &c.today_volume)) return false;
    if (__builtin_add_overflow(c.sum30, volume, &c.sum30)) return false;
    c.today_count += 1;
    c.cnt60 += 1;
    c.cnt7 += 1;

    // pair_points: floor(lots * per_lot * (2 at Gold and above)). Multiplying a decimal by a
    // whole number is exact, so the decimal products are plain integer products of micros.
    const uint64_t sym = Tag6Of(r.fields[0].s);
    int64_t per_lot;
    if (sym == Tag6("XAUUSD") || sym == Tag6("XAGUSD")) per_lot = 25;
    else if (sym == Tag6("EURUSD") || sym == Tag6("GBPUSD") || sym == Tag6("USDJPY") || sym == Tag6("USDCHF")) per_lot = 10;
    else if (sym == Tag6("BTCUSD")) per_lot = 15;
    else per_lot = 5;
    int64_t micros;
    if (__builtin_mul_overflow(lots, per_lot, &micros)) return false;
    if (__builtin_mul_overflow(micros, c.tier >= 2 ? 2 : 1, &micros)) return false;
    const int64_t points = micros / 1'000'000 - (micros % 1'000'000 < 0);
    if (points > 0) {
      int64_t balance;
      if (__builtin_add_overflow(c.points, points, &balance)) return false;
      c.points = balance;
      CreditEntry(k, "\"pair_points\"", false, ",\"wallet\":\"points\"", points, balance);
    }

    // punch_card
    if (lots >= 100'000) {
      int64_t stamps;
      if (__builtin_add_overflow(c.stamps, int64_t{1}, &stamps)) return false;
      SetEntry(k, stamps);
      c.stamps = stamps;
      if (c.stamps >= cfg_.stamps_per_card) {
        SetEntry(k, 0);
        c.stamps = 0;
        int64_t balance;
        if (__builtin_add_overflow(c.points, int64_t{100}, &balance)) return false;
        c.points = balance;
        CreditEntry(k, "\"punch_card\"", false, ",\"wallet\":\"points\"", 100, balance);
        Begin(k, "\"punch_card\"", "notify");
        out_.Lit(",\"template\":\"punch_card_full\",\"data\":{\"points\":");
        out_.Int(c.points);
        out_.Lit("}");
        End();
      }
    }
    return true;
  }

  void SetEntry(uint32_t k, int64_t value) {
    Begin(k, "\"punch_card\"", "set");
    out_.Lit(",\"var\":\"trade_stamps\",\"value\":");
    out_.Int(value);
    End();
  }

  // Rule winback: limit once per client within 30 days, when lapsing.
  void Login(uint32_t k, const Record& r, int64_t today) {
    Client& c = clients_[k];
    if (c.winback_last > today - 30 || !c.lapsing) return;
    const std::string& device = r.fields[0].s;
    Begin(k, "\"winback\"", "emit");
    out_.Reserve(device.size() * 6 + 64);
    out_.Lit(",\"name\":\"winback_offer\",\"data\":{\"device\":");
    if (NeedsEscape(device)) {
      std::string q;
      perk::stdlib::AppendJsonQuoted(q, device);
      out_.Put(q);
    } else {
      out_.Char('"');
      out_.Put(device);
      out_.Char('"');
    }
    out_.Lit(",\"level\":");
    out_.Put(kTierNames[c.tier]);
    out_.Lit("}");
    End();
    c.winback_last = today;
  }


  Config cfg_;
  std::vector<Client> clients_;  // in order of first appearance
  std::vector<int64_t> volume_[kVolumeSlots];  // [day slot][client]: trade.volume that day
  std::vector<uint32_t> count_[kCountSlots];    // [day slot][client]: trades that day
  int64_t windows_day_ = 0;                     // the day every client's running sums are for
  std::vector<Cold> cold_;
  std::vector<IndexSlot> index_;
  size_t index_mask_ = 0;
  IdSet ids_;

  int64_t welcome_used_ = 0;
  int64_t budget_ring_[64] = {};
  int64_t redeposit_used_ = 0;
  int64_t budget_day_ = 0;

  bool has_clock_ = false;
  int64_t clock_ = 0;
  int64_t today_ = 0;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  std::string trigger_, time_, date_text_;
  int64_t date_day_ = INT64_MIN;
  Out out_;
  Stats stats_;
};

}  // namespace forex_native
