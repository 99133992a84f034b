// Parsing as you type: a program is parsed declaration by declaration, and the syntax trees of
// the declarations an edit did not touch are reused (parsing is 80% of a check's time).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/ast.h"
#include "compiler/diagnostics.h"

namespace perk::lsp {

class IncrementalParser {
 public:
  // The syntax tree of `source`, with the parser's diagnostics in `diags`: the same tree and
  // diagnostics as ast::ParseProgram gives. A program is cut before each line that starts with
  // a declaration's keyword; each piece is parsed alone (or taken from the last call when its
  // text and first line are unchanged) and the trees joined. When any piece has a syntax
  // error, or the pieces would not join as one parse would (two `currency` lines), the whole
  // program is parsed again at once, so the errors are worded as `perk check` words them.
  // The tree stays valid until the next call, which moves the reused declarations out of it.
  // Call it on a thread with a large stack, as CompileProgram does.
  const ast::Program& Parse(std::string_view source, Diagnostics& diags);

  // How the last call went: pieces parsed anew, pieces reused, and whether it fell back.
  int parsed() const { return parsed_; }
  int reused() const { return reused_; }
  bool fell_back() const { return fell_back_; }

 private:
  // How many declarations of each kind a piece holds, to find them in the joined tree.
  struct Counts {
    size_t events = 0, client_fields = 0, wallets = 0, vars = 0, params = 0, tiers = 0, segments = 0, rules = 0,
           revenues = 0;
  };
  struct Piece {
    std::string text;
    uint32_t first_line = 0;
    Counts counts;
    std::vector<Diagnostic> diags;  // the builder's (never a syntax error)
  };

  std::vector<Piece> pieces_;
  // The last tree: the declarations of its pieces move into the next one.
  std::unique_ptr<ast::Program> last_;
  int parsed_ = 0, reused_ = 0;
  bool fell_back_ = false;
};

}  // namespace perk::lsp
