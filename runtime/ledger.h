// What the engine produces, typed: ledger entries (spec §6) and the outcome of each input
// record, handed to sinks (runtime/sink.h). Writers format them (runtime/jsonl_sink.h writes
// the ledger and rejects files); the REPL, libperk and the report read the fields, never the
// text.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "stdlib/value.h"

namespace perk::runtime {

struct Record;

enum class LedgerAction : uint8_t {
#define X(name, text) name,
#include "runtime/ledger_actions.def"
#undef X
};
constexpr int kLedgerActions = 0
#define X(name, text) +1
#include "runtime/ledger_actions.def"
#undef X
    ;
// "credit", "tier", ... as the ledger writes them.
const char* LedgerActionName(LedgerAction action);
// The action named `text`; false when there is none.
bool ParseLedgerAction(std::string_view text, LedgerAction* out);

// One value a `set` writes (key empty) or one `data` field of a notify or emit.
struct LedgerValue {
  std::string_view key;
  Type type = Type::Error;
  const Value* value = nullptr;
};

// One ledger entry. The views point into the program and the engine; they are valid only
// during the Sink::Entry call that hands the entry out.
struct LedgerEntry {
  uint64_t seq = 0;
  LedgerAction action = LedgerAction::Credit;
  // The trigger: an event (its id) or a day tick (trigger "day:DATE" with DATE its local date).
  bool day_tick = false;
  std::string_view event_id;
  int64_t day = 0;             // day_tick: days since the epoch
  uint64_t trigger_serial = 0; // changes with every trigger: lets a writer reuse the text of the last one
  int64_t time = 0;            // micros since the epoch, UTC
  std::string_view client;
  uint32_t client_index = 0;   // in Engine::clients()
  int rule = -1;               // index in program.rules; -1 for tier and segment entries
  std::string_view rule_name;  // "" when rule is -1
  // The object of the action: the wallet (credit, debit, skip, release, expire), var (set),
  // template (notify), name (emit), badge (grant), segment (segment) or [v0.2] event type sent
  // (send).
  std::string_view target;
  // [v0.2] send: the client the event is for, and the sent event's id (TRIGGER/RULE/N).
  std::string_view send_to, sent_id;
  // credit, debit, skip, release, expire: the wallet's type (Int or Money) and fixed-point amounts (cents for
  // money); skip has the amount asked and no balance.
  Type amount_type = Type::Int;
  int64_t amount = 0;
  int64_t balance = 0;
  // [v0.2] credit: a pending credit, available from its release date `until` (days since the
  // epoch, local); the balance is then unchanged.
  bool pending = false;
  int64_t until = 0;
  bool partial = false;        // credit: cut to what a budget had left
  // [v0.2] A counter-entry written by a reversal: the seq of the credit or debit it answers
  // (0 for none), and for a counter-debit what it could not take back (spec §4, §6).
  uint64_t reverses = 0;
  int64_t short_amount = 0;
  std::string_view reason;     // skip: "budget" or "client budget"
  std::string_view from, to;   // tier: tier names
  bool member = false;         // segment: entered (true) or left
  std::span<const LedgerValue> values;  // set: one; notify, emit: the data fields in order
};

enum class RecordStatus : uint8_t {
#define X(name, text) name,
#include "runtime/record_statuses.def"
#undef X
};
const char* RecordStatusName(RecordStatus status);

// What the engine made of one non-blank input line (or, TickFailed, of one client's part of a
// day tick it started). Views are valid only during the Sink::Outcome call.
struct RecordOutcome {
  RecordStatus status = RecordStatus::Accepted;
  uint64_t line = 0;            // the input line number given to the engine
  std::string_view id;          // the record's id, when it has one and it was read ("" for TickFailed)
  std::string_view client;      // the record's client, when it was read ("" for TickFailed: the
                                // message names the client)
  std::string_view message;     // Rejected, TickFailed: why, as the rejects file says it
  // Accepted: the decoded record, typed (its kind, event and field values), for sinks that
  // read what records say (the report's revenue, C12); null otherwise.
  const Record* record = nullptr;
};

}  // namespace perk::runtime
