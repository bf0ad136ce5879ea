// SPDX-License-Identifier: Apache-2.0
// The model-agent process (examples/model-agent/model_agent.cpp) end to end: the real binary
// against FakeChatProvider and FakeRunServer (the agentcore server's agent routes: checkin,
// heartbeat, GET /agents/task, the Tymbal upload), handed tasks as docs/runs.md describes
// them, each rung in with a push. There is no header of its own: the program is the unit.

#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <agentcore/json.hpp>

#include "support/fake_chat_provider.hpp"
#include "support/fake_run_server.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace {

using agentcore::Json;
using agentcore::testing::FakeChatProvider;
using agentcore::testing::FakeRunServer;

constexpr char kKey[] = "sk-proc-test-91b2";
constexpr char kModel[] = "gpt-4o-mini";
constexpr char kToken[] = "container-token-x";

/// Frames the fake server received: set-frame values (type, run, phase, …), start
/// metadata and appended text, in arrival order.
struct Received {
  std::vector<Json> sets;
  std::vector<Json> starts;
  std::string appended;
};

Received Frames(const FakeRunServer& hub) {
  Received out;
  for (const Json& frame : hub.Frames()) {
    if (!frame.is_object()) continue;
    if (const std::string* a = frame.FindString("a")) out.appended += *a;
    if (const Json* m = frame.Find("m"); m != nullptr && m->is_object()) out.starts.push_back(*m);
    if (const Json* v = frame.Find("v"); v != nullptr && v->is_object()) out.sets.push_back(*v);
  }
  return out;
}

std::size_t Results(const FakeRunServer& hub) {
  std::size_t n = 0;
  for (const Json& v : Frames(hub).sets) {
    if (const std::string* t = v.FindString("type"); t && *t == "run_result") ++n;
  }
  return n;
}

/// Hands `task` to the agent (ringing it as the hub's push does) and waits until the run
/// results number `results`.
bool RunTask(FakeRunServer& hub, const std::string& task, std::size_t results) {
  hub.SetTask(200, task);
  if (!hub.WaitFor([&] { return !hub.Checkins().empty(); }, std::chrono::seconds(30))) {
    return false;
  }
  hub.Push(kToken);
  return hub.WaitFor([&] { return Results(hub) >= results; }, std::chrono::seconds(60));
}

std::string Task(const std::string& run, const std::string& phase, const std::string& workspace,
                 const std::string& plan = "null") {
  return R"({"runId":")" + run + R"(","phase":")" + phase +
         R"(","attempt":1,"prompt":"create hello.txt with hi","workspace":")" + workspace +
         R"(","readOnly":)" + (phase == "plan" ? "true" : "false") + R"(,"plan":)" + plan +
         R"(,"conversation":[{"role":"user","content":"earlier ask"},{"role":"assistant","content":"earlier answer"}],"deadlineMs":60000})";
}

/// The agent as a child process with exactly the environment given (plus PATH).
class AgentProcess {
 public:
  explicit AgentProcess(std::vector<std::string> env) {
    env.push_back("PATH=/usr/bin:/bin");
    std::vector<char*> envp;
    for (std::string& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string bin = AGENTCORE_MODEL_AGENT;
    char* argv[] = {bin.data(), nullptr};
    REQUIRE(posix_spawn(&pid_, bin.c_str(), nullptr, nullptr, argv, envp.data()) == 0);
  }
  ~AgentProcess() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

 private:
  pid_t pid_ = -1;
};

std::vector<Json> OfType(const std::vector<Json>& sets, std::string_view type) {
  std::vector<Json> out;
  for (const Json& v : sets) {
    if (const std::string* t = v.FindString("type"); t && *t == type) out.push_back(v);
  }
  return out;
}

struct TempWorkspace {
  TempWorkspace() {
    REQUIRE_FALSE(dir.path().empty());
    REQUIRE(dir.Write("README.md", "# demo\n"));
    path = dir.path();
  }
  agentcore::testing::TempDir dir{"model-agent-proc"};
  std::string path;
};

std::vector<std::string> BaseEnv(const FakeRunServer& hub, const FakeChatProvider& provider) {
  return {"CAST_API_URL=" + hub.Url(),
          "CAST_AGENT_ID=space1:chan1:builder",
          std::string("CAST_AUTH_TOKEN=") + kToken,
          "AGENT_PROVIDER=openai",
          std::string("OPENAI_API_KEY=") + kKey,
          "OPENAI_BASE_URL=" + provider.BaseUrl(),
          std::string("AGENT_MODEL=") + kModel,
          "AGENT_PROVIDER_BACKOFF_MS=20"};
}

}  // namespace

