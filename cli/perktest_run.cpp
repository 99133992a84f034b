// One scenario on one engine: feeds its records, and at each group of expectations checks the
// entries written since the previous group, the rejects, and the clients' state.
#include "cli/perktest_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "cli/explain.h"
#include "cli/repl_input.h"
#include "compiler/diagnostics.h"
#include "runtime/interp.h"
#include "stdlib/stdlib.h"

namespace perk::perktest {
namespace {

using runtime::LedgerAction;

bool HasAmount(LedgerAction a) {
  return a == LedgerAction::Credit || a == LedgerAction::Debit || a == LedgerAction::Skip || a == LedgerAction::Release ||
         a == LedgerAction::Expire;
}

int ScaleOf(Type t) { return t == Type::Money ? 2 : t == Type::Decimal ? 6 : 0; }

// An amount as written in an expectation, in the fixed-point units of `type`: `75`, `75.00`,
// `+75.00`, `75.00USD`; debits and expiries may carry the `-` the REPL shows.
std::optional<int64_t> ParseAmount(std::string text, Type type, const checked::Program& p, bool allow_minus,
                                   std::string* error) {
  if (!p.currency.empty() && text.size() > p.currency.size() &&
      text.compare(text.size() - p.currency.size(), p.currency.size(), p.currency) == 0) {
    text.resize(text.size() - p.currency.size());
  }
  if (!text.empty() && (text[0] == '+' || (allow_minus && text[0] == '-'))) text.erase(0, 1);
  if (type == Type::Decimal && !text.empty() && text.back() == '%') {
    text.pop_back();
    auto v = stdlib::ParseScaled(text, 4, true, false, error);
    return v;
  }
  return stdlib::ParseScaled(text, ScaleOf(type), true, false, error);
}

// Whether `value` of `type` is what `expected` says: numbers compared exactly in their own
// units, other values by their text (quotes optional).
bool SameValue(const checked::Program& p, Type type, const Value& value, const std::string& expected) {
  if (type == Type::Int || type == Type::Money || type == Type::Decimal) {
    std::string error;
    auto v = ParseAmount(expected, type, p, true, &error);
    if (v && !expected.empty() && expected[0] == '-') *v = -*v;
    return v && *v == value.i;
  }
  std::string text = repl::FormatValue(p, type, value);
  if (text == expected) return true;
  return text.size() >= 2 && text.front() == '"' && text.back() == '"' && text.substr(1, text.size() - 2) == expected;
}

template <typename List>
int IndexOf(const List& list, std::string_view name) {
  for (size_t k = 0; k < list.size(); ++k)
    if (list[k].name == name) return static_cast<int>(k);
  return -1;
}
template <typename List>
std::vector<std::string> NamesOf(const List& list) {
  std::vector<std::string> out;
  for (const auto& x : list) out.push_back(x.name);
  return out;
}

// ---- what the engine wrote ----

struct Written {
  repl::EntryView view;
  LedgerAction action = LedgerAction::Credit;
  std::string target, from, to, client, rule;
  Type amount_type = Type::Int;
  int64_t amount = 0;
  bool member = false;
  Type value_type = Type::Error;  // set: the value written
  Value value;
  uint32_t line = 0;  // the scenario line of the record that caused it (0: a clock advance)
};

struct Rejected {
  uint32_t line = 0;
  std::string message;
};

struct Collector final : runtime::Sink {
  const checked::Program* program = nullptr;
  uint32_t line = 0;  // the record being fed
  std::vector<Written> entries;
  std::vector<Rejected> rejects;
  void Entry(const runtime::LedgerEntry& e) override {
    Written w;
    w.view = repl::ViewEntry(e, *program);
    w.action = e.action;
    w.target = e.action == LedgerAction::Tier ? std::string(e.to) : std::string(e.target);
    w.from = e.from;
    w.to = e.to;
    w.client = e.client;
    w.rule = e.rule_name;
    w.amount_type = e.amount_type;
    w.amount = e.amount;
    w.member = e.member;
    if (e.action == LedgerAction::Set && !e.values.empty()) {
      w.value_type = e.values[0].type;
      w.value = *e.values[0].value;
    }
    w.line = line;
    entries.push_back(std::move(w));
  }
  void Outcome(const runtime::RecordOutcome& o) override {
    using runtime::RecordStatus;
    if (o.status == RecordStatus::Accepted) return;
    std::string message = o.status == RecordStatus::Duplicate
                              ? fmt::format("duplicate: id `{}` was already processed", o.id)
                              : std::string(o.message);
    rejects.push_back({static_cast<uint32_t>(o.line), std::move(message)});
  }
};

std::string EntryText(const Written& w) {
  std::string out = w.view.action + " " + w.view.details + " to " + w.client;
  if (!w.rule.empty()) out += " by " + w.rule;
  return out;
}

bool Matches(const EffectPattern& p, const Written& w, const checked::Program& program) {
  if (p.action && *p.action != w.action) return false;
  if (p.target && p.target->text != w.target) return false;
  if (p.from && p.from->text != w.from) return false;
  if (p.joined && *p.joined != w.member) return false;
  if (p.client && p.client->text != w.client) return false;
  if (p.rule && p.rule->text != w.rule) return false;
  if (p.value) {
    if (HasAmount(w.action)) {
      std::string error;
      auto v = ParseAmount(p.value->text, w.amount_type, program, true, &error);
      if (!v || *v != w.amount) return false;
    } else if (w.action == LedgerAction::Set) {
      if (!SameValue(program, w.value_type, w.value, p.value->text)) return false;
    }
  }
  return true;
}

// The rules whose actions could write what `p` asks for: the rule it names, or those with an
// action of its kind on its target.
bool ActionsWrite(const std::vector<checked::Action>& actions, const EffectPattern& p, const checked::Program& program) {
  for (const auto& a : actions) {
    if (ActionsWrite(a.then_actions, p, program) || ActionsWrite(a.else_actions, p, program)) return true;
    std::string target;
    LedgerAction kind = LedgerAction::Credit;
    switch (a.kind) {
      case checked::ActionKind::Credit: kind = LedgerAction::Credit, target = program.wallets[a.target].name; break;
      case checked::ActionKind::Debit: kind = LedgerAction::Debit, target = program.wallets[a.target].name; break;
      case checked::ActionKind::Set: kind = LedgerAction::Set, target = program.vars[a.target].name; break;
      case checked::ActionKind::Notify: kind = LedgerAction::Notify, target = a.name; break;
      case checked::ActionKind::Grant: kind = LedgerAction::Grant, target = a.name; break;
      case checked::ActionKind::Emit: kind = LedgerAction::Emit, target = a.name; break;
      case checked::ActionKind::Send: kind = LedgerAction::Send, target = a.name; break;
      case checked::ActionKind::If: continue;
    }
    // A credit can also show up as a skip when a budget stops it.
    bool same_kind = kind == *p.action || (kind == LedgerAction::Credit && *p.action == LedgerAction::Skip);
    if (same_kind && (!p.target || p.target->text == target)) return true;
  }
  return false;
}

std::string TriggerText(const checked::Program& p, const checked::Rule& r) {
  switch (r.trigger) {
    case checked::TriggerKind::Event: return "on " + p.events[r.event].name;
    case checked::TriggerKind::Reversed: return "on " + p.events[r.event].name + " reversed";
    case checked::TriggerKind::TierChanged: return "on tier_changed";
    case checked::TriggerKind::EveryDay: return "every day";
    case checked::TriggerKind::EveryWeek: return "every week";
    case checked::TriggerKind::EveryMonth: return "every month";
    case checked::TriggerKind::Entering: return "on entering " + p.segments[r.segment].name;
    case checked::TriggerKind::Leaving: return "on leaving " + p.segments[r.segment].name;
  }
  return "";
}

struct Traced {
  size_t group = 0;
  repl::RuleTrace trace;
};

class Runner {
 public:
  Runner(const Scenario& s, const LoadedProgram& lp, runtime::EngineKind kind, bool explain)
      : s_(s), lp_(lp), p_(*lp.program), explain_(explain) {
    engine_ = std::make_unique<runtime::Engine>(p_, kind == runtime::EngineKind::Jit ? lp.jit.get() : nullptr);
    sink_.program = &p_;
    engine_->AddSink(&sink_);
    if (explain_) {
      engine_->SetRuleObserver([this](int rule, const runtime::EvalContext& ctx, std::string_view, uint64_t) {
        pending_.push_back({group_, repl::TraceRule(p_, lp_.lines, rule, ctx, engine_->seq())});
      });
    }
  }

