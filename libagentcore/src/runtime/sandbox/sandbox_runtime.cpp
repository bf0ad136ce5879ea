// SPDX-License-Identifier: Apache-2.0
// The local sandbox runtime (docs/sessions.md "Sandbox runtime"): one bwrap per session
// process, and one reactor thread per runtime ("agentcore-sbox") that owns every process's
// stdout, stderr and status pipes and its pidfd in one epoll set.
//
// Why one epoll thread and not a reader thread per process: a server runs up to hundreds of
// sessions (10 per key by default), and most are idle; one thread costs one stack, not 200.
// The sinks copy and return (session_runtime.hpp), so one slow session cannot stall the rest
// for long. Reads are level-triggered and at most 64 KiB per event, so a chatty session gets
// no more than its turn; nothing is buffered here beyond that one read (before the sandbox
// reports its child-pid, output is held back, at most 64 KiB per stream, then the pipe fills).
//
// The reactor thread also spawns every bwrap: bwrap's --die-with-parent is PR_SET_PDEATHSIG,
// which fires when the *thread* that forked it ends, and the reactor lives as long as any
// process of the runtime (a caller's thread might end any time).
//
// Kill safety: bwrap (our child) is signalled only while it is unreaped (its pid, and so its
// process group id, cannot be reused), under Proc::mu, where the reactor also marks it reaped.

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
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

#include <agentcore/runtime/session_runtime.hpp>
#include <agentcore/status.hpp>

#include "process/spawn.hpp"
#include "runtime/process_files.hpp"
#include "runtime/sandbox/bwrap_args.hpp"
#include "runtime/sandbox/bwrap_status.hpp"

namespace agentcore {
namespace {

using Steady = std::chrono::steady_clock;

constexpr std::size_t kReadChunk = 64 * 1024;
// Output held back per stream until bwrap reports the child-pid.
constexpr std::size_t kMaxHeldBack = 64 * 1024;
// How long the pipes may stay open after bwrap exited (everything in the sandbox dies with
// its pid namespace, so this is only a backstop).
constexpr auto kEofWaitAfterExit = std::chrono::seconds(2);
// How long to wait for the end after SIGKILL.
constexpr auto kAfterKillWait = std::chrono::seconds(10);
constexpr auto kStdinWait = std::chrono::seconds(1);
// Backstop poll when a pidfd is not available (kernels before 5.3).
constexpr int kReapPollMs = 100;
// The first bwrap stderr line kept for a start error.
constexpr std::size_t kMaxErrorLine = 512;
constexpr int kStatusFdInChild = 3;

std::string ErrnoText(int err) { return std::system_category().message(err); }

Status DeadlineExceeded(std::string msg) {
  return Status(ErrorCode::kDeadlineExceeded, std::move(msg));
}

int PidfdOpen(pid_t pid) {
#ifdef SYS_pidfd_open
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  return fd < 0 ? -1 : static_cast<int>(fd);
#else
  (void)pid;
  return -1;
#endif
}

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// File-name-safe form of an id: bytes outside [A-Za-z0-9_-] as %XX, so names never contain
// '.' or '/' and "<instance>." is an unambiguous prefix.
std::string Escape(std::string_view id) {
  std::string out;
  for (unsigned char c : id) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == '-') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// True when /proc/<pid>/cmdline's argv[0] is a bwrap.
bool IsBwrap(pid_t pid) {
  auto text = internal::ReadSmallFile(fmt::format("/proc/{}/cmdline", pid));
  if (!text) return false;
  std::string_view argv0(text->data(), ::strnlen(text->data(), text->size()));
  const std::size_t slash = argv0.rfind('/');
  if (slash != std::string_view::npos) argv0.remove_prefix(slash + 1);
  return argv0 == "bwrap";
}

// One session process, shared by its SandboxProcess and the reactor.
struct Proc {
  // Constant after construction.
  SessionOutputSink* sink = nullptr;
  std::string pid_file;  // empty: no pid file
  SessionNetwork network = SessionNetwork::kNone;
  std::vector<SessionPort> ports;
  // Set by the reactor at spawn, before Start or anyone else reads them.
  pid_t pid = 0;

  std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu.
  bool started = false;    // bwrap reported child-pid and Start wanted it
  bool abandoned = false;  // Start gave up (timeout, pid file): no more sink calls
  bool reaped = false;     // bwrap was waited for: its pid may be reused
  bool done = false;       // everything closed, OnExit called if started
  bool pid_file_written = false;
  pid_t child_pid = 0;      // the sandbox's init (host pid); its group holds the command
  std::string start_error;  // bwrap's first stderr line when it ended before starting

