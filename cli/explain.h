// Why a rule fired or not, as `perk repl`'s `:explain` shows it and `perk test` prints it for
// an expected entry that was not written: the rule's trigger, its limit's use, the value of
// every sub-expression of its `when`, and the entries it wrote.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/repl_view.h"
#include "compiler/checked.h"

namespace perk::runtime {
struct EvalContext;
}

namespace perk::repl {

// One sub-expression of a `when`, with its value ("not evaluated" when short-circuiting skipped it).
struct ExplainLine {
  int depth = 0;
  std::string text;
  std::string value;
  bool reached = true;
};

// One rule as the engine considered it for one client.
struct RuleTrace {
  int rule = 0;
  std::string client;
  std::string trigger;   // "on deposit (d1)", "every day (2026-01-06)", ...
  std::string limit;     // "" without a limit
  bool limit_ok = true;
  bool has_when = false;
  std::string when_value;  // "true", "false" or an error
  std::vector<ExplainLine> when;
  uint64_t seq_before = 0;  // the engine's last seq when the rule was considered
  std::vector<std::string> effects;  // "credit bonus +75.00 -> 75.00", ...
};

// Traces `rule` in the context the engine is about to evaluate its `when` in (called from an
// engine's RuleObserver); `seq_before` is the engine's seq() then. Evaluated by the reference
// interpreter, so it is the same whichever engine runs.
RuleTrace TraceRule(const checked::Program& program, const SourceLines& source, int rule,
                    const runtime::EvalContext& ctx, uint64_t seq_before);

// Gives each trace the entries its rule wrote: those after its seq_before and up to the next
// trace's, with its rule index.
void AttributeEffects(std::vector<RuleTrace>& traces, const std::vector<EntryView>& entries);

// One trace as `:explain` prints it: a blank line, the rule's heading, its limit, its `when`
// with every sub-expression, the verdict and its effects; `indent` spaces before each line.
std::string RenderTrace(const checked::Program& program, const RuleTrace& trace, bool color, int indent = 0);

// " within 30 days", " within previous 1 month", "" for an unbounded window.
std::string WindowText(const checked::Window& window);
// "division by zero" or "arithmetic overflow".
std::string EvalErrorText(PerkStatus status);

}  // namespace perk::repl
