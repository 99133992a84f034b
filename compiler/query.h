// Questions an editor asks about a program: which name is at a place, where it is declared,
// where it is used, what it is. Answered from the syntax tree alone, so they work while the
// program has errors (the language server, lsp/, turns them into LSP answers).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"

namespace perk::query {

enum class SymbolKind {
  Event,
  Field,         // an event's field; owner: the event
  ClientField,   // a `client { }` attribute; owner: "client"
  BuiltinField,  // id, client, time of an event; id, since of the client (no declaration)
  Wallet,
  Var,
  Param,
  Tier,
  Segment,
  Rule,
  Builtin,  // a built-in function (stdlib/builtins.def; no declaration)
};

// "wallet", "field", "built-in function"...
const char* KindName(SymbolKind kind);

struct Symbol {
  SymbolKind kind = SymbolKind::Event;
  std::string name;
  std::string owner;       // Field, ClientField, BuiltinField: the event's name or "client"
  std::string type;        // "money", "int"... ("" when it has none or it is not written)
  std::string detail;      // Builtin: its signature and what it gives
  SourceRange name_range;  // the declared name; line 0 for built-ins
  SourceRange decl_range;  // the declaration's first line
  uint32_t end_line = 0;   // Rule: the line of its `end`
};

// One place a name is written, resolved to a symbol.
struct Occurrence {
  SourceRange range;
  int symbol = -1;
  bool declaration = false;
};

class Index {
 public:
  explicit Index(const ast::Program& program);

  const std::vector<Symbol>& symbols() const { return symbols_; }
  const std::vector<Occurrence>& occurrences() const { return occurrences_; }

  // The occurrence at (line, column), both 1-based, columns in code points; -1 when there is
  // no name there. A place just after a name counts (the cursor at the end of a word).
  int At(uint32_t line, uint32_t column) const;

  // Every place `symbol` is written, in source order, its declaration first when asked for.
  std::vector<SourceRange> References(int symbol, bool include_declaration) const;

  // A top-level name (event, wallet, var, param, tier, segment, rule): its symbol, or -1.
  int Lookup(const std::string& name) const;
  // The fields of an event ("client": the client's attributes), built-in ones included.
  std::vector<int> FieldsOf(const std::string& owner) const;
  // The top-level declarations, in source order of their kinds (events, wallets, ... rules).
  std::vector<int> TopLevel() const;

  // One line saying what a symbol is: "wallet `points`: int", "field `amount`: money of event `deposit`".
  std::string Describe(int symbol) const;

 private:
  int Add(Symbol symbol);
  int FieldSymbol(const std::string& owner, const std::string& name);
  void Mark(SourceRange range, int symbol, bool declaration = false);
  void Walk(const ast::Expr& e);
  void WalkDuration(const ast::Duration& d);
  void WalkActions(const std::vector<ast::Action>& actions);

  std::vector<Symbol> symbols_;
  std::vector<Occurrence> occurrences_;
  std::map<std::string, int> top_;
  std::map<std::pair<std::string, std::string>, int> fields_;
  std::map<std::string, int> builtins_;
};

// The names of the built-in functions, with their signatures (stdlib/builtins.def).
struct BuiltinInfo {
  const char* name;
  const char* signature;
  const char* description;
};
const std::vector<BuiltinInfo>& Builtins();

// The length of `text` in code points (SourceRange's unit).
uint32_t CodePointLength(std::string_view text);

}  // namespace perk::query
