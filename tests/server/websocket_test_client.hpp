// SPDX-License-Identifier: Apache-2.0
#pragma once

// Blocking clients for the server's streams in end-to-end tests: a WebSocket client (POSIX
// socket, frames masked with the server's own codec, server frames decoded with the codec's
// decoder in unmasked mode) and an SSE reader. Every read has a timeout so a broken server
// fails a test instead of hanging it. Test support only.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ws/websocket_codec.hpp"

namespace agentcore::testing {

using namespace std::chrono_literals;

// A TCP connection to 127.0.0.1:port with blocking writes and polled, time-limited reads.
class TestSocket {
 public:
  TestSocket() = default;
  // `receive_buffer` > 0 sets SO_RCVBUF before connecting (slow-consumer tests: a reader that
  // never reads then fills its window quickly).
  explicit TestSocket(std::uint16_t port, int receive_buffer = 0) {
    Connect(port, receive_buffer);
  }
  ~TestSocket() { Close(); }
  TestSocket(const TestSocket&) = delete;
  TestSocket& operator=(const TestSocket&) = delete;

  bool Connect(std::uint16_t port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return false;
    if (receive_buffer > 0) {
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      Close();
      return false;
    }
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return true;
  }
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

  // Appends what arrives within `timeout` to `*out`. 0 on timeout, -1 at EOF or error, else the
  // number of bytes.
  long ReadSome(std::string* out, std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r <= 0) return 0;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return -1;
    out->append(buf, static_cast<std::size_t>(n));
    return n;
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// An HTTP response head read off a socket.
struct TestHead {
  int status = 0;
  std::string raw;   // the whole head, CRLFs included
  std::string rest;  // bytes after the head
  std::string Header(std::string_view name) const {
    std::string lower_raw;
    for (char c : raw) lower_raw.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    std::string key = "\r\n";
    for (char c : name) key.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    key += ":";
    std::size_t at = lower_raw.find(key);
    if (at == std::string::npos) return "";
    std::size_t start = at + key.size();
    std::size_t end = raw.find("\r\n", start);
    std::string value = raw.substr(start, end - start);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    return value;
  }
};

// Reads until "\r\n\r\n" (or EOF / timeout: status stays 0 unless a status line arrived).
inline TestHead ReadHead(TestSocket& socket, std::chrono::milliseconds timeout = 5000ms) {
  TestHead head;
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::size_t end = std::string::npos;
  while ((end = data.find("\r\n\r\n")) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || socket.ReadSome(&data, left) <= 0) break;
  }
  if (end == std::string::npos) {
    head.raw = data;
  } else {
    head.raw = data.substr(0, end + 4);
    head.rest = data.substr(end + 4);
  }
  if (head.raw.rfind("HTTP/1.1 ", 0) == 0 && head.raw.size() >= 12) {
    head.status = std::stoi(head.raw.substr(9, 3));
  }
  return head;
}

// A WebSocket client on a TestSocket.
class TestWebSocket {
 public:
  explicit TestWebSocket(std::uint16_t port, int receive_buffer = 0)
      : socket_(port, receive_buffer) {}

  // Sends the upgrade request for `path` with extra header lines ("Cookie: ...\r\n").
  TestHead Handshake(std::string_view path, std::string_view extra_headers) {
    std::string request = "GET " + std::string(path) +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n" +
                          std::string(extra_headers) + "\r\n";
    socket_.Send(request);
    TestHead head = ReadHead(socket_);
    pending_ = head.rest;
    return head;
  }

  bool SendFrame(server::WebSocketOpcode op, std::string_view payload, bool fin = true) {
    return socket_.Send(server::EncodeWebSocketFrame(op, payload, fin, 0x0A0B0C0D));
  }
  bool SendText(std::string_view text) { return SendFrame(server::WebSocketOpcode::kText, text); }
  bool SendRaw(std::string_view bytes) { return socket_.Send(bytes); }

  // The next frame from the server; nullopt on timeout, EOF or a framing error.
  std::optional<server::WebSocketEvent> Next(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (!pending_.empty()) {
        std::string bytes;
        bytes.swap(pending_);
        if (decoder_.Feed(bytes, &events_)) failed_ = true;
      }
      if (!events_.empty()) {
        server::WebSocketEvent e = std::move(events_.front());
        events_.erase(events_.begin());
        return e;
      }
      if (failed_ || eof_) return std::nullopt;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      long n = socket_.ReadSome(&pending_, left);
      if (n < 0) eof_ = true;
    }
  }

  // The next text message, skipping nothing: nullopt if the next frame is not text.
  std::optional<std::string> NextText(std::chrono::milliseconds timeout = 5000ms) {
    auto e = Next(timeout);
    if (!e || e->kind != server::WebSocketEvent::Kind::kText) return std::nullopt;
    return e->payload;
  }

  // Waits for the server to close the TCP connection (EOF or reset) within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string sink;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (socket_.ReadSome(&sink, left) < 0) return true;
      sink.clear();
    }
    return false;
  }

  TestSocket& socket() { return socket_; }

 private:
  TestSocket socket_;
  server::WebSocketDecoder decoder_{64 * 1024 * 1024, /*require_mask=*/false};
  std::vector<server::WebSocketEvent> events_;
  std::string pending_;
  bool failed_ = false;
  bool eof_ = false;
};

// One Server-Sent Event or comment.
struct TestSseEvent {
  std::string id;
  std::string event;
  std::string data;
  std::string comment;  // for ": ..." lines
};

// Reads an SSE stream after its head.
class TestSseReader {
 public:
  TestSseReader(TestSocket* socket, std::string already) : socket_(socket), buf_(std::move(already)) {}

  // The next event (or comment); nullopt on timeout or EOF.
  std::optional<TestSseEvent> Next(std::chrono::milliseconds timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::size_t end = buf_.find("\n\n");
      if (end != std::string::npos) {
        std::string block = buf_.substr(0, end);
        buf_.erase(0, end + 2);
        return Parse(block);
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      if (socket_->ReadSome(&buf_, left) < 0) return std::nullopt;
    }
  }

 private:
  static TestSseEvent Parse(std::string_view block) {
    TestSseEvent e;
    while (!block.empty()) {
      std::size_t nl = block.find('\n');
      std::string_view line = block.substr(0, nl);
      block.remove_prefix(nl == std::string_view::npos ? block.size() : nl + 1);
      if (line.rfind(":", 0) == 0) {
        e.comment = std::string(line.substr(1));
        while (!e.comment.empty() && e.comment.front() == ' ') e.comment.erase(0, 1);
      } else if (line.rfind("id: ", 0) == 0) {
        e.id = std::string(line.substr(4));
      } else if (line.rfind("event: ", 0) == 0) {
        e.event = std::string(line.substr(7));
      } else if (line.rfind("data: ", 0) == 0) {
        if (!e.data.empty()) e.data += "\n";
        e.data += std::string(line.substr(6));
      }
    }
    return e;
  }

  TestSocket* socket_;
  std::string buf_;
};

}  // namespace agentcore::testing
