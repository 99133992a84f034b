// Exact int, decimal (micro-units) and money (cents) arithmetic, decimal text parsing and
// formatting, and the names of Perk's types.
#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "stdlib/stdlib.h"
#include "stdlib/value.h"

namespace {

using Wide = __int128;

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

// Every product of two int64 values, or an int64 times 1e6, fits in an __int128, so each
// operation is computed exactly there and only the final narrowing can overflow.
PerkStatus Narrow(Wide v, int64_t* out) {
  if (v < kInt64Min || v > kInt64Max) return PERK_OVERFLOW;
  *out = static_cast<int64_t>(v);
  return PERK_OK;
}

Wide Abs(Wide v) { return v < 0 ? -v : v; }

// n / d rounded half away from zero; d != 0.
Wide DivRound(Wide n, Wide d) {
  Wide q = n / d;
  Wide r = n % d;
  if (2 * Abs(r) >= Abs(d)) q += ((n < 0) != (d < 0)) ? -1 : 1;
  return q;
}

Wide DivFloor(Wide n, Wide d) {
  Wide q = n / d;
  if (n % d != 0 && ((n < 0) != (d < 0))) --q;
  return q;
}

Wide DivCeil(Wide n, Wide d) {
  Wide q = n / d;
  if (n % d != 0 && ((n < 0) == (d < 0))) ++q;
  return q;
}

uint64_t Magnitude(int64_t v) {
  return v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

}  // namespace

// On failure every function here leaves *out as it was, so a caller may keep the old value.
extern "C" {

PerkStatus perk_int_add(int64_t a, int64_t b, int64_t* out) {
  int64_t v = 0;
  if (__builtin_add_overflow(a, b, &v)) return PERK_OVERFLOW;
  *out = v;
  return PERK_OK;
}

PerkStatus perk_int_sub(int64_t a, int64_t b, int64_t* out) {
  int64_t v = 0;
  if (__builtin_sub_overflow(a, b, &v)) return PERK_OVERFLOW;
  *out = v;
  return PERK_OK;
}

PerkStatus perk_int_mul(int64_t a, int64_t b, int64_t* out) {
  int64_t v = 0;
  if (__builtin_mul_overflow(a, b, &v)) return PERK_OVERFLOW;
  *out = v;
  return PERK_OK;
}

PerkStatus perk_int_neg(int64_t a, int64_t* out) { return Narrow(-Wide{a}, out); }

PerkStatus perk_int_mod(int64_t a, int64_t b, int64_t* out) {
  if (b == 0) return PERK_DIV_BY_ZERO;
  // INT64_MIN % -1 traps on x86 although the mathematical result is 0.
  *out = b == -1 ? 0 : a % b;
  return PERK_OK;
}

PerkStatus perk_int_div(int64_t a, int64_t b, int64_t* out) {
  if (b == 0) return PERK_DIV_BY_ZERO;
  return Narrow(DivRound(Wide{a} * perk::stdlib::kDecimalScale, b), out);
}

PerkStatus perk_int_abs(int64_t a, int64_t* out) { return Narrow(Abs(a), out); }

PerkStatus perk_int_to_decimal(int64_t a, int64_t* out) {
  return Narrow(Wide{a} * perk::stdlib::kDecimalScale, out);
}

PerkStatus perk_dec_mul(int64_t a, int64_t b, int64_t* out) {
  return Narrow(DivRound(Wide{a} * b, perk::stdlib::kDecimalScale), out);
}

PerkStatus perk_dec_div(int64_t a, int64_t b, int64_t* out) {
  if (b == 0) return PERK_DIV_BY_ZERO;
  return Narrow(DivRound(Wide{a} * perk::stdlib::kDecimalScale, b), out);
}

PerkStatus perk_dec_floor(int64_t a, int64_t* out) {
  return Narrow(DivFloor(a, perk::stdlib::kDecimalScale), out);
}

PerkStatus perk_dec_ceil(int64_t a, int64_t* out) {
  return Narrow(DivCeil(a, perk::stdlib::kDecimalScale), out);
}

PerkStatus perk_dec_round(int64_t a, int64_t* out) {
  return Narrow(DivRound(a, perk::stdlib::kDecimalScale), out);
}

PerkStatus perk_money_mul_int(int64_t cents, int64_t n, int64_t* out) {
  return perk_int_mul(cents, n, out);
}

PerkStatus perk_money_mul_dec(int64_t cents, int64_t micros, int64_t* out) {
  return Narrow(DivRound(Wide{cents} * micros, perk::stdlib::kDecimalScale), out);
}

PerkStatus perk_money_div_int(int64_t cents, int64_t n, int64_t* out) {
  if (n == 0) return PERK_DIV_BY_ZERO;
  return Narrow(DivRound(cents, n), out);
}

PerkStatus perk_money_div_dec(int64_t cents, int64_t micros, int64_t* out) {
  if (micros == 0) return PERK_DIV_BY_ZERO;
  return Narrow(DivRound(Wide{cents} * perk::stdlib::kDecimalScale, micros), out);
}

PerkStatus perk_money_div_money(int64_t a, int64_t b, int64_t* out) {
  if (b == 0) return PERK_DIV_BY_ZERO;
  return Narrow(DivRound(Wide{a} * perk::stdlib::kDecimalScale, b), out);
}

// Whole units just past the int64 limits do not fit (INT64_MAX cents is ...58.07 units), so
// floor and ceil can overflow although they move the value by less than one unit.
PerkStatus perk_money_floor(int64_t cents, int64_t* out) {
  return Narrow(DivFloor(cents, perk::stdlib::kMoneyScale) * perk::stdlib::kMoneyScale, out);
}

PerkStatus perk_money_ceil(int64_t cents, int64_t* out) {
  return Narrow(DivCeil(cents, perk::stdlib::kMoneyScale) * perk::stdlib::kMoneyScale, out);
}

PerkStatus perk_money_round(int64_t cents, int64_t* out) {
  return Narrow(DivRound(cents, perk::stdlib::kMoneyScale) * perk::stdlib::kMoneyScale, out);
}

}  // extern "C"

namespace perk::stdlib {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads digits from text[*pos], with single '_' between digits when allowed. Appends each
// digit to *mantissa (until it passes 2^64, when *huge is set and it stops growing) and
// counts them in *count. Returns false on a misplaced '_' or when no digit is present.
bool ReadDigits(std::string_view text, size_t* pos, bool allow_underscores, Wide* mantissa,
                bool* huge, int64_t* count) {
  size_t i = *pos;
  if (i >= text.size() || !IsDigit(text[i])) return false;
  // Past 2^64 the value is out of range however it is scaled, since scaling only multiplies.
  constexpr Wide kCap = Wide{1} << 64;
  while (i < text.size()) {
    char c = text[i];
    if (IsDigit(c)) {
      if (!*huge) {
        *mantissa = *mantissa * 10 + (c - '0');
        if (*mantissa > kCap) *huge = true;
      }
      ++*count;
      ++i;
    } else if (c == '_' && allow_underscores) {
      if (i + 1 >= text.size() || !IsDigit(text[i + 1])) return false;
      ++i;
    } else {
      break;
    }
  }
  *pos = i;
  return true;
}

}  // namespace

std::optional<int64_t> ParseScaled(std::string_view text, int scale_digits,
                                   bool allow_underscores, bool allow_exponent,
                                   std::string* error) {
  auto fail = [&](std::string why) -> std::optional<int64_t> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && text[pos] == '-') {
    negative = true;
    ++pos;
  }
  Wide mantissa = 0;
  bool huge = false;
  int64_t int_digits = 0;
  int64_t frac_digits = 0;
  if (!ReadDigits(text, &pos, allow_underscores, &mantissa, &huge, &int_digits)) {
    return fail("is not a number");
  }
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    if (!ReadDigits(text, &pos, allow_underscores, &mantissa, &huge, &frac_digits)) {
      return fail("is not a number");
    }
  }
  // Capping the exponent changes no outcome: past it a non-zero value overflows or has too
  // many decimal places either way, and zero stays zero.
  constexpr int64_t kExponentCap = 100'000;
  int64_t exponent = 0;
  if (allow_exponent && pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
    ++pos;
    bool exp_negative = false;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      exp_negative = text[pos] == '-';
      ++pos;
    }
    if (pos >= text.size() || !IsDigit(text[pos])) return fail("is not a number");
    while (pos < text.size() && IsDigit(text[pos])) {
      if (exponent < kExponentCap) exponent = exponent * 10 + (text[pos] - '0');
      ++pos;
    }
    if (exp_negative) exponent = -exponent;
  }
  if (pos != text.size()) return fail("is not a number");

  // Fractional digits as written, moved by the exponent: "1.5e1" has none, "1e-3" has 3.
  int64_t scale_left = scale_digits - (frac_digits - exponent);
  if (scale_left < 0) {
    if (scale_digits == 0) return fail("is not a whole number");
    return fail(fmt::format("has more than {} decimal places", scale_digits));
  }
  if (mantissa != 0) {
    for (int64_t i = 0; i < scale_left && !huge; ++i) {
      mantissa *= 10;
      if (mantissa > (Wide{1} << 64)) huge = true;
    }
  }
  Wide value = negative ? -mantissa : mantissa;
  int64_t result = 0;
  if (huge || Narrow(value, &result) != PERK_OK) return fail("is too large");
  return result;
}

