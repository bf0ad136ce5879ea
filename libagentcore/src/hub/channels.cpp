// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/channels.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include <agentcore/hub/agents.hpp>
#include <agentcore/hub/event_frames.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/mention/mention.hpp>
#include <agentcore/state/agent_state.hpp>

#include "json/utf8.hpp"

namespace agentcore {
namespace {

// Cast's GET /channels returns at most this many (spec cast §4.4).
constexpr std::size_t kMaxListedChannels = 100;

// A store failure the rule does not expect: kInternal, keeping the store's status for the log.
Status StoreError(const Status& store_status) {
  return Status(ErrorCode::kInternal, store_status.ToString());
}

// tagline and mission: optional strings without NUL (absent or null: unset).
Status ReadOptionalText(const Json& body, std::string_view key, std::optional<std::string>* out) {
  Result<std::optional<std::string>> value = OptionalString(body, key);
  if (!value.has_value()) return value.status();
  if (*value) AGENTCORE_RETURN_IF_ERROR(CheckText(key, **value));
  *out = *std::move(value);
  return Status();
}

// How JavaScript's template literal prints a non-string senderType, near enough for an error.
std::string Display(const Json& value) {
  if (value.is_string()) return value.as_string();
  if (value.is_object()) return "[object Object]";
  return ToJson(value);
}

// C0 controls and DEL: no id or callsign the hub makes or accepts holds one.
bool IsControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7F;
}

// The channel `channel_id` of any space; kNotFound `not_found_text` when it does not exist or
// the id could not name one (IsPossibleId: such an id never reaches the store).
Result<Channel> LookUpChannel(Store& store, std::string_view channel_id,
                              std::string_view not_found_text) {
  if (!IsPossibleId(channel_id)) {
    return NotFound(std::string(not_found_text));
  }
  Result<Channel> channel = store.GetChannel(channel_id);
  if (!channel.has_value()) {
    if (channel.status().code() == ErrorCode::kNotFound) {
      return NotFound(std::string(not_found_text));
    }
    return StoreError(channel.status());
  }
  return channel;
}

// spec cast §5.9: an archived entry has left the channel (kept only to be unarchived).
bool IsArchived(const RosterEntry& entry) { return entry.status == RosterStatus::kArchived; }

// What an entry of the routing cache costs besides its strings: map node, control block.
constexpr std::size_t kEntryOverhead = 160;

}  // namespace

// --- The routing cache

// The channel record and its routing roster, as a post reads them, keyed by channel id and
// valid while the channel's ChannelVersions::channel is `channel_version` (read before the
// records). Entries are immutable and shared: a hit hands out a reference, never a copy made
// under a lock. 16 shards with a byte budget each; a shard that would exceed it is emptied
// (entries are small and cheap to rebuild: one channel read and one roster read).
class ChannelService::RoutingCache {
 public:
  struct Entry {
    std::uint64_t channel_version = 0;
    Channel channel;
    RoutingRoster roster;
  };

  explicit RoutingCache(std::size_t max_bytes) : shard_bytes_(max_bytes / kShards) {}

  bool enabled() const { return shard_bytes_ > 0; }

  std::shared_ptr<const Entry> Find(std::string_view channel_id) {
    Shard& shard = ShardOf(channel_id);
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(channel_id);
    return it == shard.entries.end() ? nullptr : it->second.entry;
  }

  void Put(std::string channel_id, std::shared_ptr<const Entry> entry) {
    const std::size_t bytes = Bytes(channel_id, *entry);
    if (bytes > shard_bytes_) return;  // larger than a shard's share: never cached
    Shard& shard = ShardOf(channel_id);
    Map dropped;  // released after the lock
    std::lock_guard lock(shard.mu);
    if (auto it = shard.entries.find(channel_id); it != shard.entries.end()) {
      shard.bytes -= it->second.bytes;
      shard.entries.erase(it);
    }
    if (shard.bytes + bytes > shard_bytes_) {
      dropped.swap(shard.entries);
      shard.bytes = 0;
    }
    shard.entries.emplace(std::move(channel_id), Slot{std::move(entry), bytes});
    shard.bytes += bytes;
  }

