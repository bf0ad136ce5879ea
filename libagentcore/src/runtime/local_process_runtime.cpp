// SPDX-License-Identifier: Apache-2.0
// The local process runtime: posix_spawn + one waitpid watcher thread (see runtimes.hpp for
// the contract and docs/runtimes.md for the design).
//
// Process lifetime invariant: a child stays unreaped (at worst a zombie) until the watcher has
// seen it exit with waitid(WNOWAIT) and has SIGKILLed what is left of its process group. While
// a child is unreaped its pid, and so its process group id, cannot be reused, which makes every
// kill(-pid, ...) on a not-yet-reaped child safe. Reaping happens under mu_, and so does every
// kill of an own child, so no signal can reach a recycled pid.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <agentcore/json.hpp>
#include <agentcore/runtime/agent_image.hpp>
#include <agentcore/runtime/runtime.hpp>
#include <agentcore/runtime/runtimes.hpp>

#include "process/spawn.hpp"
#include "runtime/process_files.hpp"

namespace agentcore {
namespace {

/// waitpid(pid, WNOHANG) for a process that may be this process's child: its pid when reaped
/// now, 0 when it is ours but cannot be reaped yet, -1 when it is not ours (ECHILD) or gone.
pid_t ReapIfOurs(pid_t pid) {
  pid_t got;
  do {
    got = ::waitpid(pid, nullptr, WNOHANG);
  } while (got < 0 && errno == EINTR);
  return got;
}

using internal::AgentDirName;
using internal::PidRecord;
using internal::ProcStat;
using internal::ReadProcStat;
using Steady = std::chrono::steady_clock;

// Below Linux's MAX_ARG_STRLEN (128 KiB per environment string).
constexpr std::size_t kMaxSystemPromptBytes = 100 * 1024;
// How long to wait for a process to disappear after SIGKILL before giving up.
constexpr std::chrono::milliseconds kAfterKillWait{5'000};
// Backstop for the watcher's poll(): without pidfds (kernels before 5.3) this is the latency
// of noticing an exit.
constexpr int kWatcherPollMs = 100;

std::string ErrnoText(int err) { return std::system_category().message(err); }

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  return fd < 0 ? -1 : static_cast<int>(fd);
#else
  (void)pid;
  return -1;
#endif
}

// A free TCP port on 127.0.0.1, or 0. Only a suggestion: the port is free when we close it.
int SuggestPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  int port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

Status ValidateEnv(const std::vector<std::pair<std::string, std::string>>& env,
                   std::string_view what) {
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos ||
        value.find('\0') != std::string::npos) {
      return InvalidArgument(fmt::format("invalid environment variable \"{}\" in {}",
                                         name.substr(0, 100), what));
    }
  }
  return Status::Ok();
}

AgentExit ExitFromWaitStatus(int status) {
  AgentExit exit;
  if (WIFEXITED(status)) {
    exit.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit.signal = WTERMSIG(status);
  }
  return exit;
}

// One agent this runtime has started (in this process's lifetime).
struct Child {
  RuntimeAgentState state;
  std::string dir;        // data_dir/agents/<AgentDirName>
  int pidfd = -1;         // -1 without pidfd support
  bool running = false;   // spawned and not reaped yet
  bool stop_requested = false;
  std::string stop_reason;
  std::string fail_reason;  // set when the start failed after the spawn: end as kError, silently
};

class LocalProcessRuntime final : public Runtime {
 public:
  LocalProcessRuntime(LocalProcessOptions options, const RuntimeOptions& runtime_options,
                      std::string agents_dir, int wake_read, int wake_write)
      : options_(std::move(options)),
        observer_(runtime_options.observer),
        clock_(runtime_options.clock != nullptr ? runtime_options.clock : SystemClock()),
        agents_dir_(std::move(agents_dir)),
        boot_id_(internal::ReadBootId()),
        wake_read_(wake_read),
        wake_write_(wake_write) {
    watcher_ = std::thread([this] { WatchLoop(); });
  }