char* PutMoney(char* p, int64_t cents) {
  uint64_t m = Magnitude(cents);
  if (cents < 0) *p++ = '-';
  p = std::to_chars(p, p + 20, m / 100).ptr;
  *p++ = '.';
  *p++ = static_cast<char>('0' + m % 100 / 10);
  *p++ = static_cast<char>('0' + m % 10);
  return p;
}

char* PutDecimal(char* p, int64_t micros) {
  uint64_t m = Magnitude(micros);
  if (micros < 0) *p++ = '-';
  p = std::to_chars(p, p + 20, m / kDecimalScale).ptr;
  uint64_t frac = m % kDecimalScale;
  if (frac == 0) return p;
  *p++ = '.';
  // Six digits, zero-padded, then without the trailing zeros.
  for (uint64_t unit = kDecimalScale / 10; frac != 0; unit /= 10) {
    *p++ = static_cast<char>('0' + frac / unit);
    frac %= unit;
  }
  return p;
}

std::string FormatMoney(int64_t cents) {
  char text[kMaxFormatted];
  return std::string(text, static_cast<size_t>(PutMoney(text, cents) - text));
}

std::string FormatDecimal(int64_t micros) {
  char text[kMaxFormatted];
  return std::string(text, static_cast<size_t>(PutDecimal(text, micros) - text));
}

}  // namespace perk::stdlib

namespace perk {

const char* TypeName(Type type) {
  switch (type) {
    case Type::Error: return "error";
    case Type::Int: return "int";
    case Type::Decimal: return "decimal";
    case Type::Money: return "money";
    case Type::Bool: return "bool";
    case Type::String: return "string";
    case Type::Time: return "time";
    case Type::Date: return "date";
    case Type::Tier: return "tier";
    case Type::Duration: return "duration";
    case Type::Client: return "client";
  }
  return "error";
}

}  // namespace perk
