// SPDX-License-Identifier: Apache-2.0
// The Docker/Podman session runtime (runtime/session_runtime.hpp; docs/sessions.md "Container
// runtime", docs/runtimes.md).
//
// One container per session process, named agentcore-s-<instance>-<session id> and labelled
// agentcore.instance / agentcore.session (ReapOrphans finds it by those; the agent runtime's
// containers have no agentcore.session label, so it never touches them). Start creates the
// container, ATTACHES through a hijacked connection (hijacked_connection.hpp) and only then
// starts it, so not a byte of output is lost; that one socket carries the multiplexed output
// (docker_log_stream.hpp) and, the other way, stdin unframed.
//
// Threads: one reader per session process ("agentcore-dsess"), blocked in recv() on its attach
// socket. One thread per session rather than one poller for all: a session's sink call, its
// wait/inspect/remove at the end and its OnExit run in order on that thread without holding up
// any other session, and sessions are few (the service caps them per key). The reader feeds the
// sink, and at the stream's end collects the exit (wait, then inspect for OOMKilled), removes
// the container and calls OnExit, last.
//
// The reader shares one SessionShared with the SessionProcess (shared_ptr): it never touches the
// process object, so a sink may destroy the process from inside OnExit.
//
// Ending: Stop asks the engine (stop with t = grace, SIGKILL after it) and waits for the reader
// to have called OnExit; the destructor kills. Both fall back to shutdown(SHUT_RDWR) of the
// socket when the engine does not end the stream in time, which wakes the reader; the reader's
// own engine calls are bounded by call_timeout, so every wait here is bounded.

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <agentcore/json.hpp>
#include <agentcore/runtime/session_runtime.hpp>

#include "runtime/docker/docker_engine.hpp"
#include "runtime/docker/docker_log_stream.hpp"
#include "runtime/docker/hijacked_connection.hpp"

namespace agentcore {
namespace {

using internal::Annotate;
using internal::DockerEngine;
using internal::HijackedConnection;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::string_view kLabelInstance = "agentcore.instance";
constexpr std::string_view kLabelSession = "agentcore.session";
constexpr std::size_t kMaxNameBytes = 64;
// WriteStdin waits this long for room in the socket (the contract: about a second).
constexpr milliseconds kStdinWriteTimeout{1000};
// Polling inspect for Running after the start request.
constexpr milliseconds kStartPoll{50};
constexpr std::size_t kReadBytes = 64 * 1024;

bool IsNameSafe(std::string_view s) {
  return !s.empty() && s.size() <= kMaxNameBytes &&
         s.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") ==
             std::string_view::npos;
}

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

std::string ErrnoText(int err) { return std::system_category().message(err); }

// Names of the containers this runtime's processes own (being created or alive): ReapOrphans
// never takes them for orphans. Thread-safe; shared by the runtime and its processes.
class OwnedNames {
 public:
  void Add(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    names_.insert(name);
  }
  void Remove(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = names_.find(name); it != names_.end()) names_.erase(it);
  }
  bool Contains(std::string_view name) const {
    std::lock_guard<std::mutex> lock(mu_);
    return names_.find(name) != names_.end();
  }

 private:
  mutable std::mutex mu_;
  std::multiset<std::string, std::less<>> names_;
};

// What a session process and its reader thread share. Thread-safe as annotated.
struct SessionShared {
  // Constant after construction.
  std::shared_ptr<DockerEngine> engine;
  std::shared_ptr<OwnedNames> owned;
  std::string id;    // container id
  std::string name;  // container name
  std::string session_id;
  SessionOutputSink* sink = nullptr;
  milliseconds call_timeout{0};
  // The attach socket: read by the reader, written under write_mu; closed when the last owner
  // lets go (never while the reader may still use it).
  HijackedConnection conn;

  std::mutex write_mu;  // one stdin writer (or CloseStdin) at a time; taken before mu

  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu.
  bool stream_ended = false;  // the reader saw the attach stream end
  bool stdin_closed = false;
  bool exited = false;   // OnExit was called
  bool removed = false;  // the container is gone (removed by the reader or found missing)
  std::map<std::uint16_t, std::string> endpoints;  // port -> "host:port" once known

