// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/credentials.hpp>

#include <utility>

#include <fmt/format.h>

namespace agentcore {
namespace {

const Status& AuthenticationRequired() {
  static const Status kRequired(ErrorCode::kUnauthenticated, "Authentication required");
  return kRequired;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// The credential of `Bearer <credential>` (scheme case-insensitive, at least one blank after
// it), or empty when the value is not a Bearer credential.
std::string_view BearerCredential(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (Lower(header[i]) != kScheme[i]) return {};
  }
  std::string_view rest = header.substr(kScheme.size());
  if (!IsBlank(rest[0])) return {};
  while (!rest.empty() && IsBlank(rest[0])) rest.remove_prefix(1);
  while (!rest.empty() && IsBlank(rest.back())) rest.remove_suffix(1);
  return rest;
}

// Whether a Bearer credential is a JWT (a session token) rather than an API key: three
// non-empty parts separated by dots. API keys ("ak_" and hex) have no dot.
bool LooksLikeJwt(std::string_view credential) {
  const std::size_t first = credential.find('.');
  if (first == std::string_view::npos || first == 0) return false;
  const std::size_t second = credential.find('.', first + 1);
  if (second == std::string_view::npos || second == first + 1) return false;
  return second + 1 < credential.size() &&
         credential.find('.', second + 1) == std::string_view::npos;
}

// What is wrong with `secret` for a server others can reach; empty when nothing.
std::string SecretFault(std::string_view secret) {
  if (secret.empty()) return "is not set";
  if (secret == kDevSessionSecret || secret == kDevContainerSecret) {
    return "is a public development secret";
  }
  if (secret.size() < kMinSecretBytes) {
    return fmt::format("is too short ({} bytes; at least {})", secret.size(), kMinSecretBytes);
  }
  return {};
}

}  // namespace

Status CheckSecrets(bool allow_development_secrets, std::string_view jwt_secret,
                    std::string_view container_secret) {
  if (allow_development_secrets) return Status();
  const std::pair<std::string_view, std::string_view> secrets[] = {
      {"JWT_SECRET", jwt_secret}, {"CAST_CONTAINER_SECRET", container_secret}};
  for (const auto& [name, value] : secrets) {
    std::string fault = SecretFault(value);
    if (fault.empty()) continue;
    return InvalidArgument(fmt::format(
        "{} {}: outside dev mode (AUTH_MODE=dev) the server needs a secret of at least {} bytes "
        "that is not a public development one; make one with: openssl rand -hex 32",
        name, fault, kMinSecretBytes));
  }
  return Status();
}

CredentialService::CredentialService(Store& store, Clock& clock, std::string jwt_secret,
                                     std::string container_secret, RateLimitTiers tiers)
    : store_(store),
      clock_(clock),
      jwt_secret_(std::move(jwt_secret)),
      container_secret_(std::move(container_secret)),
      tiers_(std::move(tiers)) {}

bool CredentialService::PresentsBearer(std::string_view authorization) {
  return !BearerCredential(authorization).empty();
}

bool CredentialService::ReadsStore(std::string_view authorization) {
  std::string_view credential = BearerCredential(authorization);
  return !credential.empty() && !LooksLikeJwt(credential);
}

Result<Principal> CredentialService::Authenticate(std::string_view authorization,
                                                  std::string_view cookie_header) {
  // spec cast §4.1: an API key, when one is presented, decides alone. Issue 16: so does a
  // session JWT presented as a Bearer credential (Octo's clients); neither falls back to the
  // cookie.
  if (std::string_view credential = BearerCredential(authorization); !credential.empty()) {
    if (LooksLikeJwt(credential)) return VerifySession(credential);
    return VerifyApiKey(credential);
  }
  if (cookie_header.empty()) return AuthenticationRequired();
  std::optional<std::string_view> token = FindCookie(cookie_header, kSessionCookieName);
  if (!token) return AuthenticationRequired();
  return VerifySession(*token);
}

Result<Principal> CredentialService::VerifyApiKey(std::string_view key) {
  Result<ApiKey> found = store_.FindApiKeyByHash(ApiKeyHash(key));
  if (!found.ok() || found->revoked) return AuthenticationRequired();
  Principal p;
  p.kind = Principal::Kind::kApiKey;
  p.space_id = found->space_id;
  p.api_key_id = found->id;
  p.admin = found->admin;
  p.tier = found->tier;
  const RateLimitTier limits =
      tiers_.Resolve(found->tier, found->requests_per_minute, found->max_running_sessions);
  p.requests_per_minute = limits.requests_per_minute;
  p.max_running_sessions = limits.max_running_sessions;
  return p;
}

Result<Principal> CredentialService::VerifySession(std::string_view token) {
  const std::int64_t now = clock_.NowMillis() / 1000;
  SessionShard& shard = sessions_[TokenHash()(token) % kSessionShards];
  {
    std::lock_guard lock(shard.mu);
    auto it = shard.tokens.find(token);
    // Verification depends only on the token, the (constant) secret and the time (nbf, exp):
    // an entry verified at or before `now` whose exp is still ahead is what verifying again
    // would answer.
    if (it != shard.tokens.end() && now >= it->second.verified_at && now < it->second.exp) {
      return it->second.principal;
    }
  }
  Result<SessionClaims> claims = VerifySessionToken(jwt_secret_, token, now);
  if (!claims.ok()) return AuthenticationRequired();
  Principal p;
  p.kind = Principal::Kind::kSession;
  p.space_id = claims->space_id;
  p.user_id = claims->user_id;
  p.mode = claims->mode;
  std::lock_guard lock(shard.mu);
  if (shard.tokens.size() >= kSessionsPerShard) shard.tokens.clear();
  shard.tokens.insert_or_assign(std::string(token), VerifiedSession{p, now, claims->exp});
  return p;
}

Result<Principal> CredentialService::AuthenticateContainer(std::string_view authorization) {
  Result<AgentIdentity> agent = ParseContainerAuthorization(container_secret_, authorization);
  if (!agent.ok()) return agent.status();
  Principal p;
  p.kind = Principal::Kind::kContainer;
  p.space_id = agent->space_id;
  p.agent = *std::move(agent);
  return p;
}

Result<Principal> CredentialService::AuthenticateContainerFor(std::string_view authorization,
                                                              std::string_view channel_id) {
  Result<Principal> p = AuthenticateContainer(authorization);
  if (p.ok() && p->agent.channel_id != channel_id) {
    return Status(ErrorCode::kPermissionDenied, "container token is for another channel");
  }
  return p;
}

}  // namespace agentcore
