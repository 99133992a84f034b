// The durable store: SQLite (WAL) holding engine state, committed in groups with the outputs.
//
// Commit protocol (docs/state.md): a batch's ledger and reject bytes are appended to their
// files and synced first; then one transaction writes the changed clients, the dedup ids
// remembered since the last commit, the engine-wide state, the input position and the new
// committed lengths of both files. A crash before the commit leaves bytes past the committed
// length (a "tentative tail"); the restart does not truncate them, since a CRM may have read
// them, but checks that re-processing the input reproduces them byte for byte, and refuses
// to go on otherwise. So every effect appears in the ledger once, and never changes.
#include "runtime/store.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <cstdlib>
#include <cstring>

#include "runtime/ledger_check.h"

namespace perk::runtime {

namespace {

// 'PERK' in the SQLite header's application id: tells a Perk state from any other database.
constexpr int32_t kApplicationId = 0x5045524B;
// The state format, in the header's user_version. Bump on any incompatible change.
constexpr int32_t kFormatVersion = 1;
// How much of each output's end the state keeps to recognise the file.
constexpr size_t kTailBytes = 256;
// Client log rows are cut at this size (SQLite's blobs are limited to 1 GB).
constexpr size_t kLogRowBytes = 32u << 20;
// A full snapshot of the clients replaces the log once the log since the last one has grown
// past twice its size (and past this floor, so that small states are not rewritten often).
constexpr uint64_t kSnapshotFloorBytes = 4u << 20;

uint64_t Fnv(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// CPU time of the calling thread: what the store costs, apart from waiting for the disk and
// from other processes on a busy machine.
std::chrono::nanoseconds ThreadCpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

void EncodePosition(const InputPosition& p, std::string* out) {
  ByteWriter w(out);
  w.U(1);  // version
  w.U(p.seekable);
  w.U(p.offset);
  w.U(p.line);
  w.U(p.head_length);
  w.U(p.head_hash);
  w.Bytes(p.last_line);
}

bool DecodePosition(std::string_view in, InputPosition* p) {
  ByteReader r(in);
  uint64_t version, seekable;
  bool ok = r.U(&version) && version == 1 && r.U(&seekable) && r.U(&p->offset) && r.U(&p->line) &&
            r.U(&p->head_length) && r.U(&p->head_hash) && r.Bytes(&p->last_line);
  p->seekable = seekable != 0;
  return ok && r.done();
}

bool ReadAt(int fd, uint64_t offset, size_t n, std::string* out) {
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t k = ::pread(fd, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    done += static_cast<size_t>(k);
  }
  return true;
}

bool WriteAt(int fd, uint64_t offset, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t k = ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    done += static_cast<size_t>(k);
  }
  return true;
}

// Test hook for the crash test: PERK_TEST_CRASH=POINT:N kills the process with SIGKILL the
// N-th time it reaches POINT, so the windows between the steps of a commit are hit for sure.
struct CrashHook {
  std::string point;
  long remaining = 0;
  CrashHook() {
    const char* env = std::getenv("PERK_TEST_CRASH");
    if (!env) return;
    std::string_view s(env);
    size_t colon = s.find(':');
    if (colon == std::string_view::npos) return;
    point = std::string(s.substr(0, colon));
    remaining = std::atol(std::string(s.substr(colon + 1)).c_str());
  }
  void At(const char* where) {
    if (remaining <= 0 || point != where) return;
    if (--remaining == 0) ::kill(::getpid(), SIGKILL);
  }
};

// An append-only output the state continues: the ledger or the rejects file.
struct OutputFile {
  const char* what = "";  // "ledger", "rejects"
  std::string path;
  int fd = -1;
  uint64_t committed = 0;  // bytes the state says the file holds
  uint64_t end = 0;        // the file's length: more than `committed` after a crash
  std::string tail;        // the last committed bytes (up to kTailBytes): recognises the file
  // The running hash of the committed bytes, the checkpoints the state recorded of it, and the
  // hash at `committed` (none in a state written before checksums): runtime/ledger_check.h.
  RunningHash hash;
  std::vector<Checkpoint> points;
  std::optional<uint64_t> digest;

  ~OutputFile() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

struct Store::Impl {
  std::string path;
  sqlite3* db = nullptr;
  int lock_fd = -1;
  StoreOptions options;
  const checked::Program* program = nullptr;
  std::unique_ptr<checked::Program> skeleton;  // read-only stores: the stored schema's layout
  std::unique_ptr<Engine> engine;
  StateSchema schema;
  std::string identity;
  CrashHook crash;

  OutputFile ledger, rejects;
  InputPosition position;  // of the last line processed
  uint64_t commits = 0;
  uint64_t committed_remembered = 0;  // EngineState::remembered at the last commit
  uint64_t expired_deleted = 0;       // seen chunks up to this number are deleted
  bool uncommitted = false;
  uint64_t batch_records = 0;
  std::chrono::steady_clock::time_point batch_start = std::chrono::steady_clock::now();
  std::string error;

  sqlite3_stmt* put_log = nullptr;
  sqlite3_stmt* del_log = nullptr;
  uint64_t log_seq = 0;        // the last client_log row
  uint64_t log_bytes = 0;      // client bytes logged since the last full snapshot
  uint64_t snapshot_bytes = 0;  // the last full snapshot's size
  sqlite3_stmt* put_meta = nullptr;
  sqlite3_stmt* put_seen = nullptr;
  sqlite3_stmt* del_seen = nullptr;
  sqlite3_stmt* put_annex = nullptr;
  sqlite3_stmt* del_annex = nullptr;
  sqlite3_stmt* put_reversal = nullptr;
  sqlite3_stmt* del_reversal = nullptr;
  sqlite3_stmt* put_check = nullptr;
  uint64_t committed_reversal_end = 0;  // ReversalMemory::end() at the last commit
  uint64_t reversal_deleted = 0;        // reversal rows with `last` up to this are deleted
  // The event types of the program the frame is written for, and of the one that wrote it.
  std::vector<std::string> event_signatures, stored_event_signatures;
  std::vector<uint64_t> reversed;       // reuse: the indexes reversed in the batch
  std::vector<uint32_t> dirty;
  std::string blob;
  std::vector<Checkpoint> check_points[2];  // reuse (writer thread): a commit's, ledger and rejects
  std::string check_row;

  ~Impl() {
    StopWriter();
    for (sqlite3_stmt* s : {put_log, del_log, put_meta, put_seen, del_seen, put_annex, del_annex, put_reversal, del_reversal, put_check})
      sqlite3_finalize(s);
    if (db) sqlite3_close(db);
    // Closed after SQLite: closing any descriptor of the file drops the process's POSIX locks.
    if (lock_fd >= 0) ::close(lock_fd);
  }

  std::string SqlError(const char* doing) { return fmt::format("{}: {} ({})", path, doing, sqlite3_errmsg(db)); }

  bool Exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      error = fmt::format("{}: {} failed: {}", path, sql, msg ? msg : "?");
      sqlite3_free(msg);
      return false;
    }
    return true;
  }