  // Waits until OnExit was called or `timeout` passed; true when it was.
  bool WaitExited(milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, timeout, [this] { return exited; });
  }
  // Wakes a reader blocked in recv() (the stream then ends for it).
  void WakeReader() { ::shutdown(conn.fd(), SHUT_RDWR); }
};

// "exited with code N", "killed (OOM)", or why the exit is unknown.
struct ExitInfo {
  int code = -1;
  std::string reason;
};

// The exit of a container whose attach stream ended. `stream_error` is why the stream was
// abandoned (a bad frame), empty when it ended normally.
ExitInfo CollectExit(SessionShared& s, const std::string& stream_error) {
  ExitInfo exit;
  Result<int> waited = s.engine->WaitContainer(s.id, milliseconds(0));
  if (!waited.ok() && waited.error().code() != ErrorCode::kNotFound) {
    // The stream ended but the container did not (the engine dropped the connection): without
    // its stdio the session is useless, so end it.
    (void)s.engine->KillContainer(s.id, "SIGKILL");
    waited = s.engine->WaitContainer(s.id, milliseconds(0));
  }
  if (!waited.ok()) {
    exit.reason = waited.error().code() == ErrorCode::kNotFound
                      ? "container removed"
                      : fmt::format("exit status unknown: {}", waited.error().message());
    if (waited.error().code() == ErrorCode::kNotFound) {
      std::lock_guard<std::mutex> lock(s.mu);
      s.removed = true;
    }
    return exit;
  }
  exit.code = *waited;
  bool oom = false;
  if (Result<Json> inspect = s.engine->InspectContainer(s.id); inspect.ok()) {
    if (std::optional<int> code = internal::InspectExitCode(*inspect)) exit.code = *code;
    const Json* state = inspect->Find("State");
    const Json* killed =
        state != nullptr && state->is_object() ? state->Find("OOMKilled") : nullptr;
    oom = killed != nullptr && killed->is_bool() && killed->as_bool();
  }
  if (oom) {
    exit.reason = "killed (OOM)";
  } else if (exit.code < 0) {
    exit.reason = "container removed";
  } else {
    exit.reason = fmt::format("exited with code {}", exit.code);
  }
  if (!stream_error.empty()) exit.reason += fmt::format(" (output lost: {})", stream_error);
  return exit;
}