  std::atomic<bool> exited{false};
  // Set by ResumeOutput (any thread); the reactor reads the pipes again if flow_paused.
  std::atomic<bool> resume_requested{false};

  std::mutex stdin_mu;
  int stdin_fd = -1;  // guarded by stdin_mu

  // Reactor thread only.
  int fds[3] = {-1, -1, -1};  // stdout, stderr, status
  int pidfd = -1;
  std::uint64_t id = 0;  // the reactor's key
  bool paused[2] = {false, false};
  bool flow_paused = false;  // the sink wanted no more output (WantsOutput): pipes not watched
  struct Held {
    SessionStream stream;
    std::string bytes;
  };
  std::vector<Held> held;  // output read before the start
  std::size_t held_bytes[2] = {0, 0};
  std::optional<int> status_exit_code;
  int wait_status = 0;
  std::optional<Steady::time_point> eof_deadline;
  std::unique_ptr<internal::BwrapStatusLines> status_lines;
};

void KillLocked(Proc& proc, int sig);

// Owns the epoll set and its thread. Thread-safe.
class Reactor {
 public:
  static Result<std::shared_ptr<Reactor>> Create() {
    auto reactor = std::shared_ptr<Reactor>(new Reactor());
    reactor->epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (reactor->epfd_ < 0) return Internal(fmt::format("epoll_create1: {}", ErrnoText(errno)));
    reactor->wakefd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (reactor->wakefd_ < 0) return Internal(fmt::format("eventfd: {}", ErrnoText(errno)));
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    ::epoll_ctl(reactor->epfd_, EPOLL_CTL_ADD, reactor->wakefd_, &ev);
    reactor->thread_ = std::thread([self = reactor] { self->Loop(); });
    reactor->thread_id_ = reactor->thread_.get_id();
    return reactor;
  }

  ~Reactor() {
    CloseFd(epfd_);
    CloseFd(wakefd_);
  }

  // Ends the loop once every process it watches is finished, and joins the thread (or, when
  // called on the thread itself, from inside a sink, detaches it: the loop ends by itself and
  // the thread's own reference keeps this object alive until then).
  void Shutdown() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    Wake();
    if (!thread_.joinable()) return;
    if (OnReactorThread()) {
      thread_.detach();
    } else {
      thread_.join();
    }
  }

  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  bool OnReactorThread() const { return std::this_thread::get_id() == thread_id_; }

  // Spawns `spec` on the reactor thread and watches `proc`'s pipes (proc->fds, set by the
  // caller) and exit. On error nothing was registered and the caller keeps its descriptors.
  Result<pid_t> Spawn(std::shared_ptr<Proc> proc, internal::SpawnSpec spec) {
    auto job = std::make_shared<Job>();
    job->proc = std::move(proc);
    job->spec = std::move(spec);
    std::future<Result<pid_t>> result = job->result.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (broken_) return Internal("the sandbox reactor thread has stopped");
      jobs_.push_back(job);
    }
    Wake();
    return result.get();
  }

  bool Owns(pid_t pid) {
    std::lock_guard<std::mutex> lock(mu_);
    return own_pids_.count(pid) != 0;
  }

  // Makes the loop run an iteration (a ResumeOutput to act on).
  void Nudge() { Wake(); }

 private:
  struct Job {
    std::shared_ptr<Proc> proc;
    internal::SpawnSpec spec;
    std::promise<Result<pid_t>> result;
  };

  Reactor() = default;

  void Wake() {
    const std::uint64_t one = 1;
    ssize_t ignored = ::write(wakefd_, &one, sizeof one);
    (void)ignored;
  }

  static std::uint64_t Token(std::uint64_t id, int kind) { return (id << 3) | kind; }
  enum Kind { kStdout = 0, kStderr = 1, kStatus = 2, kPidfd = 3 };

  void Loop();
  void RunJob(Job& job);
  void OnReadable(std::uint64_t id, Proc& proc, int kind);
  void OnStatusLine(Proc& proc, std::string_view line);
  void StartOutput(Proc& proc);
  void SetFlowPaused(Proc& proc, bool paused);
  void TryReap(Proc& proc);
  void Unwatch(Proc& proc, int kind);
  bool MaybeFinish(Proc& proc);

