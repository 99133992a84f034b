// Safety warnings (spec §8): places where a program is valid but probably not what its author
// meant. Internal to the compiler: CheckProgram runs them on every program that checked cleanly.
#pragma once

#include "compiler/ast.h"
#include "compiler/checked.h"
#include "compiler/diagnostics.h"

namespace perk {

// A credit of money times an integer literal of 2 or more (a percentage written without `%`),
// and a rule whose `when` is constant false. (A money credit with neither `limit` nor `budget`
// is reported by the checker itself, which sees the clauses as written.)
void WarnUnsafe(const ast::Program& source, const checked::Program& program, Diagnostics& diags);

}  // namespace perk