  std::size_t bytes() const {
    std::size_t n = 0;
    for (const Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      n += shard.bytes;
    }
    return n;
  }

  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> misses{0};

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  struct Slot {
    std::shared_ptr<const Entry> entry;
    std::size_t bytes = 0;
  };
  using Map = std::unordered_map<std::string, Slot, Hash, std::equal_to<>>;
  struct Shard {
    mutable std::mutex mu;
    Map entries;            // guarded by mu
    std::size_t bytes = 0;  // guarded by mu
  };
  static constexpr std::size_t kShards = 16;

  static std::size_t Bytes(std::string_view key, const Entry& e) {
    std::size_t n = kEntryOverhead + key.size() + sizeof(Entry);
    const Channel& c = e.channel;
    n += c.id.size() + c.space_id.size() + c.name.size() + c.tagline.size() + c.mission.size();
    for (const std::string& s : e.roster.agents) n += sizeof(std::string) + s.size();
    for (const std::string& s : e.roster.users) n += sizeof(std::string) + s.size();
    return n + e.roster.leader.size();
  }
  Shard& ShardOf(std::string_view key) { return shards_[Hash()(key) % kShards]; }

  const std::size_t shard_bytes_;
  std::array<Shard, kShards> shards_;
};

// What a post stores and what it answers once stored.
struct ChannelService::Prepared {
  NewMessage message;
  std::vector<std::string> targets;
  bool is_broadcast = false;
  std::vector<std::string> attachment_slugs;
};

ChannelService::ChannelService(Hub& hub, std::size_t routing_cache_bytes)
    : hub_(hub), cache_(std::make_unique<RoutingCache>(routing_cache_bytes)) {}

ChannelService::~ChannelService() = default;

ChannelService::CacheStats ChannelService::routing_cache_stats() const {
  CacheStats s;
  s.hits = cache_->hits.load(std::memory_order_relaxed);
  s.misses = cache_->misses.load(std::memory_order_relaxed);
  s.bytes = cache_->bytes();
  return s;
}

// --- Channels

Result<Channel> ChannelService::Find(const Principal& principal, std::string_view channel_id,
                                     std::string_view not_found_text) {
  AGENTCORE_ASSIGN_OR_RETURN(Channel channel,
                             LookUpChannel(hub_.store(), channel_id, not_found_text));
  // spec cast §8 #16: the space comes from the credentials, and a channel of another space is
  // answered exactly like a missing one, so ids of other spaces cannot even be probed.
  if (channel.space_id != principal.space_id) return NotFound(std::string(not_found_text));
  return channel;
}

Result<Channel> ChannelService::FindForStream(const Principal& principal,
                                              std::string_view channel_id) {
  AGENTCORE_ASSIGN_OR_RETURN(Channel channel,
                             LookUpChannel(hub_.store(), channel_id, kChannelNotFoundText));
  if (channel.space_id != principal.space_id) {
    return Status(ErrorCode::kPermissionDenied, "Not authorized for this channel");
  }
  return channel;
}

Result<std::vector<Channel>> ChannelService::List(const Principal& principal) {
  Result<std::vector<Channel>> channels =
      hub_.store().ListChannels(principal.space_id, /*include_archived=*/false);
  if (!channels.has_value()) {
    // A principal whose space has no row yet (an API key of a fresh deployment) has no
    // channels, as in Cast.
    if (channels.status().code() != ErrorCode::kNotFound) return StoreError(channels.status());
    channels = std::vector<Channel>();
  }
  // Cast: most recently active first. The store lists by creation; a stable sort keeps that
  // order among equal activity times.
  std::stable_sort(channels->begin(), channels->end(), [](const Channel& a, const Channel& b) {
    return a.last_active_at > b.last_active_at;
  });
  if (channels->size() > kMaxListedChannels) channels->resize(kMaxListedChannels);
  return channels;
}

