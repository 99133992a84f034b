// Cost and return (C12): one pass over the ledger entries and the accepted records.
#include "report/value.h"

#include <limits>
#include <unordered_map>

#include "runtime/interp.h"
#include "runtime/records.h"

namespace perk::report {

namespace {

int64_t SaturatingAdd(int64_t a, int64_t b) {
  int64_t r;
  if (!__builtin_add_overflow(a, b, &r)) return r;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// Lets maps keyed by std::string be searched with a string_view, without a copy.
struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

}  // namespace

Cost& Cost::operator+=(const Cost& o) {
  cents = SaturatingAdd(cents, o.cents);
  unpriced_points = SaturatingAdd(unpriced_points, o.unpriced_points);
  return *this;
}

Cost CostOf(const checked::Wallet& w, int64_t amount, bool debit) {
  Cost c;
  if (debit) amount = amount == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -amount;
  if (w.type == Type::Money) {
    c.cents = amount;
  } else if (w.worth > 0) {
    if (__builtin_mul_overflow(amount, w.worth, &c.cents))
      c.cents = (amount > 0) ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  } else {
    c.unpriced_points = amount;
  }
  return c;
}

std::optional<int64_t> RoiBasisPoints(int64_t revenue, const Cost& cost) {
  if (cost.cents <= 0 || cost.unpriced_points != 0) return std::nullopt;
  const __int128 num = (static_cast<__int128>(revenue) - cost.cents) * 10000;
  const __int128 den = cost.cents;
  // Half away from zero: |num| / den rounded, then the sign back.
  const __int128 mag = num < 0 ? -num : num;
  const __int128 q = (2 * mag + den) / (2 * den);
  const __int128 r = num < 0 ? -q : q;
  if (r > std::numeric_limits<int64_t>::max() || r < std::numeric_limits<int64_t>::min()) return std::nullopt;
  return static_cast<int64_t>(r);
}

int64_t PerClient(int64_t total, int64_t n) {
  if (n <= 0) return 0;
  const __int128 mag = total < 0 ? -static_cast<__int128>(total) : total;
  const __int128 q = (2 * mag + n) / (2 * static_cast<__int128>(n));
  return static_cast<int64_t>(total < 0 ? -q : q);
}

struct ValueCollector::Impl {
  struct Client {
    int64_t revenue = 0;
    Cost cost;
    bool active = false;    // an accepted event or a rule's wallet movement in this run
    bool credited = false;  // a rule credited it (a participant)
    std::vector<uint64_t> segments;  // membership now, a bit per segment
    std::vector<uint64_t> rules;     // a bit per rule that credited it
    // [v0.2] Its revenue events a reversal can still reach, oldest first from earned_head: the
    // id's hash, the time, the revenue and the rules that counted it (the first 64 here, the
    // others' words in earned_more, rule_words - 1 per event).
    struct Earned {
      uint64_t id_hash;
      int64_t time;
      int64_t amount;
      uint64_t rules;
    };
    std::vector<Earned> earned;
    std::vector<uint64_t> earned_more;
    size_t earned_head = 0;
  };

  explicit Impl(const checked::Program& p) : program(p), rules(p.rules.size()), revenue_of(p.events.size()) {
    for (size_t r = 0; r < p.revenues.size(); ++r) revenue_of[p.revenues[r].event].push_back(static_cast<int>(r));
    for (size_t w = 0; w < p.wallets.size(); ++w) wallet_index.emplace(p.wallets[w].name, w);
    segment_index.reserve(p.segments.size());
    for (size_t s = 0; s < p.segments.size(); ++s) segment_index.emplace(p.segments[s].name, s);
    segment_cost.assign(p.segments.size(), Cost{});
    segment_words = (p.segments.size() + 63) / 64;
    rule_words = (p.rules.size() + 63) / 64;
  }

  const checked::Program& program;
  std::vector<RuleValue> rules;
  std::vector<std::vector<int>> revenue_of;  // per event: its revenue declarations
  std::unordered_map<std::string, size_t, ViewHash, std::equal_to<>> wallet_index, segment_index;
  std::vector<Client> clients;  // by the caller's numbering
  std::vector<Cost> segment_cost;
  size_t segment_words = 0, rule_words = 0;
  int64_t revenue = 0, revenue_events = 0, revenue_errors = 0, revenue_reversed = 0;
  Cost cost;

