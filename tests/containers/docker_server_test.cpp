// SPDX-License-Identifier: Apache-2.0
// End to end on a real engine: the agentcore-server binary with --runtime docker, the echo
// agent's image (scripts/build-agent-image.sh) on the private Podman service of the test command
// (AGENTCORE_TEST_DOCKER_HOST). Issue 14, "Tested against a real engine".

#include <signal.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>

#include "containers/container_support.hpp"
#include "server/websocket_test_client.hpp"
#include "store/temp_dir.hpp"

namespace agentcore::containers::testing {
namespace {

using agentcore::testing::TempDir;
using agentcore::testing::TestHead;
using agentcore::testing::TestWebSocket;

/// A fresh instance label per test, so tests never see each other's containers.
std::string Instance(const std::string& what) {
  return "e2e-" + what + "-" + std::to_string(::getpid());
}

std::vector<std::string> Base(const std::string& instance) {
  return {"--runtime-instance", instance, "--activation-timeout-ms", "30000"};
}

/// Collects the text frames a WebSocket subscriber of one channel gets.
class Subscriber {
 public:
  Subscriber(ContainerServer& server, const std::string& channel) : ws_(static_cast<std::uint16_t>(server.port())) {
    TestHead head = ws_.Handshake("/stream", "Cookie: " + server.cookie() + "\r\n");
    REQUIRE(head.status == 101);
    REQUIRE(ws_.SendText(R"({"request":"sync","channelId":")" + channel + R"(","limit":1})"));
    REQUIRE(ws_.NextText());
  }
  /// Waits for a frame containing every one of `needles`.
  bool WaitFrame(const std::vector<std::string>& needles, std::chrono::milliseconds timeout = 20s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (const std::string& f : frames_) {
        bool all = true;
        for (const std::string& n : needles) all = all && Contains(f, n);
        if (all) return true;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      auto text = ws_.NextText(std::min<std::chrono::milliseconds>(left, 500ms));
      if (text) frames_.push_back(*text);
    }
  }