Result<Channel> ChannelService::Create(const Principal& principal, const Json& body) {
  const std::string* name = body.FindString("name");
  if (name == nullptr || name->empty()) return InvalidArgument("Channel name is required");
  AGENTCORE_RETURN_IF_ERROR(CheckKey("name", *name));
  std::optional<std::string> tagline;
  std::optional<std::string> mission;
  AGENTCORE_RETURN_IF_ERROR(ReadOptionalText(body, "tagline", &tagline));
  AGENTCORE_RETURN_IF_ERROR(ReadOptionalText(body, "mission", &mission));

  NewChannel in;
  in.space_id = principal.space_id;
  in.name = *name;
  in.tagline = tagline.value_or("");
  in.mission = mission.value_or("");
  Result<Channel> created = hub_.store().CreateChannel(in);
  if (!created.has_value()) {
    // Cast answers a duplicate name with its generic 500; agentcore says what happened.
    if (created.status().code() == ErrorCode::kAlreadyExists) {
      return AlreadyExists("Channel name already exists");
    }
    return StoreError(created.status());
  }
  return created;
}

Result<Channel> ChannelService::Update(const Principal& principal, std::string_view channel_id,
                                       const Json& body) {
  ChannelPatch patch;
  Result<std::optional<std::string>> name = OptionalString(body, "name");
  if (!name.has_value()) return name.status();
  if (*name) {
    if ((*name)->empty()) return InvalidArgument("Channel name is required");
    AGENTCORE_RETURN_IF_ERROR(CheckKey("name", **name));
  }
  patch.name = *std::move(name);
  AGENTCORE_RETURN_IF_ERROR(ReadOptionalText(body, "tagline", &patch.tagline));
  AGENTCORE_RETURN_IF_ERROR(ReadOptionalText(body, "mission", &patch.mission));
  Result<std::optional<bool>> archived = OptionalBool(body, "archived");
  if (!archived.has_value()) return archived.status();
  patch.archived = *archived;

  Result<Channel> channel = Find(principal, channel_id);
  if (!channel.has_value()) return channel.status();
  Result<Channel> updated = hub_.store().UpdateChannel(channel->id, patch);
  if (!updated.has_value()) {
    if (updated.status().code() == ErrorCode::kAlreadyExists) {
      return AlreadyExists("Channel name already exists");
    }
    // Deleted concurrently: as unknown.
    if (updated.status().code() == ErrorCode::kNotFound) {
      return NotFound(std::string(kChannelNotFoundText));
    }
    return StoreError(updated.status());
  }
  return updated;
}

Result<ChannelWithRoster> ChannelService::GetWithRoster(const Principal& principal,
                                                        std::string_view channel_id) {
  Result<Channel> channel = Find(principal, channel_id);
  if (!channel.has_value()) return channel.status();
  Result<std::vector<RosterEntry>> roster = hub_.store().ListRoster(channel->id);
  if (!roster.has_value()) return StoreError(roster.status());
  return ChannelWithRoster{*std::move(channel), *std::move(roster)};
}

Result<ChannelWithRoster> ChannelService::GetWithVisibleRoster(const Principal& principal,
                                                               std::string_view channel_id) {
  AGENTCORE_ASSIGN_OR_RETURN(ChannelWithRoster loaded, GetWithRoster(principal, channel_id));
  std::erase_if(loaded.roster, IsArchived);
  return loaded;
}

Result<std::vector<RosterEntry>> ChannelService::ListArchivedAgents(const Principal& principal,
                                                                    std::string_view channel_id) {
  AGENTCORE_ASSIGN_OR_RETURN(ChannelWithRoster loaded, GetWithRoster(principal, channel_id));
  std::erase_if(loaded.roster, [](const RosterEntry& e) { return !IsArchived(e); });
  return std::move(loaded.roster);
}

// --- Raw roster