  RunResult Run() {
    for (size_t k = 0; k < s_.steps.size();) {
      if (s_.steps[k].is_record) {
        if (!Feed(s_.steps[k].record)) break;
        ++k;
        continue;
      }
      size_t end = k;
      while (end < s_.steps.size() && !s_.steps[end].is_record) ++end;
      Group(k, end);
      k = end;
    }
    UnexpectedRejects(nullptr);
    for (const Written& w : sink_.entries) out_.ledger.push_back(w.view.trigger + " " + EntryText(w));
    std::stable_sort(out_.failures.begin(), out_.failures.end(),
                     [](const Failure& a, const Failure& b) { return a.line < b.line; });
    return std::move(out_);
  }

 private:
  void Fail(uint32_t line, std::string headline, std::string detail = "", std::string explain = "") {
    out_.failures.push_back({line, fmt::format("line {}: {}", line, headline), std::move(detail), std::move(explain)});
  }

  // Runs `f` (which feeds the engine) and gives the rules it traced their effects.
  template <typename F>
  void Drive(uint32_t line, F f) {
    const size_t first = sink_.entries.size();
    sink_.line = line;
    f();
    engine_->ledger().clear();
    engine_->rejects().clear();
    if (!explain_) return;
    std::vector<repl::RuleTrace> traces;
    for (auto& t : pending_) traces.push_back(std::move(t.trace));
    std::vector<repl::EntryView> views;
    for (size_t k = first; k < sink_.entries.size(); ++k) views.push_back(sink_.entries[k].view);
    repl::AttributeEffects(traces, views);
    for (size_t k = 0; k < traces.size(); ++k) traced_.push_back({pending_[k].group, std::move(traces[k])});
    pending_.clear();
  }

