// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Agent lifecycle policy, as pure code: no threads, no I/O, no sleeping. Time enters only as a
/// `UnixMillis now` argument, which the embedder reads from its `Clock`. A timer owned by the
/// embedder (the server uses one `steady_timer`) calls `AgentLifecycle::Sweep(now)`, which turns
/// elapsed time into timeout events. Runtimes only report facts (checkin, heartbeat, failure),
/// and this header decides what they mean.
///
/// The header holds three related machines from the Cast spec (cast.md §5):
///
/// 1. `AgentStatus`, the runtime's in-memory status of one agent (§5.9 "Runtime agent status").
///    Its table is total: every (status, event) pair has a successor, so `NextAgentStatus`
///    returns a status, not a `Result`.
/// 2. `RosterStatus`, the persistent, user-controlled status of a roster entry (§5.9 "Roster
///    entry status", §4.6). Pause, resume, activate, dismiss and unarchive are refused in
///    exactly the cases Cast refuses them. `RosterRejectionText()` returns Cast's HTTP error
///    text verbatim.
/// 3. `ActivationState` plus the `AgentLifecycle` record: fire-and-forget activation (§5.2),
///    checkin (§5.4), heartbeat staleness and the activation timeout (§5.7), suspend (§5.8), and
///    messages held for an agent that is not reachable yet. Liveness (§5.6) is
///    `IsAgentOnline()`.
///
/// Timing rule used throughout: a period of N ms has not expired when exactly N ms have
/// elapsed, and it expires one millisecond later. That is Cast's heartbeat rule ("stale iff
/// now − lastHeartbeat > 60000"), and the activation timeout and the run/session timeouts use
/// the same comparison for consistency.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