// The reader thread: output to the sink until the stream ends, then the exit.
void ReadLoop(const std::shared_ptr<SessionShared>& s, std::string leftover) {
  ::pthread_setname_np(::pthread_self(), "agentcore-dsess");
  internal::DockerLogStream decoder(false, [&s](int stream, std::string_view data) {
    // Stream 0 (stdin) never comes back; 1 and 2 are the container's stdout and stderr.
    if (stream == 1) s->sink->OnOutput(SessionStream::kStdout, data);
    if (stream == 2) s->sink->OnOutput(SessionStream::kStderr, data);
  });
  std::string stream_error;
  Status fed = decoder.Feed(leftover);
  std::string buf(kReadBytes, '\0');
  while (fed.ok()) {
    const ssize_t n = ::recv(s->conn.fd(), buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the end (EOF, or shutdown by Stop/the destructor, or reset)
    fed = decoder.Feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  if (!fed.ok()) {
    // Garbage on the stream: the output cannot be followed any more, so the session ends.
    stream_error = fed.message();
    (void)s->engine->KillContainer(s->id, "SIGKILL");
  }
  {
    std::lock_guard<std::mutex> lock(s->mu);
    s->stream_ended = true;
  }
  const ExitInfo exit = CollectExit(*s, stream_error);
  bool removed = false;
  {
    std::lock_guard<std::mutex> lock(s->mu);
    removed = s->removed;
  }
  if (!removed) {
    Status r = s->engine->RemoveContainer(s->id, /*force=*/true);
    if (r.ok() || r.code() == ErrorCode::kNotFound) {
      std::lock_guard<std::mutex> lock(s->mu);
      s->removed = true;
    }
  }
  s->sink->OnExit(exit.code, exit.reason);
  std::lock_guard<std::mutex> lock(s->mu);
  s->exited = true;
  s->cv.notify_all();
}

// "host:port" of `port` in an inspect answer (NetworkSettings.Ports), or empty.
std::string PublishedEndpoint(const Json& inspect, std::uint16_t port) {
  const Json* settings = inspect.Find("NetworkSettings");
  const Json* ports =
      settings != nullptr && settings->is_object() ? settings->Find("Ports") : nullptr;
  const Json* bindings =
      ports != nullptr && ports->is_object() ? ports->Find(fmt::format("{}/tcp", port)) : nullptr;
  if (bindings == nullptr || !bindings->is_array()) return "";
  for (const Json& b : bindings->as_array()) {
    if (!b.is_object()) continue;
    const std::string* host_port = b.FindString("HostPort");
    if (host_port == nullptr || host_port->empty()) continue;
    const std::string* ip = b.FindString("HostIp");
    // Bound to 127.0.0.1 by the create; an engine that reports no address (or the wildcard)
    // is reached on loopback too.
    std::string host = ip == nullptr || ip->empty() || *ip == "0.0.0.0" ? "127.0.0.1" : *ip;
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    return fmt::format("{}:{}", host, *host_port);
  }
  return "";
}

// One session container. Thread-safe.
class DockerSessionProcess final : public SessionProcess {
 public:
  DockerSessionProcess(std::shared_ptr<SessionShared> shared, SessionNetwork network,
                       std::vector<SessionPort> ports, std::string leftover)
      : shared_(std::move(shared)), network_(network), ports_(std::move(ports)) {
    reader_ = std::thread(ReadLoop, shared_, std::move(leftover));
  }

  ~DockerSessionProcess() override {
    SessionShared& s = *shared_;
    if (reader_.get_id() == std::this_thread::get_id()) {
      // Destroyed from inside OnExit: the container is already gone and the reader only touches
      // `shared_` from here on (it holds its own reference).
      reader_.detach();
      s.owned->Remove(s.name);
      return;
    }
    bool exited = false;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      exited = s.exited;
    }
    if (!exited) {
      (void)s.engine->KillContainer(s.id, "SIGKILL");
      if (!s.WaitExited(s.call_timeout * 2)) s.WakeReader();
    }
    reader_.join();  // bounded: the reader's remaining engine calls each have call_timeout
    bool removed = false;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      removed = s.removed;
    }
    if (!removed) (void)s.engine->RemoveContainer(s.id, /*force=*/true);
    s.owned->Remove(s.name);
  }

  const std::string& id() const override { return shared_->id; }

  Result<std::string> Endpoint(std::uint16_t port) const override {
    SessionShared& s = *shared_;
    const bool declared = std::any_of(ports_.begin(), ports_.end(),
                                      [port](const SessionPort& p) { return p.port == port; });
    if (network_ != SessionNetwork::kExposed || !declared) {
      return NotFound(fmt::format("port {} is not an exposed port of session \"{}\"", port,
                                  s.session_id));
    }
    {
      std::lock_guard<std::mutex> lock(s.mu);
      if (auto it = s.endpoints.find(port); it != s.endpoints.end()) return it->second;
    }
    Result<Json> inspect = s.engine->InspectContainer(s.id);
    if (!inspect.ok()) {
      return Annotate(inspect.error(),
                      fmt::format("inspect the container of session \"{}\"", s.session_id));
    }
    std::string endpoint = PublishedEndpoint(*inspect, port);
    if (endpoint.empty()) {
      return Unavailable(fmt::format("the engine has not published port {} of session \"{}\"",
                                     port, s.session_id));
    }
    std::lock_guard<std::mutex> lock(s.mu);
    s.endpoints[port] = endpoint;
    return endpoint;
  }

  Status WriteStdin(std::string_view bytes) override {
    SessionShared& s = *shared_;
    std::lock_guard<std::mutex> write_lock(s.write_mu);
    AGENTCORE_RETURN_IF_ERROR(StdinOpen());
    const Steady::time_point deadline = Steady::now() + kStdinWriteTimeout;
    while (!bytes.empty()) {
      const ssize_t n =
          ::send(s.conn.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        const auto left =
            std::chrono::duration_cast<milliseconds>(deadline - Steady::now()).count();
        pollfd p{s.conn.fd(), POLLOUT, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0) {
          return Unavailable(fmt::format(
              "stdin of session \"{}\" is full: the command did not read it within {} ms",
              s.session_id, kStdinWriteTimeout.count()));
        }
        continue;
      }
      if (n < 0) {
        if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
          return Conflict(fmt::format("session \"{}\" has exited", s.session_id));
        }
        return Internal(fmt::format("cannot write the stdin of session \"{}\": {}",
                                    s.session_id, ErrnoText(errno)));
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return Status::Ok();
  }

  Status CloseStdin() override {
    SessionShared& s = *shared_;
    std::lock_guard<std::mutex> write_lock(s.write_mu);
    std::lock_guard<std::mutex> lock(s.mu);
    if (s.stdin_closed || s.stream_ended) return Status::Ok();
    // The write side only: output keeps coming. Podman passes the EOF on to the container's
    // stdin (measured, 4.3); Docker keeps it open while StdinOnce is false (docs/runtimes.md).
    if (::shutdown(s.conn.fd(), SHUT_WR) != 0 && errno != ENOTCONN) {
      return Internal(fmt::format("cannot close the stdin of session \"{}\": {}", s.session_id,
                                  ErrnoText(errno)));
    }
    s.stdin_closed = true;
    return Status::Ok();
  }

  Status Stop(milliseconds grace) override {
    SessionShared& s = *shared_;
    if (grace.count() < 0) grace = milliseconds(0);
    {
      std::lock_guard<std::mutex> lock(s.mu);
      if (s.exited) return Status::Ok();
    }
    Status stopped = s.engine->StopContainer(s.id, grace);
    bool engine_gone = false;
    if (!stopped.ok() && stopped.code() != ErrorCode::kNotFound) {
      // The engine did not stop it in time (or failed): SIGKILL.
      Status killed = s.engine->KillContainer(s.id, "SIGKILL");
      engine_gone = killed.code() == ErrorCode::kUnavailable ||
                    killed.code() == ErrorCode::kDeadlineExceeded;
    }
    if (reader_.get_id() == std::this_thread::get_id()) {
      return Status::Ok();  // called from the sink: the reader finishes after this returns
    }
    // An engine that cannot be reached will not end the stream: end it here at once.
    if (engine_gone) s.WakeReader();
    if (!s.WaitExited(s.call_timeout * 2)) {
      s.WakeReader();
      // The reader now ends its stream and makes at most three engine calls (wait, inspect,
      // remove), each within call_timeout.
      if (!s.WaitExited(s.call_timeout * 4)) {
        return Status(ErrorCode::kDeadlineExceeded,
                      fmt::format("docker: session \"{}\" did not end after its stop",
                                  s.session_id));
      }
    }
    bool removed = false;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      removed = s.removed;
    }
    if (!removed) {
      Status r = s.engine->RemoveContainer(s.id, /*force=*/true);
      if (!r.ok() && r.code() != ErrorCode::kNotFound) {
        return Annotate(r, fmt::format("remove the container of session \"{}\"", s.session_id));
      }
      std::lock_guard<std::mutex> lock(s.mu);
      s.removed = true;
    }
    return Status::Ok();
  }

  bool running() const override {
    std::lock_guard<std::mutex> lock(shared_->mu);
    return !shared_->stream_ended && !shared_->exited;
  }

 private:
  // REQUIRES: write_mu held.
  Status StdinOpen() const {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->stdin_closed) {
      return Conflict(fmt::format("stdin of session \"{}\" is closed", shared_->session_id));
    }
    if (shared_->stream_ended || shared_->exited) {
      return Conflict(fmt::format("session \"{}\" has exited", shared_->session_id));
    }
    return Status::Ok();
  }

  // Constant after construction.
  const std::shared_ptr<SessionShared> shared_;
  const SessionNetwork network_;
  const std::vector<SessionPort> ports_;
  std::thread reader_;  // "agentcore-dsess"; joined (or detached from itself) by the destructor
};