  bool Feed(const Record& r) {
    std::string json = r.text;
    if (r.text.front() != '{') {
      repl::ShortFormContext ctx;
      if (engine_->has_clock()) ctx.clock = engine_->clock();
      ctx.default_time = ctx.clock.value_or(0);
      // Ids name the scenario line, so a ledger entry's trigger says which record wrote it.
      ctx.next_id = [&] { return fmt::format("line{}", r.pos.line); };
      repl::InputError error;
      auto form = repl::ParseShortForm(r.text, p_, ctx, &error);
      if (!form) {
        const uint32_t column = r.pos.column + (error.column > 0 ? error.column - 1 : 0);
        Fail(r.pos.line, fmt::format("column {}: {} [{}]", column, error.message, repl::ErrorCode(error.kind)));
        return false;
      }
      if (form->filled_time && !ctx.clock) {
        Fail(r.pos.line, "the scenario's first record needs a time: add `at 2026-01-05T10:00` (later ones default to the clock)");
        return false;
      }
      json = form->json;
    }
    Drive(r.pos.line, [&] { engine_->ProcessLine(json, r.pos.line); });
    return true;
  }

  // Rejects since the last group that no `expect reject` of `group` accounts for.
  void UnexpectedRejects(std::vector<const Expectation*>* expected) {
    for (size_t k = rejects_from_; k < sink_.rejects.size(); ++k) {
      const Rejected& r = sink_.rejects[k];
      bool claimed = false;
      if (expected) {
        for (auto it = expected->begin(); it != expected->end(); ++it) {
          const Expectation& e = **it;
          if (!e.reject_text || r.message.find(e.reject_text->text) != std::string::npos) {
            expected->erase(it);
            claimed = true;
            break;
          }
        }
      }
      if (!claimed) {
        Fail(r.line, fmt::format("the record was rejected: {}", r.message),
             "    (add `expect reject` after it if the scenario means it to be)\n");
      }
    }
    rejects_from_ = sink_.rejects.size();
  }

