// SPDX-License-Identifier: Apache-2.0
#pragma once

// A client of the Docker Engine API (v1.41) over a unix socket: the subset the Docker runtime
// uses. Every call has a timeout. Errors keep the engine's own message:
//
//   transport: kUnavailable (socket missing, refused, connection broken),
//              kDeadlineExceeded (no answer within the timeout)
//   HTTP:      400 kInvalidArgument, 404 kNotFound, 409 kConflict, 5xx and others kInternal,
//              message "<status> <engine message>", e.g. `404 no such image: localhost/x:latest`
//
// Callers prefix what they were doing (Annotate). Thread-safe (the HttpClient is).

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

#include "runtime/docker/hijacked_connection.hpp"

namespace agentcore::internal {

// "docker: <what>: <status message>", same code. OK stays OK.
Status Annotate(const Status& status, std::string_view what);

// The socket path of a `unix://` DOCKER_HOST; kInvalidArgument for other schemes or an empty
// path. `host` empty: $DOCKER_HOST, else unix:///var/run/docker.sock.
Result<std::string> DockerSocketPath(std::string_view host);

// Maps an engine response to a Status: OK for 2xx (and 304 when `not_modified_ok`), else the
// code for the HTTP status with the engine's `message` (or the body's start when not JSON).
Status EngineStatus(const HttpResponse& response, bool not_modified_ok = false);

// State.Running of a container inspect answer (false when absent).
bool InspectRunning(const Json& inspect);
// State.ExitCode of a container inspect answer, or nullopt.
std::optional<int> InspectExitCode(const Json& inspect);
// Whether a create failed because the container name is taken: Docker answers 409, Podman 4.3
// answers 500 "... already in use".
bool IsNameInUse(const Status& status);
// kInvalidArgument `invalid environment variable "<name>" in <what>` for an empty name, a name
// with '=' or NUL, or a value with NUL (the engine takes "NAME=value" strings).
Status ValidateContainerEnv(const std::vector<std::pair<std::string, std::string>>& env,
                            std::string_view what);

// One engine, reached through its socket. Thread-safe (calls run concurrently on the client's
// pooled connections); holds no state about containers.
class DockerEngine {
 public:
  DockerEngine(std::string socket_path, std::chrono::milliseconds timeout);

  const std::string& socket_path() const { return socket_path_; }

  // GET /_ping.
  Status Ping();
  // GET /version: the engine's JSON (Version, ApiVersion, Components...).
  Result<Json> Version();
  // GET /images/{name}/json.
  Result<Json> InspectImage(std::string_view image);
  // POST /containers/create?name=: the new container's id.
  Result<std::string> CreateContainer(std::string_view name, const Json& config);
  // POST /containers/{id}/start; an already running container is OK (304).
  Status StartContainer(std::string_view id);
  // POST /containers/{id}/stop?t=: SIGTERM, SIGKILL after `grace`; OK when already stopped.
  Status StopContainer(std::string_view id, std::chrono::milliseconds grace);
  // POST /containers/{id}/kill?signal=.
  Status KillContainer(std::string_view id, std::string_view signal);
  // DELETE /containers/{id}?force=; kNotFound when there is no such container.
  Status RemoveContainer(std::string_view id, bool force);
  // GET /containers/{id}/json.
  Result<Json> InspectContainer(std::string_view id);
  // POST /containers/{id}/wait?condition=not-running: the exit code. Waits at most `timeout`.
  Result<int> WaitContainer(std::string_view id, std::chrono::milliseconds timeout);
  // GET /containers/json?all=1&filters={"label":[...]}: the summaries.
  Result<std::vector<Json>> ListContainers(const std::vector<std::string>& label_filters);
  // POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1 as a hijacked connection
  // (hijacked_connection.hpp): the multiplexed output stream to read, stdin to write. Works
  // before the container starts (Podman initializes it), so no output is lost.
  Result<HijackedConnection> AttachContainer(std::string_view id);
  // GET /containers/{id}/logs?stdout=1&stderr=1, decoded (framed unless `tty`).
  Result<std::string> Logs(std::string_view id, bool tty);
  // GET /events?filters=...: calls `on_event` with each event object until it returns false,
  // `duration` passes (zero: no limit), `cancelled` (polled about once a second, and whenever
  // data arrives) returns true, or the stream fails; all but the last are OK. Lines that are not
  // JSON objects are skipped. `since` (unix seconds, 0: none) replays earlier events.
  Status StreamEvents(const Json& filters, long long since, std::chrono::milliseconds duration,
                      const std::function<bool(const Json&)>& on_event,
                      const std::function<bool()>& cancelled = {});

 private:
  Result<HttpResponse> Call(std::string_view method, std::string path, std::string body,
                            std::chrono::milliseconds extra_timeout = {});
  Result<Json> CallJson(std::string_view method, std::string path, std::string body = "",
                        std::chrono::milliseconds extra_timeout = {});

  const std::string socket_path_;
  const std::chrono::milliseconds timeout_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace agentcore::internal
