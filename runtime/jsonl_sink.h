// The ledger and rejects writer: the sink that turns typed entries and outcomes into the
// JSON Lines of spec §6, byte for byte what `perk run --ledger/--rejects` writes.
#pragma once

#include <string>
#include <vector>

#include "compiler/checked.h"
#include "runtime/sink.h"

namespace perk::runtime {

// Appends a value of a static type as the ledger writes it: int as a number, money "75.00",
// decimal "0.3", time, date and tier names as strings, null for what has no encoding.
void AppendValueJson(std::string& out, const checked::Program& program, Type type, const Value& value);

// Appends the reject line `{"line":N,"error":"..."}` (spec §6).
void AppendRejectLine(std::string& out, uint64_t line, std::string_view message);

class JsonlSink final : public Sink {
 public:
  // The program must outlive the sink.
  explicit JsonlSink(const checked::Program& program);

  void Entry(const LedgerEntry& entry) override;
  // Writes a reject line for Rejected and TickFailed; nothing for the others.
  void Outcome(const RecordOutcome& outcome) override;

  // Complete lines written so far; drain them as you like.
  std::string& ledger() { return ledger_; }
  std::string& rejects() { return rejects_; }

 private:

  const checked::Program& program_;
  std::string ledger_;
  std::string rejects_;
  std::vector<std::string> rule_names_json_;  // per rule, quoted once
  // The fields every entry of one trigger and client shares, formatted on its first entry
  // (most records write one or none): ,"trigger":...,"client":...,"time":...,"rule":
  uint64_t trigger_serial_ = 0;  // whose trigger_json_ and time_json_ these are; 0: none
  std::string trigger_json_;
  std::string time_json_;
  uint32_t shared_client_ = UINT32_MAX;  // whose entry_shared_ it is, under trigger_serial_
  std::string entry_shared_;
};

}  // namespace perk::runtime
