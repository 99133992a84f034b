// [C10] The encodings of what reversals remember (runtime/snapshot.h): the durable store
// writes one row per commit and the memory's frame, so that a reversal after a restart reverses
// what one uninterrupted run would have.
#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "runtime/snapshot.h"

namespace perk::runtime {

namespace {

constexpr uint64_t kRowVersion = 1;
constexpr uint64_t kFrameVersion = 1;

constexpr uint64_t kReversed = 1, kSent = 2, kHasSender = 4, kHasRecord = 8;  // event flags

void PutValue(ByteWriter& w, const Value& v) {
  w.I(v.i);
  w.Bytes(v.s);
}
bool GetValue(ByteReader& r, Value* v) { return r.I(&v->i) && r.Bytes(&v->s); }

// kNoBucket is common and would take ten bytes as a zigzag varint.
void PutBucketKey(ByteWriter& w, int64_t key) {
  w.U(key == kNoBucket ? 0 : 1);
  if (key != kNoBucket) w.I(key);
}
bool GetBucketKey(ByteReader& r, int64_t* key) {
  uint64_t has;
  if (!r.U(&has) || has > 1) return false;
  if (!has) {
    *key = kNoBucket;
    return true;
  }
  return r.I(key);
}

void PutBits(ByteWriter& w, const std::vector<bool>& bits) {
  w.U(bits.size());
  for (bool b : bits) w.U(b ? 1 : 0);
}
bool GetBits(ByteReader& r, std::vector<bool>* bits) {
  uint64_t n;
  if (!r.Count(&n)) return false;
  bits->assign(n, false);
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t b;
    if (!r.U(&b) || b > 1) return false;
    (*bits)[k] = b != 0;
  }
  return true;
}

}  // namespace

void EncodeRememberedRow(const ReversalMemory& m, uint64_t from, const std::vector<uint64_t>& reversed,
                         std::string* out) {
  ByteWriter w(out);
  from = std::max(from, m.begin());
  const uint64_t end = std::max(from, m.end());
  w.U(kRowVersion);
  w.U(from);
  w.U(end - from);
  for (uint64_t index = from; index < end; ++index) {
    const RememberedEvent& e = *m.At(index);
    const uint64_t sender = m.SenderOf(index), chain_end = m.ChainEndOf(index);
    const Record* record = m.RecordOf(index);
    const bool has_sender = sender != ReversalMemory::kNone && sender < index;
    w.Bytes(e.id.view());
    w.U((e.reversed ? kReversed : 0) | (e.sent ? kSent : 0) | (has_sender ? kHasSender : 0) |
        (record ? kHasRecord : 0));
    w.U(e.client);
    w.U(static_cast<uint64_t>(e.event_index));
    w.I(e.time);
    if (has_sender) w.U(index - sender);
    w.U(chain_end > index ? chain_end - index : 0);
    w.U(e.aggs_count);
    for (uint32_t k = 0; k < e.aggs_count; ++k) {
      const AggContribution& a = m.AggAt(e, k);
      w.U(static_cast<uint64_t>(a.slot));
      w.I(a.key);
      w.I(a.value);
    }
    w.U(e.effects_count);
    for (uint32_t k = 0; k < e.effects_count; ++k) {
      const FiringEffect& f = m.EffectAt(e, k);
      w.U(f.kind);
      w.U(static_cast<uint64_t>(f.rule));
      w.U(static_cast<uint64_t>(f.wallet));
      w.U(f.key_index);
      w.U(f.seq);
      w.I(f.amount);
      w.I(f.bucket);
      PutBucketKey(w, f.budget_bucket);
      PutBucketKey(w, f.client_budget_bucket);
    }
    const uint32_t keys = m.KeyCount(e);
    w.U(keys);
    for (uint32_t k = 0; k < keys; ++k) PutValue(w, m.KeyAt(e, k));
    if (record) {
      w.Bytes(record->client);
      w.U(record->fields.size());
      for (const Value& v : record->fields) PutValue(w, v);
      PutBits(w, record->present);
      PutBits(w, record->nulled);
    }
  }
  w.U(reversed.size());
  for (uint64_t index : reversed) w.U(index);
}

