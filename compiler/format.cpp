// The canonical layout of a program (docs/fmt.md): the parser's outline says what each span
// of tokens is, and this file decides only the whitespace between them.
#include "compiler/format.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "compiler/syntax.h"

namespace perk {
namespace {

using syntax::Node;
using syntax::NodeKind;
using syntax::Token;
using syntax::TokenKind;

constexpr size_t kNone = static_cast<size_t>(-1);
constexpr int kIndent = 2;
// A continuation aligned further right than this starts 4 columns in instead.
constexpr int kMaxAlign = 60;

// One item of a logical line: a token, a comma the formatter adds, or a comment.
struct Piece {
  std::string_view text;
  int width = 0;
  size_t index = kNone;  // the token; kNone for an added comma
  bool comment = false;
};

bool IsPunct(const Token& t, std::string_view text) {
  return t.kind == TokenKind::Punct && t.text == text;
}

class Formatter {
 public:
  explicit Formatter(const syntax::Tree& tree)
      : tokens_(tree.tokens),
        root_(tree.root),
        skip_(tree.tokens.size(), false),
        comma_after_(tree.tokens.size(), false),
        pad_(tree.tokens.size(), 0) {}

  std::string Run() {
    Commas(root_);
    WriteProgram(root_);
    std::string out;
    for (const std::string& line : out_) out += line + "\n";
    return out;
  }

  // Every token written once, in order: the check that nothing was lost or repeated.
  bool Complete() const { return next_ == tokens_.size(); }

 private:
  // ---- the optional commas between fields and data entries

  size_t NextCode(size_t i) const {
    while (i < tokens_.size() && tokens_[i].kind == TokenKind::Comment) ++i;
    return i;
  }
  size_t LastCodeBefore(size_t i) const {
    while (i > 0 && tokens_[i - 1].kind == TokenKind::Comment) --i;
    return i - 1;
  }

  // Fields and entries are separated by one comma, and the last has none: adding one between
  // two that parsed apart, or dropping one before `}`, cannot change what they parse to.
  void Commas(const Node& node) {
    if (node.kind == NodeKind::Fields || node.kind == NodeKind::Map) {
      for (size_t k = 0; k < node.children.size(); ++k) {
        size_t after = NextCode(node.children[k].last + 1);
        bool comma = after < tokens_.size() && IsPunct(tokens_[after], ",");
        bool last = k + 1 == node.children.size();
        if (last && comma) skip_[after] = true;
        if (!last && !comma) comma_after_[node.children[k].last] = true;
      }
    }
    for (const Node& child : node.children) Commas(child);
  }

  // ---- pieces and spacing

  std::vector<Piece> Pieces(size_t first, size_t last) const {
    static constexpr std::string_view kComma = ",";
    std::vector<Piece> pieces;
    for (size_t i = first; i <= last; ++i) {
      const Token& t = tokens_[i];
      if (skip_[i]) continue;
      pieces.push_back({t.text, static_cast<int>(t.width), i, t.kind == TokenKind::Comment});
      if (comma_after_[i]) pieces.push_back({kComma, 1, kNone, false});
    }
    return pieces;
  }

  std::string Sep(const Piece& a, const Piece& b) const {
    auto punct = [&](const Piece& p, std::string_view s) {
      return p.text == s && (p.index == kNone || tokens_[p.index].kind == TokenKind::Punct);
    };
    if (punct(b, ")") || punct(b, "]") || punct(b, ",") || punct(b, ":") || punct(b, ".")) return "";
    if (punct(a, "(") || punct(a, "[") || punct(a, ".")) return "";
    if (a.index != kNone && (tokens_[a.index].flags & syntax::kUnaryMinus) != 0) return "";
    if (punct(b, "(") && b.index != kNone && (tokens_[b.index].flags & syntax::kCallParen) != 0) {
      return "";
    }
    if (punct(a, "{") && punct(b, "}")) return "";
    return std::string(1 + (a.index == kNone ? 0 : pad_[a.index]), ' ');
  }

