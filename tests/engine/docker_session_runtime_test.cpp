// SPDX-License-Identifier: Apache-2.0
// The Docker/Podman session runtime (OpenDockerSessionRuntime) against a real engine named by
// AGENTCORE_TEST_DOCKER_HOST (scripts/podman-test-service.sh start DIR prints it; every case
// FAILS when it is unset). The sessions run localhost/agentcore-session-test:latest
// (scripts/build-session-test-image.sh: Debian's static busybox, a shell, cat, nc, httpd;
// AGENTCORE_TEST_SESSION_IMAGE overrides), whose default command is /bin/sh.
#include <agentcore/runtime/session_runtime.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>

#include "runtime/docker/docker_engine.hpp"
#include "support/recording_session_sink.hpp"

using agentcore::DockerSessionRuntimeOptions;
using agentcore::ErrorCode;
using agentcore::Json;
using agentcore::JsonArray;
using agentcore::OpenDockerSessionRuntime;
using agentcore::SessionNetwork;
using agentcore::SessionOutputSink;
using agentcore::SessionProcess;
using agentcore::SessionRuntime;
using agentcore::SessionSpec;
using agentcore::SessionStream;
using agentcore::internal::DockerEngine;
using std::chrono::milliseconds;

namespace {

std::string DockerHost() {
  const char* host = std::getenv("AGENTCORE_TEST_DOCKER_HOST");
  if (host == nullptr || *host == '\0') {
    FAIL(
        "AGENTCORE_TEST_DOCKER_HOST is not set: start an engine with "
        "`scripts/podman-test-service.sh start DIR` and export what it prints");
  }
  return host;
}

std::string Image() {
  const char* image = std::getenv("AGENTCORE_TEST_SESSION_IMAGE");
  return image != nullptr && *image != '\0' ? image : "localhost/agentcore-session-test:latest";
}

std::string UniqueInstance(const std::string& name) {
  static std::atomic<int> n{0};
  return "s" + std::to_string(::getpid()) + "-" + std::to_string(++n) + "-" + name;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "agentcore-ds-XXXXXX").string();
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

using Sink = agentcore::testing::RecordingSessionSink;

// The exit already recorded (REQUIRES it).
Sink::Exit ExitOf(Sink& sink) {
  auto exit = sink.WaitExit(milliseconds(0));
  REQUIRE(exit.has_value());
  return *exit;
}

// The engine, seen directly (not through the runtime).
struct Engine {
  DockerEngine engine{agentcore::internal::DockerSocketPath(DockerHost()).value(),
                      milliseconds(10000)};

  std::vector<Json> Containers(const std::string& instance) {
    auto list = engine.ListContainers({"agentcore.instance=" + instance});
    REQUIRE_MESSAGE(list.ok(), list.status().ToString());
    return *list;
  }
  Json Inspect(const std::string& id) {
    auto r = engine.InspectContainer(id);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return *r;
  }
  void RemoveAll(const std::string& instance) {
    auto list = engine.ListContainers({"agentcore.instance=" + instance});
    if (!list.ok()) return;
    for (const Json& c : *list) {
      if (const std::string* id = c.FindString("Id")) (void)engine.RemoveContainer(*id, true);
    }
  }
};

// Removes what a failing case left, whatever happens.
struct Cleanup {
  Engine& engine;
  std::string instance;
  ~Cleanup() { engine.RemoveAll(instance); }
};

std::unique_ptr<SessionRuntime> MakeRuntime() {
  DockerSessionRuntimeOptions o;
  o.docker_host = DockerHost();
  o.call_timeout = milliseconds(15000);
  auto rt = OpenDockerSessionRuntime(o);
  REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
  return std::move(*rt);
}

SessionSpec Spec(const std::string& instance, const std::string& id, const TempDir& workspace,
                 std::vector<std::string> command) {
  SessionSpec s;
  s.session_id = id;
  s.instance = instance;
  s.image = Image();
  s.command = std::move(command);
  s.workspace_dir = workspace.path();
  return s;
}

std::unique_ptr<SessionProcess> StartOk(SessionRuntime& rt, const SessionSpec& spec,
                                        SessionOutputSink* sink) {
  auto p = rt.Start(spec, sink);
  REQUIRE_MESSAGE(p.ok(), p.status().ToString());
  return std::move(*p);
}

// An HTTP GET of "/" at "host:port"; the body, or empty when nothing answered.
std::string HttpGet(const std::string& endpoint) {
  const std::size_t colon = endpoint.rfind(':');
  if (colon == std::string::npos) return "";
  const int port = std::atoi(endpoint.c_str() + colon + 1);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, endpoint.substr(0, colon).c_str(), &addr.sin_addr);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string req = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 3000) <= 0) break;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        response.append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  ::close(fd);
  return response;
}