bool DecodeRememberedRow(std::string_view in, ReversalMemory* m, std::vector<uint64_t>* reversed) {
  ByteReader r(in);
  uint64_t version, from, count;
  if (!r.U(&version) || version != kRowVersion || !r.U(&from) || !r.Count(&count)) return false;
  for (uint64_t index = from; index < from + count; ++index) {
    RememberedEvent e;
    std::string id;
    uint64_t flags, client, event_index, sender_delta = 0, chain_delta, n;
    if (!r.Bytes(&id) || !r.U(&flags) || flags > 15 || !r.U(&client) || client > UINT32_MAX ||
        !r.U(&event_index) || event_index > INT32_MAX || !r.I(&e.time))
      return false;
    if ((flags & kHasSender) && (!r.U(&sender_delta) || sender_delta == 0 || sender_delta > index ||
                                 sender_delta > UINT32_MAX))
      return false;
    if (!r.U(&chain_delta) || chain_delta > UINT32_MAX) return false;
    e.id = id;
    e.client = static_cast<uint32_t>(client);
    e.event_index = static_cast<int32_t>(event_index);
    e.reversed = flags & kReversed;
    e.sent = flags & kSent;
    const uint64_t sender = (flags & kHasSender) ? index - sender_delta : ReversalMemory::kNone;
    e.chain_ahead = static_cast<uint32_t>(chain_delta);
    std::unique_ptr<Record> record;
    // Events the frame says are past the horizon are read and skipped.
    const bool keep = index >= m->begin();
    if (keep && index != m->end()) return false;  // a gap: rows are missing
    if (keep) m->BeginCapture();
    if (!r.Count(&n)) return false;
    for (uint64_t k = 0; k < n; ++k) {
      AggContribution a;
      uint64_t slot;
      if (!r.U(&slot) || slot > INT32_MAX || !r.I(&a.key) || !r.I(&a.value)) return false;
      a.slot = static_cast<int32_t>(slot);
      if (keep) m->Capture(a);
    }
    if (!r.Count(&n)) return false;
    for (uint64_t k = 0; k < n; ++k) {
      FiringEffect f;
      uint64_t kind, rule, wallet, key_index;
      if (!r.U(&kind) || kind > FiringEffect::PendingCredit || !r.U(&rule) || rule > INT32_MAX || !r.U(&wallet) ||
          wallet > INT32_MAX || !r.U(&key_index) || key_index > UINT32_MAX || !r.U(&f.seq) || !r.I(&f.amount) ||
          !r.I(&f.bucket) || !GetBucketKey(r, &f.budget_bucket) || !GetBucketKey(r, &f.client_budget_bucket))
        return false;
      f.kind = static_cast<FiringEffect::Kind>(kind);
      f.rule = static_cast<int32_t>(rule);
      f.wallet = static_cast<int32_t>(wallet);
      f.key_index = static_cast<uint32_t>(key_index);
      if (keep) m->Capture(f);
    }
    if (!r.Count(&n)) return false;
    for (uint64_t k = 0; k < n; ++k) {
      Value v;
      if (!GetValue(r, &v)) return false;
      if (keep) m->CaptureKey(v);
    }
    if (flags & kHasRecord) {
      auto rec = std::make_unique<Record>();
      rec->kind = RecordKind::Event;
      rec->event_index = e.event_index;
      rec->id = id;
      rec->time = e.time;
      if (!r.Bytes(&rec->client) || !r.Count(&n)) return false;
      rec->fields.resize(n);
      for (Value& v : rec->fields)
        if (!GetValue(r, &v)) return false;
      if (!GetBits(r, &rec->present) || !GetBits(r, &rec->nulled)) return false;
      record = std::move(rec);
    }
    if (keep) m->Add(std::move(e), sender, std::move(record));
  }
  uint64_t n;
  if (!r.Count(&n)) return false;
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t index;
    if (!r.U(&index)) return false;
    reversed->push_back(index);
  }
  return r.done();
}

