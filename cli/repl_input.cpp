// Reading what is typed into `perk repl`: classification, continuation, the short record
// form, times, input errors and completion candidates.
#include "cli/repl_input.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <set>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "stdlib/stdlib.h"

namespace perk::repl {
namespace {

constexpr const char* kBold = "\033[1m";
constexpr const char* kRed = "\033[1;31m";
constexpr const char* kGreen = "\033[1;32m";
constexpr const char* kReset = "\033[0m";

const char* const kCodes[] = {
#define PERK_REPL_ERROR(name, code, summary) code,
#include "cli/repl_errors.def"
#undef PERK_REPL_ERROR
};

// The language's keywords (spec §1), offered by completion.
const char* const kKeywords[] = {
    "program", "currency", "event", "client", "wallet", "var", "param", "tier", "segment", "rule",
    "on", "when", "then", "end", "every", "day", "limit", "once", "per", "within", "budget", "hold",
    "credit", "debit", "set", "notify", "grant", "emit", "if", "else", "and", "or", "not", "in", "mod",
    "true", "false", "now", "today", "tier_changed", "previous_tier", "count", "sum", "avg", "highest",
    "lowest", "where", "int", "decimal", "money", "bool", "string", "time", "date", "minute", "minutes",
    "hour", "hours", "days", "week", "weeks", "timezone", "month", "months", "year", "years",
    "previous", "partial", "send", "to", "is", "otherwise", "entering", "leaving", "reversed", "pending",
    "expires", "after", "worth", "revenue", "duration"};
const char* const kFunctions[] = {"min",  "max",          "abs",         "floor",     "ceil",  "round",
                                  "date", "days_between", "anniversary", "has_badge", "lower", "upper",
                                  "starts_with", "contains", "weekday"};

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

std::string_view TrimLeft(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

std::string_view Trim(std::string_view s) {
  s = TrimLeft(s);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string_view FirstWord(std::string_view s) {
  size_t n = 0;
  while (n < s.size() && IsWordByte(static_cast<unsigned char>(s[n]))) ++n;
  return s.substr(0, n);
}

// Code points in s[0, bytes): a byte offset as a 1-based column minus one.
uint32_t CodePointsIn(std::string_view s, size_t bytes) {
  uint32_t n = 0;
  for (size_t i = 0; i < bytes && i < s.size();) {
    char32_t c;
    size_t len = stdlib::DecodeUtf8(s, i, &c);
    i += len ? len : 1;
    ++n;
  }
  return n;
}

bool IsDeclaredName(const checked::Program& p, std::string_view name) {
  auto has = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& x) { return x.name == name; });
  };
  return has(p.events) || has(p.wallets) || has(p.vars) || has(p.params) || has(p.tiers) || has(p.segments) ||
         has(p.rules);
}

bool StartsShortForm(std::string_view word, const checked::Program& p) {
  if (word == "profile" || word == "tick") return !IsDeclaredName(p, word);
  return p.FindEvent(word) >= 0;
}

// The 1-based (line, column) just past the last character of `text` that is neither
// whitespace nor inside a comment: where an unfinished input ends.
std::pair<uint32_t, uint32_t> EndOfText(std::string_view text) {
  uint32_t line = 1, col = 0;        // position of the current character
  uint32_t end_line = 1, end_col = 1;  // just past the last significant character
  bool in_string = false, in_comment = false;
  for (size_t i = 0; i < text.size();) {
    char32_t c;
    size_t len = stdlib::DecodeUtf8(text, i, &c);
    if (len == 0) len = 1, c = 0xFFFD;
    ++col;
    if (c == '\n') {
      ++line;
      col = 0;
      in_comment = false;
      in_string = false;  // a string ends on its own line
    } else if (in_comment) {
    } else if (in_string) {
      if (c == '\\' && i + 1 < text.size() && text[i + 1] != '\n') {
        // The escaped character belongs to the string.
        i += len;
        ++col;
        len = 1;
      } else if (c == '"') {
        in_string = false;
      }
      end_line = line, end_col = col + 1;
    } else if (c == '#') {
      in_comment = true;
    } else if (!(c == ' ' || c == '\t' || c == '\r')) {
      if (c == '"') in_string = true;
      end_line = line, end_col = col + 1;
    }
    i += len;
  }
  return {end_line, end_col};
}

// Only syntax errors at the very end: the input stops too early rather than being wrong.
bool OnlyErrorsAtEnd(const Diagnostics& diags, std::string_view text, uint32_t line_offset) {
  if (!diags.HasErrors()) return false;
  auto [end_line, end_col] = EndOfText(text);
  for (const Diagnostic& d : diags.all()) {
    if (Info(d.kind).severity != Severity::Error) continue;
    if (d.kind != DiagKind::SyntaxError) return false;
    if (d.range.line <= line_offset) return false;
    uint32_t line = d.range.line - line_offset;
    if (line < end_line || (line == end_line && d.range.column < end_col)) return false;
  }
  return true;
}

// ---- the short form's tokens ----

struct Token {
  std::string raw;     // as typed, quotes included
  size_t offset = 0;   // byte offset in the line
  size_t eq = std::string::npos;  // byte offset of the first '=' outside quotes, within raw
};

bool Tokenize(std::string_view line, std::vector<Token>* out, InputError* error) {
  size_t i = 0;
  while (i < line.size()) {
    if (std::isspace(static_cast<unsigned char>(line[i]))) {
      ++i;
      continue;
    }
    if (line[i] == '#') break;  // a comment runs to the end of the line
    Token t;
    t.offset = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) {
      if (line[i] == '=' && t.eq == std::string::npos) t.eq = i - t.offset;
      if (line[i] == '"') {
        size_t open = i++;
        while (i < line.size() && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
        if (i >= line.size()) {
          *error = {ErrorKind::BadShortForm, CodePointsIn(line, open) + 1, 1,
                    "this string has no closing `\"`"};
          return false;
        }
      }
      ++i;
    }
    t.raw = std::string(line.substr(t.offset, i - t.offset));
    out->push_back(std::move(t));
  }
  return true;
}

// A value as typed: a "quoted string" with \" \\ \n \t escapes, or the bare text.
std::string Unquote(std::string_view v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::string(v);
  std::string out;
  for (size_t i = 1; i + 1 < v.size(); ++i) {
    if (v[i] == '\\' && i + 2 < v.size()) {
      char c = v[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else {
      out += v[i];
    }
  }
  return out;
}

bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  if (s[i] == '0' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) return false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  return i == s.size();
}

// `1_000` as Perk writes it becomes `1000`; other text is left for the decoder to judge.
std::string DropDigitSeparators(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    bool between_digits = s[i] == '_' && i > 0 && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i - 1])) &&
                          std::isdigit(static_cast<unsigned char>(s[i + 1]));
    if (!between_digits) out += s[i];
  }
  return out;
}

