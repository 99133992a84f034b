// Parsing as you type (lsp/incremental.h) gives the tree and diagnostics a whole parse gives,
// on every program in the repository, before and after edits, reusing what an edit left alone.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "compiler/ast.h"
#include "compiler/query.h"
#include "lsp/incremental.h"

namespace {

namespace fs = std::filesystem;

std::string Describe(const perk::Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags.all()) {
    out += std::to_string(d.range.line) + ":" + std::to_string(d.range.column) + "+" + std::to_string(d.range.length) +
           " " + perk::Info(d.kind).code + " " + d.message + (d.fix ? " fix:" + d.fix->replacement : "") + "\n";
    for (const auto& [r, m] : d.notes) out += "  note " + std::to_string(r.line) + ":" + m + "\n";
  }
  return out;
}

// Every name's place, which the dump does not show: a piece parsed on the wrong line shows here.
std::string Places(const perk::ast::Program& program) {
  perk::query::Index index(program);
  std::string out;
  for (const auto& o : index.occurrences())
    out += std::to_string(o.range.line) + ":" + std::to_string(o.range.column) + "+" + std::to_string(o.range.length) +
           " " + index.symbols()[o.symbol].name + "\n";
  for (const auto& r : program.rules) out += r.name + " ends on " + std::to_string(r.end_line) + "\n";
  return out;
}

// The whole parse's tree and diagnostics, as text.
std::string Whole(const std::string& source) {
  perk::Diagnostics diags("p.perk", source);
  auto program = perk::ast::ParseProgram(source, diags);
  return perk::ast::Dump(*program) + Places(*program) + Describe(diags);
}

std::string Incremental(perk::lsp::IncrementalParser& parser, const std::string& source) {
  perk::Diagnostics diags("p.perk", source);
  const perk::ast::Program& program = parser.Parse(source, diags);
  return perk::ast::Dump(program) + Places(program) + Describe(diags);
}

std::vector<fs::path> Programs() {
  const fs::path root = fs::path(__FILE__).parent_path().parent_path();
  std::vector<fs::path> out;
  for (const char* dir : {"examples", "tests/golden", "tests/diagnostics", "tests/lsp", "bench"})
    for (const auto& entry : fs::recursive_directory_iterator(root / dir))
      if (entry.path().extension() == ".perk") out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("incremental parsing gives the whole parse's tree and diagnostics", "[lsp]") {
  auto programs = Programs();
  REQUIRE(programs.size() > 50);
  int reused_somewhere = 0;
  for (const fs::path& path : programs) {
    INFO(path.string());
    std::string source = Read(path);
    perk::lsp::IncrementalParser parser;
    CHECK(Incremental(parser, source) == Whole(source));
    // Type a space at the end of the middle line, then a word that breaks it, then undo both.
    size_t middle = source.find('\n', source.size() / 2);
    if (middle == std::string::npos) continue;
    std::string spaced = source.substr(0, middle) + " " + source.substr(middle);
    CHECK(Incremental(parser, spaced) == Whole(spaced));
    if (!parser.fell_back() && parser.reused() > 0) ++reused_somewhere;
    std::string broken = source.substr(0, middle) + " ) (" + source.substr(middle);
    CHECK(Incremental(parser, broken) == Whole(broken));
    CHECK(Incremental(parser, source) == Whole(source));
    CHECK(Incremental(parser, source) == Whole(source));
  }
  CHECK(reused_somewhere > 20);
}

TEST_CASE("incremental parsing re-parses only the declaration an edit touched", "[lsp]") {
  std::string source = "program \"p\"\ncurrency USD\nevent e { a: int }\nwallet w: int\n"
                       "rule r1 on e then credit w 1 end\nrule r2 on e then credit w 2 end\n";
  perk::lsp::IncrementalParser parser;
  Incremental(parser, source);
  CHECK(parser.parsed() == 6);
  std::string edited = source;
  edited.replace(edited.find("credit w 2"), 10, "credit w 3");
  CHECK(Incremental(parser, edited) == Whole(edited));
  // The header and `currency` are parsed every time; `rule r2` because it changed.
  CHECK(parser.parsed() == 3);
  CHECK(parser.reused() == 3);
  // Two `currency` lines: the whole parse reports the second.
  std::string twice = edited + "currency EUR\n";
  CHECK(Incremental(parser, twice) == Whole(twice));
  CHECK(parser.fell_back());
}
