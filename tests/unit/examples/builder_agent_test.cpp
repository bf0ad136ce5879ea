// SPDX-License-Identifier: Apache-2.0
// The builder-agent process against a fake server (tests/support/fake_run_server.hpp): a plan
// task, then a build task with that plan, the files in a temporary workspace and the frames.

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <agentcore/json.hpp>

#include "builder-agent/builder_grammar.hpp"
#include "support/fake_run_server.hpp"
#include "support/temp_dir.hpp"

#ifndef AGENTCORE_BUILDER_AGENT
#error "AGENTCORE_BUILDER_AGENT (the builder-agent binary) must be defined"
#endif

extern char** environ;

namespace {

using agentcore::Json;
using agentcore::testing::FakeRunServer;
using agentcore::testing::TempDir;

constexpr const char* kToken = "builder-container-token";

/// builder-agent as a child process; killed (SIGKILL) and reaped when destroyed unless waited.
class BuilderProcess {
 public:
  BuilderProcess(const std::string& api_url, const std::string& log_path,
                 std::vector<std::string> args = {"--heartbeat-ms", "200"},
                 bool with_env = true) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view v(*e);
      if (v.rfind("CAST_", 0) != 0) env.emplace_back(v);
    }
    if (with_env) {
      env.push_back("CAST_API_URL=" + api_url);
      env.push_back("CAST_AGENT_ID=space1:project-p1:builder");
      env.push_back(std::string("CAST_AUTH_TOKEN=") + kToken);
    }
    std::vector<char*> envp;
    for (std::string& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string bin = AGENTCORE_BUILDER_AGENT;
    std::vector<char*> argv{bin.data()};
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0644);
    if (posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~BuilderProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  BuilderProcess(const BuilderProcess&) = delete;
  BuilderProcess& operator=(const BuilderProcess&) = delete;

  bool started() const { return pid_ > 0; }
  void Signal(int sig) { kill(pid_, sig); }
  /// The exit code (128 + signal when killed), or -1 when it is still running at `timeout`.
  int Wait(std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        return 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Task(const std::string& run, const std::string& phase, const std::string& prompt,
                 const std::string& workspace, Json plan = nullptr, int attempt = 1,
                 int deadline_ms = 60'000) {
  Json t = Json::Object();
  t.Set("runId", run);
  t.Set("phase", phase);
  t.Set("attempt", attempt);
  t.Set("prompt", prompt);
  t.Set("workspace", workspace);
  t.Set("readOnly", phase == "plan");
  t.Set("plan", std::move(plan));
  Json turn = Json::Object();
  turn.Set("role", "user");
  turn.Set("content", "earlier three words");
  Json conversation = Json::Array();
  conversation.as_array().push_back(turn);
  t.Set("conversation", conversation);
  t.Set("deadlineMs", deadline_ms);
  return agentcore::ToJson(t);
}

/// The set frames' values of stream `index`, in order.
std::vector<Json> Values(const FakeRunServer& server, std::size_t index) {
  std::vector<Json> out;
  std::vector<FakeRunServer::Stream> streams = server.Streams();
  if (index >= streams.size()) return out;
  for (const std::string& line : streams[index].lines) {
    auto f = agentcore::ParseJson(line);
    if (f.ok() && f->Find("v") != nullptr && f->Find("t") != nullptr) out.push_back(*f->Find("v"));
  }
  return out;
}

std::string Type(const Json& v) {
  const std::string* t = v.FindString("type");
  return t != nullptr ? *t : "";
}

/// The run_result of stream `index`, or null.
Json RunResult(const FakeRunServer& server, std::size_t index) {
  for (const Json& v : Values(server, index)) {
    if (Type(v) == "run_result") return v;
  }
  return nullptr;
}

bool WaitResult(FakeRunServer& server, std::size_t index,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(15'000)) {
  return server.WaitFor([&] { return !RunResult(server, index).is_null(); }, timeout);
}

/// A build task's plan made from `prompt` by the grammar (what the plan phase sends).
Json PlanOf(const std::string& prompt) {
  return builder::PlanToJson("test plan", builder::ParsePrompt(prompt));
}

/// Runs one build phase of `prompt` (its plan made here) and returns its run_result.
struct Build {
  FakeRunServer server;
  TempDir dir{"builder-agent-test"};
  std::string workspace;
  std::unique_ptr<BuilderProcess> agent;

  Build() {
    workspace = dir / "ws";
    std::filesystem::create_directories(workspace);
  }
  std::string Log() const { return ReadFile(dir / "agent.log"); }
  Json Run(const std::string& prompt, int attempt = 1, int deadline_ms = 60'000) {
    server.SetTask(200, Task("run-b", "build", prompt, workspace, PlanOf(prompt), attempt,
                             deadline_ms));
    agent = std::make_unique<BuilderProcess>(server.Url(), dir / "agent.log");
    REQUIRE(agent->started());
    if (!WaitResult(server, 0)) {
      MESSAGE(Log());
      return nullptr;
    }
    return RunResult(server, 0);
  }
};

}  // namespace

TEST_SUITE("examples/builder_agent") {
  TEST_CASE("plans from the prompt read-only, then builds the plan's todos in the workspace") {
    FakeRunServer server;
    TempDir dir("builder-agent-test");
    const std::string ws = dir / "ws";
    REQUIRE(dir.Write("ws/README.md", "old"));
    REQUIRE(dir.Write("ws/src/keep.txt", "k"));
    const std::string prompt =
        "create hello.txt with hi\\nthere; append \" and more\" to hello.txt\n"
        "create sub/dir/x.txt with x; run echo out && echo err >&2; delete README.md;"
        "Add a dark mode toggle";
    server.SetTask(200, Task("run-1", "plan", prompt, ws));
    BuilderProcess agent(server.Url(), dir / "agent.log");
    REQUIRE(agent.started());
    REQUIRE_MESSAGE(WaitResult(server, 0), ReadFile(dir / "agent.log"));

    // The plan phase.
    std::vector<Json> plan_values = Values(server, 0);
    std::vector<std::string> types;
    for (const Json& v : plan_values) {
      types.push_back(Type(v));
      CHECK(*v.FindString("run") == "run-1");
      CHECK(*v.FindString("phase") == "plan");
    }
    CHECK(types == std::vector<std::string>{"tool_call", "tool_result", "message", "plan",
                                            "run_result"});
    CHECK(*plan_values[0].FindString("name") == "list_dir");
    CHECK(*plan_values[1].FindString("output") == "README.md\nsrc/\n");
    CHECK(plan_values[2].FindString("content")->find("6 todos") != std::string::npos);
    const Json plan = *plan_values[3].Find("plan");
    REQUIRE(plan.Find("todos") != nullptr);
    const auto& todos = plan.Find("todos")->as_array();
    REQUIRE(todos.size() == 6);
    std::vector<std::string> actions;
    for (const Json& t : todos) actions.push_back(*t.FindString("action"));
    CHECK(actions == std::vector<std::string>{"write", "append", "write", "run", "delete", "note"});
    CHECK(*todos[0].FindString("path") == "hello.txt");
    CHECK(*todos[0].FindString("title") == "Write hello.txt");
    CHECK(plan_values[4].Find("ok")->as_bool());
    // Start and append frames stream the message.
    const std::vector<std::string> lines = server.Streams()[0].lines;
    CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
            return l.find(R"("m":{"run":"run-1","phase":"plan","type":"message"})") !=
                   std::string::npos;
          }) == 1);
    CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
            return l.find(R"("a":)") != std::string::npos;
          }) >= 2);
    // Read-only: nothing written.
    CHECK_FALSE(std::filesystem::exists(ws + "/hello.txt"));
    CHECK(std::filesystem::exists(ws + "/README.md"));

    // The same task asked again is not run again.
    const int fetches = server.task_fetches();
    CHECK(server.Push(kToken) == 202);
    REQUIRE(server.WaitFor([&] { return server.task_fetches() > fetches; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(server.Streams().size() == 1);

    // The build phase, with the plan the plan phase sent.
    server.SetTask(200, Task("run-1", "build", prompt, ws, plan));
    CHECK(server.Push(kToken) == 202);
    REQUIRE_MESSAGE(WaitResult(server, 1), ReadFile(dir / "agent.log"));
    CHECK(ReadFile(ws + "/hello.txt") == "hi\nthere and more");
    CHECK(ReadFile(ws + "/sub/dir/x.txt") == "x");
    CHECK_FALSE(std::filesystem::exists(ws + "/README.md"));
    CHECK(ReadFile(ws + "/src/keep.txt") == "k");
    CHECK(ReadFile(ws + "/NOTES.md") == "Add a dark mode toggle\n");

    std::vector<Json> build_values = Values(server, 1);
    std::vector<std::string> calls;
    std::string stdout_text;
    std::string stderr_text;
    int tool_results = 0;
    int messages = 0;
    Json usage;
    for (const Json& v : build_values) {
      CHECK(*v.FindString("phase") == "build");
      const std::string type = Type(v);
      if (type == "tool_call") calls.push_back(*v.FindString("name"));
      if (type == "tool_output") {
        (*v.FindString("stream") == "stdout" ? stdout_text : stderr_text) += *v.FindString("text");
      }
      if (type == "tool_result") {
        ++tool_results;
        CHECK(v.Find("isError")->as_bool() == false);
      }
      if (type == "message") ++messages;
      if (type == "usage") usage = v;
    }
    CHECK(calls == std::vector<std::string>{"write_file", "append_file", "write_file",
                                            "run_command", "delete_file", "append_file"});
    CHECK(tool_results == 6);
    CHECK(messages == 6);  // a token line per todo
    CHECK(stdout_text == "out\n");
    CHECK(stderr_text == "err\n");
    REQUIRE(usage.is_object());
    CHECK(*usage.FindString("provider") == "example");
    CHECK(*usage.FindString("model") == "builder-1");
    // Words (runs of non-space bytes): the prompt's 27 plus the conversation's 3.
    CHECK(usage.Find("inputTokens")->as_number() == 30);
    // Bytes written: 8 + 9 + 1 + 23 (the note and its newline) = 41, / 4.
    CHECK(usage.Find("outputTokens")->as_number() == 10);
    Json result = RunResult(server, 1);
    CHECK(result.Find("ok")->as_bool());
    CHECK(result.FindString("summary")->find("6 todos") != std::string::npos);
    CHECK(Type(build_values.back()) == "run_result");

    agent.Signal(SIGTERM);
    CHECK(agent.Wait() == 0);
  }

  TEST_CASE("the build runs the plan it is given, not the prompt") {
    Build b;
    b.server.SetTask(200, Task("run-p", "build", "create a.txt with A", b.workspace,
                               PlanOf("create b.txt with B")));
    b.agent = std::make_unique<BuilderProcess>(b.server.Url(), b.dir / "agent.log");
    REQUIRE(WaitResult(b.server, 0));
    CHECK(RunResult(b.server, 0).Find("ok")->as_bool());
    CHECK(ReadFile(b.workspace + "/b.txt") == "B");
    CHECK_FALSE(std::filesystem::exists(b.workspace + "/a.txt"));
  }

  TEST_CASE("a path outside the workspace is refused and fails the run for good") {
    for (const char* prompt : {"create ../escape.txt with x", "create /tmp/abs.txt with x",
                               "append x to ../../escape.txt", "delete ../outside.txt",
                               "create link/x.txt with x", "create .git/config with x"}) {
      CAPTURE(prompt);
      Build b;
      REQUIRE(b.dir.Write("outside.txt", "keep"));
      std::filesystem::create_directory_symlink(b.dir.path(), b.workspace + "/link");
      Json result = b.Run(prompt);
      REQUIRE(result.is_object());
      CHECK(result.Find("ok")->as_bool() == false);
      CHECK(result.Find("retryable")->as_bool() == false);
      CHECK(result.FindString("error")->find("refused") != std::string::npos);
      std::vector<Json> values = Values(b.server, 0);
      bool refused = false;
      for (const Json& v : values) {
        if (Type(v) == "tool_result") refused = v.Find("isError")->as_bool();
      }
      CHECK(refused);
      CHECK_FALSE(std::filesystem::exists(b.dir / "escape.txt"));
      CHECK_FALSE(std::filesystem::exists(b.dir / "x.txt"));
      CHECK(ReadFile(b.dir / "outside.txt") == "keep");
    }
  }

  TEST_CASE("a command that exits non-zero fails the run for good") {
    Build b;
    Json result = b.Run("run echo before; exit 3");  // ';' ends the clause: `exit 3` is a note
    REQUIRE(result.is_object());
    CHECK(result.Find("ok")->as_bool());
    Build c;
    Json failed = c.Run("run echo before && exit 3");
    REQUIRE(failed.is_object());
    CHECK(failed.Find("ok")->as_bool() == false);
    CHECK(failed.Find("retryable")->as_bool() == false);
    CHECK(failed.FindString("error")->find("exited with code 3") != std::string::npos);
    bool is_error = false;
    for (const Json& v : Values(c.server, 0)) {
      if (Type(v) == "tool_result") {
        is_error = v.Find("isError")->as_bool();
        CHECK(*v.FindString("output") == "before\n[exit code 3]");
      }
    }
    CHECK(is_error);
  }

  TEST_CASE("commands run without the container token in their environment") {
    Build b;
    Json result = b.Run("run echo \"token=[$CAST_AUTH_TOKEN] url=[${CAST_API_URL:+set}]\"");
    REQUIRE(result.is_object());
    CHECK(result.Find("ok")->as_bool());
    std::string out;
    for (const Json& v : Values(b.server, 0)) {
      if (Type(v) == "tool_output") out += *v.FindString("text");
    }
    CHECK(out == "token=[] url=[set]\n");
    CHECK(b.Log().find(kToken) == std::string::npos);
  }

  TEST_CASE("command output that is not UTF-8 reaches the frames as valid text") {
    Build b;
    Json result = b.Run(R"(run printf 'caf\303\251 \377!' && printf '\342\202' >&2)");
    REQUIRE(result.is_object());
    CHECK(result.Find("ok")->as_bool());
    std::string out;
    std::string err;
    for (const Json& v : Values(b.server, 0)) {
      if (Type(v) == "tool_output") {
        (*v.FindString("stream") == "stdout" ? out : err) += *v.FindString("text");
      }
    }
    CHECK(out == "caf\xC3\xA9 \xEF\xBF\xBD!");
    CHECK(err == "\xEF\xBF\xBD\xEF\xBF\xBD");  // a sequence cut short at the end
  }

  TEST_CASE("a command still running at the deadline is killed and the attempt fails") {
    Build b;
    const auto before = std::chrono::steady_clock::now();
    Json result = b.Run("run sleep 30", 1, 400);
    REQUIRE(result.is_object());
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(10));
    CHECK(result.Find("ok")->as_bool() == false);
    CHECK(result.Find("retryable")->as_bool() == true);
    CHECK(result.FindString("error")->find("deadline") != std::string::npos);
  }

  TEST_CASE("a task whose deadline has passed fails retryably without doing anything") {
    Build b;
    Json result = b.Run("create a.txt with 1", 1, 0);
    REQUIRE(result.is_object());
    CHECK(result.Find("ok")->as_bool() == false);
    CHECK(result.Find("retryable")->as_bool() == true);
    CHECK(result.FindString("error")->find("deadline") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(b.workspace + "/a.txt"));
  }

  TEST_CASE("fail fails the build retryably, on every attempt or on the one named") {
    Build always;
    Json r1 = always.Run("create a.txt with 1; fail; create b.txt with 2", 2);
    REQUIRE(r1.is_object());
    CHECK(r1.Find("ok")->as_bool() == false);
    CHECK(r1.Find("retryable")->as_bool() == true);
    CHECK(std::filesystem::exists(always.workspace + "/a.txt"));
    CHECK_FALSE(std::filesystem::exists(always.workspace + "/b.txt"));

    Build first;
    Json r2 = first.Run("fail on attempt 1; create b.txt with 2", 1);
    REQUIRE(r2.is_object());
    CHECK(r2.Find("ok")->as_bool() == false);
    CHECK(r2.Find("retryable")->as_bool() == true);

    // The retry goes to the same process: attempt 2 of the same run and phase is run.
    const std::string prompt = "fail on attempt 1; create b.txt with 2";
    first.server.SetTask(200, Task("run-b", "build", prompt, first.workspace, PlanOf(prompt), 2));
    CHECK(first.server.Push(kToken) == 202);
    REQUIRE_MESSAGE(WaitResult(first.server, 1), first.Log());
    CHECK(RunResult(first.server, 1).Find("ok")->as_bool());
    CHECK(ReadFile(first.workspace + "/b.txt") == "2");

    Build second;
    Json r3 = second.Run("fail on attempt 1; create b.txt with 2", 2);
    REQUIRE(r3.is_object());
    CHECK(r3.Find("ok")->as_bool() == true);
    CHECK(ReadFile(second.workspace + "/b.txt") == "2");
  }

  TEST_CASE("crash ends the process with code 3 mid-build") {
    Build b;
    b.server.SetTask(200, Task("run-c", "build", "", b.workspace,
                               PlanOf("create a.txt with 1; crash; create b.txt with 2")));
    b.agent = std::make_unique<BuilderProcess>(b.server.Url(), b.dir / "agent.log");
    CHECK(b.agent->Wait() == 3);
    CHECK(std::filesystem::exists(b.workspace + "/a.txt"));
    CHECK_FALSE(std::filesystem::exists(b.workspace + "/b.txt"));
    CHECK(RunResult(b.server, 0).is_null());
  }

  TEST_CASE("SIGTERM during a sleep ends the agent at once") {
    Build b;
    b.server.SetTask(200, Task("run-s", "build", "", b.workspace, PlanOf("sleep 20000")));
    b.agent = std::make_unique<BuilderProcess>(b.server.Url(), b.dir / "agent.log");
    REQUIRE(b.server.WaitFor([&] {
      for (const Json& v : Values(b.server, 0)) {
        if (Type(v) == "tool_call" && *v.FindString("name") == "sleep") return true;
      }
      return false;
    }));
    const auto before = std::chrono::steady_clock::now();
    b.agent->Signal(SIGTERM);
    CHECK(b.agent->Wait() == 0);
    CHECK(std::chrono::steady_clock::now() - before < std::chrono::seconds(2));
  }

  TEST_CASE("a build task without a plan or with a bad plan fails for good") {
    Build b;
    b.server.SetTask(200, Task("run-n", "build", "create a with b", b.workspace));
    b.agent = std::make_unique<BuilderProcess>(b.server.Url(), b.dir / "agent.log");
    REQUIRE(WaitResult(b.server, 0));
    Json r = RunResult(b.server, 0);
    CHECK(r.Find("ok")->as_bool() == false);
    CHECK(r.Find("retryable")->as_bool() == false);
    CHECK(r.FindString("error")->find("no plan") != std::string::npos);

    Build c;
    auto bad = agentcore::ParseJson(R"({"todos":[{"id":"1","title":"t","action":"explode"}]})");
    c.server.SetTask(200, Task("run-n", "build", "", c.workspace, *bad));
    c.agent = std::make_unique<BuilderProcess>(c.server.Url(), c.dir / "agent.log");
    REQUIRE(WaitResult(c.server, 0));
    Json r2 = RunResult(c.server, 0);
    CHECK(r2.Find("retryable")->as_bool() == false);
    CHECK(r2.FindString("error")->find("unknown action") != std::string::npos);
  }

  TEST_CASE("a plan phase with a missing workspace fails for good") {
    Build b;
    b.server.SetTask(200, Task("run-w", "plan", "x", b.workspace + "/missing"));
    b.agent = std::make_unique<BuilderProcess>(b.server.Url(), b.dir / "agent.log");
    REQUIRE(WaitResult(b.server, 0));
    Json r = RunResult(b.server, 0);
    CHECK(r.Find("ok")->as_bool() == false);
    CHECK(r.Find("retryable")->as_bool() == false);
  }

  TEST_CASE("--help, a bad flag and a missing environment") {
    TempDir dir("builder-agent-test");
    {
      BuilderProcess help("", dir / "help.log", {"--help"}, false);
      CHECK(help.Wait() == 0);
      CHECK(ReadFile(dir / "help.log").find("usage: builder-agent") != std::string::npos);
    }
    {
      BuilderProcess bad("http://127.0.0.1:1", dir / "bad.log", {"--port", "x"});
      CHECK(bad.Wait() == 2);
    }
    {
      BuilderProcess unknown("http://127.0.0.1:1", dir / "unknown.log", {"--frobnicate"});
      CHECK(unknown.Wait() == 2);
    }
    {
      BuilderProcess noenv("", dir / "noenv.log", {}, false);
      CHECK(noenv.Wait() == 2);
      CHECK(ReadFile(dir / "noenv.log").find("CAST_API_URL") != std::string::npos);
    }
  }
}
