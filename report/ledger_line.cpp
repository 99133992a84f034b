// Ledger and reject lines read with simdjson on-demand, keys in any order.
#include "report/ledger_line.h"

#include <simdjson.h>

#include <cstring>
#include <vector>

#include "stdlib/stdlib.h"

namespace perk::report {

namespace od = simdjson::ondemand;

const char* ActionName(Action a) {
  switch (a) {
    case Action::Credit: return "credit";
    case Action::Debit: return "debit";
    case Action::Set: return "set";
    case Action::Notify: return "notify";
    case Action::Grant: return "grant";
    case Action::Emit: return "emit";
    case Action::Skip: return "skip";
    case Action::Tier: return "tier";
    case Action::Segment: return "segment";
    case Action::Unknown: break;
  }
  return "unknown";
}

namespace {

Action ActionFromName(std::string_view s) {
  for (int a = 0; a < static_cast<int>(Action::Unknown); ++a)
    if (s == ActionName(static_cast<Action>(a))) return static_cast<Action>(a);
  return Action::Unknown;
}

// A value's text: strings unescaped, numbers and other atoms as written, objects and arrays raw.
bool ValueText(od::value v, std::string_view* out) {
  od::json_type type;
  if (v.type().get(type)) return false;
  switch (type) {
    case od::json_type::string: return !v.get_string().get(*out);
    case od::json_type::object: {
      od::object o;
      if (v.get_object().get(o)) return false;
      return !o.raw_json().get(*out);
    }
    case od::json_type::array: {
      od::array a;
      if (v.get_array().get(a)) return false;
      return !a.raw_json().get(*out);
    }
    default: {
      *out = v.raw_json_token();
      while (!out->empty() && (out->back() == ' ' || out->back() == '\t' || out->back() == '\r')) out->remove_suffix(1);
      return true;
    }
  }
}

// Raw JSON of a value (strings with their quotes), for comparing values as written.
bool RawText(od::value v, std::string_view* out) {
  od::json_type type;
  if (v.type().get(type)) return false;
  if (type == od::json_type::string || type == od::json_type::object || type == od::json_type::array) {
    if (type == od::json_type::string) {
      *out = v.raw_json_token();
      while (!out->empty() && out->back() != '"') out->remove_suffix(1);
      return true;
    }
    return ValueText(v, out);
  }
  return ValueText(v, out);
}

}  // namespace

struct LineParser::Impl {
  od::parser parser;
  std::vector<char> buffer;
  size_t size = 0;
  size_t pos = 0;

  // The line's start within the buffer, for the padding that parsing in place needs.
  bool Iterate(std::string_view line, od::document* doc) {
    size_t offset = static_cast<size_t>(line.data() - buffer.data());
    size_t capacity = buffer.size() - offset;
    return !parser.iterate(line.data(), line.size(), capacity).get(*doc);
  }
};

LineParser::LineParser() : impl_(std::make_unique<Impl>()) {}
LineParser::~LineParser() = default;

void LineParser::Load(std::string_view chunk) {
  if (impl_->buffer.size() < chunk.size() + simdjson::SIMDJSON_PADDING)
    impl_->buffer.resize(chunk.size() + chunk.size() / 2 + simdjson::SIMDJSON_PADDING);
  std::memcpy(impl_->buffer.data(), chunk.data(), chunk.size());
  std::memset(impl_->buffer.data() + chunk.size(), 0, simdjson::SIMDJSON_PADDING);
  impl_->size = chunk.size();
  impl_->pos = 0;
}

bool LineParser::Next(std::string_view* line) {
  while (impl_->pos < impl_->size) {
    const char* start = impl_->buffer.data() + impl_->pos;
    const void* nl = std::memchr(start, '\n', impl_->size - impl_->pos);
    size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : impl_->size - impl_->pos;
    impl_->pos += len + (nl ? 1 : 0);
    std::string_view l(start, len);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
    *line = l;
    return true;
  }
  return false;
}

bool LineParser::ReadLedger(std::string_view line, LedgerLine* out) {
  *out = LedgerLine{};
  od::document doc;
  if (!impl_->Iterate(line, &doc)) return false;
  od::object object;
  if (doc.get_object().get(object)) return false;
  bool have_action = false;
  for (auto item : object) {
    od::field field;
    if (std::move(item).get(field)) return false;
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    od::value v = field.value();
    bool ok = true;
    if (key == "trigger") ok = ValueText(v, &out->trigger);
    else if (key == "client") ok = ValueText(v, &out->client);
    else if (key == "time") ok = ValueText(v, &out->time);
    else if (key == "rule") {
      bool is_null = false;
      if (v.is_null().get(is_null)) return false;
      if (!is_null) ok = ValueText(v, &out->rule);
    } else if (key == "action") {
      std::string_view a;
      ok = ValueText(v, &a);
      out->action = ActionFromName(a);
      have_action = true;
    } else if (key == "wallet" || key == "var" || key == "template" || key == "name" || key == "badge" ||
               key == "segment") {
      ok = ValueText(v, &out->target);
    } else if (key == "amount") ok = ValueText(v, &out->amount);
    else if (key == "from") ok = ValueText(v, &out->from);
    else if (key == "to") ok = ValueText(v, &out->to);
    else if (key == "member") ok = !v.get_bool().get(out->member);
    else if (key == "value" || key == "data") ok = RawText(v, &out->value);
    else if (key == "reason") ok = ValueText(v, &out->reason);
    else {
      // seq, balance and keys a later ledger version may add: read past them.
      std::string_view ignored;
      ok = RawText(v, &ignored);
    }
    if (!ok) return false;
  }
  return have_action && out->action != Action::Unknown && !out->client.empty() && !out->time.empty();
}

bool LineParser::ReadReject(std::string_view line, RejectLine* out) {
  *out = RejectLine{};
  od::document doc;
  if (!impl_->Iterate(line, &doc)) return false;
  od::object object;
  if (doc.get_object().get(object)) return false;
  bool have_error = false;
  for (auto item : object) {
    od::field field;
    if (std::move(item).get(field)) return false;
    std::string_view key;
    if (field.unescaped_key().get(key)) return false;
    od::value v = field.value();
    if (key == "line") {
      if (v.get_uint64().get(out->line)) return false;
    } else if (key == "error") {
      if (v.get_string().get(out->error)) return false;
      have_error = true;
    } else {
      std::string_view ignored;
      if (!RawText(v, &ignored)) return false;
    }
  }
  return have_error;
}

bool ParseAmount(std::string_view text, bool money, int64_t* out) {
  std::string error;
  auto v = stdlib::ParseScaled(text, money ? 2 : 0, false, false, &error);
  if (!v) return false;
  *out = *v;
  return true;
}

bool ParseLedgerTime(std::string_view text, int64_t* micros) {
  std::string error;
  auto t = stdlib::ParseTime(text, &error);
  if (!t) return false;
  *micros = *t;
  return true;
}

}  // namespace perk::report
