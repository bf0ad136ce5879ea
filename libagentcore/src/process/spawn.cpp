// SPDX-License-Identifier: Apache-2.0
#include "process/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <agentcore/status.hpp>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <system_error>

namespace agentcore::internal {
namespace {

// Owns posix_spawn's attribute objects for one spawn.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// Copies of the inherited descriptors numbered at or above `floor`, so that moving them to
// 3, 4, ... in the child never overwrites one not moved yet. Closed on destruction.
struct InheritedFds {
  std::vector<int> fds;
  InheritedFds() = default;
  InheritedFds(const InheritedFds&) = delete;
  InheritedFds& operator=(const InheritedFds&) = delete;
  ~InheritedFds() {
    for (int fd : fds) ::close(fd);
  }
};

Status CopyInherited(const std::vector<int>& sources, InheritedFds* out) {
  const int floor = 3 + static_cast<int>(sources.size());
  for (int fd : sources) {
    const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, floor);
    if (copy < 0) return Internal(std::system_category().message(errno));
    out->fds.push_back(copy);
  }
  return Status::Ok();
}

// fork() + exec for a spec posix_spawn cannot express (resource limits). Between fork and exec
// the child makes only async-signal-safe calls; an exec failure comes back through a pipe.
Result<pid_t> ForkExec(const SpawnSpec& spec, std::vector<char*>& argv, std::vector<char*>& envp,
                       const InheritedFds& inherited) {
  const std::string program = FindProgram(spec.argv[0]);
  if (program.empty()) return Internal(std::system_category().message(ENOENT));
  const int first_closed = 3 + static_cast<int>(inherited.fds.size());
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return Internal(std::system_category().message(errno));
  // The write end must not sit where the child moves the inherited descriptors to.
  if (report[1] < first_closed) {
    const int moved = ::fcntl(report[1], F_DUPFD_CLOEXEC, first_closed);
    const int err = errno;
    ::close(report[1]);
    if (moved < 0) {
      ::close(report[0]);
      return Internal(std::system_category().message(err));
    }
    report[1] = moved;
  }
  sigset_t all, old;
  sigfillset(&all);
  // No signal handler of ours may run in the child before exec.
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::fork();
  if (pid == 0) {
    auto fail = [&](int err) {
      ssize_t ignored = ::write(report[1], &err, sizeof err);
      (void)ignored;
      ::_exit(127);
    };
    ::setpgid(0, 0);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    int fd = spec.stdin_fd;
    if (fd < 0) fd = ::open("/dev/null", O_RDONLY);
    if (fd < 0 || ::dup2(fd, 0) < 0) fail(errno);
    if (!spec.log_path.empty()) {
      const int log = ::open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log < 0 || ::dup2(log, 1) < 0 || ::dup2(1, 2) < 0) fail(errno);
    } else {
      if (spec.stdout_fd >= 0 && ::dup2(spec.stdout_fd, 1) < 0) fail(errno);
      if (spec.stderr_fd >= 0 && ::dup2(spec.stderr_fd, 2) < 0) fail(errno);
    }
    for (std::size_t i = 0; i < inherited.fds.size(); ++i) {
      if (::dup2(inherited.fds[i], 3 + static_cast<int>(i)) < 0) fail(errno);
    }
    if (::chdir(spec.cwd.c_str()) != 0) fail(errno);
    for (const SpawnSpec::ResourceLimit& limit : spec.rlimits) {
      struct rlimit rl {
        limit.value, limit.value
      };
      if (::setrlimit(limit.resource, &rl) != 0) fail(errno);
    }
    // Close everything from first_closed up except the report pipe (close-on-exec).
    if (report[1] > first_closed) {
      ::syscall(SYS_close_range, first_closed, report[1] - 1, 0);
    }
    ::syscall(SYS_close_range, report[1] + 1, ~0U, 0);
    sigset_t empty;
    sigemptyset(&empty);
    ::pthread_sigmask(SIG_SETMASK, &empty, nullptr);
    ::execve(program.c_str(), argv.data(), envp.data());
    fail(errno);
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(report[1]);
  if (pid < 0) {
    ::close(report[0]);
    return Internal(std::system_category().message(fork_errno));
  }
  int child_errno = 0;
  ssize_t got;
  do {
    got = ::read(report[0], &child_errno, sizeof child_errno);
  } while (got < 0 && errno == EINTR);
  ::close(report[0]);
  if (got == static_cast<ssize_t>(sizeof child_errno)) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return Internal(std::system_category().message(child_errno));
  }
  return pid;
}

}  // namespace

std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path_env = std::getenv("PATH");
  std::string_view path = path_env != nullptr ? path_env : "/usr/bin:/bin";
  while (true) {
    const std::size_t colon = path.find(':');
    const std::string_view dir = path.substr(0, colon);
    std::string candidate = dir.empty() ? name : std::string(dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) return {};
    path.remove_prefix(colon + 1);
  }
}

Result<pid_t> SpawnProcess(const SpawnSpec& spec) {
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = spec.env;
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  InheritedFds inherited;
  if (Status copied = CopyInherited(spec.inherit_fds, &inherited); !copied.ok()) return copied;

  if (!spec.rlimits.empty()) return ForkExec(spec, argv, envp, inherited);

  SpawnSetup setup;
  if (spec.stdin_fd >= 0) {
    posix_spawn_file_actions_adddup2(&setup.actions, spec.stdin_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  }
  if (!spec.log_path.empty()) {
    posix_spawn_file_actions_addopen(&setup.actions, 1, spec.log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);
  } else {
    if (spec.stdout_fd >= 0) posix_spawn_file_actions_adddup2(&setup.actions, spec.stdout_fd, 1);
    if (spec.stderr_fd >= 0) posix_spawn_file_actions_adddup2(&setup.actions, spec.stderr_fd, 2);
  }
  for (std::size_t i = 0; i < inherited.fds.size(); ++i) {
    posix_spawn_file_actions_adddup2(&setup.actions, inherited.fds[i], 3 + static_cast<int>(i));
  }
  posix_spawn_file_actions_addchdir_np(&setup.actions, spec.cwd.c_str());
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // The caller's descriptors (sockets, database files) must not leak into the child, whether or
  // not whoever opened them remembered O_CLOEXEC.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions,
                                           3 + static_cast<int>(inherited.fds.size()));
#endif
  sigset_t empty_set, all_signals;
  sigemptyset(&empty_set);
  sigfillset(&all_signals);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setsigmask(&setup.attr, &empty_set);
  posix_spawnattr_setsigdefault(&setup.attr, &all_signals);

  pid_t pid = 0;
  const int err =
      ::posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
  if (err != 0) return Internal(std::system_category().message(err));
  return pid;
}

}  // namespace agentcore::internal
