// libperk's C API (include/perk/perk.h) over embed::Session. Every entry point catches what
// C++ may throw and turns it into a status with a message: nothing unwinds into C.
#include "perk/perk.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "embed/session.h"

using perk::embed::BatchResult;
using perk::embed::Error;
using perk::embed::ErrorCode;
using perk::embed::RecordStatus;
using perk::embed::Session;
using perk::embed::SessionOptions;

struct perk_engine {
  std::unique_ptr<Session> session;
};

// The flat texts are built on first use: a caller that reads per-record effects, or only
// counts, does not pay for copies of a batch's whole ledger. A result is not shared between
// threads (perk.h), so the lazy fill needs no lock.
struct perk_result {
  BatchResult batch;
  std::string ledger, rejects, json;
  bool ledger_ready = false, rejects_ready = false, json_ready = false;
  uint64_t effects = 0;
};

namespace {

thread_local std::string last_error;

perk_status Fail(perk_status status, std::string message) {
  last_error = std::move(message);
  return status;
}

perk_status Fail(const Error& e) { return Fail(static_cast<perk_status>(e.code), e.message); }

// Runs `body`, turning exceptions into statuses; clears the thread's error on success.
template <typename F>
perk_status Guard(F&& body) {
  try {
    perk_status s = body();
    if (s == PERK_SUCCESS) last_error.clear();
    return s;
  } catch (const std::bad_alloc&) {
    return Fail(PERK_ERR_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return Fail(PERK_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return Fail(PERK_ERR_INTERNAL, "internal error");
  }
}

// Reads the options a caller's struct holds, up to its declared size (an older caller's
// smaller struct leaves later fields at their defaults).
perk_status ReadOptions(const perk_options* in, SessionOptions* out) {
  perk_options o;
  perk_options_init(&o);
  if (in) {
    if (in->size < offsetof(perk_options, engine) + sizeof(o.engine) || in->size > sizeof(perk_options))
      return Fail(PERK_ERR_ARGUMENT, "perk_options.size must be sizeof(perk_options); call perk_options_init first");
    std::memcpy(&o, in, in->size);
  }
  if (!o.engine || std::strcmp(o.engine, "jit") == 0) out->engine = perk::runtime::EngineKind::Jit;
  else if (std::strcmp(o.engine, "interp") == 0) out->engine = perk::runtime::EngineKind::Interp;
  else return Fail(PERK_ERR_ARGUMENT, std::string("engine must be \"jit\" or \"interp\", got \"") + o.engine + "\"");
  if (o.state_path) out->state_path = o.state_path;
  if (o.param_count && !o.params) return Fail(PERK_ERR_ARGUMENT, "param_count is set but params is NULL");
  for (size_t k = 0; k < o.param_count; ++k) {
    if (!o.params[k]) return Fail(PERK_ERR_ARGUMENT, "params holds a NULL string");
    out->params.emplace_back(o.params[k]);
  }
  if (o.allow_drop_count && !o.allow_drop) return Fail(PERK_ERR_ARGUMENT, "allow_drop_count is set but allow_drop is NULL");
  for (size_t k = 0; k < o.allow_drop_count; ++k) {
    if (!o.allow_drop[k]) return Fail(PERK_ERR_ARGUMENT, "allow_drop holds a NULL string");
    out->allow_drop.emplace_back(o.allow_drop[k]);
  }
  return PERK_SUCCESS;
}

perk_status Opened(std::unique_ptr<Session> session, const Error& error, perk_engine** out) {
  if (!session) return Fail(error);
  *out = new perk_engine{std::move(session)};
  return PERK_SUCCESS;
}

const char* Give(const std::string& s, size_t* length) {
  if (length) *length = s.size();
  return s.c_str();
}

// Fills a lazily built text of a result; "" (with the error set) when memory runs out.
const char* Lazy(const perk_result* result, std::string perk_result::*text, bool perk_result::*ready,
                 std::string (BatchResult::*build)() const, size_t* length) {
  static const std::string empty;
  if (!result) return Give(empty, length);
  auto* r = const_cast<perk_result*>(result);
  if (!(r->*ready)) {
    try {
      r->*text = (r->batch.*build)();
      r->*ready = true;
    } catch (...) {
      Fail(PERK_ERR_INTERNAL, "out of memory");
      return Give(empty, length);
    }
  }
  return Give(r->*text, length);
}

}  // namespace

extern "C" {

const char* perk_version(void) { return "0.1.0"; }

const char* perk_last_error(void) { return last_error.c_str(); }

void perk_options_init(perk_options* options) {
  if (!options) return;
  std::memset(options, 0, sizeof(*options));
  options->size = sizeof(*options);
}

perk_status perk_open(const char* program_path, const perk_options* options, perk_engine** out) {
  return Guard([&] {
    if (!program_path || !out) return Fail(PERK_ERR_ARGUMENT, "perk_open needs a program path and an out pointer");
    *out = nullptr;
    SessionOptions so;
    if (perk_status s = ReadOptions(options, &so)) return s;
    Error error;
    auto session = Session::OpenFile(program_path, so, &error);
    return Opened(std::move(session), error, out);
  });
}

perk_status perk_open_source(const char* name, const char* source, size_t source_length, const perk_options* options,
                             perk_engine** out) {
  return Guard([&] {
    if (!source || !out) return Fail(PERK_ERR_ARGUMENT, "perk_open_source needs source text and an out pointer");
    *out = nullptr;
    SessionOptions so;
    if (perk_status s = ReadOptions(options, &so)) return s;
    Error error;
    auto session = Session::Open(name ? name : "<source>", std::string(source, source_length), so, &error);
    return Opened(std::move(session), error, out);
  });
}

void perk_close(perk_engine* engine) {
  try {
    delete engine;
  } catch (...) {
    // A destructor that throws has nothing left to report to: the engine is gone either way.
  }
}

perk_status perk_set_time_limits(perk_engine* engine, int64_t max_future_seconds, int64_t max_clock_jump_seconds) {
  return Guard([&] {
    if (!engine) return Fail(PERK_ERR_ARGUMENT, "perk_set_time_limits needs an engine");
    if (max_clock_jump_seconds < 0) return Fail(PERK_ERR_ARGUMENT, "max_clock_jump_seconds must not be negative");
    constexpr int64_t kMaxSeconds = int64_t{1} << 40;  // keeps the micros far from overflow
    if (max_future_seconds > kMaxSeconds || max_clock_jump_seconds > kMaxSeconds)
      return Fail(PERK_ERR_ARGUMENT, "a time limit is too large");
    perk::embed::BoundaryLimits limits = engine->session->boundary();
    limits.max_future.reset();
    if (max_future_seconds >= 0) limits.max_future = max_future_seconds * 1000000;
    limits.max_clock_jump.reset();
    if (max_clock_jump_seconds > 0) limits.max_clock_jump = max_clock_jump_seconds * 1000000;
    engine->session->SetBoundary(limits);
    return PERK_SUCCESS;
  });
}

perk_status perk_process(perk_engine* engine, const char* jsonl, size_t length, perk_result** out) {
  return Guard([&] {
    if (!engine || (!jsonl && length) || !out) return Fail(PERK_ERR_ARGUMENT, "perk_process needs an engine, records and an out pointer");
    *out = nullptr;
    auto result = std::make_unique<perk_result>();
    Error error;
    if (!engine->session->Process(std::string_view(jsonl ? jsonl : "", length), &result->batch, &error)) return Fail(error);
    for (const auto& r : result->batch.records)
      for (char c : r.effects) result->effects += c == '\n';
    *out = result.release();
    return PERK_SUCCESS;
  });
}

void perk_result_counts(const perk_result* result, perk_counts* counts) {
  if (!counts) return;
  *counts = perk_counts{};
  if (!result) return;
  const BatchResult& b = result->batch;
  counts->records = b.records.size();
  counts->accepted = b.accepted;
  counts->duplicates = b.duplicates;
  counts->rejected = b.rejected;
  counts->effects = result->effects;
}

perk_status perk_process_each(perk_engine* engine, const char* jsonl, size_t length, perk_effect_fn on_effect, void* user,
                              perk_counts* counts) {
  perk_result* result = nullptr;
  perk_status s = perk_process(engine, jsonl, length, &result);
  if (s != PERK_SUCCESS) return s;
  perk_result_counts(result, counts);
  // The session's lock is released by now: the callback may call into libperk again.
  if (on_effect) {
    size_t n = 0;
    const char* text = perk_result_ledger(result, &n);
    const std::string_view ledger(text, n);
    size_t start = 0;
    while (start < ledger.size()) {
      size_t end = ledger.find('\n', start);
      if (end == std::string_view::npos) end = ledger.size();
      if (on_effect(user, ledger.data() + start, end - start) != 0) break;
      start = end + 1;
    }
  }
  perk_result_free(result);
  return PERK_SUCCESS;
}

const char* perk_result_ledger(const perk_result* result, size_t* length) {
  return Lazy(result, &perk_result::ledger, &perk_result::ledger_ready, &BatchResult::Ledger, length);
}

const char* perk_result_rejects(const perk_result* result, size_t* length) {
  return Lazy(result, &perk_result::rejects, &perk_result::rejects_ready, &BatchResult::Rejects, length);
}

const char* perk_result_json(const perk_result* result, size_t* length) {
  return Lazy(result, &perk_result::json, &perk_result::json_ready, &BatchResult::Json, length);
}

size_t perk_result_record_count(const perk_result* result) { return result ? result->batch.records.size() : 0; }

perk_record_status perk_result_record_status(const perk_result* result, size_t index) {
  if (!result || index >= result->batch.records.size()) return PERK_RECORD_REJECTED;
  switch (result->batch.records[index].status) {
    case RecordStatus::Accepted: return PERK_RECORD_ACCEPTED;
    case RecordStatus::Duplicate: return PERK_RECORD_DUPLICATE;
    case RecordStatus::Rejected:
    case RecordStatus::TickFailed: return PERK_RECORD_REJECTED;
  }
  return PERK_RECORD_REJECTED;
}

const char* perk_result_record_effects(const perk_result* result, size_t index, size_t* length) {
  static const std::string empty;
  if (!result || index >= result->batch.records.size()) return Give(empty, length);
  return Give(result->batch.records[index].effects, length);
}

void perk_result_free(perk_result* result) { delete result; }

perk_status perk_client_json(perk_engine* engine, const char* client_id, char** json, size_t* length) {
  return Guard([&] {
    if (!engine || !client_id || !json) return Fail(PERK_ERR_ARGUMENT, "perk_client_json needs an engine, a client id and an out pointer");
    *json = nullptr;
    std::string out;
    if (!engine->session->ClientJson(client_id, &out))
      return Fail(PERK_ERR_NOT_FOUND, std::string("no client `") + client_id + "`");
    char* copy = static_cast<char*>(std::malloc(out.size() + 1));
    if (!copy) return Fail(PERK_ERR_INTERNAL, "out of memory");
    std::memcpy(copy, out.c_str(), out.size() + 1);
    *json = copy;
    if (length) *length = out.size();
    return PERK_SUCCESS;
  });
}

perk_status perk_stats(perk_engine* engine, perk_counts* counts) {
  return Guard([&] {
    if (!engine || !counts) return Fail(PERK_ERR_ARGUMENT, "perk_stats needs an engine and an out pointer");
    auto s = engine->session->Stats();
    counts->records = s.engine.records;
    counts->accepted = s.engine.accepted;
    counts->duplicates = s.engine.duplicates;
    counts->rejected = s.engine.rejects;
    counts->effects = s.engine.effects;
    return PERK_SUCCESS;
  });
}

void perk_free(void* pointer) { std::free(pointer); }

}  // extern "C"
