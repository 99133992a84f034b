// Perk's types and the runtime value cell. The meaning of Value::i depends on the static
// type (see stdlib.h for the scales); strings live in Value::s.
#pragma once

#include <cstdint>
#include <string>

namespace perk {

// [v0.2] Client: a client, by id; held like a string (Value::s), and compared with strings.
enum class Type : uint8_t { Error, Int, Decimal, Money, Bool, String, Time, Date, Tier, Duration, Client };

// Types whose values are text in Value::s (and a pointer and length in native code).
inline bool IsText(Type t) { return t == Type::String || t == Type::Client; }

// "int", "decimal", "money", ... as written in programs and diagnostics.
const char* TypeName(Type type);

struct Value {
  int64_t i = 0;
  std::string s;

  static Value Int(int64_t v) { return Value{v, {}}; }
  static Value Str(std::string v) { return Value{0, std::move(v)}; }
  bool operator==(const Value& o) const { return i == o.i && s == o.s; }
};

}  // namespace perk
