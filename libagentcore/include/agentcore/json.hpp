// SPDX-License-Identifier: Apache-2.0
#pragma once

/// A JSON value (`Json`) with the semantics of JavaScript's `JSON.parse` / `JSON.stringify`,
/// because Tymbal frames and Cast's API are defined by what a JavaScript server does with them:
///
/// * Objects keep their members in insertion order. Parsing an object with a duplicate key keeps
///   the key at its first position and gives it the last value, as `JSON.parse` does.
/// * Numbers are IEEE doubles, serialized the way `Number.prototype.toString` prints them
///   (`1`, `0.5`, `1e+21`); a number too large for a double parses to infinity and, like in
///   JavaScript, serializes as `null`.
/// * Strings hold UTF-8. Parsing rejects invalid UTF-8 and lone surrogate escapes (JavaScript
///   would accept the latter; they cannot be represented in UTF-8).
///
/// Parsing uses simdjson On-Demand (see docs/tymbal.md); serialization uses `JsonWriter`.
/// A `Json` is a plain value type: thread-compatible, copyable, movable.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>

namespace agentcore {

class Json;
struct JsonMember;
using JsonArray = std::vector<Json>;
/// An object's members in insertion order; keys are unique in objects built by this library.
using JsonObject = std::vector<JsonMember>;

enum class JsonType : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

/// Lower-case name of a type as JavaScript's `typeof`-like wording: "null", "boolean",
/// "number", "string", "array", "object".
AGENTCORE_EXPORT std::string_view JsonTypeName(JsonType type);

class AGENTCORE_EXPORT Json {
 public:
  /// null
  Json();
  Json(std::nullptr_t);  // NOLINT: implicit on purpose, so `Json v = nullptr;` reads naturally
  Json(bool b);          // NOLINT
  Json(double d);        // NOLINT
  /// Any integer type, stored as a double (exact up to 2^53, as in JavaScript).
  template <typename I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Json(I i) : Json(static_cast<double>(i)) {}  // NOLINT
  Json(std::string s);       // NOLINT
  Json(std::string_view s);  // NOLINT
  Json(const char* s);       // NOLINT
  Json(JsonArray a);         // NOLINT
  Json(JsonObject o);        // NOLINT

  Json(const Json&);
  Json(Json&&) noexcept;
  Json& operator=(const Json&);
  Json& operator=(Json&&) noexcept;
  ~Json();

  /// An empty object / array.
  static Json Object();
  static Json Array();

  JsonType type() const { return static_cast<JsonType>(v_.index()); }
  bool is_null() const { return type() == JsonType::kNull; }
  bool is_bool() const { return type() == JsonType::kBool; }
  bool is_number() const { return type() == JsonType::kNumber; }
  bool is_string() const { return type() == JsonType::kString; }
  bool is_array() const { return type() == JsonType::kArray; }
  bool is_object() const { return type() == JsonType::kObject; }

  /// Typed access. REQUIRES: the value has that type.
  bool as_bool() const { return std::get<bool>(v_); }
  double as_number() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  std::string& as_string() { return std::get<std::string>(v_); }
  const JsonArray& as_array() const { return std::get<JsonArray>(v_); }
  JsonArray& as_array() { return std::get<JsonArray>(v_); }
  const JsonObject& as_object() const { return std::get<JsonObject>(v_); }
  JsonObject& as_object() { return std::get<JsonObject>(v_); }

  /// The member `key` of an object; nullptr when absent or when this is not an object.
  /// The pointer is valid until the object is modified.
  const Json* Find(std::string_view key) const;
  Json* Find(std::string_view key);
  /// The string member `key`, or nullptr when absent or not a string.
  const std::string* FindString(std::string_view key) const;

  /// Sets member `key` of an object: replaces the value in place when the key exists (keeping
  /// its position, like a JavaScript property assignment), else appends it.
  /// REQUIRES: is_object().
  void Set(std::string_view key, Json value);
  /// Removes member `key` of an object; returns whether it was there. REQUIRES: is_object().
  bool Erase(std::string_view key);

  /// Deep equality; numbers compare as doubles, objects member by member in order.
  friend bool operator==(const Json& a, const Json& b);

 private:
  std::variant<std::nullptr_t, bool, double, std::string, JsonArray, JsonObject> v_;
};

struct JsonMember {
  std::string key;
  Json value;
  friend bool operator==(const JsonMember& a, const JsonMember& b) = default;
};

inline Json Json::Object() { return Json(JsonObject{}); }
inline Json Json::Array() { return Json(JsonArray{}); }

/// Parses one JSON text (any value at the root, surrounding JSON whitespace allowed) with
/// `JSON.parse` semantics. Errors: kInvalidArgument for malformed JSON, invalid UTF-8, a byte
/// order mark, trailing content, or nesting deeper than kMaxJsonDepth.
AGENTCORE_EXPORT Result<Json> ParseJson(std::string_view text);

/// Deepest nesting of arrays and objects the parser accepts.
inline constexpr int kMaxJsonDepth = 512;

/// `JSON.stringify(value)`: compact, members in order.
AGENTCORE_EXPORT std::string ToJson(const Json& value);
/// Appends `JSON.stringify(value)` to `*out`.
AGENTCORE_EXPORT void AppendJson(const Json& value, std::string* out);

}  // namespace agentcore
