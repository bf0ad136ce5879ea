// SPDX-License-Identifier: Apache-2.0
#include "attach.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/auth/crypto.hpp>

#include "runtime/docker/hijacked_connection.hpp"  // ParseHttpResponseHead (fuzzed)
#include "ws/websocket_codec.hpp"

namespace agentcore::ctl {
namespace {

using server::WebSocketEvent;
using server::WebSocketOpcode;

constexpr std::size_t kMaxMessage = 16 * 1024 * 1024;
constexpr char kDetachKey = 0x1d;  // Ctrl-]

struct Target {
  std::string host;
  std::string port;
  std::string path_prefix;  // the URL's path, without a trailing slash
};

Target ParseHttpUrl(const std::string& url) {
  if (url.starts_with("https://")) {
    throw CtlError(kExitUsage, "sessions attach speaks plain http:// only (put a TLS proxy's "
                               "local end in --url, or attach from the server's host)");
  }
  std::string rest = url.substr(7);  // after http://
  Target t;
  const std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) t.path_prefix = rest.substr(slash);
  while (t.path_prefix.ends_with('/')) t.path_prefix.pop_back();
  if (authority.starts_with('[')) {  // [::1]:3000
    const std::size_t close = authority.find(']');
    if (close == std::string::npos) throw CtlError(kExitUsage, "bad URL: " + url);
    t.host = authority.substr(1, close - 1);
    t.port = close + 2 <= authority.size() ? authority.substr(close + 2) : "";
  } else {
    const std::size_t colon = authority.rfind(':');
    t.host = authority.substr(0, colon);
    if (colon != std::string::npos) t.port = authority.substr(colon + 1);
  }
  if (t.port.empty()) t.port = "80";
  if (t.host.empty()) throw CtlError(kExitUsage, "bad URL: " + url);
  return t;
}

class Socket {
 public:
  explicit Socket(const Target& t) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(t.host.c_str(), t.port.c_str(), &hints, &found); rc != 0) {
      throw CtlError(kExitUnreachable, "cannot resolve " + t.host + ": " + gai_strerror(rc));
    }
    std::string why = "no address";
    for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
      fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
      if (fd_ >= 0 && ::connect(fd_, a->ai_addr, a->ai_addrlen) != 0) {
        why = std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
      }
    }
    ::freeaddrinfo(found);
    if (fd_ < 0) throw CtlError(kExitUnreachable, "cannot connect to " + t.host + ":" + t.port + ": " + why);
  }
  ~Socket() { ::close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw CtlError(kExitUnreachable, "connection lost while sending");
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  // Bytes read (0 at EOF).
  std::size_t Read(std::string* out) {
    char buf[16384];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return 0;  // a reset is an end too
      out->append(buf, static_cast<std::size_t>(n));
      return static_cast<std::size_t>(n);
    }
  }

 private:
  int fd_ = -1;
};

