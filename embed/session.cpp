// The session behind libperk and `perk serve`: one engine behind one mutex, batches processed
// in arrival order, and a map from event id to the effects the event produced for retries.
#include "embed/session.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "compiler/compiler.h"
#include "compiler/jit_cache.h"
#include "runtime/interp.h"
#include "runtime/jsonl_sink.h"
#include "runtime/snapshot.h"
#include "runtime/store.h"
#include "stdlib/stdlib.h"

namespace perk::embed {

namespace {

// Retry answers live as long as the engine remembers ids: 30 days of event time (spec §4).
constexpr int64_t kAnswerWindow = 30 * stdlib::kMicrosPerDay;

// The `id` of an input line the engine rejected before reading its id (a malformed field
// came first), read without validating the rest: it only names the line in the answer. Empty
// when the line has no such string.
std::string PeekId(simdjson::ondemand::parser& parser, std::string_view line) {
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return {};
  simdjson::ondemand::object object;
  if (doc.get_object().get(object)) return {};
  std::string id;
  for (auto field : object) {
    std::string_view key;
    if (field.unescaped_key().get(key)) break;
    std::string_view value;
    if (key != "id" || field.value().get_string().get(value)) continue;
    id.assign(value);
  }
  return id;
}

// What the engine made of the line being processed (runtime/sink.h): its own outcome and the
// day ticks that failed on the way. Its ledger entries are the JSONL writer's lines.
struct OutcomeSink final : runtime::Sink {
  bool has_own = false;
  runtime::RecordStatus status = runtime::RecordStatus::Rejected;
  std::string id, message;
  std::vector<std::string> tick_errors;
  void Entry(const runtime::LedgerEntry&) override {}
  void Outcome(const runtime::RecordOutcome& o) override {
    if (o.status == runtime::RecordStatus::TickFailed) {
      tick_errors.emplace_back(o.message);
      return;
    }
    has_own = true;
    status = o.status;
    id.assign(o.id);
    message.assign(o.message);
  }
};

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
    for (const auto& e : r.tick_errors) runtime::AppendRejectLine(out, r.line, e);
    if (r.status == RecordStatus::Rejected) runtime::AppendRejectLine(out, r.line, r.error);
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

// What an accepted record produced, kept to answer its retries: where its effects are in the
// ledger file (with state), and the effects themselves while they are cached.
struct Answer {
  uint64_t number = 0;  // order of remembering: tells a stale queue entry from a newer answer
  int64_t time = 0;
  uint64_t offset = 0, length = 0;  // in the ledger file (with state)
  uint64_t batch = 0;               // the store batch holding the record (with state)
  bool cached = false;
  std::string effects;
};

struct Session::Impl {
  // The engine's lock: records, state and answers change under it, one batch at a time.
  mutable std::mutex mu;
  SessionOptions options;
  std::string name;
  std::unique_ptr<checked::Program> program;
  std::unique_ptr<runtime::Evaluator> evaluator;
  std::unique_ptr<runtime::Engine> memory;  // without state
  std::unique_ptr<runtime::Store> store;    // with state
  std::vector<std::string> notes;
  simdjson::ondemand::parser parser;
  OutcomeSink outcome;  // of the line being processed
  std::atomic<bool> failed{false};  // written under the lock; read without it by Failed()
  std::string failure;

  std::unordered_map<std::string, Answer> answers;
  struct Queued {
    int64_t time;
    uint64_t number, chunk;
    std::string id;
  };
  std::deque<Queued> answer_order;  // oldest first: expiry by time
  std::deque<std::pair<uint64_t, std::string>> cached_order;  // (number, id) of cached effects, oldest first
  uint64_t answers_remembered = 0;
  size_t cached_bytes = 0;

  // With state: the ledger file (read back for answers that are no longer cached), the file
  // offset where the engine's ledger buffer will land, the annex rows of answers.
  int ledger_fd = -1;
  uint64_t ledger_base = 0;
  uint64_t annex_key = 0;
  std::string annex_rows;  // answers of the current request, encoded
  uint64_t known_committed = 0;  // batches known to be committed
  bool open_work = false;        // records processed and not yet handed off
  // A reload swaps the store only when no thread waits on it: `waiting` counts threads in
  // WaitDurable, and while `reloading` new work waits (it is delayed, never dropped).
  std::condition_variable idle;
  int waiting = 0;
  bool reloading = false;