  ~LocalProcessRuntime() override {
    if (options_.stop_agents_on_destroy) {
      (void)Shutdown();
    } else {
      // Leave the agents and their pid files as a crash would; only stop our thread.
      {
        std::lock_guard<std::mutex> lock(mu_);
        stop_watcher_ = true;
      }
      Wake();
      JoinWatcher();
    }
    for (auto& [id, child] : children_) {
      if (child.pidfd >= 0) ::close(child.pidfd);
    }
    ::close(wake_read_);
    ::close(wake_write_);
  }

  std::string_view Kind() const override { return "local"; }

  Result<RuntimeAgentState> Activate(const ActivateRequest& req) override;
  Status Checkin(std::string_view agent_id, std::string_view endpoint) override;
  Status Suspend(std::string_view agent_id, std::string_view reason) override;
  std::optional<RuntimeAgentState> GetState(std::string_view agent_id) const override;
  std::vector<RuntimeAgentState> ListAgents() const override;
  Result<LogChunk> ReadLog(std::string_view agent_id, std::uint64_t offset,
                           std::size_t max_bytes) const override;
  Json RouteHints(std::string_view agent_id) const override;
  Result<std::vector<std::string>> ReapOrphans() override;
  Status Shutdown() override;

 private:
  std::string AgentDir(std::string_view agent_id) const {
    return agents_dir_ + "/" + AgentDirName(agent_id);
  }
  void Wake() {
    char b = 1;
    // A full pipe already guarantees a wake-up, so EAGAIN is fine.
    (void)!::write(wake_write_, &b, 1);
  }
  void JoinWatcher() {
    std::lock_guard<std::mutex> lock(join_mu_);
    if (watcher_.joinable()) watcher_.join();
  }

  void WatchLoop();
  // Spawns the agent. REQUIRES: mu_ held, no running child for req.agent_id.
  Result<RuntimeAgentState> SpawnLocked(const ActivateRequest& req, const AgentCommand& command);
  // Reaps every own child that has exited. REQUIRES: mu_ held.
  void CollectExitsLocked();
  void OnChildEndedLocked(Child& child, std::optional<AgentExit> exit);
  // SIGTERM to each agent's group, SIGKILL after the grace period, and waits until each has
  // been reaped. REQUIRES: lock holds mu_ (released while waiting).
  Status StopLocked(const std::vector<std::string>& ids, std::string_view reason,
                    std::unique_lock<std::mutex>& lock);
  // Waits until none of `ids` is running or `deadline`; true when none is.
  bool WaitForExitsLocked(const std::vector<std::string>& ids, Steady::time_point deadline,
                          std::unique_lock<std::mutex>& lock);

  // Constant after construction.
  const LocalProcessOptions options_;
  RuntimeObserver* const observer_;
  Clock* const clock_;
  const std::string agents_dir_;
  const std::string boot_id_;
  const int wake_read_;
  const int wake_write_;
  std::thread watcher_;  // "agentcore-lproc"; joined under join_mu_
  std::mutex join_mu_;

  mutable std::mutex mu_;
  std::condition_variable cv_;  // notified when a child has been reaped
  // Guarded by mu_.
  std::map<std::string, Child, std::less<>> children_;
  std::deque<AgentEvent> events_;  // delivered by the watcher, in order
  bool shut_down_ = false;         // Shutdown() has begun: Activate() is refused
  bool stop_watcher_ = false;
};

// --- Activate