  bool Prepare(const char* sql, sqlite3_stmt** stmt) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) != SQLITE_OK) {
      error = SqlError("preparing a statement failed");
      return false;
    }
    return true;
  }

  // Runs a bound statement to completion and resets it.
  bool Step(sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) {
      error = SqlError("writing the state failed");
      return false;
    }
    return true;
  }

  // A one-row, one-column query; false when it returns no row.
  bool QueryInt(const char* sql, int64_t* out) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) return false;
    bool ok = sqlite3_step(s) == SQLITE_ROW;
    if (ok) *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return ok;
  }

  bool PutMeta(const char* key, std::string_view value) {
    sqlite3_bind_text(put_meta, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob64(put_meta, 2, value.data(), value.size(), SQLITE_STATIC);
    return Step(put_meta);
  }
  bool PutMetaInt(const char* key, uint64_t v) {
    sqlite3_bind_text(put_meta, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_int64(put_meta, 2, static_cast<int64_t>(v));
    return Step(put_meta);
  }

  // Reads every meta row into a map-like list.
  bool LoadMeta(std::vector<std::pair<std::string, std::string>>* rows) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT key, value FROM meta", -1, &s, nullptr) != SQLITE_OK) {
      error = SqlError("reading the state failed");
      return false;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      std::string key(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
      std::string value;
      if (sqlite3_column_type(s, 1) == SQLITE_INTEGER) {
        value = std::to_string(sqlite3_column_int64(s, 1));
      } else {
        const void* data = sqlite3_column_blob(s, 1);
        value.assign(static_cast<const char*>(data ? data : ""), sqlite3_column_bytes(s, 1));
      }
      rows->emplace_back(std::move(key), std::move(value));
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
      error = SqlError("reading the state failed");
      return false;
    }
    return true;
  }

  // Opens the database and checks that it is a Perk state this build can read. *fresh is set
  // for a database with nothing in it yet (a new file, or one whose creation was interrupted).
  bool OpenDatabase(bool read_only, bool* fresh) {
    struct stat st {};
    bool exists = ::stat(path.c_str(), &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
      error = fmt::format("{}: not a regular file", path);
      return false;
    }
    if (!exists && read_only) {
      error = fmt::format("{}: no such state file", path);
      return false;
    }
    auto open = [&](int flags) {
      if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        error = SqlError("cannot open the state");
        return false;
      }
      sqlite3_extended_result_codes(db, 1);
      return true;
    };
    // One writer at a time: a second `perk run` on the same state would interleave commits.
    auto lock = [&] {
      lock_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        error = fmt::format("{}: the state is in use by another perk process", path);
        return false;
      }
      return true;
    };
    if (!exists) {
      // A new state: nothing to check, nothing to lose.
      if (!open(SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) || !lock()) return false;
      return CheckDatabase(false, fresh);
    }
    // An existing file is checked through a read-only connection first, so that a file that
    // is refused is never written, not even by SQLite recovering or checkpointing its WAL.
    if (!read_only && !lock()) return false;
    if (!open(SQLITE_OPEN_READONLY)) return false;
    if (!CheckDatabase(read_only, fresh)) {
      // A write that was killed mid-way (before the switch to WAL, or by another SQLite
      // program) leaves a hot rollback journal, which only a writable connection can roll
      // back. Rolling back is SQLite's own recovery, giving the last committed content; the
      // file is then checked as usual.
      const int code = sqlite3_extended_errcode(db);
      if (code != SQLITE_READONLY_ROLLBACK && code != SQLITE_READONLY_RECOVERY) return false;
      sqlite3_close(db);
      db = nullptr;
      int64_t ignored = 0;
      if (!open(SQLITE_OPEN_READWRITE) || !QueryInt("PRAGMA application_id", &ignored)) {
        error = SqlError("cannot recover the state from its interrupted write (its journal)");
        return false;
      }
      sqlite3_close(db);
      db = nullptr;
      if (!open(SQLITE_OPEN_READONLY) || !CheckDatabase(read_only, fresh)) return false;
    }
    if (read_only) return true;
    sqlite3_close(db);
    db = nullptr;
    return open(SQLITE_OPEN_READWRITE);
  }

  // The header and integrity checks of OpenDatabase.
  bool CheckDatabase(bool read_only, bool* fresh) {
    int64_t app_id = 0, version = 0, objects = 0;
    if (!QueryInt("PRAGMA application_id", &app_id) || !QueryInt("PRAGMA user_version", &version) ||
        !QueryInt("SELECT count(*) FROM sqlite_master", &objects)) {
      int code = sqlite3_errcode(db);
      if (code == SQLITE_NOTADB || (code & 0xff) == SQLITE_CORRUPT)
        error = fmt::format("{}: not a Perk state file (not a database, or a corrupt one); nothing was changed", path);
      else
        error = SqlError("cannot read the state");
      return false;
    }
    if (app_id == 0 && version == 0 && objects == 0) {
      if (read_only) {
        error = fmt::format("{}: an empty state (no run has committed to it yet)", path);
        return false;
      }
      *fresh = true;
      return true;
    }
    if (app_id != kApplicationId) {
      error = fmt::format("{}: not a Perk state file (a database of another application); nothing was changed", path);
      return false;
    }
    if (version > kFormatVersion) {
      error = fmt::format(
          "{}: written by a newer Perk (state format {}; this perk reads format {}); upgrade perk to use it. Nothing "
          "was changed",
          path, version, kFormatVersion);
      return false;
    }
    if (version < kFormatVersion) {
      error = fmt::format("{}: state format {} is not supported by this perk (format {})", path, version, kFormatVersion);
      return false;
    }
    sqlite3_stmt* s = nullptr;
    std::string check = "?";
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      check = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    if (check != "ok") {
      // quick_check lists every problem it finds; the first says enough.
      check = check.substr(0, check.find('\n', check.find('\n') + 1));
      if (check.rfind("*** ", 0) == 0) check = check.substr(check.find('\n') + 1);
      error = fmt::format("{}: the state file is corrupt ({}); nothing was changed. Restore it from a backup", path, check);
      return false;
    }
    *fresh = false;
    return true;
  }

  bool Configure(bool read_only) {
    if (read_only) return Exec("PRAGMA query_only = 1");
    // WAL: a commit appends to one file and a reader never blocks the writer. FULL syncs the
    // WAL at each commit, so a commit is durable before the ledger bytes reach their file.
    sqlite3_stmt* s = nullptr;
    std::string mode;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      mode = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    if (mode != "wal") {
      error = SqlError("cannot switch the state to WAL mode");
      return false;
    }
    return Exec("PRAGMA synchronous = FULL") && Exec("PRAGMA cache_size = -65536") &&
           Exec("PRAGMA wal_autocheckpoint = 8192") && Exec("PRAGMA journal_size_limit = 67108864");
  }

  bool PrepareWrites() {
    return Prepare("INSERT INTO client_log(seq, full, data) VALUES (?, ?, ?)", &put_log) &&
           Prepare("DELETE FROM client_log WHERE seq < ?", &del_log) &&
           Prepare("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", &put_meta) &&
           Prepare("INSERT INTO seen(last, data) VALUES (?, ?)", &put_seen) &&
           Prepare("DELETE FROM seen WHERE last <= ?", &del_seen) &&
           // Added after format 1 shipped: an older state gets the (empty) table on open.
           Exec("CREATE TABLE IF NOT EXISTS annex(key INTEGER PRIMARY KEY, data BLOB NOT NULL)") &&
           Prepare("INSERT INTO annex(key, data) VALUES (?, ?)", &put_annex) &&
           Prepare("DELETE FROM annex WHERE key <= ?", &del_annex) &&
           // [C10] What reversals remember, one row per commit (`last`: the end of its events'
           // indexes; deleted once the memory begins past it). Created on open in older states.
           Exec("CREATE TABLE IF NOT EXISTS reversal(seq INTEGER PRIMARY KEY, last INTEGER NOT NULL, "
                "data BLOB NOT NULL)") &&
           Prepare("INSERT INTO reversal(seq, last, data) VALUES (?, ?, ?)", &put_reversal) &&
           Prepare("DELETE FROM reversal WHERE last <= ?", &del_reversal) &&
           // The outputs' checkpoints, one row per commit (runtime/ledger_check.h). Created on
           // open in older states, whose outputs are then checked from their next commit on.
           Exec("CREATE TABLE IF NOT EXISTS output_check(seq INTEGER PRIMARY KEY, data BLOB NOT NULL)") &&
           Prepare("INSERT INTO output_check(seq, data) VALUES (?, ?)", &put_check);
  }

  bool Create() {
    if (!Exec("BEGIN IMMEDIATE")) return false;
    bool ok = Exec("CREATE TABLE meta(key TEXT PRIMARY KEY, value BLOB NOT NULL)") &&
              // Clients as a log: each row holds (client index, encoded client) pairs that replace
              // or append clients, in row order; a `full` row starts a complete snapshot, and the
              // rows before it are deleted. A batch writes its changed clients sequentially
              // instead of rewriting the B-tree pages they would be scattered over.
              Exec("CREATE TABLE client_log(seq INTEGER PRIMARY KEY, full INTEGER NOT NULL, data BLOB NOT NULL)") &&
              // Dedup ids remembered in one commit; `last` numbers the newest of them.
              Exec("CREATE TABLE seen(last INTEGER PRIMARY KEY, data BLOB NOT NULL)") &&
              Exec(fmt::format("PRAGMA application_id = {}", kApplicationId).c_str()) &&
              Exec(fmt::format("PRAGMA user_version = {}", kFormatVersion).c_str()) && PrepareWrites();
    std::string engine_blob;
    EncodeEngineState(engine->SaveState(), &engine_blob);
    blob.clear();
    EncodeSchema(schema, &blob);
    std::string pos;
    EncodePosition(position, &pos);
    ok = ok && PutMeta("schema", blob) && PutMeta("identity", identity) && PutMeta("engine", engine_blob) &&
         PutMetaInt("ledger_bytes", 0) && PutMetaInt("rejects_bytes", 0) && PutMeta("ledger_tail", "") &&
         PutMeta("rejects_tail", "") && PutMeta("input", pos) && PutMetaInt("commits", 0);
    if (!ok) {
      Exec("ROLLBACK");
      return false;
    }
    return Exec("COMMIT");
  }

  // Loads everything; clients come back in the stored schema's layout.
  bool Load(EngineState* es, std::vector<ClientState>* clients, std::vector<std::pair<int64_t, std::string>>* seen,
            std::vector<uint64_t>* contents, ReversalMemory* reversals) {
    std::string reversal_frame;
    std::vector<std::pair<std::string, std::string>> meta;
    if (!LoadMeta(&meta)) return false;
    auto corrupt = [&](const std::string& what) {
      error = fmt::format("{}: the state file is corrupt ({}); nothing was changed. Restore it from a backup", path, what);
      return false;
    };
    int found = 0;
    for (auto& [key, value] : meta) {
      bool ok = true;
      if (key == "schema") ok = DecodeSchema(value, &schema), ++found;
      else if (key == "identity") identity = value, ++found;
      else if (key == "engine") ok = DecodeEngineState(value, es), ++found;
      else if (key == "ledger_bytes") ledger.committed = std::strtoull(value.c_str(), nullptr, 10), ++found;
      else if (key == "rejects_bytes") rejects.committed = std::strtoull(value.c_str(), nullptr, 10), ++found;
      else if (key == "ledger_tail") ledger.tail = std::move(value), ++found;
      else if (key == "rejects_tail") rejects.tail = std::move(value), ++found;
      else if (key == "input") ok = DecodePosition(value, &position), ++found;
      else if (key == "commits") commits = std::strtoull(value.c_str(), nullptr, 10), ++found;
      else if (key == "reversal") reversal_frame = std::move(value);  // absent before C10
      else if (key == "ledger_hash" || key == "rejects_hash") {  // absent before output checksums
        char* end = nullptr;
        uint64_t digest = std::strtoull(value.c_str(), &end, 16);
        ok = value.size() == 16 && *end == '\0';
        (key == "ledger_hash" ? ledger : rejects).digest = digest;
      }
      if (!ok) return corrupt("meta `" + key + "` does not decode");
    }
    if (found != 9) return corrupt("meta entries are missing");
    if (ledger.tail.size() > ledger.committed || rejects.tail.size() > rejects.committed)
      return corrupt("output tails longer than the outputs");

    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT seq, full, data FROM client_log ORDER BY seq", -1, &s, nullptr) != SQLITE_OK) {
      error = SqlError("reading clients failed");
      return false;
    }
    int rc;
    bool first = true;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      log_seq = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
      bool full = sqlite3_column_int64(s, 1) != 0;
      const char* data = static_cast<const char*>(sqlite3_column_blob(s, 2));
      size_t size = static_cast<size_t>(sqlite3_column_bytes(s, 2));
      // Rows are only deleted before a snapshot, so the log starts with one or with row 1.
      if (first && !full && log_seq != 1) {
        sqlite3_finalize(s);
        return corrupt("the client log does not start with a snapshot");
      }
      first = false;
      if (full) {
        clients->clear();
        snapshot_bytes = log_bytes = 0;
      }
      (full ? snapshot_bytes : log_bytes) += size;
      ByteReader r(std::string_view(data ? data : "", size));
      while (!r.done()) {
        uint64_t n;
        ClientState c;
        ClientBlob got = r.U(&n) && n <= clients->size() ? DecodeClientChecked(r, &c) : ClientBlob::Malformed;
        if (got == ClientBlob::Damaged) {
          sqlite3_finalize(s);
          return corrupt(fmt::format("client \"{}\" (number {}, in client log row {}) does not match its checksum: its "
                                     "stored bytes were damaged, and it is not loaded",
                                     c.id, n, log_seq));
        }
        if (got != ClientBlob::Ok ||
            c.layout.wallets != schema.wallets.size() || c.layout.vars != schema.vars.size() ||
            c.layout.tiers != schema.tiers.size() || c.layout.segments != schema.segments.size() ||
            c.attrs.size() != schema.attrs.size()) {
          sqlite3_finalize(s);
          return corrupt(fmt::format("client log row {} does not decode", log_seq));
        }
        if (n == clients->size()) clients->push_back(std::move(c));
        else (*clients)[n] = std::move(c);
      }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
      error = SqlError("reading clients failed");
      return false;
    }
    if (sqlite3_prepare_v2(db, "SELECT last, data FROM seen ORDER BY last", -1, &s, nullptr) != SQLITE_OK) {
      error = SqlError("reading dedup ids failed");
      return false;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const char* data = static_cast<const char*>(sqlite3_column_blob(s, 1));
      if (!DecodeSeen(std::string_view(data ? data : "", sqlite3_column_bytes(s, 1)), seen, contents)) {
        sqlite3_finalize(s);
        return corrupt("dedup ids do not decode");
      }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
      error = SqlError("reading dedup ids failed");
      return false;
    }
    if (seen->size() > es->remembered) return corrupt("more dedup ids than were remembered");
    committed_remembered = es->remembered;
    if (!reversal_frame.empty() && !LoadReversals(reversal_frame, reversals)) return corrupt("reversal rows do not decode");
    return LoadCheckpoints(corrupt);
  }

  // The outputs' checkpoints (none in a state written before them).
  template <typename Corrupt>
  bool LoadCheckpoints(Corrupt corrupt) {
    sqlite3_stmt* s = nullptr;
    int64_t exists = 0;
    if (!QueryInt("SELECT count(*) FROM sqlite_master WHERE name = 'output_check'", &exists)) {
      error = SqlError("reading the output checkpoints failed");
      return false;
    }
    if (exists == 0) return true;
    if (sqlite3_prepare_v2(db, "SELECT seq, data FROM output_check ORDER BY seq", -1, &s, nullptr) != SQLITE_OK) {
      error = SqlError("reading the output checkpoints failed");
      return false;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      const char* data = static_cast<const char*>(sqlite3_column_blob(s, 1));
      if (!DecodeCheckRow(std::string_view(data ? data : "", sqlite3_column_bytes(s, 1)),
                          static_cast<uint64_t>(sqlite3_column_int64(s, 0)), &ledger.points, &rejects.points)) {
        sqlite3_finalize(s);
        return corrupt("output checkpoints do not decode");
      }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
      error = SqlError("reading the output checkpoints failed");
      return false;
    }
    return true;
  }

  // Locks the output files that exist already, before anything else is opened or created: a
  // second process given the same ledger (with any state) is refused with nothing changed.
  bool LockOutputs() {
    for (OutputFile* out : {&ledger, &rejects}) {
      const std::string& file = out == &ledger ? options.ledger_path : options.rejects_path;
      int fd = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
      struct stat st {};
      if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) ::close(fd);
        continue;  // OpenOutput creates it, or says why it cannot be used
      }
      out->fd = fd;
      if (!LockOutput(*out, file)) return false;
    }
    return true;
  }

  bool LockOutput(OutputFile& out, const std::string& file) {
    if (LockOutputFile(out.fd)) return true;
    error = fmt::format(
        "the {} file {} is in use by another perk process (perk run --state or perk serve, with this state or another "
        "one), or is given as both --ledger and --rejects; two states never write one file. Nothing was changed",
        out.what, file);
    return false;
  }

  // [C10] The frame, then the rows in commit order, then the reversed marks.
  bool LoadReversals(std::string_view frame, ReversalMemory* m) {
    uint64_t end = 0;
    if (!DecodeReversalFrame(frame, m, &end, &stored_event_signatures)) return false;
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT data FROM reversal ORDER BY seq", -1, &s, nullptr) != SQLITE_OK) return false;
    std::vector<uint64_t> marks;
    int rc;
    bool ok = true;
    while (ok && (rc = sqlite3_step(s)) == SQLITE_ROW) {
      const char* data = static_cast<const char*>(sqlite3_column_blob(s, 0));
      ok = DecodeRememberedRow(std::string_view(data ? data : "", sqlite3_column_bytes(s, 0)), m, &marks);
    }
    sqlite3_finalize(s);
    if (!ok || rc != SQLITE_DONE || m->end() != end) return false;
    for (uint64_t index : marks) m->MarkReversed(index);
    committed_reversal_end = end;
    return true;
  }

  // Opens an output and checks that it continues what the state committed. Bytes past the
  // committed length, left by a crash, are kept for CheckAndWrite to compare. Refuses, changing
  // nothing, a file that is shorter or does not end as the state recorded.
  bool OpenOutput(OutputFile& out, const std::string& file, std::vector<std::string>* notes) {
    out.path = file;
    bool locked = out.fd >= 0;  // by LockOutputs
    if (!locked) out.fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct stat st {};
    if (out.fd < 0 || ::fstat(out.fd, &st) != 0) {
      error = fmt::format("cannot open the {} file {}: {}", out.what, file, std::strerror(errno));
      return false;
    }
    if (!S_ISREG(st.st_mode)) {
      error = fmt::format("the {} file {} is not a regular file; with --state it must be one the state can continue",
                          out.what, file);
      return false;
    }
    if (!locked && !LockOutput(out, file)) return false;
    out.end = static_cast<uint64_t>(st.st_size);
    auto foreign = [&](const std::string& why) {
      error = fmt::format(
          "the {} file {} does not continue the state {}: {}. Pass the {} file this state wrote; nothing was changed",
          out.what, file, path, why, out.what);
      return false;
    };
    // Every committed byte, against the checkpoints: an edit anywhere is found, not only at the
    // end. (An empty file is not a damaged one, but another: refused as foreign below.)
    OutputCheck check = CheckOutput(out.fd, out.end, out.end == 0 ? 0 : out.committed, out.points, out.digest);
    if (!check.ok) {
      error = fmt::format(
          "the {} file {} does not hold what the state {} committed: {}. Restore the file the state wrote (or the "
          "state that goes with this file) from a backup; `perk state {} verify --{} {}` tells the same. Nothing was "
          "changed",
          out.what, file, path, check.where, path, out.what, file);
      return false;
    }
    out.hash = check.hash;
    out.points.clear();  // only needed to check: a long-lived state has many
    if (out.end < out.committed)
      return foreign(fmt::format("it has {} bytes, but the state committed {}", out.end, out.committed));
    std::string have;
    if (!ReadAt(out.fd, out.committed - out.tail.size(), out.tail.size(), &have)) {
      error = fmt::format("cannot read the {} file {}: {}", out.what, file, std::strerror(errno));
      return false;
    }
    if (have != out.tail) return foreign("its committed bytes do not end as the state recorded");
    if (out.end > out.committed && options.discard_unconfirmed) {
      if (::ftruncate(out.fd, static_cast<off_t>(out.committed)) != 0 || ::fdatasync(out.fd) != 0) {
        error = fmt::format("cannot truncate the {} file {}: {}", out.what, file, std::strerror(errno));
        return false;
      }
      notes->push_back(fmt::format("{}: dropped {} bytes past the last commit, from an interrupted run; they were never "
                                   "confirmed to anyone",
                                   file, out.end - out.committed));
      out.end = out.committed;
    }
    if (out.end > out.committed)
      notes->push_back(fmt::format(
          "{} holds {} bytes past the last commit, from an interrupted run; this run checks that it reproduces them",
          file, out.end - out.committed));
    return true;
  }

  // Appends a batch's bytes after the committed length and syncs them. Where a tentative tail
  // already covers them they must be equal, and are left alone.
  bool CheckAndWrite(OutputFile& out, std::string_view bytes) {
    if (bytes.empty()) return true;
    uint64_t at = out.committed;
    size_t overlap = out.end > at ? static_cast<size_t>(std::min<uint64_t>(out.end - at, bytes.size())) : 0;
    if (overlap > 0) {
      std::string have;
      if (!ReadAt(out.fd, at, overlap, &have)) {
        error = fmt::format("cannot read the {} file {}: {}", out.what, out.path, std::strerror(errno));
        return false;
      }
      if (std::string_view(have) != bytes.substr(0, overlap)) {
        size_t k = 0;
        while (k < overlap && have[k] == bytes[k]) ++k;
        error = fmt::format(
            "the {} file {} holds {} bytes that an interrupted run wrote after its last commit, and this run "
            "produces different ones from byte {} on. Run again with the --events stream and program it was "
            "interrupted in, which reproduce them; or, if the CRM has not read them, truncate the file to {} bytes. "
            "Nothing was committed",
            out.what, out.path, out.end - out.committed, out.committed + k, out.committed);
        return false;
      }
    }
    std::string_view rest = bytes.substr(overlap);
    if (rest.empty()) return true;
    size_t half = rest.size() / 2;
    bool ok = WriteAt(out.fd, at + overlap, rest.substr(0, half));
    crash.At(out.what == std::string_view("ledger") ? "mid-ledger" : "mid-rejects");
    ok = ok && WriteAt(out.fd, at + overlap + half, rest.substr(half)) && ::fdatasync(out.fd) == 0;
    if (!ok) {
      error = fmt::format("writing the {} file {} failed: {}; nothing of this batch was committed", out.what, out.path,
                          std::strerror(errno));
      return false;
    }
    out.end = std::max<uint64_t>(out.end, at + bytes.size());
    return true;
  }

  static void Advance(OutputFile& out, std::string_view bytes) {
    out.committed += bytes.size();
    if (bytes.size() >= kTailBytes) {
      out.tail.assign(bytes.substr(bytes.size() - kTailBytes));
    } else {
      out.tail.append(bytes);
      if (out.tail.size() > kTailBytes) out.tail.erase(0, out.tail.size() - kTailBytes);
    }
  }

  // ---- group commit ----
  //
  // The engine thread packs a batch (its outputs, the changed clients encoded, the new dedup
  // ids, the engine state and input position) and hands it to a writer thread, which writes
  // and syncs the outputs and commits the transaction while the engine goes on with the next
  // batch. Batches are written strictly in order; at most one waits while one is written.

  struct Batch {
    std::string ledger, rejects;
    std::vector<std::string> client_rows;  // client_log rows: (index, encoded client) pairs
    bool full = false;                     // the rows are a full snapshot
    uint64_t client_count = 0;
    std::string seen;  // dedup ids remembered in this batch, or empty
    uint64_t remembered = 0;
    // [C10] Events remembered for reversals in this batch and those it reversed (or empty),
    // the end of their indexes, and the memory's frame (begin, end, aged folds).
    std::string reversal_row, reversal_frame;
    uint64_t reversal_last = 0, reversal_begin = 0;
    uint64_t expired = 0;
    std::string engine_state, position;
    std::vector<std::pair<uint64_t, std::string>> annex;  // the embedder's rows (AttachAnnex)
    uint64_t annex_drop = 0;                              // delete annex rows with keys up to this
  };

  std::thread writer;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<Batch> queued;  // guarded by mu
  std::vector<std::string> spare;  // guarded by mu: written batches' buffers, to reuse
  bool writing = false;         // guarded by mu
  uint64_t handed = 0;          // guarded by mu: batches handed to the writer in this process
  uint64_t committed_batches = 0;  // guarded by mu: of them, committed
  // The embedder's annex rows and deletions for the next batch (engine thread).
  std::vector<std::pair<uint64_t, std::string>> annex_pending;
  uint64_t annex_drop = 0, annex_dropped = 0;
  bool failed = false;          // guarded by mu; `error` is set before it
  bool stopping = false;        // guarded by mu
  // Where the time goes, for `perk run` to report (PERK_STATE_TIMING): the engine thread's
  // packing of batches, and the writer thread's output writes with syncs and transactions.
  std::chrono::nanoseconds collect_time{0}, output_time{0}, sql_time{0}, writer_cpu{0};
  uint64_t client_rows = 0, client_bytes = 0;

  void StartWriter() {
    writer = std::thread([this] { WriterLoop(); });
  }

  void StopWriter() {
    if (!writer.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    cv.notify_all();
    writer.join();
  }

  void WriterLoop() {
    for (;;) {
      Batch b;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return queued.has_value() || stopping; });
        if (!queued) return;
        b = std::move(*queued);
        queued.reset();
        writing = true;
      }
      cv.notify_all();
      bool ok = WriteBatch(b);
      {
        std::lock_guard<std::mutex> lock(mu);
        writing = false;
        if (!ok) failed = true;
        else ++committed_batches;
        // Reusing the buffers spares the engine thread fresh pages (and their faults).
        for (std::string* buffer : {&b.ledger, &b.rejects}) {
          buffer->clear();
          if (spare.size() < 4) spare.push_back(std::move(*buffer));
        }
      }
      cv.notify_all();
      if (!ok) return;  // later batches would build on a commit that did not happen
    }
  }

  // On the engine thread: takes what changed since the last batch out of the engine.
  Batch Collect(bool final) {
    auto started = ThreadCpu();
    Batch b;
    std::swap(b.ledger, engine->ledger());
    std::swap(b.rejects, engine->rejects());
    {
      std::lock_guard<std::mutex> lock(mu);
      for (std::string* buffer : {&engine->ledger(), &engine->rejects()})
        if (!spare.empty()) {
          std::swap(*buffer, spare.back());
          spare.pop_back();
        }
    }
    EngineState es = engine->SaveState();
    engine->TakeDirtyClients(&dirty);
    const auto& clients = engine->clients();
    // At the end of a run, a log larger than a snapshot is folded into one, so a state at rest
    // holds each client about once.
    b.full = log_bytes > std::max<uint64_t>(2 * snapshot_bytes, kSnapshotFloorBytes) ||
             (final && log_bytes > snapshot_bytes);
    if (b.full) {
      dirty.resize(clients.size());
      for (size_t k = 0; k < clients.size(); ++k) dirty[k] = static_cast<uint32_t>(k);
    }
    EncodeClientRows(clients, dirty, &b.client_rows);
    uint64_t bytes = 0;
    for (const auto& row : b.client_rows) bytes += row.size();
    if (b.full) snapshot_bytes = bytes, log_bytes = 0;
    else log_bytes += bytes;
    b.client_count = dirty.size();
    if (es.remembered > committed_remembered) {
      std::vector<std::pair<int64_t, std::string_view>> ids;
      std::vector<uint64_t> contents;
      engine->ForRememberedSince(committed_remembered, [&](int64_t t, std::string_view id, uint64_t content) {
        ids.emplace_back(t, id);
        contents.push_back(content);
      });
      EncodeSeen(ids, &b.seen, contents);
    }
    committed_remembered = es.remembered;
    b.remembered = es.remembered;
    b.expired = es.remembered - engine->remembered_count();
    const ReversalMemory& rm = engine->reversal_memory();
    engine->TakeReversed(&reversed);
    if (rm.end() > std::max(committed_reversal_end, rm.begin()) || !reversed.empty())
      EncodeRememberedRow(rm, committed_reversal_end, reversed, &b.reversal_row);
    committed_reversal_end = rm.end();
    b.reversal_last = rm.end();
    b.reversal_begin = rm.begin();
    EncodeReversalFrame(rm, event_signatures, &b.reversal_frame);
    EncodeEngineState(es, &b.engine_state);
    EncodePosition(position, &b.position);
    b.annex = std::move(annex_pending);
    annex_pending.clear();
    if (annex_drop > annex_dropped) b.annex_drop = annex_dropped = annex_drop;
    collect_time += ThreadCpu() - started;
    client_rows += b.client_count;
    for (const auto& row : b.client_rows) client_bytes += row.size();
    return b;
  }

  // On the writer thread: outputs first, so a commit never counts bytes that are not in their
  // files; then one transaction.
  bool WriteBatch(const Batch& b) {
    auto cpu = ThreadCpu();
    auto started = std::chrono::steady_clock::now();
    if (!CheckAndWrite(ledger, b.ledger) || !CheckAndWrite(rejects, b.rejects)) return false;
    crash.At("after-write");
    auto written = std::chrono::steady_clock::now();
    output_time += written - started;
    if (!Exec("BEGIN IMMEDIATE")) return false;
    bool ok = true;
    ok = WriteClientRows(b.client_rows, b.full);
    if (ok && !b.seen.empty()) {
      sqlite3_bind_int64(put_seen, 1, static_cast<int64_t>(b.remembered));
      sqlite3_bind_blob64(put_seen, 2, b.seen.data(), b.seen.size(), SQLITE_STATIC);
      ok = Step(put_seen);
    }
    for (size_t k = 0; ok && k < b.annex.size(); ++k) {
      sqlite3_bind_int64(put_annex, 1, static_cast<int64_t>(b.annex[k].first));
      sqlite3_bind_blob64(put_annex, 2, b.annex[k].second.data(), b.annex[k].second.size(), SQLITE_STATIC);
      ok = Step(put_annex);
    }
    if (ok && b.annex_drop > 0) {
      sqlite3_bind_int64(del_annex, 1, static_cast<int64_t>(b.annex_drop));
      ok = Step(del_annex);
    }
    if (ok && !b.reversal_row.empty()) {
      sqlite3_bind_int64(put_reversal, 1, static_cast<int64_t>(commits + 1));
      sqlite3_bind_int64(put_reversal, 2, static_cast<int64_t>(b.reversal_last));
      sqlite3_bind_blob64(put_reversal, 3, b.reversal_row.data(), b.reversal_row.size(), SQLITE_STATIC);
      ok = Step(put_reversal);
    }
    // A row whose events are all past the horizon holds nothing a reversal can reach (the
    // events it marks reversed are older still).
    if (ok && b.reversal_begin > reversal_deleted) {
      sqlite3_bind_int64(del_reversal, 1, static_cast<int64_t>(b.reversal_begin));
      ok = Step(del_reversal);
    }
    // A chunk whose newest id has expired holds no live id.
    if (ok && b.expired > expired_deleted) {
      sqlite3_bind_int64(del_seen, 1, static_cast<int64_t>(b.expired));
      ok = Step(del_seen);
    }
    RunningHash ledger_hash = ledger.hash, rejects_hash = rejects.hash;
    check_points[0].clear();
    check_points[1].clear();
    HashCommit(b.ledger, &ledger_hash, &check_points[0]);
    HashCommit(b.rejects, &rejects_hash, &check_points[1]);
    if (ok && !(check_points[0].empty() && check_points[1].empty())) {
      EncodeCheckRow(check_points[0], check_points[1], &check_row);
      sqlite3_bind_int64(put_check, 1, static_cast<int64_t>(commits + 1));
      sqlite3_bind_blob64(put_check, 2, check_row.data(), check_row.size(), SQLITE_STATIC);
      ok = Step(put_check);
    }
    ok = ok && PutMeta("ledger_hash", fmt::format("{:016x}", ledger_hash.Digest())) &&
         PutMeta("rejects_hash", fmt::format("{:016x}", rejects_hash.Digest()));
    OutputFile next_ledger, next_rejects;  // only their committed length and tail are used
    next_ledger.committed = ledger.committed;
    next_ledger.tail = ledger.tail;
    Advance(next_ledger, b.ledger);
    next_rejects.committed = rejects.committed;
    next_rejects.tail = rejects.tail;
    Advance(next_rejects, b.rejects);
    ok = ok && PutMeta("engine", b.engine_state) && PutMeta("input", b.position) && PutMeta("reversal", b.reversal_frame) &&
         PutMetaInt("ledger_bytes", next_ledger.committed) && PutMeta("ledger_tail", next_ledger.tail) &&
         PutMetaInt("rejects_bytes", next_rejects.committed) && PutMeta("rejects_tail", next_rejects.tail) &&
         PutMetaInt("commits", commits + 1);
    crash.At("before-commit");
    if (!ok || !Exec("COMMIT")) {
      std::string why = error;
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      error = why;
      return false;
    }
    crash.At("after-commit");
    sql_time += std::chrono::steady_clock::now() - written;
    writer_cpu += ThreadCpu() - cpu;
    ++commits;
    expired_deleted = std::max(expired_deleted, b.expired);
    reversal_deleted = std::max(reversal_deleted, b.reversal_begin);
    ledger.committed = next_ledger.committed;
    ledger.tail = std::move(next_ledger.tail);
    rejects.committed = next_rejects.committed;
    rejects.tail = std::move(next_rejects.tail);
    ledger.hash = ledger_hash;
    rejects.hash = rejects_hash;
    return true;
  }

  // Encodes clients into client_log rows of at most about kLogRowBytes each.
  template <typename Clients>
  static void EncodeClientRows(const Clients& clients, const std::vector<uint32_t>& which,
                               std::vector<std::string>* rows) {
    for (size_t j = 0; j < which.size(); ++j) {
      uint32_t k = which[j];
      if (rows->empty() || rows->back().size() >= kLogRowBytes) {
        rows->emplace_back();
        rows->back().reserve(std::min<size_t>(kLogRowBytes + (1 << 16), (which.size() - j) * 192));
      }
      char index[10];
      size_t n = 0;
      for (uint64_t v = k; ; v >>= 7) {
        index[n++] = static_cast<char>(v >= 0x80 ? (v & 0x7f) | 0x80 : v);
        if (v < 0x80) break;
      }
      rows->back().append(index, n);
      EncodeClient(clients[k], &rows->back());
    }
  }

  // Inside a transaction: appends the rows to the client log; a full snapshot then drops the
  // rows before it.
  bool WriteClientRows(const std::vector<std::string>& rows, bool full) {
    uint64_t first = log_seq + 1;
    for (size_t k = 0; k < rows.size(); ++k) {
      sqlite3_bind_int64(put_log, 1, static_cast<int64_t>(++log_seq));
      sqlite3_bind_int64(put_log, 2, full && k == 0 ? 1 : 0);
      sqlite3_bind_blob64(put_log, 3, rows[k].data(), rows[k].size(), SQLITE_STATIC);
      if (!Step(put_log)) return false;
    }
    if (full && !rows.empty()) {
      sqlite3_bind_int64(del_log, 1, static_cast<int64_t>(first));
      if (!Step(del_log)) return false;
    }
    return true;
  }

  // Hands the batch processed so far to the writer; with `wait`, returns once everything is
  // committed. False when this or an earlier batch failed (error).
  bool Commit(bool wait) {
    if (uncommitted || (wait && log_bytes > snapshot_bytes)) {
      Batch b = Collect(wait);
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return !queued.has_value() || failed; });
      if (failed) return false;
      queued = std::move(b);
      ++handed;
      uncommitted = false;
      batch_records = 0;
      batch_start = std::chrono::steady_clock::now();
    }
    cv.notify_all();
    std::unique_lock<std::mutex> lock(mu);
    if (wait) cv.wait(lock, [&] { return (!queued.has_value() && !writing) || failed; });
    return !failed;
  }
};