std::string NumberJson(std::string_view v) {
  std::string s = DropDigitSeparators(v);
  return IsJsonNumber(s) ? s : stdlib::JsonQuote(s);
}

}  // namespace

const char* const kWordBreaks = " \t\n\"'`=(),[]{}+-*/<>!.;";

const char* ErrorCode(ErrorKind kind) { return kCodes[static_cast<size_t>(kind)]; }

const std::vector<ErrorKind>& AllErrorKinds() {
  static const std::vector<ErrorKind> kinds = {
#define PERK_REPL_ERROR(name, code, summary) ErrorKind::name,
#include "cli/repl_errors.def"
#undef PERK_REPL_ERROR
  };
  return kinds;
}

std::string RenderInputError(const InputError& e, std::string_view line, bool color) {
  auto paint = [&](const char* code, const std::string& text) { return color ? code + text + kReset : text; };
  std::string where = e.column > 0 ? fmt::format("<input>:1:{}:", e.column) : std::string("<input>:");
  std::string out = paint(kBold, where) + " " + paint(kRed, "error:") + " " +
                    paint(kBold, fmt::format("{} [{}]", e.message, ErrorCode(e.kind))) + "\n";
  if (e.column == 0) return out;
  std::string text(line.substr(0, line.find('\n')));
  uint32_t width = CodePointsIn(text, text.size());
  std::string pad;
  for (uint32_t i = 1; i < e.column; ++i) pad += ' ';
  uint32_t room = width >= e.column ? width - e.column + 1 : 1;
  uint32_t length = std::clamp<uint32_t>(e.length, 1, room);
  out += "  " + text + "\n";
  out += "  " + pad + paint(kGreen, "^" + std::string(length - 1, '~')) + "\n";
  return out;
}

