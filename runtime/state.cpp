// Calendar-bucket series and client state construction.
#include "runtime/state.h"

#include <algorithm>

#include "stdlib/stdlib.h"

namespace perk::runtime {

bool Series::Add(int64_t key, int64_t value, int64_t keep) {
  if (!buckets.empty() && buckets.back().key == key) {
    Bucket& b = buckets.back();
    int64_t sum;
    if (perk_int_add(b.sum, value, &sum) != PERK_OK) return false;
    b.sum = sum;
    b.count += 1;
    b.min = std::min(b.min, value);
    b.max = std::max(b.max, value);
    return true;
  }
  buckets.push_back(Bucket{key, 1, value, value, value});
  if (keep > 0) {
    // Drop buckets that no window can reach any more: keys <= key - keep.
    auto first = std::find_if(buckets.begin(), buckets.end(), [&](const Bucket& b) { return b.key > key - keep; });
    buckets.erase(buckets.begin(), first);
  }
  return true;
}

bool Series::Query(int64_t key, int64_t count, Bucket* result) const {
  Bucket out;
  bool first = true;
  for (size_t k = buckets.size(); k-- > 0;) {
    const Bucket& b = buckets[k];
    if (b.key > key) continue;
    if (count > 0 && b.key <= key - count) break;
    out.count += b.count;
    if (perk_int_add(out.sum, b.sum, &out.sum) != PERK_OK) return false;
    out.min = first ? b.min : std::min(out.min, b.min);
    out.max = first ? b.max : std::max(out.max, b.max);
    first = false;
  }
  *result = out;
  return true;
}

bool QueryCached(const Series& series, int64_t key, int64_t count, Bucket* out, WindowCache* cache) {
  if (key >= cache->from && key < cache->until) {
    *out = cache->fold;
    return true;
  }
  if (!series.Query(key, count, out)) {
    cache->Clear();
    return false;
  }
  // The fold changes at the first later key where a bucket leaves (oldest in-window key +
  // count) or enters (the first bucket after `key`) the window.
  int64_t until = INT64_MAX;
  const auto& b = series.buckets;
  auto after = std::upper_bound(b.begin(), b.end(), key, [](int64_t k, const Bucket& x) { return k < x.key; });
  if (after != b.end()) until = after->key;
  if (count > 0) {
    auto oldest = std::upper_bound(b.begin(), after, key - count, [](int64_t k, const Bucket& x) { return k < x.key; });
    if (oldest != after && oldest->key <= INT64_MAX - count) until = std::min(until, oldest->key + count);
  }
  cache->from = key;
  cache->until = until;
  cache->fold = *out;
  return true;
}

int64_t BucketKey(checked::WindowUnit unit, int64_t t) {
  auto floordiv = [](int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); };
  switch (unit) {
    case checked::WindowUnit::Minute: return floordiv(t, stdlib::kMicrosPerMinute);
    case checked::WindowUnit::Hour: return floordiv(t, stdlib::kMicrosPerHour);
    case checked::WindowUnit::Day: return floordiv(t, stdlib::kMicrosPerDay);
    case checked::WindowUnit::All: return 0;
  }
  return 0;
}

bool ClientState::HasBadge(std::string_view badge) const {
  return std::find(badges.begin(), badges.end(), badge) != badges.end();
}

ClientState NewClient(const checked::Program& p, std::string id, int64_t since) {
  ClientState c;
  c.id = std::move(id);
  c.since = since;
  c.attrs.reserve(p.client_fields.size());
  for (const auto& f : p.client_fields) c.attrs.push_back(f.default_value);
  c.wallets.assign(p.wallets.size(), 0);
  c.vars.reserve(p.vars.size());
  for (const auto& v : p.vars) c.vars.push_back(v.init);
  c.hold_until.assign(p.tiers.size(), 0);
  c.segments.assign(p.segments.size(), 0);
  c.limits.resize(p.rules.size());
  c.aggs.resize(p.agg_slots.size());
  return c;
}

}  // namespace perk::runtime
