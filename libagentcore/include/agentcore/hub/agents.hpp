// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The hub's agent service (`hub.agents()`): what Cast's AgentManager, invoker, lifecycle routes
/// and container protocol do together (spec cast §3.4, §4.6, §5.2–§5.9), over the hub's store,
/// runtimes, transport, executor and clock.
///
/// Delivery model. Every message routed to an agent is first queued in the store
/// (Store::EnqueuePending; the store's queue is the only one), then:
///  * the agent is online (checked in, heartbeat fresh, endpoint known): a drain is posted to
///    the hub's executor; it takes the queue oldest first and pushes each message through the
///    hub's AgentTransport to `<endpoint>/message` (§5.3, "Message from @<sender>: <content>"),
///    acknowledging each push that succeeded;
///  * otherwise the agent is activated (fire-and-forget, §5.2) unless an activation is already
///    under way, and the message waits. At checkin (§5.4) the queue is compiled into one push
///    ("--- @<sender> in #<channel> says:\n<content>", blank-line separated) before the
///    checkin is answered, and acknowledged on success.
/// Nothing is acknowledged before the agent accepted it, so a timeout, a crash or a restart
/// loses nothing; one drain runs per agent at a time, so nothing is pushed twice. A push that
/// fails restarts the agent (§3.4 step 3); the message waits for the new instance's checkin.
///
/// Runtimes. An agent is started by `hub.runtimes().ForType(agent_type)`; when that is null the
/// agent starts elsewhere and only checks in (an activation then waits for that checkin). The
/// runtime that started an agent is remembered: suspends and logs go to it.
///
/// Time. The service has no thread: `Sweep(now)`, called by the embedder's timer, turns elapsed
/// time into heartbeat staleness (offline published; the next message re-activates the agent
/// after stopping the silent process) and activation timeouts (the process is stopped, the
/// agent marked failed and published offline, its queue kept), and stops running agents whose
/// roster entry was deleted or archived. Follow-up work runs on the hub's executor.
///
/// Thread-safe. Owned by the Hub; every method may block on the store, the runtimes or the
/// network: call it from a thread that may block.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/agent.hpp>
#include <agentcore/state/agent_state.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>

namespace agentcore {

/// The outcome of a checkin (spec cast §5.4).
struct CheckinOutcome {
  /// Messages pushed with the checkin (0 when the push failed: they stay queued).
  int delivered = 0;
};

/// What GET /agents/status/:agentId reports (spec cast §5.6).
struct AgentPresence {
  /// Online iff the entry has a callback URL and a fresh heartbeat (the policy's staleness).
  bool online = false;
  /// The callback URL when online.
  std::optional<std::string> endpoint;
  /// The stored heartbeat, online or not.
  std::optional<UnixMillis> last_heartbeat;
};

/// The agent service; see the top of this file. Thread-safe; owned by the Hub (`hub.agents()`)
/// and valid while it lives. Abstract so that the hub's implementation stays private.
class AGENTCORE_EXPORT AgentService {
 public:
  virtual ~AgentService();
  AgentService(const AgentService&) = delete;
  AgentService& operator=(const AgentService&) = delete;

  // --- Messages (spec cast §3.4)

  /// Queues `message` for each of `callsigns` (skipping empty ones, unknown and archived
  /// entries) and pushes, activates or waits as described at the top of this file. Paused
  /// entries get the message queued but are never activated (§5.9). Failures are per agent,
  /// logged, and never reported.
  virtual void Deliver(const Message& message, const std::vector<std::string>& callsigns) = 0;

  // --- Lifecycle (spec cast §4.6, §5.9)

  /// Starts the agent unless it is activating or online (§5.2). Errors: kNotFound "Agent not
  /// found in roster"; kRateLimited when the space already runs
  /// HubOptions::max_running_agents_per_space agents (nothing started, the agent unchanged);
  /// kUnavailable when the runtime failed to start it, or after the hub closed (the agent is
  /// marked failed; nothing is published).
  virtual Status Activate(const AgentIdentity& agent) = 0;
  /// Stops the agent's process when one runs, marks it suspended and clears its callback URL
  /// (§5.8, §8 #1 fixed). Its queued messages stay. Errors: the runtime's Suspend error (the
  /// callback URL is cleared all the same).
  virtual Status Suspend(const AgentIdentity& agent, std::string_view reason) = 0;

  /// POST /channels/:channelId/agents (§4.6): stores the roster entry (status "active"), the
  /// summon status message and the entry's readmark at it; publishes the summon message,
  /// agent_joined and agent_state "connecting", in that order; then activates the agent (its
  /// failure is logged and swallowed, as Cast does). Returns the stored entry. A callsign that
  /// fails CheckCallsign (hub/channels.hpp) is kInvalidArgument with its text.
  /// Errors: kInvalidArgument "callsign and agentType are required" when either is empty;
  /// kAlreadyExists "Agent already in roster" (archived entries included); kRateLimited when
  /// the space is at HubOptions::max_agents_per_space or max_running_agents_per_space (issue
  /// 13 §2: nothing stored, published or started); kInternal for a store failure (e.g. no
  /// such channel).
  virtual Result<RosterEntry> AddAgent(const AgentIdentity& agent,
                                       const std::string& agent_type) = 0;

