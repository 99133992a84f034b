// Parsing as you type, declaration by declaration (lsp/incremental.h).
#include "lsp/incremental.h"

#include <map>
#include <optional>
#include <utility>

namespace perk::lsp {

namespace {

// The keywords that start a declaration. Such a word at the start of a line always starts a
// new declaration in a program that parses: none of them can continue an expression or a rule
// (`tier` can, as a value, but then the piece before it does not parse, and all is re-parsed).
constexpr std::string_view kDeclarationKeywords[] = {"event", "client",  "wallet",   "var",     "param",   "tier",
                                                     "segment", "rule", "revenue", "currency", "timezone"};

bool IsWordByte(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || c == '_' || u >= 0x80;
}

bool StartsDeclaration(std::string_view line) {
  for (std::string_view k : kDeclarationKeywords)
    if (line.substr(0, k.size()) == k && (line.size() == k.size() || !IsWordByte(line[k.size()]))) return true;
  return false;
}

struct Span {
  size_t begin = 0, end = 0;
  uint32_t first_line = 1;
};

// The header (everything before the first declaration), then one span per declaration.
std::vector<Span> Split(std::string_view source) {
  std::vector<Span> spans{{0, 0, 1}};
  uint32_t line = 1;
  for (size_t at = 0; at < source.size();) {
    if (at > 0 && StartsDeclaration(source.substr(at))) {
      spans.back().end = at;
      spans.push_back({at, 0, line});
    }
    size_t eol = source.find('\n', at);
    if (eol == std::string_view::npos) break;
    at = eol + 1;
    ++line;
  }
  spans.back().end = source.size();
  return spans;
}

template <class T>
void MoveRange(std::vector<T>& from, size_t at, size_t n, std::vector<T>* to) {
  for (size_t k = 0; k < n && at + k < from.size(); ++k) to->push_back(std::move(from[at + k]));
}

}  // namespace

const ast::Program& IncrementalParser::Parse(std::string_view source, Diagnostics& diags) {
  parsed_ = reused_ = 0;
  fell_back_ = false;
  auto whole = [&]() -> const ast::Program& {
    fell_back_ = true;
    pieces_.clear();
    last_ = ast::ParseProgram(source, diags);
    if (!last_) last_ = std::make_unique<ast::Program>();
    return *last_;
  };
  const std::vector<Span> spans = Split(source);
  if (spans.size() < 2 || spans[1].first_line < 2) return whole();

  // Where each earlier piece's declarations sit in the last tree.
  std::map<std::pair<uint32_t, std::string_view>, size_t> earlier;
  std::vector<Counts> offsets(pieces_.size());
  Counts sum;
  for (size_t k = 0; k < pieces_.size(); ++k) {
    earlier.emplace(std::make_pair(pieces_[k].first_line, std::string_view(pieces_[k].text)), k);
    offsets[k] = sum;
    const Counts& c = pieces_[k].counts;
    sum.events += c.events, sum.client_fields += c.client_fields, sum.wallets += c.wallets, sum.vars += c.vars;
    sum.params += c.params, sum.tiers += c.tiers, sum.segments += c.segments, sum.rules += c.rules;
    sum.revenues += c.revenues;
  }

  auto program = std::make_unique<ast::Program>();
  std::vector<Piece> pieces;
  std::vector<std::unique_ptr<ast::Program>> header;  // pieces that declare the currency or zone
  for (size_t k = 0; k < spans.size(); ++k) {
    const std::string_view text = source.substr(spans[k].begin, spans[k].end - spans[k].begin);
    Piece piece{std::string(text), spans[k].first_line, {}, {}};
    auto found = k > 0 && last_ ? earlier.find({spans[k].first_line, text}) : earlier.end();
    // The header and the pieces that set program-wide things are parsed every time (they are short).
    const bool program_wide = k == 0 || text.substr(0, 8) == "currency" || text.substr(0, 8) == "timezone";
    if (found != earlier.end() && !program_wide) {
      const Piece& old = pieces_[found->second];
      const Counts& at = offsets[found->second];
      MoveRange(last_->events, at.events, old.counts.events, &program->events);
      MoveRange(last_->client_fields, at.client_fields, old.counts.client_fields, &program->client_fields);
      MoveRange(last_->wallets, at.wallets, old.counts.wallets, &program->wallets);
      MoveRange(last_->vars, at.vars, old.counts.vars, &program->vars);
      MoveRange(last_->params, at.params, old.counts.params, &program->params);
      MoveRange(last_->tiers, at.tiers, old.counts.tiers, &program->tiers);
      MoveRange(last_->segments, at.segments, old.counts.segments, &program->segments);
      MoveRange(last_->rules, at.rules, old.counts.rules, &program->rules);
      MoveRange(last_->revenues, at.revenues, old.counts.revenues, &program->revenues);
      piece.counts = old.counts;
      piece.diags = old.diags;
      ++reused_;
    } else {
      // Alone, with a header above it and its own line numbers.
      std::string alone = k == 0 ? std::string(text) : "program \"_\"" + std::string(spans[k].first_line - 1, '\n') + std::string(text);
      Diagnostics own("", alone);
      std::unique_ptr<ast::Program> part = ast::ParseProgram(alone, own);
      for (const Diagnostic& d : own.all())
        if (d.kind == DiagKind::SyntaxError) return whole();
      piece.diags = own.all();
      piece.counts = {part->events.size(), part->client_fields.size(), part->wallets.size(), part->vars.size(),
                      part->params.size(), part->tiers.size(), part->segments.size(), part->rules.size(),
                      part->revenues.size()};
      MoveRange(part->events, 0, part->events.size(), &program->events);
      MoveRange(part->client_fields, 0, part->client_fields.size(), &program->client_fields);
      MoveRange(part->wallets, 0, part->wallets.size(), &program->wallets);
      MoveRange(part->vars, 0, part->vars.size(), &program->vars);
      MoveRange(part->params, 0, part->params.size(), &program->params);
      MoveRange(part->tiers, 0, part->tiers.size(), &program->tiers);
      MoveRange(part->segments, 0, part->segments.size(), &program->segments);
      MoveRange(part->rules, 0, part->rules.size(), &program->rules);
      MoveRange(part->revenues, 0, part->revenues.size(), &program->revenues);
      if (k == 0) {
        program->name = part->name;
        program->name_range = part->name_range;
      }
      if (part->currency || part->timezone) header.push_back(std::move(part));
      ++parsed_;
    }
    pieces.push_back(std::move(piece));
  }
  // A second `currency` or `timezone` is reported by the builder, which sees both only in one parse.
  for (const auto& part : header) {
    if (part->currency) {
      if (program->currency) return whole();
      program->currency = part->currency;
      program->currency_range = part->currency_range;
    }
    if (part->timezone) {
      if (program->timezone) return whole();
      program->timezone = part->timezone;
      program->timezone_range = part->timezone_range;
    }
  }
  for (const Piece& piece : pieces) {
    for (const Diagnostic& d : piece.diags) {
      diags.Report(d.kind, d.range, d.message);
      for (const auto& [range, message] : d.notes) diags.Note(range, message);
      if (d.fix) diags.SuggestFix(d.fix->original, d.fix->replacement);
    }
  }
  pieces_ = std::move(pieces);
  last_ = std::move(program);
  return *last_;
}

}  // namespace perk::lsp
