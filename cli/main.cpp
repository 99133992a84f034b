// The `perk` command: check, run and dump programs (spec §7).
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/records.h"
#include "stdlib/stdlib.h"

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

// Loads and checks a program, printing diagnostics to stderr. Warnings are printed only when
// `show_warnings` (check prints them; run stays quiet unless something is wrong).
std::unique_ptr<perk::checked::Program> Load(const std::string& path, bool show_warnings, int* exit_code) {
  std::string source;
  if (!ReadFile(path, &source)) {
    fmt::print(stderr, "perk: cannot read {}\n", path);
    *exit_code = 2;
    return nullptr;
  }
  perk::Diagnostics diags(path, source);
  auto program = perk::CompileProgram(source, diags);
  bool color = isatty(fileno(stderr));
  if (diags.HasErrors() || (show_warnings && diags.warnings() > 0)) fmt::print(stderr, "{}", diags.Render(color));
  if (diags.HasErrors()) {
    fmt::print(stderr, "{}: {} error{}{}\n", path, diags.errors(), diags.errors() == 1 ? "" : "s",
               diags.warnings() ? fmt::format(", {} warning{}", diags.warnings(), diags.warnings() == 1 ? "" : "s") : "");
    *exit_code = 1;
    return nullptr;
  }
  *exit_code = 0;
  return program;
}

int Check(const std::string& path) {
  int code = 0;
  auto program = Load(path, true, &code);
  if (!program) return code;
  fmt::print("{}: ok ({} event{}, {} rule{})\n", path, program->events.size(), program->events.size() == 1 ? "" : "s",
             program->rules.size(), program->rules.size() == 1 ? "" : "s");
  return 0;
}

struct RunOptions {
  std::string program;
  std::string events;
  std::string ledger;
  std::string rejects;
  std::string state;
  std::string engine = "jit";
  std::vector<std::string> params;
  std::string until;
  bool explain = false;
};

class Output {
 public:
  bool Open(const std::string& path, FILE* fallback) {
    if (path.empty() || path == "-") {
      file_ = fallback;
      return true;
    }
    file_ = std::fopen(path.c_str(), "wb");
    owned_ = file_ != nullptr;
    return file_ != nullptr;
  }
  ~Output() {
    if (owned_) std::fclose(file_);
  }
  bool Write(std::string& buffer) {
    if (buffer.empty()) return true;
    bool ok = std::fwrite(buffer.data(), 1, buffer.size(), file_) == buffer.size();
    buffer.clear();
    return ok;
  }
  bool Flush() { return std::fflush(file_) == 0; }

 private:
  FILE* file_ = nullptr;
  bool owned_ = false;
};