// Raw mode for the lifetime of the object when stdin is a terminal.
class RawTerminal {
 public:
  RawTerminal() {
    if (::isatty(0) != 1 || ::tcgetattr(0, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(0, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(0, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};

std::string ClientFrame(WebSocketOpcode op, std::string_view payload) {
  std::uint32_t mask = 0;
  const std::string random = RandomBytes(4);
  std::memcpy(&mask, random.data(), 4);
  return server::EncodeWebSocketFrame(op, payload, true, mask);
}

std::string Binary(char type, std::string_view payload) {
  std::string message(1, type);
  message.append(payload);
  return ClientFrame(WebSocketOpcode::kBinary, message);
}

void WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our stdout went away: nothing left to show
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Sends the upgrade request and reads the 101; returns bytes that came after the head.
std::string Handshake(Socket& socket, const Settings& settings, const Target& t,
                      const std::string& id) {
  const std::string key = Base64Encode(RandomBytes(16));
  std::string request = "GET " + t.path_prefix + "/v1/sessions/" + UrlEncodeComponent(id) +
                        "/attach HTTP/1.1\r\nHost: " +
                        (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) + ":" + t.port +
                        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + key + "\r\n";
  if (!settings.api_key.empty()) request += "Authorization: Bearer " + settings.api_key + "\r\n";
  request += "\r\n";
  socket.Send(request);
  std::string bytes;
  for (;;) {
    auto head = internal::ParseHttpResponseHead(bytes);
    if (!head.ok()) throw CtlError(kExitServerError, "bad answer to the attach request: " + head.status().message());
    if (head->has_value()) {
      const internal::HttpResponseHead& h = **head;
      std::string rest = bytes.substr(h.size);
      if (h.status != 101) {
        // An error answer: its JSON body, as far as it came (Content-Length bodies are small).
        const std::size_t want = static_cast<std::size_t>(
            std::strtoull(std::string(h.Header("Content-Length").value_or("0")).c_str(), nullptr, 10));
        while (rest.size() < std::min<std::size_t>(want, 64 * 1024) && socket.Read(&rest) > 0) {
        }
        throw CtlError(ExitCodeOfStatus(h.status), "server answered " + std::to_string(h.status) +
                                                       ": " + ServerErrorText(rest));
      }
      if (h.Header("Sec-WebSocket-Accept").value_or("") != WebSocketAccept(key)) {
        throw CtlError(kExitServerError, "the server's Sec-WebSocket-Accept does not match");
      }
      return rest;
    }
    if (socket.Read(&bytes) == 0) {
      throw CtlError(kExitUnreachable, "the server closed the connection during the handshake");
    }
  }
}

}  // namespace

int AttachSession(const Settings& settings, const std::string& id) {
  const Target target = ParseHttpUrl(settings.url);
  Socket socket(target);
  std::string pending = Handshake(socket, settings, target, id);
  RawTerminal terminal;
  if (terminal.active()) WriteAll(2, "[attached; Ctrl-] detaches]\r\n");
  server::WebSocketDecoder decoder(kMaxMessage, /*require_mask=*/false);
  std::vector<WebSocketEvent> events;
  std::optional<int> exit_status;
  bool stdin_open = true;
  for (;;) {
    if (!pending.empty()) {
      if (auto error = decoder.Feed(pending, &events)) {
        throw CtlError(kExitServerError, "bad WebSocket data from the server: " + std::string(error->reason));
      }
      pending.clear();
    }
    for (WebSocketEvent& e : events) {
      if (e.kind == WebSocketEvent::Kind::kPing) {
        socket.Send(ClientFrame(WebSocketOpcode::kPong, e.payload));
      } else if (e.kind == WebSocketEvent::Kind::kClose) {
        std::string code(2, '\0');
        code[0] = static_cast<char>(e.close_code >> 8);
        code[1] = static_cast<char>(e.close_code & 0xFF);
        try {
          socket.Send(ClientFrame(WebSocketOpcode::kClose,
                                  e.close_code == server::kCloseNoStatus ? "" : code));
        } catch (const CtlError&) {
        }
        if (e.close_code != server::kCloseNormal && e.close_code != server::kCloseNoStatus &&
            !exit_status) {
          throw CtlError(kExitServerError, "the server closed the attachment (" +
                                               std::to_string(e.close_code) + " " + e.payload + ")");
        }
        return exit_status.value_or(0);
      } else if (e.kind == WebSocketEvent::Kind::kBinary && !e.payload.empty()) {
        const std::string_view body = std::string_view(e.payload).substr(1);
        switch (e.payload[0]) {
          case 0x02: WriteAll(1, body); break;
          case 0x03: WriteAll(2, body); break;
          case 0x04:
            if (body.size() == 4) {
              exit_status = static_cast<int>((static_cast<std::uint32_t>(static_cast<unsigned char>(body[0])) << 24) |
                                             (static_cast<std::uint32_t>(static_cast<unsigned char>(body[1])) << 16) |
                                             (static_cast<std::uint32_t>(static_cast<unsigned char>(body[2])) << 8) |
                                             static_cast<unsigned char>(body[3]));
            }
            break;
          case 0x05: WriteAll(2, "agentctl: session error: " + std::string(body) + "\n"); break;
          default: break;  // 0x06 (stdin closed) and types of later versions
        }
      }
    }
    events.clear();

    pollfd fds[2] = {{socket.fd(), POLLIN, 0}, {0, POLLIN, 0}};
    const int n = ::poll(fds, stdin_open ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw CtlError(kExitServerError, std::string("poll: ") + std::strerror(errno));
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (socket.Read(&pending) == 0) {
        if (exit_status) return *exit_status;
        throw CtlError(kExitUnreachable, "the connection to the server was lost");
      }
    }
    if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buf[16384];
      const ssize_t got = ::read(0, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        socket.Send(Binary(0x06, ""));
        stdin_open = false;
        continue;
      }
      std::string_view input(buf, static_cast<std::size_t>(got));
      if (terminal.active() && input.find(kDetachKey) != std::string_view::npos) {
        input = input.substr(0, input.find(kDetachKey));
        if (!input.empty()) socket.Send(Binary(0x01, input));
        socket.Send(ClientFrame(WebSocketOpcode::kClose, std::string("\x03\xe8", 2)));
        WriteAll(2, "\r\n[detached]\r\n");
        return 0;
      }
      socket.Send(Binary(0x01, input));
    }
  }
}

}  // namespace agentcore::ctl
