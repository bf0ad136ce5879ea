// SPDX-License-Identifier: Apache-2.0
#pragma once

// The parameters of one prepared-statement execution, in the three parallel arrays libpq wants.
//
// Strings and JSON go in binary format: for text, varchar and json the binary form is the raw
// bytes, so a value needs no NUL terminator and is sent without a copy (the caller's
// string_view must outlive the execution, which is synchronous). Numbers, booleans and arrays
// go in text format, which PostgreSQL coerces to whatever integer type the statement infers.
// Every value is a parameter: nothing a caller gives is ever spliced into SQL text.

#include <charconv>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/json.hpp>

namespace agentcore::internal {

/// A one-dimensional array in PostgreSQL's binary format (what array_recv reads), built one
/// element at a time. Binary arrays carry each element with its length, so nothing is escaped:
/// the group commit sends a whole batch of messages as one array per column this way.
/// Thread-compatible.
class PgArray {
 public:
  // Element type OIDs, fixed in pg_type.dat since PostgreSQL's first releases.
  static constexpr std::uint32_t kBool = 16;
  static constexpr std::uint32_t kInt8 = 20;
  static constexpr std::uint32_t kText = 25;
  static constexpr std::uint32_t kJson = 114;

  explicit PgArray(std::uint32_t element_type) : element_type_(element_type) {
    out_.resize(kHeaderBytes);  // filled in by Finish(), so the elements are never copied
  }

  /// text and json elements: their bytes.
  void Add(std::string_view bytes) {
    PutInt32(&out_, static_cast<std::uint32_t>(bytes.size()));
    out_.append(bytes.data(), bytes.size());
    ++count_;
  }
  void AddInt64(std::int64_t v) {
    PutInt32(&out_, 8);
    PutInt32(&out_, static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) >> 32));
    PutInt32(&out_, static_cast<std::uint32_t>(static_cast<std::uint64_t>(v)));
    ++count_;
  }
  void AddBool(bool b) {
    PutInt32(&out_, 1);
    out_.push_back(b ? '\1' : '\0');
    ++count_;
  }
  void AddNull() {
    PutInt32(&out_, 0xFFFFFFFFu);  // length -1
    has_null_ = true;
    ++count_;
  }
  /// The array value: header (one dimension, lower bound 1), then the elements. Leaves the
  /// array empty.
  std::string Finish() {
    std::string header;
    PutInt32(&header, 1);
    PutInt32(&header, has_null_ ? 1 : 0);
    PutInt32(&header, element_type_);
    PutInt32(&header, count_);
    PutInt32(&header, 1);
    out_.replace(0, kHeaderBytes, header);
    return std::move(out_);
  }

 private:
  static void PutInt32(std::string* out, std::uint32_t v) {  // network byte order
    const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                       static_cast<char>(v >> 8), static_cast<char>(v)};
    out->append(b, 4);
  }

  static constexpr std::size_t kHeaderBytes = 20;

  std::uint32_t element_type_;
  std::uint32_t count_ = 0;
  bool has_null_ = false;
  std::string out_;  // header placeholder, then the elements
};

/// Thread-compatible; values passed by view must outlive the execution.
class PgParams {
 public:
  PgParams() = default;
  PgParams(const PgParams&) = delete;
  PgParams& operator=(const PgParams&) = delete;

  /// A text value, sent without a copy: `s` must outlive the execution.
  PgParams& Text(std::string_view s) {
    // A null pointer would mean SQL NULL; an empty view may have one.
    Push(s.data() != nullptr ? s.data() : "", static_cast<int>(s.size()), 1);
    return *this;
  }
  /// A text value whose bytes the params keep (for temporaries).
  PgParams& OwnedText(std::string s) { return Text(Own(std::move(s))); }
  /// A value already in binary format (e.g. a PgArray), kept by the params.
  PgParams& OwnedBinary(std::string bytes) { return Text(Own(std::move(bytes))); }
  PgParams& Int(std::int64_t v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;  // 24 bytes hold every int64
    const std::string& s = Own(std::string(buf, end));
    Push(s.c_str(), 0, 0);
    return *this;
  }
  /// The shortest text that reads back as exactly `v` (to_chars). REQUIRES: `v` is finite.
  PgParams& Double(double v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;  // 32 bytes hold every double's shortest form (at most 24 characters)
    const std::string& s = Own(std::string(buf, end));
    Push(s.c_str(), 0, 0);
    return *this;
  }
  PgParams& Bool(bool b) {
    Push(b ? "t" : "f", 0, 0);
    return *this;
  }
  PgParams& Null() {
    Push(nullptr, 0, 0);
    return *this;
  }
  /// `JSON.stringify(value)`, kept by the params.
  PgParams& JsonValue(const Json& value) { return Text(Own(ToJson(value))); }
  /// Already serialized JSON text, sent without a copy.
  PgParams& JsonText(std::string_view json) { return Text(json); }
  PgParams& OptText(const std::optional<std::string>& s) { return s ? Text(*s) : Null(); }
  PgParams& OptInt(const std::optional<std::int64_t>& v) { return v ? Int(*v) : Null(); }
  PgParams& OptBool(const std::optional<bool>& v) { return v ? Bool(*v) : Null(); }
  PgParams& OptJson(const std::optional<Json>& v) { return v ? JsonValue(*v) : Null(); }
  /// A text[] value as an array literal: every element quoted, `"` and `\` escaped.
  PgParams& TextArray(const std::vector<std::string>& items) {
    std::string lit = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i > 0) lit += ',';
      lit += '"';
      for (char c : items[i]) {
        if (c == '"' || c == '\\') lit += '\\';
        lit += c;
      }
      lit += '"';
    }
    lit += '}';
    const std::string& s = Own(std::move(lit));
    Push(s.c_str(), 0, 0);
    return *this;
  }
  PgParams& OptTextArray(const std::optional<std::vector<std::string>>& items) {
    return items ? TextArray(*items) : Null();
  }

  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  const std::string& Own(std::string s) { return owned_.emplace_back(std::move(s)); }
  void Push(const char* value, int length, int format) {
    values_.push_back(value);
    lengths_.push_back(length);
    formats_.push_back(format);
  }

  std::vector<const char*> values_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
  std::deque<std::string> owned_;  // a deque: growing it never moves the strings
};

}  // namespace agentcore::internal