  uint64_t batches = 0;
  uint64_t retries_answered = 0;
  uint64_t program_version = 1;
  std::string identity;

  ~Impl() {
    if (ledger_fd >= 0) ::close(ledger_fd);
  }

  runtime::Engine& engine() { return store ? store->engine() : *memory; }
  const runtime::Engine& engine() const { return store ? store->engine() : *memory; }

  runtime::StoreOptions StoreOptionsFor(const std::vector<std::string>& allow_drop) const {
    runtime::StoreOptions so;
    so.ledger_path = options.ledger_path;
    so.rejects_path = options.rejects_path;
    so.allow_drop = allow_drop;
    // Batches are cut by the session (one per hand-off), never inside a request: a record's
    // effects must stay in the engine's buffer until the session has read them.
    so.batch_records = UINT64_MAX;
    so.batch_bytes = UINT64_MAX;
    so.batch_millis = uint64_t{1} << 40;
    so.discard_unconfirmed = true;
    return so;
  }

  // Opens the store for `p` and reads back the retry answers it holds.
  bool OpenStore(const checked::Program& p, runtime::Evaluator* ev, const std::vector<std::string>& allow_drop,
                 std::vector<std::string>* open_notes, Error* error) {
    std::string why;
    auto s = runtime::Store::Open(options.state_path, p, ev, StoreOptionsFor(allow_drop), &why, open_notes);
    if (!s) {
      *error = {ErrorCode::State, why};
      return false;
    }
    s->BeginInput("-");  // records come from requests: no input position to continue by
    ledger_base = s->Info().ledger_bytes;
    store = std::move(s);
    return true;
  }

  bool LoadAnswers(Error* error) {
    answers.clear();
    answer_order.clear();
    cached_order.clear();
    cached_bytes = 0;
    const int64_t clock = engine().clock();
    bool ok = true;
    uint64_t drop = 0;
    bool ok_rows = store->ForEachAnnex([&](uint64_t key, std::string_view data) {
      annex_key = std::max(annex_key, key);
      runtime::ByteReader r(data);
      uint64_t version = 0;
      if (!r.U(&version) || version != 1) {
        ok = false;
        return;
      }
      bool live = false;
      while (!r.done()) {
        std::string id;
        int64_t time;
        uint64_t offset, length;
        if (!r.Bytes(&id) || !r.I(&time) || !r.U(&offset) || !r.U(&length)) {
          ok = false;
          return;
        }
        if (clock - time > kAnswerWindow) continue;
        live = true;
        Answer& a = answers[id];
        a = Answer{++answers_remembered, time, offset, length, 0, false, {}};
        answer_order.push_back({time, a.number, key, id});
      }
      if (!live) drop = key;
    });
    if (!ok_rows || !ok) {
      *error = {ErrorCode::State, ok_rows ? options.state_path + ": retry answers do not decode; the state is corrupt"
                                          : store->error()};
      return false;
    }
    if (drop) store->DropAnnexThrough(drop);
    return true;
  }

  void Remember(const std::string& id, int64_t time, uint64_t offset, std::string effects) {
    Answer& a = answers[id];
    if (a.cached) cached_bytes -= a.effects.size();
    a.number = ++answers_remembered;
    a.time = time;
    a.offset = offset;
    a.length = effects.size();
    a.batch = store ? store->handed_off() + 1 : 0;
    a.effects = std::move(effects);
    a.cached = true;
    cached_bytes += a.effects.size() + id.size();
    answer_order.push_back({time, a.number, annex_key + 1, id});
    cached_order.emplace_back(a.number, id);
    if (store) {
      runtime::ByteWriter w(&annex_rows);
      if (annex_rows.empty()) w.U(1);  // the row format's version
      w.Bytes(id);
      w.I(time);
      w.U(offset);
      w.U(a.length);
    }
  }

