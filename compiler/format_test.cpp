// `perk fmt`'s layout (compiler/format.h): spacing, alignment, line breaking, comments.
#include <catch2/catch.hpp>

#include <string>

#include "compiler/ast.h"
#include "compiler/format.h"
#include "compiler/syntax.h"

namespace {

// Formats `source`, checks that formatting again changes nothing, and returns the result.
std::string Format(const std::string& source) {
  perk::Diagnostics diags("test.perk", source);
  auto out = perk::FormatSource(source, diags);
  INFO(diags.Render(false));
  REQUIRE(out.has_value());
  perk::Diagnostics again("test.perk", *out);
  auto twice = perk::FormatSource(*out, again);
  REQUIRE(twice.has_value());
  CHECK(*twice == *out);
  return *out;
}

}  // namespace

TEST_CASE("fmt: spacing is canonical, tokens are kept as written") {
  CHECK(Format("program   \"p\"\ncurrency USD\nevent e{a:money,b:int}\nwallet w:int\n"
               "rule r on e when -e.b<max( 1,2 )and e.a>=1_000 USD then credit w (e.b+1) end\n") ==
        "program \"p\"\n"
        "currency USD\n"
        "event e { a: money, b: int }\n"
        "wallet w: int\n"
        "\n"
        "rule r\n"
        "  on e\n"
        "  when -e.b < max(1, 2) and e.a >= 1_000 USD\n"
        "  then credit w (e.b + 1)\n"
        "end\n");
}

TEST_CASE("fmt: optional commas between fields and data entries are normalised") {
  CHECK(Format("program \"p\"\nevent e { a: int b: int, }\nrule r on e then emit \"x\" { k: e.a j: 1, } end\n") ==
        "program \"p\"\n"
        "event e { a: int, b: int }\n"
        "\n"
        "rule r\n"
        "  on e\n"
        "  then emit \"x\" { k: e.a, j: 1 }\n"
        "end\n");
}

TEST_CASE("fmt: runs of tiers, segments and one-line events align") {
  std::string out = Format(
      "program \"p\"\nevent deposit { amount: money }\nevent trade { lots: decimal }\n"
      "event redeem_points { n: int }\n\nevent apart { x: int }\n"
      "wallet w: int\ntier Base\ntier Silver when w >= 10\ntier Platinum when w >= 100 hold 30 days\n"
      "segment a when w > 1\nsegment longer when w > 2\n");
  CHECK(out ==
        "program \"p\"\n"
        "event deposit       { amount: money }\n"
        "event trade         { lots: decimal }\n"
        "event redeem_points { n: int }\n"
        "\n"
        "event apart { x: int }\n"
        "wallet w: int\n"
        "tier Base\n"
        "tier Silver   when w >= 10\n"
        "tier Platinum when w >= 100 hold 30 days\n"
        "segment a      when w > 1\n"
        "segment longer when w > 2\n");
}

TEST_CASE("fmt: a block with a comment or too long for a line takes a field a line, types aligned") {
  CHECK(Format("program \"p\"\nclient { name: string = \"x\", # shown in notices\n"
               "birthdate: date }\n") ==
        "program \"p\"\n"
        "client {\n"
        "  name:      string = \"x\",  # shown in notices\n"
        "  birthdate: date\n"
        "}\n");
}

TEST_CASE("fmt: comments stay where they were") {
  std::string source =
      "# The program.\n"
      "program \"p\"  # its name\n"
      "\n"
      "\n"
      "# Money in.\n"
      "event e { a: money }\n"
      "wallet w: int\n"
      "rule r  # the only rule\n"
      "  on e\n"
      "  # only big ones\n"
      "  when e.a > 10 USD\n"
      "  then\n"
      "    # one point\n"
      "    credit w 1\n"
      "    # trailing note\n"
      "end\n"
      "# the end\n";
  CHECK(Format(source) ==
        "# The program.\n"
        "program \"p\"  # its name\n"
        "\n"
        "# Money in.\n"
        "event e { a: money }\n"
        "wallet w: int\n"
        "\n"
        "rule r  # the only rule\n"
        "  on e\n"
        "  # only big ones\n"
        "  when e.a > 10 USD\n"
        "  then\n"
        "    # one point\n"
        "    credit w 1\n"
        "    # trailing note\n"
        "end\n"
        "# the end\n");
}

