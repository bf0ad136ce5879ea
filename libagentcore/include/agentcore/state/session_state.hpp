// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The lifecycle of a session, as pure code. A session is a long-lived, user-owned workspace
/// backed by one container at a time, such as Octo's sessions (seed 003) or execbox's sessions
/// (seed 001). The session's identity (id, owner, workspace) outlives its containers:
///
/// - stop keeps the container (Octo: "Stop a session (preserves container)"), and resume
///   starts that same container again;
/// - upgrade replaces the container with a new one, for example from a newer image, and keeps
///   the identity. `SessionLifecycle::generation()` counts containers, so a container event
///   tagged with an older generation can be recognised and ignored;
/// - a container that exits unexpectedly puts the session in failed (Octo: "the session is
///   reconciled to failed");
/// - delete removes the session for good.
///
/// No threads, no I/O, nothing sleeps. Time enters as `UnixMillis now`, and the embedder's
/// timer calls `SessionLifecycle::Sweep(now)` to fail sessions whose container never became
/// ready.
///
/// Timing rule (shared with agent_state.hpp): a timeout of N ms has not expired when exactly N
/// ms have elapsed.

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

namespace agentcore {

/// Where a session is. deleted is terminal: it refuses every event.
enum class SessionState : std::uint8_t {
  kCreating = 0,  // "creating": a container is starting; its services are not ready yet
  kRunning = 1,   // "running": the container's services answer
  kStopped = 2,   // "stopped": the container is stopped but kept
  kFailed = 3,    // "failed": the container exited unexpectedly or never became ready
  kDeleted = 4,   // "deleted": terminal; the container and the session are gone
};

/// What can happen to a session.
enum class SessionEvent : std::uint8_t {
  kReady = 0,    // "ready": the container's services answer
  kStop = 1,     // "stop": POST /api/sessions/:id/stop
  kFail = 2,     // "fail": the container exited unexpectedly or timed out starting
  kResume = 3,   // "resume": POST /api/sessions/:id/resume (same container)
  kUpgrade = 4,  // "upgrade": POST /api/sessions/:id/upgrade (new container, same identity)
  kDelete = 5,   // "delete": DELETE /api/sessions/:id
};

/// Every SessionState, in declaration order (for tables and parsers).
inline constexpr std::array<SessionState, 5> kAllSessionStates = {
    SessionState::kCreating, SessionState::kRunning, SessionState::kStopped, SessionState::kFailed,
    SessionState::kDeleted};
/// Every SessionEvent, in declaration order.
inline constexpr std::array<SessionEvent, 6> kAllSessionEvents = {
    SessionEvent::kReady,  SessionEvent::kStop,    SessionEvent::kFail,
    SessionEvent::kResume, SessionEvent::kUpgrade, SessionEvent::kDelete};

/// The state after `event`:
///
/// | event \ from | creating | running  | stopped  | failed   | deleted |
/// |--------------|----------|----------|----------|----------|---------|
/// | ready        | running  | -        | -        | -        | -       |
/// | stop         | stopped  | stopped  | -        | -        | -       |
/// | fail         | failed   | failed   | -        | -        | -       |
/// | resume       | -        | -        | creating | creating | -       |
/// | upgrade      | -        | creating | creating | creating | -       |
/// | delete       | deleted  | deleted  | deleted  | deleted  | -       |
///
/// Resume and upgrade lead to creating, not running: the container must start again and its
/// services must answer (event ready) before the session counts as running. That is the same
/// path a new session takes, and Octo answers proxy requests during that startup with 503.
/// A failed session can be resumed or upgraded: the container failed, not the session, and
/// refusing would leave delete, which loses the identity, as the only way out. Upgrade while
/// creating is refused, because the container being started would be replaced before it was
/// ever ready.
/// kConflict ("-" above), with a message that names the event and the state, e.g. `cannot
/// resume session in state "running"`. kInvalidArgument for a value outside the enumerators.
[[nodiscard]] AGENTCORE_EXPORT Result<SessionState> NextSessionState(SessionState from,
                                                                     SessionEvent event);

/// Stable snake_case name, e.g. "running". Static storage; "unknown" outside the enumerators.
AGENTCORE_EXPORT std::string_view SessionStateName(SessionState state);
/// Stable snake_case name, e.g. "upgrade". Static storage; "unknown" outside the enumerators.
AGENTCORE_EXPORT std::string_view SessionEventName(SessionEvent event);

/// The state named `name` (exact, case-sensitive). kInvalidArgument: `unknown session state
/// "<name>"`.
[[nodiscard]] AGENTCORE_EXPORT Result<SessionState> ParseSessionState(std::string_view name);
/// The event named `name`. kInvalidArgument: `unknown session event "<name>"`.
[[nodiscard]] AGENTCORE_EXPORT Result<SessionEvent> ParseSessionEvent(std::string_view name);

/// Default startup timeout: 60 s from entering creating to ready. The Octo and execbox seeds
/// give no number. This reuses Cast's wait for a container's health check (cast.md §5.7:
/// "Docker health wait 60 s, poll 500 ms; activation fails after").
inline constexpr std::chrono::milliseconds kDefaultSessionStartupTimeout{60'000};

/// Timeouts of the session lifecycle. Every field has a working default.
struct SessionPolicy {
  /// See kDefaultSessionStartupTimeout. REQUIRES: >= 0.
  std::chrono::milliseconds startup_timeout = kDefaultSessionStartupTimeout;

  friend bool operator==(const SessionPolicy&, const SessionPolicy&) = default;
};

/// What SessionLifecycle::Sweep() found.
enum class SessionTimeout : std::uint8_t {
  kNone = 0,            // nothing expired
  kStartupTimeout = 1,  // creating -> failed. The caller should stop the container that did not
                        // become ready
};

/// One session's state, when that state was entered, and its container generation. The
/// generation is 1 for the first container and grows by one with every upgrade. Nothing else
/// changes it, so the session keeps its identity across containers.
///
/// A plain value type (copyable, no pointers). Thread-compatible: one thread at a time.
class AGENTCORE_EXPORT SessionLifecycle {
 public:
  /// A new session whose first container is starting: kCreating since `now`, generation 1.
  /// REQUIRES: policy.startup_timeout >= 0.
  explicit SessionLifecycle(UnixMillis now, SessionPolicy policy = {});

  /// Rebuilds a lifecycle from stored fields. kInvalidArgument when `state` is outside the
  /// enumerators or `generation` < 1. REQUIRES: policy.startup_timeout >= 0.
  [[nodiscard]] static Result<SessionLifecycle> Restore(SessionState state, UnixMillis state_since,
                                                        std::int64_t generation,
                                                        SessionPolicy policy = {});

  SessionState state() const { return state_; }
  /// When the current state was entered.
  UnixMillis state_since() const { return state_since_; }
  /// Which container backs the session (1-based; upgrade increments it).
  std::int64_t generation() const { return generation_; }
  const SessionPolicy& policy() const { return policy_; }

  /// Event kReady: creating -> running.
  /// kConflict: `cannot mark session ready in state "<state>"`.
  [[nodiscard]] Status MarkReady(UnixMillis now);
  /// Event kStop: creating or running -> stopped (container kept).
  /// kConflict: `cannot stop session in state "<state>"`.
  [[nodiscard]] Status Stop(UnixMillis now);
  /// Event kFail: creating or running -> failed.
  /// kConflict: `cannot fail session in state "<state>"`.
  [[nodiscard]] Status Fail(UnixMillis now);
  /// Event kResume: stopped or failed -> creating, same generation (same container).
  /// kConflict: `cannot resume session in state "<state>"`.
  [[nodiscard]] Status Resume(UnixMillis now);
  /// Event kUpgrade: running, stopped or failed -> creating with generation() + 1. The caller
  /// replaces the container. kConflict: `cannot upgrade session in state "<state>"`.
  [[nodiscard]] Status Upgrade(UnixMillis now);
  /// Event kDelete: any state except deleted -> deleted.
  /// kConflict: `cannot delete session in state "deleted"`.
  [[nodiscard]] Status Delete(UnixMillis now);

  /// Fails a session that has been creating for more than policy().startup_timeout at `now`
  /// (kStartupTimeout). Returns kNone otherwise. Idempotent.
  SessionTimeout Sweep(UnixMillis now);

  friend bool operator==(const SessionLifecycle&, const SessionLifecycle&) = default;

 private:
  SessionLifecycle(SessionState state, UnixMillis state_since, std::int64_t generation,
                   SessionPolicy policy);
  Status Apply(SessionEvent event, UnixMillis now);

  SessionState state_;
  UnixMillis state_since_;
  std::int64_t generation_;
  SessionPolicy policy_;
};

}  // namespace agentcore