namespace agentcore {

// ---------------------------------------------------------------------------------------------
// Timing defaults (cast.md §5.7)

/// Heartbeat staleness: an agent is stale when more than this has passed since its last
/// heartbeat or checkin. At exactly 60 000 ms it is still fresh. Source: cast.md §5.7; the
/// Cast README (seed 000) says "60s heartbeat staleness".
inline constexpr std::chrono::milliseconds kDefaultHeartbeatStaleness{60'000};

/// Activation timeout: an agent that has not checked in after this long since activation
/// started has failed, and the caller must clean up its machine or container. Source: cast.md
/// §5.7 (Fly runtime); the Cast README (seed 000) says "180s activation timeout".
inline constexpr std::chrono::milliseconds kDefaultActivationTimeout{180'000};

/// Timeouts of the activation lifecycle. Every field has a working default.
struct AgentPolicy {
  /// See kDefaultHeartbeatStaleness. REQUIRES: >= 0.
  std::chrono::milliseconds heartbeat_staleness = kDefaultHeartbeatStaleness;
  /// See kDefaultActivationTimeout. REQUIRES: >= 0.
  std::chrono::milliseconds activation_timeout = kDefaultActivationTimeout;

  friend bool operator==(const AgentPolicy&, const AgentPolicy&) = default;
};

// ---------------------------------------------------------------------------------------------
// 1. Runtime agent status (cast.md §5.9, "Runtime agent status")

/// The status a runtime keeps in memory for one agent.
enum class AgentStatus : std::uint8_t {
  kOffline = 0,     // "offline": not running
  kActivating = 1,  // "activating": started, has not checked in yet
  kOnline = 2,      // "online": checked in and idle
  kBusy = 3,        // "busy": checked in and working on a turn
  kSuspending = 4,  // "suspending": being stopped
  kError = 5,       // "error": failed or timed out
};

/// What can happen to an agent as seen by a runtime.
enum class AgentStatusEvent : std::uint8_t {
  kActivate = 0,   // "activate": activation requested
  kCheckin = 1,    // "checkin": the container called POST /agents/checkin
  kFrame = 2,      // "frame": a Tymbal frame other than an idle frame arrived
  kIdleFrame = 3,  // "idle_frame": a frame whose value has type "idle" arrived (turn ended)
  kSuspend = 4,    // "suspend": the agent is being stopped
  kError = 5,      // "error": an error or a timeout was reported
};

/// Every AgentStatus, in declaration order (for tables and parsers).
inline constexpr std::array<AgentStatus, 6> kAllAgentStatuses = {
    AgentStatus::kOffline, AgentStatus::kActivating, AgentStatus::kOnline,
    AgentStatus::kBusy,    AgentStatus::kSuspending, AgentStatus::kError};
/// Every AgentStatusEvent, in declaration order.
inline constexpr std::array<AgentStatusEvent, 6> kAllAgentStatusEvents = {
    AgentStatusEvent::kActivate,  AgentStatusEvent::kCheckin, AgentStatusEvent::kFrame,
    AgentStatusEvent::kIdleFrame, AgentStatusEvent::kSuspend, AgentStatusEvent::kError};

/// The status after `event`, per the table in cast.md §5.9. The table is total, so nothing is
/// refused: for example a checkin moves every status except busy to online, and suspend moves
/// every status to offline. A value outside the enumerators (possible only through a cast)
/// yields kError.
AGENTCORE_EXPORT AgentStatus NextAgentStatus(AgentStatus from, AgentStatusEvent event);

/// True for kOnline and kBusy, the statuses in which a runtime accepts messages (§5.9
/// `isOnline`).
AGENTCORE_EXPORT bool IsAgentStatusOnline(AgentStatus status);

/// Stable snake_case name, e.g. "activating". Static storage. "unknown" for a value outside the
/// enumerators.
AGENTCORE_EXPORT std::string_view AgentStatusName(AgentStatus status);
/// Stable snake_case name, e.g. "idle_frame". Static storage. "unknown" outside the enumerators.
AGENTCORE_EXPORT std::string_view AgentStatusEventName(AgentStatusEvent event);

/// The status named `name` (exact, case-sensitive match of AgentStatusName()).
/// kInvalidArgument: `unknown agent status "<name>"`.
[[nodiscard]] AGENTCORE_EXPORT Result<AgentStatus> ParseAgentStatus(std::string_view name);
/// The event named `name`. kInvalidArgument: `unknown agent status event "<name>"`.
[[nodiscard]] AGENTCORE_EXPORT Result<AgentStatusEvent> ParseAgentStatusEvent(
    std::string_view name);

// ---------------------------------------------------------------------------------------------
// 2. Roster entry status (cast.md §5.9 "Roster entry status", §4.6 "Agent lifecycle")

/// The persistent status of a roster entry. The server itself produces only active, paused and
/// archived. The other three exist because Cast's POST /channels/:id/roster stores whatever the
/// client sends.
enum class RosterStatus : std::uint8_t {
  kActive = 0,    // "active": the default for a new entry (add agent, add roster, summon)
  kIdle = 1,      // "idle"
  kBusy = 2,      // "busy"
  kOffline = 3,   // "offline"
  kPaused = 4,    // "paused": skipped by the invoker; its messages wait for the next checkin
  kArchived = 5,  // "archived": dismissed
};

/// A user action on a roster entry (the agent lifecycle routes of §4.6, plus the raw DELETE).
enum class RosterAction : std::uint8_t {
  kPause = 0,      // "pause": POST /channels/:id/agents/:callsign/pause
  kResume = 1,     // "resume": POST …/resume
  kActivate = 2,   // "activate": POST …/activate
  kDismiss = 3,    // "dismiss": DELETE /channels/:id/agents/:callsign
  kUnarchive = 4,  // "unarchive": POST …/unarchive
  kRemove = 5,     // "remove": DELETE /channels/:id/roster/:entryId (hard delete)
};

/// Every RosterStatus, in declaration order.
inline constexpr std::array<RosterStatus, 6> kAllRosterStatuses = {
    RosterStatus::kActive,  RosterStatus::kIdle,   RosterStatus::kBusy,
    RosterStatus::kOffline, RosterStatus::kPaused, RosterStatus::kArchived};
/// Every RosterAction, in declaration order.
inline constexpr std::array<RosterAction, 6> kAllRosterActions = {
    RosterAction::kPause,   RosterAction::kResume,    RosterAction::kActivate,
    RosterAction::kDismiss, RosterAction::kUnarchive, RosterAction::kRemove};

/// The outcome of an allowed roster action, including the runtime side effects listed in §4.6.
struct RosterTransition {
  /// The entry's new status. std::nullopt means the entry is deleted (kRemove).
  std::optional<RosterStatus> to;
  /// The caller must suspend the agent's runtime before storing `to` (pause, dismiss). Cast
  /// ignores errors from this suspend.
  bool suspend_runtime = false;
  /// The caller must activate the agent after storing `to` (activate, unarchive).
  bool activate_runtime = false;

  friend bool operator==(const RosterTransition&, const RosterTransition&) = default;
};

/// Applies `action` to an entry in status `from`. On success returns the new status and the
/// side effects:
/// - pause: any status except paused or archived -> paused, suspend first;
/// - resume: paused -> active;
/// - activate: any status except archived. paused becomes active and every other status is
///   kept, then activate. §4.6 says "if paused set active"; the §5.9 summary row says "active",
///   and the two agree for every status the server produces;
/// - dismiss: any status except archived -> archived, suspend first;
/// - unarchive: archived -> active, then activate;
/// - remove: any status -> entry deleted, no side effects.
/// kConflict when Cast refuses the action. The message names the action, the status and Cast's
/// reason in lower case, e.g. `cannot pause agent in status "paused": agent is already paused`.
/// kInvalidArgument for a value outside the enumerators.
[[nodiscard]] AGENTCORE_EXPORT Result<RosterTransition> NextRosterStatus(RosterStatus from,
                                                                         RosterAction action);

/// Cast's HTTP error text for refusing `action` in status `from`, byte for byte, e.g.
/// "Agent is already paused", "Cannot pause archived agent", "Agent is not paused", "Cannot
/// activate archived agent", "Agent is already dismissed", "Agent is not dismissed". Empty when
/// the action is allowed. Cast sends these with HTTP 400, so a handler that must stay
/// compatible returns `InvalidArgument(std::string(RosterRejectionText(from, action)))`
/// instead of the kConflict status from NextRosterStatus(). Static storage.
AGENTCORE_EXPORT std::string_view RosterRejectionText(RosterStatus from, RosterAction action);

/// Stable name as stored by Cast, e.g. "paused". Static storage; "unknown" outside the
/// enumerators.
AGENTCORE_EXPORT std::string_view RosterStatusName(RosterStatus status);
/// Stable name, e.g. "unarchive". Static storage; "unknown" outside the enumerators.
AGENTCORE_EXPORT std::string_view RosterActionName(RosterAction action);

/// The status named `name`. kInvalidArgument: `unknown roster status "<name>"`. Cast accepts
/// any string on POST roster; agentcore rejects names it does not know.
[[nodiscard]] AGENTCORE_EXPORT Result<RosterStatus> ParseRosterStatus(std::string_view name);
/// The action named `name`. kInvalidArgument: `unknown roster action "<name>"`.
[[nodiscard]] AGENTCORE_EXPORT Result<RosterAction> ParseRosterAction(std::string_view name);

// ---------------------------------------------------------------------------------------------
// 3. Activation lifecycle and liveness (cast.md §5.2, §5.4–§5.8)

/// Where an agent is in fire-and-forget activation.
enum class ActivationState : std::uint8_t {
  kInactive = 0,    // "inactive": never activated
  kActivating = 1,  // "activating": runtime asked to start it; waiting for its checkin
  kActive = 2,      // "active": checked in; online while its heartbeat is fresh
  kStale = 3,       // "stale": checked in once, but the heartbeat went stale
  kFailed = 4,      // "failed": activation timed out or the runtime reported a failure
  kSuspended = 5,   // "suspended": stopped on purpose (pause, dismiss, idle timeout)
};

/// What can happen to an agent during activation.
enum class ActivationEvent : std::uint8_t {
  kActivate = 0,           // "activate": ensure the agent runs (user action or a routed message)
  kCheckin = 1,            // "checkin": POST /agents/checkin succeeded (§5.4)
  kHeartbeat = 2,          // "heartbeat": POST /agents/heartbeat (§5.5)
  kSuspend = 3,            // "suspend": stop the agent (§5.8)
  kFail = 4,               // "fail": the runtime reported that the agent's container failed
  kHeartbeatTimeout = 5,   // "heartbeat_timeout": staleness elapsed (from Sweep)
  kActivationTimeout = 6,  // "activation_timeout": no checkin in time (from Sweep)
};

/// Every ActivationState, in declaration order.
inline constexpr std::array<ActivationState, 6> kAllActivationStates = {
    ActivationState::kInactive, ActivationState::kActivating, ActivationState::kActive,
    ActivationState::kStale,    ActivationState::kFailed,     ActivationState::kSuspended};
/// Every ActivationEvent, in declaration order.
inline constexpr std::array<ActivationEvent, 7> kAllActivationEvents = {
    ActivationEvent::kActivate,
    ActivationEvent::kCheckin,
    ActivationEvent::kHeartbeat,
    ActivationEvent::kSuspend,
    ActivationEvent::kFail,
    ActivationEvent::kHeartbeatTimeout,
    ActivationEvent::kActivationTimeout};

/// The state after `event`:
///
/// | event \ from      | inactive  | activating| active   | stale     | failed    | suspended |
/// |-------------------|-----------|-----------|----------|-----------|-----------|-----------|
/// | activate          | activating| activating| active   | activating| activating| activating|
/// | checkin           | active    | active    | active   | active    | active    | active    |
/// | heartbeat         | -         | -         | active   | active    | -         | -         |
/// | suspend           | suspended | suspended | suspended| suspended | suspended | suspended |
/// | fail              | -         | failed    | failed   | failed    | -         | -         |
/// | heartbeat_timeout | -         | -         | stale    | -         | -         | -         |
/// | activation_timeout| -         | failed    | -        | -         | -         | -         |
///
/// Activate is idempotent while activating or active, as runtimes are (§7.1). Checkin is
/// accepted in every state because Cast accepts it for any roster entry (§5.4). A heartbeat
/// needs a prior checkin that is still valid. agentcore follows the cast.md §8 item 1
/// recommendation to clear the endpoint on suspend and failure, so a heartbeat alone cannot
/// revive a suspended or failed agent. In Cast it can, because callbackUrl is never cleared.
/// Suspend is idempotent, like `runtime.suspend`.
/// kConflict ("-" above) with a message such as `cannot accept heartbeat for agent in state
/// "activating"`. kInvalidArgument for a value outside the enumerators.
[[nodiscard]] AGENTCORE_EXPORT Result<ActivationState> NextActivationState(ActivationState from,
                                                                           ActivationEvent event);

/// Stable snake_case name, e.g. "activating". Static storage; "unknown" outside the enumerators.
AGENTCORE_EXPORT std::string_view ActivationStateName(ActivationState state);
/// Stable snake_case name, e.g. "heartbeat_timeout". Static storage; "unknown" outside the
/// enumerators.
AGENTCORE_EXPORT std::string_view ActivationEventName(ActivationEvent event);

/// The state named `name`. kInvalidArgument: `unknown activation state "<name>"`.
[[nodiscard]] AGENTCORE_EXPORT Result<ActivationState> ParseActivationState(std::string_view name);
/// The event named `name`. kInvalidArgument: `unknown activation event "<name>"`.
[[nodiscard]] AGENTCORE_EXPORT Result<ActivationEvent> ParseActivationEvent(std::string_view name);

/// True when a heartbeat at `last_heartbeat` is still fresh at `now`, that is, when
/// `now - *last_heartbeat <= staleness`. Exactly `staleness` after the heartbeat it is still
/// fresh. No heartbeat (std::nullopt) is stale. A heartbeat later than `now` (clock skew) is
/// fresh.
///
/// Cast quirk §8 item 11 (an unparsable stored timestamp becomes NaN and counts as fresh) is
/// fixed: timestamps here are integers, and a store that cannot parse one reports an error
/// or no heartbeat, which is stale.
AGENTCORE_EXPORT bool IsHeartbeatFresh(
    std::optional<UnixMillis> last_heartbeat, UnixMillis now,
    std::chrono::milliseconds staleness = kDefaultHeartbeatStaleness);

/// Liveness of a roster entry (cast.md §5.6, §5.9): online iff it has a callback URL and a
/// fresh heartbeat (IsHeartbeatFresh()).
AGENTCORE_EXPORT bool IsAgentOnline(
    bool has_callback_url, std::optional<UnixMillis> last_heartbeat, UnixMillis now,
    std::chrono::milliseconds staleness = kDefaultHeartbeatStaleness);

/// What AgentLifecycle::Activate() asks of the caller.
enum class ActivateOutcome : std::uint8_t {
  kStartRuntime = 0,       // the state became activating: call Runtime::Activate now
  kAlreadyActivating = 1,  // activation is in progress; its timer was not restarted
  kAlreadyActive = 2,      // the agent is checked in; nothing to start (Fly's fresh-heartbeat case)
};

/// What AgentLifecycle::Enqueue() did with a message.
enum class MessageDisposition : std::uint8_t {
  kDeliverNow = 0,  // the agent is online: the caller pushes the message itself; nothing is kept
  kQueued = 1,      // kept in pending(); Checkin() will return it
};

/// What AgentLifecycle::Sweep() found.
enum class AgentTimeout : std::uint8_t {
  kNone = 0,               // nothing expired
  kHeartbeatStale = 1,     // active -> stale; re-activate before delivering to it
  kActivationTimeout = 2,  // activating -> failed. Cleanup required: delete the agent's machine or
                           // container and report the error "Activation timeout" (§7.3)
};

/// The activation lifecycle of one agent: its ActivationState, when that state was entered,
/// its last heartbeat, and the ids of messages held until the agent checks in. Holding message
/// ids is the whole delivery guarantee. A message enqueued while the agent is not online stays
/// in pending() through timeouts, failures and suspends, and the next Checkin() returns it
/// exactly once, oldest first.
///
/// A plain value type (copyable, no pointers). Thread-compatible: one thread at a time.
class AGENTCORE_EXPORT AgentLifecycle {
 public:
  /// A never-activated agent (kInactive) as of `now`. REQUIRES: the policy durations are >= 0.
  explicit AgentLifecycle(UnixMillis now, AgentPolicy policy = {});

  /// Rebuilds a lifecycle from stored fields, for example after a restart.
  /// kInvalidArgument when `state` is outside the enumerators, when kActive or kStale comes
  /// without `last_heartbeat`, or when a message id in `pending` is empty or repeated.
  /// REQUIRES: the policy durations are >= 0.
  [[nodiscard]] static Result<AgentLifecycle> Restore(ActivationState state, UnixMillis state_since,
                                                      std::optional<UnixMillis> last_heartbeat,
                                                      std::vector<std::string> pending,
                                                      AgentPolicy policy = {});

  ActivationState state() const { return state_; }
  /// When the current state was entered. A self-transition (e.g. a heartbeat while active, a
  /// second activate while activating) does not move it.
  UnixMillis state_since() const { return state_since_; }
  /// Time of the last checkin or heartbeat; std::nullopt before the first checkin.
  std::optional<UnixMillis> last_heartbeat() const { return last_heartbeat_; }
  /// Message ids waiting for the next checkin, oldest first. Valid until the next non-const call.
  const std::vector<std::string>& pending() const { return pending_; }
  const AgentPolicy& policy() const { return policy_; }

  /// True when the agent is active and its heartbeat is fresh at `now`. This holds even before
  /// Sweep() has noticed the staleness.
  bool IsOnline(UnixMillis now) const;

  /// Event kActivate. Never refused. Returns kStartRuntime when the state became activating
  /// (the activation timer starts at `now`), kAlreadyActivating, or kAlreadyActive.
  /// An active agent whose heartbeat is stale at `now` first becomes stale and is then
  /// activated again, even if Sweep() has not run yet. Fly does the same: it skips the start
  /// only for a fresh heartbeat (§7.3). An expired activation timer is left for Sweep() to
  /// report, because that report asks for cleanup.
  ActivateOutcome Activate(UnixMillis now);

  /// Event kCheckin. Never refused. Sets the state to active and the last heartbeat to `now`.
  /// Returns every pending message id, oldest first, and clears pending(), so a second checkin
  /// returns nothing. Cast caps checkin delivery at 100 messages (§5.4). Here all of them are
  /// returned and the caller may batch them.
  std::vector<std::string> Checkin(UnixMillis now);

  /// Event kHeartbeat: records a heartbeat at `now`. A stale agent becomes active again.
  /// kConflict: `cannot accept heartbeat for agent in state "<state>"` unless active or stale.
  [[nodiscard]] Status Heartbeat(UnixMillis now);

  /// Event kSuspend. Never refused and idempotent. Pending messages are kept, because a paused
  /// agent gets them at its next checkin (§5.9).
  void Suspend(UnixMillis now);

  /// Event kFail, for example when the runtime reports that the container exited or a push to
  /// it failed. Pending messages are kept.
  /// kConflict: `cannot fail agent in state "<state>"` unless activating, active or stale.
  [[nodiscard]] Status Fail(UnixMillis now);

  /// Offers a message to the agent. If the agent is online at `now`, returns kDeliverNow and
  /// keeps nothing. Otherwise appends `message_id` to pending() and returns kQueued. An id that
  /// is already pending is not added twice (still kQueued). REQUIRES: !message_id.empty().
  MessageDisposition Enqueue(std::string_view message_id, UnixMillis now);

  /// Applies whatever timed out by `now`. While activating for more than
  /// policy().activation_timeout the agent becomes failed (kActivationTimeout: the caller must
  /// clean up). While active with a heartbeat older than policy().heartbeat_staleness it becomes
  /// stale (kHeartbeatStale). Otherwise returns kNone. Idempotent. Pending messages are kept.
  AgentTimeout Sweep(UnixMillis now);

  friend bool operator==(const AgentLifecycle&, const AgentLifecycle&) = default;

 private:
  AgentLifecycle(ActivationState state, UnixMillis state_since,
                 std::optional<UnixMillis> last_heartbeat, std::vector<std::string> pending,
                 AgentPolicy policy);
  void EnterState(ActivationState next, UnixMillis now);

  ActivationState state_;
  UnixMillis state_since_;
  std::optional<UnixMillis> last_heartbeat_;
  std::vector<std::string> pending_;
  AgentPolicy policy_;
};

}  // namespace agentcore
