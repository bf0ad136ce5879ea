// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Credentials: who is calling, from the three kinds of credential Cast accepts (spec cast
/// §4.1, §4.2).
///   - A session: the `cast_session` cookie holds an HS256 JWT signed with the JWT secret
///     (auth/tokens.hpp); its claims name the user, the space and the login mode.
///   - An API key: `Authorization: Bearer <key>`; the store keeps only the key's hash
///     (ApiKeyHash), and a revoked key is refused like an unknown one.
///   - A container token: `Authorization: Container <token>` (or `Agent <token>`), signed with
///     the container secret; it names one agent (space, channel, callsign) and so is scoped to
///     that agent's channel.
/// The result is a `Principal`. The embedder extracts the header and cookie values from its
/// own protocol and passes them as strings; the texts of failures are Cast's, so that a server
/// can answer with the status message as it is.
///
/// Which channels a principal may see is decided by ChannelService::Find (hub/
/// channels.hpp): a channel of another space is answered like a missing one (spec cast §8
/// #16).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/hub/rate_limits.hpp>
#include <agentcore/result.hpp>
#include <agentcore/store/store.hpp>

namespace agentcore {

/// The least length, in bytes, of a secret that signs credentials on a server others can
/// reach: 256 bits, what `openssl rand -hex 32` prints (64 characters).
inline constexpr std::size_t kMinSecretBytes = 32;

/// Whether a hub may sign and check credentials with these secrets (issue 13 §2). With
/// `allow_development_secrets` (a development server: dev login, loopback unless told
/// otherwise) anything goes, including none (the hub then uses the public development secrets
/// of auth/tokens.hpp). Otherwise `jwt_secret` (JWT_SECRET) and then `container_secret`
/// (CAST_CONTAINER_SECRET) must each be set, at least kMinSecretBytes long and not a public
/// development secret. Errors: kInvalidArgument naming the first variable at fault, what is
/// wrong with it and how to make one (`openssl rand -hex 32`). Pure.
AGENTCORE_EXPORT Status CheckSecrets(bool allow_development_secrets, std::string_view jwt_secret,
                                     std::string_view container_secret);

/// Who is calling, and what the credential scopes it to. Value type.
struct Principal {
  enum class Kind {
    kSession,    // the `cast_session` cookie, or its JWT as `Authorization: Bearer`
    kApiKey,     // `Authorization: Bearer <key>`
    kContainer,  // `Authorization: Container|Agent <token>`
  };
  Kind kind = Kind::kSession;
  /// The space every channel the caller reaches must belong to.
  std::string space_id;
  /// Sessions only: the user and the login mode ("dev", "password" or "workos").
  std::string user_id;
  std::string mode;
  /// Containers only: the agent the token was issued to; its channel is the token's scope.
  AgentIdentity agent;
  /// API keys only: the key's id (what rate limits, session caps and usage count by).
  std::string api_key_id;
  /// An administrator: may manage API keys and invite codes and read any key's usage.
  bool admin = false;
  /// Limits of this caller, from its key's record or its tier; 0: the server's defaults.
  /// VerifyApiKey resolves an API key's fully (RateLimitTiers::Resolve: never 0 unless the
  /// configured value is 0, "not limited"); sessions leave them 0.
  std::string tier;
  std::uint32_t requests_per_minute = 0;
  std::uint32_t max_running_sessions = 0;
};

/// Checks credentials against the hub's secrets and store. Thread-safe. Owned by the Hub
/// (Hub::credentials()); the store and clock it borrows belong to the hub.
///
/// Verified session tokens are remembered (a bounded, sharded cache), so a busy client's
/// cookie costs one HMAC once, not per request. The cache answers exactly as verification
/// would: see VerifySession.
class AGENTCORE_EXPORT CredentialService {
 public:
  /// `store` and `clock`: not owned; must outlive the service. Empty secrets are not replaced
  /// here: pass the hub's (which are the development secrets when none is configured).
  /// `tiers`: what an API key's limits resolve through (VerifyApiKey).
  CredentialService(Store& store, Clock& clock, std::string jwt_secret,
                    std::string container_secret, RateLimitTiers tiers = {});
  CredentialService(const CredentialService&) = delete;
  CredentialService& operator=(const CredentialService&) = delete;