Result<RosterEntry> ChannelService::AddToRoster(const Principal& principal,
                                                std::string_view channel_id, const Json& body) {
  AGENTCORE_ASSIGN_OR_RETURN(AgentFields fields, RequireAgentFields(body));
  // Cast stores any string; agentcore keeps roster statuses to the six it knows (§5.9).
  Result<std::optional<std::string>> status_text = OptionalString(body, "status");
  if (!status_text.has_value()) return status_text.status();
  RosterStatus status = RosterStatus::kActive;
  if (*status_text) {
    Result<RosterStatus> parsed = ParseRosterStatus(**status_text);
    if (!parsed.has_value()) {
      return InvalidArgument(fmt::format(
          "Invalid status: {}. Must be one of active, idle, busy, offline, paused, archived",
          **status_text));
    }
    status = *parsed;
  }
  Result<Channel> channel = Find(principal, channel_id);
  if (!channel.has_value()) return channel.status();
  // No runtime is addressable by id (local runtimes, spec cast §7.5): every runtimeId is
  // unknown, which is what Cast answers for an id it does not have.
  if (IsTruthy(body.Find("runtimeId"))) return NotFound("Runtime not found");

  NewRosterEntry in;
  in.channel_id = channel->id;
  in.callsign = *fields.callsign;
  in.agent_type = *fields.agent_type;
  in.status = status;
  Result<RosterEntry> entry = AddRosterEntryWithinCap(channel->space_id, in);
  if (!entry.has_value()) {
    if (entry.status().code() == ErrorCode::kRateLimited) return entry.status();
    // Cast: a 500 from the unique index; agentcore: 409 with its generic text.
    if (entry.status().code() == ErrorCode::kAlreadyExists) {
      return AlreadyExists("Failed to add to roster");
    }
    return StoreError(entry.status());
  }
  return entry;
}

Status ChannelService::CheckAgentCap(std::string_view space_id) {
  const std::size_t cap = hub_.options().max_agents_per_space;
  if (cap == 0) return Status();
  Store& store = hub_.store();
  Result<std::vector<Channel>> channels = store.ListChannels(space_id, /*include_archived=*/true);
  if (!channels.has_value()) {
    // No such space (an embedder's agents may name one the store never saw): no agents.
    if (channels.status().code() == ErrorCode::kNotFound) return Status();
    return StoreError(channels.status());
  }
  std::size_t agents = 0;
  for (const Channel& channel : *channels) {
    Result<std::vector<RosterEntry>> roster = store.ListRoster(channel.id);
    if (!roster.has_value()) return StoreError(roster.status());
    for (const RosterEntry& entry : *roster) {
      if (entry.status != RosterStatus::kArchived) ++agents;
    }
  }
  if (agents < cap) return Status();
  return Status(ErrorCode::kRateLimited,
                fmt::format("space \"{}\" already has {} agents, the most it may have; dismiss or "
                            "remove one first",
                            space_id, agents));
}

Result<RosterEntry> ChannelService::AddRosterEntryWithinCap(std::string_view space_id,
                                                            const NewRosterEntry& in) {
  if (hub_.options().max_agents_per_space == 0 || in.status == RosterStatus::kArchived) {
    return hub_.store().AddRosterEntry(in);
  }
  std::lock_guard lock(roster_add_mu_);
  AGENTCORE_RETURN_IF_ERROR(CheckAgentCap(space_id));
  return hub_.store().AddRosterEntry(in);
}

Status ChannelService::RemoveFromRoster(const Principal& principal, std::string_view channel_id,
                                        std::string_view entry_id) {
  AGENTCORE_ASSIGN_OR_RETURN(ChannelWithRoster loaded, GetWithRoster(principal, channel_id));
  for (const RosterEntry& e : loaded.roster) {
    if (e.id != entry_id) continue;
    Status removed = hub_.store().RemoveRosterEntry(loaded.channel.id, e.callsign);
    // Removed concurrently: the outcome the caller wanted.
    if (!removed.ok() && removed.code() != ErrorCode::kNotFound) return StoreError(removed);
    break;
  }
  // Cast answers ok also when nothing matched.
  return Status();
}

