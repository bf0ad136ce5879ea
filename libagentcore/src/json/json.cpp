// SPDX-License-Identifier: Apache-2.0
#include <agentcore/json.hpp>

#include <charconv>
#include <cmath>

#include <agentcore/json_writer.hpp>

#include "json/simd_kernel.hpp"

namespace agentcore {

std::string_view JsonTypeName(JsonType type) {
  switch (type) {
    case JsonType::kNull: return "null";
    case JsonType::kBool: return "boolean";
    case JsonType::kNumber: return "number";
    case JsonType::kString: return "string";
    case JsonType::kArray: return "array";
    case JsonType::kObject: return "object";
  }
  return "unknown";
}

Json::Json() = default;
Json::Json(std::nullptr_t) {}
Json::Json(bool b) : v_(b) {}
Json::Json(double d) : v_(d) {}
Json::Json(std::string s) : v_(std::move(s)) {}
Json::Json(std::string_view s) : v_(std::string(s)) {}
Json::Json(const char* s) : v_(std::string(s)) {}
Json::Json(JsonArray a) : v_(std::move(a)) {}
Json::Json(JsonObject o) : v_(std::move(o)) {}
Json::Json(const Json&) = default;
Json::Json(Json&&) noexcept = default;
// An array or object is replaced through a temporary, so that assigning a value from inside
// itself (`v = v.as_array()[0]`) copies or moves the part out before the old tree is destroyed.
// A scalar cannot contain `other`, so it is assigned directly (the parser's hot path).
Json& Json::operator=(const Json& other) {
  if (this == &other) return *this;
  if (!is_array() && !is_object()) {
    v_ = other.v_;
  } else {
    Json copy(other);
    v_ = std::move(copy.v_);
  }
  return *this;
}
Json& Json::operator=(Json&& other) noexcept {
  if (this == &other) return *this;
  if (!is_array() && !is_object()) {
    v_ = std::move(other.v_);
  } else {
    Json taken(std::move(other));
    v_ = std::move(taken.v_);
  }
  return *this;
}
Json::~Json() = default;

const Json* Json::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const JsonMember& m : as_object()) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

Json* Json::Find(std::string_view key) {
  return const_cast<Json*>(std::as_const(*this).Find(key));
}

const std::string* Json::FindString(std::string_view key) const {
  const Json* v = Find(key);
  return v != nullptr && v->is_string() ? &v->as_string() : nullptr;
}

void Json::Set(std::string_view key, Json value) {
  if (Json* existing = Find(key)) {
    *existing = std::move(value);
    return;
  }
  as_object().push_back(JsonMember{std::string(key), std::move(value)});
}

bool Json::Erase(std::string_view key) {
  JsonObject& obj = as_object();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it->key == key) {
      obj.erase(it);
      return true;
    }
  }
  return false;
}

bool operator==(const Json& a, const Json& b) { return a.v_ == b.v_; }

Result<Json> ParseJson(std::string_view text) {
  return internal::ThreadLocalJsonKernel().ParseJson(text);
}

std::string ToJson(const Json& value) {
  std::string out;
  AppendJson(value, &out);
  return out;
}

void AppendJson(const Json& value, std::string* out) { JsonWriter(out).Value(value); }

}  // namespace agentcore

namespace agentcore::internal {

Status ParseJsonNumberToken(std::string_view tok, double* out) {
  while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t' || tok.back() == '\n' ||
                          tok.back() == '\r')) {
    tok.remove_suffix(1);
  }
  const char* p = tok.data();
  const char* end = p + tok.size();
  auto digit = [&](const char* q) { return q < end && *q >= '0' && *q <= '9'; };
  const bool negative = p < end && *p == '-';
  if (negative) ++p;
  // Decimal exponent of the leading significant digit, to tell overflow from underflow.
  long lead_exp = 0;
  bool seen_nonzero = false;
  if (!digit(p)) return InvalidArgument("invalid number");
  if (*p == '0') {
    ++p;
  } else {
    while (digit(p)) {
      if (seen_nonzero) ++lead_exp;
      seen_nonzero = true;
      ++p;
    }
  }
  if (p < end && *p == '.') {
    ++p;
    if (!digit(p)) return InvalidArgument("invalid number");
    while (digit(p)) {
      if (!seen_nonzero) {
        --lead_exp;
        if (*p != '0') seen_nonzero = true;
      }
      ++p;
    }
  }
  long exp = 0;
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool exp_negative = false;
    if (p < end && (*p == '+' || *p == '-')) exp_negative = *p++ == '-';
    if (!digit(p)) return InvalidArgument("invalid number");
    while (digit(p)) {
      if (exp < 100000) exp = exp * 10 + (*p - '0');
      ++p;
    }
    if (exp_negative) exp = -exp;
  }
  if (p != end) return InvalidArgument("invalid number");
  auto [ptr, ec] = std::from_chars(tok.data(), end, *out);
  if (ec == std::errc::result_out_of_range) {
    const bool overflow = seen_nonzero && lead_exp + exp > 0;
    *out = overflow ? HUGE_VAL : 0.0;
    if (negative) *out = -*out;
  } else if (ec != std::errc() || ptr != end) {
    return InvalidArgument("invalid number");
  }
  return Status();
}

}  // namespace agentcore::internal
