// The run collector: one pass over the ledger and rejects into the figures of RunFigures.
#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

#include "report/report.h"
#include "runtime/records.h"
#include "stdlib/zone.h"
#include "stdlib/stdlib.h"

namespace perk::report {

namespace {

// Lets maps keyed by std::string be searched with a string_view, without a copy.
struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using NameMap = std::unordered_map<std::string, V, ViewHash, std::equal_to<>>;

template <typename V>
int Find(const NameMap<V>& m, std::string_view k) {
  auto it = m.find(k);
  return it == m.end() ? -1 : static_cast<int>(it->second);
}

// The most credited within any one budget window, following the engine's calendar buckets.
struct BudgetWindow {
  checked::Window window;
  std::deque<std::pair<int64_t, int64_t>> buckets;  // (key, cents), keys increasing
  int64_t sum = 0;
  int32_t zone = 0;  // the program's (stdlib/zone.h): buckets are local

  // Adds a credit at `time`; returns the money credited in the window ending at `time`.
  int64_t Add(int64_t time, int64_t cents) {
    if (window.unit == checked::WindowUnit::All) return sum += cents;
    int64_t key = runtime::BucketKey(window.unit, time, zone);
    // A `previous` window is at its fullest at the end of its last bucket: the current one here.
    while (!buckets.empty() && buckets.front().first <= key - window.count) {
      sum -= buckets.front().second;
      buckets.pop_front();
    }
    if (!buckets.empty() && buckets.back().first == key) buckets.back().second += cents;
    else buckets.emplace_back(key, cents);
    return sum += cents;
  }

  // [v0.2] A counter-debit gives back what it took to the bucket of the credit it answers
  // (spec §4); a bucket already out of the window gets it back to no effect.
  void GiveBack(int64_t credit_time, int64_t cents) {
    if (window.unit == checked::WindowUnit::All) {
      sum -= cents;
      return;
    }
    const int64_t key = runtime::BucketKey(window.unit, credit_time, zone);
    for (auto& [k, bucket] : buckets)
      if (k == key) {
        bucket -= cents;
        sum -= cents;
        return;
      }
  }
};

// A reversal reaches events at most 720 hours old (spec §4).
constexpr int64_t kReversalReach = int64_t{720} * 3600 * 1000000;

// Reject messages carry values, ids and times; the reason is what is left without them.
std::string ReasonOf(std::string_view message) {
  std::string m(message);
  // "day tick 2026-01-05 for client `c1`: rule `r`: ..." -> "day tick: rule `r`: ..."
  if (m.rfind("day tick ", 0) == 0) {
    auto client = m.find(" for client `");
    auto colon = client == std::string::npos ? std::string::npos : m.find("`: ", client + 13);
    if (colon != std::string::npos) m = "day tick: " + m.substr(colon + 3);
  }
  if (m.rfind("out of order:", 0) == 0) return "out of order: time earlier than the engine clock";
  if (auto p = m.find("invalid JSON ("); p != std::string::npos) m.resize(p + 12);
  if (auto p = m.find(", got "); p != std::string::npos) m.resize(p);
  // Quoted values ("...", with escapes) become "…".
  std::string out;
  out.reserve(m.size());
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i] != '"') {
      out += m[i];
      continue;
    }
    size_t j = i + 1;
    while (j < m.size() && m[j] != '"') j += m[j] == '\\' ? 2 : 1;
    out += "\"…\"";
    i = std::min(j, m.size());
  }
  return out;
}

}  // namespace

struct Collector::Impl {
  struct DayAcc {
    std::vector<int64_t> rule_effects, rule_money, tier_delta, segment_delta;
    int64_t effects = 0, money_credited = 0, points_issued = 0, points_redeemed = 0, skips = 0;
    int64_t clients_with_effects = 0, new_clients = 0, new_participants = 0, tier_ups = 0, tier_downs = 0;
  };
  struct ClientAcc {
    int64_t money_credited = 0, points_issued = 0, points_redeemed = 0, effects = 0;
    int64_t last_effect_day = INT64_MIN;
    bool event_entry = false;  // wrote an entry for one of its own events in this run
  };

