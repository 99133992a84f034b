// The JSON Lines encoding of ledger entries and reject lines (spec §6). Plain appends rather
// than fmt: Entry runs for every ledger entry.
#include "runtime/jsonl_sink.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

#include "runtime/engine.h"
#include "stdlib/stdlib.h"

namespace perk::runtime {

namespace {

// A line is written through a raw pointer into room reserved for the longest text it can have
// (LineBound): std::string's checked appends cost ~10 instructions a piece, and Entry runs for
// every ledger entry.
class Writer {
 public:
  explicit Writer(char* p) : p_(p) {}
  template <size_t N>
  void Lit(const char (&text)[N]) {
    std::memcpy(p_, text, N - 1);
    p_ += N - 1;
  }
  void Raw(std::string_view text) {
    std::memcpy(p_, text.data(), text.size());
    p_ += text.size();
  }
  void Quoted(std::string_view text) { p_ = stdlib::PutJsonQuoted(p_, text); }
  void Int(int64_t v) { p_ = std::to_chars(p_, p_ + 20, v).ptr; }
  void UInt(uint64_t v) { p_ = std::to_chars(p_, p_ + 20, v).ptr; }
  // A formatted scalar in quotes: "75.00", "2026-01-05".
  template <typename Put>
  void QuotedScalar(Put put, int64_t v) {
    *p_++ = '"';
    p_ = put(p_, v);
    *p_++ = '"';
  }
  void Value(const checked::Program& program, Type type, const perk::Value& v);
  char* end() const { return p_; }