// The interface names in /proc/net/dev output.
std::set<std::string> Interfaces(const std::string& proc_net_dev) {
  std::set<std::string> names;
  std::istringstream in(proc_net_dev);
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos || line.find('|') != std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    names.insert(name);
  }
  return names;
}

}  // namespace

TEST_SUITE("engine/docker_session_runtime") {
  TEST_CASE("stdout and stderr arrive in the order written, then the exit code once") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("order");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    CHECK(rt->name() == "docker");
    Sink sink;
    auto p = StartOk(*rt,
                     Spec(instance, "s1", ws,
                          {"sh", "-c",
                           "echo out1; sleep 0.2; echo err1 >&2; sleep 0.2; echo out2; sleep 0.2; "
                           "echo err2 >&2; exit 3"}),
                     &sink);
    CHECK(p->id().size() >= 12);
    REQUIRE(sink.WaitExit().has_value());
    CHECK(ExitOf(sink).code == 3);
    CHECK(ExitOf(sink).reason == "exited with code 3");
    const auto chunks = sink.chunks();
    REQUIRE(chunks.size() == 4);
    CHECK(chunks[0] == std::make_pair(SessionStream::kStdout, std::string("out1\n")));
    CHECK(chunks[1] == std::make_pair(SessionStream::kStderr, std::string("err1\n")));
    CHECK(chunks[2] == std::make_pair(SessionStream::kStdout, std::string("out2\n")));
    CHECK(chunks[3] == std::make_pair(SessionStream::kStderr, std::string("err2\n")));
    CHECK_FALSE(p->running());
    // The ended container is removed (OnExit comes after the removal).
    CHECK(engine.Containers(instance).empty());
    CHECK(p->Stop(milliseconds(1000)).ok());  // idempotent after the end
    CHECK(p->WriteStdin("x").code() == ErrorCode::kConflict);
    p.reset();
    CHECK(sink.exits() == 1);
    CHECK(sink.calls_after_exit() == 0);
  }

  TEST_CASE("stdin round trip through cat; CloseStdin is EOF for the command") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("stdin");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink sink;
    auto p = StartOk(*rt, Spec(instance, "s1", ws, {"cat"}), &sink);
    CHECK(p->running());
    REQUIRE(p->WriteStdin("hello\n").ok());
    CHECK(sink.WaitStdout("hello\n"));
    // A write larger than a socket buffer, cut anywhere by the engine, comes back whole.
    std::string big;
    for (int i = 0; big.size() < 300'000; ++i) big += "line " + std::to_string(i) + "\n";
    REQUIRE(p->WriteStdin(big).ok());
    CHECK(sink.WaitStdout(big));
    REQUIRE(p->CloseStdin().ok());
    CHECK(p->CloseStdin().ok());  // idempotent
    CHECK(p->WriteStdin("late\n").code() == ErrorCode::kConflict);
    REQUIRE(sink.WaitExit().has_value());
    CHECK(ExitOf(sink).code == 0);
    CHECK(ExitOf(sink).reason == "exited with code 0");
    CHECK(sink.out() == "hello\n" + big);
    CHECK(sink.err().empty());
  }

  TEST_CASE("an empty command runs the image's own (a shell reading stdin) in /workspace") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("default");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink sink;
    SessionSpec spec = Spec(instance, "s1", ws, {});
    spec.env = {{"GREETING", "hi there"}};
    auto p = StartOk(*rt, spec, &sink);
    REQUIRE(p->WriteStdin("pwd; echo \"$GREETING\"; exit 4\n").ok());
    REQUIRE(sink.WaitExit().has_value());
    CHECK(sink.out() == "/workspace\nhi there\n");
    CHECK(ExitOf(sink).code == 4);
  }

  TEST_CASE("work_dir, labels, name and resources reach the container; destroying it kills") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("config");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink sink;
    SessionSpec spec = Spec(instance, "sess-1", ws, {"sleep", "1000"});
    spec.work_dir = "/tmp";
    spec.resources.cpu_millis = 500;
    spec.resources.memory_mb = 64;
    auto p = StartOk(*rt, spec, &sink);
    const Json inspect = engine.Inspect(p->id());
    CHECK(agentcore::internal::InspectRunning(inspect));
    CHECK(*inspect.FindString("Name") == "/agentcore-s-" + instance + "-sess-1");
    const Json* config = inspect.Find("Config");
    CHECK(*config->FindString("WorkingDir") == "/tmp");
    CHECK(*config->Find("Labels")->FindString("agentcore.instance") == instance);
    CHECK(*config->Find("Labels")->FindString("agentcore.session") == "sess-1");
    CHECK(config->Find("OpenStdin")->as_bool());
    CHECK_FALSE(config->Find("Tty")->as_bool());
    const Json* host = inspect.Find("HostConfig");
    CHECK(host->Find("NanoCpus")->as_number() == 500'000'000);
    CHECK(host->Find("Memory")->as_number() == 64 << 20);
    CHECK(*host->FindString("NetworkMode") == "none");
    const std::string id = p->id();
    p.reset();  // kills, waits for OnExit, removes
    CHECK(sink.exits() == 1);
    CHECK(ExitOf(sink).code == 137);
    CHECK(engine.engine.InspectContainer(id).status().code() == ErrorCode::kNotFound);
  }

  TEST_CASE("stop sends SIGTERM first, then removes the container and keeps the workspace") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("stop");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink sink;
    auto p = StartOk(*rt,
                     Spec(instance, "s1", ws,
                          {"sh", "-c",
                           "trap 'echo bye; exit 0' TERM; echo kept > /workspace/f.txt; "
                           "echo ready; while true; do sleep 0.1; done"}),
                     &sink);
    REQUIRE(sink.WaitStdout("ready\n"));
    const std::string id = p->id();
    REQUIRE(p->Stop(milliseconds(10000)).ok());
    // Stop returns once OnExit was called.
    CHECK(sink.exits() == 1);
    CHECK(ExitOf(sink).code == 0);
    CHECK(sink.out() == "ready\nbye\n");
    CHECK_FALSE(p->running());
    CHECK(engine.engine.InspectContainer(id).status().code() == ErrorCode::kNotFound);
    std::ifstream f(ws.path() + "/f.txt");
    std::string content;
    std::getline(f, content);
    CHECK(content == "kept");
    CHECK(p->Stop(milliseconds(10000)).ok());
    CHECK(sink.exits() == 1);
  }

  TEST_CASE("stop kills a command that ignores SIGTERM once the grace has passed") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("kill");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink sink;
    auto p = StartOk(
        *rt,
        Spec(instance, "s1", ws,
             {"sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"}),
        &sink);
    REQUIRE(sink.WaitStdout("ready\n"));
    const auto t0 = std::chrono::steady_clock::now();
    REQUIRE(p->Stop(milliseconds(1000)).ok());
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= milliseconds(900));
    CHECK(took < milliseconds(15000));
    CHECK(ExitOf(sink).code == 137);
    CHECK(ExitOf(sink).reason == "exited with code 137");
  }

  TEST_CASE("a command over the memory limit is killed; without the limit it runs") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("oom");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    // dd fills a 64 MiB buffer: over 16 MiB of memory (and the engine's default swap of as much).
    const std::vector<std::string> command = {"dd", "if=/dev/zero", "of=/dev/null", "bs=64M",
                                              "count=1"};
    Sink limited_sink;
    SessionSpec limited = Spec(instance, "limited", ws, command);
    limited.resources.memory_mb = 16;
    auto p = StartOk(*rt, limited, &limited_sink);
    REQUIRE(limited_sink.WaitExit().has_value());
    CHECK(ExitOf(limited_sink).code == 137);
    // Docker reports State.OOMKilled and the reason is then "killed (OOM)"; Podman 4.3 on this
    // cgroup v1 host reports false (measured with `podman run --memory`), hence either.
    CHECK((ExitOf(limited_sink).reason == "killed (OOM)" ||
           ExitOf(limited_sink).reason == "exited with code 137"));

    Sink free_sink;
    auto q = StartOk(*rt, Spec(instance, "free", ws, command), &free_sink);
    REQUIRE(free_sink.WaitExit().has_value());
    CHECK(ExitOf(free_sink).code == 0);
    CHECK(ExitOf(free_sink).reason == "exited with code 0");
  }

  TEST_CASE("stdin nobody reads fills up and WriteStdin gives up after about a second") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("full");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink sink;
    auto p = StartOk(*rt, Spec(instance, "s1", ws, {"sleep", "1000"}), &sink);
    const std::string chunk(1 << 20, 'x');
    agentcore::Status last;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 256 && last.ok(); ++i) last = p->WriteStdin(chunk);
    CHECK(last.code() == ErrorCode::kUnavailable);
    CHECK(std::chrono::steady_clock::now() - t0 < milliseconds(60000));
    REQUIRE(p->Stop(milliseconds(0)).ok());
  }

  TEST_CASE("network none leaves only loopback; outgoing has an interface besides") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("net");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink none_sink;
    auto none = StartOk(*rt, Spec(instance, "none", ws, {"cat", "/proc/net/dev"}), &none_sink);
    REQUIRE(none_sink.WaitExit().has_value());
    CHECK(Interfaces(none_sink.out()) == std::set<std::string>{"lo"});

    Sink out_sink;
    SessionSpec outgoing = Spec(instance, "outgoing", ws, {"cat", "/proc/net/dev"});
    outgoing.network = SessionNetwork::kOutgoing;
    auto p = StartOk(*rt, outgoing, &out_sink);
    REQUIRE(out_sink.WaitExit().has_value());
    const auto names = Interfaces(out_sink.out());
    CHECK(names.count("lo") == 1);
    CHECK(names.size() >= 2);
    // Ports are reachable only for exposed sessions.
    CHECK(p->Endpoint(8080).status().code() == ErrorCode::kNotFound);
  }

  TEST_CASE("a published port is reachable through Endpoint") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("port");
    Cleanup cleanup{engine, instance};
    {
      std::ofstream index(ws.path() + "/index.html");
      index << "served from the workspace\n";
    }
    auto rt = MakeRuntime();
    Sink sink;
    SessionSpec spec = Spec(instance, "web", ws, {"httpd", "-f", "-p", "8080", "-h", "/workspace"});
    spec.network = SessionNetwork::kExposed;
    spec.ports = {{"web", 8080}, {"other", 9090}};
    auto p = StartOk(*rt, spec, &sink);
    auto endpoint = p->Endpoint(8080);
    REQUIRE_MESSAGE(endpoint.ok(), endpoint.status().ToString());
    CHECK(endpoint->rfind("127.0.0.1:", 0) == 0);
    CHECK(*endpoint != "127.0.0.1:8080");
    std::string body;
    const auto deadline = std::chrono::steady_clock::now() + milliseconds(10000);
    while (body.find("served from the workspace") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      body = HttpGet(*endpoint);
      if (body.empty()) std::this_thread::sleep_for(milliseconds(100));
    }
    CHECK(body.find("served from the workspace") != std::string::npos);
    // Declared but nobody listens: still published; undeclared: not found.
    CHECK(p->Endpoint(9090).ok());
    CHECK(p->Endpoint(1234).status().code() == ErrorCode::kNotFound);
    REQUIRE(p->Stop(milliseconds(1000)).ok());
  }

  TEST_CASE("a sink may stop its process from OnOutput and destroy it from OnExit") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("reentrant");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    // Stops the session at its first output and drops it at its exit, on the runtime's thread.
    class DroppingSink final : public SessionOutputSink {
     public:
      std::unique_ptr<SessionProcess> process;
      std::mutex mu;
      std::condition_variable cv;
      bool done = false;
      int code = 0;
      agentcore::Status stop_status;
      void OnOutput(SessionStream, std::string_view) override {
        std::lock_guard<std::mutex> lock(mu);
        if (process && stop_status.ok()) stop_status = process->Stop(milliseconds(0));
      }
      void OnExit(int exit_code, std::string_view) override {
        std::unique_ptr<SessionProcess> dropped;
        {
          std::lock_guard<std::mutex> lock(mu);
          dropped = std::move(process);
          code = exit_code;
        }
        dropped.reset();  // the destructor runs on the runtime's own thread
        std::lock_guard<std::mutex> lock(mu);
        done = true;
        cv.notify_all();
      }
    } sink;
    auto started =
        rt->Start(Spec(instance, "s1", ws, {"sh", "-c", "sleep 0.5; echo hi; sleep 1000"}), &sink);
    REQUIRE_MESSAGE(started.ok(), started.status().ToString());
    const std::string id = (*started)->id();
    {
      std::lock_guard<std::mutex> lock(sink.mu);
      sink.process = std::move(*started);
    }
    std::unique_lock<std::mutex> lock(sink.mu);
    REQUIRE(sink.cv.wait_for(lock, milliseconds(20000), [&] { return sink.done; }));
    CHECK(sink.stop_status.ok());
    CHECK(sink.code == 137);
    CHECK(sink.process == nullptr);
    lock.unlock();
    CHECK(engine.engine.InspectContainer(id).status().code() == ErrorCode::kNotFound);
  }

  TEST_CASE("a missing image is kNotFound with the fix, and nothing is created") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("noimage");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink sink;
    SessionSpec spec = Spec(instance, "s1", ws, {"true"});
    spec.image = "localhost/agentcore-no-such-image:latest";
    auto p = rt->Start(spec, &sink);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().code() == ErrorCode::kNotFound);
    CHECK(p.status().message() ==
          "image \"localhost/agentcore-no-such-image:latest\" not found; pull or build it");
    CHECK(engine.Containers(instance).empty());
    CHECK(sink.exits() == 0);
  }

  TEST_CASE("a command that cannot start fails with the engine's message and leaves nothing") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("noexec");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink sink;
    auto p = rt->Start(Spec(instance, "s1", ws, {"/no/such/binary"}), &sink);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message().find("/no/such/binary") != std::string::npos);
    CHECK(p.status().message().find("session \"s1\"") != std::string::npos);
    CHECK(engine.Containers(instance).empty());
    CHECK(sink.exits() == 0);
  }

  TEST_CASE("bad specs are refused before the engine is asked") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("bad");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Sink sink;
    struct Case {
      const char* what;
      std::function<void(SessionSpec&)> change;
    };
    const std::vector<Case> cases = {
        {"empty session id", [](SessionSpec& s) { s.session_id.clear(); }},
        {"session id with a slash", [](SessionSpec& s) { s.session_id = "a/b"; }},
        {"instance with a space", [](SessionSpec& s) { s.instance = "a b"; }},
        {"instance too long", [](SessionSpec& s) { s.instance = std::string(65, 'x'); }},
        {"no image", [](SessionSpec& s) { s.image.clear(); }},
        {"relative workspace", [](SessionSpec& s) { s.workspace_dir = "ws"; }},
        {"workspace with a colon", [](SessionSpec& s) { s.workspace_dir += ":ro"; }},
        {"missing workspace", [](SessionSpec& s) { s.workspace_dir += "/missing"; }},
        {"relative work dir", [](SessionSpec& s) { s.work_dir = "tmp"; }},
        {"env name with =", [](SessionSpec& s) { s.env = {{"A=B", "c"}}; }},
        {"empty env name", [](SessionSpec& s) { s.env = {{"", "c"}}; }},
        {"NUL in an argument",
         [](SessionSpec& s) { s.command = {"echo", std::string("a\0b", 3)}; }},
        {"port 0", [](SessionSpec& s) { s.ports = {{"web", 0}}; }},
        {"a port twice", [](SessionSpec& s) { s.ports = {{"a", 80}, {"b", 80}}; }},
        {"negative cpu", [](SessionSpec& s) { s.resources.cpu_millis = -1; }},
        {"negative memory", [](SessionSpec& s) { s.resources.memory_mb = -1; }},
    };
    for (const Case& c : cases) {
      CAPTURE(c.what);
      SessionSpec spec = Spec(instance, "s1", ws, {"true"});
      c.change(spec);
      auto p = rt->Start(spec, &sink);
      REQUIRE_FALSE(p.ok());
      CHECK(p.status().code() == ErrorCode::kInvalidArgument);
    }
    CHECK(rt->Start(Spec(instance, "s1", ws, {"true"}), nullptr).status().code() ==
          ErrorCode::kInvalidArgument);
    CHECK(engine.Containers(instance).empty());
    CHECK(sink.exits() == 0);
  }

  TEST_CASE("ReapOrphans removes this instance's session containers and nothing else") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("reap");
    const std::string other = UniqueInstance("reap-other");
    Cleanup cleanup{engine, instance};
    Cleanup cleanup_other{engine, other};
    // What a crashed process left: one running, one only created.
    auto create = [&](const std::string& name, const std::string& inst, const char* session,
                      bool start) {
      Json labels = Json::Object();
      labels.Set("agentcore.instance", inst);
      if (session != nullptr) labels.Set("agentcore.session", session);
      Json config = Json::Object();
      config.Set("Image", Image());
      config.Set("Cmd", Json(JsonArray{Json("sleep"), Json("1000")}));
      config.Set("Labels", std::move(labels));
      Json host = Json::Object();
      host.Set("NetworkMode", "none");
      config.Set("HostConfig", std::move(host));
      auto id = engine.engine.CreateContainer(name, config);
      REQUIRE_MESSAGE(id.ok(), id.status().ToString());
      if (start) REQUIRE(engine.engine.StartContainer(*id).ok());
      return *id;
    };
    const std::string running = create("agentcore-s-" + instance + "-old1", instance, "old1", true);
    const std::string created =
        create("agentcore-s-" + instance + "-old2", instance, "old2", false);
    const std::string agent = create(instance + "-agent", instance, nullptr, true);
    const std::string foreign = create("agentcore-s-" + other + "-x", other, "x", true);

    auto rt = MakeRuntime();
    Sink sink;
    auto live = StartOk(*rt, Spec(instance, "live", ws, {"sleep", "1000"}), &sink);

    auto reaped = rt->ReapOrphans(instance);
    REQUIRE_MESSAGE(reaped.ok(), reaped.status().ToString());
    CHECK(*reaped == 2);
    CHECK(engine.engine.InspectContainer(running).status().code() == ErrorCode::kNotFound);
    CHECK(engine.engine.InspectContainer(created).status().code() == ErrorCode::kNotFound);
    CHECK(engine.engine.InspectContainer(agent).ok());
    CHECK(engine.engine.InspectContainer(foreign).ok());
    CHECK(live->running());
    CHECK(agentcore::internal::InspectRunning(engine.Inspect(live->id())));
    auto again = rt->ReapOrphans(instance);
    REQUIRE(again.ok());
    CHECK(*again == 0);
    CHECK(rt->ReapOrphans("").status().code() == ErrorCode::kInvalidArgument);
    CHECK(rt->ReapOrphans("bad instance").status().code() == ErrorCode::kInvalidArgument);
    REQUIRE(live->Stop(milliseconds(0)).ok());
  }

  TEST_CASE("a stale container of the same session is replaced at start") {
    Engine engine;
    TempDir ws;
    const std::string instance = UniqueInstance("stale");
    Cleanup cleanup{engine, instance};
    auto rt = MakeRuntime();
    Json config = Json::Object();
    config.Set("Image", Image());
    config.Set("Cmd", Json(JsonArray{Json("sleep"), Json("1000")}));
    auto stale = engine.engine.CreateContainer("agentcore-s-" + instance + "-s1", config);
    REQUIRE(stale.ok());
    Sink sink;
    auto p = StartOk(*rt, Spec(instance, "s1", ws, {"sh", "-c", "echo fresh"}), &sink);
    REQUIRE(sink.WaitExit().has_value());
    CHECK(sink.out() == "fresh\n");
    CHECK(engine.engine.InspectContainer(*stale).status().code() == ErrorCode::kNotFound);
  }

  TEST_CASE("the factory refuses an engine that does not answer and a bad DOCKER_HOST") {
    TempDir dir;
    DockerSessionRuntimeOptions o;
    o.docker_host = "unix://" + dir.path() + "/no.sock";
    o.call_timeout = milliseconds(2000);
    auto rt = OpenDockerSessionRuntime(o);
    REQUIRE_FALSE(rt.ok());
    CHECK(rt.status().code() == ErrorCode::kUnavailable);
    o.docker_host = "tcp://127.0.0.1:2375";
    CHECK(OpenDockerSessionRuntime(o).status().code() == ErrorCode::kInvalidArgument);
    o.docker_host = DockerHost();
    o.call_timeout = milliseconds(0);
    CHECK(OpenDockerSessionRuntime(o).status().code() == ErrorCode::kInvalidArgument);
  }
}
