// Unit tests for the UTF-8 string built-ins.
#include <catch2/catch.hpp>

#include "stdlib/stdlib.h"

using perk::stdlib::Contains;
using perk::stdlib::IsValidUtf8;
using perk::stdlib::JsonQuote;
using perk::stdlib::Lower;
using perk::stdlib::StartsWith;
using perk::stdlib::Upper;

TEST_CASE("Lower and Upper map ASCII", "[strings]") {
  CHECK(Lower("Hello, World 42!") == "hello, world 42!");
  CHECK(Upper("Hello, World 42!") == "HELLO, WORLD 42!");
  CHECK(Lower("") == "");
  CHECK(Upper("@[`{") == "@[`{");
}

TEST_CASE("Lower and Upper map Latin-1 and Latin Extended-A", "[strings]") {
  CHECK(Lower("ÀÉÎÕÜÞ") == "àéîõüþ");
  CHECK(Upper("àéîõüþ") == "ÀÉÎÕÜÞ");
  CHECK(Lower("×") == "×");
  CHECK(Upper("÷") == "÷");
  CHECK(Upper("ÿ") == "Ÿ");
  CHECK(Lower("Ÿ") == "ÿ");
  // Simple mappings only: 'ß' has no one-character uppercase.
  CHECK(Upper("straße") == "STRAßE");
  CHECK(Upper("µ") == "Μ");
  CHECK(Lower("ĀČĐĘĞĦĪĲĶĹŁŃŇŊŒŘŠŦŮŰŶŹŻŽ") == "āčđęğħīĳķĺłńňŋœřšŧůűŷźżž");
  CHECK(Upper("āčđęğħīĳķĺłńňŋœřšŧůűŷźżž") == "ĀČĐĘĞĦĪĲĶĹŁŃŇŊŒŘŠŦŮŰŶŹŻŽ");
  CHECK(Lower("İ") == "i");
  CHECK(Upper("ı") == "I");
  CHECK(Upper("ſ") == "S");
  CHECK(Upper("ĸŉ") == "ĸŉ");
  CHECK(Lower("ZAŻÓŁĆ GĘŚLĄ JAŹŃ") == "zażółć gęślą jaźń");
}

TEST_CASE("Lower and Upper map Greek", "[strings]") {
  CHECK(Lower("ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ") == "αβγδεζηθικλμνξοπρστυφχψω");
  CHECK(Upper("αβγδεζηθικλμνξοπρστυφχψω") == "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ");
  CHECK(Upper("ς") == "Σ");
  CHECK(Lower("ΆΈΉΊΌΎΏ") == "άέήίόύώ");
  CHECK(Upper("άέήίόύώ") == "ΆΈΉΊΌΎΏ");
  CHECK(Lower("ΪΫ") == "ϊϋ");
  CHECK(Upper("ΐ") == "ΐ");
  CHECK(Upper("ϐϑϕϖϰϱϵ") == "ΒΘΦΠΚΡΕ");
  CHECK(Lower("ϴ") == "θ");
  CHECK(Lower("ϘϚϢϮ") == "ϙϛϣϯ");
}

TEST_CASE("Lower and Upper map Cyrillic", "[strings]") {
  CHECK(Lower("ПРИВЕТ, МИР") == "привет, мир");
  CHECK(Upper("привет, мир") == "ПРИВЕТ, МИР");
  CHECK(Lower("ЁЂЃЄЅІЇЈЉЊЋЌЍЎЏ") == "ёђѓєѕіїјљњћќѝўџ");
  CHECK(Upper("ёђѓєѕіїјљњћќѝўџ") == "ЁЂЃЄЅІЇЈЉЊЋЌЍЎЏ");
  CHECK(Lower("ѢѲҐҒӁӃӐӨ") == "ѣѳґғӂӄӑө");
  CHECK(Upper("ѣѳґғӂӄӑө") == "ѢѲҐҒӁӃӐӨ");
  CHECK(Lower("Ӏ") == "ӏ");
  CHECK(Upper("ӏ") == "Ӏ");
}

