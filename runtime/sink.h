// Where the engine's output goes (docs/architecture.md, "Output: sinks"). For each input
// line the engine calls, in order: Entry for every ledger entry it committed (those of the
// day ticks the record started, then the record's own), Outcome(TickFailed) for each client a
// day tick failed for, then Outcome with the record's own status (none for a blank line).
// Rolled-back entries never reach a sink. Engine::AdvanceTo hands its day ticks' entries and
// failures the same way, without a record outcome.
#pragma once

#include "runtime/ledger.h"

namespace perk::runtime {

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Entry(const LedgerEntry& entry) = 0;
  virtual void Outcome(const RecordOutcome& outcome) = 0;
};

}  // namespace perk::runtime
