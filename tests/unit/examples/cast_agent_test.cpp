// SPDX-License-Identifier: Apache-2.0
#include "support/cast_agent.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "support/test_http_server.hpp"

namespace {

using agentcore::ErrorCode;
using agentcore::testing::TestHttpConnection;
using agentcore::testing::TestHttpRequest;
using agentcore::testing::TestHttpServer;
using example_agent::AgentConfig;
using example_agent::FlagParse;

AgentConfig ConfigAt(const std::string& url) {
  AgentConfig c;
  c.name = "test-agent";
  c.api_url = url;
  c.agent_id = "s:c:a";
  c.identity = agentcore::ParseAgentId(c.agent_id).value();
  c.token = "tok-secret";
  return c;
}

/// Restores an environment variable when it goes.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = getenv(name)) old_ = old, had_ = true;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (had_) {
      setenv(name_, old_.c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

}  // namespace

TEST_SUITE("examples/cast_agent") {
  TEST_CASE("reads the agent's identity from the environment") {
    ScopedEnv url("CAST_API_URL", "http://127.0.0.1:9//");
    ScopedEnv id("CAST_AGENT_ID", "sp:ch:builder");
    ScopedEnv token("CAST_AUTH_TOKEN", "t");
    auto config = example_agent::ConfigFromEnvironment("x");
    REQUIRE(config.ok());
    CHECK(config->name == "x");
    CHECK(config->api_url == "http://127.0.0.1:9");  // trailing slashes dropped
    CHECK(config->identity.channel_id == "ch");
    CHECK(config->identity.callsign == "builder");
    CHECK(config->token == "t");
  }

  TEST_CASE("a missing URL or a malformed agent id is refused") {
    ScopedEnv token("CAST_AUTH_TOKEN", "t");
    {
      ScopedEnv url("CAST_API_URL", nullptr);
      ScopedEnv id("CAST_AGENT_ID", "sp:ch:builder");
      CHECK(example_agent::ConfigFromEnvironment("x").status().code() ==
            ErrorCode::kInvalidArgument);
    }
    for (const char* bad : {"", "sp:ch", "sp::b", "nocolons"}) {
      CAPTURE(bad);
      ScopedEnv url("CAST_API_URL", "http://h");
      ScopedEnv id("CAST_AGENT_ID", bad);
      CHECK(example_agent::ConfigFromEnvironment("x").status().code() ==
            ErrorCode::kInvalidArgument);
    }
  }

  TEST_CASE("parses the shared flags and refuses bad values") {
    long v = 0;
    CHECK(example_agent::ParseLong("42", &v));
    CHECK(v == 42);
    CHECK_FALSE(example_agent::ParseLong("", &v));
    CHECK_FALSE(example_agent::ParseLong("4x", &v));
    CHECK_FALSE(example_agent::ParseLong(" 4", &v));
    CHECK_FALSE(example_agent::ParseLong("99999999999999999999999", &v));

    std::string a0 = "prog", a1 = "--port", a2 = "8080", a3 = "--heartbeat-ms", a4 = "0",
                a5 = "--other";
    char* argv[] = {a0.data(), a1.data(), a2.data(), a3.data(), a4.data(), a5.data()};
    AgentConfig c;
    int i = 1;
    CHECK(example_agent::ParseCommonFlag(6, argv, &i, &c) == FlagParse::kTaken);
    CHECK(i == 2);
    CHECK(c.port == 8080);
    i = 3;
    CHECK(example_agent::ParseCommonFlag(6, argv, &i, &c) == FlagParse::kBad);  // 0 ms
    i = 5;
    CHECK(example_agent::ParseCommonFlag(6, argv, &i, &c) == FlagParse::kNotMine);
    i = 1;
    CHECK(example_agent::ParseCommonFlag(2, argv, &i, &c) == FlagParse::kBad);  // no value
    std::string big = "70000";
    char* argv2[] = {a0.data(), a1.data(), big.data()};
    i = 1;
    CHECK(example_agent::ParseCommonFlag(3, argv2, &i, &c) == FlagParse::kBad);
  }

  TEST_CASE("checks in with protocol 3.0 and its endpoint, as a Container token") {
    std::string body;
    std::string auth;
    TestHttpServer server([&](TestHttpConnection& conn, const TestHttpRequest& req) {
      body = req.body;
      auth = req.Header("authorization");
      return conn.WriteResponse(200, {}, "{}");
    });
    auto client = agentcore::NewHttpClient();
    agentcore::Status s =
        example_agent::CheckIn(*client, ConfigAt(server.Url("")), "http://127.0.0.1:1");
    CHECK(s.ok());
    CHECK(body == R"({"protocolVersion":"3.0","agentId":"s:c:a","endpoint":"http://127.0.0.1:1"})");
    CHECK(auth == "Container tok-secret");
  }

  TEST_CASE("a refused checkin is not retried; a failing server is, a few times") {
    std::atomic<int> calls{0};
    std::atomic<int> status{403};
    TestHttpServer server([&](TestHttpConnection& conn, const TestHttpRequest&) {
      ++calls;
      return conn.WriteResponse(status, {}, R"({"error":"no"})");
    });
    auto client = agentcore::NewHttpClient();
    agentcore::Status refused = example_agent::CheckIn(*client, ConfigAt(server.Url("")), "e", 5);
    CHECK(refused.code() == ErrorCode::kPermissionDenied);
    CHECK(refused.message().find("403") != std::string::npos);
    CHECK(refused.message().find("tok-secret") == std::string::npos);
    CHECK(calls == 1);
    status = 503;
    agentcore::Status failing = example_agent::CheckIn(*client, ConfigAt(server.Url("")), "e", 3);
    CHECK(failing.code() == ErrorCode::kUnavailable);
    CHECK(calls == 4);
  }

  TEST_CASE("heartbeats go every period and stop with the object") {
    std::atomic<int> beats{0};
    TestHttpServer server([&](TestHttpConnection& conn, const TestHttpRequest& req) {
      if (req.target == "/agents/heartbeat" && req.body == R"({"agentId":"s:c:a"})") ++beats;
      return conn.WriteResponse(200, {}, "{}");
    });
    AgentConfig c = ConfigAt(server.Url(""));
    c.heartbeat_ms = 20;
    {
      example_agent::Heartbeat heartbeat(c);
      for (int i = 0; i < 200 && beats < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      CHECK(beats >= 3);
    }
    const int after = beats;
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    CHECK(beats == after);
    // A long period still stops at once.
    c.heartbeat_ms = 60'000;
    const auto before = std::chrono::steady_clock::now();
    { example_agent::Heartbeat idle(c); }
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(1));
  }
}