Result<RuntimeAgentState> LocalProcessRuntime::Activate(const ActivateRequest& req) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(req.agent_id));
  if (req.agent_type.empty()) {
    return InvalidArgument(fmt::format("agent \"{}\" has an empty agent type", req.agent_id));
  }
  AGENTCORE_RETURN_IF_ERROR(ValidateEnv(req.extra_env, "extra_env"));
  if (req.system_prompt.size() > kMaxSystemPromptBytes) {
    return TooLarge(fmt::format("system prompt of agent \"{}\" is {} bytes; the limit is {}",
                                req.agent_id, req.system_prompt.size(), kMaxSystemPromptBytes));
  }
  auto cmd = options_.commands.find(req.agent_type);
  if (cmd == options_.commands.end()) cmd = options_.commands.find("*");
  if (cmd == options_.commands.end()) {
    return InvalidArgument(fmt::format(
        "no command for agent type \"{}\" in the local runtime (and no \"*\" default)",
        req.agent_type));
  }

  std::unique_lock<std::mutex> lock(mu_);
  // An agent being suspended is waited for, then started again.
  const auto deadline = Steady::now() + options_.kill_grace + kAfterKillWait;
  for (;;) {
    if (shut_down_) return Unavailable("the local runtime is shut down");
    auto it = children_.find(req.agent_id);
    if (it == children_.end() || !it->second.running) break;
    if (!it->second.stop_requested) return it->second.state;  // idempotent
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Unavailable(fmt::format("agent \"{}\" is still stopping", req.agent_id));
    }
  }
  return SpawnLocked(req, cmd->second);
}

Result<RuntimeAgentState> LocalProcessRuntime::SpawnLocked(const ActivateRequest& req,
                                                           const AgentCommand& command) {
  const std::string dir = AgentDir(req.agent_id);
  const std::string workspace =
      command.working_dir.empty() ? dir + "/workspace" : command.working_dir;
  std::error_code ec;
  std::filesystem::create_directories(workspace, ec);
  if (ec) {
    return Internal(fmt::format("cannot create \"{}\" for agent \"{}\": {}", workspace,
                                req.agent_id, ec.message()));
  }
  const std::string log_path = dir + "/log";

  // --- Environment (spec cast §5.2): inherited names, command env, extra env, then CAST_*.
  std::string callback_url = req.callback_url;
  int port = 0;
  if (callback_url.empty() && options_.suggest_callback_port) {
    port = SuggestPort();
    if (port != 0) callback_url = fmt::format("http://127.0.0.1:{}", port);
  }
  EnvList base;
  for (const std::string& name : options_.inherit_env) {
    if (const char* v = std::getenv(name.c_str())) base.emplace_back(name, v);
  }
  for (const auto& [n, v] : command.env) base.emplace_back(n, v);
  const EnvList env = AgentEnvironment(req, std::move(base), callback_url, port);

  // --- Spawn: in its own process group (pgid = pid) so that Suspend can signal the agent and
  // everything it starts; stdout and stderr to the log.
  internal::SpawnSpec spec;
  spec.argv = command.argv;
  spec.env.reserve(env.size());
  for (const auto& [n, v] : env) spec.env.push_back(n + "=" + v);
  spec.cwd = workspace;
  spec.log_path = log_path;

  Child& child = children_[req.agent_id];
  if (child.pidfd >= 0) ::close(child.pidfd);
  child = Child{};
  child.dir = dir;
  child.state.agent_id = req.agent_id;
  child.state.agent_type = req.agent_type;
  child.state.endpoint = callback_url;
  child.state.started_at = clock_->NowMillis();

  Result<pid_t> spawned = internal::SpawnProcess(spec);
  if (!spawned.ok()) {
    child.state.status = AgentStatus::kError;
    child.state.stopped_at = child.state.started_at;
    child.state.reason =
        fmt::format("cannot start \"{}\": {}", command.argv[0], spawned.status().message());
    return Internal(
        fmt::format("cannot start agent \"{}\": {}", req.agent_id, child.state.reason));
  }
  const pid_t pid = *spawned;
  child.running = true;
  child.pidfd = PidfdOpen(pid);
  child.state.status = AgentStatus::kActivating;
  child.state.pid = pid;
  child.state.instance_id = fmt::format("pid:{}", pid);

  // The pid file is what ReapOrphans() finds after a crash. The start time comes from /proc
  // while the child is unreaped, so it is certainly this child's.
  Status written;
  if (auto stat = ReadProcStat(pid)) {
    PidRecord record{req.agent_id, pid, stat->start_time, boot_id_, child.state.started_at};
    written = internal::WriteFileAtomically(dir + "/pid", internal::FormatPidRecord(record));
  } else {
    written = Internal(fmt::format("cannot read /proc/{}/stat", pid));
  }
  if (!written.ok()) {
    // Without a pid file a crash would leave this agent unfindable: do not run it.
    child.fail_reason = written.message();
    child.stop_requested = true;
    ::kill(-pid, SIGKILL);  // unreaped: the group id is still ours
    Wake();
    return Internal(fmt::format("cannot start agent \"{}\": {}", req.agent_id, written.message()));
  }
  events_.push_back(AgentEvent{AgentEventKind::kActivating, req.agent_id, std::nullopt, {}});
  Wake();
  return child.state;
}

