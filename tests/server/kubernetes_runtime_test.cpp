// SPDX-License-Identifier: Apache-2.0
// --runtime kubernetes: the server refuses to start without a cluster configuration, and
// against the fake API server (tests/support/fake_kube_api.hpp) an agent's activation creates
// its pod; the "pod" is then played by a local echo agent started with the pod's Secret as its
// environment, which checks in and answers as a container would.
#include "runtime_config.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>

#include "server/server_fixture.hpp"
#include "support/fake_kube_api.hpp"

extern char** environ;

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;
using agentcore::testing::FakeKubeApi;
using agentcore::testing::TempDir;

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

// The environment without the variables that would point the server at a cluster.
std::vector<std::string> EnvWithoutCluster() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.starts_with("KUBECONFIG=") || v.starts_with("KUBERNETES_SERVICE_")) continue;
    env.emplace_back(v);
  }
  return env;
}

pid_t Spawn(std::vector<std::string> args, std::vector<std::string> env,
            const std::string& stderr_path) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  REQUIRE(posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data()) == 0);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_SUITE("server/kubernetes") {
  TEST_CASE("the kubernetes runtime needs a kubeconfig or an in-cluster configuration") {
    ::unsetenv("KUBERNETES_SERVICE_HOST");
    ServerConfig config;
    config.runtime = "kubernetes";
    auto specs = RuntimeSpecsFrom(config);
    REQUIRE(!specs.ok());
    CHECK(specs.status().message().find("no cluster configuration: set --kube-config or "
                                        "KUBECONFIG") != std::string::npos);
    config.kube_config = "/nonexistent/kubeconfig";
    specs = RuntimeSpecsFrom(config);
    REQUIRE(!specs.ok());
    CHECK(specs.status().message().find("cannot read kubeconfig \"/nonexistent/kubeconfig\"") !=
          std::string::npos);
  }

  TEST_CASE("agentcore-server --runtime kubernetes refuses to start without a cluster") {
    TempDir dir;
    const std::string err = dir.path() + "/stderr";
    pid_t pid = Spawn({AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port", "0", "--database-url",
                       "sqlite://" + dir.path() + "/db", "--data-dir", dir.path() + "/data",
                       "--auth-mode", "dev", "--runtime", "kubernetes"},
                      EnvWithoutCluster(), err);
    int status = 0;
    pid_t got = 0;
    REQUIRE(WaitUntil([&] { return (got = ::waitpid(pid, &status, WNOHANG)) == pid; }, 10s));
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) != 0);
    CHECK(ReadFile(err).find("no cluster configuration") != std::string::npos);
  }

#ifdef AGENTCORE_ECHO_AGENT
  TEST_CASE("an agent activated on the kubernetes runtime gets a pod, checks in and replies") {
    FakeKubeApi fake;
    TempDir dir;
    const std::string kubeconfig = dir.path() + "/kubeconfig";
    std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\n"
                                 "clusters:\n- name: fake\n  cluster:\n    server: "
                              << fake.Url()
                              << "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n"
                                 "    user: robot\n"
                                 "users:\n- name: robot\n  user:\n    token: fake-token\n"
                                 "current-context: fake\n";
    ServerFixtureOptions o;
    o.tweak = [&](ServerConfig& c) {
      c.runtime = "kubernetes";
      c.kube_config = kubeconfig;
      c.agent_sweep_interval = 50ms;
      c.agent_kill_grace = 0ms;
    };
    ServerFixture fx(o);
    fx.Login();
    const std::string channel = fx.CreateChannel("general");
    HttpResponse added = fx.Call("POST", "/channels/" + channel + "/agents",
                                 R"({"callsign":"echo","agentType":"echo"})");
    REQUIRE_MESSAGE(added.status == 201, added.body);

    // The activation made a pod; its Secret holds the environment.
    std::optional<Json> pod;
    REQUIRE(WaitUntil([&] {
      auto pods = fake.Pods();
      if (pods.empty()) return false;
      pod = pods.front();
      return true;
    }));
    const std::string ns = *pod->Find("metadata")->FindString("namespace");
    const std::string name = *pod->Find("metadata")->FindString("name");
    auto secret = fake.Secret(ns, name);
    REQUIRE(secret);
    const Json* data = secret->Find("stringData");
    REQUIRE(data != nullptr);
    CHECK(*data->FindString("CAST_AGENT_ID") == fx.space_id() + ":" + channel + ":echo");
    std::vector<std::string> env = {"PATH=/usr/bin:/bin"};
    for (const auto& [k, v] : data->as_object()) {
      if (k != "CAST_CALLBACK_URL" && k != "PORT") env.push_back(k + "=" + v.as_string());
    }
    REQUIRE(fake.SetPhase(ns, name, "Running"));

    // The "container": the echo agent with the pod's environment.
    pid_t agent = Spawn({AGENTCORE_ECHO_AGENT}, env, dir.path() + "/agent.log");
    HttpResponse posted = fx.Call("POST", "/channels/" + channel + "/messages",
                                  R"({"content":"@echo hi","sender":"alice","senderType":"user"})");
    REQUIRE_MESSAGE(posted.status == 201, posted.body);
    bool replied = WaitUntil([&] {
      HttpResponse r = fx.Call("GET", "/channels/" + channel + "/messages?limit=50");
      return r.body.find("\"type\":\"agent\",\"content\":\"echo: ") != std::string::npos &&
             r.body.find("@echo hi\",\"timestamp\"", r.body.find("\"sender\":\"echo\"")) !=
                 std::string::npos;
    });
    if (!replied) {
      MESSAGE(fx.Call("GET", "/channels/" + channel + "/messages?limit=50").body);
      auto state = fx.app()
                       .hub()
                       .runtimes()
                       .Find("kubernetes")
                       ->GetState(fx.space_id() + ":" + channel + ":echo");
      if (state) MESSAGE(static_cast<int>(state->status), " ", state->reason, " ", state->endpoint);
    }
    CHECK_MESSAGE(replied, ReadFile(dir.path() + "/agent.log"));

    // Stopping the server deletes the pod and its Secret.
    fx.app().Stop();
    CHECK(!fake.Pod(ns, name));
    CHECK(!fake.Secret(ns, name));
    ::kill(agent, SIGTERM);
    ::waitpid(agent, nullptr, 0);
  }
#endif
}

}  // namespace agentcore::server::testing
