// Compact, versioned binary encodings of engine state for the durable store (runtime/store.h):
// one client, the engine-wide state, a batch of dedup ids, and the program's schema, which
// lets a later program be diffed against the state it finds (upgrades).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/checked.h"
#include "runtime/engine.h"
#include "runtime/reversal.h"
#include "runtime/state.h"

namespace perk::runtime {

// Appends little-endian varints, zigzag for signed values, and length-prefixed bytes. Writes
// through a pointer into spare room it keeps at the end of `out`, and trims `out` to what was
// written when destroyed: read `out` only after the writer is gone.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out), pos_(out->size()) {}
  ~ByteWriter() { out_->resize(pos_); }
  ByteWriter(const ByteWriter&) = delete;
  ByteWriter& operator=(const ByteWriter&) = delete;

  void U(uint64_t v) {
    Room(10);
    char* p = out_->data() + pos_;
    char* start = p;
    while (v >= 0x80) {
      *p++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p++ = static_cast<char>(v);
    pos_ += static_cast<size_t>(p - start);
  }
  void I(int64_t v) { U((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void Bytes(std::string_view s) {
    U(s.size());
    Room(s.size());
    if (!s.empty()) std::memcpy(out_->data() + pos_, s.data(), s.size());
    pos_ += s.size();
  }

 private:
  void Room(size_t n) {
    // Grows by a small step: resize zero-fills what it adds, and std::string's own capacity
    // growth keeps appending amortised.
    if (out_->size() - pos_ < n) out_->resize(pos_ + std::max<size_t>(n + 64, 1024));
  }
  std::string* out_;
  size_t pos_;
};

// Reads what ByteWriter wrote; every read fails (and stays failed) past the end or on a
// malformed varint, so a corrupt blob is detected rather than misread.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  bool U(uint64_t* v);
  bool I(int64_t* v) {
    uint64_t u;
    if (!U(&u)) return false;
    *v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
    return true;
  }
  bool Bytes(std::string* s);
  // The next `n` bytes as they are (fixed-width fields: checksums, a length reserved ahead).
  bool Raw(size_t n, std::string_view* out) {
    if (!ok_ || n > in_.size() - pos_) return ok_ = false;
    *out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  // A count of items that each take at least one byte: bounds allocations on corrupt input.
  bool Count(uint64_t* n) { return U(n) && *n <= in_.size() - pos_; }
  bool done() const { return ok_ && pos_ == in_.size(); }
  bool ok() const { return ok_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// One client, in the layout of the program that made it (vector lengths are encoded, so it
// decodes without the program; MigrateClient maps it onto another program's layout).
void EncodeClient(const ClientState& c, std::string* out);
bool DecodeClient(std::string_view in, ClientState* c);
// Reads one client from where the reader is (encodings back to back); false when malformed.
bool DecodeClient(ByteReader& r, ClientState* c);
// As DecodeClient, telling a blob whose checksum does not match (Damaged: c->id then holds the
// id as stored, if it reads) from one that does not decode. Blobs written before checksums
// (versions 1 to 3) are never Damaged.
enum class ClientBlob { Ok, Malformed, Damaged };
ClientBlob DecodeClientChecked(ByteReader& r, ClientState* c);

// The engine-wide state besides clients and dedup ids.
void EncodeEngineState(const EngineState& s, std::string* out);
bool DecodeEngineState(std::string_view in, EngineState* s);

// Dedup ids remembered in one commit: (event time, id), oldest first, then each record's
// content hash (spec §4, C14). A blob written before content hashes were kept ends after the
// ids: its ids decode with DedupSet::kUnknownContent.
void EncodeSeen(const std::vector<std::pair<int64_t, std::string_view>>& ids, std::string* out,
                const std::vector<uint64_t>& contents = {});
bool DecodeSeen(std::string_view in, std::vector<std::pair<int64_t, std::string>>* ids,
                std::vector<uint64_t>* contents = nullptr);

// [C10] What reversals remember (runtime/reversal.h), in two parts. A row per commit: the
// events remembered from index `from` to the memory's end, and `reversed`, the indexes of
// earlier events reversed in the commit. And the memory's frame: where it begins and ends and
// the aged highest/lowest folds, rewritten at each commit.
void EncodeRememberedRow(const ReversalMemory& m, uint64_t from, const std::vector<uint64_t>& reversed,
                         std::string* out);
// `events`: the program's event types as EventSignatures gives them, for a later upgrade.
void EncodeReversalFrame(const ReversalMemory& m, const std::vector<std::string>& events, std::string* out);
// Restores: the frame first (the memory restarts at its begin; *end is where it ended), then
// each row in commit order (events before the begin are skipped; *reversed gets the indexes
// to mark once every row is in). False when malformed or when the rows leave a gap.
bool DecodeReversalFrame(std::string_view in, ReversalMemory* m, uint64_t* end, std::vector<std::string>* events);
// Each event type's name, fields and their types: what a remembered event's type must keep
// for it to be reversed under another program.
std::vector<std::string> EventSignatures(const checked::Program& program);
bool DecodeRememberedRow(std::string_view in, ReversalMemory* m, std::vector<uint64_t>* reversed);

// What of a program shapes its state: names and types of everything client state is indexed
// by. Stored with the state so that `perk state` can name things without the program, and so
// that a changed program can be diffed against the state (PlanUpgrade).
struct StateSchema {
  struct Named {
    std::string name;
    std::string type;  // "int", "money(USD)", ...; for rules and aggregates, their shape
    bool operator==(const Named&) const = default;
  };
  std::string program;  // the program's name
  std::vector<Named> attrs, wallets, vars, tiers, segments, rules, aggs;
};

StateSchema SchemaOf(const checked::Program& program);
void EncodeSchema(const StateSchema& s, std::string* out);
bool DecodeSchema(std::string_view in, StateSchema* s);

// A program with just the declarations a schema names (types, tier and segment names), enough
// to format values with FormatValueJson and to size clients.
checked::Program SkeletonProgram(const StateSchema& s);

// A 64-bit hash of the checked form: declarations, types, params after overrides and every
// rule and expression, but not comments, layout or source positions. Two programs with the
// same identity behave the same.
uint64_t ProgramIdentity(const checked::Program& program);
std::string IdentityHex(uint64_t identity);

// How state written under one schema maps onto a program: for every slot of the new program,
// the old slot it keeps (or -1 to start at the default).
struct UpgradePlan {
  // `rules`: the old rule whose limit and budget series a rule keeps (same name, or the one it
  // is `renamed from`, and same shape). `rule_names`: the old rule it stands for whatever its
  // shape, which what reversals remember of credits and debits follows.
  std::vector<int> attrs, wallets, vars, tiers, segments, rules, aggs, rule_names;
  // Data and money history the upgrade would drop: "wallet `bonus` (money(USD)) removed",
  // "rule `welcome` (...) removed or renamed: its limit and budget history would start afresh".
  std::vector<std::string> lost;
  bool lost_rule_history = false;  // some of `lost` is a rule's history (LostAdvice)
  std::vector<std::string> reset;  // derived state started afresh: aggregates, new limits
  std::vector<std::string> dropped;  // lost data allowed by --allow-drop
  std::vector<std::string> unused_allow_drop;  // --allow-drop names that drop nothing here
};

// Plans moving state from `old_schema` to `program`. Wallets, vars and client attributes
// whose name and type are unchanged are kept, and rules' limit and budget history whose rule
// keeps its name (or is `renamed from` it) and windows; losing any of these is listed in
// plan->lost unless the name is in `allow_drop` (docs/state.md, Upgrades).
UpgradePlan PlanUpgrade(const StateSchema& old_schema, const checked::Program& program,
                        const std::vector<std::string>& allow_drop);

// What a refused upgrade (plan.lost not empty) tells the caller to do; `allow` is how the
// caller allows a name ("--allow-drop NAME (repeatable)", "allow_drop=NAME").
std::string LostAdvice(const UpgradePlan& plan, std::string_view allow);

// The note for an allow-drop name that drops nothing (UpgradePlan::unused_allow_drop): the
// store's and a libperk reload's wording are one.
std::string UnusedAllowDropNote(std::string_view name);

// Moves a client decoded under the old schema onto the program's layout.
ClientState MigrateClient(const ClientState& old, const UpgradePlan& plan, const checked::Program& program);
// [C10] Moves what reversals remember onto an upgraded program, by name as clients are
// moved: an event stays reversible when its type (same fields) and everything its firings did
// still map (credits and debits by rule name and wallet, limit counts by rule with the same
// windows); otherwise it can no longer be found (its aggregate contributions stay, for
// highest and lowest). Contributions and aged folds of slots the plan drops are dropped.
// `old_events`: the frame's EventSignatures. Returns how many reversible events became not.
size_t MigrateReversals(ReversalMemory* m, const std::vector<std::string>& old_events, const StateSchema& old_schema,
                        const UpgradePlan& plan, const checked::Program& program);
// The note a program upgrade gives when MigrateReversals made `lost` events no longer
// reversible: the store's and an in-memory reload's wording are one.
std::string ReversalsLostNote(size_t lost);
// [C10] A copy of what reversals remember, through the encoding the store writes (a
// remembered event owns its record, so the memory is not copyable as it is): an in-memory
// reload carries it over to the new program's engine as a durable one does.
ReversalMemory CopyReversalMemory(const ReversalMemory& m);
// Moves per-rule budget series likewise.
std::vector<Series> MigrateBudgets(const std::vector<Series>& old, const UpgradePlan& plan, const checked::Program& program);

}  // namespace perk::runtime
