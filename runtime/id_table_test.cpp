// Unit tests for the open-addressing id tables: the client index and the dedup set, alone,
// under forced hash collisions, and against std containers as oracles.
#include <catch2/catch.hpp>

#include <deque>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/id_table.h"

using perk::runtime::ClientIndex;
using perk::runtime::DedupSet;
using perk::runtime::HashId;

namespace {

// The owner of the ids, as the engine's vector of clients is.
struct Owner {
  std::vector<std::string> ids;
  struct Key {
    const std::vector<std::string>* ids;
    std::string_view operator()(uint32_t k) const { return (*ids)[k]; }
  };
};

using Index = ClientIndex<Owner::Key>;
constexpr uint32_t kNone = Index::kNone;

// A hash with its low 20 bits equal for every id: all share one home slot in any table of up
// to 2^20 slots, but their tags still differ.
uint64_t SameHome(std::string_view id) { return (HashId(id) << 20) | 0x5a5a5; }
// The same hash for every id: tags collide too, so only the id comparison tells them apart.
uint64_t SameHash(std::string_view) { return 0x1234567; }

std::vector<std::pair<int64_t, std::string>> Listed(const DedupSet& set, size_t from = 0) {
  std::vector<std::pair<int64_t, std::string>> out;
  set.ForEachFrom(from, [&](int64_t time, std::string_view id) { out.emplace_back(time, std::string(id)); });
  return out;
}

}  // namespace

TEST_CASE("HashId is a function of the bytes and sensitive to each of them") {
  CHECK(HashId("c000001") == HashId(std::string("c000001")));
  std::set<uint64_t> seen;
  std::string base = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH";
  size_t count = 0;
  for (size_t n = 0; n <= base.size(); ++n) {
    std::string s = base.substr(0, n);
    seen.insert(HashId(s));
    ++count;
    for (size_t k = 0; k < n; ++k) {
      std::string t = s;
      t[k] ^= 1;
      seen.insert(HashId(t));
      ++count;
    }
  }
  CHECK(seen.size() == count);
  // Zero bytes count as bytes, not as an end or as padding.
  CHECK(HashId(std::string_view("a\0", 2)) != HashId("a"));
  CHECK(HashId(std::string_view("\0\0\0\0\0\0\0\0\0", 9)) != HashId(std::string_view("\0\0\0\0\0\0\0\0", 8)));
}

TEST_CASE("client index: insert, find, erase of the newest, clear") {
  Owner o;
  Index index(Owner::Key{&o.ids});
  CHECK(index.Find("c1") == kNone);
  for (const char* id : {"c1", "c2", "", "c3"}) {
    REQUIRE(index.Find(id) == kNone);
    o.ids.push_back(id);
    index.Insert(id, static_cast<uint32_t>(o.ids.size() - 1));
  }
  CHECK(index.size() == 4);
  CHECK(index.Find("c1") == 0);
  CHECK(index.Find("c2") == 1);
  CHECK(index.Find("") == 2);  // the index itself has no opinion on empty ids
  CHECK(index.Find("c3") == 3);
  CHECK(index.Find("c4") == kNone);
  CHECK(index.Find("c") == kNone);

  CHECK(index.Erase(o.ids.back(), 3));
  o.ids.pop_back();
  CHECK(index.Find("c3") == kNone);
  CHECK_FALSE(index.Erase("c3", 3));
  CHECK(index.Find("c2") == 1);
  // The id can come back with the index it had.
  o.ids.push_back("c3");
  index.Insert("c3", 3);
  CHECK(index.Find("c3") == 3);

  index.Clear();
  CHECK(index.size() == 0);
  CHECK(index.Find("c1") == kNone);
}

TEST_CASE("client index: growth across many resizes") {
  Owner o;
  Index index(Owner::Key{&o.ids});
  const uint32_t n = 200000;
  for (uint32_t k = 0; k < n; ++k) {
    o.ids.push_back("client-" + std::to_string(k));
    index.Insert(o.ids.back(), k);
    // Spot checks while it grows, including just after each doubling.
    if ((k & (k + 1)) == 0) {
      for (uint32_t j = 0; j <= k; j += 1 + k / 64) REQUIRE(index.Find(o.ids[j]) == j);
    }
  }
  CHECK(index.size() == n);
  for (uint32_t k = 0; k < n; ++k) REQUIRE(index.Find(o.ids[k]) == k);
  for (uint32_t k = n; k < n + 1000; ++k) REQUIRE(index.Find("client-" + std::to_string(k)) == kNone);
}

