// `perk test`: finds scenario files, loads each program once, runs every scenario with the
// reference interpreter and the JIT, and reports like `cargo test` (docs/test.md).
#include "cli/test.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>

#include "cli/common.h"
#include "cli/perktest.h"
#include "cli/perktest_run.h"
#include "compiler/compiler.h"
#include "compiler/diagnostics.h"

namespace perk::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGreen = "\033[32m";
constexpr const char* kRed = "\033[31m";
constexpr const char* kBold = "\033[1m";
constexpr const char* kReset = "\033[0m";

// One line of the report: a scenario, or a file that could not be read or parsed.
struct Outcome {
  std::string file;
  std::string name;  // "" for a file's own problems
  uint32_t line = 0;
  bool ok = true;
  std::string text;  // why it failed, plain
  double seconds = 0;
};

// Scenario files under `path`: the file itself, or every `*.perktest` below a folder, sorted.
bool Collect(const std::string& path, std::vector<std::string>* out) {
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    out->push_back(path);
    return true;
  }
  if (!fs::is_directory(path, ec)) {
    fmt::print(stderr, "perk test: {}: no such file or folder\n", path);
    return false;
  }
  std::vector<std::string> found;
  for (fs::recursive_directory_iterator it(path, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // Build trees and hidden folders hold copies, not sources.
    if (it->is_directory() && (name.starts_with(".") || name == "build")) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".perktest") found.push_back(it->path().lexically_normal().string());
  }
  std::sort(found.begin(), found.end());
  out->insert(out->end(), found.begin(), found.end());
  return true;
}

// Programs by path and params, compiled once for every scenario that runs them.
class Programs {
 public:
  // The program `scenario` names, relative to `file`; null with *error set (rendered
  // diagnostics, or a param's problem at its position) when it cannot run.
  const perktest::LoadedProgram* Get(const std::string& file, std::string_view file_text, const perktest::Scenario& s,
                                     std::string* error) {
    const fs::path path = (fs::path(file).parent_path() / s.program).lexically_normal();
    std::string key = path.string();
    for (const auto& p : s.params) key += "\n" + p.text;
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, Load(path.string(), file, file_text, s)).first;
    if (!it->second.error.empty()) {
      // The diagnostics once, under the first scenario that runs the program.
      *error = it->second.shown.empty() ? it->second.error
                                        : fmt::format("the program {} cannot run; see scenario \"{}\" above\n", s.program,
                                                      it->second.shown);
      if (it->second.shown.empty()) it->second.shown = s.name;
      return nullptr;
    }
    return it->second.loaded.get();
  }

 private:
  struct Entry {
    std::unique_ptr<perktest::LoadedProgram> loaded;
    std::string error;
    std::string shown;  // the scenario whose failure shows `error`
  };

  static Entry Load(const std::string& path, const std::string& file, std::string_view file_text, const perktest::Scenario& s) {
    Entry out;
    auto lp = std::make_unique<perktest::LoadedProgram>();
    std::string error;
    if (!ReadFile(path, &lp->source, &error)) {
      out.error = perktest::RenderError(file, file_text, {s.program_pos, static_cast<uint32_t>(s.program.size() + 2),
                                                          fmt::format("cannot read the program: {}", error)});
      return out;
    }
    Diagnostics diags(path, lp->source);
    lp->program = CompileProgram(lp->source, diags);
    if (!lp->program) {
      out.error = diags.Render(false) + fmt::format("{}:{}:{}: note: the program this scenario runs has errors; `perk check {}` shows them\n",
                                                    file, s.program_pos.line, s.program_pos.column, path);
      return out;
    }
    for (const auto& p : s.params) {
      const size_t eq = p.text.find('=');
      if (!OverrideParam(*lp->program, p.text.substr(0, eq), p.text.substr(eq + 1), &error)) {
        // The message names the command-line option; here the position does.
        if (error.rfind("--param ", 0) == 0 && error.find(": ") != std::string::npos) error = error.substr(error.find(": ") + 2);
        out.error = perktest::RenderError(file, file_text, {p.pos, static_cast<uint32_t>(p.text.size()), error});
        return out;
      }
    }
    lp->lines = repl::SplitSource(lp->source);
    lp->jit = runtime::CreateEvaluator(runtime::EngineKind::Jit, *lp->program, &lp->jit_error);
    out.loaded = std::move(lp);
    return out;
  }

  std::map<std::string, Entry> cache_;
};

Outcome RunOne(const std::string& file, std::string_view text, const perktest::Scenario& s, Programs& programs) {
  Outcome o{file, s.name, s.pos.line, true, "", 0};
  const auto start = std::chrono::steady_clock::now();
  std::string error;
  const perktest::LoadedProgram* lp = programs.Get(file, text, s, &error);
  if (lp) {
    for (const auto& e : perktest::Validate(s, *lp->program)) error += perktest::RenderError(file, text, e);
  }
  if (lp && error.empty() && !lp->jit) error = fmt::format("the JIT cannot run the program: {}\n", lp->jit_error);
  if (error.empty()) {
    auto interp = perktest::RunScenario(s, *lp, runtime::EngineKind::Interp, true);
    auto jit = perktest::RunScenario(s, *lp, runtime::EngineKind::Jit, false);
    error = perktest::Judge(interp, jit);
  }
  o.ok = error.empty();
  o.text = std::move(error);
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return o;
}

