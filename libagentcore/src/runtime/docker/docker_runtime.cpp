// SPDX-License-Identifier: Apache-2.0
// The Docker Engine API runtime (see docker.hpp for the contract, docs/runtimes.md for the
// design).
//
// Threads: the callers' (Activate, Suspend... make engine calls with no lock held), the watcher
// "agentcore-docker" (follows one long /events stream, cancelled at Shutdown, and lists the
// containers before every reconnect, so that no exit is missed) and the dispatcher
// "agentcore-dockev" (an EventDispatcher: delivers the queued events to the observer in order,
// with no lock held).
//
// Locks: mu_ guards the agent table, and events are queued under it; it is never held across an
// engine call. Each agent also has an operation mutex (ops_) that Activate, Suspend and the
// cleanup of an exited container hold for their whole sequence of engine calls, so two of them
// never interleave on one agent. log_mu_ orders archiving against ReadLog.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <agentcore/json.hpp>
#include <agentcore/runtime/agent_image.hpp>
#include <agentcore/runtime/docker.hpp>
#include <agentcore/runtime/runtime.hpp>

#include "runtime/docker/docker_engine.hpp"
#include "runtime/event_dispatcher.hpp"
#include "runtime/process_files.hpp"

namespace agentcore {
namespace {

using internal::Annotate;
using internal::DockerEngine;
using internal::InspectExitCode;
using internal::InspectRunning;
using Steady = std::chrono::steady_clock;

constexpr std::size_t kMaxSystemPromptBytes = 100 * 1024;
constexpr std::size_t kMaxInstanceBytes = 64;
// Reconnecting the /events stream after an error.
constexpr std::chrono::milliseconds kBackoffMin{100};
constexpr std::chrono::milliseconds kBackoffMax{5'000};
// Waiting for a container to be gone after a forced stop.
constexpr std::chrono::milliseconds kAfterKillWait{5'000};

constexpr std::string_view kLabelInstance = "agentcore.instance";
constexpr std::string_view kLabelAgentId = "agentcore.agent-id";

int SuggestPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

Status ValidateEnv(const EnvList& env, std::string_view what) {
  return internal::ValidateContainerEnv(env, what);
}

std::uint64_t Fnv1a64(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string ErrnoText(int err) { return std::system_category().message(err); }

// Appends `data` to the file at `path` (created if missing).
Status AppendFile(const std::string& path, std::string_view data) {
  if (data.empty()) return Status::Ok();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Internal(fmt::format("cannot open \"{}\": {}", path, ErrnoText(errno)));
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Internal(fmt::format("cannot write \"{}\": {}", path, ErrnoText(err)));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
  return Status::Ok();
}

bool InspectTty(const Json& inspect) {
  const Json* config = inspect.Find("Config");
  const Json* tty = config != nullptr && config->is_object() ? config->Find("Tty") : nullptr;
  return tty != nullptr && tty->is_bool() && tty->as_bool();
}

// A container's exit code as AgentExit: the engine reports 128+N for a signal N.
AgentExit ExitFromCode(int code) {
  AgentExit exit;
  exit.exit_code = code;
  return exit;
}

enum class Phase : std::uint8_t {
  kStarting,  // created; the start request has not returned yet
  kRunning,   // started; its end not seen yet
  kEnded,     // its end was seen (the container may still exist until cleaned)
};

struct Agent {
  RuntimeAgentState state;
  std::string dir;           // data_dir/agents/<AgentDirName>
  std::string container_id;  // of the latest container
  bool tty = false;
  Phase phase = Phase::kEnded;
  bool container_present = false;  // the latest container exists on the engine (not removed)
  bool stop_requested = false;
  std::string stop_reason;
  std::optional<AgentExit> pending_exit;  // seen while kStarting
  bool pending_exit_seen = false;
};

// The runtime of docker.hpp. Thread-safe; owns its two threads and the containers it created
// (until they are removed).
class DockerRuntime final : public Runtime {
 public:
  DockerRuntime(DockerOptions options, const RuntimeOptions& runtime_options,
                std::string socket_path, std::string agents_dir)
      : options_(std::move(options)),
        observer_(runtime_options.observer),
        clock_(runtime_options.clock != nullptr ? runtime_options.clock : SystemClock()),
        agents_dir_(std::move(agents_dir)),
        engine_(std::move(socket_path), options_.api_timeout),
        dispatcher_(observer_, "agentcore-dockev") {
    watcher_ = std::thread([this] { WatchLoop(); });
  }

  ~DockerRuntime() override {
    if (options_.stop_agents_on_destroy) {
      (void)Shutdown();
    } else {
      StopThreads();
    }
  }

  std::string_view Kind() const override { return "docker"; }

  Result<RuntimeAgentState> Activate(const ActivateRequest& req) override;
  Status Checkin(std::string_view agent_id, std::string_view endpoint) override;
  Status Suspend(std::string_view agent_id, std::string_view reason) override;
  std::optional<RuntimeAgentState> GetState(std::string_view agent_id) const override;
  std::vector<RuntimeAgentState> ListAgents() const override;
  Result<LogChunk> ReadLog(std::string_view agent_id, std::uint64_t offset,
                           std::size_t max_bytes) const override;
  Json RouteHints(std::string_view) const override { return Json(); }
  Result<std::vector<std::string>> ReapOrphans() override;
  Status Shutdown() override;

 private:
  std::string AgentDir(std::string_view agent_id) const {
    return agents_dir_ + "/" + internal::AgentDirName(agent_id);
  }
  std::string ContainerName(std::string_view agent_id) const {
    return fmt::format("agentcore-{}-{:016x}", options_.instance, Fnv1a64(agent_id));
  }
  std::shared_ptr<std::mutex> OpMutex(std::string_view agent_id) {
    std::lock_guard<std::mutex> lock(ops_mu_);
    auto& m = ops_[std::string(agent_id)];
    if (!m) m = std::make_shared<std::mutex>();
    return m;
  }

  // Builds the container's configuration (secrets only in Env).
  Json ContainerConfig(const ActivateRequest& req, const DockerAgentType& type,
                       const EnvList& env) const;
  // Notes the end of container `id` (exit code when known) and queues the event.
  // REQUIRES: mu_ held.
  void OnContainerEndedLocked(const std::string& container_id, std::optional<int> code);
  // Stops container `id` (grace, then SIGKILL by the engine), appends its logs to `dir/log` and
  // removes it. Returns the exit code when it could be read. kNotFound when it is gone.
  Result<std::optional<int>> StopArchiveRemove(std::string_view what, const std::string& id,
                                               const std::string& dir, bool stop);
  // Appends container `id`'s logs to `dir/log`, then removes the container.
  Status ArchiveAndRemove(std::string_view what, const std::string& id, const std::string& dir,
                          std::optional<bool> tty);
  // Stops, archives and removes the agent's current container (Suspend's work). REQUIRES: the
  // agent's op mutex held.
  Status StopAgent(const std::string& agent_id, std::string_view reason);
  // Removes the container of an agent that ended by itself, unless an operation is running on
  // the agent (that operation then cleans it). Called on the watcher thread.
  void CleanupEnded(const std::string& agent_id, const std::string& container_id);
  // Lists this instance's containers and notes the end of every agent whose container is no
  // longer running. Called by the watcher after every (re)connect.
  Status Resync();

  void WatchLoop();
  // REQUIRES: mu_ held (so that events are queued in the order the table changed).
  void Push(AgentEvent event) { dispatcher_.Push(std::move(event)); }
  void StopThreads();

  // Constant after construction.
  const DockerOptions options_;
  RuntimeObserver* const observer_;
  Clock* const clock_;
  const std::string agents_dir_;
  mutable DockerEngine engine_;

  std::thread watcher_;  // "agentcore-docker"; joined under join_mu_
  std::mutex join_mu_;
  internal::EventDispatcher dispatcher_;  // "agentcore-dockev"

  // One operation mutex per agent id ever activated (guarded by ops_mu_); taken before mu_.
  std::mutex ops_mu_;
  std::map<std::string, std::shared_ptr<std::mutex>, std::less<>> ops_;
  // Taken before mu_: an archive append and the container leaving ReadLog's view are atomic.
  mutable std::mutex log_mu_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::map<std::string, Agent, std::less<>> agents_;
  std::set<std::string, std::less<>> started_ids_;  // every container this process created
  // Names of containers being created (ReapOrphans must not take them for orphans).
  std::multiset<std::string, std::less<>> creating_names_;
  bool shut_down_ = false;
  bool stop_threads_ = false;
  std::vector<std::pair<std::string, std::string>> to_clean_;  // (agent id, container id)
};

// --- Activate

Json DockerRuntime::ContainerConfig(const ActivateRequest& req, const DockerAgentType& type,
                                    const EnvList& env) const {
  // Activate() validated the id.
  const RuntimeAgentIdParts parts = *SplitRuntimeAgentId(req.agent_id);
  Json labels = Json::Object();
  labels.Set(kLabelInstance, options_.instance);
  labels.Set("agentcore.space", parts.space);
  labels.Set("agentcore.channel", parts.channel);
  labels.Set("agentcore.callsign", parts.callsign);
  labels.Set(kLabelAgentId, req.agent_id);
  labels.Set("agentcore.agent-type", req.agent_type);

  JsonArray env_json;
  for (const auto& [n, v] : env) env_json.emplace_back(n + "=" + v);

  Json host = Json::Object();
  host.Set("NetworkMode", type.network_mode);
  if (type.image.cpu_millis > 0) host.Set("NanoCpus", type.image.cpu_millis * 1'000'000);
  if (type.image.memory_bytes > 0) host.Set("Memory", type.image.memory_bytes);
  if (!type.mounts.empty()) {
    JsonArray binds;
    for (const DockerMount& m : type.mounts) {
      binds.emplace_back(m.source + ":" + m.target + (m.read_only ? ":ro" : ""));
    }
    host.Set("Binds", Json(std::move(binds)));
  }

  Json config = Json::Object();
  config.Set("Image", type.image.image);
  if (!type.image.command.empty()) {
    JsonArray cmd;
    for (const std::string& a : type.image.command) cmd.emplace_back(a);
    config.Set("Cmd", Json(std::move(cmd)));
  }
  config.Set("Env", Json(std::move(env_json)));
  config.Set("Labels", std::move(labels));
  config.Set("Tty", false);
  config.Set("OpenStdin", false);
  config.Set("AttachStdin", false);
  config.Set("HostConfig", std::move(host));
  return config;
}

Result<RuntimeAgentState> DockerRuntime::Activate(const ActivateRequest& req) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(req.agent_id));
  if (req.agent_type.empty()) {
    return InvalidArgument(fmt::format("agent \"{}\" has an empty agent type", req.agent_id));
  }
  AGENTCORE_RETURN_IF_ERROR(ValidateEnv(req.extra_env, "extra_env"));
  if (req.system_prompt.size() > kMaxSystemPromptBytes) {
    return TooLarge(fmt::format("system prompt of agent \"{}\" is {} bytes; the limit is {}",
                                req.agent_id, req.system_prompt.size(), kMaxSystemPromptBytes));
  }
  auto type_it = options_.types.find(req.agent_type);
  if (type_it == options_.types.end()) type_it = options_.types.find("*");
  if (type_it == options_.types.end()) {
    return InvalidArgument(
        fmt::format("no image for agent type \"{}\" in the docker runtime (and no \"*\" default)",
                    req.agent_type));
  }
  const DockerAgentType& type = type_it->second;

  std::shared_ptr<std::mutex> op = OpMutex(req.agent_id);
  std::lock_guard<std::mutex> op_lock(*op);  // waits for a suspend in progress
  const std::string dir = AgentDir(req.agent_id);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return Unavailable("the docker runtime is shut down");
    auto it = agents_.find(req.agent_id);
    if (it != agents_.end() && it->second.phase == Phase::kRunning && !it->second.stop_requested) {
      return it->second.state;  // idempotent
    }
  }
  // An earlier container of this agent that ended by itself: keep its logs, remove it.
  std::string stale_id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = agents_.find(req.agent_id);
    if (it != agents_.end() && it->second.container_present) stale_id = it->second.container_id;
  }
  if (!stale_id.empty()) (void)ArchiveAndRemove("remove", stale_id, dir, std::nullopt);

  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Internal(
        fmt::format("cannot create \"{}\" for agent \"{}\": {}", dir, req.agent_id, ec.message()));
  }