Status ValidateSpec(const SessionSpec& spec) {
  if (!IsNameSafe(spec.session_id) || !IsNameSafe(spec.instance)) {
    return InvalidArgument(fmt::format(
        "docker session runtime: session id \"{}\" and instance \"{}\" must be 1 to {} "
        "characters of [A-Za-z0-9_.-]",
        spec.session_id.substr(0, 100), spec.instance.substr(0, 100), kMaxNameBytes));
  }
  if (spec.image.empty()) {
    return InvalidArgument(
        fmt::format("session \"{}\" has no image (the docker runtime runs images)",
                    spec.session_id));
  }
  for (const std::string& arg : spec.command) {
    if (HasNul(arg)) {
      return InvalidArgument(
          fmt::format("the command of session \"{}\" has a NUL byte", spec.session_id));
    }
  }
  AGENTCORE_RETURN_IF_ERROR(internal::ValidateContainerEnv(
      spec.env, fmt::format("the env of session \"{}\"", spec.session_id)));
  if (!spec.work_dir.empty() && (spec.work_dir.front() != '/' || HasNul(spec.work_dir))) {
    return InvalidArgument(fmt::format("work dir \"{}\" of session \"{}\" is not absolute",
                                       spec.work_dir.substr(0, 200), spec.session_id));
  }
  if (spec.workspace_dir.empty() || spec.workspace_dir.front() != '/' ||
      spec.workspace_dir.find(':') != std::string::npos || HasNul(spec.workspace_dir)) {
    return InvalidArgument(fmt::format(
        "workspace \"{}\" of session \"{}\" must be an absolute host path without ':'",
        spec.workspace_dir.substr(0, 200), spec.session_id));
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(spec.workspace_dir, ec)) {
    return InvalidArgument(fmt::format("workspace \"{}\" of session \"{}\" is not a directory",
                                       spec.workspace_dir, spec.session_id));
  }
  if (spec.resources.cpu_millis < 0 || spec.resources.memory_mb < 0 ||
      spec.resources.timeout_ms < 0) {
    return InvalidArgument(
        fmt::format("session \"{}\" has a negative resource limit", spec.session_id));
  }
  // Far above any machine; keeps the byte and nanosecond products in range.
  if (spec.resources.cpu_millis > 1'000'000 || spec.resources.memory_mb > (1 << 30)) {
    return InvalidArgument(
        fmt::format("session \"{}\" has a resource limit out of range", spec.session_id));
  }
  std::set<std::uint16_t> seen;
  for (const SessionPort& p : spec.ports) {
    if (p.port == 0 || !seen.insert(p.port).second) {
      return InvalidArgument(fmt::format("session \"{}\" declares port {} {}", spec.session_id,
                                         p.port, p.port == 0 ? "(0 is not a port)" : "twice"));
    }
  }
  return Status::Ok();
}

