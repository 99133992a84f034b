// Tests for the JIT's object cache (compiler/jit_cache.h): a second load hits, cached code
// gives the same ledger (error positions included), damaged or foreign entries are ignored,
// and whatever changes the code changes the key. Each test uses a directory of its own.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/jit.h"
#include "compiler/jit_cache.h"
#include "runtime/engine.h"
#include "runtime/interp.h"

namespace perk {
namespace {

namespace fs = std::filesystem;

const char* kSource = R"(program "cached"
currency USD
event deposit { amount: money, n: int = 1 }
wallet pts: int
param rate: int = 3
rule big on deposit when deposit.amount >= 100 USD then
  credit pts floor(deposit.amount / 10 USD) * rate
  emit "big" { n: deposit.n, per: 100 / deposit.n }
end
rule each on deposit then credit pts 1 end
)";

const std::vector<std::string> kLines = {
    R"({"type":"deposit","id":"1","client":"c","time":"2026-01-01T10:00:00Z","amount":"150"})",
    R"({"type":"deposit","id":"2","client":"c","time":"2026-01-01T11:00:00Z","amount":"20"})",
    R"({"type":"deposit","id":"3","client":"d","time":"2026-01-01T12:00:00Z","amount":"500","n":0})",
    R"({"type":"deposit","id":"4","client":"d","time":"2026-01-02T12:00:00Z","amount":"1000","n":7})",
};

struct TempDir {
  std::string path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "perk-jit-cache-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::unique_ptr<checked::Program> Program(std::string_view source, const std::string& rate = "") {
  Diagnostics diags("test.perk", source);
  auto program = CompileProgram(source, diags);
  INFO(diags.Render());
  REQUIRE(program);
  std::string error;
  if (!rate.empty()) REQUIRE(OverrideParam(*program, "rate", rate, &error));
  return program;
}

jit::LoadStats Load(const checked::Program& program, const std::string& dir, int opt_level = -1, int codegen = 0) {
  jit::Options options;
  options.opt_level = opt_level;
  options.codegen_level = codegen;
  options.cache_dir = dir;
  std::string error;
  auto code = jit::CompiledProgram::Compile(program, options, &error);
  INFO(error);
  REQUIRE(code);
  return code->stats();
}

// The ledger and rejects of kLines, with the JIT through the cache in `dir` ("" for none) or
// with the interpreter (`jit` false); "compile failed" when the JIT fails. No Catch2 macros:
// threads call it.
std::string Run(const checked::Program& program, const std::string& dir, bool jit = true) {
  std::unique_ptr<runtime::Evaluator> evaluator;
  if (jit) {
    std::string error;
    evaluator = runtime::CreateEvaluator(runtime::EngineKind::Jit, program, &error, -1, dir);
    if (!evaluator) return "compile failed: " + error;
  }
  runtime::Engine engine(program, evaluator.get());
  for (size_t k = 0; k < kLines.size(); ++k) engine.ProcessLine(kLines[k], k + 1);
  return engine.ledger() + engine.rejects();
}

std::vector<fs::path> Entries(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Spit(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

TEST_CASE("jit cache: the second load hits the cache and runs the same ledger") {
  TempDir dir;
  auto program = Program(kSource);
  const std::string want = Run(*program, "", false);
  REQUIRE(want.find("division by zero") != std::string::npos);  // record 3: 100 / 0

  jit::LoadStats first = Load(*program, dir.path);
  CHECK(first.cache == jit::CacheUse::Miss);
  CHECK(first.cache_stored);
  REQUIRE(Entries(dir.path).size() == 1);
  jit::LoadStats second = Load(*program, dir.path);
  CHECK(second.cache == jit::CacheUse::Hit);
  CHECK(second.compile_ms == 0);
  CHECK(Run(*program, dir.path) == want);
  CHECK(Run(*program, "") == want);
  // No directory: no cache.
  CHECK(Load(*program, "").cache == jit::CacheUse::Off);
  CHECK(Entries(dir.path).size() == 1);
}

TEST_CASE("jit cache: a damaged, truncated or foreign entry is ignored and replaced") {
  TempDir dir;
  auto program = Program(kSource);
  const std::string want = Run(*program, "", false);
  Load(*program, dir.path);
  const fs::path entry = Entries(dir.path).at(0);
  const std::string good = Slurp(entry);

  // Another program's entry, under this program's name.
  TempDir other_dir;
  Load(*Program(std::string(kSource) + "rule more on deposit then credit pts 2 end\n"), other_dir.path);
  const std::string foreign = Slurp(Entries(other_dir.path).at(0));

  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x40;
  std::string header = good;
  header[0] = 'X';
  const std::vector<std::pair<const char*, std::string>> damage = {
      {"a flipped byte", flipped},     {"truncated", good.substr(0, good.size() / 2)},
      {"empty", ""},                   {"a bad header", header},
      {"foreign", foreign},            {"one byte more", good + "!"},
  };
  for (const auto& [what, bytes] : damage) {
    INFO(what);
    Spit(entry, bytes);
    CHECK(Load(*program, dir.path).cache == jit::CacheUse::Miss);  // and stores a good one again
    CHECK(Slurp(entry) == good);
    Spit(entry, bytes);
    CHECK(Run(*program, dir.path) == want);
    CHECK(Load(*program, dir.path).cache == jit::CacheUse::Hit);
  }
}

TEST_CASE("jit cache: programs, params and optimisation levels get keys of their own") {
  TempDir dir;
  auto program = Program(kSource);
  auto other = Program(std::string(kSource) + "rule more on deposit then credit pts 2 end\n");
  auto rate5 = Program(kSource, "5");
  CHECK(Load(*program, dir.path).cache == jit::CacheUse::Miss);
  CHECK(Load(*other, dir.path).cache == jit::CacheUse::Miss);
  CHECK(Load(*rate5, dir.path).cache == jit::CacheUse::Miss);
  CHECK(Load(*program, dir.path, 1).cache == jit::CacheUse::Miss);
  CHECK(Load(*program, dir.path, -1, 2).cache == jit::CacheUse::Miss);
  CHECK(Entries(dir.path).size() == 5);
  // Each is found again, and the param override runs its own value.
  CHECK(Load(*program, dir.path).cache == jit::CacheUse::Hit);
  CHECK(Load(*other, dir.path).cache == jit::CacheUse::Hit);
  CHECK(Load(*rate5, dir.path).cache == jit::CacheUse::Hit);
  CHECK(Load(*program, dir.path, 1).cache == jit::CacheUse::Hit);
  CHECK(Run(*rate5, dir.path) == Run(*rate5, "", false));
  CHECK(Run(*rate5, dir.path) != Run(*program, dir.path));
  // The same text checked again is the same program.
  CHECK(Load(*Program(kSource), dir.path).cache == jit::CacheUse::Hit);
}

TEST_CASE("jit cache: an unwritable directory means no cache, not a failure") {
  TempDir dir;
  const std::string file = dir.path + "/a-file";
  Spit(file, "not a directory");
  auto program = Program(kSource);
  jit::LoadStats stats = Load(*program, file + "/jit");
  CHECK(stats.cache == jit::CacheUse::Miss);
  CHECK_FALSE(stats.cache_stored);
  CHECK(Run(*program, file + "/jit") == Run(*program, "", false));
}

TEST_CASE("jit cache: concurrent loads of one program all get working code and one good entry") {
  TempDir dir;
  auto program = Program(kSource);
  const std::string want = Run(*program, "", false);
  std::vector<std::string> got(4);
  std::vector<std::thread> threads;
  for (size_t k = 0; k < got.size(); ++k) threads.emplace_back([&, k] { got[k] = Run(*program, dir.path); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) CHECK(g == want);
  REQUIRE(Entries(dir.path).size() == 1);  // no temporary file left behind
  CHECK(Load(*program, dir.path).cache == jit::CacheUse::Hit);
}

TEST_CASE("jit cache: where the cache lives") {
  // The flag, then --no-jit-cache; PERK_JIT_CACHE, XDG_CACHE_HOME and HOME are read from the
  // environment, so only the parts that do not depend on it are checked here (the rest in
  // tests/cli/test_cli.py).
  CHECK(jit::ResolveCacheDir("/x", false, "") == "/x");
  CHECK(jit::ResolveCacheDir("/x", true, "") == "");
}

}  // namespace
}  // namespace perk
