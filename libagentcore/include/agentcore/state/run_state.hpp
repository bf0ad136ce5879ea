// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The lifecycle of a run, as pure code. A run is one asynchronous job, such as the Platform
/// Agent's runs in seed 002: a prompt is queued, a worker plans, then builds, and the run ends
/// succeeded, failed or cancelled. Two mechanisms from that seed are modelled explicitly.
///
/// - Worker retries: every claim by a worker uses one attempt. A failed attempt puts the run
///   back in the queue while attempts remain, and otherwise the run fails for good.
/// - Stale-run requeue: while planning or building, the worker holds a lease (a deadline that
///   its heartbeats push forward). If the lease expires, because the worker died or hangs, the
///   run is requeued when attempts remain and fails otherwise.
///
/// No threads, no I/O, nothing sleeps. Time enters as `UnixMillis now` (read from the embedder's
/// `Clock`), and the embedder's timer or cron calls `RunLifecycle::Sweep(now)`. Persisting a
/// change is the Store's compare-and-set (`Store::TransitionRun(id, from, to)`). This header only
/// decides which changes are legal.
///
/// Timing rule (shared with agent_state.hpp): a lease that expires at T is still valid at T
/// and has expired at T + 1.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

namespace agentcore {

/// Where a run is. succeeded, failed and cancelled are final: they refuse every event.
enum class RunState : std::uint8_t {
  kQueued = 0,     // "queued": waiting for a worker
  kPlanning = 1,   // "planning": a worker reads the workspace and writes a plan (seed 002)
  kBuilding = 2,   // "building": a worker executes the plan (seed 002)
  kSucceeded = 3,  // "succeeded": final
  kFailed = 4,     // "failed": final; attempts exhausted or a non-retryable failure
  kCancelled = 5,  // "cancelled": final
};

/// What can happen to a run.
enum class RunEvent : std::uint8_t {
  kClaim = 0,       // "claim": a worker takes a queued run (uses one attempt)
  kStartBuild = 1,  // "start_build": the plan is done; building starts
  kHeartbeat = 2,   // "heartbeat": the worker renews its lease (self-transition)
  kComplete = 3,    // "complete": the build finished successfully
  kFail = 4,        // "fail": the run fails for good
  kRequeue = 5,     // "requeue": the attempt is abandoned and the run goes back to the queue
  kCancel = 6,      // "cancel": POST …/runs/:id/cancel
};

/// Every RunState, in declaration order (for tables and parsers).
inline constexpr std::array<RunState, 6> kAllRunStates = {
    RunState::kQueued,    RunState::kPlanning, RunState::kBuilding,
    RunState::kSucceeded, RunState::kFailed,   RunState::kCancelled};
/// Every RunEvent, in declaration order.
inline constexpr std::array<RunEvent, 7> kAllRunEvents = {
    RunEvent::kClaim, RunEvent::kStartBuild, RunEvent::kHeartbeat, RunEvent::kComplete,
    RunEvent::kFail,  RunEvent::kRequeue,    RunEvent::kCancel};

/// The state after `event`:
///
/// | event \ from | queued    | planning  | building  | succeeded | failed | cancelled |
/// |--------------|-----------|-----------|-----------|-----------|--------|-----------|
/// | claim        | planning  | -         | -         | -         | -      | -         |
/// | start_build  | -         | building  | -         | -         | -      | -         |
/// | heartbeat    | -         | planning  | building  | -         | -      | -         |
/// | complete     | -         | -         | succeeded | -         | -      | -         |
/// | fail         | -         | failed    | failed    | -         | -      | -         |
/// | requeue      | -         | queued    | queued    | -         | -      | -         |
/// | cancel       | cancelled | cancelled | cancelled | -         | -      | -         |
///
/// The choice between fail and requeue depends on attempts, which this function does not see.
/// RunLifecycle::Fail() and RunLifecycle::Sweep() make that choice.
/// kConflict ("-" above), with a message that names the event and the state, e.g. `cannot
/// cancel run in state "succeeded"` or `cannot start building run in state "queued"`.
/// kInvalidArgument for a value outside the enumerators.
[[nodiscard]] AGENTCORE_EXPORT Result<RunState> NextRunState(RunState from, RunEvent event);

/// True for succeeded, failed and cancelled.
AGENTCORE_EXPORT bool IsFinalRunState(RunState state);

/// Stable snake_case name, e.g. "building". Static storage; "unknown" outside the enumerators.
AGENTCORE_EXPORT std::string_view RunStateName(RunState state);
/// Stable snake_case name, e.g. "start_build". Static storage; "unknown" outside the
/// enumerators.
AGENTCORE_EXPORT std::string_view RunEventName(RunEvent event);

/// The state named `name` (exact, case-sensitive). kInvalidArgument: `unknown run state
/// "<name>"`.
[[nodiscard]] AGENTCORE_EXPORT Result<RunState> ParseRunState(std::string_view name);
/// The event named `name`. kInvalidArgument: `unknown run event "<name>"`.
[[nodiscard]] AGENTCORE_EXPORT Result<RunEvent> ParseRunEvent(std::string_view name);

/// Default attempts per run: the first try plus two retries. Seed 002 names "worker retries"
/// but gives no number. Three is the smallest count that survives one crashed worker and one
/// transient provider error.
inline constexpr int kDefaultRunMaxAttempts = 3;
/// Default worker lease: 5 minutes. Seed 002 names "stale-run requeue" (run by a cron job) but
/// gives no period. A worker should renew its lease well inside this, e.g. every minute, so
/// one slow LLM call does not lose the run.
inline constexpr std::chrono::milliseconds kDefaultRunLease{300'000};

/// Retry and lease policy. Every field has a working default.
struct RunPolicy {
  /// Claims allowed per run, counting the first. REQUIRES: >= 1.
  int max_attempts = kDefaultRunMaxAttempts;
  /// How long a claim or heartbeat keeps the run leased. REQUIRES: >= 0.
  std::chrono::milliseconds lease = kDefaultRunLease;

  friend bool operator==(const RunPolicy&, const RunPolicy&) = default;
};

/// What RunLifecycle::Sweep() found.
enum class RunTimeout : std::uint8_t {
  kNone = 0,      // no lease expired
  kRequeued = 1,  // the lease expired and attempts remain: the run is queued again
  kFailed = 2,    // the lease expired on the last attempt: the run failed
};

/// One run's state, the attempts it used, and the lease deadline while a worker holds it.
/// Invariant: lease_expires_at() is set exactly in planning and building.
///
/// A plain value type (copyable, no pointers). Thread-compatible: one thread at a time.
class AGENTCORE_EXPORT RunLifecycle {
 public:
  /// A new queued run with no attempts used. REQUIRES: policy.max_attempts >= 1,
  /// policy.lease >= 0.
  explicit RunLifecycle(RunPolicy policy = {});

  /// Rebuilds a lifecycle from stored fields. kInvalidArgument when `state` is outside the
  /// enumerators, `attempts` is negative, a planning or building run has no lease or no attempt
  /// (or more than policy.max_attempts), another state carries a lease, or a queued run has
  /// no attempt left. REQUIRES: as for the constructor.
  [[nodiscard]] static Result<RunLifecycle> Restore(RunState state, int attempts,
                                                    std::optional<UnixMillis> lease_expires_at,
                                                    RunPolicy policy = {});

  RunState state() const { return state_; }
  /// Claims made so far (each claim is one attempt).
  int attempts() const { return attempts_; }
  /// The lease deadline while planning or building; std::nullopt otherwise.
  std::optional<UnixMillis> lease_expires_at() const { return lease_expires_at_; }
  const RunPolicy& policy() const { return policy_; }
  /// True while attempts() < policy().max_attempts.
  bool HasAttemptsLeft() const;

  /// Event kClaim: queued -> planning, uses one attempt, leases until `now + policy().lease`.
  /// kConflict: `cannot claim run in state "<state>"`.
  [[nodiscard]] Status Claim(UnixMillis now);
  /// Event kStartBuild: planning -> building and renews the lease.
  /// kConflict: `cannot start building run in state "<state>"`.
  [[nodiscard]] Status StartBuild(UnixMillis now);
  /// Event kHeartbeat: renews the lease to `now + policy().lease`. An expired lease that
  /// Sweep() has not processed yet can still be renewed, because the worker is evidently alive.
  /// kConflict: `cannot renew lease of run in state "<state>"` unless planning or building.
  [[nodiscard]] Status Heartbeat(UnixMillis now);
  /// Event kComplete: building -> succeeded.
  /// kConflict: `cannot complete run in state "<state>"`.
  [[nodiscard]] Status Complete();
  /// The current attempt failed. With attempts left the run is requeued (event kRequeue) and the
  /// result is kQueued. On the last attempt it fails (event kFail) and the result is kFailed.
  /// kConflict: `cannot fail run in state "<state>"` unless planning or building.
  [[nodiscard]] Result<RunState> Fail();
  /// Event kCancel: queued, planning or building -> cancelled.
  /// kConflict: `cannot cancel run in state "<state>"` in a final state.
  [[nodiscard]] Status Cancel();

  /// Stale-run requeue. If the run is planning or building and its lease expired before `now`
  /// (now > lease_expires_at()), it is requeued when attempts remain (kRequeued) and failed
  /// otherwise (kFailed). Returns kNone in every other case. Idempotent.
  RunTimeout Sweep(UnixMillis now);

  friend bool operator==(const RunLifecycle&, const RunLifecycle&) = default;

 private:
  RunLifecycle(RunState state, int attempts, std::optional<UnixMillis> lease_expires_at,
               RunPolicy policy);
  /// Applies `event` through NextRunState() and drops the lease when the new state has none.
  Status Apply(RunEvent event);

  RunState state_;
  int attempts_;
  std::optional<UnixMillis> lease_expires_at_;
  RunPolicy policy_;
};

}  // namespace agentcore