InputKind Classify(std::string_view text, const checked::Program& program) {
  std::string_view s = TrimLeft(text);
  if (s.empty() || s.front() == '#') return InputKind::Empty;
  if (s.front() == ':') return InputKind::Command;
  if (s.front() == '{') return InputKind::Json;
  std::string_view word = FirstWord(s);
  std::string_view rest = TrimLeft(s.substr(word.size()));
  static const std::set<std::string_view> kOperatorWords = {"in", "and", "or", "mod", "then", "else"};
  static const std::set<std::string_view> kDeclarations = {"program", "currency", "event", "wallet",
                                                           "var",     "param",    "segment", "rule"};
  if (kDeclarations.count(word)) return InputKind::Declaration;
  if (word == "client") return !rest.empty() && rest.front() == '{' ? InputKind::Declaration : InputKind::Expression;
  if (word == "tier") {
    // `tier Gold when ...` declares; `tier >= Gold` and `tier in [...]` read the client's tier.
    std::string_view next = FirstWord(rest);
    bool declares = !next.empty() && !std::isdigit(static_cast<unsigned char>(next.front())) && !kOperatorWords.count(next);
    return declares ? InputKind::Declaration : InputKind::Expression;
  }
  // An undeclared word followed by another reads as a record of an event that does not
  // exist (`purchse c1 amount=5`), which the short form can name; `x and y` stays an expression.
  bool keyword = std::find_if(std::begin(kKeywords), std::end(kKeywords), [&](const char* k) { return word == k; }) !=
                 std::end(kKeywords);
  bool function = std::find_if(std::begin(kFunctions), std::end(kFunctions), [&](const char* f) { return word == f; }) !=
                  std::end(kFunctions);
  if (!word.empty() && !keyword && !function && !IsDeclaredName(program, word) &&
      !std::isdigit(static_cast<unsigned char>(word.front())) && !rest.empty() &&
      IsWordByte(static_cast<unsigned char>(rest.front())) && !kOperatorWords.count(FirstWord(rest))) {
    return InputKind::ShortForm;
  }
  if (!word.empty() && StartsShortForm(word, program)) {
    // `deposit.amount` and `deposit + 1` are expressions; `deposit c1 ...` and `tick 2026-...` records.
    if (rest.empty()) return InputKind::ShortForm;
    unsigned char c = static_cast<unsigned char>(rest.front());
    if (IsWordByte(c) || c == '"' || c == '+') return InputKind::ShortForm;
  }
  return InputKind::Expression;
}

bool NeedsMore(InputKind kind, std::string_view text) {
  switch (kind) {
    case InputKind::Json: {
      int depth = 0;
      bool in_string = false;
      for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (in_string) {
          if (c == '\\') ++i;
          else if (c == '"') in_string = false;
        } else if (c == '"') {
          in_string = true;
        } else if (c == '{' || c == '[') {
          ++depth;
        } else if (c == '}' || c == ']') {
          --depth;
        }
      }
      return depth > 0;
    }
    case InputKind::Declaration: {
      std::string source = "program \"repl\"\n" + std::string(text);
      Diagnostics diags("<input>", source);
      ast::ParseProgram(source, diags);
      return OnlyErrorsAtEnd(diags, text, 1);
    }
    case InputKind::Expression: {
      Diagnostics diags("<input>", text);
      ast::ParseExpression(text, diags);
      return OnlyErrorsAtEnd(diags, text, 0);
    }
    default: return false;
  }
}

