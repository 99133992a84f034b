// The compiler's entry points: source text in, a checked program (or diagnostics) out.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "compiler/ast.h"
#include "compiler/checked.h"
#include "compiler/diagnostics.h"

namespace perk {

// Resolves names, checks types and the rules of what each place may read, folds constants.
// Every problem goes to `diags`; returns nullptr when there is any error.
std::unique_ptr<checked::Program> CheckProgram(const ast::Program& program, Diagnostics& diags);

// Parse + check in one step.
std::unique_ptr<checked::Program> CompileProgram(std::string_view source, Diagnostics& diags);

// Applies `--param NAME=VALUE` overrides: VALUE is read as a literal of the param's type
// ("25%" or "0.25" for decimal, "500 USD" or "500" for money, "true", "2026-01-01", text for
// strings). Returns false with a message in *error for an unknown param or a value that does
// not fit.
bool OverrideParam(checked::Program& program, const std::string& name, const std::string& text,
                   std::string* error);

// Checks one expression against a program, as if inside a rule on `event` (-1: no event),
// for the REPL. Each aggregate in it gets a new slot and use, appended to a copy of the
// program given back in *extended (existing indexes are unchanged): evaluate the result with
// *extended as the program, over client state that *extended's slots were fed into.
// Returns nullopt with diagnostics on error.
std::optional<checked::Expr> CheckExpression(const checked::Program& program, const ast::Expr& expr,
                                             int event, Diagnostics& diags, checked::Program* extended);

}  // namespace perk