  // The width of `pieces` (code only) on one line.
  int FlatWidth(const std::vector<Piece>& pieces) const {
    int width = 0;
    const Piece* previous = nullptr;
    for (const Piece& p : pieces) {
      if (p.comment) continue;
      if (previous != nullptr) width += static_cast<int>(Sep(*previous, p).size());
      width += p.width;
      previous = &p;
    }
    return width;
  }

  static bool HasComment(const std::vector<Piece>& pieces) {
    return std::any_of(pieces.begin(), pieces.end(), [](const Piece& p) { return p.comment; });
  }

  // ---- line breaking

  // Columns of code pieces [a, b) laid out flat from `start`.
  std::vector<int> Columns(const std::vector<const Piece*>& code, size_t a, size_t b, int start) const {
    std::vector<int> cols;
    int col = start;
    for (size_t k = a; k < b; ++k) {
      if (k > a) col += static_cast<int>(Sep(*code[k - 1], *code[k]).size());
      cols.push_back(col);
      col += code[k]->width;
    }
    cols.push_back(col);  // the end
    return cols;
  }

  // How loose a break before code[k] is, by precedence: 0 for none.
  enum Rank { kNoBreak, kMul, kAdd, kCompare, kAnd, kOr, kElse, kSeparator };
  Rank BreakRank(const std::vector<const Piece*>& code, size_t k) const {
    const Piece& previous = *code[k - 1];
    if (previous.text == "," && (previous.index == kNone || tokens_[previous.index].kind == TokenKind::Punct)) {
      return kSeparator;
    }
    const Piece& p = *code[k];
    if (p.index == kNone) return kNoBreak;
    const Token& t = tokens_[p.index];
    if ((t.flags & syntax::kExprElse) != 0) return kElse;
    if (t.kind == TokenKind::Word) {
      if (t.text == "within") return kSeparator;
      if (t.text == "or") return kOr;
      if (t.text == "and") return kAnd;
      if (t.text == "mod") return kMul;
      return kNoBreak;
    }
    if (t.kind != TokenKind::Punct) return kNoBreak;
    if (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=") {
      return kCompare;
    }
    if (t.text == "+" || (t.text == "-" && (t.flags & syntax::kUnaryMinus) == 0)) return kAdd;
    if (t.text == "*" || t.text == "/") return kMul;
    return kNoBreak;
  }

  static int DepthChange(const Piece& p) {
    if (p.comment || p.index == kNone) return 0;
    if (p.text == "(" || p.text == "[" || p.text == "{") return 1;
    if (p.text == ")" || p.text == "]" || p.text == "}") return -1;
    return 0;
  }

