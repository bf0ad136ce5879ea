// SPDX-License-Identifier: Apache-2.0
#include <agentcore/json_writer.hpp>

#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>

#include "json/utf8.hpp"

namespace agentcore {

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_->push_back('{');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_->push_back('}');
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_->push_back('[');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_->push_back(']');
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  AppendJsonString(key, out_);
  out_->push_back(':');
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view utf8) {
  Separate();
  AppendJsonString(utf8, out_);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Number(double d) {
  Separate();
  AppendJsonNumber(d, out_);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Int(std::int64_t i) {
  Separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, i);
  out_->append(buf, end);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Bool(bool b) {
  Separate();
  out_->append(b ? "true" : "false");
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Null() {
  Separate();
  out_->append("null");
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_->append(json);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Value(const Json& value) {
  switch (value.type()) {
    case JsonType::kNull: return Null();
    case JsonType::kBool: return Bool(value.as_bool());
    case JsonType::kNumber: return Number(value.as_number());
    case JsonType::kString: return String(value.as_string());
    case JsonType::kArray:
      BeginArray();
      for (const Json& item : value.as_array()) Value(item);
      return EndArray();
    case JsonType::kObject:
      BeginObject();
      for (const JsonMember& m : value.as_object()) Key(m.key).Value(m.value);
      return EndObject();
  }
  return *this;
}

namespace {

// Bytes that cannot be copied verbatim: controls, quote, backslash, and every non-ASCII byte
// (checked for UTF-8 validity and for U+2028/U+2029).
constexpr std::array<bool, 256> MakeSpecialTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = true;
  t['"'] = true;
  t['\\'] = true;
  for (int c = 0x80; c < 0x100; ++c) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kSpecial = MakeSpecialTable();

void AppendControlEscape(unsigned char c, std::string* out) {
  switch (c) {
    case '\b': out->append("\\b"); return;
    case '\f': out->append("\\f"); return;
    case '\n': out->append("\\n"); return;
    case '\r': out->append("\\r"); return;
    case '\t': out->append("\\t"); return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      char buf[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(buf, 6);
    }
  }
}

}  // namespace

void AppendJsonString(std::string_view s, std::string* out) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  while (p < end) {
    const unsigned char* run = p;
    // Plain ASCII goes in runs; 8 bytes at a time while none of them is special.
    while (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      // High bit set, or a byte < 0x20, '"' or '\\' anywhere in the word?
      const std::uint64_t hi = w & 0x8080808080808080ULL;
      const std::uint64_t lt20 = (w - 0x2020202020202020ULL) & ~w & 0x8080808080808080ULL;
      const std::uint64_t q = w ^ 0x2222222222222222ULL;
      const std::uint64_t has_q = (q - 0x0101010101010101ULL) & ~q & 0x8080808080808080ULL;
      const std::uint64_t b = w ^ 0x5C5C5C5C5C5C5C5CULL;
      const std::uint64_t has_b = (b - 0x0101010101010101ULL) & ~b & 0x8080808080808080ULL;
      if ((hi | lt20 | has_q | has_b) != 0) break;
      p += 8;
    }
    while (p < end && !kSpecial[*p]) ++p;
    out->append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    if (p == end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      if (c < 0x20) {
        AppendControlEscape(c, out);
      } else {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
      }
      ++p;
      continue;
    }
    const std::size_t n = internal::Utf8SequenceLength(p, end);
    if (n == 0) {
      out->append("\\ufffd");  // not valid UTF-8: one replacement per bad byte
      ++p;
    } else if (n == 3 && c == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9)) {
      out->append(p[2] == 0xA8 ? "\\u2028" : "\\u2029");
      p += 3;
    } else {
      out->append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
  }
  out->push_back('"');
}

void AppendJsonNumber(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");  // JSON.stringify(Infinity) === "null"
    return;
  }
  if (d == 0) {
    out->push_back('0');  // also -0, as JavaScript prints it
    return;
  }
  char buf[64];
  if (std::fabs(d) < 9007199254740992.0 && d == std::trunc(d)) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(d));
    out->append(buf, end);
    return;
  }
  // Shortest round-trip digits, then laid out as ECMAScript Number::toString does
  // (digits k, decimal exponent n such that value = 0.d1d2...dk * 10^n).
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<std::size_t>(end - buf));
  const bool negative = sci.front() == '-';
  if (negative) sci.remove_prefix(1);
  const std::size_t epos = sci.find('e');
  std::string digits;
  digits.push_back(sci[0]);
  if (epos > 1) digits.append(sci.substr(2, epos - 2));  // skip "d."
  int exp10 = 0;
  std::string_view es = sci.substr(epos + 1);
  if (!es.empty() && es.front() == '+') es.remove_prefix(1);
  std::from_chars(es.data(), es.data() + es.size(), exp10);
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (negative) out->push_back('-');
  if (k <= n && n <= 21) {
    out->append(digits);
    out->append(static_cast<std::size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out->append(digits, 0, static_cast<std::size_t>(n));
    out->push_back('.');
    out->append(digits, static_cast<std::size_t>(n));
  } else if (-6 < n && n <= 0) {
    out->append("0.");
    out->append(static_cast<std::size_t>(-n), '0');
    out->append(digits);
  } else {
    out->push_back(digits[0]);
    if (k > 1) {
      out->push_back('.');
      out->append(digits, 1);
    }
    out->push_back('e');
    out->push_back(n - 1 >= 0 ? '+' : '-');
    char eb[8];
    auto [ee, eec] = std::to_chars(eb, eb + sizeof eb, n - 1 >= 0 ? n - 1 : 1 - n);
    out->append(eb, ee);
  }
}

}  // namespace agentcore
