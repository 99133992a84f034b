// The editor's index of a program: every declared name and every place it is written.
// Names resolve as the checker resolves them: one namespace for the top-level declarations,
// and fields looked up on the event (or `client`) they are read from.
#include "compiler/query.h"

#include <fmt/format.h>

#include <algorithm>

namespace perk::query {

namespace {

std::string TypeText(ast::TypeName t) {
  switch (t) {
    case ast::TypeName::Int: return "int";
    case ast::TypeName::Decimal: return "decimal";
    case ast::TypeName::Money: return "money";
    case ast::TypeName::Bool: return "bool";
    case ast::TypeName::String: return "string";
    case ast::TypeName::Time: return "time";
    case ast::TypeName::Date: return "date";
    case ast::TypeName::Tier: return "tier";
    case ast::TypeName::Client: return "client";
  }
  return "";
}

// A param's type is usually inferred from its literal (`param bonus = 50 USD`).
std::string LiteralType(const ast::Expr* e) {
  if (e == nullptr) return "";
  switch (e->kind) {
    case ast::ExprKind::IntLit: return "int";
    case ast::ExprKind::DecimalLit:
    case ast::ExprKind::PercentLit: return "decimal";
    case ast::ExprKind::MoneyLit: return "money";
    case ast::ExprKind::StringLit: return "string";
    case ast::ExprKind::BoolLit: return "bool";
    case ast::ExprKind::DateLit: return "date";
    case ast::ExprKind::TimeLit: return "time";
    case ast::ExprKind::DurationLit: return "duration";
    case ast::ExprKind::Unary: return e->args.empty() ? "" : LiteralType(e->args[0].get());
    default: return "";
  }
}

bool Covers(const SourceRange& r, uint32_t line, uint32_t column) {
  return r.line == line && column >= r.column && column <= r.column + r.length;
}

}  // namespace

uint32_t CodePointLength(std::string_view text) {
  uint32_t n = 0;
  for (char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

const std::vector<BuiltinInfo>& Builtins() {
  static const std::vector<BuiltinInfo> builtins = {
#define PERK_BUILTIN(name, signature, description) {#name, signature, description},
#include "stdlib/builtins.def"
#undef PERK_BUILTIN
  };
  return builtins;
}

const char* KindName(SymbolKind kind) {
  switch (kind) {
    case SymbolKind::Event: return "event";
    case SymbolKind::Field: return "field";
    case SymbolKind::ClientField: return "client attribute";
    case SymbolKind::BuiltinField: return "built-in field";
    case SymbolKind::Wallet: return "wallet";
    case SymbolKind::Var: return "var";
    case SymbolKind::Param: return "param";
    case SymbolKind::Tier: return "tier";
    case SymbolKind::Segment: return "segment";
    case SymbolKind::Rule: return "rule";
    case SymbolKind::Builtin: return "built-in function";
  }
  return "name";
}

int Index::Add(Symbol symbol) {
  symbols_.push_back(std::move(symbol));
  return static_cast<int>(symbols_.size()) - 1;
}

void Index::Mark(SourceRange range, int symbol, bool declaration) {
  if (symbol < 0 || range.line == 0) return;
  occurrences_.push_back({range, symbol, declaration});
}

int Index::Lookup(const std::string& name) const {
  auto it = top_.find(name);
  return it == top_.end() ? -1 : it->second;
}

int Index::FieldSymbol(const std::string& owner, const std::string& name) {
  auto it = fields_.find({owner, name});
  return it == fields_.end() ? -1 : it->second;
}

Index::Index(const ast::Program& program) {
  for (const auto& b : Builtins()) {
    Symbol s;
    s.kind = SymbolKind::Builtin;
    s.name = b.name;
    s.detail = fmt::format("{}: {}", b.signature, b.description);
    builtins_[b.name] = Add(std::move(s));
  }
  // The first declaration of a name wins, as in the checker (a second is a DuplicateName).
  auto declare = [&](SymbolKind kind, const std::string& name, SourceRange name_range, SourceRange decl_range,
                     std::string type) {
    Symbol s{kind, name, "", std::move(type), "", name_range, decl_range, 0};
    int id = Add(std::move(s));
    top_.emplace(name, id);
    Mark(name_range, id, true);
    return id;
  };
  auto builtin_field = [&](const std::string& owner, const char* name, const char* type) {
    Symbol s{SymbolKind::BuiltinField, name, owner, type, "", {}, {}, 0};
    fields_.emplace(std::make_pair(owner, std::string(name)), Add(std::move(s)));
  };
  auto declare_field = [&](SymbolKind kind, const std::string& owner, const ast::FieldDecl& f) {
    Symbol s{kind, f.name, owner, TypeText(f.type.name), "", f.name_range, f.range, 0};
    int id = Add(std::move(s));
    fields_.emplace(std::make_pair(owner, f.name), id);
    Mark(f.name_range, id, true);
  };
  for (const auto& e : program.events) {
    declare(SymbolKind::Event, e.name, e.name_range, e.range, "");
    for (const auto& f : e.fields) declare_field(SymbolKind::Field, e.name, f);
    builtin_field(e.name, "id", "string");
    builtin_field(e.name, "client", "client");
    builtin_field(e.name, "time", "time");
  }
  for (const auto& f : program.client_fields) declare_field(SymbolKind::ClientField, "client", f);
  builtin_field("client", "id", "client");
  builtin_field("client", "since", "time");
  for (const auto& w : program.wallets) declare(SymbolKind::Wallet, w.name, w.name_range, w.range, TypeText(w.type.name));
  for (const auto& v : program.vars) declare(SymbolKind::Var, v.name, v.name_range, v.range, TypeText(v.type.name));
  for (const auto& p : program.params)
    declare(SymbolKind::Param, p.name, p.name_range, p.range, p.type ? TypeText(p.type->name) : LiteralType(p.value.get()));
  for (const auto& t : program.tiers) declare(SymbolKind::Tier, t.name, t.name_range, t.range, "tier");
  for (const auto& s : program.segments) declare(SymbolKind::Segment, s.name, s.name_range, s.range, "bool");
  for (const auto& r : program.rules) {
    int id = declare(SymbolKind::Rule, r.name, r.name_range, r.range, "");
    symbols_[id].end_line = r.end_line;
  }

  // Now every use, in the order the program gives them.
  for (const auto& f : program.client_fields)
    if (f.default_value) Walk(*f.default_value);
  for (const auto& e : program.events)
    for (const auto& f : e.fields)
      if (f.default_value) Walk(*f.default_value);
  for (const auto& w : program.wallets) {
    if (w.worth) Walk(*w.worth);
    if (w.expiry) WalkDuration(*w.expiry);
  }
  for (const auto& v : program.vars)
    if (v.init) Walk(*v.init);
  for (const auto& p : program.params)
    if (p.value) Walk(*p.value);
  for (const auto& t : program.tiers) {
    if (t.when) Walk(*t.when);
    if (t.hold) WalkDuration(*t.hold);
  }
  for (const auto& s : program.segments)
    if (s.when) Walk(*s.when);
  for (const auto& r : program.revenues) {
    Mark(r.event_range, Lookup(r.event));
    Mark(r.field_range, FieldSymbol(r.event, r.field));
    if (r.where) Walk(*r.where);
  }
  for (const auto& r : program.rules) {
    if (r.trigger.kind == ast::TriggerKind::Event || r.trigger.kind == ast::TriggerKind::Entering ||
        r.trigger.kind == ast::TriggerKind::Leaving)
      Mark(r.trigger.event_range, Lookup(r.trigger.event));
    if (r.when) Walk(*r.when);
    if (r.limit) {
      if (r.limit->count) Walk(*r.limit->count);
      if (r.limit->key) Walk(*r.limit->key);
      if (r.limit->within) WalkDuration(*r.limit->within);
    }
    for (const auto* b : {&r.budget, &r.client_budget}) {
      if (!*b) continue;
      if ((*b)->amount) Walk(*(*b)->amount);
      if ((*b)->within) WalkDuration(*(*b)->within);
    }
    WalkActions(r.actions);
  }
  std::stable_sort(occurrences_.begin(), occurrences_.end(), [](const Occurrence& a, const Occurrence& b) {
    return std::tie(a.range.line, a.range.column) < std::tie(b.range.line, b.range.column);
  });
}

void Index::WalkDuration(const ast::Duration& d) {
  if (!d.param.empty()) Mark(d.param_range, Lookup(d.param));
}

void Index::WalkActions(const std::vector<ast::Action>& actions) {
  for (const auto& a : actions) {
    switch (a.kind) {
      case ast::ActionKind::Credit:
      case ast::ActionKind::Debit:
      case ast::ActionKind::Set: Mark(a.target_range, Lookup(a.target)); break;
      case ast::ActionKind::Send:
        Mark(a.target_range, Lookup(a.target));
        // `send EVENT to X { field: value }`: the keys are the sent event's fields.
        for (const auto& d : a.data) Mark({d.range.line, d.range.column, CodePointLength(d.key)}, FieldSymbol(a.target, d.key));
        break;
      default: break;
    }
    if (a.value) Walk(*a.value);
    if (a.pending) WalkDuration(*a.pending);
    for (const auto& d : a.data)
      if (d.value) Walk(*d.value);
    WalkActions(a.then_actions);
    WalkActions(a.else_actions);
  }
}

void Index::Walk(const ast::Expr& e) {
  switch (e.kind) {
    case ast::ExprKind::Name: Mark(e.range, Lookup(e.text)); break;
    case ast::ExprKind::Field:
      if (!e.args.empty() && e.args[0]) {
        const ast::Expr& base = *e.args[0];
        if (base.kind == ast::ExprKind::ClientRef) Mark(e.name_range, FieldSymbol("client", e.text));
        if (base.kind == ast::ExprKind::Name) Mark(e.name_range, FieldSymbol(base.text, e.text));
      }
      break;
    case ast::ExprKind::Call: {
      auto it = builtins_.find(e.text);
      if (it != builtins_.end()) Mark(e.name_range, it->second);
      break;
    }
    case ast::ExprKind::Aggregate:
      Mark(e.name_range, Lookup(e.text));
      if (!e.field.empty()) Mark(e.field_range, FieldSymbol(e.text, e.field));
      if (e.within) WalkDuration(*e.within);
      break;
    case ast::ExprKind::DurationLit:
      if (e.duration) WalkDuration(*e.duration);
      break;
    default: break;
  }
  for (const auto& a : e.args)
    if (a) Walk(*a);
  if (e.where) Walk(*e.where);
}

int Index::At(uint32_t line, uint32_t column) const {
  // Prefer a name that starts at the place over one that ends there (`a.b`: the cursor on `.b`).
  int best = -1;
  for (size_t k = 0; k < occurrences_.size(); ++k) {
    const SourceRange& r = occurrences_[k].range;
    if (!Covers(r, line, column)) continue;
    if (best < 0 || column < r.column + r.length) best = static_cast<int>(k);
  }
  return best;
}

std::vector<SourceRange> Index::References(int symbol, bool include_declaration) const {
  std::vector<SourceRange> out;
  for (const auto& o : occurrences_)
    if (o.symbol == symbol && (include_declaration || !o.declaration)) out.push_back(o.range);
  return out;
}

std::vector<int> Index::FieldsOf(const std::string& owner) const {
  std::vector<int> out;
  for (const auto& [key, id] : fields_)
    if (key.first == owner) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<int> Index::TopLevel() const {
  std::vector<int> out;
  for (const auto& [name, id] : top_) out.push_back(id);
  std::sort(out.begin(), out.end());
  return out;
}

std::string Index::Describe(int symbol) const {
  const Symbol& s = symbols_.at(symbol);
  std::string text = fmt::format("{} `{}`", KindName(s.kind), s.name);
  if (s.kind == SymbolKind::Builtin) return fmt::format("built-in function `{}`", s.detail);
  if (!s.type.empty() && s.kind != SymbolKind::Tier) text += ": " + s.type;
  if (s.kind == SymbolKind::Field || (s.kind == SymbolKind::BuiltinField && s.owner != "client"))
    text += fmt::format(" of event `{}`", s.owner);
  if (s.kind == SymbolKind::BuiltinField && s.owner == "client") text += " of the client";
  return text;
}

}  // namespace perk::query