std::optional<int64_t> ParseWhen(std::string_view text, std::optional<int64_t> clock, std::string* error) {
  text = Trim(text);
  if (!text.empty() && text.front() == '+') {
    size_t i = 1;
    int64_t n = 0;
    // Digits beyond 12 are left unread, so the unit check below refuses them.
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && i <= 12) n = n * 10 + (text[i++] - '0');
    std::string_view unit = text.substr(i);
    int64_t scale = unit == "s" ? stdlib::kMicrosPerSecond
                    : unit == "m" ? stdlib::kMicrosPerMinute
                    : unit == "h" ? stdlib::kMicrosPerHour
                    : unit == "d" ? stdlib::kMicrosPerDay
                                  : 0;
    if (i == 1 || scale == 0) {
      *error = fmt::format("cannot read `{}` as a step forward; write a number and a unit: `+30s`, `+90m`, `+2h` or `+3d`", text);
      return std::nullopt;
    }
    if (!clock) {
      *error = fmt::format("`{}` counts from the clock, and no record has set it yet; give a full time like `2026-01-05T10:00`", text);
      return std::nullopt;
    }
    int64_t step, t;
    if (perk_int_mul(n, scale, &step) != PERK_OK || perk_int_add(*clock, step, &t) != PERK_OK ||
        t >= stdlib::DaysFromCivil(10000, 1, 1) * stdlib::kMicrosPerDay) {
      *error = fmt::format("`{}` goes past the year 9999", text);
      return std::nullopt;
    }
    return t;
  }
  std::string ignored;
  std::string t(text);
  for (const std::string& candidate : {t, t + "Z", t + ":00Z"}) {
    if (auto v = stdlib::ParseTime(candidate, &ignored)) return v;
  }
  if (auto d = stdlib::ParseDate(t, &ignored)) return perk_date_start(*d);
  *error = fmt::format("cannot read `{}` as a time; write `2026-01-05T10:00` (UTC), `2026-01-05T10:00:00+02:00`, "
                       "`2026-01-05` (midnight) or a step from the clock like `+2h`",
                       text);
  return std::nullopt;
}

