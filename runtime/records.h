// Input records: reading JSON Lines (spec §4) into typed records, with a reason for every
// reject. The schema comes from the checked program; this file knows nothing of rules.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/id_table.h"
#include "stdlib/value.h"

namespace perk::runtime {

// Client ids are capped wherever records come in (`client`, and client-typed fields): every
// known client keeps its id in memory and in the state for good, so one mistaken megabyte-long
// id would cost as much as thousands of clients (docs/semantics.md, "Client ids").
constexpr size_t kMaxClientIdBytes = 256;

struct FieldSpec {
  std::string name;
  Type type = Type::Int;  // Int Decimal Money Bool String Time Date
  bool has_default = false;
  Value default_value;
};

struct EventSpec {
  std::string name;
  std::vector<FieldSpec> fields;  // declared fields only (id, client, time are implicit)
};

struct InputSchema {
  std::vector<EventSpec> events;
  std::vector<FieldSpec> client_fields;  // declared profile attributes
};

// [v0.2] Reversal: takes back an earlier event of its client (spec §4).
enum class RecordKind { Event, Profile, Tick, Reversal };

struct Record {
  RecordKind kind = RecordKind::Tick;
  int event_index = -1;  // Event: index into InputSchema::events
  std::string id;        // Event: required; Profile: optional ("" when absent)
  std::string client;    // Event, Profile
  int64_t time = 0;      // micros since epoch, UTC
  // Event: one value per EventSpec field, defaults filled in.
  // Profile: one value per client field; `present` says which ones the record names.
  std::vector<Value> fields;
  std::vector<bool> present;
  // Profile: the named fields given as `null` (also in `present`): they return to their
  // default, or become unset when they have none (spec §4).
  std::vector<bool> nulled;
  // Reversal: the id of the event it takes back.
  std::string of;
};



enum class DecodeOutcome { Ok, Blank, Duplicate, Reject };

// [v0.2] Why an input record whose id contains `/` is rejected (spec §4): such ids are those of
// events sent by rules (TRIGGER/RULE/N).
std::string ReservedIdMessage(std::string_view id);

// [v0.2] The id of what sent the event with id `id`: a sent id is TRIGGER/RULE/N, so its sender
// is all before the last two `/` (an input id, another sent id, or `day:DATE/CLIENT` for a day
// tick); "" for an input id (no `/`). Rule names and input ids hold no `/`, so this is exact.
std::string_view SenderOf(std::string_view id);

class RecordDecoder {
 public:
  explicit RecordDecoder(const InputSchema& schema);
  ~RecordDecoder();
  RecordDecoder(const RecordDecoder&) = delete;
  RecordDecoder& operator=(const RecordDecoder&) = delete;

  // Decodes one line (without its newline). Blank (whitespace only) lines give Blank.
  // As soon as the record's `id` is read, and before any other check, `is_duplicate(id)`
  // is asked; true gives Duplicate. Reject sets *error to a message a person can act on,
  // e.g. "field `amount`: money has at most 2 decimal places, got \"10.001\"".
  DecodeOutcome Decode(std::string_view line, const std::function<bool(std::string_view)>& is_duplicate,
                       Record* out, std::string* error);

  // A 64-bit hash of what a decoded record says (spec §4, C14: two records with one id are
  // compared by it): its kind, event type and client by name, its time, and its fields' values
  // by name, combined without regard to order. Built from decoded values, so key order, number
  // spelling and unknown keys do not change it; a field at its default counts as not given,
  // so a program upgrade that adds a field with a default keeps the hashes of records
  // remembered before it. Never 0 (0 is "unknown" to the dedup set).
  // The hashes are persisted (seen rows of --state stores): this function must not change.
  uint64_t ContentHash(const Record& record) const { return ContentHash(record, HashId(record.client)); }
  // The same, given client_hash == HashId(record.client), which the engine has already
  // computed for its client table (one hash of the id per record rather than two).
  uint64_t ContentHash(const Record& record, uint64_t client_hash) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads a JSON Lines input (a file, or "-" for stdin) line by line, in large blocks.
// Lines are handed out as views valid until the next call, with their 1-based number.
// A final line without a newline counts; "\r\n" endings are accepted.
class LineReader {
 public:
  // nullptr with *error set when the file cannot be opened.
  static std::unique_ptr<LineReader> Open(const std::string& path, std::string* error);
  ~LineReader();
  bool Next(std::string_view* line, uint64_t* line_number);
  // Bytes read so far and the total size when known (-1 for pipes): for progress display.
  uint64_t bytes_read() const;
  int64_t total_bytes() const;
  // Bytes of the input consumed through the last line handed out, its newline included.
  uint64_t offset() const;
  // Continues a seekable input after `offset` bytes, numbering the next line `line_number + 1`
  // (resuming durable state). Before the first Next only; false when the input cannot seek.
  bool SeekTo(uint64_t offset, uint64_t line_number);
  // After Next returned false: why reading stopped early (a read error), or "" at a clean end.
  const std::string& error() const;

 private:
  LineReader() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace perk::runtime
