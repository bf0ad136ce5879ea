// SPDX-License-Identifier: Apache-2.0
#include "store/record_checks.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "json/utf8.hpp"

namespace agentcore::internal {

namespace {

// True when `s` is valid UTF-8 without NUL bytes. ASCII runs are checked 8 bytes at a time:
// message content is mostly ASCII and this runs on every append.
bool IsCleanUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      // No byte has its high bit set and no byte is zero (the classic haszero test).
      const bool ascii = (word & 0x8080808080808080ULL) == 0;
      const bool has_zero = ((word - 0x0101010101010101ULL) & ~word & 0x8080808080808080ULL) != 0;
      if (ascii && !has_zero) {
        p += 8;
        continue;
      }
    }
    if (*p == 0) return false;
    if (*p < 0x80) {
      ++p;
      continue;
    }
    const std::size_t n = Utf8SequenceLength(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

Status CheckString(std::string_view what, std::string_view value) {
  if (!IsCleanUtf8(value)) {
    return InvalidArgument(fmt::format("{} is not valid UTF-8 or contains a NUL byte", what));
  }
  return Status::Ok();
}

Status CheckJsonValue(std::string_view what, const Json& v, int depth) {
  switch (v.type()) {
    case JsonType::kNull:
    case JsonType::kBool:
    case JsonType::kNumber:
      return Status::Ok();
    case JsonType::kString:
      return CheckString(what, v.as_string());
    case JsonType::kArray:
      if (depth >= kMaxJsonDepth) break;
      for (const Json& item : v.as_array()) {
        AGENTCORE_RETURN_IF_ERROR(CheckJsonValue(what, item, depth + 1));
      }
      return Status::Ok();
    case JsonType::kObject:
      if (depth >= kMaxJsonDepth) break;
      for (const JsonMember& m : v.as_object()) {
        AGENTCORE_RETURN_IF_ERROR(CheckString(what, m.key));
        AGENTCORE_RETURN_IF_ERROR(CheckJsonValue(what, m.value, depth + 1));
      }
      return Status::Ok();
  }
  return InvalidArgument(fmt::format("{} nests deeper than {}", what, kMaxJsonDepth));
}

Status CheckOptKey(std::string_view what, const std::optional<std::string>& v) {
  return v ? CheckOptionalKey(what, *v) : Status::Ok();
}

Status CheckOptText(std::string_view what, const std::optional<std::string>& v,
                    std::size_t max_bytes) {
  return v ? CheckText(what, *v, max_bytes) : Status::Ok();
}

}  // namespace

Status CheckKey(std::string_view what, std::string_view value) {
  if (value.empty()) return InvalidArgument(fmt::format("{} is empty", what));
  return CheckOptionalKey(what, value);
}

Status CheckOptionalKey(std::string_view what, std::string_view value) {
  if (value.size() > kMaxKeyBytes) {
    return InvalidArgument(
        fmt::format("{} is {} bytes, over the limit of {}", what, value.size(), kMaxKeyBytes));
  }
  return CheckString(what, value);
}

Status CheckText(std::string_view what, std::string_view value, std::size_t max_bytes) {
  if (value.size() > max_bytes) {
    return InvalidArgument(
        fmt::format("{} is {} bytes, over the limit of {}", what, value.size(), max_bytes));
  }
  return CheckString(what, value);
}

Status CheckClusterEvents(std::span<const ClusterEvent> events, std::size_t max_bytes) {
  for (const ClusterEvent& e : events) {
    if (e.kind != ClusterEvent::Kind::kLines && e.kind != ClusterEvent::Kind::kAgentWake &&
        e.kind != ClusterEvent::Kind::kNodeHello) {
      return InvalidArgument(fmt::format("cluster event kind {} is not one of the enumerators",
                                         static_cast<int>(e.kind)));
    }
    AGENTCORE_RETURN_IF_ERROR(CheckKey("cluster event origin", e.origin));
    AGENTCORE_RETURN_IF_ERROR(CheckKey("cluster event channel id", e.channel_id));
    AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("cluster event key", e.key));
    AGENTCORE_RETURN_IF_ERROR(CheckText("cluster event payload", e.payload, max_bytes));
  }
  return Status::Ok();
}