  // What a reversal needs to take an event's revenue back out is kept per client (a reversal
  // names an event of its own client, spec §4), for events with revenue only, and dropped at
  // the client's next revenue event once no reversal can reach it (720 hours), so memory
  // follows recent activity; a revenue event costs an append to its client's list, no
  // allocation of its own. Ids are matched by a 64-bit hash: a wrong match needs two ids of
  // one client to collide within 30 days.
  static constexpr int64_t kReach = int64_t{720} * 3600 * 1000000;

  static uint64_t IdHash(std::string_view id) { return std::hash<std::string_view>{}(id); }

  void Remember(const runtime::Record& rec, int64_t got, Client& c) {
    while (c.earned_head < c.earned.size() && c.earned[c.earned_head].time < rec.time - kReach) ++c.earned_head;
    if (c.earned_head > 16 && c.earned_head * 2 > c.earned.size()) {
      c.earned.erase(c.earned.begin(), c.earned.begin() + static_cast<ptrdiff_t>(c.earned_head));
      if (rule_words > 1)
        c.earned_more.erase(c.earned_more.begin(), c.earned_more.begin() + static_cast<ptrdiff_t>(c.earned_head * (rule_words - 1)));
      c.earned_head = 0;
    }
    c.earned.push_back(Client::Earned{IdHash(rec.id), rec.time, got, c.rules.empty() ? 0 : c.rules[0]});
    if (rule_words > 1) c.earned_more.insert(c.earned_more.end(), c.rules.begin() + 1, c.rules.end());
  }

  void TakeBack(const runtime::Record& reversal, uint32_t k) {
    Client& c = Get(k);
    const uint64_t h = IdHash(reversal.of);
    for (size_t i = c.earned_head; i < c.earned.size(); ++i) {
      Client::Earned& e = c.earned[i];
      if (e.id_hash != h || e.amount == 0) continue;
      ++revenue_reversed;
      --revenue_events;
      revenue = SaturatingAdd(revenue, -e.amount);
      c.revenue = SaturatingAdd(c.revenue, -e.amount);
      for (size_t r = 0; r < rules.size(); ++r) {
        const uint64_t word = r < 64 ? e.rules : c.earned_more[i * (rule_words - 1) + r / 64 - 1];
        if ((word >> (r % 64)) & 1) rules[r].revenue = SaturatingAdd(rules[r].revenue, -e.amount);
      }
      e.amount = 0;  // taken back: an event is reversed once
      return;
    }
    // Not found: the event brought no revenue, or it was accepted before this run.
  }

  Client& Get(uint32_t k) {
    while (clients.size() <= k) {
      clients.emplace_back();
      clients.back().segments.assign(segment_words, 0);
      clients.back().rules.assign(rule_words, 0);
    }
    return clients[k];
  }

  // Entries name the program's own wallets: the name's address finds it without hashing.
  int Wallet(std::string_view name) const {
    for (size_t w = 0; w < program.wallets.size(); ++w)
      if (program.wallets[w].name.data() == name.data()) return static_cast<int>(w);
    auto it = wallet_index.find(name);
    return it == wallet_index.end() ? -1 : static_cast<int>(it->second);
  }

  void Entry(const runtime::LedgerEntry& e, uint32_t k) {
    using A = runtime::LedgerAction;
    if (e.action == A::Segment) {
      auto it = segment_index.find(e.target);
      if (it == segment_index.end()) return;
      Client& c = Get(k);
      const uint64_t bit = uint64_t{1} << (it->second % 64);
      uint64_t& word = c.segments[it->second / 64];
      word = e.member ? (word | bit) : (word & ~bit);
      return;
    }
    if ((e.action != A::Credit && e.action != A::Debit) || e.rule < 0) return;
    const int w = Wallet(e.target);
    if (w < 0) return;
    const Cost c = CostOf(program.wallets[w], e.amount, e.action == A::Debit);
    Client& client = Get(k);
    client.active = true;
    client.cost += c;
    cost += c;
    RuleValue& rule = rules[e.rule];
    rule.cost += c;
    for (size_t s = 0; s < segment_cost.size(); ++s)
      if ((client.segments[s / 64] >> (s % 64)) & 1) segment_cost[s] += c;
    // A counter-entry (a reversal's) only nets: it makes no participant, nor a client of its rule.
    if (e.action == A::Credit && e.reverses == 0) {
      client.credited = true;
      uint64_t& word = client.rules[e.rule / 64];
      const uint64_t bit = uint64_t{1} << (e.rule % 64);
      if (!(word & bit)) {
        word |= bit;
        ++rule.credited_clients;
      }
    }
  }

