// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Cast's credentials (`shared/spec/cast.md` §4.2, §5.1), byte for byte:
///
/// * agent ids `spaceId:channelId:callsign`;
/// * container tokens, which agents send as `Authorization: Container <token>` (or `Agent`)
///   and the server sends to containers as a Bearer token: base64url(P) "." base64url(HMAC-
///   SHA256(secret, P)) with P = the agent id, deterministic, never expiring;
/// * session tokens: HS256 JWTs carried in the `cast_session` cookie, valid for 7 days;
/// * the `Set-Cookie` values for that cookie and a `Cookie` header lookup;
/// * agentcore's API keys (`ak_...`), of which the store keeps only the SHA-256 hex.
///
/// Every function here is pure (API keys aside, which read OpenSSL's CSPRNG): thread-safe, no
/// I/O, no clock reads (callers pass the time). Failures are `kUnauthenticated` statuses whose
/// messages say what was wrong; servers answer with Cast's fixed texts instead (see
/// ParseContainerAuthorization), so the details stay in logs.

#include <agentcore/auth/crypto.hpp>
#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace agentcore {

// --- Constants (Cast §4.2)

/// Lifetime of a session token and Max-Age of its cookie: 7 days.
inline constexpr std::int64_t kSessionTtlSeconds = 604800;
inline constexpr std::string_view kSessionCookieName = "cast_session";
/// Used when `JWT_SECRET` is unset outside production.
inline constexpr std::string_view kDevSessionSecret = "cast-dev-secret-do-not-use-in-production";
/// Used when `CAST_CONTAINER_SECRET` is unset outside production.
inline constexpr std::string_view kDevContainerSecret =
    "cast-dev-container-secret-do-not-use-in-production";

// --- Agent identity (Cast §5.1)

/// Who an agent is. A plain value type.
struct AgentIdentity {
  std::string space_id;
  std::string channel_id;
  std::string callsign;
  friend bool operator==(const AgentIdentity&, const AgentIdentity&) = default;
};

/// Parses an agentId: splits on ':' and takes the first three parts, each of which must be
/// non-empty; further parts are ignored (`a:b:c:d` has callsign `c`). Errors: kInvalidArgument
/// for `a:b`, `a::c`, `:b:c`, `a:b:` and the like.
AGENTCORE_EXPORT Result<AgentIdentity> ParseAgentId(std::string_view agent_id);

/// `space_id:channel_id:callsign`. Components containing ':' do not round-trip.
AGENTCORE_EXPORT std::string FormatAgentId(const AgentIdentity& identity);

// --- Container tokens (Cast §4.2)

/// base64url(P) + "." + base64url(HMAC-SHA256(secret, P)), P = FormatAgentId(identity), both
/// without padding. The same inputs always give the same token.
AGENTCORE_EXPORT std::string MakeContainerToken(std::string_view secret,
                                                const AgentIdentity& identity);

/// Cast's verification: the token splits on '.' into exactly 2 parts; part 1 base64url-decodes
/// to P; base64url(HMAC-SHA256(secret, P)) equals part 2 (length check, then constant time);
/// P splits on ':' into exactly 3 parts. As in Cast, the parts may be empty here (`a::c` gives
/// an empty channel id): only ParseAgentId insists on non-empty parts.
/// Errors: kUnauthenticated.
AGENTCORE_EXPORT Result<AgentIdentity> VerifyContainerToken(std::string_view secret,
                                                            std::string_view token);

/// Cast's container-auth middleware for an `Authorization` header value (empty when the
/// header is absent). The value must match `^(Container|Agent)\s+(.+)$`, case-insensitively;
/// the token is group 2. Errors, all kUnauthenticated with exactly these messages (Cast's
/// response texts): "Missing Authorization header" for an empty value, "Invalid
/// Authorization format (expected: Container <token> or Agent <token>)" when the pattern does
/// not match, "Invalid container token" when VerifyContainerToken fails.
AGENTCORE_EXPORT Result<AgentIdentity> ParseContainerAuthorization(std::string_view secret,
                                                                   std::string_view header_value);

inline constexpr std::string_view kMissingAuthorizationMessage = "Missing Authorization header";
inline constexpr std::string_view kInvalidAuthorizationFormatMessage =
    "Invalid Authorization format (expected: Container <token> or Agent <token>)";
inline constexpr std::string_view kInvalidContainerTokenMessage = "Invalid container token";

