// SPDX-License-Identifier: Apache-2.0
// The state machines in Python (agentcore/state/*.hpp). States, events and actions are their
// stable names ("activating", "heartbeat_timeout", ...); the library parses them, so an unknown
// name is InvalidArgument and a refused transition Conflict, with the library's message.
// The lifecycles take time as Unix milliseconds.


#include <optional>
#include <string>
#include <vector>

#include <agentcore/state/agent_state.hpp>
#include <agentcore/state/run_state.hpp>
#include <agentcore/state/session_state.hpp>

#include "convert.hpp"
#include "modules.hpp"

namespace agentcore::python {

namespace {

template <typename Enum, std::size_t N, typename NameFn>
py::tuple Names(const std::array<Enum, N>& all, NameFn name) {
  py::tuple out(N);
  for (std::size_t i = 0; i < N; ++i) out[i] = Str(name(all[i]));
  return out;
}

void RegisterLifecycles(py::module_& m) {
  py::class_<RunLifecycle>(m, "RunLifecycle",
                           "One run's state, attempts and lease (agentcore/state/run_state.hpp).")
      .def(py::init([](int max_attempts, std::int64_t lease_ms) {
             if (max_attempts < 1 || lease_ms < 0) {
               throw StatusError(InvalidArgument("max_attempts must be >= 1 and lease_ms >= 0"));
             }
             return RunLifecycle(RunPolicy{max_attempts, std::chrono::milliseconds(lease_ms)});
           }),
           py::kw_only(), py::arg("max_attempts") = kDefaultRunMaxAttempts,
           py::arg("lease_ms") = kDefaultRunLease.count())
      .def_property_readonly("state", [](const RunLifecycle& r) { return Str(RunStateName(r.state())); })
      .def_property_readonly("attempts", &RunLifecycle::attempts)
      .def_property_readonly("lease_expires_at", &RunLifecycle::lease_expires_at)
      .def("claim", [](RunLifecycle& r, UnixMillis now) { Check(r.Claim(now)); }, py::arg("now"))
      .def("start_build", [](RunLifecycle& r, UnixMillis now) { Check(r.StartBuild(now)); },
           py::arg("now"))
      .def("heartbeat", [](RunLifecycle& r, UnixMillis now) { Check(r.Heartbeat(now)); },
           py::arg("now"))
      .def("complete", [](RunLifecycle& r) { Check(r.Complete()); })
      .def("fail", [](RunLifecycle& r) { return Str(RunStateName(Unwrap(r.Fail()))); },
           "Fails the attempt: \"queued\" when attempts remain, else \"failed\".")
      .def("cancel", [](RunLifecycle& r) { Check(r.Cancel()); })
      .def(
          "sweep",
          [](RunLifecycle& r, UnixMillis now) -> py::object {
            switch (r.Sweep(now)) {
              case RunTimeout::kNone: return py::none();
              case RunTimeout::kRequeued: return py::str("requeued");
              case RunTimeout::kFailed: return py::str("failed");
            }
            return py::none();
          },
          py::arg("now"), "None, \"requeued\" or \"failed\" when the lease expired before now.");

  py::class_<SessionLifecycle>(m, "SessionLifecycle",
                               "One session's state and container generation "
                               "(agentcore/state/session_state.hpp).")
      .def(py::init([](UnixMillis now, std::int64_t startup_timeout_ms) {
             if (startup_timeout_ms < 0) {
               throw StatusError(InvalidArgument("startup_timeout_ms must be >= 0"));
             }
             return SessionLifecycle(
                 now, SessionPolicy{std::chrono::milliseconds(startup_timeout_ms)});
           }),
           py::arg("now"), py::kw_only(),
           py::arg("startup_timeout_ms") = kDefaultSessionStartupTimeout.count())
      .def_property_readonly("state",
                             [](const SessionLifecycle& s) { return Str(SessionStateName(s.state())); })
      .def_property_readonly("state_since", &SessionLifecycle::state_since)
      .def_property_readonly("generation", &SessionLifecycle::generation)
      .def("mark_ready", [](SessionLifecycle& s, UnixMillis now) { Check(s.MarkReady(now)); }, py::arg("now"))
      .def("stop", [](SessionLifecycle& s, UnixMillis now) { Check(s.Stop(now)); }, py::arg("now"))
      .def("fail", [](SessionLifecycle& s, UnixMillis now) { Check(s.Fail(now)); }, py::arg("now"))
      .def("resume", [](SessionLifecycle& s, UnixMillis now) { Check(s.Resume(now)); }, py::arg("now"))
      .def("upgrade", [](SessionLifecycle& s, UnixMillis now) { Check(s.Upgrade(now)); }, py::arg("now"))
      .def("delete", [](SessionLifecycle& s, UnixMillis now) { Check(s.Delete(now)); }, py::arg("now"))
      .def(
          "sweep",
          [](SessionLifecycle& s, UnixMillis now) {
            return s.Sweep(now) == SessionTimeout::kStartupTimeout;
          },
          py::arg("now"), "True when the session was creating too long and is now failed.");

  py::class_<AgentLifecycle>(m, "AgentLifecycle",
                             "One agent's activation state, heartbeat and pending message ids "
                             "(agentcore/state/agent_state.hpp).")
      .def(py::init([](UnixMillis now, std::int64_t staleness_ms, std::int64_t activation_timeout_ms) {
             if (staleness_ms < 0 || activation_timeout_ms < 0) {
               throw StatusError(InvalidArgument("timeouts must be >= 0"));
             }
             AgentPolicy policy;
             policy.heartbeat_staleness = std::chrono::milliseconds(staleness_ms);
             policy.activation_timeout = std::chrono::milliseconds(activation_timeout_ms);
             return AgentLifecycle(now, policy);
           }),
           py::arg("now"), py::kw_only(),
           py::arg("heartbeat_staleness_ms") = AgentPolicy{}.heartbeat_staleness.count(),
           py::arg("activation_timeout_ms") = AgentPolicy{}.activation_timeout.count())
      .def_property_readonly("state",
                             [](const AgentLifecycle& a) { return Str(ActivationStateName(a.state())); })
      .def_property_readonly("last_heartbeat", &AgentLifecycle::last_heartbeat)
      .def_property_readonly("pending", &AgentLifecycle::pending)
      .def("is_online", &AgentLifecycle::IsOnline, py::arg("now"))
      .def(
          "activate",
          [](AgentLifecycle& a, UnixMillis now) {
            switch (a.Activate(now)) {
              case ActivateOutcome::kStartRuntime: return "start_runtime";
              case ActivateOutcome::kAlreadyActivating: return "already_activating";
              case ActivateOutcome::kAlreadyActive: return "already_active";
            }
            return "unknown";
          },
          py::arg("now"))
      .def("checkin", &AgentLifecycle::Checkin, py::arg("now"),
           "Becomes active; returns the pending message ids, oldest first, and clears them.")
      .def("heartbeat", [](AgentLifecycle& a, UnixMillis now) { Check(a.Heartbeat(now)); }, py::arg("now"))
      .def("suspend", &AgentLifecycle::Suspend, py::arg("now"))
      .def("fail", [](AgentLifecycle& a, UnixMillis now) { Check(a.Fail(now)); }, py::arg("now"))
      .def(
          "enqueue",
          [](AgentLifecycle& a, std::string_view id, UnixMillis now) {
            if (id.empty()) throw StatusError(InvalidArgument("message id must not be empty"));
            return a.Enqueue(id, now) == MessageDisposition::kDeliverNow ? "deliver_now" : "queued";
          },
          py::arg("message_id"), py::arg("now"))
      .def(
          "sweep",
          [](AgentLifecycle& a, UnixMillis now) -> py::object {
            switch (a.Sweep(now)) {
              case AgentTimeout::kNone: return py::none();
              case AgentTimeout::kHeartbeatStale: return py::str("heartbeat_stale");
              case AgentTimeout::kActivationTimeout: return py::str("activation_timeout");
            }
            return py::none();
          },
          py::arg("now"));
}

}  // namespace

void RegisterState(py::module_& m) {
  m.def(
      "next_activation_state",
      [](std::string_view state, std::string_view event) {
        return Str(ActivationStateName(Unwrap(NextActivationState(
            Unwrap(ParseActivationState(state)), Unwrap(ParseActivationEvent(event))))));
      },
      py::arg("state"), py::arg("event"),
      "An agent's activation state after `event` (Conflict when refused).");
  m.def(
      "next_roster_status",
      [](std::string_view status, std::string_view action) {
        const RosterTransition t = Unwrap(
            NextRosterStatus(Unwrap(ParseRosterStatus(status)), Unwrap(ParseRosterAction(action))));
        py::object to = t.to ? py::object(Str(RosterStatusName(*t.to))) : py::none();
        return Types().roster_transition(to, t.suspend_runtime, t.activate_runtime);
      },
      py::arg("status"), py::arg("action"),
      "RosterTransition(to, suspend_runtime, activate_runtime) (Conflict when Cast refuses).");
  m.def(
      "roster_rejection_text",
      [](std::string_view status, std::string_view action) {
        return Str(RosterRejectionText(Unwrap(ParseRosterStatus(status)),
                                       Unwrap(ParseRosterAction(action))));
      },
      py::arg("status"), py::arg("action"), "Cast's HTTP error text, or \"\" when allowed.");
  m.def(
      "next_run_state",
      [](std::string_view state, std::string_view event) {
        return Str(RunStateName(
            Unwrap(NextRunState(Unwrap(ParseRunState(state)), Unwrap(ParseRunEvent(event))))));
      },
      py::arg("state"), py::arg("event"));
  m.def(
      "is_final_run_state",
      [](std::string_view state) { return IsFinalRunState(Unwrap(ParseRunState(state))); },
      py::arg("state"));
  m.def(
      "next_session_state",
      [](std::string_view state, std::string_view event) {
        return Str(SessionStateName(Unwrap(
            NextSessionState(Unwrap(ParseSessionState(state)), Unwrap(ParseSessionEvent(event))))));
      },
      py::arg("state"), py::arg("event"));

  m.attr("ACTIVATION_STATES") = Names(kAllActivationStates, ActivationStateName);
  m.attr("ACTIVATION_EVENTS") = Names(kAllActivationEvents, ActivationEventName);
  m.attr("ROSTER_STATUSES") = Names(kAllRosterStatuses, RosterStatusName);
  m.attr("ROSTER_ACTIONS") = Names(kAllRosterActions, RosterActionName);
  m.attr("RUN_STATES") = Names(kAllRunStates, RunStateName);
  m.attr("RUN_EVENTS") = Names(kAllRunEvents, RunEventName);
  m.attr("SESSION_STATES") = Names(kAllSessionStates, SessionStateName);
  m.attr("SESSION_EVENTS") = Names(kAllSessionEvents, SessionEventName);
  RegisterLifecycles(m);
}

}  // namespace agentcore::python
