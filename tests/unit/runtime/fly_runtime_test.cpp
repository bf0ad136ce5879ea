// SPDX-License-Identifier: Apache-2.0
// The Fly.io Machines runtime against the fake Machines API (tests/support/fake_fly_api.hpp).
#include <agentcore/runtime/fly.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/hub/hub.hpp>
#include <agentcore/json.hpp>

#include "support/fake_agent_transport.hpp"
#include "support/fake_fly_api.hpp"
#include "support/fake_runtime.hpp"
#include "support/manual_clock.hpp"
#include "support/recording_publisher.hpp"
#include "support/recording_runtime_observer.hpp"

namespace agentcore {
namespace {

using std::chrono::milliseconds;
using testing::FakeFlyApi;
using testing::RecordingRuntimeObserver;

constexpr const char* kToken = "fly-secret-token-0123456789";
constexpr const char* kApp = "agents-app";
constexpr const char* kModelKey = "sk-model-secret-42";

bool WaitUntil(const std::function<bool()>& pred, milliseconds timeout = milliseconds(3000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

FlyOptions TestOptions(const FakeFlyApi& api) {
  FlyOptions o;
  o.api_url = api.BaseUrl();
  o.api_token = kToken;
  o.app_name = kApp;
  o.region = "iad";
  AgentImage image;
  image.image = "registry.fly.io/agents-app:latest";
  image.env = {{"MODEL_KEY", kModelKey}};
  o.images["*"] = image;
  AgentImage big;
  big.image = "registry.fly.io/agents-app:big";
  big.command = {"echo-agent", "--verbose"};
  big.cpu_millis = 1500;
  big.memory_bytes = 1536LL << 20;
  o.images["big"] = big;
  o.request_timeout = milliseconds(2'000);
  o.backoff_base = milliseconds(10);
  o.backoff_cap = milliseconds(50);
  o.max_attempts = 4;
  o.start_timeout = milliseconds(5'000);
  o.poll_interval = milliseconds(20);
  o.stop_grace = milliseconds(1'000);
  return o;
}

ActivateRequest Req(const std::string& id, const std::string& type = "echo") {
  ActivateRequest r;
  r.agent_id = id;
  r.agent_type = type;
  r.auth_token = "container-token-secret";
  r.api_url = "https://cast.example.com";
  return r;
}

struct Fixture {
  explicit Fixture(std::function<void(FlyOptions&)> tweak = {}) {
    FlyOptions o = TestOptions(api);
    if (tweak) tweak(o);
    RuntimeOptions ro;
    ro.observer = &observer;
    auto made = NewFlyRuntime(o, ro);
    REQUIRE(made.ok());
    rt = *std::move(made);
  }
  FakeFlyApi api{kApp, kToken};
  RecordingRuntimeObserver observer{milliseconds(3000)};
  std::unique_ptr<Runtime> rt;
};

std::vector<milliseconds> Gaps(const std::vector<FakeFlyApi::Request>& reqs) {
  std::vector<milliseconds> out;
  for (std::size_t i = 1; i < reqs.size(); ++i) {
    out.push_back(std::chrono::duration_cast<milliseconds>(reqs[i].at - reqs[i - 1].at));
  }
  return out;
}

bool NoSecret(std::string_view text) {
  return text.find(kToken) == std::string_view::npos &&
         text.find(kModelKey) == std::string_view::npos &&
         text.find("container-token-secret") == std::string_view::npos;
}

TEST_SUITE("runtime/fly") {
  TEST_CASE("activate creates a machine with the image, env, guest, region, metadata and policy") {
    Fixture f;
    Result<RuntimeAgentState> st = f.rt->Activate(Req("sp1:ch1:bot"));
    REQUIRE(st.ok());
    CHECK(st->status == AgentStatus::kActivating);
    CHECK(f.rt->Kind() == "fly");
    std::vector<FakeFlyApi::Machine> live = f.api.Live();
    REQUIRE(live.size() == 1);
    const FakeFlyApi::Machine& m = live[0];
    CHECK(st->instance_id == m.id);
    CHECK(m.region == "iad");
    CHECK(*m.config.FindString("image") == "registry.fly.io/agents-app:latest");
    CHECK(m.Env("CAST_AGENT_ID") == "sp1:ch1:bot");
    CHECK(m.Env("CAST_AUTH_TOKEN") == "container-token-secret");
    CHECK(m.Env("CAST_API_URL") == "https://cast.example.com");
    CHECK(m.Env("CAST_CALLBACK_URL") == "https://agents-app.fly.dev");
    CHECK(m.Env("CAST_ROUTE_HINTS") == "");
    CHECK(m.Env("PORT") == "8080");
    CHECK(m.Env("MODEL_KEY") == kModelKey);
    CHECK(m.Meta("agentcore_instance") == "agentcore");
    CHECK(m.Meta("agentcore_space") == "sp1");
    CHECK(m.Meta("agentcore_channel") == "ch1");
    CHECK(m.Meta("agentcore_callsign") == "bot");
    CHECK(m.Meta("agentcore_agent_id") == "sp1:ch1:bot");
    CHECK(ToJson(*m.config.Find("restart")) == R"({"policy":"no"})");
    CHECK(m.config.Find("auto_destroy")->as_bool());
    CHECK(ToJson(*m.config.Find("guest")) == R"({"cpu_kind":"shared","cpus":1,"memory_mb":256})");
    CHECK(m.config.Find("init") == nullptr);  // the image's own command
    const Json& service = m.config.Find("services")->as_array().at(0);
    CHECK(service.Find("internal_port")->as_number() == 8080);
    // Every call carried the token, and only as the bearer credential.
    for (const auto& r : f.api.Requests())
      CHECK(r.authorization == std::string("Bearer ") + kToken);
    auto ev = f.observer.WaitFor(AgentEventKind::kActivating, "sp1:ch1:bot");
    REQUIRE(ev);
    // Idempotent: a second Activate starts nothing.
    Result<RuntimeAgentState> again = f.rt->Activate(Req("sp1:ch1:bot"));
    REQUIRE(again.ok());
    CHECK(again->instance_id == m.id);
    CHECK(f.api.RequestsTo("POST", "/machines").size() == 1);
  }

  TEST_CASE("a type's own image sets the command and a guest rounded up from its limits") {
    Fixture f;
    ActivateRequest req = Req("s:c:big", "big");
    req.callback_url = "https://elsewhere.example";
    Json hints = Json::Object();
    hints.Set("k", "v");
    req.route_hints = hints;
    REQUIRE(f.rt->Activate(req).ok());
    FakeFlyApi::Machine m = f.api.Live().at(0);
    CHECK(*m.config.FindString("image") == "registry.fly.io/agents-app:big");
    CHECK(ToJson(*m.config.Find("init")) == R"({"cmd":["echo-agent","--verbose"]})");
    CHECK(ToJson(*m.config.Find("guest")) == R"({"cpu_kind":"shared","cpus":2,"memory_mb":1536})");
    CHECK(m.Env("CAST_CALLBACK_URL") == "https://elsewhere.example");
    CHECK(m.Env("CAST_ROUTE_HINTS") == R"({"k":"v"})");
  }

  TEST_CASE("bad input is refused before any API call") {
    Fixture f([](FlyOptions& o) { o.images.erase("*"); });
    CHECK(f.rt->Activate(Req("a::c")).status().code() == ErrorCode::kInvalidArgument);
    CHECK(f.rt->Activate(Req("a:b:c", "")).status().code() == ErrorCode::kInvalidArgument);
    Result<RuntimeAgentState> unknown = f.rt->Activate(Req("a:b:c", "nope"));
    CHECK(unknown.status().code() == ErrorCode::kInvalidArgument);
    CHECK(unknown.status().message().find("no image for agent type \"nope\"") != std::string::npos);
    ActivateRequest bad_env = Req("a:b:c", "big");
    bad_env.extra_env = {{"A=B", "x"}};
    CHECK(f.rt->Activate(bad_env).status().code() == ErrorCode::kInvalidArgument);
    ActivateRequest huge = Req("a:b:c", "big");
    huge.system_prompt.assign(200 * 1024, 'x');
    CHECK(f.rt->Activate(huge).status().code() == ErrorCode::kTooLarge);
    CHECK(f.api.Requests().empty());
    CHECK(f.rt->Suspend("bad", "manual").code() == ErrorCode::kInvalidArgument);
    CHECK(f.rt->Checkin("a:b:c", "x").code() == ErrorCode::kConflict);
    CHECK(f.rt->ReadLog("a:b:c", 0, 10).status().code() == ErrorCode::kNotSupported);
    CHECK(f.rt->RouteHints("a:b:c").is_null());
  }

  TEST_CASE("the factory refuses a missing token, app, image or bad numbers") {
    FakeFlyApi api{kApp, kToken};
    auto refused = [&](std::function<void(FlyOptions&)> tweak, std::string_view text) {
      FlyOptions o = TestOptions(api);
      tweak(o);
      Result<std::unique_ptr<Runtime>> r = NewFlyRuntime(o);
      CHECK(r.status().code() == ErrorCode::kInvalidArgument);
      CHECK(r.status().message().find(text) != std::string::npos);
    };
    refused([](FlyOptions& o) { o.api_token.clear(); }, "API token is empty");
    refused([](FlyOptions& o) { o.app_name.clear(); }, "app name is empty");
    refused([](FlyOptions& o) { o.images["x"].image.clear(); }, "image for agent type \"x\"");
    refused([](FlyOptions& o) { o.max_attempts = 0; }, "max_attempts");
    refused([](FlyOptions& o) { o.api_url = "ftp://x"; }, "http");
    refused([](FlyOptions& o) { o.poll_interval = milliseconds(0); }, "out of range");
  }

  TEST_CASE("a create refused by Fly is an error with Fly's message and no secret") {
    Fixture f;
    f.api.FailCreates(422, "invalid image: manifest unknown");
    Result<RuntimeAgentState> st = f.rt->Activate(Req("s:c:x"));
    REQUIRE(!st.ok());
    CHECK(st.status().code() == ErrorCode::kInternal);
    CHECK(st.status().message() ==
          "fly: create machine for \"s:c:x\": 422 invalid image: manifest unknown");
    CHECK(NoSecret(st.status().message()));
    CHECK(f.api.RequestsTo("POST", "/machines").size() == 1);  // a 4xx is not retried
    auto state = f.rt->GetState("s:c:x");
    REQUIRE(state);
    CHECK(state->status == AgentStatus::kError);
    CHECK(f.rt->ListAgents().empty());
    // Activation works again once Fly does.
    f.api.FailCreates(0, "");
    CHECK(f.rt->Activate(Req("s:c:x")).ok());
  }

  TEST_CASE("a wrong token is a clear 401 error that does not echo the token") {
    FakeFlyApi api{kApp, "another-token"};
    FlyOptions o = TestOptions(api);
    auto rt = NewFlyRuntime(o);
    REQUIRE(rt.ok());
    Result<RuntimeAgentState> st = (*rt)->Activate(Req("s:c:x"));
    CHECK(st.status().message() == "fly: create machine for \"s:c:x\": 401 Unauthorized");
    Result<std::vector<std::string>> reaped = (*rt)->ReapOrphans();
    CHECK(reaped.status().code() == ErrorCode::kInternal);
    CHECK(reaped.status().message().find("401 Unauthorized") != std::string::npos);
    CHECK(NoSecret(reaped.status().message()));
  }

  TEST_CASE("429s are retried with backoff until the create succeeds; Retry-After is honoured") {
    Fixture f([](FlyOptions& o) { o.backoff_cap = milliseconds(3'000); });
    f.api.Fail429(2, "1");
    const auto t0 = std::chrono::steady_clock::now();
    Result<RuntimeAgentState> st = f.rt->Activate(Req("s:c:x"));
    REQUIRE(st.ok());
    CHECK(std::chrono::steady_clock::now() - t0 >= milliseconds(2'000));
    auto creates = f.api.RequestsTo("POST", "/machines");
    REQUIRE(creates.size() == 3);
    for (milliseconds gap : Gaps(creates)) {
      CHECK(gap >= milliseconds(990));
      CHECK(gap < milliseconds(1'500));
    }
    CHECK(f.api.Live().size() == 1);  // retried 429s created nothing twice
  }

  TEST_CASE("the cap holds over a long Retry-After and the attempts are bounded") {
    Fixture f([](FlyOptions& o) {
      o.backoff_cap = milliseconds(100);
      o.max_attempts = 3;
    });
    f.api.Fail429(10, "30");
    const auto t0 = std::chrono::steady_clock::now();
    Result<RuntimeAgentState> st = f.rt->Activate(Req("s:c:x"));
    CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(1'000));
    REQUIRE(!st.ok());
    CHECK(st.status().code() == ErrorCode::kRateLimited);
    CHECK(st.status().message() == "fly: create machine for \"s:c:x\": 429 rate limit exceeded");
    auto creates = f.api.RequestsTo("POST", "/machines");
    REQUIRE(creates.size() == 3);
    for (milliseconds gap : Gaps(creates)) {
      CHECK(gap >= milliseconds(95));  // Retry-After raised the jittered delay to the cap
      CHECK(gap < milliseconds(400));
    }
  }

  TEST_CASE("without Retry-After the delays are jittered below the exponential ceiling") {
    Fixture f([](FlyOptions& o) {
      o.backoff_base = milliseconds(40);
      o.backoff_cap = milliseconds(80);
      o.max_attempts = 6;
    });
    f.api.Fail429(5);
    REQUIRE(f.rt->Activate(Req("s:c:x")).ok());
    auto creates = f.api.RequestsTo("POST", "/machines");
    REQUIRE(creates.size() == 6);
    for (milliseconds gap : Gaps(creates)) CHECK(gap < milliseconds(80 + 200));
  }

  TEST_CASE("a 5xx on create is not retried; on idempotent calls it is") {
    Fixture f;
    f.api.Fail5xx(1, 502);
    Result<RuntimeAgentState> st = f.rt->Activate(Req("s:c:x"));
    REQUIRE(!st.ok());
    CHECK(st.status().code() == ErrorCode::kUnavailable);
    CHECK(st.status().message() ==
          "fly: create machine for \"s:c:x\": 502 internal error: upstream unavailable");
    CHECK(f.api.RequestsTo("POST", "/machines").size() == 1);
    REQUIRE(f.rt->Activate(Req("s:c:x")).ok());
    const std::string id = f.api.Live().at(0).id;
    f.api.Fail5xx(2, 503);
    CHECK(f.rt->Suspend("s:c:x", "manual").ok());
    CHECK(f.api.Get(id)->state == "destroyed");
  }

  TEST_CASE("a slow start stays activating and becomes online only at checkin") {
    Fixture f;
    f.api.SetStartDelay(milliseconds(300));
    REQUIRE(f.rt->Activate(Req("s:c:slow")).ok());
    const std::string id = f.api.Live().at(0).id;
    std::this_thread::sleep_for(milliseconds(100));
    CHECK(f.api.Get(id)->state != "started");
    CHECK(f.rt->GetState("s:c:slow")->status == AgentStatus::kActivating);
    REQUIRE(WaitUntil([&] { return f.api.Get(id)->state == "started"; }));
    std::this_thread::sleep_for(milliseconds(100));  // a few polls see it started
    CHECK(f.rt->GetState("s:c:slow")->status == AgentStatus::kActivating);
    CHECK(!f.observer.WaitFor(AgentEventKind::kOnline, "s:c:slow", milliseconds(0)));
    REQUIRE(f.rt->Checkin("s:c:slow", "https://agents-app.fly.dev").ok());
    CHECK(f.observer.WaitFor(AgentEventKind::kOnline, "s:c:slow"));
    CHECK(f.rt->GetState("s:c:slow")->status == AgentStatus::kOnline);
    CHECK(f.rt->ListAgents().size() == 1);
    // Past the start timeout nothing happens to a started machine.
    CHECK(f.observer.WaitFor(AgentEventKind::kFailed, "s:c:slow", milliseconds(200)) ==
          std::nullopt);
  }

  TEST_CASE("a machine that never starts is destroyed and reported kFailed") {
    Fixture f([](FlyOptions& o) { o.start_timeout = milliseconds(300); });
    f.api.NeverStart();
    REQUIRE(f.rt->Activate(Req("s:c:stuck")).ok());
    const std::string id = f.api.Live().at(0).id;
    auto ev = f.observer.WaitFor(AgentEventKind::kFailed, "s:c:stuck");
    REQUIRE(ev);
    CHECK(ev->reason.find("machine " + id + " did not start within 300 ms (state starting)") !=
          std::string::npos);
    REQUIRE(WaitUntil([&] { return f.api.Get(id)->state == "destroyed"; }));
    auto deletes = f.api.RequestsTo("DELETE", "/machines/" + id);
    REQUIRE(!deletes.empty());
    CHECK(deletes[0].query["force"] == "true");
    auto st = f.rt->GetState("s:c:stuck");
    CHECK(st->status == AgentStatus::kError);
    CHECK(f.rt->ListAgents().empty());
    CHECK(f.rt->RouteHints("s:c:stuck").is_null());
  }

  TEST_CASE("suspend stops, waits for stopped, destroys, and reports offline") {
    Fixture f;
    REQUIRE(f.rt->Activate(Req("s:c:x")).ok());
    const std::string id = f.api.Live().at(0).id;
    REQUIRE(f.rt->Checkin("s:c:x", "https://agents-app.fly.dev").ok());
    CHECK(f.rt->Suspend("s:c:x", "manual").ok());
    CHECK(f.api.Get(id)->state == "destroyed");
    CHECK(f.api.RequestsTo("POST", "/machines/" + id + "/stop").size() == 1);
    auto waits = f.api.RequestsTo("GET", "/machines/" + id + "/wait");
    REQUIRE(waits.size() == 1);
    CHECK(waits[0].query["state"] == "stopped");
    CHECK(waits[0].query["instance_id"] == "01J" + id);
    auto ev = f.observer.WaitFor(AgentEventKind::kOffline, "s:c:x");
    REQUIRE(ev);
    CHECK(ev->reason == "manual");
    CHECK(f.rt->GetState("s:c:x")->status == AgentStatus::kOffline);
    CHECK(f.rt->Suspend("s:c:x", "manual").ok());  // idempotent
    CHECK(f.rt->Suspend("s:c:unknown", "manual").ok());
    // The next activation creates a fresh machine.
    REQUIRE(f.rt->Activate(Req("s:c:x")).ok());
    CHECK(f.api.Live().size() == 1);
    CHECK(f.api.Live().at(0).id != id);
  }

  TEST_CASE("a machine that exits on its own is reported with its exit code") {
    Fixture f;
    REQUIRE(f.rt->Activate(Req("s:c:three")).ok());
    REQUIRE(f.rt->Activate(Req("s:c:zero")).ok());
    std::string three, zero;
    for (const auto& m : f.api.Live())
      (m.Meta("agentcore_callsign") == "three" ? three : zero) = m.id;
    f.api.ExitMachine(three, 3);
    f.api.ExitMachine(zero, 0);
    auto failed = f.observer.WaitFor(AgentEventKind::kFailed, "s:c:three");
    REQUIRE(failed);
    REQUIRE(failed->exit);
    CHECK(failed->exit->exit_code == 3);
    CHECK(failed->reason == "exited with code 3");
    auto offline = f.observer.WaitFor(AgentEventKind::kOffline, "s:c:zero");
    REQUIRE(offline);
    REQUIRE(offline->exit);
    CHECK(offline->exit->exit_code == 0);
    CHECK(f.rt->GetState("s:c:three")->status == AgentStatus::kError);
    CHECK(f.rt->GetState("s:c:zero")->status == AgentStatus::kOffline);
    // The stopped machines are destroyed.
    CHECK(WaitUntil([&] { return f.api.Live().empty(); }));
  }

  TEST_CASE("route hints name the running machine") {
    Fixture f;
    REQUIRE(f.rt->Activate(Req("s:c:x")).ok());
    const std::string id = f.api.Live().at(0).id;
    CHECK(ToJson(f.rt->RouteHints("s:c:x")) == R"({"fly-force-instance-id":")" + id + "\"}");
    REQUIRE(f.rt->Suspend("s:c:x", "manual").ok());
    CHECK(f.rt->RouteHints("s:c:x").is_null());
  }

  TEST_CASE("reap destroys only this instance's machines that it did not start") {
    Fixture f;
    REQUIRE(f.rt->Activate(Req("s:c:mine")).ok());
    const std::string mine = f.api.Live().at(0).id;
    const std::string orphan =
        f.api.AddMachine({{"agentcore_instance", "agentcore"}, {"agentcore_agent_id", "s:c:old"}});
    const std::string other =
        f.api.AddMachine({{"agentcore_instance", "staging"}, {"agentcore_agent_id", "s:c:o"}});
    const std::string foreign = f.api.AddMachine({{"role", "web"}});
    Result<std::vector<std::string>> reaped = f.rt->ReapOrphans();
    REQUIRE(reaped.ok());
    CHECK(*reaped == std::vector<std::string>{"s:c:old"});
    CHECK(f.api.Get(orphan)->state == "destroyed");
    CHECK(f.api.Get(other)->state != "destroyed");
    CHECK(f.api.Get(foreign)->state != "destroyed");
    CHECK(f.api.Get(mine)->state != "destroyed");
    auto lists = f.api.RequestsTo("GET", "/apps/agents-app/machines");
    REQUIRE(!lists.empty());
    CHECK(lists.back().query["metadata.agentcore_instance"] == "agentcore");
    // Nothing left the second time.
    CHECK(f.rt->ReapOrphans()->empty());
  }

  TEST_CASE("a machine missing from a lagging list is asked for, not taken for gone") {
    Fixture f;
    f.api.SetListEmpty(true);
    REQUIRE(f.rt->Activate(Req("s:c:x")).ok());
    const std::string id = f.api.Live().at(0).id;
    REQUIRE(WaitUntil([&] { return f.api.RequestsTo("GET", "/machines/" + id).size() >= 3; }));
    CHECK(f.rt->GetState("s:c:x")->status == AgentStatus::kActivating);
    CHECK(f.api.Get(id)->state == "started");
    // Once it really ends, the machine route says so.
    f.api.ExitMachine(id, 7);
    auto ev = f.observer.WaitFor(AgentEventKind::kFailed, "s:c:x");
    REQUIRE(ev);
    REQUIRE(ev->exit);
    CHECK(ev->exit->exit_code == 7);
  }

  TEST_CASE("machines left by a crashed runtime are reaped by the next one of the instance") {
    FakeFlyApi api{kApp, kToken};
    FlyOptions o = TestOptions(api);
    o.stop_agents_on_destroy = false;
    std::string id;
    {
      auto first = NewFlyRuntime(o);
      REQUIRE(first.ok());
      REQUIRE((*first)->Activate(Req("s:c:left")).ok());
      id = api.Live().at(0).id;
    }  // "crashed": the machine stays
    CHECK(api.Get(id)->state != "destroyed");
    auto second = NewFlyRuntime(o);
    REQUIRE(second.ok());
    Result<std::vector<std::string>> reaped = (*second)->ReapOrphans();
    REQUIRE(reaped.ok());
    CHECK(*reaped == std::vector<std::string>{"s:c:left"});
    CHECK(api.Get(id)->state == "destroyed");
  }

  TEST_CASE("shutdown destroys every machine in parallel and refuses activation after") {
    Fixture f;
    for (const char* id : {"s:c:a", "s:c:b", "s:c:c"}) REQUIRE(f.rt->Activate(Req(id)).ok());
    f.api.SetLatency(milliseconds(100));
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(f.rt->Shutdown().ok());
    // Three agents, three calls each at 100 ms: in parallel well under the serial 900 ms.
    CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(800));
    f.api.SetLatency(milliseconds(0));
    CHECK(f.api.Live().empty());
    for (const char* id : {"s:c:a", "s:c:b", "s:c:c"}) {
      auto ev = f.observer.WaitFor(AgentEventKind::kOffline, id);
      REQUIRE(ev);
      CHECK(ev->reason == "shutdown");
    }
    CHECK(f.rt->Activate(Req("s:c:d")).status().code() == ErrorCode::kUnavailable);
    CHECK(f.rt->Shutdown().ok());  // idempotent
  }

  TEST_CASE("50 agents activated at once each get one machine; shutdown destroys them all") {
    Fixture f;
    constexpr int kAgents = 50;
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kAgents; ++i) {
      threads.emplace_back([&, i] {
        // Two callers per agent: the second is the idempotent no-op.
        const std::string id = "s:c:a" + std::to_string(i / 2);
        if (f.rt->Activate(Req(id)).ok()) ++ok;
      });
    }
    for (std::thread& t : threads) t.join();
    const auto activated = std::chrono::steady_clock::now() - t0;
    CHECK(ok == kAgents);
    CHECK(f.api.Live().size() == kAgents / 2);
    CHECK(f.api.RequestsTo("POST", "/machines").size() == kAgents / 2);
    CHECK(f.rt->ListAgents().size() == kAgents / 2);
    const auto t1 = std::chrono::steady_clock::now();
    CHECK(f.rt->Shutdown().ok());
    const auto shut = std::chrono::steady_clock::now() - t1;
    CHECK(f.api.Live().empty());
    MESSAGE("fly: 50 concurrent Activate calls (25 agents) took "
            << std::chrono::duration_cast<milliseconds>(activated).count()
            << " ms; Shutdown of 25 machines took "
            << std::chrono::duration_cast<milliseconds>(shut).count() << " ms (fake API)");
  }

  TEST_CASE("a dead API fails calls within their timeout instead of hanging") {
    std::string url;
    {
      FakeFlyApi gone{kApp, kToken};
      url = gone.BaseUrl();
    }  // its port is closed now
    FakeFlyApi api{kApp, kToken};
    FlyOptions o = TestOptions(api);
    o.api_url = url;
    o.max_attempts = 2;
    auto rt = NewFlyRuntime(o);
    REQUIRE(rt.ok());
    const auto t0 = std::chrono::steady_clock::now();
    Result<RuntimeAgentState> st = (*rt)->Activate(Req("s:c:x"));
    CHECK(st.status().code() == ErrorCode::kUnavailable);
    CHECK(st.status().message().rfind("fly: create machine for \"s:c:x\": ", 0) == 0);
    CHECK(NoSecret(st.status().message()));
    CHECK((*rt)->ReapOrphans().status().code() == ErrorCode::kInternal);
    CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(3'000));
  }

  TEST_CASE("a slow API is cut off by the request timeout") {
    Fixture f([](FlyOptions& o) {
      o.request_timeout = milliseconds(200);
      o.max_attempts = 1;
    });
    f.api.SetLatency(milliseconds(1'000));
    const auto t0 = std::chrono::steady_clock::now();
    Result<RuntimeAgentState> st = f.rt->Activate(Req("s:c:x"));
    CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(900));
    CHECK(st.status().code() == ErrorCode::kDeadlineExceeded);
    f.api.SetLatency(milliseconds(0));
  }

  TEST_CASE("no event or state reason carries a secret") {
    Fixture f([](FlyOptions& o) { o.start_timeout = milliseconds(200); });
    f.api.NeverStart();
    REQUIRE(f.rt->Activate(Req("s:c:x")).ok());
    REQUIRE(f.observer.WaitFor(AgentEventKind::kFailed, "s:c:x"));
    for (const AgentEvent& e : f.observer.Events()) CHECK(NoSecret(e.reason));
    CHECK(NoSecret(f.rt->GetState("s:c:x")->reason));
  }
}

// --- Through the hub: the activation timeout, pushes with the route hint.

class HubFixture {
 public:
  HubFixture() {
    HubOptions o;
    o.store_url = "sqlite::memory:";
    o.clock = &clock;
    o.publisher = &publisher;
    o.executor = &executor;
    o.transport = &transport;
    o.api_url = "http://127.0.0.1:3234";
    FlyOptions fly = TestOptions(api);
    RuntimeSpec spec;
    spec.name = "fly";
    spec.agent_types = {"*"};
    spec.open = [fly](const RuntimeOptions& options) { return NewFlyRuntime(fly, options); };
    o.runtimes.push_back(std::move(spec));
    Result<std::unique_ptr<Hub>> opened = OpenHub(std::move(o));
    REQUIRE(opened.ok());
    hub = *std::move(opened);
    Space space;
    space.id = "s1";
    space.name = "Space";
    space.owner_callsign = "alice";
    REQUIRE(hub->store().EnsureSpace(space).ok());
    NewChannel channel;
    channel.id = "c1";
    channel.space_id = "s1";
    channel.name = "general";
    REQUIRE(hub->store().CreateChannel(channel).ok());
  }
  void Post(const std::string& text, const std::string& callsign) {
    NewMessage in;
    in.space_id = "s1";
    in.channel_id = "c1";
    in.sender = "alice";
    in.sender_type = "user";
    in.type = "message";
    in.content = Json(text);
    Result<Message> stored = hub->store().AppendMessage(in);
    REQUIRE(stored.ok());
    hub->agents().Deliver(*stored, {callsign});
  }

  FakeFlyApi api{kApp, kToken};
  testing::ManualClock clock;
  testing::RecordingPublisher publisher;
  testing::InlineExecutor executor;
  testing::FakeAgentTransport transport;
  std::unique_ptr<Hub> hub;
};

TEST_SUITE("runtime/fly") {
  TEST_CASE("the hub's 180 s activation timeout destroys a machine that never checked in") {
    HubFixture fx;
    REQUIRE(fx.hub->agents().AddAgent({"s1", "c1", "echo"}, "echo").ok());
    REQUIRE(fx.api.Live().size() == 1);
    const std::string id = fx.api.Live().at(0).id;
    fx.clock.Advance(180'001);
    fx.hub->agents().Sweep(fx.clock.NowMillis());
    CHECK(fx.api.Get(id)->state == "destroyed");
    CHECK(!fx.api.RequestsTo("DELETE", "/machines/" + id).empty());
  }

  TEST_CASE("pushes to a Fly agent carry its machine id as fly-force-instance-id") {
    HubFixture fx;
    REQUIRE(fx.hub->agents().AddAgent({"s1", "c1", "echo"}, "echo").ok());
    const std::string id = fx.api.Live().at(0).id;
    fx.Post("before checkin", "echo");
    REQUIRE(
        fx.hub->agents().Checkin({"s1", "c1", "echo"}, "https://agents-app.fly.dev", Json()).ok());
    fx.Post("after checkin", "echo");
    std::vector<AgentPush> pushes = fx.transport.Accepted();
    REQUIRE(pushes.size() == 2);
    for (const AgentPush& p : pushes) {
      CHECK(p.url == "https://agents-app.fly.dev/message");
      int found = 0;
      for (const auto& [name, value] : p.headers)
        found += name == "fly-force-instance-id" && value == id;
      CHECK(found == 1);
    }
  }
}

}  // namespace
}  // namespace agentcore