namespace {

// [C10] Whether restored reversal memory names only clients, events, rules, wallets and
// aggregate slots the program has (a state written under the same program always does).
bool ReversalsFit(const ReversalMemory& m, const checked::Program& p, size_t clients) {
  for (uint64_t k = m.begin(); k < m.end(); ++k) {
    const RememberedEvent& e = *m.At(k);
    if (e.client >= clients || static_cast<size_t>(e.event_index) >= p.events.size()) return false;
    for (uint32_t j = 0; j < e.aggs_count; ++j)
      if (static_cast<size_t>(m.AggAt(e, j).slot) >= p.agg_slots.size()) return false;
    for (uint32_t j = 0; j < e.effects_count; ++j) {
      const FiringEffect& f = m.EffectAt(e, j);
      if (static_cast<size_t>(f.rule) >= p.rules.size() || static_cast<size_t>(f.wallet) >= p.wallets.size())
        return false;
    }
  }
  for (const auto& [where, b] : m.aged())
    if (std::get<0>(where) >= clients || static_cast<size_t>(std::get<1>(where)) >= p.agg_slots.size()) return false;
  return true;
}

}  // namespace

Store::Store() : impl_(std::make_unique<Impl>()) {}
Store::~Store() = default;

std::unique_ptr<Store> Store::Open(const std::string& path, const checked::Program& program, Evaluator* evaluator,
                                   const StoreOptions& options, std::string* error, std::vector<std::string>* notes) {
  std::unique_ptr<Store> store(new Store());
  Impl& m = *store->impl_;
  m.path = path;
  m.options = options;
  m.program = &program;
  m.ledger.what = "ledger";
  m.rejects.what = "rejects";
  m.engine = std::make_unique<Engine>(program, evaluator);
  m.event_signatures = EventSignatures(program);
  auto fail = [&]() {
    *error = m.error;
    return nullptr;
  };
  if (options.ledger_path.empty() || options.rejects_path.empty()) {
    m.error = "durable state needs a ledger file and a rejects file (--ledger FILE --rejects FILE)";
    return fail();
  }
  // A new state starts new output files. Checked before anything is created (the state file,
  // an output file), so that a refused run leaves the directory as it was.
  auto outputs_empty = [&] {
    for (const OutputFile* out : {&m.ledger, &m.rejects}) {
      const std::string& file = out == &m.ledger ? options.ledger_path : options.rejects_path;
      struct stat st {};
      if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        m.error = fmt::format("the {} file {} already holds {} bytes; a new state starts new ledger and rejects files. "
                              "Nothing was changed",
                              out->what, file, st.st_size);
        return false;
      }
    }
    return true;
  };
  if (!m.LockOutputs()) return fail();
  struct stat state_stat {};
  if (::stat(path.c_str(), &state_stat) != 0 && !outputs_empty()) return fail();
  bool fresh = false;
  if (!m.OpenDatabase(false, &fresh) || !m.Configure(false)) return fail();
  std::string identity = IdentityHex(ProgramIdentity(program));
  if (fresh) {
    m.schema = SchemaOf(program);
    m.identity = identity;
    if (!outputs_empty()) return fail();  // an empty database that existed already
    if (!m.OpenOutput(m.ledger, options.ledger_path, notes) || !m.OpenOutput(m.rejects, options.rejects_path, notes))
      return fail();
    if (!m.Create()) return fail();
    m.engine->LogReversed();
    m.StartWriter();
    for (const auto& name : options.allow_drop)
      notes->push_back(fmt::format("--allow-drop {}: the state is new, so nothing is dropped", name));
    return store;
  }

  EngineState es;
  std::vector<ClientState> clients;
  std::vector<std::pair<int64_t, std::string>> seen;
  std::vector<uint64_t> seen_contents;
  ReversalMemory reversals;
  if (!m.Load(&es, &clients, &seen, &seen_contents, &reversals)) return fail();
  bool upgrade = m.identity != identity;
  if (!upgrade && !ReversalsFit(reversals, program, clients.size())) {
    m.error = fmt::format("{}: the state file is corrupt (remembered events name what the program does not have); "
                          "nothing was changed. Restore it from a backup",
                          path);
    return fail();
  }
  if (!upgrade)
    for (const auto& name : options.allow_drop)
      notes->push_back(fmt::format("--allow-drop {}: the program is unchanged, so nothing is dropped", name));
  UpgradePlan plan;
  if (upgrade) {
    plan = PlanUpgrade(m.schema, program, options.allow_drop);
    if (!plan.lost.empty()) {
      std::string list;
      for (const auto& l : plan.lost) list += "\n  " + l;
      m.error = fmt::format("{}: the program no longer keeps data this state holds:{}\n{}. Nothing was changed", path,
                            list, LostAdvice(plan, "--allow-drop NAME (repeatable)"));
      return fail();
    }
  }
  if (!m.PrepareWrites() || !m.OpenOutput(m.ledger, options.ledger_path, notes) ||
      !m.OpenOutput(m.rejects, options.rejects_path, notes))
    return fail();
  if (upgrade && (m.ledger.end > m.ledger.committed || m.rejects.end > m.rejects.committed)) {
    m.error = fmt::format(
        "{}: the program changed, but an interrupted run left effects past its last commit that only the program it "
        "ran can reproduce. Finish that run with its program and --events first; nothing was changed",
        path);
    return fail();
  }
  if (upgrade) {
    for (auto& c : clients) c = MigrateClient(c, plan, program);
    es.budgets = MigrateBudgets(es.budgets, plan, program);
    const StateSchema old_schema = std::move(m.schema);
    m.schema = SchemaOf(program);
    m.identity = identity;
    notes->push_back(fmt::format("the program changed since the state was last written; state upgraded to {}", identity));
    for (const auto& l : plan.dropped) notes->push_back("dropped (--allow-drop): " + l);
    for (const auto& name : plan.unused_allow_drop)
      notes->push_back(UnusedAllowDropNote(name));
    for (const auto& l : plan.reset) notes->push_back(l);
    // [C10] What reversals remember is mapped by name like clients; what no longer maps can no
    // longer be reversed (docs/state.md). Rewritten whole, in the new numbering.
    if (size_t lost = MigrateReversals(&reversals, m.stored_event_signatures, old_schema, plan, program))
      notes->push_back(ReversalsLostNote(lost));
    m.committed_reversal_end = reversals.end();
    std::string reversal_frame, reversal_row;
    EncodeReversalFrame(reversals, EventSignatures(program), &reversal_frame);
    EncodeRememberedRow(reversals, reversals.begin(), {}, &reversal_row);
    // The upgrade is one transaction: every client in the new layout, the new schema.
    bool ok = m.Exec("BEGIN IMMEDIATE");
    std::vector<uint32_t> all(clients.size());
    for (size_t k = 0; k < all.size(); ++k) all[k] = static_cast<uint32_t>(k);
    std::vector<std::string> rows;
    Impl::EncodeClientRows(clients, all, &rows);
    // An empty state has no snapshot to write: its log stays empty.
    ok = ok && m.WriteClientRows(rows, true);
    m.log_bytes = 0;
    m.snapshot_bytes = 0;
    for (const auto& row : rows) m.snapshot_bytes += row.size();
    std::string schema_blob, engine_blob;
    EncodeSchema(m.schema, &schema_blob);
    EncodeEngineState(es, &engine_blob);
    ok = ok && m.PutMeta("schema", schema_blob) && m.PutMeta("identity", identity) && m.PutMeta("engine", engine_blob) &&
         m.PutMeta("reversal", reversal_frame) && m.Exec("DELETE FROM reversal");
    // Row 0: the commits that follow number theirs from commits + 1.
    if (ok) {
      sqlite3_bind_int64(m.put_reversal, 1, 0);
      sqlite3_bind_int64(m.put_reversal, 2, static_cast<int64_t>(reversals.end()));
      sqlite3_bind_blob64(m.put_reversal, 3, reversal_row.data(), reversal_row.size(), SQLITE_STATIC);
      ok = m.Step(m.put_reversal);
    }
    if (!ok || !m.Exec("COMMIT")) {
      std::string why = m.error;
      sqlite3_exec(m.db, "ROLLBACK", nullptr, nullptr, nullptr);
      m.error = why;
      return fail();
    }
  }
  m.engine->Restore(std::move(es), std::move(clients), std::move(seen), std::move(seen_contents));
  m.engine->RestoreReversalMemory(std::move(reversals));
  m.engine->LogReversed();
  m.StartWriter();
  return store;
}