TEST_CASE("Lower and Upper keep other text and malformed bytes", "[strings]") {
  CHECK(Upper("日本語 🎉") == "日本語 🎉");
  CHECK(Lower("Ǆ") == "Ǆ");
  // A lone lead byte, a stray continuation byte and a truncated sequence pass through.
  CHECK(Lower(std::string_view("A\xC3", 2)) == std::string("a\xC3"));
  CHECK(Lower(std::string_view("\x80" "A", 2)) == std::string("\x80" "a"));
  CHECK(Upper(std::string_view("\xC3\x28", 2)) == std::string("\xC3\x28"));
  CHECK(Upper(std::string_view("a\0b", 3)) == std::string("A\0B", 3));
}

TEST_CASE("StartsWith and Contains compare bytes", "[strings]") {
  CHECK(StartsWith("promo-summer", "promo-"));
  CHECK(StartsWith("promo", "promo"));
  CHECK(StartsWith("promo", ""));
  CHECK_FALSE(StartsWith("pro", "promo"));
  CHECK_FALSE(StartsWith("Promo", "promo"));
  CHECK(Contains("vip-gold-2026", "gold"));
  CHECK(Contains("abc", ""));
  CHECK(Contains("", ""));
  CHECK_FALSE(Contains("", "a"));
  CHECK_FALSE(Contains("vip-gold", "Gold"));
  CHECK(Contains("café crème", "é c"));
}

TEST_CASE("IsValidUtf8", "[strings]") {
  CHECK(IsValidUtf8(""));
  CHECK(IsValidUtf8("plain ascii"));
  CHECK(IsValidUtf8("zażółć Ωμέγα привет 日本 🎉"));
  CHECK(IsValidUtf8("\xF4\x8F\xBF\xBF"));   // U+10FFFF
  CHECK(IsValidUtf8("\xED\x9F\xBF"));       // U+D7FF
  CHECK(IsValidUtf8(std::string_view("\0", 1)));
  CHECK_FALSE(IsValidUtf8("\x80"));          // stray continuation
  CHECK_FALSE(IsValidUtf8("\xC3"));          // truncated
  CHECK_FALSE(IsValidUtf8("\xC3\x28"));      // bad continuation
  CHECK_FALSE(IsValidUtf8("\xC0\xAF"));      // overlong '/'
  CHECK_FALSE(IsValidUtf8("\xE0\x80\xAF"));  // overlong
  CHECK_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));
  CHECK_FALSE(IsValidUtf8("\xED\xA0\x80"));  // surrogate U+D800
  CHECK_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  CHECK_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  CHECK_FALSE(IsValidUtf8("\xFF"));
  CHECK_FALSE(IsValidUtf8("\xE2\x82"));      // truncated euro sign
  CHECK_FALSE(IsValidUtf8("\xE2\x82\x41"));
  CHECK_FALSE(IsValidUtf8("\xF0\x9F\x8E"));  // truncated emoji
}

TEST_CASE("JsonQuote escapes quotes, backslashes and control characters", "[strings]") {
  CHECK(JsonQuote("") == "\"\"");
  CHECK(JsonQuote("hello") == "\"hello\"");
  CHECK(JsonQuote("say \"hi\"") == "\"say \\\"hi\\\"\"");
  CHECK(JsonQuote("a\\b") == "\"a\\\\b\"");
  CHECK(JsonQuote("l1\nl2\tx\r\b\f") == "\"l1\\nl2\\tx\\r\\b\\f\"");
  CHECK(JsonQuote(std::string_view("\0\x01\x1f", 3)) == "\"\\u0000\\u0001\\u001f\"");
  CHECK(JsonQuote("\x7f") == "\"\x7f\"");
  CHECK(JsonQuote("/") == "\"/\"");
  CHECK(JsonQuote("café 🎉 Ω") == "\"café 🎉 Ω\"");
}