// The Engine API create body of a session container.
Json ContainerConfig(const SessionSpec& spec, const std::string& network) {
  Json labels = Json::Object();
  labels.Set(kLabelInstance, spec.instance);
  labels.Set(kLabelSession, spec.session_id);

  JsonArray env;
  for (const auto& [n, v] : spec.env) env.emplace_back(n + "=" + v);

  Json host = Json::Object();
  host.Set("Binds", Json(JsonArray{Json(spec.workspace_dir + ":/workspace")}));
  if (spec.resources.cpu_millis > 0) {
    host.Set("NanoCpus", spec.resources.cpu_millis * 1'000'000);
  }
  if (spec.resources.memory_mb > 0) {
    host.Set("Memory", spec.resources.memory_mb * 1024 * 1024);
  }
  Json exposed = Json::Object();
  switch (spec.network) {
    case SessionNetwork::kNone:
      host.Set("NetworkMode", "none");
      break;
    case SessionNetwork::kExposed: {
      Json bindings = Json::Object();
      for (const SessionPort& p : spec.ports) {
        const std::string key = fmt::format("{}/tcp", p.port);
        exposed.Set(key, Json::Object());
        Json binding = Json::Object();
        binding.Set("HostIp", "127.0.0.1");
        binding.Set("HostPort", "");  // the engine picks a free one; Endpoint reads it back
        bindings.Set(key, Json(JsonArray{std::move(binding)}));
      }
      host.Set("PortBindings", std::move(bindings));
      if (!network.empty()) host.Set("NetworkMode", network);
      break;
    }
    case SessionNetwork::kOutgoing:
      if (!network.empty()) host.Set("NetworkMode", network);
      break;
  }

  Json config = Json::Object();
  config.Set("Image", spec.image);
  if (!spec.command.empty()) {
    JsonArray cmd;
    for (const std::string& a : spec.command) cmd.emplace_back(a);
    config.Set("Cmd", Json(std::move(cmd)));
  }
  config.Set("Env", Json(std::move(env)));
  config.Set("WorkingDir", spec.work_dir.empty() ? "/workspace" : spec.work_dir);
  config.Set("Labels", std::move(labels));
  config.Set("Tty", false);
  config.Set("OpenStdin", true);
  config.Set("StdinOnce", false);
  config.Set("AttachStdin", true);
  config.Set("AttachStdout", true);
  config.Set("AttachStderr", true);
  if (!exposed.as_object().empty()) config.Set("ExposedPorts", std::move(exposed));
  config.Set("HostConfig", std::move(host));
  return config;
}