Status CheckLeaseKey(std::string_view key) {
  if (key.empty()) return InvalidArgument("lease key is empty");
  return CheckText("lease key", key, kMaxLeaseKeyBytes);
}

Status CheckLeaseRequest(std::string_view key, std::string_view owner, UnixMillis now,
                         UnixMillis until) {
  AGENTCORE_RETURN_IF_ERROR(CheckLeaseKey(key));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("lease owner", owner));
  if (until <= now) {
    return InvalidArgument(
        fmt::format("lease of \"{}\" would end at {}, not after now ({})", key, until, now));
  }
  return Status::Ok();
}

Result<std::string> EncodeJson(std::string_view what, const Json& value, std::size_t max_bytes) {
  AGENTCORE_RETURN_IF_ERROR(CheckJsonValue(what, value, 0));
  std::string text = ToJson(value);
  if (text.size() > max_bytes) {
    return InvalidArgument(
        fmt::format("{} is {} bytes of JSON, over the limit of {}", what, text.size(), max_bytes));
  }
  return text;
}

Result<std::optional<std::string>> EncodeNullableJson(std::string_view what, const Json& value,
                                                      std::size_t max_bytes) {
  if (value.is_null()) return std::optional<std::string>();
  AGENTCORE_ASSIGN_OR_RETURN(std::string text, EncodeJson(what, value, max_bytes));
  return std::optional<std::string>(std::move(text));
}

Result<Json> DecodeJson(std::string_view what, std::string_view text) {
  auto parsed = ParseJson(text);
  if (!parsed) {
    return Internal(fmt::format("stored {} is not valid JSON: {}", what, parsed.error().message()));
  }
  return std::move(parsed).value();
}

Status CheckUser(const User& in, std::size_t max_bytes) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("user id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("user external id", in.external_id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("user callsign", in.callsign));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("user email", in.email));
  AGENTCORE_RETURN_IF_ERROR(CheckText("user avatar url", in.avatar_url, max_bytes));
  AGENTCORE_RETURN_IF_ERROR(
      CheckOptionalKey("user disclaimer accepted version", in.disclaimer_accepted_version));
  return CheckOptionalKey("user password hash", in.password_hash);
}