std::unique_ptr<Store> Store::OpenForReading(const std::string& path, std::string* error) {
  std::unique_ptr<Store> store(new Store());
  Impl& m = *store->impl_;
  m.path = path;
  bool fresh = false;
  EngineState es;
  std::vector<ClientState> clients;
  std::vector<std::pair<int64_t, std::string>> seen;
  std::vector<uint64_t> seen_contents;
  ReversalMemory reversals;
  if (!m.OpenDatabase(true, &fresh) || !m.Configure(true) ||
      !m.Load(&es, &clients, &seen, &seen_contents, &reversals)) {
    *error = m.error;
    return nullptr;
  }
  m.skeleton = std::make_unique<checked::Program>(SkeletonProgram(m.schema));
  m.program = m.skeleton.get();
  m.engine = std::make_unique<Engine>(*m.program);
  m.engine->Restore(std::move(es), std::move(clients), std::move(seen), std::move(seen_contents));
  return store;
}

Engine& Store::engine() { return *impl_->engine; }
const checked::Program& Store::program() const { return *impl_->program; }
const std::string& Store::error() const { return impl_->error; }
const StateSchema& Store::schema() const { return impl_->schema; }

StoreInfo Store::Info() const {
  const Impl& m = *impl_;
  StoreInfo info;
  info.program = m.schema.program;
  info.identity = m.identity;
  info.clients = m.engine->clients().size();
  info.remembered_ids = m.engine->remembered_count();
  info.ledger_bytes = m.ledger.committed;
  info.rejects_bytes = m.rejects.committed;
  info.commits = m.commits;
  for (const char* suffix : {"", "-wal"}) {
    struct stat st {};
    if (::stat((m.path + suffix).c_str(), &st) == 0) info.file_bytes += static_cast<uint64_t>(st.st_size);
  }
  info.input = m.position;
  int64_t pages = 0, free_pages = 0, page_size = 0;
  if (const_cast<Impl&>(m).QueryInt("PRAGMA page_count", &pages) &&
      const_cast<Impl&>(m).QueryInt("PRAGMA freelist_count", &free_pages) &&
      const_cast<Impl&>(m).QueryInt("PRAGMA page_size", &page_size))
    info.live_bytes = static_cast<uint64_t>((pages - free_pages) * page_size);
  info.collect_millis = std::chrono::duration<double, std::milli>(m.collect_time).count();
  info.output_millis = std::chrono::duration<double, std::milli>(m.output_time).count();
  info.sql_millis = std::chrono::duration<double, std::milli>(m.sql_time).count();
  info.writer_cpu_millis = std::chrono::duration<double, std::milli>(m.writer_cpu).count();
  info.client_rows = m.client_rows;
  info.client_bytes = m.client_bytes;
  info.ledger_unconfirmed = m.ledger.end > m.ledger.committed ? m.ledger.end - m.ledger.committed : 0;
  info.rejects_unconfirmed = m.rejects.end > m.rejects.committed ? m.rejects.end - m.rejects.committed : 0;
  return info;
}

