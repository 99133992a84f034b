// `perk repl`: a session holds a program (a file plus declarations typed in), an engine, and
// the records accepted so far. Every change of program or engine builds a new engine and
// replays those records into it, so the state always equals what `perk run` gives for the
// current program over the session's records (docs/repl.md).
#include "cli/repl.h"

#include <fmt/format.h>
#include <simdjson.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "cli/common.h"
#include "cli/explain.h"
#include "cli/repl_input.h"
#include "cli/repl_terminal.h"
#include "stdlib/zone.h"
#include "cli/repl_view.h"
#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "runtime/records.h"
#include "stdlib/stdlib.h"

namespace perk::cli {
namespace {

using repl::Cell;
using repl::ErrorKind;
using repl::InputError;
using repl::InputKind;
using repl::Paint;
using repl::RuleTrace;
namespace style = repl::style;

// `text` as one shell word: as it is when it holds only safe characters, else in single quotes.
std::string ShellQuote(const std::string& text) {
  const bool safe = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_-=.,:/%+@", c) != nullptr;
  });
  if (safe) return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

const char* EngineName(runtime::EngineKind k) { return k == runtime::EngineKind::Jit ? "jit" : "interp"; }

std::string Plural(size_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

// One part of the program text: the file, a declaration typed earlier, or the one just typed.
// Diagnostics are shown against the part they fall in, with its own line numbers.
struct SourcePart {
  std::string name;
  uint32_t first_line = 1;
  uint32_t lines = 1;
  std::string text;
};

// What the engine hands out for the record being processed, typed (runtime/sink.h): its
// ledger entries as the REPL shows them, and its outcomes.
struct Collected final : runtime::Sink {
  struct Result {
    runtime::RecordStatus status;
    uint64_t line;
    std::string message;
  };
  const checked::Program* program = nullptr;
  std::vector<repl::EntryView> entries;
  std::vector<Result> outcomes;  // tick failures first, then the record's own
  void Entry(const runtime::LedgerEntry& e) override { entries.push_back(repl::ViewEntry(e, *program)); }
  void Outcome(const runtime::RecordOutcome& o) override { outcomes.push_back({o.status, o.line, std::string(o.message)}); }
  // The record's own outcome; null for a blank line.
  const Result* Own() const {
    return !outcomes.empty() && outcomes.back().status != runtime::RecordStatus::TickFailed ? &outcomes.back() : nullptr;
  }
  bool Accepted() const { return Own() && Own()->status == runtime::RecordStatus::Accepted; }
  // "accepted", "duplicate", or the reject message.
  std::string OutcomeText() const {
    if (const Result* own = Own(); own && own->status != runtime::RecordStatus::Rejected) return runtime::RecordStatusName(own->status);
    for (size_t k = outcomes.size(); k-- > 0;)
      if (!outcomes[k].message.empty()) return outcomes[k].message;
    return "rejected";
  }
};

// One entry of the session's ledger: its line as written, and as shown.
struct LedgerRow {
  std::string json;
  repl::EntryView view;
};

// A program and the engine running it. Declared in this order so the engine goes first.
struct Runner {
  std::string source;
  repl::SourceLines lines;  // the source split once, for expression texts
  std::vector<SourcePart> parts;
  std::unique_ptr<checked::Program> program;
  std::unique_ptr<runtime::Evaluator> evaluator;
  Collected collected;
  std::unique_ptr<runtime::Engine> engine;
  runtime::EngineKind kind = runtime::EngineKind::Interp;
  std::vector<LedgerRow> ledger;  // every ledger entry so far
};

// The id, client and type of a record line (each "" when absent or not a string).
struct RecordKeys {
  std::string type, id, client;
};
RecordKeys KeysOf(std::string_view json) {
  RecordKeys k;
  // One parser per thread: building one allocates, and the REPL reads a line per record.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) || !doc.is_object()) return k;
  std::string_view s;
  if (!doc["type"].get(s)) k.type = s;
  if (!doc["id"].get(s)) k.id = s;
  if (!doc["client"].get(s)) k.client = s;
  return k;
}

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> out;
  for (size_t s = 0; s < text.size();) {
    size_t e = text.find('\n', s);
    if (e == std::string::npos) e = text.size();
    if (e > s) out.push_back(text.substr(s, e - s));
    s = e + 1;
  }
  return out;
}

// Every aggregate the program uses, as (use index, text), one per distinct text.
void CollectAggregates(const checked::Expr& e, const repl::SourceLines& source, std::vector<std::pair<int, std::string>>* out) {
  if (e.kind == checked::ExprKind::Aggregate) {
    std::string text = repl::ExprText(source, e);
    if (std::none_of(out->begin(), out->end(), [&](const auto& p) { return p.second == text; })) out->emplace_back(e.index, text);
  }
  for (const auto& a : e.args) CollectAggregates(a, source, out);
}
void CollectAggregates(const std::vector<checked::Action>& actions, const repl::SourceLines& source,
                       std::vector<std::pair<int, std::string>>* out) {
  for (const auto& a : actions) {
    if (a.value) CollectAggregates(*a.value, source, out);
    for (const auto& d : a.data) CollectAggregates(d.value, source, out);
    CollectAggregates(a.then_actions, source, out);
    CollectAggregates(a.else_actions, source, out);
  }
}
std::vector<std::pair<int, std::string>> Aggregates(const checked::Program& p, const repl::SourceLines& source) {
  std::vector<std::pair<int, std::string>> out;
  for (const auto& t : p.tiers)
    if (t.when) CollectAggregates(*t.when, source, &out);
  for (const auto& s : p.segments) CollectAggregates(s.when, source, &out);
  for (const auto& r : p.rules) {
    if (r.when) CollectAggregates(*r.when, source, &out);
    CollectAggregates(r.actions, source, &out);
  }
  return out;
}

void CollectBadges(const std::vector<checked::Action>& actions, std::set<std::string>* out) {
  for (const auto& a : actions) {
    if (a.kind == checked::ActionKind::Grant) out->insert(a.name);
    CollectBadges(a.then_actions, out);
    CollectBadges(a.else_actions, out);
  }
}

// What an expression reads, to say why it cannot be evaluated yet.
void Reads(const checked::Expr& e, bool* client, bool* clock) {
  using K = checked::ExprKind;
  switch (e.kind) {
    case K::ClientField:
    case K::Wallet:
    case K::Var:
    case K::Segment:
    case K::CurrentTier:
    case K::HasBadge:
    case K::Pending:
    case K::Aggregate: *client = true; break;
    case K::Now:
    case K::Today: *clock = true; break;
    default: break;
  }
  for (const auto& a : e.args) Reads(a, client, clock);
}

runtime::InputSchema SchemaOf(const checked::Program& p) {
  runtime::InputSchema s;
  for (const auto& ev : p.events) {
    runtime::EventSpec es;
    es.name = ev.name;
    for (const auto& f : ev.fields) es.fields.push_back({f.name, f.type, f.has_default, f.default_value});
    s.events.push_back(std::move(es));
  }
  for (const auto& f : p.client_fields) s.client_fields.push_back({f.name, f.type, f.has_default, f.default_value});
  return s;
}

// ---- output ----

void Out(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}
void Err(const std::string& text) {
  std::fflush(stdout);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

constexpr const char* kEmptyProgram = "program \"repl\"\n";
constexpr size_t kSessionStackBytes = size_t{1} << 30;  // reserved, not committed
// As for program files: longer input is refused before it is parsed.
constexpr size_t kMaxInputBytes = 1 << 20;

class Session {
 public:
  explicit Session(const ReplOptions& o)
      : opts_(o), color_(isatty(fileno(stdout)) && !std::getenv("NO_COLOR")),
        err_color_(isatty(fileno(stderr)) && !std::getenv("NO_COLOR")) {}

  int Start();
  // Handles one complete input (possibly several lines).
  void Handle(InputKind kind, const std::string& text);
  bool done() const { return done_; }
  std::string Prompt() const {
    return current_client_.empty() ? "perk> " : fmt::format("perk[{}]> ", current_client_);
  }
  const checked::Program& program() const { return *run_->program; }
  std::vector<std::string> ClientIds() const {
    std::vector<std::string> ids;
    for (const auto& c : run_->engine->clients()) ids.push_back(c.id);
    return ids;
  }

 private:
  // Building programs.
  // Compiles a program from its parts, applies --param, and starts an engine on it. Prints
  // the diagnostics and returns null on failure (*bad_param set when a --param was the cause).
  std::unique_ptr<Runner> Build(const std::string& file_name, const std::string& file_source,
                                const std::vector<std::string>& typed, runtime::EngineKind kind, bool last_is_new,
                                bool show_old_warnings, bool* bad_param = nullptr);
  void RenderDiagnostics(const Diagnostics& diags, const std::vector<SourcePart>& parts, bool last_is_new,
                         bool show_old_warnings);
  void Install(std::unique_ptr<Runner> next, bool report);
  struct Replayed {
    std::vector<std::pair<uint64_t, std::string>> rejects;  // log line, error
  };
  Replayed Replay(Runner& r);

  // Records.
  void Feed(const std::string& json, bool echo);
  void ProcessOne(Runner& r, const std::string& json, uint64_t number, bool trace, std::string* ledger,
                  std::string* rejects);
  void Observe(Runner& r, int rule, const runtime::EvalContext& ctx);
  std::string NextId();
  int64_t DefaultTime() const;
  std::optional<int64_t> Clock() const {
    if (!run_->engine->has_clock()) return std::nullopt;
    return run_->engine->clock();
  }

  // Expressions.
  bool CheckExpr(const std::string& line, size_t offset, checked::Expr* out, checked::Program* extended,
                 std::optional<runtime::Record>* event);
  void Evaluate(const std::string& line, size_t offset);
  void AddDeclaration(const std::string& text);

  // Commands.
  void Command(const std::string& line);
  void CmdLoad(const std::string& line, const std::string& arg, size_t arg_col);
  void CmdReload();
  void CmdClients();
  void CmdClient(const std::string& line, const std::string& arg, size_t arg_col);
  void CmdLedger(const std::string& line, const std::string& arg, size_t arg_col);
  void CmdTick(const std::string& line, const std::string& arg, size_t arg_col);
  void CmdExplain();
  void CmdEngine(const std::string& line, const std::string& arg, size_t arg_col);
  void CmdSave(const std::string& line, const std::string& arg, size_t arg_col);
  void CmdHelp();

  // The name the program file's diagnostics go under.
  std::string BaseName() const { return file_source_ == kEmptyProgram ? "<repl>" : path_; }
  void Fail(const InputError& e, std::string_view line) { Err(repl::RenderInputError(e, line, err_color_)); }
  void Note(const std::string& text) { Out(Paint(color_, style::kDim, text) + "\n"); }

  ReplOptions opts_;
  bool color_;
  bool err_color_;
  bool done_ = false;

  std::string path_;         // the program file, "" when none
  std::string file_source_;  // its text (or a bare header)
  std::vector<std::string> typed_;
  std::unique_ptr<Runner> run_;
  runtime::EngineKind kind_ = runtime::EngineKind::Interp;

  std::vector<std::string> log_;  // accepted records, in order
  std::set<std::string> ids_;     // their ids
  std::string current_client_;
  // Per client, its last accepted event record: expressions read the current client's, also
  // after `:client ID` picks a client that was not the last to send one.
  std::unordered_map<std::string, std::string> last_event_;

  // The last record typed, for :explain.
  struct Last {
    bool any = false;
    std::string json;
    std::string outcome;  // "accepted", "duplicate", or the reject message
    std::vector<RuleTrace> traces;
  } last_;
  std::vector<RuleTrace>* traces_ = nullptr;  // where Observe writes, while tracing
  int next_id_ = 1;
};

std::unique_ptr<Runner> Session::Build(const std::string& file_name, const std::string& file_source,
                                       const std::vector<std::string>& typed, runtime::EngineKind kind,
                                       bool last_is_new, bool show_old_warnings, bool* bad_param) {
  auto r = std::make_unique<Runner>();
  r->kind = kind;
  uint32_t line = 1;
  auto add = [&](std::string name, const std::string& text) {
    SourcePart part{std::move(name), line, 1, text};
    part.lines = static_cast<uint32_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    r->source += text;
    r->source += '\n';
    line += part.lines;
    r->parts.push_back(std::move(part));
  };
  std::string base = file_source;
  if (!base.empty() && base.back() == '\n') base.pop_back();
  add(file_name, base);
  for (size_t k = 0; k < typed.size(); ++k) {
    bool is_new = last_is_new && k + 1 == typed.size();
    add(is_new ? "<input>" : fmt::format("<typed {}>", k + 1), typed[k]);
  }
  r->lines = repl::SplitSource(r->source);
  Diagnostics diags(file_name, r->source);
  r->program = CompileProgram(r->source, diags);
  RenderDiagnostics(diags, r->parts, last_is_new, show_old_warnings);
  if (!r->program) return nullptr;
  for (const auto& p : opts_.params) {
    auto eq = p.find('=');
    std::string error;
    if (eq == std::string::npos || !OverrideParam(*r->program, p.substr(0, eq), p.substr(eq + 1), &error)) {
      // OverrideParam's message already names the --param it is about.
      Err(fmt::format("perk: {}\n", eq == std::string::npos ? fmt::format("--param {}: write NAME=VALUE", p) : error));
      if (bad_param) *bad_param = true;
      return nullptr;
    }
  }
  std::string error;
  r->evaluator = runtime::CreateEvaluator(kind, *r->program, &error);
  if (!r->evaluator) {
    // Only the JIT can fail here; the reference interpreter runs every checked program.
    Err(repl::RenderInputError({ErrorKind::EngineUnavailable, 0, 1,
                                fmt::format("{}; using the reference interpreter (`interp`)", error)},
                               "", err_color_));
    r->kind = runtime::EngineKind::Interp;
    r->evaluator = runtime::CreateEvaluator(r->kind, *r->program, &error);
  }
  r->engine = std::make_unique<runtime::Engine>(*r->program, r->evaluator.get());
  r->collected.program = r->program.get();
  r->engine->AddSink(&r->collected);
  Runner* raw = r.get();
  r->engine->SetRuleObserver(
      [this, raw](int rule, const runtime::EvalContext& ctx, std::string_view, uint64_t) { Observe(*raw, rule, ctx); });
  return r;
}

void Session::RenderDiagnostics(const Diagnostics& diags, const std::vector<SourcePart>& parts, bool last_is_new,
                                bool show_old_warnings) {
  if (diags.all().empty()) return;
  auto part_of = [&](uint32_t line) -> size_t {
    for (size_t k = parts.size(); k-- > 0;)
      if (line >= parts[k].first_line) return k;
    return 0;
  };
  std::vector<std::unique_ptr<Diagnostics>> per(parts.size());
  for (const Diagnostic& d : diags.all()) {
    size_t k = part_of(d.range.line);
    bool is_new = last_is_new && k + 1 == parts.size();
    bool error = Info(d.kind).severity == Severity::Error;
    if (!error && !is_new && !show_old_warnings) continue;
    // Declarations typed one by one are unused until the rule that uses them comes.
    if (d.kind == DiagKind::UnusedDeclaration && k > 0) continue;
    if (!per[k]) per[k] = std::make_unique<Diagnostics>(parts[k].name, parts[k].text);
    SourceRange r = d.range;
    if (r.line > 0) r.line -= parts[k].first_line - 1;
    per[k]->Report(d.kind, r, d.message);
    for (const auto& [range, message] : d.notes) {
      size_t n = part_of(range.line);
      SourceRange nr = range;
      if (n == k) {
        if (nr.line > 0) nr.line -= parts[k].first_line - 1;
        per[k]->Note(nr, message);
      } else {
        per[k]->Note({0, 0, 1}, fmt::format("{} (at {}:{}:{})", message, parts[n].name,
                                            range.line - parts[n].first_line + 1, range.column));
      }
    }
  }
  std::string out;
  for (const auto& d : per)
    if (d) out += d->Render(err_color_);
  if (!out.empty()) Err(out);
}

Session::Replayed Session::Replay(Runner& r) {
  Replayed out;
  last_ = Last{};
  for (size_t k = 0; k < log_.size(); ++k) {
    std::string ledger, rejects;
    bool last = k + 1 == log_.size();
    ProcessOne(r, log_[k], k + 1, last, &ledger, &rejects);
    for (const auto& o : r.collected.outcomes)
      if (!o.message.empty()) out.rejects.emplace_back(o.line, o.message);
    if (last) {
      last_.any = true;
      last_.json = log_[k];
      last_.outcome = r.collected.OutcomeText();
    }
  }
  return out;
}

void Session::ProcessOne(Runner& r, const std::string& json, uint64_t number, bool trace, std::string* ledger,
                         std::string* rejects) {
  std::vector<RuleTrace> traces;
  traces_ = trace ? &traces : nullptr;
  r.collected.entries.clear();
  r.collected.outcomes.clear();
  r.engine->ProcessLine(json, number);
  traces_ = nullptr;
  *ledger = std::move(r.engine->ledger());
  r.engine->ledger().clear();
  *rejects = std::move(r.engine->rejects());
  r.engine->rejects().clear();
  // The JSONL writer wrote the entries it handed out, in the same order.
  std::vector<std::string> lines = SplitLines(*ledger);
  for (size_t k = 0; k < lines.size() && k < r.collected.entries.size(); ++k)
    r.ledger.push_back({std::move(lines[k]), r.collected.entries[k]});
  if (!trace) return;
  repl::AttributeEffects(traces, r.collected.entries);
  last_.traces = std::move(traces);
}

void Session::Observe(Runner& r, int rule_index, const runtime::EvalContext& ctx) {
  if (!traces_) return;
  traces_->push_back(repl::TraceRule(*r.program, r.lines, rule_index, ctx, r.engine->seq()));
}

void Session::Install(std::unique_ptr<Runner> next, bool report) {
  std::unique_ptr<Runner> old = std::move(run_);
  run_ = std::move(next);
  Replayed replayed = Replay(*run_);
  if (!report || !old) return;
  const checked::Program& was = *old->program;
  const checked::Program& now = *run_->program;
  std::vector<std::string> dropped;
  for (const auto& w : was.wallets) {
    auto it = std::find_if(now.wallets.begin(), now.wallets.end(), [&](const auto& x) { return x.name == w.name; });
    if (it == now.wallets.end()) dropped.push_back(fmt::format("wallet `{}` is gone", w.name));
    else if (it->type != w.type)
      dropped.push_back(fmt::format("wallet `{}` changed from {} to {}", w.name, TypeName(w.type), TypeName(it->type)));
  }
  for (const auto& v : was.vars) {
    auto it = std::find_if(now.vars.begin(), now.vars.end(), [&](const auto& x) { return x.name == v.name; });
    if (it == now.vars.end()) dropped.push_back(fmt::format("var `{}` is gone", v.name));
    else if (it->type != v.type)
      dropped.push_back(fmt::format("var `{}` changed from {} to {}", v.name, TypeName(v.type), TypeName(it->type)));
  }
  std::set<std::string> granted;
  for (const auto& r : now.rules) CollectBadges(r.actions, &granted);
  std::map<std::string, size_t> held;
  for (const auto& c : old->engine->clients())
    for (const auto& b : c.badges) ++held[b];
  for (const auto& [badge, count] : held)
    if (!granted.count(badge))
      dropped.push_back(fmt::format("badge `{}` ({}) is no longer granted", badge, Plural(count, "client", "clients")));
  auto new_aggs = Aggregates(now, run_->lines);
  for (const auto& [index, text] : Aggregates(was, old->lines))
    if (std::none_of(new_aggs.begin(), new_aggs.end(), [&](const auto& p) { return p.second == text; }))
      dropped.push_back(fmt::format("aggregate `{}` is no longer used", text));
  for (const auto& t : was.tiers)
    if (std::none_of(now.tiers.begin(), now.tiers.end(), [&](const auto& x) { return x.name == t.name; }))
      dropped.push_back(fmt::format("tier `{}` is gone", t.name));
  for (const auto& s : was.segments)
    if (std::none_of(now.segments.begin(), now.segments.end(), [&](const auto& x) { return x.name == s.name; }))
      dropped.push_back(fmt::format("segment `{}` is gone", s.name));
  if (!log_.empty()) {
    Note(fmt::format("  replayed {}: {} (was {})", Plural(log_.size(), "record", "records"),
                     Plural(run_->ledger.size(), "ledger entry", "ledger entries"), old->ledger.size()));
  }
  if (!dropped.empty()) {
    std::string text = "  dropped by the new program:\n";
    for (const auto& d : dropped) text += "    " + d + "\n";
    Out(Paint(color_, style::kYellow, text));
  }
  if (!replayed.rejects.empty()) {
    std::string text = "  records the new program rejects (kept in the session; `:save` still writes them):\n";
    for (const auto& [line, error] : replayed.rejects) text += fmt::format("    record {}: {}\n", line, error);
    Err(Paint(err_color_, style::kYellow, text));
  }
  if (!current_client_.empty() && !run_->engine->FindClient(current_client_)) current_client_.clear();
}

std::string Session::NextId() {
  std::string id;
  do id = fmt::format("repl-{}", next_id_++);
  while (ids_.count(id));
  return id;
}

int64_t Session::DefaultTime() const {
  if (auto c = Clock()) return *c;
  // Before any record there is no clock: start at the current minute, UTC.
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  return (now - now % 60) * stdlib::kMicrosPerSecond;
}

void Session::Feed(const std::string& json, bool echo) {
  // The record as sent, with what was filled in; on stderr under --json, whose stdout is the ledger.
  if (echo) {
    if (opts_.json) Err("  " + json + "\n");
    else Note("  " + json);
  }
  Runner& r = *run_;
  std::string ledger, rejects;
  ProcessOne(r, json, log_.size() + 1, true, &ledger, &rejects);
  const Collected& out = r.collected;
  last_.any = true;
  last_.json = json;
  RecordKeys keys = KeysOf(json);
  if (out.Own() && out.Own()->status == runtime::RecordStatus::Duplicate) {
    last_.outcome = "duplicate";
    last_.traces.clear();
    Note(fmt::format("  duplicate: id `{}` was already processed; nothing happened", keys.id));
    return;
  }
  bool accepted = out.Accepted();
  if (accepted) {
    last_.outcome = "accepted";
    log_.push_back(json);
    if (!keys.id.empty()) ids_.insert(keys.id);
    if (!keys.client.empty()) current_client_ = keys.client;
    if (keys.type != "tick" && keys.type != "profile") last_event_[keys.client] = json;
  }
  if (!accepted) last_.outcome = out.OutcomeText();
  if (opts_.json) {
    for (const auto& l : SplitLines(ledger)) Out(l + "\n");
    for (const auto& l : SplitLines(rejects)) Err(l + "\n");
    return;
  }
  if (!out.entries.empty()) Out(repl::RenderLedger(out.entries, color_));
  for (const auto& o : out.outcomes)
    if (!o.message.empty()) Err(Paint(err_color_, style::kRed, "  rejected: ") + o.message + "\n");
  if (accepted && out.entries.empty()) Note("  no effects");
}

bool Session::CheckExpr(const std::string& line, size_t offset, checked::Expr* out, checked::Program* extended,
                        std::optional<runtime::Record>* event) {
  // Spaces in place of a command keep the columns of diagnostics pointing into the line typed.
  std::string text = std::string(offset, ' ') + line.substr(offset);
  Diagnostics parse_diags("<input>", text);
  auto ast = ast::ParseExpression(text, parse_diags);
  int event_index = -1;
  if (auto it = last_event_.find(current_client_); it != last_event_.end()) {
    runtime::RecordDecoder decoder(SchemaOf(*run_->program));
    runtime::Record rec;
    std::string error;
    if (decoder.Decode(it->second, [](std::string_view) { return false; }, &rec, &error) == runtime::DecodeOutcome::Ok &&
        rec.kind == runtime::RecordKind::Event) {
      event_index = rec.event_index;
      *event = std::move(rec);
    }
  }
  std::optional<checked::Expr> x;
  if (ast) x = CheckExpression(*run_->program, *ast, event_index, parse_diags, extended);
  if (x) return (*out = std::move(*x), true);
  // Render against the line as typed.
  Diagnostics shown("<input>", line);
  bool scope = false;
  for (const auto& d : parse_diags.all()) {
    shown.Report(d.kind, d.range, d.message);
    scope |= d.kind == DiagKind::EventNotInScope;
  }
  std::string text_out = shown.Render(err_color_);
  if (scope) {
    text_out += Paint(err_color_, style::kCyan, "note:") +
                " an expression typed here may read the fields of the current client's last event only\n";
  }
  Err(text_out);
  return false;
}

void Session::Evaluate(const std::string& line, size_t offset) {
  checked::Expr e;
  checked::Program extended;
  std::optional<runtime::Record> event;
  if (!CheckExpr(line, offset, &e, &extended, &event)) return;
  bool client = false, clock = false;
  Reads(e, &client, &clock);
  if (client && current_client_.empty()) {
    return Fail({ErrorKind::NoClient, 0, 1,
                 "this reads client state and there is no current client; send a record or pick one with `:client ID`"},
                line);
  }
  if ((clock || client) && !run_->engine->has_clock()) {
    return Fail({ErrorKind::NoClock, 0, 1, "this reads the clock, and no record has set it yet; send a record or `:tick TIME`"},
                line);
  }
  const checked::Program& p = *run_->program;
  // Aggregates the program does not keep need their own buckets: replay the session into an
  // engine of the extended program to fill them.
  std::unique_ptr<runtime::Engine> shadow;
  const runtime::Engine* engine = run_->engine.get();
  if (extended.agg_slots.size() > p.agg_slots.size()) {
    shadow = std::make_unique<runtime::Engine>(extended);
    for (size_t k = 0; k < log_.size(); ++k) {
      shadow->ProcessLine(log_[k], k + 1);
      shadow->ledger().clear();
      shadow->rejects().clear();
    }
    engine = shadow.get();
  }
  runtime::ClientState blank = runtime::NewClient(extended, "", 0);
  const runtime::ClientState* state = current_client_.empty() ? &blank : engine->FindClient(current_client_);
  if (!state) state = &blank;
  runtime::EvalContext ctx;
  ctx.program = &extended;
  ctx.client = state;
  ctx.event = event ? &*event : nullptr;
  ctx.now = engine->has_clock() ? engine->clock() : 0;
  ctx.today = perk_tz_date(extended.zone, ctx.now);
  Value v;
  SourceRange where;
  PerkStatus s = runtime::Eval(e, ctx, &v, &where);
  if (s != PERK_OK) {
    return Fail({ErrorKind::RuntimeError, where.column, where.length, repl::EvalErrorText(s) + " here"}, line);
  }
  Out(fmt::format("{} {}\n", repl::FormatValue(extended, e.type, v), Paint(color_, style::kDim, fmt::format(": {}", TypeName(e.type)))));
}

void Session::AddDeclaration(const std::string& text) {
  std::string_view t = text;
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  if (t.rfind("program", 0) == 0) {
    return Fail({ErrorKind::ProgramRejected, static_cast<uint32_t>(text.size() - t.size() + 1), 7,
                 "a program's header comes from its file; load one with `:load FILE`"},
                text);
  }
  std::vector<std::string> typed = typed_;
  typed.push_back(text);
  auto next = Build(BaseName(), file_source_, typed, kind_, true, false);
  if (!next) {
    Err(repl::RenderInputError({ErrorKind::ProgramRejected, 0, 1, "not added; the program is unchanged"}, "", err_color_));
    return;
  }
  typed_ = std::move(typed);
  // Name what was added: the declaration's keyword and name.
  std::string head(t.substr(0, t.find_first_of("\n{")));
  std::vector<std::string> words;
  for (size_t s = 0; s < head.size();) {
    size_t e = head.find_first_of(" \t:=\"", s);
    if (e == std::string::npos) e = head.size();
    if (e > s) words.push_back(head.substr(s, e - s));
    if (words.size() == 2) break;
    s = e + 1;
  }
  std::string what = words.empty() ? "declaration" : words[0] == "client" ? "client attributes"
                     : words[0] == "currency" && words.size() == 2     ? "currency " + words[1]
                     : words.size() == 2                               ? fmt::format("{} `{}`", words[0], words[1])
                                                                       : words[0];
  Out(Paint(color_, style::kGreen, "  added " + what) + "\n");
  Install(std::move(next), true);
}

void Session::Handle(InputKind kind, const std::string& text) {
  if (text.size() > kMaxInputBytes) {
    return Fail({ErrorKind::InputTooLong, 0, 1,
                 fmt::format("this input is {} bytes; the REPL reads at most {} at once (`:load` a file instead)",
                             text.size(), kMaxInputBytes)},
                "");
  }
  switch (kind) {
    case InputKind::Empty: return;
    case InputKind::Command: return Command(text);
    case InputKind::Json: {
      // A record spread over lines is still one JSON Lines record.
      std::string one = text;
      std::replace(one.begin(), one.end(), '\n', ' ');
      return Feed(one, false);
    }
    case InputKind::ShortForm: {
      repl::ShortFormContext ctx;
      ctx.clock = Clock();
      ctx.default_time = DefaultTime();
      ctx.next_id = [this] { return NextId(); };
      InputError error;
      auto sf = repl::ParseShortForm(text, *run_->program, ctx, &error);
      if (!sf) return Fail(error, text);
      return Feed(sf->json, true);
    }
    case InputKind::Declaration: return AddDeclaration(text);
    case InputKind::Expression: return Evaluate(text, 0);
  }
}

// ---- commands ----

void Session::Command(const std::string& line) {
  size_t start = line.find(':');
  size_t end = line.find_first_of(" \t", start);
  std::string name = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
  size_t arg_at = end == std::string::npos ? line.size() : line.find_first_not_of(" \t", end);
  if (arg_at == std::string::npos) arg_at = line.size();
  std::string arg = line.substr(arg_at);
  while (!arg.empty() && std::isspace(static_cast<unsigned char>(arg.back()))) arg.pop_back();
  size_t arg_col = arg_at + 1;
  auto no_args = [&]() {
    if (arg.empty()) return true;
    Fail({ErrorKind::BadArguments, static_cast<uint32_t>(arg_col), static_cast<uint32_t>(arg.size()),
          fmt::format("`{}` takes no arguments", name)},
         line);
    return false;
  };
  if (name == ":quit" || name == ":q" || name == ":exit") {
    if (no_args()) done_ = true;
  } else if (name == ":help" || name == ":h" || name == ":?") {
    if (no_args()) CmdHelp();
  } else if (name == ":load") {
    CmdLoad(line, arg, arg_col);
  } else if (name == ":reload") {
    if (no_args()) CmdReload();
  } else if (name == ":clients") {
    if (no_args()) CmdClients();
  } else if (name == ":client") {
    CmdClient(line, arg, arg_col);
  } else if (name == ":ledger") {
    CmdLedger(line, arg, arg_col);
  } else if (name == ":tick") {
    CmdTick(line, arg, arg_col);
  } else if (name == ":explain") {
    if (no_args()) CmdExplain();
  } else if (name == ":type") {
    if (arg.empty()) {
      Fail({ErrorKind::BadArguments, 0, 1, "`:type` needs an expression: `:type count(deposit within 30 days)`"}, line);
      return;
    }
    checked::Expr e;
    checked::Program extended;
    std::optional<runtime::Record> event;
    if (CheckExpr(line, arg_at, &e, &extended, &event)) Out(fmt::format("{}\n", TypeName(e.type)));
  } else if (name == ":engine") {
    CmdEngine(line, arg, arg_col);
  } else if (name == ":save") {
    CmdSave(line, arg, arg_col);
  } else {
    std::vector<std::string> names;
    for (const auto& c : repl::Commands()) names.push_back(c.name);
    std::string best = ClosestName(name, names);
    Fail({ErrorKind::UnknownCommand, static_cast<uint32_t>(start + 1), static_cast<uint32_t>(name.size()),
          best.empty() ? fmt::format("`{}` is not a command; `:help` lists them", name)
                       : fmt::format("`{}` is not a command; did you mean `{}`? (`:help` lists them)", name, best)},
         line);
  }
}

void Session::CmdHelp() {
  std::string out = "Type a record, an expression, a declaration or a command.\n\n";
  out += "  records      {\"type\":\"deposit\",\"id\":\"d1\",\"client\":\"c1\",\"time\":\"2026-01-05T10:00:00Z\",\"amount\":\"250\"}\n";
  out += "               deposit c1 amount=250 first at 2026-01-05T10:00   (id and time filled in when left out)\n";
  out += "               profile c1 country=DE        tick 2026-01-06        times: 2026-01-05T10:00, 2026-01-05, +2h, +1d\n";
  out += "  expressions  count(deposit within 30 days)   evaluated for the current client, with their type\n";
  out += "  declarations wallet, var, param, event, client { }, tier, segment, rule ... end: added to the program\n\n";
  std::vector<std::vector<Cell>> rows;
  for (const auto& c : repl::Commands()) rows.push_back({{std::string(c.name) + (*c.args ? " " : "") + c.args, style::kCyan}, {c.help, ""}});
  out += repl::RenderTable({"command", "what it does"}, rows, {}, color_);
  out += "\nA line that leaves a declaration or expression unfinished continues on the next; an empty line ends it.\n";
  Out(out);
}

void Session::CmdLoad(const std::string& line, const std::string& arg, size_t arg_col) {
  if (arg.empty()) return Fail({ErrorKind::BadArguments, 0, 1, "`:load` needs a file: `:load program.perk`"}, line);
  std::string source;
  if (!ReadFile(arg, &source)) {
    return Fail({ErrorKind::FileError, static_cast<uint32_t>(arg_col), static_cast<uint32_t>(arg.size()),
                 fmt::format("cannot read `{}`", arg)},
                line);
  }
  auto next = Build(arg, source, {}, kind_, false, true);
  if (!next) {
    Err(repl::RenderInputError({ErrorKind::ProgramRejected, 0, 1, fmt::format("`{}` was not loaded; the program is unchanged", arg)},
                               "", err_color_));
    return;
  }
  path_ = arg;
  file_source_ = source;
  typed_.clear();
  const checked::Program& p = *next->program;
  Out(Paint(color_, style::kGreen, fmt::format("  loaded {}: {}, {}", arg, Plural(p.events.size(), "event", "events"),
                                               Plural(p.rules.size(), "rule", "rules"))) +
      "\n");
  Install(std::move(next), true);
}

void Session::CmdReload() {
  if (path_.empty()) {
    return Fail({ErrorKind::NoProgramFile, 0, 1, "there is no program file to read again; load one with `:load FILE`"}, "");
  }
  std::string source;
  if (!ReadFile(path_, &source)) return Fail({ErrorKind::FileError, 0, 1, fmt::format("cannot read `{}`", path_)}, "");
  auto next = Build(path_, source, typed_, kind_, false, true);
  if (!next) {
    Err(repl::RenderInputError({ErrorKind::ProgramRejected, 0, 1,
                                fmt::format("`{}` was not reloaded; the program is unchanged{}", path_,
                                            typed_.empty() ? "" : " (`:load` it to drop the declarations typed in)")},
                               "", err_color_));
    return;
  }
  file_source_ = source;
  Out(Paint(color_, style::kGreen, fmt::format("  reloaded {}", path_)) + "\n");
  Install(std::move(next), true);
}

void Session::CmdClients() {
  const auto& clients = run_->engine->clients();
  if (clients.empty()) return Note("  no clients yet");
  const checked::Program& p = *run_->program;
  std::vector<std::string> header = {"client", "since"};
  if (!p.tiers.empty()) header.push_back("tier");
  for (const auto& w : p.wallets) header.push_back(w.name);
  header.push_back("segments");
  header.push_back("badges");
  std::vector<std::vector<Cell>> rows;
  std::vector<bool> right = {false, false};
  if (!p.tiers.empty()) right.push_back(false);
  for (size_t k = 0; k < p.wallets.size(); ++k) right.push_back(true);
  for (const auto& c : clients) {
    std::vector<Cell> row = {{c.id, c.id == current_client_ ? style::kBold : ""}, {stdlib::FormatTime(c.since()), style::kDim}};
    if (!p.tiers.empty()) row.push_back({p.tiers[c.tier()].name, style::kCyan});
    for (size_t k = 0; k < p.wallets.size(); ++k)
      row.push_back({repl::FormatValue(p, p.wallets[k].type, Value::Int(c.wallets()[k])), ""});
    std::vector<std::string> segs;
    for (size_t k = 0; k < p.segments.size(); ++k)
      if (c.segment(k)) segs.push_back(p.segments[k].name);
    row.push_back({fmt::format("{}", fmt::join(segs, " ")), ""});
    row.push_back({fmt::format("{}", fmt::join(c.badges, " ")), ""});
    rows.push_back(std::move(row));
  }
  Out(repl::RenderTable(header, rows, right, color_));
}

void Session::CmdClient(const std::string& line, const std::string& arg, size_t arg_col) {
  std::string id = arg.empty() ? current_client_ : arg;
  if (id.empty()) return Fail({ErrorKind::NoClient, 0, 1, "there is no current client; name one: `:client c1`"}, line);
  const runtime::ClientState* c = run_->engine->FindClient(id);
  if (!c) {
    std::string best = ClosestName(id, ClientIds());
    return Fail({ErrorKind::UnknownClient, static_cast<uint32_t>(arg_col), static_cast<uint32_t>(std::max<size_t>(1, arg.size())),
                 fmt::format("no client `{}` in this session{}", id,
                             best.empty() ? "; `:clients` lists them" : fmt::format("; did you mean `{}`?", best))},
                line);
  }
  current_client_ = id;
  const checked::Program& p = *run_->program;
  std::vector<std::vector<Cell>> rows;
  auto add = [&](const std::string& what, std::string text, const char* st = "") { rows.push_back({{what, style::kBold}, {std::move(text), st}}); };
  add("client", fmt::format("{} (since {})", c->id, stdlib::FormatTime(c->since())));
  std::vector<std::string> attrs;
  for (size_t k = 0; k < p.client_fields.size(); ++k)
    attrs.push_back(k < c->attr_unset.size() && c->attr_unset[k]
                        ? fmt::format("{} unset", p.client_fields[k].name)
                        : fmt::format("{} = {}", p.client_fields[k].name, repl::FormatValue(p, p.client_fields[k].type, c->attrs[k])));
  if (!attrs.empty()) add("attributes", fmt::format("{}", fmt::join(attrs, ", ")));
  std::vector<std::string> wallets;
  for (size_t k = 0; k < p.wallets.size(); ++k)
    wallets.push_back(fmt::format("{} = {}", p.wallets[k].name, repl::FormatValue(p, p.wallets[k].type, Value::Int(c->wallets()[k]))));
  add("wallets", wallets.empty() ? "(none declared)" : fmt::format("{}", fmt::join(wallets, ", ")));
  std::vector<std::string> vars;
  for (size_t k = 0; k < p.vars.size(); ++k)
    vars.push_back(fmt::format("{} = {}", p.vars[k].name, repl::FormatValue(p, p.vars[k].type, c->var(k))));
  if (!vars.empty()) add("vars", fmt::format("{}", fmt::join(vars, ", ")));
  if (!p.tiers.empty()) {
    int64_t now = run_->engine->clock();
    std::vector<std::string> holds;
    for (size_t k = 1; k < p.tiers.size(); ++k)
      if (p.tiers[k].hold_micros > 0 && now < c->holds()[k])
        holds.push_back(static_cast<int64_t>(k) == c->tier()
                            ? fmt::format("held until {}", stdlib::FormatTime(c->holds()[k]))
                            : fmt::format("{} held until {}", p.tiers[k].name, stdlib::FormatTime(c->holds()[k])));
    add("tier", p.tiers[c->tier()].name + (holds.empty() ? "" : fmt::format(" ({})", fmt::join(holds, ", "))), style::kCyan);
  }
  if (!p.segments.empty()) {
    std::vector<std::string> segs;
    for (size_t k = 0; k < p.segments.size(); ++k)
      if (c->segment(k)) segs.push_back(p.segments[k].name);
    add("segments", segs.empty() ? "(none)" : fmt::format("{}", fmt::join(segs, ", ")));
  }
  add("badges", c->badges.empty() ? "(none)" : fmt::format("{}", fmt::join(c->badges, ", ")));
  auto aggs = Aggregates(p, run_->lines);
  runtime::EvalContext ctx;
  ctx.program = &p;
  ctx.client = c;
  ctx.now = run_->engine->clock();
  ctx.today = perk_tz_date(p.zone, ctx.now);
  for (size_t k = 0; k < aggs.size(); ++k) {
    Value v;
    PerkStatus s = runtime::EvalAggregate(p.aggregates[aggs[k].first], ctx, &v);
    std::string value = s == PERK_OK ? repl::FormatValue(p, p.aggregates[aggs[k].first].type, v) : "error: " + repl::EvalErrorText(s);
    rows.push_back({{k == 0 ? "aggregates" : "", style::kBold}, {fmt::format("{} = {}", aggs[k].second, value), ""}});
  }
  // Padded by hand: a width in fmt would count the colour codes.
  std::string out;
  for (const auto& row : rows) {
    std::string label = row[0].text + std::string(row[0].text.size() < 11 ? 11 - row[0].text.size() : 1, ' ');
    out += "  " + Paint(color_, row[0].style, label) + Paint(color_, row[1].style, row[1].text) + "\n";
  }
  Out(out);
}

void Session::CmdLedger(const std::string& line, const std::string& arg, size_t arg_col) {
  size_t n = 20;
  if (!arg.empty()) {
    std::string error;
    auto v = stdlib::ParseScaled(arg, 0, false, false, &error);
    if (!v || *v <= 0) {
      return Fail({ErrorKind::BadArguments, static_cast<uint32_t>(arg_col), static_cast<uint32_t>(arg.size()),
                   fmt::format("`:ledger` takes a count of entries, like `:ledger 50`; got `{}`", arg)},
                  line);
    }
    n = static_cast<size_t>(*v);
  }
  const auto& all = run_->ledger;
  if (all.empty()) return Note("  the ledger is empty");
  const size_t from = all.size() - std::min(n, all.size());
  if (opts_.json) {
    for (size_t k = from; k < all.size(); ++k) Out(all[k].json + "\n");
    return;
  }
  if (from > 0) Note(fmt::format("  the last {} of {} entries", all.size() - from, all.size()));
  std::vector<repl::EntryView> tail;
  for (size_t k = from; k < all.size(); ++k) tail.push_back(all[k].view);
  Out(repl::RenderLedger(tail, color_));
}

void Session::CmdTick(const std::string& line, const std::string& arg, size_t arg_col) {
  if (arg.empty()) return Fail({ErrorKind::BadArguments, 0, 1, "`:tick` needs a time: `:tick 2026-01-06` or `:tick +1d`"}, line);
  std::string error;
  auto t = repl::ParseWhen(arg, Clock(), &error);
  if (!t) return Fail({ErrorKind::BadTime, static_cast<uint32_t>(arg_col), static_cast<uint32_t>(arg.size()), error}, line);
  if (auto c = Clock(); c && *t < *c) {
    return Fail({ErrorKind::BadTime, static_cast<uint32_t>(arg_col), static_cast<uint32_t>(arg.size()),
                 fmt::format("the clock is already at {}; time only moves forward", stdlib::FormatTime(*c))},
                line);
  }
  Feed(fmt::format("{{\"type\":\"tick\",\"time\":\"{}\"}}", stdlib::FormatTime(*t)), false);
  if (!opts_.json) Note(fmt::format("  clock: {}", stdlib::FormatTime(run_->engine->clock())));
}

void Session::CmdExplain() {
  if (!last_.any) return Fail({ErrorKind::NothingToExplain, 0, 1, "no record yet; type one first"}, "");
  const checked::Program& p = *run_->program;
  std::string out = Paint(color_, style::kBold, "record ") + last_.json + "\n";
  if (last_.outcome == "duplicate") {
    out += "  a duplicate: skipped before any rule ran\n";
    return Out(out);
  }
  if (last_.outcome != "accepted") out += Paint(color_, style::kRed, "  rejected: ") + last_.outcome + "\n";
  if (last_.traces.empty()) {
    out += last_.outcome == "accepted" ? "  no rule has this trigger\n" : "  no rule ran\n";
    return Out(out);
  }
  for (const RuleTrace& t : last_.traces) out += repl::RenderTrace(p, t, color_);
  Out(out);
}

void Session::CmdEngine(const std::string& line, const std::string& arg, size_t arg_col) {
  if (arg.empty()) return Out(fmt::format("  engine: {}\n", EngineName(run_->kind)));
  if (arg != "jit" && arg != "interp") {
    return Fail({ErrorKind::BadArguments, static_cast<uint32_t>(arg_col), static_cast<uint32_t>(arg.size()),
                 fmt::format("`:engine` takes `jit` or `interp`, got `{}`", arg)},
                line);
  }
  runtime::EngineKind kind = arg == "jit" ? runtime::EngineKind::Jit : runtime::EngineKind::Interp;
  if (kind == run_->kind) return Note(fmt::format("  already on {}", arg));
  std::string error;
  if (!runtime::CreateEvaluator(kind, *run_->program, &error)) {
    return Fail({ErrorKind::EngineUnavailable, static_cast<uint32_t>(arg_col), static_cast<uint32_t>(arg.size()),
                 fmt::format("{}; staying on {}", error, EngineName(run_->kind))},
                line);
  }
  auto next = Build(BaseName(), file_source_, typed_, kind, false, false);
  if (!next) return;
  kind_ = kind;
  Install(std::move(next), false);
  Out(Paint(color_, style::kGreen, fmt::format("  engine: {} ({} replayed)", arg, Plural(log_.size(), "record", "records"))) + "\n");
}

void Session::CmdSave(const std::string& line, const std::string& arg, size_t arg_col) {
  if (arg.empty()) return Fail({ErrorKind::BadArguments, 0, 1, "`:save` needs a file: `:save session.jsonl`"}, line);
  std::string text;
  for (const auto& l : log_) text += l + "\n";
  std::FILE* f = std::fopen(arg.c_str(), "wb");
  bool ok = f && std::fwrite(text.data(), 1, text.size(), f) == text.size();
  if (f) ok &= std::fclose(f) == 0;
  if (!ok) {
    return Fail({ErrorKind::FileError, static_cast<uint32_t>(arg_col), static_cast<uint32_t>(arg.size()),
                 fmt::format("cannot write `{}`", arg)},
                line);
  }
  Out(Paint(color_, style::kGreen, fmt::format("  saved {} to {}", Plural(log_.size(), "record", "records"), arg)) + "\n");
  // The hint carries the session's --param overrides: without them the replay is another program.
  std::string params;
  for (const auto& p : opts_.params) params += " --param " + ShellQuote(p);
  Note(fmt::format("  replay: perk run {} --events {} --engine {}{}", path_.empty() ? "PROGRAM" : path_, arg,
                   EngineName(run_->kind), params));
  if (!typed_.empty()) {
    bool one = typed_.size() == 1;
    Note(fmt::format("  note: the {} typed in this session {} not in {}; add {} to replay the same program",
                     Plural(typed_.size(), "declaration", "declarations"), one ? "is" : "are",
                     path_.empty() ? "any file" : path_, one ? "it" : "them"));
  }
}

int Session::Start() {
  if (opts_.engine != "jit" && opts_.engine != "interp") {
    Err(fmt::format("perk: --engine must be `jit` or `interp`, got `{}`\n", opts_.engine));
    return 2;
  }
  kind_ = opts_.engine == "jit" ? runtime::EngineKind::Jit : runtime::EngineKind::Interp;
  file_source_ = kEmptyProgram;
  std::unique_ptr<Runner> r;
  if (!opts_.program.empty()) {
    // A program that cannot be read or has errors still starts the session, on the empty
    // program: fix the file, then `:reload`.
    path_ = opts_.program;
    std::string source;
    bool bad_param = false;
    if (!ReadFile(path_, &source)) {
      Err(fmt::format("perk: cannot read {}; starting with an empty program (`:reload` once it is there)\n", path_));
    } else if ((r = Build(path_, source, {}, kind_, false, true, &bad_param))) {
      file_source_ = source;
    } else if (bad_param) {
      return 2;
    } else {
      Err(fmt::format("perk: {} has errors; starting with an empty program (fix it, then `:reload`)\n", path_));
    }
  }
  if (!r) r = Build(BaseName(), file_source_, {}, kind_, false, true);
  if (!r) return 2;
  kind_ = r->kind;
  run_ = std::move(r);
  return 0;
}

// Reads lines: with libedit on a terminal, plainly from a pipe.
void RunLoop(Session& session, bool terminal) {
  std::unique_ptr<repl::LineEditor> editor;
  if (terminal) {
    editor = repl::LineEditor::Create(
        [&](std::string_view before) { return repl::Complete(before, session.program(), session.ClientIds()); });
  }
  std::string pending;
  InputKind pending_kind = InputKind::Empty;
  while (!session.done()) {
    std::string line;
    repl::ReadResult got;
    if (editor) {
      got = editor->Read(pending.empty() ? session.Prompt() : "  ...> ", &line);
    } else {
      got = std::getline(std::cin, line) ? repl::ReadResult::Line : repl::ReadResult::End;
      if (got == repl::ReadResult::Line && !line.empty() && line.back() == '\r') line.pop_back();
    }
    if (got == repl::ReadResult::Interrupted) {
      Err(pending.empty() ? "\n(:quit or Ctrl-D leaves)\n" : "\n(input dropped)\n");
      pending.clear();
      continue;
    }
    if (got == repl::ReadResult::End) {
      if (!pending.empty()) session.Handle(pending_kind, pending);
      if (editor) Out("\n");
      break;
    }
    if (pending.empty()) {
      InputKind kind = repl::Classify(line, session.program());
      if (kind == InputKind::Empty) continue;
      if ((kind == InputKind::Declaration || kind == InputKind::Expression || kind == InputKind::Json) &&
          line.size() <= kMaxInputBytes && repl::NeedsMore(kind, line)) {
        pending = line;
        pending_kind = kind;
        continue;
      }
      session.Handle(kind, line);
      continue;
    }
    bool blank = line.find_first_not_of(" \t") == std::string::npos;
    if (repl::Classify(line, session.program()) == InputKind::Command) {
      // No Perk text starts with `:`; a command ends the unfinished input, then runs.
      std::string text = std::move(pending);
      pending.clear();
      session.Handle(pending_kind, text);
      session.Handle(InputKind::Command, line);
      continue;
    }
    if (!blank) pending += "\n" + line;
    if (blank || pending.size() > kMaxInputBytes || !repl::NeedsMore(pending_kind, pending)) {
      std::string text = std::move(pending);
      pending.clear();
      session.Handle(pending_kind, text);
    }
  }
}

}  // namespace

int Repl(const ReplOptions& options) {
  // Parsing recurses once per nesting level of what is typed: run the session on a thread
  // with the same large stack `perk check` compiles on, so deep input is an error, not a crash.
  struct Job {
    const ReplOptions* options;
    int code = 0;
  } job{&options};
  auto run = [](void* arg) -> void* {
    auto* j = static_cast<Job*>(arg);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    Session session(*j->options);
    if ((j->code = session.Start()) != 0) return nullptr;
    bool terminal = isatty(fileno(stdin));
    if (terminal) {
      Out(fmt::format("perk repl: {}; `:help` lists what you can type, Ctrl-D leaves\n",
                      j->options->program.empty() ? "an empty program" : j->options->program));
    }
    RunLoop(session, terminal);
    return nullptr;
  };
  // Ctrl-C must reach the session's thread, where the line editor waits.
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, &old);
  pthread_attr_t attr;
  pthread_t thread;
  bool threaded = pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, kSessionStackBytes) == 0 &&
                  pthread_create(&thread, &attr, +run, &job) == 0;
  pthread_attr_destroy(&attr);
  if (threaded) pthread_join(thread, nullptr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (!threaded) run(&job);
  return job.code;
}

}  // namespace perk::cli
