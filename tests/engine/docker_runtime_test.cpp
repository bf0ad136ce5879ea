// SPDX-License-Identifier: Apache-2.0
// The Docker runtime against a real engine (Podman's Docker API service or Docker), named by
// AGENTCORE_TEST_DOCKER_HOST (scripts/podman-test-service.sh start DIR prints it). Every case
// FAILS when it is unset: a skipped suite would pass untested. The agents are the echo agent's
// image (localhost/agentcore-echo-agent:latest, AGENTCORE_TEST_DOCKER_IMAGE overrides) with
// command overrides, so no server is needed: `--help` exits with code 2 at once, and
// `--never-checkin` keeps running until it is stopped (SIGTERM: exit code 0).
#include <agentcore/runtime/docker.hpp>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>
#include <agentcore/runtime/agent.hpp>
#include <agentcore/runtime/runtime.hpp>

#include "runtime/docker/docker_engine.hpp"
#include "support/recording_runtime_observer.hpp"

using agentcore::ActivateRequest;
using agentcore::AgentEvent;
using agentcore::AgentEventKind;
using agentcore::AgentStatus;
using agentcore::DockerAgentType;
using agentcore::DockerOptions;
using agentcore::ErrorCode;
using agentcore::Json;
using agentcore::NewDockerRuntime;
using agentcore::Runtime;
using agentcore::RuntimeObserver;
using agentcore::RuntimeOptions;
using agentcore::internal::DockerEngine;
using agentcore::testing::RecordingRuntimeObserver;
using std::chrono::milliseconds;

