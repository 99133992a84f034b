// `perk analyze PROGRAM [--param …] [--json] [--witness DIR]` (docs/analyze.md).
#include "cli/analyze.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "analyze/analyze.h"
#include "cli/common.h"
#include "report/report.h"
#include "stdlib/stdlib.h"

namespace perk::cli {

namespace {

bool WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

// DIR/NAME.jsonl (the records), DIR/NAME.claims.json (what running them must show) and
// DIR/run.json (the program and params to run them with).
bool WriteWitnesses(const AnalyzeCliOptions& options, const analyze::Report& report) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(options.witness_dir, ec);
  if (ec) {
    fmt::print(stderr, "perk: cannot create {}: {}\n", options.witness_dir, ec.message());
    return false;
  }
  const fs::path dir(options.witness_dir);
  std::string params;
  for (size_t i = 0; i < options.params.size(); ++i) params += (i ? "," : "") + stdlib::JsonQuote(options.params[i]);
  bool ok = WriteText(dir / "run.json", fmt::format("{{\"program\":{},\"params\":[{}]}}\n",
                                                    stdlib::JsonQuote(fs::absolute(options.program).string()), params));
  for (const analyze::Witness& w : report.witnesses) {
    std::string lines;
    for (const std::string& l : w.lines) lines += l + "\n";
    ok = WriteText(dir / (w.name + ".jsonl"), lines) && ok;
    ok = WriteText(dir / (w.name + ".claims.json"), analyze::ClaimsJson(w)) && ok;
  }
  if (!ok) fmt::print(stderr, "perk: cannot write the witnesses into {}\n", options.witness_dir);
  return ok;
}

}  // namespace

CLI::App* AddAnalyzeCommand(CLI::App& app, CLI::App* check, AnalyzeCliOptions* options) {
  auto* cmd = app.add_subcommand(
      "analyze", "prove what a program can pay at worst, which rules can never fire, and which rules overlap");
  cmd->add_option("PROGRAM", options->program, "the .perk program")->required();
  cmd->add_option("--param", options->params, "analyze with a param overridden: NAME=VALUE (repeatable)");
  cmd->add_flag("--json", options->json, "print the report as JSON");
  cmd->add_option("--witness", options->witness_dir,
                  "write a JSON Lines stream per overlap and reached worst case into DIR, with the effects it must show");
  cmd->add_option("--effort", options->effort,
                  "the solver's budget per question, in Z3 resource units; a question it cannot answer within it is "
                  "reported as unknown")
      ->capture_default_str();
  cmd->add_option("--query-ms", options->query_ms, "a wall-clock limit per solver question, in milliseconds")
      ->capture_default_str();
  check->add_flag("--analyze", options->from_check, "also analyze the program (as `perk analyze`)");
  return cmd;
}

int Analyze(const AnalyzeCliOptions& options) {
  int code = 0;
  auto program = Load(options.program, false, &code);
  if (!program) return code;
  if (!ApplyParams(*program, options.params)) return 2;
  analyze::AnalyzeOptions opts;
  opts.effort = options.effort;
  opts.query_ms = options.query_ms;
  analyze::Report report = analyze::AnalyzeProgram(*program, opts);
  fmt::print("{}", options.json ? analyze::RenderJson(*program, report, options.program)
                                : analyze::RenderText(*program, report, options.program));
  if (!options.witness_dir.empty() && !WriteWitnesses(options, report)) return 2;
  return 0;
}

int AnalyzeAfterCheck(int check_code, const std::string& path, AnalyzeCliOptions options) {
  if (check_code != 0 || !options.from_check) return check_code;
  options.program = path;
  return Analyze(options);
}

report::WorstCase WorstCaseOf(const checked::Program& program) {
  analyze::AnalyzeOptions options;
  options.witnesses = false;
  const analyze::Report r = analyze::AnalyzeProgram(program, options);
  auto bound = [&](const analyze::Bound& b, Type type, const std::string& unit, bool windowed) {
    const int64_t raw = b.bounded() ? b.value : b.state == analyze::Bound::State::Unbounded ? -1 : -2;
    return report::WorstCase::Bound{raw, analyze::BoundText(program, b, type, unit, windowed)};
  };
  report::WorstCase w;
  for (const analyze::Payout& p : r.payouts)
    w.payouts.push_back({p.rule, p.wallet, bound(p.per_firing, p.type, p.wallet, false),
                         bound(p.per_client, p.type, p.wallet, true), bound(p.campaign, p.type, p.wallet, true)});
  w.program_total = bound(r.program_total, Type::Money, "", true);
  for (const analyze::Finding& f : r.findings) {
    const analyze::FindingKindInfo& info = analyze::Info(f.kind);
    w.findings.push_back({f.range.line, info.code, info.severity, f.message});
  }
  return w;
}

}  // namespace perk::cli