std::optional<ShortForm> ParseShortForm(std::string_view line, const checked::Program& program,
                                        const ShortFormContext& context, InputError* error) {
  std::vector<Token> tokens;
  if (!Tokenize(line, &tokens, error)) return std::nullopt;
  auto col = [&](const Token& t, size_t within = 0) { return CodePointsIn(line, t.offset + within) + 1; };
  auto len = [&](std::string_view s) { return std::max<uint32_t>(1, CodePointsIn(s, s.size())); };
  auto fail = [&](ErrorKind kind, const Token& t, std::string message, size_t within = 0, std::string_view span = {}) {
    *error = {kind, col(t, within), len(span.empty() ? std::string_view(t.raw).substr(within) : span), std::move(message)};
    return std::nullopt;
  };
  if (tokens.empty()) {
    *error = {ErrorKind::BadShortForm, 0, 1, "empty record"};
    return std::nullopt;
  }
  const std::string& kind = tokens[0].raw;
  ShortForm out;
  std::optional<int64_t> time;

  // `at TIME`, where TIME may be a date and a clock time in two words (`at 2026-01-05 10:00`).
  auto read_time = [&](size_t* i, const Token& where) -> bool {
    if (*i >= tokens.size()) {
      fail(ErrorKind::BadTime, where, fmt::format("`{}` needs a time after it, like `2026-01-05T10:00` or `+1d`", where.raw));
      return false;
    }
    std::string text = Unquote(tokens[*i].raw);
    size_t first = *i;
    if (*i + 1 < tokens.size() && text.size() == 10 && tokens[*i + 1].raw.find(':') != std::string::npos &&
        tokens[*i + 1].eq == std::string::npos) {
      text += "T" + tokens[*i + 1].raw;
      ++*i;
    }
    std::string err;
    auto t = ParseWhen(text, context.clock, &err);
    if (!t) {
      size_t end = tokens[*i].offset + tokens[*i].raw.size();
      std::string_view span = line.substr(tokens[first].offset, end - tokens[first].offset);
      fail(ErrorKind::BadTime, tokens[first], err, 0, span);
      return false;
    }
    if (time) {
      fail(ErrorKind::BadShortForm, where, "the time is given twice");
      return false;
    }
    time = t;
    ++*i;
    return true;
  };

  if (kind == "tick") {
    size_t i = 1;
    if (i < tokens.size() && tokens[i].raw == "at") ++i;
    if (i >= tokens.size()) return fail(ErrorKind::BadTime, tokens[0], "`tick` needs a time: `tick 2026-01-06`, `tick 2026-01-06T09:00` or `tick +1d`");
    if (!read_time(&i, tokens[i - 1])) return std::nullopt;
    if (i < tokens.size()) return fail(ErrorKind::BadShortForm, tokens[i], "a tick takes only a time; remove this");
    out.json = fmt::format("{{\"type\":\"tick\",\"time\":\"{}\"}}", stdlib::FormatTime(*time));
    return out;
  }

  const std::vector<checked::Field>* fields = nullptr;
  std::string what;
  if (kind == "profile") {
    fields = &program.client_fields;
    what = "the client profile";
  } else {
    int ev = program.FindEvent(kind);
    if (ev < 0) {
      std::vector<std::string> names = {"profile", "tick"};
      for (const auto& e : program.events) names.push_back(e.name);
      std::string best = ClosestName(kind, names);
      return fail(ErrorKind::BadShortForm, tokens[0],
                  fmt::format("there is no event `{}`{}", kind, best.empty() ? "" : fmt::format("; did you mean `{}`?", best)));
    }
    fields = &program.events[ev].fields;
    what = fmt::format("the event `{}`", kind);
  }
  if (tokens.size() < 2 || tokens[1].eq != std::string::npos || tokens[1].raw == "at") {
    return fail(ErrorKind::BadShortForm, tokens[0],
                fmt::format("`{}` needs a client id next: `{} c1 ...`", kind, kind));
  }
  std::string client = Unquote(tokens[1].raw);
  std::optional<std::string> id;
  std::vector<std::pair<std::string, std::string>> values;  // field name, JSON value
  std::set<std::string> seen;
  std::vector<std::string> names;
  for (const auto& f : *fields) names.push_back(f.name);

  for (size_t i = 2; i < tokens.size();) {
    const Token& t = tokens[i];
    if (t.raw == "at") {
      ++i;
      if (!read_time(&i, t)) return std::nullopt;
      continue;
    }
    std::string key = t.eq == std::string::npos ? t.raw : t.raw.substr(0, t.eq);
    const checked::Field* field = nullptr;
    for (const auto& f : *fields)
      if (f.name == key) field = &f;
    if (t.eq == std::string::npos) {
      if (field && field->type == Type::Bool) {
        // A bare bool field means true: `deposit c1 amount=250 first`.
        if (!seen.insert(key).second) return fail(ErrorKind::BadShortForm, t, fmt::format("`{}` is given twice", key));
        values.emplace_back(key, "true");
        ++i;
        continue;
      }
      if (field) return fail(ErrorKind::BadShortForm, t, fmt::format("`{}` needs a value: `{}=...`", key, key));
      std::string best = ClosestName(key, names);
      return fail(ErrorKind::BadShortForm, t,
                  fmt::format("expected `field=value` or `at TIME`, found `{}`{}", t.raw,
                              best.empty() ? "" : fmt::format("; did you mean `{}=...`?", best)));
    }
    std::string raw_value = t.raw.substr(t.eq + 1);
    std::string value = Unquote(raw_value);
    if (raw_value.empty()) return fail(ErrorKind::BadShortForm, t, fmt::format("`{}=` needs a value after `=`", key));
    if (key == "id") {
      if (id) return fail(ErrorKind::BadShortForm, t, "the id is given twice");
      id = value;
      ++i;
      continue;
    }
    if (key == "time") {
      std::string err;
      auto v = ParseWhen(value, context.clock, &err);
      if (!v) return fail(ErrorKind::BadTime, t, err, t.eq + 1);
      if (time) return fail(ErrorKind::BadShortForm, t, "the time is given twice");
      time = v;
      ++i;
      continue;
    }
    if (key == "client" || key == "type") {
      return fail(ErrorKind::BadShortForm, t,
                  key == "client" ? "the client is the second word: `" + kind + " c1 ...`"
                                  : "the record's type is the first word");
    }
    if (!field) {
      std::string best = ClosestName(key, names);
      return fail(ErrorKind::UnknownField, t,
                  fmt::format("{} has no field `{}`{}", what, key,
                              best.empty() ? (names.empty() ? std::string("; it declares none")
                                                            : fmt::format("; its fields are {}", fmt::join(names, ", ")))
                                           : fmt::format("; did you mean `{}`?", best)),
                  0, key);
    }
    if (!seen.insert(key).second) return fail(ErrorKind::BadShortForm, t, fmt::format("`{}` is given twice", key), 0, key);
    std::string json;
    // `profile c1 birthdate=null` unsets an optional attribute (or returns one to its default).
    if (kind == "profile" && value == "null") {
      values.emplace_back(key, "null");
      ++i;
      continue;
    }
    switch (field->type) {
      case Type::Int: json = NumberJson(value); break;
      case Type::Decimal:
        if (!value.empty() && value.back() == '%') {
          std::string err;
          auto micros = stdlib::ParseScaled(DropDigitSeparators(value.substr(0, value.size() - 1)), 4, false, false, &err);
          json = micros ? stdlib::JsonQuote(stdlib::FormatDecimal(*micros)) : stdlib::JsonQuote(value);
        } else {
          json = NumberJson(value);
        }
        break;
      case Type::Money: {
        // `250`, `250.50` or `250USD`: the program's currency may follow the amount.
        std::string v = value;
        if (!program.currency.empty() && v.size() > 3 && v.compare(v.size() - 3, 3, program.currency) == 0) {
          v = std::string(Trim(v.substr(0, v.size() - 3)));
        }
        json = NumberJson(v);
        break;
      }
      case Type::Bool: json = value == "true" || value == "false" ? value : stdlib::JsonQuote(value); break;
      case Type::Time: {
        std::string err;
        auto v = ParseWhen(value, context.clock, &err);
        if (!v) return fail(ErrorKind::BadTime, t, fmt::format("field `{}`: {}", key, err), t.eq + 1);
        json = "\"" + stdlib::FormatTime(*v) + "\"";
        break;
      }
      default: json = stdlib::JsonQuote(value); break;
    }
    values.emplace_back(key, std::move(json));
    ++i;
  }
  if (!time) {
    time = context.default_time;
    out.filled_time = true;
  }
  bool event = kind != "profile";
  if (event && !id) {
    id = context.next_id ? context.next_id() : std::string("repl-1");
    out.filled_id = true;
  }
  out.json = "{\"type\":" + stdlib::JsonQuote(kind);
  if (id) out.json += ",\"id\":" + stdlib::JsonQuote(*id);
  out.json += ",\"client\":" + stdlib::JsonQuote(client);
  out.json += ",\"time\":\"" + stdlib::FormatTime(*time) + "\"";
  for (const auto& [k, v] : values) out.json += "," + stdlib::JsonQuote(k) + ":" + v;
  out.json += "}";
  return out;
}

