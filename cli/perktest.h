// `perk test`'s scenario files (`*.perktest`, docs/test.md): their syntax tree and the parser
// that reads them. Pure: no program, no engine, no I/O, so it is unit tested. What names mean
// (wallets, rules, fields) is checked against the program when a scenario runs (cli/test.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/ledger.h"

namespace perk::perktest {

// 1-based line and code-point column in the scenario file.
struct Pos {
  uint32_t line = 0;
  uint32_t column = 0;
};

// A word of an expectation, as written (quotes removed) and where it starts.
struct Word {
  std::string text;
  Pos pos;
  uint32_t length = 1;  // in code points, quotes included
};

enum class ExpectKind {
  Effect,        // expect credit bonus 75.00 to c1 by welcome
  NoEffect,      // expect no credit bonus to c2; expect no effects
  Reject,        // expect reject "amount"
  Balance,       // expect client c1 balance bonus = 75.00
  Var,           // expect client c1 var streak = 3
  Tier,          // expect client c1 tier Gold
  InSegment,     // expect client c1 in high_value
  NotInSegment,  // expect client c1 not in high_value
};

// The ledger entries an effect expectation matches: every part left out matches anything.
struct EffectPattern {
  std::optional<runtime::LedgerAction> action;  // none: `expect no effects`
  std::optional<Word> target;  // wallet, var, template, name, badge, event type, segment, tier `to`
  std::optional<Word> value;   // credit..expire: the amount; set: the value
  std::optional<Word> from;    // tier: the tier left
  std::optional<bool> joined;  // segment: joined (true) or left
  std::optional<Word> client;  // `to CLIENT`
  std::optional<Word> rule;    // `by RULE`
  // How many parts are given: more specific patterns pick their entries first.
  int Specificity() const;
};

struct Expectation {
  ExpectKind kind = ExpectKind::Effect;
  Pos pos;              // of `expect`
  std::string text;     // the line as written, trimmed
  EffectPattern effect;   // Effect, NoEffect
  std::optional<Word> reject_text;  // Reject: a part of the reject's message
  Word client;          // Balance, Var, Tier, InSegment, NotInSegment
  Word name;            // the wallet, var, tier or segment
  Word value;           // Balance, Var
  std::optional<Word> at;  // `at TIME`: advance the clock first
};

// A record line (short form or JSON), kept as written: its meaning needs the program, and a
// short form's `+1d` needs the engine's clock.
struct Record {
  Pos pos;  // of its first character
  std::string text;
};

struct Step {
  bool is_record = true;
  Record record;
  Expectation expect;
};

struct Param {
  std::string text;  // NAME=VALUE
  Pos pos;
};

struct Scenario {
  std::string name;
  Pos pos;  // of `scenario`
  std::string program;  // as written, relative to the file; "" when neither it nor the file names one
  Pos program_pos;
  std::vector<Param> params;  // the file's, then its own
  std::vector<Step> steps;
};

struct ParseError {
  Pos pos;
  uint32_t length = 1;
  std::string message;
};

struct File {
  std::vector<Scenario> scenarios;
  std::vector<ParseError> errors;  // every problem found; scenarios are kept only without any
};

// Reads a scenario file. Problems go to out.errors, each with its position and what to do.
File Parse(std::string_view text);

// `file:line:col: error: message`, the line and a caret under the span.
std::string RenderError(const std::string& file_name, std::string_view text, const ParseError& error);

// The code points of `text` before byte `bytes`.
uint32_t CodePoints(std::string_view text, size_t bytes);

}  // namespace perk::perktest