 private:
  TestWebSocket ws_;
  std::vector<std::string> frames_;
};

TEST_SUITE("containers/docker-server") {
  TEST_CASE("@echo hi starts a labelled container that checks in and replies; pause stops it; "
            "the next message starts it again") {
    const std::string host = DockerHost();
    Engine engine(host);
    TempDir dir;
    const std::string instance = Instance("echo");
    ContainerServer server(dir.path(), host, Base(instance));
    REQUIRE_MESSAGE(server.Start(), server.Stderr());
    // The start-up line names the runtime and the image.
    CHECK(Contains(server.Stdout(), std::string("docker (*: ") + kEchoImage + ")"));
    server.Login();
    const std::string channel = server.CreateChannel("general");
    Subscriber sub(server, channel);
    const std::string agent_id = server.space_id() + ":" + channel + ":echo";

    server.AddAgent(channel, "echo");
    REQUIRE_MESSAGE(WaitFor([&] { return server.AgentStatus(agent_id) == "online"; }),
                    server.Stderr());
    CHECK(sub.WaitFrame({R"("type":"agent_state")", R"("state":"online")"}));
    std::vector<Json> running = engine.Running(instance);
    REQUIRE(running.size() == 1);
    CHECK(Engine::Label(running[0], "agentcore.agent-id") == agent_id);
    CHECK(Engine::Label(running[0], "agentcore.callsign") == "echo");
    const std::string first_id = *running[0].FindString("Id");

    server.PostMessage(channel, "@echo hi");
    std::vector<std::string> replies;
    REQUIRE(WaitFor([&] {
      replies = server.Replies(channel, "echo");
      return !replies.empty();
    }));
    CHECK(replies[0] == "echo: Message from @alice: @echo hi");
    CHECK(sub.WaitFrame({"echo: Message from @alice: @echo hi"}));
    // The logs route reads the container's output.
    HttpResponse logs = server.Call("GET", "/channels/" + channel + "/agents/echo/logs");
    CHECK(logs.status == 200);
    CHECK(Contains(logs.body, "checked in as"));

    // Pause: the container is stopped (and removed); nothing of this instance runs.
    HttpResponse paused = server.Call("POST", "/channels/" + channel + "/agents/echo/pause");
    REQUIRE_MESSAGE(paused.status == 200, paused.body);
    CHECK(WaitFor([&] { return engine.Running(instance).empty(); }, 10s));
    // The log outlives the container.
    logs = server.Call("GET", "/channels/" + channel + "/agents/echo/logs");
    CHECK(logs.status == 200);
    CHECK(Contains(logs.body, "checked in as"));

    // Resumed, a second message starts a new container, which replies.
    HttpResponse resumed = server.Call("POST", "/channels/" + channel + "/agents/echo/resume");
    REQUIRE_MESSAGE(resumed.status == 200, resumed.body);
    server.PostMessage(channel, "@echo again");
    REQUIRE(WaitFor([&] { return server.Replies(channel, "echo").size() >= 2; }));
    CHECK(Contains(server.Replies(channel, "echo")[1], "@echo again"));
    running = engine.Running(instance);
    REQUIRE(running.size() == 1);
    CHECK(*running[0].FindString("Id") != first_id);

    // SIGTERM: every container stopped, exit 0.
    CHECK(server.Stop(SIGTERM) == 0);
    CHECK(engine.Running(instance).empty());
    auto left = engine.Containers(instance);
    REQUIRE(left.has_value());
    CHECK(left->empty());
  }

  TEST_CASE("SIGTERM stops every container of the server and it exits 0") {
    const std::string host = DockerHost();
    Engine engine(host);
    TempDir dir;
    const std::string instance = Instance("term");
    ContainerServer server(dir.path(), host, Base(instance));
    REQUIRE_MESSAGE(server.Start(), server.Stderr());
    server.Login();
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      std::string channel = server.CreateChannel("c" + std::to_string(i));
      server.AddAgent(channel, "echo");
      ids.push_back(server.space_id() + ":" + channel + ":echo");
    }
    for (const std::string& id : ids) {
      REQUIRE_MESSAGE(WaitFor([&] { return server.AgentStatus(id) == "online"; }),
                      server.Stderr());
    }
    REQUIRE(engine.Running(instance).size() == 3);
    CHECK(server.Stop(SIGTERM) == 0);
    CHECK(engine.Running(instance).empty());
    CHECK(Contains(server.Stdout(), R"({"event":"stopped"})"));
  }

  TEST_CASE("a server killed with SIGKILL leaves its container; the next start on the same data "
            "directory reaps it") {
    const std::string host = DockerHost();
    Engine engine(host);
    TempDir dir;
    // No --runtime-instance: the label comes from the data directory, the same both times.
    std::vector<std::string> args = {"--activation-timeout-ms", "30000"};
    std::string instance;
    std::string channel;
    std::string cookie;
    std::string agent_id;
    {
      ContainerServer first(dir.path(), host, args);
      REQUIRE_MESSAGE(first.Start(), first.Stderr());
      first.Login();
      cookie = first.cookie();
      channel = first.CreateChannel("general");
      agent_id = first.space_id() + ":" + channel + ":echo";
      first.AddAgent(channel, "echo");
      REQUIRE_MESSAGE(WaitFor([&] { return first.AgentStatus(agent_id) == "online"; }),
                      first.Stderr());
      CHECK(first.Stop(SIGKILL) == 128 + SIGKILL);
    }
    // The container, found by its agent id; its instance label is the one derived from the
    // data directory (srv-<hash>).
    auto found = engine.Containers("agentcore.agent-id", agent_id);
    REQUIRE(found.has_value());
    std::vector<Json> mine = *found;
    REQUIRE(mine.size() == 1);
    CHECK(*mine[0].FindString("State") == "running");  // left behind by the crash
    instance = Engine::Label(mine[0], "agentcore.instance");
    CHECK(instance.rfind("srv-", 0) == 0);

    ContainerServer second(dir.path(), host, args);
    REQUIRE_MESSAGE(second.Start(), second.Stderr());
    // Reaped at start: nothing of this instance is left.
    CHECK(WaitFor([&] { return engine.Containers(instance)->empty(); }, 15s));
    second.set_cookie(cookie);
    CHECK(second.AgentStatus(agent_id) != "online");
    // The agent works again on the next message, in a new container.
    second.PostMessage(channel, "@echo back");
    REQUIRE_MESSAGE(WaitFor([&] { return !second.Replies(channel, "echo").empty(); }),
                    second.Stderr());
    CHECK(engine.Running(instance).size() == 1);
    CHECK(second.Stop(SIGTERM) == 0);
    CHECK(engine.Containers(instance)->empty());
  }

