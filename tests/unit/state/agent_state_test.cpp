// SPDX-License-Identifier: Apache-2.0
#include <agentcore/state/agent_state.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "support/manual_clock.hpp"

using agentcore::ActivateOutcome;
using agentcore::ActivationEvent;
using agentcore::ActivationState;
using agentcore::AgentLifecycle;
using agentcore::AgentPolicy;
using agentcore::AgentStatus;
using agentcore::AgentStatusEvent;
using agentcore::AgentTimeout;
using agentcore::ErrorCode;
using agentcore::MessageDisposition;
using agentcore::RosterAction;
using agentcore::RosterStatus;
using agentcore::RosterTransition;
using agentcore::UnixMillis;
using agentcore::testing::ManualClock;
using std::chrono::milliseconds;

namespace doctest {
template <>
struct StringMaker<AgentStatus> {
  static String convert(AgentStatus v) {
    return std::string(agentcore::AgentStatusName(v)).c_str();
  }
};
template <>
struct StringMaker<RosterStatus> {
  static String convert(RosterStatus v) {
    return std::string(agentcore::RosterStatusName(v)).c_str();
  }
};
template <>
struct StringMaker<ActivationState> {
  static String convert(ActivationState v) {
    return std::string(agentcore::ActivationStateName(v)).c_str();
  }
};
}  // namespace doctest

