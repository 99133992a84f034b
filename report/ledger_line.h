// Reading ledger and reject lines (spec §6) for the report: one line at a time into views.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "report/report.h"

namespace perk::report {

// One ledger line. The views are valid until the next Read or Load.
struct LedgerLine {
  std::string_view trigger;
  std::string_view client;
  std::string_view time;
  std::string_view rule;  // "" when null (tier and segment entries)
  Action action = Action::Unknown;
  // wallet (credit, debit, skip), var (set), template (notify), name (emit), badge (grant),
  // segment (segment)
  std::string_view target;
  std::string_view amount;  // credit, debit, skip: the amount's text ("75.00" or "120")
  std::string_view from;    // tier
  std::string_view to;
  bool member = false;      // segment
  std::string_view value;   // the raw JSON of `value` (set) or `data` (notify, emit)
  std::string_view reason;  // skip
};

struct RejectLine {
  uint64_t line = 0;
  std::string_view error;
};

// Splits a chunk of JSON Lines and reads each line with simdjson; the chunk is copied once
// into a padded buffer so lines can be parsed in place.
class LineParser {
 public:
  LineParser();
  ~LineParser();
  // Loads a chunk; then Next hands out its non-blank lines one by one.
  void Load(std::string_view chunk);
  bool Next(std::string_view* line);
  // Parse the line last returned by Next; false when it is not a ledger / reject line.
  bool ReadLedger(std::string_view line, LedgerLine* out);
  bool ReadReject(std::string_view line, RejectLine* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Parses a ledger amount: money text with 2 decimals into cents, or an int.
bool ParseAmount(std::string_view text, bool money, int64_t* out);

// The date (days since epoch) and the instant (micros) of a ledger time; false when malformed.
bool ParseLedgerTime(std::string_view text, int64_t* micros);

}  // namespace perk::report
