// The language features, each from an open document and the request's params to the LSP
// result (lsp/features.cpp); the server (lsp/server.cpp) routes requests to them.
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "lsp/document.h"

namespace perk::lsp {

using nlohmann::json;

// The params of textDocument/publishDiagnostics for the document's latest analysis.
json PublishDiagnostics(const Document& doc);
json Hover(const Document& doc, Position at);
json Definition(const Document& doc, Position at);
json References(const Document& doc, Position at, bool include_declaration);
json Completion(const Document& doc, Position at);
json DocumentSymbols(const Document& doc);
// Quick fixes for the diagnostics with a fix that touch the lines from `start` to `end`.
json CodeActions(const Document& doc, Position start, Position end);
// `perk analyze`'s findings (docs/analyze.md) on the document's text, as information
// diagnostics (source "perk analyze"); none when the program does not check. Slower than a
// check (0.7 s on a 200-rule program), so the server runs it on open and on save only.
json AnalysisDiagnostics(const Document& doc);
// textDocument/formatting: one edit replacing the whole text with its canonical layout
// (`perk fmt`, docs/fmt.md), or none when it is formatted already; nullopt when the program
// does not parse (nothing can be formatted then).
std::optional<json> Formatting(const Document& doc);

}  // namespace perk::lsp
