// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The channel service: Cast's channels, their raw roster and posting a message, as the hub
/// runs them (spec cast §4.4 channels, §4.5 roster, §4.7 and §3 posting and mention routing).
///
/// Every method takes the caller's `Principal` (hub/credentials.hpp) and answers a channel of
/// another space exactly like a missing one (spec cast §8 #16), so ids of other spaces cannot
/// even be probed. Bodies arrive as parsed JSON (`Json`), because Cast's validation order
/// interleaves type checks ("name must be a string") with value checks ("Channel name is
/// required"); the service checks them in that order. Errors carry Cast's response text as the
/// status message and a code a server maps to Cast's status (kInvalidArgument 400, kNotFound
/// 404, kAlreadyExists 409). A store failure the rule does not expect is kInternal with the
/// store's status in the message: log it and answer the route's fixed 500 text.
///
/// Posting stores the message, publishes its set frame (event_frames.hpp) through the hub's
/// publisher with the message id as event id, then hands it to the agent service
/// (AgentService::Deliver: queued for every invoked agent, pushed or the agent started) before
/// it returns.
///
/// The routing roster of a channel (what posting reads besides the channel) is cached: an
/// entry is served only while the store's ChannelVersions::channel of the channel is the one
/// read before the entry's data (Store::CurrentChannelVersions), so a roster or channel change
/// acknowledged before a post is always seen (on PostgreSQL: one acknowledged by this process;
/// another server's within the store's feed delay, at most ~1 s, docs/storage-postgres.md).
/// Stores without versions bypass it.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/json.hpp>
#include <agentcore/mention/router.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>

namespace agentcore {

class Hub;

/// Cast's texts for a channel the caller cannot see.
inline constexpr std::string_view kChannelNotFoundText = "Channel not found";
/// POST /channels/:id/messages says it differently (spec cast §4.7).
inline constexpr std::string_view kPostChannelNotFoundText = "Channel not found or has no roster";

/// A channel with every roster entry (archived ones too), by creation.
struct ChannelWithRoster {
  Channel channel;
  std::vector<RosterEntry> roster;
};

/// What posting a message produced.
struct PostedMessage {
  /// The message as stored (id, seq, timestamps, addressed agents).
  Message message;
  /// The agents to invoke (InvocationTargets: routed agents, no users, no empty leader), in
  /// routing order.
  std::vector<std::string> targets;
  /// Whether the message said @channel (its frame carried `broadcast: true`).
  bool is_broadcast = false;
  /// The `attachSlugs` the client posted, in its order.
  std::vector<std::string> attachment_slugs;
};

/// Channels, roster and posting. Thread-safe: every method may run on any thread, several at
/// once. Methods block on the store unless stated otherwise. Owned by the Hub
/// (Hub::channels()); it borrows the hub's store, clock and publisher.
class AGENTCORE_EXPORT ChannelService {
 public:
  /// `hub`: not owned; must outlive the service. `routing_cache_bytes`: the routing roster
  /// cache's bound (0: no cache).
  ChannelService(Hub& hub, std::size_t routing_cache_bytes);
  ~ChannelService();
  ChannelService(const ChannelService&) = delete;
  ChannelService& operator=(const ChannelService&) = delete;

  // --- Channels (spec cast §4.4)

  /// The caller's channel `channel_id`. kNotFound with `not_found_text` when it does not exist,
  /// the id is malformed, or it belongs to another space (§8 #16); kInternal on a store error.
  Result<Channel> Find(const Principal& principal, std::string_view channel_id,
                       std::string_view not_found_text = kChannelNotFoundText);

  /// The channel a caller's live stream asks for (spec cast §4.10, sync steps 1–2: Cast's
  /// WebSocket tells a missing channel from a forbidden one, unlike the REST routes). kNotFound
  /// "Channel not found" when it does not exist or the id is malformed; kPermissionDenied
  /// "Not authorized for this channel" when it belongs to another space; kInternal on a store
  /// error.
  Result<Channel> FindForStream(const Principal& principal, std::string_view channel_id);

  /// The non-archived channels of the caller's space, most recently active first (creation
  /// order among equals), at most 100. A space without a row has none. kInternal on a store
  /// error.
  Result<std::vector<Channel>> List(const Principal& principal);

  /// Creates a channel in the caller's space from `{name, tagline?, mission?}`.
  /// kInvalidArgument: "Channel name is required" (missing, not a string, empty), CheckKey's
  /// texts for the name, "<field> must be a string" / CheckText's for tagline and mission.
  /// kAlreadyExists "Channel name already exists" (Cast answers a generic 500). kInternal.
  Result<Channel> Create(const Principal& principal, const Json& body);