  std::string callback_url = req.callback_url;
  int port = 0;
  if (callback_url.empty() && options_.suggest_callback_port) {
    port = SuggestPort();
    if (port != 0) callback_url = fmt::format("http://127.0.0.1:{}", port);
  }
  const EnvList env = AgentEnvironment(req, type.image.env, callback_url, port);
  const Json config = ContainerConfig(req, type, env);
  const std::string name = ContainerName(req.agent_id);
  const std::string what = fmt::format("create container for \"{}\"", req.agent_id);

  auto fail = [&](const Status& status) -> Status {
    std::lock_guard<std::mutex> lock(mu_);
    Agent& a = agents_[req.agent_id];
    a.dir = dir;
    a.phase = Phase::kEnded;
    a.state = RuntimeAgentState{};
    a.state.agent_id = req.agent_id;
    a.state.agent_type = req.agent_type;
    a.state.status = AgentStatus::kError;
    a.state.started_at = clock_->NowMillis();
    a.state.stopped_at = a.state.started_at;
    a.state.reason = status.message();
    return status;
  };

  {
    std::lock_guard<std::mutex> lock(mu_);
    creating_names_.insert(name);
  }
  struct CreatingGuard {
    DockerRuntime* self;
    const std::string& name;
    ~CreatingGuard() {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->creating_names_.erase(self->creating_names_.find(name));
    }
  } creating_guard{this, name};
  Result<std::string> created = engine_.CreateContainer(name, config);
  if (!created.ok() && internal::IsNameInUse(created.error())) {
    // A container of this name is left from an earlier run (a crash, a failed removal): keep
    // its logs and replace it.
    Status removed = ArchiveAndRemove("remove stale container", name, dir, std::nullopt);
    if (!removed.ok() && removed.code() != ErrorCode::kNotFound) return fail(removed);
    created = engine_.CreateContainer(name, config);
  }
  if (!created.ok()) return fail(Annotate(created.error(), what));
  const std::string id = *created;
  bool shutting_down = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    started_ids_.insert(id);
    // Shutdown() takes its list of containers under mu_ when it sets shut_down_: a container
    // recorded here before that is stopped by it; one created after must not be recorded.
    shutting_down = shut_down_;
    if (!shutting_down) {
      Agent& a = agents_[req.agent_id];
      a = Agent{};
      a.dir = dir;
      a.container_id = id;
      a.phase = Phase::kStarting;
      a.container_present = true;
      a.state.agent_id = req.agent_id;
      a.state.agent_type = req.agent_type;
      a.state.status = AgentStatus::kActivating;
      a.state.instance_id = id.substr(0, 12);
      a.state.endpoint = callback_url;
      a.state.started_at = clock_->NowMillis();
    }
  }
  if (shutting_down) {
    (void)engine_.RemoveContainer(id, /*force=*/true);
    return Unavailable("the docker runtime is shut down");
  }
  Status started = engine_.StartContainer(id);
  if (!started.ok()) {
    (void)engine_.RemoveContainer(id, /*force=*/true);
    {
      std::lock_guard<std::mutex> lock(mu_);
      agents_[req.agent_id].container_present = false;
    }
    return fail(Annotate(started, fmt::format("start container for \"{}\"", req.agent_id)));
  }
  std::lock_guard<std::mutex> lock(mu_);
  Agent& a = agents_[req.agent_id];
  a.phase = Phase::kRunning;
  Push(AgentEvent{AgentEventKind::kActivating, req.agent_id, std::nullopt, {}});
  RuntimeAgentState result = a.state;
  if (a.pending_exit_seen) {
    std::optional<int> code;
    if (a.pending_exit) code = a.pending_exit->exit_code;
    a.pending_exit_seen = false;
    OnContainerEndedLocked(id, code);
  }
  return result;
}

