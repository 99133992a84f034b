// Diagnostics: source ranges, the registry of kinds, and rendering as
// `FILE:LINE:COL: error: message [E0001]` with the source line and a caret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace perk {

// A place in the program text. Lines and columns are 1-based; columns and length count
// Unicode code points, so carets line up under non-ASCII identifiers.
struct SourceRange {
  uint32_t line = 0;
  uint32_t column = 0;
  uint32_t length = 1;
};

enum class Severity { Error, Warning };

enum class DiagKind {
#define PERK_DIAG(name, severity, code, summary) name,
#include "compiler/diagnostic_kinds.def"
#undef PERK_DIAG
};

struct DiagKindInfo {
  const char* name;
  Severity severity;
  const char* code;
  const char* summary;
};
const DiagKindInfo& Info(DiagKind kind);
// Every kind, in .def order (for docs and the coverage test).
const std::vector<DiagKind>& AllDiagKinds();

// The edit a "did you mean `amount`?" proposes: replace the first `original` within the
// diagnostic's range by `replacement` (an editor's quick fix).
struct Fix {
  std::string original;
  std::string replacement;
};

struct Diagnostic {
  DiagKind kind;
  SourceRange range;
  std::string message;
  // Secondary places: ("tier `Gold` declared here").
  std::vector<std::pair<SourceRange, std::string>> notes;
  std::optional<Fix> fix;
};

class Diagnostics {
 public:
  Diagnostics(std::string filename, std::string_view source);

  void Report(DiagKind kind, SourceRange range, std::string message);
  // Attaches a note to the most recent diagnostic.
  void Note(SourceRange range, std::string message);
  // Attaches a fix to the most recent diagnostic.
  void SuggestFix(std::string original, std::string replacement);

  bool HasErrors() const { return errors_ > 0; }
  int errors() const { return errors_; }
  int warnings() const { return warnings_; }
  const std::vector<Diagnostic>& all() const { return diags_; }
  const std::string& filename() const { return filename_; }

  // Every diagnostic sorted by position (stable), each as
  //   FILE:LINE:COL: error: message [E0001]
  //     source line
  //     ^~~~
  std::string Render(bool color = false) const;

 private:
  std::string filename_;
  std::vector<std::string> lines_;
  std::vector<Diagnostic> diags_;
  int errors_ = 0;
  int warnings_ = 0;
};

// Edit distance for "did you mean" suggestions; returns "" when nothing is close.
std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace perk