const std::vector<CommandInfo>& Commands() {
  static const std::vector<CommandInfo> commands = {
      {":load", "FILE", "load a program (the session's records are replayed into it)"},
      {":reload", "", "read the program file again, keeping the session's records"},
      {":clients", "", "list the clients seen so far"},
      {":client", "[ID]", "show a client and make it the current one"},
      {":ledger", "[N]", "show the last N ledger entries (default 20)"},
      {":tick", "TIME", "advance the clock to TIME, running the day ticks it passes"},
      {":explain", "", "why each rule of the last record fired or not"},
      {":type", "EXPR", "the type of an expression, without evaluating it"},
      {":engine", "jit|interp", "switch the engine (the session is replayed)"},
      {":save", "FILE", "write the session's records as JSON Lines, for `perk run`"},
      {":help", "", "this list"},
      {":quit", "", "leave (Ctrl-D does too)"},
  };
  return commands;
}

std::vector<std::string> FileCandidates(std::string_view typed) {
  // The directory part is kept as typed ("../x", "/tmp/", "~" is not expanded), and the entries
  // of that directory (the working directory without one) that start with the rest are offered,
  // a directory with a trailing `/` so that completion can go on into it. Hidden entries only
  // when the rest starts with a dot.
  const size_t slash = typed.rfind('/');
  const std::string dir(slash == std::string_view::npos ? "" : typed.substr(0, slash + 1));
  const std::string_view rest = slash == std::string_view::npos ? typed : typed.substr(slash + 1);
  std::vector<std::string> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir.empty() ? "." : dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.compare(0, rest.size(), rest) != 0 || (name[0] == '.' && (rest.empty() || rest[0] != '.'))) continue;
    std::error_code type_ec;
    out.push_back(dir + name + (it->is_directory(type_ec) ? "/" : ""));
  }
  std::sort(out.begin(), out.end());
  return out;
}

