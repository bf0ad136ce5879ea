// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/api_keys.hpp>

#include <cmath>
#include <utility>

#include <fmt/format.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>

namespace agentcore {
namespace {

const Status& AdminRequired() {
  static const Status kDenied(ErrorCode::kPermissionDenied, "administrator API key required");
  return kDenied;
}

// Member `key` as an integer in [lo, hi]: nullopt when absent or null.
Result<std::optional<std::uint32_t>> OptionalBounded(const Json& object, std::string_view key,
                                                     std::uint32_t lo, std::uint32_t hi) {
  const Json* v = object.Find(key);
  if (v == nullptr || v->is_null()) return std::optional<std::uint32_t>();
  const double d = v->is_number() ? v->as_number() : -1;
  if (!v->is_number() || !std::isfinite(d) || d != std::floor(d) || d < lo || d > hi) {
    return InvalidArgument(fmt::format("{} must be an integer from {} to {}", key, lo, hi));
  }
  return std::optional<std::uint32_t>(static_cast<std::uint32_t>(d));
}

Status CheckRequest(const NewApiKeyRequest& r, const RateLimitTiers* tiers) {
  if (r.name.empty()) return InvalidArgument("name is required");
  AGENTCORE_RETURN_IF_ERROR(CheckKey("name", r.name));
  if (!r.tier.empty()) {
    if (!IsValidTierName(r.tier)) {
      return InvalidArgument("tier must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
    }
    if (tiers != nullptr && !tiers->Has(r.tier)) {
      return InvalidArgument(fmt::format("unknown tier \"{}\"", r.tier));
    }
  }
  if (r.requests_per_minute > kMaxRequestsPerMinute) {
    return InvalidArgument(
        fmt::format("requestsPerMinute must be an integer from 1 to {}", kMaxRequestsPerMinute));
  }
  if (r.max_running_sessions > kMaxRunningSessionsLimit) {
    return InvalidArgument(fmt::format("maxRunningSessions must be an integer from 1 to {}",
                                       kMaxRunningSessionsLimit));
  }
  return Status();
}

}  // namespace

Result<NewApiKeyRequest> ParseNewApiKeyRequest(std::string_view json_body) {
  Result<Json> body = ParseJson(json_body);
  if (!body.ok() || !body->is_object()) {
    return InvalidArgument("request body must be a JSON object");
  }
  for (const JsonMember& m : body->as_object()) {
    if (m.key == "name" || m.key == "tier" || m.key == "requestsPerMinute" ||
        m.key == "maxRunningSessions" || m.key == "admin") {
      continue;
    }
    // Echo the member only when it is plainly a name (never bytes a client could abuse).
    if (IsValidTierName(m.key)) return InvalidArgument(fmt::format("unknown member \"{}\"", m.key));
    return InvalidArgument("unknown member");
  }
  NewApiKeyRequest r;
  AGENTCORE_ASSIGN_OR_RETURN(std::optional<std::string> name, OptionalString(*body, "name"));
  if (!name || name->empty()) return InvalidArgument("name is required");
  AGENTCORE_RETURN_IF_ERROR(CheckKey("name", *name));
  r.name = std::move(*name);
  AGENTCORE_ASSIGN_OR_RETURN(std::optional<std::string> tier, OptionalString(*body, "tier"));
  if (tier) {
    if (!tier->empty() && !IsValidTierName(*tier)) {
      return InvalidArgument("tier must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
    }
    r.tier = std::move(*tier);
  }
  AGENTCORE_ASSIGN_OR_RETURN(
      std::optional<std::uint32_t> rpm,
      OptionalBounded(*body, "requestsPerMinute", 1, kMaxRequestsPerMinute));
  r.requests_per_minute = rpm.value_or(0);
  AGENTCORE_ASSIGN_OR_RETURN(
      std::optional<std::uint32_t> sessions,
      OptionalBounded(*body, "maxRunningSessions", 1, kMaxRunningSessionsLimit));
  r.max_running_sessions = sessions.value_or(0);
  AGENTCORE_ASSIGN_OR_RETURN(std::optional<bool> admin, OptionalBool(*body, "admin"));
  r.admin = admin.value_or(false);
  return r;
}

void AppendApiKeyJson(const ApiKey& k, std::string_view key, std::string* out) {
  JsonWriter w(out);
  w.BeginObject().Field("id", k.id).Field("name", k.name).Field("prefix", k.prefix);
  w.Field("spaceId", k.space_id);
  if (k.tier.empty()) {
    w.Key("tier").Null();
  } else {
    w.Field("tier", k.tier);
  }
  if (k.requests_per_minute == 0) {
    w.Key("requestsPerMinute").Null();
  } else {
    w.Field("requestsPerMinute", k.requests_per_minute);
  }
  if (k.max_running_sessions == 0) {
    w.Key("maxRunningSessions").Null();
  } else {
    w.Field("maxRunningSessions", k.max_running_sessions);
  }
  w.Field("admin", k.admin).Field("createdAt", FormatIsoTimestamp(k.created_at));
  if (k.last_used_at) {
    w.Field("lastUsedAt", FormatIsoTimestamp(*k.last_used_at));
  } else {
    w.Key("lastUsedAt").Null();
  }
  w.Field("revoked", k.revoked);
  if (!key.empty()) w.Field("key", key);
  w.EndObject();
}

Principal OperatorPrincipal(std::string_view space_id) {
  Principal p;
  p.kind = Principal::Kind::kApiKey;
  p.space_id = std::string(space_id);
  p.admin = true;
  return p;
}

ApiKeyService::ApiKeyService(Store& store, const RateLimitTiers* tiers)
    : store_(store), tiers_(tiers) {}

Result<CreatedApiKey> ApiKeyService::CreateApiKey(const Principal& caller,
                                                  const NewApiKeyRequest& request) {
  if (!caller.admin) return AdminRequired();
  AGENTCORE_RETURN_IF_ERROR(CheckRequest(request, tiers_));
  CreatedApiKey out;
  out.key = NewApiKey();
  ApiKey record;
  record.space_id = caller.space_id;
  record.name = request.name;
  record.key_hash = ApiKeyHash(out.key);
  record.prefix = ApiKeyPrefix(out.key);
  record.tier = request.tier;
  record.requests_per_minute = request.requests_per_minute;
  record.max_running_sessions = request.max_running_sessions;
  record.admin = request.admin;
  AGENTCORE_ASSIGN_OR_RETURN(out.record, store_.CreateApiKey(record));
  return out;
}

Result<std::vector<ApiKey>> ApiKeyService::ListApiKeys(const Principal& caller) {
  if (!caller.admin) return AdminRequired();
  return store_.ListApiKeys(caller.space_id);
}

Status ApiKeyService::RevokeApiKey(const Principal& caller, std::string_view id) {
  if (!caller.admin) return AdminRequired();
  if (!IsPossibleId(id)) return NotFound("api key not found");
  // Only a key of the caller's own space: another space's answers like a missing one.
  AGENTCORE_ASSIGN_OR_RETURN(std::vector<ApiKey> keys, store_.ListApiKeys(caller.space_id));
  for (const ApiKey& k : keys) {
    if (k.id != id) continue;
    if (k.revoked) return Status();
    return store_.RevokeApiKey(id);
  }
  return NotFound("api key not found");
}

}  // namespace agentcore