int Run(const RunOptions& o) {
  if (o.engine != "jit" && o.engine != "interp") {
    fmt::print(stderr, "perk: --engine must be `jit` or `interp`, got `{}`\n", o.engine);
    return 2;
  }
  if (o.engine == "jit") {
    fmt::print(stderr,
               "perk: the JIT engine is not available in this build yet; run with `--engine interp` (the reference "
               "interpreter)\n");
    return 2;
  }
  if (!o.state.empty()) {
    fmt::print(stderr, "perk: durable state (--state) is not available in this build yet; run without it\n");
    return 2;
  }
  int code = 0;
  auto program = Load(o.program, false, &code);
  if (!program) return code;
  for (const auto& p : o.params) {
    auto eq = p.find('=');
    if (eq == std::string::npos) {
      fmt::print(stderr, "perk: --param takes NAME=VALUE, got `{}`\n", p);
      return 2;
    }
    std::string error;
    if (!perk::OverrideParam(*program, p.substr(0, eq), p.substr(eq + 1), &error)) {
      fmt::print(stderr, "perk: {}\n", error);
      return 2;
    }
  }
  std::optional<int64_t> until;
  if (!o.until.empty()) {
    std::string error;
    until = perk::stdlib::ParseTime(o.until, &error);
    if (!until) {
      fmt::print(stderr, "perk: --until {}: {}\n", o.until, error);
      return 2;
    }
  }
  std::string error;
  auto reader = perk::runtime::LineReader::Open(o.events, &error);
  if (!reader) {
    fmt::print(stderr, "perk: {}\n", error);
    return 2;
  }
  Output ledger, rejects;
  if (!ledger.Open(o.ledger, stdout)) {
    fmt::print(stderr, "perk: cannot write the ledger to {}\n", o.ledger);
    return 2;
  }
  if (!rejects.Open(o.rejects, stderr)) {
    fmt::print(stderr, "perk: cannot write rejects to {}\n", o.rejects);
    return 2;
  }
  perk::runtime::Engine engine(*program);
  std::string_view line;
  uint64_t number = 0;
  bool ok = true;
  while (reader->Next(&line, &number)) {
    engine.ProcessLine(line, number);
    if (engine.ledger().size() > (1 << 20)) ok &= ledger.Write(engine.ledger());
    if (engine.rejects().size() > (1 << 16)) ok &= rejects.Write(engine.rejects());
  }
  if (!reader->error().empty()) {
    // A read error mid-file must not look like the end of input: say so and fail.
    ok &= ledger.Write(engine.ledger()) && rejects.Write(engine.rejects());
    ledger.Flush();
    rejects.Flush();
    fmt::print(stderr, "perk: reading {} failed after line {}: {}\n", o.events, number, reader->error());
    return 2;
  }
  if (until) engine.AdvanceTo(*until);
  ok &= ledger.Write(engine.ledger());
  ok &= rejects.Write(engine.rejects());
  ok &= ledger.Flush() && rejects.Flush();
  const auto& s = engine.stats();
  fmt::print(stderr, "perk: {} records, {} effects, {} rejects, {} duplicates\n", s.records, s.effects, s.rejects,
             s.duplicates);
  if (!ok) {
    fmt::print(stderr, "perk: writing the output failed (disk full?)\n");
    return 2;
  }
  return 0;
}

int Dump(const std::string& what, const std::string& path) {
  std::string source;
  if (!ReadFile(path, &source)) {
    fmt::print(stderr, "perk: cannot read {}\n", path);
    return 2;
  }
  perk::Diagnostics diags(path, source);
  auto ast = perk::ast::ParseProgram(source, diags);
  if (what == "ast") {
    if (ast) fmt::print("{}", perk::ast::Dump(*ast));
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

  RunOptions run_opts;
  auto* run = app.add_subcommand("run", "run a program over a JSON Lines stream of records");
  run->add_option("PROGRAM", run_opts.program, "the .perk program")->required();
  run->add_option("--events", run_opts.events, "the input records (JSON Lines), or - for stdin")->required();
  run->add_option("--ledger", run_opts.ledger, "write the ledger here (default: stdout)");
  run->add_option("--rejects", run_opts.rejects, "write rejected records here (default: stderr)");
  run->add_option("--state", run_opts.state, "durable state (a later run resumes from it)");
  run->add_option("--engine", run_opts.engine, "jit (default) or interp (the reference interpreter)");
  run->add_option("--param", run_opts.params, "override a param: NAME=VALUE (repeatable)");
  run->add_option("--until", run_opts.until, "at the end of input, advance the clock to TIME, running its day ticks");
  run->add_flag("--explain", run_opts.explain, "explain each rule's decision (not yet available)");

  std::string dump_what, dump_path;
  auto* dump = app.add_subcommand("dump", "print a phase's output: ast");
  dump->add_option("WHAT", dump_what, "ast")->required()->check(CLI::IsMember({"ast"}));
  dump->add_option("PROGRAM", dump_path, "the .perk program")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (*check) return Check(check_path);
  if (*run) return Run(run_opts);
  if (*dump) return Dump(dump_what, dump_path);
  return 2;
}