  Impl(const checked::Program& p, size_t n) : program(p), top_n(n), value(p) {
    for (size_t r = 0; r < p.rules.size(); ++r) {
      RuleFigures f;
      f.name = p.rules[r].name;
      f.label = p.rules[r].label;
      // The page shows money budgets; an int budget (v0.2) counts points and is not one of them.
      f.has_budget = p.rules[r].has_budget && p.rules[r].budget_type == Type::Money;
      f.budget_cents = p.rules[r].budget_cents;
      f.budget_window = p.rules[r].budget_window;
      rules.push_back(std::move(f));
      budget_windows.push_back(BudgetWindow{p.rules[r].budget_window, {}, 0, p.zone});
    }
    for (size_t w = 0; w < p.wallets.size(); ++w) {
      wallet_index.emplace(p.wallets[w].name, w);
      wallets.push_back(WalletFigures{p.wallets[w].name, p.wallets[w].type});
    }
    for (size_t t = 0; t < p.tiers.size(); ++t) tier_index.emplace(p.tiers[t].name, t);
    for (size_t s = 0; s < p.segments.size(); ++s) segment_index.emplace(p.segments[s].name, s);
    tier_moves.assign(p.tiers.size(), std::vector<int64_t>(p.tiers.size(), 0));
    segment_enters.assign(p.segments.size(), 0);
    segment_leaves.assign(p.segments.size(), 0);
    tiers_at_start.assign(p.tiers.size(), 0);
    segments_at_start.assign(p.segments.size(), 0);
    rule_bytes = (p.rules.size() + 7) / 8;
  }

  const checked::Program& program;
  size_t top_n;
  ValueCollector value;
  NameMap<size_t> wallet_index, tier_index, segment_index;
  std::vector<RuleFigures> rules;
  std::vector<BudgetWindow> budget_windows;
  std::vector<WalletFigures> wallets;
  std::vector<std::vector<int64_t>> tier_moves;
  std::vector<int64_t> segment_enters, segment_leaves, tiers_at_start, segments_at_start;
  size_t clients_at_start = 0;

  std::map<int64_t, DayAcc> days;
  int64_t current_day_key = INT64_MIN;
  DayAcc* current_day = nullptr;

  NameMap<uint32_t> client_index;
  std::vector<ClientAcc> clients;
  std::vector<std::string_view> client_ids;  // keys of client_index, by index
  std::vector<uint8_t> client_rules;         // per client, a bit per rule: had an effect of it
  size_t rule_bytes = 0;

  int64_t last_time = INT64_MIN, last_day = 0;  // the last entry's time and its local date
  int64_t ledger_entries = 0, effects = 0, participants = 0, budget_skips = 0, rejects = 0;
  int64_t money_credited = 0, money_debited = 0, points_issued = 0, points_redeemed = 0;
  std::map<std::string, RejectReason> reasons;
  // [v0.2] The times of budgeted money credits a reversal can still reach, by seq, so that a
  // counter-debit gives budget back in the right bucket; forgotten past the reach.
  std::unordered_map<uint64_t, int64_t> budget_credit_time;
  std::deque<std::pair<int64_t, uint64_t>> budget_credit_order;  // (time, seq), times increasing

  DayAcc& Day(int64_t day) {
    if (day == current_day_key) return *current_day;
    auto [it, fresh] = days.try_emplace(day);
    if (fresh) {
      DayAcc& d = it->second;
      d.rule_effects.assign(rules.size(), 0);
      d.rule_money.assign(rules.size(), 0);
      d.tier_delta.assign(program.tiers.size(), 0);
      d.segment_delta.assign(program.segments.size(), 0);
    }
    current_day_key = day;
    current_day = &it->second;
    return it->second;
  }