// --- Exits

void LocalProcessRuntime::CollectExitsLocked() {
  for (auto& [id, child] : children_) {
    if (!child.running) continue;
    const pid_t pid = child.state.pid;
    siginfo_t info{};
    // WNOWAIT: look without reaping, so the pid (and group id) stays ours for the kill below.
    int r = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
    if (r != 0) {
      if (errno == ECHILD) {
        // Someone else reaped it (the embedder called waitpid(-1) or ignores SIGCHLD). Its
        // group id may already be recycled, so nothing more is signalled.
        OnChildEndedLocked(child, std::nullopt);
      }
      continue;
    }
    if (info.si_pid == 0) continue;  // still running
    // The group lives and dies with its leader: end whatever it left behind.
    ::kill(-pid, SIGKILL);
    int status = 0;
    pid_t got;
    do {
      got = ::waitpid(pid, &status, 0);  // a zombie: returns at once
    } while (got < 0 && errno == EINTR);
    OnChildEndedLocked(child, got == pid ? std::optional<AgentExit>(ExitFromWaitStatus(status))
                                         : std::nullopt);
  }
}

void LocalProcessRuntime::OnChildEndedLocked(Child& child, std::optional<AgentExit> exit) {
  child.running = false;
  if (child.pidfd >= 0) {
    ::close(child.pidfd);
    child.pidfd = -1;
  }
  ::unlink((child.dir + "/pid").c_str());
  RuntimeAgentState& st = child.state;
  st.pid = 0;
  st.stopped_at = clock_->NowMillis();
  st.exit = exit;
  const std::string described = exit ? DescribeAgentExit(*exit) : "ended (exit status unknown)";
  if (!child.fail_reason.empty()) {
    st.status = AgentStatus::kError;
    st.reason = child.fail_reason;
  } else if (child.stop_requested) {
    st.status = AgentStatus::kOffline;
    st.reason = child.stop_reason;
    events_.push_back(AgentEvent{AgentEventKind::kOffline, st.agent_id, exit, st.reason});
  } else if (exit && exit->success()) {
    st.status = AgentStatus::kOffline;
    st.reason = described;
    events_.push_back(AgentEvent{AgentEventKind::kOffline, st.agent_id, exit, st.reason});
  } else {
    st.status = AgentStatus::kError;
    st.reason = described;
    events_.push_back(AgentEvent{AgentEventKind::kFailed, st.agent_id, exit, st.reason});
  }
  cv_.notify_all();
}

void LocalProcessRuntime::WatchLoop() {
  ::pthread_setname_np(::pthread_self(), "agentcore-lproc");
  std::vector<pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back(pollfd{wake_read_, static_cast<short>(POLLIN), 0});
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [id, child] : children_) {
        if (child.running && child.pidfd >= 0) fds.push_back(pollfd{child.pidfd, static_cast<short>(POLLIN), 0});
      }
    }
    ::poll(fds.data(), fds.size(), kWatcherPollMs);
    char buf[64];
    while (::read(wake_read_, buf, sizeof buf) > 0) {
    }
    std::deque<AgentEvent> batch;
    bool stop;
    {
      std::lock_guard<std::mutex> lock(mu_);
      CollectExitsLocked();
      batch.swap(events_);
      stop = stop_watcher_;
    }
    // No lock held: the observer may call back into the runtime.
    if (observer_ != nullptr) {
      for (const AgentEvent& e : batch) observer_->OnAgentEvent(e);
    }
    if (stop) {
      std::lock_guard<std::mutex> lock(mu_);
      if (events_.empty()) return;
    }
  }
}

