// An open document and its analysis (lsp/document.h).
#include "lsp/document.h"

#include <pthread.h>

#include <algorithm>

#include "compiler/compiler.h"

namespace perk::lsp {

namespace {

// The byte length of the UTF-8 sequence starting with `c` (1 for a stray byte).
size_t SequenceLength(unsigned char c) {
  if (c >= 0xF0 && c < 0xF8) return 4;
  if (c >= 0xE0) return c < 0xF0 ? 3 : 1;
  if (c >= 0xC0) return 2;
  return 1;
}

}  // namespace

Document::Document(std::string uri, std::string text, int version)
    : uri_(std::move(uri)), text_(std::move(text)), version_(version) {
  IndexLines();
}

void Document::IndexLines() {
  starts_.assign(1, 0);
  for (size_t i = 0; i < text_.size(); ++i)
    if (text_[i] == '\n') starts_.push_back(i + 1);
}

void Document::Replace(std::string text, int version) {
  text_ = std::move(text);
  version_ = version;
  IndexLines();
}

void Document::Edit(Position start, Position end, const std::string& text, int version) {
  size_t from = Offset(start), to = Offset(end);
  if (to < from) std::swap(from, to);
  text_.replace(from, to - from, text);
  version_ = version;
  IndexLines();
}

std::string Document::Line(uint32_t n) const {
  if (n == 0 || n > starts_.size()) return "";
  size_t start = starts_[n - 1];
  size_t end = n < starts_.size() ? starts_[n] - 1 : text_.size();
  std::string line = text_.substr(start, end - start);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The byte offset of an LSP position; past the end of a line is its end.
size_t Document::Offset(Position p) const {
  if (p.line < 0) return 0;
  if (static_cast<size_t>(p.line) >= starts_.size()) return text_.size();
  const std::string line = Line(static_cast<uint32_t>(p.line) + 1);
  size_t i = 0;
  int units = 0;
  while (i < line.size() && units < p.character) {
    size_t n = std::min(SequenceLength(static_cast<unsigned char>(line[i])), line.size() - i);
    units += n == 4 ? 2 : 1;
    i += n;
  }
  return starts_[p.line] + i;
}

Position Document::ToLsp(uint32_t line, uint32_t column) const {
  Position p{static_cast<int>(line > 0 ? line - 1 : 0), 0};
  const std::string text = Line(line);
  size_t i = 0;
  for (uint32_t cp = 1; cp < column && i < text.size(); ++cp) {
    size_t n = std::min(SequenceLength(static_cast<unsigned char>(text[i])), text.size() - i);
    p.character += n == 4 ? 2 : 1;
    i += n;
  }
  // A column past the end of the line (the end of the program): one unit per code point.
  if (i >= text.size()) {
    uint32_t counted = 1 + static_cast<uint32_t>(query::CodePointLength(text));
    if (column > counted) p.character += static_cast<int>(column - counted);
  }
  return p;
}

void Document::FromLsp(Position p, uint32_t* line, uint32_t* column) const {
  *line = static_cast<uint32_t>(std::max(0, p.line)) + 1;
  const std::string text = Line(*line);
  size_t i = 0;
  int units = 0;
  *column = 1;
  while (i < text.size() && units < p.character) {
    size_t n = std::min(SequenceLength(static_cast<unsigned char>(text[i])), text.size() - i);
    units += n == 4 ? 2 : 1;
    i += n;
    ++*column;
  }
}

namespace {

// The compiler's limits (compiler/check.cpp): programs up to 1 MiB, parsed and checked on a
// thread whose large stack makes deep nesting safe.
constexpr size_t kMaxProgramBytes = 1 << 20;
constexpr size_t kStackBytes = size_t{1} << 30;  // reserved, not committed

struct AnalyzeJob {
  IncrementalParser* parser;
  std::string_view text;
  Analysis* analysis;
};

void* RunAnalyze(void* arg) {
  auto* job = static_cast<AnalyzeJob*>(arg);
  const ast::Program& program = job->parser->Parse(job->text, job->analysis->diags);
  CheckProgram(program, job->analysis->diags);
  job->analysis->index = std::make_unique<query::Index>(program);
  return nullptr;
}

}  // namespace

void Document::Analyze() {
  auto analysis = std::make_unique<Analysis>();
  analysis->diags = Diagnostics(uri_, text_);
  if (text_.size() > kMaxProgramBytes) {
    // CompileProgram words the error as `perk check` does.
    CompileProgram(text_, analysis->diags);
    analysis->index = std::make_unique<query::Index>(ast::Program{});
  } else {
    AnalyzeJob job{&parser_, text_, analysis.get()};
    pthread_attr_t attr;
    pthread_t thread;
    bool threaded = pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, kStackBytes) == 0 &&
                    pthread_create(&thread, &attr, RunAnalyze, &job) == 0;
    pthread_attr_destroy(&attr);
    if (threaded) pthread_join(thread, nullptr);
    else RunAnalyze(&job);
  }
  const bool parsed = std::none_of(analysis->diags.all().begin(), analysis->diags.all().end(),
                                   [](const Diagnostic& d) { return d.kind == DiagKind::SyntaxError; });
  analysis_ = std::move(analysis);
  if (parsed) clean_ = std::make_unique<query::Index>(*analysis_->index);
}

}  // namespace perk::lsp
