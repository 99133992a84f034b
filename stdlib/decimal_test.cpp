// Unit tests for exact int/decimal/money arithmetic, decimal text parsing and formatting.
#include <catch2/catch.hpp>

#include <limits>

#include "stdlib/ops.h"
#include "stdlib/stdlib.h"
#include "stdlib/value.h"

namespace {

using perk::stdlib::FormatDecimal;
using perk::stdlib::FormatMoney;
using perk::stdlib::ParseScaled;

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

using BinaryOp = PerkStatus (*)(int64_t, int64_t, int64_t*);
using UnaryOp = PerkStatus (*)(int64_t, int64_t*);

// The result of an operation that must succeed.
int64_t Ok(BinaryOp op, int64_t a, int64_t b) {
  int64_t out = 0x5eed;
  PerkStatus status = op(a, b, &out);
  INFO("a=" << a << " b=" << b);
  REQUIRE(status == PERK_OK);
  return out;
}

int64_t Ok(UnaryOp op, int64_t a) {
  int64_t out = 0x5eed;
  PerkStatus status = op(a, &out);
  INFO("a=" << a);
  REQUIRE(status == PERK_OK);
  return out;
}

PerkStatus Status(BinaryOp op, int64_t a, int64_t b) {
  int64_t out = 0;
  return op(a, b, &out);
}

PerkStatus Status(UnaryOp op, int64_t a) {
  int64_t out = 0;
  return op(a, &out);
}

// Money parsing as the engine does it for JSON input.
std::optional<int64_t> Money(std::string_view text, std::string* error = nullptr) {
  return ParseScaled(text, 2, false, true, error);
}

std::optional<int64_t> Decimal(std::string_view text) {
  return ParseScaled(text, 6, false, true, nullptr);
}

}  // namespace

TEST_CASE("int add, sub and mul detect overflow at the int64 limits", "[decimal]") {
  CHECK(Ok(perk_int_add, 2, 3) == 5);
  CHECK(Ok(perk_int_add, kMax, 0) == kMax);
  CHECK(Ok(perk_int_add, kMin, kMax) == -1);
  CHECK(Status(perk_int_add, kMax, 1) == PERK_OVERFLOW);
  CHECK(Status(perk_int_add, kMin, -1) == PERK_OVERFLOW);

  CHECK(Ok(perk_int_sub, 2, 3) == -1);
  CHECK(Ok(perk_int_sub, -1, kMax) == kMin);
  CHECK(Status(perk_int_sub, kMin, 1) == PERK_OVERFLOW);
  CHECK(Status(perk_int_sub, 0, kMin) == PERK_OVERFLOW);
  CHECK(Status(perk_int_sub, kMax, -1) == PERK_OVERFLOW);

  CHECK(Ok(perk_int_mul, -4, 5) == -20);
  CHECK(Ok(perk_int_mul, kMin, 1) == kMin);
  CHECK(Status(perk_int_mul, kMin, -1) == PERK_OVERFLOW);
  CHECK(Status(perk_int_mul, kMax, 2) == PERK_OVERFLOW);
  CHECK(Status(perk_int_mul, int64_t{1} << 32, int64_t{1} << 31) == PERK_OVERFLOW);
  CHECK(Ok(perk_int_mul, int64_t{1} << 31, int64_t{1} << 31) == int64_t{1} << 62);
}

TEST_CASE("int neg and abs overflow only for INT64_MIN", "[decimal]") {
  CHECK(Ok(perk_int_neg, 5) == -5);
  CHECK(Ok(perk_int_neg, kMax) == -kMax);
  CHECK(Status(perk_int_neg, kMin) == PERK_OVERFLOW);
  CHECK(Ok(perk_int_abs, -7) == 7);
  CHECK(Ok(perk_int_abs, 7) == 7);
  CHECK(Ok(perk_int_abs, kMin + 1) == kMax);
  CHECK(Status(perk_int_abs, kMin) == PERK_OVERFLOW);
}

