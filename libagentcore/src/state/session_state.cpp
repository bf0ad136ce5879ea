// SPDX-License-Identifier: Apache-2.0
#include <agentcore/state/session_state.hpp>

#include <cassert>

#include <fmt/format.h>

#include "state/name_lookup.hpp"

// The session machine of seeds 001 and 003 (execbox, Octo): the session is the identity, the
// container is replaceable. NextSessionState() is the whole table; SessionLifecycle adds when
// the state was entered (for the startup timeout) and the container generation.

namespace agentcore {

using internal::kUnknownName;

namespace {

Status RefuseSession(std::string_view what, SessionState from) {
  return Conflict(fmt::format("cannot {} session in state \"{}\"", what, SessionStateName(from)));
}

}  // namespace

Result<SessionState> NextSessionState(SessionState from, SessionEvent event) {
  switch (event) {
    case SessionEvent::kReady:
      switch (from) {
        case SessionState::kCreating:
          return SessionState::kRunning;
        case SessionState::kRunning:
        case SessionState::kStopped:
        case SessionState::kFailed:
        case SessionState::kDeleted:
          return RefuseSession("mark ready", from);
      }
      break;
    case SessionEvent::kStop:
      switch (from) {
        // Stopping a container that is still starting is allowed, like Octo's graceful
        // shutdown, which stops every session container it started.
        case SessionState::kCreating:
        case SessionState::kRunning:
          return SessionState::kStopped;
        case SessionState::kStopped:
        case SessionState::kFailed:
        case SessionState::kDeleted:
          return RefuseSession("stop", from);
      }
      break;
    case SessionEvent::kFail:
      switch (from) {
        // Octo seed: "If a container exits unexpectedly, the session is reconciled to failed".
        // A stopped container cannot exit unexpectedly, so only live states fail.
        case SessionState::kCreating:
        case SessionState::kRunning:
          return SessionState::kFailed;
        case SessionState::kStopped:
        case SessionState::kFailed:
        case SessionState::kDeleted:
          return RefuseSession("fail", from);
      }
      break;
    case SessionEvent::kResume:
      switch (from) {
        case SessionState::kStopped:
        case SessionState::kFailed:
          return SessionState::kCreating;
        case SessionState::kCreating:
        case SessionState::kRunning:
        case SessionState::kDeleted:
          return RefuseSession("resume", from);
      }
      break;
    case SessionEvent::kUpgrade:
      switch (from) {
        case SessionState::kRunning:
        case SessionState::kStopped:
        case SessionState::kFailed:
          return SessionState::kCreating;
        case SessionState::kCreating:
        case SessionState::kDeleted:
          return RefuseSession("upgrade", from);
      }
      break;
    case SessionEvent::kDelete:
      switch (from) {
        case SessionState::kCreating:
        case SessionState::kRunning:
        case SessionState::kStopped:
        case SessionState::kFailed:
          return SessionState::kDeleted;
        case SessionState::kDeleted:
          return RefuseSession("delete", from);
      }
      break;
  }
  if (SessionStateName(from) == kUnknownName) {
    return InvalidArgument(fmt::format("invalid session state {}", static_cast<int>(from)));
  }
  return InvalidArgument(fmt::format("invalid session event {}", static_cast<int>(event)));
}

std::string_view SessionStateName(SessionState state) {
  switch (state) {
    case SessionState::kCreating:
      return "creating";
    case SessionState::kRunning:
      return "running";
    case SessionState::kStopped:
      return "stopped";
    case SessionState::kFailed:
      return "failed";
    case SessionState::kDeleted:
      return "deleted";
  }
  return kUnknownName;
}

std::string_view SessionEventName(SessionEvent event) {
  switch (event) {
    case SessionEvent::kReady:
      return "ready";
    case SessionEvent::kStop:
      return "stop";
    case SessionEvent::kFail:
      return "fail";
    case SessionEvent::kResume:
      return "resume";
    case SessionEvent::kUpgrade:
      return "upgrade";
    case SessionEvent::kDelete:
      return "delete";
  }
  return kUnknownName;
}

Result<SessionState> ParseSessionState(std::string_view name) {
  if (auto v = internal::FindByName(kAllSessionStates, SessionStateName, name)) return *v;
  return InvalidArgument(fmt::format("unknown session state \"{}\"", name));
}

Result<SessionEvent> ParseSessionEvent(std::string_view name) {
  if (auto v = internal::FindByName(kAllSessionEvents, SessionEventName, name)) return *v;
  return InvalidArgument(fmt::format("unknown session event \"{}\"", name));
}

SessionLifecycle::SessionLifecycle(UnixMillis now, SessionPolicy policy)
    : SessionLifecycle(SessionState::kCreating, now, 1, policy) {}

SessionLifecycle::SessionLifecycle(SessionState state, UnixMillis state_since,
                                   std::int64_t generation, SessionPolicy policy)
    : state_(state), state_since_(state_since), generation_(generation), policy_(policy) {
  assert(policy_.startup_timeout.count() >= 0);
}

Result<SessionLifecycle> SessionLifecycle::Restore(SessionState state, UnixMillis state_since,
                                                   std::int64_t generation, SessionPolicy policy) {
  if (SessionStateName(state) == kUnknownName) {
    return InvalidArgument(fmt::format("invalid session state {}", static_cast<int>(state)));
  }
  if (generation < 1) {
    return InvalidArgument(
        fmt::format("session generation must be at least 1, got {}", generation));
  }
  return SessionLifecycle(state, state_since, generation, policy);
}

Status SessionLifecycle::Apply(SessionEvent event, UnixMillis now) {
  Result<SessionState> next = NextSessionState(state_, event);
  if (!next.has_value()) return next.error();
  state_ = *next;
  // The table has no self-transitions, so every accepted event is a real change. In
  // particular resume and upgrade re-enter creating, which restarts the startup timeout.
  state_since_ = now;
  // Upgrade is the only event that replaces the container; resume restarts the same one.
  if (event == SessionEvent::kUpgrade) ++generation_;
  return Status::Ok();
}

Status SessionLifecycle::MarkReady(UnixMillis now) { return Apply(SessionEvent::kReady, now); }
Status SessionLifecycle::Stop(UnixMillis now) { return Apply(SessionEvent::kStop, now); }
Status SessionLifecycle::Fail(UnixMillis now) { return Apply(SessionEvent::kFail, now); }
Status SessionLifecycle::Resume(UnixMillis now) { return Apply(SessionEvent::kResume, now); }
Status SessionLifecycle::Upgrade(UnixMillis now) { return Apply(SessionEvent::kUpgrade, now); }
Status SessionLifecycle::Delete(UnixMillis now) { return Apply(SessionEvent::kDelete, now); }

// Only creating can time out: a running container that dies is reported by the runtime (event
// fail), and stopped/failed sessions have no container to wait for.
SessionTimeout SessionLifecycle::Sweep(UnixMillis now) {
  if (state_ != SessionState::kCreating || now - state_since_ <= policy_.startup_timeout.count()) {
    return SessionTimeout::kNone;
  }
  const Status applied = Apply(SessionEvent::kFail, now);
  assert(applied.ok());
  (void)applied;
  return SessionTimeout::kStartupTimeout;
}

}  // namespace agentcore
