// The `perk` command: check, run and dump programs (spec §7).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "cli/analyze.h"
#include "cli/common.h"
#include "cli/diff.h"
#include "cli/lsp.h"
#include "cli/fmt.h"
#include "cli/repl.h"
#include "cli/serve.h"
#include "cli/test.h"
#include "compiler/compiler.h"
#include "compiler/jit.h"
#include "compiler/jit_cache.h"
#include "runtime/engine.h"
#include "runtime/records.h"
#include "stdlib/stdlib.h"

namespace {

using perk::cli::Load;
using perk::cli::ReadFile;

int Check(const std::string& path) {
  int code = 0;
  auto program = Load(path, true, &code);
  if (!program) return code;
  fmt::print("{}: ok ({} event{}, {} rule{})\n", path, program->events.size(), program->events.size() == 1 ? "" : "s",
             program->rules.size(), program->rules.size() == 1 ? "" : "s");
  return 0;
}

int Dump(const std::string& what, const std::string& path) {
  std::string source, error;
  if (!ReadFile(path, &source, &error)) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  perk::Diagnostics diags(path, source);
  auto ast = perk::ast::ParseProgram(source, diags);
  if (what == "ast") {
    if (ast) fmt::print("{}", perk::ast::Dump(*ast));
  }
  if (what == "ir") {
    int code = 0;
    auto program = Load(path, false, &code);
    if (!program) return code;
    perk::jit::Options options;
    options.keep_ir = true;
    std::string error;
    auto compiled = perk::jit::CompiledProgram::Compile(*program, options, &error);
    if (!compiled) {
      fmt::print(stderr, "perk: {}\n", error);
      return 2;
    }
    fmt::print("{}", compiled->ir());
    return 0;
  }
  if (diags.HasErrors()) {
    fmt::print(stderr, "{}", diags.Render(false));
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"perk: loyalty programs, checked and run exactly"};
  app.require_subcommand(1);

  std::string check_path;
  auto* check = app.add_subcommand("check", "check a program and print every diagnostic");
  check->add_option("PROGRAM", check_path, "the .perk program")->required();

  perk::cli::RunOptions run_opts;
  auto* run = app.add_subcommand("run", "run a program over a JSON Lines stream of records");
  run->add_option("PROGRAM", run_opts.program, "the .perk program")->required();
  run->add_option("--events", run_opts.events, "the input records (JSON Lines), or - for stdin")->required();
  run->add_option("--ledger", run_opts.ledger, "write the ledger here (default: stdout)");
  run->add_option("--rejects", run_opts.rejects, "write rejected records here (default: stderr)");
  run->add_option("--state", run_opts.state, "durable state (a later run resumes from it)");
  run->add_option("--engine", run_opts.engine, "jit (default) or interp (the reference interpreter)");
  run->add_option("--jit-ir", run_opts.jit_ir,
                  "the JIT's IR pipeline: auto (default: by program size), O0, O1, O2, O3 or light (docs/jit.md)")
      ->check(CLI::IsMember({"auto", "O0", "O1", "O2", "O3", "light"}));
  run->add_option("--reevaluate", run_opts.reevaluate,
                  "changed (default): events and day ticks re-evaluate a client's tier and segments only when "
                  "they can change; all: every time (the same ledger, slower; for differential tests)")
      ->check(CLI::IsMember({"changed", "all"}));
  run->add_option("--param", run_opts.params, "override a param: NAME=VALUE (repeatable)");
  run->add_option("--until", run_opts.until, "at the end of input, advance the clock to TIME, running its day ticks");
  run->add_flag("--stats", run_opts.stats,
                "print what the day ticks did: ticks, client visits (per tick) and known clients (on stderr)");
  run->add_flag("--explain", run_opts.explain, "explain each rule's decision on stderr: limit use and the value of `when` (docs/guide.md)");
  run->add_option("--max-line-bytes", run_opts.max_line_bytes,
                  "event lines longer than this are rejected unread, and the run goes on")
      ->capture_default_str()
      ->check(CLI::Range(size_t{64}, size_t{1} << 30));
  run->add_option("--max-clock-jump", run_opts.max_clock_jump,
                  "reject a record that would move the clock forward by more than this at once (e.g. 36h, 7d)");
  run->add_option("--allow-drop", run_opts.allow_drop,
                  "with --state: let a program upgrade drop this wallet, var or attribute, or reset this rule's "
                  "limit and budget history (repeatable)");

  perk::cli::StateOptions state_opts;
  auto* state = app.add_subcommand(
      "state",
      "inspect durable state: `client ID` (as JSON), `stats` (totals), or `verify --ledger FILE [--rejects FILE]` "
      "(that the files hold what the state committed)");
  state->add_option("STATE", state_opts.path, "the state file (perk run --state)")->required();
  // Checked in State(), which also takes `perk state verify STATE`.
  state->add_option("WHAT", state_opts.what, "client, stats or verify")->required();
  state->add_option("ID", state_opts.id, "the client id (for `client`)");
  state->add_option("--ledger", state_opts.ledger, "for `verify`: the ledger file the state wrote");
  state->add_option("--rejects", state_opts.rejects, "for `verify`: the rejects file the state wrote");

  run->add_option("--report", run_opts.report, "write an HTML report of the run (see docs/report.md)");

  perk::cli::DiffOptions diff_opts;
  auto* diff = app.add_subcommand("diff", "run two versions of a program on the same history and compare them");
  diff->add_option("OLD", diff_opts.old_program, "the current .perk program")->required();
  diff->add_option("NEW", diff_opts.new_program, "the changed .perk program")->required();
  diff->add_option("--events", diff_opts.events, "the history (JSON Lines), or - for stdin")->required();
  diff->add_option("--report", diff_opts.report, "also write the comparison as an HTML page");
  diff->add_option("--engine", diff_opts.engine, "jit (default) or interp");
  diff->add_option("--until", diff_opts.until, "at the end of input, advance both clocks to TIME");

  perk::cli::ReplOptions repl_opts;
  auto* repl = app.add_subcommand("repl", "try a program record by record: records, expressions, declarations, :commands");
  repl->add_option("PROGRAM", repl_opts.program, "the .perk program (default: an empty one)");
  repl->add_option("--engine", repl_opts.engine, "interp (default) or jit; `:engine` switches later");
  repl->add_option("--param", repl_opts.params, "override a param: NAME=VALUE (repeatable)");
  repl->add_flag("--json", repl_opts.json, "print effects as ledger lines instead of tables");
  perk::cli::ServeOptions serve_opts;
  auto* serve = perk::cli::AddServeCommand(app, &serve_opts);
  perk::cli::TestOptions test_opts;
  auto* test = perk::cli::AddTestCommand(app, &test_opts);
  auto* lsp = perk::cli::AddLspCommand(app);
  perk::cli::FmtOptions fmt_opts;
  auto* fmt_cmd = perk::cli::AddFmtCommand(app, &fmt_opts);
  perk::cli::AnalyzeCliOptions analyze_opts;
  auto* analyze = perk::cli::AddAnalyzeCommand(app, check, &analyze_opts);

  // The JIT's object cache, for every command that compiles a program (docs/jit.md).
  std::string jit_cache_dir;
  bool no_jit_cache = false;
  for (CLI::App* command : {run, serve, repl, diff, test}) {
    command->add_option("--jit-cache", jit_cache_dir,
                        "keep compiled programs in DIR (default: $PERK_JIT_CACHE, else $XDG_CACHE_HOME/perk/jit or "
                        "~/.cache/perk/jit; docs/jit.md)");
    command->add_flag("--no-jit-cache", no_jit_cache, "compile the program without the JIT's object cache");
  }

  std::string dump_what, dump_path;
  auto* dump = app.add_subcommand("dump", "print a phase's output: ast, or ir (the JIT's optimised LLVM IR)");
  dump->add_option("WHAT", dump_what, "ast or ir")->required()->check(CLI::IsMember({"ast", "ir"}));
  dump->add_option("PROGRAM", dump_path, "the .perk program")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  const std::string no_state;
  const std::string& state_path = *run ? run_opts.state : *serve ? serve_opts.state : no_state;
  perk::jit::SetDefaultCacheDir(perk::jit::ResolveCacheDir(jit_cache_dir, no_jit_cache, state_path));
  if (*check) return perk::cli::AnalyzeAfterCheck(Check(check_path), check_path, analyze_opts);
  if (*analyze) return perk::cli::Analyze(analyze_opts);
  if (*run) return perk::cli::Run(run_opts);
  if (*diff) return perk::cli::Diff(diff_opts);
  if (*dump) return Dump(dump_what, dump_path);
  if (*state) return perk::cli::State(state_opts);
  if (*repl) return perk::cli::Repl(repl_opts);
  if (*serve) return perk::cli::Serve(serve_opts);
  if (*test) return perk::cli::Test(test_opts);
  if (*lsp) return perk::cli::Lsp();
  if (*fmt_cmd) return perk::cli::Fmt(fmt_opts);
  return 2;
}
