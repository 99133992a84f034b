// Input records: JSON Lines decoding with simdjson on-demand, and the block line reader.
#include "runtime/records.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "runtime/id_table.h"
#include "stdlib/stdlib.h"

namespace perk::runtime {

namespace {

std::string ClientIdTooLong(size_t bytes) {
  return "the client id is " + std::to_string(bytes) + " bytes long; client ids are at most " +
         std::to_string(kMaxClientIdBytes) + " bytes";
}

namespace od = simdjson::ondemand;

// Keys every record may carry; they get the first ids in the key table.
constexpr int kKeyType = 0;
constexpr int kKeyId = 1;
constexpr int kKeyClient = 2;
constexpr int kKeyTime = 3;
constexpr std::string_view kReservedKeys[] = {"type", "id", "client", "time"};

// Unknown keys may hold any JSON; nesting beyond this is rejected rather than walked, so a
// hostile line cannot exhaust the stack.
constexpr int kMaxNesting = 128;
// Values quoted in reject messages are cut to about this many bytes.
constexpr size_t kShownBytes = 64;

// A fixed set of names with open addressing, built once; lookups hash the key bytes once.
class NameTable {
 public:
  // Returns the name's id, adding it when new. Only before the first Find.
  int Add(std::string_view name) {
    int found = Find(name);
    if (found >= 0) return found;
    names_.emplace_back(name);
    Rehash();
    return static_cast<int>(names_.size()) - 1;
  }

  int Find(std::string_view name) const {
    if (slots_.empty()) return -1;
    for (size_t i = Hash(name) & mask_;; i = (i + 1) & mask_) {
      int32_t id = slots_[i];
      if (id < 0) return -1;
      if (names_[id] == name) return id;
    }
  }

  size_t size() const { return names_.size(); }

 private:
  static size_t Hash(std::string_view s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return static_cast<size_t>(h ^ (h >> 29));
  }

  void Rehash() {
    size_t cap = 8;
    while (cap < names_.size() * 2) cap *= 2;
    slots_.assign(cap, -1);
    mask_ = cap - 1;
    for (size_t id = 0; id < names_.size(); ++id) {
      size_t i = Hash(names_[id]) & mask_;
      while (slots_[i] >= 0) i = (i + 1) & mask_;
      slots_[i] = static_cast<int32_t>(id);
    }
  }

  std::vector<std::string> names_;
  std::vector<int32_t> slots_;
  size_t mask_ = 0;
};

bool IsBlank(std::string_view line) {
  for (char c : line) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  }
  return true;
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool IsJsonNumber(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && IsDigit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    size_t start = ++i;
    while (i < n && IsDigit(s[i])) ++i;
    if (i == start) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t start = i;
    while (i < n && IsDigit(s[i])) ++i;
    if (i == start) return false;
  }
  return i == n;
}

// For text that IsJsonNumber accepts: its fractional digits once the exponent is applied
// ("1.25" 2, "1.5e1" 0, "1e-3" 3). Tells "too many decimal places" from "out of range".
int64_t FractionDigits(std::string_view s) {
  size_t i = 0;
  int64_t frac = 0;
  while (i < s.size() && s[i] != '.' && s[i] != 'e' && s[i] != 'E') ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && IsDigit(s[i])) ++i, ++frac;
  }
  int64_t exponent = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
    for (; i < s.size(); ++i) {
      if (exponent < 1'000'000) exponent = exponent * 10 + (s[i] - '0');
    }
    if (negative) exponent = -exponent;
  }
  return frac - exponent;
}

// Appends s as a JSON string literal, cut at a character boundary after about kShownBytes.
void AppendQuoted(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  for (; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (i >= kShownBytes && (c & 0xC0) != 0x80) break;
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7F) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 15]);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  if (i < s.size()) out->append("…");
  out->push_back('"');
}

std::string TypeList(const InputSchema& schema) {
  std::vector<std::string_view> names;
  for (const EventSpec& e : schema.events) names.push_back(e.name);
  names.push_back("profile");
  names.push_back("tick");
  names.push_back("reversal");
  std::string list;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) list += i + 1 == names.size() ? " or " : ", ";
    list += names[i];
  }
  return list;
}