  uint32_t Client(std::string_view id) {
    auto it = client_index.find(id);
    if (it != client_index.end()) return it->second;
    uint32_t index = static_cast<uint32_t>(clients.size());
    auto inserted = client_index.emplace(std::string(id), index).first;
    client_ids.push_back(inserted->first);
    clients.emplace_back();
    client_rules.resize(client_rules.size() + rule_bytes, 0);
    return index;
  }

  // Entries come from an engine running `program`: every name in them is the program's.
  void Entry(const runtime::LedgerEntry& e) {
    const int64_t now = e.time;
    if (now != last_time) {
      last_time = now;
      last_day = perk_tz_date(program.zone, now);
    }
    const int64_t day_key = last_day;
    ++ledger_entries;
    const bool from_event = !e.day_tick;
    if (e.action == Action::Tier) {
      const int from = Find(tier_index, e.from), to = Find(tier_index, e.to);
      DayAcc& d = Day(day_key);
      ++tier_moves[from][to];
      --d.tier_delta[from];
      ++d.tier_delta[to];
      (to > from ? d.tier_ups : d.tier_downs) += 1;
      if (from_event) clients[Client(e.client)].event_entry = true;
      return;
    }
    if (e.action == Action::Segment) {
      const int s = Find(segment_index, e.target);
      DayAcc& d = Day(day_key);
      (e.member ? segment_enters : segment_leaves)[s] += 1;
      d.segment_delta[s] += e.member ? 1 : -1;
      if (from_event) clients[Client(e.client)].event_entry = true;
      return;
    }
    const int r = e.rule;
    RuleFigures& rule = rules[r];
    int w = -1;
    int64_t amount = 0;
    if (e.action == Action::Credit || e.action == Action::Debit || e.action == Action::Skip) {
      w = Find(wallet_index, e.target);
      amount = e.amount;
    }
    DayAcc& d = Day(day_key);
    rule.by_action[static_cast<int>(e.action)] += 1;
    if (e.action == Action::Skip) {
      ++d.skips;
      ++budget_skips;
      if (wallets[w].type == Type::Money) rule.skipped_cents += amount;
      return;
    }
    ++rule.effects;
    ++effects;
    ++d.effects;
    ++d.rule_effects[r];
    uint32_t ci = Client(e.client);
    ClientAcc& c = clients[ci];
    c.event_entry |= from_event;
    ++c.effects;
    // [v0.2] A reversal's counter-entry is an effect and a flow, but it makes no participant and
    // no client of its rule: it only undoes what made them.
    const bool counter = e.reverses != 0;
    if (!counter && c.last_effect_day != day_key) {
      if (c.last_effect_day == INT64_MIN) {
        ++participants;
        ++d.new_participants;
      }
      c.last_effect_day = day_key;
      ++d.clients_with_effects;
    }
    uint8_t& bits = client_rules[ci * rule_bytes + r / 8];
    if (!counter && !(bits & (1u << (r % 8)))) {
      bits |= static_cast<uint8_t>(1u << (r % 8));
      ++rule.clients;
    }
    if (w < 0) return;
    WalletFigures& wallet = wallets[w];
    bool money = wallet.type == Type::Money;
    if (e.action == Action::Credit) {
      wallet.credited += amount;
      ++wallet.credits;
      if (money) {
        rule.money_credited += amount;
        money_credited += amount;
        d.money_credited += amount;
        d.rule_money[r] += amount;
        c.money_credited += amount;
        // A counter-credit (of a debit) uses no budget.
        if (rule.has_budget && !counter) {
          while (!budget_credit_order.empty() && budget_credit_order.front().first < now - kReversalReach) {
            budget_credit_time.erase(budget_credit_order.front().second);
            budget_credit_order.pop_front();
          }
          budget_credit_time.emplace(e.seq, now);
          budget_credit_order.emplace_back(now, e.seq);
          int64_t used = budget_windows[r].Add(now, amount);
          if (used > rule.budget_peak) {
            rule.budget_peak = used;
            rule.budget_peak_time = now;
          }
        }
      } else {
        rule.points_issued += amount;
        points_issued += amount;
        d.points_issued += amount;
        c.points_issued += amount;
      }
    } else {
      wallet.debited += amount;
      ++wallet.debits;
      if (money) {
        rule.money_debited += amount;
        money_debited += amount;
        if (counter && rule.has_budget) {
          auto it = budget_credit_time.find(e.reverses);
          if (it != budget_credit_time.end()) {
            budget_windows[r].GiveBack(it->second, amount);
            budget_credit_time.erase(it);
          }
        }
      } else {
        rule.points_redeemed += amount;
        points_redeemed += amount;
        d.points_redeemed += amount;
        c.points_redeemed += amount;
      }
    }
  }

