// SPDX-License-Identifier: Apache-2.0
#pragma once

// A plain TCP client for tests that must send exactly the bytes they choose: malformed or
// pipelined requests, slow clients, uploads cut at every boundary.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentcore::server::testing {

class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Reads until `until` appears in what was read, the peer closes, or the timeout.
  std::string ReadUntil(std::string_view until, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(until) == std::string::npos && !closed_) {
      if (!ReadOnce(deadline)) break;
    }
    return received_;
  }

  /// Reads until the peer closes the connection or the timeout; true if it closed.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_) {
      if (!ReadOnce(deadline)) break;
    }
    return closed_;
  }

  /// Reads until `count` complete HTTP responses (by Content-Length) have arrived.
  std::string ReadResponses(int count, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (CountResponses() < count && !closed_) {
      if (!ReadOnce(deadline)) break;
    }
    return received_;
  }

  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

  int CountResponses() const {
    int count = 0;
    std::size_t pos = 0;
    for (;;) {
      std::size_t head_end = received_.find("\r\n\r\n", pos);
      if (head_end == std::string::npos) return count;
      std::string_view head(received_.data() + pos, head_end - pos);
      std::size_t length = 0;
      std::size_t cl = head.find("Content-Length: ");
      if (cl != std::string_view::npos) length = std::stoul(std::string(head.substr(cl + 16)));
      std::size_t end = head_end + 4 + length;
      if (end > received_.size()) return count;
      ++count;
      pos = end;
    }
  }

 private:
  bool ReadOnce(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    received_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string received_;
  bool closed_ = false;
};

}  // namespace agentcore::server::testing
