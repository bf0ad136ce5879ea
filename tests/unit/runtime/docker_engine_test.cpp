// SPDX-License-Identifier: Apache-2.0
// The Docker engine client and the Docker runtime's failure paths against scripted servers on a
// unix socket (tests/support/test_http_server.hpp): engine errors, a socket that is gone, an
// engine that accepts but never answers, a connection dropped mid-answer. The good path runs
// against a real engine in tests/engine/.
#include "runtime/docker/docker_engine.hpp"

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>
#include <agentcore/runtime/docker.hpp>

#include "support/test_http_server.hpp"

using agentcore::ActivateRequest;
using agentcore::AgentStatus;
using agentcore::DockerOptions;
using agentcore::ErrorCode;
using agentcore::Json;
using agentcore::NewDockerRuntime;
using agentcore::Status;
using agentcore::internal::DockerEngine;
using agentcore::internal::DockerSocketPath;
using agentcore::testing::TestHttpConnection;
using agentcore::testing::TestHttpRequest;
using agentcore::testing::TestHttpServer;
using std::chrono::milliseconds;
using Steady = std::chrono::steady_clock;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/agentcore-dke-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Socket() const { return path_ + "/engine.sock"; }

 private:
  std::string path_;
};

long long MsSince(Steady::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(Steady::now() - t0).count();
}

