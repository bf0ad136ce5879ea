// SPDX-License-Identifier: Apache-2.0
#pragma once

// Captures what the process writes to stderr (the server's error log) in tests. Test support
// only.

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <doctest/doctest.h>

namespace agentcore::server::testing {

// Everything written to stderr (fd 2) while it lives: the server's error log.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    char path[] = "/tmp/agentcore-stderr-XXXXXX";
    file_ = ::mkstemp(path);
    REQUIRE(file_ >= 0);
    ::unlink(path);
    saved_ = ::dup(2);
    ::dup2(file_, 2);
  }
  ~StderrCapture() {
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    ::close(file_);
  }
  StderrCapture(const StderrCapture&) = delete;
  StderrCapture& operator=(const StderrCapture&) = delete;

  std::string Text() {
    std::fflush(stderr);
    std::string out;
    char buf[4096];
    for (off_t at = 0;;) {
      ssize_t n = ::pread(file_, buf, sizeof buf, at);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      at += n;
    }
    return out;
  }

 private:
  int file_ = -1;
  int saved_ = -1;
};

}  // namespace agentcore::server::testing