  void Group(size_t begin, size_t end) {
    // State first, in order: an `at` moves the clock, and what its day ticks write is part of
    // this group's window too.
    for (size_t k = begin; k < end; ++k) State(s_.steps[k].expect);
    const size_t window_end = sink_.entries.size();
    std::vector<const Expectation*> positive, rejects;
    for (size_t k = begin; k < end; ++k) {
      const Expectation& e = s_.steps[k].expect;
      if (e.kind == ExpectKind::Effect) positive.push_back(&e);
      if (e.kind == ExpectKind::Reject) rejects.push_back(&e);
    }
    // Rejects: expectations that name part of the message choose first.
    std::stable_partition(rejects.begin(), rejects.end(), [](const Expectation* e) { return e->reject_text.has_value(); });
    const bool any_reject = rejects_from_ < sink_.rejects.size();
    UnexpectedRejects(&rejects);
    for (const Expectation* e : rejects) {
      if (!any_reject) {
        Fail(e->pos.line, "expected a reject, but every record since the last expectations was accepted");
      } else if (e->reject_text) {
        Fail(e->pos.line, fmt::format("no reject left whose message holds \"{}\"", e->reject_text->text));
      } else {
        Fail(e->pos.line, "expected one more reject than the records since the last expectations gave");
      }
    }
    // Entries that must be written: the more specific expectations pick their entry first.
    std::stable_sort(positive.begin(), positive.end(), [](const Expectation* a, const Expectation* b) {
      return a->effect.Specificity() > b->effect.Specificity();
    });
    std::vector<int> used(window_end - window_start_, -1);  // which expectation took each entry
    std::vector<const Expectation*> missed;
    for (size_t x = 0; x < positive.size(); ++x) {
      bool found = false;
      for (size_t k = window_start_; k < window_end && !found; ++k) {
        if (used[k - window_start_] < 0 && Matches(positive[x]->effect, sink_.entries[k], p_)) {
          used[k - window_start_] = static_cast<int>(x);
          found = true;
        }
      }
      if (!found) missed.push_back(positive[x]);
    }
    std::sort(missed.begin(), missed.end(), [](auto* a, auto* b) { return a->pos.line < b->pos.line; });
    if (!missed.empty()) {
      std::string diff = Diff(missed, used, window_end);
      for (const Expectation* e : missed) {
        Fail(e->pos.line, fmt::format("expected entry not written: {}", e->text.substr(7)), diff, Explain(*e));
        diff.clear();  // one diff per group, under its first miss
      }
    }
    // Entries that must not be written, among those no expected entry took: three `expect
    // credit points 5` and an `expect no credit points 5` say "exactly three".
    for (size_t k = begin; k < end; ++k) {
      const Expectation& e = s_.steps[k].expect;
      if (e.kind != ExpectKind::NoEffect) continue;
      std::string found;
      for (size_t j = window_start_; j < window_end; ++j)
        if (used[j - window_start_] < 0 && Matches(e.effect, sink_.entries[j], p_)) found += "    + " + Described(sink_.entries[j]) + "\n";
      if (!found.empty()) Fail(e.pos.line, fmt::format("written, but expected not to be: {}", e.text.substr(10)), found);
    }
    window_start_ = window_end;
    ++group_;
  }

  std::string Described(const Written& w) const {
    std::string by = w.line > 0 ? fmt::format("line {}", w.line) : "the clock";
    if (w.view.trigger.rfind("day:", 0) == 0) by = "day tick " + w.view.trigger.substr(4);
    return fmt::format("{}    ({})", EntryText(w), by);
  }

  // Expected against written: `-` expected and not written, `+` written and not expected,
  // ` ` both.
  std::string Diff(const std::vector<const Expectation*>& missed, const std::vector<int>& used, size_t window_end) const {
    std::string out = window_start_ == window_end ? "    nothing was written since the last expectations\n"
                                                  : "    - expected, not written   + written, not expected\n";
    for (const Expectation* e : missed) out += fmt::format("    - {}    (line {})\n", e->text.substr(7), e->pos.line);
    // A long window is cut: the first entries show what happened.
    constexpr size_t kShown = 30;
    for (size_t k = window_start_; k < window_end && k < window_start_ + kShown; ++k) {
      const int x = used[k - window_start_];
      out += fmt::format("    {} {}\n", x < 0 ? "+" : " ", Described(sink_.entries[k]));
    }
    if (window_end - window_start_ > kShown) out += fmt::format("    ... and {} more entries\n", window_end - window_start_ - kShown);
    return out;
  }

