// SPDX-License-Identifier: Apache-2.0
#include <agentcore/state/run_state.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

#include "support/manual_clock.hpp"

using agentcore::ErrorCode;
using agentcore::RunEvent;
using agentcore::RunLifecycle;
using agentcore::RunPolicy;
using agentcore::RunState;
using agentcore::RunTimeout;
using agentcore::Status;
using agentcore::UnixMillis;
using agentcore::testing::ManualClock;
using std::chrono::milliseconds;

namespace doctest {
template <>
struct StringMaker<RunState> {
  static String convert(RunState v) { return std::string(agentcore::RunStateName(v)).c_str(); }
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

constexpr std::array<std::string_view, 6> kStateNames = {"queued",    "planning", "building",
                                                         "succeeded", "failed",   "cancelled"};

std::string Refusal(std::string_view what, std::string_view state) {
  return "cannot " + std::string(what) + " run in state \"" + std::string(state) + "\"";
}

// A run that has been claimed, and built if `build`, at `now`.
RunLifecycle ClaimedRun(UnixMillis now, bool build, RunPolicy policy = {}) {
  RunLifecycle run(policy);
  REQUIRE(run.Claim(now).ok());
  if (build) REQUIRE(run.StartBuild(now).ok());
  return run;
}

TEST_SUITE("RunState") {
  TEST_CASE("follows the run table for every state and event") {
    using enum RunEvent;
    struct Row {
      RunEvent event;
      std::string_view to;       // "-" means refused
      std::string_view refusal;  // refused as "cannot <refusal> run in state ..."
    };
    // clang-format off
    const std::array<Row, 7> expected = {{
        //             queued    planning  building  succeeded failed cancelled
        {kClaim,      "planning  -         -         -         -      -", "claim"},
        {kStartBuild, "-         building  -         -         -      -", "start building"},
        {kHeartbeat,  "-         planning  building  -         -      -", "renew lease of"},
        {kComplete,   "-         -         succeeded -         -      -", "complete"},
        {kFail,       "-         failed    failed    -         -      -", "fail"},
        {kRequeue,    "-         queued    queued    -         -      -", "requeue"},
        {kCancel,     "cancelled cancelled cancelled -         -      -", "cancel"},
    }};
    // clang-format on
    for (std::size_t s = 0; s < kStateNames.size(); ++s) {
      REQUIRE(agentcore::RunStateName(agentcore::kAllRunStates[s]) == kStateNames[s]);
    }
    REQUIRE(expected.size() == agentcore::kAllRunEvents.size());
    for (std::size_t e = 0; e < expected.size(); ++e) {
      REQUIRE(expected[e].event == agentcore::kAllRunEvents[e]);
      const std::vector<std::string> to = Words(expected[e].to);
      REQUIRE(to.size() == kStateNames.size());
      for (std::size_t s = 0; s < kStateNames.size(); ++s) {
        CAPTURE(agentcore::RunEventName(expected[e].event));
        CAPTURE(kStateNames[s]);
        auto got = agentcore::NextRunState(agentcore::kAllRunStates[s], expected[e].event);
        if (to[s] != "-") {
          REQUIRE(got.has_value());
          CHECK(agentcore::RunStateName(*got) == to[s]);
        } else {
          REQUIRE_FALSE(got.has_value());
          CHECK(got.error().code() == ErrorCode::kConflict);
          CHECK(got.error().message() == Refusal(expected[e].refusal, kStateNames[s]));
        }
      }
    }
  }

  TEST_CASE("final states refuse every event") {
    for (RunState s : agentcore::kAllRunStates) {
      CAPTURE(s);
      CHECK(agentcore::IsFinalRunState(s) ==
            (s == RunState::kSucceeded || s == RunState::kFailed || s == RunState::kCancelled));
      if (!agentcore::IsFinalRunState(s)) continue;
      for (RunEvent e : agentcore::kAllRunEvents) {
        CHECK(agentcore::NextRunState(s, e).status().code() == ErrorCode::kConflict);
      }
    }
  }

  TEST_CASE("rejects values outside the enumerators as invalid arguments") {
    auto bad_state = agentcore::NextRunState(static_cast<RunState>(6), RunEvent::kCancel);
    REQUIRE_FALSE(bad_state.has_value());
    CHECK(bad_state.error().code() == ErrorCode::kInvalidArgument);
    CHECK(bad_state.error().message() == "invalid run state 6");
    auto bad_event = agentcore::NextRunState(RunState::kQueued, static_cast<RunEvent>(7));
    REQUIRE_FALSE(bad_event.has_value());
    CHECK(bad_event.error().code() == ErrorCode::kInvalidArgument);
    CHECK(bad_event.error().message() == "invalid run event 7");
  }

  TEST_CASE("names every state and event with a stable snake_case string") {
    for (std::size_t i = 0; i < kStateNames.size(); ++i) {
      CHECK(agentcore::RunStateName(agentcore::kAllRunStates[i]) == kStateNames[i]);
    }
    const std::array<std::string_view, 7> events = {"claim", "start_build", "heartbeat", "complete",
                                                    "fail",  "requeue",     "cancel"};
    for (std::size_t i = 0; i < events.size(); ++i) {
      CHECK(agentcore::RunEventName(agentcore::kAllRunEvents[i]) == events[i]);
    }
    CHECK(agentcore::RunStateName(static_cast<RunState>(100)) == "unknown");
    CHECK(agentcore::RunEventName(static_cast<RunEvent>(100)) == "unknown");
  }

  TEST_CASE("parses every name back to its value and rejects unknown names") {
    for (RunState s : agentcore::kAllRunStates) {
      auto parsed = agentcore::ParseRunState(agentcore::RunStateName(s));
      REQUIRE(parsed.has_value());
      CHECK(*parsed == s);
    }
    for (RunEvent e : agentcore::kAllRunEvents) {
      auto parsed = agentcore::ParseRunEvent(agentcore::RunEventName(e));
      REQUIRE(parsed.has_value());
      CHECK(*parsed == e);
    }
    for (std::string_view bad : {"", "Queued", "running", "canceled", "unknown"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseRunState(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown run state \"" + std::string(bad) + "\"");
    }
    for (std::string_view bad : {"", "start-build", "retry", "unknown"}) {
      CAPTURE(bad);
      auto parsed = agentcore::ParseRunEvent(bad);
      REQUIRE_FALSE(parsed.has_value());
      CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
      CHECK(parsed.error().message() == "unknown run event \"" + std::string(bad) + "\"");
    }
  }
}

TEST_SUITE("RunLifecycle") {
  TEST_CASE("a new run is queued with no attempts, no lease and the default policy") {
    RunLifecycle run;
    CHECK(run.state() == RunState::kQueued);
    CHECK(run.attempts() == 0);
    CHECK_FALSE(run.lease_expires_at().has_value());
    CHECK(run.HasAttemptsLeft());
    CHECK(run.policy() == RunPolicy{});
    CHECK(run.policy().max_attempts == 3);
    CHECK(run.policy().lease == milliseconds{300'000});
    CHECK(run.Sweep(1'000'000'000) == RunTimeout::kNone);
  }

  TEST_CASE("a run goes queued, planning, building, succeeded in one attempt") {
    ManualClock clock;
    RunLifecycle run;
    REQUIRE(run.Claim(clock.NowMillis()).ok());
    CHECK(run.state() == RunState::kPlanning);
    CHECK(run.attempts() == 1);
    CHECK(run.lease_expires_at() == clock.NowMillis() + 300'000);
    clock.Advance(20'000);
    REQUIRE(run.StartBuild(clock.NowMillis()).ok());
    CHECK(run.state() == RunState::kBuilding);
    CHECK(run.lease_expires_at() == clock.NowMillis() + 300'000);
    REQUIRE(run.Complete().ok());
    CHECK(run.state() == RunState::kSucceeded);
    CHECK(run.attempts() == 1);
    CHECK_FALSE(run.lease_expires_at().has_value());
  }

  TEST_CASE("a failed attempt is retried while attempts remain, then the run fails") {
    ManualClock clock;
    RunLifecycle run;
    for (int attempt = 1; attempt <= 2; ++attempt) {
      CAPTURE(attempt);
      REQUIRE(run.Claim(clock.NowMillis()).ok());
      if (attempt == 2) REQUIRE(run.StartBuild(clock.NowMillis()).ok());
      auto after = run.Fail();
      REQUIRE(after.has_value());
      CHECK(*after == RunState::kQueued);
      CHECK(run.state() == RunState::kQueued);
      CHECK(run.attempts() == attempt);
      CHECK_FALSE(run.lease_expires_at().has_value());
    }
    REQUIRE(run.Claim(clock.NowMillis()).ok());
    CHECK(run.attempts() == 3);
    CHECK_FALSE(run.HasAttemptsLeft());
    auto last = run.Fail();
    REQUIRE(last.has_value());
    CHECK(*last == RunState::kFailed);
    CHECK(run.state() == RunState::kFailed);
    CHECK(run.attempts() == 3);
    CHECK_FALSE(run.lease_expires_at().has_value());
  }

  TEST_CASE("refuses to fail a run that no worker holds, naming fail rather than requeue") {
    RunLifecycle run;
    auto queued = run.Fail();
    REQUIRE_FALSE(queued.has_value());
    CHECK(queued.error().code() == ErrorCode::kConflict);
    CHECK(queued.error().message() == Refusal("fail", "queued"));
    CHECK(run.state() == RunState::kQueued);

    RunLifecycle done = ClaimedRun(0, true);
    REQUIRE(done.Complete().ok());
    auto succeeded = done.Fail();
    REQUIRE_FALSE(succeeded.has_value());
    CHECK(succeeded.error().message() == Refusal("fail", "succeeded"));
  }

  TEST_CASE("an expired lease requeues the run: valid at the deadline, expired 1 ms later") {
    ManualClock clock;
    const UnixMillis claimed = clock.NowMillis();
    RunLifecycle run = ClaimedRun(claimed, false);
    CHECK(run.Sweep(claimed + 299'999) == RunTimeout::kNone);
    CHECK(run.Sweep(claimed + 300'000) == RunTimeout::kNone);
    CHECK(run.state() == RunState::kPlanning);
    CHECK(run.Sweep(claimed + 300'001) == RunTimeout::kRequeued);
    CHECK(run.state() == RunState::kQueued);
    CHECK(run.attempts() == 1);
    CHECK_FALSE(run.lease_expires_at().has_value());
    CHECK(run.Sweep(claimed + 900'000) == RunTimeout::kNone);
  }

  TEST_CASE("worker heartbeats push the lease forward") {
    ManualClock clock;
    const UnixMillis claimed = clock.NowMillis();
    RunLifecycle run = ClaimedRun(claimed, true);
    REQUIRE(run.Heartbeat(claimed + 200'000).ok());
    CHECK(run.state() == RunState::kBuilding);
    CHECK(run.lease_expires_at() == claimed + 500'000);
    CHECK(run.Sweep(claimed + 500'000) == RunTimeout::kNone);
    CHECK(run.Sweep(claimed + 500'001) == RunTimeout::kRequeued);
  }

  TEST_CASE("a heartbeat renews a lease that expired but was not swept yet") {
    RunLifecycle run = ClaimedRun(0, false);
    REQUIRE(run.Heartbeat(400'000).ok());
    CHECK(run.Sweep(400'001) == RunTimeout::kNone);
    CHECK(run.state() == RunState::kPlanning);
  }

  TEST_CASE("a lease that expires on the last attempt fails the run") {
    RunPolicy policy;
    policy.max_attempts = 2;
    RunLifecycle run(policy);
    REQUIRE(run.Claim(0).ok());
    CHECK(run.Sweep(300'001) == RunTimeout::kRequeued);
    REQUIRE(run.Claim(400'000).ok());
    REQUIRE(run.StartBuild(400'000).ok());
    CHECK(run.Sweep(700'001) == RunTimeout::kFailed);
    CHECK(run.state() == RunState::kFailed);
    CHECK(run.attempts() == 2);
    CHECK_FALSE(run.lease_expires_at().has_value());
  }

  TEST_CASE("uses the configured lease and attempt count") {
    RunPolicy policy;
    policy.max_attempts = 1;
    policy.lease = milliseconds{1'000};
    RunLifecycle run(policy);
    CHECK(run.policy() == policy);
    REQUIRE(run.Claim(5'000).ok());
    CHECK(run.lease_expires_at() == 6'000);
    CHECK(run.Sweep(6'000) == RunTimeout::kNone);
    CHECK(run.Sweep(6'001) == RunTimeout::kFailed);  // one attempt: no retry

    RunLifecycle once(policy);
    REQUIRE(once.Claim(0).ok());
    auto failed = once.Fail();
    REQUIRE(failed.has_value());
    CHECK(*failed == RunState::kFailed);
  }

  TEST_CASE("cancels from every non-final state and drops the lease") {
    RunLifecycle queued;
    REQUIRE(queued.Cancel().ok());
    CHECK(queued.state() == RunState::kCancelled);

    RunLifecycle planning = ClaimedRun(0, false);
    REQUIRE(planning.Cancel().ok());
    CHECK(planning.state() == RunState::kCancelled);
    CHECK_FALSE(planning.lease_expires_at().has_value());
    CHECK(planning.Sweep(10'000'000) == RunTimeout::kNone);

    RunLifecycle building = ClaimedRun(0, true);
    REQUIRE(building.Cancel().ok());
    CHECK(building.state() == RunState::kCancelled);
    CHECK(building.attempts() == 1);
  }

  TEST_CASE("a final run refuses every operation and stays unchanged") {
    RunLifecycle run = ClaimedRun(0, true);
    REQUIRE(run.Complete().ok());
    const RunLifecycle before = run;
    CHECK(run.Claim(1).message() == Refusal("claim", "succeeded"));
    CHECK(run.StartBuild(1).message() == Refusal("start building", "succeeded"));
    CHECK(run.Heartbeat(1).message() == Refusal("renew lease of", "succeeded"));
    CHECK(run.Complete().message() == Refusal("complete", "succeeded"));
    CHECK(run.Cancel().message() == Refusal("cancel", "succeeded"));
    CHECK(run.Cancel().code() == ErrorCode::kConflict);
    CHECK(run.Fail().status().message() == Refusal("fail", "succeeded"));
    CHECK(run.Sweep(10'000'000) == RunTimeout::kNone);
    CHECK(run == before);

    RunLifecycle cancelled;
    REQUIRE(cancelled.Cancel().ok());
    CHECK(cancelled.Cancel().message() == Refusal("cancel", "cancelled"));
    CHECK(cancelled.Claim(0).message() == Refusal("claim", "cancelled"));
  }

  TEST_CASE("refuses operations out of order") {
    RunLifecycle run;
    CHECK(run.StartBuild(0).message() == Refusal("start building", "queued"));
    CHECK(run.Heartbeat(0).message() == Refusal("renew lease of", "queued"));
    CHECK(run.Complete().message() == Refusal("complete", "queued"));
    REQUIRE(run.Claim(0).ok());
    CHECK(run.Claim(0).message() == Refusal("claim", "planning"));
    CHECK(run.Complete().message() == Refusal("complete", "planning"));
    CHECK(run.attempts() == 1);
    REQUIRE(run.StartBuild(0).ok());
    CHECK(run.StartBuild(0).message() == Refusal("start building", "building"));
  }

  TEST_CASE("restores a lifecycle from stored fields") {
    auto building = RunLifecycle::Restore(RunState::kBuilding, 2, 50'000);
    REQUIRE(building.has_value());
    CHECK(building->state() == RunState::kBuilding);
    CHECK(building->attempts() == 2);
    CHECK(building->lease_expires_at() == 50'000);
    CHECK(building->Sweep(50'001) == RunTimeout::kRequeued);

    auto last = RunLifecycle::Restore(RunState::kPlanning, 3, 10);
    REQUIRE(last.has_value());
    CHECK(last->Sweep(11) == RunTimeout::kFailed);

    for (RunState s : {RunState::kSucceeded, RunState::kFailed, RunState::kCancelled}) {
      CAPTURE(s);
      auto final_run = RunLifecycle::Restore(s, 3, std::nullopt);
      REQUIRE(final_run.has_value());
      CHECK(final_run->state() == s);
    }

    RunLifecycle original = ClaimedRun(7, true);
    auto copy = RunLifecycle::Restore(original.state(), original.attempts(),
                                      original.lease_expires_at(), original.policy());
    REQUIRE(copy.has_value());
    CHECK(*copy == original);
  }

  TEST_CASE("refuses to restore inconsistent fields") {
    struct Bad {
      RunState state;
      int attempts;
      std::optional<UnixMillis> lease;
      std::string_view message;
    };
    const Bad cases[] = {
        {static_cast<RunState>(8), 0, std::nullopt, "invalid run state 8"},
        {RunState::kQueued, -1, std::nullopt, "run attempts must not be negative, got -1"},
        {RunState::kPlanning, 1, std::nullopt, "run in state \"planning\" needs a lease"},
        {RunState::kBuilding, 0, 10, "run in state \"building\" has 0 attempts, outside 1..3"},
        {RunState::kBuilding, 4, 10, "run in state \"building\" has 4 attempts, outside 1..3"},
        {RunState::kQueued, 1, 10, "run in state \"queued\" cannot hold a lease"},
        {RunState::kSucceeded, 1, 10, "run in state \"succeeded\" cannot hold a lease"},
        {RunState::kQueued, 3, std::nullopt, "queued run has no attempt left (3 of 3 used)"},
    };
    for (const Bad& c : cases) {
      CAPTURE(c.message);
      auto restored = RunLifecycle::Restore(c.state, c.attempts, c.lease);
      REQUIRE_FALSE(restored.has_value());
      CHECK(restored.error().code() == ErrorCode::kInvalidArgument);
      CHECK(restored.error().message() == c.message);
    }
  }
}

}  // namespace
