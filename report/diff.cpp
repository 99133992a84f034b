// Matching two versions' ledgers on the same input: effects gained, lost and changed, and the
// clients whose tier differs at the end.
#include <algorithm>
#include <unordered_map>

#include "report/report.h"
#include "runtime/jsonl_sink.h"
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
  Impl(const checked::Program& o, const checked::Program& n, size_t e)
      : old_program(o), new_program(n), examples(e), old_side(this, o), new_side(this, n) {
    for (const auto& r : o.rules) RuleIndex(r.name);
    for (const auto& r : n.rules) RuleIndex(r.name);
    RuleIndex("");
  }

  // One version's entries of the line in progress, as (key, item) pairs: the key says which
  // effect it is, the item what it did.
  struct Side final : runtime::Sink {
    Side(Impl* m, const checked::Program& p) : impl(m), program(p), writer(p) {}
    Impl* impl;
    const checked::Program& program;
    runtime::JsonlSink writer;  // the entry's ledger line, for examples
    std::vector<std::pair<std::string, Item>> items;
    std::unordered_map<std::string, int> occurrences;  // per line: how often a key was seen

    void Entry(const runtime::LedgerEntry& e) override {
      const std::string trigger = e.day_tick ? "day:" + stdlib::FormatDate(e.day) : std::string(e.event_id);
      std::string key;
      for (std::string_view part : {std::string_view(trigger), e.client, e.rule_name,
                                    std::string_view(runtime::LedgerActionName(e.action)), e.target}) {
        key += part;
        key += '\x1f';
      }
      key += std::to_string(occurrences[key]++);
      Item item;
      auto amount = [&](std::string* out) { runtime::AppendValueJson(*out, program, e.amount_type, Value::Int(e.amount)); };
      switch (e.action) {
        case Action::Credit:
        case Action::Debit:
        case Action::Release:
        case Action::Expire: amount(&item.value); break;
        case Action::Skip:
          item.value = std::string(e.reason) + " ";
          amount(&item.value);
          break;
        case Action::Tier: item.value = std::string(e.from) + " > " + std::string(e.to); break;
        case Action::Segment: item.value = e.member ? "true" : "false"; break;
        case Action::Set: runtime::AppendValueJson(item.value, program, e.values[0].type, *e.values[0].value); break;
        case Action::Notify:
        case Action::Emit:
          item.value = "{";
          for (const runtime::LedgerValue& v : e.values) {
            if (item.value.size() > 1) item.value += ',';
            stdlib::AppendJsonQuoted(item.value, v.key);
            item.value += ':';
            runtime::AppendValueJson(item.value, program, v.type, *v.value);
          }
          item.value += '}';
          break;
        case Action::Grant: break;
        case Action::Send: item.value = std::string(e.send_to); break;
      }
      item.rule = impl->RuleIndex(std::string(e.rule_name));
      if (e.day_tick) item.day = e.day;
      // The line is kept only while some list of examples still has room.
      if (impl->WantExamples()) {
        writer.ledger().clear();
        writer.Entry(e);
        item.line.assign(writer.ledger(), 0, writer.ledger().size() - 1);
      }
      items.emplace_back(std::move(key), std::move(item));
    }
    void Outcome(const runtime::RecordOutcome&) override {}
    void EndLine() {
      items.clear();
      // clear() costs the bucket count, which a day tick's line can leave in the hundred
      // thousands; a fresh map keeps every later line cheap.
      if (occurrences.bucket_count() > 1024) occurrences = {};
      else occurrences.clear();
    }
  };

  const checked::Program& old_program;
  const checked::Program& new_program;
  size_t examples;
  DiffFigures figures;
  std::unordered_map<std::string, int> rule_index;
  std::unordered_multimap<std::string, Item> pending_old, pending_new;
  Side old_side, new_side;

  int RuleIndex(const std::string& name) {
    auto [it, fresh] = rule_index.try_emplace(name, static_cast<int>(figures.rules.size()));
    if (fresh) figures.rules.push_back(RuleDiff{name});
    return it->second;
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

runtime::Sink& EffectDiff::old_sink() { return impl_->old_side; }
runtime::Sink& EffectDiff::new_sink() { return impl_->new_side; }

void EffectDiff::EndLine(int64_t old_clock_day, int64_t new_clock_day) {
  Impl& m = *impl_;
  auto& old_items = m.old_side.items;
  auto& new_items = m.new_side.items;
  if (old_items.empty() && new_items.empty() && m.pending_old.empty() && m.pending_new.empty()) return;
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
  m.old_side.EndLine();
  m.new_side.EndLine();
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
