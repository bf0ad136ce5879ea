// SPDX-License-Identifier: Apache-2.0
#pragma once

// Runs agentcore_crash_writer (crash_writer.cpp) against a store URL, kills it with SIGKILL
// after a given time, and returns the ids it acknowledged (every complete line it printed).
// Backend-neutral: the SQLite and PostgreSQL crash tests both use it.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

extern char** environ;

namespace agentcore::testing {

struct CrashRun {
  std::vector<std::string> acked;  // ids printed before the kill, in print order
  bool killed = false;             // died of our SIGKILL (not of an error of its own)
  int exit_code = -1;              // when it exited by itself (2: store error)
};

inline CrashRun RunAndKill(const std::string& writer, const std::string& url,
                           std::chrono::milliseconds kill_after, int threads = 4) {
  CrashRun run;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return run;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const std::string threads_arg = std::to_string(threads);
  std::vector<char*> argv = {const_cast<char*>(writer.c_str()), const_cast<char*>(url.c_str()),
                             const_cast<char*>(threads_arg.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, writer.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return run;
  }
  const auto deadline = std::chrono::steady_clock::now() + kill_after;
  std::string out;
  char buf[8192];
  bool sent_kill = false;
  for (;;) {
    int timeout_ms = -1;
    if (!sent_kill) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid, SIGKILL);
        sent_kill = true;
      } else {
        timeout_ms = static_cast<int>(left.count());
      }
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) == 0) continue;  // time to kill
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child is gone (killed, or it exited by itself)
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.killed = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  if (WIFEXITED(status)) run.exit_code = WEXITSTATUS(status);
  // Only complete lines: a line cut by the kill was never fully printed, so never counted.
  std::size_t start = 0;
  for (std::size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    run.acked.push_back(out.substr(start, nl - start));
  }
  return run;
}

}  // namespace agentcore::testing