bool WaitUntilTrue(const std::function<bool()>& pred, milliseconds timeout = milliseconds(5000)) {
  const auto deadline = Steady::now() + timeout;
  while (!pred()) {
    if (Steady::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

bool Json200(TestHttpConnection& conn, std::string_view body) {
  return conn.WriteResponse(200, {{"Content-Type", "application/json"}}, body);
}

// Answers like an empty engine with the echo image: ping, image inspect, an empty container
// list, and an events stream that stays open without events. Everything else goes to `other`.
TestHttpServer::Handler EmptyEngine(
    std::function<bool(TestHttpConnection&, const TestHttpRequest&)> other = nullptr) {
  return [other](TestHttpConnection& conn, const TestHttpRequest& req) {
    if (req.target == "/v1.41/_ping") return conn.WriteResponse(200, {}, "OK");
    if (req.target.rfind("/v1.41/images/", 0) == 0) return Json200(conn, "{\"Id\":\"sha256:1\"}");
    if (req.target.rfind("/v1.41/containers/json", 0) == 0) return Json200(conn, "[]");
    if (req.target.rfind("/v1.41/events", 0) == 0) {
      conn.Write(
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\n\r\n");
      conn.WaitForClose();
      return false;
    }
    if (other) return other(conn, req);
    return conn.WriteResponse(500, {}, "{\"message\":\"unexpected\"}");
  };
}

DockerOptions Options(const TempDir& dir, const std::string& socket) {
  DockerOptions o;
  o.docker_host = "unix://" + socket;
  o.instance = "unit";
  o.data_dir = dir.path() + "/data";
  o.types["*"].image.image = "localhost/echo:latest";
  o.api_timeout = milliseconds(500);
  o.stop_grace = milliseconds(0);
  return o;
}

ActivateRequest Req(const std::string& id) {
  ActivateRequest r;
  r.agent_id = id;
  r.agent_type = "echo";
  r.auth_token = "very-secret-token";
  r.api_url = "http://127.0.0.1:9";
  return r;
}

}  // namespace

TEST_SUITE("runtime/docker_engine_client") {
  TEST_CASE("DOCKER_HOST must be a unix socket") {
    CHECK(DockerSocketPath("unix:///run/x.sock").value() == "/run/x.sock");
    CHECK(DockerSocketPath("tcp://127.0.0.1:2375").status().code() == ErrorCode::kInvalidArgument);
    CHECK(DockerSocketPath("unix://").status().code() == ErrorCode::kInvalidArgument);
    CHECK(DockerSocketPath("unix://relative").status().code() == ErrorCode::kInvalidArgument);
    CHECK(DockerSocketPath("/var/run/docker.sock").status().code() == ErrorCode::kInvalidArgument);
    const char* saved = std::getenv("DOCKER_HOST");
    std::string saved_value = saved != nullptr ? saved : "";
    ::setenv("DOCKER_HOST", "unix:///from/env.sock", 1);
    CHECK(DockerSocketPath("").value() == "/from/env.sock");
    ::unsetenv("DOCKER_HOST");
    CHECK(DockerSocketPath("").value() == "/var/run/docker.sock");
    if (saved != nullptr) ::setenv("DOCKER_HOST", saved_value.c_str(), 1);
  }

  TEST_CASE("engine errors map to codes and keep the engine's message") {
    TempDir dir;
    TestHttpServer server(
        [](TestHttpConnection& conn, const TestHttpRequest& req) {
          if (req.target.find("/images/missing") != std::string::npos) {
            return conn.WriteResponse(404, {}, R"({"message":"no such image: missing"})");
          }
          if (req.target.find("/containers/create") != std::string::npos) {
            CHECK(req.Header("content-type") == "application/json");
            return conn.WriteResponse(409, {}, R"({"message":"name in use"})");
          }
          if (req.target.find("/start") != std::string::npos) {
            return conn.WriteResponse(500, {}, R"({"message":"runc failed"})");
          }
          if (req.target.find("/kill") != std::string::npos) {
            return conn.WriteResponse(502, {}, "Bad Gateway\n");
          }
          if (req.target.find("/stop") != std::string::npos) {
            return conn.WriteResponse(304, {}, "");  // already stopped: fine
          }
          if (req.target.find("/wait") != std::string::npos) {
            return Json200(conn, "{\"Error\":null}");  // no StatusCode
          }
          if (req.method == "DELETE") return conn.WriteResponse(400, {}, "{\"message\":\"bad\"}");
          return Json200(conn, "not json");
        },
        dir.Socket());
    DockerEngine engine(dir.Socket(), milliseconds(2000));
    auto image = engine.InspectImage("missing");
    CHECK(image.status().code() == ErrorCode::kNotFound);
    CHECK(image.status().message() == "404 no such image: missing");
    auto created = engine.CreateContainer("n", Json::Object());
    CHECK(created.status().code() == ErrorCode::kConflict);
    CHECK(created.status().message() == "409 name in use");
    auto started = engine.StartContainer("abc");
    CHECK(started.code() == ErrorCode::kInternal);
    CHECK(started.message() == "500 runc failed");
    auto killed = engine.KillContainer("abc", "SIGKILL");
    CHECK(killed.code() == ErrorCode::kInternal);
    CHECK(killed.message() == "502 Bad Gateway");
    CHECK(engine.StopContainer("abc", milliseconds(0)).ok());
    CHECK(engine.WaitContainer("abc", milliseconds(0)).status().code() == ErrorCode::kInternal);
    CHECK(engine.RemoveContainer("abc", true).code() == ErrorCode::kInvalidArgument);
    auto version = engine.Version();
    CHECK(version.status().code() == ErrorCode::kInternal);
    CHECK(version.status().message().find("not JSON") != std::string::npos);
    CHECK(engine.InspectImage("bad image?x").status().code() == ErrorCode::kInvalidArgument);
    CHECK(agentcore::internal::Annotate(started, "start container for \"s:c:x\"").message() ==
          "docker: start container for \"s:c:x\": 500 runc failed");
  }

  TEST_CASE("a socket that does not exist gives kUnavailable at once") {
    TempDir dir;
    DockerEngine engine(dir.path() + "/none.sock", milliseconds(5000));
    const auto t0 = Steady::now();
    Status s = engine.Ping();
    CHECK(s.code() == ErrorCode::kUnavailable);
    CHECK(s.message().find("none.sock") != std::string::npos);
    CHECK(MsSince(t0) < 1000);
  }

  TEST_CASE("an engine that accepts but never answers gives kDeadlineExceeded after the timeout") {
    TempDir dir;
    TestHttpServer server(
        [](TestHttpConnection& conn, const TestHttpRequest&) {
          conn.WaitForClose();
          return false;
        },
        dir.Socket());
    DockerEngine engine(dir.Socket(), milliseconds(300));
    const auto t0 = Steady::now();
    auto r = engine.InspectContainer("abc");
    CHECK(r.status().code() == ErrorCode::kDeadlineExceeded);
    CHECK(r.status().message().find("did not answer within 300 ms") != std::string::npos);
    const auto ms = MsSince(t0);
    CHECK(ms >= 250);
    CHECK(ms < 2000);
  }

  TEST_CASE("a connection dropped in the middle of an answer gives kUnavailable") {
    TempDir dir;
    TestHttpServer server(
        [](TestHttpConnection& conn, const TestHttpRequest&) {
          conn.Write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"Id\":");
          return false;  // closes the connection
        },
        dir.Socket());
    DockerEngine engine(dir.Socket(), milliseconds(2000));
    CHECK(engine.InspectContainer("abc").status().code() == ErrorCode::kUnavailable);
  }

  TEST_CASE("logs are decoded from the multiplexed stream and a corrupt stream is an error") {
    TempDir dir;
    TestHttpServer server(
        [](TestHttpConnection& conn, const TestHttpRequest& req) {
          CHECK(req.target.find("stdout=true&stderr=true") != std::string::npos);
          if (req.target.find("/bad/") != std::string::npos) {
            return conn.WriteResponse(200, {}, std::string("\x07\0\0\0\0\0\0\x01x", 9));
          }
          return conn.WriteResponse(200, {},
                                    std::string("\x01\0\0\0\0\0\0\x03"
                                                "out\x02\0\0\0\0\0\0\x03"
                                                "err",
                                                22));
        },
        dir.Socket());
    DockerEngine engine(dir.Socket(), milliseconds(2000));
    CHECK(engine.Logs("good", false).value() == "outerr");
    CHECK(engine.Logs("bad", false).status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("the events stream delivers events as they arrive and ends after its duration") {
    TempDir dir;
    TestHttpServer server(
        [](TestHttpConnection& conn, const TestHttpRequest& req) {
          CHECK(req.target.find("filters=") != std::string::npos);
          conn.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
          const std::string a =
              R"({"Action":"die","Actor":{"ID":"c1","Attributes":{"exitCode":"3"}}})";
          const std::string body = a.substr(0, 10);
          conn.Write("a\r\n" + body + "\r\n");
          const std::string rest = a.substr(10) + "\nnot json\n";
          char size[16];
          std::snprintf(size, sizeof size, "%zx", rest.size());
          conn.Write(std::string(size) + "\r\n" + rest + "\r\n");
          conn.WaitForClose();
          return false;
        },
        dir.Socket());
    DockerEngine engine(dir.Socket(), milliseconds(2000));
    std::vector<std::string> ids;
    const auto t0 = Steady::now();
    Status s = engine.StreamEvents(Json::Object(), 0, milliseconds(400), [&](const Json& e) {
      ids.push_back(*e.Find("Actor")->FindString("ID"));
      return true;
    });
    CHECK(s.ok());
    CHECK(ids == std::vector<std::string>{"c1"});
    CHECK(MsSince(t0) < 2000);
  }

  TEST_CASE("a silent events stream with no duration ends OK soon after it is cancelled") {
    TempDir dir;
    TestHttpServer server(
        [](TestHttpConnection& conn, const TestHttpRequest& req) {
          CHECK(req.target.find("since=1700000000") != std::string::npos);
          conn.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
          conn.WaitForClose();
          return false;
        },
        dir.Socket());
    DockerEngine engine(dir.Socket(), milliseconds(2000));
    const auto t0 = Steady::now();
    std::atomic<bool> cancel{false};
    std::thread canceller([&] {
      std::this_thread::sleep_for(milliseconds(300));
      cancel = true;
    });
    int events = 0;
    Status s = engine.StreamEvents(
        Json::Object(), 1700000000, milliseconds(0),
        [&](const Json&) {
          ++events;
          return true;
        },
        [&] { return cancel.load(); });
    canceller.join();
    CHECK_MESSAGE(s.ok(), s.ToString());
    CHECK(events == 0);
    CHECK(MsSince(t0) >= 300);
    CHECK(MsSince(t0) < 2000);
  }

  TEST_CASE("an events stream that fails is an error even with a cancel callback") {
    TempDir dir;
    TestHttpServer server(
        [](TestHttpConnection& conn, const TestHttpRequest&) {
          return conn.WriteResponse(500, {}, R"({"message":"events broken"})");
        },
        dir.Socket());
    DockerEngine engine(dir.Socket(), milliseconds(2000));
    Status s = engine.StreamEvents(
        Json::Object(), 0, milliseconds(0), [](const Json&) { return true; }, [] { return false; });
    CHECK(s.code() == ErrorCode::kInternal);
  }
}

TEST_SUITE("runtime/docker_failures") {
  TEST_CASE("the factory refuses bad options") {
    TempDir dir;
    DockerOptions o = Options(dir, dir.Socket());
    o.check_images = false;
    DockerOptions bad = o;
    bad.docker_host = "tcp://127.0.0.1:2375";
    CHECK(NewDockerRuntime(bad).status().code() == ErrorCode::kInvalidArgument);
    bad = o;
    bad.instance = "";
    CHECK(NewDockerRuntime(bad).status().code() == ErrorCode::kInvalidArgument);
    bad.instance = "a/b";
    CHECK(NewDockerRuntime(bad).status().code() == ErrorCode::kInvalidArgument);
    bad = o;
    bad.data_dir = "";
    CHECK(NewDockerRuntime(bad).status().code() == ErrorCode::kInvalidArgument);
    bad = o;
    bad.types["x"].image.image = "";
    CHECK(NewDockerRuntime(bad).status().code() == ErrorCode::kInvalidArgument);
    bad = o;
    bad.types["*"].mounts.push_back({"relative", "/x", false});
    CHECK(NewDockerRuntime(bad).status().code() == ErrorCode::kInvalidArgument);
    bad = o;
    bad.types["*"].image.memory_bytes = -1;
    CHECK(NewDockerRuntime(bad).status().code() == ErrorCode::kInvalidArgument);
    bad = o;
    bad.types["*"].image.env = {{"A=B", "x"}};
    CHECK(NewDockerRuntime(bad).status().code() == ErrorCode::kInvalidArgument);
  }

  TEST_CASE("the factory reports an unreachable engine and a missing image") {
    TempDir dir;
    DockerOptions o = Options(dir, dir.Socket());
    const auto t0 = Steady::now();
    CHECK(NewDockerRuntime(o).status().code() == ErrorCode::kUnavailable);
    CHECK(MsSince(t0) < 1000);
    TestHttpServer server(
        [](TestHttpConnection& conn, const TestHttpRequest& req) {
          if (req.target == "/v1.41/_ping") return conn.WriteResponse(200, {}, "OK");
          return conn.WriteResponse(404, {}, R"({"message":"no such image"})");
        },
        dir.Socket());
    auto r = NewDockerRuntime(o);
    CHECK(r.status().code() == ErrorCode::kNotFound);
    CHECK(r.status().message().find("\"localhost/echo:latest\"") != std::string::npos);
    CHECK(r.status().message().find("build-agent-image.sh") != std::string::npos);
  }

  TEST_CASE("activation refused by the engine leaves the agent kError with the engine's message") {
    TempDir dir;
    std::atomic<int> removes{0};
    std::mutex mu;
    std::string create_body;
    TestHttpServer server(
        EmptyEngine([&](TestHttpConnection& conn, const TestHttpRequest& req) {
          if (req.target.rfind("/v1.41/containers/create", 0) == 0) {
            std::lock_guard<std::mutex> lock(mu);
            create_body = req.body;
            return conn.WriteResponse(201, {}, R"({"Id":"c0ffee","Warnings":[]})");
          }
          if (req.target == "/v1.41/containers/c0ffee/start") {
            return conn.WriteResponse(500, {},
                                      R"({"message":"OCI runtime error: runc create failed"})");
          }
          if (req.method == "DELETE") {
            ++removes;
            return conn.WriteResponse(204, {}, "");
          }
          return conn.WriteResponse(500, {}, "{\"message\":\"unexpected\"}");
        }),
        dir.Socket());
    auto rt = NewDockerRuntime(Options(dir, dir.Socket()));
    REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
    auto st = (*rt)->Activate(Req("s:c:x"));
    CHECK(st.status().code() == ErrorCode::kInternal);
    CHECK(st.status().message() ==
          "docker: start container for \"s:c:x\": 500 OCI runtime error: runc create failed");
    CHECK(st.status().message().find("very-secret-token") == std::string::npos);
    CHECK(removes == 1);  // the created container is not left behind
    auto state = (*rt)->GetState("s:c:x");
    REQUIRE(state);
    CHECK(state->status == AgentStatus::kError);
    CHECK((*rt)->ListAgents().empty());
    {
      // The token is in the environment, not in the labels.
      std::lock_guard<std::mutex> lock(mu);
      auto config = agentcore::ParseJson(create_body);
      REQUIRE(config.ok());
      for (const auto& m : config->Find("Labels")->as_object()) {
        CHECK(m.value.as_string().find("very-secret-token") == std::string::npos);
      }
      bool found = false;
      for (const Json& e : config->Find("Env")->as_array()) {
        found = found || e.as_string() == "CAST_AUTH_TOKEN=very-secret-token";
      }
      CHECK(found);
    }
    CHECK((*rt)->Shutdown().ok());
  }

  TEST_CASE("an engine that stops answering never hangs activation, suspend or shutdown") {
    TempDir dir;
    std::atomic<bool> hang{false};
    TestHttpServer server(
        [&, empty = EmptyEngine()](TestHttpConnection& conn, const TestHttpRequest& req) {
          if (hang) {
            conn.WaitForClose();
            return false;
          }
          if (req.target.rfind("/v1.41/containers/create", 0) == 0) {
            return conn.WriteResponse(201, {}, R"({"Id":"c1","Warnings":[]})");
          }
          if (req.target == "/v1.41/containers/c1/start") return conn.WriteResponse(204, {}, "");
          return empty(conn, req);
        },
        dir.Socket());
    DockerOptions o = Options(dir, dir.Socket());
    o.api_timeout = milliseconds(300);
    auto rt = NewDockerRuntime(o);
    REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
    REQUIRE((*rt)->Activate(Req("s:c:up")).ok());
    hang = true;
    auto t0 = Steady::now();
    auto st = (*rt)->Activate(Req("s:c:down"));
    CHECK(st.status().code() == ErrorCode::kDeadlineExceeded);
    CHECK(st.status().message().find("docker: create container for \"s:c:down\"") == 0);
    CHECK(MsSince(t0) < 3000);
    t0 = Steady::now();
    Status s = (*rt)->Suspend("s:c:up", "manual");
    CHECK_FALSE(s.ok());
    CHECK(MsSince(t0) < 5000);
    t0 = Steady::now();
    CHECK_FALSE((*rt)->Shutdown().ok());
    CHECK(MsSince(t0) < 5000);
    CHECK((*rt)->Activate(Req("s:c:x")).status().code() == ErrorCode::kUnavailable);
  }

  TEST_CASE("an engine whose socket disappears gives kUnavailable quickly") {
    TempDir dir;
    auto server = std::make_unique<TestHttpServer>(EmptyEngine(), dir.Socket());
    DockerOptions o = Options(dir, dir.Socket());
    o.api_timeout = milliseconds(5000);
    auto rt = NewDockerRuntime(o);
    REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
    server.reset();  // the engine is gone, its socket removed
    const auto t0 = Steady::now();
    auto st = (*rt)->Activate(Req("s:c:x"));
    CHECK(st.status().code() == ErrorCode::kUnavailable);
    CHECK(st.status().message().find("cannot reach the engine") != std::string::npos);
    CHECK(MsSince(t0) < 1000);
    CHECK((*rt)->ReapOrphans().status().code() == ErrorCode::kUnavailable);
    CHECK((*rt)->ReadLog("s:c:x", 0, 10).status().code() == ErrorCode::kNotFound);
    const auto t1 = Steady::now();
    CHECK((*rt)->Shutdown().ok());  // nothing was started
    CHECK(MsSince(t1) < 3000);
  }
}

namespace {

// A scripted engine with one container "c1" whose state the test sets: running, or exited
// with a code (Exit()). `events` says what /events does: "die" stays open like an engine's
// stream and sends one die event for c1 (exit code 3) when c1 exits, or at once when it had
// exited before (as a replay from `since` would), with other events in between; "fail" answers
// 500; "drop" sends the head and closes at once.
struct ScriptedEngine {
  std::mutex mu;
  std::condition_variable cv;  // running changed
  bool running = true;
  int exit_code = 0;
  std::string events = "die";
  bool list_says_running = false;  // the list never shows the exit: only events can
  std::atomic<int> event_requests{0};
  std::atomic<int> list_requests{0};
  std::atomic<int> removes{0};

  void Exit(int code) {
    std::lock_guard<std::mutex> lock(mu);
    running = false;
    exit_code = code;
    cv.notify_all();
  }

  TestHttpServer::Handler Handler() {
    return [this](TestHttpConnection& conn, const TestHttpRequest& req) {
      const std::string& t = req.target;
      if (t == "/v1.41/_ping") return conn.WriteResponse(200, {}, "OK");
      if (t.rfind("/v1.41/images/", 0) == 0) return Json200(conn, "{\"Id\":\"sha256:1\"}");
      if (t.rfind("/v1.41/containers/create", 0) == 0) {
        return conn.WriteResponse(201, {}, R"({"Id":"c1","Warnings":[]})");
      }
      if (t == "/v1.41/containers/c1/start") return conn.WriteResponse(204, {}, "");
      std::unique_lock<std::mutex> lock(mu);
      if (t.rfind("/v1.41/containers/json", 0) == 0) {
        ++list_requests;
        return Json200(conn, std::string(R"([{"Id":"c1","Names":["/n"],"State":")") +
                                 (running || list_says_running ? "running" : "exited") +
                                 R"(","Labels":{"agentcore.instance":"unit"}}])");
      }
      if (t == "/v1.41/containers/c1/json") {
        return Json200(conn, fmt(R"({"Id":"c1","Config":{"Tty":false},"State":{"Running":)",
                                 running ? "true" : "false", R"(,"ExitCode":)",
                                 std::to_string(exit_code), "}}"));
      }
      if (t.rfind("/v1.41/containers/c1/logs", 0) == 0) {
        return conn.WriteResponse(200, {},
                                  std::string("\x02\0\0\0\0\0\0\x05"
                                              "boom\n",
                                              13));
      }
      if (req.method == "DELETE") {
        ++removes;
        return conn.WriteResponse(204, {}, "");
      }
      if (t.rfind("/v1.41/events", 0) == 0) {
        ++event_requests;
        const std::string mode = events;
        if (mode == "fail") return conn.WriteResponse(500, {}, R"({"message":"events broken"})");
        lock.unlock();
        conn.Write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
        if (mode == "drop") return false;
        auto chunk = [&conn](const std::string& e) {
          char size[16];
          std::snprintf(size, sizeof size, "%zx", e.size());
          return conn.Write(std::string(size) + "\r\n" + e + "\r\n");
        };
        // Until c1 exits, another container's events every 50 ms; a failed write means the
        // client closed the stream.
        lock.lock();
        while (running) {
          if (cv.wait_for(lock, milliseconds(50), [&] { return !running; })) break;
          lock.unlock();
          if (!chunk(R"({"Type":"container","Action":"exec_start","Actor":{"ID":"other"}})"
                     "\n")) {
            return false;
          }
          lock.lock();
        }
        lock.unlock();
        chunk(
            R"({"Type":"container","Action":"die","Actor":{"ID":"c1","Attributes":{"exitCode":"3"}}})"
            "\n");
        conn.WaitForClose();
        return false;
      }
      return conn.WriteResponse(500, {}, "{\"message\":\"unexpected\"}");
    };
  }

  static std::string fmt(std::string a, std::string b, std::string c, std::string d,
                         std::string e) {
    return a + b + c + d + e;
  }
};

class EventLog final : public agentcore::RuntimeObserver {
 public:
  void OnAgentEvent(const agentcore::AgentEvent& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
  }
  std::vector<agentcore::AgentEvent> Events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  bool WaitForCount(std::size_t n, milliseconds timeout) {
    const auto deadline = Steady::now() + timeout;
    while (Events().size() < n) {
      if (Steady::now() >= deadline) return false;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::vector<agentcore::AgentEvent> events_;
};

}  // namespace

TEST_SUITE("runtime/docker_failures") {
  TEST_CASE("an exit seen while the events stream is broken is found by re-listing") {
    for (const std::string mode : {"fail", "drop"}) {
      CAPTURE(mode);
      TempDir dir;
      ScriptedEngine engine;
      engine.events = mode;
      TestHttpServer server(engine.Handler(), dir.Socket());
      EventLog log;
      agentcore::RuntimeOptions ro;
      ro.observer = &log;
      auto rt = NewDockerRuntime(Options(dir, dir.Socket()), ro);
      REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
      REQUIRE((*rt)->Activate(Req("s:c:x")).ok());
      engine.Exit(3);
      REQUIRE(log.WaitForCount(2, milliseconds(5000)));
      auto events = log.Events();
      CHECK(events[0].kind == agentcore::AgentEventKind::kActivating);
      CHECK(events[1].kind == agentcore::AgentEventKind::kFailed);
      REQUIRE(events[1].exit);
      CHECK(events[1].exit->exit_code == 3);
      CHECK(engine.list_requests > 0);
      // The exited container's logs are archived and it is removed.
      CHECK(WaitUntilTrue([&] { return engine.removes > 0; }));
      auto chunk = (*rt)->ReadLog("s:c:x", 0, 100);
      REQUIRE(chunk.ok());
      CHECK(chunk->data == "boom\n");
      if (mode == "fail") {
        // Bounded backoff: a broken stream is not retried in a tight loop.
        std::this_thread::sleep_for(milliseconds(500));
        CHECK(engine.event_requests < 15);
      }
      CHECK((*rt)->Shutdown().ok());
    }
  }

  TEST_CASE("the watcher keeps one events stream open and Shutdown ends it promptly") {
    TempDir dir;
    ScriptedEngine engine;
    engine.list_says_running = true;  // only the stream can tell the exit
    TestHttpServer server(engine.Handler(), dir.Socket());
    EventLog log;
    agentcore::RuntimeOptions ro;
    ro.observer = &log;
    auto rt = NewDockerRuntime(Options(dir, dir.Socket()), ro);
    REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
    REQUIRE((*rt)->Activate(Req("s:c:x")).ok());
    std::this_thread::sleep_for(milliseconds(1500));
    CHECK(engine.event_requests == 1);
    engine.Exit(3);
    REQUIRE(log.WaitForCount(2, milliseconds(5000)));
    CHECK(log.Events()[1].kind == agentcore::AgentEventKind::kFailed);
    CHECK(engine.event_requests == 1);
    const auto t0 = Steady::now();
    CHECK((*rt)->Shutdown().ok());
    CHECK(MsSince(t0) < 2500);
    CHECK(engine.event_requests == 1);
  }

  TEST_CASE("Shutdown cancels a silent events stream within about a second") {
    TempDir dir;
    std::atomic<int> event_requests{0};
    TestHttpServer server(
        [&, empty = EmptyEngine()](TestHttpConnection& conn, const TestHttpRequest& req) {
          if (req.target.rfind("/v1.41/events", 0) == 0) ++event_requests;
          return empty(conn, req);
        },
        dir.Socket());
    auto rt = NewDockerRuntime(Options(dir, dir.Socket()));
    REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
    REQUIRE(WaitUntilTrue([&] { return event_requests > 0; }));
    std::this_thread::sleep_for(milliseconds(1200));
    const auto t0 = Steady::now();
    CHECK((*rt)->Shutdown().ok());
    CHECK(MsSince(t0) < 2000);
    CHECK(event_requests == 1);
  }

  TEST_CASE("a die event reports the exit code it carries, once") {
    TempDir dir;
    ScriptedEngine engine;
    TestHttpServer server(engine.Handler(), dir.Socket());
    EventLog log;
    agentcore::RuntimeOptions ro;
    ro.observer = &log;
    engine.list_says_running = true;
    DockerOptions o = Options(dir, dir.Socket());
    auto rt = NewDockerRuntime(o, ro);
    REQUIRE_MESSAGE(rt.ok(), rt.status().ToString());
    REQUIRE((*rt)->Activate(Req("s:c:x")).ok());
    engine.Exit(3);
    REQUIRE(log.WaitForCount(2, milliseconds(5000)));
    std::this_thread::sleep_for(milliseconds(1500));  // a re-list and a replayed event later
    auto events = log.Events();
    REQUIRE(events.size() == 2);
    CHECK(events[1].kind == agentcore::AgentEventKind::kFailed);
    CHECK(events[1].reason == "exited with code 3");
    CHECK((*rt)->GetState("s:c:x")->status == AgentStatus::kError);
    CHECK((*rt)->Shutdown().ok());
  }
}
