// The analysis report as text for people and as JSON for tools.
#include <fmt/format.h>

#include "analyze/analyze.h"
#include "stdlib/stdlib.h"

namespace perk::analyze {

namespace {

using stdlib::JsonQuote;

std::string AmountText(const checked::Program& program, Type type, const std::string& unit, int64_t v) {
  if (type == Type::Money) return fmt::format("{} {}", stdlib::FormatMoney(v), program.currency);
  return fmt::format("{} {}", v, unit);
}

std::string AmountJson(Type type, int64_t v) {
  return type == Type::Money ? fmt::format("\"{}\"", stdlib::FormatMoney(v)) : std::to_string(v);
}

std::string BoundJson(const Bound& b, Type type) {
  const char* state = b.state == Bound::State::Bounded ? "bounded" : b.state == Bound::State::Unbounded ? "unbounded" : "unknown";
  std::string amount = b.bounded() ? AmountJson(type, b.value) : "null";
  return fmt::format("{{\"state\":\"{}\",\"amount\":{},\"window\":{},\"why\":{}}}", state, amount, JsonQuote(b.window),
                     JsonQuote(b.why));
}

Type WalletType(const checked::Program& program, const std::string& name) {
  for (const auto& w : program.wallets)
    if (w.name == name) return w.type;
  return Type::Money;
}

}  // namespace

std::string BoundText(const checked::Program& program, const Bound& b, Type type, const std::string& unit, bool windowed) {
  switch (b.state) {
    case Bound::State::Bounded: {
      std::string s = "at most " + AmountText(program, type, unit, b.value);
      if (windowed) s += b.window.empty() ? " for ever" : " per " + b.window;
      return s + " (" + b.why + ")";
    }
    case Bound::State::Unbounded: return "unbounded: " + b.why;
    case Bound::State::Unknown: return "unknown: " + b.why;
  }
  return "";
}

std::string RenderText(const checked::Program& program, const Report& report, const std::string& filename) {
  std::string out = fmt::format("analysis of {} (\"{}\", {} rule{})\n", filename, program.name, program.rules.size(),
                                program.rules.size() == 1 ? "" : "s");
  if (!report.payouts.empty()) {
    out += "\npayouts (worst case)\n";
    for (const Payout& p : report.payouts) {
      out += fmt::format("  rule {} credits {} ({}:{}:{})\n", p.rule, p.wallet, filename, p.range.line, p.range.column);
      out += fmt::format("    per firing: {}", BoundText(program, p.per_firing, p.type, p.wallet, false));
      if (p.witness >= 0) out += fmt::format("; reached by witness {}", report.witnesses[p.witness].name);
      out += "\n";
      out += fmt::format("    per client: {}\n", BoundText(program, p.per_client, p.type, p.wallet, true));
      out += fmt::format("    campaign:   {}\n", BoundText(program, p.campaign, p.type, p.wallet, true));
    }
    out += "\ntotals (campaign)\n";
    for (const auto& [wallet, b] : report.wallet_totals)
      out += fmt::format("  {}: {}\n", wallet, BoundText(program, b, WalletType(program, wallet), wallet, true));
    out += fmt::format("  program (money and priced points): {}\n",
                       BoundText(program, report.program_total, Type::Money, "", true));
  }
  out += "\nfindings\n";
  int warnings = 0;
  for (const Finding& f : report.findings) {
    const FindingKindInfo& info = Info(f.kind);
    if (std::string_view(info.severity) == "warning") ++warnings;
    out += fmt::format("{}:{}:{}: {}: {} [{}]\n", filename, f.range.line, f.range.column, info.severity, f.message, info.code);
    if (f.witness >= 0) out += fmt::format("  witness: {}\n", report.witnesses[f.witness].name);
  }
  out += fmt::format("{} finding{} ({} warning{}); {} solver quer{}, {} unknown\n", report.findings.size(),
                     report.findings.size() == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s", report.queries,
                     report.queries == 1 ? "y" : "ies", report.unknowns);
  return out;
}

std::string RenderJson(const checked::Program& program, const Report& report, const std::string& filename) {
  std::string out = fmt::format("{{\"file\":{},\"program\":{},\"payouts\":[", JsonQuote(filename), JsonQuote(program.name));
  for (size_t i = 0; i < report.payouts.size(); ++i) {
    const Payout& p = report.payouts[i];
    out += fmt::format(
        "{}{{\"rule\":{},\"wallet\":{},\"line\":{},\"column\":{},\"per_firing\":{},\"per_client\":{},\"campaign\":{},"
        "\"reached\":{},\"witness\":{}}}",
        i ? "," : "", JsonQuote(p.rule), JsonQuote(p.wallet), p.range.line, p.range.column, BoundJson(p.per_firing, p.type),
        BoundJson(p.per_client, p.type), BoundJson(p.campaign, p.type), p.reached ? "true" : "false",
        p.witness >= 0 ? JsonQuote(report.witnesses[p.witness].name) : "null");
  }
  out += "],\"totals\":{\"wallets\":{";
  for (size_t i = 0; i < report.wallet_totals.size(); ++i) {
    const auto& [wallet, b] = report.wallet_totals[i];
    out += fmt::format("{}{}:{}", i ? "," : "", JsonQuote(wallet), BoundJson(b, WalletType(program, wallet)));
  }
  out += fmt::format("}},\"program\":{}}},\"findings\":[", BoundJson(report.program_total, Type::Money));
  for (size_t i = 0; i < report.findings.size(); ++i) {
    const Finding& f = report.findings[i];
    const FindingKindInfo& info = Info(f.kind);
    out += fmt::format("{}{{\"code\":\"{}\",\"kind\":\"{}\",\"severity\":\"{}\",\"line\":{},\"column\":{},\"rule\":{},"
                       "\"message\":{},\"witness\":{}}}",
                       i ? "," : "", info.code, info.name, info.severity, f.range.line, f.range.column,
                       f.rule.empty() ? "null" : JsonQuote(f.rule), JsonQuote(f.message),
                       f.witness >= 0 ? JsonQuote(report.witnesses[f.witness].name) : "null");
  }
  out += fmt::format("],\"queries\":{},\"unknowns\":{}}}\n", report.queries, report.unknowns);
  return out;
}

std::string ClaimsJson(const Witness& w) {
  std::string out = fmt::format("{{\"about\":{},\"claims\":[", JsonQuote(w.about));
  for (size_t i = 0; i < w.claims.size(); ++i) {
    const Claim& c = w.claims[i];
    out += fmt::format("{}{{\"present\":{},\"rule\":{},\"action\":{},\"wallet\":{},\"amount\":{}}}", i ? "," : "",
                       c.present ? "true" : "false", JsonQuote(c.rule), JsonQuote(c.action), JsonQuote(c.wallet),
                       JsonQuote(c.amount));
  }
  return out + "]}\n";
}

}  // namespace perk::analyze