  void Outcome(const runtime::RecordOutcome& o, uint32_t k) {
    if (o.record == nullptr) return;
    const runtime::Record& rec = *o.record;
    if (rec.kind == runtime::RecordKind::Reversal) {
      Get(k).active = true;
      TakeBack(rec, k);
      return;
    }
    if (rec.kind != runtime::RecordKind::Event) return;
    Client& c = Get(k);
    c.active = true;
    if (rec.event_index < 0 || static_cast<size_t>(rec.event_index) >= revenue_of.size()) return;
    int64_t got = 0;
    bool counted = false;
    for (int r : revenue_of[rec.event_index]) {
      const checked::Revenue& decl = program.revenues[r];
      if (decl.where) {
        runtime::EvalContext ctx;
        ctx.program = &program;
        ctx.event = &rec;
        ctx.now = rec.time;
        Value holds;
        SourceRange where;
        if (runtime::Eval(*decl.where, ctx, &holds, &where) != PERK_OK) {
          ++revenue_errors;
          continue;
        }
        if (!holds.i) continue;
      }
      got = SaturatingAdd(got, rec.fields[decl.field].i);
      counted = true;
    }
    if (!counted) return;
    ++revenue_events;
    revenue = SaturatingAdd(revenue, got);
    c.revenue = SaturatingAdd(c.revenue, got);
    // The revenue of a client a rule has credited counts for that rule from then on: the
    // record's own entries came before its outcome, so the record that earned the first
    // credit counts too.
    for (size_t r = 0; r < rules.size(); ++r)
      if ((c.rules[r / 64] >> (r % 64)) & 1) rules[r].revenue = SaturatingAdd(rules[r].revenue, got);
    if (got != 0) Remember(rec, got, c);
  }
};

ValueCollector::ValueCollector(const checked::Program& program) : impl_(std::make_unique<Impl>(program)) {}
ValueCollector::~ValueCollector() = default;

void ValueCollector::Begin(const runtime::ClientList& clients, const std::function<uint32_t(std::string_view)>& number) {
  Impl& m = *impl_;
  for (const auto& c : clients) {
    bool any = false;
    for (size_t s = 0; s < c.layout.segments && s < m.segment_cost.size(); ++s) any |= c.segment(s);
    if (!any) continue;
    Impl::Client& v = m.Get(number(c.id));
    for (size_t s = 0; s < c.layout.segments && s < m.segment_cost.size(); ++s)
      if (c.segment(s)) v.segments[s / 64] |= uint64_t{1} << (s % 64);
  }
}

void ValueCollector::Entry(const runtime::LedgerEntry& entry, uint32_t client) { impl_->Entry(entry, client); }
void ValueCollector::Outcome(const runtime::RecordOutcome& outcome, uint32_t client) { impl_->Outcome(outcome, client); }

void ValueCollector::Finish(const runtime::ClientList& clients, const std::function<int64_t(std::string_view)>& find,
                            ValueFigures* out, std::vector<RuleValue>* rules) {
  Impl& m = *impl_;
  const checked::Program& p = m.program;
  ValueFigures& f = *out;
  f.has_revenue = !p.revenues.empty();
  for (const auto& w : p.wallets) {
    if (w.type != Type::Int) continue;
    (w.worth > 0 ? f.has_worth : f.has_unpriced) = true;
  }
  f.revenue = m.revenue;
  f.revenue_events = m.revenue_events;
  f.revenue_errors = m.revenue_errors;
  f.revenue_reversed = m.revenue_reversed;
  f.cost = m.cost;
  f.segment_cost = m.segment_cost;
  f.by_tier.clear();
  for (const auto& t : p.tiers) f.by_tier.push_back(GroupValue{t.name});
  f.by_segment.clear();
  for (const auto& s : p.segments) f.by_segment.push_back(GroupValue{s.name});
  auto add = [](GroupValue& g, const Impl::Client& c) {
    ++g.clients;
    g.revenue = SaturatingAdd(g.revenue, c.revenue);
    g.cost += c.cost;
  };
  for (const auto& c : clients) {
    const int64_t k = find(c.id);
    if (k < 0 || static_cast<size_t>(k) >= m.clients.size() || !m.clients[k].active) continue;
    const Impl::Client& v = m.clients[k];
    add(v.credited ? f.participants : f.non_participants, v);
    if (c.tier() >= 0 && static_cast<size_t>(c.tier()) < f.by_tier.size()) add(f.by_tier[c.tier()], v);
    bool any = false;
    for (size_t s = 0; s < f.by_segment.size() && s < c.layout.segments; ++s) {
      if (!c.segment(s)) continue;
      add(f.by_segment[s], v);
      any = true;
    }
    if (!f.by_segment.empty() && !any) add(f.no_segment, v);
  }
  *rules = m.rules;
}

}  // namespace perk::report
