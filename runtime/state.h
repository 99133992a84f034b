// Per-client and program-wide state: wallets, vars, tier and holds, segments, badges, and the
// calendar-bucket series behind windowed aggregates, limits and budgets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/checked.h"
#include "runtime/small_vec.h"
#include "stdlib/value.h"

namespace perk::runtime {

// One calendar bucket (a minute, an hour or a day, or the whole history for WindowUnit::All).
struct Bucket {
  int64_t key = 0;
  int64_t count = 0;
  int64_t sum = 0;
  int64_t min = 0;
  int64_t max = 0;
};

// Non-empty buckets in increasing key order; only the last `keep` units are kept, so memory
// is bounded by the longest window and by how many distinct units saw events.
struct Series {
  std::vector<Bucket> buckets;

  // Adds a value at `key`; returns false when the sum overflows (nothing changed then).
  bool Add(int64_t key, int64_t value, int64_t keep);
  // Folds the buckets with keys in (key - count, key] (all of them when count == 0) into
  // *out; returns false when their sum overflows.
  bool Query(int64_t key, int64_t count, Bucket* out) const;
};

// A window fold remembered between reads of the same window: it holds for query keys in
// [from, until) as long as the series gets no new value (the engine clears it on every Add and
// on rollback). Day ticks read every client's windows every day; most reads hit this instead
// of folding calendar buckets out of the client's heap.
struct WindowCache {
  int64_t from = 0;
  int64_t until = INT64_MIN;  // an empty range: nothing cached
  Bucket fold;
  void Clear() { until = INT64_MIN; }
};

// Folds like Series::Query, through *cache: a hit when `key` is in the cached range, otherwise
// the fold is computed and cached with the keys it holds for (until the oldest bucket leaves
// the window or a later bucket enters it). An overflowing fold is never cached.
bool QueryCached(const Series& series, int64_t key, int64_t count, Bucket* out, WindowCache* cache);

using checked::AggWindows;
using checked::AggWindowsOf;

// The bucket key of a time for a window unit.
int64_t BucketKey(checked::WindowUnit unit, int64_t time_micros);

// Small arrays are kept inline and what a day tick reads of every client (tier, holds,
// segments, the heap pointers of limits and aggregates) comes first, so that a tick touches few
// of the client's cache lines.
struct ClientState {
  int64_t since = 0;
  int64_t tier = 0;
  SmallVec<int64_t, 4> hold_until;  // per tier: the hold lasts while now < hold_until
  SmallVec<uint8_t, 8> segments;
  std::vector<Series> limits;       // per rule (empty series for rules without a limit)
  std::vector<Series> aggs;         // per aggregate slot
  SmallVec<int64_t, 4> wallets;
  std::string id;
  InlineVec<Value, 4> attrs;
  InlineVec<Value, 4> vars;
  std::vector<std::string> badges;  // in grant order

  bool HasBadge(std::string_view badge) const;
};

// A new client with every value at its start (wallets 0, vars at their initial values,
// attributes at their defaults, the base tier, outside every segment).
ClientState NewClient(const checked::Program& program, std::string id, int64_t since);

}  // namespace perk::runtime
