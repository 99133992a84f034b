// `perk analyze`: what a checked program can pay at worst, which rules can never fire, which
// rules pay twice for one record, and suspicious arithmetic in credits (docs/analyze.md).
// The one entry point is AnalyzeProgram; the solver (Z3) stays behind it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "compiler/checked.h"
#include "compiler/diagnostics.h"

namespace perk::analyze {

enum class FindingKind : uint8_t {
#define PERK_FINDING(name, code, severity, summary) name,
#include "analyze/finding_kinds.def"
#undef PERK_FINDING
};

struct FindingKindInfo {
  const char* name;
  const char* code;
  const char* severity;  // "warning" or "info"
  const char* summary;
};
const FindingKindInfo& Info(FindingKind kind);
const std::vector<FindingKind>& AllFindingKinds();

// A ledger entry a witness stream must produce (present) or must not produce (!present) when
// run: the keys given must match, "" matches anything.
struct Claim {
  bool present = true;
  std::string rule, action, wallet, amount;
};

// A small input stream that demonstrates a finding or a worst case: a new client's records.
struct Witness {
  std::string name;                // file stem, unique within a report
  std::string about;               // what it demonstrates
  std::vector<std::string> lines;  // JSON Lines records
  std::vector<Claim> claims;
};

struct Finding {
  FindingKind kind = FindingKind::NeverFires;
  SourceRange range;
  std::string rule;  // "" when about a tier or segment
  std::string message;
  int witness = -1;  // index in Report::witnesses
};

// An upper bound on an amount, in the wallet's unit (cents, or units of an int wallet).
struct Bound {
  enum class State : uint8_t { Bounded, Unbounded, Unknown };
  State state = State::Unbounded;
  int64_t value = 0;
  std::string window;  // "" for ever, else e.g. "30 days"
  std::string why;     // how the bound was found, or why there is none
  bool bounded() const { return state == State::Bounded; }
};

// What one rule can credit to one wallet.
struct Payout {
  std::string rule, wallet;
  Type type = Type::Money;
  int64_t worth = 0;  // cents per unit of an int wallet with `worth`, else 0
  SourceRange range;
  Bound per_firing, per_client, campaign;
  bool reached = false;  // a witness pays exactly per_firing
  int witness = -1;
};

struct Report {
  std::vector<Finding> findings;  // in source order
  std::vector<Payout> payouts;    // in rule order
  // Per wallet: the campaign bound summed over the rules that credit it (same window only).
  std::vector<std::pair<std::string, Bound>> wallet_totals;
  Bound program_total;  // in cents: money wallets and int wallets priced by `worth`
  std::vector<Witness> witnesses;
  int queries = 0;
  int unknowns = 0;
};

struct AnalyzeOptions {
  // The solver's budget per question, in Z3 resource units ("rlimit"), not milliseconds: Debian's
  // Z3 4.8.12 can deadlock in the timer behind its `timeout` (Z3Prover/z3 PR 5371), and a count
  // of steps gives the same answers on every machine, which goldens and CI need.
  unsigned effort = 5'000'000;
  // A wall-clock limit per question besides (analyze/watchdog.h): some questions run long
  // without spending effort. Unlike the effort, it can make answers depend on the machine.
  unsigned query_ms = 10'000;
  bool witnesses = true;       // build witness streams (cheap; writing them is the CLI's part)
};

Report AnalyzeProgram(const checked::Program& program, const AnalyzeOptions& options);

// The report as text (`file:line:col: warning: message [A0001]` lines after the payouts) or JSON.
std::string RenderText(const checked::Program& program, const Report& report, const std::string& filename);
std::string RenderJson(const checked::Program& program, const Report& report, const std::string& filename);
// A bound as the text report words it ("at most 75.00 USD per 30 days (…)", "unbounded: …");
// `unit` names an int wallet's unit, `windowed` adds the bound's window.
std::string BoundText(const checked::Program& program, const Bound& b, Type type, const std::string& unit, bool windowed);
// A witness's claims as one JSON object, for the test that runs witnesses.
std::string ClaimsJson(const Witness& witness);

}  // namespace perk::analyze
