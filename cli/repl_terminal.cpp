// libedit through its readline interface: prompts, history, completion and Ctrl-C.
#include "cli/repl_terminal.h"

#include <editline/readline.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace perk::repl {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
LineEditor::Completer* g_completer = nullptr;
std::vector<std::string> g_matches;

void OnInterrupt(int) { g_interrupted = 1; }

char* NextMatch(const char*, int state) {
  static size_t next = 0;
  if (state == 0) next = 0;
  if (next >= g_matches.size()) return nullptr;
  return strdup(g_matches[next++].c_str());
}

char** Attempt(const char* text, int start, int end) {
  rl_attempted_completion_over = 1;
  if (!g_completer) return nullptr;
  std::string before(rl_line_buffer, static_cast<size_t>(end));
  Completion c = (*g_completer)(before);
  if (c.files) {
    // Fall back to libedit's own file-name completion.
    rl_attempted_completion_over = 0;
    return nullptr;
  }
  g_matches.clear();
  // libedit replaces line[start, end) with a match; our word may start elsewhere.
  std::string lead = c.start > static_cast<size_t>(start) ? before.substr(start, c.start - start) : "";
  for (const auto& m : c.candidates) {
    std::string full = lead + m;
    if (c.start < static_cast<size_t>(start)) full = full.substr(std::min(full.size(), start - c.start));
    g_matches.push_back(full);
  }
  if (g_matches.empty()) return nullptr;
  // No space after `field=` or a field name's dot: more follows at once.
  char last = g_matches.size() == 1 && !g_matches[0].empty() ? g_matches[0].back() : ' ';
  rl_completion_append_character = last == '=' ? '\0' : ' ';
  return rl_completion_matches(text, NextMatch);
}

}  // namespace

std::unique_ptr<LineEditor> LineEditor::Create(Completer completer) {
  std::unique_ptr<LineEditor> e(new LineEditor());
  g_completer = new Completer(std::move(completer));
  rl_readline_name = const_cast<char*>("perk");
  rl_attempted_completion_function = Attempt;
  rl_basic_word_break_characters = kWordBreaks;
  rl_completer_word_break_characters = const_cast<char*>(kWordBreaks);
  // Ctrl-C drops the line being typed instead of ending the session.
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  using_history();
  stifle_history(1000);
  if (const char* p = std::getenv("PERK_HISTORY")) e->history_path_ = p;
  else if (const char* home = std::getenv("HOME")) e->history_path_ = std::string(home) + "/.perk_history";
  if (!e->history_path_.empty()) read_history(e->history_path_.c_str());
  return e;
}

LineEditor::~LineEditor() {
  if (!history_path_.empty()) write_history(history_path_.c_str());
  delete g_completer;
  g_completer = nullptr;
}

ReadResult LineEditor::Read(const std::string& prompt, std::string* line) {
  g_interrupted = 0;
  char* s = readline(prompt.c_str());
  if (g_interrupted) {
    std::free(s);
    return ReadResult::Interrupted;
  }
  if (!s) return ReadResult::End;
  *line = s;
  std::free(s);
  if (line->find_first_not_of(" \t") != std::string::npos) add_history(line->c_str());
  return ReadResult::Line;
}

}  // namespace perk::repl
