// SPDX-License-Identifier: Apache-2.0
// Fuzzes VerifySessionToken, VerifyContainerToken, ParseContainerAuthorization, ParseAgentId,
// FindCookie and Base64UrlDecode with the whole input as the untrusted text.
//
// Input: the first byte picks how the rest is used, so that signed tokens are reachable:
//   bit 0: 1 = the rest is signed first (a session JWT over header "." payload when it holds a
//          '.', else a container token over it), so verification gets past the signature
//   bits 1-7: unused
// Checks, trapping on any violation:
//   * Base64UrlDecode: re-encoding a decoded value gives the input's length without padding,
//     and decodes to the same bytes;
//   * ParseAgentId: success iff the first three ':'-parts exist and are non-empty, and then
//     FormatAgentId of the result is a prefix of the input;
//   * VerifyContainerToken: on success, MakeContainerToken of the identity verifies to the same
//     identity; failures are kUnauthenticated; ParseContainerAuthorization("Container " + text)
//     agrees with it for texts without whitespace or line breaks;
//   * VerifySessionToken: on success the claims are non-empty, exp > now, and signing them
//     again verifies to the same claims; failures are kUnauthenticated;
//   * FindCookie: a found value lies inside the header, and FindCookie of "name=<value>" finds
//     the value again.
#include <agentcore/auth/crypto.hpp>
#include <agentcore/auth/tokens.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using agentcore::AgentIdentity;
using agentcore::ErrorCode;

constexpr std::string_view kSecret = "fuzz-secret";
constexpr std::int64_t kNow = 1700000000;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckDecode(std::string_view text) {
  const std::optional<std::string> bytes = agentcore::Base64UrlDecode(text);
  if (!bytes) return;
  Check(bytes->size() <= text.size() * 3 / 4 + 1);
  const std::string again = agentcore::Base64UrlEncode(*bytes);
  std::size_t pad = 0;
  while (pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  Check(again.size() == text.size() - pad);
  Check(agentcore::Base64UrlDecode(again) == bytes);
}

void CheckAgentId(std::string_view text) {
  const auto id = agentcore::ParseAgentId(text);
  const std::size_t a = text.find(':');
  const std::size_t b = a == std::string_view::npos ? a : text.find(':', a + 1);
  bool expect = a != std::string_view::npos && b != std::string_view::npos && a > 0 && b > a + 1;
  if (expect) {
    const std::size_t c = text.find(':', b + 1);
    const std::size_t end = c == std::string_view::npos ? text.size() : c;
    expect = end > b + 1;
  }
  Check(id.has_value() == expect);
  if (!id) {
    Check(id.status().code() == ErrorCode::kInvalidArgument);
    return;
  }
  const std::string formatted = agentcore::FormatAgentId(*id);
  Check(text.substr(0, formatted.size()) == formatted);
  Check(agentcore::ParseAgentId(formatted).has_value());
}

void CheckContainerToken(std::string_view text) {
  const auto id = agentcore::VerifyContainerToken(kSecret, text);
  if (id) {
    const std::string token = agentcore::MakeContainerToken(kSecret, *id);
    const auto again = agentcore::VerifyContainerToken(kSecret, token);
    Check(again.has_value() && *again == *id);
  } else {
    Check(id.status().code() == ErrorCode::kUnauthenticated);
  }
  bool plain = !text.empty();
  for (char c : text) plain = plain && c != ' ' && !(c >= '\t' && c <= '\r');
  if (plain) {
    const auto header =
        agentcore::ParseContainerAuthorization(kSecret, "Container " + std::string(text));
    Check(header.has_value() == id.has_value());
    if (header) Check(*header == *id);
    if (!header) {
      Check(header.status().message() == agentcore::kInvalidContainerTokenMessage);
    }
  }
  const auto any = agentcore::ParseContainerAuthorization(kSecret, text);
  if (!any) Check(any.status().code() == ErrorCode::kUnauthenticated);
}

void CheckSessionToken(std::string_view text) {
  const auto claims = agentcore::VerifySessionToken(kSecret, text, kNow);
  if (!claims) {
    Check(claims.status().code() == ErrorCode::kUnauthenticated);
    return;
  }
  Check(!claims->user_id.empty() && !claims->space_id.empty() && !claims->mode.empty());
  Check(claims->exp >= kNow);
  const std::string token = agentcore::SignSessionToken(kSecret, *claims);
  const auto again = agentcore::VerifySessionToken(kSecret, token, kNow);
  // A fractional exp just above now truncates to now; otherwise the round trip must hold.
  if (claims->exp > kNow) {
    Check(again.has_value());
    Check(again->user_id == claims->user_id && again->space_id == claims->space_id &&
          again->mode == claims->mode && again->exp == claims->exp && again->iat == claims->iat &&
          again->workos_session_id == claims->workos_session_id);
  }
}

void CheckCookie(std::string_view text) {
  for (std::string_view name : {std::string_view("cast_session"), std::string_view("a")}) {
    const std::optional<std::string_view> value = agentcore::FindCookie(text, name);
    if (!value) continue;
    Check(value->data() >= text.data() &&
          value->data() + value->size() <= text.data() + text.size());
    Check(value->find(';') == std::string_view::npos);
    const std::string pair = std::string(name) + "=" + std::string(*value);
    const std::optional<std::string_view> again = agentcore::FindCookie(pair, name);
    Check(again == value);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t control = data[0];
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);

  if ((control & 1) != 0) {
    // Sign the text, so that the checks after the signature run on fuzzer-chosen content.
    const std::size_t dot = text.find('.');
    if (dot != std::string::npos) {
      const std::string signing_input = agentcore::Base64UrlEncode(text.substr(0, dot)) + "." +
                                        agentcore::Base64UrlEncode(text.substr(dot + 1));
      const std::string jwt =
          signing_input + "." +
          agentcore::Base64UrlEncode(agentcore::HmacSha256(kSecret, signing_input));
      CheckSessionToken(jwt);
    } else {
      const std::string token = agentcore::Base64UrlEncode(text) + "." +
                                agentcore::Base64UrlEncode(agentcore::HmacSha256(kSecret, text));
      const auto id = agentcore::VerifyContainerToken(kSecret, token);
      std::size_t colons = 0;
      for (char c : text) colons += c == ':' ? 1 : 0;
      Check(id.has_value() == (colons == 2));
      CheckContainerToken(token);
    }
    CheckAgentId(text);
    return 0;
  }

  CheckDecode(text);
  CheckAgentId(text);
  CheckContainerToken(text);
  CheckSessionToken(text);
  CheckCookie(text);
  return 0;
}
