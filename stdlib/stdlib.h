// Perk's built-in value kinds and the exact arithmetic, time and string functions
// shared by the checker (constant folding), the interpreter, the runtime and the JIT.
//
// Representation (fixed, documented in docs/semantics.md):
//   int      int64_t
//   decimal  int64_t count of micro-units (6 fractional digits): 2.5 == 2'500'000
//   money    int64_t count of cents (2 fractional digits):        250.50 == 25'050
//   bool     int64_t 0 or 1
//   time     int64_t microseconds since 1970-01-01T00:00:00Z (UTC)
//   date     int64_t days since 1970-01-01
//   tier     int64_t rank (0 = base tier)
//   string   std::string (UTF-8)
// Every rounding is half away from zero. Functions that can fail return a PerkStatus
// and write their result through an out pointer; they never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

extern "C" {

typedef enum PerkStatus {
  PERK_OK = 0,
  PERK_OVERFLOW = 1,
  PERK_DIV_BY_ZERO = 2,
} PerkStatus;

// ---- int ----
PerkStatus perk_int_add(int64_t a, int64_t b, int64_t* out);
PerkStatus perk_int_sub(int64_t a, int64_t b, int64_t* out);
PerkStatus perk_int_mul(int64_t a, int64_t b, int64_t* out);
PerkStatus perk_int_neg(int64_t a, int64_t* out);
// C semantics: the result has the sign of a. b == 0 is PERK_DIV_BY_ZERO.
PerkStatus perk_int_mod(int64_t a, int64_t b, int64_t* out);
// int / int -> decimal (micro-units), rounded half away from zero.
PerkStatus perk_int_div(int64_t a, int64_t b, int64_t* out);
PerkStatus perk_int_abs(int64_t a, int64_t* out);
// int -> decimal (a * 1e6).
PerkStatus perk_int_to_decimal(int64_t a, int64_t* out);

// ---- decimal (micro-units) ----
// add/sub/neg/abs of decimals are the int functions above (same scale).
PerkStatus perk_dec_mul(int64_t a, int64_t b, int64_t* out);
PerkStatus perk_dec_div(int64_t a, int64_t b, int64_t* out);
// decimal -> int
PerkStatus perk_dec_floor(int64_t a, int64_t* out);
PerkStatus perk_dec_ceil(int64_t a, int64_t* out);
PerkStatus perk_dec_round(int64_t a, int64_t* out);

// ---- money (cents) ----
// money +- money, neg, abs: the int functions above.
// money * int -> money
PerkStatus perk_money_mul_int(int64_t cents, int64_t n, int64_t* out);
// money * decimal -> money, rounded to cents
PerkStatus perk_money_mul_dec(int64_t cents, int64_t micros, int64_t* out);
// money / int -> money, rounded to cents
PerkStatus perk_money_div_int(int64_t cents, int64_t n, int64_t* out);
// money / decimal -> money, rounded to cents
PerkStatus perk_money_div_dec(int64_t cents, int64_t micros, int64_t* out);
// money / money -> decimal
PerkStatus perk_money_div_money(int64_t a, int64_t b, int64_t* out);
// money -> money in whole units (multiples of 100 cents)
PerkStatus perk_money_floor(int64_t cents, int64_t* out);
PerkStatus perk_money_ceil(int64_t cents, int64_t* out);
PerkStatus perk_money_round(int64_t cents, int64_t* out);

// ---- time (micros since epoch) and date (days since epoch) ----
int64_t perk_time_date(int64_t micros);          // floor division: the UTC calendar day
// time + duration and time - duration: PERK_OVERFLOW when the result leaves the years
// 0000-9999 (perk::stdlib::kMinTime..kMaxTime), where RFC 3339 can no longer write it.
PerkStatus perk_time_add(int64_t micros, int64_t duration, int64_t* out);
PerkStatus perk_time_sub(int64_t micros, int64_t duration, int64_t* out);
int64_t perk_date_start(int64_t days);           // DAY T00:00:00Z in micros
// Days from date a to date b (b - a).
int64_t perk_days_between(int64_t a_days, int64_t b_days);
// True when today's month/day equal d's (29 Feb counts as 28 Feb in non-leap years)
// and today's year is later than d's year.
int64_t perk_anniversary(int64_t d_days, int64_t today_days);
// Whole years from date a to date b (v0.2): a year is complete on its anniversary (29 Feb
// counts as 28 Feb in other years); negative when b is before a, as -years_between(b, a).
// Dates stay within years 0000-9999, so it never overflows (stdlib/years.cpp).
int64_t perk_years_between(int64_t a_days, int64_t b_days);

}  // extern "C"