// --- Exits

void DockerRuntime::OnContainerEndedLocked(const std::string& container_id,
                                           std::optional<int> code) {
  for (auto& [agent_id, a] : agents_) {
    if (a.container_id != container_id) continue;
    if (a.phase == Phase::kStarting) {
      a.pending_exit_seen = true;
      if (code) a.pending_exit = ExitFromCode(*code);
      return;
    }
    if (a.phase != Phase::kRunning) return;  // already noted
    a.phase = Phase::kEnded;
    RuntimeAgentState& st = a.state;
    st.stopped_at = clock_->NowMillis();
    st.exit = code ? std::optional<AgentExit>(ExitFromCode(*code)) : std::nullopt;
    const std::string described =
        st.exit ? DescribeAgentExit(*st.exit) : "ended (exit status unknown)";
    if (a.stop_requested) {
      st.status = AgentStatus::kOffline;
      st.reason = a.stop_reason;
      Push(AgentEvent{AgentEventKind::kOffline, agent_id, st.exit, st.reason});
    } else if (st.exit && st.exit->success()) {
      st.status = AgentStatus::kOffline;
      st.reason = described;
      Push(AgentEvent{AgentEventKind::kOffline, agent_id, st.exit, st.reason});
    } else {
      st.status = AgentStatus::kError;
      st.reason = described;
      Push(AgentEvent{AgentEventKind::kFailed, agent_id, st.exit, st.reason});
    }
    if (!a.stop_requested) to_clean_.emplace_back(agent_id, container_id);
    return;
  }
}

