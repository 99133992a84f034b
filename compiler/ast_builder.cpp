// Builds the AST from ANTLR's parse tree and words ANTLR's syntax errors for Perk's users.
// The only file that sees generated code: everything ANTLR stops at this file's boundary.
#include <fmt/format.h>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "antlr4-runtime.h"
#include "compiler/ast.h"
#include "compiler/diagnostics.h"
#include "compiler/syntax.h"
#include "stdlib/stdlib.h"
#include "perk_gen/PerkLexer.h"
#include "perk_gen/PerkParser.h"

namespace perk::ast {
namespace {

using antlr4::ParserRuleContext;
using antlr4::Token;
using perk_gen::PerkLexer;
using perk_gen::PerkParser;
using P = perk_gen::PerkParser;

constexpr int kMaxSyntaxErrors = 50;
constexpr size_t kEof = static_cast<size_t>(-1);
constexpr size_t kInvalidIndex = std::numeric_limits<size_t>::max();

// ---------------------------------------------------------------- UTF-8


void AppendUtf8(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// Code points of well-formed UTF-8 (all text here has been through SanitizeUtf8).
std::vector<char32_t> CodePoints(std::string_view s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    char32_t c = 0xFFFD;
    size_t n = stdlib::DecodeUtf8(s, i, &c);
    out.push_back(n ? c : 0xFFFD);
    i += n ? n : 1;
  }
  return out;
}

// ANTLR's input stream throws on ill-formed UTF-8, so each bad byte becomes U+FFFD (one
// column, as Diagnostics counts it) and each run of them is reported. A leading byte-order
// mark is dropped, as Diagnostics drops it.
struct CleanSource {
  std::string text;
  std::vector<SourceRange> bad_bytes;
};

CleanSource SanitizeUtf8(std::string_view src) {
  CleanSource out;
  out.text.reserve(src.size());
  size_t i = src.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  uint32_t line = 1, column = 1;
  while (i < src.size()) {
    char32_t c = 0;
    size_t n = stdlib::DecodeUtf8(src, i, &c);
    if (n == 0) {
      if (!out.bad_bytes.empty() && out.bad_bytes.back().line == line &&
          out.bad_bytes.back().column + out.bad_bytes.back().length == column) {
        ++out.bad_bytes.back().length;
      } else {
        out.bad_bytes.push_back({line, column, 1});
      }
      AppendUtf8(0xFFFD, &out.text);
      ++column;
      ++i;
      continue;
    }
    out.text.append(src.substr(i, n));
    i += n;
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return out;
}

// ---------------------------------------------------------------- tokens and ranges

// A token the input really holds: not one ANTLR conjured while recovering, nor EOF.
bool IsReal(const Token* t) {
  return t != nullptr && t->getTokenIndex() != kInvalidIndex && t->getType() != kEof;
}

uint32_t TokenLength(const Token* t) {
  size_t start = t->getStartIndex(), stop = t->getStopIndex();
  if (start == kInvalidIndex || stop == kInvalidIndex || stop < start) return 1;
  return static_cast<uint32_t>(stop - start + 1);  // the char stream counts code points
}

// The one token of a one-token rule (a word, a unit, a type), or null if recovery broke it.
Token* OnlyToken(ParserRuleContext* ctx) {
  if (ctx == nullptr || ctx->exception != nullptr || !IsReal(ctx->getStart()) ||
      ctx->getStart() != ctx->getStop()) {
    return nullptr;
  }
  return ctx->getStart();
}

SourceRange TokenRange(const Token* t) {
  if (t == nullptr) return {};
  return {static_cast<uint32_t>(t->getLine()),
          static_cast<uint32_t>(t->getCharPositionInLine() + 1), TokenLength(t)};
}

// The range from `start` to `stop`, cut at the end of `start`'s line.
SourceRange SpanRange(antlr4::BufferedTokenStream& tokens, const Token* start, const Token* stop) {
  SourceRange r = TokenRange(start);
  if (!IsReal(start) || !IsReal(stop) || stop->getTokenIndex() < start->getTokenIndex()) return r;
  const Token* last = stop;
  if (stop->getLine() != start->getLine()) {
    last = start;
    for (size_t i = start->getTokenIndex(); i <= stop->getTokenIndex(); ++i) {
      Token* t = tokens.get(i);
      if (t->getLine() != start->getLine()) break;
      if (t->getChannel() == Token::DEFAULT_CHANNEL) last = t;
    }
  }
  uint32_t end = static_cast<uint32_t>(last->getCharPositionInLine()) + TokenLength(last);
  r.length = std::max<uint32_t>(1, end - (r.column - 1));
  return r;
}

// The parser's token before `t`, if any.
Token* PreviousToken(antlr4::BufferedTokenStream& tokens, const Token* t) {
  if (t == nullptr || t->getTokenIndex() == kInvalidIndex) return nullptr;
  for (size_t i = t->getTokenIndex(); i-- > 0;) {
    Token* p = tokens.get(i);
    if (p->getChannel() == Token::DEFAULT_CHANNEL) return p;
  }
  return nullptr;
}

// The place just after the token before `t`: where a missing `end` or `)` belongs.
std::optional<SourceRange> AfterPrevious(antlr4::BufferedTokenStream& tokens, const Token* t) {
  Token* p = PreviousToken(tokens, t);
  if (p == nullptr) return std::nullopt;
  return SourceRange{static_cast<uint32_t>(p->getLine()),
                     static_cast<uint32_t>(p->getCharPositionInLine()) + TokenLength(p) + 1, 1};
}

// ---------------------------------------------------------------- syntax errors

// Every syntax error goes through here: capped, and one per position.
class SyntaxErrors {
 public:
  // `what` names the input in messages: "program" or "expression".
  SyntaxErrors(Diagnostics& diags, std::string what)
      : diags_(diags), end_("end of the " + std::move(what)) {}

  // "end of the program", for an error at EOF.
  const std::string& end() const { return end_; }

  void Report(SourceRange range, std::string message) {
    std::pair<std::string, std::string> suggested = std::exchange(suggested_, {});
    if (!seen_.insert({range.line, range.column}).second) return;
    if (count_ == kMaxSyntaxErrors) {
      diags_.Report(DiagKind::SyntaxError, range,
                    "too many syntax errors; fix the ones above and check again");
    }
    if (count_++ >= kMaxSyntaxErrors) return;
    diags_.Report(DiagKind::SyntaxError, range, std::move(message));
    if (!suggested.second.empty()) diags_.SuggestFix(suggested.first, suggested.second);
  }

  // A misspelt keyword's correction, attached as a fix to the next error reported.
  void Suggest(std::string original, std::string replacement) { suggested_ = {std::move(original), std::move(replacement)}; }

 private:
  Diagnostics& diags_;
  std::pair<std::string, std::string> suggested_;
  std::string end_;
  int count_ = 0;
  std::set<std::pair<uint32_t, uint32_t>> seen_;
};

std::string Backticked(std::string_view text) { return "`" + std::string(text) + "`"; }

// How a token the parser did not expect is named in a message.
std::string DescribeToken(const Token* t, const std::string& end) {
  if (t == nullptr || t->getType() == kEof) return end;
  std::vector<char32_t> cps = CodePoints(t->getText());
  std::string text;
  for (size_t i = 0; i < cps.size() && i < 30; ++i) AppendUtf8(cps[i], &text);
  if (cps.size() > 30) text += "…";
  return Backticked(text);
}

// Groups of tokens that messages name as one thing ("an expression", "an action").
const std::vector<size_t> kExpressionStart = {
    P::IDENT,   P::INT_LIT,  P::DECIMAL_LIT, P::PERCENT_LIT, P::STRING_LIT, P::TRUE,
    P::FALSE,   P::DATE_LIT, P::TIME_LIT,    P::CLIENT,      P::TIER,       P::PREVIOUS_TIER,
    P::NOW,     P::TODAY,    P::LPAREN,      P::MINUS,       P::NOT,        P::IF,
    P::COUNT,   P::SUM,      P::AVG,         P::HIGHEST,     P::LOWEST,     P::DATE,
    P::UNTERMINATED_STRING,
    // [v0.2] The calendar functions.
    P::YEAR,    P::MONTH,    P::DAY,         P::HOUR,        P::MINUTE,
    // [v0.2] `pending(W)`.
    P::PENDING};
const std::vector<size_t> kActionStart = {P::CREDIT, P::DEBIT, P::SET, P::NOTIFY,
                                          P::GRANT,  P::EMIT,  P::SEND, P::IF};
const std::vector<size_t> kDeclStart = {P::CURRENCY, P::EVENT,   P::CLIENT, P::WALLET, P::VAR,
                                        P::PARAM,    P::TIER,    P::SEGMENT, P::RULE, P::TIMEZONE, P::REVENUE};
const std::vector<size_t> kTypes = {P::INT,    P::DECIMAL, P::MONEY, P::BOOL,
                                    P::STRING, P::TIME,    P::DATE,  P::TIER, P::CLIENT};
const std::vector<size_t> kUnits = {P::MINUTE, P::MINUTES, P::HOUR, P::HOURS,
                                    P::DAY,    P::DAYS,    P::WEEK, P::WEEKS,
                                    P::MONTH,  P::MONTHS,  P::YEAR, P::YEARS};
const std::vector<size_t> kComparisons = {P::EQ, P::NE, P::LT, P::LE, P::GT, P::GE, P::IN};

bool Contains(const std::vector<size_t>& set, size_t type) {
  return std::find(set.begin(), set.end(), type) != set.end();
}

// The grammar lists the keywords first, from `program` to `duration`.
bool IsKeyword(size_t type) { return type >= P::PROGRAM && type <= P::DURATION; }

// `'when'` in ANTLR's vocabulary becomes "when".
std::string KeywordText(const antlr4::dfa::Vocabulary& vocabulary, size_t type) {
  std::string lit = vocabulary.getLiteralName(type);
  if (lit.size() >= 2 && lit.front() == '\'') lit = lit.substr(1, lit.size() - 2);
  return lit;
}

// What a name is for, from the rule that wanted it.
std::string NameRole(ParserRuleContext* ctx) {
  if (ctx == nullptr) return "a name";
  switch (ctx->getRuleIndex()) {
    case P::RuleCurrencyDecl: return "a currency code such as `USD`";
    case P::RuleEventDecl: return "an event name";
    case P::RuleWalletDecl: return "a wallet name";
    case P::RuleVarDecl: return "a var name";
    case P::RuleParamDecl: return "a param name";
    case P::RuleTierDecl: return "a tier name";
    case P::RuleSegmentDecl: return "a segment name";
    case P::RuleRuleDecl: return "a rule name";
    case P::RuleTrigger: return "an event name";
    case P::RuleFieldDecl:
    case P::RuleFieldName: return "a field name";
    case P::RuleDataEntry: return "a key";
    case P::RuleAction:
      if (dynamic_cast<P::SetActionContext*>(ctx) != nullptr) return "a var name";
      if (dynamic_cast<P::SendActionContext*>(ctx) != nullptr) return "an event name";
      return "a wallet name";
    case P::RulePrimary: return "an event name";
    default: return "a name";
  }
}

std::string JoinOr(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// "an expression, `then` or `limit`": the expected set, with big groups named as one thing.
std::string DescribeExpected(const antlr4::dfa::Vocabulary& vocabulary,
                             std::vector<size_t> expected, ParserRuleContext* ctx,
                             const std::string& end) {
  std::vector<std::string> items;
  auto take_group = [&](const std::vector<size_t>& group, size_t at_least, std::string name) {
    size_t n = std::count_if(group.begin(), group.end(),
                             [&](size_t t) { return Contains(expected, t); });
    if (n < at_least) return;
    items.push_back(std::move(name));
    std::erase_if(expected, [&](size_t t) { return Contains(group, t); });
  };
  // Where any word is allowed (a field name) nearly every keyword is expected; counted without
  // the keywords that start an expression, which an expression alone expects.
  size_t keywords = std::count_if(expected.begin(), expected.end(),
                                  [](size_t t) { return IsKeyword(t) && !Contains(kExpressionStart, t); });
  if (Contains(expected, P::IDENT) && keywords >= 20) {
    items.push_back("a field name");
    std::erase_if(expected, [](size_t t) { return t == P::IDENT || IsKeyword(t); });
  }
  take_group(kExpressionStart, 8, "an expression");
  take_group(kActionStart, kActionStart.size(),
             "an action (`credit`, `debit`, `set`, `notify`, `grant`, `emit`, `send` or `if`)");
  take_group(kDeclStart, kDeclStart.size(),
             "a declaration (`event`, `client`, `wallet`, `var`, `param`, `tier`, `segment`, "
             "`rule` or `revenue`)");
  take_group(kTypes, 6,
             "a type (`int`, `decimal`, `money`, `bool`, `string`, `time`, `date`, `tier` or `client`)");
  take_group(kUnits, 6, "a unit (`minutes`, `hours`, `days`, `weeks`, `months` or `years`)");
  take_group(kComparisons, 4, "an operator");
  // What a name is for reads best first: "an event name or `tier_changed`".
  if (Contains(expected, P::IDENT)) items.push_back(NameRole(ctx));
  for (size_t t : expected) {
    switch (t) {
      case P::IDENT: break;
      case P::INT_LIT: items.push_back("a whole number"); break;
      case P::DECIMAL_LIT: items.push_back("a number"); break;
      case P::PERCENT_LIT: items.push_back("a percentage"); break;
      case P::STRING_LIT: items.push_back("a string in double quotes"); break;
      case P::DATE_LIT: items.push_back("a date"); break;
      case P::TIME_LIT: items.push_back("a time"); break;
      case P::UNTERMINATED_STRING:
      case P::BAD_CHAR: break;
      case kEof: items.push_back("the " + end); break;
      default: items.push_back(Backticked(KeywordText(vocabulary, t))); break;
    }
  }
  if (items.size() > 8) {
    items.resize(7);
    items.push_back("something else");
  }
  return JoinOr(items);
}

// The innermost construct an `end` would close, for "expected `end` to close rule `welcome`".
std::string OpenConstruct(ParserRuleContext* ctx) {
  for (; ctx != nullptr; ctx = dynamic_cast<ParserRuleContext*>(ctx->parent)) {
    if (auto* r = dynamic_cast<P::RuleDeclContext*>(ctx)) {
      return IsReal(r->name) ? "rule " + Backticked(r->name->getText()) : "this rule";
    }
    if (auto* i = dynamic_cast<P::IfActionContext*>(ctx)) {
      return "the `if` on line " + std::to_string(i->getStart()->getLine());
    }
  }
  return "";
}

// The innermost `{ ... }` block, for "expected `}` to close event `deposit`".
std::string OpenBlock(ParserRuleContext* ctx) {
  for (; ctx != nullptr; ctx = dynamic_cast<ParserRuleContext*>(ctx->parent)) {
    if (auto* e = dynamic_cast<P::EventDeclContext*>(ctx)) {
      return IsReal(e->name) ? "event " + Backticked(e->name->getText()) : "the event";
    }
    if (dynamic_cast<P::ClientDeclContext*>(ctx) != nullptr) return "the `client` block";
    if (auto* d = dynamic_cast<P::DataMapContext*>(ctx)) {
      return "the `{` on line " + std::to_string(d->getStart()->getLine());
    }
  }
  return "";
}

// Replaces ANTLR's default wording ("mismatched input X expecting {...}") with messages for
// the people who write Perk. Recovery itself is ANTLR's default: one run reports every error.
class PerkErrorStrategy : public antlr4::DefaultErrorStrategy {
 public:
  explicit PerkErrorStrategy(SyntaxErrors& sink) : sink_(sink) {}

 protected:
  // ANTLR skips one unexpected token when the next one fits. A token that starts a
  // declaration is never skipped: in `event e { a: int` + `wallet w: int`, skipping `wallet`
  // would read `w: int` as a field and derail the rest of the file.
  Token* singleTokenDeletion(antlr4::Parser* parser) override {
    size_t next = parser->getInputStream()->LA(1);
    if (next == P::PROGRAM || Contains(kDeclStart, next)) return nullptr;
    return DefaultErrorStrategy::singleTokenDeletion(parser);
  }

  // At a keyword, first try supposing a token is missing before it (`rule on deposit`: the
  // name is missing) rather than skipping the keyword and taking the next word as the name.
  Token* recoverInline(antlr4::Parser* parser) override {
    if (IsKeyword(parser->getInputStream()->LA(1)) && singleTokenInsertion(parser)) {
      return getMissingSymbol(parser);
    }
    return DefaultErrorStrategy::recoverInline(parser);
  }

  void reportNoViableAlternative(antlr4::Parser* parser,
                                 const antlr4::NoViableAltException& e) override {
    Token* t = e.getOffendingToken();
    // The expected set describes the decision's first token; only then does it fit.
    bool at_start = e.getStartToken() == nullptr || t == nullptr ||
                    e.getStartToken()->getTokenIndex() == t->getTokenIndex();
    Report(parser, t, at_start ? parser->getExpectedTokens() : antlr4::misc::IntervalSet(),
           false);
  }

  void reportInputMismatch(antlr4::Parser* parser,
                           const antlr4::InputMismatchException& e) override {
    Report(parser, e.getOffendingToken(), e.getExpectedTokens(), false);
  }

  void reportFailedPredicate(antlr4::Parser* parser,
                             const antlr4::FailedPredicateException& e) override {
    Report(parser, e.getOffendingToken(), antlr4::misc::IntervalSet(), false);
  }

  void reportUnwantedToken(antlr4::Parser* parser) override {
    if (inErrorRecoveryMode(parser)) return;
    beginErrorCondition(parser);
    Report(parser, parser->getCurrentToken(), getExpectedTokens(parser), false);
  }

  void reportMissingToken(antlr4::Parser* parser) override {
    if (inErrorRecoveryMode(parser)) return;
    beginErrorCondition(parser);
    Report(parser, parser->getCurrentToken(), getExpectedTokens(parser), true);
  }

 private:
  void Report(antlr4::Parser* parser, Token* t, const antlr4::misc::IntervalSet& expected_set,
              bool missing) {
    // An unterminated string was already reported, with a better message; so was a stray
    // character, which is the likely cause of an error just after it.
    if (t != nullptr && t->getType() == P::UNTERMINATED_STRING) return;
    auto& tokens = *static_cast<antlr4::BufferedTokenStream*>(parser->getTokenStream());
    if (t != nullptr && t->getTokenIndex() != kInvalidIndex && t->getTokenIndex() > 0) {
      // Comments share the hidden channel; look past them to what came before.
      size_t i = t->getTokenIndex() - 1;
      while (i > 0 && tokens.get(i)->getType() == P::COMMENT) --i;
      if (tokens.get(i)->getType() == P::BAD_CHAR) return;
    }
    std::vector<size_t> expected;
    for (ssize_t v : expected_set.toList()) expected.push_back(static_cast<size_t>(v));
    auto* ctx = parser->getContext();
    SourceRange at = TokenRange(t);
    bool at_end = t == nullptr || t->getType() == kEof;
    auto after_previous = AfterPrevious(tokens, t);
    if (at_end && after_previous) at = *after_previous;
    // A missing closer belongs after what came before it, when that is on an earlier line.
    auto place_after_previous = [&] {
      if (after_previous && (at_end || after_previous->line < t->getLine())) at = *after_previous;
    };
    std::string message = Word(parser->getVocabulary(), tokens, t, expected, ctx, missing,
                               after_previous, place_after_previous);
    sink_.Report(at, std::move(message));
  }

  std::string Word(const antlr4::dfa::Vocabulary& vocabulary,
                   antlr4::BufferedTokenStream& tokens, Token* t,
                   const std::vector<size_t>& expected, ParserRuleContext* ctx, bool missing,
                   const std::optional<SourceRange>& after_previous,
                   const std::function<void()>& place_after_previous) {
    size_t type = t == nullptr ? kEof : t->getType();
    std::string seen = "unexpected " + DescribeToken(t, sink_.end());
    auto expects = [&](size_t e) { return Contains(expected, e); };
    bool ends_block = type == kEof || type == P::PROGRAM || Contains(kDeclStart, type);

    size_t rule = ctx == nullptr ? 0 : ctx->getRuleIndex();

    // After `.` every keyword is a field name, so none of the hints below apply.
    if (rule == P::RuleWord) return seen + "; expected a field name after `.`";
    if (expected.size() == 1 && expects(P::PROGRAM)) {
      return seen + "; a program starts with `program \"Name\"`";
    }
    if (type == P::PROGRAM && !expects(P::PROGRAM)) {
      return seen + "; `program \"Name\"` comes once, at the top of the file";
    }
    if ((rule == P::RuleRuleDecl || rule == P::RuleTrigger) && expects(P::ON)) {
      return seen +
             "; a rule needs a trigger (`on EVENT`, `on tier_changed` or `every day`) first";
    }
    if (expects(P::END) && (ends_block || (missing && expected.size() == 1))) {
      std::string construct = OpenConstruct(ctx);
      if (!construct.empty()) {
        place_after_previous();
        return "expected `end` to close " + construct;
      }
    }
    if (expects(P::RBRACE) && (ends_block || type == P::END || Contains(kActionStart, type))) {
      std::string block = OpenBlock(ctx);
      if (!block.empty()) {
        place_after_previous();
        return "expected `}` to close " + block;
      }
    }
    // An unclosed `(` or `[`: name the one left open, when the next token cannot go on.
    bool new_line = t != nullptr && after_previous && after_previous->line < t->getLine();
    for (auto [open, close] : {std::pair{P::LPAREN, P::RPAREN}, {P::LBRACKET, P::RBRACKET}}) {
      if (!expects(close) || expects(type)) continue;
      if (!(missing || new_line || ends_block || type == P::END || type == P::THEN ||
            Contains(kActionStart, type))) {
        continue;
      }
      if (auto line = UnclosedLine(tokens, t, open, close)) {
        place_after_previous();
        return "expected `" + KeywordText(vocabulary, close) + "`" + " to close the `" +
               KeywordText(vocabulary, open) + "` on line " + std::to_string(*line);
      }
    }
    if (expects(P::THEN) && Contains(kActionStart, type) && !expects(type)) {
      return seen + "; write `then` before the actions";
    }
    if (expected.size() == 1 && expects(P::ELSE)) {
      std::string why = "; an `if` inside an expression needs one: `if c then a else b`";
      if (new_line || ends_block) {
        place_after_previous();
        return "expected `else` after " + DescribeToken(PreviousToken(tokens, t), sink_.end()) +
               why;
      }
      return seen + "; expected `else`" + why;
    }
    // `when x = 5`: a value came and the parser wanted no more of it, so `==` was meant.
    if (type == P::ASSIGN && !expects(P::INT_LIT)) {
      return seen + "; to compare two values write `==`";
    }
    if (Contains(kComparisons, type) && FollowsComparison(tokens, t)) {
      return seen + "; comparisons do not chain: write `a < b and b < c`";
    }
    if (type == P::IDENT) {
      // A misspelt keyword: `wen` for `when`, `walet` for `wallet`.
      std::vector<std::string> keywords;
      for (size_t e : expected) {
        if (IsKeyword(e)) keywords.push_back(KeywordText(vocabulary, e));
      }
      std::string close = ClosestName(t->getText(), keywords);
      if (!close.empty()) {
        sink_.Suggest(t->getText(), close);
        return seen + "; did you mean " + Backticked(close) + "?";
      }
    }
    if (expected.empty()) return seen;
    std::string wanted = DescribeExpected(vocabulary, expected, ctx, sink_.end());
    // A line left unfinished before the next declaration: the fix goes at its end.
    if (new_line && (ends_block || type == P::END)) {
      place_after_previous();
      Token* previous = PreviousToken(tokens, t);
      return "expected " + wanted + " after " + DescribeToken(previous, sink_.end());
    }
    if (missing && t != nullptr) {
      place_after_previous();
      std::string before = type == kEof ? "" : " before " + DescribeToken(t, sink_.end());
      return "expected " + wanted + before;
    }
    return seen + "; expected " + wanted;
  }

  // The line of the last `open` before `t` that no `close` matches.
  static std::optional<size_t> UnclosedLine(antlr4::BufferedTokenStream& tokens, Token* t,
                                            size_t open, size_t close) {
    if (t == nullptr || t->getTokenIndex() == kInvalidIndex) return std::nullopt;
    int depth = 0;
    for (size_t i = t->getTokenIndex(); i-- > 0;) {
      Token* p = tokens.get(i);
      if (p->getType() == close) ++depth;
      if (p->getType() == open && depth-- == 0) return p->getLine();
    }
    return std::nullopt;
  }

  // Does a comparison come just before `t`, in the same expression (`a < b < c`)?
  static bool FollowsComparison(antlr4::BufferedTokenStream& tokens, Token* t) {
    if (t == nullptr || t->getTokenIndex() == kInvalidIndex) return false;
    int depth = 0;
    for (size_t i = t->getTokenIndex(); i-- > 0;) {
      Token* p = tokens.get(i);
      if (p->getChannel() != Token::DEFAULT_CHANNEL) continue;
      size_t type = p->getType();
      if (type == P::RPAREN || type == P::RBRACKET) ++depth;
      if (type == P::LPAREN || type == P::LBRACKET) {
        if (depth == 0) return false;
        --depth;
      }
      if (depth > 0) continue;
      if (Contains(kComparisons, type)) return true;
      if (IsKeyword(type) && type != P::MOD && type != P::CLIENT && type != P::TIER &&
          type != P::PREVIOUS_TIER && type != P::NOW && type != P::TODAY &&
          !Contains(kUnits, type)) {
        return false;
      }
      if (type == P::COMMA || type == P::ASSIGN || type == P::COLON) return false;
    }
    return false;
  }

  SyntaxErrors& sink_;
};

// Anything the strategy did not word itself (the lexer's own errors, which the catch-all
// BAD_CHAR token should make impossible) still lands in our diagnostics, never on stderr.
class ErrorListener : public antlr4::BaseErrorListener {
 public:
  explicit ErrorListener(SyntaxErrors& sink) : sink_(sink) {}
  void syntaxError(antlr4::Recognizer*, Token* offending, size_t line, size_t column,
                   const std::string&, std::exception_ptr) override {
    sink_.Report({static_cast<uint32_t>(line), static_cast<uint32_t>(column + 1), 1},
                 offending != nullptr ? "unexpected " + DescribeToken(offending, sink_.end())
                                      : "unexpected character");
  }

 private:
  SyntaxErrors& sink_;
};

// Reports what the lexer let through for the builder to word: stray characters (kept off the
// parser's channel so they cause no cascade) and strings missing their closing quote.
void ReportLexicalErrors(antlr4::BufferedTokenStream& tokens, const CleanSource& clean,
                         SyntaxErrors& sink) {
  for (const auto& r : clean.bad_bytes) {
    sink.Report(r, "this is not UTF-8 text; save the file as UTF-8");
  }
  auto is_bad_byte = [&](const SourceRange& r) {
    return std::any_of(clean.bad_bytes.begin(), clean.bad_bytes.end(), [&](const SourceRange& b) {
      return b.line == r.line && r.column >= b.column && r.column < b.column + b.length;
    });
  };
  std::vector<Token*> all = tokens.getTokens();
  for (size_t i = 0; i < all.size(); ++i) {
    Token* t = all[i];
    if (t->getType() == P::UNTERMINATED_STRING) {
      sink.Report(TokenRange(t), "this string has no closing `\"`; a string ends on its own line");
      continue;
    }
    // `&&`, `||` and `!` lex as `and`, `or` and `not` so that parsing goes on.
    if (t->getType() == P::AND || t->getType() == P::OR || t->getType() == P::NOT) {
      std::string word = t->getType() == P::AND ? "and" : t->getType() == P::OR ? "or" : "not";
      if (t->getText() != word) {
        sink.Report(TokenRange(t), "unexpected " + Backticked(t->getText()) + "; write " +
                                       Backticked(word) + " instead");
      }
      continue;
    }
    if (t->getType() != P::BAD_CHAR) continue;
    // A run of the same stray character (`&&`) is one error.
    size_t j = i + 1;
    while (j < all.size() && all[j]->getType() == P::BAD_CHAR &&
           all[j]->getText() == t->getText() && all[j]->getLine() == t->getLine() &&
           all[j]->getStartIndex() == all[j - 1]->getStopIndex() + 1) {
      ++j;
    }
    SourceRange range = TokenRange(t);
    range.length = static_cast<uint32_t>(j - i);
    i = j - 1;
    if (is_bad_byte(range)) continue;
    std::string text = t->getText();
    std::string run;
    for (size_t k = 0; k < range.length; ++k) run += text;
    char32_t c = CodePoints(text).empty() ? 0 : CodePoints(text)[0];
    std::string message;
    if (c == '%') {
      message = "unexpected `%`; write a percentage with no space before `%`, as in `30%`";
    } else if (c == U'\u201C' || c == U'\u201D' || c == U'\u2018' || c == U'\u2019' ||
               c == '\'') {
      message = "unexpected " + Backticked(run) + "; write strings in straight double quotes: "
                "`\"text\"`";
    } else if (c == '&') {
      message = "unexpected " + Backticked(run) + "; write `and`";
    } else if (c == '|') {
      message = "unexpected " + Backticked(run) + "; write `or`";
    } else if (c == ';') {
      message = "`;` is not needed in Perk: remove it";
    } else if (c < 0x20 || c == 0x7F || c == 0xA0 || (c >= 0x2000 && c <= 0x200F) ||
               c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x3000 || c == 0xFEFF) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(c));
      message = std::string("unexpected invisible character ") + code +
                "; retype this space as a plain one";
    } else {
      message = "unexpected character " + Backticked(run);
    }
    sink.Report(range, std::move(message));
  }
}

// ---------------------------------------------------------------- literals

// Digits as written, `_` allowed; nullopt when the value does not fit in int64.
std::optional<int64_t> ParseInt64(std::string_view text) {
  int64_t value = 0;
  for (char c : text) {
    if (c == '_') continue;
    int digit = c - '0';
    if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

DurationUnit UnitOf(size_t type) {
  switch (type) {
    case P::MINUTE:
    case P::MINUTES: return DurationUnit::Minute;
    case P::HOUR:
    case P::HOURS: return DurationUnit::Hour;
    case P::WEEK:
    case P::WEEKS: return DurationUnit::Week;
    case P::MONTH:
    case P::MONTHS: return DurationUnit::Month;
    case P::YEAR:
    case P::YEARS: return DurationUnit::Year;
    default: return DurationUnit::Day;
  }
}

int HexValue(char32_t c) {
  if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
  if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
  return -1;
}

// ---------------------------------------------------------------- the builder

class Builder {
 public:
  Builder(Diagnostics& diags, antlr4::BufferedTokenStream& tokens)
      : diags_(diags), tokens_(tokens) {}

  std::unique_ptr<Program> BuildProgram(P::ProgramContext& ctx) {
    auto program = std::make_unique<Program>();
    if (P::HeaderContext* header = ctx.header(); header != nullptr && header->name != nullptr) {
      if (auto name = BuildString(*header->name)) {
        program->name = std::move(*name);
        program->name_range = Range(header->name);
      }
    }
    for (P::DeclContext* decl : ctx.decl()) BuildDecl(*decl, *program);
    return program;
  }

  ExprPtr BuildExpr(P::ExprContext* ctx, SourceRange fallback) {
    if (ctx == nullptr || ctx->orExpr() == nullptr) return ErrorExpr(fallback);
    return BuildOr(ctx->orExpr());
  }

 private:
  // ---- declarations

  void BuildDecl(P::DeclContext& ctx, Program& program) {
    if (auto* c = ctx.currencyDecl()) {
      BuildCurrency(*c, program);
    } else if (auto* c = ctx.timezoneDecl()) {
      BuildTimezone(*c, program);
    } else if (auto* c = ctx.eventDecl()) {
      if (!IsReal(c->name)) return;
      EventDecl event{c->name->getText(), Range(c), {}, TokenRange(c->name)};
      for (auto* f : c->fieldDecl()) {
        if (auto field = BuildField(*f)) event.fields.push_back(std::move(*field));
      }
      program.events.push_back(std::move(event));
    } else if (auto* c = ctx.clientDecl()) {
      for (auto* f : c->fieldDecl()) {
        if (auto field = BuildField(*f)) program.client_fields.push_back(std::move(*field));
      }
    } else if (auto* c = ctx.walletDecl()) {
      auto type = BuildType(c->typeRef());
      if (!IsReal(c->name) || !type) return;
      WalletDecl wallet{c->name->getText(), Range(c), *type, nullptr, std::nullopt, TokenRange(c->name)};
      if (c->WORTH() != nullptr) wallet.worth = BuildExpr(c->worth, Range(c));
      if (c->EXPIRES() != nullptr) wallet.expiry = BuildDuration(c->expiry);
      program.wallets.push_back(std::move(wallet));
    } else if (auto* c = ctx.varDecl()) {
      auto type = BuildType(c->typeRef());
      if (!IsReal(c->name) || !type) return;
      program.vars.push_back({c->name->getText(), Range(c), *type, BuildExpr(c->value, Range(c)), TokenRange(c->name)});
    } else if (auto* c = ctx.paramDecl()) {
      if (!IsReal(c->name)) return;
      ParamDecl param{c->name->getText(), Range(c), std::nullopt, BuildExpr(c->value, Range(c)), TokenRange(c->name)};
      if (c->COLON() != nullptr) {
        param.type = BuildType(c->typeRef());
        if (!param.type) return;
      }
      program.params.push_back(std::move(param));
    } else if (auto* c = ctx.tierDecl()) {
      if (!IsReal(c->name)) return;
      TierDecl tier{c->name->getText(), Range(c), nullptr, std::nullopt, TokenRange(c->name)};
      if (c->WHEN() != nullptr) tier.when = BuildExpr(c->cond, Range(c));
      if (c->HOLD() != nullptr) tier.hold = BuildDuration(c->hold);
      program.tiers.push_back(std::move(tier));
    } else if (auto* c = ctx.segmentDecl()) {
      if (!IsReal(c->name)) return;
      program.segments.push_back({c->name->getText(), Range(c), BuildExpr(c->cond, Range(c)), TokenRange(c->name)});
    } else if (auto* c = ctx.ruleDecl()) {
      if (auto rule = BuildRule(*c)) program.rules.push_back(std::move(*rule));
    } else if (auto* c = ctx.revenueDecl()) {
      BuildRevenue(*c, program);
    }
  }

  // [v0.2] `revenue EVENT.FIELD [where C]` (C12).
  void BuildRevenue(P::RevenueDeclContext& ctx, Program& program) {
    Token* field = OnlyToken(ctx.field);
    if (!IsReal(ctx.event) || field == nullptr) return;
    RevenueDecl r{ctx.event->getText(), TokenRange(ctx.event), field->getText(), TokenRange(field), Range(&ctx), nullptr};
    if (ctx.WHERE() != nullptr) r.where = BuildExpr(ctx.cond, Range(&ctx));
    program.revenues.push_back(std::move(r));
  }

  // `currency` may come anywhere; a second one is reported here, since the tree keeps one.
  void BuildCurrency(P::CurrencyDeclContext& ctx, Program& program) {
    if (!IsReal(ctx.code)) return;
    if (program.currency) {
      diags_.Report(DiagKind::DuplicateCurrency, Range(&ctx),
                    "`currency` is declared twice; a program has one currency");
      diags_.Note(program.currency_range, "first declared here as " +
                                              Backticked(*program.currency));
      return;
    }
    program.currency = ctx.code->getText();
    program.currency_range = Range(&ctx);
  }

  // [v0.2] `timezone "Zone"`: one per program; the checker loads the name.
  void BuildTimezone(P::TimezoneDeclContext& ctx, Program& program) {
    if (ctx.name == nullptr) return;
    auto name = BuildString(*ctx.name);
    if (!name) return;
    if (program.timezone) {
      diags_.Report(DiagKind::DuplicateTimezone, Range(&ctx),
                    "`timezone` is declared twice; a program has one time zone, so keep one");
      diags_.Note(program.timezone_range, "first declared here as " + Backticked(*program.timezone));
      return;
    }
    program.timezone = *name;
    program.timezone_range = Range(&ctx);
  }

  std::optional<FieldDecl> BuildField(P::FieldDeclContext& ctx) {
    auto type = BuildType(ctx.typeRef());
    Token* name = OnlyToken(ctx.name);
    if (name == nullptr || !type) return std::nullopt;
    FieldDecl field{name->getText(), Range(&ctx), *type, nullptr, TokenRange(name)};
    if (ctx.ASSIGN() != nullptr) field.default_value = BuildExpr(ctx.value, Range(&ctx));
    return field;
  }

  std::optional<TypeRef> BuildType(P::TypeRefContext* ctx) {
    if (ctx == nullptr || !IsReal(ctx->getStart()) || ctx->exception != nullptr) {
      return std::nullopt;
    }
    TypeRef type{TypeName::Int, TokenRange(ctx->getStart())};
    switch (ctx->getStart()->getType()) {
      case P::INT: type.name = TypeName::Int; break;
      case P::DECIMAL: type.name = TypeName::Decimal; break;
      case P::MONEY: type.name = TypeName::Money; break;
      case P::BOOL: type.name = TypeName::Bool; break;
      case P::STRING: type.name = TypeName::String; break;
      case P::TIME: type.name = TypeName::Time; break;
      case P::DATE: type.name = TypeName::Date; break;
      case P::TIER: type.name = TypeName::Tier; break;
      case P::CLIENT: type.name = TypeName::Client; break;
      default: return std::nullopt;
    }
    return type;
  }

  std::optional<Duration> BuildDuration(P::DurationContext* ctx) {
    if (ctx != nullptr && IsReal(ctx->param)) {
      // A param names the count (`n days`) or, alone, the whole duration (`inactive`).
      Duration d;
      d.range = Range(ctx);
      d.param = ctx->param->getText();
      d.param_range = TokenRange(ctx->param);
      if (Token* unit = OnlyToken(ctx->unit)) d.unit = UnitOf(unit->getType());
      else d.whole = true;
      return d;
    }
    if (ctx == nullptr || !IsReal(ctx->count) || OnlyToken(ctx->unit) == nullptr) {
      return std::nullopt;
    }
    return MakeDuration(ctx->count, OnlyToken(ctx->unit), Range(ctx));
  }

  // A window: a duration, with `previous` in front for the whole units before the current one.
  std::optional<Duration> BuildWindow(P::WindowSpecContext* ctx) {
    if (ctx == nullptr) return std::nullopt;
    auto d = BuildDuration(ctx->span);
    if (d && ctx->previous != nullptr) {
      d->previous = true;
      d->range = Range(ctx);
    }
    return d;
  }

  std::optional<Duration> MakeDuration(Token* count, Token* unit, SourceRange range) {
    auto value = ParseInt64(count->getText());
    if (!value) {
      diags_.Report(DiagKind::BadLiteral, range,
                    Backticked(count->getText() + " " + unit->getText()) +
                        " is too long: the number of a duration must fit in 64 bits");
      return std::nullopt;
    }
    Duration out;
    out.count = *value;
    out.unit = UnitOf(unit->getType());
    out.range = range;
    return out;
  }

  // ---- rules

  std::optional<RuleDecl> BuildRule(P::RuleDeclContext& ctx) {
    // Without a name or a trigger there is nothing the checker could usefully say.
    auto trigger = BuildTrigger(ctx.trigger());
    if (!IsReal(ctx.name) || !trigger) return std::nullopt;
    RuleDecl rule;
    rule.name = ctx.name->getText();
    rule.range = Range(&ctx);
    rule.name_range = TokenRange(ctx.name);
    if (ctx.END() != nullptr && IsReal(ctx.END()->getSymbol())) rule.end_line = static_cast<uint32_t>(ctx.END()->getSymbol()->getLine());
    rule.trigger = std::move(*trigger);
    if (ctx.label != nullptr) rule.label = BuildString(*ctx.label).value_or("");
    if (P::RenamingContext* r = ctx.renaming()) {
      // `renamed` and `from` are plain words to the grammar (so `from` stays a usable name).
      const bool words = IsReal(r->renamed) && r->renamed->getText() == "renamed" &&
                         (r->from == nullptr || r->from->getText() == "from");
      if (words && IsReal(r->old)) {
        rule.renamed_from = r->old->getText();
        rule.renamed_range = Range(r);
      } else if (words) {
        diags_.Report(DiagKind::SyntaxError, Range(r),
                      "`renamed from` needs the rule's old name: `renamed from OLD_NAME`");
      } else {
        diags_.Report(DiagKind::SyntaxError, Range(r),
                      "unexpected " +
                          Backticked((r->renamed->getText() != "renamed" ? r->renamed : r->from)->getText()) +
                          "; a rule needs a trigger (`on EVENT`, `on tier_changed` or `every day`) first, "
                          "after `renamed from OLD_NAME` when the rule had another name");
      }
    }
    SourceRange when_range, limit_range, budget_range, client_budget_range;
    for (P::ClauseContext* clause : ctx.clause()) {
      if (auto* c = dynamic_cast<P::WhenClauseContext*>(clause)) {
        if (rule.when) {
          DuplicateClause(rule, "when", Range(c), when_range,
                          "; join the conditions with `and`");
          continue;
        }
        when_range = Range(c);
        rule.when = BuildExpr(c->cond, when_range);
      } else if (auto* c = dynamic_cast<P::LimitClauseContext*>(clause)) {
        if (rule.limit) {
          DuplicateClause(rule, "limit", Range(c), limit_range, "; keep one");
          continue;
        }
        limit_range = Range(c);
        Limit limit;
        limit.range = limit_range;
        limit.once = c->ONCE() != nullptr;
        if (!limit.once) limit.count = BuildPrimary(c->count, limit_range);
        if (c->key != nullptr) limit.key = BuildExpr(c->key, limit_range);
        if (c->WITHIN() != nullptr) limit.within = BuildWindow(c->window);
        rule.limit = std::move(limit);
      } else if (auto* c = dynamic_cast<P::BudgetClauseContext*>(clause)) {
        // One campaign budget and one per-client budget.
        const bool per_client = c->perClient != nullptr;
        std::optional<Budget>& slot = per_client ? rule.client_budget : rule.budget;
        SourceRange& first = per_client ? client_budget_range : budget_range;
        if (slot) {
          DuplicateClause(rule, per_client ? "budget ... per client" : "budget", Range(c), first,
                          per_client ? "; keep one" : "; keep one (a rule may add one `budget ... per client`)");
          continue;
        }
        first = Range(c);
        Budget budget;
        budget.range = first;
        budget.amount = BuildExpr(c->amount, first);
        budget.per_client = per_client;
        budget.partial = c->PARTIAL() != nullptr;
        if (c->WITHIN() != nullptr) budget.within = BuildWindow(c->window);
        slot = std::move(budget);
      }
    }
    rule.actions = BuildActions(ctx.action());
    return rule;
  }

  void DuplicateClause(const RuleDecl& rule, const std::string& clause, SourceRange at,
                       SourceRange first, const std::string& advice) {
    diags_.Report(DiagKind::DuplicateClause, at,
                  "rule " + Backticked(rule.name) + " has two " + Backticked(clause) +
                      " clauses" + advice);
    diags_.Note(first, "the first " + Backticked(clause) + " is here");
  }

  std::optional<Trigger> BuildTrigger(P::TriggerContext* ctx) {
    if (ctx == nullptr) return std::nullopt;
    Trigger trigger;
    trigger.range = Range(ctx);
    if (IsReal(ctx->event)) {
      trigger.kind = TriggerKind::Event;
      trigger.event = ctx->event->getText();
      trigger.event_range = TokenRange(ctx->event);
      trigger.reversed = ctx->reversed != nullptr;
    } else if (IsReal(ctx->changed)) {
      trigger.kind = TriggerKind::TierChanged;
    } else if ((ctx->entering != nullptr || ctx->leaving != nullptr) && IsReal(ctx->segment)) {
      trigger.kind = ctx->entering != nullptr ? TriggerKind::Entering : TriggerKind::Leaving;
      trigger.event = ctx->segment->getText();
      trigger.event_range = TokenRange(ctx->segment);
    } else if (ctx->EVERY() != nullptr && ctx->DAY() != nullptr &&
               IsReal(ctx->DAY()->getSymbol())) {
      trigger.kind = TriggerKind::EveryDay;
    } else if (ctx->EVERY() != nullptr && ctx->WEEK() != nullptr &&
               IsReal(ctx->WEEK()->getSymbol())) {
      trigger.kind = TriggerKind::EveryWeek;
    } else if (ctx->EVERY() != nullptr && ctx->MONTH() != nullptr &&
               IsReal(ctx->MONTH()->getSymbol())) {
      trigger.kind = TriggerKind::EveryMonth;
    } else {
      return std::nullopt;
    }
    return trigger;
  }

  std::vector<Action> BuildActions(const std::vector<P::ActionContext*>& contexts) {
    std::vector<Action> actions;
    for (P::ActionContext* ctx : contexts) {
      if (auto action = BuildAction(*ctx)) actions.push_back(std::move(*action));
    }
    return actions;
  }

  std::optional<Action> BuildAction(P::ActionContext& ctx) {
    Action action;
    action.range = Range(&ctx);
    // Credit, debit and set name their target with an identifier.
    auto named_target = [&](ActionKind kind, Token* target, P::ExprContext* value) {
      if (!IsReal(target)) return false;
      action.kind = kind;
      action.target = target->getText();
      action.target_range = TokenRange(target);
      action.value = BuildExpr(value, action.range);
      return true;
    };
    // Notify, grant and emit name theirs with a string.
    auto string_target = [&](ActionKind kind, P::StrContext* target, P::DataMapContext* data) {
      if (target == nullptr || !IsReal(target->getStart())) return false;
      action.kind = kind;
      action.target = BuildString(*target).value_or(target->getText());
      action.target_range = Range(target);
      if (data != nullptr) action.data = BuildData(*data);
      return true;
    };
    if (auto* c = dynamic_cast<P::CreditActionContext*>(&ctx)) {
      if (!named_target(ActionKind::Credit, c->target, c->amount)) return std::nullopt;
      if (c->PENDING() != nullptr) action.pending = BuildDuration(c->pendingFor);
    } else if (auto* c = dynamic_cast<P::DebitActionContext*>(&ctx)) {
      if (!named_target(ActionKind::Debit, c->target, c->amount)) return std::nullopt;
    } else if (auto* c = dynamic_cast<P::SetActionContext*>(&ctx)) {
      if (!named_target(ActionKind::Set, c->target, c->value)) return std::nullopt;
    } else if (auto* c = dynamic_cast<P::NotifyActionContext*>(&ctx)) {
      if (!string_target(ActionKind::Notify, c->tmpl, c->dataMap())) return std::nullopt;
    } else if (auto* c = dynamic_cast<P::GrantActionContext*>(&ctx)) {
      if (!string_target(ActionKind::Grant, c->badge, nullptr)) return std::nullopt;
    } else if (auto* c = dynamic_cast<P::EmitActionContext*>(&ctx)) {
      if (!string_target(ActionKind::Emit, c->name, c->dataMap())) return std::nullopt;
    } else if (auto* c = dynamic_cast<P::SendActionContext*>(&ctx)) {
      // [v0.2] `send EVENT to X { field: x }`: the event type is a name, X an expression.
      if (!IsReal(c->event)) return std::nullopt;
      action.kind = ActionKind::Send;
      action.target = c->event->getText();
      action.target_range = TokenRange(c->event);
      action.value = BuildExpr(c->to, action.range);
      if (c->dataMap() != nullptr) action.data = BuildData(*c->dataMap());
    } else if (auto* c = dynamic_cast<P::IfActionContext*>(&ctx)) {
      action.kind = ActionKind::If;
      action.value = BuildExpr(c->cond, action.range);
      action.then_actions = BuildActions(c->thenActions);
      action.else_actions = BuildActions(c->elseActions);
      action.has_else = c->ELSE() != nullptr;
    } else {
      return std::nullopt;
    }
    return action;
  }

  std::vector<DataEntry> BuildData(P::DataMapContext& ctx) {
    std::vector<DataEntry> data;
    for (P::DataEntryContext* entry : ctx.dataEntry()) {
      Token* key = OnlyToken(entry->key);
      if (key == nullptr) continue;
      data.push_back({key->getText(), Range(entry), BuildExpr(entry->value, Range(entry))});
    }
    return data;
  }

  // ---- expressions

  // Folds `a op b op c` to the left; a missing operand (a syntax error, already reported)
  // becomes an Error node.
  template <typename Operand, typename BuildOperand, typename OpOf>
  ExprPtr Fold(ParserRuleContext* ctx, const std::vector<Operand*>& operands,
               const std::vector<Token*>& ops, BuildOperand build, OpOf op_of) {
    if (operands.empty()) return ErrorExpr(Range(ctx));
    ExprPtr left = build(operands[0]);
    for (size_t i = 0; i < ops.size(); ++i) {
      Token* stop = i + 1 < operands.size() ? operands[i + 1]->getStop() : ops[i];
      auto e = NewExpr(ExprKind::Binary, SpanRange(tokens_, operands[0]->getStart(), stop));
      e->bop = op_of(ops[i]->getType());
      e->args.push_back(std::move(left));
      e->args.push_back(i + 1 < operands.size() ? build(operands[i + 1]) : ErrorExpr(e->range));
      left = std::move(e);
    }
    return left;
  }

  ExprPtr BuildOr(P::OrExprContext* ctx) {
    if (ctx == nullptr) return ErrorExpr({});
    return Fold(
        ctx, ctx->operands, ctx->ops, [&](P::AndExprContext* c) { return BuildAnd(c); },
        [](size_t) { return BinaryOp::Or; });
  }

  ExprPtr BuildAnd(P::AndExprContext* ctx) {
    return Fold(
        ctx, ctx->operands, ctx->ops, [&](P::NotExprContext* c) { return BuildNot(c); },
        [](size_t) { return BinaryOp::And; });
  }

  ExprPtr BuildNot(P::NotExprContext* ctx) {
    if (auto* c = dynamic_cast<P::NotContext*>(ctx)) {
      auto e = NewExpr(ExprKind::Unary, Range(c));
      e->uop = UnaryOp::Not;
      e->args.push_back(c->operand != nullptr ? BuildNot(c->operand) : ErrorExpr(e->range));
      return e;
    }
    if (auto* c = dynamic_cast<P::PlainNotContext*>(ctx); c != nullptr && c->comparison()) {
      return BuildComparison(*c->comparison());
    }
    return ErrorExpr(Range(ctx));
  }

  // `a otherwise b otherwise c` is `a otherwise (b otherwise c)`.
  ExprPtr BuildOtherwise(P::OtherwiseContext& ctx) {
    if (ctx.operands.empty()) return ErrorExpr(Range(&ctx));
    const size_t n = ctx.operands.size();
    ExprPtr right = BuildAdditive(*ctx.operands[n - 1]);
    for (size_t i = n - 1; i-- > 0;) {
      auto e = NewExpr(ExprKind::Otherwise, SpanRange(tokens_, ctx.operands[i]->getStart(), ctx.getStop()));
      e->args.push_back(BuildAdditive(*ctx.operands[i]));
      e->args.push_back(std::move(right));
      right = std::move(e);
    }
    return right;
  }

  ExprPtr BuildComparison(P::ComparisonContext& ctx) {
    ExprPtr left = ctx.left != nullptr ? BuildOtherwise(*ctx.left) : ErrorExpr(Range(&ctx));
    if (ctx.IS() != nullptr) {
      auto e = NewExpr(ExprKind::IsSet, Range(&ctx));
      e->bool_value = ctx.negated != nullptr;
      e->args.push_back(std::move(left));
      return e;
    }
    if (ctx.op != nullptr) {
      auto e = NewExpr(ExprKind::Binary, Range(&ctx));
      switch (ctx.op->getType()) {
        case P::EQ: e->bop = BinaryOp::Eq; break;
        case P::NE: e->bop = BinaryOp::Ne; break;
        case P::LT: e->bop = BinaryOp::Lt; break;
        case P::LE: e->bop = BinaryOp::Le; break;
        case P::GT: e->bop = BinaryOp::Gt; break;
        default: e->bop = BinaryOp::Ge; break;
      }
      e->args.push_back(std::move(left));
      e->args.push_back(ctx.right != nullptr ? BuildOtherwise(*ctx.right) : ErrorExpr(e->range));
      return e;
    }
    if (ctx.IN() != nullptr) {
      auto e = NewExpr(ExprKind::In, Range(&ctx));
      e->args.push_back(std::move(left));
      for (P::ExprContext* item : ctx.items) e->args.push_back(BuildExpr(item, e->range));
      return e;
    }
    return left;
  }

  ExprPtr BuildAdditive(P::AdditiveContext& ctx) {
    return Fold(
        &ctx, ctx.operands, ctx.ops,
        [&](P::MultiplicativeContext* c) { return BuildMultiplicative(*c); },
        [](size_t t) { return t == P::PLUS ? BinaryOp::Add : BinaryOp::Sub; });
  }

  ExprPtr BuildMultiplicative(P::MultiplicativeContext& ctx) {
    return Fold(
        &ctx, ctx.operands, ctx.ops, [&](P::UnaryContext* c) { return BuildUnary(c); },
        [](size_t t) {
          return t == P::STAR ? BinaryOp::Mul : t == P::SLASH ? BinaryOp::Div : BinaryOp::Mod;
        });
  }

  ExprPtr BuildUnary(P::UnaryContext* ctx) {
    if (auto* c = dynamic_cast<P::NegateContext*>(ctx)) {
      auto e = NewExpr(ExprKind::Unary, Range(c));
      e->uop = UnaryOp::Neg;
      e->args.push_back(c->operand != nullptr ? BuildUnary(c->operand) : ErrorExpr(e->range));
      return e;
    }
    if (auto* c = dynamic_cast<P::PlainUnaryContext*>(ctx); c != nullptr && c->postfix()) {
      return BuildPostfix(*c->postfix());
    }
    return ErrorExpr(Range(ctx));
  }

  ExprPtr BuildPostfix(P::PostfixContext& ctx) {
    ExprPtr base = BuildPrimary(ctx.base, Range(&ctx));
    for (P::WordContext* field : ctx.fields) {
      Token* name = OnlyToken(field);
      if (name == nullptr) continue;
      auto e = NewExpr(ExprKind::Field, SpanRange(tokens_, ctx.getStart(), name));
      e->text = name->getText();
      e->name_range = TokenRange(name);
      e->args.push_back(std::move(base));
      base = std::move(e);
    }
    return base;
  }

  ExprPtr BuildPrimary(P::PrimaryContext* ctx, SourceRange fallback) {
    if (ctx == nullptr) return ErrorExpr(fallback);
    SourceRange range = Range(ctx);
    if (auto* c = dynamic_cast<P::NumberLitContext*>(ctx)) return BuildNumber(*c);
    if (auto* c = dynamic_cast<P::PercentLitContext*>(ctx)) {
      std::string text = c->getText();
      text.pop_back();  // the '%'
      return Literal(ExprKind::PercentLit, range, std::move(text));
    }
    if (auto* c = dynamic_cast<P::StringLitContext*>(ctx)) {
      auto value = c->str() != nullptr ? BuildString(*c->str()) : std::nullopt;
      if (!value) return ErrorExpr(range);
      return Literal(ExprKind::StringLit, range, std::move(*value));
    }
    if (auto* c = dynamic_cast<P::BoolLitContext*>(ctx)) {
      auto e = NewExpr(ExprKind::BoolLit, range);
      e->bool_value = c->TRUE() != nullptr;
      return e;
    }
    if (auto* c = dynamic_cast<P::DateLitContext*>(ctx)) {
      return Literal(ExprKind::DateLit, range, c->getText());
    }
    if (auto* c = dynamic_cast<P::TimeLitContext*>(ctx)) return BuildTime(*c);
    if (auto* c = dynamic_cast<P::NameOrCallContext*>(ctx)) {
      if (!IsReal(c->callee)) return ErrorExpr(range);
      if (Token* unit = OnlyToken(c->unit)) {
        // `n days`: a duration whose count is the int param `n`.
        auto e = NewExpr(ExprKind::DurationLit, range);
        Duration d;
        d.range = range;
        d.param = c->callee->getText();
        d.param_range = TokenRange(c->callee);
        d.unit = UnitOf(unit->getType());
        e->duration = d;
        return e;
      }
      if (c->LPAREN() == nullptr) return Literal(ExprKind::Name, range, c->callee->getText());
      return BuildCall(c->callee, c->args, range);
    }
    if (auto* c = dynamic_cast<P::DateCallContext*>(ctx)) {
      return BuildCall(c->callee, c->args, range);
    }
    if (auto* c = dynamic_cast<P::CalendarCallContext*>(ctx)) {
      return BuildCall(c->callee, c->args, range);
    }
    if (auto* c = dynamic_cast<P::PendingCallContext*>(ctx)) {
      return BuildCall(c->callee, c->args, range);
    }
    if (auto* c = dynamic_cast<P::AggregateContext*>(ctx)) return BuildAggregate(*c);
    if (dynamic_cast<P::ClientRefContext*>(ctx)) return NewExpr(ExprKind::ClientRef, range);
    if (dynamic_cast<P::TierRefContext*>(ctx)) return NewExpr(ExprKind::Tier, range);
    if (dynamic_cast<P::PreviousTierRefContext*>(ctx)) {
      return NewExpr(ExprKind::PreviousTier, range);
    }
    if (dynamic_cast<P::NowRefContext*>(ctx)) return NewExpr(ExprKind::Now, range);
    if (dynamic_cast<P::TodayRefContext*>(ctx)) return NewExpr(ExprKind::Today, range);
    if (auto* c = dynamic_cast<P::IfExprContext*>(ctx)) {
      // Its else branch takes the rest of the expression, so an `if` that does not start
      // its expression is an operand (`1 + if ...`), which needs parentheses.
      auto* whole = EnclosingExpr(c);
      if (whole != nullptr && whole->getStart()->getTokenIndex() !=
                                  c->getStart()->getTokenIndex()) {
        diags_.Report(DiagKind::SyntaxError, TokenRange(c->getStart()),
                      "an `if` inside a larger expression goes in parentheses: "
                      "`(if c then a else b)`");
      }
      auto e = NewExpr(ExprKind::If, range);
      e->args.push_back(BuildExpr(c->cond, range));
      e->args.push_back(BuildExpr(c->yes, range));
      e->args.push_back(BuildExpr(c->no, range));
      return e;
    }
    if (auto* c = dynamic_cast<P::ParenContext*>(ctx)) {
      ExprPtr inner = BuildExpr(c->inner, range);
      // The parentheses belong to what the user wrote, so carets cover them.
      inner->range = range;
      return inner;
    }
    // The bare PrimaryContext of an alternative the parser could not choose.
    return ErrorExpr(range);
  }

  static P::ExprContext* EnclosingExpr(ParserRuleContext* ctx) {
    for (auto* p = ctx->parent; p != nullptr; p = p->parent) {
      if (auto* e = dynamic_cast<P::ExprContext*>(p)) return e;
    }
    return nullptr;
  }

  ExprPtr BuildNumber(P::NumberLitContext& ctx) {
    SourceRange range = Range(&ctx);
    if (!IsReal(ctx.value)) return ErrorExpr(range);
    std::string text = ctx.value->getText();
    bool is_int = ctx.value->getType() == P::INT_LIT;
    if (IsReal(ctx.currency)) {
      auto e = Literal(ExprKind::MoneyLit, range, std::move(text));
      e->currency = ctx.currency->getText();
      return e;
    }
    if (Token* unit = OnlyToken(ctx.unit)) {
      if (!is_int) {
        diags_.Report(DiagKind::BadLiteral, range, FractionalDurationMessage(text, unit));
        return ErrorExpr(range);
      }
      auto duration = MakeDuration(ctx.value, unit, range);
      if (!duration) return ErrorExpr(range);
      auto e = NewExpr(ExprKind::DurationLit, range);
      e->duration = duration;
      return e;
    }
    if (is_int && !ParseInt64(text)) {
      diags_.Report(DiagKind::BadLiteral, range,
                    Backticked(text) +
                        " is too large for an `int` (the largest is 9_223_372_036_854_775_807)");
      return ErrorExpr(range);
    }
    return Literal(is_int ? ExprKind::IntLit : ExprKind::DecimalLit, range, std::move(text));
  }

  // "`1.5 days` is not a whole number of days; write `36 hours`": the example is given when
  // the next smaller unit makes the number whole.
  static std::string FractionalDurationMessage(const std::string& text, Token* unit) {
    size_t type = unit->getType();
    std::string plural = UnitOf(type) == DurationUnit::Minute ? "minutes"
                         : UnitOf(type) == DurationUnit::Hour ? "hours"
                         : UnitOf(type) == DurationUnit::Day  ? "days"
                         : UnitOf(type) == DurationUnit::Week ? "weeks"
                         : UnitOf(type) == DurationUnit::Month ? "months"
                                                              : "years";
    std::string message = Backticked(text + " " + unit->getText()) +
                          " is not a whole number of " + plural;
    int factor = 0;
    std::string smaller;
    switch (UnitOf(type)) {
      case DurationUnit::Week: factor = 7, smaller = "days"; break;
      case DurationUnit::Day: factor = 24, smaller = "hours"; break;
      case DurationUnit::Hour: factor = 60, smaller = "minutes"; break;
      case DurationUnit::Minute: return message + "; a duration counts whole units";
      // A month has no fixed number of days: no smaller unit says the same.
      case DurationUnit::Month: return message + "; a duration counts whole units";
      case DurationUnit::Year: factor = 12, smaller = "months"; break;
    }
    std::string digits;
    size_t scale = 1;
    bool in_fraction = false;
    for (char c : text) {
      if (c == '.') in_fraction = true;
      if (c < '0' || c > '9') continue;
      digits += c;
      if (in_fraction) scale *= 10;
      if (digits.size() > 15) return message + "; a duration counts whole units";
    }
    uint64_t scaled = std::stoull(digits) * static_cast<uint64_t>(factor);
    if (scale > 0 && scaled % scale == 0) {
      return message + "; write " + Backticked(std::to_string(scaled / scale) + " " + smaller);
    }
    return message + "; a duration counts whole units, so use a smaller one";
  }

  // The lexer lets a time without seconds or zone through, so it can be named here.
  ExprPtr BuildTime(P::TimeLitContext& ctx) {
    SourceRange range = Range(&ctx);
    std::string text = ctx.getText();
    bool has_seconds = text.size() > 16 && text[16] == ':';
    size_t n = text.size();
    bool has_zone = text.back() == 'Z' ||
                    (n >= 25 && (text[n - 6] == '+' || text[n - 6] == '-') && text[n - 3] == ':');
    if (has_seconds && has_zone) return Literal(ExprKind::TimeLit, range, std::move(text));
    std::string fixed = text.substr(0, 16) + (has_seconds ? text.substr(16) : ":00") +
                        (has_zone ? "" : "Z");
    diags_.Report(DiagKind::BadLiteral, range,
                  Backticked(text) + " needs " +
                      (has_seconds ? "a zone" : has_zone ? "seconds" : "seconds and a zone") +
                      ": write " + Backticked(fixed) + (has_zone ? "" : " for UTC"));
    return ErrorExpr(range);
  }

  ExprPtr BuildCall(Token* callee, const std::vector<P::ExprContext*>& args, SourceRange range) {
    if (!IsReal(callee)) return ErrorExpr(range);
    auto e = NewExpr(ExprKind::Call, range);
    e->text = callee->getText();
    e->name_range = TokenRange(callee);
    for (P::ExprContext* arg : args) e->args.push_back(BuildExpr(arg, range));
    return e;
  }

  ExprPtr BuildAggregate(P::AggregateContext& ctx) {
    SourceRange range = Range(&ctx);
    if (!IsReal(ctx.agg) || !IsReal(ctx.event)) return ErrorExpr(range);
    auto e = NewExpr(ExprKind::Aggregate, range);
    std::string agg = ctx.agg->getText();
    switch (ctx.agg->getType()) {
      case P::COUNT: e->agg = AggKind::Count; break;
      case P::SUM: e->agg = AggKind::Sum; break;
      case P::AVG: e->agg = AggKind::Avg; break;
      case P::HIGHEST: e->agg = AggKind::Highest; break;
      default: e->agg = AggKind::Lowest; break;
    }
    e->text = ctx.event->getText();
    e->name_range = TokenRange(ctx.event);
    Token* field = OnlyToken(ctx.field);
    bool has_field = field != nullptr;
    if (has_field) {
      e->field = field->getText();
      e->field_range = TokenRange(field);
    }
    if (ctx.WHERE() != nullptr) e->where = BuildExpr(ctx.filter, range);
    if (ctx.WITHIN() != nullptr) e->within = BuildWindow(ctx.window);
    if (e->agg == AggKind::Count && has_field) {
      diags_.Report(DiagKind::SyntaxError, e->field_range,
                    "`count` counts events, not a field: write `count(" + e->text + ")`");
      return ErrorExpr(range);
    }
    if (e->agg != AggKind::Count && !has_field && ctx.DOT() == nullptr) {
      diags_.Report(DiagKind::SyntaxError, e->name_range,
                    Backticked(agg) + " needs a field of the event: write `" + agg + "(" +
                        e->text + ".FIELD)`");
      return ErrorExpr(range);
    }
    return e;
  }

  // Decodes a string literal's escapes; nullopt (after reporting) when one is bad.
  std::optional<std::string> BuildString(P::StrContext& ctx) {
    Token* token = ctx.getStart();
    if (!IsReal(token)) return std::nullopt;
    bool closed = token->getType() == P::STRING_LIT;
    std::vector<char32_t> cps = CodePoints(token->getText());
    // Unterminated strings were reported by ReportLexicalErrors; drop a dangling backslash.
    size_t end = closed ? cps.size() - 1 : cps.size();
    if (!closed && end > 1 && cps[end - 1] == '\\') --end;
    uint32_t line = static_cast<uint32_t>(token->getLine());
    uint32_t column = static_cast<uint32_t>(token->getCharPositionInLine()) + 1;
    std::string out;
    bool ok = closed;
    for (size_t i = 1; i < end; ++i) {
      if (cps[i] != '\\') {
        AppendUtf8(cps[i], &out);
        continue;
      }
      SourceRange at{line, column + static_cast<uint32_t>(i), 2};
      char32_t next = i + 1 < end ? cps[i + 1] : 0;
      ++i;
      switch (next) {
        case '"': out += '"'; continue;
        case '\\': out += '\\'; continue;
        case 'n': out += '\n'; continue;
        case 't': out += '\t'; continue;
        case 'u': break;
        default: {
          std::string seen;
          AppendUtf8(next, &seen);
          diags_.Report(DiagKind::BadEscape, at,
                        "unknown escape " + Backticked("\\" + seen) +
                            " in a string; the escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and "
                            "`\\u{1F600}`");
          ok = false;
          continue;
        }
      }
      // \u{X...}: one to six hex digits naming a Unicode scalar value.
      size_t j = i + 1;
      char32_t value = 0;
      size_t digits = 0;
      bool well_formed = j < end && cps[j] == '{';
      if (well_formed) {
        for (++j; j < end && HexValue(cps[j]) >= 0 && digits < 7; ++j, ++digits) {
          value = value * 16 + static_cast<char32_t>(HexValue(cps[j]));
        }
        well_formed = j < end && cps[j] == '}' && digits >= 1 && digits <= 6;
      }
      if (!well_formed) {
        at.length = static_cast<uint32_t>(std::min(j, end - 1) - (i - 1) + 1);
        diags_.Report(DiagKind::BadEscape, at,
                      "write a Unicode escape as `\\u{` then 1 to 6 hex digits then `}`, as "
                      "in `\\u{1F600}`");
        ok = false;
        i = std::min(j, end - 1);
        continue;
      }
      at.length = static_cast<uint32_t>(j - (i - 1) + 1);
      if (value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) {
        std::string escape;
        for (size_t k = i - 1; k <= j; ++k) AppendUtf8(cps[k], &escape);
        diags_.Report(DiagKind::BadEscape, at,
                      Backticked(escape) + " is not a Unicode character");
        ok = false;
      } else {
        AppendUtf8(value, &out);
      }
      i = j;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  // ---- helpers

  SourceRange Range(ParserRuleContext* ctx) {
    if (ctx == nullptr) return {};
    return SpanRange(tokens_, ctx->getStart(), ctx->getStop());
  }

  static ExprPtr NewExpr(ExprKind kind, SourceRange range) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->range = range;
    return e;
  }

  static ExprPtr Literal(ExprKind kind, SourceRange range, std::string text) {
    auto e = NewExpr(kind, range);
    e->text = std::move(text);
    return e;
  }

  static ExprPtr ErrorExpr(SourceRange range) { return NewExpr(ExprKind::Error, range); }

  Diagnostics& diags_;
  antlr4::BufferedTokenStream& tokens_;
};

// One parse: the cleaned text and ANTLR's objects, which must outlive the tree walk (the
// parser owns the parse tree).
class Session {
 public:
  Session(std::string_view source, Diagnostics& diags, std::string what)
      : clean_(SanitizeUtf8(source)),
        sink_(diags, std::move(what)),
        listener_(sink_),
        input_(clean_.text),
        lexer_(&input_),
        tokens_(&lexer_),
        parser_(&tokens_) {
    lexer_.removeErrorListeners();
    lexer_.addErrorListener(&listener_);
    tokens_.fill();
    ReportLexicalErrors(tokens_, clean_, sink_);
  }

  // Parses with `rule` (a PerkParser member such as &PerkParser::program) in two stages, as
  // ANTLR advises: SLL prediction, which is several times faster and gives the same tree when
  // it succeeds, bailing out at the first error; then full LL with error reporting and recovery
  // only for input SLL could not parse.
  template <typename Rule>
  auto Parse(Rule rule) {
    parser_.removeErrorListeners();
    parser_.setErrorHandler(std::make_shared<antlr4::BailErrorStrategy>());
    parser_.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::SLL);
    try {
      return (parser_.*rule)();
    } catch (const antlr4::ParseCancellationException&) {
    }
    tokens_.seek(0);
    parser_.reset();
    parser_.addErrorListener(&listener_);
    parser_.setErrorHandler(std::make_shared<PerkErrorStrategy>(sink_));
    parser_.getInterpreter<antlr4::atn::ParserATNSimulator>()->setPredictionMode(antlr4::atn::PredictionMode::LL);
    return (parser_.*rule)();
  }

  antlr4::CommonTokenStream& tokens() { return tokens_; }

 private:
  CleanSource clean_;
  SyntaxErrors sink_;
  ErrorListener listener_;
  antlr4::ANTLRInputStream input_;
  PerkLexer lexer_;
  antlr4::CommonTokenStream tokens_;
  PerkParser parser_;
};

void ReportInternalError(Diagnostics& diags, const char* what) {
  diags.Report(DiagKind::SyntaxError, {1, 1, 1},
               std::string("internal error while reading the program: ") + what);
}

// ---------------------------------------------------------------- dump

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[16];
          std::snprintf(buf, sizeof buf, "\\u{%X}", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

const char* TypeText(TypeName t) {
  switch (t) {
    case TypeName::Int: return "int";
    case TypeName::Decimal: return "decimal";
    case TypeName::Money: return "money";
    case TypeName::Bool: return "bool";
    case TypeName::String: return "string";
    case TypeName::Time: return "time";
    case TypeName::Date: return "date";
    case TypeName::Tier: return "tier";
    case TypeName::Client: return "client";
  }
  return "?";
}

std::string DurationText(const Duration& d) {
  static const char* const kUnitNames[] = {"minute", "hour", "day", "week", "month", "year"};
  const std::string previous = d.previous ? "previous " : "";
  if (d.whole) return previous + d.param;
  if (!d.param.empty()) return previous + d.param + " " + kUnitNames[static_cast<int>(d.unit)] + "s";
  return previous + std::to_string(d.count) + " " + kUnitNames[static_cast<int>(d.unit)] +
         (d.count == 1 ? "" : "s");
}

const char* BinaryText(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "+";
    case BinaryOp::Sub: return "-";
    case BinaryOp::Mul: return "*";
    case BinaryOp::Div: return "/";
    case BinaryOp::Mod: return "mod";
    case BinaryOp::Eq: return "==";
    case BinaryOp::Ne: return "!=";
    case BinaryOp::Lt: return "<";
    case BinaryOp::Le: return "<=";
    case BinaryOp::Gt: return ">";
    case BinaryOp::Ge: return ">=";
    case BinaryOp::And: return "and";
    case BinaryOp::Or: return "or";
  }
  return "?";
}

// Expressions print as S-expressions, so the dump shows how precedence grouped them.
std::string DumpExpr(const Expr* e) {
  if (e == nullptr) return "<null>";
  auto arg = [&](size_t i) { return i < e->args.size() ? DumpExpr(e->args[i].get()) : "<null>"; };
  switch (e->kind) {
    case ExprKind::Error: return "<error>";
    case ExprKind::IntLit:
    case ExprKind::DecimalLit:
    case ExprKind::DateLit:
    case ExprKind::TimeLit:
    case ExprKind::Name: return e->text;
    case ExprKind::PercentLit: return e->text + "%";
    case ExprKind::MoneyLit: return e->text + " " + e->currency;
    case ExprKind::StringLit: return Quote(e->text);
    case ExprKind::BoolLit: return e->bool_value ? "true" : "false";
    case ExprKind::DurationLit: return e->duration ? DurationText(*e->duration) : "<duration>";
    case ExprKind::ClientRef: return "client";
    case ExprKind::Tier: return "tier";
    case ExprKind::PreviousTier: return "previous_tier";
    case ExprKind::Now: return "now";
    case ExprKind::Today: return "today";
    case ExprKind::Field: return arg(0) + "." + e->text;
    case ExprKind::Unary: return std::string("(") + (e->uop == UnaryOp::Neg ? "-" : "not") + " " +
                                 arg(0) + ")";
    case ExprKind::Binary:
      return std::string("(") + BinaryText(e->bop) + " " + arg(0) + " " + arg(1) + ")";
    case ExprKind::In: {
      std::string out = "(in " + arg(0) + " [";
      for (size_t i = 1; i < e->args.size(); ++i) out += (i > 1 ? " " : "") + arg(i);
      return out + "])";
    }
    case ExprKind::If: return "(if " + arg(0) + " " + arg(1) + " " + arg(2) + ")";
    case ExprKind::Call: {
      std::string out = "(" + e->text;
      for (size_t i = 0; i < e->args.size(); ++i) out += " " + arg(i);
      return out + ")";
    }
    case ExprKind::Aggregate: {
      static const char* const kAggNames[] = {"count", "sum", "avg", "highest", "lowest"};
      std::string out = std::string("(") + kAggNames[static_cast<int>(e->agg)] + " " + e->text;
      if (!e->field.empty()) out += "." + e->field;
      if (e->where) out += " where " + DumpExpr(e->where.get());
      if (e->within) out += " within " + DurationText(*e->within);
      return out + ")";
    }
    case ExprKind::IsSet: return std::string("(") + (e->bool_value ? "is-not-set " : "is-set ") + arg(0) + ")";
    case ExprKind::Otherwise: return "(otherwise " + arg(0) + " " + arg(1) + ")";
  }
  return "<?>";
}

std::string DumpData(const std::vector<DataEntry>& data) {
  if (data.empty()) return "";
  std::string out = " {";
  for (size_t i = 0; i < data.size(); ++i) {
    out += (i > 0 ? ", " : "") + data[i].key + ": " + DumpExpr(data[i].value.get());
  }
  return out + "}";
}

void DumpActions(const std::vector<Action>& actions, const std::string& indent, std::string& out) {
  for (const Action& a : actions) {
    out += indent;
    switch (a.kind) {
      case ActionKind::Credit:
        out += "credit " + a.target + " " + DumpExpr(a.value.get());
        if (a.pending) out += " pending " + DurationText(*a.pending);
        break;
      case ActionKind::Debit: out += "debit " + a.target + " " + DumpExpr(a.value.get()); break;
      case ActionKind::Set: out += "set " + a.target + " = " + DumpExpr(a.value.get()); break;
      case ActionKind::Notify: out += "notify " + Quote(a.target) + DumpData(a.data); break;
      case ActionKind::Grant: out += "grant " + Quote(a.target); break;
      case ActionKind::Emit: out += "emit " + Quote(a.target) + DumpData(a.data); break;
      case ActionKind::Send: out += "send " + a.target + " to " + DumpExpr(a.value.get()) + DumpData(a.data); break;
      case ActionKind::If:
        out += "if " + DumpExpr(a.value.get()) + " then\n";
        DumpActions(a.then_actions, indent + "  ", out);
        if (a.has_else) {
          out += indent + "else\n";
          DumpActions(a.else_actions, indent + "  ", out);
        }
        out += indent + "end";
        break;
    }
    out += "\n";
  }
}

void DumpFields(const std::vector<FieldDecl>& fields, std::string& out) {
  for (const FieldDecl& f : fields) {
    out += "  " + f.name + ": " + TypeText(f.type.name);
    if (f.default_value) out += " = " + DumpExpr(f.default_value.get());
    out += "\n";
  }
}

}  // namespace

namespace {

// ANTLR's generated parser recurses once per nesting level; thousands of `(` would overflow
// the stack before any depth check after parsing could run. Refuse such input up front.
constexpr int kMaxNesting = 128;
bool NestingTooDeep(std::string_view source, Diagnostics& diags) {
  int depth = 0;
  uint32_t line = 1, column = 1;
  bool in_string = false, in_comment = false;
  for (size_t k = 0; k < source.size(); ++k) {
    char c = source[k];
    if (c == '\n') {
      ++line, column = 1, in_comment = false;
      continue;
    }
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++column;
    if (in_comment) continue;
    if (in_string) {
      if (c == '\\') ++k;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '#') in_comment = true;
    else if (c == '"') in_string = true;
    else if (c == '(' || c == '[' || c == '{') {
      if (++depth > kMaxNesting) {
        diags.Report(DiagKind::SyntaxError, {line, column - 1, 1},
                     fmt::format("brackets nest more than {} deep here; split the expression into smaller parts", kMaxNesting));
        return true;
      }
    } else if (c == ')' || c == ']' || c == '}') {
      if (depth > 0) --depth;
    }
  }
  return false;
}


// ---------------------------------------------------------------- outline for perk fmt

// Walks the parse tree into syntax::Tree: the spans `perk fmt` lays out, and the few tokens
// whose spacing depends on the grammar (a call's `(`, a unary `-`, an `if` expression).
class Outliner {
 public:
  explicit Outliner(antlr4::BufferedTokenStream& tokens) : tokens_(tokens) {}

  // Every token but EOF, comments included, without flags.
  static std::vector<syntax::Token> Tokens(antlr4::BufferedTokenStream& tokens) {
    std::vector<syntax::Token> out;
    for (Token* t : tokens.getTokens()) {
      if (t->getType() == kEof) break;
      out.push_back({t->getText(), KindOf(t->getType()), 0, static_cast<uint32_t>(t->getLine()),
                     static_cast<uint32_t>(t->getCharPositionInLine() + 1), TokenLength(t)});
    }
    return out;
  }

  syntax::Tree Outline(P::ProgramContext& ctx) {
    syntax::Tree tree;
    tree.tokens = Tokens(tokens_);
    tokens_out_ = &tree.tokens;
    Flag(&ctx);
    tree.root = {syntax::NodeKind::Program, 0, tree.tokens.empty() ? 0 : tree.tokens.size() - 1, {}};
    tree.root.children.push_back(Span(syntax::NodeKind::Line, ctx.header()));
    for (P::DeclContext* decl : ctx.decl()) tree.root.children.push_back(Decl(*decl));
    return tree;
  }

 private:
  static syntax::TokenKind KindOf(size_t type) {
    switch (type) {
      case P::COMMENT: return syntax::TokenKind::Comment;
      case P::STRING_LIT:
      case P::UNTERMINATED_STRING: return syntax::TokenKind::String;
      case P::INT_LIT:
      case P::DECIMAL_LIT:
      case P::PERCENT_LIT:
      case P::DATE_LIT:
      case P::TIME_LIT: return syntax::TokenKind::Number;
      default: return type == P::IDENT || IsKeyword(type) ? syntax::TokenKind::Word
                                                          : syntax::TokenKind::Punct;
    }
  }

  void Mark(antlr4::tree::TerminalNode* node, uint8_t flag) {
    if (node != nullptr && IsReal(node->getSymbol())) {
      (*tokens_out_)[node->getSymbol()->getTokenIndex()].flags |= flag;
    }
  }

  // Casts only where the rule index says one can succeed: dynamic_cast on every node of a
  // 200-rule program cost as much as the layout itself.
  void Flag(antlr4::tree::ParseTree* node) {
    // Only rule contexts have children (a terminal has none, and neither has anything to mark).
    if (node->children.empty()) return;
    auto* ctx = static_cast<ParserRuleContext*>(node);
    if (ctx->getRuleIndex() == P::RulePrimary) {
      if (auto* c = dynamic_cast<P::NameOrCallContext*>(ctx)) Mark(c->LPAREN(), syntax::kCallParen);
      else if (auto* c = dynamic_cast<P::AggregateContext*>(ctx)) Mark(c->LPAREN(), syntax::kCallParen);
      else if (auto* c = dynamic_cast<P::CalendarCallContext*>(ctx)) Mark(c->LPAREN(), syntax::kCallParen);
      else if (auto* c = dynamic_cast<P::DateCallContext*>(ctx)) Mark(c->LPAREN(), syntax::kCallParen);
      else if (auto* c = dynamic_cast<P::PendingCallContext*>(ctx)) Mark(c->LPAREN(), syntax::kCallParen);
      else if (auto* c = dynamic_cast<P::IfExprContext*>(ctx)) {
        Mark(c->IF(), syntax::kExprIf);
        Mark(c->ELSE(), syntax::kExprElse);
      }
    } else if (ctx->getRuleIndex() == P::RuleUnary) {
      if (auto* c = dynamic_cast<P::NegateContext*>(ctx)) Mark(c->MINUS(), syntax::kUnaryMinus);
    }
    for (antlr4::tree::ParseTree* child : node->children) Flag(child);
  }

  syntax::Node Span(syntax::NodeKind kind, ParserRuleContext* ctx) {
    return {kind, ctx->getStart()->getTokenIndex(), ctx->getStop()->getTokenIndex(), {}};
  }
  static syntax::Node One(syntax::NodeKind kind, antlr4::tree::TerminalNode* node) {
    size_t i = node->getSymbol()->getTokenIndex();
    return {kind, i, i, {}};
  }
  void AddExpr(syntax::Node& node, ParserRuleContext* expr) {
    if (expr != nullptr) node.children.push_back(Span(syntax::NodeKind::Expr, expr));
  }

  syntax::Node Decl(P::DeclContext& ctx) {
    using K = syntax::NodeKind;
    if (auto* c = ctx.eventDecl()) return Fields(c, c->fieldDecl());
    if (auto* c = ctx.clientDecl()) return Fields(c, c->fieldDecl());
    if (auto* c = ctx.ruleDecl()) return Rule(*c);
    syntax::Node node;
    if (auto* c = ctx.tierDecl()) {
      node = Span(K::Tier, c);
      AddExpr(node, c->cond);
    } else if (auto* c = ctx.segmentDecl()) {
      node = Span(K::Segment, c);
      AddExpr(node, c->cond);
    } else if (auto* c = ctx.walletDecl()) {
      node = Span(K::Line, c);
      AddExpr(node, c->worth);
    } else if (auto* c = ctx.varDecl()) {
      node = Span(K::Line, c);
      AddExpr(node, c->value);
    } else if (auto* c = ctx.paramDecl()) {
      node = Span(K::Line, c);
      AddExpr(node, c->value);
    } else if (auto* c = ctx.revenueDecl()) {
      node = Span(K::Line, c);
      AddExpr(node, c->cond);
    } else {
      node = Span(K::Line, &ctx);
    }
    return node;
  }

  syntax::Node Fields(ParserRuleContext* ctx, const std::vector<P::FieldDeclContext*>& fields) {
    syntax::Node node = Span(syntax::NodeKind::Fields, ctx);
    for (P::FieldDeclContext* f : fields) {
      syntax::Node field = Span(syntax::NodeKind::Field, f);
      AddExpr(field, f->value);
      node.children.push_back(std::move(field));
    }
    return node;
  }

  syntax::Node Rule(P::RuleDeclContext& ctx) {
    using K = syntax::NodeKind;
    syntax::Node node = Span(K::Rule, &ctx);
    node.children.push_back(Span(K::Clause, ctx.trigger()));
    for (P::ClauseContext* c : ctx.clause()) {
      syntax::Node clause = Span(K::Clause, c);
      if (auto* w = dynamic_cast<P::WhenClauseContext*>(c)) AddExpr(clause, w->cond);
      if (auto* l = dynamic_cast<P::LimitClauseContext*>(c)) AddExpr(clause, l->key);
      if (auto* b = dynamic_cast<P::BudgetClauseContext*>(c)) AddExpr(clause, b->amount);
      node.children.push_back(std::move(clause));
    }
    node.children.push_back(One(K::Then, ctx.THEN()));
    for (P::ActionContext* a : ctx.action()) node.children.push_back(Action(*a));
    node.children.push_back(One(K::End, ctx.END()));
    return node;
  }

  syntax::Node Action(P::ActionContext& ctx) {
    using K = syntax::NodeKind;
    if (auto* c = dynamic_cast<P::IfActionContext*>(&ctx)) {
      syntax::Node node = Span(K::If, c);
      AddExpr(node, c->cond);
      node.children.push_back(One(K::Then, c->THEN()));
      for (P::ActionContext* a : c->thenActions) node.children.push_back(Action(*a));
      if (c->ELSE() != nullptr) {
        node.children.push_back(One(K::Else, c->ELSE()));
        for (P::ActionContext* a : c->elseActions) node.children.push_back(Action(*a));
      }
      node.children.push_back(One(K::End, c->END()));
      return node;
    }
    syntax::Node node = Span(K::Action, &ctx);
    P::DataMapContext* map = nullptr;
    if (auto* c = dynamic_cast<P::CreditActionContext*>(&ctx)) AddExpr(node, c->amount);
    if (auto* c = dynamic_cast<P::DebitActionContext*>(&ctx)) AddExpr(node, c->amount);
    if (auto* c = dynamic_cast<P::SetActionContext*>(&ctx)) AddExpr(node, c->value);
    if (auto* c = dynamic_cast<P::NotifyActionContext*>(&ctx)) map = c->dataMap();
    if (auto* c = dynamic_cast<P::EmitActionContext*>(&ctx)) map = c->dataMap();
    if (auto* c = dynamic_cast<P::SendActionContext*>(&ctx)) {
      AddExpr(node, c->to);
      map = c->dataMap();
    }
    if (map != nullptr) {
      syntax::Node m = Span(K::Map, map);
      for (P::DataEntryContext* e : map->dataEntry()) {
        syntax::Node entry = Span(K::Entry, e);
        AddExpr(entry, e->value);
        m.children.push_back(std::move(entry));
      }
      node.children.push_back(std::move(m));
    }
    return node;
  }

  antlr4::BufferedTokenStream& tokens_;
  std::vector<syntax::Token>* tokens_out_ = nullptr;
};

}  // namespace

const std::vector<std::string>& Keywords() {
  static const std::vector<std::string> keywords = [] {
    std::vector<std::string> out;
    antlr4::ANTLRInputStream input("");
    PerkLexer lexer(&input);
    const antlr4::dfa::Vocabulary& vocabulary = lexer.getVocabulary();
    for (size_t t = P::PROGRAM; t <= P::DURATION; ++t) out.push_back(KeywordText(vocabulary, t));
    return out;
  }();
  return keywords;
}

std::unique_ptr<Program> ParseProgram(std::string_view source, Diagnostics& diags) {
  if (NestingTooDeep(source, diags)) return std::make_unique<Program>();
  try {
    Session session(source, diags, "program");
    P::ProgramContext* tree = session.Parse(&PerkParser::program);
    Builder builder(diags, session.tokens());
    return builder.BuildProgram(*tree);
  } catch (const std::exception& e) {
    ReportInternalError(diags, e.what());
  } catch (...) {
    ReportInternalError(diags, "unknown exception");
  }
  return std::make_unique<Program>();
}

ExprPtr ParseExpression(std::string_view source, Diagnostics& diags) {
  int errors_before = diags.errors();
  if (NestingTooDeep(source, diags)) return nullptr;
  try {
    Session session(source, diags, "expression");
    P::ExprOnlyContext* tree = session.Parse(&PerkParser::exprOnly);
    Builder builder(diags, session.tokens());
    ExprPtr expr = builder.BuildExpr(tree->expr(), {1, 1, 1});
    if (diags.errors() == errors_before) return expr;
  } catch (const std::exception& e) {
    ReportInternalError(diags, e.what());
  } catch (...) {
    ReportInternalError(diags, "unknown exception");
  }
  return nullptr;
}

// Declarations print in the order of the Program's lists, not of the source.
std::string Dump(const Program& program) {
  std::string out = "program " + Quote(program.name) + "\n";
  if (program.currency) out += "currency " + *program.currency + "\n";
  if (program.timezone) out += "timezone " + Quote(*program.timezone) + "\n";
  for (const EventDecl& e : program.events) {
    out += "event " + e.name + "\n";
    DumpFields(e.fields, out);
  }
  if (!program.client_fields.empty()) {
    out += "client\n";
    DumpFields(program.client_fields, out);
  }
  for (const WalletDecl& w : program.wallets) {
    out += "wallet " + w.name + ": " + TypeText(w.type.name);
    if (w.worth) out += " worth " + DumpExpr(w.worth.get());
    if (w.expiry) out += " expires after " + DurationText(*w.expiry);
    out += "\n";
  }
  for (const VarDecl& v : program.vars) {
    out += "var " + v.name + ": " + TypeText(v.type.name) + " = " + DumpExpr(v.init.get()) + "\n";
  }
  for (const ParamDecl& p : program.params) {
    out += "param " + p.name + (p.type ? std::string(": ") + TypeText(p.type->name) : "") +
           " = " + DumpExpr(p.value.get()) + "\n";
  }
  for (const TierDecl& t : program.tiers) {
    out += "tier " + t.name;
    if (t.when) out += " when " + DumpExpr(t.when.get());
    if (t.hold) out += " hold " + DurationText(*t.hold);
    out += "\n";
  }
  for (const SegmentDecl& s : program.segments) {
    out += "segment " + s.name + " when " + DumpExpr(s.when.get()) + "\n";
  }
  for (const RuleDecl& r : program.rules) {
    out += "rule " + r.name + (r.label.empty() ? "" : " " + Quote(r.label)) + "\n";
    switch (r.trigger.kind) {
      case TriggerKind::Event: out += "  on " + r.trigger.event + (r.trigger.reversed ? " reversed" : "") + "\n"; break;
      case TriggerKind::TierChanged: out += "  on tier_changed\n"; break;
      case TriggerKind::EveryDay: out += "  every day\n"; break;
      case TriggerKind::EveryWeek: out += "  every week\n"; break;
      case TriggerKind::EveryMonth: out += "  every month\n"; break;
      case TriggerKind::Entering: out += "  on entering " + r.trigger.event + "\n"; break;
      case TriggerKind::Leaving: out += "  on leaving " + r.trigger.event + "\n"; break;
    }
    if (r.when) out += "  when " + DumpExpr(r.when.get()) + "\n";
    if (r.limit) {
      out += "  limit " + (r.limit->once ? std::string("once") : DumpExpr(r.limit->count.get())) +
             " per " + (r.limit->key ? DumpExpr(r.limit->key.get()) : std::string("client"));
      if (r.limit->within) out += " within " + DurationText(*r.limit->within);
      out += "\n";
    }
    for (const auto* b : {&r.budget, &r.client_budget}) {
      if (!*b) continue;
      out += "  budget " + DumpExpr((*b)->amount.get()) + ((*b)->per_client ? " per client" : "");
      if ((*b)->within) out += " within " + DurationText(*(*b)->within);
      if ((*b)->partial) out += " partial";
      out += "\n";
    }
    out += "  then\n";
    DumpActions(r.actions, "    ", out);
    out += "end\n";
  }
  for (const RevenueDecl& r : program.revenues) {
    out += "revenue " + r.event + "." + r.field;
    if (r.where) out += " where " + DumpExpr(r.where.get());
    out += "\n";
  }
  return out;
}

}  // namespace perk::ast

namespace perk::syntax {

std::optional<Tree> ParseTree(std::string_view source, Diagnostics& diags) {
  int errors_before = diags.errors();
  if (ast::NestingTooDeep(source, diags)) return std::nullopt;
  try {
    ast::Session session(source, diags, "program");
    ast::P::ProgramContext* tree = session.Parse(&ast::PerkParser::program);
    // The builder reports what the grammar lets through but the language does not (a clause
    // given twice, a bad literal): a program with those does not parse either.
    ast::Builder builder(diags, session.tokens());
    builder.BuildProgram(*tree);
    if (diags.errors() != errors_before) return std::nullopt;
    return ast::Outliner(session.tokens()).Outline(*tree);
  } catch (const std::exception& e) {
    ast::ReportInternalError(diags, e.what());
  } catch (...) {
    ast::ReportInternalError(diags, "unknown exception");
  }
  return std::nullopt;
}

std::vector<Token> Tokenize(std::string_view source) {
  Diagnostics ignored("", source);
  try {
    ast::Session session(source, ignored, "program");
    return ast::Outliner::Tokens(session.tokens());
  } catch (...) {
    return {};
  }
}

}  // namespace perk::syntax
