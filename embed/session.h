// A loaded program with its engine and state: the one door that libperk's C API and
// `perk serve` both go through. Processes batches of records, answers a retried event with the
// effects it first produced, and reads clients. Safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "embed/boundary.h"
#include "runtime/engine.h"

namespace perk::embed {

// Why a call failed; libperk's C API returns these as its error codes (include/perk/perk.h).
enum class ErrorCode {
  Ok = 0,
  Argument = 1,  // a bad option or argument
  Io = 2,        // a file cannot be read or written
  Program = 3,   // the program has errors; the message holds its diagnostics
  Param = 4,     // a --param override does not fit the program
  State = 5,     // durable state refused to open, or a commit failed
  NotFound = 6,  // no such client
  Internal = 7,  // a bug or an exhausted resource; the message says which
  Upgrade = 8,   // a new program version would drop data the state holds (see allow_drop)
};

struct Error {
  ErrorCode code = ErrorCode::Ok;
  std::string message;
};

struct SessionOptions {
  runtime::EngineKind engine = runtime::EngineKind::Jit;
  std::vector<std::string> params;  // NAME=VALUE overrides
  // Durable state; "" keeps the state in memory for the session's life. The ledger and
  // rejects files it continues default to STATE.ledger.jsonl and STATE.rejects.jsonl.
  std::string state_path;
  std::string ledger_path, rejects_path;
  // Names whose data a program upgrade may drop (a wallet, var or client attribute).
  std::vector<std::string> allow_drop;
  // Retry answers are kept for the dedup window (30 days of event time, spec §4) up to this
  // many bytes of effects; past it the oldest answers are forgotten first.
  size_t answer_bytes = 64u << 20;
  // The JIT's object cache directory (docs/jit.md, "Object cache"); "" for none. Unset:
  // jit::ResolveCacheDir's default (PERK_JIT_CACHE, else the user's cache directory).
  std::optional<std::string> jit_cache;
  // Checks before a record reaches the engine (embed/boundary.h): by default a record timed
  // more than 10 minutes ahead of the wall clock, or with a client id over 256 bytes, is
  // rejected; no cap on how far one record may move the clock.
  BoundaryLimits boundary{kDefaultMaxFutureMicros, std::nullopt, kDefaultMaxClientIdBytes};
};

// Accepted, Duplicate or Rejected (runtime/record_statuses.def; a record is never TickFailed).
using runtime::RecordStatus;
inline const char* StatusName(RecordStatus status) { return runtime::RecordStatusName(status); }

// What one non-blank line of a batch did.
struct RecordOutcome {
  uint64_t line = 0;  // 1-based within the batch
  RecordStatus status = RecordStatus::Rejected;
  std::string id;     // the record's id when it has one ("" otherwise)
  std::string error;  // Rejected: why
  // Ledger JSON Lines (each ending in '\n') in seq order: the day ticks the record's time
  // started, then its own entries. For a duplicate, what the original produced, unless
  // `forgotten` (the original is older than what the session keeps).
  std::string effects;
  bool forgotten = false;
  // Messages of day ticks that failed for some client while this record moved the clock.
  std::vector<std::string> tick_errors;
};

struct BatchResult {
  std::vector<RecordOutcome> records;
  uint64_t accepted = 0, duplicates = 0, rejected = 0;

  // Every record's effects in order, as ledger JSON Lines.
  std::string Ledger() const;
  // Reject lines `{"line":N,"error":"..."}`, records' and day ticks' alike.
  std::string Rejects() const;
  // The JSON object `perk serve` answers (docs/serve.md).
  std::string Json() const;
};

struct SessionStats {
  runtime::RunStats engine;  // totals since the session (or its state) began
  uint64_t batches = 0;
  uint64_t retries_answered = 0;  // duplicates answered with their original effects
  uint64_t answers_kept = 0;
  uint64_t program_version = 1;   // 1, then +1 per reload
  std::string program_name;
  std::string program_identity;   // hex hash of the checked program (runtime/snapshot.h)
  bool durable = false;
  bool failed = false;            // a commit failed: the session refuses further work
};

// What a program reload did.
struct ReloadResult {
  uint64_t version = 0;
  std::string program_name, identity;
  std::vector<std::string> notes;  // the upgrade's resets and drops
};

class Session {
 public:
  // Loads, checks and compiles a program from its source text (`name` labels diagnostics).
  static std::unique_ptr<Session> Open(const std::string& name, const std::string& source,
                                       const SessionOptions& options, Error* error);
  static std::unique_ptr<Session> OpenFile(const std::string& path, const SessionOptions& options, Error* error);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Processes a JSON Lines batch (one record is a batch of one) in order. Returns once its
  // effects are durable (with state; at once in memory). Rejected records are outcomes, not
  // errors; false only when the engine itself failed (a commit), and then nothing is answered.
  bool Process(std::string_view jsonl, BatchResult* out, Error* error);

  // A client's state as a JSON object, or false when the client is unknown. With state, what
  // it shows is durable before it is returned.
  bool ClientJson(std::string_view id, std::string* out) const;

  // Loads a new version of the program: compiled while records go on being processed, then
  // swapped in between two batches, the state upgraded as a program change on open would
  // (runtime/store.h; dropping data is refused unless `allow_drop` names it). On failure the old
  // version keeps serving. `params` apply to the new version (the old ones do not carry over).
  bool Reload(const std::string& name, const std::string& source, const std::vector<std::string>& params,
              const std::vector<std::string>& allow_drop, ReloadResult* result, Error* error);

  SessionStats Stats() const;
  // The checks before records reach the engine (SessionOptions::boundary), changed for the
  // batches that follow.
  BoundaryLimits boundary() const;
  void SetBoundary(const BoundaryLimits& limits);
  // Whether a commit failed (the session then refuses work): without the engine's lock, so a
  // health check never waits behind a batch.
  bool Failed() const;
  // Notes from opening the state (an upgrade's resets, a discarded unconfirmed tail).
  const std::vector<std::string>& open_notes() const;

 private:
  Session();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A client as a JSON object: id, since, attributes, wallets, vars, tier, segments, badges.
std::string ClientToJson(const checked::Program& program, const runtime::ClientState& client);

}  // namespace perk::embed