Result<RoutingRoster> ChannelService::LoadRoutingRoster(const Channel& channel) {
  Result<std::vector<RosterEntry>> roster = hub_.store().ListRoster(channel.id);
  if (!roster.has_value()) return StoreError(roster.status());
  std::vector<RoutingRosterEntry> entries;
  entries.reserve(roster->size());
  for (const RosterEntry& e : *roster) {
    entries.push_back({e.callsign, e.agent_type, IsArchived(e), e.created_at});
  }
  Result<Space> space = hub_.store().GetSpace(channel.space_id);
  if (!space.has_value() && space.status().code() != ErrorCode::kNotFound) {
    return StoreError(space.status());
  }
  std::optional<std::string_view> owner;
  if (space.has_value() && !space->owner_callsign.empty()) owner = space->owner_callsign;
  return BuildRoutingRoster(entries, owner);
}

// --- Posting

Result<ChannelService::Prepared> ChannelService::Prepare(const Principal& principal,
                                                         std::string_view channel_id, Json body) {
  // Steps 1–4 (spec cast §4.7): the body alone, no store.
  Json* sender = body.Find("sender");
  Json* content = body.Find("content");
  if (sender == nullptr || !sender->is_string() || sender->as_string().empty() ||
      content == nullptr || !content->is_string() || content->as_string().empty()) {
    // Cast's inner "Message content required" cannot be reached behind this check.
    return InvalidArgument("sender and content are required");
  }
  AGENTCORE_RETURN_IF_ERROR(CheckKey("sender", sender->as_string()));
  AGENTCORE_RETURN_IF_ERROR(CheckText("content", content->as_string()));
  std::string sender_type = "user";
  if (const Json* given = body.Find("senderType")) {
    if (!given->is_string() || (given->as_string() != "user" && given->as_string() != "agent")) {
      return InvalidArgument(
          fmt::format("Invalid senderType: {}. Must be 'user' or 'agent'", Display(*given)));
    }
    sender_type = given->as_string();
  }
  const std::string* type = body.FindString("type");
  std::string message_type = type != nullptr && *type == "event" ? "event"
                             : sender_type == "user"             ? "user"
                                                                 : "agent_message";
  std::vector<std::string> attach_slugs;
  const Json* slugs = body.Find("attachSlugs");
  if (slugs != nullptr && !slugs->is_null()) {
    if (!slugs->is_array()) return InvalidArgument("attachSlugs must be an array of strings");
    for (const Json& slug : slugs->as_array()) {
      if (!slug.is_string()) return InvalidArgument("attachSlugs must be an array of strings");
      AGENTCORE_RETURN_IF_ERROR(CheckKey("attachSlugs", slug.as_string()));
      attach_slugs.push_back(slug.as_string());
    }
  }

  // The channel and its routing roster, from the cache while the channel's version (row and
  // roster) is the one read before them; else from the store, then cached.
  Store& store = hub_.store();
  std::optional<ChannelVersions> versions;
  if (cache_->enabled() && IsPossibleId(channel_id)) {
    versions = store.CurrentChannelVersions(channel_id);
  }
  std::shared_ptr<const RoutingCache::Entry> cached;
  if (versions) {
    cached = cache_->Find(channel_id);
    if (cached != nullptr && cached->channel_version != versions->channel) cached.reset();
    (cached != nullptr ? cache_->hits : cache_->misses).fetch_add(1, std::memory_order_relaxed);
  }
  std::optional<Channel> loaded;
  const Channel* channel = nullptr;
  Status channel_status;
  if (cached != nullptr) {
    // spec cast §8 #16: another space's channel is answered like a missing one.
    if (cached->channel.space_id == principal.space_id) {
      channel = &cached->channel;
    } else {
      channel_status = NotFound(std::string(kPostChannelNotFoundText));
    }
  } else {
    Result<Channel> found = Find(principal, channel_id, kPostChannelNotFoundText);
    if (found.has_value()) {
      channel = &loaded.emplace(*std::move(found));
    } else {
      channel_status = found.status();
    }
  }
  if (channel == nullptr && channel_status.code() != ErrorCode::kNotFound) return channel_status;

  // Step 5: each attached slug must be an asset of the channel; a channel the caller cannot
  // see has no visible artifact either.
  for (const std::string& slug : attach_slugs) {
    if (channel == nullptr) return NotFound("Artifact not found: " + slug);
    Result<Artifact> artifact = store.GetArtifact(channel->id, slug);
    if (!artifact.has_value()) {
      if (artifact.status().code() == ErrorCode::kNotFound) {
        return NotFound("Artifact not found: " + slug);
      }
      return StoreError(artifact.status());
    }
    if (artifact->type != "asset") {
      return InvalidArgument(
          fmt::format("Artifact '{}' is not an asset (type: {})", slug, artifact->type));
    }
  }
  if (channel == nullptr) return channel_status;  // step 6

  std::optional<RoutingRoster> loaded_roster;
  const RoutingRoster* roster = nullptr;
  if (cached != nullptr) {
    roster = &cached->roster;
  } else {
    Result<RoutingRoster> built = LoadRoutingRoster(*channel);
    if (!built.has_value()) return built.status();
    roster = &loaded_roster.emplace(*std::move(built));
    if (versions) {
      auto entry = std::make_shared<RoutingCache::Entry>();
      entry->channel_version = versions->channel;
      entry->channel = *channel;
      entry->roster = *roster;
      cache_->Put(std::string(channel_id), std::move(entry));
    }
  }

  // spec cast §3.4: a human sender gets the leader fallback; the sender is never excluded.
  const SenderKind kind = sender_type == "user" ? SenderKind::kHuman : SenderKind::kAgent;
  Routing routing = RouteMessage(ParseMentions(content->as_string()), kind, *roster);

  Prepared p;
  p.targets = InvocationTargets(routing, *roster);
  p.is_broadcast = routing.is_broadcast;
  NewMessage& m = p.message;
  m.id = hub_.NewId();
  m.space_id = channel->space_id;
  m.channel_id = channel->id;
  m.sender = std::move(sender->as_string());
  m.sender_type = std::move(sender_type);
  m.type = std::move(message_type);
  m.content = Json(std::move(content->as_string()));
  // Cast stores [""] for a human message in a channel without agents (the empty leader, §8 #4);
  // agentcore stores no empty callsign, so that message is addressed to nobody.
  std::vector<std::string> addressed;
  for (std::string& target : routing.targets) {
    if (!target.empty()) addressed.push_back(std::move(target));
  }
  if (!addressed.empty()) m.addressed_agents = std::move(addressed);
  if (!attach_slugs.empty()) {
    Json metadata = Json::Object();
    metadata.Set("attachmentSlugs", Json(JsonArray(attach_slugs.begin(), attach_slugs.end())));
    m.metadata = std::move(metadata);
  }
  p.attachment_slugs = std::move(attach_slugs);
  return p;
}