  // The effects an answer holds, read back from the ledger file when they are not cached.
  bool AnswerEffects(const Answer& a, std::string* out) {
    if (a.cached) {
      *out = a.effects;
      return true;
    }
    out->resize(a.length);
    size_t done = 0;
    while (done < a.length) {
      ssize_t n = ::pread(ledger_fd, out->data() + done, a.length - done, static_cast<off_t>(a.offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // Forgets answers the engine has forgotten the id of; then, past the byte budget, the
  // oldest effects: in memory with their answers, with state only the cached copy (the
  // ledger file still has them) once their batch is committed.
  void Expire() {
    const int64_t clock = engine().clock();
    uint64_t drop_through = 0;
    while (!answer_order.empty()) {
      const Queued& q = answer_order.front();
      if (clock - q.time <= kAnswerWindow && (store || cached_bytes <= options.answer_bytes)) break;
      auto it = answers.find(q.id);
      if (it != answers.end() && it->second.number == q.number) {
        if (it->second.cached) cached_bytes -= it->second.effects.size() + q.id.size();
        answers.erase(it);
      }
      // Answers are remembered in time order, so every row before this one's is spent.
      if (q.chunk > 1) drop_through = q.chunk - 1;
      answer_order.pop_front();
    }
    if (store && drop_through) store->DropAnnexThrough(drop_through);
    while (store && cached_bytes > options.answer_bytes && !cached_order.empty()) {
      auto& [number, id] = cached_order.front();
      auto it = answers.find(id);
      if (it != answers.end() && it->second.number == number && it->second.cached) {
        if (it->second.batch > known_committed) break;
        cached_bytes -= it->second.effects.size() + id.size();
        it->second.cached = false;
        std::string().swap(it->second.effects);
      }
      cached_order.pop_front();
    }
  }

  void ProcessOne(std::string_view line, uint64_t number, BatchResult* out) {
    runtime::Engine& e = engine();
    if (options.boundary.any()) {
      std::optional<int64_t> clock;
      if (e.has_clock()) clock = e.clock();
      std::string why = CheckBoundary(parser, line, options.boundary, clock, WallClockMicros());
      if (!why.empty()) {
        // Rejected here, as the engine would reject it: a reject line (in the rejects file
        // with state) and an outcome; the engine never sees the record.
        // With state it is written with the next batch the store commits.
        e.rejects() += fmt::format("{{\"line\":{},\"error\":{}}}\n", number, stdlib::JsonQuote(why));
        RecordOutcome r;
        r.line = number;
        r.id = PeekId(parser, line);
        r.status = RecordStatus::Rejected;
        r.error = std::move(why);
        ++out->rejected;
        out->records.push_back(std::move(r));
        return;
      }
    }
    const size_t ledger_at = e.ledger().size();
    // Attached for this line only: the engine behind a store or a reload changes.
    outcome = OutcomeSink{};
    e.AddSink(&outcome);
    if (store) {
      store->ProcessLine(line, number, 0);
      open_work = true;
    } else {
      e.ProcessLine(line, number);
    }
    e.RemoveSink(&outcome);
    if (!outcome.has_own) return;  // a blank line

    RecordOutcome r;
    r.line = number;
    r.id = outcome.status == RecordStatus::Rejected && outcome.id.empty() ? PeekId(parser, line) : outcome.id;
    r.effects.assign(e.ledger(), ledger_at, std::string::npos);
    r.tick_errors = std::move(outcome.tick_errors);
    if (outcome.status == RecordStatus::Duplicate) {
      r.status = RecordStatus::Duplicate;
      ++out->duplicates;
      auto it = answers.find(r.id);
      if (it != answers.end() && AnswerEffects(it->second, &r.effects)) {
        ++retries_answered;
      } else {
        r.effects.clear();
        r.forgotten = true;
      }
    } else if (outcome.status == RecordStatus::Accepted) {
      r.status = RecordStatus::Accepted;
      ++out->accepted;
      // An accepted record's time is the clock now. A tick with an id is remembered like any
      // record (docs/semantics.md, Dedup): its retry answers the day ticks it ran.
      if (!r.id.empty()) Remember(r.id, e.clock(), ledger_base + ledger_at, r.effects);
    } else {
      r.status = RecordStatus::Rejected;
      ++out->rejected;
      r.error = std::move(outcome.message);
    }
    out->records.push_back(std::move(r));
  }

  // Under the lock: hands the records processed so far to the store's writer. The engine's
  // ledger buffer goes with them, to be written where ledger_base says.
  bool HandOff() {
    const uint64_t size = engine().ledger().size();
    if (!store->Handoff()) return Fail(store->error());
    ledger_base += size;
    open_work = false;
    return true;
  }

  bool Fail(const std::string& why) {
    failed = true;
    failure = "the state could not be committed, so this session stopped: " + why;
    return false;
  }

  // Waits, without the lock, until batch `n` is committed, handing the open batch off when
  // the writer is ready for it: so the records of requests that arrive while a commit is being
  // written share the next commit (group commit).
  bool WaitDurable(std::unique_lock<std::mutex>& lock, uint64_t n, Error* error) {
    if (!store || n == 0) return true;
    if (!store->HandoffWouldWait() && !HandOff()) {
      *error = {ErrorCode::State, failure};
      return false;
    }
    ++waiting;
    bool ok = true;
    lock.unlock();
    for (;;) {
      runtime::Store::Wait w = store->WaitCommitted(n);
      if (w == runtime::Store::Wait::Committed) break;
      lock.lock();
      if (w == runtime::Store::Wait::Failed) {
        Fail(store->error());
        ok = false;
        break;
      }
      if (store->handed_off() < n && !store->HandoffWouldWait() && !HandOff()) {
        ok = false;
        break;
      }
      lock.unlock();
    }
    if (ok) {
      lock.lock();
      known_committed = std::max(known_committed, n);
    } else {
      *error = {ErrorCode::State, failure};
    }
    if (--waiting == 0) idle.notify_all();
    return ok;
  }

  // The batch that holds everything processed so far: the open one when it holds records not
  // yet handed off, else the last one handed off (which may still be in flight); 0 without state.
  uint64_t PendingBatch() const {
    if (!store) return 0;
    return store->handed_off() + (open_work ? 1 : 0);
  }
};

Session::Session() : impl_(std::make_unique<Impl>()) {}

Session::~Session() {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  // Everything answered is committed already; this commits a last hand-off of annex deletions.
  if (m.store && !m.failed) m.store->Commit();
}

std::unique_ptr<Session> Session::OpenFile(const std::string& path, const SessionOptions& options, Error* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = {ErrorCode::Io, fmt::format("cannot read the program {}", path)};
    return nullptr;
  }
  // Read no more than the compiler's cap allows (plus one byte to see it is over): a program
  // path such as /dev/zero must not be read whole first.
  constexpr size_t kMaxProgramBytes = size_t{1} << 20;
  std::string source(kMaxProgramBytes + 1, '\0');
  in.read(source.data(), static_cast<std::streamsize>(source.size()));
  source.resize(static_cast<size_t>(in.gcount()));
  if (source.size() > kMaxProgramBytes) {
    *error = {ErrorCode::Io, fmt::format("the program {} is larger than {} bytes, the most Perk reads", path,
                                         kMaxProgramBytes)};
    return nullptr;
  }
  return Open(path, source, options, error);
}

namespace {

// Parses, checks, applies params and compiles: everything a program version needs before it
// can be swapped in.
bool Compile(const std::string& name, const std::string& source, const std::vector<std::string>& params,
             runtime::EngineKind kind, const std::string& jit_cache, std::unique_ptr<checked::Program>* program,
             std::unique_ptr<runtime::Evaluator>* evaluator, Error* error) {
  Diagnostics diags(name, source);
  *program = CompileProgram(source, diags);
  if (diags.HasErrors() || !*program) {
    *error = {ErrorCode::Program, diags.Render(false)};
    return false;
  }
  for (const auto& p : params) {
    auto eq = p.find('=');
    std::string why;
    if (eq == std::string::npos) {
      *error = {ErrorCode::Param, fmt::format("a param override takes NAME=VALUE, got `{}`", p)};
      return false;
    }
    if (!OverrideParam(**program, p.substr(0, eq), p.substr(eq + 1), &why)) {
      *error = {ErrorCode::Param, why};
      return false;
    }
  }
  std::string why;
  *evaluator = runtime::CreateEvaluator(kind, **program, &why, -1, jit_cache);
  if (!*evaluator) {
    *error = {ErrorCode::Internal, why};
    return false;
  }
  return true;
}

}  // namespace

std::unique_ptr<Session> Session::Open(const std::string& name, const std::string& source,
                                       const SessionOptions& options, Error* error) {
  std::unique_ptr<Session> s(new Session());
  Impl& m = *s->impl_;
  m.options = options;
  // Resolved once, so that program reloads use the directory the first load did.
  if (!m.options.jit_cache) m.options.jit_cache = jit::ResolveCacheDir("", false, options.state_path);
  m.name = name;
  if (!Compile(name, source, options.params, options.engine, *m.options.jit_cache, &m.program, &m.evaluator, error))
    return nullptr;
  m.identity = runtime::IdentityHex(runtime::ProgramIdentity(*m.program));
  if (options.state_path.empty()) {
    m.memory = std::make_unique<runtime::Engine>(*m.program, m.evaluator.get());
    return s;
  }
  if (m.options.ledger_path.empty()) m.options.ledger_path = options.state_path + ".ledger.jsonl";
  if (m.options.rejects_path.empty()) m.options.rejects_path = options.state_path + ".rejects.jsonl";
  // A program change that would drop data is its own error, so that callers can tell it apart.
  {
    std::string why;
    auto existing = runtime::Store::OpenForReading(options.state_path, &why);
    if (existing) {
      // The stored schema, not the skeleton program's: rules' limits and budgets are in it.
      runtime::StateSchema schema = existing->schema();
      existing.reset();
      runtime::UpgradePlan plan = runtime::PlanUpgrade(schema, *m.program, options.allow_drop);
      if (!plan.lost.empty()) {
        std::string list;
        for (const auto& l : plan.lost) list += "\n  " + l;
        *error = {ErrorCode::Upgrade,
                  fmt::format("{}: the program no longer keeps data this state holds:{}\n{}. Nothing was changed",
                              options.state_path, list, runtime::LostAdvice(plan, "--allow-drop NAME"))};
        return nullptr;
      }
    }
  }
  if (!m.OpenStore(*m.program, m.evaluator.get(), options.allow_drop, &m.notes, error)) return nullptr;
  m.ledger_fd = ::open(m.options.ledger_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (m.ledger_fd < 0) {
    *error = {ErrorCode::Io, fmt::format("cannot read the ledger {}: {}", m.options.ledger_path, std::strerror(errno))};
    return nullptr;
  }
  if (!m.LoadAnswers(error)) return nullptr;
  return s;
}

bool Session::Process(std::string_view jsonl, BatchResult* out, Error* error) {
  Impl& m = *impl_;
  *out = BatchResult();
  std::unique_lock lock(m.mu);
  m.idle.wait(lock, [&] { return !m.reloading; });
  if (m.failed) {
    *error = {ErrorCode::State, m.failure};
    return false;
  }
  uint64_t number = 0;
  // As in `perk run`'s input, a UTF-8 byte order mark at the start of a body is not data.
  size_t start = jsonl.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  while (start < jsonl.size()) {
    size_t end = jsonl.find('\n', start);
    if (end == std::string_view::npos) end = jsonl.size();
    std::string_view line = jsonl.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    m.ProcessOne(line, ++number, out);
    start = end + 1;
  }
  ++m.batches;
  if (!m.store) {
    // In memory, the engine's buffers have nothing left to give: the outcomes hold the lines.
    m.engine().ledger().clear();
    m.engine().rejects().clear();
    m.Expire();
    return true;
  }
  if (!m.annex_rows.empty()) {
    m.store->AttachAnnex(++m.annex_key, std::move(m.annex_rows));
    m.annex_rows.clear();
    m.open_work = true;
  }
  if (!m.WaitDurable(lock, m.PendingBatch(), error)) {
    *out = BatchResult();
    return false;
  }
  m.Expire();
  return true;
}

bool Session::ClientJson(std::string_view id, std::string* out) const {
  Impl& m = *impl_;
  std::unique_lock lock(m.mu);
  m.idle.wait(lock, [&] { return !m.reloading; });
  const runtime::ClientState* c = m.engine().FindClient(id);
  if (!c) return false;
  *out = runtime::ClientStateJson(*m.program, *c);
  // What was read may come from a batch still being committed: answer once it is durable.
  Error error;
  return m.WaitDurable(lock, m.PendingBatch(), &error);
}

bool Session::Reload(const std::string& name, const std::string& source, const std::vector<std::string>& params,
                     const std::vector<std::string>& allow_drop, ReloadResult* result, Error* error) {
  Impl& m = *impl_;
  // Compiling takes the longest; records go on meanwhile.
  std::unique_ptr<checked::Program> program;
  std::unique_ptr<runtime::Evaluator> evaluator;
  if (!Compile(name, source, params, m.options.engine, *m.options.jit_cache, &program, &evaluator, error)) return false;

  std::unique_lock lock(m.mu);
  m.idle.wait(lock, [&] { return !m.reloading; });
  if (m.failed) {
    *error = {ErrorCode::State, m.failure};
    return false;
  }
  runtime::UpgradePlan plan = runtime::PlanUpgrade(runtime::SchemaOf(*m.program), *program, allow_drop);
  if (!plan.lost.empty()) {
    std::string list;
    for (const auto& l : plan.lost) list += "\n  " + l;
    *error = {ErrorCode::Upgrade, fmt::format("the new program no longer keeps data the state holds:{}\n{}; the old "
                                              "version goes on serving",
                                              list, runtime::LostAdvice(plan, "allow_drop=NAME"))};
    return false;
  }
  result->notes.clear();
  if (m.store) {
    // Everything processed is committed first; then the state is reopened for the new
    // program, which upgrades it in one transaction (runtime/store.h).
    if (!m.store->Commit()) {
      m.Fail(m.store->error());
      *error = {ErrorCode::State, m.failure};
      return false;
    }
    m.open_work = false;
    // Threads still waiting on the old store see their batches committed and leave; new work
    // waits for the swap.
    m.reloading = true;
    m.idle.wait(lock, [&] { return m.waiting == 0; });
    struct Done {
      Impl& m;
      ~Done() {
        m.reloading = false;
        m.idle.notify_all();
      }
    } done{m};
    m.store.reset();
    Error open_error;
    if (!m.OpenStore(*program, evaluator.get(), allow_drop, &result->notes, &open_error)) {
      // Back to the version that was serving; its state is as it left it.
      std::vector<std::string> ignored;
      Error again;
      if (!m.OpenStore(*m.program, m.evaluator.get(), m.options.allow_drop, &ignored, &again)) {
        m.Fail(again.message);
        *error = {ErrorCode::State, m.failure};
        return false;
      }
      *error = open_error;
      return false;
    }
    m.known_committed = 0;
    // Batch numbers start again with the new store: cached answers wait for no batch.
    for (auto& [id, a] : m.answers) a.batch = 0;
  } else {
    runtime::Engine& old = *m.memory;
    runtime::EngineState es = old.SaveState();
    std::vector<runtime::ClientState> clients;
    clients.reserve(old.clients().size());
    for (const auto& c : old.clients()) clients.push_back(runtime::MigrateClient(c, plan, *program));
    es.budgets = runtime::MigrateBudgets(es.budgets, plan, *program);
    std::vector<std::pair<int64_t, std::string>> remembered;
    std::vector<uint64_t> contents;
    old.ForRememberedSince(0, [&](int64_t t, std::string_view id, uint64_t content) {
      remembered.emplace_back(t, std::string(id));
      contents.push_back(content);
    });
    // [C10] What reversals remember, mapped by name as a durable reload maps it.
    runtime::ReversalMemory reversals = runtime::CopyReversalMemory(old.reversal_memory());
    if (size_t lost = runtime::MigrateReversals(&reversals, runtime::EventSignatures(*m.program),
                                                runtime::SchemaOf(*m.program), plan, *program))
      result->notes.push_back(runtime::ReversalsLostNote(lost));
    auto engine = std::make_unique<runtime::Engine>(*program, evaluator.get());
    engine->Restore(std::move(es), std::move(clients), std::move(remembered), std::move(contents));
    engine->RestoreReversalMemory(std::move(reversals));
    m.memory = std::move(engine);
    for (const auto& l : plan.dropped) result->notes.push_back("dropped: " + l);
    for (const auto& name : plan.unused_allow_drop)
      result->notes.push_back(runtime::UnusedAllowDropNote(name));
    for (const auto& l : plan.reset) result->notes.push_back(l);
  }
  // The old version's code is freed only now: no record can be using it.
  m.program = std::move(program);
  m.evaluator = std::move(evaluator);
  m.identity = runtime::IdentityHex(runtime::ProgramIdentity(*m.program));
  m.name = name;
  result->version = ++m.program_version;
  result->program_name = m.program->name;
  result->identity = m.identity;
  return true;
}

SessionStats Session::Stats() const {
  const Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  SessionStats s;
  s.engine = m.engine().stats();
  s.batches = m.batches;
  s.retries_answered = m.retries_answered;
  s.answers_kept = m.answers.size();
  s.program_version = m.program_version;
  s.program_name = m.program->name;
  s.program_identity = m.identity;
  s.durable = m.store != nullptr;
  s.failed = m.failed;
  return s;
}

BoundaryLimits Session::boundary() const {
  std::lock_guard lock(impl_->mu);
  return impl_->options.boundary;
}

void Session::SetBoundary(const BoundaryLimits& limits) {
  std::lock_guard lock(impl_->mu);
  impl_->options.boundary = limits;
}

bool Session::Failed() const { return impl_->failed.load(std::memory_order_relaxed); }

const std::vector<std::string>& Session::open_notes() const { return impl_->notes; }

}  // namespace perk::embed
