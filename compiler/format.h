// `perk fmt` as a library: a program's canonical layout (docs/fmt.md), for the CLI and the
// language server alike.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "compiler/diagnostics.h"

namespace perk {

// The lines are at most this wide where the formatter can break them (docs/fmt.md).
constexpr int kFormatWidth = 100;

// The canonical layout of `source`, every comment kept in place. Only whitespace and the
// optional commas between fields and data entries change, so the result parses to the same
// program. Returns nullopt, with the errors in `diags`, when `source` does not parse.
std::optional<std::string> FormatSource(std::string_view source, Diagnostics& diags);

}  // namespace perk