  // Constant after construction.
  int epfd_ = -1;
  int wakefd_ = -1;
  std::thread thread_;

  std::mutex mu_;
  bool stopping_ = false;                  // guarded by mu_
  bool broken_ = false;                    // guarded by mu_: the loop ended on an error
  std::deque<std::shared_ptr<Job>> jobs_;  // guarded by mu_
  std::set<pid_t> own_pids_;               // guarded by mu_

  std::thread::id thread_id_;  // set before the loop's first job is queued

  // Reactor thread only.
  std::map<std::uint64_t, std::shared_ptr<Proc>> procs_;
  std::uint64_t next_id_ = 1;
  char buf_[kReadChunk];
};

void Reactor::Loop() {
  ::pthread_setname_np(::pthread_self(), "agentcore-sbox");
  epoll_event events[64];
  while (true) {
    int timeout_ms = -1;
    const auto now = Steady::now();
    for (auto& [id, proc] : procs_) {
      if (proc->pidfd < 0 && !proc->eof_deadline) timeout_ms = kReapPollMs;
      if (proc->eof_deadline && !proc->flow_paused) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(*proc->eof_deadline - now);
        int ms = static_cast<int>(std::max<std::int64_t>(0, left.count()));
        timeout_ms = timeout_ms < 0 ? ms : std::min(timeout_ms, ms);
      }
    }
    const int n = ::epoll_wait(epfd_, events, 64, timeout_ms);
    if (n < 0 && errno != EINTR) {
      // Cannot happen with a valid epoll fd; if it does, refuse new work instead of hanging it.
      const int err = errno;
      std::deque<std::shared_ptr<Job>> jobs;
      {
        std::lock_guard<std::mutex> lock(mu_);
        broken_ = true;
        jobs.swap(jobs_);
      }
      for (auto& job : jobs) {
        job->result.set_value(Internal(fmt::format("sandbox reactor: {}", ErrnoText(err))));
      }
      break;
    }
    for (int i = 0; i < n; ++i) {
      const std::uint64_t token = events[i].data.u64;
      if (token == 0) {
        std::uint64_t count;
        ssize_t ignored = ::read(wakefd_, &count, sizeof count);
        (void)ignored;
        continue;
      }
      auto it = procs_.find(token >> 3);
      if (it == procs_.end()) continue;
      OnReadable(it->first, *it->second, static_cast<int>(token & 7));
    }
    for (auto& [id, proc] : procs_) {
      if (proc->pidfd < 0 && !proc->eof_deadline) TryReap(*proc);
      if (proc->resume_requested.exchange(false) && proc->flow_paused) {
        SetFlowPaused(*proc, false);
      }
    }
    for (auto it = procs_.begin(); it != procs_.end();) {
      std::shared_ptr<Proc> proc = it->second;
      if (MaybeFinish(*proc)) {
        it = procs_.erase(it);
      } else {
        ++it;
      }
    }
    std::deque<std::shared_ptr<Job>> jobs;
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs.swap(jobs_);
      if (stopping_ && jobs.empty() && procs_.empty()) break;
    }
    for (auto& job : jobs) RunJob(*job);
  }
}

void Reactor::RunJob(Job& job) {
  Result<pid_t> pid = internal::SpawnProcess(job.spec);
  if (!pid.ok()) {
    job.result.set_value(pid.status());
    return;
  }
  Proc& proc = *job.proc;
  proc.pid = *pid;
  proc.pidfd = PidfdOpen(*pid);
  proc.status_lines = std::make_unique<internal::BwrapStatusLines>(
      [this, &proc](std::string_view line) { OnStatusLine(proc, line); });
  const std::uint64_t id = next_id_++;
  proc.id = id;
  auto watch = [&](int fd, int kind) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = Token(id, kind);
    ::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  };
  for (int kind : {kStdout, kStderr, kStatus}) watch(proc.fds[kind], kind);
  if (proc.pidfd >= 0) watch(proc.pidfd, kPidfd);
  procs_.emplace(id, job.proc);
  {
    std::lock_guard<std::mutex> lock(mu_);
    own_pids_.insert(*pid);
  }
  job.result.set_value(*pid);
}

void Reactor::Unwatch(Proc& proc, int kind) {
  int& fd = kind == kPidfd ? proc.pidfd : proc.fds[kind];
  if (fd < 0) return;
  ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  CloseFd(fd);
}