  // Breaks code pieces [a, b), starting at column `start`, when they do not fit: before every
  // loosest break at the shallowest bracket depth that has one (after a `,` or before
  // `within`, then before an `if` expression's `else`, `or`, `and`, a comparison, `+` or `-`,
  // `*`, `/` or `mod`).
  // A continuation aligns with the start of what it continues: the `if` of an `else`,
  // `align_at` for breaks at depth `align_depth` (a condition's start), else just inside the
  // bracket. Each piece is broken again the same way, a piece that starts with an operator
  // aligning its own breaks with the operand after it, so `and` lines sit right of the `or`
  // lines they belong to. Records breaks in `breaks` (piece → column).
  void Break(const std::vector<const Piece*>& code, size_t a, size_t b, int start, int align_depth,
             int align_at, int fallback, std::vector<int>& breaks) const {
    std::vector<int> cols = Columns(code, a, b, start);
    if (cols.back() <= kFormatWidth || b - a < 2) return;
    int best_depth = 1 << 20;
    Rank best_rank = kNoBreak;
    int depth = DepthChange(*code[a]);
    for (size_t k = a + 1; k < b; ++k) {
      Rank rank = BreakRank(code, k);
      if (rank != kNoBreak && (depth < best_depth || (depth == best_depth && rank > best_rank))) {
        best_depth = depth;
        best_rank = rank;
      }
      depth += DepthChange(*code[k]);
    }
    if (best_rank == kNoBreak) return;
    std::vector<size_t> at;
    int align = -1;
    size_t opener = kNone;
    depth = 0;
    for (size_t k = a; k < b; ++k) {
      if (k > a && depth == best_depth && BreakRank(code, k) == best_rank) at.push_back(k);
      if (best_rank == kElse && at.empty() && depth == best_depth && align < 0 && code[k]->index != kNone &&
          (tokens_[code[k]->index].flags & syntax::kExprIf) != 0) {
        align = cols[k - a];
      }
      int change = DepthChange(*code[k]);
      if (change > 0 && depth + 1 == best_depth && at.empty()) opener = k;
      depth += change;
    }
    if (best_rank != kElse || align < 0) {
      align = best_depth == align_depth ? align_at : opener != kNone ? cols[opener + 1 - a] : align_at;
    }
    if (align > kMaxAlign || align <= 0) align = fallback;
    // Arithmetic fills its lines (`a / 1 EUR` stays together), breaking only before the piece
    // that would run past the width; looser operators take a line each.
    if (best_rank <= kAdd) {
      std::vector<size_t> filled;
      size_t line_start = a;
      int line_col = start;
      for (size_t j = 0; j < at.size(); ++j) {
        size_t end = j + 1 < at.size() ? at[j + 1] : b;
        int end_col = line_col + cols[end - a] - cols[line_start - a] - 1;
        if (end_col > kFormatWidth) {
          filled.push_back(at[j]);
          line_start = at[j];
          line_col = align;
        }
      }
      at = filled;
    }
    for (size_t k : at) breaks[k] = align;
    // The operand after a piece's leading operator; a separator leads with the operand.
    auto operand = [&](size_t k) {
      return best_rank == kSeparator ? align : align + code[k]->width + 1;
    };
    Break(code, a, at.front(), start, best_depth, operand(at.front()), fallback, breaks);
    for (size_t j = 0; j < at.size(); ++j) {
      size_t end = j + 1 < at.size() ? at[j + 1] : b;
      Break(code, at[j], end, align, 0, operand(at[j]), fallback, breaks);
    }
  }

  // ---- writing lines

  void Blank() {
    if (!out_.empty() && !out_.back().empty()) out_.emplace_back();
  }

  // Comments before token `upto` (and after what was written): a comment on the line of the
  // token before it stays at that line's end; others get their own line at `indent`. Keeps
  // one blank line where the source had any, if `blank_ok`; `force_blank` puts one before.
  void Gap(size_t upto, int indent, bool blank_ok, bool force_blank) {
    bool first_own_line = true;
    for (; next_ < upto; ++next_) {
      const Token& t = tokens_[next_];
      if (next_ > 0 && tokens_[next_ - 1].line == t.line && !out_.empty()) {
        out_.back() += "  " + t.text;
        continue;
      }
      bool blank = next_ > 0 && t.line > tokens_[next_ - 1].line + 1;
      if ((blank && blank_ok) || (force_blank && first_own_line)) Blank();
      first_own_line = false;
      out_.push_back(std::string(indent, ' ') + t.text);
    }
    if (upto < tokens_.size()) {
      bool blank = upto > 0 && tokens_[upto].line > tokens_[upto - 1].line + 1;
      if ((blank && blank_ok) || (force_blank && first_own_line)) Blank();
    }
  }