Status DockerRuntime::ArchiveAndRemove(std::string_view what, const std::string& id,
                                       const std::string& dir, std::optional<bool> tty) {
  if (!tty) {
    Result<Json> inspect = engine_.InspectContainer(id);
    if (!inspect.ok()) return Annotate(inspect.error(), fmt::format("{} {}", what, id));
    tty = InspectTty(*inspect);
  }
  Result<std::string> logs = engine_.Logs(id, *tty);
  if (!logs.ok() && logs.error().code() != ErrorCode::kNotFound) {
    return Annotate(logs.error(), fmt::format("read the logs of {}", id));
  }
  {
    std::lock_guard<std::mutex> log_lock(log_mu_);
    if (logs.ok()) {
      std::error_code ec;
      std::filesystem::create_directories(dir, ec);
      Status appended = AppendFile(dir + "/log", *logs);
      if (!appended.ok()) return appended;
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [agent_id, a] : agents_) {
      if (a.container_id == id) a.container_present = false;
    }
  }
  Status removed = engine_.RemoveContainer(id, /*force=*/true);
  if (!removed.ok() && removed.code() != ErrorCode::kNotFound) {
    return Annotate(removed, fmt::format("{} {}", what, id));
  }
  return logs.ok() ? Status::Ok() : Annotate(logs.error(), fmt::format("{} {}", what, id));
}