  TEST_CASE("--agent-image runs a named type from its own image and the others from the default") {
    const std::string host = DockerHost();
    Engine engine(host);
    REQUIRE(engine.Tag(kEchoImage, "localhost/agentcore-echo-alias", "e2e"));
    TempDir dir;
    const std::string instance = Instance("image");
    std::vector<std::string> args = Base(instance);
    args.insert(args.end(), {"--agent-image", "special=localhost/agentcore-echo-alias:e2e"});
    ContainerServer server(dir.path(), host, args);
    REQUIRE_MESSAGE(server.Start(), server.Stderr());
    CHECK(Contains(server.Stdout(),
                   std::string("docker (*: ") + kEchoImage +
                       ", special: localhost/agentcore-echo-alias:e2e)"));
    server.Login();
    const std::string channel = server.CreateChannel("general");
    server.AddAgent(channel, "echo");
    server.AddAgent(channel, "spec", "special");
    for (const std::string callsign : {"echo", "spec"}) {
      const std::string id = server.space_id() + ":" + channel + ":" + callsign;
      REQUIRE_MESSAGE(WaitFor([&] { return server.AgentStatus(id) == "online"; }),
                      server.Stderr());
    }
    std::map<std::string, std::string> image_of;  // callsign -> image
    for (const Json& c : engine.Running(instance)) {
      image_of[Engine::Label(c, "agentcore.callsign")] = *c.FindString("Image");
    }
    CHECK(image_of["echo"] == kEchoImage);
    CHECK(image_of["spec"] == "localhost/agentcore-echo-alias:e2e");
    CHECK(server.Stop(SIGTERM) == 0);
  }

  TEST_CASE("a container that never checks in is removed at the activation timeout") {
    const std::string host = DockerHost();
    Engine engine(host);
    TempDir dir;
    const std::string instance = Instance("timeout");
    // No network: the agent cannot reach the server, so it never checks in.
    ContainerServer server(dir.path(), host,
                           {"--runtime-instance", instance, "--docker-network", "none",
                            "--activation-timeout-ms", "2000"});
    REQUIRE_MESSAGE(server.Start(), server.Stderr());
    server.Login();
    const std::string channel = server.CreateChannel("general");
    const std::string agent_id = server.space_id() + ":" + channel + ":echo";
    server.AddAgent(channel, "echo");
    REQUIRE(WaitFor([&] { return engine.Running(instance).size() == 1; }, 10s));
    auto inspected = engine.Inspect(*engine.Running(instance)[0].FindString("Id"));
    REQUIRE(inspected.has_value());
    CHECK(*inspected->Find("HostConfig")->FindString("NetworkMode") == "none");
    // Timed out: stopped and removed, and the agent is not online.
    CHECK(WaitFor([&] { return engine.Containers(instance)->empty(); }, 15s));
    CHECK(server.AgentStatus(agent_id) == "offline");
    CHECK(server.Stop(SIGTERM) == 0);
  }

