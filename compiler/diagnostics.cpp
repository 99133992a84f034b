// Diagnostics: the registry of kinds from diagnostic_kinds.def, collection, and rendering
// with the source line and a caret under the range.
#include "compiler/diagnostics.h"
#include "stdlib/stdlib.h"

#include <algorithm>
#include <numeric>
#include <string>
#include <tuple>

namespace perk {
namespace {


// The code points of `s`, one U+FFFD per ill-formed byte (as the parser counts columns).
std::u32string CodePoints(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    char32_t c = 0;
    size_t n = stdlib::DecodeUtf8(s, i, &c);
    out.push_back(n ? c : U'\uFFFD');
    i += n ? n : 1;
  }
  return out;
}

// A source line as printed: ill-formed bytes become U+FFFD, so the terminal gets valid UTF-8.
std::string CleanLine(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    char32_t c = 0;
    size_t n = stdlib::DecodeUtf8(s, i, &c);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

const DiagKindInfo kInfos[] = {
#define PERK_DIAG(name, severity, code, summary) {#name, Severity::severity, code, summary},
#include "compiler/diagnostic_kinds.def"
#undef PERK_DIAG
};

constexpr const char* kBold = "\033[1m";
constexpr const char* kRed = "\033[1;31m";
constexpr const char* kMagenta = "\033[1;35m";
constexpr const char* kCyan = "\033[1;36m";
constexpr const char* kGreen = "\033[1;32m";
constexpr const char* kReset = "\033[0m";

}  // namespace

const DiagKindInfo& Info(DiagKind kind) { return kInfos[static_cast<size_t>(kind)]; }

const std::vector<DiagKind>& AllDiagKinds() {
  static const std::vector<DiagKind> kinds = {
#define PERK_DIAG(name, severity, code, summary) DiagKind::name,
#include "compiler/diagnostic_kinds.def"
#undef PERK_DIAG
  };
  return kinds;
}

Diagnostics::Diagnostics(std::string filename, std::string_view source)
    : filename_(std::move(filename)) {
  // The parser skips a leading byte-order mark; so do the columns here.
  if (source.substr(0, 3) == "\xEF\xBB\xBF") source.remove_prefix(3);
  size_t start = 0;
  while (start <= source.size()) {
    size_t end = source.find('\n', start);
    if (end == std::string_view::npos) end = source.size();
    std::string_view line = source.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines_.push_back(CleanLine(line));
    start = end + 1;
  }
}

void Diagnostics::Report(DiagKind kind, SourceRange range, std::string message) {
  if (Info(kind).severity == Severity::Error) {
    ++errors_;
  } else {
    ++warnings_;
  }
  diags_.push_back({kind, range, std::move(message), {}, std::nullopt});
}

void Diagnostics::Note(SourceRange range, std::string message) {
  if (diags_.empty()) return;
  diags_.back().notes.emplace_back(range, std::move(message));
}

void Diagnostics::SuggestFix(std::string original, std::string replacement) {
  if (diags_.empty() || original.empty() || replacement.empty()) return;
  diags_.back().fix = Fix{std::move(original), std::move(replacement)};
}

std::string Diagnostics::Render(bool color) const {
  auto paint = [&](const char* code, const std::string& text) {
    return color ? code + text + kReset : text;
  };
  std::string out;
  // One header line, then the source line and a caret under the range, both indented.
  auto emit = [&](SourceRange range, const char* label_color, const std::string& label,
                  const std::string& message) {
    std::string where = filename_ + ":";
    if (range.line > 0) {
      where += std::to_string(range.line) + ":" + std::to_string(range.column) + ":";
    }
    out += paint(kBold, where) + " " + paint(label_color, label + ":") + " " +
           paint(kBold, message) + "\n";
    if (range.line == 0 || range.line > lines_.size()) return;
    const std::string& line = lines_[range.line - 1];
    std::u32string cps = CodePoints(line);
    std::string pad;
    size_t column = std::max<uint32_t>(range.column, 1) - 1;
    for (size_t i = 0; i < column; ++i) pad += i < cps.size() && cps[i] == U'\t' ? '\t' : ' ';
    // The caret stays on the line, even for a range that runs past its end.
    size_t room = cps.size() > column ? cps.size() - column : 1;
    size_t length = std::clamp<size_t>(range.length, 1, room);
    out += "  " + line + "\n";
    out += "  " + pad + paint(kGreen, "^" + std::string(length - 1, '~')) + "\n";
  };
  std::vector<size_t> order(diags_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const SourceRange& ra = diags_[a].range;
    const SourceRange& rb = diags_[b].range;
    return std::tie(ra.line, ra.column) < std::tie(rb.line, rb.column);
  });
  for (size_t i : order) {
    const Diagnostic& d = diags_[i];
    const DiagKindInfo& info = Info(d.kind);
    bool error = info.severity == Severity::Error;
    emit(d.range, error ? kRed : kMagenta, error ? "error" : "warning",
         d.message + " [" + info.code + "]");
    for (const auto& [range, message] : d.notes) emit(range, kCyan, "note", message);
  }
  return out;
}

std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates) {
  std::u32string target = CodePoints(name);
  size_t threshold = std::max<size_t>(1, target.size() / 3);
  std::string best;
  size_t best_distance = threshold + 1;
  std::vector<size_t> row;
  for (const std::string& candidate : candidates) {
    std::u32string other = CodePoints(candidate);
    // Too different in length to be within the threshold: skip the table.
    size_t gap = other.size() > target.size() ? other.size() - target.size()
                                              : target.size() - other.size();
    if (gap >= best_distance) continue;
    // Levenshtein distance, one row at a time.
    row.resize(other.size() + 1);
    std::iota(row.begin(), row.end(), 0);
    for (size_t i = 1; i <= target.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= other.size(); ++j) {
        size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                           diagonal + (target[i - 1] == other[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    if (row.back() < best_distance) {
      best_distance = row.back();
      best = candidate;
    }
  }
  return best;
}

}  // namespace perk
