// libedit through its readline interface: prompts, history, completion and Ctrl-C.
#include "cli/repl_terminal.h"

#include <editline/readline.h>
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "stdlib/stdlib.h"

namespace perk::repl {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
int g_wake[2] = {-1, -1};  // the SIGINT handler writes here to wake a waiting read
LineEditor::Completer* g_completer = nullptr;
std::vector<std::string> g_matches;

void OnInterrupt(int) {
  g_interrupted = 1;
  int saved = errno;
  if (g_wake[1] >= 0) [[maybe_unused]] ssize_t n = write(g_wake[1], "", 1);
  errno = saved;
}

// libedit reads keys through this: it waits on the terminal and on the wake-up pipe, so a
// Ctrl-C that comes before the wait still ends it. Returns a code point (UTF-8 decoded here,
// as libedit takes what this returns as one character), or -1 to end the line.
int GetKey(FILE* in) {
  int fd = fileno(in);
  unsigned char bytes[4];
  size_t have = 0, need = 1;
  while (have < need) {
    if (g_interrupted) return -1;
    pollfd p[2] = {{fd, POLLIN, 0}, {g_wake[0], POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (p[1].revents & POLLIN) {
      char drain[64];
      while (read(g_wake[0], drain, sizeof drain) > 0) {
      }
      continue;
    }
    ssize_t n = read(fd, &bytes[have], 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    if (have == 0) {
      unsigned char b = bytes[0];
      need = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 1;
    }
    ++have;
  }
  if (need == 1) return bytes[0];
  char32_t c = 0;
  std::string_view text(reinterpret_cast<const char*>(bytes), need);
  if (stdlib::DecodeUtf8(text, 0, &c) != need) return 0xFFFD;
  return static_cast<int>(c);
}

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
  g_matches.clear();
  // libedit replaces line[start, end) with a match; our word may start elsewhere.
  std::string lead = c.start > static_cast<size_t>(start) ? before.substr(start, c.start - start) : "";
  for (const auto& m : c.candidates) {
    std::string full = lead + m;
    if (c.start < static_cast<size_t>(start)) full = full.substr(std::min(full.size(), start - c.start));
    g_matches.push_back(full);
  }
  if (g_matches.empty()) return nullptr;
  // No space after `field=` or a directory's `/`: more follows at once.
  char last = g_matches.size() == 1 && !g_matches[0].empty() ? g_matches[0].back() : ' ';
  rl_completion_append_character = last == '=' || last == '/' ? '\0' : ' ';
  return rl_completion_matches(text, NextMatch);
}

}  // namespace

std::unique_ptr<LineEditor> LineEditor::Create(Completer completer) {
  std::unique_ptr<LineEditor> e(new LineEditor());
  // libedit handles characters through the C library's locale: without a UTF-8 one it drops
  // every non-ASCII key. Perk text is UTF-8, so fall back to C.UTF-8 when the user's is not.
  std::setlocale(LC_CTYPE, "");
  if (std::strcmp(nl_langinfo(CODESET), "UTF-8") != 0) std::setlocale(LC_CTYPE, "C.UTF-8");
  g_completer = new Completer(std::move(completer));
  rl_readline_name = const_cast<char*>("perk");
  rl_attempted_completion_function = Attempt;
  rl_basic_word_break_characters = kWordBreaks;
  rl_completer_word_break_characters = const_cast<char*>(kWordBreaks);
  // Ctrl-C drops the line being typed instead of ending the session: our handler and key
  // reader, not libedit's signal handling.
  if (pipe(g_wake) == 0) {
    fcntl(g_wake[0], F_SETFL, O_NONBLOCK);
    fcntl(g_wake[1], F_SETFL, O_NONBLOCK);
    rl_getc_function = GetKey;
  }
  rl_catch_signals = 0;
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
  // libedit puts the terminal in raw mode only at its first key read, after drawing the
  // prompt: a key typed in between met the cooked terminal, which echoed it a second time and
  // took a Ctrl-D as its own end of file, so libedit never saw it and waited for ever.
  rl_prep_terminal(1);
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
