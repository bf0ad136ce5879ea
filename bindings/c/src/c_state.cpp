// SPDX-License-Identifier: Apache-2.0
// The C API's state machines: the transition functions of state/agent_state.hpp,
// state/run_state.hpp and state/session_state.hpp, and the names of their enumerations.

#include <array>
#include <string>

#include <agentcore/state/agent_state.hpp>
#include <agentcore/state/run_state.hpp>
#include <agentcore/state/session_state.hpp>

#include "c_common.hpp"

using namespace agentcore;
using namespace agentcore::c_api;

namespace {

// One enumeration as the C API sees it: how many values, their names, the parser.
struct Enumeration {
  const char* what;  // for errors: "run state"
  int count;
  std::string_view (*name)(int value);
  Result<int> (*parse)(std::string_view name);
};

// Adapts a typed name function and parser to ints.
template <typename E, std::string_view (*Name)(E), Result<E> (*Parse)(std::string_view)>
constexpr Enumeration Make(const char* what, std::size_t count) {
  return Enumeration{
      what, static_cast<int>(count),
      [](int value) { return Name(static_cast<E>(value)); },
      [](std::string_view text) -> Result<int> {
        Result<E> parsed = Parse(text);
        if (!parsed.ok()) return parsed.status();
        return static_cast<int>(*parsed);
      }};
}

// Indexed by ac_enum.
constexpr std::array<Enumeration, 10> kEnumerations = {
    Make<AgentStatus, AgentStatusName, ParseAgentStatus>("agent status", kAllAgentStatuses.size()),
    Make<AgentStatusEvent, AgentStatusEventName, ParseAgentStatusEvent>(
        "agent status event", kAllAgentStatusEvents.size()),
    Make<ActivationState, ActivationStateName, ParseActivationState>(
        "activation state", kAllActivationStates.size()),
    Make<ActivationEvent, ActivationEventName, ParseActivationEvent>(
        "activation event", kAllActivationEvents.size()),
    Make<RosterStatus, RosterStatusName, ParseRosterStatus>("roster status",
                                                            kAllRosterStatuses.size()),
    Make<RosterAction, RosterActionName, ParseRosterAction>("roster action",
                                                            kAllRosterActions.size()),
    Make<RunState, RunStateName, ParseRunState>("run state", kAllRunStates.size()),
    Make<RunEvent, RunEventName, ParseRunEvent>("run event", kAllRunEvents.size()),
    Make<SessionState, SessionStateName, ParseSessionState>("session state",
                                                            kAllSessionStates.size()),
    Make<SessionEvent, SessionEventName, ParseSessionEvent>("session event",
                                                            kAllSessionEvents.size()),
};

bool InRange(int which, int value) {
  return which >= 0 && which < static_cast<int>(kEnumerations.size()) && value >= 0 &&
         value < kEnumerations[static_cast<std::size_t>(which)].count;
}

// kInvalidArgument "unknown <what> <value>" unless `value` is one of enumeration `which`. The
// check comes before the cast: an int cast to a uint8_t enumeration would wrap (256 is 0).
Status CheckValue(int which, int value) {
  if (InRange(which, value)) return Status::Ok();
  return InvalidArgument(std::string("unknown ") + kEnumerations[static_cast<std::size_t>(which)].what +
                         " " + std::to_string(value));
}

// A transition: checks both values, applies `next`, returns the new state or -1.
template <typename S, typename E, Result<S> (*Next)(S, E)>
int Transition(int state_enum, int from, int event, char** errptr) {
  return Guard<int>(errptr, -1, [&]() -> int {
    if (Status s = CheckValue(state_enum, from); !s.ok()) return SetError(errptr, s), -1;
    if (Status s = CheckValue(state_enum + 1, event); !s.ok()) return SetError(errptr, s), -1;
    Result<S> to = Next(static_cast<S>(from), static_cast<E>(event));
    if (!to.ok()) return SetError(errptr, to.status()), -1;
    return static_cast<int>(*to);
  });
}

}  // namespace