bool Store::VerifyOutput(bool rejects, const std::string& file, std::string* report) const {
  const Impl& m = *impl_;
  const OutputFile& out = rejects ? m.rejects : m.ledger;
  const char* what = rejects ? "rejects" : "ledger";
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    *report = fmt::format("cannot read the {} file {}: {}", what, file,
                          fd < 0 || errno ? std::strerror(errno) : "not a regular file");
    if (fd >= 0) ::close(fd);
    return false;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  OutputCheck check = CheckOutput(fd, size, out.committed, out.points, out.digest);
  std::string have;
  // A state written before checksums recorded only the end of what it committed.
  bool tail_ok = check.ok && ReadAt(fd, out.committed - out.tail.size(), out.tail.size(), &have) && have == out.tail;
  ::close(fd);
  if (!check.ok) {
    *report = fmt::format("the {} file {} does not hold what the state {} committed: {}", what, file, m.path, check.where);
    return false;
  }
  if (!tail_ok) {
    *report = fmt::format("the {} file {} does not hold what the state {} committed: its committed bytes do not end as "
                          "the state recorded",
                          what, file, m.path);
    return false;
  }
  *report = fmt::format("ok: {} {} bytes in {} lines match the {} commits of {}", file, out.committed, check.lines,
                        m.commits, m.path);
  if (!out.digest)
    *report += fmt::format(" (written before output checksums: only its last {} bytes are recorded to compare)",
                           out.tail.size());
  else
    *report += fmt::format(" ({} checkpoints compared)", check.checked);
  if (size > out.committed)
    *report += fmt::format("; {} bytes past the last commit are not yet committed (a run in progress, or an "
                           "interrupted one)",
                           size - out.committed);
  return true;
}