namespace {

// Splits a table row such as "online  -  busy" into its words.
std::vector<std::string> Words(std::string_view row) {
  std::vector<std::string> words;
  std::size_t i = 0;
  while (i < row.size()) {
    while (i < row.size() && row[i] == ' ') ++i;
    std::size_t j = i;
    while (j < row.size() && row[j] != ' ') ++j;
    if (j > i) words.emplace_back(row.substr(i, j - i));
    i = j;
  }
  return words;
}

using Ids = std::vector<std::string>;

// ---------------------------------------------------------------------------------------------
// Runtime agent status

TEST_SUITE("AgentStatus") {
  TEST_CASE("follows the runtime agent status table of cast.md 5.9 for every status and event") {
    // Copied from cast.md §5.9 with the columns in kAllAgentStatuses order (the spec orders
    // them offline, activating, online, busy, error, suspending).
    using enum AgentStatusEvent;
    struct Row {
      AgentStatusEvent event;
      std::string_view to;
    };
    const std::vector<std::string> columns =
        Words("offline activating online busy suspending error");
    // clang-format off
    const std::array<Row, 6> expected = {{
        //            offline    activating online  busy    suspending error
        {kActivate,  "activating activating online  busy    activating activating"},
        {kCheckin,   "online     online     online  busy    online     online"},
        {kFrame,     "offline    activating busy    busy    suspending error"},
        {kIdleFrame, "offline    activating online  online  suspending error"},
        {kSuspend,   "offline    offline    offline offline offline    offline"},
        {kError,     "error      error      error   error   error      error"},
    }};
    // clang-format on
    REQUIRE(columns.size() == agentcore::kAllAgentStatuses.size());
    for (std::size_t s = 0; s < columns.size(); ++s) {
      REQUIRE(agentcore::AgentStatusName(agentcore::kAllAgentStatuses[s]) == columns[s]);
    }
    REQUIRE(expected.size() == agentcore::kAllAgentStatusEvents.size());
    for (std::size_t e = 0; e < expected.size(); ++e) {
      REQUIRE(expected[e].event == agentcore::kAllAgentStatusEvents[e]);
      const std::vector<std::string> to = Words(expected[e].to);
      REQUIRE(to.size() == columns.size());
      for (std::size_t s = 0; s < columns.size(); ++s) {
        CAPTURE(agentcore::AgentStatusEventName(expected[e].event));
        CAPTURE(columns[s]);
        const AgentStatus next =
            agentcore::NextAgentStatus(agentcore::kAllAgentStatuses[s], expected[e].event);
        CHECK(agentcore::AgentStatusName(next) == to[s]);
      }
    }
  }

  TEST_CASE("maps values outside the enumerators to error") {
    CHECK(agentcore::NextAgentStatus(static_cast<AgentStatus>(6), AgentStatusEvent::kCheckin) ==
          AgentStatus::kError);
    CHECK(agentcore::NextAgentStatus(static_cast<AgentStatus>(200), AgentStatusEvent::kSuspend) ==
          AgentStatus::kError);
    CHECK(agentcore::NextAgentStatus(AgentStatus::kOnline, static_cast<AgentStatusEvent>(6)) ==
          AgentStatus::kError);
  }

  TEST_CASE("counts only online and busy as online") {
    for (AgentStatus s : agentcore::kAllAgentStatuses) {
      CAPTURE(s);
      CHECK(agentcore::IsAgentStatusOnline(s) ==
            (s == AgentStatus::kOnline || s == AgentStatus::kBusy));
    }
  }

  TEST_CASE("names every status and event with a stable snake_case string") {
    const std::array<std::string_view, 6> statuses = {"offline", "activating", "online",
                                                      "busy",    "suspending", "error"};
    for (std::size_t i = 0; i < statuses.size(); ++i) {
      CHECK(agentcore::AgentStatusName(agentcore::kAllAgentStatuses[i]) == statuses[i]);
    }
    const std::array<std::string_view, 6> events = {"activate",   "checkin", "frame",
                                                    "idle_frame", "suspend", "error"};
    for (std::size_t i = 0; i < events.size(); ++i) {
      CHECK(agentcore::AgentStatusEventName(agentcore::kAllAgentStatusEvents[i]) == events[i]);
    }
    CHECK(agentcore::AgentStatusName(static_cast<AgentStatus>(99)) == "unknown");
    CHECK(agentcore::AgentStatusEventName(static_cast<AgentStatusEvent>(99)) == "unknown");
  }

  TEST_CASE("parses every name back to its value") {
    for (AgentStatus s : agentcore::kAllAgentStatuses) {
      auto parsed = agentcore::ParseAgentStatus(agentcore::AgentStatusName(s));
      REQUIRE(parsed.has_value());
      CHECK(*parsed == s);
    }
    for (AgentStatusEvent e : agentcore::kAllAgentStatusEvents) {
      auto parsed = agentcore::ParseAgentStatusEvent(agentcore::AgentStatusEventName(e));
      REQUIRE(parsed.has_value());
      CHECK(*parsed == e);
    }
  }

  TEST_CASE("rejects unknown status and event names") {
    for (std::string_view bad : {"", "Online", "online ", "unknown", "idle", "stale"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseAgentStatus(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown agent status \"" + std::string(bad) + "\"");
    }
    for (std::string_view bad : {"", "idle", "idleFrame", "unknown", "timeout"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseAgentStatusEvent(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown agent status event \"" + std::string(bad) + "\"");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Roster status

// One cell of the roster table: either a transition, or Cast's rejection text.
struct RosterCell {
  std::optional<RosterStatus> to;
  bool suspend_runtime = false;
  bool activate_runtime = false;
  std::string_view rejection;  // non-empty: refused
};

RosterCell To(RosterStatus to, bool suspend, bool activate) { return {to, suspend, activate, {}}; }
RosterCell Removed() { return {std::nullopt, false, false, {}}; }
RosterCell No(std::string_view text) { return {std::nullopt, false, false, text}; }

std::string LowerFirst(std::string_view text) {
  std::string out(text);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] + 32);
  return out;
}

TEST_SUITE("RosterStatus") {
  TEST_CASE("follows the roster table of cast.md 5.9 and 4.6 for every status and action") {
    using enum RosterStatus;
    constexpr bool S = true;  // suspend_runtime
    constexpr bool A = true;  // activate_runtime
    const RosterCell already_paused = No("Agent is already paused");
    const RosterCell pause_archived = No("Cannot pause archived agent");
    const RosterCell not_paused = No("Agent is not paused");
    const RosterCell activate_archived = No("Cannot activate archived agent");
    const RosterCell already_dismissed = No("Agent is already dismissed");
    const RosterCell not_dismissed = No("Agent is not dismissed");
    struct Row {
      RosterAction action;
      std::array<RosterCell, 6> cells;
    };
    const std::array<Row, 6> expected = {{
        // columns: active, idle, busy, offline, paused, archived
        {RosterAction::kPause,
         {To(kPaused, S, false), To(kPaused, S, false), To(kPaused, S, false),
          To(kPaused, S, false), already_paused, pause_archived}},
        {RosterAction::kResume,
         {not_paused, not_paused, not_paused, not_paused, To(kActive, false, false), not_paused}},
        {RosterAction::kActivate,
         {To(kActive, false, A), To(kIdle, false, A), To(kBusy, false, A), To(kOffline, false, A),
          To(kActive, false, A), activate_archived}},
        {RosterAction::kDismiss,
         {To(kArchived, S, false), To(kArchived, S, false), To(kArchived, S, false),
          To(kArchived, S, false), To(kArchived, S, false), already_dismissed}},
        {RosterAction::kUnarchive,
         {not_dismissed, not_dismissed, not_dismissed, not_dismissed, not_dismissed,
          To(kActive, false, A)}},
        {RosterAction::kRemove, {Removed(), Removed(), Removed(), Removed(), Removed(), Removed()}},
    }};
    const std::array<RosterStatus, 6> columns = {kActive,  kIdle,   kBusy,
                                                 kOffline, kPaused, kArchived};
    const std::array<std::string_view, 6> column_names = {"active",  "idle",   "busy",
                                                          "offline", "paused", "archived"};
    const std::array<std::string_view, 6> action_names = {"pause",   "resume",    "activate",
                                                          "dismiss", "unarchive", "remove"};
    REQUIRE(columns == agentcore::kAllRosterStatuses);
    REQUIRE(expected.size() == agentcore::kAllRosterActions.size());
    for (std::size_t a = 0; a < expected.size(); ++a) {
      REQUIRE(expected[a].action == agentcore::kAllRosterActions[a]);
      for (std::size_t s = 0; s < columns.size(); ++s) {
        const RosterCell& cell = expected[a].cells[s];
        CAPTURE(action_names[a]);
        CAPTURE(column_names[s]);
        auto got = agentcore::NextRosterStatus(columns[s], expected[a].action);
        CHECK(agentcore::RosterRejectionText(columns[s], expected[a].action) == cell.rejection);
        if (cell.rejection.empty()) {
          REQUIRE(got.has_value());
          CHECK(*got == RosterTransition{cell.to, cell.suspend_runtime, cell.activate_runtime});
        } else {
          REQUIRE_FALSE(got.has_value());
          CHECK(got.error().code() == ErrorCode::kConflict);
          CHECK(got.error().message() == "cannot " + std::string(action_names[a]) +
                                             " agent in status \"" + std::string(column_names[s]) +
                                             "\": " + LowerFirst(cell.rejection));
        }
      }
    }
  }

  TEST_CASE("refuses with messages that name the action, the status and Cast's reason") {
    auto paused = agentcore::NextRosterStatus(RosterStatus::kPaused, RosterAction::kPause);
    REQUIRE_FALSE(paused.has_value());
    CHECK(paused.error().message() ==
          "cannot pause agent in status \"paused\": agent is already paused");
    auto resume = agentcore::NextRosterStatus(RosterStatus::kArchived, RosterAction::kResume);
    REQUIRE_FALSE(resume.has_value());
    CHECK(resume.error().message() ==
          "cannot resume agent in status \"archived\": agent is not paused");
    CHECK(agentcore::RosterRejectionText(RosterStatus::kArchived, RosterAction::kPause) ==
          "Cannot pause archived agent");
  }

  TEST_CASE("rejects values outside the enumerators as invalid arguments") {
    auto bad_status =
        agentcore::NextRosterStatus(static_cast<RosterStatus>(6), RosterAction::kRemove);
    REQUIRE_FALSE(bad_status.has_value());
    CHECK(bad_status.error().code() == ErrorCode::kInvalidArgument);
    CHECK(bad_status.error().message() == "invalid roster status 6");
    auto bad_action =
        agentcore::NextRosterStatus(RosterStatus::kActive, static_cast<RosterAction>(9));
    REQUIRE_FALSE(bad_action.has_value());
    CHECK(bad_action.error().code() == ErrorCode::kInvalidArgument);
    CHECK(bad_action.error().message() == "invalid roster action 9");
    CHECK(
        agentcore::RosterRejectionText(static_cast<RosterStatus>(6), RosterAction::kPause).empty());
  }

  TEST_CASE("round-trips every status and action name and rejects unknown ones") {
    for (RosterStatus s : agentcore::kAllRosterStatuses) {
      auto parsed = agentcore::ParseRosterStatus(agentcore::RosterStatusName(s));
      REQUIRE(parsed.has_value());
      CHECK(*parsed == s);
    }
    for (RosterAction a : agentcore::kAllRosterActions) {
      auto parsed = agentcore::ParseRosterAction(agentcore::RosterActionName(a));
      REQUIRE(parsed.has_value());
      CHECK(*parsed == a);
    }
    CHECK(agentcore::RosterStatusName(RosterStatus::kArchived) == "archived");
    CHECK(agentcore::RosterActionName(RosterAction::kUnarchive) == "unarchive");
    CHECK(agentcore::RosterStatusName(static_cast<RosterStatus>(42)) == "unknown");
    CHECK(agentcore::RosterActionName(static_cast<RosterAction>(42)) == "unknown");
    for (std::string_view bad : {"", "Active", "dismissed", "removed", "unknown"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseRosterStatus(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown roster status \"" + std::string(bad) + "\"");
    }
    for (std::string_view bad : {"", "delete", "Pause", "unknown"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseRosterAction(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown roster action \"" + std::string(bad) + "\"");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Activation state machine and liveness

TEST_SUITE("ActivationState") {
  TEST_CASE("follows the activation table for every state and event") {
    using enum ActivationEvent;
    struct Row {
      ActivationEvent event;
      std::string_view to;       // "-" means refused
      std::string_view refusal;  // refused as "cannot <refusal> agent in state ..."
    };
    const std::vector<std::string> columns =
        Words("inactive activating active stale failed suspended");
    // clang-format off
    const std::array<Row, 7> expected = {{
        //                    inactive   activating active    stale      failed     suspended
        {kActivate,          "activating activating active    activating activating activating",
                             ""},
        {kCheckin,           "active     active     active    active     active     active", ""},
        {kHeartbeat,         "-          -          active    active     -          -",
                             "accept heartbeat for"},
        {kSuspend,           "suspended  suspended  suspended suspended  suspended  suspended",
                             ""},
        {kFail,              "-          failed     failed    failed     -          -", "fail"},
        {kHeartbeatTimeout,  "-          -          stale     -          -          -",
                             "expire heartbeat of"},
        {kActivationTimeout, "-          failed     -         -          -          -",
                             "time out activation of"},
    }};
    // clang-format on
    REQUIRE(columns.size() == agentcore::kAllActivationStates.size());
    for (std::size_t s = 0; s < columns.size(); ++s) {
      REQUIRE(agentcore::ActivationStateName(agentcore::kAllActivationStates[s]) == columns[s]);
    }
    REQUIRE(expected.size() == agentcore::kAllActivationEvents.size());
    for (std::size_t e = 0; e < expected.size(); ++e) {
      REQUIRE(expected[e].event == agentcore::kAllActivationEvents[e]);
      const std::vector<std::string> to = Words(expected[e].to);
      REQUIRE(to.size() == columns.size());
      for (std::size_t s = 0; s < columns.size(); ++s) {
        CAPTURE(agentcore::ActivationEventName(expected[e].event));
        CAPTURE(columns[s]);
        auto got =
            agentcore::NextActivationState(agentcore::kAllActivationStates[s], expected[e].event);
        if (to[s] != "-") {
          REQUIRE(got.has_value());
          CHECK(agentcore::ActivationStateName(*got) == to[s]);
        } else {
          REQUIRE_FALSE(got.has_value());
          CHECK(got.error().code() == ErrorCode::kConflict);
          CHECK(got.error().message() == "cannot " + std::string(expected[e].refusal) +
                                             " agent in state \"" + columns[s] + "\"");
        }
      }
    }
  }

  TEST_CASE("rejects values outside the enumerators as invalid arguments") {
    auto bad_state =
        agentcore::NextActivationState(static_cast<ActivationState>(6), ActivationEvent::kCheckin);
    REQUIRE_FALSE(bad_state.has_value());
    CHECK(bad_state.error().code() == ErrorCode::kInvalidArgument);
    CHECK(bad_state.error().message() == "invalid activation state 6");
    auto bad_event =
        agentcore::NextActivationState(ActivationState::kActive, static_cast<ActivationEvent>(7));
    REQUIRE_FALSE(bad_event.has_value());
    CHECK(bad_event.error().code() == ErrorCode::kInvalidArgument);
    CHECK(bad_event.error().message() == "invalid activation event 7");
  }

  TEST_CASE("round-trips every state and event name and rejects unknown ones") {
    const std::array<std::string_view, 7> events = {
        "activate", "checkin",           "heartbeat",         "suspend",
        "fail",     "heartbeat_timeout", "activation_timeout"};
    for (std::size_t i = 0; i < events.size(); ++i) {
      CHECK(agentcore::ActivationEventName(agentcore::kAllActivationEvents[i]) == events[i]);
      auto parsed = agentcore::ParseActivationEvent(events[i]);
      REQUIRE(parsed.has_value());
      CHECK(*parsed == agentcore::kAllActivationEvents[i]);
    }
    for (ActivationState s : agentcore::kAllActivationStates) {
      auto parsed = agentcore::ParseActivationState(agentcore::ActivationStateName(s));
      REQUIRE(parsed.has_value());
      CHECK(*parsed == s);
    }
    CHECK(agentcore::ActivationStateName(ActivationState::kSuspended) == "suspended");
    CHECK(agentcore::ActivationStateName(static_cast<ActivationState>(77)) == "unknown");
    CHECK(agentcore::ActivationEventName(static_cast<ActivationEvent>(77)) == "unknown");
    for (std::string_view bad : {"", "online", "Active", "unknown"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseActivationState(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown activation state \"" + std::string(bad) + "\"");
    }
    for (std::string_view bad : {"", "timeout", "check_in", "unknown"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseActivationEvent(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown activation event \"" + std::string(bad) + "\"");
    }
  }
}

TEST_SUITE("Liveness") {
  TEST_CASE("a heartbeat is fresh up to exactly 60 000 ms and stale 1 ms later") {
    const UnixMillis hb = 1'000'000;
    CHECK(agentcore::IsHeartbeatFresh(hb, hb));
    CHECK(agentcore::IsHeartbeatFresh(hb, hb + 59'999));
    CHECK(agentcore::IsHeartbeatFresh(hb, hb + 60'000));
    CHECK_FALSE(agentcore::IsHeartbeatFresh(hb, hb + 60'001));
  }

  TEST_CASE("no heartbeat is stale and a heartbeat from the future is fresh") {
    CHECK_FALSE(agentcore::IsHeartbeatFresh(std::nullopt, 0));
    CHECK_FALSE(agentcore::IsHeartbeatFresh(std::nullopt, 1'000'000));
    CHECK(agentcore::IsHeartbeatFresh(2'000'000, 1'000'000));
  }

  TEST_CASE("staleness is configurable") {
    CHECK(agentcore::IsHeartbeatFresh(1'000, 6'000, milliseconds{5'000}));
    CHECK_FALSE(agentcore::IsHeartbeatFresh(1'000, 6'001, milliseconds{5'000}));
    CHECK(agentcore::IsHeartbeatFresh(1'000, 1'000, milliseconds{0}));
    CHECK_FALSE(agentcore::IsHeartbeatFresh(1'000, 1'001, milliseconds{0}));
  }

  TEST_CASE("an agent is online only with a callback URL and a fresh heartbeat") {
    const UnixMillis hb = 5'000'000;
    CHECK(agentcore::IsAgentOnline(true, hb, hb + 60'000));
    CHECK_FALSE(agentcore::IsAgentOnline(true, hb, hb + 60'001));
    CHECK_FALSE(agentcore::IsAgentOnline(false, hb, hb));
    CHECK_FALSE(agentcore::IsAgentOnline(true, std::nullopt, hb));
    CHECK_FALSE(agentcore::IsAgentOnline(true, hb, hb + 2'001, milliseconds{2'000}));
  }
}

// ---------------------------------------------------------------------------------------------
// AgentLifecycle

TEST_SUITE("AgentLifecycle") {
  TEST_CASE("starts inactive, offline and with nothing pending") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    CHECK(agent.state() == ActivationState::kInactive);
    CHECK(agent.state_since() == clock.NowMillis());
    CHECK_FALSE(agent.last_heartbeat().has_value());
    CHECK(agent.pending().empty());
    CHECK_FALSE(agent.IsOnline(clock.NowMillis()));
    CHECK(agent.policy() == AgentPolicy{});
    CHECK(agent.policy().heartbeat_staleness == milliseconds{60'000});
    CHECK(agent.policy().activation_timeout == milliseconds{180'000});
    CHECK(agent.Sweep(clock.NowMillis() + 10'000'000) == AgentTimeout::kNone);
  }

  TEST_CASE("activation is fire-and-forget: starts once, then checkin makes the agent online") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    const UnixMillis started = clock.NowMillis();
    CHECK(agent.Activate(started) == ActivateOutcome::kStartRuntime);
    CHECK(agent.state() == ActivationState::kActivating);
    CHECK(agent.state_since() == started);
    CHECK_FALSE(agent.IsOnline(started));

    clock.Advance(5'000);
    CHECK(agent.Activate(clock.NowMillis()) == ActivateOutcome::kAlreadyActivating);
    CHECK(agent.state_since() == started);

    clock.Advance(1'000);
    CHECK(agent.Checkin(clock.NowMillis()).empty());
    CHECK(agent.state() == ActivationState::kActive);
    CHECK(agent.last_heartbeat() == clock.NowMillis());
    CHECK(agent.state_since() == clock.NowMillis());
    CHECK(agent.IsOnline(clock.NowMillis()));
    CHECK(agent.Activate(clock.NowMillis()) == ActivateOutcome::kAlreadyActive);
    CHECK(agent.state() == ActivationState::kActive);
  }

  TEST_CASE("a checked-in agent goes stale after 60 000 ms without a heartbeat, not at it") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    (void)agent.Activate(clock.NowMillis());
    (void)agent.Checkin(clock.NowMillis());
    const UnixMillis checked_in = clock.NowMillis();

    clock.Set(checked_in + 59'999);
    CHECK(agent.Sweep(clock.NowMillis()) == AgentTimeout::kNone);
    CHECK(agent.IsOnline(clock.NowMillis()));
    clock.Set(checked_in + 60'000);
    CHECK(agent.Sweep(clock.NowMillis()) == AgentTimeout::kNone);
    CHECK(agent.state() == ActivationState::kActive);
    CHECK(agent.IsOnline(clock.NowMillis()));
    clock.Set(checked_in + 60'001);
    CHECK_FALSE(agent.IsOnline(clock.NowMillis()));  // before any sweep
    CHECK(agent.Sweep(clock.NowMillis()) == AgentTimeout::kHeartbeatStale);
    CHECK(agent.state() == ActivationState::kStale);
    CHECK(agent.state_since() == checked_in + 60'001);
    CHECK(agent.Sweep(clock.NowMillis()) == AgentTimeout::kNone);  // reported once
    CHECK(agent.state() == ActivationState::kStale);
  }

  TEST_CASE("heartbeats keep an agent fresh and revive a stale one") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    (void)agent.Checkin(clock.NowMillis());
    clock.Advance(30'000);
    REQUIRE(agent.Heartbeat(clock.NowMillis()).ok());
    CHECK(agent.last_heartbeat() == clock.NowMillis());
    const UnixMillis beat = clock.NowMillis();
    clock.Advance(60'000);  // 90 s after checkin, 60 s after the heartbeat
    CHECK(agent.Sweep(clock.NowMillis()) == AgentTimeout::kNone);
    clock.Advance(1);
    CHECK(agent.Sweep(clock.NowMillis()) == AgentTimeout::kHeartbeatStale);
    clock.Advance(10'000);
    REQUIRE(agent.Heartbeat(clock.NowMillis()).ok());
    CHECK(agent.state() == ActivationState::kActive);
    CHECK(agent.last_heartbeat() > beat);
    CHECK(agent.IsOnline(clock.NowMillis()));
  }

  TEST_CASE("refuses a heartbeat from an agent that has not checked in") {
    ManualClock clock;
    AgentLifecycle inactive(clock.NowMillis());
    agentcore::Status s = inactive.Heartbeat(clock.NowMillis());
    CHECK(s.code() == ErrorCode::kConflict);
    CHECK(s.message() == "cannot accept heartbeat for agent in state \"inactive\"");
    CHECK_FALSE(inactive.last_heartbeat().has_value());

    AgentLifecycle activating(clock.NowMillis());
    (void)activating.Activate(clock.NowMillis());
    s = activating.Heartbeat(clock.NowMillis());
    CHECK(s.message() == "cannot accept heartbeat for agent in state \"activating\"");
    CHECK(activating.state() == ActivationState::kActivating);

    AgentLifecycle suspended(clock.NowMillis());
    (void)suspended.Checkin(clock.NowMillis());
    suspended.Suspend(clock.NowMillis());
    s = suspended.Heartbeat(clock.NowMillis() + 1);
    CHECK(s.message() == "cannot accept heartbeat for agent in state \"suspended\"");
    CHECK(suspended.last_heartbeat() == clock.NowMillis());
  }

  TEST_CASE("activation times out after 180 000 ms, not at it, and asks for cleanup once") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    const UnixMillis started = clock.NowMillis();
    REQUIRE(agent.Activate(started) == ActivateOutcome::kStartRuntime);
    CHECK(agent.Sweep(started + 179'999) == AgentTimeout::kNone);
    CHECK(agent.Sweep(started + 180'000) == AgentTimeout::kNone);
    CHECK(agent.state() == ActivationState::kActivating);
    CHECK(agent.Sweep(started + 180'001) == AgentTimeout::kActivationTimeout);
    CHECK(agent.state() == ActivationState::kFailed);
    CHECK(agent.state_since() == started + 180'001);
    CHECK(agent.Sweep(started + 500'000) == AgentTimeout::kNone);
    CHECK(agent.state() == ActivationState::kFailed);
    // Re-activation from failed starts a new activation with a fresh timer.
    CHECK(agent.Activate(started + 500'000) == ActivateOutcome::kStartRuntime);
    CHECK(agent.Sweep(started + 680'000) == AgentTimeout::kNone);
    CHECK(agent.Sweep(started + 680'001) == AgentTimeout::kActivationTimeout);
  }

  TEST_CASE("a repeated activate does not extend the activation timeout") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    const UnixMillis started = clock.NowMillis();
    (void)agent.Activate(started);
    CHECK(agent.Activate(started + 170'000) == ActivateOutcome::kAlreadyActivating);
    CHECK(agent.Sweep(started + 180'001) == AgentTimeout::kActivationTimeout);
  }

  TEST_CASE("a checkin before the activation timeout prevents it") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    const UnixMillis started = clock.NowMillis();
    (void)agent.Activate(started);
    (void)agent.Checkin(started + 180'000);
    CHECK(agent.Sweep(started + 180'001) == AgentTimeout::kNone);
    CHECK(agent.state() == ActivationState::kActive);
  }

  TEST_CASE("uses configured timeouts instead of the defaults") {
    AgentPolicy policy;
    policy.heartbeat_staleness = milliseconds{5'000};
    policy.activation_timeout = milliseconds{10'000};
    AgentLifecycle agent(0, policy);
    CHECK(agent.policy() == policy);
    (void)agent.Activate(0);
    CHECK(agent.Sweep(10'000) == AgentTimeout::kNone);
    CHECK(agent.Sweep(10'001) == AgentTimeout::kActivationTimeout);
    (void)agent.Checkin(20'000);
    CHECK(agent.Sweep(25'000) == AgentTimeout::kNone);
    CHECK(agent.IsOnline(25'000));
    CHECK_FALSE(agent.IsOnline(25'001));
    CHECK(agent.Sweep(25'001) == AgentTimeout::kHeartbeatStale);
  }

  TEST_CASE("activate on an agent whose heartbeat went stale starts a new activation") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    (void)agent.Checkin(clock.NowMillis());
    clock.Advance(60'001);  // no sweep has run: the state still says active
    REQUIRE(agent.state() == ActivationState::kActive);
    CHECK(agent.Activate(clock.NowMillis()) == ActivateOutcome::kStartRuntime);
    CHECK(agent.state() == ActivationState::kActivating);
    CHECK(agent.state_since() == clock.NowMillis());

    AgentLifecycle swept(0);
    (void)swept.Checkin(0);
    CHECK(swept.Sweep(60'001) == AgentTimeout::kHeartbeatStale);
    CHECK(swept.Activate(60'002) == ActivateOutcome::kStartRuntime);
    CHECK(swept.state() == ActivationState::kActivating);
  }

  TEST_CASE("messages wait while the agent activates and are released exactly once at checkin") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    CHECK(agent.Enqueue("m1", clock.NowMillis()) == MessageDisposition::kQueued);  // inactive
    (void)agent.Activate(clock.NowMillis());
    CHECK(agent.Enqueue("m2", clock.NowMillis()) == MessageDisposition::kQueued);
    CHECK(agent.Enqueue("m3", clock.NowMillis()) == MessageDisposition::kQueued);
    CHECK(agent.Enqueue("m2", clock.NowMillis()) == MessageDisposition::kQueued);  // no duplicate
    CHECK(agent.pending() == Ids{"m1", "m2", "m3"});

    clock.Advance(2'000);
    CHECK(agent.Checkin(clock.NowMillis()) == Ids{"m1", "m2", "m3"});
    CHECK(agent.pending().empty());
    CHECK(agent.Checkin(clock.NowMillis()).empty());  // released once only
  }

  TEST_CASE("an online agent gets messages directly and nothing is kept") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    (void)agent.Checkin(clock.NowMillis());
    CHECK(agent.Enqueue("m1", clock.NowMillis() + 60'000) == MessageDisposition::kDeliverNow);
    CHECK(agent.pending().empty());
    // Stale by time, even though no sweep has run: the message must wait.
    CHECK(agent.Enqueue("m2", clock.NowMillis() + 60'001) == MessageDisposition::kQueued);
    CHECK(agent.pending() == Ids{"m2"});
  }

  TEST_CASE("pending messages survive an activation timeout and reach the next checkin") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    (void)agent.Activate(clock.NowMillis());
    (void)agent.Enqueue("m1", clock.NowMillis());
    clock.Advance(180'001);
    REQUIRE(agent.Sweep(clock.NowMillis()) == AgentTimeout::kActivationTimeout);
    CHECK(agent.pending() == Ids{"m1"});
    (void)agent.Enqueue("m2", clock.NowMillis());  // queued while failed
    CHECK(agent.Activate(clock.NowMillis()) == ActivateOutcome::kStartRuntime);
    CHECK(agent.pending() == Ids{"m1", "m2"});
    clock.Advance(1'000);
    CHECK(agent.Checkin(clock.NowMillis()) == Ids{"m1", "m2"});
  }

  TEST_CASE("pending messages survive suspend, failure and staleness") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    (void)agent.Checkin(clock.NowMillis());
    clock.Advance(60'001);
    REQUIRE(agent.Sweep(clock.NowMillis()) == AgentTimeout::kHeartbeatStale);
    CHECK(agent.Enqueue("while-stale", clock.NowMillis()) == MessageDisposition::kQueued);
    REQUIRE(agent.Fail(clock.NowMillis()).ok());
    CHECK(agent.state() == ActivationState::kFailed);
    CHECK(agent.Enqueue("while-failed", clock.NowMillis()) == MessageDisposition::kQueued);
    agent.Suspend(clock.NowMillis());
    CHECK(agent.state() == ActivationState::kSuspended);
    CHECK(agent.Enqueue("while-suspended", clock.NowMillis()) == MessageDisposition::kQueued);
    CHECK(agent.pending() == Ids{"while-stale", "while-failed", "while-suspended"});
    CHECK(agent.Checkin(clock.NowMillis()) ==
          Ids{"while-stale", "while-failed", "while-suspended"});
  }

  TEST_CASE("suspend is idempotent and is accepted in every state") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    agent.Suspend(clock.NowMillis());
    CHECK(agent.state() == ActivationState::kSuspended);
    const UnixMillis since = agent.state_since();
    clock.Advance(1'000);
    agent.Suspend(clock.NowMillis());
    CHECK(agent.state() == ActivationState::kSuspended);
    CHECK(agent.state_since() == since);
    CHECK(agent.Activate(clock.NowMillis()) == ActivateOutcome::kStartRuntime);
    agent.Suspend(clock.NowMillis());
    CHECK(agent.state() == ActivationState::kSuspended);
    CHECK(agent.Sweep(clock.NowMillis() + 1'000'000) == AgentTimeout::kNone);
  }

  TEST_CASE("refuses to fail an agent that is not running") {
    ManualClock clock;
    AgentLifecycle agent(clock.NowMillis());
    agentcore::Status s = agent.Fail(clock.NowMillis());
    CHECK(s.code() == ErrorCode::kConflict);
    CHECK(s.message() == "cannot fail agent in state \"inactive\"");
    (void)agent.Activate(clock.NowMillis());
    REQUIRE(agent.Fail(clock.NowMillis()).ok());
    s = agent.Fail(clock.NowMillis());
    CHECK(s.message() == "cannot fail agent in state \"failed\"");
  }

  TEST_CASE("restores a lifecycle from stored fields") {
    auto restored = AgentLifecycle::Restore(ActivationState::kActive, 1'000, 1'500, {"a", "b"});
    REQUIRE(restored.has_value());
    CHECK(restored->state() == ActivationState::kActive);
    CHECK(restored->state_since() == 1'000);
    CHECK(restored->last_heartbeat() == 1'500);
    CHECK(restored->pending() == Ids{"a", "b"});
    CHECK(restored->IsOnline(61'500));
    CHECK_FALSE(restored->IsOnline(61'501));

    auto activating = AgentLifecycle::Restore(ActivationState::kActivating, 1'000, std::nullopt, {},
                                              AgentPolicy{milliseconds{1}, milliseconds{50}});
    REQUIRE(activating.has_value());
    CHECK(activating->Sweep(1'050) == AgentTimeout::kNone);
    CHECK(activating->Sweep(1'051) == AgentTimeout::kActivationTimeout);

    // Restoring what a lifecycle reports gives an equal lifecycle.
    AgentLifecycle original(10);
    (void)original.Activate(20);
    (void)original.Enqueue("x", 30);
    auto copy =
        AgentLifecycle::Restore(original.state(), original.state_since(), original.last_heartbeat(),
                                original.pending(), original.policy());
    REQUIRE(copy.has_value());
    CHECK(*copy == original);
  }

  TEST_CASE("refuses to restore inconsistent fields") {
    auto no_heartbeat = AgentLifecycle::Restore(ActivationState::kStale, 0, std::nullopt, {});
    REQUIRE_FALSE(no_heartbeat.has_value());
    CHECK(no_heartbeat.error().code() == ErrorCode::kInvalidArgument);
    CHECK(no_heartbeat.error().message() == "agent in state \"stale\" needs a last heartbeat");
    CHECK_FALSE(AgentLifecycle::Restore(ActivationState::kActive, 0, std::nullopt, {}).has_value());

    auto bad_state = AgentLifecycle::Restore(static_cast<ActivationState>(9), 0, 0, {});
    REQUIRE_FALSE(bad_state.has_value());
    CHECK(bad_state.error().message() == "invalid activation state 9");

    auto empty_id = AgentLifecycle::Restore(ActivationState::kInactive, 0, std::nullopt, {"a", ""});
    REQUIRE_FALSE(empty_id.has_value());
    CHECK(empty_id.error().message() == "pending message id is empty");

    auto repeated =
        AgentLifecycle::Restore(ActivationState::kInactive, 0, std::nullopt, {"a", "b", "a"});
    REQUIRE_FALSE(repeated.has_value());
    CHECK(repeated.error().code() == ErrorCode::kInvalidArgument);
    CHECK(repeated.error().message() == "pending message id \"a\" is repeated");
  }
}

}  // namespace