Result<std::optional<int>> DockerRuntime::StopArchiveRemove(std::string_view what,
                                                            const std::string& id,
                                                            const std::string& dir, bool stop) {
  if (stop) {
    Status stopped = engine_.StopContainer(id, options_.stop_grace);
    if (!stopped.ok()) {
      if (stopped.code() == ErrorCode::kNotFound) return stopped;
      if (stopped.code() == ErrorCode::kDeadlineExceeded) {
        (void)engine_.KillContainer(id, "SIGKILL");
      } else {
        return Annotate(stopped, what);
      }
    }
  }
  Result<Json> inspect = engine_.InspectContainer(id);
  if (!inspect.ok()) return Annotate(inspect.error(), what);
  if (InspectRunning(*inspect)) {
    // The engine's stop returned with the container still running: kill, then wait.
    (void)engine_.KillContainer(id, "SIGKILL");
    Result<int> waited = engine_.WaitContainer(id, kAfterKillWait);
    if (!waited.ok()) {
      return Status(ErrorCode::kDeadlineExceeded,
                    fmt::format("docker: {}: still running after SIGKILL: {}", what,
                                waited.error().message()));
    }
    inspect = engine_.InspectContainer(id);
    if (!inspect.ok()) return Annotate(inspect.error(), what);
  }
  std::optional<int> code = InspectExitCode(*inspect);
  AGENTCORE_RETURN_IF_ERROR(ArchiveAndRemove(what, id, dir, InspectTty(*inspect)));
  return code;
}

Status DockerRuntime::StopAgent(const std::string& agent_id, std::string_view reason) {
  std::string id, dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = agents_.find(agent_id);
    if (it == agents_.end() || !it->second.container_present) return Status::Ok();
    Agent& a = it->second;
    id = a.container_id;
    dir = a.dir;
    if (a.phase == Phase::kRunning && !a.stop_requested) {
      a.stop_requested = true;
      a.stop_reason = std::string(reason);
      a.state.status = AgentStatus::kSuspending;
    }
  }
  Result<std::optional<int>> code =
      StopArchiveRemove(fmt::format("stop container for \"{}\"", agent_id), id, dir, true);
  std::lock_guard<std::mutex> lock(mu_);
  if (!code.ok() && code.error().code() != ErrorCode::kNotFound) {
    auto it = agents_.find(agent_id);
    if (it != agents_.end() && it->second.phase == Phase::kRunning &&
        code.error().code() != ErrorCode::kDeadlineExceeded) {
      // Still running as far as we know: the stop may be tried again.
      it->second.stop_requested = false;
      it->second.state.status = AgentStatus::kActivating;
    }
    return code.error();
  }
  auto it = agents_.find(agent_id);
  if (it != agents_.end()) it->second.container_present = false;
  OnContainerEndedLocked(id, code.ok() ? *code : std::nullopt);
  return Status::Ok();
}

Status DockerRuntime::Suspend(std::string_view agent_id, std::string_view reason) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  std::shared_ptr<std::mutex> op = OpMutex(agent_id);
  std::lock_guard<std::mutex> op_lock(*op);
  return StopAgent(std::string(agent_id), reason);
}

void DockerRuntime::CleanupEnded(const std::string& agent_id, const std::string& container_id) {
  std::shared_ptr<std::mutex> op = OpMutex(agent_id);
  std::unique_lock<std::mutex> op_lock(*op, std::try_to_lock);
  if (!op_lock.owns_lock()) return;  // Activate or Suspend is working on it and will clean up
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = agents_.find(agent_id);
    if (it == agents_.end() || it->second.container_id != container_id ||
        !it->second.container_present) {
      return;
    }
    dir = it->second.dir;
  }
  (void)ArchiveAndRemove("remove", container_id, dir, std::nullopt);
}

Status DockerRuntime::Resync() {
  Result<std::vector<Json>> list =
      engine_.ListContainers({fmt::format("{}={}", kLabelInstance, options_.instance)});
  if (!list.ok()) return list.error();
  std::set<std::string> running;
  for (const Json& c : *list) {
    const std::string* id = c.FindString("Id");
    const std::string* state = c.FindString("State");
    if (id != nullptr && state != nullptr && *state == "running") running.insert(*id);
  }
  std::vector<std::string> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [agent_id, a] : agents_) {
      if (a.phase == Phase::kRunning && running.count(a.container_id) == 0) {
        gone.push_back(a.container_id);
      }
    }
  }
  for (const std::string& id : gone) {
    std::optional<int> code;
    Result<Json> inspect = engine_.InspectContainer(id);
    if (inspect.ok()) {
      if (InspectRunning(*inspect)) continue;  // started after the list was taken
      code = InspectExitCode(*inspect);
    } else if (inspect.error().code() != ErrorCode::kNotFound) {
      return inspect.error();
    }
    std::lock_guard<std::mutex> lock(mu_);
    OnContainerEndedLocked(id, code);
  }
  return Status::Ok();
}