 private:
  char* p_;
};

// Room for any value but a string or tier name: a number, quoted money, decimal, time or date,
// a bool or null.
constexpr size_t kScalarBound = stdlib::kMaxFormatted + 2;

size_t ValueBound(const checked::Program& program, Type type, const Value& v) {
  switch (type) {
    case Type::String:
    case Type::Client: return stdlib::JsonQuotedBound(v.s.size());
    case Type::Tier:
      return v.i >= 0 && v.i < static_cast<int64_t>(program.tiers.size())
                 ? stdlib::JsonQuotedBound(program.tiers[v.i].name.size())
                 : kScalarBound;
    default: return kScalarBound;
  }
}

void Writer::Value(const checked::Program& program, Type type, const perk::Value& v) {
  switch (type) {
    case Type::Int: Int(v.i); return;
    case Type::Decimal: QuotedScalar(stdlib::PutDecimal, v.i); return;
    case Type::Money: QuotedScalar(stdlib::PutMoney, v.i); return;
    case Type::Bool:
      if (v.i) Lit("true");
      else Lit("false");
      return;
    case Type::String:
    case Type::Client: Quoted(v.s); return;
    case Type::Time: QuotedScalar(stdlib::PutTime, v.i); return;
    case Type::Date: QuotedScalar(stdlib::PutDate, v.i); return;
    case Type::Tier:
      if (v.i >= 0 && v.i < static_cast<int64_t>(program.tiers.size())) Quoted(program.tiers[v.i].name);
      else Lit("null");
      return;
    default: Lit("null"); return;
  }
}

// Appends what `write` writes to `out`, given that it writes at most `bound` bytes.
template <typename Write>
void AppendBounded(std::string& out, size_t bound, Write write) {
  size_t old = out.size();
  out.resize(old + bound);
  Writer w(out.data() + old);
  write(w);
  out.resize(static_cast<size_t>(w.end() - out.data()));
}

// Writes the entry's line: `shared` is what every entry of its trigger and client shares, from
// `,"trigger":` to `"rule":`, and `rule` the rule's name quoted.
void WriteEntry(Writer& o, const checked::Program& program, const LedgerEntry& e, std::string_view shared,
                std::string_view rule) {
  auto amount = [&](int64_t v) {
    if (e.amount_type == Type::Int) o.Int(v);
    else o.Value(program, e.amount_type, Value::Int(v));
  };
  o.Lit("{\"seq\":");
  o.UInt(e.seq);
  o.Raw(shared);
  o.Raw(rule);
  o.Lit(",\"action\":\"");
  o.Raw(LedgerActionName(e.action));
  o.Lit("\"");
  auto movement = [&](bool balance) {
    o.Lit(",\"wallet\":");
    o.Quoted(e.target);
    o.Lit(",\"amount\":");
    amount(e.amount);
    if (!balance) return;
    o.Lit(",\"balance\":");
    amount(e.balance);
  };
  switch (e.action) {
    case LedgerAction::Credit:
    case LedgerAction::Debit:
      movement(true);
      // [v0.2] Optional keys, in the order of spec §6: a pending credit, and the pending
      // counter-debit that cancels one; a credit cut by a budget; a counter-entry with
      // `reverses`, and `short` on a counter-debit.
      if (e.pending) {
        o.Lit(",\"pending\":true,\"until\":");
        o.QuotedScalar(stdlib::PutDate, e.until);
      }
      if (e.partial && e.action == LedgerAction::Credit) o.Lit(",\"partial\":true");
      if (e.reverses) {
        o.Lit(",\"reverses\":");
        o.UInt(e.reverses);
        if (e.action == LedgerAction::Debit && e.short_amount > 0) {
          o.Lit(",\"short\":");
          amount(e.short_amount);
        }
      }
      break;
    case LedgerAction::Release:
    case LedgerAction::Expire: movement(true); break;
    case LedgerAction::Skip:
      o.Lit(",\"reason\":");
      o.Quoted(e.reason);
      movement(false);
      break;
    case LedgerAction::Set:
      o.Lit(",\"var\":");
      o.Quoted(e.target);
      o.Lit(",\"value\":");
      o.Value(program, e.values[0].type, *e.values[0].value);
      break;
    case LedgerAction::Notify:
    case LedgerAction::Emit:
      if (e.action == LedgerAction::Notify) o.Lit(",\"template\":");
      else o.Lit(",\"name\":");
      o.Quoted(e.target);
      o.Lit(",\"data\":{");
      for (size_t k = 0; k < e.values.size(); ++k) {
        if (k) o.Lit(",");
        o.Quoted(e.values[k].key);
        o.Lit(":");
        o.Value(program, e.values[k].type, *e.values[k].value);
      }
      o.Lit("}");
      break;
    case LedgerAction::Send:
      o.Lit(",\"event\":");
      o.Quoted(e.target);
      o.Lit(",\"to\":");
      o.Quoted(e.send_to);
      o.Lit(",\"id\":");
      o.Quoted(e.sent_id);
      break;
    case LedgerAction::Grant:
      o.Lit(",\"badge\":");
      o.Quoted(e.target);
      break;
    case LedgerAction::Tier:
      o.Lit(",\"from\":");
      o.Quoted(e.from);
      o.Lit(",\"to\":");
      o.Quoted(e.to);
      break;
    case LedgerAction::Segment:
      o.Lit(",\"segment\":");
      o.Quoted(e.target);
      if (e.member) o.Lit(",\"member\":true");
      else o.Lit(",\"member\":false");
      break;
  }
  o.Lit("}\n");
}

}  // namespace

void AppendValueJson(std::string& out, const checked::Program& program, Type type, const Value& v) {
  AppendBounded(out, ValueBound(program, type, v), [&](Writer& w) { w.Value(program, type, v); });
}

std::string FormatValueJson(const checked::Program& program, Type type, const Value& v) {
  std::string out;
  AppendValueJson(out, program, type, v);
  return out;
}

const char* LedgerActionName(LedgerAction action) {
  switch (action) {
#define X(name, text) \
  case LedgerAction::name: return text;
#include "runtime/ledger_actions.def"
#undef X
  }
  return "?";
}

bool ParseLedgerAction(std::string_view text, LedgerAction* out) {
#define X(name, spelled)          \
  if (text == spelled) {          \
    *out = LedgerAction::name;    \
    return true;                  \
  }
#include "runtime/ledger_actions.def"
#undef X
  return false;
}

const char* RecordStatusName(RecordStatus status) {
  switch (status) {
#define X(name, text) \
  case RecordStatus::name: return text;
#include "runtime/record_statuses.def"
#undef X
  }
  return "?";
}

JsonlSink::JsonlSink(const checked::Program& program) : program_(program) {
  rule_names_json_.reserve(program.rules.size());
  for (const auto& rule : program.rules) rule_names_json_.push_back(stdlib::JsonQuote(rule.name));
}

// Room for everything an entry writes besides its strings and values: its keys, numbers and
// amounts (a credit with every optional key is under 300 bytes).
constexpr size_t kEntryFixedBound = 512;

void JsonlSink::Entry(const LedgerEntry& e) {
  if (e.trigger_serial != trigger_serial_ || trigger_serial_ == 0) {
    trigger_json_.clear();
    AppendBounded(trigger_json_, stdlib::JsonQuotedBound(e.event_id.size()) + kScalarBound, [&](Writer& w) {
      if (!e.day_tick) return w.Quoted(e.event_id);
      w.Lit("\"day:");
      char date[stdlib::kMaxFormatted];
      w.Raw({date, static_cast<size_t>(stdlib::PutDate(date, e.day) - date)});
      w.Lit("\"");
    });
    time_json_.clear();
    AppendBounded(time_json_, kScalarBound, [&](Writer& w) { w.QuotedScalar(stdlib::PutTime, e.time); });
    trigger_serial_ = e.trigger_serial;
    shared_client_ = UINT32_MAX;
  }
  if (shared_client_ != e.client_index) {
    entry_shared_.clear();
    size_t bound = 64 + trigger_json_.size() + time_json_.size() + stdlib::JsonQuotedBound(e.client.size());
    AppendBounded(entry_shared_, bound, [&](Writer& w) {
      w.Lit(",\"trigger\":");
      w.Raw(trigger_json_);
      w.Lit(",\"client\":");
      w.Quoted(e.client);
      w.Lit(",\"time\":");
      w.Raw(time_json_);
      w.Lit(",\"rule\":");
    });
    shared_client_ = e.client_index;
  }
  std::string_view rule = e.rule >= 0 ? std::string_view(rule_names_json_[e.rule]) : std::string_view("null");
  size_t bound = kEntryFixedBound + entry_shared_.size() + rule.size() + stdlib::JsonQuotedBound(e.target.size()) +
                 stdlib::JsonQuotedBound(e.reason.size()) + stdlib::JsonQuotedBound(e.send_to.size()) +
                 stdlib::JsonQuotedBound(e.sent_id.size()) + stdlib::JsonQuotedBound(e.from.size()) +
                 stdlib::JsonQuotedBound(e.to.size());
  for (const LedgerValue& v : e.values)
    bound += stdlib::JsonQuotedBound(v.key.size()) + 2 + ValueBound(program_, v.type, *v.value);
  AppendBounded(ledger_, bound, [&](Writer& o) { WriteEntry(o, program_, e, entry_shared_, rule); });
}

void JsonlSink::Outcome(const RecordOutcome& outcome) {
  if (outcome.status != RecordStatus::Rejected && outcome.status != RecordStatus::TickFailed) return;
  AppendRejectLine(rejects_, outcome.line, outcome.message);
}

void AppendRejectLine(std::string& out, uint64_t line, std::string_view message) {
  AppendBounded(out, 64 + stdlib::JsonQuotedBound(message.size()), [&](Writer& w) {
    w.Lit("{\"line\":");
    w.UInt(line);
    w.Lit(",\"error\":");
    w.Quoted(message);
    w.Lit("}\n");
  });
}

}  // namespace perk::runtime
