// Calendar-bucket series and client state construction.
#include "runtime/state.h"

#include <algorithm>

#include "stdlib/stdlib.h"
#include "stdlib/zone.h"

namespace perk::runtime {

void AddToCache(WindowCache* cache, int64_t key, int64_t value, int64_t count) {
  if (cache->until <= cache->from) return;  // nothing cached
  // The query keys whose window holds `key`: those in [key, key + count), or all for count 0.
  const int64_t from = std::max(cache->from, key);
  int64_t until = cache->until;
  if (count > 0 && key <= INT64_MAX - count) until = std::min(until, key + count);
  int64_t sum;
  if (from >= until || perk_int_add(cache->fold.sum, value, &sum) != PERK_OK) {
    cache->Clear();
    return;
  }
  Bucket& f = cache->fold;
  f.min = f.count ? std::min(f.min, value) : value;
  f.max = f.count ? std::max(f.max, value) : value;
  f.count += 1;
  f.sum = sum;
  cache->from = from;
  cache->until = until;
}

int64_t ZonedBucketStart(checked::WindowUnit unit, int64_t key, int32_t zone) {
  if (unit == checked::WindowUnit::Month || unit == checked::WindowUnit::Year) {
    const int64_t month = unit == checked::WindowUnit::Year ? key * 12 : key;
    const int64_t y = month >= 0 ? month / 12 : (month - 11) / 12;
    if (y < 0 || y > 9999) return key > 0 ? INT64_MAX : INT64_MIN;
    return perk_tz_day_start(zone, stdlib::DaysFromCivil(y, static_cast<unsigned>(month - y * 12 + 1), 1));
  }
  if (unit == checked::WindowUnit::Day && zone != stdlib::kUtcZone) {
    if (key < -800'000 || key > 3'000'000) return key > 0 ? INT64_MAX : INT64_MIN;
    return perk_tz_day_start(zone, key);
  }
  if (zone != stdlib::kUtcZone && unit != checked::WindowUnit::All) {
    // Local clock minutes and hours: from the start of their local day, less the most a
    // clock change can move them (2 hours), but never before the day's start.
    const int64_t per_day = unit == checked::WindowUnit::Hour ? 24 : 1440;
    const int64_t day = key >= 0 ? key / per_day : (key - per_day + 1) / per_day;
    if (day < -800'000 || day > 3'000'000) return key > 0 ? INT64_MAX : INT64_MIN;
    const int64_t start = perk_tz_day_start(zone, day);
    const int64_t unit_len = unit == checked::WindowUnit::Hour ? stdlib::kMicrosPerHour : stdlib::kMicrosPerMinute;
    return std::max(start, start + (key - day * per_day) * unit_len - 2 * stdlib::kMicrosPerHour);
  }
  // What is left is WindowUnit::All (one bucket for ever): BucketStart (state.h) handles UTC's
  // minutes, hours and days inline and never calls here for them.
  return INT64_MAX;
}

bool QueryCached(const AggSeries& series, int64_t key, int64_t count, Bucket* out, WindowCache* cache) {
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

int64_t ZonedBucketKey(checked::WindowUnit unit, int64_t t, int32_t zone) {
  auto floordiv = [](int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); };
  // Outside UTC every unit is local; in UTC only months and years need the calendar.
  if (zone != stdlib::kUtcZone) return perk_tz_bucket(zone, static_cast<int64_t>(unit), t);
  switch (unit) {
    case checked::WindowUnit::Minute: return floordiv(t, stdlib::kMicrosPerMinute);
    case checked::WindowUnit::Hour: return floordiv(t, stdlib::kMicrosPerHour);
    case checked::WindowUnit::Day: return floordiv(t, stdlib::kMicrosPerDay);
    case checked::WindowUnit::All: return 0;
    case checked::WindowUnit::Month:
    case checked::WindowUnit::Year: return perk_tz_bucket(zone, static_cast<int64_t>(unit), t);
  }
  return 0;
}

bool ClientState::HasBadge(std::string_view badge) const {
  return std::find(badges.begin(), badges.end(), badge) != badges.end();
}

void ClientState::Shape(const checked::ClientLayout& to) {
  layout = to;
  slots.assign(static_cast<size_t>(to.size()), 0);
  for (uint32_t w = 0; w < to.windows; ++w) windows()[w] = WindowCache{};
}

void ClientState::Reshape(const checked::ClientLayout& to) {
  if (to == layout) return;
  ClientState old;  // only its block: the rest stays here
  old.layout = layout;
  old.slots = std::move(slots);
  Shape(to);
  if (old.slots.empty()) return;  // never shaped: nothing to keep
  since() = old.since();
  tier() = old.tier();
  auto keep = [](std::span<const int64_t> from, std::span<int64_t> into) {
    std::copy_n(from.begin(), std::min(from.size(), into.size()), into.begin());
  };
  keep(old.holds(), holds());
  keep(old.wallets(), wallets());
  keep(old.var_slots(), var_slots());
  for (size_t k = 0; k < std::min(old.layout.segments, to.segments); ++k) set_segment(k, old.segment(k));
  if (var_text.size() > to.vars) var_text.resize(to.vars);
}

void ClientState::set_var(size_t k, Value v) {
  var_slots()[k] = v.i;
  if (k < var_text.size()) var_text[k] = std::move(v.s);
}

bool IsZeroValue(const Value& value) { return value.i == 0 && value.s.empty(); }

void ResolveUnsetAttributes(const checked::Program& p, ClientState* c) {
  if (c->attr_unset.size() == c->attrs.size()) return;
  c->attr_unset.assign(c->attrs.size(), 0);
  for (size_t k = 0; k < c->attrs.size() && k < p.client_fields.size(); ++k)
    c->attr_unset[k] = !p.client_fields[k].has_default && IsZeroValue(c->attrs[k]) ? 1 : 0;
}

bool HasStringVars(const checked::Program& p) {
  return std::any_of(p.vars.begin(), p.vars.end(), [](const checked::Var& v) { return v.type == Type::String; });
}

ClientState NewClient(const checked::Program& p, std::string id, int64_t since) {
  return NewClient(p, checked::ClientLayoutOf(p), std::move(id), since);
}

ClientState NewClient(const checked::Program& p, const checked::ClientLayout& layout, std::string id, int64_t since) {
  ClientState c;
  c.Shape(layout);
  c.id = std::move(id);
  c.since() = since;
  c.attrs.reserve(p.client_fields.size());
  for (const auto& f : p.client_fields) {
    c.attrs.push_back(f.default_value);
    c.attr_unset.push_back(f.has_default ? 0 : 1);
  }
  if (HasStringVars(p)) c.var_text.resize(p.vars.size());
  for (size_t k = 0; k < p.vars.size(); ++k) c.set_var(k, p.vars[k].init);
  c.limits.resize(p.rules.size());
  c.aggs.resize(p.agg_slots.size());
  return c;
}

}  // namespace perk::runtime
