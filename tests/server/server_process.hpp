// SPDX-License-Identifier: Apache-2.0
#pragma once

// The real agentcore-server binary as a child process, for tests that must see what only a
// process shows: SIGKILL, its resident memory. Test support only.

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
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>

extern char** environ;

namespace agentcore::server::testing {

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

/// agentcore-server on a database file and a port, in dev auth mode on 127.0.0.1, with two io
/// threads and no access log; `extra_args` are appended. The constructor returns once
/// /health answers; the destructor kills the process.
class ServerProcess {
 public:
  ServerProcess(const std::string& db, int port, std::vector<std::string> extra_args = {})
      : port_(port) {
    using namespace std::chrono_literals;
    std::vector<std::string> args = {AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port",
                                     std::to_string(port), "--database-url", "sqlite://" + db,
                                     "--data-dir", db + "-data",  // not the user's data home
                                     "--auth-mode", "dev", "--no-access-log", "--threads", "2"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    REQUIRE(posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    auto client = NewHttpClient();
    for (int i = 0; i < 200; ++i) {
      HttpRequest req;
      req.url = Url("/health");
      req.timeout = 1s;
      auto r = client->Send(req);
      if (r.ok() && r->status == 200) return;
      std::this_thread::sleep_for(25ms);
    }
    FAIL("server did not start");
  }
  ~ServerProcess() { Kill(SIGKILL); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  void Kill(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
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
  pid_t pid_ = -1;
  int port_;
};

}  // namespace agentcore::server::testing
