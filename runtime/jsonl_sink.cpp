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

void AppendInt(std::string& out, int64_t v) {
  char digits[24];
  out.append(digits, std::to_chars(digits, digits + sizeof digits, v).ptr);
}

void AppendQuotedRaw(std::string& out, const std::string& text) {
  out += '"';
  out += text;
  out += '"';
}

}  // namespace

void AppendValueJson(std::string& out, const checked::Program& program, Type type, const Value& v) {
  switch (type) {
    case Type::Int: AppendInt(out, v.i); return;
    case Type::Decimal: AppendQuotedRaw(out, stdlib::FormatDecimal(v.i)); return;
    case Type::Money: AppendQuotedRaw(out, stdlib::FormatMoney(v.i)); return;
    case Type::Bool: out += v.i ? "true" : "false"; return;
    case Type::String:
    case Type::Client: stdlib::AppendJsonQuoted(out, v.s); return;
    case Type::Time: AppendQuotedRaw(out, stdlib::FormatTime(v.i)); return;
    case Type::Date: AppendQuotedRaw(out, stdlib::FormatDate(v.i)); return;
    case Type::Tier:
      if (v.i >= 0 && v.i < static_cast<int64_t>(program.tiers.size())) stdlib::AppendJsonQuoted(out, program.tiers[v.i].name);
      else out += "null";
      return;
    default: out += "null"; return;
  }
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

void JsonlSink::AppendAmount(Type type, int64_t amount) {
  if (type == Type::Int) AppendInt(ledger_, amount);
  else AppendValueJson(ledger_, program_, type, Value::Int(amount));
}

[[gnu::noinline]] void JsonlSink::Reverses(const LedgerEntry& e) {
  ledger_ += ",\"reverses\":";
  AppendInt(ledger_, static_cast<int64_t>(e.reverses));
  if (e.action == LedgerAction::Debit && e.short_amount > 0) {
    ledger_ += ",\"short\":";
    AppendAmount(e.amount_type, e.short_amount);
  }
}

void JsonlSink::Entry(const LedgerEntry& e) {
  if (e.trigger_serial != trigger_serial_ || trigger_serial_ == 0) {
    trigger_json_ = stdlib::JsonQuote(e.day_tick ? "day:" + stdlib::FormatDate(e.day) : std::string(e.event_id));
    time_json_ = "\"" + stdlib::FormatTime(e.time) + "\"";
    trigger_serial_ = e.trigger_serial;
    shared_client_ = UINT32_MAX;
  }
  if (shared_client_ != e.client_index) {
    entry_shared_ = ",\"trigger\":";
    entry_shared_ += trigger_json_;
    entry_shared_ += ",\"client\":";
    stdlib::AppendJsonQuoted(entry_shared_, e.client);
    entry_shared_ += ",\"time\":";
    entry_shared_ += time_json_;
    entry_shared_ += ",\"rule\":";
    shared_client_ = e.client_index;
  }
  std::string& o = ledger_;
  o += "{\"seq\":";
  AppendInt(o, static_cast<int64_t>(e.seq));
  o += entry_shared_;
  o += e.rule >= 0 ? std::string_view(rule_names_json_[e.rule]) : std::string_view("null");
  o += ",\"action\":\"";
  o += LedgerActionName(e.action);
  o += '"';
  auto movement = [&](bool balance) {
    o += ",\"wallet\":";
    stdlib::AppendJsonQuoted(o, e.target);
    o += ",\"amount\":";
    AppendAmount(e.amount_type, e.amount);
    if (!balance) return;
    o += ",\"balance\":";
    AppendAmount(e.amount_type, e.balance);
  };
  switch (e.action) {
    case LedgerAction::Credit:
    case LedgerAction::Debit:
      movement(true);
      // [v0.2] Optional keys, in the order of spec §6: a pending credit, and the pending
      // counter-debit that cancels one; a credit cut by a budget; a counter-entry.
      if (e.pending) {
        o += ",\"pending\":true,\"until\":\"";
        o += stdlib::FormatDate(e.until);
        o += '"';
      }
      if (e.partial && e.action == LedgerAction::Credit) o += ",\"partial\":true";
      if (e.reverses) Reverses(e);
      break;
    case LedgerAction::Release:
    case LedgerAction::Expire: movement(true); break;
    case LedgerAction::Skip:
      o += ",\"reason\":";
      stdlib::AppendJsonQuoted(o, e.reason);
      movement(false);
      break;
    case LedgerAction::Set:
      o += ",\"var\":";
      stdlib::AppendJsonQuoted(o, e.target);
      o += ",\"value\":";
      AppendValueJson(o, program_, e.values[0].type, *e.values[0].value);
      break;
    case LedgerAction::Notify:
    case LedgerAction::Emit:
      o += e.action == LedgerAction::Notify ? ",\"template\":" : ",\"name\":";
      stdlib::AppendJsonQuoted(o, e.target);
      o += ",\"data\":{";
      for (size_t k = 0; k < e.values.size(); ++k) {
        if (k) o += ",";
        stdlib::AppendJsonQuoted(o, e.values[k].key);
        o += ":";
        AppendValueJson(o, program_, e.values[k].type, *e.values[k].value);
      }
      o += "}";
      break;
    case LedgerAction::Send:
      o += ",\"event\":";
      stdlib::AppendJsonQuoted(o, e.target);
      o += ",\"to\":";
      stdlib::AppendJsonQuoted(o, e.send_to);
      o += ",\"id\":";
      stdlib::AppendJsonQuoted(o, e.sent_id);
      break;
    case LedgerAction::Grant:
      o += ",\"badge\":";
      stdlib::AppendJsonQuoted(o, e.target);
      break;
    case LedgerAction::Tier:
      o += ",\"from\":";
      stdlib::AppendJsonQuoted(o, e.from);
      o += ",\"to\":";
      stdlib::AppendJsonQuoted(o, e.to);
      break;
    case LedgerAction::Segment:
      o += ",\"segment\":";
      stdlib::AppendJsonQuoted(o, e.target);
      o += e.member ? ",\"member\":true" : ",\"member\":false";
      break;
  }
  o += "}\n";
}

void JsonlSink::Outcome(const RecordOutcome& outcome) {
  if (outcome.status != RecordStatus::Rejected && outcome.status != RecordStatus::TickFailed) return;
  AppendRejectLine(rejects_, outcome.line, outcome.message);
}

void AppendRejectLine(std::string& out, uint64_t line, std::string_view message) {
  out += "{\"line\":";
  AppendInt(out, static_cast<int64_t>(line));
  out += ",\"error\":";
  stdlib::AppendJsonQuoted(out, message);
  out += "}\n";
}

}  // namespace perk::runtime
