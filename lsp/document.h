// An open document: its text, edits applied to it, LSP positions (UTF-16) converted to the
// compiler's (1-based lines, code point columns), and the analysis of its latest text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/query.h"
#include "lsp/incremental.h"

namespace perk::lsp {

// An LSP position: 0-based line, UTF-16 code units into the line.
struct Position {
  int line = 0;
  int character = 0;
};

// What the compiler says about one version of the text.
struct Analysis {
  Diagnostics diags{"", ""};
  std::unique_ptr<query::Index> index;
};

class Document {
 public:
  Document(std::string uri, std::string text, int version);

  const std::string& uri() const { return uri_; }
  const std::string& text() const { return text_; }
  int version() const { return version_; }

  // The whole text replaced, or the part between two positions.
  void Replace(std::string text, int version);
  void Edit(Position start, Position end, const std::string& text, int version);

  // Parses and checks the current text (what `perk check` does), re-parsing only the
  // declarations that changed since the last time.
  void Analyze();
  const Analysis& analysis() const { return *analysis_; }
  // The last index whose program parsed without errors (completion while a line is half typed).
  const query::Index* last_clean_index() const { return clean_.get(); }

  // Line `n` (1-based) without its line break; "" past the end.
  std::string Line(uint32_t n) const;
  uint32_t LineCount() const { return static_cast<uint32_t>(starts_.size()); }
  // Compiler place (1-based line, code point column) <-> LSP position.
  Position ToLsp(uint32_t line, uint32_t column) const;
  void FromLsp(Position p, uint32_t* line, uint32_t* column) const;

 private:
  void IndexLines();
  size_t Offset(Position p) const;

  std::string uri_;
  std::string text_;
  int version_ = 0;
  std::vector<size_t> starts_;  // byte offset of each line
  IncrementalParser parser_;
  std::unique_ptr<Analysis> analysis_;
  std::unique_ptr<query::Index> clean_;
};

}  // namespace perk::lsp
