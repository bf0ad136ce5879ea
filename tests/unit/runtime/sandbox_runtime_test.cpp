// SPDX-License-Identifier: Apache-2.0
// The local sandbox runtime with the real bubblewrap (CI installs it; without bwrap every case
// but the missing-bwrap one says so and passes nothing else).
#include <agentcore/runtime/session_runtime.hpp>

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "process/spawn.hpp"
#include "runtime/process_files.hpp"
#include "support/recording_session_sink.hpp"
#include "support/temp_dir.hpp"

namespace {

using agentcore::ErrorCode;
using agentcore::OpenSandboxRuntime;
using agentcore::SandboxRuntimeOptions;
using agentcore::SessionNetwork;
using agentcore::SessionProcess;
using agentcore::SessionRuntime;
using agentcore::SessionSpec;
using agentcore::SessionStream;
using agentcore::testing::RecordingSessionSink;
using agentcore::testing::TempDir;
using namespace std::chrono_literals;

bool HaveBwrap() {
  static const bool have = !agentcore::internal::FindProgram("bwrap").empty();
  if (!have) MESSAGE("bwrap is not installed (apt-get install bubblewrap): case skipped");
  return have;
}

// A workspace and a runtime whose pid files live next to it.
struct Fixture {
  TempDir dir{"sandbox-test"};
  std::string workspace;
  std::string state_dir;
  std::unique_ptr<SessionRuntime> runtime;

  explicit Fixture(SandboxRuntimeOptions options = {}) {
    REQUIRE_FALSE(dir.path().empty());
    workspace = dir / "workspace";
    state_dir = dir / "state";
    std::filesystem::create_directories(workspace);
    if (options.state_dir.empty()) options.state_dir = state_dir;
    auto opened = OpenSandboxRuntime(options);
    REQUIRE(opened.ok());
    runtime = std::move(*opened);
  }

  SessionSpec Spec(std::vector<std::string> command, std::string session = "s1") const {
    SessionSpec spec;
    spec.session_id = std::move(session);
    spec.instance = "test";
    spec.command = std::move(command);
    spec.workspace_dir = workspace;
    return spec;
  }

  std::unique_ptr<SessionProcess> Start(const SessionSpec& spec, RecordingSessionSink* sink) {
    auto started = runtime->Start(spec, sink);
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    return std::move(*started);
  }

  // Runs `script` with sh and returns the sink once it exited.
  std::unique_ptr<RecordingSessionSink> Run(const std::string& script,
                                            SessionNetwork network = SessionNetwork::kNone) {
    auto sink = std::make_unique<RecordingSessionSink>();
    SessionSpec spec = Spec({"sh", "-c", script});
    spec.network = network;
    auto process = Start(spec, sink.get());
    REQUIRE(sink->WaitExit().has_value());
    return sink;
  }
};

pid_t PidOf(const SessionProcess& process) {
  REQUIRE(process.id().rfind("pid:", 0) == 0);
  return static_cast<pid_t>(std::stol(process.id().substr(4)));
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// How many processes have `text` in their command line (a bwrap names its workspace).
int ProcessesMentioning(const std::string& text) {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(text) != std::string::npos) ++count;
  }
  return count;
}

// Writes a pid file as the runtime does: what ReapOrphans trusts.
void WritePidFile(const std::string& path, const std::string& session, pid_t pid) {
  agentcore::internal::PidRecord record;
  record.agent_id = session;
  record.pid = pid;
  auto stat = agentcore::internal::ReadProcStat(pid);
  REQUIRE(stat.has_value());
  record.start_time = stat->start_time;
  record.boot_id = agentcore::internal::ReadBootId();
  REQUIRE(
      agentcore::internal::WriteFileAtomically(path, agentcore::internal::FormatPidRecord(record))
          .ok());
}

