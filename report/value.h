// What a program cost and what it brought (C12): cost per rule and per segment with points
// priced by their wallet's `worth`, the revenue the program's `revenue` declarations read from
// accepted events, revenue of participants against non-participants, return on investment per
// rule, and client lifetime value by tier and by segment. Definitions: docs/report.md, "Cost
// and return". Money is in cents throughout; nothing here is a double. [v0.2] A counter-entry
// of a reversal nets into cost without making a participant; a reversed event's revenue leaves
// the figures; events sent by rules bring none (they have no outcome).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/checked.h"
#include "runtime/ledger.h"
#include "runtime/state.h"

namespace perk::report {

// The cost of one wallet movement: money at face value, points at `worth` cents each; points
// of a wallet without `worth` stay points. A credit costs, a debit gives back (negative).
struct Cost {
  int64_t cents = 0;
  int64_t unpriced_points = 0;
  Cost& operator+=(const Cost& o);
};
// `amount` of wallet `w` moved by a credit (debit = false) or a debit. Saturates at the int64
// range rather than wrap (a price times a huge points amount).
Cost CostOf(const checked::Wallet& w, int64_t amount, bool debit);

// Return on investment as basis points of the cost: (revenue - cost) / cost, rounded half away
// from zero; nullopt when it has no meaning (cost not above zero, or unpriced points in it).
std::optional<int64_t> RoiBasisPoints(int64_t revenue, const Cost& cost);
// total / n rounded half away from zero (cents per client); 0 when n is 0.
int64_t PerClient(int64_t total, int64_t n);

struct GroupValue {
  std::string name;
  int64_t clients = 0;
  int64_t revenue = 0;  // cents
  Cost cost = {};
  int64_t value() const { return revenue - cost.cents; }  // lifetime value (priced part)
};

struct ValueFigures {
  bool has_revenue = false;  // the program declares `revenue`
  bool has_worth = false;    // some int wallet has `worth`
  bool has_unpriced = false; // some int wallet has none
  int64_t revenue = 0;          // cents, every accepted event's revenue
  int64_t revenue_events = 0;   // accepted events with revenue declared for their type that counted
  int64_t revenue_errors = 0;   // `where` failed to evaluate (overflow): counted as no revenue
  int64_t revenue_reversed = 0; // events of this run whose revenue a reversal took back out
  Cost cost;                    // every rule's, net
  // Clients with an accepted event or a rule's wallet movement in this run, split by whether a
  // rule credited them (participants) or not.
  GroupValue participants{"participants"};
  GroupValue non_participants{"non-participants"};
  std::vector<GroupValue> by_tier;     // tier at the end of the run
  std::vector<GroupValue> by_segment;  // members at the end of the run (a client may be in several)
  GroupValue no_segment{"(no segment)"};
  std::vector<Cost> segment_cost;      // entries written while the client was a member
};

// Per rule, filled into RuleFigures.
struct RuleValue {
  Cost cost;
  int64_t credited_clients = 0;  // distinct clients the rule credited
  int64_t revenue = 0;           // of those clients, from the record of their first credit by it on
};

// Folds entries and outcomes (as the Collector hands them) into ValueFigures. Clients are
// numbered by the caller (the Collector's own numbering, 0, 1, 2, ... in order of first
// sight), so that a client id is hashed once per entry for both.
class ValueCollector {
 public:
  explicit ValueCollector(const checked::Program& program);
  ~ValueCollector();
  ValueCollector(const ValueCollector&) = delete;
  ValueCollector& operator=(const ValueCollector&) = delete;

  // Segment memberships of the clients known before the run; `number` numbers a client id.
  void Begin(const runtime::ClientList& clients, const std::function<uint32_t(std::string_view)>& number);
  void Entry(const runtime::LedgerEntry& entry, uint32_t client);
  // Accepted event and reversal records (outcome.record); `client` numbers the record's client.
  // A reversal takes its event's revenue back out of every figure that counted it.
  void Outcome(const runtime::RecordOutcome& outcome, uint32_t client);
  // `find` gives a client id's number, or -1 for a client never numbered.
  void Finish(const runtime::ClientList& clients, const std::function<int64_t(std::string_view)>& find,
              ValueFigures* out, std::vector<RuleValue>* rules);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace perk::report
