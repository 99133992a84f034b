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
  CHECK(BucketKey(WindowUnit::Day, At("2026-01-05T23:59:59.999999Z"), 0) == BucketKey(WindowUnit::Day, At("2026-01-05T00:00:00Z"), 0));
  CHECK(BucketKey(WindowUnit::Day, At("2026-01-06T00:00:00Z"), 0) == BucketKey(WindowUnit::Day, At("2026-01-05T00:00:00Z"), 0) + 1);
  CHECK(BucketKey(WindowUnit::Hour, At("2026-01-05T10:59:00Z"), 0) + 1 == BucketKey(WindowUnit::Hour, At("2026-01-05T11:00:00Z"), 0));
  CHECK(BucketKey(WindowUnit::Minute, At("2026-01-05T10:00:59Z"), 0) == BucketKey(WindowUnit::Minute, At("2026-01-05T10:00:00Z"), 0));
  CHECK(BucketKey(WindowUnit::Day, At("1969-12-31T23:00:00Z"), 0) == -1);
  CHECK(BucketKey(WindowUnit::All, At("2026-01-05T10:00:00Z"), 0) == 0);
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

TEST_CASE("a window's sum is exact: it overflows only when the total does") {
  perk::runtime::Series s;
  REQUIRE(s.Add(1, INT64_MIN + 1, 0));
  REQUIRE(s.Add(2, 1000, 0));
  REQUIRE(s.Add(3, INT64_MAX, 0));
  // Folded newest first, INT64_MAX + 1000 would overflow on the way; the total is 1000.
  CHECK(Q(s, 3, 5).sum == 1000);
  REQUIRE(s.Add(4, INT64_MAX, 0));
  Bucket b;
  CHECK_FALSE(s.Query(4, 5, &b));  // the total, INT64_MAX + 1000, is out of range
  CHECK(Q(s, 4, 1).sum == INT64_MAX);
}

TEST_CASE("a cached window fold kept through adds equals a fresh fold at every later key") {
  // Random adds and reads at non-decreasing keys, as the engine makes them; after each add the
  // cache is kept by AddToCache, as the engine does, and cleared when the add fails (the
  // engine's rollback). Values are sometimes huge, so that sums overflow both ways. The fresh
  // fold comes from the vector-backed series, so the inline-bucket one (AggSeries) is checked
  // against it too.
  std::mt19937_64 rng(7);
  for (int round = 0; round < 300; ++round) {
    perk::runtime::Series s;
    perk::runtime::AggSeries inline_series;
    // As in the engine: a window of N units over a series that keeps at least N, or the whole
    // history (count 0) over one that keeps every bucket.
    const int64_t keep = rng() % 5 == 0 ? 0 : 1 + static_cast<int64_t>(rng() % 40);
    const int64_t count = keep == 0 ? 0 : 1 + static_cast<int64_t>(rng() % keep);
    const bool huge = round % 3 == 0;
    perk::runtime::WindowCache cache;
    int64_t key = static_cast<int64_t>(rng() % 1000) - 500;
    for (int step = 0; step < 300; ++step) {
      key += static_cast<int64_t>(rng() % 4 == 0 ? rng() % 50 : rng() % 2);
      if (rng() % 3 == 0) {
        const int64_t value = huge && rng() % 2 ? static_cast<int64_t>(rng() >> 1) * (rng() % 2 ? 1 : -1)
                                                : static_cast<int64_t>(rng() % 1000) - 300;
        const bool added = s.Add(key, value, keep);
        REQUIRE(inline_series.Add(key, value, keep) == added);
        if (added) perk::runtime::AddToCache(&cache, key, value, count);
        else cache.Clear();
      }
      perk::runtime::Bucket fresh, cached;
      INFO("round " << round << " step " << step << " key " << key << " count " << count);
      const bool ok = s.Query(key, count, &fresh);
      REQUIRE(perk::runtime::QueryCached(inline_series, key, count, &cached, &cache) == ok);
      REQUIRE(inline_series.buckets.size() == s.buckets.size());
      if (!ok) continue;
      CHECK(cached.count == fresh.count);
      CHECK(cached.sum == fresh.sum);
      if (fresh.count) {
        CHECK(cached.min == fresh.min);
        CHECK(cached.max == fresh.max);
      }
    }
  }
}

TEST_CASE("a client's block has a region per layout part, none overlapping, and reshapes by index") {
  perk::checked::ClientLayout layout;
  layout.tiers = 3;
  layout.segments = 65;
  layout.windows = 2;
  layout.wallets = 2;
  layout.vars = 2;
  CHECK(layout.segment_words() == 2);
  CHECK(layout.segments_at() == 2 + 3);
  CHECK(layout.windows_at() == 5 + 2);
  CHECK(layout.wallets_at() == 7 + 2 * 7);
  CHECK(layout.vars_at() == 21 + 2);
  CHECK(layout.size() == 25);

  perk::runtime::ClientState c;
  c.Shape(layout);
  REQUIRE(c.slots.size() == 25);
  CHECK(c.windows()[0].until == INT64_MIN);  // empty caches
  CHECK(c.windows()[1].until == INT64_MIN);
  c.since() = 11;
  c.tier() = 2;
  c.holds()[2] = 99;
  c.set_segment(0, true);
  c.set_segment(64, true);
  c.wallets()[1] = 7;
  c.var_text.resize(2);
  c.set_var(1, perk::Value::Str("text"));
  c.set_var(0, perk::Value::Int(-3));
  CHECK(c.segment(0));
  CHECK_FALSE(c.segment(1));
  CHECK_FALSE(c.segment(63));
  CHECK(c.segment(64));
  c.set_segment(0, false);
  CHECK_FALSE(c.segment(0));
  CHECK(c.segment(64));
  // Every write above landed in its own slot.
  CHECK(c.slots[perk::checked::ClientLayout::kSince] == 11);
  CHECK(c.slots[layout.wallets_at() + 1] == 7);
  CHECK(c.slots[layout.vars_at()] == -3);
  CHECK(c.slots[layout.vars_at() + 1] == 0);  // a string var's slot
  CHECK(c.var(1).s == "text");

  // One tier, one segment and one wallet fewer; no windows: values stay by index.
  perk::checked::ClientLayout smaller = layout;
  smaller.tiers = 2;
  smaller.segments = 1;
  smaller.windows = 0;
  smaller.wallets = 1;
  c.Reshape(smaller);
  CHECK(c.slots.size() == static_cast<size_t>(smaller.size()));
  CHECK(c.since() == 11);
  CHECK(c.tier() == 2);
  CHECK(c.holds().size() == 2);
  CHECK(c.wallets()[0] == 0);
  CHECK(c.var(0).i == -3);
  CHECK(c.var(1).s == "text");
  c.Reshape(layout);
  CHECK(c.holds()[2] == 0);  // gone with the smaller layout
  CHECK_FALSE(c.segment(64));
  CHECK(c.windows()[1].until == INT64_MIN);
}
