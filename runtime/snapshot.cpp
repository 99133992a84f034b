// Binary encodings of engine state, the program schema, and upgrades between schemas.
#include "runtime/snapshot.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/checksum.h"

#include <algorithm>
#include <cstring>

namespace perk::runtime {

namespace {

// Bumped when an encoding changes; a blob with another version is refused, never misread.
// Client version 2 (v0.2) adds which optional attributes are unset and then
// ClientState::rule_series (per-client budgets, keyed limits); version 3 then adds lots and
// pending credits (C11); version 4 frames version 3's fields with their length and a checksum
// (a damaged blob is refused, never loaded); versions 3, 2 and 1 (v0.1) still decode.
constexpr uint64_t kClientVersion = 4;
constexpr uint64_t kClientVersionV03 = 3;
constexpr uint64_t kClientVersionV02 = 2;
constexpr uint64_t kClientVersionV01 = 1;
constexpr uint64_t kEngineVersion = 1;
constexpr uint64_t kSchemaVersion = 1;

bool GetValue(ByteReader& r, Value* v) { return r.I(&v->i) && r.Bytes(&v->s); }

// Bucket keys increase, so they are stored as deltas.
template <typename S>
void PutSeries(ByteWriter& w, const S& s) {
  w.U(s.buckets.size());
  int64_t prev = 0;
  for (const Bucket& b : s.buckets) {
    w.I(b.key - prev);
    prev = b.key;
    w.I(b.count);
    w.I(b.sum);
    w.I(b.min);
    w.I(b.max);
  }
}
template <typename S>
bool GetSeries(ByteReader& r, S* s) {
  uint64_t n;
  if (!r.Count(&n)) return false;
  s->buckets.resize(n);
  int64_t prev = 0;
  for (Bucket& b : s->buckets) {
    int64_t delta;
    if (!r.I(&delta) || !r.I(&b.count) || !r.I(&b.sum) || !r.I(&b.min) || !r.I(&b.max)) return false;
    b.key = prev + delta;
    prev = b.key;
  }
  return true;
}

template <typename T, typename F>
void PutVec(ByteWriter& w, const std::vector<T>& v, F put) {
  w.U(v.size());
  for (const T& x : v) put(x);
}
template <typename T, typename F>
bool GetVec(ByteReader& r, T* v, F get) {
  uint64_t n;
  if (!r.Count(&n)) return false;
  v->resize(n);
  for (auto& x : *v)
    if (!get(x)) return false;
  return true;
}

}  // namespace

bool ByteReader::U(uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; ok_ && shift < 64; shift += 7) {
    if (pos_ >= in_.size()) break;
    uint8_t b = static_cast<uint8_t>(in_[pos_++]);
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = result;
      return true;
    }
  }
  ok_ = false;
  return false;
}

bool ByteReader::Bytes(std::string* s) {
  uint64_t n;
  if (!U(&n) || n > in_.size() - pos_) return ok_ = false;
  s->assign(in_.substr(pos_, n));
  pos_ += n;
  return true;
}