Status CheckInviteCode(const InviteCode& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("invite code id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("invite code hash", in.code_hash));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("invite code prefix", in.prefix));
  if (in.expires_at < 0) return InvalidArgument("invite code expires_at must not be negative");
  return Status();
}

Status CheckSpace(const Space& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("space id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("space name", in.name));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("space owner callsign", in.owner_callsign));
  return CheckOptionalKey("space owner id", in.owner_id);
}

Status CheckNewChannel(const NewChannel& in, std::size_t max_bytes) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("channel id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel space id", in.space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel name", in.name));
  AGENTCORE_RETURN_IF_ERROR(CheckText("channel tagline", in.tagline, max_bytes));
  return CheckText("channel mission", in.mission, max_bytes);
}

Status CheckChannelPatch(const ChannelPatch& in, std::size_t max_bytes) {
  if (in.name) AGENTCORE_RETURN_IF_ERROR(CheckKey("channel name", *in.name));
  AGENTCORE_RETURN_IF_ERROR(CheckOptText("channel tagline", in.tagline, max_bytes));
  return CheckOptText("channel mission", in.mission, max_bytes);
}

namespace {

// The type admits only the six statuses; a value cast from an integer outside them (a binding
// passing a raw number) would be stored as "unknown", so it is refused.
Status CheckRosterStatus(RosterStatus status) {
  for (RosterStatus known : kAllRosterStatuses) {
    if (status == known) return Status::Ok();
  }
  return InvalidArgument(
      fmt::format("roster status {} is not a known status", static_cast<int>(status)));
}

}  // namespace

Status CheckNewRosterEntry(const NewRosterEntry& in, std::size_t /*max_bytes*/) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("roster entry id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster channel id", in.channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster callsign", in.callsign));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("roster agent type", in.agent_type));
  AGENTCORE_RETURN_IF_ERROR(CheckRosterStatus(in.status));
  return CheckOptionalKey("roster runtime id", in.runtime_id);
}

Status CheckRosterPatch(const RosterPatch& in, std::size_t max_bytes) {
  if (in.status) AGENTCORE_RETURN_IF_ERROR(CheckRosterStatus(*in.status));
  AGENTCORE_RETURN_IF_ERROR(CheckOptKey("roster agent type", in.agent_type));
  AGENTCORE_RETURN_IF_ERROR(CheckOptText("roster callback url", in.callback_url, max_bytes));
  if (in.callback_url && in.clear_callback_url) {
    return InvalidArgument("roster patch both sets and clears the callback url");
  }
  AGENTCORE_RETURN_IF_ERROR(CheckOptKey("roster readmark", in.readmark));
  return CheckOptKey("roster container token hash", in.container_token_hash);
}

Status CheckNewMessage(const NewMessage& in, std::size_t /*max_bytes*/) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("message id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("message space id", in.space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("message channel id", in.channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("message sender", in.sender));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("message sender type", in.sender_type));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("message type", in.type));
  if (in.addressed_agents) {
    for (const std::string& a : *in.addressed_agents) {
      AGENTCORE_RETURN_IF_ERROR(CheckKey("message addressed agent", a));
    }
  }
  return CheckOptKey("message state", in.state);
}

Status CheckMessagePatch(const MessagePatch& in, std::size_t /*max_bytes*/) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptKey("message state", in.state));
  return CheckOptKey("message type", in.type);
}

Status CheckPageRequest(const PageRequest& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptKey("page cursor after", in.after));
  AGENTCORE_RETURN_IF_ERROR(CheckOptKey("page cursor before", in.before));
  AGENTCORE_RETURN_IF_ERROR(CheckOptKey("page agent filter", in.for_agent));
  for (const std::string& t : in.types) {
    AGENTCORE_RETURN_IF_ERROR(CheckKey("page type filter", t));
  }
  return Status::Ok();
}

Status CheckPendingDelivery(const PendingDelivery& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery channel id", in.channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery callsign", in.callsign));
  return CheckKey("delivery message id", in.message_id);
}

Status CheckNewRun(const NewRun& in, std::size_t /*max_bytes*/) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("run id", in.id));
  return CheckOptionalKey("run project id", in.project_id);
}

Status CheckRunUpdate(const RunUpdate& in, std::size_t max_bytes) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptText("run error", in.error, max_bytes));
  return CheckOptKey("run worker id", in.worker_id);
}

Status CheckSession(const Session& in, std::size_t max_bytes) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("session id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("session owner id", in.owner_id));
  AGENTCORE_RETURN_IF_ERROR(CheckText("session image", in.image, max_bytes));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("session api key id", in.api_key_id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("session instance", in.instance));
  AGENTCORE_RETURN_IF_ERROR(CheckText("session reason", in.reason, max_bytes));
  return CheckOptionalKey("session container id", in.container_id);
}

Status CheckTeam(const Team& in, std::size_t /*max_bytes*/) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("team id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("team space id", in.space_id));
  return CheckKey("team name", in.name);
}

Status CheckApiKey(const ApiKey& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("api key id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("api key space id", in.space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("api key name", in.name));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("api key hash", in.key_hash));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("api key tier", in.tier));
  return CheckOptionalKey("api key prefix", in.prefix);
}

Status CheckIdempotency(const IdempotencyRecord& in, std::size_t max_bytes) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("idempotency scope", in.scope));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("idempotency key", in.key));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("idempotency request hash", in.request_hash));
  return CheckText("idempotency response body", in.response_body, max_bytes);
}

