// Matching two versions' ledgers on the same input: effects gained, lost and changed, and the
// clients whose tier differs at the end.
#include <algorithm>
#include <unordered_map>

#include "report/ledger_line.h"
#include "report/report.h"
#include "stdlib/stdlib.h"

namespace perk::report {

namespace {

constexpr int64_t kEventTrigger = INT64_MIN;

// One effect waiting for its counterpart in the other version.
struct Item {
  std::string value;
  int rule = 0;        // index into DiffFigures::rules
  int64_t day = kEventTrigger;  // for day-tick entries, the tick's day
  std::string line;
};

}  // namespace

struct EffectDiff::Impl {
  Impl(const checked::Program& o, const checked::Program& n, size_t e) : old_program(o), new_program(n), examples(e) {
    for (const auto& r : o.rules) RuleIndex(r.name);
    for (const auto& r : n.rules) RuleIndex(r.name);
    RuleIndex("");
  }

  const checked::Program& old_program;
  const checked::Program& new_program;
  size_t examples;
  LineParser parser;
  DiffFigures figures;
  std::unordered_map<std::string, int> rule_index;
  std::unordered_multimap<std::string, Item> pending_old, pending_new;
  std::unordered_map<std::string, int> occurrences;  // per chunk: how often a key was seen

  int RuleIndex(const std::string& name) {
    auto [it, fresh] = rule_index.try_emplace(name, static_cast<int>(figures.rules.size()));
    if (fresh) figures.rules.push_back(RuleDiff{name});
    return it->second;
  }

  // Reads a chunk into (key, item) pairs. The key says which effect it is; the value what it did.
  std::vector<std::pair<std::string, Item>> Read(std::string_view chunk) {
    std::vector<std::pair<std::string, Item>> items;
    // clear() costs the bucket count, which a day tick's chunk can leave in the hundred
    // thousands; a fresh map keeps every later line cheap.
    if (occurrences.bucket_count() > 1024) occurrences = {};
    else occurrences.clear();
    parser.Load(chunk);
    std::string_view line;
    LedgerLine e;
    while (parser.Next(&line)) {
      if (!parser.ReadLedger(line, &e)) continue;
      std::string key;
      key.reserve(line.size());
      for (std::string_view part : {e.trigger, e.client, e.rule, std::string_view(ActionName(e.action)), e.target}) {
        key += part;
        key += '\x1f';
      }
      key += std::to_string(occurrences[key]++);
      Item item;
      switch (e.action) {
        case Action::Credit:
        case Action::Debit: item.value = std::string(e.amount); break;
        case Action::Skip: item.value = std::string(e.reason) + " " + std::string(e.amount); break;
        case Action::Tier: item.value = std::string(e.from) + " > " + std::string(e.to); break;
        case Action::Segment: item.value = e.member ? "true" : "false"; break;
        default: item.value = std::string(e.value); break;
      }
      item.rule = RuleIndex(std::string(e.rule));
      if (e.trigger.rfind("day:", 0) == 0) {
        std::string error;
        auto d = stdlib::ParseDate(e.trigger.substr(4), &error);
        item.day = d ? *d : 0;
      }
      // The line is kept only while some list of examples still has room.
      if (WantExamples()) item.line = std::string(line);
      items.emplace_back(std::move(key), std::move(item));
    }
    return items;
  }

  bool WantExamples() const {
    return figures.gained_examples.size() < examples || figures.lost_examples.size() < examples ||
           figures.changed_examples.size() < examples;
  }

  void Match(const Item& old_item, const Item& new_item) {
    if (old_item.value == new_item.value) {
      ++figures.same;
      return;
    }
    ++figures.changed;
    ++figures.rules[new_item.rule].changed;
    if (figures.changed_examples.size() < examples) figures.changed_examples.emplace_back(old_item.line, new_item.line);
  }

  // Pairs each item with one waiting on the other side, or leaves it waiting.
  void Pair(std::vector<std::pair<std::string, Item>>& items, size_t from, bool is_old) {
    auto& mine = is_old ? pending_old : pending_new;
    auto& theirs = is_old ? pending_new : pending_old;
    for (size_t k = from; k < items.size(); ++k) {
      auto& [key, item] = items[k];
      auto it = theirs.find(key);
      if (it == theirs.end()) {
        mine.emplace(std::move(key), std::move(item));
        continue;
      }
      if (is_old) Match(item, it->second);
      else Match(it->second, item);
      theirs.erase(it);
    }
  }

