// SPDX-License-Identifier: Apache-2.0
// runtime_config.hpp: the Docker runtime's flags -> RuntimeSpecs, the start-up description, the
// instance label derived from the data directory.
#include "runtime_config.hpp"

#include <cctype>
#include <string>

#include <doctest/doctest.h>

#include "config.hpp"

namespace agentcore::server {
namespace {

ServerConfig Docker() {
  ServerConfig c;
  c.runtime = "docker";
  c.data_dir = "/var/lib/agentcore/data";
  return c;
}

TEST_SUITE("server/runtime_config") {
  TEST_CASE("--runtime docker gives one docker spec for every type") {
    auto specs = RuntimeSpecsFrom(Docker());
    REQUIRE(specs.ok());
    REQUIRE(specs->size() == 1);
    CHECK((*specs)[0].name == "docker");
    CHECK((*specs)[0].agent_types == std::vector<std::string>{"*"});
    CHECK(static_cast<bool>((*specs)[0].open));
  }

  TEST_CASE("types without --agent-image run the echo agent's image; AGENT_IMAGE replaces it") {
    ServerConfig c = Docker();
    CHECK(EffectiveImages(c) ==
          std::map<std::string, std::string>{{"*", "localhost/agentcore-echo-agent:latest"}});
    CHECK(DescribeRuntimes(c) == "docker (*: localhost/agentcore-echo-agent:latest)");
    c.agent_images["claude"] = "registry.example/claude:1";
    CHECK(DescribeRuntimes(c) ==
          "docker (*: localhost/agentcore-echo-agent:latest, claude: registry.example/claude:1)");
    c.agent_images["*"] = "localhost/mine:2";
    CHECK(EffectiveImages(c).at("*") == "localhost/mine:2");
    CHECK(DescribeRuntimes(c) == "docker (*: localhost/mine:2, claude: registry.example/claude:1)");
  }

  TEST_CASE("a type sent to docker from another default runtime is described with its image") {
    ServerConfig c;
    c.runtime = "local";
    c.agent_runtimes["claude"] = "docker";
    c.agent_images["claude"] = "localhost/claude:1";
    CHECK(DescribeRuntimes(c) == "local (*), docker (claude: localhost/claude:1)");
    c.agent_runtimes["codex"] = "docker";
    CHECK(DescribeRuntimes(c) == "local (*), docker (claude: localhost/claude:1), "
                                 "docker (codex: localhost/agentcore-echo-agent:latest)");
    auto specs = RuntimeSpecsFrom(c);
    REQUIRE(specs.ok());
    REQUIRE(specs->size() == 2);
    CHECK((*specs)[0].name == "docker");
    CHECK((*specs)[0].agent_types == std::vector<std::string>{"claude", "codex"});
  }

  TEST_CASE("the instance label is stable for one data directory and differs between two") {
    ServerConfig a = Docker();
    std::string label = RuntimeInstance(a);
    CHECK(label.rfind("srv-", 0) == 0);
    CHECK(label.size() == 20);
    for (char ch : label) CHECK((std::isalnum(static_cast<unsigned char>(ch)) || ch == '-'));
    ServerConfig same = Docker();
    same.data_dir = "/var/lib/agentcore/./data/";
    CHECK(RuntimeInstance(same) == label);
    ServerConfig other = Docker();
    other.data_dir = "/var/lib/agentcore/data2";
    CHECK(RuntimeInstance(other) != label);
    ServerConfig named = Docker();
    named.runtime_instance = "prod-1";
    CHECK(RuntimeInstance(named) == "prod-1");
  }

  TEST_CASE("agent env values are not in the start-up config line") {
    ServerConfig c = Docker();
    c.agent_env = {{"ANTHROPIC_API_KEY", "sk-very-secret"}};
    std::string line = DescribeConfig(c);
    CHECK(line.find("sk-very-secret") == std::string::npos);
    CHECK(line.find("docker (*: localhost/agentcore-echo-agent:latest)") != std::string::npos);
  }

  TEST_CASE("opening the docker runtime on a missing engine fails with the fix in the message") {
    ServerConfig c = Docker();
    c.docker_host = "unix:///nonexistent/agentcore-test/docker.sock";
    auto specs = RuntimeSpecsFrom(c);
    REQUIRE(specs.ok());
    auto runtime = (*specs)[0].open(RuntimeOptions{});
    REQUIRE_FALSE(runtime.ok());
    CAPTURE(runtime.status().ToString());
    CHECK(runtime.status().message().find("DOCKER_HOST") != std::string::npos);
  }
}

}  // namespace
}  // namespace agentcore::server
