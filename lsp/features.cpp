// The language features: diagnostics, hover, definitions, references, completion, symbols
// quick fixes and formatting, from a document's analysis to LSP JSON (lsp/features.h).
#include "lsp/features.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include "analyze/analyze.h"
#include "compiler/compiler.h"
#include "compiler/format.h"
#include "compiler/query.h"

namespace perk::lsp {

namespace {

using query::Symbol;
using query::SymbolKind;

json PositionJson(Position p) { return {{"line", p.line}, {"character", p.character}}; }

json RangeJson(const Document& doc, SourceRange r) {
  return {{"start", PositionJson(doc.ToLsp(r.line, r.column))},
          {"end", PositionJson(doc.ToLsp(r.line, r.column + r.length))}};
}

json LocationJson(const Document& doc, SourceRange r) { return {{"uri", doc.uri()}, {"range", RangeJson(doc, r)}}; }

// The code points of a line, for finding a fix's text by column.
std::u32string Decode(const std::string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    char32_t cp = n == 1 ? c : c & (0xFF >> (n + 1));
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

// Where a diagnostic's fix applies: the first `original` inside the diagnostic's range.
std::optional<SourceRange> FixRange(const Document& doc, const Diagnostic& d) {
  if (!d.fix) return std::nullopt;
  const std::u32string line = Decode(doc.Line(d.range.line));
  const std::u32string original = Decode(d.fix->original);
  const size_t from = d.range.column - 1;
  const size_t to = std::min(line.size(), from + d.range.length);
  if (from >= line.size() || original.empty()) return std::nullopt;
  size_t at = line.find(original, from);
  if (at == std::u32string::npos || at + original.size() > to) return std::nullopt;
  return SourceRange{d.range.line, static_cast<uint32_t>(at + 1), static_cast<uint32_t>(original.size())};
}

json DiagnosticJson(const Document& doc, const Diagnostic& d) {
  const DiagKindInfo& info = Info(d.kind);
  json out = {{"range", RangeJson(doc, d.range)},
              {"severity", info.severity == Severity::Error ? 1 : 2},
              {"code", info.code},
              {"source", "perk"},
              {"message", d.message}};
  if (!d.notes.empty()) {
    json related = json::array();
    for (const auto& [range, message] : d.notes)
      related.push_back({{"location", LocationJson(doc, range)}, {"message", message}});
    out["relatedInformation"] = related;
  }
  if (auto r = FixRange(doc, d))
    out["data"] = {{"fix", {{"range", RangeJson(doc, *r)}, {"newText", d.fix->replacement}}}};
  return out;
}

// The symbol written at `at`, or -1.
int SymbolAt(const Document& doc, Position at, SourceRange* where) {
  uint32_t line = 0, column = 0;
  doc.FromLsp(at, &line, &column);
  const query::Index& index = *doc.analysis().index;
  int k = index.At(line, column);
  if (k < 0) return -1;
  if (where) *where = index.occurrences()[k].range;
  return index.occurrences()[k].symbol;
}

int CompletionKind(SymbolKind kind) {
  switch (kind) {
    case SymbolKind::Event: return 23;
    case SymbolKind::Field:
    case SymbolKind::ClientField:
    case SymbolKind::BuiltinField: return 5;
    case SymbolKind::Wallet:
    case SymbolKind::Var: return 6;
    case SymbolKind::Param: return 21;
    case SymbolKind::Tier: return 20;
    case SymbolKind::Segment: return 7;
    case SymbolKind::Rule: return 9;
    case SymbolKind::Builtin: return 3;
  }
  return 1;
}

int DocumentSymbolKind(SymbolKind kind) {
  switch (kind) {
    case SymbolKind::Event: return 24;
    case SymbolKind::Field:
    case SymbolKind::ClientField:
    case SymbolKind::BuiltinField: return 8;
    case SymbolKind::Wallet:
    case SymbolKind::Var: return 13;
    case SymbolKind::Param: return 14;
    case SymbolKind::Tier: return 22;
    case SymbolKind::Segment: return 5;
    case SymbolKind::Rule: return 12;
    case SymbolKind::Builtin: return 12;
  }
  return 13;
}

json CompletionItem(const query::Index& index, int id) {
  const Symbol& s = index.symbols()[id];
  json item = {{"label", s.name}, {"kind", CompletionKind(s.kind)}, {"detail", index.Describe(id)}};
  return item;
}

bool IsWordByte(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return std::isalnum(u) || c == '_' || u >= 0x80;
}

}  // namespace

json PublishDiagnostics(const Document& doc) {
  json list = json::array();
  for (const Diagnostic& d : doc.analysis().diags.all()) list.push_back(DiagnosticJson(doc, d));
  return {{"uri", doc.uri()}, {"version", doc.version()}, {"diagnostics", list}};
}

json Hover(const Document& doc, Position at) {
  SourceRange where;
  int id = SymbolAt(doc, at, &where);
  if (id < 0) return nullptr;
  const query::Index& index = *doc.analysis().index;
  const Symbol& s = index.symbols()[id];
  std::string text;
  if (s.decl_range.line > 0) {
    std::string line = doc.Line(s.decl_range.line);
    size_t first = line.find_first_not_of(" \t");
    text = "```perk\n" + (first == std::string::npos ? line : line.substr(first)) + "\n```\n";
  }
  text += index.Describe(id);
  return {{"contents", {{"kind", "markdown"}, {"value", text}}}, {"range", RangeJson(doc, where)}};
}

json Definition(const Document& doc, Position at) {
  int id = SymbolAt(doc, at, nullptr);
  if (id < 0) return nullptr;
  const Symbol& s = doc.analysis().index->symbols()[id];
  if (s.name_range.line == 0) return nullptr;  // a built-in: declared nowhere in the program
  return LocationJson(doc, s.name_range);
}

json References(const Document& doc, Position at, bool include_declaration) {
  int id = SymbolAt(doc, at, nullptr);
  json out = json::array();
  if (id < 0) return out;
  for (const SourceRange& r : doc.analysis().index->References(id, include_declaration))
    out.push_back(LocationJson(doc, r));
  return out;
}

json Completion(const Document& doc, Position at) {
  uint32_t line = 0, column = 0;
  doc.FromLsp(at, &line, &column);
  const std::string text = doc.Line(line);
  // The bytes before the cursor: the word being typed, and what comes before it.
  size_t end = 0;
  for (uint32_t cp = 1; cp < column && end < text.size(); ++cp) {
    ++end;
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  }
  size_t start = end;
  while (start > 0 && IsWordByte(text[start - 1])) --start;
  json items = json::array();
  const query::Index* index = doc.analysis().index.get();
  if (start > 0 && text[start - 1] == '.') {
    // `deposit.` lists deposit's fields; `client.` the client's attributes.
    size_t base_end = start - 1, base_start = base_end;
    while (base_start > 0 && IsWordByte(text[base_start - 1])) --base_start;
    const std::string base = text.substr(base_start, base_end - base_start);
    std::vector<int> fields = index->FieldsOf(base);
    // While the line is half typed the program may not parse; the last clean one knows the fields.
    if (fields.empty() && doc.last_clean_index()) {
      index = doc.last_clean_index();
      fields = index->FieldsOf(base);
    }
    for (int id : fields) items.push_back(CompletionItem(*index, id));
    return {{"isIncomplete", false}, {"items", items}};
  }
  if (index->TopLevel().empty() && doc.last_clean_index()) index = doc.last_clean_index();
  for (int id : index->TopLevel()) items.push_back(CompletionItem(*index, id));
  for (const auto& b : query::Builtins())
    items.push_back({{"label", b.name}, {"kind", 3}, {"detail", b.signature}, {"documentation", b.description}});
  for (const std::string& k : ast::Keywords()) items.push_back({{"label", k}, {"kind", 14}});
  return {{"isIncomplete", false}, {"items", items}};
}

json DocumentSymbols(const Document& doc) {
  const query::Index& index = *doc.analysis().index;
  json out = json::array();
  for (int id : index.TopLevel()) {
    const Symbol& s = index.symbols()[id];
    json range = RangeJson(doc, s.decl_range);
    if (s.kind == SymbolKind::Rule && s.end_line > s.decl_range.line)
      range["end"] = PositionJson(doc.ToLsp(s.end_line, 1 + query::CodePointLength(doc.Line(s.end_line))));
    json symbol = {{"name", s.name},
                   {"detail", index.Describe(id)},
                   {"kind", DocumentSymbolKind(s.kind)},
                   {"range", range},
                   {"selectionRange", RangeJson(doc, s.name_range)}};
    if (s.kind == SymbolKind::Event) {
      json children = json::array();
      for (int f : index.FieldsOf(s.name)) {
        const Symbol& field = index.symbols()[f];
        if (field.name_range.line == 0) continue;
        children.push_back({{"name", field.name},
                            {"detail", field.type},
                            {"kind", 8},
                            {"range", RangeJson(doc, field.decl_range)},
                            {"selectionRange", RangeJson(doc, field.name_range)}});
      }
      symbol["children"] = children;
    }
    out.push_back(symbol);
  }
  return out;
}

json CodeActions(const Document& doc, Position start, Position end) {
  json out = json::array();
  for (const Diagnostic& d : doc.analysis().diags.all()) {
    const int line = static_cast<int>(d.range.line) - 1;
    if (line < start.line || line > end.line) continue;
    auto r = FixRange(doc, d);
    if (!r) continue;
    json edit = {{"range", RangeJson(doc, *r)}, {"newText", d.fix->replacement}};
    out.push_back({{"title", "Replace `" + d.fix->original + "` with `" + d.fix->replacement + "`"},
                   {"kind", "quickfix"},
                   {"isPreferred", true},
                   {"diagnostics", json::array({DiagnosticJson(doc, d)})},
                   {"edit", {{"changes", {{doc.uri(), json::array({edit})}}}}}});
  }
  return out;
}

std::optional<json> Formatting(const Document& doc) {
  Diagnostics diags(doc.uri(), doc.text());
  std::optional<std::string> formatted = FormatSource(doc.text(), diags);
  if (!formatted) return std::nullopt;
  if (*formatted == doc.text()) return json::array();
  // The whole text: from its start to the end of its last line (columns count code points).
  const uint32_t last = doc.LineCount();
  uint32_t column = 1;
  for (unsigned char ch : doc.Line(last)) column += (ch & 0xc0) != 0x80;
  const Position end = doc.ToLsp(last, column);
  json range = {{"start", {{"line", 0}, {"character", 0}}}, {"end", {{"line", end.line}, {"character", end.character}}}};
  return json::array({{{"range", range}, {"newText", *formatted}}});
}

json AnalysisDiagnostics(const Document& doc) {
  json list = json::array();
  if (doc.analysis().diags.HasErrors()) return list;
  Diagnostics diags(doc.uri(), doc.text());
  std::unique_ptr<checked::Program> program = CompileProgram(doc.text(), diags);
  if (!program) return list;
  analyze::AnalyzeOptions options;
  options.witnesses = false;  // the editor shows findings; witnesses are `perk analyze --witness`'s
  options.query_ms = 2'000;   // a question that runs long is reported unknown, not waited for
  const analyze::Report report = analyze::AnalyzeProgram(*program, options);
  // Where the check already warns (money times 30, a `when` that is always false, no limit),
  // the finding says the same again: the check's warning stands alone.
  auto warned_at = [&](const SourceRange& r) {
    for (const Diagnostic& d : doc.analysis().diags.all())
      if (d.range.line == r.line && d.range.column == r.column) return true;
    return false;
  };
  for (const analyze::Finding& f : report.findings)
    if (!warned_at(f.range))
      list.push_back({{"range", RangeJson(doc, f.range)},
                    {"severity", 3},  // information: a finding is about the money, not the syntax
                    {"code", analyze::Info(f.kind).code},
                    {"source", "perk analyze"},
                    {"message", f.message}});
  return list;
}

}  // namespace perk::lsp