  /// Patches the caller's channel from `{name?, tagline?, mission?, archived?}` (absent or
  /// null: unchanged). kInvalidArgument ("name must be a string", "Channel name is required",
  /// CheckKey's texts, the tagline/mission texts of Create, "archived must be a boolean"),
  /// checked before the channel is looked up; kNotFound "Channel not found" (Cast answers 200
  /// `{"channel":null}`); kAlreadyExists "Channel name already exists"; kInternal.
  Result<Channel> Update(const Principal& principal, std::string_view channel_id, const Json& body);

  /// The caller's channel with its whole roster. Errors as Find, kInternal.
  Result<ChannelWithRoster> GetWithRoster(const Principal& principal, std::string_view channel_id);

  /// The caller's channel with the roster its members see: every entry except archived ones,
  /// by creation (spec cast §4.4 GET /channels/:id, §4.5 GET roster: archived agents are out of
  /// the channel until unarchived, §5.9). An entry whose status is not one of §5.9's six is
  /// shown. Errors as Find, kInternal.
  Result<ChannelWithRoster> GetWithVisibleRoster(const Principal& principal,
                                                 std::string_view channel_id);

  /// The archived entries of the caller's channel, by creation (spec cast §4.6 GET
  /// /channels/:id/agents/archived). Errors as Find, kInternal.
  Result<std::vector<RosterEntry>> ListArchivedAgents(const Principal& principal,
                                                      std::string_view channel_id);

  // --- Raw roster (spec cast §4.5: no broadcasts, no runtime side effects)

  /// Adds `{callsign, agentType, status?, runtimeId?}` to the caller's channel. In order:
  /// kInvalidArgument "callsign and agentType are required" (RequireAgentFields), "status must
  /// be a string", "Invalid status: <s>. Must be one of active, idle, busy, offline, paused,
  /// archived" (Cast stores any string; agentcore keeps the six of §5.9); kNotFound "Channel
  /// not found"; kNotFound "Runtime not found" for any truthy runtimeId (no runtime registry
  /// is addressable by id, §7.5); kAlreadyExists "Failed to add to roster" for a callsign
  /// already there; kInternal.
  Result<RosterEntry> AddToRoster(const Principal& principal, std::string_view channel_id,
                                  const Json& body);

  // --- Caps per space (issue 13 §2; HubOptions::max_agents_per_space)

  /// Stores `in` (Store::AddRosterEntry) in a channel of `space_id` unless the space already
  /// has HubOptions::max_agents_per_space roster entries that are not archived (0: no cap; an
  /// entry stored archived is never refused). The count and the insert are serialized across
  /// the hub, so concurrent additions cannot overshoot. Errors: kRateLimited (CheckAgentCap's
  /// text); the store's errors as they are (kAlreadyExists, kNotFound, ...).
  Result<RosterEntry> AddRosterEntryWithinCap(std::string_view space_id,
                                              const NewRosterEntry& in);

  /// OK when `space_id` may have one more non-archived agent (AddRosterEntryWithinCap's rule,
  /// also applied by unarchive). Errors: kRateLimited "space \"<id>\" already has N agents, the
  /// most it may have; dismiss or remove one first"; kInternal for a store failure.
  Status CheckAgentCap(std::string_view space_id);

  /// Removes the roster entry with id `entry_id` from the caller's channel. OK also when no
  /// entry has that id or it was removed concurrently (as Cast). kNotFound "Channel not found";
  /// kInternal.
  Status RemoveFromRoster(const Principal& principal, std::string_view channel_id,
                          std::string_view entry_id);

  /// The channel's routing roster as Cast builds it (spec cast §3.3): its non-archived agents
  /// by creation, the leader, and the space owner's callsign as the only user. Not cached.
  /// kInternal on a store error.
  Result<RoutingRoster> LoadRoutingRoster(const Channel& channel);

  // --- Posting (spec cast §4.7, mention routing §3)

  /// Posts `{sender, content, senderType?, type?, attachSlugs?}` to the caller's channel,
  /// validated in Cast's order, each step's error winning over later ones:
  ///   1. kInvalidArgument "sender and content are required" (missing, not strings, empty);
  ///   2. CheckKey("sender"), CheckText("content");
  ///   3. kInvalidArgument "Invalid senderType: <v>. Must be 'user' or 'agent'";
  ///   4. `type` "event" is kept, anything else is "user" / "agent_message" by senderType;
  ///      kInvalidArgument "attachSlugs must be an array of strings", CheckKey("attachSlugs");
  ///   5. each slug must be an asset of the channel: kNotFound "Artifact not found: <slug>"
  ///      (also when the channel is not the caller's), kInvalidArgument "Artifact '<slug>' is
  ///      not an asset (type: <type>)";
  ///   6. kNotFound "Channel not found or has no roster".
  /// Then routes the mentions (a human sender gets the leader fallback, §3.4), stores the
  /// message addressed to the routed agents, publishes its set frame (event id = message id,
  /// `broadcast: true` for @channel), delivers it to the agents to invoke (hub.agents()
  /// .Deliver: when this returns it is queued for each of them) and returns it with them.
  /// kInternal: a store error (the message is not stored, nothing is published).
  Result<PostedMessage> PostMessage(const Principal& principal, std::string_view channel_id,
                                    Json body);