// --- Session tokens (Cast §4.2)

/// The claims of a session JWT. A plain value type.
struct SessionClaims {
  std::string user_id;            // "userId"
  std::string space_id;           // "spaceId"
  std::string mode;               // "mode": "dev" or "workos"
  std::int64_t iat = 0;           // issued at, Unix seconds
  std::int64_t exp = 0;           // expires at, Unix seconds; Cast uses iat + kSessionTtlSeconds
  std::string workos_session_id;  // "workosSessionId"; empty (and not written) in dev mode
  friend bool operator==(const SessionClaims&, const SessionClaims&) = default;
};

/// An HS256 JWT as Node's `jsonwebtoken` writes it: header {"alg":"HS256","typ":"JWT"}, payload
/// {"userId","spaceId","mode"[,"workosSessionId"],"iat","exp"} in that order, signature
/// HMAC-SHA256(secret, header "." payload), all base64url without padding. Strings are written
/// as JSON.stringify does; workosSessionId only when non-empty.
AGENTCORE_EXPORT std::string SignSessionToken(std::string_view secret, const SessionClaims& claims);

/// Checks a session JWT as `jsonwebtoken.verify` does with the HS256 secret, then Cast's claim
/// rule. Valid iff: three '.'-separated parts of base64url characters (header and payload
/// non-empty, no padding); the header is a JSON object with "alg":"HS256"; the signature part
/// equals the expected one (constant time); the payload is a JSON object whose "exp" is a
/// number greater than `now_seconds` and whose "nbf", if present, is a number not after
/// `now_seconds`; "userId", "spaceId" and "mode" are non-empty strings. Unlike jsonwebtoken, a
/// token without "exp" is refused (ours always have one). iat/exp are read as whole seconds
/// (fractions dropped, saturating); a non-string workosSessionId is ignored.
/// Errors: kUnauthenticated.
AGENTCORE_EXPORT Result<SessionClaims> VerifySessionToken(std::string_view secret,
                                                          std::string_view token,
                                                          std::int64_t now_seconds);

// --- Cookies

/// The value of cookie `name` in a `Cookie` request header: the header splits on ';', each
/// pair is trimmed of whitespace and splits at its first '=' (the value may contain '=').
/// The first pair with that name wins; a pair without '=' has no value and is skipped.
/// The view points into `cookie_header`. nullopt when absent.
AGENTCORE_EXPORT std::optional<std::string_view> FindCookie(std::string_view cookie_header,
                                                            std::string_view name);

/// The `Set-Cookie` value that stores a session token:
/// "cast_session=<token>; Path=/; HttpOnly; SameSite=Lax; Max-Age=604800", then
/// "; Domain=<domain>" when `domain` is non-empty and "; Secure" when `secure`.
AGENTCORE_EXPORT std::string SessionCookie(std::string_view token, bool secure,
                                           std::string_view domain);

/// The `Set-Cookie` value that deletes the session cookie: as SessionCookie with an empty value
/// and Max-Age=0. Pass the same `secure` and `domain` as when it was set.
AGENTCORE_EXPORT std::string ClearedSessionCookie(bool secure, std::string_view domain);

/// The cookie Domain Cast derives from `FRONTEND_URL`: empty (no Domain attribute) for an empty
/// or host-less URL, `localhost`, `127.0.0.1` and hosts under `fly.dev`; otherwise "." plus the
/// host's last two labels (`https://app.example.com:8443/x` gives ".example.com").
AGENTCORE_EXPORT std::string SessionCookieDomain(std::string_view frontend_url);

// --- API keys (agentcore's own; the store keeps ApiKeyHash and ApiKeyPrefix, never the key)

inline constexpr std::string_view kApiKeyPrefix = "ak_";
/// Length of a key from NewApiKey: "ak_" + 40 hex digits.
inline constexpr std::size_t kApiKeyLength = 43;
inline constexpr std::size_t kApiKeyPrefixLength = 10;

/// A new key: "ak_" followed by 40 lower-case hex digits (160 random bits).
AGENTCORE_EXPORT std::string NewApiKey();
/// Sha256Hex(key): what the store looks keys up by.
AGENTCORE_EXPORT std::string ApiKeyHash(std::string_view key);
/// The first kApiKeyPrefixLength characters of `key` (all of it when shorter), shown in
/// listings to tell keys apart.
AGENTCORE_EXPORT std::string ApiKeyPrefix(std::string_view key);

}  // namespace agentcore