extern "C" {

int ac_agent_status_next(int from, int event) {
  // The table is total: values outside it go to error, as the C++ function does for them.
  if (!InRange(AC_ENUM_AGENT_STATUS, from) || !InRange(AC_ENUM_AGENT_STATUS_EVENT, event)) {
    return AC_AGENT_ERROR;
  }
  return static_cast<int>(
      NextAgentStatus(static_cast<AgentStatus>(from), static_cast<AgentStatusEvent>(event)));
}

int ac_agent_status_is_online(int status) {
  return InRange(AC_ENUM_AGENT_STATUS, status) &&
                 IsAgentStatusOnline(static_cast<AgentStatus>(status))
             ? 1
             : 0;
}

int ac_activation_state_next(int from, int event, char** errptr) {
  return Transition<ActivationState, ActivationEvent, NextActivationState>(
      AC_ENUM_ACTIVATION_STATE, from, event, errptr);
}

int ac_run_state_next(int from, int event, char** errptr) {
  return Transition<RunState, RunEvent, NextRunState>(AC_ENUM_RUN_STATE, from, event, errptr);
}

int ac_session_state_next(int from, int event, char** errptr) {
  return Transition<SessionState, SessionEvent, NextSessionState>(AC_ENUM_SESSION_STATE, from,
                                                                  event, errptr);
}

int ac_run_state_is_final(int state) {
  return InRange(AC_ENUM_RUN_STATE, state) && IsFinalRunState(static_cast<RunState>(state)) ? 1
                                                                                            : 0;
}

int ac_roster_status_next(int from, int action, ac_roster_transition* out, char** errptr) {
  return Guard<int>(errptr, AC_INTERNAL, [&]() -> int {
    if (out == nullptr) return NullArgument(errptr, "out");
    if (Status s = CheckValue(AC_ENUM_ROSTER_STATUS, from); !s.ok()) return SetError(errptr, s);
    if (Status s = CheckValue(AC_ENUM_ROSTER_ACTION, action); !s.ok()) return SetError(errptr, s);
    Result<RosterTransition> next =
        NextRosterStatus(static_cast<RosterStatus>(from), static_cast<RosterAction>(action));
    if (!next.ok()) return SetError(errptr, next.status());
    out->deleted = next->to.has_value() ? 0 : 1;
    out->to = next->to.has_value() ? static_cast<int>(*next->to) : -1;
    out->suspend_runtime = next->suspend_runtime ? 1 : 0;
    out->activate_runtime = next->activate_runtime ? 1 : 0;
    return AC_OK;
  });
}

const char* ac_roster_rejection_text(int from, int action) {
  if (!InRange(AC_ENUM_ROSTER_STATUS, from) || !InRange(AC_ENUM_ROSTER_ACTION, action)) return "";
  // Refusals are static literals, NUL-terminated; an allowed action gives an empty view whose
  // data() may be null.
  const std::string_view text =
      RosterRejectionText(static_cast<RosterStatus>(from), static_cast<RosterAction>(action));
  return text.empty() ? "" : text.data();
}

const char* ac_enum_name(int which, int value) {
  if (!InRange(which, value)) return "unknown";
  // The name functions return views of string literals: NUL-terminated, static.
  return kEnumerations[static_cast<std::size_t>(which)].name(value).data();
}

int ac_enum_parse(int which, const char* name, char** errptr) {
  return Guard<int>(errptr, -1, [&]() -> int {
    if (which < 0 || which >= static_cast<int>(kEnumerations.size())) {
      return SetError(errptr, InvalidArgument("unknown enumeration " + std::to_string(which))), -1;
    }
    if (name == nullptr) return NullArgument(errptr, "name"), -1;
    Result<int> value = kEnumerations[static_cast<std::size_t>(which)].parse(name);
    if (!value.ok()) return SetError(errptr, value.status()), -1;
    return *value;
  });
}

}  // extern "C"