namespace {

std::string DockerHost() {
  const char* host = std::getenv("AGENTCORE_TEST_DOCKER_HOST");
  if (host == nullptr || *host == '\0') {
    FAIL(
        "AGENTCORE_TEST_DOCKER_HOST is not set: start an engine with "
        "`scripts/podman-test-service.sh start DIR` and export what it prints");
  }
  return host;
}

std::string Image() {
  const char* image = std::getenv("AGENTCORE_TEST_DOCKER_IMAGE");
  return image != nullptr && *image != '\0' ? image : "localhost/agentcore-echo-agent:latest";
}

// An instance label no other test (or earlier run) uses.
std::string UniqueInstance(const std::string& name) {
  static std::atomic<int> n{0};
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "-" + name;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agentcore-dk-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool WaitUntil(const std::function<bool()>& pred, milliseconds timeout = milliseconds(15000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return true;
}

// The engine, seen directly (not through the runtime).
struct Engine {
  DockerEngine engine{agentcore::internal::DockerSocketPath(DockerHost()).value(),
                      milliseconds(10000)};

  // Containers labelled with `instance` (all states).
  std::vector<Json> Containers(const std::string& instance) {
    auto list = engine.ListContainers({"agentcore.instance=" + instance});
    REQUIRE_MESSAGE(list.ok(), list.status().ToString());
    return *list;
  }
  std::vector<Json> Running(const std::string& instance) {
    std::vector<Json> out;
    for (const Json& c : Containers(instance)) {
      const std::string* state = c.FindString("State");
      if (state != nullptr && *state == "running") out.push_back(c);
    }
    return out;
  }
  Json Inspect(const std::string& id) {
    auto r = engine.InspectContainer(id);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return *r;
  }
  // Removes whatever a failed test left.
  void RemoveAll(const std::string& instance) {
    auto list = engine.ListContainers({"agentcore.instance=" + instance});
    if (!list.ok()) return;
    for (const Json& c : *list) {
      if (const std::string* id = c.FindString("Id")) (void)engine.RemoveContainer(*id, true);
    }
  }
};

DockerOptions Options(const std::string& instance, const std::string& data_dir,
                      std::vector<std::string> command = {"--never-checkin"}) {
  DockerOptions o;
  o.docker_host = DockerHost();
  o.instance = instance;
  o.data_dir = data_dir;
  DockerAgentType type;
  type.image.image = Image();
  type.image.command = std::move(command);
  o.types["*"] = type;
  DockerAgentType failing = type;
  failing.image.command = {"--help"};
  o.types["failing"] = failing;
  return o;
}

ActivateRequest Req(const std::string& id, const std::string& type = "echo") {
  ActivateRequest r;
  r.agent_id = id;
  r.agent_type = type;
  r.auth_token = "secret-token-" + id;
  r.api_url = "http://127.0.0.1:9";  // nobody checks in here
  return r;
}

std::unique_ptr<Runtime> Make(const DockerOptions& o, RuntimeObserver* observer = nullptr) {
  RuntimeOptions ro;
  ro.observer = observer;
  auto rt = NewDockerRuntime(o, ro);
  REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
  return std::move(*rt);
}

std::string ReadAllLog(const Runtime& rt, const std::string& id) {
  auto chunk = rt.ReadLog(id, 0, agentcore::kMaxLogChunkBytes);
  REQUIRE_MESSAGE(chunk.ok(), chunk.status().ToString());
  return chunk->data;
}

bool EnvHas(const Json& inspect, const std::string& entry) {
  const Json* config = inspect.Find("Config");
  const Json* env = config != nullptr ? config->Find("Env") : nullptr;
  if (env == nullptr || !env->is_array()) return false;
  for (const Json& e : env->as_array()) {
    if (e.is_string() && e.as_string() == entry) return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("runtime/docker_engine") {
  TEST_CASE("activate creates a labelled running container with the CAST_* environment") {
    Engine engine;
    TempDir dir;
    const std::string instance = UniqueInstance("activate");
    RecordingRuntimeObserver obs{milliseconds(15000)};
    DockerOptions o = Options(instance, dir.path());
    o.types["*"].image.cpu_millis = 500;
    o.types["*"].image.memory_bytes = 64 << 20;
    o.types["*"].image.env = {{"MODEL_KEY", "type-secret"}};
    auto rt = Make(o, &obs);
    ActivateRequest req = Req("sp:ch:echo");
    req.extra_env = {{"EXTRA", "x"}};
    const auto t0 = std::chrono::steady_clock::now();
    auto st = rt->Activate(req);
    MESSAGE("activate (create + start) took " << std::chrono::duration_cast<milliseconds>(
                                                     std::chrono::steady_clock::now() - t0)
                                                     .count()
                                              << " ms");
    REQUIRE_MESSAGE(st.ok(), st.status().ToString());
    CHECK(st->status == AgentStatus::kActivating);
    CHECK(obs.WaitFor(AgentEventKind::kActivating, "sp:ch:echo"));

    auto running = engine.Running(instance);
    REQUIRE(running.size() == 1);
    const Json inspect = engine.Inspect(*running[0].FindString("Id"));
    const Json* labels = inspect.Find("Config")->Find("Labels");
    REQUIRE(labels != nullptr);
    CHECK(*labels->FindString("agentcore.instance") == instance);
    CHECK(*labels->FindString("agentcore.space") == "sp");
    CHECK(*labels->FindString("agentcore.channel") == "ch");
    CHECK(*labels->FindString("agentcore.callsign") == "echo");
    CHECK(*labels->FindString("agentcore.agent-id") == "sp:ch:echo");
    CHECK(*labels->FindString("agentcore.agent-type") == "echo");
    // Secrets are in the environment, never in a label.
    for (const auto& m : labels->as_object()) {
      CHECK(m.value.as_string().find("secret") == std::string::npos);
    }
    CHECK(EnvHas(inspect, "CAST_AGENT_ID=sp:ch:echo"));
    CHECK(EnvHas(inspect, "CAST_AUTH_TOKEN=secret-token-sp:ch:echo"));
    CHECK(EnvHas(inspect, "CAST_API_URL=http://127.0.0.1:9"));
    CHECK(EnvHas(inspect, "CAST_CALLBACK_URL=" + st->endpoint));
    CHECK(st->endpoint.rfind("http://127.0.0.1:", 0) == 0);
    CHECK(EnvHas(inspect, "MODEL_KEY=type-secret"));
    CHECK(EnvHas(inspect, "EXTRA=x"));
    const Json* host = inspect.Find("HostConfig");
    CHECK(*host->FindString("NetworkMode") == "host");
    CHECK(host->Find("NanoCpus")->as_number() == 500'000'000);
    CHECK(host->Find("Memory")->as_number() == 64 << 20);
    CHECK(inspect.Find("State")->Find("Running")->as_bool());
    CHECK(st->instance_id == running[0].FindString("Id")->substr(0, 12));

    // Idempotent: the same container, no second one.
    auto again = rt->Activate(req);
    REQUIRE(again.ok());
    CHECK(again->instance_id == st->instance_id);
    CHECK(engine.Containers(instance).size() == 1);
    CHECK(rt->ListAgents().size() == 1);

    CHECK(rt->Checkin("sp:ch:echo", "http://127.0.0.1:5555").ok());
    CHECK(obs.WaitFor(AgentEventKind::kOnline, "sp:ch:echo"));
    CHECK(rt->GetState("sp:ch:echo")->status == AgentStatus::kOnline);
    CHECK(rt->Checkin("sp:ch:other", "x").code() == ErrorCode::kConflict);
    CHECK(rt->RouteHints("sp:ch:echo").is_null());
    CHECK(rt->Kind() == "docker");
    CHECK(rt->Shutdown().ok());
    engine.RemoveAll(instance);
  }

  TEST_CASE("a failing command reports kFailed with its exit code and its container is removed") {
    Engine engine;
    TempDir dir;
    const std::string instance = UniqueInstance("fail");
    RecordingRuntimeObserver obs{milliseconds(15000)};
    auto rt = Make(Options(instance, dir.path()), &obs);
    REQUIRE(rt->Activate(Req("s:c:bad", "failing")).ok());
    auto failed = obs.WaitFor(AgentEventKind::kFailed, "s:c:bad");
    REQUIRE(failed);
    REQUIRE(failed->exit);
    CHECK(failed->exit->exit_code == 2);
    CHECK(failed->reason == "exited with code 2");
    CHECK(obs.KindsFor("s:c:bad") ==
          std::vector<AgentEventKind>{AgentEventKind::kActivating, AgentEventKind::kFailed});
    auto st = rt->GetState("s:c:bad");
    REQUIRE(st);
    CHECK(st->status == AgentStatus::kError);
    CHECK(rt->ListAgents().empty());
    // The exited container is removed; its output (the usage text) is kept.
    CHECK(WaitUntil([&] { return engine.Containers(instance).empty(); }));
    CHECK(ReadAllLog(*rt, "s:c:bad").find("usage: echo-agent") != std::string::npos);
    // Activating again starts a fresh container, which fails again.
    REQUIRE(rt->Activate(Req("s:c:bad", "failing")).ok());
    CHECK(WaitUntil([&] {
      auto kinds = obs.KindsFor("s:c:bad");
      return std::count(kinds.begin(), kinds.end(), AgentEventKind::kFailed) == 2;
    }));
    CHECK(rt->Shutdown().ok());
    engine.RemoveAll(instance);
  }

  TEST_CASE("an agent that exits with code 0 on its own reports kOffline") {
    Engine engine;
    TempDir dir;
    const std::string instance = UniqueInstance("exit0");
    RecordingRuntimeObserver obs{milliseconds(15000)};
    auto rt = Make(Options(instance, dir.path()), &obs);
    REQUIRE(rt->Activate(Req("s:c:zero")).ok());
    auto running = engine.Running(instance);
    REQUIRE(running.size() == 1);
    // Its signal handling is set up once it listens: PID 1 of a container ignores a SIGTERM
    // that comes earlier.
    REQUIRE(WaitUntil([&] {
      auto chunk = rt->ReadLog("s:c:zero", 0, 1 << 20);
      return chunk.ok() && chunk->data.find("listening on") != std::string::npos;
    }));
    // Not through the runtime: the agent ends "by itself" (the echo agent exits 0 on SIGTERM).
    REQUIRE(engine.engine.KillContainer(*running[0].FindString("Id"), "SIGTERM").ok());
    auto offline = obs.WaitFor(AgentEventKind::kOffline, "s:c:zero");
    REQUIRE(offline);
    REQUIRE(offline->exit);
    CHECK(offline->exit->exit_code == 0);
    CHECK(offline->reason == "exited with code 0");
    CHECK(rt->GetState("s:c:zero")->status == AgentStatus::kOffline);
    CHECK(WaitUntil([&] { return engine.Containers(instance).empty(); }));
    CHECK(rt->Shutdown().ok());
    engine.RemoveAll(instance);
  }

  TEST_CASE("suspend stops and removes the container and the log survives") {
    Engine engine;
    TempDir dir;
    const std::string instance = UniqueInstance("suspend");
    RecordingRuntimeObserver obs{milliseconds(15000)};
    auto rt = Make(Options(instance, dir.path()), &obs);
    REQUIRE(rt->Activate(Req("s:c:sus")).ok());
    // ReadLog while running: the live container's logs.
    CHECK(WaitUntil([&] {
      auto chunk = rt->ReadLog("s:c:sus", 0, 1 << 20);
      return chunk.ok() && chunk->data.find("listening on") != std::string::npos;
    }));
    const std::string live = ReadAllLog(*rt, "s:c:sus");
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(rt->Suspend("s:c:sus", "manual").ok());
    const auto suspend_ms =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE("suspend took " << suspend_ms << " ms");
    CHECK(engine.Containers(instance).empty());
    auto st = rt->GetState("s:c:sus");
    CHECK(st->status == AgentStatus::kOffline);
    CHECK(st->reason == "manual");
    auto offline = obs.WaitFor(AgentEventKind::kOffline, "s:c:sus");
    REQUIRE(offline);
    CHECK(offline->reason == "manual");
    CHECK(rt->ListAgents().empty());
    // The log after the container is gone: the same bytes, from the archive.
    CHECK(ReadAllLog(*rt, "s:c:sus") == live);
    auto tail = rt->ReadLog("s:c:sus", 5, 10);
    REQUIRE(tail.ok());
    CHECK(tail->data == live.substr(5, 10));
    CHECK(tail->next_offset == 15);
    CHECK(tail->size == live.size());
    CHECK(rt->ReadLog("s:c:sus", live.size() + 1, 10).status().code() ==
          ErrorCode::kInvalidArgument);
    CHECK(rt->ReadLog("s:c:never", 0, 10).status().code() == ErrorCode::kNotFound);
    // Idempotent.
    CHECK(rt->Suspend("s:c:sus", "manual").ok());
    CHECK(rt->Suspend("s:c:unknown", "manual").ok());
    CHECK(rt->Suspend("bad", "manual").code() == ErrorCode::kInvalidArgument);
    // A second activation appends to the same log; the old part stays at the front.
    REQUIRE(rt->Activate(Req("s:c:sus")).ok());
    CHECK(WaitUntil([&] {
      std::string all = ReadAllLog(*rt, "s:c:sus");
      return all.size() > live.size() && all.rfind(live, 0) == 0 &&
             all.find("listening on", live.size()) != std::string::npos;
    }));
    CHECK(rt->Shutdown().ok());
    // After a restart of the server (a new runtime on the same data dir) the log is still there.
    auto rt2 = Make(Options(instance, dir.path()));
    CHECK(ReadAllLog(*rt2, "s:c:sus").rfind(live, 0) == 0);
    engine.RemoveAll(instance);
  }

  TEST_CASE("a missing image fails the factory and activation with clear messages") {
    Engine engine;
    TempDir dir;
    const std::string instance = UniqueInstance("noimage");
    DockerOptions o = Options(instance, dir.path());
    o.types["ghost"].image.image = "localhost/agentcore-no-such-image:latest";
    auto rt = NewDockerRuntime(o);
    REQUIRE_FALSE(rt.ok());
    CHECK(rt.status().code() == ErrorCode::kNotFound);
    CHECK(rt.status().message().find("localhost/agentcore-no-such-image:latest") !=
          std::string::npos);
    CHECK(rt.status().message().find("build") != std::string::npos);

    o.check_images = false;
    auto unchecked = Make(o);
    auto st = unchecked->Activate(Req("s:c:ghost", "ghost"));
    REQUIRE_FALSE(st.ok());
    CHECK(st.status().code() == ErrorCode::kNotFound);
    MESSAGE(st.status().message());
    CHECK(st.status().message().rfind("docker: create container for \"s:c:ghost\": 404 ", 0) == 0);
    CHECK(st.status().message().find("agentcore-no-such-image") != std::string::npos);
    auto state = unchecked->GetState("s:c:ghost");
    REQUIRE(state);
    CHECK(state->status == AgentStatus::kError);
    CHECK(engine.Containers(instance).empty());
    CHECK(unchecked->Shutdown().ok());
  }

  TEST_CASE("reap orphans removes what a destroyed runtime left and leaves other instances alone") {
    Engine engine;
    TempDir dir, other_dir;
    const std::string instance = UniqueInstance("reap");
    const std::string other = UniqueInstance("other");
    {
      DockerOptions o = Options(instance, dir.path());
      o.stop_agents_on_destroy = false;
      auto crashed = Make(o);
      REQUIRE(crashed->Activate(Req("s:c:a")).ok());
      REQUIRE(crashed->Activate(Req("s:c:b")).ok());
    }  // destroyed as a crash would leave it
    auto bystander = Make(Options(other, other_dir.path()));
    REQUIRE(bystander->Activate(Req("s:c:a")).ok());
    CHECK(engine.Running(instance).size() == 2);

    auto rt = Make(Options(instance, dir.path()));
    REQUIRE(rt->Activate(Req("s:c:mine")).ok());  // started by this runtime: not an orphan
    auto reaped = rt->ReapOrphans();
    REQUIRE_MESSAGE(reaped.ok(), reaped.status().ToString());
    CHECK(*reaped == std::vector<std::string>{"s:c:a", "s:c:b"});
    auto left = engine.Containers(instance);
    REQUIRE(left.size() == 1);
    CHECK(*left[0].Find("Labels")->FindString("agentcore.agent-id") == "s:c:mine");
    CHECK(engine.Running(other).size() == 1);  // another instance's container: untouched
    // The orphans' logs were kept.
    CHECK(ReadAllLog(*rt, "s:c:a").find("listening on") != std::string::npos);
    // Nothing left to reap.
    auto again = rt->ReapOrphans();
    REQUIRE(again.ok());
    CHECK(again->empty());
    CHECK(rt->Shutdown().ok());
    CHECK(bystander->Shutdown().ok());
    CHECK(engine.Containers(other).empty());
    engine.RemoveAll(instance);
    engine.RemoveAll(other);
  }

  TEST_CASE("a stale container of the same agent is replaced at activation") {
    Engine engine;
    TempDir dir;
    const std::string instance = UniqueInstance("stale");
    {
      DockerOptions o = Options(instance, dir.path());
      o.stop_agents_on_destroy = false;
      auto crashed = Make(o);
      REQUIRE(crashed->Activate(Req("s:c:st")).ok());
    }
    auto before = engine.Running(instance);
    REQUIRE(before.size() == 1);
    auto rt = Make(Options(instance, dir.path()));
    auto st = rt->Activate(Req("s:c:st"));
    REQUIRE_MESSAGE(st.ok(), st.status().ToString());
    auto after = engine.Running(instance);
    REQUIRE(after.size() == 1);
    CHECK(*after[0].FindString("Id") != *before[0].FindString("Id"));
    CHECK(rt->Shutdown().ok());
    engine.RemoveAll(instance);
  }

  TEST_CASE("shutdown stops and removes every container and refuses later activations") {
    Engine engine;
    TempDir dir;
    const std::string instance = UniqueInstance("shutdown");
    RecordingRuntimeObserver obs{milliseconds(15000)};
    auto rt = Make(Options(instance, dir.path()), &obs);
    for (const char* id : {"s:c:x", "s:c:y", "s:c:z"}) REQUIRE(rt->Activate(Req(id)).ok());
    CHECK(engine.Running(instance).size() == 3);
    auto t0 = std::chrono::steady_clock::now();
    REQUIRE(rt->Shutdown().ok());
    MESSAGE(
        "shutdown of 3 took "
        << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count()
        << " ms");
    CHECK(engine.Containers(instance).empty());
    for (const char* id : {"s:c:x", "s:c:y", "s:c:z"}) {
      auto offline = obs.WaitFor(AgentEventKind::kOffline, id, milliseconds(100));
      REQUIRE(offline);
      CHECK(offline->reason == "shutdown");
    }
    CHECK(rt->Activate(Req("s:c:x")).status().code() == ErrorCode::kUnavailable);
    CHECK(rt->Shutdown().ok());
    CHECK(ReadAllLog(*rt, "s:c:x").find("listening on") != std::string::npos);
    engine.RemoveAll(instance);
  }

  TEST_CASE("ten concurrent activations start ten containers") {
    Engine engine;
    TempDir dir;
    const std::string instance = UniqueInstance("ten");
    RecordingRuntimeObserver obs{milliseconds(15000)};
    auto rt = Make(Options(instance, dir.path()), &obs);
    std::vector<std::thread> threads;
    std::atomic<int> ok{0};
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 10; ++i) {
      threads.emplace_back([&, i] {
        // Two activations of each agent at once: idempotent, one container each.
        if (rt->Activate(Req("s:c:a" + std::to_string(i))).ok()) ++ok;
        if (rt->Activate(Req("s:c:a" + std::to_string(i))).ok()) ++ok;
      });
    }
    for (std::thread& t : threads) t.join();
    MESSAGE(
        "10 activations took "
        << std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0).count()
        << " ms");
    CHECK(ok == 20);
    CHECK(engine.Running(instance).size() == 10);
    CHECK(rt->ListAgents().size() == 10);
    for (int i = 0; i < 10; ++i) {
      // Events are delivered on the runtime's thread, soon after.
      const std::string id = "s:c:a" + std::to_string(i);
      CHECK(WaitUntil([&] { return !obs.KindsFor(id).empty(); }));
      CHECK(obs.KindsFor(id) == std::vector<AgentEventKind>{AgentEventKind::kActivating});
    }
    REQUIRE(rt->Shutdown().ok());
    CHECK(engine.Containers(instance).empty());
    engine.RemoveAll(instance);
  }
}