// What a JSON syntax error means, for a person fixing the line.
std::string JsonProblem(simdjson::error_code e) {
  switch (e) {
    case simdjson::UTF8_ERROR: return "the line is not valid UTF-8";
    case simdjson::UNESCAPED_CHARS: return "a string holds an unescaped control character";
    case simdjson::UNCLOSED_STRING: return "a string is not closed";
    case simdjson::STRING_ERROR: return "a string has an invalid escape";
    case simdjson::NUMBER_ERROR: return "a number is malformed";
    case simdjson::T_ATOM_ERROR: return "`true` is misspelt";
    case simdjson::F_ATOM_ERROR: return "`false` is misspelt";
    case simdjson::N_ATOM_ERROR: return "`null` is misspelt";
    case simdjson::DEPTH_ERROR: return "values are nested too deeply";
    case simdjson::CAPACITY: return "the line is too long";
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT:
      return "an object or array is not closed, or text follows the closing `}`";
    case simdjson::TAPE_ERROR:
    case simdjson::INCORRECT_TYPE:
      return "misplaced or missing commas, colons, quotes, braces or brackets";
    default: return simdjson::error_message(e);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------
// RecordDecoder

struct RecordDecoder::Impl {
  // One known key's value in the current line; valid while gen matches the decoder's.
  struct Capture {
    uint32_t gen = 0;
    od::json_type kind = od::json_type::null;
    // string: the unescaped text (in the parser's string buffer); number: the raw token;
    // bool: "true"/"false".
    std::string_view text;
  };

  struct Field {
    const FieldSpec* spec;
    int key;  // -1: a name the record itself uses (`type`, `id`, ...); never read
  };

  explicit Impl(const InputSchema& input) : schema(input) {
    for (std::string_view k : kReservedKeys) keys.Add(k);
    types.Add("profile");
    types.Add("tick");
    types.Add("reversal");
    type_event = {kProfile, kTick, kReversal};
    for (size_t index = 0; index < schema.events.size(); ++index) {
      const EventSpec& e = schema.events[index];
      std::vector<Field> fields;
      for (const FieldSpec& f : e.fields) {
        bool reserved = keys.Find(f.name) >= 0 && keys.Find(f.name) < 4;
        fields.push_back({&f, reserved ? -1 : keys.Add(f.name)});
      }
      event_fields.push_back(std::move(fields));
      // An event named `profile` or `tick` (or a repeated name) is never chosen: the first
      // meaning of a type name wins. The checker is expected to forbid such names.
      if (static_cast<size_t>(types.Add(e.name)) == type_event.size()) {
        type_event.push_back(static_cast<int>(index));
      }
    }
    for (const FieldSpec& f : schema.client_fields) {
      bool reserved = f.name == "since" || (keys.Find(f.name) >= 0 && keys.Find(f.name) < 4);
      client_fields.push_back({&f, reserved ? -1 : keys.Add(f.name)});
    }
    key_of = keys.Add("of");  // a reversal's; an event may have a field `of` too
    captures.resize(keys.size());
    type_list = TypeList(schema);
    // ContentHash's name hashes, once rather than per record.
    for (const EventSpec& e : schema.events) {
      event_hashes.push_back(HashId(e.name));
      std::vector<uint64_t> names;
      for (const FieldSpec& f : e.fields) names.push_back(HashId(f.name));
      event_field_hashes.push_back(std::move(names));
    }
    for (const FieldSpec& f : schema.client_fields) client_field_hashes.push_back(HashId(f.name));
  }

  std::vector<uint64_t> event_hashes;
  std::vector<std::vector<uint64_t>> event_field_hashes;
  std::vector<uint64_t> client_field_hashes;

  DecodeOutcome Decode(std::string_view line, const std::function<bool(std::string_view)>& is_duplicate,
                       Record* out, std::string* error);

  DecodeOutcome Reject(std::string* error, std::string message) {
    if (error) *error = std::move(message);
    return DecodeOutcome::Reject;
  }

  // Walks a JSON value only to check its syntax (the values of keys we do not read).
  simdjson::error_code Validate(od::value& value, int depth);
  simdjson::error_code CaptureValue(od::value& value, Capture* capture);
  // Reads the whole line's object into `captures`; the first syntax error stops it.
  simdjson::error_code ReadObject(od::object object);

  const Capture* Get(int key) const {
    if (key < 0) return nullptr;
    const Capture& c = captures[key];
    if (c.gen != gen || c.kind == od::json_type::null) return nullptr;
    return &c;
  }
  // Whether the line gives `key` as JSON `null` (Get treats that as absent).
  bool IsNull(int key) const {
    return key >= 0 && captures[key].gen == gen && captures[key].kind == od::json_type::null;
  }

  // Converts the value of one declared field; false with *error set on a bad value.
  bool Convert(const FieldSpec& spec, const Capture& c, Value* out, std::string* error) const;

  InputSchema schema;
  NameTable keys;   // every key the schema reads, reserved ones first
  NameTable types;  // "profile", "tick", then the event names
  static constexpr int kProfile = -1;
  static constexpr int kTick = -2;
  static constexpr int kReversal = -3;
  int key_of = -1;
  std::vector<int> type_event;  // type name id -> event index, kProfile, kTick or kReversal
  std::vector<std::vector<Field>> event_fields;
  std::vector<Field> client_fields;
  std::string type_list;

  od::parser parser;
  std::unique_ptr<char[]> buffer;
  size_t buffer_capacity = 0;

  std::vector<Capture> captures;
  uint32_t gen = 0;
  // The first key seen twice in the line, if any.
  std::string_view repeated_key;
  bool has_repeated_key = false;
  // Keys outside the schema, only to catch repeats: a short list, then a set.
  std::vector<std::string_view> unknown_keys;
  std::unordered_set<std::string_view> unknown_key_set;
};

simdjson::error_code RecordDecoder::Impl::Validate(od::value& value, int depth) {
  if (depth > kMaxNesting) return simdjson::DEPTH_ERROR;
  od::json_type kind;
  if (auto e = value.type().get(kind)) return e;
  switch (kind) {
    case od::json_type::object: {
      od::object object;
      if (auto e = value.get_object().get(object)) return e;
      for (auto item : object) {
        od::field field;
        if (auto e = std::move(item).get(field)) return e;
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return e;
        if (auto e = Validate(field.value(), depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::array: {
      od::array array;
      if (auto e = value.get_array().get(array)) return e;
      for (auto item : array) {
        od::value element;
        if (auto e = std::move(item).get(element)) return e;
        if (auto e = Validate(element, depth + 1)) return e;
      }
      return simdjson::SUCCESS;
    }
    case od::json_type::string: {
      std::string_view s;
      return value.get_string().get(s);
    }
    case od::json_type::number:
      return IsJsonNumber(TrimRight(value.raw_json_token())) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
    case od::json_type::boolean: {
      bool b;
      return value.get_bool().get(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto e = value.is_null().get(is_null)) return e;
      return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::TAPE_ERROR;
}

simdjson::error_code RecordDecoder::Impl::CaptureValue(od::value& value, Capture* capture) {
  od::json_type kind;
  if (auto e = value.type().get(kind)) return e;
  capture->kind = kind;
  switch (kind) {
    case od::json_type::string:
      return value.get_string().get(capture->text);
    case od::json_type::number:
      capture->text = TrimRight(value.raw_json_token());
      return IsJsonNumber(capture->text) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
    case od::json_type::boolean: {
      bool b = false;
      if (auto e = value.get_bool().get(b)) return e;
      capture->text = b ? "true" : "false";
      return simdjson::SUCCESS;
    }
    default:
      capture->text = {};
      return Validate(value, 2);
  }
}

// A key as written, when it has no escapes (nearly always): it is then its own unescaped
// text, and copying it into simdjson's string buffer can be skipped. Stage 1 has checked
// that every string is closed, so the scan ends at the closing quote.
bool PlainKey(od::field& field, std::string_view* key) {
  const char* start = field.key().raw();
  const char* p = start;
  while (*p != '"') {
    if (*p == '\\') return false;
    ++p;
  }
  *key = std::string_view(start, static_cast<size_t>(p - start));
  return true;
}

simdjson::error_code RecordDecoder::Impl::ReadObject(od::object object) {
  for (auto item : object) {
    od::field field;
    if (auto e = std::move(item).get(field)) return e;
    std::string_view key;
    if (!PlainKey(field, &key)) {
      if (auto e = field.unescaped_key().get(key)) return e;
    }
    int id = keys.Find(key);
    bool repeated = false;
    if (id >= 0) {
      Capture& c = captures[id];
      repeated = c.gen == gen;
      c.gen = gen;
      if (auto e = CaptureValue(field.value(), &c)) return e;
    } else {
      if (unknown_keys.size() < 16) {
        for (std::string_view k : unknown_keys) repeated = repeated || k == key;
        if (!repeated) unknown_keys.push_back(key);
      } else {
        if (unknown_key_set.empty()) unknown_key_set.insert(unknown_keys.begin(), unknown_keys.end());
        repeated = !unknown_key_set.insert(key).second;
      }
      if (auto e = Validate(field.value(), 2)) return e;
    }
    // A repeated `id` wins: it must be reported before the duplicate check reads an id.
    if (repeated && (!has_repeated_key || id == kKeyId)) {
      repeated_key = key;
      has_repeated_key = true;
    }
  }
  return simdjson::SUCCESS;
}

namespace {

// How a captured value reads in a message: strings quoted, numbers and bools as written.
std::string Shown(od::json_type kind, std::string_view text) {
  std::string out;
  switch (kind) {
    case od::json_type::string: AppendQuoted(text, &out); break;
    case od::json_type::object: out = "an object"; break;
    case od::json_type::array: out = "an array"; break;
    case od::json_type::null: out = "null"; break;
    default:
      if (text.size() > kShownBytes) {
        out.assign(text.substr(0, kShownBytes));
        out += "…";
      } else {
        out.assign(text);
      }
  }
  return out;
}

void SetInt(Value* v, int64_t i) {
  v->i = i;
  v->s.clear();
}

}  // namespace

bool RecordDecoder::Impl::Convert(const FieldSpec& spec, const Capture& c, Value* out,
                                  std::string* error) const {
  auto fail = [&](std::string_view what) {
    *error = "field `" + spec.name + "`: ";
    error->append(what);
    *error += ", got " + Shown(c.kind, c.text);
    return false;
  };
  switch (spec.type) {
    case Type::Int:
    case Type::Decimal:
    case Type::Money: {
      const int scale = spec.type == Type::Money ? 2 : spec.type == Type::Decimal ? 6 : 0;
      const char* expected = spec.type == Type::Money
                                 ? "expected money: a number like 250.00, or a string holding one"
                             : spec.type == Type::Decimal
                                 ? "expected a decimal: a number like 2.5, or a string holding one"
                                 : "expected an int: a whole number like 42, or a string holding one";
      if (c.kind != od::json_type::number && c.kind != od::json_type::string) return fail(expected);
      if (c.kind == od::json_type::string && !IsJsonNumber(c.text)) return fail(expected);
      std::string reason;
      std::optional<int64_t> v =
          stdlib::ParseScaled(c.text, scale, /*allow_underscores=*/false, /*allow_exponent=*/true, &reason);
      if (v) {
        SetInt(out, *v);
        return true;
      }
      if (FractionDigits(c.text) > scale) {
        if (spec.type == Type::Money) return fail("money has at most 2 decimal places");
        if (spec.type == Type::Decimal) return fail("a decimal has at most 6 decimal places");
        return fail("an int must be a whole number");
      }
      return fail(std::string(TypeName(spec.type)) + " out of range");
    }
    case Type::Bool:
      if (c.kind != od::json_type::boolean) return fail("expected true or false");
      SetInt(out, c.text == "true" ? 1 : 0);
      return true;
    case Type::Client:
      // [v0.2] A client, by its id: a non-empty string (spec §4).
      if (c.kind != od::json_type::string || c.text.empty()) return fail("expected a client id: a non-empty string");
      if (c.text.size() > kMaxClientIdBytes) return fail(ClientIdTooLong(c.text.size()));
      out->i = 0;
      out->s.assign(c.text);
      return true;
    case Type::String:
      if (c.kind != od::json_type::string) return fail("expected a string");
      out->i = 0;
      out->s.assign(c.text);
      return true;
    case Type::Time:
    case Type::Date: {
      const bool is_time = spec.type == Type::Time;
      if (c.kind != od::json_type::string) {
        return fail(is_time ? "expected an RFC 3339 time string like \"2026-01-05T10:00:00Z\""
                            : "expected a date string like \"2026-01-05\"");
      }
      std::string reason;
      std::optional<int64_t> v = is_time ? stdlib::ParseTime(c.text, &reason) : stdlib::ParseDate(c.text, &reason);
      if (v) {
        SetInt(out, *v);
        return true;
      }
      *error = "field `" + spec.name + "`: ";
      if (reason.empty()) {
        *error += is_time ? "not an RFC 3339 time: " : "not a date like 2026-01-05: ";
        *error += Shown(c.kind, c.text);
      } else {
        *error += Shown(c.kind, c.text) + " " + reason;
      }
      return false;
    }
    default:
      *error = "field `" + spec.name + "`: a " + TypeName(spec.type) + " field cannot be read from input";
      return false;
  }
}

DecodeOutcome RecordDecoder::Impl::Decode(std::string_view line,
                                          const std::function<bool(std::string_view)>& is_duplicate,
                                          Record* out, std::string* error) {
  if (line.empty() || (line.front() != '{' && IsBlank(line))) return DecodeOutcome::Blank;

  // simdjson reads up to SIMDJSON_PADDING bytes past the end: copy into a padded buffer.
  const size_t needed = line.size() + simdjson::SIMDJSON_PADDING;
  if (needed > buffer_capacity) {
    size_t capacity = std::max(needed, buffer_capacity * 2);
    buffer.reset(new char[capacity]);
    buffer_capacity = capacity;
  }
  std::memcpy(buffer.get(), line.data(), line.size());
  std::memset(buffer.get() + line.size(), 0, simdjson::SIMDJSON_PADDING);

  if (++gen == 0) {
    for (Capture& c : captures) c.gen = 0;
    gen = 1;
  }
  has_repeated_key = false;
  repeated_key = {};
  unknown_keys.clear();
  // clear() on an unordered_set wipes every bucket even when empty.
  if (!unknown_key_set.empty()) unknown_key_set.clear();

  od::document doc;
  if (auto e = parser.iterate(buffer.get(), line.size(), buffer_capacity).get(doc)) {
    return Reject(error, "not a JSON object: invalid JSON (" + JsonProblem(e) + ")");
  }
  od::json_type doc_kind;
  if (auto e = doc.type().get(doc_kind)) {
    return Reject(error, "not a JSON object: invalid JSON (" + JsonProblem(e) + ")");
  }
  if (doc_kind != od::json_type::object) {
    // type() looks at the first character only: `nope` would pass for null and `tru` for a
    // bool. Read such a scalar in full before naming it.
    bool scalar = false;
    if ((doc_kind == od::json_type::boolean && doc.get_bool().get(scalar)) ||
        (doc_kind == od::json_type::null && (doc.is_null().get(scalar) || !scalar))) {
      return Reject(error, "not a JSON object: invalid JSON (the line is not JSON text)");
    }
    const char* what = doc_kind == od::json_type::array    ? "an array"
                       : doc_kind == od::json_type::string ? "a string"
                       : doc_kind == od::json_type::number ? "a number"
                       : doc_kind == od::json_type::boolean ? "a bool"
                                                            : "null";
    return Reject(error, std::string("not a JSON object: the line holds ") + what);
  }
  od::object object;
  if (auto e = doc.get_object().get(object)) {
    return Reject(error, "not a JSON object: invalid JSON (" + JsonProblem(e) + ")");
  }
  if (auto e = ReadObject(object)) {
    return Reject(error, "not a JSON object: invalid JSON (" + JsonProblem(e) + ")");
  }
  // Anything but whitespace after the closing brace ({"a":1}} or two objects on a line).
  const char* trailing = nullptr;
  if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
    return Reject(error, "not a JSON object: unexpected text after the closing `}`");
  }

  if (has_repeated_key && repeated_key == "id") return Reject(error, "key `id` appears twice");
  const Capture* id = Get(kKeyId);
  // Checked before dedup: a sent event's id is remembered, and fed as input it is no duplicate.
  if (id && id->kind == od::json_type::string && id->text.find('/') != std::string_view::npos) {
    if (error) *error = ReservedIdMessage(id->text);
    return DecodeOutcome::Reject;
  }
  if (id && id->kind == od::json_type::string && !id->text.empty() && is_duplicate && is_duplicate(id->text)) {
    out->id.assign(id->text);
    return DecodeOutcome::Duplicate;
  }
  if (has_repeated_key) {
    return Reject(error, "key `" + std::string(repeated_key) + "` appears twice");
  }

  const Capture* type = Get(kKeyType);
  if (!type) return Reject(error, "missing `type`; expected " + type_list);
  if (type->kind != od::json_type::string) {
    return Reject(error, "`type`: expected a string naming the record type (" + type_list + "), got " +
                             Shown(type->kind, type->text));
  }
  int type_index = types.Find(type->text);
  if (type_index < 0) {
    std::string message = "unknown record type `";
    // Names with backticks or control characters are shown as JSON strings instead.
    bool plain = type->text.size() <= kShownBytes;
    for (char ch : type->text) plain = plain && ch != '`' && static_cast<unsigned char>(ch) >= 0x20;
    if (plain) {
      message.append(type->text);
      message += "`";
    } else {
      message.pop_back();
      message += Shown(type->kind, type->text);
    }
    return Reject(error, message + "; expected " + type_list);
  }

  const Capture* time = Get(kKeyTime);
  if (!time) return Reject(error, "missing `time`: every record needs an RFC 3339 time like 2026-01-05T10:00:00Z");
  if (time->kind != od::json_type::string) {
    return Reject(error, "`time`: expected an RFC 3339 time string like \"2026-01-05T10:00:00Z\", got " +
                             Shown(time->kind, time->text));
  }
  {
    std::string reason;
    std::optional<int64_t> t = stdlib::ParseTime(time->text, &reason);
    if (!t) {
      if (reason.empty()) return Reject(error, "`time`: not an RFC 3339 time: " + Shown(time->kind, time->text));
      return Reject(error, "`time`: " + Shown(time->kind, time->text) + " " + reason);
    }
    out->time = *t;
  }

  const int event_index = type_event[type_index];
  const bool is_event = event_index >= 0;
  const std::string_view kind_name = is_event || event_index == kReversal ? std::string_view(type->text) : "profile";
  // Every event needs an id; a profile or a tick may carry one, checked and remembered alike
  // (docs/semantics.md, Dedup).
  if (is_event || event_index == kReversal) {
    if (!id) return Reject(error, "missing `id`: every " + std::string(kind_name) + " record needs a unique id");
    if (id->kind != od::json_type::string || id->text.empty()) {
      return Reject(error, "`id`: expected a non-empty string, got " + Shown(id->kind, id->text));
    }
    out->id.assign(id->text);
  } else if (id) {
    if (id->kind != od::json_type::string) {
      return Reject(error, "`id`: expected a string, got " + Shown(id->kind, id->text));
    }
    out->id.assign(id->text);
  } else {
    out->id.clear();
  }

  if (event_index == kTick) {
    out->kind = RecordKind::Tick;
    out->event_index = -1;
    out->client.clear();
    out->fields.clear();
    out->present.clear();
    return DecodeOutcome::Ok;
  }

  const Capture* client = Get(kKeyClient);
  if (!client) {
    return Reject(error, "missing `client`: every " + std::string(kind_name) + " record names its client");
  }
  if (client->kind != od::json_type::string || client->text.empty()) {
    return Reject(error, "`client`: expected a non-empty string, got " + Shown(client->kind, client->text));
  }
  if (client->text.size() > kMaxClientIdBytes) return Reject(error, "`client`: " + ClientIdTooLong(client->text.size()));
  out->client.assign(client->text);

  if (event_index == kReversal) {
    const Capture* of = Get(key_of);
    if (!of) return Reject(error, "missing `of`: a reversal names the id of the event it takes back");
    if (of->kind != od::json_type::string || of->text.empty())
      return Reject(error, "`of`: expected the id of an event, got " + Shown(of->kind, of->text));
    out->kind = RecordKind::Reversal;
    out->event_index = -1;
    out->of.assign(of->text);
    out->fields.clear();
    out->present.clear();
    return DecodeOutcome::Ok;
  }

  std::string scratch;
  std::string* message = error ? error : &scratch;
  if (is_event) {
    out->kind = RecordKind::Event;
    out->event_index = event_index;
    const std::vector<Field>& fields = event_fields[event_index];
    out->fields.resize(fields.size());
    out->present.assign(fields.size(), true);
    for (size_t i = 0; i < fields.size(); ++i) {
      const FieldSpec& spec = *fields[i].spec;
      const Capture* c = Get(fields[i].key);
      if (c) {
        if (!Convert(spec, *c, &out->fields[i], message)) return DecodeOutcome::Reject;
      } else if (spec.has_default) {
        out->fields[i] = spec.default_value;
      } else {
        return Reject(error, "missing field `" + spec.name + "` (it has no default)");
      }
    }
  } else {
    out->kind = RecordKind::Profile;
    out->event_index = -1;
    out->fields.resize(client_fields.size());
    out->present.assign(client_fields.size(), false);
    out->nulled.assign(client_fields.size(), false);
    for (size_t i = 0; i < client_fields.size(); ++i) {
      const Capture* c = Get(client_fields[i].key);
      if (c) {
        if (!Convert(*client_fields[i].spec, *c, &out->fields[i], message)) return DecodeOutcome::Reject;
        out->present[i] = true;
      } else {
        SetInt(&out->fields[i], 0);
        // `null` unsets an optional attribute and returns one with a default to it (spec §4).
        if (IsNull(client_fields[i].key)) out->present[i] = out->nulled[i] = true;
      }
    }
  }
  return DecodeOutcome::Ok;
}

RecordDecoder::RecordDecoder(const InputSchema& schema) : impl_(std::make_unique<Impl>(schema)) {}
RecordDecoder::~RecordDecoder() = default;

DecodeOutcome RecordDecoder::Decode(std::string_view line,
                                    const std::function<bool(std::string_view)>& is_duplicate, Record* out,
                                    std::string* error) {
  return impl_->Decode(line, is_duplicate, out, error);
}

// ---------------------------------------------------------------------------------------
// LineReader

struct LineReader::Impl {
  static constexpr size_t kBlockSize = 1 << 20;

  int fd = -1;
  bool owns_fd = false;
  bool eof = false;
  std::string read_error;
  std::vector<char> buffer = std::vector<char>(kBlockSize);
  size_t begin = 0;    // start of the unread lines
  size_t end = 0;      // end of the bytes read
  size_t scanned = 0;  // [begin, scanned) holds no newline
  uint64_t line_number = 0;
  uint64_t bytes_read = 0;
  int64_t total_bytes = -1;

  ~Impl() {
    if (owns_fd) ::close(fd);
  }

  // Reads one more block after the unread bytes, moving or growing the buffer as needed.
  void Fill() {
    if (begin > 0) {
      std::memmove(buffer.data(), buffer.data() + begin, end - begin);
      end -= begin;
      scanned -= begin;
      begin = 0;
    }
    if (buffer.size() - end < kBlockSize / 2) buffer.resize(buffer.size() * 2);
    for (;;) {
      ssize_t n = ::read(fd, buffer.data() + end, buffer.size() - end);
      if (n > 0) {
        end += static_cast<size_t>(n);
        bytes_read += static_cast<uint64_t>(n);
        return;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) read_error = std::string("read failed: ") + std::strerror(errno);
      eof = true;
      return;
    }
  }

  bool Next(std::string_view* line, uint64_t* number) {
    for (;;) {
      const char* base = buffer.data();
      const void* newline = scanned < end ? std::memchr(base + scanned, '\n', end - scanned) : nullptr;
      size_t line_end;
      if (newline) {
        line_end = static_cast<size_t>(static_cast<const char*>(newline) - base);
      } else if (!eof) {
        scanned = end;
        Fill();
        continue;
      } else if (begin < end) {
        // The last line, without a newline.
        line_end = end;
      } else {
        return false;
      }
      size_t start = begin;
      // A UTF-8 byte order mark, which some editors put at the start of a file, is not data.
      if (line_number == 0 && line_end - start >= 3 && std::memcmp(base + start, "\xEF\xBB\xBF", 3) == 0) {
        start += 3;
      }
      size_t length = line_end - start;
      if (length > 0 && base[start + length - 1] == '\r') --length;
      *line = std::string_view(base + start, length);
      *number = ++line_number;
      begin = scanned = std::min(line_end + 1, end);
      return true;
    }
  }
};

std::unique_ptr<LineReader> LineReader::Open(const std::string& path, std::string* error) {
  auto impl = std::make_unique<Impl>();
  if (path == "-") {
    impl->fd = STDIN_FILENO;
  } else {
    impl->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (impl->fd < 0) {
      if (error) *error = "cannot open " + path + ": " + std::strerror(errno);
      return nullptr;
    }
    impl->owns_fd = true;
  }
  struct stat st {};
  if (::fstat(impl->fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      if (error) *error = "cannot read " + path + ": it is a directory";
      return nullptr;
    }
    if (S_ISREG(st.st_mode)) impl->total_bytes = static_cast<int64_t>(st.st_size);
  }
  std::unique_ptr<LineReader> reader(new LineReader());
  reader->impl_ = std::move(impl);
  return reader;
}

LineReader::~LineReader() = default;

bool LineReader::Next(std::string_view* line, uint64_t* line_number) { return impl_->Next(line, line_number); }

uint64_t LineReader::bytes_read() const { return impl_->bytes_read; }

int64_t LineReader::total_bytes() const { return impl_->total_bytes; }

const std::string& LineReader::error() const { return impl_->read_error; }

uint64_t LineReader::offset() const { return impl_->bytes_read - (impl_->end - impl_->begin); }

bool LineReader::SeekTo(uint64_t offset, uint64_t line_number) {
  Impl& m = *impl_;
  if (m.bytes_read != 0 || ::lseek(m.fd, static_cast<off_t>(offset), SEEK_SET) < 0) return false;
  m.bytes_read = offset;
  m.line_number = line_number;
  return true;
}

namespace {
uint64_t Mix(uint64_t h, uint64_t v) {
  h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 31);
}
}  // namespace

std::string ReservedIdMessage(std::string_view id) {
  return "`id` " + stdlib::JsonQuote(id) +
         " contains `/`, which is reserved for the ids of events sent by rules (like \"d1/refer/1\"); give the "
         "record an id without `/`";
}

std::string_view SenderOf(std::string_view id) {
  const size_t n = id.rfind('/');
  if (n == std::string_view::npos || n == 0) return {};
  const size_t rule = id.rfind('/', n - 1);
  return rule == std::string_view::npos ? std::string_view() : id.substr(0, rule);
}

uint64_t RecordDecoder::ContentHash(const Record& record, uint64_t client_hash) const {
  const InputSchema& schema = impl_->schema;
  const std::vector<FieldSpec>* specs = nullptr;
  const uint64_t* names = nullptr;
  uint64_t h = Mix(0x9E3779B97F4A7C15ull, static_cast<uint64_t>(record.kind));
  if (record.kind == RecordKind::Event && record.event_index >= 0 &&
      static_cast<size_t>(record.event_index) < schema.events.size()) {
    h = Mix(h, impl_->event_hashes[record.event_index]);
    specs = &schema.events[record.event_index].fields;
    names = impl_->event_field_hashes[record.event_index].data();
  } else if (record.kind == RecordKind::Profile) {
    specs = &schema.client_fields;
    names = impl_->client_field_hashes.data();
  }
  h = Mix(h, client_hash);
  h = Mix(h, static_cast<uint64_t>(record.time));
  if (record.kind == RecordKind::Reversal) h = Mix(h, HashId(record.of));
  uint64_t fields = 0;
  for (size_t k = 0; specs && k < record.fields.size() && k < specs->size(); ++k) {
    const FieldSpec& spec = (*specs)[k];
    const Value& v = record.fields[k];
    uint64_t f = names[k];
    if (record.kind == RecordKind::Profile) {
      const bool named = k < record.present.size() && record.present[k];
      const bool nulled = k < record.nulled.size() && record.nulled[k];
      if (!named) continue;
      if (nulled) {
        fields += Mix(f, 0x6e756c6c);
        continue;
      }
    } else if (spec.has_default && v == spec.default_value) {
      continue;
    }
    f = Mix(f, static_cast<uint64_t>(v.i));
    f = Mix(f, v.s.empty() ? 0 : HashId(v.s));
    // A sum, so the fields' order in the program does not matter.
    fields += f;
  }
  h = Mix(h, fields);
  return h ? h : 1;
}

}  // namespace perk::runtime