  /// The caller of a session-authenticated route (spec cast §4.1). `authorization` is the
  /// `Authorization` header's value and `cookie_header` the `Cookie` header's (empty when
  /// absent). A Bearer credential (the scheme in any casing, blanks around the credential
  /// ignored) is decisive: a bad one is not retried with the cookie. It is a session JWT
  /// (VerifySession) when it has three non-empty dot-separated parts (issue 16: Octo's
  /// `Authorization: Bearer <jwt>`), otherwise an API key (VerifyApiKey). Without one the
  /// `cast_session` cookie is verified (VerifySession); any other Authorization scheme is
  /// ignored here. Errors: kUnauthenticated "Authentication required" for every refusal (no
  /// credential, bad, expired, unknown or revoked). May block on a store read when
  /// `authorization` holds a Bearer API key (ReadsStore); otherwise pure.
  Result<Principal> Authenticate(std::string_view authorization, std::string_view cookie_header);

  /// Whether Authenticate(authorization, …) would read the store (a Bearer credential that is
  /// not a JWT: an API key lookup), so that
  /// an embedder on an I/O thread knows to move the call to a thread that may block.
  static bool ReadsStore(std::string_view authorization);

  /// Whether `authorization` holds a Bearer credential (an API key or a session JWT), which
  /// Authenticate decides by alone. Pure.
  static bool PresentsBearer(std::string_view authorization);

  /// A session JWT (the cookie's value) as a kSession principal. Pure except for the cache: a
  /// token verified before is answered from memory only while the clock reads at least its
  /// verification time (its nbf held then and still holds) and before its exp, so a hit
  /// answers exactly as VerifySessionToken would at the current time.
  /// Errors: kUnauthenticated "Authentication required".
  Result<Principal> VerifySession(std::string_view token);

  /// An API key as a kApiKey principal of the key's space, with the key's id, admin flag, tier
  /// and limits (requests_per_minute, max_running_sessions: the key's own, else its tier's,
  /// else the tiers' defaults; RateLimitTiers::Resolve). Looks the key up by its hash on every
  /// call (a store read: may block; nothing is cached, so a revocation holds at once).
  /// Errors: kUnauthenticated "Authentication required" when the key is unknown, revoked, or
  /// cannot be read (the same status whichever: nothing tells whether a key exists).
  Result<Principal> VerifyApiKey(std::string_view key);

  /// `Authorization: Container <token>` or `Agent <token>` (spec cast §4.2) as a kContainer
  /// principal whose space is the token's. Pure. Errors: kUnauthenticated with Cast's texts
  /// (kMissingAuthorizationMessage, kInvalidAuthorizationFormatMessage,
  /// kInvalidContainerTokenMessage of auth/tokens.hpp).
  Result<Principal> AuthenticateContainer(std::string_view authorization);

  /// AuthenticateContainer for a route of one channel: as above, plus kPermissionDenied
  /// "container token is for another channel" when the token's channel is not `channel_id`
  /// (Cast takes only the space from the token, §8 #6; agentcore scopes it to its channel).
  Result<Principal> AuthenticateContainerFor(std::string_view authorization,
                                             std::string_view channel_id);

 private:
  // Session tokens verified before, with when they were verified and when they expire (Unix
  // seconds; exp truncated to whole seconds, never later than the token's). Bounded: a full
  // shard is emptied.
  struct VerifiedSession {
    Principal principal;
    std::int64_t verified_at = 0;
    std::int64_t exp = 0;
  };
  struct TokenHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct SessionShard {
    std::mutex mu;
    // Guarded by mu.
    std::unordered_map<std::string, VerifiedSession, TokenHash, std::equal_to<>> tokens;
  };
  static constexpr std::size_t kSessionShards = 8;
  static constexpr std::size_t kSessionsPerShard = 1024;

  // Constant after construction.
  Store& store_;
  Clock& clock_;
  const std::string jwt_secret_;
  const std::string container_secret_;
  const RateLimitTiers tiers_;
  // Each shard has its own lock.
  std::array<SessionShard, kSessionShards> sessions_;
};

}  // namespace agentcore
