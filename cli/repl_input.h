// The pure parts of `perk repl` that read what is typed: what kind of input a line is,
// whether it needs more lines, the short record form, times, errors pointing into the line,
// and tab-completion candidates. No I/O here, so all of it is unit tested.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/checked.h"

namespace perk::repl {

enum class ErrorKind {
#define PERK_REPL_ERROR(name, code, summary) name,
#include "cli/repl_errors.def"
#undef PERK_REPL_ERROR
};
const char* ErrorCode(ErrorKind kind);
const std::vector<ErrorKind>& AllErrorKinds();

// A problem with a line typed: where in it (1-based code-point column, 0 for the whole
// line), what kind, and what to do.
struct InputError {
  ErrorKind kind = ErrorKind::BadShortForm;
  uint32_t column = 0;
  uint32_t length = 1;
  std::string message;
};

// Renders like a compiler diagnostic: `<input>:1:12: error: message [R0003]`, then the
// line and a caret under the span (no caret when column is 0).
std::string RenderInputError(const InputError& error, std::string_view line, bool color);

enum class InputKind {
  Empty,        // blank, or only a comment
  Command,      // :load FILE, :help, ...
  Json,         // a record as JSON: {"type": ...}
  ShortForm,    // deposit c1 amount=250 at 2026-01-05T10:00
  Declaration,  // event/wallet/var/param/tier/segment/rule/client/currency/program ...
  Expression,   // anything else: evaluated for the current client
};

// Decides what a (first) line is. `program` supplies the event names the short form starts
// with; `profile` and `tick` start one too.
InputKind Classify(std::string_view text, const checked::Program& program);

// True when `text` (all lines so far) is an unfinished declaration, expression or JSON
// object: its only syntax errors sit at its very end, so more lines may complete it.
bool NeedsMore(InputKind kind, std::string_view text);

// Reads a time typed in the REPL: RFC 3339 (`2026-01-05T10:00:00Z`), the same without
// seconds or zone (`2026-01-05T10:00`, UTC), a date (`2026-01-05`, midnight UTC), or a
// step forward from `clock`: `+90m`, `+2h`, `+3d`, `+30s`.
std::optional<int64_t> ParseWhen(std::string_view text, std::optional<int64_t> clock, std::string* error);

// What the short form needs beside the program.
struct ShortFormContext {
  std::optional<int64_t> clock;          // the engine's clock, when it has one
  int64_t default_time = 0;              // used when no `at` is given
  std::function<std::string()> next_id;  // a fresh id for an event typed without `id=`
};

struct ShortForm {
  std::string json;  // the record as one JSON line
  bool filled_id = false;
  bool filled_time = false;
};

// Parses `EVENT CLIENT [field=value ...] [id=ID] [at TIME]`, `profile CLIENT [attr=value ...]
// [at TIME]` or `tick [at] TIME` into a JSON record. Values are written as JSON according to
// the field's type; the record decoder then validates them exactly as for `perk run`.
std::optional<ShortForm> ParseShortForm(std::string_view line, const checked::Program& program,
                                        const ShortFormContext& context, InputError* error);

// Tab completion: the candidates for the word ending at the end of `before` (the line up
// to the cursor). `start` is where that word begins; each candidate replaces
// before.substr(start). `files` is set when a file name is wanted instead.
struct Completion {
  size_t start = 0;
  std::vector<std::string> candidates;
};
// File names for `:load` and `:save`: the entries of the typed directory that start with the
// typed rest, as `dir/name` (directories end in `/`).
std::vector<std::string> FileCandidates(std::string_view typed);
// The characters that end a word for completion (shared with the line editor).
extern const char* const kWordBreaks;
Completion Complete(std::string_view before, const checked::Program& program,
                    const std::vector<std::string>& client_ids);

// The REPL's commands, for completion and `:help`, in the order `:help` lists them.
struct CommandInfo {
  const char* name;  // ":load"
  const char* args;  // "FILE"
  const char* help;
};
const std::vector<CommandInfo>& Commands();

}  // namespace perk::repl
