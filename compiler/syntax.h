// The program as written, for tools that lay it out again (`perk fmt`): every token with its
// text, comments included, and an outline of what each span of tokens is. Built by
// ast_builder.cpp from the parse tree, so nothing past that file sees ANTLR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/diagnostics.h"

namespace perk::syntax {

enum class TokenKind : uint8_t { Word, String, Number, Punct, Comment };

// What spacing and line breaking need to know of a single token, beyond its text.
enum TokenFlag : uint8_t {
  kCallParen = 1,   // the `(` of a call or aggregate: no space before it
  kUnaryMinus = 2,  // `-x`: no space after it
  kExprIf = 4,      // the `if` of an `if c then a else b` expression
  kExprElse = 8,    // the `else` of such an expression
};

struct Token {
  std::string text;
  TokenKind kind = TokenKind::Word;
  uint8_t flags = 0;
  uint32_t line = 0;    // 1-based
  uint32_t column = 0;  // 1-based, in code points
  uint32_t width = 0;   // in code points
};

enum class NodeKind : uint8_t {
  Program,  // children: the header and each declaration, in order
  Line,     // a one-line declaration (program, currency, wallet, var, param, revenue)
  Tier,
  Segment,
  Fields,   // `event NAME { ... }` or `client { ... }`; children: Field
  Field,
  Rule,     // children: Clause..., Then, Action or If..., End
  Clause,   // the trigger, `when`, `limit` or `budget`
  Then,     // one token: `then` (of a rule or an `if` action)
  Else,     // one token: the `else` of an `if` action
  End,      // one token: `end`
  Action,
  If,       // an `if` action; children: Expr, Then, actions, [Else, actions], End
  Map,      // `{ key: value, ... }` of notify, emit or send; children: Entry
  Entry,
  Expr,     // the main expression of its parent: where a broken line's continuation aligns
};

// A span of tokens, first and last inclusive, as indexes into Tree::tokens.
struct Node {
  NodeKind kind = NodeKind::Program;
  size_t first = 0;
  size_t last = 0;
  std::vector<Node> children;
};

struct Tree {
  std::vector<Token> tokens;
  Node root;
};

// Lexes and parses `source`. Returns nullopt when the program does not parse (the errors go
// to `diags`: the same ones `perk check` reports first); type errors are not looked for.
std::optional<Tree> ParseTree(std::string_view source, Diagnostics& diags);

// Only the tokens, comments included (no outline, no flags): for checks that need no parse.
std::vector<Token> Tokenize(std::string_view source);

}  // namespace perk::syntax