// --- Stop

bool LocalProcessRuntime::WaitForExitsLocked(const std::vector<std::string>& ids,
                                             Steady::time_point deadline,
                                             std::unique_lock<std::mutex>& lock) {
  for (;;) {
    // Collect here too, not only in the watcher: the watcher may be busy in the observer (which
    // may itself be calling Suspend).
    CollectExitsLocked();
    bool any_running = std::any_of(ids.begin(), ids.end(), [&](const std::string& id) {
      auto it = children_.find(id);
      return it != children_.end() && it->second.running;
    });
    if (!any_running) return true;
    if (Steady::now() >= deadline) return false;
    cv_.wait_until(lock, std::min(deadline, Steady::now() + std::chrono::milliseconds(10)));
  }
}

Status LocalProcessRuntime::StopLocked(const std::vector<std::string>& ids,
                                       std::string_view reason,
                                       std::unique_lock<std::mutex>& lock) {
  for (const std::string& id : ids) {
    auto it = children_.find(id);
    if (it == children_.end() || !it->second.running) continue;
    Child& child = it->second;
    if (!child.stop_requested) {
      child.stop_requested = true;
      child.stop_reason = std::string(reason);
      child.state.status = AgentStatus::kSuspending;
    }
    ::kill(-child.state.pid, SIGTERM);  // unreaped, so the group id is still ours
  }
  if (!WaitForExitsLocked(ids, Steady::now() + options_.kill_grace, lock)) {
    for (const std::string& id : ids) {
      auto it = children_.find(id);
      if (it != children_.end() && it->second.running) ::kill(-it->second.state.pid, SIGKILL);
    }
    if (!WaitForExitsLocked(ids, Steady::now() + kAfterKillWait, lock)) {
      return Status(ErrorCode::kDeadlineExceeded,
                    "an agent of the local runtime did not exit after SIGKILL");
    }
  }
  Wake();  // deliver the offline events promptly
  return Status::Ok();
}

Status LocalProcessRuntime::Suspend(std::string_view agent_id, std::string_view reason) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  std::unique_lock<std::mutex> lock(mu_);
  auto it = children_.find(agent_id);
  if (it == children_.end() || !it->second.running) return Status::Ok();
  return StopLocked({std::string(agent_id)}, reason, lock);
}

Status LocalProcessRuntime::Shutdown() {
  Status result;
  {
    std::unique_lock<std::mutex> lock(mu_);
    shut_down_ = true;
    cv_.notify_all();  // an Activate() waiting for a suspend gives up
    std::vector<std::string> ids;
    for (const auto& [id, child] : children_) {
      if (child.running) ids.push_back(id);
    }
    if (!ids.empty()) result = StopLocked(ids, "shutdown", lock);
    stop_watcher_ = true;
  }
  Wake();
  if (watcher_.get_id() != std::this_thread::get_id()) JoinWatcher();
  return result;
}

// --- Queries

Status LocalProcessRuntime::Checkin(std::string_view agent_id, std::string_view endpoint) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(agent_id);
  if (it == children_.end() || !it->second.running || it->second.stop_requested) {
    return Conflict(fmt::format("agent \"{}\" is not running in the local runtime", agent_id));
  }
  RuntimeAgentState& st = it->second.state;
  st.endpoint = std::string(endpoint);
  if (st.status != AgentStatus::kOnline) {
    st.status = AgentStatus::kOnline;
    events_.push_back(AgentEvent{AgentEventKind::kOnline, st.agent_id, std::nullopt, {}});
    Wake();
  }
  return Status::Ok();
}

std::optional<RuntimeAgentState> LocalProcessRuntime::GetState(std::string_view agent_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = children_.find(agent_id);
  if (it == children_.end()) return std::nullopt;
  return it->second.state;
}

std::vector<RuntimeAgentState> LocalProcessRuntime::ListAgents() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<RuntimeAgentState> out;
  for (const auto& [id, child] : children_) {
    if (child.running) out.push_back(child.state);
  }
  return out;
}

