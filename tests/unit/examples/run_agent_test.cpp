// SPDX-License-Identifier: Apache-2.0
#include "support/run_agent.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <agentcore/json.hpp>
#include <agentcore/tymbal/parser.hpp>
#include <agentcore/ulid.hpp>

#include "support/fake_run_server.hpp"

namespace {

using agentcore::ErrorCode;
using agentcore::Json;
using agentcore::testing::FakeRunServer;
using example_agent::AgentConfig;
using example_agent::ParseRunTask;
using example_agent::RunStream;
using example_agent::RunTask;

constexpr const char* kToken = "container-token-secret";

AgentConfig ConfigFor(const FakeRunServer& server) {
  AgentConfig c;
  c.name = "test-agent";
  c.api_url = server.Url();
  c.agent_id = "space1:project-p1:builder";
  c.identity = agentcore::ParseAgentId(c.agent_id).value();
  c.token = kToken;
  c.heartbeat_ms = 50;
  return c;
}

std::string TaskJson(const std::string& run, const std::string& phase, int attempt = 1) {
  return R"({"runId":")" + run + R"(","phase":")" + phase + R"(","attempt":)" +
         std::to_string(attempt) + R"(,"prompt":"p","workspace":"/tmp","readOnly":)" +
         (phase == "plan" ? "true" : "false") + R"(,"plan":null,"conversation":[],"deadlineMs":60000})";
}

/// The set frames' values of `frames`, in order.
std::vector<Json> SetValues(const std::vector<Json>& frames) {
  std::vector<Json> out;
  for (const Json& f : frames) {
    if (f.Find("v") != nullptr && f.Find("t") != nullptr) out.push_back(*f.Find("v"));
  }
  return out;
}

bool HasRunResult(const FakeRunServer& server) {
  for (const Json& v : SetValues(server.Frames())) {
    if (const std::string* type = v.FindString("type"); type && *type == "run_result") return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("examples/run_agent") {
  TEST_CASE("parses a whole task") {
    auto task = ParseRunTask(R"({
      "runId": "01J0000000000000000000000A", "phase": "build", "attempt": 2,
      "prompt": "create hello.txt with hi", "workspace": "/data/ws", "readOnly": false,
      "plan": {"summary": "s", "todos": [{"id": "1", "title": "t"}]},
      "conversation": [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}],
      "deadlineMs": 1234, "somethingNew": [1, 2]
    })");
    REQUIRE(task.ok());
    CHECK(task->run_id == "01J0000000000000000000000A");
    CHECK(task->phase == "build");
    CHECK(task->attempt == 2);
    CHECK(task->prompt == "create hello.txt with hi");
    CHECK(task->workspace == "/data/ws");
    CHECK_FALSE(task->read_only);
    REQUIRE(task->plan.is_object());
    CHECK(*task->plan.FindString("summary") == "s");
    REQUIRE(task->conversation.size() == 2);
    CHECK(task->conversation[1] == example_agent::ConversationTurn{"assistant", "hi"});
    CHECK(task->deadline_ms == 1234);
  }

  TEST_CASE("a task's optional members have defaults") {
    auto plan = ParseRunTask(R"({"runId":"r","phase":"plan","prompt":"","workspace":"/w"})");
    REQUIRE(plan.ok());
    CHECK(plan->attempt == 1);
    CHECK(plan->read_only);  // the plan phase reads only
    CHECK(plan->plan.is_null());
    CHECK(plan->conversation.empty());
    CHECK(plan->deadline_ms == 600'000);
    auto build = ParseRunTask(R"({"runId":"r","phase":"build","prompt":"","workspace":"/w"})");
    REQUIRE(build.ok());
    CHECK_FALSE(build->read_only);
    // 0 ms left: the phase's deadline has passed already.
    auto late = ParseRunTask(
        R"({"runId":"r","phase":"build","prompt":"","workspace":"/w","deadlineMs":0})");
    REQUIRE(late.ok());
    CHECK(late->deadline_ms == 0);
  }

  TEST_CASE("a bad task is refused naming what is wrong") {
    struct Case {
      std::string body;
      const char* message;
    };
    const std::string ok_rest = R"("prompt":"p","workspace":"/w")";
    const std::vector<Case> cases = {
        {"", "task is not JSON"},
        {"{", "task is not JSON"},
        {"[1]", "task is not a JSON object"},
        {"null", "task is not a JSON object"},
        {R"({"phase":"plan",)" + ok_rest + "}", "runId"},
        {R"({"runId":"","phase":"plan",)" + ok_rest + "}", "runId"},
        {R"({"runId":7,"phase":"plan",)" + ok_rest + "}", "runId"},
        {R"({"runId":"r",)" + ok_rest + "}", "phase"},
        {R"({"runId":"r","phase":"deploy",)" + ok_rest + "}", "phase"},
        {R"({"runId":"r","phase":"PLAN",)" + ok_rest + "}", "phase"},
        {R"({"runId":"r","phase":"plan","workspace":"/w"})", "prompt"},
        {R"({"runId":"r","phase":"plan","prompt":null,"workspace":"/w"})", "prompt"},
        {R"({"runId":"r","phase":"plan","prompt":"p"})", "workspace"},
        {R"({"runId":"r","phase":"plan","prompt":"p","workspace":"rel/ws"})", "workspace"},
        {R"({"runId":"r","phase":"plan","prompt":"p","workspace":""})", "workspace"},
        {R"({"runId":"r","phase":"plan","prompt":"p","workspace":"/a\u0000b"})", "workspace"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"attempt":0})", "attempt"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"attempt":-1})", "attempt"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"attempt":1.5})", "attempt"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"attempt":"1"})", "attempt"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"attempt":1e300})", "attempt"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"readOnly":"yes"})", "readOnly"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"plan":[]})", "plan"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"plan":"x"})", "plan"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"conversation":{}})", "conversation"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"conversation":[{"role":"user"}]})",
         "conversation"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest +
             R"(,"conversation":[{"role":1,"content":"x"}]})",
         "conversation"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"conversation":[3]})", "conversation"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"deadlineMs":-1})", "deadlineMs"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"deadlineMs":2.5})", "deadlineMs"},
        {R"({"runId":"r","phase":"plan",)" + ok_rest + R"(,"deadlineMs":"5"})", "deadlineMs"},
    };
    for (const Case& c : cases) {
      CAPTURE(c.body);
      auto task = ParseRunTask(c.body);
      REQUIRE_FALSE(task.ok());
      CHECK(task.status().code() == ErrorCode::kInvalidArgument);
      CHECK(task.status().message().find(c.message) != std::string::npos);
    }
    auto huge = ParseRunTask(std::string(example_agent::kMaxTaskBytes + 1, ' '));
    CHECK(huge.status().code() == ErrorCode::kTooLarge);
  }

  TEST_CASE("fetching a task: 200 is a task, 204 none, any other status or bad JSON an error") {
    FakeRunServer server;
    AgentConfig config = ConfigFor(server);
    auto client = agentcore::NewHttpClient();

    auto none = example_agent::FetchTask(*client, config);
    REQUIRE(none.ok());
    CHECK_FALSE(none->has_value());

    server.SetTask(200, TaskJson("run-1", "plan"));
    auto task = example_agent::FetchTask(*client, config);
    REQUIRE(task.ok());
    REQUIRE(task->has_value());
    CHECK((*task)->run_id == "run-1");
    CHECK((*task)->phase == "plan");

    server.SetTask(500, R"({"error":"internal","message":"db down"})");
    auto failed = example_agent::FetchTask(*client, config);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.status().code() == ErrorCode::kUnavailable);
    CHECK(failed.status().message().find("500") != std::string::npos);
    CHECK(failed.status().message().find(kToken) == std::string::npos);

    server.SetTask(200, "{not json");
    auto malformed = example_agent::FetchTask(*client, config);
    CHECK(malformed.status().code() == ErrorCode::kInvalidArgument);

    server.SetTask(401, R"({"error":"unauthorized"})");
    CHECK(example_agent::FetchTask(*client, config).status().code() == ErrorCode::kUnavailable);

    // The container token goes as a Bearer token.
    for (const std::string& auth : server.Authorizations()) {
      CHECK(auth == std::string("GET /agents/task Bearer ") + kToken);
    }
    CHECK(server.task_fetches() == 5);
  }

  TEST_CASE("fetching from a server that is gone fails within its timeout") {
    AgentConfig config;
    {
      FakeRunServer gone;
      config = ConfigFor(gone);
    }
    auto client = agentcore::NewHttpClient();
    auto r = example_agent::FetchTask(*client, config);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kUnavailable);
  }

  TEST_CASE("a run stream sends docs/runs.md's frames over one chunked POST") {
    FakeRunServer server;
    AgentConfig config = ConfigFor(server);
    RunTask task = ParseRunTask(TaskJson("run-7", "build")).value();
    {
      RunStream out(config, task, nullptr);
      CHECK_FALSE(out.stopping());
      out.Token("Hello");
      out.Token(", world");
      const std::string call = out.ToolCall("run_command", [] {
        Json args = Json::Object();
        args.Set("command", "ls");
        return args;
      }());
      CHECK(agentcore::IsUlid(call));
      out.ToolOutput(call, "stdout", "a.txt\n");
      out.ToolResult(call, "run_command", "a.txt\n[exit code 0]", false);
      out.Usage("example", "builder-1", 3, 4);
      Json plan = Json::Object();
      plan.Set("summary", "s");
      plan.Set("todos", Json::Array());
      out.Plan(plan);
      out.Succeed("all done");
      CHECK(out.finished());
      out.Token("dropped");  // nothing after the run_result
      out.Fail("dropped", true);
      CHECK(out.Close().ok());
      CHECK(out.Close().ok());  // idempotent
    }
    std::vector<FakeRunServer::Stream> streams = server.Streams();
    REQUIRE(streams.size() == 1);
    CHECK(streams[0].target == "/tymbal/project-p1/stream");
    CHECK(streams[0].authorization == std::string("Container ") + kToken);
    CHECK(streams[0].content_type == "application/x-ndjson");
    CHECK(streams[0].complete);

    std::vector<agentcore::TymbalFrame> frames;
    for (const std::string& line : streams[0].lines) {
      auto f = agentcore::ParseFrame(line);
      REQUIRE(f.ok());
      frames.push_back(*f);
    }
    REQUIRE(frames.size() == 10);
    // The streamed message: start (metadata), two appends, the message set frame.
    CHECK(frames[0].kind == agentcore::FrameKind::kStart);
    CHECK(agentcore::IsUlid(frames[0].id));
    CHECK(agentcore::ToJson(frames[0].value) == R"({"run":"run-7","phase":"build","type":"message"})");
    CHECK(frames[1].kind == agentcore::FrameKind::kAppend);
    CHECK(frames[1].text == "Hello");
    CHECK(frames[2].text == ", world");
    CHECK(frames[3].kind == agentcore::FrameKind::kSet);
    CHECK(frames[3].id == frames[0].id);
    CHECK(*frames[3].value.FindString("content") == "Hello, world");
    std::vector<std::string> types;
    for (std::size_t i = 3; i < frames.size(); ++i) {
      const agentcore::TymbalFrame& f = frames[i];
      CAPTURE(i);
      REQUIRE(f.kind == agentcore::FrameKind::kSet);
      CHECK(agentcore::IsUlid(f.id));
      CHECK(f.timestamp.size() == 24);  // 2026-12-07T13:25:50.123Z
      CHECK(f.timestamp[10] == 'T');
      CHECK(f.timestamp.back() == 'Z');
      CHECK(*f.value.FindString("run") == "run-7");
      CHECK(*f.value.FindString("phase") == "build");
      CHECK(*f.value.FindString("sender") == "builder");
      CHECK(*f.value.FindString("senderType") == "agent");
      types.push_back(*f.value.FindString("type"));
    }
    CHECK(types == std::vector<std::string>{"message", "tool_call", "tool_output", "tool_result",
                                            "usage", "plan", "run_result"});
    const Json& tool_call = frames[4].value;
    CHECK(*tool_call.FindString("name") == "run_command");
    CHECK(agentcore::ToJson(*tool_call.Find("args")) == R"({"command":"ls"})");
    const std::string call_id = *tool_call.FindString("toolCallId");
    CHECK(*frames[5].value.FindString("toolCallId") == call_id);
    CHECK(*frames[5].value.FindString("stream") == "stdout");
    CHECK(*frames[5].value.FindString("text") == "a.txt\n");
    CHECK(*frames[6].value.FindString("toolCallId") == call_id);
    CHECK(frames[6].value.Find("isError")->as_bool() == false);
    CHECK(*frames[6].value.FindString("output") == "a.txt\n[exit code 0]");
    CHECK(frames[7].value.Find("inputTokens")->as_number() == 3);
    CHECK(frames[7].value.Find("outputTokens")->as_number() == 4);
    CHECK(*frames[7].value.FindString("model") == "builder-1");
    CHECK(*frames[8].value.Find("plan")->FindString("summary") == "s");
    CHECK(frames[9].value.Find("ok")->as_bool());
    CHECK(*frames[9].value.FindString("summary") == "all done");
  }

  TEST_CASE("a failed phase says whether it may be retried") {
    FakeRunServer server;
    RunTask task = ParseRunTask(TaskJson("run-8", "plan")).value();
    {
      RunStream out(ConfigFor(server), task, nullptr);
      out.Token("half a message");
      out.Fail("it broke", false);
      CHECK(out.Close().ok());
    }
    std::vector<Json> values = SetValues(server.Frames());
    REQUIRE(values.size() == 2);
    CHECK(*values[0].FindString("type") == "message");  // the open message is closed first
    CHECK(*values[0].FindString("content") == "half a message");
    CHECK(*values[1].FindString("type") == "run_result");
    CHECK(values[1].Find("ok")->as_bool() == false);
    CHECK(*values[1].FindString("error") == "it broke");
    CHECK(values[1].Find("retryable")->as_bool() == false);
    CHECK(*values[1].FindString("phase") == "plan");
  }

  TEST_CASE("a refused stream is reported by Close") {
    FakeRunServer server;
    server.SetStreamStatus(403);
    RunTask task = ParseRunTask(TaskJson("run-9", "plan")).value();
    RunStream out(ConfigFor(server), task, nullptr);
    out.Succeed("done");
    agentcore::Status s = out.Close();
    CHECK(s.code() == ErrorCode::kUnavailable);
    CHECK(s.message().find("403") != std::string::npos);
    CHECK(s.message().find(kToken) == std::string::npos);
    CHECK(out.Close() == s);
  }

  TEST_CASE("a stream to a server that is gone fails instead of hanging") {
    AgentConfig config;
    {
      FakeRunServer gone;
      config = ConfigFor(gone);
    }
    RunTask task = ParseRunTask(TaskJson("run-10", "plan")).value();
    RunStream out(config, task, nullptr);
    for (int i = 0; i < 100; ++i) out.Token("x");
    out.Succeed("done");
    CHECK(out.Close().code() == ErrorCode::kUnavailable);
  }

  TEST_CASE("a stream reports stopping at its deadline or when told to stop") {
    FakeRunServer server;
    RunTask task = ParseRunTask(TaskJson("run-11", "build")).value();
    task.deadline_ms = 30;
    std::atomic<bool> stop{false};
    RunStream out(ConfigFor(server), task, &stop);
    CHECK_FALSE(out.stopping());
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
    CHECK(out.stopping());
    task.deadline_ms = 60'000;
    RunStream other(ConfigFor(server), task, &stop);
    CHECK_FALSE(other.stopping());
    stop = true;
    CHECK(other.stopping());
  }

  TEST_CASE("the agent checks in, fetches its task, runs it once and ignores it when seen again") {
    FakeRunServer server;
    server.SetTask(200, TaskJson("run-20", "plan"));
    std::atomic<int> runs{0};
    auto agent = example_agent::RunAgent::Start(
        ConfigFor(server), [&](const RunTask& task, RunStream& out) {
          ++runs;
          out.Token("planning " + task.run_id);
          out.Succeed("ok");
        });
    REQUIRE(agent.ok());
    auto checkins = server.Checkins();
    REQUIRE(checkins.size() == 1);
    Json checkin = agentcore::ParseJson(checkins[0]).value();
    CHECK(*checkin.FindString("protocolVersion") == "3.0");
    CHECK(*checkin.FindString("agentId") == "space1:project-p1:builder");
    CHECK(*checkin.FindString("endpoint") ==
          "http://127.0.0.1:" + std::to_string((*agent)->port()));
    REQUIRE(server.WaitFor([&] { return HasRunResult(server) && (*agent)->phases_run() == 1; }));
    // Asked again (a push, or right after the phase), the same task is not run again.
    const int fetches = server.task_fetches();
    CHECK(server.Push(kToken) == 202);
    REQUIRE(server.WaitFor([&] { return server.task_fetches() > fetches; }));
    CHECK(runs == 1);
    // The retry of a phase (the next attempt) is run again.
    server.SetTask(200, TaskJson("run-20", "plan", 2));
    CHECK(server.Push(kToken) == 202);
    REQUIRE(server.WaitFor([&] { return (*agent)->phases_run() == 2; }));
    CHECK(runs == 2);
    // The next phase is run on the next push.
    server.SetTask(200, TaskJson("run-20", "build"));
    CHECK(server.Push(kToken) == 202);
    REQUIRE(server.WaitFor([&] { return (*agent)->phases_run() == 3; }));
    CHECK(runs == 3);
    CHECK(server.Streams().size() == 3);
    // Heartbeats go every --heartbeat-ms (50 ms here).
    REQUIRE(server.WaitFor([&] { return server.heartbeats() >= 2; }));
    (*agent)->Stop();
    (*agent)->Stop();
  }

  TEST_CASE("a push without the agent's token is refused") {
    FakeRunServer server;
    auto agent = example_agent::RunAgent::Start(ConfigFor(server),
                                                [](const RunTask&, RunStream&) {});
    REQUIRE(agent.ok());
    CHECK(server.Push("wrong") == 401);
    CHECK(server.Push(kToken) == 202);
  }

  TEST_CASE("a handler that returns without a result gets a retryable failure sent for it") {
    FakeRunServer server;
    server.SetTask(200, TaskJson("run-21", "build"));
    auto agent = example_agent::RunAgent::Start(ConfigFor(server),
                                                [](const RunTask&, RunStream& out) {
                                                  out.Token("forgot to finish");
                                                });
    REQUIRE(agent.ok());
    REQUIRE(server.WaitFor([&] { return HasRunResult(server); }));
    std::vector<Json> values = SetValues(server.Frames());
    REQUIRE(values.size() == 2);
    CHECK(values[1].Find("ok")->as_bool() == false);
    CHECK(values[1].Find("retryable")->as_bool() == true);
    CHECK(values[1].FindString("error")->find("without a result") != std::string::npos);
  }

  TEST_CASE("a failing task fetch is tried again a few times, a malformed task is not run") {
    FakeRunServer server;
    server.SetTask(500, R"({"error":"internal"})");
    std::atomic<int> runs{0};
    example_agent::RunAgentOptions options;
    options.fetch_attempts = 3;
    options.fetch_retry = std::chrono::milliseconds(20);
    auto agent = example_agent::RunAgent::Start(
        ConfigFor(server), [&](const RunTask&, RunStream& out) { ++runs; out.Succeed("x"); },
        options);
    REQUIRE(agent.ok());
    REQUIRE(server.WaitFor([&] { return server.task_fetches() >= 3; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    CHECK(server.task_fetches() == 3);  // then it waits for a push

    server.SetTask(200, R"({"runId":"r","phase":"nope"})");
    CHECK(server.Push(kToken) == 202);
    REQUIRE(server.WaitFor([&] { return server.task_fetches() == 4; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(server.task_fetches() == 4);  // a malformed task is not asked for again at once
    CHECK(runs == 0);

    server.SetTask(200, TaskJson("run-22", "plan"));
    CHECK(server.Push(kToken) == 202);
    REQUIRE(server.WaitFor([&] { return runs == 1; }));
  }

  TEST_CASE("stopping the agent ends a long phase that watches stopping()") {
    FakeRunServer server;
    server.SetTask(200, TaskJson("run-23", "build"));
    std::atomic<bool> started{false};
    auto agent = example_agent::RunAgent::Start(
        ConfigFor(server), [&](const RunTask&, RunStream& out) {
          started = true;
          while (!out.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
          out.Fail("stopped", true);
        });
    REQUIRE(agent.ok());
    REQUIRE(server.WaitFor([&] { return started.load(); }));
    const auto before = std::chrono::steady_clock::now();
    (*agent)->Stop();
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(2));
    REQUIRE(server.WaitFor([&] { return HasRunResult(server); }));
  }
}
