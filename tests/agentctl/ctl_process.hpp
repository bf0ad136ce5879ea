// SPDX-License-Identifier: Apache-2.0
#pragma once

// The built agentctl as a child process: its stdout and stderr apart, stdin from a string,
// an environment cleaned of the user's agentctl settings, a timeout on everything. Run() waits
// for it to end; Start() leaves it running (tail -f) for ReadUntil() and Stop(). Test support
// only.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

extern char** environ;

namespace agentcore::testing {

struct CtlResult {
  int code = -1;  // exit status; 128 + signal when killed (the timeout kills it)
  std::string out;
  std::string err;
};

class CtlProcess {
 public:
  /// `env`: "NAME=value" entries put over the cleaned environment.
  CtlProcess(std::vector<std::string> args, std::vector<std::string> env)
      : args_(std::move(args)), env_(std::move(env)) {}
  ~CtlProcess() { Stop(SIGKILL); }
  CtlProcess(const CtlProcess&) = delete;
  CtlProcess& operator=(const CtlProcess&) = delete;

  bool Start(std::string_view input = {}) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 ||
        ::pipe2(err, O_CLOEXEC) != 0) {
      return false;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view var(*e);
      // The user's settings must not leak into a test, nor a terminal's.
      if (var.starts_with("AGENTCORE_URL=") || var.starts_with("AGENTCORE_API_KEY=") ||
          var.starts_with("XDG_CONFIG_HOME=") || var.starts_with("NO_COLOR=")) {
        continue;
      }
      env_strings.emplace_back(var);
    }
    // A later "NAME=" replaces an earlier one (getenv would return the first).
    for (const std::string& mine : env_) {
      const std::string name = mine.substr(0, mine.find('=') + 1);
      std::erase_if(env_strings, [&](const std::string& e) { return e.starts_with(name); });
      env_strings.push_back(mine);
    }
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (std::string& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    if (rc != 0) {
      ::close(in[1]);
      pid_ = -1;
      return false;
    }
    // Input is small (a few lines): the pipe buffer takes it whole.
    std::string_view rest = input;
    while (!rest.empty()) {
      const ssize_t n = ::write(in[1], rest.data(), rest.size());
      if (n <= 0) break;
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
    ::close(in[1]);
    return true;
  }

  /// Reads output until stdout contains `needle` or `timeout` passed; true when it does.
  bool ReadUntil(std::string_view needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (out_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !Pump(left)) return out_.find(needle) != std::string::npos;
    }
    return true;
  }

  /// Waits for the process to end (killing it after `timeout`) and returns what it did.
  CtlResult Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        Stop(SIGKILL);
        break;
      }
      if (!Pump(left)) break;  // both pipes at EOF
    }
    return Finish();
  }

  /// Sends `signal`, reaps the process, and returns what it did.
  CtlResult Stop(int signal) {
    if (pid_ > 0) ::kill(pid_, signal);
    return Finish();
  }

  const std::string& out() const { return out_; }

 private:
  // Reads what is there within `timeout`; false once both pipes are at EOF.
  bool Pump(std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    if (out_fd_ < 0 && err_fd_ < 0) return false;
    if (::poll(fds, 2, static_cast<int>(timeout.count())) <= 0) return true;
    ReadFrom(&out_fd_, fds[0].revents, &out_);
    ReadFrom(&err_fd_, fds[1].revents, &err_);
    return out_fd_ >= 0 || err_fd_ >= 0;
  }
  static void ReadFrom(int* fd, short revents, std::string* into) {
    if (*fd < 0 || (revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
    char buf[8192];
    const ssize_t n = ::read(*fd, buf, sizeof buf);
    if (n > 0) {
      into->append(buf, static_cast<std::size_t>(n));
    } else {
      ::close(*fd);
      *fd = -1;
    }
  }
  CtlResult Finish() {
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      // Whatever is still in the pipes.
      while (Pump(std::chrono::milliseconds(100))) {
      }
    }
    return {code_, out_, err_};
  }

  std::vector<std::string> args_;
  std::vector<std::string> env_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  int code_ = -1;
  std::string out_;
  std::string err_;
};

}  // namespace agentcore::testing
