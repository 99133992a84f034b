// Which clients each day-tick rule can fire for (issue 19): the analysis behind day ticks that
// visit only what is due. Internal to the compiler: CheckProgram stores its result in
// Program::day_schedule, and the engine reads it from there.
#pragma once

#include "compiler/checked.h"

namespace perk {

// A day-tick rule whose `when` is an `and` chain holding `anniversary(client.ATTR)` (ATTR a
// date or time attribute, or `since`), where every condition before it can neither fail nor
// change anything, can fire for a client only on ATTR's anniversaries; every other rule is due
// for every client every day (conservative: the ledger never changes). Conditions after the
// anniversary run only when it holds; a limit without a key changes nothing before `when`.
checked::DaySchedule ScheduleDayTicks(const checked::Program& program);

// Whether evaluating `e` can neither fail at run time nor change any state (no arithmetic that
// may overflow or divide by zero, no aggregate: folding one fills the client's window caches).
bool CannotFailOrChange(const checked::Expr& e);

}  // namespace perk
