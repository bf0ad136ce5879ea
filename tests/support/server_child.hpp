// SPDX-License-Identifier: Apache-2.0
#pragma once

// The real agentcore-server binary as a child process, for tests that must see what only a
// process shows: SIGKILL, SIGTERM and its exit code, its resident memory, several servers on one
// database. The caller gives the whole argument vector; stdout and stderr go to files in a
// directory of the caller's (Stdout(), Stderr(): what a failed start printed). Test support
// only.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>

extern char** environ;

namespace agentcore::testing {

/// A port that was free a moment ago on 127.0.0.1.
inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// Polls `done` every `step` until it holds (true) or `timeout` passed (then one last try).
inline bool WaitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20),
                    std::chrono::milliseconds step = std::chrono::milliseconds(25)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(step);
  }
  return done();
}

inline std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// One agentcore-server process: `args` are its whole argument vector (args[0] the binary),
/// and must make it listen on 127.0.0.1:`port`; it gets this process's environment with
/// `env` ("NAME=value") put over it. Output of the n-th start goes to `log_dir`/stdout.n and
/// stderr.n. The destructor SIGKILLs a process still running.
class ChildServer {
 public:
  ChildServer(std::vector<std::string> args, int port, std::string log_dir,
              std::vector<std::string> env = {})
      : args_(std::move(args)), port_(port), log_dir_(std::move(log_dir)),
        env_(std::move(env)), client_(NewHttpClient()) {}
  ~ChildServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }
  ChildServer(const ChildServer&) = delete;
  ChildServer& operator=(const ChildServer&) = delete;

  /// Starts the process; true once /health answers 200, false when it exited first
  /// (exit_code() and Stderr() then say how) or did not answer within `timeout`.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    using namespace std::chrono_literals;
    std::vector<char*> argv;
    for (std::string& a : args_) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string out = log_dir_ + "/stdout." + std::to_string(++starts_);
    const std::string err = log_dir_ + "/stderr." + std::to_string(starts_);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view var(*e);
      const std::string_view name = var.substr(0, var.find('=') + 1);  // "NAME="
      bool replaced = false;
      for (const std::string& mine : env_) replaced = replaced || mine.starts_with(name);
      if (!replaced) env_strings.emplace_back(var);
    }
    env_strings.insert(env_strings.end(), env_.begin(), env_.end());
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(rc == 0, "posix_spawn " << args_[0] << " failed");
    stdout_ = out;
    stderr_ = err;
    exit_code_ = -1;
    auto deadline = std::chrono::steady_clock::now() + timeout;
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
  int Stop(int signal, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    using namespace std::chrono_literals;
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
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        pid_ = -1;
        return true;
      }
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  int exit_code() const { return exit_code_; }
  std::string Stdout() const { return ReadWholeFile(stdout_); }
  std::string Stderr() const { return ReadWholeFile(stderr_); }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int port() const { return port_; }

  /// Resident memory of the process in bytes (VmRSS), 0 when it cannot be read.
  std::size_t RssBytes() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    }
    return 0;
  }

 private:
  std::vector<std::string> args_;
  int port_;
  std::string log_dir_;
  std::vector<std::string> env_;
  std::unique_ptr<HttpClient> client_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  int starts_ = 0;
  std::string stdout_;
  std::string stderr_;
};

}  // namespace agentcore::testing
