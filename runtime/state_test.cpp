// Unit tests for calendar-bucket windows: keys, pruning, and window queries.
#include <catch2/catch.hpp>

#include <random>

#include "runtime/state.h"
#include "stdlib/stdlib.h"

using perk::checked::WindowUnit;
using perk::runtime::Bucket;
using perk::runtime::BucketKey;
using perk::runtime::Series;

namespace {
int64_t At(const char* text) {
  std::string err;
  auto t = perk::stdlib::ParseTime(text, &err);
  REQUIRE(t.has_value());
  return *t;
}
Bucket Q(const Series& s, int64_t key, int64_t count) {
  Bucket b;
  REQUIRE(s.Query(key, count, &b));
  return b;
}
}  // namespace

TEST_CASE("bucket keys are calendar units in UTC, flooring before the epoch") {
  CHECK(BucketKey(WindowUnit::Day, At("2026-01-05T23:59:59.999999Z")) == BucketKey(WindowUnit::Day, At("2026-01-05T00:00:00Z")));
  CHECK(BucketKey(WindowUnit::Day, At("2026-01-06T00:00:00Z")) == BucketKey(WindowUnit::Day, At("2026-01-05T00:00:00Z")) + 1);
  CHECK(BucketKey(WindowUnit::Hour, At("2026-01-05T10:59:00Z")) + 1 == BucketKey(WindowUnit::Hour, At("2026-01-05T11:00:00Z")));
  CHECK(BucketKey(WindowUnit::Minute, At("2026-01-05T10:00:59Z")) == BucketKey(WindowUnit::Minute, At("2026-01-05T10:00:00Z")));
  CHECK(BucketKey(WindowUnit::Day, At("1969-12-31T23:00:00Z")) == -1);
  CHECK(BucketKey(WindowUnit::All, At("2026-01-05T10:00:00Z")) == 0);
}

TEST_CASE("a window of N units covers the N units ending with the current one") {
  Series s;
  s.Add(10, 5, 3);
  s.Add(11, 7, 3);
  s.Add(12, 1, 3);
  s.Add(12, 9, 3);
  CHECK(Q(s, 12, 1).count == 2);
  CHECK(Q(s, 12, 1).sum == 10);
  CHECK(Q(s, 12, 2).sum == 17);
  CHECK(Q(s, 12, 3).sum == 22);
  CHECK(Q(s, 12, 3).min == 1);
  CHECK(Q(s, 12, 3).max == 9);
  // Later, with no new events, the window slides past old buckets.
  CHECK(Q(s, 13, 3).sum == 17);
  CHECK(Q(s, 15, 3).count == 0);
}

TEST_CASE("buckets no window can reach are pruned, so memory stays bounded") {
  Series s;
  for (int64_t day = 0; day < 1000; ++day) s.Add(day, 1, 30);
  CHECK(s.buckets.size() == 30);
  CHECK(Q(s, 999, 30).count == 30);
  CHECK(Q(s, 999, 7).count == 7);
}

TEST_CASE("the whole-history series keeps one bucket") {
  Series s;
  for (int k = 0; k < 100; ++k) s.Add(0, k, 0);
  CHECK(s.buckets.size() == 1);
  CHECK(Q(s, 0, 0).sum == 4950);
  CHECK(Q(s, 0, 0).max == 99);
}

TEST_CASE("a sum that would overflow is refused and changes nothing") {
  Series s;
  REQUIRE(s.Add(1, INT64_MAX, 0));
  CHECK_FALSE(s.Add(1, 1, 0));
  CHECK(Q(s, 1, 0).count == 1);
  Series t;
  REQUIRE(t.Add(1, INT64_MAX, 5));
  REQUIRE(t.Add(2, INT64_MAX, 5));
  Bucket b;
  CHECK_FALSE(t.Query(2, 5, &b));
}

TEST_CASE("a cached window fold equals a fresh fold at every later key") {
  // Random adds and reads at non-decreasing keys, as the engine makes them; the cache is
  // cleared on every add, as the engine does. The fresh fold comes from the vector-backed
  // series, so the inline-bucket one (AggSeries) is checked against it too.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    perk::runtime::Series s;
    perk::runtime::AggSeries inline_series;
    const int64_t keep = 1 + static_cast<int64_t>(rng() % 40);
    const int64_t count = static_cast<int64_t>(rng() % (keep + 1));  // 0: all history
    perk::runtime::WindowCache cache;
    int64_t key = static_cast<int64_t>(rng() % 1000) - 500;
    for (int step = 0; step < 300; ++step) {
      key += static_cast<int64_t>(rng() % 4 == 0 ? rng() % 50 : rng() % 2);
      if (rng() % 3 == 0) {
        const int64_t value = static_cast<int64_t>(rng() % 1000) - 300;
        REQUIRE(s.Add(key, value, keep));
        REQUIRE(inline_series.Add(key, value, keep));
        cache.Clear();
      }
      perk::runtime::Bucket fresh, cached;
      REQUIRE(s.Query(key, count, &fresh));
      REQUIRE(perk::runtime::QueryCached(inline_series, key, count, &cached, &cache));
      REQUIRE(inline_series.buckets.size() == s.buckets.size());
      INFO("round " << round << " step " << step << " key " << key << " count " << count);
      CHECK(cached.count == fresh.count);
      CHECK(cached.sum == fresh.sum);
      if (fresh.count) {
        CHECK(cached.min == fresh.min);
        CHECK(cached.max == fresh.max);
      }
    }
  }
}
