// Line editing for `perk repl` on a terminal: libedit with history and tab completion.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cli/repl_input.h"

namespace perk::repl {

enum class ReadResult { Line, End, Interrupted };

class LineEditor {
 public:
  using Completer = std::function<Completion(std::string_view before)>;
  // One editor per process (libedit's readline interface is global). History is read from
  // $PERK_HISTORY, else ~/.perk_history, and written back when the editor goes.
  static std::unique_ptr<LineEditor> Create(Completer completer);
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  // Reads a line: Interrupted after Ctrl-C (what was typed is dropped), End after Ctrl-D.
  ReadResult Read(const std::string& prompt, std::string* line);

 private:
  LineEditor() = default;
  std::string history_path_;
};

}  // namespace perk::repl