void Reactor::OnReadable(std::uint64_t id, Proc& proc, int kind) {
  if (kind == kPidfd) {
    TryReap(proc);
    return;
  }
  const int fd = proc.fds[kind];
  if (fd < 0) return;
  // Paused by the other stream's read in this same batch of events: at most one chunk past
  // the sink's mark.
  if (proc.flow_paused) return;
  ssize_t got;
  do {
    got = ::read(fd, buf_, sizeof buf_);
  } while (got < 0 && errno == EINTR);
  if (got < 0 && errno == EAGAIN) return;
  if (got <= 0) {
    Unwatch(proc, kind);
    return;
  }
  const std::string_view bytes(buf_, static_cast<std::size_t>(got));
  if (kind == kStatus) {
    // A garbled status stream only costs the exit code (waitpid still has one).
    if (!proc.status_lines->Feed(bytes).ok()) Unwatch(proc, kind);
    return;
  }
  const SessionStream stream = kind == kStdout ? SessionStream::kStdout : SessionStream::kStderr;
  bool started;
  {
    std::lock_guard<std::mutex> lock(proc.mu);
    started = proc.started && !proc.abandoned;
  }
  if (started) {
    proc.sink->OnOutput(stream, bytes);
    // Flow control: the pipe fills and the command blocks on its writes until ResumeOutput.
    if (!proc.sink->WantsOutput()) SetFlowPaused(proc, true);
    return;
  }
  // Before the child-pid line: hold back (bounded; then let the pipe fill).
  proc.held.push_back(Proc::Held{stream, std::string(bytes)});
  proc.held_bytes[kind] += bytes.size();
  if (proc.held_bytes[kind] >= kMaxHeldBack) {
    epoll_event ev{};
    ev.events = 0;
    ev.data.u64 = Token(id, kind);
    ::epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    proc.paused[kind] = true;
  }
}

void Reactor::OnStatusLine(Proc& proc, std::string_view line) {
  auto status = internal::ParseBwrapStatusLine(line);
  if (!status.ok()) return;  // not ours to understand; bwrap may add kinds of lines
  if (status->exit_code) proc.status_exit_code = status->exit_code;
  if (!status->child_pid) return;
  {
    std::lock_guard<std::mutex> lock(proc.mu);
    if (proc.child_pid != 0) return;
    proc.child_pid = static_cast<pid_t>(*status->child_pid);
    if (proc.abandoned) {
      // Start gave up and killed bwrap; the sandbox it had just cloned goes too.
      if (!proc.reaped) KillLocked(proc, SIGKILL);
      return;
    }
    proc.started = true;
  }
  StartOutput(proc);
  proc.cv.notify_all();
}

// The sandbox runs: what was held back goes to the sink first, then the pipes are read again.
void Reactor::StartOutput(Proc& proc) {
  for (const Proc::Held& h : proc.held) proc.sink->OnOutput(h.stream, h.bytes);
  proc.held.clear();
  proc.held_bytes[0] = proc.held_bytes[1] = 0;
  for (int kind : {kStdout, kStderr}) {
    if (!proc.paused[kind] || proc.fds[kind] < 0) continue;
    proc.paused[kind] = false;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = Token(proc.id, kind);
    ::epoll_ctl(epfd_, EPOLL_CTL_MOD, proc.fds[kind], &ev);
  }
}

void Reactor::SetFlowPaused(Proc& proc, bool paused) {
  if (proc.flow_paused == paused) return;
  proc.flow_paused = paused;
  for (int kind : {kStdout, kStderr}) {
    if (proc.fds[kind] < 0 || proc.paused[kind]) continue;
    epoll_event ev{};
    ev.events = paused ? 0 : EPOLLIN;
    ev.data.u64 = Token(proc.id, kind);
    ::epoll_ctl(epfd_, EPOLL_CTL_MOD, proc.fds[kind], &ev);
  }
  // A command that exited while paused gets its full wait for EOF from now.
  if (!paused && proc.eof_deadline) proc.eof_deadline = Steady::now() + kEofWaitAfterExit;
}