  std::string Explain(const Expectation& e) const {
    if (!explain_ || !e.effect.action) return "";
    const EffectPattern& p = e.effect;
    if (*p.action == LedgerAction::Tier || *p.action == LedgerAction::Segment) {
      return "    tier and segment entries follow their conditions; check them with `expect client ID tier ...` or "
             "`in ...`\n";
    }
    std::vector<int> rules;
    for (size_t r = 0; r < p_.rules.size(); ++r) {
      if (p.rule ? p_.rules[r].name == p.rule->text : ActionsWrite(p_.rules[r].actions, p, p_)) rules.push_back(static_cast<int>(r));
    }
    if (rules.empty()) return fmt::format("    no rule of the program writes `{}{}`\n", runtime::LedgerActionName(*p.action),
                                          p.target ? " " + p.target->text : "");
    std::string out;
    for (int r : rules) {
      std::vector<const repl::RuleTrace*> seen;
      for (const Traced& t : traced_)
        if (t.group == group_ && t.trace.rule == r && (!p.client || t.trace.client == p.client->text)) seen.push_back(&t.trace);
      const checked::Rule& rule = p_.rules[r];
      if (seen.empty()) {
        out += fmt::format("    rule {} ({}) was not considered{} since the last expectations\n", rule.name,
                           TriggerText(p_, rule), p.client ? " for " + p.client->text : "");
        continue;
      }
      // The last few times it was considered are enough to see why.
      const size_t shown = std::min<size_t>(seen.size(), 3);
      if (seen.size() > shown) out += fmt::format("    rule {}: the last {} of {} times it was considered\n", rule.name, shown, seen.size());
      for (size_t k = seen.size() - shown; k < seen.size(); ++k) out += repl::RenderTrace(p_, *seen[k], false, 4);
    }
    return out;
  }

  void State(const Expectation& e) {
    switch (e.kind) {
      case ExpectKind::Balance:
      case ExpectKind::Var:
      case ExpectKind::Tier:
      case ExpectKind::InSegment:
      case ExpectKind::NotInSegment: break;
      default: return;
    }
    if (e.at) {
      std::string error;
      std::optional<int64_t> clock;
      if (engine_->has_clock()) clock = engine_->clock();
      auto t = repl::ParseWhen(e.at->text, clock, &error);
      if (!t) return Fail(e.pos.line, fmt::format("column {}: {}", e.at->pos.column, error));
      if (clock && *t < *clock) {
        return Fail(e.pos.line, fmt::format("column {}: the clock is already at {}; `at` only moves it forward",
                                            e.at->pos.column, stdlib::FormatTime(*clock)));
      }
      Drive(0, [&] { engine_->AdvanceTo(*t); });
    }
    const runtime::ClientState* c = engine_->FindClient(e.client.text);
    if (!c) return Fail(e.pos.line, fmt::format("client {} has sent no record yet", e.client.text));
    const std::string who = "client " + e.client.text;
    switch (e.kind) {
      case ExpectKind::Balance: {
        const int k = IndexOf(p_.wallets, e.name.text);
        const Type type = p_.wallets[k].type;
        const int64_t have = c->wallets()[k];
        if (!SameValue(p_, type, Value::Int(have), e.value.text)) {
          Fail(e.pos.line, fmt::format("{} balance {}: expected {}, found {}", who, e.name.text, e.value.text,
                                       repl::FormatValue(p_, type, Value::Int(have))));
        }
        break;
      }
      case ExpectKind::Var: {
        const int k = IndexOf(p_.vars, e.name.text);
        const Value have = c->var(k);
        if (!SameValue(p_, p_.vars[k].type, have, e.value.text)) {
          Fail(e.pos.line, fmt::format("{} var {}: expected {}, found {}", who, e.name.text, e.value.text,
                                       repl::FormatValue(p_, p_.vars[k].type, have)));
        }
        break;
      }
      case ExpectKind::Tier: {
        const std::string& have = p_.tiers[c->tier()].name;
        if (have != e.name.text) Fail(e.pos.line, fmt::format("{} tier: expected {}, found {}", who, e.name.text, have));
        break;
      }
      case ExpectKind::InSegment:
      case ExpectKind::NotInSegment: {
        const bool want = e.kind == ExpectKind::InSegment;
        if (c->segment(IndexOf(p_.segments, e.name.text)) != want) {
          Fail(e.pos.line, fmt::format("{} is {}in segment {}, expected {}", who, want ? "not " : "", e.name.text,
                                       want ? "in it" : "not to be"));
        }
        break;
      }
      default: break;
    }
  }

