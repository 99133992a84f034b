// Tracing a rule's decision and rendering it (`:explain` in `perk repl`, missed entries in
// `perk test`).
#include "cli/explain.h"

#include <fmt/format.h>

#include <algorithm>

#include "runtime/engine.h"
#include "runtime/interp.h"
#include "stdlib/stdlib.h"

namespace perk::repl {
namespace {

std::string Plural(size_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

// Walks `e` as the interpreter would, recording each sub-expression's value; parts that
// short-circuiting skips are listed as not evaluated.
void ExplainExpr(const checked::Expr& e, const runtime::EvalContext& ctx, const SourceLines& source, int depth, bool reached,
                 std::vector<ExplainLine>* out, Value* result = nullptr, bool* ok = nullptr,
                 const std::string& parent = "") {
  using K = checked::ExprKind;
  // Widenings the checker inserted show as their operand.
  if (e.kind == K::Op && e.op == OpCode::WidenInt && e.args.size() == 1) {
    ExplainExpr(e.args[0], ctx, source, depth, reached, out, nullptr, nullptr, parent);
    if (result || ok) {
      Value v;
      SourceRange where;
      PerkStatus s = runtime::Eval(e, ctx, &v, &where);
      if (ok) *ok = s == PERK_OK;
      if (result) *result = v;
    }
    return;
  }
  Value v;
  bool good = false;
  std::string value = "not evaluated";
  if (reached) {
    SourceRange where;
    PerkStatus s = runtime::Eval(e, ctx, &v, &where);
    good = s == PERK_OK;
    value = good ? FormatValue(*ctx.program, e.type, v) : "error: " + EvalErrorText(s);
  }
  if (result) *result = v;
  if (ok) *ok = good;
  std::string text = ExprText(source, e);
  // Arguments the checker supplies (`anniversary` reads today) carry their call's range.
  if (e.kind == K::Now) text = "now";
  if (e.kind == K::Today) text = "today";
  // Literals speak for themselves below the top, and a part written as its whole
  // (parentheses) is not repeated.
  bool shown = !(depth > 0 && e.kind == K::Const) && !(depth > 0 && text == parent);
  if (shown) out->push_back({depth, text, value, reached});
  int child = shown ? depth + 1 : depth;
  const std::string& whole = shown ? text : parent;
  switch (e.kind) {
    case K::And:
    case K::Or: {
      Value left;
      bool left_ok = false;
      ExplainExpr(e.args[0], ctx, source, child, reached, out, &left, &left_ok, whole);
      bool goes_on = reached && left_ok && ((e.kind == K::And) == (left.i != 0));
      ExplainExpr(e.args[1], ctx, source, child, goes_on, out, nullptr, nullptr, whole);
      break;
    }
    case K::If: {
      Value c;
      bool c_ok = false;
      ExplainExpr(e.args[0], ctx, source, child, reached, out, &c, &c_ok, whole);
      ExplainExpr(e.args[1], ctx, source, child, reached && c_ok && c.i != 0, out, nullptr, nullptr, whole);
      ExplainExpr(e.args[2], ctx, source, child, reached && c_ok && c.i == 0, out, nullptr, nullptr, whole);
      break;
    }
    case K::Aggregate: break;
    default:
      for (const auto& a : e.args) ExplainExpr(a, ctx, source, child, reached, out, nullptr, nullptr, whole);
  }
}

}  // namespace

std::string EvalErrorText(PerkStatus s) { return s == PERK_DIV_BY_ZERO ? "division by zero" : "arithmetic overflow"; }

std::string WindowText(const checked::Window& w) {
  if (w.unit == checked::WindowUnit::All) return "";
  const char* unit = w.unit == checked::WindowUnit::Minute ? "minute"
                     : w.unit == checked::WindowUnit::Hour  ? "hour"
                     : w.unit == checked::WindowUnit::Month ? "month"
                     : w.unit == checked::WindowUnit::Year  ? "year"
                                                            : "day";
  const char* previous = w.previous ? "previous " : "";
  if (w.unit == checked::WindowUnit::Day && w.count % 7 == 0)
    return fmt::format(" within {}{}", previous, Plural(w.count / 7, "week", "weeks"));
  return fmt::format(" within {}{} {}{}", previous, w.count, unit, w.count == 1 ? "" : "s");
}


RuleTrace TraceRule(const checked::Program& p, const SourceLines& source, int rule_index, const runtime::EvalContext& ctx,
                    uint64_t seq_before) {
  const checked::Rule& rule = p.rules[rule_index];
  RuleTrace t;
  t.rule = rule_index;
  t.client = ctx.client->id;
  t.seq_before = seq_before;
  switch (rule.trigger) {
    case checked::TriggerKind::Event:
      t.trigger = fmt::format("on {} ({})", p.events[rule.event].name, ctx.event ? ctx.event->id : "?");
      break;
    case checked::TriggerKind::Reversed:
      t.trigger = fmt::format("on {} reversed ({})", p.events[rule.event].name, ctx.event ? ctx.event->id : "?");
      break;
    case checked::TriggerKind::TierChanged:
      t.trigger = fmt::format("on tier_changed ({} -> {})", p.tiers[ctx.previous_tier].name, p.tiers[ctx.client->tier()].name);
      break;
    case checked::TriggerKind::EveryDay: t.trigger = fmt::format("every day ({})", stdlib::FormatDate(ctx.today)); break;
    case checked::TriggerKind::EveryWeek: t.trigger = fmt::format("every week ({})", stdlib::FormatDate(ctx.today)); break;
    case checked::TriggerKind::EveryMonth: t.trigger = fmt::format("every month ({})", stdlib::FormatDate(ctx.today)); break;
    case checked::TriggerKind::Entering:
    case checked::TriggerKind::Leaving:
      t.trigger = fmt::format("on {} {}", rule.trigger == checked::TriggerKind::Entering ? "entering" : "leaving",
                              p.segments[rule.segment].name);
      break;
  }
  if (rule.has_limit) {
    const int64_t used = runtime::LimitUsed(p, rule_index, ctx);
    t.limit_ok = used < rule.limit_count;
    bool once = rule.limit_count == 1 && rule.limit_window.unit == checked::WindowUnit::All;
    // A keyed limit shows the use under this event's key.
    const std::string per = rule.limit_key ? "per key" : "per client";
    t.limit = once ? fmt::format("limit once {}: {} used", per, used)
                   : fmt::format("limit {} {}{}: {} used", rule.limit_count, per, WindowText(rule.limit_window), used);
  }
  if (rule.when) {
    t.has_when = true;
    if (t.limit_ok) {
      Value v;
      bool ok = false;
      ExplainExpr(*rule.when, ctx, source, 0, true, &t.when, &v, &ok);
      t.when_value = t.when.empty() ? (ok ? FormatValue(p, Type::Bool, v) : "error") : t.when.front().value;
    }
  }
  return t;
}

void AttributeEffects(std::vector<RuleTrace>& traces, const std::vector<EntryView>& entries) {
  // Each rule's effects are the entries it wrote before the next rule was considered.
  for (size_t k = 0; k < traces.size(); ++k) {
    const uint64_t end = k + 1 < traces.size() ? traces[k + 1].seq_before : UINT64_MAX;
    for (const EntryView& v : entries) {
      const auto seq = static_cast<uint64_t>(v.seq);
      if (seq > traces[k].seq_before && seq <= end && v.rule_index == traces[k].rule)
        traces[k].effects.push_back(v.action + " " + v.details);
    }
  }
}

std::string RenderTrace(const checked::Program& p, const RuleTrace& t, bool color, int indent) {
  const std::string pad(indent, ' ');
  const checked::Rule& rule = p.rules[t.rule];
  std::string out = "\n" + pad + Paint(color, style::kBold, "rule " + rule.name) +
                    (rule.label.empty() ? "" : " " + stdlib::JsonQuote(rule.label)) + " " + t.trigger + ", client " +
                    t.client + "\n";
  if (!t.limit.empty()) {
    out += pad + "  " + t.limit + " -> " + (t.limit_ok ? Paint(color, style::kGreen, "ok") : Paint(color, style::kRed, "reached")) +
           "\n";
  }
  std::string verdict;
  if (!t.limit_ok) {
    verdict = Paint(color, style::kYellow, "not run: its limit is reached");
  } else {
    if (t.has_when) {
      bool holds = t.when_value == "true";
      bool failed = t.when_value.rfind("error", 0) == 0;
      out += pad + "  when -> " + Paint(color, holds ? style::kGreen : style::kRed, t.when_value) + "\n";
      for (const auto& l : t.when) {
        std::string value = l.reached ? l.value : Paint(color, style::kDim, l.value);
        out += fmt::format("{}    {}{}  = {}\n", pad, std::string(2 * l.depth, ' '), l.text, value);
      }
      if (failed) verdict = Paint(color, style::kRed, "stopped: the error rejects the whole record");
      else if (!holds) verdict = Paint(color, style::kYellow, "not run: `when` does not hold");
    }
    if (verdict.empty()) {
      bool skipped = std::any_of(t.effects.begin(), t.effects.end(), [](const std::string& e) { return e.rfind("skip", 0) == 0; });
      verdict = t.effects.empty() ? Paint(color, style::kGreen, "fired, with no effect")
                : skipped         ? Paint(color, style::kYellow, "fired, stopped by its budget")
                                  : Paint(color, style::kGreen, "fired");
    }
  }
  out += pad + "  " + verdict + "\n";
  for (const auto& e : t.effects) out += pad + "    " + e + "\n";
  return out;
}

}  // namespace perk::repl