Result<PostedMessage> ChannelService::Finish(Prepared prepared, Result<Message> stored) {
  if (!stored.has_value()) return StoreError(stored.status());
  // Published once stored (publisher.hpp), with the message id for SSE replay.
  if (hub_.HasSubscribers()) {
    hub_.Publish(stored->channel_id, PostedMessageFrameLine(*stored, prepared.is_broadcast),
                 stored->id, stored->seq);
  }
  PostedMessage posted;
  posted.message = *std::move(stored);
  posted.targets = std::move(prepared.targets);
  posted.is_broadcast = prepared.is_broadcast;
  posted.attachment_slugs = std::move(prepared.attachment_slugs);
  return posted;
}

Result<PostedMessage> ChannelService::PostMessage(const Principal& principal,
                                                  std::string_view channel_id, Json body) {
  AGENTCORE_ASSIGN_OR_RETURN(Prepared prepared, Prepare(principal, channel_id, std::move(body)));
  Result<Message> stored = hub_.store().AppendMessage(prepared.message);
  Result<PostedMessage> posted = Finish(std::move(prepared), std::move(stored));
  if (posted.has_value() && !posted->targets.empty()) {
    hub_.agents().Deliver(posted->message, posted->targets);
  }
  return posted;
}

void ChannelService::PostMessageAsync(const Principal& principal, std::string_view channel_id,
                                      Json body, std::function<void(Result<PostedMessage>)> done) {
  Result<Prepared> prepared = Prepare(principal, channel_id, std::move(body));
  if (!prepared.has_value()) {
    done(prepared.status());
    return;
  }
  // The message moves into the store; what the answer needs besides it stays here.
  NewMessage message = std::move(prepared->message);
  auto stored = [this, rest = *std::move(prepared),
                 done = std::move(done)](Result<Message> result) mutable {
    Result<PostedMessage> posted = Finish(std::move(rest), std::move(result));
    if (!posted.has_value() || posted->targets.empty()) {
      done(std::move(posted));
      return;
    }
    // Delivery queues the message for every target in the store and may start agents: it
    // blocks, so it leaves the store's thread. `done` waits for it (spec cast §3.4: when a
    // post is answered the message is queued, so one client's messages reach an agent in
    // order). A message that invokes nobody costs no hop.
    hub_.Post([this, posted = std::move(posted), done = std::move(done)]() mutable {
      hub_.agents().Deliver(posted->message, posted->targets);
      done(std::move(posted));
    });
  };
  hub_.store().AppendMessageAsync(std::move(message), std::move(stored));
}