  // Writes tokens [first, last] as one logical line at `indent`, broken where too long and
  // after comments; continuation lines align with `anchor` (an Expr node) when there is one.
  void WriteLine(size_t first, size_t last, int indent, const Node* anchor) {
    std::vector<Piece> pieces = Pieces(first, last);
    next_ = last + 1;
    std::vector<const Piece*> code;
    for (const Piece& p : pieces) {
      if (!p.comment) code.push_back(&p);
    }
    if (code.empty()) return;
    std::vector<int> cols = Columns(code, 0, code.size(), indent);
    int fallback = indent + 2 * kIndent;
    int base = fallback;
    size_t anchor_first = kNone;  // breaks before the anchor do not align with it
    if (anchor != nullptr) {
      for (size_t k = 0; k < code.size(); ++k) {
        if (code[k]->index == anchor->first) base = cols[k];
      }
      anchor_first = anchor->first;
    }
    if (base > kMaxAlign) base = fallback;
    // Where a line goes on after a comment: under the anchor once past its start.
    auto after_comment = [&](size_t next_index) {
      return anchor_first != kNone && next_index != kNone && next_index >= anchor_first ? base : fallback;
    };
    std::vector<int> breaks(code.size(), -1);
    Break(code, 0, code.size(), indent, 0, base, fallback, breaks);

    std::string line(indent, ' ');
    bool fresh = true, newline = false;
    size_t k = 0;
    auto flush = [&] {
      if (!fresh) out_.push_back(line);
      fresh = true;
    };
    const Piece* previous = nullptr;
    for (const Piece& p : pieces) {
      if (p.comment) {
        bool trailing = p.index > 0 && tokens_[p.index - 1].line == tokens_[p.index].line && !fresh;
        if (trailing) {
          line += "  " + std::string(p.text);
        } else {
          flush();
          size_t next = k < code.size() ? code[k]->index : kNone;
          out_.push_back(std::string(after_comment(next), ' ') + std::string(p.text));
        }
        newline = true;
        continue;
      }
      if (fresh && previous == nullptr) {
        line += p.text;
        fresh = false;
      } else if (breaks[k] >= 0 || newline) {
        flush();
        line = std::string(breaks[k] >= 0 ? breaks[k] : after_comment(p.index), ' ') + std::string(p.text);
        fresh = false;
      } else {
        if (fresh) {
          line = std::string(after_comment(p.index), ' ');
          fresh = false;
        } else {
          line += Sep(*previous, p);
        }
        line += p.text;
      }
      newline = false;
      previous = &p;
      ++k;
    }
    flush();
  }

  // ---- declarations

  static const Node* ExprOf(const Node& node) {
    for (const Node& child : node.children) {
      if (child.kind == NodeKind::Expr) return &child;
    }
    return nullptr;
  }

  bool BlankBetween(size_t from, size_t to) const {
    for (size_t i = from + 1; i <= to && i < tokens_.size(); ++i) {
      if (tokens_[i].line > tokens_[i - 1].line + 1) return true;
    }
    return false;
  }

  // `event NAME { ... }` fits on one line and holds no comment.
  bool OneLine(const Node& node) const {
    std::vector<Piece> pieces = Pieces(node.first, node.last);
    return !HasComment(pieces) && FlatWidth(pieces) <= kFormatWidth;
  }

  // Names in a run of declarations (no blank line between) pad to the longest, so that what
  // follows them lines up: `tier Silver   when ...`, `event trade   { ... }`.
  // A one-line `client { ... }` in a run of events lines its `{` up with theirs.
  void Align(const std::vector<const Node*>& run) {
    auto named = [&](const Node* n) { return tokens_[n->first].text != "client"; };
    auto label = [&](const Node* n) {
      return named(n) ? tokens_[n->first].width + 1 + tokens_[n->first + 1].width : tokens_[n->first].width;
    };
    uint32_t longest = 0;
    for (const Node* n : run) longest = std::max(longest, label(n));
    for (const Node* n : run) pad_[named(n) ? n->first + 1 : n->first] = static_cast<int>(longest - label(n));
  }