InputPosition Store::BeginInput(const std::string& events_path) {
  Impl& m = *impl_;
  InputPosition stored = m.position;
  InputPosition fresh;
  int fd = events_path == "-" ? -1 : ::open(events_path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) ::close(fd);
    m.position = fresh;  // a pipe: no position to continue by
    return fresh;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string head;
  fresh.seekable = true;
  fresh.head_length = std::min<uint64_t>(size, 4096);
  if (ReadAt(fd, 0, fresh.head_length, &head)) fresh.head_hash = Fnv(head);
  // The same stream: the same first bytes, and the last committed line where it was. A
  // stream that only grew since (a log appended to) continues too.
  bool same = false;
  if (stored.seekable && stored.offset > 0 && stored.offset <= size && stored.head_length <= size &&
      ReadAt(fd, 0, stored.head_length, &head) && Fnv(head) == stored.head_hash) {
    uint64_t span = std::min<uint64_t>(stored.offset, stored.last_line.size() + 2);
    std::string tail;
    if (ReadAt(fd, stored.offset - span, span, &tail)) {
      std::string_view t(tail);
      const std::string& l = stored.last_line;
      auto ends = [&](std::string_view suffix) {
        return t.size() >= l.size() + suffix.size() && t.substr(t.size() - suffix.size()) == suffix &&
               t.substr(t.size() - suffix.size() - l.size(), l.size()) == l;
      };
      same = ends("\n") || ends("\r\n") || (stored.offset == size && ends(""));
    }
  }
  ::close(fd);
  if (same) {
    m.position = stored;
    return stored;
  }
  m.position = fresh;
  return fresh;
}