void DockerRuntime::WatchLoop() {
  ::pthread_setname_np(::pthread_self(), "agentcore-docker");
  Json filters = Json::Object();
  // Podman 4.3 ignores events when an "event" filter is given: die is picked out here.
  filters.Set("type", Json(JsonArray{Json("container")}));
  filters.Set("label",
              Json(JsonArray{Json(fmt::format("{}={}", kLabelInstance, options_.instance))}));
  std::chrono::milliseconds backoff = kBackoffMin;
  auto stopping = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return stop_threads_;
  };
  auto clean = [this] {
    std::vector<std::pair<std::string, std::string>> batch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      batch.swap(to_clean_);
    }
    for (const auto& [agent_id, id] : batch) CleanupEnded(agent_id, id);
  };
  while (!stopping()) {
    // Exits that fell between two streams (or happened while the engine was away).
    bool any_running = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [agent_id, a] : agents_)
        any_running = any_running || a.phase == Phase::kRunning;
    }
    // The stream replays from a second before the list, so that an exit between the two is
    // seen (a replayed die of a container already noted ended changes nothing).
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const long long since = std::chrono::duration_cast<std::chrono::seconds>(now).count() - 1;
    Status s = any_running ? Resync() : Status::Ok();
    if (s.ok()) {
      clean();
      // One long stream; Shutdown cancels it (the client polls `stopping` about once a second).
      s = engine_.StreamEvents(
          filters, since, std::chrono::milliseconds(0),
          [&](const Json& event) {
            const std::string* action = event.FindString("Action");
            if (action == nullptr) action = event.FindString("status");
            const Json* actor = event.Find("Actor");
            const std::string* id = actor != nullptr ? actor->FindString("ID") : nullptr;
            if (id == nullptr) id = event.FindString("id");
            if (action != nullptr && id != nullptr && *action == "die") {
              std::optional<int> code;
              const Json* attrs = actor != nullptr ? actor->Find("Attributes") : nullptr;
              const std::string* exit_code =
                  attrs != nullptr ? attrs->FindString("exitCode") : nullptr;
              int value = 0;
              if (exit_code != nullptr &&
                  std::from_chars(exit_code->data(), exit_code->data() + exit_code->size(), value)
                          .ec == std::errc()) {
                code = value;
              }
              {
                std::lock_guard<std::mutex> lock(mu_);
                OnContainerEndedLocked(*id, code);
              }
              clean();
            }
            return !stopping();
          },
          stopping);
    }
    clean();
    if (s.ok()) {
      backoff = kBackoffMin;
      continue;
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, backoff, [this] { return stop_threads_; });
    backoff = std::min(backoff * 2, kBackoffMax);
  }
}

void DockerRuntime::StopThreads() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_threads_ = true;
    cv_.notify_all();
  }
  {
    std::lock_guard<std::mutex> join_lock(join_mu_);
    if (watcher_.joinable() && watcher_.get_id() != std::this_thread::get_id()) watcher_.join();
  }
  dispatcher_.Stop();  // after the watcher, so that its last events are delivered too
}

Status DockerRuntime::Shutdown() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shut_down_ = true;
    for (const auto& [id, a] : agents_) {
      if (a.container_present) ids.push_back(id);
    }
  }
  std::vector<Status> results(ids.size());
  std::vector<std::thread> workers;
  workers.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    workers.emplace_back([this, &ids, &results, i] {
      std::shared_ptr<std::mutex> op = OpMutex(ids[i]);
      std::lock_guard<std::mutex> op_lock(*op);
      results[i] = StopAgent(ids[i], "shutdown");
    });
  }
  for (std::thread& t : workers) t.join();
  StopThreads();
  for (const Status& s : results) {
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

// --- Queries

Status DockerRuntime::Checkin(std::string_view agent_id, std::string_view endpoint) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end() || it->second.phase == Phase::kEnded || it->second.stop_requested) {
    return Conflict(fmt::format("agent \"{}\" is not running in the docker runtime", agent_id));
  }
  RuntimeAgentState& st = it->second.state;
  st.endpoint = std::string(endpoint);
  if (st.status != AgentStatus::kOnline) {
    st.status = AgentStatus::kOnline;
    Push(AgentEvent{AgentEventKind::kOnline, st.agent_id, std::nullopt, {}});
  }
  return Status::Ok();
}

std::optional<RuntimeAgentState> DockerRuntime::GetState(std::string_view agent_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = agents_.find(agent_id);
  if (it == agents_.end()) return std::nullopt;
  return it->second.state;
}

std::vector<RuntimeAgentState> DockerRuntime::ListAgents() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RuntimeAgentState> out;
  for (const auto& [id, a] : agents_) {
    if (a.phase != Phase::kEnded) out.push_back(a.state);
  }
  return out;
}