void Reactor::TryReap(Proc& proc) {
  std::lock_guard<std::mutex> lock(proc.mu);
  if (proc.reaped) return;
  int status = 0;
  pid_t got;
  do {
    got = ::waitpid(proc.pid, &status, WNOHANG);
  } while (got < 0 && errno == EINTR);
  if (got == 0) return;
  // got < 0: someone else reaped it (a waitpid(-1) elsewhere in the program); it is gone.
  if (got == proc.pid && WIFSIGNALED(status) && proc.child_pid > 0) {
    // bwrap was killed (by us or anyone): make sure its sandbox does not outlive it (see
    // KillLocked). The init is no longer bwrap's, but it is alive or unreaped only moments.
    ::kill(proc.child_pid, SIGKILL);
  }
  proc.reaped = true;
  proc.wait_status = got == proc.pid ? status : 0;
  proc.exited = true;
  proc.eof_deadline = Steady::now() + kEofWaitAfterExit;
  if (proc.pidfd >= 0) {
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, proc.pidfd, nullptr);
    CloseFd(proc.pidfd);
  }
}

bool Reactor::MaybeFinish(Proc& proc) {
  bool started;
  {
    std::lock_guard<std::mutex> lock(proc.mu);
    if (!proc.reaped) return false;
    started = proc.started && !proc.abandoned;
  }
  const bool pipes_closed =
      proc.fds[kStatus] < 0 && (!started || (proc.fds[kStdout] < 0 && proc.fds[kStderr] < 0));
  if (!pipes_closed && (proc.flow_paused || Steady::now() < *proc.eof_deadline)) return false;
  // Output still buffered in the pipes after the deadline goes with them.
  if (started) {
    // Paused streams (only before the start) were resumed by StartOutput; drain what is left
    // without blocking, so nothing written before the exit is lost.
    for (int kind : {kStdout, kStderr}) {
      // Bounded: after the deadline a writer might still be alive.
      for (int i = 0; i < 16 && proc.fds[kind] >= 0; ++i) {
        const ssize_t got = ::read(proc.fds[kind], buf_, sizeof buf_);
        if (got <= 0) break;
        proc.sink->OnOutput(kind == kStdout ? SessionStream::kStdout : SessionStream::kStderr,
                            std::string_view(buf_, static_cast<std::size_t>(got)));
      }
    }
  }
  for (int kind : {kStdout, kStderr, kStatus}) Unwatch(proc, kind);
  Unwatch(proc, kPidfd);

  int code;
  std::string reason;
  const int ws = proc.wait_status;
  if (proc.status_exit_code) {
    code = *proc.status_exit_code;
    reason = code > 128 && code < 128 + 65 ? fmt::format("killed by signal {}", code - 128)
                                           : fmt::format("exited with code {}", code);
  } else if (WIFSIGNALED(ws)) {
    code = 128 + WTERMSIG(ws);
    reason = fmt::format("killed by signal {}", WTERMSIG(ws));
  } else {
    code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    reason = code >= 0 ? fmt::format("exited with code {}", code) : "exit status unknown";
  }
  if (started) {
    proc.sink->OnExit(code, reason);
  } else {
    // bwrap ended before the sandbox ran: its first stderr line says why.
    std::string error;
    for (const Proc::Held& h : proc.held) {
      if (h.stream == SessionStream::kStderr) error += h.bytes;
      if (error.size() > kMaxErrorLine) break;
    }
    error = error.substr(0, error.find('\n')).substr(0, kMaxErrorLine);
    if (error.empty()) error = fmt::format("bwrap {} before starting the command", reason);
    std::lock_guard<std::mutex> lock(proc.mu);
    proc.start_error = std::move(error);
  }
  proc.held.clear();
  bool remove_pid_file;
  {
    std::lock_guard<std::mutex> lock(proc.mu);
    proc.done = true;
    remove_pid_file = proc.pid_file_written;
  }
  if (remove_pid_file) ::unlink(proc.pid_file.c_str());
  {
    std::lock_guard<std::mutex> lock(mu_);
    own_pids_.erase(proc.pid);
  }
  proc.cv.notify_all();
  return true;
}

// SIGTERM: the sandbox's process group (the command's; bwrap's init ignores it). SIGKILL: the
// sandbox's init by pid (its pid namespace dies with it), its group, and bwrap's group. Killing
// bwrap alone is not enough: its init arms --die-with-parent only after the sandbox's setup,
// well after bwrap reported the child-pid, and before that it is not in its own group yet.
// The init's pid cannot be reused while bwrap (our unreaped child) has not reaped it.
// REQUIRES: proc.mu held.
void KillLocked(Proc& proc, int sig) {
  if (proc.reaped) return;
  if (sig != SIGKILL) {
    if (proc.child_pid > 0) ::kill(-proc.child_pid, sig);
    return;
  }
  if (proc.child_pid > 0) {
    ::kill(proc.child_pid, SIGKILL);
    ::kill(-proc.child_pid, SIGKILL);
  }
  ::kill(-proc.pid, SIGKILL);
}