TEST_CASE("client index: colliding hashes are told apart by the ids") {
  for (auto hash : {SameHome, SameHash}) {
    Owner o;
    Index index(Owner::Key{&o.ids});
    const uint32_t n = 300;
    for (uint32_t k = 0; k < n; ++k) {
      o.ids.push_back("x" + std::to_string(k));
      REQUIRE(index.Find(o.ids.back(), hash(o.ids.back())) == kNone);
      index.Insert(k, hash(o.ids.back()));
    }
    for (uint32_t k = 0; k < n; ++k) REQUIRE(index.Find(o.ids[k], hash(o.ids[k])) == k);
    CHECK(index.Find("x300", hash("x300")) == kNone);
    // Erasing inside the one long run must leave every other entry reachable (backward shift).
    std::vector<bool> erased(n);
    for (uint32_t k = 0; k < n; k += 3) {
      REQUIRE(index.Erase(k, hash(o.ids[k])));
      erased[k] = true;
    }
    CHECK(index.size() == n - (n + 2) / 3);
    for (uint32_t k = 0; k < n; ++k) REQUIRE(index.Find(o.ids[k], hash(o.ids[k])) == (erased[k] ? kNone : k));
  }
}

TEST_CASE("client index: rebuild indexes a list, the first of equal ids winning") {
  Owner o;
  o.ids = {"a", "b", "a", "c", ""};
  Index index(Owner::Key{&o.ids});
  index.Rebuild(static_cast<uint32_t>(o.ids.size()));
  CHECK(index.size() == 4);
  CHECK(index.Find("a") == 0);
  CHECK(index.Find("b") == 1);
  CHECK(index.Find("c") == 3);
  CHECK(index.Find("") == 4);
  o.ids = {"z"};
  index.Rebuild(1);
  CHECK(index.size() == 1);
  CHECK(index.Find("a") == kNone);
  CHECK(index.Find("z") == 0);
}

TEST_CASE("client index: random operations agree with std::unordered_map") {
  for (bool collide : {false, true}) {
    std::mt19937_64 rng(collide ? 7 : 11);
    Owner o;
    Index index(Owner::Key{&o.ids});
    std::unordered_map<std::string, uint32_t> oracle;
    auto hash = [&](std::string_view id) { return collide ? (HashId(id) & 0xF000000Full) : HashId(id); };
    auto random_id = [&] { return "c" + std::to_string(rng() % 5000); };
    for (int step = 0; step < 60000; ++step) {
      uint64_t op = rng() % 100;
      if (op < 45) {  // the engine's GetClient
        std::string id = random_id();
        uint32_t found = index.Find(id, hash(id));
        auto it = oracle.find(id);
        REQUIRE(found == (it == oracle.end() ? kNone : it->second));
        if (found == kNone) {
          o.ids.push_back(id);
          index.Insert(static_cast<uint32_t>(o.ids.size() - 1), hash(id));
          oracle.emplace(id, static_cast<uint32_t>(o.ids.size() - 1));
        }
      } else if (op < 75) {  // the engine's FindClient
        std::string id = random_id();
        auto it = oracle.find(id);
        REQUIRE(index.Find(id, hash(id)) == (it == oracle.end() ? kNone : it->second));
      } else if (op < 99) {  // the engine's DropNewestClient
        if (o.ids.empty()) continue;
        REQUIRE(index.Erase(static_cast<uint32_t>(o.ids.size() - 1), hash(o.ids.back())));
        oracle.erase(o.ids.back());
        o.ids.pop_back();
      } else if (!collide) {  // the engine's Restore
        index.Rebuild(static_cast<uint32_t>(o.ids.size()));
      }
      REQUIRE(index.size() == oracle.size());
    }
    for (const auto& [id, k] : oracle) REQUIRE(index.Find(id, hash(id)) == k);
  }
}

