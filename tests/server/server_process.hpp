// SPDX-License-Identifier: Apache-2.0
#pragma once

// The real agentcore-server binary as a child process on a SQLite file, for tests that must
// see what only a process shows: SIGKILL, its resident memory. Built on
// tests/support/server_child.hpp. Test support only.

#include <signal.h>

#include <cstddef>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "support/server_child.hpp"

namespace agentcore::server::testing {

using agentcore::testing::FreePort;

/// agentcore-server on a database file and a port, in dev auth mode on 127.0.0.1, with two io
/// threads and no access log; `extra_args` are appended. Its output goes to files beside the
/// database. The constructor returns once /health answers; the destructor kills the process.
class ServerProcess {
 public:
  ServerProcess(const std::string& db, int port, std::vector<std::string> extra_args = {})
      : child_(Args(db, port, std::move(extra_args)), port, Directory(db)) {
    if (!child_.Start()) FAIL("server did not start: " << child_.Stderr());
  }
  ~ServerProcess() { Kill(SIGKILL); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  void Kill(int signal) { child_.Stop(signal); }
  std::string Url(const std::string& path) const { return child_.Url(path); }
  int port() const { return child_.port(); }
  /// Resident memory of the process in bytes (VmRSS), 0 when it cannot be read.
  std::size_t RssBytes() const { return child_.RssBytes(); }

 private:
  static std::vector<std::string> Args(const std::string& db, int port,
                                       std::vector<std::string> extra) {
    std::vector<std::string> args = {AGENTCORE_SERVER_BIN, "--host", "127.0.0.1", "--port",
                                     std::to_string(port), "--database-url", "sqlite://" + db,
                                     "--data-dir", db + "-data",  // not the user's data home
                                     "--auth-mode", "dev", "--no-access-log", "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  static std::string Directory(const std::string& db) {
    const std::size_t slash = db.rfind('/');
    return slash == std::string::npos ? std::string(".") : db.substr(0, slash);
  }

  agentcore::testing::ChildServer child_;
};

}  // namespace agentcore::server::testing