std::string Xml(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 allows no other control characters.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' && c != '\r') break;
        out += c;
    }
  }
  return out;
}

bool WriteJunit(const std::string& path, const std::vector<Outcome>& outcomes) {
  std::map<std::string, std::vector<const Outcome*>> by_file;
  size_t failures = 0;
  for (const auto& o : outcomes) {
    by_file[o.file].push_back(&o);
    failures += o.ok ? 0 : 1;
  }
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += fmt::format("<testsuites name=\"perk test\" tests=\"{}\" failures=\"{}\">\n", outcomes.size(), failures);
  for (const auto& [file, list] : by_file) {
    size_t failed = std::count_if(list.begin(), list.end(), [](const Outcome* o) { return !o->ok; });
    double seconds = 0;
    for (const Outcome* o : list) seconds += o->seconds;
    out += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" time=\"{:.3f}\">\n", Xml(file), list.size(), failed,
                       seconds);
    for (const Outcome* o : list) {
      out += fmt::format("    <testcase classname=\"{}\" name=\"{}\" file=\"{}\" line=\"{}\" time=\"{:.3f}\"", Xml(file),
                         Xml(o->name.empty() ? "(file)" : o->name), Xml(file), o->line, o->seconds);
      if (o->ok) {
        out += "/>\n";
        continue;
      }
      const std::string first = o->text.substr(0, o->text.find('\n'));
      out += fmt::format(">\n      <failure message=\"{}\">{}</failure>\n    </testcase>\n", Xml(first), Xml(o->text));
    }
    out += "  </testsuite>\n";
  }
  out += "</testsuites>\n";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = std::fwrite(out.data(), 1, out.size(), f) == out.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace

CLI::App* AddTestCommand(CLI::App& app, TestOptions* options) {
  auto* test = app.add_subcommand("test", "run the scenarios of *.perktest files with both engines (docs/test.md)");
  test->add_option("PATH", options->paths, "scenario files or folders to search (default: the current folder)");
  test->add_option("--junit", options->junit, "also write the results as JUnit XML to FILE, for CI systems");
  return test;
}

int Test(const TestOptions& options) {
  const bool color = isatty(fileno(stdout)) && !std::getenv("NO_COLOR");
  auto paint = [&](const char* style, const std::string& text) { return color ? style + text + kReset : text; };
  std::vector<std::string> files;
  std::vector<std::string> paths = options.paths.empty() ? std::vector<std::string>{"."} : options.paths;
  for (const auto& p : paths)
    if (!Collect(p, &files)) return 2;

  Programs programs;
  std::vector<Outcome> outcomes;
  std::vector<std::pair<std::string, perktest::File>> parsed;
  std::vector<std::string> texts;
  size_t scenarios = 0;
  for (const auto& file : files) {
    std::string text, error;
    if (!ReadFile(file, &text, &error)) {
      parsed.emplace_back(file, perktest::File{});
      texts.push_back("");
      outcomes.push_back({file, "", 0, false, fmt::format("{}: cannot read: {}\n", file, error)});
      continue;
    }
    parsed.emplace_back(file, perktest::Parse(text));
    texts.push_back(std::move(text));
    scenarios += parsed.back().second.scenarios.size();
  }
  fmt::print("running {} scenario{} from {} file{}, each with interp and jit\n", scenarios, scenarios == 1 ? "" : "s",
             files.size(), files.size() == 1 ? "" : "s");
  for (size_t k = 0; k < parsed.size(); ++k) {
    const auto& [file, f] = parsed[k];
    if (!f.errors.empty()) {
      std::string text;
      for (const auto& e : f.errors) text += perktest::RenderError(file, texts[k], e);
      outcomes.push_back({file, "", 0, false, text});
      fmt::print("test {} ... {}\n", file, paint(kRed, "FAILED"));
      continue;
    }
    for (const auto& s : f.scenarios) {
      outcomes.push_back(RunOne(file, texts[k], s, programs));
      const Outcome& o = outcomes.back();
      fmt::print("test {}:{} {} ... {}\n", file, s.pos.line, s.name, o.ok ? paint(kGreen, "ok") : paint(kRed, "FAILED"));
      std::fflush(stdout);
    }
  }
  size_t failed = std::count_if(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return !o.ok; });
  if (failed) {
    fmt::print("\nfailures:\n");
    for (const auto& o : outcomes) {
      if (o.ok) continue;
      std::string title = o.name.empty() ? o.file : fmt::format("{}:{} \"{}\"", o.file, o.line, o.name);
      fmt::print("\n{}\n{}", paint(kBold, "---- " + title + " ----"), o.text);
    }
  }
  if (!options.junit.empty() && !WriteJunit(options.junit, outcomes)) {
    fmt::print(stderr, "perk test: cannot write {}\n", options.junit);
    return 2;
  }
  fmt::print("\ntest result: {}\n", failed ? paint(kRed, "FAILED") : paint(kGreen, "ok"));
  fmt::print("{} passed, {} failed\n", outcomes.size() - failed, failed);
  return failed ? 1 : 0;
}

}  // namespace perk::cli