  // Items whose counterpart can no longer come: lost (old) or gained (new).
  void Settle(int64_t settled_day, bool all) {
    for (bool is_old : {true, false}) {
      auto& pending = is_old ? pending_old : pending_new;
      for (auto it = pending.begin(); it != pending.end();) {
        const Item& item = it->second;
        if (!all && item.day != kEventTrigger && item.day > settled_day) {
          ++it;
          continue;
        }
        if (is_old) {
          ++figures.lost;
          ++figures.rules[item.rule].lost;
          if (figures.lost_examples.size() < examples) figures.lost_examples.push_back(item.line);
        } else {
          ++figures.gained;
          ++figures.rules[item.rule].gained;
          if (figures.gained_examples.size() < examples) figures.gained_examples.push_back(item.line);
        }
        it = pending.erase(it);
      }
    }
  }
};

EffectDiff::EffectDiff(const checked::Program& old_program, const checked::Program& new_program, size_t examples)
    : impl_(std::make_unique<Impl>(old_program, new_program, examples)) {}
EffectDiff::~EffectDiff() = default;

void EffectDiff::AddLine(std::string_view old_lines, std::string_view new_lines, int64_t old_clock_day,
                         int64_t new_clock_day) {
  Impl& m = *impl_;
  if (old_lines.empty() && new_lines.empty() && m.pending_old.empty() && m.pending_new.empty()) return;
  auto old_items = m.Read(old_lines);
  auto new_items = m.Read(new_lines);
  // Mostly both versions write the same effects in the same order: pair those in step, and
  // leave only the rest to the maps.
  size_t k = 0;
  if (m.pending_old.empty() && m.pending_new.empty()) {
    while (k < old_items.size() && k < new_items.size() && old_items[k].first == new_items[k].first) {
      m.Match(old_items[k].second, new_items[k].second);
      ++k;
    }
  }
  m.Pair(old_items, k, true);
  m.Pair(new_items, k, false);
  if (!m.pending_old.empty() || !m.pending_new.empty()) m.Settle(std::min(old_clock_day, new_clock_day), false);
}

DiffFigures EffectDiff::Finish(const runtime::ClientList& old_clients,
                               const runtime::ClientList& new_clients) {
  Impl& m = *impl_;
  m.Settle(0, true);
  DiffFigures& f = m.figures;

  auto tier_name = [](const checked::Program& p, int64_t t) -> std::string {
    return t >= 0 && static_cast<size_t>(t) < p.tiers.size() ? p.tiers[t].name : std::string();
  };
  for (const auto& t : m.old_program.tiers) f.tier_names.push_back(t.name);
  for (const auto& t : m.new_program.tiers)
    if (std::find(f.tier_names.begin(), f.tier_names.end(), t.name) == f.tier_names.end()) f.tier_names.push_back(t.name);
  f.tier_matrix.assign(f.tier_names.size(), std::vector<int64_t>(f.tier_names.size(), 0));
  auto name_index = [&](const std::string& name) {
    return static_cast<size_t>(std::find(f.tier_names.begin(), f.tier_names.end(), name) - f.tier_names.begin());
  };

  std::unordered_map<std::string_view, const runtime::ClientState*> by_id;
  by_id.reserve(new_clients.size());
  for (const auto& c : new_clients) by_id.emplace(c.id, &c);
  for (const auto& c : old_clients) {
    auto it = by_id.find(c.id);
    if (it == by_id.end()) {
      ++f.only_old_clients;
      continue;
    }
    ++f.clients_compared;
    std::string o = tier_name(m.old_program, c.tier()), n = tier_name(m.new_program, it->second->tier());
    size_t oi = name_index(o), ni = name_index(n);
    if (oi < f.tier_names.size() && ni < f.tier_names.size()) ++f.tier_matrix[oi][ni];
    if (o != n) {
      ++f.tier_differs;
      if (it->second->tier() > c.tier()) ++f.tier_higher;
      if (f.tier_examples.size() < m.examples) f.tier_examples.push_back(TierChange{c.id, o, n});
    }
    by_id.erase(it);
  }
  f.only_new_clients = static_cast<int64_t>(by_id.size());
  return std::move(f);
}

}  // namespace perk::report
