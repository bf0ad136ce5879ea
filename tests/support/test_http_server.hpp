// SPDX-License-Identifier: Apache-2.0
#pragma once

// A tiny HTTP/1.1 server for tests of HTTP clients: blocking POSIX sockets, one thread per
// connection, on 127.0.0.1:0 or a Unix domain socket. It parses just enough of HTTP for tests
// (request line, headers, Content-Length or chunked bodies, no trailers) and hands each request
// to a handler that writes whatever bytes it wants, so tests control framing and timing.
// Test support only: no limits, no hardening.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace agentcore::testing {

struct TestHttpRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;      // a Content-Length body; empty when chunked
  bool chunked = false;  // the body is chunked: read it with TestHttpConnection::ReadChunk()

  // The first header named `lower_name` (lower case), or "".
  std::string Header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lower_name) return v;
    }
    return "";
  }
  bool HasHeader(std::string_view lower_name) const {
    for (const auto& h : headers) {
      if (h.first == lower_name) return true;
    }
    return false;
  }
};

// One accepted connection. Used by one handler thread at a time.
class TestHttpConnection {
 public:
  explicit TestHttpConnection(int fd) : fd_(fd) {}

  // The next request's head and Content-Length body; nullopt at EOF or on a parse error.
  std::optional<TestHttpRequest> ReadRequest() {
    std::optional<std::string> line = ReadLine();
    if (!line) return std::nullopt;
    TestHttpRequest req;
    const std::size_t sp1 = line->find(' ');
    const std::size_t sp2 = line->find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos) return std::nullopt;
    req.method = line->substr(0, sp1);
    req.target = line->substr(sp1 + 1, sp2 - sp1 - 1);
    for (;;) {
      line = ReadLine();
      if (!line) return std::nullopt;
      if (line->empty()) break;
      const std::size_t colon = line->find(':');
      if (colon == std::string::npos) return std::nullopt;
      std::string name = line->substr(0, colon);
      for (char& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      std::size_t v = colon + 1;
      while (v < line->size() && line->at(v) == ' ') ++v;
      req.headers.emplace_back(std::move(name), line->substr(v));
    }
    req.chunked = req.Header("transfer-encoding") == "chunked";
    if (!req.chunked && req.HasHeader("content-length")) {
      std::optional<std::string> body =
          ReadExact(static_cast<std::size_t>(std::stoull(req.Header("content-length"))));
      if (!body) return std::nullopt;
      req.body = std::move(*body);
    }
    return req;
  }

  // The next chunk of a chunked body; nullopt after the last (zero-length) chunk or on error.
  std::optional<std::string> ReadChunk() {
    std::optional<std::string> size_line = ReadLine();
    if (!size_line || size_line->empty()) return std::nullopt;
    const std::size_t size = std::stoull(*size_line, nullptr, 16);
    if (size == 0) {
      ReadLine();  // the blank line after the last chunk (no trailers in these tests)
      return std::nullopt;
    }
    std::optional<std::string> data = ReadExact(size);
    if (!data || !ReadLine()) return std::nullopt;
    return data;
  }

  // The whole chunked body, concatenated.
  std::string ReadChunkedBody() {
    std::string body;
    while (std::optional<std::string> chunk = ReadChunk()) body += *chunk;
    return body;
  }

  bool Write(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // A complete response with Content-Length.
  bool WriteResponse(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                     std::string_view body) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " Whatever\r\n";
    for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    out += body;
    return Write(out);
  }

  // Blocks until the peer closes the connection (or the server shuts down).
  void WaitForClose() {
    while (Fill()) buf_.clear();
  }

 private:
  bool Fill() {
    char tmp[16384];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  // A CRLF-terminated line without its CRLF.
  std::optional<std::string> ReadLine() {
    for (;;) {
      const std::size_t pos = buf_.find("\r\n");
      if (pos != std::string::npos) {
        std::string line = buf_.substr(0, pos);
        buf_.erase(0, pos + 2);
        return line;
      }
      if (!Fill()) return std::nullopt;
    }
  }

  std::optional<std::string> ReadExact(std::size_t n) {
    while (buf_.size() < n) {
      if (!Fill()) return std::nullopt;
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

  int fd_;
  std::string buf_;
};

class TestHttpServer {
 public:
  // Called once per request on the connection's thread. Returns true to read the next request
  // on the same connection (keep-alive), false to close it.
  using Handler = std::function<bool(TestHttpConnection&, const TestHttpRequest&)>;

  // Listens on 127.0.0.1 on a free port, or on `unix_path` when it is non-empty.
  explicit TestHttpServer(Handler handler, std::string unix_path = "")
      : handler_(std::move(handler)), unix_path_(std::move(unix_path)) {
    if (unix_path_.empty()) {
      listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = 0;
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      socklen_t len = sizeof addr;
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
      port_ = ntohs(addr.sin_port);
    } else {
      ::unlink(unix_path_.c_str());
      listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, unix_path_.c_str(), sizeof addr.sun_path - 1);
      ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    }
    ::listen(listen_fd_, 16);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestHttpServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
    accept_thread_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes blocked reads
    }
    for (std::thread& t : conn_threads_) t.join();
    for (int fd : conn_fds_) ::close(fd);
    ::close(listen_fd_);
    if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
  }

  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string Url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  // Connections accepted so far.
  int connections() const { return connections_.load(); }

 private:
  void AcceptLoop() {
    for (;;) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_) return;
        continue;
      }
      ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      conn_fds_.push_back(fd);
      conn_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    TestHttpConnection conn(fd);
    while (std::optional<TestHttpRequest> req = conn.ReadRequest()) {
      if (!handler_(conn, *req)) break;
    }
    ::shutdown(fd, SHUT_RDWR);  // closed by the destructor, so the fd number is not reused
  }

  Handler handler_;
  std::string unix_path_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<int> conn_fds_;
  std::vector<std::thread> conn_threads_;
};

}  // namespace agentcore::testing
