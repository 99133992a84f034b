// The session behind libperk and `perk serve`: one engine behind one mutex, batches processed
// in arrival order, and a map from event id to the effects the event produced for retries.
#include "embed/session.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "compiler/compiler.h"
#include "runtime/interp.h"
#include "stdlib/stdlib.h"

namespace perk::embed {

namespace {

// Retry answers live as long as the engine remembers ids: 30 days of event time (spec §4).
constexpr int64_t kAnswerWindow = 30 * stdlib::kMicrosPerDay;

// The `id` and `type` of a record line, read without validating the rest: the engine has
// already judged the line; this only names it. Empty when the line has no such string.
void PeekRecord(simdjson::ondemand::parser& parser, std::string_view line, std::string* id, std::string* type) {
  id->clear();
  type->clear();
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return;
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) return;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) return;
    std::string* into = key == "id" ? id : key == "type" ? type : nullptr;
    if (!into) continue;
    std::string_view value;
    if (field.value().get_string().get(value)) continue;
    into->assign(value);
  }
}

// The message of a reject line `{"line":N,"error":"..."}` written by the engine.
std::string RejectMessage(simdjson::ondemand::parser& parser, std::string_view line) {
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  std::string_view error;
  if (parser.iterate(padded).get(doc) || doc["error"].get_string().get(error)) return std::string(line);
  return std::string(error);
}

void AppendJsonArray(std::string& out, std::string_view lines) {
  out += '[';
  bool first = true;
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string_view::npos) end = lines.size();
    if (end > start) {
      if (!first) out += ',';
      out.append(lines.substr(start, end - start));
      first = false;
    }
    start = end + 1;
  }
  out += ']';
}

}  // namespace

const char* StatusName(RecordStatus s) {
  switch (s) {
    case RecordStatus::Accepted: return "accepted";
    case RecordStatus::Duplicate: return "duplicate";
    case RecordStatus::Rejected: return "rejected";
  }
  return "?";
}

std::string BatchResult::Ledger() const {
  std::string out;
  size_t size = 0;
  for (const auto& r : records) size += r.effects.size();
  out.reserve(size);
  for (const auto& r : records) out += r.effects;
  return out;
}

std::string BatchResult::Rejects() const {
  std::string out;
  for (const auto& r : records) {
    for (const auto& e : r.tick_errors) out += fmt::format("{{\"line\":{},\"error\":{}}}\n", r.line, stdlib::JsonQuote(e));
    if (r.status == RecordStatus::Rejected)
      out += fmt::format("{{\"line\":{},\"error\":{}}}\n", r.line, stdlib::JsonQuote(r.error));
  }
  return out;
}

std::string BatchResult::Json() const {
  // Sized up front: a batch's answer runs to megabytes, and regrowing it costs more than writing it.
  size_t size = 100;
  for (const auto& r : records) size += r.effects.size() + r.id.size() + r.error.size() + 96;
  std::string out;
  out.reserve(size);
  out += fmt::format("{{\"accepted\":{},\"duplicates\":{},\"rejected\":{},\"records\":[", accepted, duplicates,
                     rejected);
  for (size_t k = 0; k < records.size(); ++k) {
    const RecordOutcome& r = records[k];
    if (k) out += ',';
    out += fmt::format("{{\"line\":{},\"id\":{},\"status\":\"{}\"", r.line,
                       r.id.empty() ? std::string("null") : stdlib::JsonQuote(r.id), StatusName(r.status));
    if (r.status == RecordStatus::Rejected) out += ",\"error\":" + stdlib::JsonQuote(r.error);
    out += ",\"effects\":";
    // null, unlike [], says "not known": a duplicate whose original is no longer kept.
    if (r.forgotten) out += "null";
    else AppendJsonArray(out, r.effects);
    if (!r.tick_errors.empty()) {
      out += ",\"tick_errors\":[";
      for (size_t e = 0; e < r.tick_errors.size(); ++e) out += (e ? "," : "") + stdlib::JsonQuote(r.tick_errors[e]);
      out += ']';
    }
    out += '}';
  }
  out += "]}";
  return out;
}

