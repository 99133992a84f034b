// Durable engine state (`perk run --state`): an SQLite database in WAL mode that holds every
// client, the engine-wide state, the dedup window, the position in the input and the
// program's schema, committed in groups of records together with the ledger and reject lines
// they produced, so that a process killed at any instant resumes as if nothing had happened.
// See docs/state.md for the protocol and why it is exactly-once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/checked.h"
#include "runtime/engine.h"
#include "runtime/snapshot.h"

namespace perk::runtime {

struct StoreOptions {
  // The append-only outputs the state continues: both must be files. Empty for a read-only
  // store (inspection), which opens no outputs and can neither process nor commit.
  std::string ledger_path;
  std::string rejects_path;
  bool read_only = false;
  // Names whose data a program upgrade may drop (`--allow-drop`).
  std::vector<std::string> allow_drop;
  // Group commit: a batch ends after this many records, this many milliseconds, or this many
  // bytes of ledger and rejects, whichever comes first.
  uint64_t batch_records = 100000;
  uint64_t batch_millis = 250;
  uint64_t batch_bytes = 16u << 20;
  // Truncate output bytes past the last commit at open, instead of checking that this run
  // reproduces them. For `perk serve`, which answers effects only once committed: bytes past
  // the commit were never given to anyone, and a CRM's retries need not come in the old order.
  bool discard_unconfirmed = false;
};

// Where the last committed record ended in its input, and enough of that input to recognise
// it again: the first bytes of the stream and the last line read.
struct InputPosition {
  bool seekable = false;  // false for pipes: a later run cannot continue them by position
  uint64_t offset = 0;    // bytes consumed, through the last committed line's newline
  uint64_t line = 0;      // its line number
  uint64_t head_length = 0;
  uint64_t head_hash = 0;
  std::string last_line;
};

// What `perk state S stats` prints besides the engine's totals.
struct StoreInfo {
  std::string program;
  std::string identity;  // hex
  uint64_t clients = 0;
  uint64_t remembered_ids = 0;
  uint64_t ledger_bytes = 0;
  uint64_t rejects_bytes = 0;
  uint64_t commits = 0;
  uint64_t file_bytes = 0;  // the database, its WAL included
  uint64_t live_bytes = 0;  // the database's pages in use (freed pages are reused, not returned)
  // Bytes past the committed length that an interrupted run left in the ledger and rejects
  // files and that this run has not reproduced yet (0 in a finished run).
  uint64_t ledger_unconfirmed = 0;
  uint64_t rejects_unconfirmed = 0;
  // Time this process spent on the state (read after Commit): CPU time packing batches on the
  // engine thread; on the writer thread, wall time writing and syncing the outputs and in the
  // SQLite transactions (waits for the disk included), and its CPU time.
  double collect_millis = 0, output_millis = 0, sql_millis = 0, writer_cpu_millis = 0;
  uint64_t client_rows = 0, client_bytes = 0;  // clients written (one row per changed client per batch)
  InputPosition input;
};

class Store {
 public:
  // Opens the state at `path` for `program`, creating it when the file does not exist (or is
  // an empty database). Refuses, changing nothing, a file that is not a Perk state, one written
  // by a newer format, a corrupt one, a program upgrade that loses data, and outputs that do
  // not continue what the state committed. Restores the engine and finishes writing the
  // outputs of the last commit when a crash interrupted them. `program` must outlive the store;
  // `evaluator` as for Engine. Notes for the user (an upgrade's resets) go to *notes.
  static std::unique_ptr<Store> Open(const std::string& path, const checked::Program& program, Evaluator* evaluator,
                                     const StoreOptions& options, std::string* error, std::vector<std::string>* notes);

  // Opens a state read-only for inspection; engine() is built on the stored schema.
  static std::unique_ptr<Store> OpenForReading(const std::string& path, std::string* error);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Engine& engine();
  const checked::Program& program() const;  // the program, or the stored schema's skeleton
  StoreInfo Info() const;

  // `perk state verify`: whether `file` holds what the state committed to its ledger (or, with
  // `rejects`, its rejects file), checked as Open checks it (runtime/ledger_check.h). True with
  // what was checked in *report; false with where the file stops matching in *report.
  bool VerifyOutput(bool rejects, const std::string& file, std::string* report) const;

  // Where to continue reading the input at `events_path` ("-" for stdin): past the last
  // committed line when the file is the stream the state stopped in, else from the start
  // (ids already seen are then skipped as duplicates by the dedup window). Also remembers the
  // stream's identity for the positions committed from now on.
  InputPosition BeginInput(const std::string& events_path);

  // Feeds one input line whose bytes end at `end_offset` in the stream, then commits when the
  // batch is full. Returns false when a commit failed (error()); the state is then as of the
  // last good commit and the process should stop.
  bool ProcessLine(std::string_view line, uint64_t line_number, uint64_t end_offset);
  // Advances the engine clock (`--until`); committed with the next commit.
  void AdvanceTo(int64_t time);
  // Commits everything processed so far (end of input). False with error() on failure.
  bool Commit();

  // ---- group commit for servers (perk serve, libperk) ----
  // Batches are numbered from 1 in this process. Hands what was processed since the last
  // hand-off to the writer (if anything), waiting only while another batch waits for it; then
  // handed_off() is the number of the batch holding every record processed so far. Like
  // ProcessLine, on the thread that owns the engine. False with error() when the writer failed.
  bool Handoff();
  // Whether a hand-off now would wait for a batch ahead of it.
  bool HandoffWouldWait() const;
  uint64_t handed_off() const;
  enum class Wait { Committed, HandOff, Failed };
  // Blocks until batch `n` is committed (Committed), or until it is not yet handed off and the
  // writer could take it at once (HandOff: the caller should hand off, then wait again), or the
  // writer failed (Failed, error()). Any thread.
  Wait WaitCommitted(uint64_t n);

  // Rows of the embedder's own, committed in the same transaction as the next batch handed
  // off (perk serve keeps its retry answers here), under increasing keys. DropAnnexThrough
  // deletes the rows with keys up to `key` in the next commit.
  void AttachAnnex(uint64_t key, std::string data);
  void DropAnnexThrough(uint64_t key);
  // Every annex row in key order; call right after Open.
  bool ForEachAnnex(const std::function<void(uint64_t, std::string_view)>& f);
  const std::string& error() const;
  // The schema the state was written under (OpenForReading's program is a skeleton of it).
  const StateSchema& schema() const;

  // Encodes clients into the store's client-log rows, as a commit does (bench/store_bench.cpp).
  static void EncodeClientRows(const ClientList& clients, const std::vector<uint32_t>& which,
                               std::vector<std::string>* rows);

 private:
  Store();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace perk::runtime