  const Scenario& s_;
  const LoadedProgram& lp_;
  const checked::Program& p_;
  bool explain_;
  std::unique_ptr<runtime::Engine> engine_;
  Collector sink_;
  size_t window_start_ = 0;
  size_t rejects_from_ = 0;
  size_t group_ = 0;
  std::vector<Traced> pending_;  // traced during the current feed
  std::vector<Traced> traced_;
  RunResult out_;
};

// A name that must be one of `names`, with a suggestion when it is not.
void NeedName(const Word& w, const std::vector<std::string>& names, const char* what, std::vector<ParseError>* out) {
  if (std::find(names.begin(), names.end(), w.text) != names.end()) return;
  std::string best = ClosestName(w.text, names);
  std::string hint = !best.empty()   ? fmt::format("; did you mean `{}`?", best)
                     : names.empty() ? fmt::format("; it declares no {}", what)
                                     : fmt::format("; its {}s are {}", what, fmt::join(names, ", "));
  out->push_back({w.pos, w.length, fmt::format("the program has no {} `{}`{}", what, w.text, hint)});
}

void NeedAmount(const Word& w, Type type, const checked::Program& p, std::vector<ParseError>* out) {
  std::string error;
  if (!ParseAmount(w.text, type, p, true, &error)) {
    out->push_back({w.pos, w.length,
                    fmt::format("`{}` is not an amount of a {} wallet: {}; write it like `{}`", w.text, TypeName(type), error,
                                type == Type::Money ? "75.00" : "75")});
  }
}

}  // namespace

std::vector<ParseError> Validate(const Scenario& s, const checked::Program& p) {
  std::vector<ParseError> out;
  for (const Step& step : s.steps) {
    if (step.is_record) continue;
    const Expectation& e = step.expect;
    const EffectPattern& x = e.effect;
    if (x.rule) NeedName(*x.rule, NamesOf(p.rules), "rule", &out);
    if (x.action && x.target) {
      switch (*x.action) {
        case LedgerAction::Credit:
        case LedgerAction::Debit:
        case LedgerAction::Skip:
        case LedgerAction::Release:
        case LedgerAction::Expire: NeedName(*x.target, NamesOf(p.wallets), "wallet", &out); break;
        case LedgerAction::Set: NeedName(*x.target, NamesOf(p.vars), "var", &out); break;
        case LedgerAction::Tier: NeedName(*x.target, NamesOf(p.tiers), "tier", &out); break;
        case LedgerAction::Segment: NeedName(*x.target, NamesOf(p.segments), "segment", &out); break;
        case LedgerAction::Send: NeedName(*x.target, NamesOf(p.events), "event", &out); break;
        default: break;
      }
    }
    if (x.from) NeedName(*x.from, NamesOf(p.tiers), "tier", &out);
    if (x.action && x.value && HasAmount(*x.action) && x.target) {
      const int k = IndexOf(p.wallets, x.target->text);
      if (k >= 0) NeedAmount(*x.value, p.wallets[k].type, p, &out);
    }
    switch (e.kind) {
      case ExpectKind::Balance: {
        NeedName(e.name, NamesOf(p.wallets), "wallet", &out);
        const int k = IndexOf(p.wallets, e.name.text);
        if (k >= 0) NeedAmount(e.value, p.wallets[k].type, p, &out);
        break;
      }
      case ExpectKind::Var: NeedName(e.name, NamesOf(p.vars), "var", &out); break;
      case ExpectKind::Tier: NeedName(e.name, NamesOf(p.tiers), "tier", &out); break;
      case ExpectKind::InSegment:
      case ExpectKind::NotInSegment: NeedName(e.name, NamesOf(p.segments), "segment", &out); break;
      default: break;
    }
  }
  return out;
}

RunResult RunScenario(const Scenario& scenario, const LoadedProgram& program, runtime::EngineKind kind, bool explain) {
  return Runner(scenario, program, kind, explain).Run();
}

}  // namespace perk::perktest
