// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <filesystem>
#include <optional>
#include <string>

#include <agentcore/json.hpp>
#include <agentcore/runtime/agent_image.hpp>

namespace agentcore {
namespace {

std::optional<std::string> Get(const EnvList& env, std::string_view name) {
  for (const auto& [n, v] : env) {
    if (n == name) return v;
  }
  return std::nullopt;
}

ActivateRequest Request() {
  ActivateRequest req;
  req.agent_id = "s:c:echo";
  req.agent_type = "echo";
  req.auth_token = "tok";
  req.api_url = "http://127.0.0.1:3234";
  return req;
}

TEST_SUITE("runtime/agent_environment") {
  TEST_CASE("carries the container protocol's CAST_* variables") {
    ActivateRequest req = Request();
    req.route_hints = Json::Object();
    req.route_hints.Set("fly-force-instance-id", Json("m1"));
    EnvList env = AgentEnvironment(req, {}, "http://127.0.0.1:9000", 9000);
    CHECK(Get(env, "CAST_API_URL") == "http://127.0.0.1:3234");
    CHECK(Get(env, "CAST_AGENT_ID") == "s:c:echo");
    CHECK(Get(env, "CAST_AUTH_TOKEN") == "tok");
    CHECK(Get(env, "CAST_CALLBACK_URL") == "http://127.0.0.1:9000");
    CHECK(Get(env, "CAST_ROUTE_HINTS") == R"({"fly-force-instance-id":"m1"})");
    CHECK(Get(env, "PORT") == "9000");
    CHECK_FALSE(Get(env, "CAST_SYSTEM_PROMPT").has_value());
  }

  TEST_CASE("null route hints are the empty string and no port means no PORT") {
    EnvList env = AgentEnvironment(Request(), {}, "");
    CHECK(Get(env, "CAST_ROUTE_HINTS") == "");
    CHECK(Get(env, "CAST_CALLBACK_URL") == "");
    CHECK_FALSE(Get(env, "PORT").has_value());
  }

  TEST_CASE("the runtime instance is one per data directory, whatever its spelling") {
    const std::string a = RuntimeInstanceForDataDir("/var/lib/agentcore");
    CHECK(a.size() == 20);
    CHECK(a.starts_with("srv-"));
    CHECK(RuntimeInstanceForDataDir("/var/lib/agentcore/") == a);
    CHECK(RuntimeInstanceForDataDir("/var/lib/./agentcore") == a);
    CHECK(RuntimeInstanceForDataDir("/var/lib/other") != a);
    // A relative directory is the one under the working directory.
    CHECK(RuntimeInstanceForDataDir("data") ==
          RuntimeInstanceForDataDir((std::filesystem::current_path() / "data").string()));
  }

  TEST_CASE("extra env replaces the base and CAST_* replaces both, each name once") {
    ActivateRequest req = Request();
    req.system_prompt = "be brief";
    req.extra_env = {{"MODEL", "b"}, {"CAST_AGENT_ID", "spoofed"}};
    EnvList env = AgentEnvironment(req, {{"MODEL", "a"}, {"HOME", "/root"}}, "");
    CHECK(Get(env, "MODEL") == "b");
    CHECK(Get(env, "HOME") == "/root");
    CHECK(Get(env, "CAST_AGENT_ID") == "s:c:echo");
    CHECK(Get(env, "CAST_SYSTEM_PROMPT") == "be brief");
    int agent_ids = 0;
    for (const auto& [n, v] : env) agent_ids += n == "CAST_AGENT_ID" ? 1 : 0;
    CHECK(agent_ids == 1);
  }
}

}  // namespace
}  // namespace agentcore