  void AlignRuns(const Node& program) {
    enum Class { kOther, kTier, kSegment, kEvent };
    auto class_of = [&](const Node& n) {
      // Only declarations with something after the name take part.
      if (n.kind == NodeKind::Tier) return n.last > n.first + 1 ? kTier : kOther;
      if (n.kind == NodeKind::Segment) return kSegment;
      if (n.kind == NodeKind::Fields && OneLine(n)) return kEvent;
      return kOther;
    };
    std::vector<const Node*> run;
    int run_class = kOther;
    for (size_t i = 0; i <= program.children.size(); ++i) {
      const Node* n = i < program.children.size() ? &program.children[i] : nullptr;
      int c = n != nullptr ? class_of(*n) : kOther;
      bool joins = n != nullptr && c == run_class && c != kOther && !run.empty() &&
                   !BlankBetween(run.back()->last, n->first);
      if (!joins) {
        if (run.size() > 1) Align(run);
        run.clear();
        run_class = c;
      }
      if (c != kOther) run.push_back(n);
      if (c == kEvent) one_line_.push_back(n);
    }
  }

  void WriteProgram(const Node& program) {
    AlignRuns(program);
    const Node* previous = nullptr;
    for (const Node& decl : program.children) {
      bool rule = decl.kind == NodeKind::Rule;
      bool after_rule = previous != nullptr && previous->kind == NodeKind::Rule;
      Gap(decl.first, 0, previous != nullptr, previous != nullptr && (rule || after_rule));
      WriteDecl(decl);
      previous = &decl;
    }
    Gap(tokens_.size(), 0, true, false);
  }

  void WriteDecl(const Node& decl) {
    switch (decl.kind) {
      case NodeKind::Fields: return WriteFields(decl);
      case NodeKind::Rule: return WriteRule(decl);
      default: return WriteLine(decl.first, decl.last, 0, ExprOf(decl));
    }
  }

  void WriteFields(const Node& node) {
    // Decided before names were padded, so that padding never turns a block over.
    if (std::find(one_line_.begin(), one_line_.end(), &node) != one_line_.end()) {
      return WriteLine(node.first, node.last, 0, nullptr);
    }
    size_t open = node.first;
    while (!IsPunct(tokens_[open], "{")) ++open;
    uint32_t longest = 0;
    for (const Node& f : node.children) longest = std::max(longest, tokens_[f.first].width);
    for (const Node& f : node.children) {
      size_t colon = NextCode(f.first + 1);
      pad_[colon] = static_cast<int>(longest - tokens_[f.first].width);
    }
    WriteLine(node.first, open, 0, nullptr);
    WriteEntries(node, kIndent);
    Gap(node.last, kIndent, false, false);
    WriteLine(node.last, node.last, 0, nullptr);
  }

  // The fields of an event or client block, or the entries of a data map, one a line with
  // the comma after it.
  void WriteEntries(const Node& node, int indent) {
    for (size_t k = 0; k < node.children.size(); ++k) {
      const Node& f = node.children[k];
      Gap(f.first, indent, k > 0, false);
      size_t end = f.last;
      size_t after = NextCode(f.last + 1);
      if (after < node.last && IsPunct(tokens_[after], ",")) end = after;
      WriteLine(f.first, end, indent, ExprOf(f));
    }
  }

  void WriteRule(const Node& rule) {
    const Node& trigger = rule.children.front();
    WriteLine(rule.first, LastCodeBefore(trigger.first), 0, nullptr);
    size_t k = 0;
    for (; rule.children[k].kind == NodeKind::Clause; ++k) {
      const Node& clause = rule.children[k];
      Gap(clause.first, kIndent, false, false);
      WriteLine(clause.first, clause.last, kIndent, ExprOf(clause));
    }
    WriteBlock(rule.children, k, kIndent, 2 * kIndent, 0);
  }

