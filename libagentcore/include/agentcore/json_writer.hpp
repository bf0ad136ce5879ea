// SPDX-License-Identifier: Apache-2.0
#pragma once

/// `JsonWriter` appends compact JSON to a caller-owned `std::string` without building a value
/// first: the server writes every response and broadcast frame with it. Strings are escaped so
/// that the output is valid JSON and safe to embed in HTML or JavaScript source:
///
/// * `"` and `\` are escaped, control characters become `\b \f \n \r \t` or `\u00XX`;
/// * U+2028 and U+2029 become `\u2028` and `\u2029`;
/// * every other UTF-8 sequence is copied as is, and bytes that are not valid UTF-8 are each
///   replaced by `\ufffd`, so the output is always valid UTF-8.
///
/// Numbers are written as JavaScript prints them (see json.hpp).
///
/// The writer does not check that calls nest correctly (a debug build asserts it); it only
/// inserts commas and colons. Thread-compatible; the string must outlive the writer.

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

#include <agentcore/export.hpp>
#include <agentcore/json.hpp>

namespace agentcore {

class AGENTCORE_EXPORT JsonWriter {
 public:
  /// Appends to `*out`; not owned, must outlive the writer.
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  /// An object key; the next call writes its value.
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view utf8);
  JsonWriter& Number(double d);
  JsonWriter& Int(std::int64_t i);
  JsonWriter& Bool(bool b);
  JsonWriter& Null();
  /// A value that is already JSON text, written verbatim. REQUIRES: `json` is valid JSON.
  JsonWriter& Raw(std::string_view json);
  JsonWriter& Value(const Json& value);

  /// Key(key) then String(value), and friends: the common case in one call.
  JsonWriter& Field(std::string_view key, std::string_view value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, const char* value) { return Key(key).String(value); }
  JsonWriter& Field(std::string_view key, const std::string& value) {
    return Key(key).String(value);
  }
  /// Any integer type (not bool, not char types).
  template <typename I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool> &&
                                             !std::is_same_v<I, char>,
                                         int> = 0>
  JsonWriter& Field(std::string_view key, I value) {
    return Key(key).Int(static_cast<std::int64_t>(value));
  }
  JsonWriter& Field(std::string_view key, bool value) { return Key(key).Bool(value); }
  JsonWriter& Field(std::string_view key, const Json& value) { return Key(key).Value(value); }

 private:
  void Separate() {
    if (need_comma_) out_->push_back(',');
  }

  std::string* out_;
  bool need_comma_ = false;  // a value was just completed at the current level
};

/// Appends `utf8` as a quoted, escaped JSON string (rules above).
AGENTCORE_EXPORT void AppendJsonString(std::string_view utf8, std::string* out);
/// Appends `d` as `Number.prototype.toString` would print it; non-finite numbers as `null`.
AGENTCORE_EXPORT void AppendJsonNumber(double d, std::string* out);

}  // namespace agentcore
