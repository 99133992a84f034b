// The checker's reads of optional client attributes (spec §2, C4): which reads it accepts
// (known set after a test it can see, or through `otherwise`) and which it refuses (E0057).
#include <catch2/catch.hpp>

#include <string>

#include "compiler/compiler.h"

namespace {

// Checks a program with `decls` after a standard header; returns the rendered diagnostics'
// error codes found, or "" when it checks.
std::string Errors(const std::string& decls) {
  const std::string source = R"(program "Opt"
event ping { n: int = 0 }
client { bd: date, nick: string, vip: bool, score: int, country: string = "CY" }
wallet pts: int
)" + decls;
  perk::Diagnostics diags("t.perk", source);
  auto program = perk::CompileProgram(source, diags);
  std::string rendered = diags.Render(false);
  std::string codes;
  for (size_t at = rendered.find("error:"); at != std::string::npos; at = rendered.find("error:", at + 1)) {
    size_t open = rendered.find("[E", at);
    codes += rendered.substr(open + 1, 5) + " ";
  }
  if (program) REQUIRE(codes.empty());
  return codes;
}

std::string Rule(const std::string& when, const std::string& then) {
  return "rule r on ping " + (when.empty() ? std::string() : "when " + when + " ") + "then " + then + " end\n";
}

}  // namespace

TEST_CASE("optional attributes: reads the checker can see are set are accepted") {
  // Right of `x is set and`, and of `x is not set or`.
  CHECK(Errors("segment s when client.bd is set and client.bd < 2000-01-01\n") == "");
  CHECK(Errors("segment s when client.bd is not set or client.bd < 2000-01-01\n") == "");
  CHECK(Errors("segment s when not (client.bd is not set) and client.bd < 2000-01-01\n") == "");
  // Nested in the `and` chain, and both of two tests.
  CHECK(Errors("segment s when client.vip is set and (client.bd is set and client.vip and client.bd < today)\n") == "");
  // `if` branches, expressions and actions.
  CHECK(Errors(Rule("", R"(emit "e" { a: if client.nick is set then client.nick else "-" })")) == "");
  CHECK(Errors(Rule("", R"(emit "e" { a: if client.nick is not set then "-" else client.nick })")) == "");
  CHECK(Errors(Rule("", R"(if client.score is set then credit pts client.score end)")) == "");
  CHECK(Errors(Rule("", R"(if client.score is not set then credit pts 1 else credit pts client.score end)")) == "");
  // A rule's `when` covers its actions.
  CHECK(Errors(Rule("ping.n > 0 and client.score is set", "credit pts client.score")) == "");
  // `otherwise`, chained to the right, and widening an int to nothing else.
  CHECK(Errors(Rule("", R"(emit "e" { a: client.nick otherwise client.country, b: client.score otherwise 0 - 1 })")) == "");
  CHECK(Errors(Rule("", R"(emit "e" { a: client.nick otherwise client.nick otherwise "x" })")) == "");
  // Built-in and defaulted attributes are never unset.
  CHECK(Errors(Rule("client.country is set and client.id is set", R"(emit "e" { c: client.country, s: client.since })")) == "");
}

TEST_CASE("optional attributes: any other read is refused with E0057") {
  CHECK(Errors("segment s when client.bd < 2000-01-01\n") == "E0057 ");
  // After `or` a test of `is set` proves nothing, nor does it on the left of `and`.
  CHECK(Errors("segment s when client.bd is set or client.bd < 2000-01-01\n") == "E0057 ");
  CHECK(Errors("segment s when client.bd < 2000-01-01 and client.bd is set\n") == "E0057 ");
  // The wrong branch of `if`.
  CHECK(Errors(Rule("", R"(emit "e" { a: if client.nick is set then "-" else client.nick })")) == "E0057 ");
  CHECK(Errors(Rule("", R"(if client.score is set then credit pts 1 else credit pts client.score end)")) == "E0057 ");
  // A `when` with `or` at the top does not cover the actions; a test of another attribute neither.
  CHECK(Errors(Rule("client.score is set or ping.n > 0", "credit pts client.score")) == "E0057 ");
  CHECK(Errors(Rule("client.bd is set", "credit pts client.score")) == "E0057 ");
  // Inside `otherwise`'s left only the attribute itself may be unset; its parts are refused.
  CHECK(Errors(Rule("", R"(emit "e" { a: (client.score + 1) otherwise 0 })")) == "E0057 ");
  // Tier conditions too; each bad read is reported.
  CHECK(Errors("tier A\ntier B when client.vip and client.score > 3\n") == "E0057 E0057 ");
  // `otherwise` takes one type on both sides.
  CHECK(Errors(Rule("", R"(emit "e" { a: client.nick otherwise 1 })")) == "E0034 ");
}
