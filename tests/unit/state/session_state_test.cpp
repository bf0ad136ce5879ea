// SPDX-License-Identifier: Apache-2.0
#include <agentcore/state/session_state.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "support/manual_clock.hpp"

using agentcore::ErrorCode;
using agentcore::SessionEvent;
using agentcore::SessionLifecycle;
using agentcore::SessionPolicy;
using agentcore::SessionState;
using agentcore::SessionTimeout;
using agentcore::UnixMillis;
using agentcore::testing::ManualClock;
using std::chrono::milliseconds;

namespace doctest {
template <>
struct StringMaker<SessionState> {
  static String convert(SessionState v) {
    return std::string(agentcore::SessionStateName(v)).c_str();
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

constexpr std::array<std::string_view, 5> kStateNames = {"creating", "running", "stopped", "failed",
                                                         "deleted"};

std::string Refusal(std::string_view what, std::string_view state) {
  return "cannot " + std::string(what) + " session in state \"" + std::string(state) + "\"";
}

TEST_SUITE("SessionState") {
  TEST_CASE("follows the session table for every state and event") {
    using enum SessionEvent;
    struct Row {
      SessionEvent event;
      std::string_view to;       // "-" means refused
      std::string_view refusal;  // refused as "cannot <refusal> session in state ..."
    };
    // clang-format off
    const std::array<Row, 6> expected = {{
        //          creating running  stopped  failed   deleted
        {kReady,   "running  -        -        -        -", "mark ready"},
        {kStop,    "stopped  stopped  -        -        -", "stop"},
        {kFail,    "failed   failed   -        -        -", "fail"},
        {kResume,  "-        -        creating creating -", "resume"},
        {kUpgrade, "-        creating creating creating -", "upgrade"},
        {kDelete,  "deleted  deleted  deleted  deleted  -", "delete"},
    }};
    // clang-format on
    for (std::size_t s = 0; s < kStateNames.size(); ++s) {
      REQUIRE(agentcore::SessionStateName(agentcore::kAllSessionStates[s]) == kStateNames[s]);
    }
    REQUIRE(expected.size() == agentcore::kAllSessionEvents.size());
    for (std::size_t e = 0; e < expected.size(); ++e) {
      REQUIRE(expected[e].event == agentcore::kAllSessionEvents[e]);
      const std::vector<std::string> to = Words(expected[e].to);
      REQUIRE(to.size() == kStateNames.size());
      for (std::size_t s = 0; s < kStateNames.size(); ++s) {
        CAPTURE(agentcore::SessionEventName(expected[e].event));
        CAPTURE(kStateNames[s]);
        auto got = agentcore::NextSessionState(agentcore::kAllSessionStates[s], expected[e].event);
        if (to[s] != "-") {
          REQUIRE(got.has_value());
          CHECK(agentcore::SessionStateName(*got) == to[s]);
        } else {
          REQUIRE_FALSE(got.has_value());
          CHECK(got.error().code() == ErrorCode::kConflict);
          CHECK(got.error().message() == Refusal(expected[e].refusal, kStateNames[s]));
        }
      }
    }
  }

  TEST_CASE("rejects values outside the enumerators as invalid arguments") {
    auto bad_state =
        agentcore::NextSessionState(static_cast<SessionState>(5), SessionEvent::kDelete);
    REQUIRE_FALSE(bad_state.has_value());
    CHECK(bad_state.error().code() == ErrorCode::kInvalidArgument);
    CHECK(bad_state.error().message() == "invalid session state 5");
    auto bad_event =
        agentcore::NextSessionState(SessionState::kRunning, static_cast<SessionEvent>(6));
    REQUIRE_FALSE(bad_event.has_value());
    CHECK(bad_event.error().code() == ErrorCode::kInvalidArgument);
    CHECK(bad_event.error().message() == "invalid session event 6");
  }

  TEST_CASE("names every state and event and parses the names back") {
    const std::array<std::string_view, 6> events = {"ready",  "stop",    "fail",
                                                    "resume", "upgrade", "delete"};
    for (std::size_t i = 0; i < kStateNames.size(); ++i) {
      CHECK(agentcore::SessionStateName(agentcore::kAllSessionStates[i]) == kStateNames[i]);
      auto parsed = agentcore::ParseSessionState(kStateNames[i]);
      REQUIRE(parsed.has_value());
      CHECK(*parsed == agentcore::kAllSessionStates[i]);
    }
    for (std::size_t i = 0; i < events.size(); ++i) {
      CHECK(agentcore::SessionEventName(agentcore::kAllSessionEvents[i]) == events[i]);
      auto parsed = agentcore::ParseSessionEvent(events[i]);
      REQUIRE(parsed.has_value());
      CHECK(*parsed == agentcore::kAllSessionEvents[i]);
    }
    CHECK(agentcore::SessionStateName(static_cast<SessionState>(50)) == "unknown");
    CHECK(agentcore::SessionEventName(static_cast<SessionEvent>(50)) == "unknown");
  }

  TEST_CASE("rejects unknown state and event names") {
    for (std::string_view bad : {"", "Running", "started", "removed", "unknown"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseSessionState(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown session state \"" + std::string(bad) + "\"");
    }
    for (std::string_view bad : {"", "start", "restart", "unknown"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseSessionEvent(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown session event \"" + std::string(bad) + "\"");
    }
  }
}

TEST_SUITE("SessionLifecycle") {
  TEST_CASE("a new session is creating with generation 1 and the default policy") {
    ManualClock clock;
    SessionLifecycle session(clock.NowMillis());
    CHECK(session.state() == SessionState::kCreating);
    CHECK(session.state_since() == clock.NowMillis());
    CHECK(session.generation() == 1);
    CHECK(session.policy() == SessionPolicy{});
    CHECK(session.policy().startup_timeout == milliseconds{60'000});
  }

  TEST_CASE("stop keeps the container and resume restarts the same one") {
    ManualClock clock;
    SessionLifecycle session(clock.NowMillis());
    clock.Advance(3'000);
    REQUIRE(session.MarkReady(clock.NowMillis()).ok());
    CHECK(session.state() == SessionState::kRunning);
    CHECK(session.state_since() == clock.NowMillis());
    clock.Advance(1'000);
    REQUIRE(session.Stop(clock.NowMillis()).ok());
    CHECK(session.state() == SessionState::kStopped);
    clock.Advance(1'000);
    REQUIRE(session.Resume(clock.NowMillis()).ok());
    CHECK(session.state() == SessionState::kCreating);
    CHECK(session.state_since() == clock.NowMillis());
    CHECK(session.generation() == 1);
    REQUIRE(session.MarkReady(clock.NowMillis()).ok());
    CHECK(session.state() == SessionState::kRunning);
    CHECK(session.generation() == 1);
  }

  TEST_CASE("upgrade replaces the container and keeps the identity") {
    ManualClock clock;
    SessionLifecycle session(clock.NowMillis());
    REQUIRE(session.MarkReady(clock.NowMillis()).ok());
    REQUIRE(session.Upgrade(clock.NowMillis()).ok());  // from running
    CHECK(session.state() == SessionState::kCreating);
    CHECK(session.generation() == 2);
    REQUIRE(session.MarkReady(clock.NowMillis()).ok());
    REQUIRE(session.Stop(clock.NowMillis()).ok());
    REQUIRE(session.Upgrade(clock.NowMillis()).ok());  // from stopped
    CHECK(session.generation() == 3);
    REQUIRE(session.Fail(clock.NowMillis()).ok());
    REQUIRE(session.Upgrade(clock.NowMillis()).ok());  // from failed
    CHECK(session.generation() == 4);
    CHECK(session.state() == SessionState::kCreating);
  }

  TEST_CASE("a container that exits unexpectedly fails the session, which can be resumed") {
    ManualClock clock;
    SessionLifecycle session(clock.NowMillis());
    REQUIRE(session.MarkReady(clock.NowMillis()).ok());
    REQUIRE(session.Fail(clock.NowMillis()).ok());
    CHECK(session.state() == SessionState::kFailed);
    CHECK(session.Fail(clock.NowMillis()).message() == Refusal("fail", "failed"));
    CHECK(session.Stop(clock.NowMillis()).message() == Refusal("stop", "failed"));
    REQUIRE(session.Resume(clock.NowMillis()).ok());
    CHECK(session.state() == SessionState::kCreating);
    CHECK(session.generation() == 1);
  }

  TEST_CASE("delete is accepted from every live state and is terminal") {
    for (int path = 0; path < 4; ++path) {
      CAPTURE(path);
      SessionLifecycle session(0);
      if (path >= 1) REQUIRE(session.MarkReady(1).ok());  // running
      if (path == 2) REQUIRE(session.Stop(2).ok());       // stopped
      if (path == 3) REQUIRE(session.Fail(2).ok());       // failed
      REQUIRE(session.Delete(3).ok());
      CHECK(session.state() == SessionState::kDeleted);
      CHECK(session.state_since() == 3);
      const SessionLifecycle deleted = session;
      CHECK(session.Delete(4).message() == Refusal("delete", "deleted"));
      CHECK(session.Resume(4).message() == Refusal("resume", "deleted"));
      CHECK(session.Upgrade(4).message() == Refusal("upgrade", "deleted"));
      CHECK(session.MarkReady(4).message() == Refusal("mark ready", "deleted"));
      CHECK(session.Stop(4).code() == ErrorCode::kConflict);
      CHECK(session.Fail(4).code() == ErrorCode::kConflict);
      CHECK(session.Sweep(1'000'000) == SessionTimeout::kNone);
      CHECK(session == deleted);
    }
  }

  TEST_CASE("refuses illegal operations and leaves the session unchanged") {
    SessionLifecycle session(0);
    const SessionLifecycle creating = session;
    CHECK(session.Upgrade(1).message() == Refusal("upgrade", "creating"));
    CHECK(session.Resume(1).message() == Refusal("resume", "creating"));
    CHECK(session == creating);
    REQUIRE(session.MarkReady(1).ok());
    CHECK(session.MarkReady(2).message() == Refusal("mark ready", "running"));
    CHECK(session.Resume(2).message() == Refusal("resume", "running"));
    REQUIRE(session.Stop(2).ok());
    CHECK(session.Stop(3).message() == Refusal("stop", "stopped"));
    CHECK(session.Fail(3).message() == Refusal("fail", "stopped"));
    CHECK(session.state_since() == 2);
  }

  TEST_CASE("a container that is not ready after 60 000 ms fails the session, not at 60 000") {
    ManualClock clock;
    const UnixMillis created = clock.NowMillis();
    SessionLifecycle session(created);
    CHECK(session.Sweep(created + 59'999) == SessionTimeout::kNone);
    CHECK(session.Sweep(created + 60'000) == SessionTimeout::kNone);
    CHECK(session.state() == SessionState::kCreating);
    CHECK(session.Sweep(created + 60'001) == SessionTimeout::kStartupTimeout);
    CHECK(session.state() == SessionState::kFailed);
    CHECK(session.state_since() == created + 60'001);
    CHECK(session.Sweep(created + 120'000) == SessionTimeout::kNone);
  }

  TEST_CASE("resume and upgrade restart the startup clock; running sessions never time out") {
    SessionLifecycle session(0);
    REQUIRE(session.MarkReady(10).ok());
    CHECK(session.Sweep(10'000'000) == SessionTimeout::kNone);
    REQUIRE(session.Stop(10'000'000).ok());
    CHECK(session.Sweep(20'000'000) == SessionTimeout::kNone);
    REQUIRE(session.Resume(20'000'000).ok());
    CHECK(session.Sweep(20'060'000) == SessionTimeout::kNone);
    CHECK(session.Sweep(20'060'001) == SessionTimeout::kStartupTimeout);
    REQUIRE(session.Upgrade(30'000'000).ok());
    CHECK(session.generation() == 2);
    CHECK(session.Sweep(30'060'000) == SessionTimeout::kNone);
    CHECK(session.Sweep(30'060'001) == SessionTimeout::kStartupTimeout);
  }

  TEST_CASE("uses the configured startup timeout") {
    SessionPolicy policy;
    policy.startup_timeout = milliseconds{500};
    SessionLifecycle session(1'000, policy);
    CHECK(session.policy() == policy);
    CHECK(session.Sweep(1'500) == SessionTimeout::kNone);
    CHECK(session.Sweep(1'501) == SessionTimeout::kStartupTimeout);
  }

  TEST_CASE("restores a lifecycle from stored fields and refuses inconsistent ones") {
    auto stopped = SessionLifecycle::Restore(SessionState::kStopped, 5'000, 7);
    REQUIRE(stopped.has_value());
    CHECK(stopped->state() == SessionState::kStopped);
    CHECK(stopped->state_since() == 5'000);
    CHECK(stopped->generation() == 7);
    REQUIRE(stopped->Upgrade(6'000).ok());
    CHECK(stopped->generation() == 8);

    auto creating =
        SessionLifecycle::Restore(SessionState::kCreating, 0, 1, SessionPolicy{milliseconds{10}});
    REQUIRE(creating.has_value());
    CHECK(creating->Sweep(11) == SessionTimeout::kStartupTimeout);

    auto zero = SessionLifecycle::Restore(SessionState::kRunning, 0, 0);
    REQUIRE_FALSE(zero.has_value());
    CHECK(zero.error().code() == ErrorCode::kInvalidArgument);
    CHECK(zero.error().message() == "session generation must be at least 1, got 0");

    auto bad = SessionLifecycle::Restore(static_cast<SessionState>(9), 0, 1);
    REQUIRE_FALSE(bad.has_value());
    CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
    CHECK(bad.error().message() == "invalid session state 9");
  }
}

}  // namespace