  /// POST /channels/:channelId/agents as a caller sends it: the body `{callsign, agentType,
  /// runtimeId?}` for the caller's channel `channel_id`, checked in Cast's order (§4.6), then
  /// AddAgent(agent, agent_type) above. Errors, each winning over the later ones:
  /// kInvalidArgument "callsign and agentType are required", CheckKey's or CheckCallsign's text
  /// (RequireAgentFields, hub/channels.hpp); kNotFound "Channel not found" (unknown, malformed
  /// or another space's, §8 #16); kNotFound "Runtime not found" for any truthy runtimeId (no
  /// runtime is addressable by id, §7.5); then AddAgent's errors.
  virtual Result<RosterEntry> AddAgent(const Principal& principal, std::string_view channel_id,
                                       const Json& body) = 0;

  /// Pause, resume, activate, dismiss or unarchive (NextRosterStatus decides): suspends first
  /// when the action says so, stores the new status (pause, dismiss and activate clear the
  /// callback URL), publishes agent_state ("paused", "resumed", "dismissed" or "connecting"),
  /// stores and publishes dismiss's status message, then activates when the action says so
  /// (unarchive swallows an activation failure). Returns the updated entry.
  /// Errors: kNotFound "Agent not found in roster"; kInvalidArgument with Cast's refusal text
  /// (RosterRejectionText), also for kRemove (not a lifecycle action); kRateLimited, before
  /// anything changes, for unarchive past HubOptions::max_agents_per_space and activate past
  /// max_running_agents_per_space; kUnavailable when
  /// activate's start failed (agent_state "offline" was published; Cast answers 500 "Failed to
  /// spawn container"); kInternal for a store failure.
  virtual Result<RosterEntry> ApplyRosterAction(const AgentIdentity& agent,
                                                RosterAction action) = 0;

  /// A lifecycle route (`/channels/:channelId/agents/:callsign/<action>`) as a caller sends it:
  /// the agent `callsign` of the caller's channel `channel_id`, then ApplyRosterAction(agent,
  /// action) above. Cast looks the entry up by channel id and callsign alone (§8 #16), so a
  /// channel that is unknown, malformed or another space's, and a callsign that is not a valid
  /// key (CheckKey), are all kNotFound "Agent not found in roster"; then ApplyRosterAction's
  /// errors.
  virtual Result<RosterEntry> ApplyRosterAction(const Principal& principal,
                                                std::string_view channel_id,
                                                std::string_view callsign, RosterAction action) = 0;

  // --- Container protocol (spec cast §5.4–§5.6)

  /// POST /agents/checkin after its validation: stores callback URL, heartbeat and (when an
  /// object) route hints, publishes online, and pushes the queued messages before returning.
  /// Errors: kNotFound "Agent not found in roster"; kInternal for a store failure.
  virtual Result<CheckinOutcome> Checkin(const AgentIdentity& agent, const std::string& endpoint,
                                         const Json& route_hints) = 0;
  /// POST /agents/heartbeat after its validation: stores the heartbeat and publishes online
  /// unless paused or archived. Returns the time recorded.
  /// Errors: kNotFound "Agent not found in roster"; kInternal for a store failure.
  virtual Result<UnixMillis> Heartbeat(const AgentIdentity& agent) = 0;
  /// GET /agents/status/:agentId: an unknown agent is offline with no heartbeat.
  /// Errors: kInternal for a store failure.
  virtual Result<AgentPresence> Presence(const AgentIdentity& agent) = 0;

  /// The agent `callsign` on the roster of the caller's channel `channel_id`, archived entries
  /// included (their logs outlive them): what GET …/agents/:callsign/logs reads from.
  /// Errors, in order: kNotFound "Channel not found" for a channel the caller cannot see
  /// (ChannelService::Find); kNotFound "Agent not found in roster" for a callsign that is not
  /// a valid key or not on the roster; kInternal for a store failure.
  virtual Result<AgentIdentity> FindRosterAgent(const Principal& principal,
                                                std::string_view channel_id,
                                                std::string_view callsign) = 0;
  /// Up to `max_bytes` of the agent's log from `offset`, read through the runtime that runs
  /// (or ran, or would run) the agent. Errors: the runtime's ReadLog errors (kNotFound: no log
  /// yet; kInvalidArgument: offset past the end; kNotSupported), kNotSupported when no runtime
  /// is configured at all.
  virtual Result<LogChunk> ReadLog(const AgentIdentity& agent, std::uint64_t offset,
                                   std::size_t max_bytes) = 0;

  // --- Time and process lifetime

  /// Applies the staleness and activation-timeout rules at `now`, and (at most every 500 ms of
  /// `now`) stops running agents whose roster entry was deleted or archived. Follow-up work
  /// (stopping processes, publishing offline) is posted to the hub's executor. Never blocks for
  /// long: call it from the embedder's timer, on a thread that may block.
  virtual void Sweep(UnixMillis now) = 0;
  /// Start-up reconciliation: ends the agents an earlier process left running
  /// (Runtime::ReapOrphans, every runtime) and clears the callback URL of every roster entry
  /// whose agent is gone (reaped, or heartbeat stale). Errors: the store's, as kInternal.
  virtual Status Reconcile() = 0;

  /// The API URL agents are told to call (CAST_API_URL), known to a server only once its port
  /// is bound. Later activations use it.
  virtual void SetApiUrl(std::string url) = 0;
  virtual std::string api_url() const = 0;
  /// Heartbeat staleness and activation timeout in force.
  virtual const AgentPolicy& policy() const = 0;

 protected:
  AgentService() = default;
};

}  // namespace agentcore