TEST_CASE("dedup set: empty ids are never stored") {
  DedupSet set;
  CHECK_FALSE(set.Insert(1, ""));
  CHECK(set.size() == 0);
  CHECK_FALSE(set.Contains(""));
  CHECK(set.Insert(1, "e1"));
  CHECK_FALSE(set.Contains(""));
  CHECK(Listed(set) == std::vector<std::pair<int64_t, std::string>>{{1, "e1"}});
}

TEST_CASE("dedup set: ids expire oldest first as the cutoff passes") {
  DedupSet set;
  set.Insert(10, "a");
  set.Insert(20, "b");
  set.Insert(20, "c");
  set.Insert(30, "d");
  CHECK(set.size() == 4);
  for (const char* id : {"a", "b", "c", "d"}) CHECK(set.Contains(id));
  CHECK_FALSE(set.Contains("e"));

  set.ExpireOlderThan(10);  // strictly older only
  CHECK(set.size() == 4);
  set.ExpireOlderThan(21);
  CHECK(set.size() == 1);
  CHECK_FALSE(set.Contains("a"));
  CHECK_FALSE(set.Contains("b"));
  CHECK_FALSE(set.Contains("c"));
  CHECK(set.Contains("d"));
  CHECK(Listed(set) == std::vector<std::pair<int64_t, std::string>>{{30, "d"}});
  set.ExpireOlderThan(1000);
  CHECK(set.size() == 0);
  CHECK_FALSE(set.Contains("d"));
}

TEST_CASE("dedup set: an id can be remembered again after it expired") {
  DedupSet set;
  set.Insert(1, "e1");
  set.Insert(2, "e2");
  set.ExpireOlderThan(2);
  CHECK_FALSE(set.Contains("e1"));
  CHECK(set.Insert(5, "e1"));
  CHECK(set.Contains("e1"));
  CHECK(Listed(set) == std::vector<std::pair<int64_t, std::string>>{{2, "e2"}, {5, "e1"}});
  set.ExpireOlderThan(3);
  CHECK(set.Contains("e1"));
  CHECK_FALSE(set.Contains("e2"));
}

TEST_CASE("dedup set: iteration from the n-th oldest, across ring wraparound and growth") {
  DedupSet set;
  std::deque<std::pair<int64_t, std::string>> model;
  int64_t t = 0;
  // Interleave inserts and expiries so the ring wraps before it grows.
  for (int round = 0; round < 40; ++round) {
    for (int k = 0; k < 10 + round; ++k) {
      std::string id = "r" + std::to_string(round) + "-" + std::to_string(k);
      set.Insert(++t, id);
      model.emplace_back(t, id);
    }
    int64_t cutoff = t - 15;
    set.ExpireOlderThan(cutoff);
    while (!model.empty() && model.front().first < cutoff) model.pop_front();
    REQUIRE(set.size() == model.size());
    for (size_t from : {size_t{0}, size_t{1}, model.size() / 2, model.size(), model.size() + 3}) {
      auto listed = Listed(set, from);
      REQUIRE(listed.size() == (from < model.size() ? model.size() - from : 0));
      for (size_t k = 0; k < listed.size(); ++k) REQUIRE(listed[k] == model[from + k]);
    }
  }
}

TEST_CASE("dedup set: an id inserted while remembered behaves as the unordered_set + deque did") {
  DedupSet set;
  set.Insert(1, "a");
  set.Insert(2, "a");  // the FIFO holds it twice, the set once
  CHECK(set.size() == 2);
  set.ExpireOlderThan(2);  // the first entry expires: the id is forgotten
  CHECK(set.size() == 1);
  CHECK_FALSE(set.Contains("a"));
  set.Insert(3, "a");
  CHECK(set.Contains("a"));
  set.ExpireOlderThan(3);  // the second entry expires: forgotten again, though @3 is in the FIFO
  CHECK_FALSE(set.Contains("a"));
  CHECK(Listed(set) == std::vector<std::pair<int64_t, std::string>>{{3, "a"}});
}

TEST_CASE("dedup set: colliding hashes are told apart by the ids") {
  for (auto hash : {SameHome, SameHash}) {
    DedupSet set;
    const int n = 500;
    for (int k = 0; k < n; ++k) {
      std::string id = "e" + std::to_string(k);
      REQUIRE_FALSE(set.Contains(id, hash(id)));
      set.Insert(k, id, hash(id));
    }
    for (int k = 0; k < n; ++k) REQUIRE(set.Contains("e" + std::to_string(k), hash("e" + std::to_string(k))));
    CHECK_FALSE(set.Contains("e500", hash("e500")));
    set.ExpireOlderThan(n / 2);
    for (int k = 0; k < n; ++k) {
      std::string id = "e" + std::to_string(k);
      REQUIRE(set.Contains(id, hash(id)) == (k >= n / 2));
    }
  }
}

