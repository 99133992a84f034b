// Reading `*.perktest` scenario files (grammar in docs/test.md): line by line, every problem
// kept with its line and column so one run shows them all.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "cli/perktest.h"
#include "compiler/diagnostics.h"
#include "stdlib/stdlib.h"

namespace perk::perktest {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Splits a line into words: runs of non-space characters, or "quoted strings" given back
// without their quotes (a backslash escapes the next character). `#` outside a string starts
// a comment.
bool Words(std::string_view line, uint32_t line_no, std::vector<Word>* out, ParseError* error) {
  size_t i = 0;
  while (i < line.size()) {
    if (IsSpace(line[i])) {
      ++i;
      continue;
    }
    if (line[i] == '#') break;
    Word w;
    w.pos = {line_no, CodePoints(line, i) + 1};
    size_t start = i;
    if (line[i] == '"') {
      ++i;
      while (i < line.size() && line[i] != '"') {
        if (line[i] == '\\' && i + 1 < line.size()) ++i;
        w.text += line[i++];
      }
      if (i >= line.size()) {
        *error = {w.pos, 1, "this string has no closing `\"`; add one"};
        return false;
      }
      ++i;
    } else {
      while (i < line.size() && !IsSpace(line[i])) w.text += line[i++];
    }
    w.length = std::max<uint32_t>(1, CodePoints(line.substr(start, i - start), i - start));
    out->push_back(std::move(w));
  }
  return true;
}

bool IsCurrency(const std::string& word) {
  return word.size() == 3 && std::all_of(word.begin(), word.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

const char* const kKinds =
    "`expect ACTION ...` (an entry that must be written), `expect no ...`, `expect reject`, or "
    "`expect client ID balance|var|tier|in|not in ...`";

class Parser {
 public:
  explicit Parser(File* out) : out_(out) {}

  void Line(std::string_view raw, uint32_t line_no) {
    std::string_view text = Trim(raw);
    if (text.empty() || text.front() == '#') return;
    const uint32_t column = CodePoints(raw, static_cast<size_t>(text.data() - raw.data())) + 1;
    std::vector<Word> words;
    ParseError error;
    // A record is parsed later, with the program; only the head word matters here.
    const bool maybe_record = text.front() == '{';
    if (!maybe_record && !Words(text, line_no, &words, &error)) {
      if (text.rfind("expect", 0) == 0) saw_expect_ = true;
      return Fail(Shift(error, column - 1));
    }
    for (Word& w : words) w.pos.column += column - 1;
    const std::string head = maybe_record || words.empty() ? "" : words[0].text;
    const Pos pos{line_no, column};

    if (head == "scenario") return OpenScenario(words, pos);
    if (head == "end" && words.size() == 1) {
      if (!open_) return Fail({pos, 3, "`end` without a `scenario` to close; remove it"});
      return CloseScenario();
    }
    if (head == "program") {
      if (words.size() != 2) {
        return Fail({pos, 7, "`program` takes one file name, relative to this file: `program \"program.perk\"`"});
      }
      if (open_) {
        if (!current_.steps.empty()) {
          return Fail({pos, 7, "put `program` before the scenario's first record or expectation"});
        }
        current_.program = words[1].text;
        current_.program_pos = words[1].pos;
      } else {
        if (saw_scenario_) {
          return Fail({pos, 7, "a file's `program` comes before its first scenario; move it up, or put it inside a scenario"});
        }
        program_ = words[1].text;
        program_pos_ = words[1].pos;
      }
      return;
    }
    if (head == "param") {
      if (words.size() != 2 || words[1].text.find('=') == std::string::npos) {
        return Fail({pos, 5, "`param` takes NAME=VALUE, like `param welcome_rate=25%`"});
      }
      if (open_ && !current_.steps.empty()) {
        return Fail({pos, 5, "put `param` before the scenario's first record or expectation"});
      }
      (open_ ? current_.params : params_).push_back({words[1].text, words[1].pos});
      return;
    }
    if (!open_) {
      return Fail({pos, std::max<uint32_t>(1, head.empty() ? 1 : static_cast<uint32_t>(head.size())),
                   "expected `program`, `param` or `scenario \"NAME\"` here; records and expectations go between "
                   "`scenario \"NAME\"` and `end`"});
    }
    Step step;
    if (head == "expect") {
      saw_expect_ = true;
      step.is_record = false;
      step.expect.pos = pos;
      step.expect.text = std::string(text);
      if (!Expect(words, &step.expect)) return;
    } else {
      step.record = {pos, std::string(text)};
    }
    current_.steps.push_back(std::move(step));
  }

  void Finish() {
    if (open_) {
      Fail({current_.pos, 8, fmt::format("scenario \"{}\" has no `end`; add `end` after its last line", current_.name)});
    }
    if (!out_->errors.empty()) out_->scenarios.clear();
  }

 private:
  static ParseError Shift(ParseError e, uint32_t by) {
    e.pos.column += by;
    return e;
  }
  void Fail(ParseError e) { out_->errors.push_back(std::move(e)); }

  void OpenScenario(const std::vector<Word>& words, Pos pos) {
    if (open_) {
      Fail({pos, 8, fmt::format("scenario \"{}\" (line {}) has no `end`; add `end` before this line", current_.name,
                                current_.pos.line)});
      CloseScenario();
    }
    if (words.size() != 2 || words[1].text.empty()) {
      Fail({pos, 8, "a scenario needs a name in quotes: `scenario \"first deposit gets the bonus\"`"});
    }
    saw_scenario_ = true;
    open_ = true;
    current_ = Scenario{};
    saw_expect_ = false;
    current_.name = words.size() > 1 ? words[1].text : "";
    current_.pos = pos;
    current_.program = program_;
    current_.program_pos = program_pos_;
    current_.params = params_;
  }

  void CloseScenario() {
    open_ = false;
    if (current_.program.empty()) {
      Fail({current_.pos, 8,
            fmt::format("scenario \"{}\" names no program: add `program \"program.perk\"` at the top of the file",
                        current_.name)});
    }
    // An `expect` that did not parse has its own error already.
    if (!saw_expect_) {
      Fail({current_.pos, 8,
            fmt::format("scenario \"{}\" expects nothing; add `expect ...` lines (docs/test.md lists the kinds)",
                        current_.name)});
    }
    out_->scenarios.push_back(std::move(current_));
  }

  bool Expect(const std::vector<Word>& w, Expectation* e) {
    const Pos end_pos{w.back().pos.line, w.back().pos.column + w.back().length};
    if (w.size() < 2) return Fail({end_pos, 1, fmt::format("`expect` needs what is expected: {}", kKinds)}), false;
    size_t i = 1;
    if (w[1].text == "reject") {
      e->kind = ExpectKind::Reject;
      if (w.size() > 2) e->reject_text = w[2];
      if (w.size() > 3) return Fail({w[3].pos, w[3].length, "`expect reject` takes at most one \"part of the message\""}), false;
      return true;
    }
    if (w[1].text == "client") return ClientExpect(w, e);
    bool negative = false;
    if (w[1].text == "no") {
      negative = true;
      e->kind = ExpectKind::NoEffect;
      i = 2;
      if (i >= w.size()) return Fail({end_pos, 1, "`expect no` needs an action (`credit`, `notify`, ...) or `effects`"}), false;
      if (w[i].text == "effects") {
        ++i;
        return Filters(w, i, &e->effect);
      }
    }
    runtime::LedgerAction action;
    if (!runtime::ParseLedgerAction(w[i].text, &action)) {
      std::vector<std::string> names;
      std::string actions;
      for (int k = 0; k < runtime::kLedgerActions; ++k) {
        names.push_back(runtime::LedgerActionName(static_cast<runtime::LedgerAction>(k)));
        actions += fmt::format("{}`{}`", k ? ", " : "", names.back());
      }
      if (!negative) names.insert(names.end(), {"no", "reject", "client"});
      const std::string best = ClosestName(w[i].text, names);
      std::string message =
          !best.empty() ? fmt::format("`{}` is not a ledger action; did you mean `{}`?", w[i].text, best)
          : negative    ? fmt::format("`{}` is not a ledger action: write `effects` or one of {}", w[i].text, actions)
                        : fmt::format("`{}` is not something to expect: write {}; the actions are {}", w[i].text, kKinds, actions);
      return Fail({w[i].pos, w[i].length, std::move(message)}), false;
    }
    e->effect.action = action;
    ++i;
    // The action's own words, up to `to` or `by`.
    std::vector<Word> own;
    while (i < w.size() && w[i].text != "to" && w[i].text != "by") own.push_back(w[i++]);
    if (!ActionWords(action, own, &e->effect)) return false;
    return Filters(w, i, &e->effect);
  }

  bool ActionWords(runtime::LedgerAction action, std::vector<Word> own, EffectPattern* p) {
    using runtime::LedgerAction;
    auto too_many = [&](size_t k, const char* shape) {
      Fail({own[k].pos, own[k].length, fmt::format("unexpected `{}`: write `{}`, then `to CLIENT` or `by RULE`", own[k].text, shape)});
      return false;
    };
    switch (action) {
      case LedgerAction::Credit:
      case LedgerAction::Debit:
      case LedgerAction::Skip:
      case LedgerAction::Release:
      case LedgerAction::Expire: {
        // [WALLET] [AMOUNT [CURRENCY]]: an amount starts with a digit or a sign.
        size_t k = 0;
        auto is_amount = [](const std::string& s) {
          return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '+' || s[0] == '-');
        };
        if (k < own.size() && !is_amount(own[k].text)) p->target = own[k++];
        if (k < own.size() && is_amount(own[k].text)) {
          p->value = own[k++];
          // `75.00 USD`: the currency may follow as a word of its own.
          if (k < own.size() && IsCurrency(own[k].text)) {
            p->value->text += own[k++].text;
          }
        }
        if (k < own.size()) return too_many(k, fmt::format("{} WALLET AMOUNT", runtime::LedgerActionName(action)).c_str());
        return true;
      }
      case LedgerAction::Set:
        if (own.size() > 0) p->target = own[0];
        // `set streak 3` or `set streak = 3`.
        if (own.size() > 1 && own[1].text == "=") own.erase(own.begin() + 1);
        if (own.size() > 1) p->value = own[1];
        if (own.size() > 2) return too_many(2, "set VAR VALUE");
        return true;
      case LedgerAction::Tier:
        // `tier Silver` or `tier Bronze -> Silver`.
        if (own.size() == 3 && own[1].text == "->") {
          p->from = own[0];
          p->target = own[2];
          return true;
        }
        if (own.size() == 1) p->target = own[0];
        if (own.size() > 1) return too_many(1, "tier TO` or `tier FROM -> TO");
        return true;
      case LedgerAction::Segment:
        if (own.size() > 0) p->target = own[0];
        if (own.size() > 1) {
          if (own[1].text != "joined" && own[1].text != "left") {
            Fail({own[1].pos, own[1].length, fmt::format("write `joined` or `left` after the segment, not `{}`", own[1].text)});
            return false;
          }
          p->joined = own[1].text == "joined";
        }
        if (own.size() > 2) return too_many(2, "segment NAME joined|left");
        return true;
      case LedgerAction::Notify:
      case LedgerAction::Emit:
      case LedgerAction::Grant:
      case LedgerAction::Send:
        if (own.size() > 0) p->target = own[0];
        if (own.size() > 1) return too_many(1, fmt::format("{} NAME", runtime::LedgerActionName(action)).c_str());
        return true;
    }
    return true;
  }

  // `to CLIENT` and `by RULE`, each at most once, in any order.
  bool Filters(const std::vector<Word>& w, size_t i, EffectPattern* p) {
    while (i < w.size()) {
      const Word& key = w[i];
      std::optional<Word>* slot = key.text == "to" ? &p->client : key.text == "by" ? &p->rule : nullptr;
      if (!slot) {
        Fail({key.pos, key.length, fmt::format("unexpected `{}`: only `to CLIENT` and `by RULE` may follow here", key.text)});
        return false;
      }
      if (i + 1 >= w.size()) {
        Fail({key.pos, key.length, fmt::format("`{}` needs a {} after it", key.text, key.text == "to" ? "client id" : "rule name")});
        return false;
      }
      if (*slot) {
        Fail({key.pos, key.length, fmt::format("`{}` is given twice", key.text)});
        return false;
      }
      *slot = w[i + 1];
      i += 2;
    }
    return true;
  }

  bool ClientExpect(const std::vector<Word>& w, Expectation* e) {
    const Pos end_pos{w.back().pos.line, w.back().pos.column + w.back().length};
    const char* shapes = "`balance WALLET = AMOUNT`, `var VAR = VALUE`, `tier TIER`, `in SEGMENT` or `not in SEGMENT`";
    if (w.size() < 4) return Fail({end_pos, 1, fmt::format("`expect client ID` needs what to check: {}", shapes)}), false;
    e->client = w[2];
    size_t i = 3;
    const std::string& what = w[i].text;
    if (what == "balance" || what == "var") {
      e->kind = what == "balance" ? ExpectKind::Balance : ExpectKind::Var;
      if (w.size() < i + 4 || w[i + 2].text != "=") {
        return Fail({w[i].pos, w[i].length, fmt::format("write `{} NAME = VALUE`", what)}), false;
      }
      e->name = w[i + 1];
      e->value = w[i + 3];
      i += 4;
      // `= 75.00 USD`: the currency may follow as a word of its own.
      if (i < w.size() && IsCurrency(w[i].text)) e->value.text += w[i++].text;
    } else if (what == "tier") {
      if (i + 1 >= w.size()) return Fail({w[i].pos, w[i].length, "write `tier TIER`"}), false;
      e->kind = ExpectKind::Tier;
      e->name = w[i + 1];
      i += 2;
    } else if (what == "in") {
      if (i + 1 >= w.size()) return Fail({w[i].pos, w[i].length, "write `in SEGMENT`"}), false;
      e->kind = ExpectKind::InSegment;
      e->name = w[i + 1];
      i += 2;
    } else if (what == "not" && i + 2 < w.size() && w[i + 1].text == "in") {
      e->kind = ExpectKind::NotInSegment;
      e->name = w[i + 2];
      i += 3;
    } else {
      return Fail({w[i].pos, w[i].length, fmt::format("`{}` cannot be checked on a client; write {}", what, shapes)}), false;
    }
    // `at TIME`, where TIME may be a date and a clock time in two words.
    if (i < w.size() && w[i].text == "at") {
      if (i + 1 >= w.size()) return Fail({w[i].pos, w[i].length, "`at` needs a time, like `at 2026-02-01` or `at +30d`"}), false;
      Word at = w[i + 1];
      i += 2;
      if (i < w.size() && at.text.size() == 10 && w[i].text.find(':') != std::string::npos) {
        at.length = w[i].pos.column + w[i].length - at.pos.column;
        at.text += "T" + w[i++].text;
      }
      e->at = at;
    }
    if (i < w.size()) {
      return Fail({w[i].pos, w[i].length, fmt::format("unexpected `{}`; only `at TIME` may follow", w[i].text)}), false;
    }
    return true;
  }

  File* out_;
  std::string program_;
  Pos program_pos_;
  std::vector<Param> params_;
  bool saw_scenario_ = false;
  bool open_ = false;
  bool saw_expect_ = false;  // in the open scenario, parsed or not
  Scenario current_;
};

}  // namespace

uint32_t CodePoints(std::string_view text, size_t bytes) {
  uint32_t n = 0;
  for (size_t i = 0; i < bytes && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++n;
  return n;
}

int EffectPattern::Specificity() const {
  return (action ? 1 : 0) + (target ? 1 : 0) + (value ? 1 : 0) + (from ? 1 : 0) + (joined ? 1 : 0) + (client ? 1 : 0) +
         (rule ? 1 : 0);
}

File Parse(std::string_view text) {
  File out;
  Parser parser(&out);
  uint32_t line_no = 0;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    ++line_no;
    parser.Line(text.substr(start, end - start), line_no);
    start = end + 1;
  }
  parser.Finish();
  std::stable_sort(out.errors.begin(), out.errors.end(), [](const ParseError& a, const ParseError& b) {
    return a.pos.line != b.pos.line ? a.pos.line < b.pos.line : a.pos.column < b.pos.column;
  });
  return out;
}

std::string RenderError(const std::string& file_name, std::string_view text, const ParseError& e) {
  std::string out = fmt::format("{}:{}:{}: error: {}\n", file_name, e.pos.line, e.pos.column, e.message);
  // The line, and a caret under the span.
  size_t start = 0;
  for (uint32_t k = 1; k < e.pos.line && start != std::string_view::npos; ++k) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos || start > text.size()) return out;
  size_t end = text.find('\n', start);
  std::string line(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  for (char& c : line)
    if (c == '\t') c = ' ';
  out += "  " + line + "\n";
  out += "  " + std::string(e.pos.column > 0 ? e.pos.column - 1 : 0, ' ') + "^" +
         std::string(e.length > 1 ? e.length - 1 : 0, '~') + "\n";
  return out;
}

}  // namespace perk::perktest