TEST_SUITE("runtime/sandbox_runtime") {
  TEST_CASE("stdout and stderr arrive in order, then the exit with its code") {
    if (!HaveBwrap()) return;
    Fixture f;
    CHECK(f.runtime->name() == "sandbox");
    auto sink = f.Run("echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; exit 0");
    CHECK(sink->out() == "one\nthree\n");
    CHECK(sink->err() == "two\n");
    auto chunks = sink->chunks();
    REQUIRE(chunks.size() == 3);
    CHECK(chunks[0].first == SessionStream::kStdout);
    CHECK(chunks[1].first == SessionStream::kStderr);
    CHECK(chunks[2].first == SessionStream::kStdout);
    auto exit = sink->WaitExit();
    CHECK(exit->code == 0);
    CHECK(exit->reason == "exited with code 0");
    CHECK(sink->exits() == 1);
    CHECK(sink->calls_after_exit() == 0);
  }

  TEST_CASE("exit codes: a code, and a signal as 128 + signal") {
    if (!HaveBwrap()) return;
    Fixture f;
    auto three = f.Run("exit 3");
    CHECK(three->WaitExit()->code == 3);
    CHECK(three->WaitExit()->reason == "exited with code 3");
    auto killed = f.Run("kill -9 $$");
    CHECK(killed->WaitExit()->code == 128 + 9);
    CHECK(killed->WaitExit()->reason == "killed by signal 9");
  }

  TEST_CASE("stdin round trip through cat, and EOF when stdin is closed") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    auto process = f.Start(f.Spec({"cat"}), &sink);
    CHECK(process->running());
    REQUIRE(process->WriteStdin("hello ").ok());
    REQUIRE(process->WriteStdin("sandbox\n").ok());
    CHECK(sink.WaitStdout("hello sandbox\n"));
    REQUIRE(process->CloseStdin().ok());
    REQUIRE(process->CloseStdin().ok());  // idempotent
    auto exit = sink.WaitExit();
    REQUIRE(exit.has_value());
    CHECK(exit->code == 0);
    CHECK(sink.out() == "hello sandbox\n");
    CHECK_FALSE(process->running());
  }

  TEST_CASE("WriteStdin after CloseStdin or after the exit is refused") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    auto process = f.Start(f.Spec({"sh", "-c", "read line; echo got $line"}), &sink);
    REQUIRE(process->WriteStdin("x\n").ok());
    REQUIRE(sink.WaitExit().has_value());
    CHECK(sink.out() == "got x\n");
    agentcore::Status after_exit = process->WriteStdin("late\n");
    CHECK(after_exit.code() == ErrorCode::kConflict);
    REQUIRE(process->CloseStdin().ok());
    CHECK(process->WriteStdin("x").code() == ErrorCode::kConflict);
  }

  TEST_CASE("WriteStdin to a command that does not read gives up after about a second") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    auto process = f.Start(f.Spec({"sleep", "30"}), &sink);
    const std::string big(1 << 20, 'x');  // more than a pipe holds
    const auto start = std::chrono::steady_clock::now();
    agentcore::Status full = process->WriteStdin(big);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(full.code() == ErrorCode::kUnavailable);
    CHECK(took >= 900ms);
    CHECK(took < 5s);
  }

  TEST_CASE("Stop sends SIGTERM to the command and returns after its exit") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    auto process =
        f.Start(f.Spec({"sh", "-c",
                        "trap 'echo bye; exit 7' TERM; echo ready; while :; do sleep 0.1; done"}),
                &sink);
    REQUIRE(sink.WaitStdout("ready\n"));
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(process->Stop(10s).ok());
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK(sink.exits() == 1);  // OnExit before Stop returned
    CHECK(sink.WaitExit(0ms)->code == 7);
    CHECK(sink.out() == "ready\nbye\n");
    CHECK_FALSE(process->running());
    REQUIRE(process->Stop(10s).ok());  // idempotent
    CHECK(sink.exits() == 1);
  }

  TEST_CASE("Stop SIGKILLs a command that ignores SIGTERM once the grace is over") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    auto process = f.Start(
        f.Spec({"sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"}), &sink);
    REQUIRE(sink.WaitStdout("ready\n"));
    const pid_t pid = PidOf(*process);
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(process->Stop(500ms).ok());
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= 500ms);
    CHECK(took < 5s);
    auto exit = sink.WaitExit(0ms);
    REQUIRE(exit.has_value());
    CHECK(exit->code == 128 + SIGKILL);
    CHECK(exit->reason == "killed by signal 9");
    CHECK_FALSE(Alive(pid));
  }

  TEST_CASE("destroying a running process kills it and waits for its end") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    auto process = f.Start(f.Spec({"sh", "-c", "echo ready; exec sleep 61.25"}), &sink);
    REQUIRE(sink.WaitStdout("ready\n"));
    const pid_t pid = PidOf(*process);
    CHECK(ProcessesMentioning("61.25") >= 2);  // bwrap (outside and as init) and sleep
    const std::string pid_file = f.state_dir + "/test.s1.pid";
    CHECK(std::filesystem::exists(pid_file));
    process.reset();
    CHECK(sink.exits() == 1);
    CHECK_FALSE(Alive(pid));
    CHECK(ProcessesMentioning("61.25") == 0);        // the command inside is gone too
    CHECK_FALSE(std::filesystem::exists(pid_file));  // removed with the process
  }

  TEST_CASE("the workspace is /workspace, read-write; the system is read-only") {
    if (!HaveBwrap()) return;
    Fixture f;
    REQUIRE(f.dir.Write("workspace/in.txt", "from host\n"));
    auto sink = f.Run(
        "pwd; cat in.txt; echo from sandbox > out.txt; "
        "touch /usr/agentcore-sandbox-test 2>/dev/null && echo usr-writable || echo usr-ro; "
        "touch /etc/agentcore-sandbox-test 2>/dev/null && echo etc-writable || echo etc-ro; "
        "echo tmp > /tmp/x && cat /tmp/x");
    CHECK(sink->out() == "/workspace\nfrom host\nusr-ro\netc-ro\ntmp\n");
    CHECK(ReadFile(f.workspace + "/out.txt") == "from sandbox\n");
    CHECK_FALSE(std::filesystem::exists("/usr/agentcore-sandbox-test"));
    CHECK_FALSE(std::filesystem::exists("/etc/agentcore-sandbox-test"));
    // The host's own paths outside the system list are not there at all.
    auto home = f.Run("test -e " + f.dir.path() + " && echo visible || echo hidden");
    CHECK(home->out() == "hidden\n");
  }

  TEST_CASE("workDir sets the command's directory") {
    if (!HaveBwrap()) return;
    Fixture f;
    std::filesystem::create_directories(f.workspace + "/sub");
    RecordingSessionSink sink;
    SessionSpec spec = f.Spec({"pwd"});
    spec.work_dir = "/workspace/sub";
    auto process = f.Start(spec, &sink);
    REQUIRE(sink.WaitExit().has_value());
    CHECK(sink.out() == "/workspace/sub\n");
  }

  TEST_CASE("network none leaves only loopback; outgoing shares the host's interfaces") {
    if (!HaveBwrap()) return;
    Fixture f;
    // /proc/net/dev: two header lines, then one line per interface.
    auto none = f.Run("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
    CHECK(none->out() == "lo\n");
    // The host's network namespace: the same namespace inode as this process's.
    std::error_code ec;
    const std::string host_ns = std::filesystem::read_symlink("/proc/self/ns/net", ec).string();
    REQUIRE_FALSE(ec);
    auto outgoing = f.Run("readlink /proc/self/ns/net", SessionNetwork::kOutgoing);
    CHECK(outgoing->out() == host_ns + "\n");
    auto isolated = f.Run("readlink /proc/self/ns/net");
    CHECK(isolated->out() != host_ns + "\n");
  }

  TEST_CASE("every capability is dropped") {
    if (!HaveBwrap()) return;
    Fixture f;
    auto sink = f.Run("grep -E '^Cap(Eff|Prm|Bnd|Amb):' /proc/self/status | cut -f2 | sort -u");
    CHECK(sink->out() == "0000000000000000\n");
  }

  TEST_CASE("the environment is cleared, then PATH, HOME and the spec's variables set") {
    if (!HaveBwrap()) return;
    setenv("AGENTCORE_SANDBOX_LEAK", "host secret", 1);
    Fixture f;
    {
      RecordingSessionSink sink;
      SessionSpec spec = f.Spec({"env"});
      spec.env = {{"FOO", "bar baz"}, {"EMPTY", ""}};
      auto process = f.Start(spec, &sink);
      REQUIRE(sink.WaitExit().has_value());
      std::vector<std::string> lines;
      std::istringstream in(sink.out());
      for (std::string line; std::getline(in, line);) lines.push_back(line);
      std::sort(lines.begin(), lines.end());
      CHECK(lines == std::vector<std::string>{
                         "EMPTY=", "FOO=bar baz", "HOME=/workspace",
                         "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "PWD=/workspace"});
    }
    {
      RecordingSessionSink sink;
      SessionSpec spec = f.Spec({"sh", "-c", "echo $HOME $PATH"});
      spec.env = {{"HOME", "/tmp"}, {"PATH", "/usr/bin:/bin"}};
      auto process = f.Start(spec, &sink);
      REQUIRE(sink.WaitExit().has_value());
      CHECK(sink.out() == "/tmp /usr/bin:/bin\n");
    }
    unsetenv("AGENTCORE_SANDBOX_LEAK");
  }

  TEST_CASE("a command that allocates more than memoryMB is stopped") {
    if (!HaveBwrap()) return;
    Fixture f;
    auto run = [&](int bytes) {
      auto sink = std::make_unique<RecordingSessionSink>();
      SessionSpec spec = f.Spec(
          {"sh", "-c",
           "x=$(head -c " + std::to_string(bytes) + " /dev/zero | tr '\\0' a); echo done ${#x}"});
      spec.resources.memory_mb = 64;
      auto process = f.Start(spec, sink.get());
      REQUIRE(sink->WaitExit().has_value());
      return sink;
    };
    auto small = run(1'000'000);
    CHECK(small->out() == "done 1000000\n");
    CHECK(small->WaitExit()->code == 0);
    auto big = run(200'000'000);
    CHECK(big->out().find("done") == std::string::npos);
    CHECK(big->WaitExit()->code != 0);
  }

  TEST_CASE("10 MB of output arrives complete and in order") {
    if (!HaveBwrap()) return;
    Fixture f;
    auto sink = f.Run("seq 1 1300000");
    std::string expected;
    expected.reserve(10'000'000);
    for (int i = 1; i <= 1'300'000; ++i) {
      expected += std::to_string(i);
      expected += '\n';
    }
    REQUIRE(expected.size() > 9'000'000);
    CHECK(sink->out().size() == expected.size());
    CHECK(sink->out() == expected);
    CHECK(sink->calls_after_exit() == 0);
  }

  TEST_CASE("Endpoint is 127.0.0.1:<port> for a declared port of an exposed session only") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    SessionSpec spec = f.Spec({"sleep", "30"});
    spec.network = SessionNetwork::kExposed;
    spec.ports = {{"web", 8080}};
    auto exposed = f.Start(spec, &sink);
    auto endpoint = exposed->Endpoint(8080);
    REQUIRE(endpoint.ok());
    CHECK(*endpoint == "127.0.0.1:8080");
    CHECK(exposed->Endpoint(8081).status().code() == ErrorCode::kNotFound);

    RecordingSessionSink sink2;
    spec.session_id = "s2";
    spec.network = SessionNetwork::kOutgoing;
    auto outgoing = f.Start(spec, &sink2);
    CHECK(outgoing->Endpoint(8080).status().code() == ErrorCode::kNotFound);
  }

  TEST_CASE("specs the sandbox cannot run are kInvalidArgument, and nothing starts") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    auto expect_invalid = [&](const SessionSpec& spec, std::string_view words) {
      auto started = f.runtime->Start(spec, &sink);
      REQUIRE_FALSE(started.ok());
      CHECK(started.status().code() == ErrorCode::kInvalidArgument);
      CHECK_MESSAGE(started.status().message().find(words) != std::string::npos,
                    started.status().message());
    };
    expect_invalid(f.Spec({}), "needs a command");
    SessionSpec image = f.Spec({"true"});
    image.image = "alpine";
    expect_invalid(image, "image");
    SessionSpec no_id = f.Spec({"true"}, "");
    expect_invalid(no_id, "session id");
    SessionSpec no_ws = f.Spec({"true"});
    no_ws.workspace_dir = f.dir / "missing";
    expect_invalid(no_ws, "workspace");
    SessionSpec rel_ws = f.Spec({"true"});
    rel_ws.workspace_dir = "workspace";
    expect_invalid(rel_ws, "workspace");
    SessionSpec rel_wd = f.Spec({"true"});
    rel_wd.work_dir = "sub";
    expect_invalid(rel_wd, "workDir");
    SessionSpec bad_env = f.Spec({"true"});
    bad_env.env = {{"A=B", "c"}};
    expect_invalid(bad_env, "environment variable");
    SessionSpec empty_env = f.Spec({"true"});
    empty_env.env = {{"", "c"}};
    expect_invalid(empty_env, "environment variable");
    SessionSpec nul_arg = f.Spec({"echo", std::string("a\0b", 3)});
    expect_invalid(nul_arg, "NUL");
    SessionSpec negative = f.Spec({"true"});
    negative.resources.memory_mb = -1;
    expect_invalid(negative, "negative");
    auto no_sink = f.runtime->Start(f.Spec({"true"}), nullptr);
    CHECK(no_sink.status().code() == ErrorCode::kInvalidArgument);
    CHECK(sink.exits() == 0);
    CHECK(std::filesystem::is_empty(f.state_dir));
  }

  TEST_CASE("a missing bwrap is kUnavailable with the fix") {
    SandboxRuntimeOptions options;
    options.bwrap_path = "/nonexistent/bwrap";
    auto opened = OpenSandboxRuntime(options);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.status().code() == ErrorCode::kUnavailable);
    CHECK(opened.status().message().find("apt-get install bubblewrap") != std::string::npos);
    options.bwrap_path = "no-such-bwrap-in-path";
    CHECK(OpenSandboxRuntime(options).status().code() == ErrorCode::kUnavailable);
  }

  TEST_CASE("bwrap failing before it runs the command is kInternal with its stderr line") {
    if (!HaveBwrap()) return;
    TempDir bin("sandbox-bin");
    // Stands in for a bwrap that rejects its arguments the way bwrap does.
    REQUIRE(bin.Write("bwrap",
                      "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\n"
                      "echo 'second line' >&2\nexit 1\n"));
    ::chmod((bin / "bwrap").c_str(), 0755);
    SandboxRuntimeOptions options;
    options.bwrap_path = bin / "bwrap";
    Fixture f(options);
    RecordingSessionSink sink;
    auto started = f.runtime->Start(f.Spec({"true"}), &sink);
    REQUIRE_FALSE(started.ok());
    CHECK(started.status().code() == ErrorCode::kInternal);
    CHECK(started.status().message() ==
          "bwrap failed: bwrap: No permissions to create new namespace");
    CHECK(sink.exits() == 0);
    CHECK(std::filesystem::is_empty(f.state_dir));
  }

  TEST_CASE("bwrap not reporting the start in time is killed: kDeadlineExceeded") {
    if (!HaveBwrap()) return;
    TempDir bin("sandbox-bin");
    REQUIRE(bin.Write("bwrap", "#!/bin/sh\necho $$ > \"$(dirname \"$0\")/pid\"\nexec sleep 60\n"));
    ::chmod((bin / "bwrap").c_str(), 0755);
    SandboxRuntimeOptions options;
    options.bwrap_path = bin / "bwrap";
    options.start_timeout = 300ms;
    Fixture f(options);
    RecordingSessionSink sink;
    const auto start = std::chrono::steady_clock::now();
    auto started = f.runtime->Start(f.Spec({"true"}), &sink);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    REQUIRE_FALSE(started.ok());
    CHECK(started.status().code() == ErrorCode::kDeadlineExceeded);
    const pid_t pid = std::stoi(ReadFile(bin / "pid"));
    CHECK_FALSE(Alive(pid));
    CHECK(sink.exits() == 0);
    CHECK(std::filesystem::is_empty(f.state_dir));
  }

  TEST_CASE("ReapOrphans kills a bwrap an earlier runtime left, and nothing else") {
    if (!HaveBwrap()) return;
    Fixture f;
    // The orphan: a real bwrap started outside the runtime, as a crashed runtime leaves it.
    agentcore::internal::SpawnSpec orphan_spec;
    orphan_spec.argv = {agentcore::internal::FindProgram("bwrap"),
                        "--unshare-all",
                        "--die-with-parent",
                        "--ro-bind",
                        "/usr",
                        "/usr"};
    for (const char* p : {"/bin", "/lib", "/lib64"}) {
      if (std::filesystem::exists(p))
        orphan_spec.argv.insert(orphan_spec.argv.end(), {"--ro-bind", p, p});
    }
    orphan_spec.argv.insert(orphan_spec.argv.end(), {"--", "sleep", "60"});
    orphan_spec.cwd = "/";
    auto orphan = agentcore::internal::SpawnProcess(orphan_spec);
    REQUIRE(orphan.ok());
    // Unrelated: a live process that is not a bwrap, listed in a pid file of this instance.
    agentcore::internal::SpawnSpec other_spec;
    other_spec.argv = {"sleep", "60"};
    other_spec.cwd = "/";
    auto other = agentcore::internal::SpawnProcess(other_spec);
    REQUIRE(other.ok());
    std::this_thread::sleep_for(100ms);  // both have exec'd
    WritePidFile(f.state_dir + "/test.crashed.pid", "crashed", *orphan);
    WritePidFile(f.state_dir + "/test.unrelated.pid", "unrelated", *other);
    // Another instance's orphan is not this instance's business.
    WritePidFile(f.state_dir + "/other.crashed.pid", "crashed", *orphan);
    REQUIRE(f.dir.Write("state/test.garbage.pid", "not a pid file\n"));
    // A live session of this runtime is not an orphan.
    RecordingSessionSink sink;
    auto live = f.Start(f.Spec({"sleep", "60"}, "live"), &sink);

    auto reaped = f.runtime->ReapOrphans("test");
    REQUIRE(reaped.ok());
    CHECK(*reaped == 1);
    int status = 0;
    REQUIRE(::waitpid(*orphan, &status, 0) == *orphan);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    CHECK(Alive(*other));
    CHECK(live->running());
    CHECK_FALSE(std::filesystem::exists(f.state_dir + "/test.crashed.pid"));
    CHECK_FALSE(std::filesystem::exists(f.state_dir + "/test.unrelated.pid"));
    CHECK_FALSE(std::filesystem::exists(f.state_dir + "/test.garbage.pid"));
    CHECK(std::filesystem::exists(f.state_dir + "/other.crashed.pid"));
    CHECK(std::filesystem::exists(f.state_dir + "/test.live.pid"));
    // Again: nothing left to reap.
    CHECK(*f.runtime->ReapOrphans("test") == 0);
    ::kill(*other, SIGKILL);
    ::waitpid(*other, &status, 0);
  }

  TEST_CASE("ReapOrphans leaves a pid reused by another process alone") {
    if (!HaveBwrap()) return;
    Fixture f;
    agentcore::internal::SpawnSpec spec;
    spec.argv = {"sleep", "60"};
    spec.cwd = "/";
    auto pid = agentcore::internal::SpawnProcess(spec);
    REQUIRE(pid.ok());
    std::this_thread::sleep_for(100ms);
    agentcore::internal::PidRecord record;
    record.agent_id = "old";
    record.pid = *pid;
    record.start_time = agentcore::internal::ReadProcStat(*pid)->start_time + 1;  // not this one
    record.boot_id = agentcore::internal::ReadBootId();
    REQUIRE(agentcore::internal::WriteFileAtomically(f.state_dir + "/test.old.pid",
                                                     agentcore::internal::FormatPidRecord(record))
                .ok());
    CHECK(*f.runtime->ReapOrphans("test") == 0);
    CHECK(Alive(*pid));
    ::kill(*pid, SIGKILL);
    int status = 0;
    ::waitpid(*pid, &status, 0);
  }

  TEST_CASE("many sessions run at once on the one reactor thread") {
    if (!HaveBwrap()) return;
    Fixture f;
    constexpr int kSessions = 12;
    std::vector<std::unique_ptr<RecordingSessionSink>> sinks;
    std::vector<std::unique_ptr<SessionProcess>> processes;
    for (int i = 0; i < kSessions; ++i) {
      sinks.push_back(std::make_unique<RecordingSessionSink>());
      processes.push_back(f.Start(
          f.Spec({"sh", "-c", "read x; echo $x-" + std::to_string(i)}, "m" + std::to_string(i)),
          sinks.back().get()));
    }
    for (int i = 0; i < kSessions; ++i) REQUIRE(processes[i]->WriteStdin("hi\n").ok());
    for (int i = 0; i < kSessions; ++i) {
      REQUIRE(sinks[i]->WaitExit().has_value());
      CHECK(sinks[i]->out() == "hi-" + std::to_string(i) + "\n");
    }
  }

  TEST_CASE("the runtime may go before its processes") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    auto process = f.Start(f.Spec({"cat"}), &sink);
    f.runtime.reset();
    REQUIRE(process->WriteStdin("still here\n").ok());
    CHECK(sink.WaitStdout("still here\n"));
    REQUIRE(process->CloseStdin().ok());
    CHECK(sink.WaitExit()->code == 0);
  }
  TEST_CASE("a command missing in the sandbox starts, then exits 1 with bwrap's message") {
    if (!HaveBwrap()) return;
    Fixture f;
    RecordingSessionSink sink;
    auto process = f.Start(f.Spec({"no-such-command-in-sandbox"}), &sink);
    auto exit = sink.WaitExit();
    REQUIRE(exit.has_value());
    CHECK(exit->code == 1);
    CHECK(sink.err().find("no-such-command-in-sandbox") != std::string::npos);
  }

  TEST_CASE("a sink may drop its process from OnExit, even after the runtime is gone") {
    if (!HaveBwrap()) return;
    // Owns the process and drops it inside OnExit, on the runtime's thread.
    struct DroppingSink final : agentcore::SessionOutputSink {
      std::unique_ptr<SessionProcess> process;
      std::mutex mu;
      std::condition_variable cv;
      bool dropped = false;
      void OnOutput(SessionStream, std::string_view) override {}
      void OnExit(int, std::string_view) override {
        std::unique_ptr<SessionProcess> last;
        {
          std::lock_guard<std::mutex> lock(mu);
          last = std::move(process);
        }
        CHECK(last->Stop(1s).code() == ErrorCode::kInternal);  // would wait for itself
        last.reset();
        std::lock_guard<std::mutex> lock(mu);
        dropped = true;
        cv.notify_all();
      }
    };
    DroppingSink sink;
    {
      Fixture f;
      std::lock_guard<std::mutex> lock(sink.mu);
      auto started = f.runtime->Start(f.Spec({"sh", "-c", "read x"}), &sink);
      REQUIRE(started.ok());
      sink.process = std::move(*started);
      REQUIRE(sink.process->WriteStdin("go\n").ok());
    }  // the runtime is gone; the process is the reactor's last owner
    std::unique_lock<std::mutex> lock(sink.mu);
    CHECK(sink.cv.wait_for(lock, 20s, [&] { return sink.dropped; }));
  }
  TEST_CASE("a pid file that cannot be written fails the start and leaves nothing running") {
    if (!HaveBwrap()) return;
    Fixture f;
    std::filesystem::remove_all(f.state_dir);
    REQUIRE(f.dir.Write("state", "a file where the directory was"));
    RecordingSessionSink sink;
    auto started = f.runtime->Start(f.Spec({"sleep", "60"}), &sink);
    REQUIRE_FALSE(started.ok());
    CHECK(started.status().code() == ErrorCode::kInternal);
    CHECK(started.status().message().find("pid file") != std::string::npos);
    CHECK(sink.exits() == 0);
    CHECK(ProcessesMentioning(f.workspace) == 0);  // the bwrap is gone
    auto reap = f.runtime->ReapOrphans("test");
    CHECK(reap.status().code() == ErrorCode::kInternal);  // state_dir is a file now
  }
  TEST_CASE("starts given up at once leave no sandbox behind") {
    if (!HaveBwrap()) return;
    // A start timeout so short that the start is given up around bwrap's clone: the sandbox's
    // init may not have armed --die-with-parent yet when bwrap is killed.
    SandboxRuntimeOptions options;
    options.start_timeout = 1ms;
    Fixture f(options);
    int started = 0;
    for (int i = 0; i < 20; ++i) {
      RecordingSessionSink sink;
      auto process = f.runtime->Start(f.Spec({"sleep", "61.75"}, "g" + std::to_string(i)), &sink);
      if (process.ok()) {
        ++started;  // it won the race; dropping it kills it
      } else {
        CHECK(process.status().code() == ErrorCode::kDeadlineExceeded);
      }
    }
    MESSAGE(started << " of 20 starts beat the 1 ms timeout");
    // Whatever bwrap left is killed by the time the starts returned, or a moment later.
    for (int i = 0; i < 50 && ProcessesMentioning("61.75") > 0; ++i) {
      std::this_thread::sleep_for(20ms);
    }
    CHECK(ProcessesMentioning("61.75") == 0);
  }
  TEST_CASE("a process dropped or stopped right after its start leaves no sandbox behind") {
    if (!HaveBwrap()) return;
    // Start returns at bwrap's child-pid, before the sandbox's init armed --die-with-parent:
    // killing only bwrap then would orphan the sandbox.
    Fixture f;
    for (int i = 0; i < 30; ++i) {
      RecordingSessionSink sink;
      auto process = f.Start(f.Spec({"sleep", "62.25"}, "d" + std::to_string(i)), &sink);
      if (i % 2 == 0) {
        process.reset();
      } else {
        CHECK(process->Stop(1ms).ok());
      }
      CHECK(sink.exits() == 1);
    }
    for (int i = 0; i < 50 && ProcessesMentioning("62.25") > 0; ++i) {
      std::this_thread::sleep_for(20ms);
    }
    CHECK(ProcessesMentioning("62.25") == 0);
  }
}

}  // namespace
