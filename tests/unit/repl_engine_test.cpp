// What `perk repl` needs from the compiler and the engine: CheckExpression's extended
// program (aggregates of their own) and the engine's rule observer.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "compiler/compiler.h"
#include "runtime/engine.h"
#include "runtime/interp.h"
#include "stdlib/stdlib.h"

namespace perk {
namespace {

const char* const kProgram = R"(program "T"
currency EUR
event buy { amount: money }
client { country: string = "CY" }
wallet points: int
tier Basic
tier Gold when sum(buy.amount within 30 days) >= 100 EUR
rule first on buy when buy.amount >= 10 EUR limit once per client then credit points 1 end
rule second on buy then credit points 2 end
rule up on tier_changed then credit points 100 end
)";

std::unique_ptr<checked::Program> Compile() {
  Diagnostics diags("t.perk", kProgram);
  auto p = CompileProgram(kProgram, diags);
  INFO(diags.Render());
  REQUIRE(p);
  return p;
}

std::optional<checked::Expr> Check(const checked::Program& p, const char* text, checked::Program* extended,
                                   Diagnostics& diags, int event = -1) {
  auto ast = ast::ParseExpression(text, diags);
  REQUIRE(ast);
  return CheckExpression(p, *ast, event, diags, extended);
}

const char* const kRecords[] = {
    R"({"type":"buy","id":"b1","client":"c1","time":"2026-01-05T10:00:00Z","amount":"60"})",
    R"({"type":"buy","id":"b2","client":"c1","time":"2026-01-06T10:00:00Z","amount":"50"})",
};

TEST_CASE("a REPL expression's aggregates get slots of their own in the extended program", "[repl][check]") {
  auto p = Compile();
  checked::Program extended;
  Diagnostics diags("<input>", "");
  auto e = Check(*p, "count(buy within 1 day) + count(buy)", &extended, diags);
  INFO(diags.Render());
  REQUIRE(e);
  CHECK(e->type == Type::Int);
  // The program's own slot and use stay where they were; the expression's come after them.
  REQUIRE(p->agg_slots.size() == 1);
  REQUIRE(p->aggregates.size() == 1);
  CHECK(extended.agg_slots.size() == 3);
  CHECK(extended.aggregates.size() == 3);
  CHECK(extended.events[0].agg_slots == std::vector<int>{0, 1, 2});
  // Fed through an engine of the extended program, the expression sees the history.
  runtime::Engine engine(extended);
  uint64_t n = 0;
  for (const char* r : kRecords) engine.ProcessLine(r, ++n);
  runtime::EvalContext ctx;
  ctx.program = &extended;
  ctx.client = engine.FindClient("c1");
  REQUIRE(ctx.client);
  ctx.now = engine.clock();
  ctx.today = perk_time_date(ctx.now);
  Value v;
  SourceRange where;
  REQUIRE(runtime::Eval(*e, ctx, &v, &where) == PERK_OK);
  CHECK(v.i == 1 + 2);
}

TEST_CASE("a REPL expression sees the program's tiers and client attributes", "[repl][check]") {
  auto p = Compile();
  checked::Program extended;
  Diagnostics d1("<input>", "");
  auto tier = Check(*p, "tier >= Gold", &extended, d1);
  INFO(d1.Render());
  CHECK(tier);
  Diagnostics d2("<input>", "");
  CHECK_FALSE(Check(*p, "client.contry", &extended, d2));
  REQUIRE(d2.all().size() == 1);
  CHECK(d2.all()[0].message.find("did you mean `country`?") != std::string::npos);
  Diagnostics d3("<input>", "");
  CHECK(Check(*p, "buy.amount * 2", &extended, d3, 0));
  Diagnostics d4("<input>", "");
  CHECK_FALSE(Check(*p, "buy.amount * 2", &extended, d4));
  CHECK(d4.all()[0].kind == DiagKind::EventNotInScope);
}

TEST_CASE("the rule observer sees each rule before its limit, in the engine's order", "[repl][engine]") {
  auto p = Compile();
  runtime::Engine engine(*p);
  struct Seen {
    std::string rule;
    int64_t points;
    bool has_event;
    int64_t previous_tier;
  };
  std::vector<Seen> seen;
  engine.SetRuleObserver([&](int r, const runtime::EvalContext& ctx, std::string_view, uint64_t) {
    seen.push_back({p->rules[r].name, ctx.client->wallets()[0], ctx.event != nullptr, ctx.previous_tier});
  });
  engine.ProcessLine(kRecords[0], 1);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].rule == "first");
  CHECK(seen[0].points == 0);
  CHECK(seen[0].has_event);
  // The second rule is seen after the first one's credit: the state the engine evaluates in.
  CHECK(seen[1].rule == "second");
  CHECK(seen[1].points == 1);
  seen.clear();
  engine.ProcessLine(kRecords[1], 2);
  // `first` is still observed although its limit is reached; then the tier change runs `up`.
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].rule == "first");
  CHECK(seen[1].rule == "second");
  CHECK(seen[2].rule == "up");
  CHECK_FALSE(seen[2].has_event);
  CHECK(seen[2].previous_tier == 0);
  CHECK(engine.FindClient("c1")->wallets()[0] == 1 + 2 + 2 + 100);
  // Unset, nothing is observed.
  seen.clear();
  engine.SetRuleObserver(nullptr);
  engine.ProcessLine(R"({"type":"buy","id":"b3","client":"c1","time":"2026-01-06T11:00:00Z","amount":"5"})", 3);
  CHECK(seen.empty());
}

}  // namespace
}  // namespace perk
