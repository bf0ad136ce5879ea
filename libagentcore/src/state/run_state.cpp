// SPDX-License-Identifier: Apache-2.0
#include <agentcore/state/run_state.hpp>

#include <cassert>

#include <fmt/format.h>

#include "state/name_lookup.hpp"

// The run machine of seed 002 (Platform Agent): queued -> planning -> building -> final, with
// worker retries and stale-run requeue. NextRunState() is the whole transition table; the
// RunLifecycle methods only add the two numbers the table cannot see, the attempt count and
// the lease deadline, and never change the state except through NextRunState().

namespace agentcore {

using internal::kUnknownName;

namespace {

Status RefuseRun(std::string_view what, RunState from) {
  return Conflict(fmt::format("cannot {} run in state \"{}\"", what, RunStateName(from)));
}

// A lease exists only while a worker holds the run. Tying it to the state (instead of clearing
// it in each method) keeps the invariant in one place: every path out of planning/building,
// including cancel and requeue, drops it.
bool HoldsLease(RunState state) {
  return state == RunState::kPlanning || state == RunState::kBuilding;
}

}  // namespace

Result<RunState> NextRunState(RunState from, RunEvent event) {
  // The final states refuse every event. Each row below lists them explicitly so that adding a
  // state forces a decision in every row (-Wswitch-enum).
  switch (event) {
    case RunEvent::kClaim:
      switch (from) {
        case RunState::kQueued:
          return RunState::kPlanning;
        case RunState::kPlanning:
        case RunState::kBuilding:
        case RunState::kSucceeded:
        case RunState::kFailed:
        case RunState::kCancelled:
          return RefuseRun("claim", from);
      }
      break;
    case RunEvent::kStartBuild:
      switch (from) {
        case RunState::kPlanning:
          return RunState::kBuilding;
        case RunState::kQueued:
        case RunState::kBuilding:
        case RunState::kSucceeded:
        case RunState::kFailed:
        case RunState::kCancelled:
          return RefuseRun("start building", from);
      }
      break;
    case RunEvent::kHeartbeat:
      switch (from) {
        case RunState::kPlanning:
        case RunState::kBuilding:
          return from;
        case RunState::kQueued:
        case RunState::kSucceeded:
        case RunState::kFailed:
        case RunState::kCancelled:
          return RefuseRun("renew lease of", from);
      }
      break;
    case RunEvent::kComplete:
      switch (from) {
        case RunState::kBuilding:
          return RunState::kSucceeded;
        case RunState::kQueued:
        case RunState::kPlanning:
        case RunState::kSucceeded:
        case RunState::kFailed:
        case RunState::kCancelled:
          return RefuseRun("complete", from);
      }
      break;
    case RunEvent::kFail:
      switch (from) {
        case RunState::kPlanning:
        case RunState::kBuilding:
          return RunState::kFailed;
        case RunState::kQueued:
        case RunState::kSucceeded:
        case RunState::kFailed:
        case RunState::kCancelled:
          return RefuseRun("fail", from);
      }
      break;
    case RunEvent::kRequeue:
      switch (from) {
        case RunState::kPlanning:
        case RunState::kBuilding:
          return RunState::kQueued;
        case RunState::kQueued:
        case RunState::kSucceeded:
        case RunState::kFailed:
        case RunState::kCancelled:
          return RefuseRun("requeue", from);
      }
      break;
    case RunEvent::kCancel:
      switch (from) {
        case RunState::kQueued:
        case RunState::kPlanning:
        case RunState::kBuilding:
          return RunState::kCancelled;
        case RunState::kSucceeded:
        case RunState::kFailed:
        case RunState::kCancelled:
          return RefuseRun("cancel", from);
      }
      break;
  }
  if (RunStateName(from) == kUnknownName) {
    return InvalidArgument(fmt::format("invalid run state {}", static_cast<int>(from)));
  }
  return InvalidArgument(fmt::format("invalid run event {}", static_cast<int>(event)));
}

bool IsFinalRunState(RunState state) {
  return state == RunState::kSucceeded || state == RunState::kFailed ||
         state == RunState::kCancelled;
}

std::string_view RunStateName(RunState state) {
  switch (state) {
    case RunState::kQueued:
      return "queued";
    case RunState::kPlanning:
      return "planning";
    case RunState::kBuilding:
      return "building";
    case RunState::kSucceeded:
      return "succeeded";
    case RunState::kFailed:
      return "failed";
    case RunState::kCancelled:
      return "cancelled";
  }
  return kUnknownName;
}

std::string_view RunEventName(RunEvent event) {
  switch (event) {
    case RunEvent::kClaim:
      return "claim";
    case RunEvent::kStartBuild:
      return "start_build";
    case RunEvent::kHeartbeat:
      return "heartbeat";
    case RunEvent::kComplete:
      return "complete";
    case RunEvent::kFail:
      return "fail";
    case RunEvent::kRequeue:
      return "requeue";
    case RunEvent::kCancel:
      return "cancel";
  }
  return kUnknownName;
}

Result<RunState> ParseRunState(std::string_view name) {
  if (auto v = internal::FindByName(kAllRunStates, RunStateName, name)) return *v;
  return InvalidArgument(fmt::format("unknown run state \"{}\"", name));
}

Result<RunEvent> ParseRunEvent(std::string_view name) {
  if (auto v = internal::FindByName(kAllRunEvents, RunEventName, name)) return *v;
  return InvalidArgument(fmt::format("unknown run event \"{}\"", name));
}

RunLifecycle::RunLifecycle(RunPolicy policy)
    : RunLifecycle(RunState::kQueued, 0, std::nullopt, policy) {}

RunLifecycle::RunLifecycle(RunState state, int attempts, std::optional<UnixMillis> lease_expires_at,
                           RunPolicy policy)
    : state_(state), attempts_(attempts), lease_expires_at_(lease_expires_at), policy_(policy) {
  assert(policy_.max_attempts >= 1);
  assert(policy_.lease.count() >= 0);
}

Result<RunLifecycle> RunLifecycle::Restore(RunState state, int attempts,
                                           std::optional<UnixMillis> lease_expires_at,
                                           RunPolicy policy) {
  const std::string_view name = RunStateName(state);
  if (name == kUnknownName) {
    return InvalidArgument(fmt::format("invalid run state {}", static_cast<int>(state)));
  }
  if (attempts < 0) {
    return InvalidArgument(fmt::format("run attempts must not be negative, got {}", attempts));
  }
  if (HoldsLease(state)) {
    if (!lease_expires_at.has_value()) {
      return InvalidArgument(fmt::format("run in state \"{}\" needs a lease", name));
    }
    if (attempts < 1 || attempts > policy.max_attempts) {
      return InvalidArgument(fmt::format("run in state \"{}\" has {} attempts, outside 1..{}", name,
                                         attempts, policy.max_attempts));
    }
  } else if (lease_expires_at.has_value()) {
    return InvalidArgument(fmt::format("run in state \"{}\" cannot hold a lease", name));
  }
  if (state == RunState::kQueued && attempts >= policy.max_attempts) {
    return InvalidArgument(fmt::format("queued run has no attempt left ({} of {} used)", attempts,
                                       policy.max_attempts));
  }
  return RunLifecycle(state, attempts, lease_expires_at, policy);
}

bool RunLifecycle::HasAttemptsLeft() const { return attempts_ < policy_.max_attempts; }

Status RunLifecycle::Apply(RunEvent event) {
  Result<RunState> next = NextRunState(state_, event);
  if (!next.has_value()) return next.error();
  state_ = *next;
  if (!HoldsLease(state_)) lease_expires_at_.reset();
  return Status::Ok();
}

Status RunLifecycle::Claim(UnixMillis now) {
  AGENTCORE_RETURN_IF_ERROR(Apply(RunEvent::kClaim));
  // Attempts are counted when a worker claims the run, not when it fails: a worker that dies
  // without reporting anything has still used its attempt, and Sweep() must see that.
  // Invariant: a queued run always has an attempt left (Fail() and Sweep() requeue only then,
  // and Restore() refuses anything else), so this claim stays within max_attempts.
  assert(attempts_ < policy_.max_attempts);
  ++attempts_;
  lease_expires_at_ = now + policy_.lease.count();
  return Status::Ok();
}

Status RunLifecycle::StartBuild(UnixMillis now) {
  AGENTCORE_RETURN_IF_ERROR(Apply(RunEvent::kStartBuild));
  lease_expires_at_ = now + policy_.lease.count();
  return Status::Ok();
}

// The lease is renewed from `now`, not from the old deadline, so a late heartbeat cannot buy
// more than one lease period.
Status RunLifecycle::Heartbeat(UnixMillis now) {
  AGENTCORE_RETURN_IF_ERROR(Apply(RunEvent::kHeartbeat));
  lease_expires_at_ = now + policy_.lease.count();
  return Status::Ok();
}

Status RunLifecycle::Complete() { return Apply(RunEvent::kComplete); }

Result<RunState> RunLifecycle::Fail() {
  // Check against "fail" first so that a refusal names the event the caller asked for, not
  // the requeue it would have become.
  if (Result<RunState> check = NextRunState(state_, RunEvent::kFail); !check.has_value()) {
    return check.error();
  }
  AGENTCORE_RETURN_IF_ERROR(Apply(HasAttemptsLeft() ? RunEvent::kRequeue : RunEvent::kFail));
  return state_;
}

Status RunLifecycle::Cancel() { return Apply(RunEvent::kCancel); }

RunTimeout RunLifecycle::Sweep(UnixMillis now) {
  if (!HoldsLease(state_) || !lease_expires_at_.has_value() || now <= *lease_expires_at_) {
    return RunTimeout::kNone;
  }
  // Stale-run requeue (seed 002): the worker is presumed dead; its attempt is used up.
  const bool retry = HasAttemptsLeft();
  const Status applied = Apply(retry ? RunEvent::kRequeue : RunEvent::kFail);
  assert(applied.ok());
  (void)applied;
  return retry ? RunTimeout::kRequeued : RunTimeout::kFailed;
}

}  // namespace agentcore