bool Store::ProcessLine(std::string_view line, uint64_t line_number, uint64_t end_offset) {
  Impl& m = *impl_;
  m.engine->ProcessLine(line, line_number);
  m.position.offset = end_offset;
  m.position.line = line_number;
  m.position.last_line.assign(line);
  m.uncommitted = true;
  ++m.batch_records;
  if (m.batch_records >= m.options.batch_records ||
      m.engine->ledger().size() + m.engine->rejects().size() >= m.options.batch_bytes ||
      ((m.batch_records & 63) == 0 &&
       std::chrono::steady_clock::now() - m.batch_start >= std::chrono::milliseconds(m.options.batch_millis)))
    return m.Commit(false);
  return true;
}

void Store::AdvanceTo(int64_t time) {
  impl_->engine->AdvanceTo(time);
  impl_->uncommitted = true;
}

bool Store::Commit() { return impl_->Commit(true); }

bool Store::Handoff() {
  Impl& m = *impl_;
  if (!m.annex_pending.empty() || m.annex_drop > m.annex_dropped) m.uncommitted = true;
  return m.Commit(false);
}

bool Store::HandoffWouldWait() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->queued.has_value();
}

uint64_t Store::handed_off() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->handed;
}

Store::Wait Store::WaitCommitted(uint64_t n) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  m.cv.wait(lock, [&] { return m.failed || m.committed_batches >= n || (m.handed < n && !m.queued.has_value()); });
  if (m.committed_batches >= n) return Wait::Committed;
  if (m.failed) return Wait::Failed;
  return Wait::HandOff;
}

void Store::AttachAnnex(uint64_t key, std::string data) { impl_->annex_pending.emplace_back(key, std::move(data)); }

void Store::DropAnnexThrough(uint64_t key) { impl_->annex_drop = std::max(impl_->annex_drop, key); }

bool Store::ForEachAnnex(const std::function<void(uint64_t, std::string_view)>& f) {
  Impl& m = *impl_;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(m.db, "SELECT key, data FROM annex ORDER BY key", -1, &s, nullptr) != SQLITE_OK) {
    m.error = m.SqlError("reading the annex failed");
    return false;
  }
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    const char* data = static_cast<const char*>(sqlite3_column_blob(s, 1));
    f(static_cast<uint64_t>(sqlite3_column_int64(s, 0)), std::string_view(data ? data : "", sqlite3_column_bytes(s, 1)));
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) {
    m.error = m.SqlError("reading the annex failed");
    return false;
  }
  m.annex_dropped = 0;
  return true;
}

void Store::EncodeClientRows(const ClientList& clients, const std::vector<uint32_t>& which,
                             std::vector<std::string>* rows) {
  Impl::EncodeClientRows(clients, which, rows);
}

}  // namespace perk::runtime