// The runtime of OpenDockerSessionRuntime. Thread-safe; holds no thread of its own (each
// process has its reader).
class DockerSessionRuntime final : public SessionRuntime {
 public:
  DockerSessionRuntime(DockerSessionRuntimeOptions options, std::shared_ptr<DockerEngine> engine)
      : options_(std::move(options)),
        engine_(std::move(engine)),
        owned_(std::make_shared<OwnedNames>()) {}

  std::string_view name() const override { return "docker"; }

  Result<std::unique_ptr<SessionProcess>> Start(const SessionSpec& spec,
                                                SessionOutputSink* sink) override;
  Result<std::size_t> ReapOrphans(std::string_view instance) override;

 private:
  // Constant after construction.
  const DockerSessionRuntimeOptions options_;
  const std::shared_ptr<DockerEngine> engine_;
  const std::shared_ptr<OwnedNames> owned_;
};

Result<std::unique_ptr<SessionProcess>> DockerSessionRuntime::Start(const SessionSpec& spec,
                                                                    SessionOutputSink* sink) {
  if (sink == nullptr) return InvalidArgument("docker session runtime: no output sink");
  AGENTCORE_RETURN_IF_ERROR(ValidateSpec(spec));
  const Steady::time_point deadline = Steady::now() + options_.start_timeout;
  const std::string& sid = spec.session_id;

  if (Result<Json> image = engine_->InspectImage(spec.image); !image.ok()) {
    if (image.error().code() == ErrorCode::kNotFound) {
      return NotFound(fmt::format("image \"{}\" not found; pull or build it", spec.image));
    }
    return Annotate(image.error(), fmt::format("inspect image \"{}\"", spec.image));
  }

  const std::string name = fmt::format("agentcore-s-{}-{}", spec.instance, sid);
  owned_->Add(name);
  struct NameGuard {
    OwnedNames* owned;
    const std::string& name;
    bool keep = false;
    ~NameGuard() {
      if (!keep) owned->Remove(name);
    }
  } name_guard{owned_.get(), name};

  const Json config = ContainerConfig(spec, options_.network);
  Result<std::string> created = engine_->CreateContainer(name, config);
  if (!created.ok() && internal::IsNameInUse(created.error())) {
    // Left by an earlier process of this instance (a crash before ReapOrphans ran): replace it.
    Status removed = engine_->RemoveContainer(name, /*force=*/true);
    if (!removed.ok() && removed.code() != ErrorCode::kNotFound) {
      return Annotate(removed, fmt::format("remove the stale container {}", name));
    }
    created = engine_->CreateContainer(name, config);
  }
  if (!created.ok()) {
    return Annotate(created.error(), fmt::format("create the container of session \"{}\"", sid));
  }
  const std::string id = *created;
  auto fail = [&](const Status& status, std::string_view what) -> Status {
    (void)engine_->RemoveContainer(id, /*force=*/true);
    return Annotate(status, fmt::format("{} the container of session \"{}\"", what, sid));
  };

  // Attach before start, so that the first byte of output is on this socket.
  Result<HijackedConnection> conn = engine_->AttachContainer(id);
  if (!conn.ok()) return fail(conn.error(), "attach to");
  if (Status started = engine_->StartContainer(id); !started.ok()) {
    conn->Close();
    return fail(started, "start");
  }
  Json inspect;
  for (;;) {
    Result<Json> r = engine_->InspectContainer(id);
    if (!r.ok()) {
      conn->Close();
      return fail(r.error(), "inspect");
    }
    if (internal::InspectRunning(*r)) {
      inspect = std::move(*r);
      break;
    }
    // A command that already ended ran: its exit comes through the sink like any other.
    const Json* state = r->Find("State");
    const std::string* status =
        state != nullptr && state->is_object() ? state->FindString("Status") : nullptr;
    if (status != nullptr && (*status == "exited" || *status == "stopped" || *status == "dead")) {
      inspect = std::move(*r);
      break;
    }
    if (Steady::now() >= deadline) {
      conn->Close();
      return fail(Status(ErrorCode::kDeadlineExceeded,
                         fmt::format("not running after {} ms", options_.start_timeout.count())),
                  "start");
    }
    std::this_thread::sleep_for(kStartPoll);
  }

  auto shared = std::make_shared<SessionShared>();
  shared->engine = engine_;
  shared->owned = owned_;
  shared->id = id;
  shared->name = name;
  shared->session_id = sid;
  shared->sink = sink;
  shared->call_timeout = options_.call_timeout;
  std::string leftover = conn->TakeLeftover();
  shared->conn = std::move(*conn);
  if (spec.network == SessionNetwork::kExposed) {
    for (const SessionPort& p : spec.ports) {
      std::string endpoint = PublishedEndpoint(inspect, p.port);
      if (!endpoint.empty()) shared->endpoints[p.port] = std::move(endpoint);
    }
  }
  name_guard.keep = true;  // the process removes it from the owned names when it goes
  return std::unique_ptr<SessionProcess>(std::make_unique<DockerSessionProcess>(
      std::move(shared), spec.network, spec.ports, std::move(leftover)));
}

