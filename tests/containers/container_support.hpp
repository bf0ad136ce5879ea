// SPDX-License-Identifier: Apache-2.0
#pragma once

// Support of the end-to-end container tests (agentcore_container_tests): the real
// agentcore-server binary as a child process with its output kept, a small REST client for it,
// and a look at the engine through the Docker Engine API (what `docker ps` would show). The
// engine is the private Podman service of the test command (AGENTCORE_TEST_DOCKER_HOST).
// Test support only.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "server/server_process.hpp"

extern char** environ;

namespace agentcore::containers::testing {

using namespace std::chrono_literals;
using agentcore::server::testing::FreePort;

inline const char* kEchoImage = "localhost/agentcore-echo-agent:latest";

/// AGENTCORE_TEST_DOCKER_HOST (`unix:///path`); the test fails when it is unset: a skipped
/// suite would pass untested.
inline std::string DockerHost() {
  const char* host = std::getenv("AGENTCORE_TEST_DOCKER_HOST");
  if (host == nullptr || *host == '\0') {
    FAIL("AGENTCORE_TEST_DOCKER_HOST is not set: start an engine with "
         "`scripts/podman-test-service.sh start DIR` and export what it prints");
  }
  return host;
}

inline bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(25ms);
  }
  return done();
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

/// The Docker Engine API of one engine, for inspection.
class Engine {
 public:
  explicit Engine(std::string docker_host)
      : socket_(docker_host.rfind("unix://", 0) == 0 ? docker_host.substr(7) : docker_host),
        client_(NewHttpClient()) {}

  /// The containers labelled agentcore.instance=`instance` (running or not), as the engine
  /// lists them; std::nullopt when the engine does not answer.
  std::optional<std::vector<Json>> Containers(const std::string& instance) const {
    return Containers("agentcore.instance", instance);
  }
  /// The containers whose label `label` is `value`.
  std::optional<std::vector<Json>> Containers(const std::string& label,
                                              const std::string& value) const {
    HttpRequest req;
    // filters={"label":["<label>=<value>"]}, URL-escaped (':' too, for agent ids).
    std::string escaped;
    for (char ch : label + "=" + value) {
      if (ch == ':') escaped += "%3A";
      else if (ch == '=') escaped += "%3D";
      else escaped += ch;
    }
    req.url = "http://d/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22" + escaped +
              "%22%5D%7D";
    req.unix_socket_path = socket_;
    req.timeout = 5s;
    auto r = client_->Send(req);
    if (!r.ok() || r->status != 200) return std::nullopt;
    auto body = ParseJson(r->body);
    if (!body.ok() || !body->is_array()) return std::nullopt;
    return body->as_array();
  }
  /// GET /containers/{id}/json; std::nullopt when the engine does not answer 200.
  std::optional<Json> Inspect(const std::string& id) const {
    HttpRequest req;
    req.url = "http://d/v1.41/containers/" + id + "/json";
    req.unix_socket_path = socket_;
    req.timeout = 5s;
    auto r = client_->Send(req);
    if (!r.ok() || r->status != 200) return std::nullopt;
    auto body = ParseJson(r->body);
    if (!body.ok()) return std::nullopt;
    return *std::move(body);
  }
  /// Tags `image` as `repo:tag` (POST /images/{name}/tag); true on 201.
  bool Tag(const std::string& image, const std::string& repo, const std::string& tag) const {
    HttpRequest req;
    req.method = "POST";
    req.url = "http://d/v1.41/images/" + image + "/tag?repo=" + repo + "&tag=" + tag;
    req.unix_socket_path = socket_;
    req.timeout = 10s;
    auto r = client_->Send(req);
    return r.ok() && r->status == 201;
  }
  /// Those of them in state "running".
  std::vector<Json> Running(const std::string& instance) const {
    std::vector<Json> out;
    auto all = Containers(instance);
    REQUIRE_MESSAGE(all.has_value(), "the engine did not list containers");
    for (const Json& c : *all) {
      const std::string* state = c.FindString("State");
      if (state != nullptr && *state == "running") out.push_back(c);
    }
    return out;
  }
  /// A label of a listed container ("" when absent).
  static std::string Label(const Json& container, const std::string& name) {
    const Json* labels = container.Find("Labels");
    const std::string* v = labels != nullptr ? labels->FindString(name) : nullptr;
    return v != nullptr ? *v : std::string();
  }

 private:
  std::string socket_;
  std::unique_ptr<HttpClient> client_;
};

/// agentcore-server (AGENTCORE_SERVER_BIN) on 127.0.0.1, dev auth, SQLite under `dir`, the
/// Docker runtime on `docker_host`; `extra` appended. stdout and stderr go to files under
/// `dir` (Output()). Start() returns once /health answers or the process has exited.
class ContainerServer {
 public:
  ContainerServer(std::string dir, std::string docker_host, std::vector<std::string> extra = {})
      : dir_(std::move(dir)), port_(FreePort()), client_(NewHttpClient()) {
    args_ = {AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port", std::to_string(port_),
             "--database-url", "sqlite://" + dir_ + "/agentcore.db", "--data-dir",
             dir_ + "/data", "--auth-mode", "dev", "--no-access-log", "--threads", "2",
             "--runtime", "docker", "--docker-host", docker_host};
    args_.insert(args_.end(), extra.begin(), extra.end());
  }
  ~ContainerServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  ContainerServer(const ContainerServer&) = delete;
  ContainerServer& operator=(const ContainerServer&) = delete;