namespace {

// The engine thread encodes every client a batch changed, so this is the hot part of a commit:
// it reserves a bound once and writes through a local pointer (a char store through a member
// pointer would make the compiler reload the member after every byte).
struct RawWriter {
  char* p;
  void U(uint64_t v) {
    while (v >= 0x80) {
      *p++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
  }
  void I(int64_t v) { U((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Bytes(std::string_view s) {
    U(s.size());
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void Val(const Value& v) {
    I(v.i);
    Bytes(v.s);
  }
  template <typename S>
  void Ser(const S& s) {
    U(s.buckets.size());
    int64_t prev = 0;
    for (const Bucket& b : s.buckets) {
      I(b.key - prev);
      prev = b.key;
      I(b.count);
      I(b.sum);
      I(b.min);
      I(b.max);
    }
  }
};

uint32_t ClientChecksum(std::string_view fields) { return static_cast<uint32_t>(Hash64(fields)); }

// Version `version`'s fields (1 to 3; version 4 holds version 3's inside its frame).
bool DecodeClientFields(ByteReader& r, uint64_t version, ClientState* c);

size_t ClientBound(const ClientState& c) {
  constexpr size_t V = 10;  // the longest varint
  size_t n = 16 * V + c.id.size() + (c.layout.wallets + c.layout.tiers + c.layout.segments) * V;
  for (const auto& v : c.attrs) n += 3 * V + v.s.size();
  n += 2 * V * c.layout.vars;
  for (const auto& t : c.var_text) n += t.size();
  for (const auto& b : c.badges) n += V + b.size();
  for (const auto& s : c.limits) n += V + s.buckets.size() * 5 * V;
  for (const auto& s : c.aggs) n += V + s.buckets.size() * 5 * V;
  n += V;
  for (const auto& rs : c.rule_series) n += 4 * V + rs.key.s.size() + rs.series.buckets.size() * 5 * V;
  n += 2 * V + c.lots.size() * 3 * V + c.pending_credits.size() * 4 * V;
  return n + 8;  // version 4's frame: the length and the checksum
}

}  // namespace

void EncodeClient(const ClientState& c, std::string* out) {
  size_t start = out->size();
  out->resize(start + ClientBound(c));
  RawWriter w{out->data() + start};
  w.U(kClientVersion);
  char* length_at = w.p;  // filled in once the fields are written
  w.p += 4;
  char* fields = w.p;
  w.Bytes(c.id);
  w.I(c.since());
  w.U(c.attrs.size());
  for (const auto& v : c.attrs) w.Val(v);
  w.U(c.layout.wallets);
  for (int64_t v : c.wallets()) w.I(v);
  w.U(c.layout.vars);
  for (size_t k = 0; k < c.layout.vars; ++k) {
    w.I(c.var_slots()[k]);
    w.Bytes(k < c.var_text.size() ? std::string_view(c.var_text[k]) : std::string_view());
  }
  w.I(c.tier());
  w.U(c.layout.tiers);
  for (int64_t v : c.holds()) w.I(v);
  w.U(c.layout.segments);
  for (size_t k = 0; k < c.layout.segments; ++k) w.U(c.segment(k) ? 1 : 0);
  w.U(c.badges.size());
  for (const auto& v : c.badges) w.Bytes(v);
  w.U(c.limits.size());
  for (const auto& v : c.limits) w.Ser(v);
  w.U(c.aggs.size());
  for (const auto& v : c.aggs) w.Ser(v);
  w.U(c.attr_unset.size());
  for (uint8_t v : c.attr_unset) w.U(v);
  w.U(c.rule_series.size());
  for (const auto& rs : c.rule_series) {
    w.U(rs.kind);
    w.U(static_cast<uint64_t>(rs.rule));
    w.Val(rs.key);
    w.Ser(rs.series);
  }
  // [v0.2] Dates as deltas from the one before (both lists are sorted by date): a lot or a
  // pending credit then costs a few bytes.
  w.U(c.lots.size());
  int64_t last = 0;
  for (const Lot& lot : c.lots) {
    w.U(static_cast<uint64_t>(lot.wallet));
    w.I(lot.expires - last);
    w.I(lot.amount);
    last = lot.expires;
  }
  w.U(c.pending_credits.size());
  last = 0;
  for (const PendingCredit& p : c.pending_credits) {
    w.U(static_cast<uint64_t>(p.wallet));
    w.I(p.until - last);
    w.I(p.amount);
    w.U(p.seq);
    last = p.until;
  }
  const uint32_t length = static_cast<uint32_t>(w.p - fields);
  const uint32_t sum = ClientChecksum(std::string_view(fields, length));
  std::memcpy(length_at, &length, 4);
  std::memcpy(w.p, &sum, 4);
  w.p += 4;
  out->resize(static_cast<size_t>(w.p - out->data()));
}

bool DecodeClient(std::string_view in, ClientState* c) {
  ByteReader r(in);
  return DecodeClient(r, c) && r.done();
}

bool DecodeClient(ByteReader& r, ClientState* c) { return DecodeClientChecked(r, c) == ClientBlob::Ok; }

ClientBlob DecodeClientChecked(ByteReader& r, ClientState* c) {
  uint64_t version;
  if (!r.U(&version)) return ClientBlob::Malformed;
  if (version != kClientVersion) return DecodeClientFields(r, version, c) ? ClientBlob::Ok : ClientBlob::Malformed;
  // The checksum is compared before any field is read: damaged bytes are never decoded.
  std::string_view length_bytes, fields, sum_bytes;
  uint32_t length = 0, sum = 0;
  if (!r.Raw(4, &length_bytes)) return ClientBlob::Malformed;
  std::memcpy(&length, length_bytes.data(), 4);
  if (!r.Raw(length, &fields) || !r.Raw(4, &sum_bytes)) return ClientBlob::Malformed;
  std::memcpy(&sum, sum_bytes.data(), 4);
  if (sum != ClientChecksum(fields)) {
    // The id, as far as it reads, names the client in the refusal.
    ByteReader id(fields);
    c->id.clear();
    if (!id.Bytes(&c->id)) c->id.clear();
    return ClientBlob::Damaged;
  }
  ByteReader inner(fields);
  return DecodeClientFields(inner, kClientVersionV03, c) && inner.done() ? ClientBlob::Ok : ClientBlob::Malformed;
}

namespace {

bool DecodeClientFields(ByteReader& r, uint64_t version, ClientState* c) {
  uint64_t u;
  if (version != kClientVersionV03 && version != kClientVersionV02 && version != kClientVersionV01) return false;
  const bool v02 = version != kClientVersionV01;
  // The block's regions come in the encoding's order; the layout needs all their counts first.
  int64_t since = 0, tier = 0;
  std::vector<int64_t> wallets, holds;
  std::vector<Value> vars;
  std::vector<uint8_t> segments;
  bool ok = r.Bytes(&c->id) && r.I(&since) && GetVec(r, &c->attrs, [&](Value& v) { return GetValue(r, &v); }) &&
            GetVec(r, &wallets, [&](int64_t& v) { return r.I(&v); }) &&
            GetVec(r, &vars, [&](Value& v) { return GetValue(r, &v); }) && r.I(&tier) &&
            GetVec(r, &holds, [&](int64_t& v) { return r.I(&v); }) &&
            GetVec(r, &segments, [&](uint8_t& v) { return r.U(&u) && u <= 1 && ((v = static_cast<uint8_t>(u)), true); }) &&
            GetVec(r, &c->badges, [&](std::string& v) { return r.Bytes(&v); }) &&
            GetVec(r, &c->limits, [&](Series& v) { return GetSeries(r, &v); }) &&
            GetVec(r, &c->aggs, [&](AggSeries& v) { return GetSeries(r, &v); });
  // A client written by v0.1 knows nothing of unset attributes: it decodes without flags, and
  // the engine decides them with the program (ResolveUnsetAttributes).
  c->attr_unset.clear();
  if (ok && v02) {
    uint64_t n;
    ok = r.Count(&n) && n == c->attrs.size();
    for (uint64_t k = 0; ok && k < n; ++k) ok = r.U(&u) && u <= 1 && (c->attr_unset.push_back(static_cast<uint8_t>(u)), true);
  }
  c->rule_series.clear();
  if (ok && v02)
    ok = GetVec(r, &c->rule_series, [&](RuleSeries& v) {
      uint64_t kind, rule;
      if (!r.U(&kind) || kind > RuleSeries::KeyedLimit || !r.U(&rule) || rule > INT32_MAX) return false;
      v.kind = static_cast<RuleSeries::Kind>(kind);
      v.rule = static_cast<int32_t>(rule);
      return GetValue(r, &v.key) && GetSeries(r, &v.series);
    });
  c->lots.clear();
  c->pending_credits.clear();
  if (ok && version == kClientVersionV03) {
    int64_t last = 0;
    auto wallet = [&](int32_t* out) {
      uint64_t w;
      if (!r.U(&w) || w > INT32_MAX) return false;
      *out = static_cast<int32_t>(w);
      return true;
    };
    ok = GetVec(r, &c->lots, [&](Lot& v) {
      int64_t delta;
      if (!wallet(&v.wallet) || !r.I(&delta) || !r.I(&v.amount)) return false;
      v.expires = last += delta;
      return true;
    });
    last = 0;
    ok = ok && GetVec(r, &c->pending_credits, [&](PendingCredit& v) {
      int64_t delta;
      if (!wallet(&v.wallet) || !r.I(&delta) || !r.I(&v.amount) || !r.U(&v.seq)) return false;
      v.until = last += delta;
      return true;
    });
  }
  if (!ok) return false;
  checked::ClientLayout layout;
  layout.tiers = static_cast<uint32_t>(holds.size());
  layout.segments = static_cast<uint32_t>(segments.size());
  layout.wallets = static_cast<uint32_t>(wallets.size());
  layout.vars = static_cast<uint32_t>(vars.size());
  c->Shape(layout);  // window caches are not stored: the engine starts them empty
  c->since() = since;
  c->tier() = tier;
  std::copy(wallets.begin(), wallets.end(), c->wallets().begin());
  std::copy(holds.begin(), holds.end(), c->holds().begin());
  for (size_t k = 0; k < segments.size(); ++k) c->set_segment(k, segments[k] != 0);
  c->var_text.clear();
  if (std::any_of(vars.begin(), vars.end(), [](const Value& v) { return !v.s.empty(); })) c->var_text.resize(vars.size());
  for (size_t k = 0; k < vars.size(); ++k) c->set_var(k, std::move(vars[k]));
  return true;
}

}  // namespace

void EncodeEngineState(const EngineState& s, std::string* out) {
  ByteWriter w(out);
  w.U(kEngineVersion);
  w.U(s.has_clock);
  w.I(s.clock);
  w.U(s.seq);
  w.U(s.remembered);
  w.U(s.stats.records);
  w.U(s.stats.accepted);
  w.U(s.stats.effects);
  w.U(s.stats.rejects);
  w.U(s.stats.duplicates);
  PutVec(w, s.budgets, [&](const Series& v) { PutSeries(w, v); });
}

bool DecodeEngineState(std::string_view in, EngineState* s) {
  ByteReader r(in);
  uint64_t version, has_clock;
  if (!r.U(&version) || version != kEngineVersion) return false;
  bool ok = r.U(&has_clock) && has_clock <= 1 && r.I(&s->clock) && r.U(&s->seq) && r.U(&s->remembered) &&
            r.U(&s->stats.records) && r.U(&s->stats.accepted) && r.U(&s->stats.effects) && r.U(&s->stats.rejects) &&
            r.U(&s->stats.duplicates) && GetVec(r, &s->budgets, [&](Series& v) { return GetSeries(r, &v); });
  s->has_clock = has_clock == 1;
  return ok && r.done();
}

void EncodeSeen(const std::vector<std::pair<int64_t, std::string_view>>& ids, std::string* out,
                const std::vector<uint64_t>& contents) {
  ByteWriter w(out);
  w.U(ids.size());
  int64_t prev = 0;
  for (const auto& [time, id] : ids) {
    w.I(time - prev);
    prev = time;
    w.Bytes(id);
  }
  if (contents.size() == ids.size() && !ids.empty())
    for (uint64_t c : contents) w.U(c);
}

bool DecodeSeen(std::string_view in, std::vector<std::pair<int64_t, std::string>>* ids,
                std::vector<uint64_t>* contents) {
  ByteReader r(in);
  uint64_t n;
  if (!r.Count(&n)) return false;
  int64_t prev = 0;
  for (uint64_t k = 0; k < n; ++k) {
    int64_t delta;
    std::string id;
    if (!r.I(&delta) || !r.Bytes(&id)) return false;
    prev += delta;
    ids->emplace_back(prev, std::move(id));
  }
  // Content hashes follow, unless an older build wrote the blob.
  const bool hashed = !r.done();
  for (uint64_t k = 0; k < n; ++k) {
    uint64_t c = 0;
    if (hashed && !r.U(&c)) return false;
    if (contents) contents->push_back(c);
  }
  return r.done();
}

// ---- schema ----

namespace {

std::string TypeText(const checked::Program& p, Type t) {
  if (t == Type::Money) return fmt::format("money({})", p.currency);
  return TypeName(t);
}

const char* const kUnitNames[] = {"minute", "hour", "day", "all", "month", "year"};

// [v0.2] Buckets outside UTC are local: a series kept under another zone means something else.
std::string ZoneSuffix(const checked::Program& p) { return p.zone == 0 ? "" : "@" + p.timezone; }

std::string WindowText(const checked::Program& p, const checked::Window& w) {
  return fmt::format("{}{}x{}{}", w.previous ? "previous:" : "", w.count, kUnitNames[static_cast<int>(w.unit)],
                     w.unit == checked::WindowUnit::All ? "" : ZoneSuffix(p));
}

}  // namespace

namespace {
uint64_t ExprHash(const checked::Expr& e);
}  // namespace

// The shape of a rule with neither limit nor budget: it keeps no history in the state.
constexpr std::string_view kNoRuleHistory = "limit:-;budget:-";

StateSchema SchemaOf(const checked::Program& p) {
  StateSchema s;
  s.program = p.name;
  for (const auto& f : p.client_fields) s.attrs.push_back({f.name, TypeText(p, f.type)});
  for (const auto& w : p.wallets) s.wallets.push_back({w.name, TypeText(p, w.type)});
  for (const auto& v : p.vars) s.vars.push_back({v.name, TypeText(p, v.type)});
  for (const auto& t : p.tiers) s.tiers.push_back({t.name, ""});
  for (const auto& g : p.segments) s.segments.push_back({g.name, ""});
  // A rule's limit and budget series are only meaningful under the same windows.
  for (const auto& r : p.rules) {
    std::string shape = fmt::format("limit:{};budget:{}", r.has_limit ? WindowText(p, r.limit_window) : "-",
                                    r.has_budget ? WindowText(p, r.budget_window) : "-");
    // [v0.2] Only when present, so a v0.1 rule keeps its shape (and its series) across builds.
    if (r.has_budget && r.budget_type == Type::Int) shape += ";budget_type:int";
    if (r.has_client_budget)
      shape += fmt::format(";client_budget:{}{}", WindowText(p, r.client_budget_window),
                           r.client_budget_type == Type::Int ? ":int" : "");
    if (r.limit_key) shape += ";key:" + IdentityHex(ExprHash(*r.limit_key));
    s.rules.push_back({r.name, std::move(shape)});
  }
  // An aggregate slot is what it sums: event, field, filter and bucket unit.
  for (const auto& a : p.agg_slots) {
    const checked::Event& ev = p.events[a.event];
    std::string name = a.field >= 0 ? ev.name + "." + ev.fields[a.field].name : ev.name;
    if (a.where) name += " where " + a.where->text;
    s.aggs.push_back({name, fmt::format("{}:{}{}", TypeText(p, a.field_type), kUnitNames[static_cast<int>(a.unit)],
                                        a.unit == checked::WindowUnit::All ? "" : ZoneSuffix(p))});
  }
  return s;
}

void EncodeSchema(const StateSchema& s, std::string* out) {
  ByteWriter w(out);
  w.U(kSchemaVersion);
  w.Bytes(s.program);
  for (const auto* list : {&s.attrs, &s.wallets, &s.vars, &s.tiers, &s.segments, &s.rules, &s.aggs}) {
    w.U(list->size());
    for (const auto& n : *list) {
      w.Bytes(n.name);
      w.Bytes(n.type);
    }
  }
}

bool DecodeSchema(std::string_view in, StateSchema* s) {
  ByteReader r(in);
  uint64_t version;
  if (!r.U(&version) || version != kSchemaVersion || !r.Bytes(&s->program)) return false;
  for (auto* list : {&s->attrs, &s->wallets, &s->vars, &s->tiers, &s->segments, &s->rules, &s->aggs}) {
    if (!GetVec(r, list, [&](StateSchema::Named& n) { return r.Bytes(&n.name) && r.Bytes(&n.type); })) return false;
  }
  return r.done();
}

checked::Program SkeletonProgram(const StateSchema& s) {
  checked::Program p;
  p.name = s.program;
  auto type_of = [&](const std::string& text) {
    if (text.rfind("money(", 0) == 0) {
      p.currency = text.substr(6, text.size() - 7);
      return Type::Money;
    }
    for (Type t : {Type::Int, Type::Decimal, Type::Bool, Type::String, Type::Time, Type::Date, Type::Tier, Type::Duration,
                   Type::Client})
      if (text == TypeName(t)) return t;
    return Type::Error;
  };
  for (const auto& a : s.attrs) {
    checked::Field f;
    f.name = a.name;
    f.type = type_of(a.type);
    // The schema does not say which attributes are optional: a v0.1 client's attributes are
    // shown as stored (a v0.2 client says itself which are unset).
    f.has_default = true;
    p.client_fields.push_back(std::move(f));
  }
  for (const auto& w : s.wallets) p.wallets.push_back({w.name, type_of(w.type)});
  for (const auto& v : s.vars) {
    checked::Var var;
    var.name = v.name;
    var.type = type_of(v.type);
    p.vars.push_back(std::move(var));
  }
  for (const auto& t : s.tiers) {
    checked::Tier tier;
    tier.name = t.name;
    p.tiers.push_back(std::move(tier));
  }
  for (const auto& g : s.segments) {
    checked::Segment seg;
    seg.name = g.name;
    p.segments.push_back(std::move(seg));
  }
  // Rule names only: a client's per-client budgets and keyed limits name their rule.
  for (const auto& r : s.rules) {
    checked::Rule rule;
    rule.name = r.name;
    p.rules.push_back(std::move(rule));
  }
  return p;
}

// ---- identity ----

namespace {

// FNV-1a over a canonical byte stream of the checked program.
struct Hasher {
  uint64_t h = 1469598103934665603ull;
  void Raw(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t k = 0; k < n; ++k) h = (h ^ p[k]) * 1099511628211ull;
  }
  void I(int64_t v) { Raw(&v, sizeof v); }
  void S(std::string_view s) {
    I(static_cast<int64_t>(s.size()));
    Raw(s.data(), s.size());
  }
  void V(const Value& v) {
    I(v.i);
    S(v.s);
  }
  void W(const checked::Window& w) {
    I(static_cast<int64_t>(w.unit));
    I(w.count);
    // [v0.2] Only when set, so a v0.1 program keeps its identity.
    if (w.previous) S("previous");
  }
  void E(const checked::Expr& e) {
    I(static_cast<int64_t>(e.kind));
    I(static_cast<int64_t>(e.type));
    I(static_cast<int64_t>(e.op));
    I(e.index);
    V(e.value);
    I(static_cast<int64_t>(e.args.size()));
    for (const auto& a : e.args) E(a);
  }
  void OptE(const std::optional<checked::Expr>& e) {
    I(e.has_value());
    if (e) E(*e);
  }
  void A(const checked::Action& a) {
    I(static_cast<int64_t>(a.kind));
    I(a.target);
    S(a.name);
    OptE(a.value);
    I(static_cast<int64_t>(a.data.size()));
    for (const auto& d : a.data) {
      S(d.key);
      E(d.value);
    }
    I(static_cast<int64_t>(a.then_actions.size()));
    for (const auto& x : a.then_actions) A(x);
    I(static_cast<int64_t>(a.else_actions.size()));
    for (const auto& x : a.else_actions) A(x);
  }
  void F(const checked::Field& f) {
    S(f.name);
    I(static_cast<int64_t>(f.type));
    I(f.has_default);
    V(f.default_value);
  }
};

}  // namespace

namespace {
uint64_t ExprHash(const checked::Expr& e) {
  Hasher h;
  h.E(e);
  return h.h;
}
}  // namespace

uint64_t ProgramIdentity(const checked::Program& p) {
  Hasher h;
  h.S(p.name);
  h.S(p.currency);
  if (p.zone != 0) h.S("timezone:" + p.timezone);  // [v0.2] only outside UTC: v0.1 identities stay
  h.I(static_cast<int64_t>(p.events.size()));
  for (const auto& ev : p.events) {
    h.S(ev.name);
    h.I(static_cast<int64_t>(ev.fields.size()));
    for (const auto& f : ev.fields) h.F(f);
  }
  h.I(static_cast<int64_t>(p.client_fields.size()));
  for (const auto& f : p.client_fields) h.F(f);
  h.I(static_cast<int64_t>(p.wallets.size()));
  for (const auto& w : p.wallets) {
    h.S(w.name);
    h.I(static_cast<int64_t>(w.type));
  }
  h.I(static_cast<int64_t>(p.vars.size()));
  for (const auto& v : p.vars) {
    h.S(v.name);
    h.I(static_cast<int64_t>(v.type));
    h.V(v.init);
  }
  h.I(static_cast<int64_t>(p.params.size()));
  for (const auto& v : p.params) {
    h.S(v.name);
    h.I(static_cast<int64_t>(v.type));
    h.V(v.value);
  }
  h.I(static_cast<int64_t>(p.tiers.size()));
  for (const auto& t : p.tiers) {
    h.S(t.name);
    h.OptE(t.when);
    h.I(t.hold_micros);
    if (t.hold_calendar != 0) h.I(t.hold_calendar);
  }
  h.I(static_cast<int64_t>(p.segments.size()));
  for (const auto& g : p.segments) {
    h.S(g.name);
    h.E(g.when);
  }
  h.I(static_cast<int64_t>(p.agg_slots.size()));
  for (const auto& a : p.agg_slots) {
    h.I(a.event);
    h.I(a.field);
    h.I(static_cast<int64_t>(a.field_type));
    h.OptE(a.where);
    h.I(static_cast<int64_t>(a.unit));
    h.I(a.max_count);
  }
  h.I(static_cast<int64_t>(p.aggregates.size()));
  for (const auto& u : p.aggregates) {
    h.I(u.slot);
    h.I(static_cast<int64_t>(u.kind));
    h.W(u.window);
    h.I(static_cast<int64_t>(u.type));
  }
  h.I(static_cast<int64_t>(p.rules.size()));
  for (const auto& r : p.rules) {
    h.S(r.name);
    h.S(r.label);
    h.I(static_cast<int64_t>(r.trigger));
    h.I(r.event);
    h.OptE(r.when);
    h.I(r.has_limit);
    h.I(r.limit_count);
    h.W(r.limit_window);
    h.I(r.has_budget);
    h.I(r.budget_cents);
    h.W(r.budget_window);
    // [v0.2] Hashed only when used, so a v0.1 program keeps its identity.
    if (r.segment >= 0) h.I(r.segment);
    if (r.budget_type != Type::Money || r.budget_partial) {
      h.I(static_cast<int64_t>(r.budget_type));
      h.I(r.budget_partial);
    }
    if (r.has_client_budget) {
      h.I(r.client_budget_amount);
      h.W(r.client_budget_window);
      h.I(static_cast<int64_t>(r.client_budget_type));
      h.I(r.client_budget_partial);
    }
    if (r.limit_key) h.E(*r.limit_key);
    h.I(static_cast<int64_t>(r.actions.size()));
    for (const auto& a : r.actions) h.A(a);
  }
  return h.h;
}

std::string IdentityHex(uint64_t identity) { return fmt::format("{:016x}", identity); }

// ---- upgrades ----

namespace {

// For each entry of `now`, the index of the entry of `old` with the same name and type, or -1.
std::vector<int> MatchByName(const std::vector<StateSchema::Named>& old, const std::vector<StateSchema::Named>& now) {
  std::vector<int> map(now.size(), -1);
  for (size_t k = 0; k < now.size(); ++k)
    for (size_t j = 0; j < old.size(); ++j)
      if (old[j] == now[k]) {
        map[k] = static_cast<int>(j);
        break;
      }
  return map;
}

}  // namespace

UpgradePlan PlanUpgrade(const StateSchema& old_schema, const checked::Program& program,
                        const std::vector<std::string>& allow_drop) {
  StateSchema now = SchemaOf(program);
  UpgradePlan plan;
  plan.attrs = MatchByName(old_schema.attrs, now.attrs);
  plan.wallets = MatchByName(old_schema.wallets, now.wallets);
  plan.vars = MatchByName(old_schema.vars, now.vars);
  plan.tiers = MatchByName(old_schema.tiers, now.tiers);
  plan.segments = MatchByName(old_schema.segments, now.segments);
  plan.aggs = MatchByName(old_schema.aggs, now.aggs);

  // Stored data that nothing derives again: refused when it would go, unless allowed by name.
  std::vector<std::string> used_allow;  // the names in allow_drop that drop something
  auto lose = [&](const char* what, const std::vector<StateSchema::Named>& old, const std::vector<StateSchema::Named>& cur,
                  const std::vector<int>& map) {
    for (size_t j = 0; j < old.size(); ++j) {
      if (std::find(map.begin(), map.end(), static_cast<int>(j)) != map.end()) continue;
      std::string change = "removed";
      for (const auto& n : cur)
        if (n.name == old[j].name) change = "retyped to " + n.type;
      std::string line = fmt::format("{} `{}` ({}) {}", what, old[j].name, old[j].type, change);
      if (std::find(allow_drop.begin(), allow_drop.end(), old[j].name) != allow_drop.end()) {
        plan.dropped.push_back(std::move(line));
        used_allow.push_back(old[j].name);
      } else
        plan.lost.push_back(std::move(line));
    }
  };
  lose("wallet", old_schema.wallets, now.wallets, plan.wallets);
  lose("var", old_schema.vars, now.vars, plan.vars);
  lose("client attribute", old_schema.attrs, now.attrs, plan.attrs);

  // Rules: a rule stands for the old rule of its name, or for the one it is `renamed from` when
  // the state knows that one. It keeps that rule's limit and budget series when their shape
  // (windows, key) is unchanged.
  auto old_rule = [&](const std::string& name) {
    for (size_t j = 0; j < old_schema.rules.size(); ++j)
      if (old_schema.rules[j].name == name) return static_cast<int>(j);
    return -1;
  };
  plan.rules.assign(now.rules.size(), -1);
  plan.rule_names.assign(now.rules.size(), -1);
  for (size_t k = 0; k < now.rules.size(); ++k) {
    int j = program.rules[k].renamed_from.empty() ? -1 : old_rule(program.rules[k].renamed_from);
    if (j < 0) j = old_rule(now.rules[k].name);
    plan.rule_names[k] = j;
    if (j >= 0 && old_schema.rules[j].type == now.rules[k].type) plan.rules[k] = j;
  }
  // A rule's limit and budget series are money history ("once per client" is kept by them):
  // resetting them pays again, so it is refused like dropping a wallet, unless allowed by the
  // old rule's name (or by the new name of a rule that changed shape).
  for (size_t j = 0; j < old_schema.rules.size(); ++j) {
    const StateSchema::Named& was = old_schema.rules[j];
    if (was.type == kNoRuleHistory || std::find(plan.rules.begin(), plan.rules.end(), static_cast<int>(j)) != plan.rules.end())
      continue;
    auto k = std::find(plan.rule_names.begin(), plan.rule_names.end(), static_cast<int>(j)) - plan.rule_names.begin();
    const bool changed = static_cast<size_t>(k) < now.rules.size();
    // What the shape holds, in words: "limit (per key) and budget".
    std::vector<std::string> kinds;
    if (was.type.find("limit:-") == std::string::npos)
      kinds.push_back(was.type.find(";key:") == std::string::npos ? "limit" : "limit (per key)");
    if (was.type.find("budget:-") == std::string::npos) kinds.push_back("budget");
    if (was.type.find(";client_budget:") != std::string::npos) kinds.push_back("per-client budget");
    std::string history = fmt::format("its {} history would start afresh (what it paid could be paid again)",
                                      fmt::join(kinds, " and "));
    std::string line =
        changed ? fmt::format("rule `{}` {} its limit or budget window or key: {}", was.name,
                              now.rules[k].name == was.name ? "changed" : "renamed to `" + now.rules[k].name + "` changed",
                              history)
                : fmt::format("rule `{}` removed or renamed: {}", was.name, history);
    std::string allowed_by;
    for (const std::string& name : allow_drop)
      if (name == was.name || (changed && name == now.rules[k].name)) allowed_by = name;
    if (!allowed_by.empty()) {
      plan.dropped.push_back(std::move(line));
      used_allow.push_back(allowed_by);
    } else {
      plan.lost.push_back(std::move(line));
      plan.lost_rule_history = true;
    }
  }
  // A name allowed to go that nothing drops is most likely a typo: the caller says so.
  for (const std::string& name : allow_drop)
    if (std::find(used_allow.begin(), used_allow.end(), name) == used_allow.end() &&
        std::find(plan.unused_allow_drop.begin(), plan.unused_allow_drop.end(), name) == plan.unused_allow_drop.end())
      plan.unused_allow_drop.push_back(name);

  // A rule that gains a limit or budget has no history of it to keep: it counts from now.
  for (size_t k = 0; k < now.rules.size(); ++k)
    if (plan.rules[k] < 0 && plan.rule_names[k] >= 0 && old_schema.rules[plan.rule_names[k]].type == kNoRuleHistory)
      plan.reset.push_back(fmt::format("rule `{}`: its new limit or budget counts from now", now.rules[k].name));
  // Aggregates are not money history: one no longer used is dropped, and a new one starts empty.
  for (size_t j = 0; j < old_schema.aggs.size(); ++j)
    if (std::find(plan.aggs.begin(), plan.aggs.end(), static_cast<int>(j)) == plan.aggs.end())
      plan.reset.push_back(fmt::format("aggregate history of `{}` is no longer used and is dropped", old_schema.aggs[j].name));
  return plan;
}

std::string LostAdvice(const UpgradePlan& plan, std::string_view allow) {
  std::string advice = fmt::format("Keep them in the program, or allow dropping them with {}", allow);
  if (plan.lost_rule_history)
    advice += ", for a rule its old name; a renamed rule carries its history over when declared "
              "`rule NEW \"title\" renamed from OLD`";
  return advice;
}

std::string UnusedAllowDropNote(std::string_view name) {
  return fmt::format("--allow-drop {}: the upgrade drops nothing of that name; check the spelling", name);
}

ClientState MigrateClient(const ClientState& old, const UpgradePlan& plan, const checked::Program& program) {
  ClientState c = NewClient(program, old.id, old.since());
  // For each new index k, the old index map[k] it keeps (when there is one).
  auto each = [](const std::vector<int>& map, size_t to_size, size_t from_size, auto keep) {
    for (size_t k = 0; k < map.size() && k < to_size; ++k)
      if (map[k] >= 0 && static_cast<size_t>(map[k]) < from_size) keep(k, static_cast<size_t>(map[k]));
  };
  auto copy = [&](auto&& to, const auto& from, const std::vector<int>& map) {
    each(map, to.size(), from.size(), [&](size_t k, size_t j) { to[k] = from[j]; });
  };
  copy(c.attrs, old.attrs, plan.attrs);
  // Which attributes are unset: kept by the plan (an attribute that gained a default takes it
  // where the client had no value), or decided for a v0.1 client as ResolveUnsetAttributes does.
  const bool has_flags = old.attr_unset.size() == old.attrs.size();
  each(plan.attrs, c.attrs.size(), old.attrs.size(), [&](size_t k, size_t j) {
    const checked::Field& f = program.client_fields[k];
    const bool unset = has_flags ? old.attr_unset[j] != 0 : !f.has_default && IsZeroValue(old.attrs[j]);
    if (unset && f.has_default) c.attrs[k] = f.default_value;
    c.attr_unset[k] = unset && !f.has_default ? 1 : 0;
  });
  copy(c.wallets(), old.wallets(), plan.wallets);
  each(plan.vars, c.layout.vars, old.layout.vars, [&](size_t k, size_t j) { c.set_var(k, old.var(j)); });
  copy(c.holds(), old.holds(), plan.tiers);
  each(plan.segments, c.layout.segments, old.layout.segments, [&](size_t k, size_t j) { c.set_segment(k, old.segment(j)); });
  copy(c.limits, old.limits, plan.rules);
  copy(c.aggs, old.aggs, plan.aggs);
  // Per-client budgets and keyed limits follow their rule (same name and shape).
  for (const RuleSeries& rs : old.rule_series)
    for (size_t k = 0; k < plan.rules.size(); ++k)
      if (plan.rules[k] == rs.rule) {
        RuleSeries moved = rs;
        moved.rule = static_cast<int32_t>(k);
        c.rule_series.push_back(std::move(moved));
        break;
      }
  // [v0.2] Lots and pending credits follow their wallet; a wallet that no longer expires keeps
  // the balance and drops its lots (nothing of it expires any more).
  for (const Lot& lot : old.lots)
    for (size_t k = 0; k < plan.wallets.size(); ++k)
      if (plan.wallets[k] == lot.wallet && program.wallets[k].expiry != 0) c.lots.push_back({static_cast<int32_t>(k), lot.expires, lot.amount});
  std::stable_sort(c.lots.begin(), c.lots.end(), [](const Lot& a, const Lot& b) {
    return a.expires != b.expires ? a.expires < b.expires : a.wallet < b.wallet;
  });
  for (const PendingCredit& p : old.pending_credits)
    for (size_t k = 0; k < plan.wallets.size(); ++k)
      if (plan.wallets[k] == p.wallet) c.pending_credits.push_back({static_cast<int32_t>(k), p.until, p.amount, p.seq});
  // The tier by name; a tier that is gone leaves the client at the base tier until the next
  // evaluation, which writes the change to the ledger as usual.
  c.tier() = 0;
  for (size_t k = 0; k < plan.tiers.size(); ++k)
    if (plan.tiers[k] == old.tier()) c.tier() = static_cast<int64_t>(k);
  // Badges are names: they stay even when no rule grants them any more.
  c.badges = old.badges;
  return c;
}

std::vector<Series> MigrateBudgets(const std::vector<Series>& old, const UpgradePlan& plan, const checked::Program& program) {
  std::vector<Series> out(program.rules.size());
  for (size_t k = 0; k < plan.rules.size() && k < out.size(); ++k)
    if (plan.rules[k] >= 0 && static_cast<size_t>(plan.rules[k]) < old.size()) out[k] = old[plan.rules[k]];
  return out;
}

}  // namespace perk::runtime