TEST_CASE("fmt: a comment inside a condition breaks the line after it") {
  CHECK(Format("program \"p\"\nevent e { a: int }\nwallet w: int\n"
               "rule r on e when e.a > 1 and  # small\n e.a < 5 then credit w 1 end\n") ==
        "program \"p\"\n"
        "event e { a: int }\n"
        "wallet w: int\n"
        "\n"
        "rule r\n"
        "  on e\n"
        "  when e.a > 1 and  # small\n"
        "       e.a < 5\n"
        "  then credit w 1\n"
        "end\n");
}

TEST_CASE("fmt: a long condition breaks before `or`, then `and`, aligned under its start") {
  std::string cond =
      "count(trade within 30 days) >= 10 and sum(trade.lots within 30 days) >= 25 or "
      "client.vip and count(deposit within 90 days) > 3";
  std::string out = Format("program \"p\"\nevent trade { lots: decimal }\nevent deposit { a: money }\n"
                           "client { vip: bool = false }\nwallet w: int\nrule r on trade when " +
                           cond + " then credit w 1 end\n");
  CHECK(out.find("  when count(trade within 30 days) >= 10 and sum(trade.lots within 30 days) >= 25\n"
                 "       or client.vip and count(deposit within 90 days) > 3\n") != std::string::npos);
  std::string ands = Format(
      "program \"p\"\nevent trade { lots: decimal, symbol: string }\nwallet w: int\n"
      "segment busy when count(trade within 30 days) >= 10 and sum(trade.lots within 30 days) >= 25 "
      "and trade.symbol == \"EURUSD\"\n");
  CHECK(ands.find("segment busy when count(trade within 30 days) >= 10\n"
                  "                  and sum(trade.lots within 30 days) >= 25\n"
                  "                  and trade.symbol == \"EURUSD\"\n") != std::string::npos);
}

TEST_CASE("fmt: a long `if` expression breaks before each `else`, under its `if`") {
  std::string out = Format(
      "program \"p\"\ncurrency EUR\nevent purchase { amount: money }\nwallet points: int\n"
      "rule earn on purchase then credit points if purchase.amount >= 1_000 EUR then 1_000 "
      "else if purchase.amount >= 500 EUR then 500 else if purchase.amount >= 100 EUR then 100 else 1 end\n");
  CHECK(out.find("  then credit points if purchase.amount >= 1_000 EUR then 1_000\n") == std::string::npos);
  CHECK(out.find("    credit points if purchase.amount >= 1_000 EUR then 1_000\n"
                 "                  else if purchase.amount >= 500 EUR then 500\n"
                 "                  else if purchase.amount >= 100 EUR then 100\n"
                 "                  else 1\n") != std::string::npos);
}

TEST_CASE("fmt: `if` actions nest by two, with `else` and `end` under `if`") {
  CHECK(Format("program \"p\"\nevent e { a: int }\nwallet w: int\n"
               "rule r on e then if e.a > 1 then credit w 1 else if e.a > 0 then credit w 2 end end end\n") ==
        "program \"p\"\n"
        "event e { a: int }\n"
        "wallet w: int\n"
        "\n"
        "rule r\n"
        "  on e\n"
        "  then\n"
        "    if e.a > 1 then\n"
        "      credit w 1\n"
        "    else\n"
        "      if e.a > 0 then\n"
        "        credit w 2\n"
        "      end\n"
        "    end\n"
        "end\n");
}