// Ends the reactor when the runtime and all its processes are gone.
struct ReactorOwner {
  explicit ReactorOwner(std::shared_ptr<Reactor> r) : reactor(std::move(r)) {}
  ReactorOwner(const ReactorOwner&) = delete;
  ReactorOwner& operator=(const ReactorOwner&) = delete;
  std::shared_ptr<Reactor> reactor;
  ~ReactorOwner() {
    if (reactor) reactor->Shutdown();
  }
};

class SandboxProcess final : public SessionProcess {
 public:
  SandboxProcess(std::shared_ptr<ReactorOwner> owner, std::shared_ptr<Proc> proc)
      : owner_(std::move(owner)),
        reactor_(owner_->reactor.get()),
        proc_(std::move(proc)),
        id_(fmt::format("pid:{}", proc_->pid)) {}

  ~SandboxProcess() override {
    (void)CloseStdin();
    if (reactor_->OnReactorThread()) {
      // Dropped from its own sink: kill, and let the reactor finish it without waiting.
      std::lock_guard<std::mutex> lock(proc_->mu);
      KillLocked(*proc_, SIGKILL);
      return;
    }
    (void)Stop(std::chrono::milliseconds(0));
  }

  const std::string& id() const override { return id_; }

  void ResumeOutput() override {
    proc_->resume_requested = true;
    reactor_->Nudge();
  }

  Result<std::string> Endpoint(std::uint16_t port) const override {
    if (proc_->network == SessionNetwork::kExposed) {
      for (const SessionPort& p : proc_->ports) {
        if (p.port == port) return fmt::format("127.0.0.1:{}", port);
      }
    }
    return NotFound(fmt::format("port {} is not an exposed port of this session", port));
  }

  Status WriteStdin(std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(proc_->stdin_mu);
    if (proc_->stdin_fd < 0) return Conflict("stdin of the session process is closed");
    if (proc_->exited) return Conflict("the session process exited");
    // A write to a pipe whose reader is gone raises SIGPIPE, which would end the server: block
    // it in this thread and take back the one this write caused.
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigset_t pending;
    sigpending(&pending);
    const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
    Status result;
    const auto deadline = Steady::now() + kStdinWait;
    while (!bytes.empty()) {
      const ssize_t got = ::write(proc_->stdin_fd, bytes.data(), bytes.size());
      if (got > 0) {
        bytes.remove_prefix(static_cast<std::size_t>(got));
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EAGAIN) {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(deadline - Steady::now()).count();
        pollfd p{proc_->stdin_fd, POLLOUT, 0};
        if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0) {
          result = Unavailable("stdin of the session process is full (the command is not reading)");
          break;
        }
        continue;
      }
      if (got < 0 && errno == EPIPE) {
        result = Conflict("the session process closed its stdin");
        if (!was_pending) {
          timespec zero{};
          ::sigtimedwait(&pipe_set, nullptr, &zero);
        }
      } else {
        result = Internal(fmt::format("cannot write stdin: {}", ErrnoText(errno)));
      }
      break;
    }
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return result;
  }

  Status CloseStdin() override {
    std::lock_guard<std::mutex> lock(proc_->stdin_mu);
    CloseFd(proc_->stdin_fd);
    return Status::Ok();
  }

  Status Stop(std::chrono::milliseconds grace) override {
    if (reactor_->OnReactorThread()) {
      return Internal("Stop called from the session's own output sink (it would wait for itself)");
    }
    std::unique_lock<std::mutex> lock(proc_->mu);
    if (proc_->done) return Status::Ok();
    KillLocked(*proc_, grace.count() > 0 ? SIGTERM : SIGKILL);
    if (grace.count() > 0 && proc_->cv.wait_for(lock, grace, [this] { return proc_->done; })) {
      return Status::Ok();
    }
    KillLocked(*proc_, SIGKILL);
    if (!proc_->cv.wait_for(lock, kAfterKillWait, [this] { return proc_->done; })) {
      return DeadlineExceeded(fmt::format("session process {} did not end after SIGKILL", id_));
    }
    return Status::Ok();
  }

  bool running() const override { return !proc_->exited; }

 private:
  // Constant after construction.
  std::shared_ptr<ReactorOwner> owner_;
  Reactor* reactor_;  // owned through owner_
  std::shared_ptr<Proc> proc_;
  std::string id_;
};