std::string ClientToJson(const checked::Program& p, const runtime::ClientState& c) {
  using runtime::FormatValueJson;
  std::string out = fmt::format("{{\"id\":{},\"since\":\"{}\"", stdlib::JsonQuote(c.id), stdlib::FormatTime(c.since));
  auto object = [&](const char* key, size_t n, auto name, auto value) {
    out += fmt::format(",\"{}\":{{", key);
    for (size_t k = 0; k < n; ++k) out += fmt::format("{}{}:{}", k ? "," : "", stdlib::JsonQuote(name(k)), value(k));
    out += "}";
  };
  object(
      "attributes", p.client_fields.size(), [&](size_t k) { return p.client_fields[k].name; },
      [&](size_t k) { return FormatValueJson(p, p.client_fields[k].type, c.attrs[k]); });
  object(
      "wallets", p.wallets.size(), [&](size_t k) { return p.wallets[k].name; },
      [&](size_t k) { return FormatValueJson(p, p.wallets[k].type, Value::Int(c.wallets[k])); });
  object(
      "vars", p.vars.size(), [&](size_t k) { return p.vars[k].name; },
      [&](size_t k) { return FormatValueJson(p, p.vars[k].type, c.vars[k]); });
  out += ",\"tier\":" + (p.tiers.empty() ? std::string("null") : FormatValueJson(p, Type::Tier, Value::Int(c.tier)));
  object(
      "segments", p.segments.size(), [&](size_t k) { return p.segments[k].name; },
      [&](size_t k) { return std::string(c.segments[k] ? "true" : "false"); });
  out += ",\"badges\":[";
  for (size_t k = 0; k < c.badges.size(); ++k) out += (k ? "," : "") + stdlib::JsonQuote(c.badges[k]);
  out += "]}";
  return out;
}

// What an accepted record produced, kept to answer its retries.
struct Answer {
  uint64_t number = 0;  // order of remembering: tells a stale expiry entry from a newer answer
  int64_t time = 0;
  std::string effects;
};

struct Session::Impl {
  mutable std::mutex mu;
  SessionOptions options;
  std::unique_ptr<checked::Program> program;
  std::unique_ptr<runtime::Evaluator> evaluator;
  std::unique_ptr<runtime::Engine> engine;
  simdjson::ondemand::parser parser;

  std::unordered_map<std::string, Answer> answers;
  std::deque<std::tuple<int64_t, uint64_t, std::string>> answer_order;  // (time, number, id), oldest first
  uint64_t answers_remembered = 0;
  size_t answer_bytes = 0;

  uint64_t batches = 0;
  uint64_t retries_answered = 0;
  uint64_t program_version = 1;

  void Remember(const std::string& id, int64_t time, std::string effects) {
    Answer& a = answers[id];
    answer_bytes -= a.effects.size();
    a.number = ++answers_remembered;
    a.time = time;
    a.effects = std::move(effects);
    answer_bytes += a.effects.size() + id.size();
    answer_order.emplace_back(time, a.number, id);
  }

  // Forgets answers the engine has forgotten the id of, then the oldest past the byte budget.
  void Expire() {
    const int64_t clock = engine->clock();
    while (!answer_order.empty()) {
      auto& [time, number, id] = answer_order.front();
      if (clock - time <= kAnswerWindow && answer_bytes <= options.answer_bytes) break;
      auto it = answers.find(id);
      if (it != answers.end() && it->second.number == number) {
        answer_bytes -= it->second.effects.size() + id.size();
        answers.erase(it);
      }
      answer_order.pop_front();
    }
  }

