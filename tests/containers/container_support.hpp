// SPDX-License-Identifier: Apache-2.0
#pragma once

// Support of the end-to-end container tests (agentcore_container_tests): the real
// agentcore-server binary as a child process with its output kept and a small REST client for
// it (tests/support/server_child.hpp, server_client.hpp), and a look at the engine through the
// Docker Engine API (what `docker ps` would show). The engine is the private Podman service of
// the test command (AGENTCORE_TEST_DOCKER_HOST). Test support only.

#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "support/server_child.hpp"
#include "support/server_client.hpp"

namespace agentcore::containers::testing {

using namespace std::chrono_literals;
using agentcore::testing::FreePort;

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

using agentcore::testing::WaitFor;
inline std::string ReadFile(const std::string& path) {
  return agentcore::testing::ReadWholeFile(path);
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
/// `dir` (Stdout(), Stderr()). Start() returns once /health answers or the process has exited;
/// the REST calls are ServerClient's.
class ContainerServer : public agentcore::testing::ChildServer,
                        public agentcore::testing::ServerClient {
 public:
  ContainerServer(std::string dir, std::string docker_host, std::vector<std::string> extra = {})
      : ContainerServer(std::move(dir), std::move(docker_host), std::move(extra), FreePort()) {}

 private:
  ContainerServer(const std::string& dir, const std::string& docker_host,
                  std::vector<std::string> extra, int port)
      : ChildServer(Args(dir, docker_host, std::move(extra), port), port, dir),
        ServerClient("http://127.0.0.1:" + std::to_string(port)) {}
  static std::vector<std::string> Args(const std::string& dir, const std::string& docker_host,
                                       std::vector<std::string> extra, int port) {
    std::vector<std::string> args = {
        AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port", std::to_string(port),
        "--database-url", "sqlite://" + dir + "/agentcore.db", "--data-dir", dir + "/data",
        "--auth-mode", "dev", "--no-access-log", "--threads", "2", "--runtime", "docker",
        "--docker-host", docker_host};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

}  // namespace agentcore::containers::testing
