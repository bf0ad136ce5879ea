// SPDX-License-Identifier: Apache-2.0
#include <agentcore/state/agent_state.hpp>

#include <algorithm>
#include <cassert>
#include <utility>

#include <fmt/format.h>

#include "state/name_lookup.hpp"

// Three machines from cast.md §5: the runtime's AgentStatus table (§5.9), the roster status
// rules of the agent lifecycle routes (§4.6, §5.9), and the activation lifecycle (§5.2-§5.8).
// Each transition function is one switch per event over every state, with no default: label,
// so -Wswitch-enum forces a decision for every new state or event.

namespace agentcore {

using internal::kUnknownName;

// ---------------------------------------------------------------------------------------------
// 1. Runtime agent status

AgentStatus NextAgentStatus(AgentStatus from, AgentStatusEvent event) {
  // spec cast.md §5.9, "Runtime agent status": one inner switch per table row. Values outside
  // the enumerators fall out of both switches and end in kError.
  switch (event) {
    case AgentStatusEvent::kActivate:
      switch (from) {
        case AgentStatus::kOffline:
        case AgentStatus::kActivating:
        case AgentStatus::kSuspending:
        case AgentStatus::kError:
          return AgentStatus::kActivating;
        case AgentStatus::kOnline:
          return AgentStatus::kOnline;
        case AgentStatus::kBusy:
          return AgentStatus::kBusy;
      }
      break;
    case AgentStatusEvent::kCheckin:
      switch (from) {
        case AgentStatus::kOffline:
        case AgentStatus::kActivating:
        case AgentStatus::kOnline:
        case AgentStatus::kSuspending:
        case AgentStatus::kError:
          return AgentStatus::kOnline;
        case AgentStatus::kBusy:
          return AgentStatus::kBusy;
      }
      break;
    case AgentStatusEvent::kFrame:
      switch (from) {
        case AgentStatus::kOnline:
        case AgentStatus::kBusy:
          return AgentStatus::kBusy;
        // A late frame does not revive an agent that is not checked in.
        case AgentStatus::kOffline:
        case AgentStatus::kActivating:
        case AgentStatus::kSuspending:
        case AgentStatus::kError:
          return from;
      }
      break;
    case AgentStatusEvent::kIdleFrame:
      switch (from) {
        case AgentStatus::kOnline:
        case AgentStatus::kBusy:
          return AgentStatus::kOnline;
        case AgentStatus::kOffline:
        case AgentStatus::kActivating:
        case AgentStatus::kSuspending:
        case AgentStatus::kError:
          return from;
      }
      break;
    case AgentStatusEvent::kSuspend:
      switch (from) {
        case AgentStatus::kOffline:
        case AgentStatus::kActivating:
        case AgentStatus::kOnline:
        case AgentStatus::kBusy:
        case AgentStatus::kSuspending:
        case AgentStatus::kError:
          return AgentStatus::kOffline;
      }
      break;
    case AgentStatusEvent::kError:
      switch (from) {
        case AgentStatus::kOffline:
        case AgentStatus::kActivating:
        case AgentStatus::kOnline:
        case AgentStatus::kBusy:
        case AgentStatus::kSuspending:
        case AgentStatus::kError:
          return AgentStatus::kError;
      }
      break;
  }
  return AgentStatus::kError;
}

bool IsAgentStatusOnline(AgentStatus status) {
  return status == AgentStatus::kOnline || status == AgentStatus::kBusy;
}

std::string_view AgentStatusName(AgentStatus status) {
  switch (status) {
    case AgentStatus::kOffline:
      return "offline";
    case AgentStatus::kActivating:
      return "activating";
    case AgentStatus::kOnline:
      return "online";
    case AgentStatus::kBusy:
      return "busy";
    case AgentStatus::kSuspending:
      return "suspending";
    case AgentStatus::kError:
      return "error";
  }
  return kUnknownName;
}

std::string_view AgentStatusEventName(AgentStatusEvent event) {
  switch (event) {
    case AgentStatusEvent::kActivate:
      return "activate";
    case AgentStatusEvent::kCheckin:
      return "checkin";
    case AgentStatusEvent::kFrame:
      return "frame";
    case AgentStatusEvent::kIdleFrame:
      return "idle_frame";
    case AgentStatusEvent::kSuspend:
      return "suspend";
    case AgentStatusEvent::kError:
      return "error";
  }
  return kUnknownName;
}

Result<AgentStatus> ParseAgentStatus(std::string_view name) {
  if (auto v = internal::FindByName(kAllAgentStatuses, AgentStatusName, name)) return *v;
  return InvalidArgument(fmt::format("unknown agent status \"{}\"", name));
}

Result<AgentStatusEvent> ParseAgentStatusEvent(std::string_view name) {
  if (auto v = internal::FindByName(kAllAgentStatusEvents, AgentStatusEventName, name)) return *v;
  return InvalidArgument(fmt::format("unknown agent status event \"{}\"", name));
}

// ---------------------------------------------------------------------------------------------
// 2. Roster entry status

namespace {

// Cast's HTTP 400 texts (spec cast.md §4.6), byte for byte.
constexpr std::string_view kAlreadyPaused = "Agent is already paused";
constexpr std::string_view kPauseArchived = "Cannot pause archived agent";
constexpr std::string_view kNotPaused = "Agent is not paused";
constexpr std::string_view kActivateArchived = "Cannot activate archived agent";
constexpr std::string_view kAlreadyDismissed = "Agent is already dismissed";
constexpr std::string_view kNotDismissed = "Agent is not dismissed";

// The roster table in one place; NextRosterStatus() and RosterRejectionText() both read it.
struct RosterDecision {
  bool known = false;           // both inputs are enumerators
  RosterTransition transition;  // when allowed
  std::string_view rejection;   // non-empty when refused (Cast's text)
};

RosterDecision Allow(std::optional<RosterStatus> to, bool suspend_runtime, bool activate_runtime) {
  return {true, RosterTransition{to, suspend_runtime, activate_runtime}, {}};
}
RosterDecision Refuse(std::string_view cast_text) { return {true, {}, cast_text}; }

RosterDecision DecideRoster(RosterStatus from, RosterAction action) {
  // spec cast.md §5.9 roster table; side effects and rejection order from §4.6.
  switch (action) {
    case RosterAction::kPause:
      switch (from) {
        case RosterStatus::kActive:
        case RosterStatus::kIdle:
        case RosterStatus::kBusy:
        case RosterStatus::kOffline:
          return Allow(RosterStatus::kPaused, /*suspend_runtime=*/true, false);
        case RosterStatus::kPaused:
          return Refuse(kAlreadyPaused);
        case RosterStatus::kArchived:
          return Refuse(kPauseArchived);
      }
      break;
    case RosterAction::kResume:
      switch (from) {
        case RosterStatus::kPaused:
          return Allow(RosterStatus::kActive, false, false);  // no container is started
        case RosterStatus::kActive:
        case RosterStatus::kIdle:
        case RosterStatus::kBusy:
        case RosterStatus::kOffline:
        case RosterStatus::kArchived:
          return Refuse(kNotPaused);
      }
      break;
    case RosterAction::kActivate:
      switch (from) {
        // §4.6: "if paused set active"; every other non-archived status is kept.
        case RosterStatus::kPaused:
          return Allow(RosterStatus::kActive, false, /*activate_runtime=*/true);
        case RosterStatus::kActive:
        case RosterStatus::kIdle:
        case RosterStatus::kBusy:
        case RosterStatus::kOffline:
          return Allow(from, false, /*activate_runtime=*/true);
        case RosterStatus::kArchived:
          return Refuse(kActivateArchived);
      }
      break;
    case RosterAction::kDismiss:
      switch (from) {
        case RosterStatus::kActive:
        case RosterStatus::kIdle:
        case RosterStatus::kBusy:
        case RosterStatus::kOffline:
        case RosterStatus::kPaused:
          return Allow(RosterStatus::kArchived, /*suspend_runtime=*/true, false);
        case RosterStatus::kArchived:
          return Refuse(kAlreadyDismissed);
      }
      break;
    case RosterAction::kUnarchive:
      switch (from) {
        case RosterStatus::kArchived:
          return Allow(RosterStatus::kActive, false, /*activate_runtime=*/true);
        case RosterStatus::kActive:
        case RosterStatus::kIdle:
        case RosterStatus::kBusy:
        case RosterStatus::kOffline:
        case RosterStatus::kPaused:
          return Refuse(kNotDismissed);
      }
      break;
    case RosterAction::kRemove:
      switch (from) {
        // Raw CRUD: a hard delete from any status, with no side effects (§4.5).
        case RosterStatus::kActive:
        case RosterStatus::kIdle:
        case RosterStatus::kBusy:
        case RosterStatus::kOffline:
        case RosterStatus::kPaused:
        case RosterStatus::kArchived:
          return Allow(std::nullopt, false, false);
      }
      break;
  }
  return {};
}

}  // namespace

Result<RosterTransition> NextRosterStatus(RosterStatus from, RosterAction action) {
  const RosterDecision d = DecideRoster(from, action);
  if (!d.known) {
    if (RosterStatusName(from) == kUnknownName) {
      return InvalidArgument(fmt::format("invalid roster status {}", static_cast<int>(from)));
    }
    return InvalidArgument(fmt::format("invalid roster action {}", static_cast<int>(action)));
  }
  if (!d.rejection.empty()) {
    // Cast's text with a lower-case first letter, after the action and status it refuses.
    std::string reason(d.rejection);
    reason[0] = static_cast<char>(reason[0] - 'A' + 'a');
    return Conflict(fmt::format("cannot {} agent in status \"{}\": {}", RosterActionName(action),
                                RosterStatusName(from), reason));
  }
  return d.transition;
}

std::string_view RosterRejectionText(RosterStatus from, RosterAction action) {
  return DecideRoster(from, action).rejection;
}

std::string_view RosterStatusName(RosterStatus status) {
  switch (status) {
    case RosterStatus::kActive:
      return "active";
    case RosterStatus::kIdle:
      return "idle";
    case RosterStatus::kBusy:
      return "busy";
    case RosterStatus::kOffline:
      return "offline";
    case RosterStatus::kPaused:
      return "paused";
    case RosterStatus::kArchived:
      return "archived";
  }
  return kUnknownName;
}

std::string_view RosterActionName(RosterAction action) {
  switch (action) {
    case RosterAction::kPause:
      return "pause";
    case RosterAction::kResume:
      return "resume";
    case RosterAction::kActivate:
      return "activate";
    case RosterAction::kDismiss:
      return "dismiss";
    case RosterAction::kUnarchive:
      return "unarchive";
    case RosterAction::kRemove:
      return "remove";
  }
  return kUnknownName;
}

Result<RosterStatus> ParseRosterStatus(std::string_view name) {
  if (auto v = internal::FindByName(kAllRosterStatuses, RosterStatusName, name)) return *v;
  return InvalidArgument(fmt::format("unknown roster status \"{}\"", name));
}

Result<RosterAction> ParseRosterAction(std::string_view name) {
  if (auto v = internal::FindByName(kAllRosterActions, RosterActionName, name)) return *v;
  return InvalidArgument(fmt::format("unknown roster action \"{}\"", name));
}

// ---------------------------------------------------------------------------------------------
// 3. Activation lifecycle

namespace {

Status RefuseActivation(std::string_view what, ActivationState from) {
  return Conflict(fmt::format("cannot {} agent in state \"{}\"", what, ActivationStateName(from)));
}

}  // namespace

Result<ActivationState> NextActivationState(ActivationState from, ActivationEvent event) {
  switch (event) {
    case ActivationEvent::kActivate:
      switch (from) {
        // Idempotent while activating (the timer keeps running) and while active (§7.1).
        case ActivationState::kActivating:
          return ActivationState::kActivating;
        case ActivationState::kActive:
          return ActivationState::kActive;
        case ActivationState::kInactive:
        case ActivationState::kStale:
        case ActivationState::kFailed:
        case ActivationState::kSuspended:
          return ActivationState::kActivating;
      }
      break;
    case ActivationEvent::kCheckin:
      switch (from) {
        // spec cast.md §5.4: checkin is accepted for any roster entry, archived included.
        case ActivationState::kInactive:
        case ActivationState::kActivating:
        case ActivationState::kActive:
        case ActivationState::kStale:
        case ActivationState::kFailed:
        case ActivationState::kSuspended:
          return ActivationState::kActive;
      }
      break;
    case ActivationEvent::kHeartbeat:
      switch (from) {
        case ActivationState::kActive:
        case ActivationState::kStale:
          return ActivationState::kActive;
        // No endpoint is known (never checked in, or cleared by suspend or failure), so a
        // heartbeat alone cannot make the agent reachable.
        case ActivationState::kInactive:
        case ActivationState::kActivating:
        case ActivationState::kFailed:
        case ActivationState::kSuspended:
          return RefuseActivation("accept heartbeat for", from);
      }
      break;
    case ActivationEvent::kSuspend:
      switch (from) {
        case ActivationState::kInactive:
        case ActivationState::kActivating:
        case ActivationState::kActive:
        case ActivationState::kStale:
        case ActivationState::kFailed:
        case ActivationState::kSuspended:
          return ActivationState::kSuspended;
      }
      break;
    case ActivationEvent::kFail:
      switch (from) {
        case ActivationState::kActivating:
        case ActivationState::kActive:
        case ActivationState::kStale:
          return ActivationState::kFailed;
        case ActivationState::kInactive:
        case ActivationState::kFailed:
        case ActivationState::kSuspended:
          return RefuseActivation("fail", from);
      }
      break;
    case ActivationEvent::kHeartbeatTimeout:
      switch (from) {
        case ActivationState::kActive:
          return ActivationState::kStale;
        case ActivationState::kInactive:
        case ActivationState::kActivating:
        case ActivationState::kStale:
        case ActivationState::kFailed:
        case ActivationState::kSuspended:
          return RefuseActivation("expire heartbeat of", from);
      }
      break;
    case ActivationEvent::kActivationTimeout:
      switch (from) {
        case ActivationState::kActivating:
          return ActivationState::kFailed;
        case ActivationState::kInactive:
        case ActivationState::kActive:
        case ActivationState::kStale:
        case ActivationState::kFailed:
        case ActivationState::kSuspended:
          return RefuseActivation("time out activation of", from);
      }
      break;
  }
  if (ActivationStateName(from) == kUnknownName) {
    return InvalidArgument(fmt::format("invalid activation state {}", static_cast<int>(from)));
  }
  return InvalidArgument(fmt::format("invalid activation event {}", static_cast<int>(event)));
}

std::string_view ActivationStateName(ActivationState state) {
  switch (state) {
    case ActivationState::kInactive:
      return "inactive";
    case ActivationState::kActivating:
      return "activating";
    case ActivationState::kActive:
      return "active";
    case ActivationState::kStale:
      return "stale";
    case ActivationState::kFailed:
      return "failed";
    case ActivationState::kSuspended:
      return "suspended";
  }
  return kUnknownName;
}

std::string_view ActivationEventName(ActivationEvent event) {
  switch (event) {
    case ActivationEvent::kActivate:
      return "activate";
    case ActivationEvent::kCheckin:
      return "checkin";
    case ActivationEvent::kHeartbeat:
      return "heartbeat";
    case ActivationEvent::kSuspend:
      return "suspend";
    case ActivationEvent::kFail:
      return "fail";
    case ActivationEvent::kHeartbeatTimeout:
      return "heartbeat_timeout";
    case ActivationEvent::kActivationTimeout:
      return "activation_timeout";
  }
  return kUnknownName;
}

Result<ActivationState> ParseActivationState(std::string_view name) {
  if (auto v = internal::FindByName(kAllActivationStates, ActivationStateName, name)) return *v;
  return InvalidArgument(fmt::format("unknown activation state \"{}\"", name));
}

Result<ActivationEvent> ParseActivationEvent(std::string_view name) {
  if (auto v = internal::FindByName(kAllActivationEvents, ActivationEventName, name)) return *v;
  return InvalidArgument(fmt::format("unknown activation event \"{}\"", name));
}

bool IsHeartbeatFresh(std::optional<UnixMillis> last_heartbeat, UnixMillis now,
                      std::chrono::milliseconds staleness) {
  // spec cast.md §5.7: stale iff no heartbeat or now - lastHeartbeat > 60000, so exactly the
  // limit is fresh. §8 item 11 (NaN counts as fresh) cannot happen with integer timestamps.
  if (!last_heartbeat.has_value()) return false;
  return now - *last_heartbeat <= staleness.count();
}

bool IsAgentOnline(bool has_callback_url, std::optional<UnixMillis> last_heartbeat, UnixMillis now,
                   std::chrono::milliseconds staleness) {
  return has_callback_url && IsHeartbeatFresh(last_heartbeat, now, staleness);
}

AgentLifecycle::AgentLifecycle(UnixMillis now, AgentPolicy policy)
    : AgentLifecycle(ActivationState::kInactive, now, std::nullopt, {}, policy) {}

AgentLifecycle::AgentLifecycle(ActivationState state, UnixMillis state_since,
                               std::optional<UnixMillis> last_heartbeat,
                               std::vector<std::string> pending, AgentPolicy policy)
    : state_(state),
      state_since_(state_since),
      last_heartbeat_(last_heartbeat),
      pending_(std::move(pending)),
      policy_(policy) {
  assert(policy_.heartbeat_staleness.count() >= 0);
  assert(policy_.activation_timeout.count() >= 0);
}

Result<AgentLifecycle> AgentLifecycle::Restore(ActivationState state, UnixMillis state_since,
                                               std::optional<UnixMillis> last_heartbeat,
                                               std::vector<std::string> pending,
                                               AgentPolicy policy) {
  if (ActivationStateName(state) == kUnknownName) {
    return InvalidArgument(fmt::format("invalid activation state {}", static_cast<int>(state)));
  }
  if ((state == ActivationState::kActive || state == ActivationState::kStale) &&
      !last_heartbeat.has_value()) {
    return InvalidArgument(
        fmt::format("agent in state \"{}\" needs a last heartbeat", ActivationStateName(state)));
  }
  for (auto it = pending.begin(); it != pending.end(); ++it) {
    if (it->empty()) return InvalidArgument("pending message id is empty");
    if (std::find(pending.begin(), it, *it) != it) {
      return InvalidArgument(fmt::format("pending message id \"{}\" is repeated", *it));
    }
  }
  return AgentLifecycle(state, state_since, last_heartbeat, std::move(pending), policy);
}

void AgentLifecycle::EnterState(ActivationState next, UnixMillis now) {
  // Only a real change restarts state_since_; this is what keeps a repeated activate from
  // extending the activation timeout (Cast sets activatedAt only when the status changes).
  if (next == state_) return;
  state_ = next;
  state_since_ = now;
}

namespace {

// For the events the table accepts in every state (activate, checkin, suspend) or in the one
// state the caller has just checked.
ActivationState MustNext(ActivationState from, ActivationEvent event) {
  Result<ActivationState> next = NextActivationState(from, event);
  assert(next.has_value());
  return next.has_value() ? *next : from;
}

}  // namespace

bool AgentLifecycle::IsOnline(UnixMillis now) const {
  return state_ == ActivationState::kActive &&
         IsHeartbeatFresh(last_heartbeat_, now, policy_.heartbeat_staleness);
}

ActivateOutcome AgentLifecycle::Activate(UnixMillis now) {
  // Fly's activate skips the machine start only for a fresh heartbeat (§7.3). Without this step
  // an unswept active-but-silent agent would answer kAlreadyActive and the caller's message
  // would wait in pending() for a checkin that never comes.
  if (state_ == ActivationState::kActive && !IsOnline(now)) {
    EnterState(MustNext(state_, ActivationEvent::kHeartbeatTimeout), now);
  }
  const ActivationState before = state_;
  EnterState(MustNext(state_, ActivationEvent::kActivate), now);
  if (before == ActivationState::kActive) return ActivateOutcome::kAlreadyActive;
  if (before == ActivationState::kActivating) return ActivateOutcome::kAlreadyActivating;
  return ActivateOutcome::kStartRuntime;
}

std::vector<std::string> AgentLifecycle::Checkin(UnixMillis now) {
  EnterState(MustNext(state_, ActivationEvent::kCheckin), now);
  last_heartbeat_ = now;
  // Moving the queue out is what makes the release happen exactly once.
  return std::exchange(pending_, {});
}

Status AgentLifecycle::Heartbeat(UnixMillis now) {
  Result<ActivationState> next = NextActivationState(state_, ActivationEvent::kHeartbeat);
  if (!next.has_value()) return next.error();
  EnterState(*next, now);
  last_heartbeat_ = now;
  return Status::Ok();
}

void AgentLifecycle::Suspend(UnixMillis now) {
  EnterState(MustNext(state_, ActivationEvent::kSuspend), now);
}

Status AgentLifecycle::Fail(UnixMillis now) {
  Result<ActivationState> next = NextActivationState(state_, ActivationEvent::kFail);
  if (!next.has_value()) return next.error();
  EnterState(*next, now);
  return Status::Ok();
}

MessageDisposition AgentLifecycle::Enqueue(std::string_view message_id, UnixMillis now) {
  assert(!message_id.empty());
  if (IsOnline(now)) return MessageDisposition::kDeliverNow;
  // Linear scan: the queue holds what arrives while one agent is down, which is short.
  if (std::find(pending_.begin(), pending_.end(), message_id) == pending_.end()) {
    pending_.emplace_back(message_id);
  }
  return MessageDisposition::kQueued;
}

// The activation timer runs from entering activating (state_since_), which EnterState() moves
// only on a real change, so neither a repeated activate nor a sweep extends it. spec cast.md
// §7.3: on expiry the Fly runtime deletes the machine and emits agent_error; here that is the
// caller's job, signalled by kActivationTimeout.
AgentTimeout AgentLifecycle::Sweep(UnixMillis now) {
  if (state_ == ActivationState::kActivating &&
      now - state_since_ > policy_.activation_timeout.count()) {
    EnterState(MustNext(state_, ActivationEvent::kActivationTimeout), now);
    return AgentTimeout::kActivationTimeout;
  }
  if (state_ == ActivationState::kActive &&
      !IsHeartbeatFresh(last_heartbeat_, now, policy_.heartbeat_staleness)) {
    EnterState(MustNext(state_, ActivationEvent::kHeartbeatTimeout), now);
    return AgentTimeout::kHeartbeatStale;
  }
  return AgentTimeout::kNone;
}

}  // namespace agentcore