TEST_CASE("int mod takes the sign of the left operand", "[decimal]") {
  CHECK(Ok(perk_int_mod, 7, 3) == 1);
  CHECK(Ok(perk_int_mod, -7, 3) == -1);
  CHECK(Ok(perk_int_mod, 7, -3) == 1);
  CHECK(Ok(perk_int_mod, -7, -3) == -1);
  CHECK(Ok(perk_int_mod, 6, 3) == 0);
  CHECK(Ok(perk_int_mod, kMin, -1) == 0);
  CHECK(Ok(perk_int_mod, kMin, kMax) == -1);
  CHECK(Ok(perk_int_mod, kMax, kMin) == kMax);
  CHECK(Status(perk_int_mod, 7, 0) == PERK_DIV_BY_ZERO);
  CHECK(Status(perk_int_mod, 0, 0) == PERK_DIV_BY_ZERO);
}

TEST_CASE("int / int is a decimal rounded half away from zero", "[decimal]") {
  CHECK(Ok(perk_int_div, 1, 2) == 500'000);
  CHECK(Ok(perk_int_div, 1, 3) == 333'333);
  CHECK(Ok(perk_int_div, 2, 3) == 666'667);
  CHECK(Ok(perk_int_div, -2, 3) == -666'667);
  CHECK(Ok(perk_int_div, 2, -3) == -666'667);
  CHECK(Ok(perk_int_div, -2, -3) == 666'667);
  // Exactly half a micro-unit: 1 / 2'000'000 = 0.0000005.
  CHECK(Ok(perk_int_div, 1, 2'000'000) == 1);
  CHECK(Ok(perk_int_div, -1, 2'000'000) == -1);
  // Just under half a micro-unit rounds toward zero.
  CHECK(Ok(perk_int_div, 1, 2'000'001) == 0);
  CHECK(Ok(perk_int_div, -1, 2'000'001) == 0);
  CHECK(Ok(perk_int_div, kMax, kMax) == 1'000'000);
  CHECK(Ok(perk_int_div, kMin, kMin) == 1'000'000);
  CHECK(Ok(perk_int_div, 9'223'372'036'854, 1) == 9'223'372'036'854'000'000);
  CHECK(Status(perk_int_div, 9'223'372'036'855, 1) == PERK_OVERFLOW);
  CHECK(Status(perk_int_div, kMin, -1) == PERK_OVERFLOW);
  CHECK(Status(perk_int_div, 1, 0) == PERK_DIV_BY_ZERO);
  CHECK(Status(perk_int_div, 0, 0) == PERK_DIV_BY_ZERO);
}

TEST_CASE("int to decimal scales by 1e6 and overflows beyond it", "[decimal]") {
  CHECK(Ok(perk_int_to_decimal, 3) == 3'000'000);
  CHECK(Ok(perk_int_to_decimal, -3) == -3'000'000);
  CHECK(Ok(perk_int_to_decimal, 9'223'372'036'854) == 9'223'372'036'854'000'000);
  CHECK(Ok(perk_int_to_decimal, -9'223'372'036'854) == -9'223'372'036'854'000'000);
  CHECK(Status(perk_int_to_decimal, 9'223'372'036'855) == PERK_OVERFLOW);
  CHECK(Status(perk_int_to_decimal, -9'223'372'036'855) == PERK_OVERFLOW);
  CHECK(Status(perk_int_to_decimal, kMin) == PERK_OVERFLOW);
}

TEST_CASE("int against decimal compares exactly, past the range an int widens to", "[decimal]") {
  auto cmp = [](int64_t i, int64_t micros) {
    perk::Value args[2] = {perk::Value::Int(i), perk::Value::Int(micros)};
    perk::Value out;
    REQUIRE(perk::ApplyOp(perk::OpCode::CmpIntDec, args, &out) == PERK_OK);
    return out.i;
  };
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  CHECK(cmp(2, 1'500'000) == 1);
  CHECK(cmp(1, 1'500'000) == -1);
  CHECK(cmp(3, 3'000'000) == 0);
  CHECK(cmp(-1, -999'999) == -1);
  // 10^13 cannot widen to decimal (about 9.2e12 at most) but still compares.
  CHECK(cmp(10'000'000'000'000, 1'500'000) == 1);
  CHECK(cmp(10'000'000'000'000, kMax) == 1);
  CHECK(cmp(9'223'372'036'854, kMax) == -1);
  CHECK(cmp(9'223'372'036'855, kMax) == 1);
  CHECK(cmp(-9'223'372'036'855, kMin) == -1);
  CHECK(cmp(kMax, kMax) == 1);
  CHECK(cmp(kMin, kMin) == -1);
  CHECK(cmp(0, 0) == 0);
}

TEST_CASE("decimal mul and div round to six digits half away from zero", "[decimal]") {
  CHECK(Ok(perk_dec_mul, 2'500'000, 300'000) == 750'000);
  // 0.000001 * 0.5 = 0.0000005 -> 0.000001
  CHECK(Ok(perk_dec_mul, 1, 500'000) == 1);
  CHECK(Ok(perk_dec_mul, -1, 500'000) == -1);
  CHECK(Ok(perk_dec_mul, 1, 499'999) == 0);
  CHECK(Ok(perk_dec_mul, -1, 499'999) == 0);
  CHECK(Ok(perk_dec_mul, kMax, 1'000'000) == kMax);
  CHECK(Ok(perk_dec_mul, kMin, 1'000'000) == kMin);
  CHECK(Status(perk_dec_mul, kMax, 1'000'001) == PERK_OVERFLOW);
  CHECK(Status(perk_dec_mul, kMin, -1'000'000) == PERK_OVERFLOW);
  CHECK(Status(perk_dec_mul, kMax, kMax) == PERK_OVERFLOW);

  CHECK(Ok(perk_dec_div, 1'000'000, 3'000'000) == 333'333);
  CHECK(Ok(perk_dec_div, 2'000'000, 3'000'000) == 666'667);
  CHECK(Ok(perk_dec_div, -2'000'000, 3'000'000) == -666'667);
  CHECK(Ok(perk_dec_div, 1, 2'000'000) == 1);
  CHECK(Ok(perk_dec_div, -1, 2'000'000) == -1);
  CHECK(Ok(perk_dec_div, kMax, 1'000'000) == kMax);
  CHECK(Status(perk_dec_div, kMax, 999'999) == PERK_OVERFLOW);
  CHECK(Status(perk_dec_div, kMin, -1'000'000) == PERK_OVERFLOW);
  CHECK(Status(perk_dec_div, 1, 0) == PERK_DIV_BY_ZERO);
}

TEST_CASE("decimal floor, ceil and round give ints", "[decimal]") {
  CHECK(Ok(perk_dec_floor, 2'500'000) == 2);
  CHECK(Ok(perk_dec_floor, -2'500'000) == -3);
  CHECK(Ok(perk_dec_floor, -2'000'000) == -2);
  CHECK(Ok(perk_dec_ceil, 2'000'001) == 3);
  CHECK(Ok(perk_dec_ceil, -2'999'999) == -2);
  CHECK(Ok(perk_dec_ceil, 3'000'000) == 3);
  CHECK(Ok(perk_dec_round, 2'500'000) == 3);
  CHECK(Ok(perk_dec_round, 2'499'999) == 2);
  CHECK(Ok(perk_dec_round, -2'500'000) == -3);
  CHECK(Ok(perk_dec_round, -2'499'999) == -2);
  CHECK(Ok(perk_dec_round, 500'000) == 1);
  CHECK(Ok(perk_dec_round, -500'000) == -1);
  CHECK(Ok(perk_dec_floor, kMin) == -9'223'372'036'855);
  CHECK(Ok(perk_dec_ceil, kMax) == 9'223'372'036'855);
  CHECK(Ok(perk_dec_round, kMax) == 9'223'372'036'855);
}

TEST_CASE("money times int and decimal", "[decimal]") {
  CHECK(Ok(perk_money_mul_int, 1'999, 3) == 5'997);
  CHECK(Status(perk_money_mul_int, kMax, 2) == PERK_OVERFLOW);
  CHECK(Status(perk_money_mul_int, kMin, -1) == PERK_OVERFLOW);
  // 250.55 * 0.3 = 75.165 -> 75.17
  CHECK(Ok(perk_money_mul_dec, 25'055, 300'000) == 7'517);
  CHECK(Ok(perk_money_mul_dec, -25'055, 300'000) == -7'517);
  // 19.99 * 0.05 = 0.9995 -> 1.00
  CHECK(Ok(perk_money_mul_dec, 1'999, 50'000) == 100);
  // 0.01 * 0.5 = 0.005 -> 0.01; and -0.005 -> -0.01
  CHECK(Ok(perk_money_mul_dec, 1, 500'000) == 1);
  CHECK(Ok(perk_money_mul_dec, -1, 500'000) == -1);
  CHECK(Ok(perk_money_mul_dec, 1, -500'000) == -1);
  CHECK(Ok(perk_money_mul_dec, 1, 499'999) == 0);
  CHECK(Ok(perk_money_mul_dec, -1, 499'999) == 0);
  CHECK(Ok(perk_money_mul_dec, kMax, 1'000'000) == kMax);
  CHECK(Status(perk_money_mul_dec, kMax, 1'000'001) == PERK_OVERFLOW);
  CHECK(Status(perk_money_mul_dec, kMin, -1'000'000) == PERK_OVERFLOW);
  CHECK(Status(perk_money_mul_dec, kMin, kMin) == PERK_OVERFLOW);
}

TEST_CASE("money divided by int, decimal and money", "[decimal]") {
  // 10.00 / 3 = 3.333... -> 3.33; 0.05 / 2 = 0.025 -> 0.03
  CHECK(Ok(perk_money_div_int, 1'000, 3) == 333);
  CHECK(Ok(perk_money_div_int, 5, 2) == 3);
  CHECK(Ok(perk_money_div_int, -5, 2) == -3);
  CHECK(Ok(perk_money_div_int, 5, -2) == -3);
  CHECK(Ok(perk_money_div_int, 7, 2) == 4);
  CHECK(Ok(perk_money_div_int, kMin, 1) == kMin);
  CHECK(Status(perk_money_div_int, kMin, -1) == PERK_OVERFLOW);
  CHECK(Status(perk_money_div_int, 5, 0) == PERK_DIV_BY_ZERO);

  // 10.00 / 0.3 = 33.333... -> 33.33; 0.01 / 2.0 = 0.005 -> 0.01
  CHECK(Ok(perk_money_div_dec, 1'000, 300'000) == 3'333);
  CHECK(Ok(perk_money_div_dec, 1, 2'000'000) == 1);
  CHECK(Ok(perk_money_div_dec, -1, 2'000'000) == -1);
  CHECK(Ok(perk_money_div_dec, 1, 2'000'001) == 0);
  CHECK(Status(perk_money_div_dec, kMax, 999'999) == PERK_OVERFLOW);
  CHECK(Status(perk_money_div_dec, 1, 1) == PERK_OK);
  CHECK(Status(perk_money_div_dec, 1'000'000'000'000'000, 1) == PERK_OVERFLOW);
  CHECK(Status(perk_money_div_dec, 5, 0) == PERK_DIV_BY_ZERO);

  CHECK(Ok(perk_money_div_money, 7'500, 25'000) == 300'000);
  CHECK(Ok(perk_money_div_money, 100, 300) == 333'333);
  CHECK(Ok(perk_money_div_money, -200, 300) == -666'667);
  CHECK(Ok(perk_money_div_money, 1, 2'000'000) == 1);
  CHECK(Ok(perk_money_div_money, kMin, kMin) == 1'000'000);
  CHECK(Status(perk_money_div_money, kMax, 1) == PERK_OVERFLOW);
  CHECK(Status(perk_money_div_money, 100, 0) == PERK_DIV_BY_ZERO);
}

TEST_CASE("money floor, ceil and round give whole units", "[decimal]") {
  CHECK(Ok(perk_money_floor, 7'517) == 7'500);
  CHECK(Ok(perk_money_floor, -7'517) == -7'600);
  CHECK(Ok(perk_money_floor, -7'500) == -7'500);
  CHECK(Ok(perk_money_ceil, 7'501) == 7'600);
  CHECK(Ok(perk_money_ceil, -7'599) == -7'500);
  CHECK(Ok(perk_money_ceil, 7'500) == 7'500);
  CHECK(Ok(perk_money_round, 7'550) == 7'600);
  CHECK(Ok(perk_money_round, 7'549) == 7'500);
  CHECK(Ok(perk_money_round, -7'550) == -7'600);
  CHECK(Ok(perk_money_round, -7'549) == -7'500);
  CHECK(Ok(perk_money_round, 50) == 100);
  CHECK(Ok(perk_money_round, -50) == -100);
  // The nearest whole unit to INT64_MAX cents (...58.07) is in range; the next one up is not.
  CHECK(Ok(perk_money_floor, kMax) == 9'223'372'036'854'775'800);
  CHECK(Ok(perk_money_round, kMax) == 9'223'372'036'854'775'800);
  CHECK(Status(perk_money_ceil, kMax) == PERK_OVERFLOW);
  CHECK(Status(perk_money_floor, kMin) == PERK_OVERFLOW);
  CHECK(Ok(perk_money_ceil, kMin) == -9'223'372'036'854'775'800);
  // Rounding can never leave the range: both limits are nearer to an in-range unit.
  CHECK(Ok(perk_money_round, kMin) == -9'223'372'036'854'775'800);
}

TEST_CASE("a failed operation leaves the output untouched", "[decimal]") {
  int64_t out = 42;
  CHECK(perk_int_add(kMax, 1, &out) == PERK_OVERFLOW);
  CHECK(perk_money_div_int(1, 0, &out) == PERK_DIV_BY_ZERO);
  CHECK(out == 42);
}

TEST_CASE("ParseScaled reads money", "[decimal][parse]") {
  CHECK(Money("250") == 25'000);
  CHECK(Money("250.5") == 25'050);
  CHECK(Money("250.50") == 25'050);
  CHECK(Money("-3.5") == -350);
  CHECK(Money("0") == 0);
  CHECK(Money("-0") == 0);
  CHECK(Money("0.01") == 1);
  CHECK(Money("-0.01") == -1);
  CHECK(Money("007.10") == 710);
  CHECK(Money("92233720368547758.07") == kMax);
  CHECK(Money("-92233720368547758.08") == kMin);
}

TEST_CASE("ParseScaled applies the exponent before counting decimal places", "[decimal][parse]") {
  CHECK(Money("1e3") == 100'000);
  CHECK(Money("1E3") == 100'000);
  CHECK(Money("1e+3") == 100'000);
  CHECK(Money("1.5e1") == 1'500);
  CHECK(Money("1.50e1") == 1'500);
  CHECK(Money("125e-2") == 125);
  CHECK(Money("0e999999999999") == 0);
  CHECK(Money("0.00e-5000") == std::nullopt);
  CHECK(Decimal("2.5E-1") == 250'000);
  CHECK(Decimal("1e-6") == 1);
  CHECK(Decimal("1e-7") == std::nullopt);
  std::string error;
  CHECK(Money("1e-3", &error) == std::nullopt);
  CHECK(error == "has more than 2 decimal places");
  CHECK(Money("1e19", &error) == std::nullopt);
  CHECK(error == "is too large");
  CHECK(Money("1e99999999999999999999") == std::nullopt);
  // Without allow_exponent the 'e' is junk.
  CHECK(ParseScaled("1e3", 2, false, false, &error) == std::nullopt);
  CHECK(error == "is not a number");
}

TEST_CASE("ParseScaled counts written fractional digits", "[decimal][parse]") {
  std::string error;
  CHECK(Money("10.001", &error) == std::nullopt);
  CHECK(error == "has more than 2 decimal places");
  CHECK(Money("10.000", &error) == std::nullopt);
  CHECK(error == "has more than 2 decimal places");
  CHECK(Decimal("0.123456") == 123'456);
  CHECK(Decimal("0.1234560") == std::nullopt);
  CHECK(ParseScaled("2.5", 0, false, false, &error) == std::nullopt);
  CHECK(error == "is not a whole number");
  CHECK(ParseScaled("25e-1", 0, false, true, &error) == std::nullopt);
  CHECK(ParseScaled("2.5e1", 0, false, true, &error) == 25);
}

TEST_CASE("ParseScaled rejects malformed text", "[decimal][parse]") {
  for (const char* text :
       {"", "-", "+5", "+", ".5", "5.", "-.5", "5..0", "1.2.3", " 5", "5 ", "5x", "0x10", "1e",
        "1e+", "1e-", "e3", "1_000", "NaN", "inf", "--5", "5-", "1,5", "١"}) {
    std::string error;
    INFO("text: '" << text << "'");
    CHECK(ParseScaled(text, 2, false, true, &error) == std::nullopt);
    CHECK(error == "is not a number");
  }
}

TEST_CASE("ParseScaled underscores sit only between digits", "[decimal][parse]") {
  CHECK(ParseScaled("1_000_000", 0, true, false, nullptr) == 1'000'000);
  CHECK(ParseScaled("1_000.000_5", 6, true, false, nullptr) == 1'000'000'500);
  CHECK(ParseScaled("-1_0", 2, true, false, nullptr) == -1'000);
  for (const char* text : {"_1", "1_", "1__0", "1_.5", "1._5", "-_1", "1e1_0", "_"}) {
    INFO("text: '" << text << "'");
    CHECK(ParseScaled(text, 2, true, true, nullptr) == std::nullopt);
  }
}

TEST_CASE("ParseScaled detects overflow at the int64 limits", "[decimal][parse]") {
  std::string error;
  CHECK(ParseScaled("9223372036854775807", 0, false, false, nullptr) == kMax);
  CHECK(ParseScaled("-9223372036854775808", 0, false, false, nullptr) == kMin);
  CHECK(ParseScaled("9223372036854775808", 0, false, false, &error) == std::nullopt);
  CHECK(error == "is too large");
  CHECK(ParseScaled("-9223372036854775809", 0, false, false, nullptr) == std::nullopt);
  CHECK(ParseScaled("99999999999999999999999999999999999999999999", 0, false, false, nullptr) ==
        std::nullopt);
  CHECK(ParseScaled("000000000000000000000000000000000000000000001", 0, false, false, nullptr) ==
        1);
  CHECK(Money("92233720368547758.08") == std::nullopt);
  CHECK(Decimal("9223372036854.775807") == kMax);
  CHECK(Decimal("9223372036854.775808") == std::nullopt);
  CHECK(Decimal("9223372036855") == std::nullopt);
}

TEST_CASE("FormatMoney always writes two decimals", "[decimal][format]") {
  CHECK(FormatMoney(7'500) == "75.00");
  CHECK(FormatMoney(-50) == "-0.50");
  CHECK(FormatMoney(-5) == "-0.05");
  CHECK(FormatMoney(0) == "0.00");
  CHECK(FormatMoney(123'456'789) == "1234567.89");
  CHECK(FormatMoney(kMax) == "92233720368547758.07");
  CHECK(FormatMoney(kMin) == "-92233720368547758.08");
}

TEST_CASE("FormatDecimal trims trailing zeros", "[decimal][format]") {
  CHECK(FormatDecimal(300'000) == "0.3");
  CHECK(FormatDecimal(2'000'000) == "2");
  CHECK(FormatDecimal(-1'250'000) == "-1.25");
  CHECK(FormatDecimal(0) == "0");
  CHECK(FormatDecimal(1) == "0.000001");
  CHECK(FormatDecimal(-1) == "-0.000001");
  CHECK(FormatDecimal(10'000'000) == "10");
  CHECK(FormatDecimal(kMax) == "9223372036854.775807");
  CHECK(FormatDecimal(kMin) == "-9223372036854.775808");
}

TEST_CASE("money and decimal text round trips", "[decimal][format][parse]") {
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{99}, int64_t{-100},
                    int64_t{123'456'789}, kMax, kMin}) {
    INFO("value " << v);
    CHECK(Money(FormatMoney(v)) == v);
    CHECK(Decimal(FormatDecimal(v)) == v);
  }
}

TEST_CASE("TypeName spells types as programs do", "[decimal]") {
  using perk::Type;
  CHECK(std::string(perk::TypeName(Type::Int)) == "int");
  CHECK(std::string(perk::TypeName(Type::Decimal)) == "decimal");
  CHECK(std::string(perk::TypeName(Type::Money)) == "money");
  CHECK(std::string(perk::TypeName(Type::Bool)) == "bool");
  CHECK(std::string(perk::TypeName(Type::String)) == "string");
  CHECK(std::string(perk::TypeName(Type::Time)) == "time");
  CHECK(std::string(perk::TypeName(Type::Date)) == "date");
  CHECK(std::string(perk::TypeName(Type::Tier)) == "tier");
  CHECK(std::string(perk::TypeName(Type::Duration)) == "duration");
  CHECK(std::string(perk::TypeName(Type::Error)) == "error");
}