class SandboxRuntime final : public SessionRuntime {
 public:
  SandboxRuntime(SandboxRuntimeOptions options, std::string bwrap, std::shared_ptr<Reactor> reactor)
      : options_(std::move(options)),
        bwrap_(std::move(bwrap)),
        boot_id_(internal::ReadBootId()),
        owner_(std::make_shared<ReactorOwner>(std::move(reactor))),
        reactor_(owner_->reactor.get()) {}

  std::string_view name() const override { return "sandbox"; }

  Result<std::unique_ptr<SessionProcess>> Start(const SessionSpec& spec,
                                                SessionOutputSink* sink) override;
  Result<std::size_t> ReapOrphans(std::string_view instance) override;

 private:
  std::string PidFilePath(const SessionSpec& spec) const {
    if (options_.state_dir.empty()) return {};
    return fmt::format("{}/{}.{}.pid", options_.state_dir, Escape(spec.instance),
                       Escape(spec.session_id));
  }

  // Constant after construction.
  const SandboxRuntimeOptions options_;
  const std::string bwrap_;  // resolved path
  const std::string boot_id_;
  std::shared_ptr<ReactorOwner> owner_;
  Reactor* reactor_;  // owned through owner_
};

Result<std::unique_ptr<SessionProcess>> SandboxRuntime::Start(const SessionSpec& spec,
                                                              SessionOutputSink* sink) {
  if (sink == nullptr) return InvalidArgument("a session process needs an output sink");
  if (reactor_->OnReactorThread()) {
    return Internal("Start called from a session's output sink (it would wait for itself)");
  }
  AGENTCORE_RETURN_IF_ERROR(internal::ValidateSandboxSpec(spec));
  if (::access(bwrap_.c_str(), X_OK) != 0) {
    return Unavailable(
        fmt::format("bwrap (\"{}\") cannot be run: install bubblewrap "
                    "(apt-get install bubblewrap)",
                    bwrap_));
  }

  // [0] read end, [1] write end. The command's ends go to the child; ours stay non-blocking.
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, st[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err, st}) {
      CloseFd(p[0]);
      CloseFd(p[1]);
    }
  };
  for (int* p : {in, out, err, st}) {
    if (::pipe2(p, O_CLOEXEC) != 0) {
      const int e = errno;
      close_all();
      return Internal(fmt::format("cannot create a pipe: {}", ErrnoText(e)));
    }
  }
  for (int fd : {in[1], out[0], err[0], st[0]}) ::fcntl(fd, F_SETFL, O_NONBLOCK);

  auto proc = std::make_shared<Proc>();
  proc->sink = sink;
  proc->pid_file = PidFilePath(spec);
  proc->network = spec.network;
  proc->ports = spec.ports;
  proc->fds[0] = out[0];
  proc->fds[1] = err[0];
  proc->fds[2] = st[0];

  internal::SpawnSpec spawn;
  spawn.argv = internal::BwrapArgs(bwrap_, spec, options_.read_only_paths, kStatusFdInChild);
  spawn.cwd = "/";
  spawn.stdin_fd = in[0];
  spawn.stdout_fd = out[1];
  spawn.stderr_fd = err[1];
  spawn.inherit_fds = {st[1]};
  if (spec.resources.memory_mb > 0) {
    // bwrap runs the command with the limits it inherits; RLIMIT_AS bounds address space.
    spawn.rlimits.push_back(
        {RLIMIT_AS, static_cast<rlim_t>(spec.resources.memory_mb) * 1024 * 1024});
  }
  Result<pid_t> pid = reactor_->Spawn(proc, std::move(spawn));
  for (int fd : {in[0], out[1], err[1], st[1]}) ::close(fd);
  if (!pid.ok()) {
    for (int fd : {in[1], out[0], err[0], st[0]}) ::close(fd);
    return Internal(fmt::format("cannot start bwrap: {}", pid.status().message()));
  }
  proc->stdin_fd = in[1];
  auto process = std::make_unique<SandboxProcess>(owner_, proc);

  if (!proc->pid_file.empty()) {
    // Written without proc->mu: the reactor takes it for every status line, and this fsyncs.
    internal::PidRecord record;
    record.agent_id = spec.session_id;
    record.pid = proc->pid;
    record.boot_id = boot_id_;
    record.started_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    auto stat = internal::ReadProcStat(proc->pid);
    if (stat) record.start_time = stat->start_time;
    Status written =
        internal::WriteFileAtomically(proc->pid_file, internal::FormatPidRecord(record));
    if (!written.ok()) {
      {
        std::lock_guard<std::mutex> lock(proc->mu);
        proc->abandoned = true;  // the sink hears nothing more of it
      }
      process.reset();  // kills and waits
      return Internal(fmt::format("cannot write the sandbox pid file: {}", written.message()));
    }
    bool already_done;
    {
      std::lock_guard<std::mutex> lock(proc->mu);
      already_done = proc->done;
      proc->pid_file_written = !already_done;
    }
    // The reactor finished it first and did not know about the file.
    if (already_done) ::unlink(proc->pid_file.c_str());
  }
  std::unique_lock<std::mutex> lock(proc->mu);
  const bool ready =
      proc->cv.wait_for(lock, options_.start_timeout, [&] { return proc->started || proc->done; });
  if (proc->started) return std::unique_ptr<SessionProcess>(std::move(process));
  if (!ready) {
    proc->abandoned = true;
    lock.unlock();
    process.reset();
    return DeadlineExceeded(fmt::format("bwrap did not start the command within {} ms",
                                        options_.start_timeout.count()));
  }
  std::string error = proc->start_error;
  lock.unlock();
  process.reset();
  return Internal(fmt::format("bwrap failed: {}", error));
}