// --- Input rules

Status CheckKey(std::string_view field, std::string_view value) {
  if (value.size() > kMaxKeyBytes) {
    return InvalidArgument(fmt::format("{} is too long (max {} bytes)", field, kMaxKeyBytes));
  }
  AGENTCORE_RETURN_IF_ERROR(CheckText(field, value));
  // A key is short: checking it costs nothing, and the store would refuse it as a store error.
  if (!internal::IsValidUtf8(value)) {
    return InvalidArgument(fmt::format("{} must be valid UTF-8", field));
  }
  return Status();
}

bool IsPossibleId(std::string_view id) {
  if (id.empty() || id.size() > kMaxKeyBytes || !internal::IsValidUtf8(id)) return false;
  return std::none_of(id.begin(), id.end(), IsControl);
}

Status CheckCallsign(std::string_view callsign) {
  if (callsign.find(':') != std::string_view::npos ||
      std::any_of(callsign.begin(), callsign.end(), IsControl)) {
    return InvalidArgument("callsign must not contain ':' or control characters");
  }
  return Status();
}

Status CheckText(std::string_view field, std::string_view value) {
  if (value.find('\0') != std::string_view::npos) {
    return InvalidArgument(fmt::format("{} must not contain NUL characters", field));
  }
  return Status();
}

bool IsTruthy(const Json* value) {
  if (value == nullptr) return false;
  switch (value->type()) {
    case JsonType::kNull: return false;
    case JsonType::kBool: return value->as_bool();
    case JsonType::kNumber: return value->as_number() != 0 && !std::isnan(value->as_number());
    case JsonType::kString: return !value->as_string().empty();
    case JsonType::kArray:
    case JsonType::kObject: return true;
  }
  return false;
}

Result<std::optional<std::string>> OptionalString(const Json& object, std::string_view key) {
  const Json* value = object.Find(key);
  if (value == nullptr || value->is_null()) return std::optional<std::string>();
  if (!value->is_string()) return InvalidArgument(fmt::format("{} must be a string", key));
  return std::optional<std::string>(value->as_string());
}

Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view key) {
  const Json* value = object.Find(key);
  if (value == nullptr || value->is_null()) return std::optional<bool>();
  if (!value->is_bool()) return InvalidArgument(fmt::format("{} must be a boolean", key));
  return std::optional<bool>(value->as_bool());
}

Result<AgentFields> RequireAgentFields(const Json& body) {
  AgentFields fields{body.FindString("callsign"), body.FindString("agentType")};
  if (fields.callsign == nullptr || fields.callsign->empty() || fields.agent_type == nullptr ||
      fields.agent_type->empty()) {
    return InvalidArgument("callsign and agentType are required");
  }
  AGENTCORE_RETURN_IF_ERROR(CheckKey("callsign", *fields.callsign));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("agentType", *fields.agent_type));
  AGENTCORE_RETURN_IF_ERROR(CheckCallsign(*fields.callsign));
  return fields;
}

}  // namespace agentcore