  void Reject(uint64_t line, std::string_view error) {
    ++rejects;
    std::string reason = ReasonOf(error);
    auto [it, fresh] = reasons.try_emplace(reason);
    if (fresh) {
      it->second.reason = reason;
      it->second.first_line = line;
      it->second.example.assign(error);
    }
    ++it->second.count;
  }
};

Collector::Collector(const checked::Program& program, size_t top_clients)
    : impl_(std::make_unique<Impl>(program, top_clients)) {}
Collector::~Collector() = default;

void Collector::Begin(const runtime::ClientList& clients) {
  Impl& m = *impl_;
  m.clients_at_start = clients.size();
  m.value.Begin(clients, [&](std::string_view id) { return m.Client(id); });
  for (const auto& c : clients) {
    if (c.tier() >= 0 && static_cast<size_t>(c.tier()) < m.tiers_at_start.size()) ++m.tiers_at_start[c.tier()];
    for (size_t s = 0; s < c.layout.segments && s < m.segments_at_start.size(); ++s) m.segments_at_start[s] += c.segment(s) ? 1 : 0;
  }
}

void Collector::Entry(const runtime::LedgerEntry& entry) {
  impl_->Entry(entry);
  // Only movements and segment changes matter to the value figures: number the client for those.
  using A = runtime::LedgerAction;
  if (entry.action == A::Credit || entry.action == A::Debit || entry.action == A::Segment)
    impl_->value.Entry(entry, impl_->Client(entry.client));
}

void Collector::Outcome(const runtime::RecordOutcome& o) {
  if (o.record != nullptr &&
      (o.record->kind == runtime::RecordKind::Event || o.record->kind == runtime::RecordKind::Reversal))
    impl_->value.Outcome(o, impl_->Client(o.client));
  if (o.status == runtime::RecordStatus::Rejected || o.status == runtime::RecordStatus::TickFailed) impl_->Reject(o.line, o.message);
}