Result<LogChunk> DockerRuntime::ReadLog(std::string_view agent_id, std::uint64_t offset,
                                        std::size_t max_bytes) const {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  // The log is the archive (data_dir/agents/<dir>/log: the containers that are gone) followed
  // by the live container's logs. The archive only grows by appends, and an append happens
  // together with the container leaving `container_present` (under log_mu_), so the two parts
  // never overlap and offsets stay valid across an archiving.
  const std::string path = AgentDir(agent_id) + "/log";
  int fd = -1;
  std::uint64_t archive_size = 0;
  std::string live_id;
  {
    std::lock_guard<std::mutex> log_lock(log_mu_);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
      return Internal(
          fmt::format("cannot open the log of agent \"{}\": {}", agent_id, ErrnoText(errno)));
    }
    if (fd >= 0) {
      struct stat sb {};
      if (::fstat(fd, &sb) != 0) {
        const int err = errno;
        ::close(fd);
        return Internal(
            fmt::format("cannot stat the log of agent \"{}\": {}", agent_id, ErrnoText(err)));
      }
      archive_size = static_cast<std::uint64_t>(sb.st_size);
    }
    std::lock_guard<std::mutex> lock(mu_);
    auto it = agents_.find(agent_id);
    if (it != agents_.end() && it->second.container_present) live_id = it->second.container_id;
  }
  struct Closer {
    int fd;
    ~Closer() {
      if (fd >= 0) ::close(fd);
    }
  } closer{fd};
  std::string live;
  bool have_live = false;
  if (!live_id.empty()) {
    Result<std::string> logs = engine_.Logs(live_id, false);
    if (logs.ok()) {
      live = std::move(*logs);
      have_live = true;
    } else if (logs.error().code() != ErrorCode::kNotFound) {
      return Annotate(logs.error(), fmt::format("read the logs of \"{}\"", agent_id));
    }
  }
  if (fd < 0 && !have_live) return NotFound(fmt::format("no log for agent \"{}\"", agent_id));
  LogChunk chunk;
  chunk.size = archive_size + live.size();
  if (offset > chunk.size) {
    return InvalidArgument(
        fmt::format("offset {} is past the end of the log of agent \"{}\" ({} bytes)", offset,
                    agent_id, chunk.size));
  }
  const std::size_t want = static_cast<std::size_t>(
      std::min<std::uint64_t>({chunk.size - offset, max_bytes, kMaxLogChunkBytes}));
  chunk.data.resize(want);
  std::size_t got = 0;
  while (got < want && offset + got < archive_size) {
    const std::size_t n_want =
        static_cast<std::size_t>(std::min<std::uint64_t>(want - got, archive_size - offset - got));
    const ssize_t n =
        ::pread(fd, chunk.data.data() + got, n_want, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Internal(
          fmt::format("cannot read the log of agent \"{}\": {}", agent_id, ErrnoText(errno)));
    }
    if (n == 0) break;  // cannot happen for an append-only file; stop rather than spin
    got += static_cast<std::size_t>(n);
  }
  if (got < want && offset + got >= archive_size) {
    const std::string_view rest = std::string_view(live).substr(
        static_cast<std::size_t>(offset + got - archive_size), want - got);
    std::copy(rest.begin(), rest.end(), chunk.data.begin() + static_cast<std::ptrdiff_t>(got));
    got += rest.size();
  }
  chunk.data.resize(got);
  chunk.next_offset = offset + got;
  return chunk;
}

// --- Orphans

Result<std::vector<std::string>> DockerRuntime::ReapOrphans() {
  Result<std::vector<Json>> list =
      engine_.ListContainers({fmt::format("{}={}", kLabelInstance, options_.instance)});
  if (!list.ok()) {
    return Status(list.error().code() == ErrorCode::kUnavailable ||
                          list.error().code() == ErrorCode::kDeadlineExceeded
                      ? list.error().code()
                      : ErrorCode::kInternal,
                  fmt::format("docker: list containers: {}", list.error().message()));
  }
  struct Orphan {
    std::string id;
    std::string agent_id;
  };
  std::vector<Orphan> orphans;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const Json& c : *list) {
      const std::string* id = c.FindString("Id");
      const Json* labels = c.Find("Labels");
      if (id == nullptr || labels == nullptr || !labels->is_object()) continue;
      // The engine filtered by label; check again: never touch another instance's container.
      const std::string* instance = labels->FindString(kLabelInstance);
      if (instance == nullptr || *instance != options_.instance) continue;
      if (started_ids_.count(*id) != 0) continue;  // ours
      bool creating = false;  // ours too: its Activate has not recorded the id yet
      if (const Json* names = c.Find("Names"); names != nullptr && names->is_array()) {
        for (const Json& n : names->as_array()) {
          if (!n.is_string()) continue;
          std::string_view name = n.as_string();
          if (!name.empty() && name.front() == '/') name.remove_prefix(1);
          creating = creating || creating_names_.count(name) != 0;
        }
      }
      if (creating) continue;
      const std::string* agent_id = labels->FindString(kLabelAgentId);
      orphans.push_back(Orphan{*id, agent_id != nullptr ? *agent_id : ""});
    }
  }
  std::vector<Status> results(orphans.size());
  std::vector<std::thread> workers;
  for (std::size_t i = 0; i < orphans.size(); ++i) {
    workers.emplace_back([this, &orphans, &results, i] {
      const Orphan& o = orphans[i];
      const bool valid_id = ValidateRuntimeAgentId(o.agent_id).ok();
      // Logs of an orphan without a valid agent id label have no directory: they are dropped.
      const std::string dir = valid_id ? AgentDir(o.agent_id) : agents_dir_ + "/.unknown";
      Result<std::optional<int>> r =
          StopArchiveRemove(fmt::format("reap container {}", o.id), o.id, dir, true);
      if (!r.ok() && r.error().code() != ErrorCode::kNotFound) results[i] = r.error();
    });
  }
  for (std::thread& t : workers) t.join();
  std::vector<std::string> ended;
  for (std::size_t i = 0; i < orphans.size(); ++i) {
    if (!results[i].ok()) return results[i];
    if (ValidateRuntimeAgentId(orphans[i].agent_id).ok()) ended.push_back(orphans[i].agent_id);
  }
  std::sort(ended.begin(), ended.end());
  ended.erase(std::unique(ended.begin(), ended.end()), ended.end());
  return ended;
}