  // `then`, the actions from children[k + 1] on, [`else` and actions,] `end` at `end_indent`.
  // A rule's single action shares the line of its `then`; an `if` action's `then` ends the
  // line of its condition, already written.
  void WriteBlock(const std::vector<Node>& children, size_t k, int indent, int inner, int end_indent) {
    const Node& then = children[k];
    const Node& end = children.back();
    size_t actions = children.size() - k - 2;
    if (next_ <= then.first && actions == 1 && children[k + 1].kind == NodeKind::Action && !HasComment(Pieces(then.first, end.first)) &&
        indent + FlatWidth(Pieces(then.first, children[k + 1].last)) <= kFormatWidth) {
      Gap(then.first, indent, false, false);
      WriteLine(then.first, children[k + 1].last, indent, ExprOf(children[k + 1]));
    } else {
      if (next_ <= then.first) {
        Gap(then.first, indent, false, false);
        WriteLine(then.first, then.first, indent, nullptr);
      }
      bool first = true;
      for (size_t i = k + 1; i + 1 < children.size(); ++i) {
        const Node& a = children[i];
        if (a.kind == NodeKind::Else) {
          Gap(a.first, inner, false, false);
          WriteLine(a.first, a.first, indent, nullptr);
          first = true;
          continue;
        }
        Gap(a.first, inner, !first, false);
        WriteAction(a, inner);
        first = false;
      }
    }
    Gap(end.first, inner, false, false);
    WriteLine(end.first, end.first, end_indent, nullptr);
  }

  void WriteAction(const Node& action, int indent) {
    if (action.kind == NodeKind::Action) {
      const Node* map = nullptr;
      for (const Node& child : action.children) {
        if (child.kind == NodeKind::Map) map = &child;
      }
      std::vector<Piece> pieces = Pieces(action.first, action.last);
      if (map == nullptr || (!HasComment(pieces) && indent + FlatWidth(pieces) <= kFormatWidth)) {
        return WriteLine(action.first, action.last, indent, ExprOf(action));
      }
      // A data map too long for the line, or with comments: an entry a line.
      WriteLine(action.first, map->first, indent, ExprOf(action));
      WriteEntries(*map, indent + kIndent);
      Gap(map->last, indent + kIndent, false, false);
      return WriteLine(map->last, action.last, indent, nullptr);
    }
    size_t then = 0;
    while (action.children[then].kind != NodeKind::Then) ++then;
    WriteLine(action.first, action.children[then].first, indent, ExprOf(action));
    WriteBlock(action.children, then, indent, indent + kIndent, indent);
  }

  const std::vector<Token>& tokens_;
  const Node& root_;
  std::vector<bool> skip_;
  std::vector<bool> comma_after_;
  std::vector<int> pad_;
  std::vector<const Node*> one_line_;  // `event` and `client` blocks written on one line
  std::vector<std::string> out_;
  size_t next_ = 0;  // the first token not yet written
};

// The tokens that carry meaning: all but comments and commas (which the formatter may add
// or drop where they are optional).
std::vector<std::string_view> Meaningful(const std::vector<Token>& tokens) {
  std::vector<std::string_view> out;
  for (const Token& t : tokens) {
    if (!IsPunct(t, ",")) out.push_back(t.text);
  }
  return out;
}

}  // namespace

std::optional<std::string> FormatSource(std::string_view source, Diagnostics& diags) {
  std::optional<syntax::Tree> tree = syntax::ParseTree(source, diags);
  if (!tree) return std::nullopt;
  Formatter formatter(*tree);
  std::string out = formatter.Run();
  // A formatter bug must never change a program: the result has to hold the same tokens and
  // comments in the same order, commas aside (adding one between two fields or entries, or
  // dropping one before `}`, is the only change to what the parser reads). Lexing is enough:
  // the parser's choices depend on nothing else, and it is several times faster than parsing.
  if (!formatter.Complete() || Meaningful(syntax::Tokenize(out)) != Meaningful(tree->tokens)) {
    diags.Report(DiagKind::SyntaxError, {1, 1, 1},
                 "internal error: `perk fmt` could not lay this program out without changing it; "
                 "please report it with the program");
    return std::nullopt;
  }
  return out;
}

}  // namespace perk
