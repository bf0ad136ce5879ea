// SPDX-License-Identifier: Apache-2.0
// The engine dies under a running server: a second private Podman service, started here and
// SIGKILLed mid-run. Requests keep answering, the calls that need the engine fail with a clear
// error instead of hanging, and the server still stops.

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

#include "containers/container_support.hpp"
#include "store/temp_dir.hpp"

namespace agentcore::containers::testing {
namespace {

using agentcore::testing::TempDir;

/// scripts/podman-test-service.sh start/stop on a directory of its own.
class PrivateEngine {
 public:
  PrivateEngine() : dir_("/tmp/agentcore-e2e-engine-" + std::to_string(::getpid())) {
    std::string cmd = "BUILD_DIR=" AGENTCORE_BUILD_DIR " " AGENTCORE_SOURCE_DIR
                      "/scripts/podman-test-service.sh start " + dir_ + " 2>" + dir_ + ".log";
    FILE* out = ::popen(cmd.c_str(), "r");
    REQUIRE(out != nullptr);
    char line[512] = {};
    if (std::fgets(line, sizeof line, out) != nullptr) host_ = line;
    int rc = ::pclose(out);
    while (!host_.empty() && (host_.back() == '\n' || host_.back() == '\r')) host_.pop_back();
    REQUIRE_MESSAGE(rc == 0, ReadFile(dir_ + ".log"));
    REQUIRE(host_.rfind("unix://", 0) == 0);
  }
  ~PrivateEngine() {
    std::string cmd = AGENTCORE_SOURCE_DIR "/scripts/podman-test-service.sh stop " + dir_ +
                      " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not stop %s\n", dir_.c_str());
    std::remove((dir_ + ".log").c_str());
  }
  PrivateEngine(const PrivateEngine&) = delete;
  PrivateEngine& operator=(const PrivateEngine&) = delete;

  const std::string& host() const { return host_; }
  /// SIGKILLs the service process (the containers, under their own monitors, live on).
  void Kill() {
    pid_t pid = static_cast<pid_t>(std::atoi(ReadFile(dir_ + "/service.pid").c_str()));
    REQUIRE(pid > 0);
    REQUIRE(::kill(pid, SIGKILL) == 0);
  }

 private:
  std::string dir_;
  std::string host_;
};

TEST_SUITE("containers/engine-death") {
  TEST_CASE("an engine that dies mid-run gives clear errors, no hang, and a clean stop") {
    DockerHost();  // the suite runs only with its engine configured
    PrivateEngine engine;
    TempDir dir;
    ContainerServer server(dir.path(), engine.host(),
                           {"--runtime-instance", "e2e-death", "--activation-timeout-ms", "30000"});
    REQUIRE_MESSAGE(server.Start(), server.Stderr());
    server.Login();
    const std::string channel = server.CreateChannel("general");
    const std::string agent_id = server.space_id() + ":" + channel + ":echo";
    server.AddAgent(channel, "echo");
    REQUIRE_MESSAGE(WaitFor([&] { return server.AgentStatus(agent_id) == "online"; }),
                    server.Stderr());

    engine.Kill();

    // Requests keep answering.
    HttpResponse health = server.Call("GET", "/health", {}, 5s);
    CHECK(health.status == 200);
    server.PostMessage(channel, "@echo still there");
    // A new agent: the add answers (activation is fire-and-forget); the start fails and the
    // agent does not come online.
    const std::string other = server.CreateChannel("other");
    const std::string other_id = server.space_id() + ":" + other + ":echo";
    auto t0 = std::chrono::steady_clock::now();
    HttpResponse add = server.Call("POST", "/channels/" + other + "/agents",
                                   R"({"callsign":"echo","agentType":"echo"})", 20s);
    CHECK_MESSAGE(add.status == 201, add.body);
    CHECK(std::chrono::steady_clock::now() - t0 < 15s);
    CHECK(WaitFor([&] { return server.AgentStatus(other_id) != "starting"; }, 15s));
    CHECK(server.AgentStatus(other_id) != "online");
    // An explicit activation names the failure in JSON.
    t0 = std::chrono::steady_clock::now();
    HttpResponse activate =
        server.Call("POST", "/channels/" + other + "/agents/echo/activate", {}, 20s);
    CHECK(std::chrono::steady_clock::now() - t0 < 15s);
    CAPTURE(activate.body);
    CHECK(activate.status != 0);  // answered, not timed out
    if (activate.status != 200) {
      CHECK(activate.status == 500);
      CHECK(ParseJson(activate.body).ok());
    }
    // Pause needs the engine to stop the container: it answers, success or a JSON error.
    t0 = std::chrono::steady_clock::now();
    HttpResponse paused = server.Call("POST", "/channels/" + channel + "/agents/echo/pause", {},
                                      30s);
    CHECK(std::chrono::steady_clock::now() - t0 < 25s);
    CAPTURE(paused.body);
    CHECK((paused.status == 200 || (paused.status == 500 && ParseJson(paused.body).ok())));
    CHECK(server.Call("GET", "/health", {}, 5s).status == 200);

    // The failures are logged with the engine's own error.
    const std::string log = server.Stderr();
    CAPTURE(log);
    CHECK(Contains(log, R"("event":"agent_activation_failed","agentId":")" + other_id));
    CHECK(Contains(log, "cannot reach the engine at"));
    // And the server stops on SIGTERM without hanging on the dead engine.
    const int code = server.Stop(SIGTERM, 40s);
    CAPTURE(server.Stderr());
    CHECK(code == 0);
  }
}

}  // namespace
}  // namespace agentcore::containers::testing