Status ValidateOptions(const DockerOptions& o) {
  if (o.instance.empty() || o.instance.size() > kMaxInstanceBytes ||
      o.instance.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789_.-") != std::string::npos) {
    return InvalidArgument(
        fmt::format("docker runtime: instance \"{}\" must be 1 to {} characters of [A-Za-z0-9_.-]",
                    o.instance.substr(0, 100), kMaxInstanceBytes));
  }
  if (o.data_dir.empty()) return InvalidArgument("docker runtime: data_dir must not be empty");
  if (o.stop_grace.count() < 0 || o.api_timeout.count() <= 0) {
    return InvalidArgument(
        "docker runtime: stop_grace must not be negative and api_timeout must be positive");
  }
  for (const auto& [name, type] : o.types) {
    if (type.image.image.empty()) {
      return InvalidArgument(fmt::format("docker runtime: agent type \"{}\" has no image", name));
    }
    if (type.image.cpu_millis < 0 || type.image.memory_bytes < 0) {
      return InvalidArgument(fmt::format(
          "docker runtime: agent type \"{}\" has a negative CPU or memory limit", name));
    }
    if (type.network_mode.empty()) {
      return InvalidArgument(
          fmt::format("docker runtime: agent type \"{}\" has an empty network mode", name));
    }
    for (const DockerMount& m : type.mounts) {
      if (m.source.empty() || m.source[0] != '/' || m.target.empty() || m.target[0] != '/' ||
          m.source.find(':') != std::string::npos || m.target.find(':') != std::string::npos) {
        return InvalidArgument(fmt::format(
            "docker runtime: agent type \"{}\": mount \"{}\" -> \"{}\" needs absolute paths "
            "without ':'",
            name, m.source, m.target));
      }
    }
    AGENTCORE_RETURN_IF_ERROR(
        ValidateEnv(type.image.env, fmt::format("the env of agent type \"{}\"", name)));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Runtime>> NewDockerRuntime(const DockerOptions& options,
                                                  const RuntimeOptions& runtime_options) {
  AGENTCORE_RETURN_IF_ERROR(ValidateOptions(options));
  AGENTCORE_ASSIGN_OR_RETURN(std::string socket, internal::DockerSocketPath(options.docker_host));
  if (options.check_images) {
    DockerEngine engine(socket, options.api_timeout);
    AGENTCORE_RETURN_IF_ERROR(Annotate(engine.Ping(), "ping"));
    std::set<std::string> images;
    for (const auto& [name, type] : options.types) images.insert(type.image.image);
    for (const std::string& image : images) {
      Result<Json> inspect = engine.InspectImage(image);
      if (inspect.ok()) continue;
      if (inspect.error().code() == ErrorCode::kNotFound) {
        return NotFound(fmt::format(
            "docker: image \"{}\" is not on the engine at {}: build it (bash "
            "scripts/build-agent-image.sh builds the echo agent's) or pull it (docker pull {})",
            image, socket, image));
      }
      return Annotate(inspect.error(), fmt::format("inspect image \"{}\"", image));
    }
  }
  const std::string agents_dir = options.data_dir + "/agents";
  std::error_code ec;
  std::filesystem::create_directories(agents_dir, ec);
  if (ec) return Internal(fmt::format("cannot create \"{}\": {}", agents_dir, ec.message()));
  return std::unique_ptr<Runtime>(
      std::make_unique<DockerRuntime>(options, runtime_options, socket, agents_dir));
}

}  // namespace agentcore