namespace perk::stdlib {

constexpr int64_t kDecimalScale = 1'000'000;
constexpr int64_t kMoneyScale = 100;
constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;
// The times RFC 3339 can write: 0000-01-01T00:00:00Z through 9999-12-31T23:59:59.999999Z.
// Input times, time literals and time arithmetic stay within them.
constexpr int64_t kMinTime = -719'528 * kMicrosPerDay;
constexpr int64_t kMaxTime = 2'932'897 * kMicrosPerDay - 1;

// perk_time_date and perk_date_start, inline (they are defined with these): the engine's clock
// asks for them on every record of a UTC program.
inline int64_t UtcDate(int64_t micros) { return micros / kMicrosPerDay - (micros % kMicrosPerDay < 0 ? 1 : 0); }
// Saturates instead of overflowing: only dates about 292,000 years from 1970 are affected.
inline int64_t UtcDayStart(int64_t days) {
  int64_t out = 0;
  if (__builtin_mul_overflow(days, kMicrosPerDay, &out)) return days < 0 ? INT64_MIN : INT64_MAX;
  return out;
}

// ---- exact decimal text ----
// Parses decimal text: optional '-', digits with optional '_' separators between digits
// (only when allow_underscores), optional '.digits', optional exponent 'e|E[+-]digits'
// (only when allow_exponent; JSON numbers use it). The value is scaled by 10^scale_digits
// into an int64. Returns nullopt, with a reason in *error, when the text is malformed,
// has more than scale_digits significant fractional digits after applying the exponent
// (text like "10.000" for money counts its written digits: 3 > 2 is an error), or overflows.
std::optional<int64_t> ParseScaled(std::string_view text, int scale_digits,
                                   bool allow_underscores, bool allow_exponent,
                                   std::string* error);

// Formatting for the ledger (spec §6).
std::string FormatMoney(int64_t cents);      // "75.00", "-0.50", "1234567.89"
std::string FormatDecimal(int64_t micros);   // "0.3", "2", "-1.25" (no trailing zeros)
std::string FormatTime(int64_t micros);      // "2026-01-05T10:00:00Z", fraction only when non-zero
                                             // (trailing zeros trimmed: ".5Z", ".123456Z")
std::string FormatDate(int64_t days);        // "2026-01-05"
// The same texts written at `p`, which has at least kMaxFormatted bytes free; each returns the
// end of what it wrote. For the ledger writer, which formats amounts on every entry: no
// temporary strings.
constexpr size_t kMaxFormatted = 48;
char* PutMoney(char* p, int64_t cents);
char* PutDecimal(char* p, int64_t micros);
char* PutTime(char* p, int64_t micros);
char* PutDate(char* p, int64_t days);

// RFC 3339: "2026-01-05T10:00:00Z", "2026-01-05T10:00:00.123+02:00"; 't'/' ' separators and
// 'z' accepted; up to 6 fractional digits; result normalised to UTC micros.
std::optional<int64_t> ParseTime(std::string_view text, std::string* error);
// "2026-01-05" -> days since epoch.
std::optional<int64_t> ParseDate(std::string_view text, std::string* error);

// Civil calendar helpers (proleptic Gregorian, UTC).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t days, int64_t* y, unsigned* m, unsigned* d);

// ---- strings (UTF-8) ----
// Case mapping for ASCII, Latin-1 Supplement, Latin Extended-A, Greek and Cyrillic;
// other code points are kept as they are. Deterministic: no locale is consulted.
std::string Lower(std::string_view s);
std::string Upper(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
bool Contains(std::string_view s, std::string_view part);
// Decodes the code point at s[i] into *cp; returns its length in bytes, 0 if ill-formed
// (overlong forms, surrogates and values past U+10FFFF included).
size_t DecodeUtf8(std::string_view s, size_t i, char32_t* cp);
// Is s well-formed UTF-8?
bool IsValidUtf8(std::string_view s);
// JSON string literal with quotes; non-ASCII UTF-8 is written as is, control characters
// and '"' '\\' escaped.
std::string JsonQuote(std::string_view s);
// JsonQuote appended to `out`, without a temporary (the ledger's hot path).
void AppendJsonQuoted(std::string& out, std::string_view s);
// The same written at `p`, which has at least JsonQuotedBound(s.size()) bytes free; returns the end.
constexpr size_t JsonQuotedBound(size_t size) { return 6 * size + 2; }
char* PutJsonQuoted(char* p, std::string_view s);

}  // namespace perk::stdlib
