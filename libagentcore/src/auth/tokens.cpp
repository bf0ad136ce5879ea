// SPDX-License-Identifier: Apache-2.0
#include <fmt/format.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/json.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace agentcore {

namespace {

// jsonwebtoken's header for HS256, byte for byte.
constexpr std::string_view kJwtHeader = R"({"alg":"HS256","typ":"JWT"})";

Status Unauthenticated(std::string msg) {
  return Status(ErrorCode::kUnauthenticated, std::move(msg));
}

// `s.split(sep)` as JavaScript does it: n separators give n + 1 parts.
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.push_back(s.substr(start));
      return parts;
    }
    parts.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

// JavaScript's \s restricted to ASCII: space, \t, \n, \v, \f, \r.
bool IsJsSpace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
// Characters JavaScript's `.` does not match (without the s flag), ASCII part.
bool IsLineTerminator(char c) { return c == '\n' || c == '\r'; }

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (AsciiLower(s[i]) != prefix[i]) return false;
  }
  return true;
}

// What jws accepts in each part of a compact JWT: [A-Za-z0-9_-].
bool IsBase64UrlText(std::string_view s) {
  for (char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A JSON number as whole seconds: fractions dropped, out-of-range values saturated.
std::int64_t ToSeconds(double v) {
  constexpr double kMax = 9.2e18;  // below 2^63, so the cast is always defined
  if (v >= kMax) return std::numeric_limits<std::int64_t>::max();
  if (v <= -kMax) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(std::trunc(v));
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsJsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsJsSpace(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

// --- Agent identity

Result<AgentIdentity> ParseAgentId(std::string_view agent_id) {
  const std::vector<std::string_view> parts = Split(agent_id, ':');
  if (parts.size() < 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
    return InvalidArgument(fmt::format(
        "agent id \"{}\" is not spaceId:channelId:callsign with three non-empty parts", agent_id));
  }
  return AgentIdentity{std::string(parts[0]), std::string(parts[1]), std::string(parts[2])};
}

std::string FormatAgentId(const AgentIdentity& identity) {
  std::string out;
  out.reserve(identity.space_id.size() + identity.channel_id.size() + identity.callsign.size() + 2);
  out += identity.space_id;
  out += ':';
  out += identity.channel_id;
  out += ':';
  out += identity.callsign;
  return out;
}

// --- Container tokens

std::string MakeContainerToken(std::string_view secret, const AgentIdentity& identity) {
  const std::string payload = FormatAgentId(identity);
  std::string token = Base64UrlEncode(payload);
  token += '.';
  token += Base64UrlEncode(HmacSha256(secret, payload));
  return token;
}

Result<AgentIdentity> VerifyContainerToken(std::string_view secret, std::string_view token) {
  const std::vector<std::string_view> parts = Split(token, '.');
  if (parts.size() != 2) {
    return Unauthenticated(
        fmt::format("container token has {} '.'-separated parts, not 2", parts.size()));
  }
  const std::optional<std::string> payload = Base64UrlDecode(parts[0]);
  if (!payload) return Unauthenticated("container token payload is not base64url");
  const std::string expected = Base64UrlEncode(HmacSha256(secret, *payload));
  if (!ConstantTimeEquals(expected, parts[1])) {
    return Unauthenticated("container token signature does not match");
  }
  const std::vector<std::string_view> fields = Split(*payload, ':');
  if (fields.size() != 3) {
    return Unauthenticated(
        fmt::format("container token payload has {} ':'-separated parts, not 3", fields.size()));
  }
  return AgentIdentity{std::string(fields[0]), std::string(fields[1]), std::string(fields[2])};
}

Result<AgentIdentity> ParseContainerAuthorization(std::string_view secret,
                                                  std::string_view header_value) {
  if (header_value.empty()) {
    return Unauthenticated(std::string(kMissingAuthorizationMessage));
  }
  // ^(Container|Agent)\s+(.+)$ with the i flag. `\s+` is greedy, but gives back one character
  // when nothing else is left for `(.+)`; `.` and `$` stop at line terminators.
  std::string_view rest;
  if (StartsWithIgnoreCase(header_value, "container")) {
    rest = header_value.substr(9);
  } else if (StartsWithIgnoreCase(header_value, "agent")) {
    rest = header_value.substr(5);
  } else {
    return Unauthenticated(std::string(kInvalidAuthorizationFormatMessage));
  }
  std::size_t spaces = 0;
  while (spaces < rest.size() && IsJsSpace(rest[spaces])) ++spaces;
  std::string_view token = rest.substr(spaces);
  if (token.empty() && spaces >= 2) token = rest.substr(spaces - 1);  // the backtracked space
  bool ok = spaces >= 1 && !token.empty();
  for (char c : token) ok = ok && !IsLineTerminator(c);
  if (!ok) return Unauthenticated(std::string(kInvalidAuthorizationFormatMessage));

  Result<AgentIdentity> identity = VerifyContainerToken(secret, token);
  if (!identity) return Unauthenticated(std::string(kInvalidContainerTokenMessage));
  return identity;
}

// --- Session tokens

std::string SignSessionToken(std::string_view secret, const SessionClaims& claims) {
  Json payload = Json::Object();
  payload.Set("userId", claims.user_id);
  payload.Set("spaceId", claims.space_id);
  payload.Set("mode", claims.mode);
  if (!claims.workos_session_id.empty()) payload.Set("workosSessionId", claims.workos_session_id);
  payload.Set("iat", claims.iat);
  payload.Set("exp", claims.exp);

  std::string token = Base64UrlEncode(kJwtHeader);
  token += '.';
  token += Base64UrlEncode(ToJson(payload));
  const std::string signature = HmacSha256(secret, token);
  token += '.';
  token += Base64UrlEncode(signature);
  return token;
}

Result<SessionClaims> VerifySessionToken(std::string_view secret, std::string_view token,
                                         std::int64_t now_seconds) {
  const std::vector<std::string_view> parts = Split(token, '.');
  if (parts.size() != 3) {
    return Unauthenticated(
        fmt::format("session token has {} '.'-separated parts, not 3", parts.size()));
  }
  if (parts[0].empty() || parts[1].empty() || !IsBase64UrlText(parts[0]) ||
      !IsBase64UrlText(parts[1]) || !IsBase64UrlText(parts[2])) {
    return Unauthenticated("session token is not three base64url parts");
  }

  const std::optional<std::string> header_text = Base64UrlDecode(parts[0]);
  if (!header_text) return Unauthenticated("session token header is not base64url");
  Result<Json> header = ParseJson(*header_text);
  if (!header || !header->is_object()) {
    return Unauthenticated("session token header is not a JSON object");
  }
  const std::string* alg = header->FindString("alg");
  if (alg == nullptr || *alg != "HS256") {
    return Unauthenticated(fmt::format("session token algorithm \"{}\" is not HS256",
                                       alg == nullptr ? std::string_view() : *alg));
  }

  const std::string_view signed_part = token.substr(0, parts[0].size() + 1 + parts[1].size());
  const std::string expected = Base64UrlEncode(HmacSha256(secret, signed_part));
  if (!ConstantTimeEquals(expected, parts[2])) {
    return Unauthenticated("session token signature does not match");
  }

  const std::optional<std::string> payload_text = Base64UrlDecode(parts[1]);
  if (!payload_text) return Unauthenticated("session token payload is not base64url");
  Result<Json> payload = ParseJson(*payload_text);
  if (!payload || !payload->is_object()) {
    return Unauthenticated("session token payload is not a JSON object");
  }

  const Json* exp = payload->Find("exp");
  if (exp == nullptr || !exp->is_number()) {
    return Unauthenticated("session token has no numeric exp");
  }
  if (!(exp->as_number() > static_cast<double>(now_seconds))) {
    return Unauthenticated(fmt::format("session token expired at {}", exp->as_number()));
  }
  if (const Json* nbf = payload->Find("nbf"); nbf != nullptr) {
    if (!nbf->is_number()) return Unauthenticated("session token nbf is not a number");
    if (nbf->as_number() > static_cast<double>(now_seconds)) {
      return Unauthenticated("session token is not valid yet");
    }
  }

  SessionClaims claims;
  struct Required {
    std::string_view key;
    std::string* field;
  };
  for (const Required& r :
       {Required{"userId", &claims.user_id}, Required{"spaceId", &claims.space_id},
        Required{"mode", &claims.mode}}) {
    const std::string* value = payload->FindString(r.key);
    if (value == nullptr || value->empty()) {
      return Unauthenticated(fmt::format("session token has no {}", r.key));
    }
    *r.field = *value;
  }
  claims.exp = ToSeconds(exp->as_number());
  if (const Json* iat = payload->Find("iat"); iat != nullptr && iat->is_number()) {
    claims.iat = ToSeconds(iat->as_number());
  }
  if (const std::string* sid = payload->FindString("workosSessionId"); sid != nullptr) {
    claims.workos_session_id = *sid;
  }
  return claims;
}

// --- Cookies

std::optional<std::string_view> FindCookie(std::string_view cookie_header, std::string_view name) {
  std::size_t start = 0;
  while (start <= cookie_header.size()) {
    std::size_t end = cookie_header.find(';', start);
    if (end == std::string_view::npos) end = cookie_header.size();
    const std::string_view pair = Trim(cookie_header.substr(start, end - start));
    const std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    start = end + 1;
  }
  return std::nullopt;
}

std::string SessionCookie(std::string_view token, bool secure, std::string_view domain) {
  std::string out = fmt::format("{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
                                kSessionCookieName, token, kSessionTtlSeconds);
  if (!domain.empty()) out += fmt::format("; Domain={}", domain);
  if (secure) out += "; Secure";
  return out;
}

std::string ClearedSessionCookie(bool secure, std::string_view domain) {
  std::string out =
      fmt::format("{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0", kSessionCookieName);
  if (!domain.empty()) out += fmt::format("; Domain={}", domain);
  if (secure) out += "; Secure";
  return out;
}

std::string SessionCookieDomain(std::string_view frontend_url) {
  std::string_view host = frontend_url;
  if (const std::size_t scheme = host.find("://"); scheme != std::string_view::npos) {
    host.remove_prefix(scheme + 3);
  }
  host = host.substr(0, host.find_first_of("/?#"));
  if (const std::size_t at = host.rfind('@'); at != std::string_view::npos) {
    host.remove_prefix(at + 1);
  }
  if (!host.empty() && host.front() == '[') return "";  // an IPv6 literal has no labels
  host = host.substr(0, host.find(':'));
  std::string lower;
  for (char c : host) lower += AsciiLower(c);
  if (lower.empty() || lower == "localhost" || lower == "127.0.0.1" || lower == "fly.dev" ||
      (lower.size() > 8 && lower.ends_with(".fly.dev"))) {
    return "";
  }
  const std::vector<std::string_view> labels = Split(lower, '.');
  if (labels.size() < 2) return "." + lower;
  return fmt::format(".{}.{}", labels[labels.size() - 2], labels[labels.size() - 1]);
}

// --- API keys

std::string NewApiKey() {
  std::string key(kApiKeyPrefix);
  key += RandomHex(20);
  return key;
}

std::string ApiKeyHash(std::string_view key) { return Sha256Hex(key); }

std::string ApiKeyPrefix(std::string_view key) {
  return std::string(key.substr(0, kApiKeyPrefixLength));
}

}  // namespace agentcore