void EncodeReversalFrame(const ReversalMemory& m, const std::vector<std::string>& events, std::string* out) {
  ByteWriter w(out);
  w.U(kFrameVersion);
  w.U(m.begin());
  w.U(m.end());
  w.U(m.aged().size());
  for (const auto& [where, b] : m.aged()) {
    w.U(std::get<0>(where));
    w.U(static_cast<uint64_t>(std::get<1>(where)));
    w.I(std::get<2>(where));
    w.I(b.count);
    w.I(b.sum);
    w.I(b.min);
    w.I(b.max);
  }
  w.U(events.size());
  for (const std::string& e : events) w.Bytes(e);
}

bool DecodeReversalFrame(std::string_view in, ReversalMemory* m, uint64_t* end, std::vector<std::string>* events) {
  ByteReader r(in);
  uint64_t version, begin, n;
  if (!r.U(&version) || version != kFrameVersion || !r.U(&begin) || !r.U(end) || *end < begin || !r.Count(&n))
    return false;
  m->RestartAt(begin);
  auto& aged = m->mutable_aged();
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t client, slot;
    Bucket b;
    if (!r.U(&client) || client > UINT32_MAX || !r.U(&slot) || slot > INT32_MAX || !r.I(&b.key) || !r.I(&b.count) ||
        !r.I(&b.sum) || !r.I(&b.min) || !r.I(&b.max))
      return false;
    aged[{static_cast<uint32_t>(client), static_cast<int32_t>(slot), b.key}] = b;
  }
  if (!r.Count(&n)) return false;
  events->resize(n);
  for (std::string& e : *events)
    if (!r.Bytes(&e)) return false;
  return r.done();
}

std::vector<std::string> EventSignatures(const checked::Program& program) {
  std::vector<std::string> out;
  for (const checked::Event& e : program.events) {
    std::string sig = e.name;
    for (const checked::Field& f : e.fields)
      sig += " " + f.name + ":" + (f.type == Type::Money ? "money(" + program.currency + ")" : TypeName(f.type));
    out.push_back(std::move(sig));
  }
  return out;
}

std::string ReversalsLostNote(size_t lost) {
  return fmt::format("reversals: {} events accepted before the upgrade can no longer be reversed (their type, or a "
                     "rule, wallet or limit their firings used, changed or is gone)",
                     lost);
}

ReversalMemory CopyReversalMemory(const ReversalMemory& m) {
  std::vector<uint64_t> reversed;
  for (uint64_t k = m.begin(); k < m.end(); ++k)
    if (m.At(k)->reversed) reversed.push_back(k);
  std::string frame, row;
  EncodeReversalFrame(m, {}, &frame);
  EncodeRememberedRow(m, m.begin(), reversed, &row);
  ReversalMemory copy;
  uint64_t end = 0;
  std::vector<std::string> events;
  std::vector<uint64_t> marks;
  // The encoding is the store's; both sides are this process's, so it always decodes.
  bool ok = DecodeReversalFrame(frame, &copy, &end, &events) && DecodeRememberedRow(row, &copy, &marks) &&
            copy.end() == end;
  if (!ok) throw std::logic_error("CopyReversalMemory: the reversal memory did not decode");
  for (uint64_t index : marks) copy.MarkReversed(index);
  copy.LogReversed(false);
  return copy;
}

