// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Routing decides who receives a chat message, from its mentions (see mention.hpp), who sent
/// it, and the channel's routing roster (spec cast §3.2–3.4). The rules, in order:
///   1. `@channel` anywhere: every roster agent in roster order, minus the sender; a broadcast.
///      Other mentions in the same message are ignored and users are not included.
///   2. Otherwise, if there are mentions: those mentions, in mention order, that name a roster
///      agent or user and are not the sender. Unknown names are dropped; the result may be
///      empty, and then nobody is addressed (no fallback to the leader).
///   3. Otherwise, a human sender: the leader alone.
///   4. Otherwise (an agent mentioning nobody): nobody.
///
/// Cast behaviour kept on purpose, because it shows on the wire (spec cast §8 items 4 and 5):
///   * Names are compared byte for byte. Mentions are lower-case, roster callsigns are used as
///     given, so a callsign with capitals (`Fox`) can never be mentioned; it is still reached
///     by `@channel` and can still be the leader. `IsMentionableCallsign()` tells them apart.
///   * A human message in a channel without agents is addressed to `[""]` (the empty leader).
///     `InvocationTargets()` drops that empty name, so nothing tries to start agent `""`.
///   * An empty sender callsign means "no sender given", as in Cast, where the callsign is
///     optional and JavaScript treats `""` as absent.
///
/// As with mentions there are two ways to call it: `RouteMessage()` takes and returns owned
/// values, and `MessageRouter` routes many messages against one roster without allocating,
/// returning views that stay valid until its next call.

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/mention/mention.hpp>

namespace agentcore {

/// Who sent the message. Cast's POST route passes senderIsHuman = (senderType == "user");
/// its MCP send_message tool always routes as an agent.
enum class SenderKind {
  kHuman,
  kAgent,
};

/// The routing view of one channel (Cast's roster argument of determineRouting).
struct RoutingRoster {
  /// Agent callsigns in roster order; `@channel` reaches them in this order.
  std::vector<std::string> agents;
  /// Receives human messages that mention nobody. Normally one of `agents`; may be empty.
  std::string leader;
  /// Human callsigns that may be mentioned (Cast: the space owner). Never invoked.
  std::vector<std::string> users;

  friend bool operator==(const RoutingRoster&, const RoutingRoster&) = default;
};

/// The result of `RouteMessage()`: owned.
struct Routing {
  /// Recipients, in the order of the rules above. Stored with the message as its
  /// `addressedAgents`; may contain user callsigns, and `""` (see the file comment).
  std::vector<std::string> targets;
  /// True for an `@channel` broadcast.
  bool is_broadcast = false;

  friend bool operator==(const Routing&, const Routing&) = default;
};

/// The result of `MessageRouter::Route()`: the same facts as views. The span stays valid until
/// the next `Route()` on the same router; the strings it refers to belong to the router's
/// roster and stay valid as long as the router.
struct RoutingView {
  std::span<const std::string_view> targets;
  bool is_broadcast = false;
};

/// Applies the routing rules (file comment; Cast's determineRouting) to one message.
/// `sender_callsign` is excluded from the targets of rules 1 and 2; pass it for agent senders
/// (Cast's MCP path) and leave it empty for humans (Cast's POST path). Never fails.
AGENTCORE_EXPORT Routing RouteMessage(const ParsedMentions& parsed, SenderKind sender_kind,
                                      const RoutingRoster& roster,
                                      std::string_view sender_callsign = {});

/// Routes many messages against one roster: `Route()` gives the same answer as
/// `RouteMessage()` without allocating. Membership tests use two small lookup tables for rosters
/// of up to 64 agents and users, and a hash set for larger ones.
///
/// Thread-compatible (one thread at a time); use one router per thread. Owns a copy of the
/// roster, which cannot change: build a new router when it does. Moving a router keeps the
/// views it returned valid; a moved-from router may only be destroyed or assigned to.
class AGENTCORE_EXPORT MessageRouter {
 public:
  explicit MessageRouter(RoutingRoster roster);
  ~MessageRouter();
  MessageRouter(const MessageRouter&) = delete;
  MessageRouter& operator=(const MessageRouter&) = delete;
  MessageRouter(MessageRouter&&) noexcept;
  MessageRouter& operator=(MessageRouter&&) noexcept;

  /// The roster given at construction. Valid as long as the router.
  const RoutingRoster& roster() const;

  /// Applies the routing rules to one message; see `RouteMessage()` for the arguments.
  /// `mentions` may come from any source (normally a MentionScanner) and is only read during
  /// the call; a name listed twice is routed twice, as in Cast, and only such a list can make
  /// this allocate. Never fails. The returned span is valid until the next `Route()`; the strings
  /// it refers to are the roster's own and stay valid as long as the router.
  RoutingView Route(const MentionsView& mentions, SenderKind sender_kind,
                    std::string_view sender_callsign = {});

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// One roster entry of a channel, as far as routing cares (spec cast §3.3).
struct RoutingRosterEntry {
  std::string_view callsign;
  /// Free-form agent type, e.g. "lead", "Team Lead", "builder".
  std::string_view agent_type;
  /// Archived entries are left out. Paused entries stay in: they are addressed, and the
  /// invoker skips them later.
  bool archived = false;
  /// Creation time; entries are ordered by it, ties keep their input order.
  UnixMillis created_at = 0;
};

/// Builds a channel's routing roster the way Cast's server does (spec cast §3.3): `agents` are
/// the callsigns of the non-archived entries ordered by `created_at`; `leader` is the first of
/// them whose `agent_type` contains "lead" in any letter case, else the first of them, else
/// `""`; `users` is `[*space_owner_callsign]` when a space owner exists, else empty. Never
/// fails.
AGENTCORE_EXPORT RoutingRoster
BuildRoutingRoster(std::span<const RoutingRosterEntry> entries,
                   std::optional<std::string_view> space_owner_callsign);

/// The agents to invoke for a routed message (spec cast §3.4): `routing.targets` in order,
/// without the callsigns in `roster.users` and without the empty name (Cast tries to start an
/// agent `""` for a human message in an empty channel and swallows the failure; we do not
/// try). Never fails.
AGENTCORE_EXPORT std::vector<std::string> InvocationTargets(const Routing& routing,
                                                            const RoutingRoster& roster);

}  // namespace agentcore