  /// Starts the process; true once /health answers, false when it exited first (ExitCode()
  /// then says how) or did not answer in 20 s.
  bool Start() {
    std::vector<char*> argv;
    for (std::string& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string out = dir_ + "/stdout." + std::to_string(++starts_);
    const std::string err = dir_ + "/stderr." + std::to_string(starts_);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE(rc == 0);
    stdout_ = out;
    stderr_ = err;
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < deadline) {
      if (Exited(0ms)) return false;
      HttpRequest req;
      req.url = Url("/health");
      req.timeout = 1s;
      auto r = client_->Send(req);
      if (r.ok() && r->status == 200) return true;
      std::this_thread::sleep_for(25ms);
    }
    return false;
  }

  /// Sends `signal`; returns the exit code once the process ended (a signal: 128 + number),
  /// or -1 when it has not ended within `timeout` (then it is SIGKILLed).
  int Stop(int signal, std::chrono::milliseconds timeout = 30s) {
    if (pid_ <= 0) return exit_code_;
    ::kill(pid_, signal);
    if (!Exited(timeout)) {
      ::kill(pid_, SIGKILL);
      Exited(5s);
      exit_code_ = -1;
    }
    return exit_code_;
  }
  /// Whether the process has ended within `timeout`; records its exit code.
  bool Exited(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return true;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid_ = -1;
        return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
  }
  int exit_code() const { return exit_code_; }
  std::string Stdout() const { return ReadFile(stdout_); }
  std::string Stderr() const { return ReadFile(stderr_); }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }

  /// Logs in (dev mode) and keeps the session cookie for Call().
  void Login(const std::string& callsign = "alice") {
    HttpResponse r = Call("POST", "/auth/dev/login", R"({"callsign":")" + callsign + "\"}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    std::string set_cookie(r.Header("Set-Cookie").value_or(""));
    cookie_ = set_cookie.substr(0, set_cookie.find(';'));
    auto body = ParseJson(r.body);
    REQUIRE(body.ok());
    const std::string* space = body->FindString("spaceId");
    REQUIRE(space != nullptr);
    space_id_ = *space;
  }
  /// The session's space (Login()).
  const std::string& space_id() const { return space_id_; }
  const std::string& cookie() const { return cookie_; }
  void set_cookie(std::string cookie) { cookie_ = std::move(cookie); }

  /// One request with the session cookie; status 0 and the error as the body when the call
  /// failed (e.g. timed out after `timeout`).
  HttpResponse Call(const std::string& method, const std::string& path,
                    const std::string& body = {}, std::chrono::milliseconds timeout = 15s) {
    HttpRequest req;
    req.method = method;
    req.url = Url(path);
    req.body = body;
    req.timeout = timeout;
    req.headers = {{"Content-Type", "application/json"}};
    if (!cookie_.empty()) req.headers.emplace_back("Cookie", cookie_);
    auto r = client_->Send(req);
    if (!r.ok()) {
      HttpResponse failed;
      failed.status = 0;
      failed.body = r.status().ToString();
      return failed;
    }
    return *std::move(r);
  }

  std::string CreateChannel(const std::string& name) {
    HttpResponse r = Call("POST", "/channels", R"({"name":")" + name + "\"}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return *ParseJson(r.body)->Find("channel")->FindString("id");
  }
  void AddAgent(const std::string& channel, const std::string& callsign,
                const std::string& type = "echo") {
    HttpResponse r = Call("POST", "/channels/" + channel + "/agents",
                          R"({"callsign":")" + callsign + R"(","agentType":")" + type + "\"}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }
  void PostMessage(const std::string& channel, const std::string& text) {
    HttpResponse r = Call("POST", "/channels/" + channel + "/messages",
                          R"({"content":")" + text + R"(","sender":"alice","senderType":"user"})");
    REQUIRE_MESSAGE(r.status == 201, r.body);
  }
  /// The stored messages' contents of `sender` (type agent), oldest first.
  std::vector<std::string> Replies(const std::string& channel, const std::string& sender) {
    std::vector<std::string> out;
    HttpResponse r = Call("GET", "/channels/" + channel + "/messages?limit=200");
    if (r.status != 200) return out;
    auto body = ParseJson(r.body);
    if (!body.ok() || body->Find("messages") == nullptr) return out;
    for (const Json& m : body->Find("messages")->as_array()) {
      const std::string* s = m.FindString("sender");
      const std::string* t = m.FindString("type");
      const std::string* c = m.FindString("content");
      const Json* complete = m.Find("isComplete");
      if (s != nullptr && *s == sender && t != nullptr && *t == "agent" && c != nullptr &&
          complete != nullptr && complete->is_bool() && complete->as_bool()) {
        out.push_back(*c);
      }
    }
    return out;
  }
  /// GET /agents/status/:id's "status" ("" when it cannot be read).
  std::string AgentStatus(const std::string& agent_id) {
    std::string escaped;
    for (char ch : agent_id) escaped += ch == ':' ? std::string("%3A") : std::string(1, ch);
    HttpResponse r = Call("GET", "/agents/status/" + escaped);
    auto body = ParseJson(r.body);
    if (r.status != 200 || !body.ok()) return {};
    const std::string* s = body->FindString("status");
    return s != nullptr ? *s : std::string();
  }
 private:
  std::string dir_;
  int port_;
  std::unique_ptr<HttpClient> client_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  int starts_ = 0;
  std::string stdout_;
  std::string stderr_;
  std::string cookie_;
  std::string space_id_;
};

}  // namespace agentcore::containers::testing