size_t MigrateReversals(ReversalMemory* m, const std::vector<std::string>& old_events, const StateSchema& old_schema,
                        const UpgradePlan& plan, const checked::Program& program) {
  // Old index -> new index, -1 when it does not map.
  auto invert = [](const std::vector<int>& now_to_old, size_t old_size) {
    std::vector<int> map(old_size, -1);
    for (size_t k = 0; k < now_to_old.size(); ++k)
      if (now_to_old[k] >= 0 && static_cast<size_t>(now_to_old[k]) < old_size) map[now_to_old[k]] = static_cast<int>(k);
    return map;
  };
  const std::vector<int> slots = invert(plan.aggs, old_schema.aggs.size());
  const std::vector<int> wallets = invert(plan.wallets, old_schema.wallets.size());
  const std::vector<int> limit_rules = invert(plan.rules, old_schema.rules.size());
  // Credits and debits follow their rule by name, or to the rule `renamed from` it.
  const std::vector<int> rules = invert(plan.rule_names, old_schema.rules.size());
  std::vector<int> events(old_events.size(), -1);
  const std::vector<std::string> now_events = EventSignatures(program);
  for (size_t j = 0; j < events.size(); ++j)
    for (size_t k = 0; k < now_events.size(); ++k)
      if (now_events[k] == old_events[j]) events[j] = static_cast<int>(k);
  auto at = [](const std::vector<int>& map, int64_t old) {
    return old >= 0 && static_cast<size_t>(old) < map.size() ? map[old] : -1;
  };

  // Which events stay reversible. A reversal answers an event and everything it sent, all or
  // nothing: a sender whose chain holds an event that does not map does not map either
  // (senders come first, so walking back reaches a chain's senders after its events).
  const uint64_t begin = m->begin();
  std::vector<uint8_t> keeps(m->end() - begin, 0);
  for (uint64_t index = begin; index < m->end(); ++index) {
    const RememberedEvent& e = *m->At(index);
    const int type = at(events, e.event_index);
    bool keep = type >= 0 && !e.reversed;
    for (uint32_t k = 0; keep && k < e.effects_count; ++k) {
      const FiringEffect& f = m->EffectAt(e, k);
      const bool limit = f.kind == FiringEffect::Limit || f.kind == FiringEffect::KeyedLimit;
      keep = limit ? at(limit_rules, f.rule) >= 0 : at(rules, f.rule) >= 0 && at(wallets, f.wallet) >= 0;
    }
    // `on EVENT reversed` rules read the event's fields: kept only when some rule needed them.
    if (keep && !m->RecordOf(index) && !program.reversed_rules_by_event[type].empty()) keep = false;
    keeps[index - begin] = keep;
  }
  for (uint64_t index = m->end(); index-- > begin;) {
    const RememberedEvent& e = *m->At(index);
    const uint64_t sender = m->SenderOf(index);
    if (!keeps[index - begin] && !e.reversed && sender != ReversalMemory::kNone && sender >= begin && sender < index)
      keeps[sender - begin] = 0;
  }

  // Rebuilt event by event, so every index stays as stored.
  ReversalMemory out;
  out.RestartAt(begin);
  size_t lost = 0;
  for (uint64_t index = begin; index < m->end(); ++index) {
    RememberedEvent& e = *m->At(index);
    const int type = at(events, e.event_index);
    const bool keep = keeps[index - begin];
    out.BeginCapture();
    for (uint32_t k = 0; k < e.aggs_count; ++k) {
      AggContribution a = m->AggAt(e, k);
      a.slot = at(slots, a.slot);
      if (a.slot >= 0) out.Capture(a);
    }
    if (keep) {
      for (uint32_t k = 0; k < e.effects_count; ++k) {
        FiringEffect f = m->EffectAt(e, k);
        const bool limit = f.kind == FiringEffect::Limit || f.kind == FiringEffect::KeyedLimit;
        f.rule = limit ? at(limit_rules, f.rule) : at(rules, f.rule);
        if (!limit) f.wallet = at(wallets, f.wallet);
        out.Capture(f);
      }
      for (uint32_t k = 0, n = m->KeyCount(e); k < n; ++k) out.CaptureKey(m->KeyAt(e, k));
    }
    RememberedEvent moved;
    moved.client = e.client;
    moved.time = e.time;
    moved.chain_ahead = e.chain_ahead;  // indexes stay as stored
    moved.reversed = e.reversed;
    moved.sent = e.sent;
    moved.event_index = type >= 0 ? type : 0;
    // A reversed event keeps its id so that reversing it again is refused as already reversed.
    if (keep || e.reversed) moved.id = std::move(e.id);
    std::unique_ptr<Record> record;
    if (keep && e.has_record) {
      record = std::make_unique<Record>(*m->RecordOf(index));
      record->event_index = type;
    }
    if (!keep && !e.reversed && !e.sent) ++lost;  // an empty id is never named by a reversal
    out.Add(std::move(moved), m->SenderOf(index), std::move(record));
  }
  for (const auto& [where, b] : m->aged()) {
    const int slot = at(slots, std::get<1>(where));
    if (slot >= 0) out.mutable_aged()[{std::get<0>(where), slot, std::get<2>(where)}] = b;
  }
  *m = std::move(out);
  return lost;
}

}  // namespace perk::runtime