Status CheckArtifact(const Artifact& in, std::size_t max_bytes) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("artifact id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact channel id", in.channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact slug", in.slug));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("artifact type", in.type));
  AGENTCORE_RETURN_IF_ERROR(CheckText("artifact title", in.title, max_bytes));
  AGENTCORE_RETURN_IF_ERROR(CheckText("artifact tldr", in.tldr, max_bytes));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("artifact status", in.status));
  return CheckOptionalKey("artifact content type", in.content_type);
}

Status CheckCostRecord(const CostRecord& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("cost space id", in.space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("cost channel id", in.channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("cost callsign", in.callsign));
  // NaN would not survive SQLite (it reads back as NULL); a running total is never negative.
  if (!std::isfinite(in.cost_usd) || in.cost_usd < 0) {
    return InvalidArgument(
        fmt::format("cost of \"{}\" is {}, not a finite amount >= 0", in.callsign, in.cost_usd));
  }
  if (in.duration_ms < 0) {
    return InvalidArgument(
        fmt::format("cost duration of \"{}\" is {} ms, not >= 0", in.callsign, in.duration_ms));
  }
  if (in.num_turns < 0) {
    return InvalidArgument(
        fmt::format("cost turn count of \"{}\" is {}, not >= 0", in.callsign, in.num_turns));
  }
  return Status::Ok();
}

Status CheckRunClaim(const RunClaim& in) { return CheckKey("run claim worker id", in.worker_id); }

Status CheckProjectId(std::string_view id) {
  if (id.empty() || id.size() > kMaxProjectIdBytes) {
    return InvalidArgument(
        fmt::format("project id must be 1 to {} characters long", kMaxProjectIdBytes));
  }
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    // The value is not echoed: it may be anything, including invalid UTF-8.
    if (!ok) return InvalidArgument("project id may only contain A-Z, a-z, 0-9, '.', '_' and '-'");
  }
  return Status::Ok();
}

Status CheckProject(const Project& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("project space id", in.space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckProjectId(in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("project name", in.name));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("project channel id", in.channel_id));
  if (!in.settings.is_null() && !in.settings.is_object()) {
    return InvalidArgument("project settings must be an object or null");
  }
  return Status::Ok();
}

Status CheckModelPrice(const ModelPrice& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("model price provider", in.provider));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("model price model", in.model));
  // NaN would read back from SQLite as NULL; a price is never negative.
  for (double v : {in.input_usd_per_mtok, in.output_usd_per_mtok}) {
    if (!std::isfinite(v) || v < 0) {
      return InvalidArgument(fmt::format("price of model \"{}/{}\" is {}, not a finite amount >= 0",
                                         in.provider, in.model, v));
    }
  }
  return Status::Ok();
}

Status CheckWebhookDelivery(const WebhookDelivery& in, std::size_t max_bytes) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("webhook delivery id", in.id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("webhook delivery run id", in.run_id));
  if (in.url.empty()) return InvalidArgument("webhook delivery url is empty");
  AGENTCORE_RETURN_IF_ERROR(CheckText("webhook delivery url", in.url, max_bytes));
  AGENTCORE_RETURN_IF_ERROR(CheckText("webhook delivery body", in.body, max_bytes));
  return CheckText("webhook delivery last error", in.last_error, max_bytes);
}

Status CheckWebhookUpdate(const WebhookUpdate& in, std::size_t max_bytes) {
  return CheckText("webhook delivery last error", in.last_error, max_bytes);
}

Status RunLeaseConflict(const Run& run, std::string_view worker_id) {
  if (run.state != RunState::kPlanning && run.state != RunState::kBuilding) {
    return Conflict(fmt::format("run \"{}\" is {}: it has no lease to renew", run.id,
                                RunStateName(run.state)));
  }
  return Conflict(fmt::format("run \"{}\" is held by worker \"{}\", not \"{}\"", run.id,
                              run.worker_id, worker_id));
}

RosterStatus StoredRosterStatus(std::string_view text) {
  Result<RosterStatus> status = ParseRosterStatus(text);
  return status.ok() ? *status : RosterStatus::kActive;
}

}  // namespace agentcore::internal