Result<std::size_t> DockerSessionRuntime::ReapOrphans(std::string_view instance) {
  if (!IsNameSafe(instance)) {
    return InvalidArgument(fmt::format(
        "docker session runtime: instance \"{}\" must be 1 to {} characters of [A-Za-z0-9_.-]",
        instance.substr(0, 100), kMaxNameBytes));
  }
  Result<std::vector<Json>> list = engine_->ListContainers(
      {fmt::format("{}={}", kLabelInstance, instance), std::string(kLabelSession)});
  if (!list.ok()) return Annotate(list.error(), "list session containers");
  std::size_t removed = 0;
  Status first_error;
  for (const Json& c : *list) {
    const std::string* id = c.FindString("Id");
    const Json* labels = c.Find("Labels");
    if (id == nullptr || labels == nullptr || !labels->is_object()) continue;
    // The engine filtered by label; check again: never touch another instance's container, nor
    // an agent's (no session label).
    const std::string* label_instance = labels->FindString(kLabelInstance);
    if (label_instance == nullptr || *label_instance != instance ||
        labels->Find(kLabelSession) == nullptr) {
      continue;
    }
    bool ours = false;  // a live session of this runtime (or one being created) is no orphan
    if (const Json* names = c.Find("Names"); names != nullptr && names->is_array()) {
      for (const Json& n : names->as_array()) {
        if (!n.is_string()) continue;
        std::string_view name = n.as_string();
        if (!name.empty() && name.front() == '/') name.remove_prefix(1);
        ours = ours || owned_->Contains(name);
      }
    }
    if (ours) continue;
    // Forced removal kills a running container first.
    Status r = engine_->RemoveContainer(*id, /*force=*/true);
    if (r.ok()) {
      ++removed;
    } else if (r.code() != ErrorCode::kNotFound && first_error.ok()) {
      first_error = Annotate(r, fmt::format("remove orphaned session container {}", *id));
    }
  }
  if (!first_error.ok()) return first_error;
  return removed;
}

}  // namespace

Result<std::unique_ptr<SessionRuntime>> OpenDockerSessionRuntime(
    DockerSessionRuntimeOptions options) {
  if (options.call_timeout.count() <= 0 || options.start_timeout.count() <= 0) {
    return InvalidArgument(
        "docker session runtime: call_timeout and start_timeout must be positive");
  }
  AGENTCORE_ASSIGN_OR_RETURN(std::string socket, internal::DockerSocketPath(options.docker_host));
  auto engine = std::make_shared<DockerEngine>(socket, options.call_timeout);
  if (Status ping = engine->Ping(); !ping.ok()) {
    return Unavailable(fmt::format("docker: the engine at {} does not answer: {}", socket,
                                   ping.message()));
  }
  return std::unique_ptr<SessionRuntime>(
      std::make_unique<DockerSessionRuntime>(std::move(options), std::move(engine)));
}

}  // namespace agentcore