TEST_SUITE("model_agent/process") {
  TEST_CASE("plans with read-only tools and builds with all of them, streaming every frame") {
    TempWorkspace ws;
    FakeChatProvider provider(kKey, kModel);
    provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("plan_list.sse"), 9));
    provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("plan_answer.sse")));
    provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("build_write.sse")));
    provider.Enqueue(FakeChatProvider::Error(429, "Rate limit reached", "requests",
                                             "rate_limit_exceeded", {{"Retry-After", "0"}}));
    provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("build_run.sse"), 5));
    provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("build_answer.sse")));
    const std::string plan =
        R"({"summary":"Create hello.txt containing hi","todos":[{"id":"1","title":"Write hello.txt with the text hi"},{"id":"2","title":"Check the file"}]})";
    FakeRunServer hub;
    AgentProcess agent(BaseEnv(hub, provider));
    REQUIRE(RunTask(hub, Task("run1", "plan", ws.path), 1));
    REQUIRE(RunTask(hub, Task("run1", "build", ws.path, plan), 2));

    // The workspace.
    std::ifstream in(ws.path + "/hello.txt");
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == "hi\n");
    for (const std::string& auth : hub.Authorizations()) {
      CHECK(auth.find(kToken) != std::string::npos);
      CHECK(auth.find(kKey) == std::string::npos);
    }

    const Received received = Frames(hub);
    const std::vector<Json>& sets = received.sets;
    for (const Json& v : sets) {
      CHECK(*v.FindString("run") == "run1");
      CHECK(v.FindString("phase") != nullptr);
    }
    // Plan phase: list_dir, then the plan and an ok result.
    const auto calls = OfType(sets, "tool_call");
    REQUIRE(calls.size() == 3);
    CHECK(*calls[0].FindString("name") == "list_dir");
    CHECK(*calls[0].FindString("phase") == "plan");
    CHECK(*calls[1].FindString("name") == "write_file");
    CHECK(*calls[1].Find("args")->FindString("path") == "hello.txt");
    CHECK(*calls[2].FindString("name") == "run_command");
    const auto results = OfType(sets, "tool_result");
    REQUIRE(results.size() == 3);
    CHECK(results[0].FindString("output")->find("README.md") != std::string::npos);
    CHECK_FALSE(results[0].Find("isError")->as_bool());
    CHECK(*results[0].FindString("toolCallId") == *calls[0].FindString("toolCallId"));
    CHECK(*results[1].FindString("output") == "wrote 3 bytes to hello.txt");
    CHECK(results[2].FindString("output")->rfind("exit code 0\n", 0) == 0);
    const auto outputs = OfType(sets, "tool_output");
    std::string out_text, err_text;
    for (const Json& o : outputs) {
      CHECK(*o.FindString("toolCallId") == *calls[2].FindString("toolCallId"));
      (*o.FindString("stream") == "stdout" ? out_text : err_text) += *o.FindString("text");
    }
    CHECK(out_text == "hi\n");
    CHECK(err_text == "built\n");
    const auto plans = OfType(sets, "plan");
    REQUIRE(plans.size() == 1);
    CHECK(*plans[0].Find("plan")->FindString("summary") == "Create hello.txt containing hi");
    CHECK(plans[0].Find("plan")->Find("todos")->as_array().size() == 2);
    const auto run_results = OfType(sets, "run_result");
    REQUIRE(run_results.size() == 2);
    CHECK(run_results[0].Find("ok")->as_bool());
    CHECK(*run_results[0].FindString("phase") == "plan");
    CHECK(run_results[1].Find("ok")->as_bool());
    CHECK(*run_results[1].FindString("summary") == "Created hello.txt with the text hi.");
    // Usage: one frame per model call that completed (the 429 has none).
    const auto usage = OfType(sets, "usage");
    REQUIRE(usage.size() == 5);
    CHECK(*usage[0].FindString("provider") == "openai");
    CHECK(*usage[0].FindString("model") == kModel);
    CHECK(usage[0].Find("inputTokens")->as_number() == 210);
    CHECK(usage[0].Find("outputTokens")->as_number() == 18);
    CHECK(usage[4].Find("inputTokens")->as_number() == 400);
    // Tokens: the plan's JSON and the build's answer were streamed as appends.
    CHECK(received.appended.find("Created hello.txt with the text hi.") != std::string::npos);
    CHECK(received.appended.find("\"summary\"") != std::string::npos);
    REQUIRE_FALSE(received.starts.empty());
    for (const Json& m : received.starts) CHECK(*m.FindString("type") == "message");

    // What the provider was asked.
    const auto seen = provider.requests();
    REQUIRE(seen.size() == 6);
    agentcore::Result<Json> first = agentcore::ParseJson(seen[0].body);
    REQUIRE(first.ok());
    std::string tools;
    for (const Json& t : first->Find("tools")->as_array()) {
      tools += *t.Find("function")->FindString("name") + ",";
    }
    CHECK(tools == "list_dir,read_file,");
    const auto& messages = first->Find("messages")->as_array();
    REQUIRE(messages.size() == 4);
    CHECK(*messages[1].FindString("content") == "earlier ask");
    CHECK(*messages[2].FindString("role") == "assistant");
    CHECK(*messages[3].FindString("content") == "create hello.txt with hi");
    agentcore::Result<Json> second = agentcore::ParseJson(seen[1].body);
    REQUIRE(second.ok());
    const auto& m2 = second->Find("messages")->as_array();
    CHECK(*m2.back().FindString("role") == "tool");
    CHECK(*m2.back().FindString("tool_call_id") == "call_plan_ls");
    agentcore::Result<Json> build = agentcore::ParseJson(seen[2].body);
    REQUIRE(build.ok());
    CHECK(build->Find("tools")->as_array().size() == 4);
    CHECK(build->Find("messages")->as_array()[0].FindString("content")->find(
              "Create hello.txt containing hi") != std::string::npos);
    CHECK(seen[3].body == seen[4].body);  // the 429'd request was sent again as it was
  }

  TEST_CASE("an answer that is not a plan is sent back once, then accepted") {
    TempWorkspace ws;
    FakeChatProvider provider(kKey, kModel);
    provider.Enqueue(FakeChatProvider::Stream(
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"I will make it.\"},"
        "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"));
    provider.Enqueue(FakeChatProvider::Stream(FakeChatProvider::Recording("plan_answer.sse")));
    FakeRunServer hub;
    AgentProcess agent(BaseEnv(hub, provider));
    REQUIRE(RunTask(hub, Task("run2", "plan", ws.path), 1));
    const auto results = OfType(Frames(hub).sets, "run_result");
    REQUIRE(results.size() == 1);
    CHECK(results[0].Find("ok")->as_bool());
    CHECK(OfType(Frames(hub).sets, "plan").size() == 1);
    const auto seen = provider.requests();
    REQUIRE(seen.size() == 2);
    CHECK(seen[1].body.find("not a valid plan") != std::string::npos);
  }

  TEST_CASE("provider errors end the phase: retryable for 5xx, not for 400") {
    TempWorkspace ws;
    FakeChatProvider provider(kKey, kModel);
    provider.Enqueue(FakeChatProvider::Error(500, "The server had an error", "server_error", ""));
    provider.Enqueue(FakeChatProvider::Error(500, "The server had an error", "server_error", ""));
    provider.Enqueue(FakeChatProvider::Error(400, "context_length_exceeded",
                                             "invalid_request_error", ""));
    FakeRunServer hub;
    std::vector<std::string> env = BaseEnv(hub, provider);
    env.push_back("AGENT_PROVIDER_MAX_ATTEMPTS=2");
    AgentProcess agent(env);
    REQUIRE(RunTask(hub, Task("run3", "plan", ws.path), 1));
    REQUIRE(RunTask(hub, Task("run4", "plan", ws.path), 2));
    const auto results = OfType(Frames(hub).sets, "run_result");
    REQUIRE(results.size() == 2);
    CHECK_FALSE(results[0].Find("ok")->as_bool());
    CHECK(results[0].Find("retryable")->as_bool());
    CHECK(results[0].FindString("error")->find("HTTP 500") != std::string::npos);
    CHECK(results[0].FindString("error")->find("after 2 attempts") != std::string::npos);
    CHECK_FALSE(results[1].Find("ok")->as_bool());
    CHECK_FALSE(results[1].Find("retryable")->as_bool());
    CHECK(results[1].FindString("error")->find("HTTP 400") != std::string::npos);
    for (const Json& r : results) CHECK(r.FindString("error")->find(kKey) == std::string::npos);
  }

  TEST_CASE("a wrong key fails the phase without retrying, and the key is in no frame") {
    TempWorkspace ws;
    FakeChatProvider provider(kKey, kModel);
    FakeRunServer hub;
    std::vector<std::string> env = BaseEnv(hub, provider);
    env[4] = "OPENAI_API_KEY=sk-wrong-key-55";
    AgentProcess agent(env);
    REQUIRE(RunTask(hub, Task("run5", "plan", ws.path), 1));
    const auto results = OfType(Frames(hub).sets, "run_result");
    REQUIRE(results.size() == 1);
    CHECK_FALSE(results[0].Find("retryable")->as_bool());
    CHECK(results[0].FindString("error")->find("HTTP 401") != std::string::npos);
    CHECK(results[0].FindString("error")->find("sk-wrong") == std::string::npos);
    CHECK(provider.refused() == 1);
  }

  TEST_CASE("a provider without a known endpoint fails every phase with a clear error") {
    TempWorkspace ws;
    FakeChatProvider provider(kKey, kModel);
    FakeRunServer hub;
    std::vector<std::string> env = BaseEnv(hub, provider);
    env[3] = "AGENT_PROVIDER=cohere";
    AgentProcess agent(env);
    REQUIRE(RunTask(hub, Task("run6", "plan", ws.path), 1));
    const auto results = OfType(Frames(hub).sets, "run_result");
    REQUIRE(results.size() == 1);
    CHECK_FALSE(results[0].Find("ok")->as_bool());
    CHECK(results[0].FindString("error")->find("COHERE_BASE_URL") != std::string::npos);
    CHECK(provider.requests().empty());
  }
}