  TEST_CASE("a missing image refuses start-up with a message naming the image and the fix") {
    const std::string host = DockerHost();
    TempDir dir;
    ContainerServer server(dir.path(), host,
                           {"--agent-image", "*=localhost/agentcore-no-such-image:latest",
                            "--agent-env", "SECRET_TOKEN=hunter2-secret"});
    CHECK_FALSE(server.Start());
    CHECK(server.Exited(10s));
    CHECK(server.exit_code() == 1);
    const std::string err = server.Stderr();
    CAPTURE(err);
    CHECK(Contains(err, "localhost/agentcore-no-such-image:latest"));
    CHECK(Contains(err, "bash scripts/build-agent-image.sh"));
    // The secret's value is never printed.
    CHECK_FALSE(Contains(err + server.Stdout(), "hunter2-secret"));
  }

  TEST_CASE("an engine that is not there refuses start-up clearly") {
    TempDir dir;
    ContainerServer server(dir.path(), "unix://" + dir.File("no-engine.sock"));
    CHECK_FALSE(server.Start());
    CHECK(server.Exited(10s));
    CHECK(server.exit_code() == 1);
    CAPTURE(server.Stderr());
    CHECK(Contains(server.Stderr(), "DOCKER_HOST"));
  }

  TEST_CASE("--agent-env values and the CPU/memory limits reach the container; the values are never printed") {
    const std::string host = DockerHost();
    TempDir dir;
    const std::string instance = Instance("env");
    std::vector<std::string> args = Base(instance);
    args.insert(args.end(), {"--agent-env", "AGENT_SECRET=s3cret-value-42", "--agent-cpus",
                             "0.5", "--agent-memory-mb", "64"});
    ContainerServer server(dir.path(), host, args);
    REQUIRE_MESSAGE(server.Start(), server.Stderr());
    CHECK(Contains(server.Stdout(), "docker (*: "));
    server.Login();
    const std::string channel = server.CreateChannel("general");
    const std::string agent_id = server.space_id() + ":" + channel + ":echo";
    server.AddAgent(channel, "echo");
    REQUIRE_MESSAGE(WaitFor([&] { return server.AgentStatus(agent_id) == "online"; }),
                    server.Stderr());
    std::vector<Json> running = Engine(host).Running(instance);
    REQUIRE(running.size() == 1);
    auto inspected = Engine(host).Inspect(*running[0].FindString("Id"));
    REQUIRE(inspected.has_value());
    const Json* env = inspected->Find("Config") != nullptr ? inspected->Find("Config")->Find("Env")
                                                           : nullptr;
    REQUIRE(env != nullptr);
    bool has_secret = false;
    for (const Json& e : env->as_array()) {
      has_secret = has_secret || (e.is_string() && e.as_string() == "AGENT_SECRET=s3cret-value-42");
    }
    CHECK(has_secret);
    // The limits of --agent-cpus and --agent-memory-mb.
    const Json* host_config = inspected->Find("HostConfig");
    REQUIRE(host_config != nullptr);
    CHECK(host_config->Find("NanoCpus") != nullptr);
    CHECK(host_config->Find("Memory") != nullptr);
    if (host_config->Find("Memory") != nullptr && host_config->Find("Memory")->is_number()) {
      CHECK(host_config->Find("Memory")->as_number() == 64.0 * 1024 * 1024);
    }
    // Not in the labels either.
    CHECK_FALSE(Contains(ToJson(*running[0].Find("Labels")), "s3cret-value-42"));
    CHECK_FALSE(Contains(server.Stdout() + server.Stderr(), "s3cret-value-42"));
    CHECK(server.Stop(SIGTERM) == 0);
    CHECK_FALSE(Contains(server.Stdout() + server.Stderr(), "s3cret-value-42"));
  }
}

}  // namespace
}  // namespace agentcore::containers::testing