TEST_CASE("fmt: blank lines between declarations and actions are kept, at most one") {
  CHECK(Format("program \"p\"\nevent e { a: int }\n\n\n\nwallet w: int\nwallet v: int\n"
               "rule r on e then\n credit w 1\n\n\n credit v 2\nend\nrule s on e then credit w 1 end\n") ==
        "program \"p\"\n"
        "event e { a: int }\n"
        "\n"
        "wallet w: int\n"
        "wallet v: int\n"
        "\n"
        "rule r\n"
        "  on e\n"
        "  then\n"
        "    credit w 1\n"
        "\n"
        "    credit v 2\n"
        "end\n"
        "\n"
        "rule s\n"
        "  on e\n"
        "  then credit w 1\n"
        "end\n");
}

TEST_CASE("fmt: a program that does not parse is not formatted") {
  std::string source = "program \"p\"\nevent e { a: int\nrule r on e then end\n";
  perk::Diagnostics diags("test.perk", source);
  CHECK_FALSE(perk::FormatSource(source, diags).has_value());
  CHECK(diags.HasErrors());
  // A clause given twice parses, but the builder rejects it: not formatted either.
  std::string twice = "program \"p\"\nevent e { a: int }\nwallet w: int\nrule r on e when true when false then credit w 1 end\n";
  perk::Diagnostics diags2("test.perk", twice);
  CHECK_FALSE(perk::FormatSource(twice, diags2).has_value());
}

TEST_CASE("fmt: type errors do not stop formatting") {
  CHECK(Format("program \"p\"\nevent e{a:int}\nrule r on e then credit nowhere e.a end\n") ==
        "program \"p\"\n"
        "event e { a: int }\n"
        "\n"
        "rule r\n"
        "  on e\n"
        "  then credit nowhere e.a\n"
        "end\n");
}

TEST_CASE("fmt: the parser's outline keeps comments as tokens and marks the grammar's spans") {
  std::string source =
      "program \"p\"  # name\nevent e { a: int }\nwallet w: int\n"
      "rule r on e when -e.a < abs(e.a) then credit w if e.a > 0 then 1 else 2 end\n";
  perk::Diagnostics diags("test.perk", source);
  auto tree = perk::syntax::ParseTree(source, diags);
  REQUIRE(tree.has_value());
  const auto& tokens = tree->tokens;
  REQUIRE(tokens.size() > 3);
  CHECK(tokens[2].text == "# name");
  CHECK(tokens[2].kind == perk::syntax::TokenKind::Comment);
  const auto& decls = tree->root.children;
  REQUIRE(decls.size() == 4);
  CHECK(decls[1].kind == perk::syntax::NodeKind::Fields);
  CHECK(decls[3].kind == perk::syntax::NodeKind::Rule);
  // The rule: trigger, when, then, the action, end.
  REQUIRE(decls[3].children.size() == 5);
  CHECK(decls[3].children[2].kind == perk::syntax::NodeKind::Then);
  CHECK(decls[3].children[4].kind == perk::syntax::NodeKind::End);
  int calls = 0, minus = 0, ifs = 0, elses = 0;
  for (const auto& t : tokens) {
    calls += (t.flags & perk::syntax::kCallParen) != 0;
    minus += (t.flags & perk::syntax::kUnaryMinus) != 0;
    ifs += (t.flags & perk::syntax::kExprIf) != 0;
    elses += (t.flags & perk::syntax::kExprElse) != 0;
  }
  CHECK(calls == 1);
  CHECK(minus == 1);
  CHECK(ifs == 1);
  CHECK(elses == 1);
  CHECK(perk::syntax::Tokenize("program \"p\" # c\n").size() == 3);
  // Comments ride the hidden channel: the parser reads the same program without them.
  std::string plain = "program \"p\"\nevent e { a: int }\nwallet w: int\n"
                      "rule r on e when -e.a < abs(e.a) then credit w if e.a > 0 then 1 else 2 end\n";
  perk::Diagnostics d1("a.perk", source), d2("b.perk", plain);
  CHECK(perk::ast::Dump(*perk::ast::ParseProgram(source, d1)) == perk::ast::Dump(*perk::ast::ParseProgram(plain, d2)));
  CHECK_FALSE(d1.HasErrors());
}