Result<LogChunk> LocalProcessRuntime::ReadLog(std::string_view agent_id, std::uint64_t offset,
                                              std::size_t max_bytes) const {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  const std::string path = AgentDir(agent_id) + "/log";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) return NotFound(fmt::format("no log for agent \"{}\"", agent_id));
    return Internal(fmt::format("cannot open log of agent \"{}\": {}", agent_id, ErrnoText(err)));
  }
  struct stat sb {};
  if (::fstat(fd, &sb) != 0) {
    int err = errno;
    ::close(fd);
    return Internal(fmt::format("cannot stat log of agent \"{}\": {}", agent_id, ErrnoText(err)));
  }
  LogChunk chunk;
  chunk.size = static_cast<std::uint64_t>(sb.st_size);
  if (offset > chunk.size) {
    ::close(fd);
    return InvalidArgument(fmt::format("offset {} is past the end of the log of agent \"{}\" "
                                       "({} bytes)",
                                       offset, agent_id, chunk.size));
  }
  std::size_t want = static_cast<std::size_t>(
      std::min<std::uint64_t>({chunk.size - offset, max_bytes, kMaxLogChunkBytes}));
  chunk.data.resize(want);
  std::size_t got = 0;
  while (got < want) {
    ssize_t n = ::pread(fd, chunk.data.data() + got, want - got,
                        static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Internal(fmt::format("cannot read log of agent \"{}\": {}", agent_id,
                                  ErrnoText(err)));
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  chunk.data.resize(got);
  chunk.next_offset = offset + got;
  return chunk;
}

Json LocalProcessRuntime::RouteHints(std::string_view /*agent_id*/) const {
  return Json();  // a local process is reached at its endpoint directly
}

// --- Orphans

Result<std::vector<std::string>> LocalProcessRuntime::ReapOrphans() {
  struct Orphan {
    std::string agent_id;
    PidRecord record;
  };
  // The process in the pid file, if it is still the one that was started (same boot, same
  // start time). A zombie counts: it pins the pid, so its group id is still the agent's.
  auto is_same = [this](const PidRecord& r, const std::optional<ProcStat>& st) {
    return st && r.boot_id == boot_id_ && st->start_time == r.start_time;
  };

  std::error_code ec;
  std::filesystem::directory_iterator dir(agents_dir_, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return std::vector<std::string>{};
    return Internal(fmt::format("cannot list \"{}\": {}", agents_dir_, ec.message()));
  }
  std::vector<Orphan> live;
  std::vector<std::string> pid_paths_to_remove;
  for (; dir != std::filesystem::directory_iterator(); dir.increment(ec)) {
    if (ec) return Internal(fmt::format("cannot list \"{}\": {}", agents_dir_, ec.message()));
    const std::string pid_path = dir->path().string() + "/pid";
    auto text = internal::ReadSmallFile(pid_path);
    if (!text) {
      if (text.error().code() == ErrorCode::kNotFound) continue;
      return text.status();
    }
    auto record = internal::ParsePidRecord(*text);
    if (!record || !ValidateRuntimeAgentId(record->agent_id).ok()) {
      // Written atomically, so this is not a torn write; nothing in it can be trusted.
      pid_paths_to_remove.push_back(pid_path);
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = children_.find(record->agent_id);
      if (it != children_.end() && it->second.running) continue;  // ours, alive
    }
    pid_paths_to_remove.push_back(pid_path);
    if (record->boot_id != boot_id_) continue;  // from before a reboot: all gone
    const pid_t pid = record->pid;
    auto st = ReadProcStat(pid);
    if (!st) {
      // The leader is gone (reaped by init), but the group may live on in its children. A pid
      // is never handed out while a process group of that id exists, so a group with this id
      // is the agent's. (The one race: the group ends and a new process takes the pid and
      // makes it a group between the /proc read above and this kill; pids are allocated
      // sequentially, so that needs the whole pid space to wrap around in between.)
      ::kill(-pid, SIGKILL);
      continue;
    }
    if (!is_same(*record, st)) continue;  // the pid now belongs to someone else: hands off
    if (st->dead()) {
      ::kill(-pid, SIGKILL);  // the zombie pins the group id
      // Ours only if this very process started it. 0: ours, but not reapable yet (a leader
      // thread that exited before its other threads): polled below until it is.
      if (ReapIfOurs(pid) != 0) continue;
    }
    live.push_back(Orphan{record->agent_id, std::move(*record)});
  }

  // SIGTERM all at once, then wait for all, then SIGKILL the rest, re-checking the identity
  // before every signal.
  std::vector<bool> ended_flags(live.size(), false);
  // Notes the orphan's end once its leader has exited, and SIGKILLs what the leader left in
  // its group: safely while the zombie pins the group id, and when the pid is free (see
  // above). Reaps the zombie if it is this process's own child (a runtime abandoned earlier by
  // this very process, as in the tests).
  auto poll_orphan = [&](std::size_t i) {
    if (ended_flags[i]) return;
    const PidRecord& r = live[i].record;
    auto st = ReadProcStat(r.pid);
    const bool same = is_same(r, st);
    if (same && !st->dead()) return;  // still running
    if (!st || same) ::kill(-r.pid, SIGKILL);
    // A zombie leader of this very process is ended once reaped: its other threads may still
    // be exiting (the leader shows Z first), and an unreaped zombie would stay behind.
    if (same && ReapIfOurs(r.pid) == 0) return;
    ended_flags[i] = true;
  };
  auto wait_until = [&](Steady::time_point deadline) {
    for (;;) {
      for (std::size_t i = 0; i < live.size(); ++i) poll_orphan(i);
      if (std::all_of(ended_flags.begin(), ended_flags.end(), [](bool b) { return b; })) {
        return true;
      }
      if (Steady::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  auto signal_if_same = [&](std::size_t i, int sig) {
    auto st = ReadProcStat(live[i].record.pid);
    if (is_same(live[i].record, st)) ::kill(-live[i].record.pid, sig);
  };
  for (std::size_t i = 0; i < live.size(); ++i) signal_if_same(i, SIGTERM);
  bool done = wait_until(Steady::now() + options_.kill_grace);
  if (!done) {
    for (std::size_t i = 0; i < live.size(); ++i) {
      if (!ended_flags[i]) signal_if_same(i, SIGKILL);
    }
    done = wait_until(Steady::now() + kAfterKillWait);
  }

  for (const std::string& path : pid_paths_to_remove) ::unlink(path.c_str());
  std::vector<std::string> ended;
  for (const Orphan& o : live) ended.push_back(o.agent_id);
  std::sort(ended.begin(), ended.end());
  if (!done) {
    return Status(ErrorCode::kDeadlineExceeded,
                  "an orphaned agent of the local runtime did not exit after SIGKILL");
  }
  return ended;
}

}  // namespace

Result<std::unique_ptr<Runtime>> NewLocalProcessRuntime(const LocalProcessOptions& options,
                                                         const RuntimeOptions& runtime_options) {
  if (options.data_dir.empty()) {
    return InvalidArgument("local runtime: data_dir must not be empty");
  }
  for (const auto& [type, command] : options.commands) {
    if (command.argv.empty() || command.argv[0].empty()) {
      return InvalidArgument(
          fmt::format("local runtime: the command for agent type \"{}\" is empty", type));
    }
    AGENTCORE_RETURN_IF_ERROR(
        ValidateEnv(command.env, fmt::format("the command for agent type \"{}\"", type)));
  }
  if (options.kill_grace.count() < 0) {
    return InvalidArgument("local runtime: kill_grace must not be negative");
  }
  std::string agents_dir = options.data_dir + "/agents";
  std::error_code ec;
  std::filesystem::create_directories(agents_dir, ec);
  if (ec) {
    return Internal(fmt::format("cannot create \"{}\": {}", agents_dir, ec.message()));
  }
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return Internal(fmt::format("local runtime: pipe2: {}", ErrnoText(errno)));
  }
  return std::unique_ptr<Runtime>(std::make_unique<LocalProcessRuntime>(
      options, runtime_options, std::move(agents_dir), wake[0], wake[1]));
}

}  // namespace agentcore
