// The editor's index (compiler/query.h): every kind of name resolves to its declaration.
#include <catch2/catch.hpp>

#include <string>

#include "compiler/ast.h"
#include "compiler/query.h"

namespace {

using perk::query::Index;
using perk::query::SymbolKind;

const char* kProgram = R"(program "Q"
currency USD
event deposit { amount: money, method: string = "card" }
client { country: string }
wallet points: int expires after keep
var visits: int = 0
param bonus = 50 USD
param keep = 90 days
tier Silver
tier Gold when sum(deposit.amount within 30 days) >= 1000 USD
segment vip when tier == Gold
rule welcome on deposit when deposit.amount > bonus and client.country == "CY"
  limit once per client
then
  credit points floor(deposit.amount / 1 USD)
  set visits = visits + 1
  send deposit to deposit.client { amount: bonus }
end
rule hello on entering vip then credit points 1 end
)";

struct Fixture {
  perk::Diagnostics diags{"q.perk", kProgram};
  std::unique_ptr<perk::ast::Program> ast = perk::ast::ParseProgram(kProgram, diags);
  Index index{*ast};

  // The symbol named at the `nth` occurrence of `word` on `line` (1-based).
  int At(uint32_t line, const std::string& word, int nth = 1) {
    std::string text;
    std::string src = kProgram;
    size_t start = 0;
    for (uint32_t l = 1; l < line; ++l) start = src.find('\n', start) + 1;
    text = src.substr(start, src.find('\n', start) - start);
    size_t at = std::string::npos;
    for (int k = 0; k < nth; ++k) at = text.find(word, at == std::string::npos ? 0 : at + 1);
    REQUIRE(at != std::string::npos);
    int o = index.At(line, static_cast<uint32_t>(at + 1));
    return o < 0 ? -1 : index.occurrences()[o].symbol;
  }
  uint32_t DeclLine(int symbol) { return index.symbols().at(symbol).name_range.line; }
};

}  // namespace

TEST_CASE("query resolves every kind of name to its declaration", "[query]") {
  Fixture f;
  REQUIRE(!f.diags.HasErrors());
  CHECK(f.DeclLine(f.At(12, "deposit")) == 3);  // trigger -> event
  CHECK(f.DeclLine(f.At(12, "amount")) == 3);   // field
  CHECK(f.index.symbols()[f.At(12, "amount")].kind == SymbolKind::Field);
  CHECK(f.DeclLine(f.At(12, "bonus")) == 7);    // param
  CHECK(f.DeclLine(f.At(12, "country")) == 4);  // client attribute
  CHECK(f.DeclLine(f.At(15, "points")) == 5);   // credit target -> wallet
  CHECK(f.DeclLine(f.At(16, "visits")) == 6);   // set target -> var
  CHECK(f.DeclLine(f.At(16, "visits", 2)) == 6);
  CHECK(f.DeclLine(f.At(11, "Gold")) == 10);    // tier
  CHECK(f.DeclLine(f.At(19, "vip")) == 11);     // entering SEGMENT
  CHECK(f.DeclLine(f.At(10, "deposit")) == 3);  // aggregate's event
  CHECK(f.DeclLine(f.At(10, "amount")) == 3);   // aggregate's field
  CHECK(f.DeclLine(f.At(5, "keep")) == 8);      // duration param
  CHECK(f.DeclLine(f.At(17, "amount")) == 3);   // send's data key
  CHECK(f.index.symbols()[f.At(15, "floor")].kind == SymbolKind::Builtin);
  CHECK(f.index.symbols()[f.At(17, "client")].kind == SymbolKind::BuiltinField);
  CHECK(f.At(13, "limit") == -1);               // a keyword is no name
}

TEST_CASE("query finds every reference", "[query]") {
  Fixture f;
  int amount = f.At(3, "amount");
  auto refs = f.index.References(amount, true);
  REQUIRE(refs.size() == 5);  // declaration, aggregate, when, credit, send's key
  CHECK(refs[0].line == 3);
  CHECK(f.index.References(amount, false).size() == 4);
  CHECK(refs[4].line == 17);
  CHECK(f.index.References(f.At(19, "hello"), false).empty());
}

TEST_CASE("query lists fields and describes names", "[query]") {
  Fixture f;
  std::vector<std::string> names;
  for (int id : f.index.FieldsOf("deposit")) names.push_back(f.index.symbols()[id].name);
  CHECK(names == std::vector<std::string>{"amount", "method", "id", "client", "time"});
  CHECK(f.index.Describe(f.At(12, "amount")) == "field `amount`: money of event `deposit`");
  CHECK(f.index.Describe(f.At(12, "bonus")) == "param `bonus`: money");
  CHECK(f.index.Describe(f.At(15, "points")) == "wallet `points`: int");
}