  void ProcessOne(std::string_view line, uint64_t number, BatchResult* out) {
    runtime::Engine& e = *engine;
    const runtime::RunStats before = e.stats();
    const size_t ledger_at = e.ledger().size(), rejects_at = e.rejects().size();
    e.ProcessLine(line, number);
    const runtime::RunStats& after = e.stats();
    if (after.records == before.records) return;  // a blank line

    RecordOutcome r;
    r.line = number;
    std::string type;
    PeekRecord(parser, line, &r.id, &type);
    r.effects.assign(e.ledger(), ledger_at, std::string::npos);
    // Reject lines: day ticks that failed for a client, then (for a rejected record) its own.
    std::vector<std::string> rejects;
    for (size_t at = rejects_at; at < e.rejects().size();) {
      size_t end = e.rejects().find('\n', at);
      rejects.push_back(RejectMessage(parser, std::string_view(e.rejects()).substr(at, end - at)));
      at = end + 1;
    }
    if (after.duplicates > before.duplicates) {
      r.status = RecordStatus::Duplicate;
      ++out->duplicates;
      auto it = answers.find(r.id);
      if (it != answers.end()) {
        r.effects = it->second.effects;
        ++retries_answered;
      } else {
        r.forgotten = true;
      }
    } else if (after.accepted > before.accepted) {
      r.status = RecordStatus::Accepted;
      ++out->accepted;
      // An accepted record's time is the clock now; ticks are never remembered as ids.
      if (!r.id.empty() && type != "tick") Remember(r.id, e.clock(), r.effects);
    } else {
      r.status = RecordStatus::Rejected;
      ++out->rejected;
      if (!rejects.empty()) {
        r.error = std::move(rejects.back());
        rejects.pop_back();
      }
    }
    r.tick_errors = std::move(rejects);
    out->records.push_back(std::move(r));
  }
};

Session::Session() : impl_(std::make_unique<Impl>()) {}
Session::~Session() = default;

std::unique_ptr<Session> Session::OpenFile(const std::string& path, const SessionOptions& options, Error* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = {ErrorCode::Io, fmt::format("cannot read the program {}", path)};
    return nullptr;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return Open(path, ss.str(), options, error);
}

std::unique_ptr<Session> Session::Open(const std::string& name, const std::string& source,
                                       const SessionOptions& options, Error* error) {
  if (!options.state_path.empty()) {
    *error = {ErrorCode::State, "durable state is not available in this build yet; open without a state path"};
    return nullptr;
  }
  std::unique_ptr<Session> s(new Session());
  Impl& m = *s->impl_;
  m.options = options;
  Diagnostics diags(name, source);
  m.program = CompileProgram(source, diags);
  if (diags.HasErrors() || !m.program) {
    *error = {ErrorCode::Program, diags.Render(false)};
    return nullptr;
  }
  for (const auto& p : options.params) {
    auto eq = p.find('=');
    std::string why;
    if (eq == std::string::npos) {
      *error = {ErrorCode::Param, fmt::format("a param override takes NAME=VALUE, got `{}`", p)};
      return nullptr;
    }
    if (!OverrideParam(*m.program, p.substr(0, eq), p.substr(eq + 1), &why)) {
      *error = {ErrorCode::Param, why};
      return nullptr;
    }
  }
  std::string why;
  m.evaluator = runtime::CreateEvaluator(options.engine, *m.program, &why);
  if (!m.evaluator) {
    *error = {ErrorCode::Internal, why};
    return nullptr;
  }
  m.engine = std::make_unique<runtime::Engine>(*m.program, m.evaluator.get());
  return s;
}

bool Session::Process(std::string_view jsonl, BatchResult* out, Error* error) {
  Impl& m = *impl_;
  *out = BatchResult();
  std::lock_guard lock(m.mu);
  uint64_t number = 0;
  size_t start = 0;
  while (start < jsonl.size()) {
    size_t end = jsonl.find('\n', start);
    if (end == std::string_view::npos) end = jsonl.size();
    std::string_view line = jsonl.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    m.ProcessOne(line, ++number, out);
    start = end + 1;
  }
  // In memory, the engine's buffers have nothing left to give: the outcomes hold the lines.
  m.engine->ledger().clear();
  m.engine->rejects().clear();
  m.Expire();
  ++m.batches;
  return true;
}

bool Session::ClientJson(std::string_view id, std::string* out) const {
  std::lock_guard lock(impl_->mu);
  const runtime::ClientState* c = impl_->engine->FindClient(id);
  if (!c) return false;
  *out = ClientToJson(*impl_->program, *c);
  return true;
}

SessionStats Session::Stats() const {
  std::lock_guard lock(impl_->mu);
  SessionStats s;
  s.engine = impl_->engine->stats();
  s.batches = impl_->batches;
  s.retries_answered = impl_->retries_answered;
  s.answers_kept = impl_->answers.size();
  s.program_version = impl_->program_version;
  s.program_name = impl_->program->name;
  return s;
}

}  // namespace perk::embed