Completion Complete(std::string_view before, const checked::Program& program, const std::vector<std::string>& client_ids) {
  Completion out;
  size_t start = before.size();
  while (start > 0 && !std::strchr(kWordBreaks, before[start - 1])) --start;
  out.start = start;
  std::string_view word = before.substr(start);
  std::vector<std::string> all;
  std::string_view line = TrimLeft(before);
  size_t indent = before.size() - line.size();
  bool first_word = start <= indent;

  auto add_names = [&] {
    for (const char* k : kKeywords) all.push_back(k);
    for (const char* f : kFunctions) all.push_back(f);
    for (const auto& e : program.events) all.push_back(e.name);
    for (const auto& w : program.wallets) all.push_back(w.name);
    for (const auto& v : program.vars) all.push_back(v.name);
    for (const auto& p : program.params) all.push_back(p.name);
    for (const auto& t : program.tiers) all.push_back(t.name);
    for (const auto& s : program.segments) all.push_back(s.name);
  };

  if (!line.empty() && line.front() == ':') {
    size_t space = line.find_first_of(" \t");
    if (space == std::string_view::npos) {
      for (const auto& c : Commands()) all.push_back(c.name);
    } else {
      std::string_view command = line.substr(0, space);
      if (command == ":load" || command == ":save") {
        size_t s = before.find_last_of(" \t");
        out.start = s + 1;
        out.candidates = FileCandidates(before.substr(out.start));
        return out;
      }
      if (command == ":client") all = client_ids;
      if (command == ":engine") all = {"jit", "interp"};
      if (command == ":type") add_names();
    }
  } else {
    std::string_view head = FirstWord(line);
    bool short_form = !first_word && !head.empty() && Classify(line, program) == InputKind::ShortForm;
    if (short_form) {
      // Which word of the record is this?
      size_t words = 0;
      bool in_word = false;
      for (size_t i = indent; i < start; ++i) {
        bool space = std::isspace(static_cast<unsigned char>(before[i]));
        if (!space && !in_word) ++words;
        in_word = !space;
      }
      if (start > 0 && before[start - 1] == '=') {
        // A value: offer true/false for bool fields.
        size_t k = start - 1;
        while (k > 0 && !std::isspace(static_cast<unsigned char>(before[k - 1]))) --k;
        std::string_view key = before.substr(k, start - 1 - k);
        const std::vector<checked::Field>* fields = nullptr;
        if (head == "profile") fields = &program.client_fields;
        else if (int ev = program.FindEvent(head); ev >= 0) fields = &program.events[ev].fields;
        if (fields)
          for (const auto& f : *fields)
            if (f.name == key && f.type == Type::Bool) all = {"true", "false"};
      } else if (words == 1 && head != "tick") {
        all = client_ids;
      } else if (head != "tick") {
        const std::vector<checked::Field>* fields = nullptr;
        if (head == "profile") fields = &program.client_fields;
        else if (int ev = program.FindEvent(head); ev >= 0) fields = &program.events[ev].fields;
        if (fields)
          for (const auto& f : *fields) all.push_back(f.name + "=");
        all.push_back("at");
        all.push_back("id=");
      }
    } else if (start > 0 && before[start - 1] == '.') {
      size_t e = start - 1;
      size_t b = e;
      while (b > 0 && !std::strchr(kWordBreaks, before[b - 1])) --b;
      std::string_view base = before.substr(b, e - b);
      if (base == "client") {
        for (const auto& f : program.client_fields) all.push_back(f.name);
        all.push_back("id");
        all.push_back("since");
      } else if (int ev = program.FindEvent(base); ev >= 0) {
        for (const auto& f : program.events[ev].fields) all.push_back(f.name);
        all.push_back("id");
        all.push_back("client");
        all.push_back("time");
      }
    } else {
      add_names();
      if (first_word) {
        all.push_back("profile");
        all.push_back("tick");
      }
    }
  }
  for (auto& c : all)
    if (c.compare(0, word.size(), word) == 0) out.candidates.push_back(std::move(c));
  std::sort(out.candidates.begin(), out.candidates.end());
  out.candidates.erase(std::unique(out.candidates.begin(), out.candidates.end()), out.candidates.end());
  return out;
}

}  // namespace perk::repl