Result<std::size_t> SandboxRuntime::ReapOrphans(std::string_view instance) {
  if (options_.state_dir.empty()) return std::size_t{0};
  const std::string prefix = Escape(instance) + ".";
  std::error_code ec;
  std::filesystem::directory_iterator dir(options_.state_dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return std::size_t{0};
    return Internal(fmt::format("cannot list \"{}\": {}", options_.state_dir, ec.message()));
  }
  std::size_t killed = 0;
  for (; dir != std::filesystem::directory_iterator(); dir.increment(ec)) {
    if (ec)
      return Internal(fmt::format("cannot list \"{}\": {}", options_.state_dir, ec.message()));
    const std::string name = dir->path().filename().string();
    if (name.size() <= prefix.size() + 4 || name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - 4, 4, ".pid") != 0 ||
        name.find('.', prefix.size()) != name.size() - 4) {
      continue;
    }
    const std::string path = dir->path().string();
    auto text = internal::ReadSmallFile(path);
    if (!text) continue;
    auto record = internal::ParsePidRecord(*text);
    if (record && reactor_->Owns(record->pid)) continue;  // ours, alive
    ::unlink(path.c_str());
    if (!record || record->boot_id != boot_id_) continue;  // garbage, or from before a reboot
    auto stat = internal::ReadProcStat(record->pid);
    // Only the very process that was started (same start time: not a reused pid), still a
    // bwrap, and not yet dead.
    if (!stat || stat->dead() || stat->start_time != record->start_time || !IsBwrap(record->pid)) {
      continue;
    }
    // SIGKILL of the outer bwrap: its sandbox dies with it (--die-with-parent, pid namespace).
    if (::kill(record->pid, SIGKILL) == 0) ++killed;
  }
  return killed;
}

}  // namespace

Result<std::unique_ptr<SessionRuntime>> OpenSandboxRuntime(SandboxRuntimeOptions options) {
  std::string bwrap =
      options.bwrap_path.empty() ? std::string() : internal::FindProgram(options.bwrap_path);
  if (bwrap.empty()) {
    return Unavailable(
        fmt::format("bwrap (\"{}\") not found: install bubblewrap "
                    "(apt-get install bubblewrap)",
                    options.bwrap_path));
  }
  if (!options.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.state_dir, ec);
    if (ec) {
      return Internal(fmt::format("cannot create the sandbox state directory \"{}\": {}",
                                  options.state_dir, ec.message()));
    }
  }
  if (options.start_timeout.count() <= 0) {
    return InvalidArgument("the sandbox start_timeout must be positive");
  }
  auto reactor = Reactor::Create();
  if (!reactor.ok()) return reactor.status();
  return std::unique_ptr<SessionRuntime>(
      new SandboxRuntime(std::move(options), std::move(bwrap), std::move(*reactor)));
}

}  // namespace agentcore
