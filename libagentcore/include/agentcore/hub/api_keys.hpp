// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Administration of API keys (issue 16): create, list and revoke the keys of a space, for an
/// administrator. The same functions serve the server's `/v1/keys` routes and the CLI's
/// `agentcore api-key` (which acts as the local operator: OperatorPrincipal).
///
/// A key is `ak_` + 40 hex digits (auth/tokens.hpp NewApiKey); the store keeps only its
/// SHA-256 and first characters, so the key itself is returned once, by CreateApiKey, and never
/// again. A key belongs to the space of the administrator who made it. It may name a tier and
/// carry its own limits (hub/rate_limits.hpp), and may itself be an administrator's key.
///
/// Revocation is immediate: credentials read the key's record on every request
/// (CredentialService::VerifyApiKey caches nothing).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/hub/rate_limits.hpp>
#include <agentcore/result.hpp>
#include <agentcore/store/records.hpp>
#include <agentcore/store/store.hpp>

namespace agentcore {

/// What a new key is to be. Value type.
struct NewApiKeyRequest {
  /// A label for listings: 1 to kMaxKeyBytes bytes of UTF-8 (CheckKey).
  std::string name;
  /// A configured tier's name, or empty for none.
  std::string tier;
  /// The key's own limits; 0: its tier's, else the defaults.
  std::uint32_t requests_per_minute = 0;
  std::uint32_t max_running_sessions = 0;
  /// Whether the key may itself manage keys and invite codes.
  bool admin = false;
};

/// A key just made: the key (shown once; never stored) and its record. Value type.
struct CreatedApiKey {
  std::string key;
  ApiKey record;
};

/// The body of `POST /v1/keys`: a JSON object with `name` (string, required), `tier` (string),
/// `requestsPerMinute` (integer 1..kMaxRequestsPerMinute), `maxRunningSessions` (integer
/// 1..kMaxRunningSessionsLimit) and `admin` (boolean); absent or null members take their
/// defaults. Errors: kInvalidArgument "request body must be a JSON object", "name is
/// required", "<member> must be a string|boolean", "<member> must be an integer from A to B",
/// "unknown member \"<name>\"" (the name only when it is a plain [A-Za-z0-9_.-] word of at
/// most 64 bytes), CheckKey's texts. Pure.
AGENTCORE_EXPORT Result<NewApiKeyRequest> ParseNewApiKeyRequest(std::string_view json_body);

/// A key's record as JSON (the wire form of the routes and the CLI): `id`, `name`, `prefix`,
/// `spaceId`, `tier` (null when none), `requestsPerMinute` and `maxRunningSessions` (null when
/// not set on the key), `admin`, `createdAt`, `lastUsedAt` (null when never), `revoked`, and
/// `key` only when `key` is not empty. Never the hash. Appends to `out`.
AGENTCORE_EXPORT void AppendApiKeyJson(const ApiKey& record, std::string_view key,
                                       std::string* out);

/// The local operator of a space: the CLI, which holds the database itself and so may do
/// anything an administrator of `space_id` may.
AGENTCORE_EXPORT Principal OperatorPrincipal(std::string_view space_id);

/// See the top of this file. Thread-safe (it keeps no state of its own). Owned by the Hub
/// (Hub::api_keys()), or made by the CLI over an open store. Every method reads or writes the
/// store and may block.
class AGENTCORE_EXPORT ApiKeyService {
 public:
  /// `store`: not owned; must outlive the service. `tiers`: the configured tiers a new key's
  /// tier must be one of; nullptr when they are not known here (the CLI: any valid tier name
  /// is accepted, and an unknown one resolves to the defaults at use). Not owned; must outlive
  /// the service.
  ApiKeyService(Store& store, const RateLimitTiers* tiers);
  ApiKeyService(const ApiKeyService&) = delete;
  ApiKeyService& operator=(const ApiKeyService&) = delete;

  /// Makes a key in the caller's space. Errors: kPermissionDenied "administrator API key
  /// required" when `caller` is not an administrator; kInvalidArgument for a bad name (CheckKey's
  /// texts, "name is required"), a tier name that is not valid (IsValidTierName) or not
  /// configured ("unknown tier \"x\""), limits over kMaxRequestsPerMinute /
  /// kMaxRunningSessionsLimit; the store's errors.
  Result<CreatedApiKey> CreateApiKey(const Principal& caller, const NewApiKeyRequest& request);

  /// The keys of the caller's space, oldest first, revoked ones included. Errors:
  /// kPermissionDenied as above; the store's.
  Result<std::vector<ApiKey>> ListApiKeys(const Principal& caller);

  /// Revokes key `id` of the caller's space; revoking a revoked key is OK. From the next
  /// request on, the key is refused like an unknown one. Errors: kPermissionDenied as above;
  /// kNotFound "api key not found" when no key of the caller's space has that id (a key of
  /// another space included); the store's.
  Status RevokeApiKey(const Principal& caller, std::string_view id);

 private:
  // Constant after construction.
  Store& store_;
  const RateLimitTiers* const tiers_;
};

}  // namespace agentcore