TEST_CASE("dedup set: memory stays bounded by the window") {
  DedupSet set;
  const int window = 1000;
  size_t live_bytes = 0;
  std::deque<size_t> sizes;
  for (int k = 0; k < 300000; ++k) {
    std::string id = "event-id-" + std::to_string(k);
    set.Insert(k, id);
    sizes.push_back(id.size());
    live_bytes += id.size();
    set.ExpireOlderThan(k - window + 1);
    while (static_cast<int>(sizes.size()) > window) {
      live_bytes -= sizes.front();
      sizes.pop_front();
    }
    REQUIRE(set.size() == sizes.size());
    // Compaction keeps the dead bytes at most as many as the live ones, or under 64 KiB.
    REQUIRE(set.arena_bytes() <= live_bytes + std::max<size_t>(live_bytes, 64 * 1024));
  }
  set.ExpireOlderThan(1 << 30);
  CHECK(set.size() == 0);
  CHECK(set.arena_bytes() == 0);
}

TEST_CASE("dedup set: random operations agree with std::unordered_set + std::deque") {
  for (bool collide : {false, true}) {
    std::mt19937_64 rng(collide ? 3 : 5);
    DedupSet set;
    std::unordered_set<std::string> seen;
    std::deque<std::pair<int64_t, std::string>> expiry;
    auto hash = [&](std::string_view id) { return collide ? (HashId(id) & 0xC000001Full) : HashId(id); };
    auto random_id = [&] {
      uint64_t r = rng() % 3000;
      return r == 0 ? std::string() : "id" + std::string(r % 7, 'x') + std::to_string(r);
    };
    int64_t clock = 0;
    const int64_t window = 500;
    for (int step = 0; step < 80000; ++step) {
      uint64_t op = rng() % 100;
      if (op < 60) {  // a record: the dedup check, then remember it when it is new
        std::string id = random_id();
        bool dup = !id.empty() && seen.count(id);
        REQUIRE(set.Contains(id, hash(id)) == dup);
        if (!dup && !id.empty()) {
          REQUIRE(set.Insert(clock, id, hash(id)));
          seen.insert(id);
          expiry.emplace_back(clock, id);
        }
      } else if (op < 62) {  // an id remembered again while remembered (Restore of odd input)
        std::string id = random_id();
        if (id.empty()) continue;
        set.Insert(clock, id, hash(id));
        seen.insert(id);
        expiry.emplace_back(clock, id);
      } else if (op < 97) {  // the clock moves on
        clock += static_cast<int64_t>(rng() % 20);
        set.ExpireOlderThan(clock - window);
        while (!expiry.empty() && clock - expiry.front().first > window) {
          seen.erase(expiry.front().second);
          expiry.pop_front();
        }
      } else if (op < 99) {  // the store reads the ids from some point on
        size_t from = expiry.empty() ? 0 : rng() % (expiry.size() + 2);
        auto listed = Listed(set, from);
        REQUIRE(listed.size() == (from < expiry.size() ? expiry.size() - from : 0));
        for (size_t k = 0; k < listed.size(); ++k) REQUIRE(listed[k] == expiry[from + k]);
      } else if (!collide) {  // Restore: cleared and refilled oldest first
        auto listed = Listed(set);
        set.Clear();
        CHECK(set.size() == 0);
        for (auto& [time, id] : listed) set.Insert(time, id);
        // The old containers, refilled the same way, hold every id the FIFO lists.
        seen.clear();
        for (auto& [time, id] : expiry) seen.insert(id);
      }
      REQUIRE(set.size() == expiry.size());
    }
    for (uint64_t r = 0; r < 3000; ++r) {
      std::string id = r == 0 ? std::string() : "id" + std::string(r % 7, 'x') + std::to_string(r);
      REQUIRE(set.Contains(id, hash(id)) == (seen.count(id) > 0));
    }
  }
}