  /// PostMessage with the store write not waited for: validation and routing (store reads)
  /// run on the calling thread; the message is then handed to Store::AppendMessageAsync, and
  /// `done` runs exactly once, after the publish, on the thread the store completes on, or,
  /// when agents are invoked, after the delivery, which runs on the hub's executor (a
  /// validation error: the calling thread, before this returns). With a store that has
  /// native async writes (SQLite) no thread waits for the commit; otherwise the write blocks
  /// the calling thread (Store::HasNativeAsyncWrites). `done` must be short and must not
  /// block (it may run on the store's writer thread).
  void PostMessageAsync(const Principal& principal, std::string_view channel_id, Json body,
                        std::function<void(Result<PostedMessage>)> done);

  /// Routing cache counters: lookups that found a valid entry, lookups that did not, and the
  /// bytes held now. For monitoring.
  struct CacheStats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::size_t bytes = 0;
  };
  CacheStats routing_cache_stats() const;

 private:
  class RoutingCache;
  struct Prepared;
  // Steps 1–6, routing and the message to store, reading through the routing cache.
  Result<Prepared> Prepare(const Principal& principal, std::string_view channel_id, Json body);
  // Publishes the stored message and builds the result.
  Result<PostedMessage> Finish(Prepared prepared, Result<Message> stored);

  // Constant after construction.
  Hub& hub_;
  const std::unique_ptr<RoutingCache> cache_;
  // Held while a roster addition counts the space's agents and stores (AddRosterEntryWithinCap).
  std::mutex roster_add_mu_;
};

// --- Cast's input rules for request bodies, shared by every route that reads one

/// An id, name or callsign: at most kMaxKeyBytes bytes of valid UTF-8 and no NUL.
/// kInvalidArgument "<field> is too long (max 255 bytes)" / "<field> must not contain NUL
/// characters" / "<field> must be valid UTF-8".
AGENTCORE_EXPORT Status CheckKey(std::string_view field, std::string_view value);

/// Whether `id` (a channel, space, entry or message id, or a callsign, as it arrives in a path,
/// a query or a stream request) could name a stored record: 1 to kMaxKeyBytes bytes of valid
/// UTF-8 without control characters (U+0000 to U+001F, U+007F). Every lookup answers an id
/// that could not as it answers a missing one (kNotFound with its route's text) before the
/// store is asked, so that no malformed id reaches the store as a store error.
AGENTCORE_EXPORT bool IsPossibleId(std::string_view id);

/// The agent callsign rule of roster and agent additions (spec cast §5.1: an agentId is
/// `spaceId:channelId:callsign` split on `:`, so a callsign with `:` cannot be activated, and
/// one with control characters cannot travel in a header or path). kInvalidArgument
/// "callsign must not contain ':' or control characters".
AGENTCORE_EXPORT Status CheckCallsign(std::string_view callsign);
/// Free text: no NUL (its length is bounded by the request, far below the store's limit).
/// kInvalidArgument "<field> must not contain NUL characters".
AGENTCORE_EXPORT Status CheckText(std::string_view field, std::string_view value);

/// JavaScript truthiness of an optional member (`if (body.x)`): present and not null, false,
/// 0, NaN or "".
AGENTCORE_EXPORT bool IsTruthy(const Json* value);

/// Member `key` of `object` as a string: nullopt when absent or null, kInvalidArgument
/// "<key> must be a string" for another type.
AGENTCORE_EXPORT Result<std::optional<std::string>> OptionalString(const Json& object,
                                                                   std::string_view key);

/// Member `key` as a boolean: nullopt when absent or null, kInvalidArgument
/// "<key> must be a boolean" otherwise.
AGENTCORE_EXPORT Result<std::optional<bool>> OptionalBool(const Json& object, std::string_view key);

/// The `callsign` and `agentType` of a roster or add-agent body (spec cast §4.5, §4.6). The
/// pointers point into the body and are valid while it is unchanged.
struct AgentFields {
  const std::string* callsign = nullptr;
  const std::string* agent_type = nullptr;
};
/// Non-empty strings within the key limits, else kInvalidArgument "callsign and agentType are
/// required" (or CheckKey's text); the callsign must pass CheckCallsign.
AGENTCORE_EXPORT Result<AgentFields> RequireAgentFields(const Json& body);

}  // namespace agentcore
