// How `perk repl` shows things: ledger entries as a table, values in Perk's own notation,
// and the source text of a checked sub-expression. Colour only when asked for.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/checked.h"
#include "runtime/ledger.h"

namespace perk::repl {

// ANSI styles, applied only when `color` is set.
namespace style {
constexpr const char* kBold = "\033[1m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kGreen = "\033[32m";
constexpr const char* kYellow = "\033[33m";
constexpr const char* kBlue = "\033[34m";
constexpr const char* kMagenta = "\033[35m";
constexpr const char* kCyan = "\033[36m";
}  // namespace style
std::string Paint(bool color, const char* style, std::string_view text);

// A table cell: its text and the style it is painted in ("" for none).
struct Cell {
  std::string text;
  const char* style = "";
};
// Columns padded to the widest cell (in code points); the header is bold, numbers in
// columns listed in `right` are right-aligned. Every line is indented by two spaces.
std::string RenderTable(const std::vector<std::string>& header, const std::vector<std::vector<Cell>>& rows,
                        const std::vector<bool>& right, bool color);

// One ledger entry as the REPL shows it: its action and details, e.g. ("credit",
// "bonus +75.00 -> 75.00"). Owns its text: the engine's entries live only for a Sink call.
struct EntryView {
  std::string trigger, client, time, rule, action, details;
  long long seq = 0;
  int rule_index = -1;  // -1 for tier and segment entries
};
EntryView ViewEntry(const runtime::LedgerEntry& entry, const checked::Program& program);

// Ledger entries as a table, with a line naming each trigger (record id or day tick) where it
// changes.
std::string RenderLedger(const std::vector<EntryView>& entries, bool color);

// A value as Perk writes it: `75.00 USD`, `0.3`, `"CY"`, `2026-01-05T10:00:00Z`, `Gold`.
std::string FormatValue(const checked::Program& program, Type type, const Value& value);

// A program's text split into lines of code points, once, for ExprText.
using SourceLines = std::vector<std::u32string>;
SourceLines SplitSource(std::string_view source);

// The program text an expression was written as: from its start to the furthest end of it
// or any of its parts (ranges stop at line ends, parts do not), with line breaks and the
// indentation after them collapsed to one space.
std::string ExprText(const SourceLines& lines, const checked::Expr& e);

}  // namespace perk::repl