RunFigures Collector::Finish(const runtime::ClientList& clients, const runtime::RunStats& stats) {
  Impl& m = *impl_;
  RunFigures f;
  f.program_name = m.program.name;
  f.currency = m.program.currency;
  for (const auto& t : m.program.tiers) f.tiers.push_back(t.name);
  for (const auto& s : m.program.segments) f.segments.push_back(s.name);
  f.stats = stats;

  // Clients first seen in this run, by the day of their first record.
  int64_t new_clients = 0;
  for (size_t k = m.clients_at_start; k < clients.size(); ++k) {
    ++m.Day(perk_tz_date(m.program.zone, clients[k].since())).new_clients;
    ++new_clients;
  }
  int64_t pre_active = 0;
  for (size_t k = 0; k < m.clients_at_start && k < clients.size(); ++k) {
    auto it = m.client_index.find(clients[k].id);
    if (it != m.client_index.end() && m.clients[it->second].event_entry) ++pre_active;
  }

  // Days with something in them, with states carried forward over the days between.
  int64_t known = static_cast<int64_t>(m.clients_at_start), participants = 0;
  std::vector<int64_t> tiers = m.tiers_at_start, segments = m.segments_at_start;
  for (const auto& [day, a] : m.days) {
    DayFigures d;
    d.day = day;
    d.rule_effects = a.rule_effects;
    d.rule_money = a.rule_money;
    d.effects = a.effects;
    d.money_credited = a.money_credited;
    d.points_issued = a.points_issued;
    d.points_redeemed = a.points_redeemed;
    d.skips = a.skips;
    d.clients_with_effects = a.clients_with_effects;
    d.new_clients = a.new_clients;
    d.new_participants = a.new_participants;
    d.tier_ups = a.tier_ups;
    d.tier_downs = a.tier_downs;
    known += a.new_clients;
    participants += a.new_participants;
    if (!tiers.empty()) tiers[0] += a.new_clients;
    for (size_t t = 0; t < tiers.size(); ++t) tiers[t] += a.tier_delta[t];
    for (size_t s = 0; s < segments.size(); ++s) segments[s] += a.segment_delta[s];
    d.known_clients = known;
    d.participants = participants;
    d.tier_counts = tiers;
    d.segment_sizes = segments;
    f.days.push_back(std::move(d));
  }

  f.rules = m.rules;
  std::vector<RuleValue> rule_values;
  m.value.Finish(
      clients, [&](std::string_view id) -> int64_t { return Find(m.client_index, id); }, &f.value, &rule_values);
  for (size_t r = 0; r < f.rules.size() && r < rule_values.size(); ++r) f.rules[r].value = rule_values[r];
  f.wallets = m.wallets;
  f.tier_moves = m.tier_moves;
  f.segment_enters = m.segment_enters;
  f.segment_leaves = m.segment_leaves;
  f.tiers_at_start = m.tiers_at_start;
  f.ledger_entries = m.ledger_entries;
  f.effects = m.effects;
  f.known_clients = static_cast<int64_t>(clients.size());
  f.active_clients = new_clients + pre_active;
  f.participants = m.participants;
  f.money_credited = m.money_credited;
  f.money_debited = m.money_debited;
  f.points_issued = m.points_issued;
  f.points_redeemed = m.points_redeemed;
  f.budget_skips = m.budget_skips;
  f.rejects = m.rejects;

  // Top clients by value: money credited, then points issued, then id for a stable order.
  std::vector<uint32_t> order;
  for (uint32_t k = 0; k < m.clients.size(); ++k)
    if (m.clients[k].effects > 0) order.push_back(k);
  auto better = [&](uint32_t a, uint32_t b) {
    const auto &x = m.clients[a], &y = m.clients[b];
    if (x.money_credited != y.money_credited) return x.money_credited > y.money_credited;
    if (x.points_issued != y.points_issued) return x.points_issued > y.points_issued;
    return m.client_ids[a] < m.client_ids[b];
  };
  size_t n = std::min(m.top_n, order.size());
  std::partial_sort(order.begin(), order.begin() + n, order.end(), better);
  order.resize(n);
  NameMap<size_t> wanted;
  for (size_t k = 0; k < n; ++k) {
    const auto& c = m.clients[order[k]];
    f.top_clients.push_back(ClientFigures{std::string(m.client_ids[order[k]]), c.money_credited, c.points_issued,
                                          c.points_redeemed, c.effects, ""});
    wanted.emplace(f.top_clients.back().id, k);
  }
  for (const auto& c : clients) {
    int k = Find(wanted, c.id);
    if (k >= 0 && c.tier() >= 0 && static_cast<size_t>(c.tier()) < f.tiers.size()) f.top_clients[k].tier = f.tiers[c.tier()];
  }

  for (auto& [_, r] : m.reasons) f.reject_reasons.push_back(r);
  std::stable_sort(f.reject_reasons.begin(), f.reject_reasons.end(),
                   [](const RejectReason& a, const RejectReason& b) { return a.count > b.count; });
  return f;
}

}  // namespace perk::report
