// SPDX-License-Identifier: Apache-2.0
#include <agentcore/runtime/runtimes.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>
#include <agentcore/runtime/agent.hpp>
#include <agentcore/runtime/runtime.hpp>

#include "support/manual_clock.hpp"
#include "support/recording_runtime_observer.hpp"

using agentcore::ActivateRequest;
using agentcore::AgentCommand;
using agentcore::AgentEvent;
using agentcore::AgentEventKind;
using agentcore::AgentStatus;
using agentcore::ErrorCode;
using agentcore::Json;
using agentcore::LocalProcessOptions;
using agentcore::NewLocalProcessRuntime;
using agentcore::Runtime;
using agentcore::RuntimeOptions;
using agentcore::testing::RecordingRuntimeObserver;
using std::chrono::milliseconds;

namespace {

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agentcore-rt-XXXXXX").string();
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

AgentCommand Sh(std::string script) {
  return AgentCommand{{"/bin/sh", "-c", std::move(script)}, {}, {}};
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WaitUntil(const std::function<bool()>& pred, milliseconds timeout = milliseconds(3000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// Alive = exists and is not a zombie (an orphan's zombie may linger under a non-reaping init).
bool IsAlive(int pid) {
  if (pid <= 0) return false;
  std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  char state = stat[close + 2];
  return state != 'Z' && state != 'X';
}

int ReadPidFile(const std::string& path) {
  int pid = 0;
  WaitUntil([&] {
    std::string text = ReadFile(path);
    if (text.empty() || text.back() != '\n') return false;
    pid = std::stoi(text);
    return true;
  });
  return pid;
}

std::map<std::string, std::string> ParseEnv(const std::string& text) {
  std::map<std::string, std::string> env;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

struct Fixture {
  TempDir dir;
  RecordingRuntimeObserver observer{milliseconds(3000)};
  agentcore::testing::ManualClock clock;

  LocalProcessOptions Options(std::map<std::string, AgentCommand> commands) const {
    LocalProcessOptions o;
    o.data_dir = dir.path();
    o.commands = std::move(commands);
    o.kill_grace = milliseconds(300);
    return o;
  }
  std::unique_ptr<Runtime> Make(const LocalProcessOptions& o) {
    RuntimeOptions ro;
    ro.observer = &observer;
    ro.clock = &clock;
    auto rt = NewLocalProcessRuntime(o, ro);
    REQUIRE(rt.has_value());
    return std::move(rt).value();
  }
  std::string File(const std::string& name) const { return dir.path() + "/" + name; }
};

ActivateRequest Request(std::string agent_id, std::string type = "worker") {
  ActivateRequest r;
  r.agent_id = std::move(agent_id);
  r.agent_type = std::move(type);
  r.auth_token = "tok.sig";
  r.api_url = "http://127.0.0.1:8080";
  return r;
}

std::string ReadWholeLog(Runtime& rt, const std::string& id) {
  auto chunk = rt.ReadLog(id, 0, 1 << 20);
  REQUIRE(chunk.has_value());
  return chunk->data;
}

}  // namespace

TEST_SUITE("LocalProcessRuntime") {
  TEST_CASE("passes the Cast container environment exactly") {
    Fixture f;
    ::setenv("AGENTCORE_TEST_SECRET", "do-not-leak", 1);
    auto rt = f.Make(f.Options(
        {{"worker", Sh("env > \"$OUT.tmp\" && mv \"$OUT.tmp\" \"$OUT\"")}}));
    ActivateRequest req = Request("sp1:ch1:bot");
    req.extra_env = {{"OUT", f.File("env.txt")}, {"CAST_AGENT_ID", "spoofed"}, {"EXTRA", "x y"}};
    req.system_prompt = "be brief";

    SUBCASE("with a callback URL and route hints") {
      req.callback_url = "http://127.0.0.1:9999";
      Json hints = Json::Object();
      hints.Set("fly-force-instance-id", "m1");
      req.route_hints = hints;
      auto st = rt->Activate(req);
      REQUIRE(st.has_value());
      CHECK(st->status == AgentStatus::kActivating);
      CHECK(st->pid > 0);
      CHECK(st->instance_id == "pid:" + std::to_string(st->pid));
      CHECK(st->started_at == f.clock.NowMillis());
      REQUIRE(f.observer.WaitFor(AgentEventKind::kOffline, "sp1:ch1:bot"));
      auto env = ParseEnv(ReadFile(f.File("env.txt")));
      CHECK(env["CAST_API_URL"] == "http://127.0.0.1:8080");
      CHECK(env["CAST_AGENT_ID"] == "sp1:ch1:bot");  // extra_env cannot override CAST_*
      CHECK(env["CAST_AUTH_TOKEN"] == "tok.sig");
      CHECK(env["CAST_CALLBACK_URL"] == "http://127.0.0.1:9999");
      CHECK(env["CAST_ROUTE_HINTS"] == R"({"fly-force-instance-id":"m1"})");
      CHECK(env["CAST_SYSTEM_PROMPT"] == "be brief");
      CHECK(env["EXTRA"] == "x y");
      CHECK(env.count("PORT") == 0);
      CHECK(env.count("AGENTCORE_TEST_SECRET") == 0);
      CHECK(env["PATH"] == ::getenv("PATH"));
    }
    SUBCASE("without a callback URL: a suggested port") {
      auto st = rt->Activate(req);
      REQUIRE(st.has_value());
      REQUIRE(f.observer.WaitFor(AgentEventKind::kOffline, "sp1:ch1:bot"));
      auto env = ParseEnv(ReadFile(f.File("env.txt")));
      REQUIRE(env.count("PORT") == 1);
      CHECK(std::stoi(env["PORT"]) > 0);
      CHECK(env["CAST_CALLBACK_URL"] == "http://127.0.0.1:" + env["PORT"]);
      CHECK(st->endpoint == env["CAST_CALLBACK_URL"]);
      REQUIRE(env.count("CAST_ROUTE_HINTS") == 1);
      CHECK(env["CAST_ROUTE_HINTS"].empty());  // null hints
    }
    ::unsetenv("AGENTCORE_TEST_SECRET");
  }

  TEST_CASE("captures stdout and stderr in a log that can be read in pieces") {
    Fixture f;
    auto rt = f.Make(f.Options({{"*", Sh("echo out; echo err >&2; echo out2")}}));
    REQUIRE(rt->Activate(Request("s:c:logger", "anything")).has_value());
    REQUIRE(f.observer.WaitFor(AgentEventKind::kOffline, "s:c:logger"));
    CHECK(ReadWholeLog(*rt, "s:c:logger") == "out\nerr\nout2\n");

    std::string joined;
    std::uint64_t offset = 0;
    for (int i = 0; i < 100; ++i) {
      auto chunk = rt->ReadLog("s:c:logger", offset, 4);
      REQUIRE(chunk.has_value());
      CHECK(chunk->size == 13);
      CHECK(chunk->data.size() <= 4);
      joined += chunk->data;
      offset = chunk->next_offset;
      if (chunk->data.empty()) break;
    }
    CHECK(joined == "out\nerr\nout2\n");
    CHECK(offset == 13);

    CHECK(rt->ReadLog("s:c:logger", 14, 10).status().code() == ErrorCode::kInvalidArgument);
    CHECK(rt->ReadLog("s:c:nobody", 0, 10).status().code() == ErrorCode::kNotFound);
    CHECK(rt->ReadLog("bad", 0, 10).status().code() == ErrorCode::kInvalidArgument);
    CHECK(rt->RouteHints("s:c:logger").is_null());
    CHECK(rt->Kind() == "local");

    // A restart appends to the same log.
    REQUIRE(rt->Activate(Request("s:c:logger", "anything")).has_value());
    REQUIRE(WaitUntil([&] {
      auto st = rt->GetState("s:c:logger");
      return st && st->status == AgentStatus::kOffline && st->exit;
    }));
    CHECK(ReadWholeLog(*rt, "s:c:logger") == "out\nerr\nout2\nout\nerr\nout2\n");
  }

  TEST_CASE("suspend kills the whole process group, grandchildren included") {
    Fixture f;
    auto rt = f.Make(f.Options(
        {{"worker", Sh("sleep 1000 & echo $! > \"$OUT.tmp\"; mv \"$OUT.tmp\" \"$OUT\"; wait")}}));
    ActivateRequest req = Request("s:c:parent");
    req.extra_env = {{"OUT", f.File("grandchild.pid")}};
    auto st = rt->Activate(req);
    REQUIRE(st.has_value());
    const int leader = st->pid;
    const int grandchild = ReadPidFile(f.File("grandchild.pid"));
    REQUIRE(grandchild > 0);
    CHECK(IsAlive(leader));
    CHECK(IsAlive(grandchild));
    CHECK(::getpgid(grandchild) == leader);
    REQUIRE(rt->ListAgents().size() == 1);

    CHECK(rt->Suspend("s:c:parent", "manual").ok());
    CHECK_FALSE(IsAlive(leader));
    CHECK(WaitUntil([&] { return !IsAlive(grandchild); }));
    auto after = rt->GetState("s:c:parent");
    REQUIRE(after.has_value());
    CHECK(after->status == AgentStatus::kOffline);
    CHECK(after->reason == "manual");
    CHECK(after->pid == 0);
    REQUIRE(after->exit.has_value());
    CHECK(after->exit->signal == SIGTERM);
    CHECK(rt->ListAgents().empty());
    auto ev = f.observer.WaitFor(AgentEventKind::kOffline, "s:c:parent");
    REQUIRE(ev.has_value());
    CHECK(ev->reason == "manual");
    CHECK(f.observer.Count(AgentEventKind::kFailed, "s:c:parent") == 0);
    // Nothing is left for a later ReapOrphans to find.
    CHECK_FALSE(std::filesystem::exists(f.File("agents/s.c.parent/pid")));
    CHECK(std::filesystem::exists(f.File("agents/s.c.parent/log")));
  }

  TEST_CASE("an agent that ignores SIGTERM is killed after the grace period") {
    Fixture f;
    auto rt = f.Make(
        f.Options({{"worker", Sh("trap '' TERM; echo ready; while :; do sleep 0.05; done")}}));
    auto st = rt->Activate(Request("s:c:stubborn"));
    REQUIRE(st.has_value());
    REQUIRE(WaitUntil([&] { return ReadWholeLog(*rt, "s:c:stubborn") == "ready\n"; }));
    auto start = std::chrono::steady_clock::now();
    CHECK(rt->Suspend("s:c:stubborn", "idle").ok());
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= milliseconds(290));
    CHECK(took < milliseconds(2000));
    CHECK_FALSE(IsAlive(st->pid));
    auto after = rt->GetState("s:c:stubborn");
    REQUIRE(after.has_value());
    REQUIRE(after->exit.has_value());
    CHECK(after->exit->signal == SIGKILL);
    CHECK(after->status == AgentStatus::kOffline);
    // Suspend is idempotent, also for agents never seen.
    CHECK(rt->Suspend("s:c:stubborn", "again").ok());
    CHECK(rt->Suspend("s:c:never", "x").ok());
    CHECK(rt->Suspend("not-an-id", "x").code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("reports an unexpected exit to the observer with its status") {
    Fixture f;
    auto rt = f.Make(f.Options({{"code", Sh("echo bye; exit 3")}, {"signal", Sh("kill -9 $$")}}));
    REQUIRE(rt->Activate(Request("s:c:three", "code")).has_value());
    REQUIRE(rt->Activate(Request("s:c:nine", "signal")).has_value());

    auto three = f.observer.WaitFor(AgentEventKind::kFailed, "s:c:three");
    REQUIRE(three.has_value());
    REQUIRE(three->exit.has_value());
    CHECK(three->exit->exit_code == 3);
    CHECK(three->exit->signal == 0);
    CHECK(three->reason == "exited with code 3");
    auto st = rt->GetState("s:c:three");
    REQUIRE(st.has_value());
    CHECK(st->status == AgentStatus::kError);
    CHECK(st->reason == "exited with code 3");
    CHECK(st->stopped_at.has_value());

    auto nine = f.observer.WaitFor(AgentEventKind::kFailed, "s:c:nine");
    REQUIRE(nine.has_value());
    REQUIRE(nine->exit.has_value());
    CHECK(nine->exit->signal == SIGKILL);
    CHECK(nine->reason == "killed by signal 9 (SIGKILL)");
    // Each agent got exactly: activating, then failed.
    CHECK(f.observer.Count(AgentEventKind::kActivating, "s:c:three") == 1);
    CHECK(f.observer.Count(AgentEventKind::kOffline, "s:c:three") == 0);
  }

  TEST_CASE("activate is idempotent while the agent runs") {
    Fixture f;
    auto rt = f.Make(f.Options({{"worker", Sh("exec sleep 1000")}}));
    auto first = rt->Activate(Request("s:c:once"));
    REQUIRE(first.has_value());
    auto second = rt->Activate(Request("s:c:once"));
    REQUIRE(second.has_value());
    CHECK(second->pid == first->pid);
    CHECK(second->status == AgentStatus::kActivating);
    CHECK(rt->ListAgents().size() == 1);

    CHECK(rt->Checkin("s:c:once", "http://127.0.0.1:4444").ok());
    REQUIRE(f.observer.WaitFor(AgentEventKind::kOnline, "s:c:once"));
    auto third = rt->Activate(Request("s:c:once"));
    REQUIRE(third.has_value());
    CHECK(third->pid == first->pid);
    CHECK(third->status == AgentStatus::kOnline);
    CHECK(third->endpoint == "http://127.0.0.1:4444");
    CHECK(f.observer.Count(AgentEventKind::kActivating, "s:c:once") == 1);
    CHECK(rt->Checkin("s:c:other", "http://x").code() == ErrorCode::kConflict);

    // After a suspend, activate starts a new process.
    CHECK(rt->Suspend("s:c:once", "manual").ok());
    CHECK(rt->Checkin("s:c:once", "http://x").code() == ErrorCode::kConflict);
    auto fourth = rt->Activate(Request("s:c:once"));
    REQUIRE(fourth.has_value());
    CHECK(fourth->pid != first->pid);
    CHECK(fourth->status == AgentStatus::kActivating);
    CHECK(fourth->reason.empty());
    CHECK(rt->Shutdown().ok());
    CHECK_FALSE(IsAlive(fourth->pid));
  }

  TEST_CASE("refuses bad requests and options with clear errors") {
    Fixture f;
    auto rt = f.Make(
        f.Options({{"known", Sh("true")}, {"missing", {{"/nonexistent/agent"}, {}, {}}}}));

    auto unknown = rt->Activate(Request("s:c:x", "other"));
    CHECK(unknown.status().code() == ErrorCode::kInvalidArgument);
    CHECK(unknown.status().message() ==
          "no command for agent type \"other\" in the local runtime (and no \"*\" default)");
    CHECK_FALSE(rt->GetState("s:c:x").has_value());

    for (const char* id : {"", "a:b", "a::c", ":b:c", "a:b:", "a:b:c:d", "abc"}) {
      CAPTURE(id);
      CHECK(rt->Activate(Request(id, "known")).status().code() == ErrorCode::kInvalidArgument);
    }
    CHECK(rt->Activate(Request("s:c:x", "")).status().code() == ErrorCode::kInvalidArgument);
    ActivateRequest bad_env = Request("s:c:x", "known");
    bad_env.extra_env = {{"A=B", "c"}};
    CHECK(rt->Activate(bad_env).status().code() == ErrorCode::kInvalidArgument);
    ActivateRequest big = Request("s:c:x", "known");
    big.system_prompt.assign(200 * 1024, 'p');
    CHECK(rt->Activate(big).status().code() == ErrorCode::kTooLarge);

    auto failed = rt->Activate(Request("s:c:gone", "missing"));
    CHECK(failed.status().code() == ErrorCode::kInternal);
    CHECK(failed.status().message().find("/nonexistent/agent") != std::string::npos);
    auto st = rt->GetState("s:c:gone");
    REQUIRE(st.has_value());
    CHECK(st->status == AgentStatus::kError);
    CHECK(rt->ListAgents().empty());

    LocalProcessOptions no_dir;
    CHECK(NewLocalProcessRuntime(no_dir).status().code() == ErrorCode::kInvalidArgument);
    LocalProcessOptions empty_argv = f.Options({{"x", AgentCommand{}}});
    CHECK(NewLocalProcessRuntime(empty_argv).status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("shutdown leaves no children and refuses new agents") {
    Fixture f;
    auto rt = f.Make(f.Options(
        {{"polite", Sh("sleep 1000 & wait")},
         {"stubborn", Sh("trap '' TERM; echo ready; while :; do sleep 0.05; done")}}));
    std::vector<int> pids;
    for (const char* id : {"s:c:a", "s:c:b"}) {
      auto st = rt->Activate(Request(id, "polite"));
      REQUIRE(st.has_value());
      pids.push_back(st->pid);
    }
    auto stubborn = rt->Activate(Request("s:c:z", "stubborn"));
    REQUIRE(stubborn.has_value());
    pids.push_back(stubborn->pid);
    REQUIRE(WaitUntil([&] { return ReadWholeLog(*rt, "s:c:z") == "ready\n"; }));
    CHECK(rt->ListAgents().size() == 3);

    auto start = std::chrono::steady_clock::now();
    CHECK(rt->Shutdown().ok());
    CHECK(std::chrono::steady_clock::now() - start < milliseconds(2000));  // in parallel
    for (int pid : pids) CHECK_FALSE(IsAlive(pid));
    CHECK(rt->ListAgents().empty());
    // Every child was reaped: none is left for this process to wait for.
    for (int pid : pids) CHECK(::waitpid(pid, nullptr, WNOHANG) == -1);
    CHECK(rt->Activate(Request("s:c:a", "polite")).status().code() == ErrorCode::kUnavailable);
    CHECK(rt->Shutdown().ok());
    auto a = rt->GetState("s:c:a");
    REQUIRE(a.has_value());
    CHECK(a->reason == "shutdown");
    CHECK(f.observer.WaitFor(AgentEventKind::kOffline, "s:c:z").has_value());
  }

  TEST_CASE("ReapOrphans ends the agents a crashed runtime left behind") {
    Fixture f;
    LocalProcessOptions o = f.Options(
        {{"worker", Sh("sleep 1000 & echo $! > \"$OUT.tmp\"; mv \"$OUT.tmp\" \"$OUT\"; wait")}});
    o.stop_agents_on_destroy = false;  // destroying the runtime is our "crash"
    int leader = 0;
    int grandchild = 0;
    {
      auto crashed = f.Make(o);
      ActivateRequest req = Request("s:c:orphan");
      req.extra_env = {{"OUT", f.File("grandchild.pid")}};
      auto st = crashed->Activate(req);
      REQUIRE(st.has_value());
      leader = st->pid;
      grandchild = ReadPidFile(f.File("grandchild.pid"));
    }
    REQUIRE(IsAlive(leader));
    REQUIRE(IsAlive(grandchild));
    REQUIRE(std::filesystem::exists(f.File("agents/s.c.orphan/pid")));

    o.stop_agents_on_destroy = true;
    auto rt = f.Make(o);
    auto reaped = rt->ReapOrphans();
    REQUIRE(reaped.has_value());
    CHECK(*reaped == std::vector<std::string>{"s:c:orphan"});
    CHECK_FALSE(IsAlive(leader));
    CHECK(WaitUntil([&] { return !IsAlive(grandchild); }));
    CHECK_FALSE(std::filesystem::exists(f.File("agents/s.c.orphan/pid")));
    // Not this runtime's agent, so it has no state for it; and nothing is left to reap.
    CHECK_FALSE(rt->GetState("s:c:orphan").has_value());
    auto again = rt->ReapOrphans();
    REQUIRE(again.has_value());
    CHECK(again->empty());
  }

  TEST_CASE("ReapOrphans never kills a process whose pid was reused") {
    Fixture f;
    LocalProcessOptions o = f.Options({{"worker", Sh("exec sleep 1000")}});
    o.stop_agents_on_destroy = false;
    int pid = 0;
    {
      auto crashed = f.Make(o);
      auto st = crashed->Activate(Request("s:c:reused"));
      REQUIRE(st.has_value());
      pid = st->pid;
    }
    // Make the pid file describe an older process that had the same pid.
    const std::string pid_path = f.File("agents/s.c.reused/pid");
    std::string text = ReadFile(pid_path);
    auto at = text.find("start_time=");
    REQUIRE(at != std::string::npos);
    auto end = text.find('\n', at);
    std::uint64_t start_time = std::stoull(text.substr(at + 11, end - at - 11));
    text.replace(at, end - at, "start_time=" + std::to_string(start_time + 1));
    std::ofstream(pid_path, std::ios::trunc) << text;

    o.stop_agents_on_destroy = true;
    auto rt = f.Make(o);
    auto reaped = rt->ReapOrphans();
    REQUIRE(reaped.has_value());
    CHECK(reaped->empty());
    std::this_thread::sleep_for(milliseconds(50));
    CHECK(IsAlive(pid));
    CHECK_FALSE(std::filesystem::exists(pid_path));  // stale: removed

    ::kill(-pid, SIGKILL);
    CHECK(::waitpid(pid, nullptr, 0) == pid);
  }

  TEST_CASE("ReapOrphans skips corrupt pid files and the runtime's own agents") {
    Fixture f;
    auto rt = f.Make(f.Options({{"worker", Sh("exec sleep 1000")}}));
    auto st = rt->Activate(Request("s:c:mine"));
    REQUIRE(st.has_value());
    std::filesystem::create_directories(f.File("agents/junk"));
    std::ofstream(f.File("agents/junk/pid")) << "pid=1\n";
    auto reaped = rt->ReapOrphans();
    REQUIRE(reaped.has_value());
    CHECK(reaped->empty());
    CHECK(IsAlive(st->pid));
    CHECK(std::filesystem::exists(f.File("agents/s.c.mine/pid")));
    CHECK_FALSE(std::filesystem::exists(f.File("agents/junk/pid")));
  }
}
