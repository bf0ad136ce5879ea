// SPDX-License-Identifier: Apache-2.0
#include "runtime/docker/hijacked_connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include <fmt/format.h>

#include "runtime/docker/docker_engine.hpp"

namespace agentcore::internal {
namespace {

using Steady = std::chrono::steady_clock;

// An error body is read for its message only.
constexpr std::size_t kMaxErrorBodyBytes = 64 * 1024;

bool IsTokenChar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

// Control characters other than HTAB (obs-text, >= 0x80, is allowed in values and reasons).
bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

Status ParseStatusLine(std::string_view line, HttpResponseHead* head) {
  // HTTP-version SP 3DIGIT [SP reason-phrase]
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[7] < '0' || line[7] > '9' ||
      line[8] != ' ') {
    return InvalidArgument("bad HTTP status line from the engine");
  }
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      return InvalidArgument("bad HTTP status code from the engine");
    }
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100) return InvalidArgument("bad HTTP status code from the engine");
  std::string_view rest = line.substr(12);
  if (!rest.empty()) {
    if (rest.front() != ' ' || HasControl(rest)) {
      return InvalidArgument("bad HTTP status line from the engine");
    }
    rest.remove_prefix(1);
  }
  head->status = status;
  head->reason = std::string(rest);
  return Status::Ok();
}

Status ParseHeaderLine(std::string_view line, HttpResponseHead* head) {
  if (line.front() == ' ' || line.front() == '\t') {
    return InvalidArgument("folded HTTP header line from the engine");
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgument("bad HTTP header line from the engine");
  }
  const std::string_view name = line.substr(0, colon);
  for (unsigned char c : name) {
    if (!IsTokenChar(c)) return InvalidArgument("bad HTTP header name from the engine");
  }
  const std::string_view value = TrimSpaces(line.substr(colon + 1));
  if (HasControl(value)) return InvalidArgument("bad HTTP header value from the engine");
  if (head->headers.size() >= kMaxResponseHeaders) {
    return TooLarge(fmt::format("the engine's response has more than {} header fields",
                                kMaxResponseHeaders));
  }
  head->headers.emplace_back(std::string(name), std::string(value));
  return Status::Ok();
}

std::string ErrnoText(int err) { return std::system_category().message(err); }

// Waits until `fd` is ready for `events` or `deadline` passes.
Status WaitFd(int fd, short events, Steady::time_point deadline, std::string_view what) {
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
    if (left.count() <= 0) {
      return Status(ErrorCode::kDeadlineExceeded, fmt::format("{}: timed out", what));
    }
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count() + 1, 60'000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Internal(fmt::format("{}: poll: {}", what, ErrnoText(errno)));
    if (n > 0) return Status::Ok();
  }
}

// Reads what is available (after WaitFd); 0 at EOF.
Result<std::size_t> ReadSome(int fd, std::string* into, std::string_view what) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::size_t{1};  // spurious
    if (n < 0) return Unavailable(fmt::format("{}: {}", what, ErrnoText(errno)));
    into->append(buf, static_cast<std::size_t>(n));
    return static_cast<std::size_t>(n);
  }
}

}  // namespace

std::optional<std::string_view> HttpResponseHead::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (EqualsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

Result<std::optional<HttpResponseHead>> ParseHttpResponseHead(std::string_view bytes,
                                                              std::size_t max_bytes) {
  // Find the blank line that ends the head, looking no further than max_bytes.
  std::size_t end = std::string_view::npos;
  for (std::size_t pos = 0; pos < bytes.size();) {
    const std::size_t nl = bytes.find('\n', pos);
    if (nl == std::string_view::npos) break;
    const std::size_t len = nl - pos;
    if (pos > 0 && (len == 0 || (len == 1 && bytes[pos] == '\r'))) {
      end = nl + 1;
      break;
    }
    if (nl + 1 > max_bytes) break;
    pos = nl + 1;
  }
  if (end == std::string_view::npos || end > max_bytes) {
    if (bytes.size() > max_bytes || end != std::string_view::npos) {
      return TooLarge(fmt::format("the engine's response head exceeds {} bytes", max_bytes));
    }
    return std::optional<HttpResponseHead>();
  }
  HttpResponseHead head;
  head.size = end;
  bool first = true;
  for (std::size_t pos = 0; pos < end;) {
    const std::size_t nl = bytes.find('\n', pos);
    std::string_view line = bytes.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) {
      return InvalidArgument("stray CR in the engine's response head");
    }
    if (first) {
      AGENTCORE_RETURN_IF_ERROR(ParseStatusLine(line, &head));
      first = false;
      continue;
    }
    if (line.empty()) break;  // the blank line
    AGENTCORE_RETURN_IF_ERROR(ParseHeaderLine(line, &head));
  }
  return std::optional<HttpResponseHead>(std::move(head));
}

std::pair<std::string, bool> DecodeChunkedPrefix(std::string_view body) {
  std::string out;
  while (!body.empty()) {
    const std::size_t nl = body.find('\n');
    if (nl == std::string_view::npos) break;
    std::string_view size_line = body.substr(0, nl);
    if (const std::size_t semi = size_line.find(';'); semi != std::string_view::npos) {
      size_line = size_line.substr(0, semi);
    }
    size_line = TrimSpaces(size_line);
    if (!size_line.empty() && size_line.back() == '\r') size_line.remove_suffix(1);
    std::size_t size = 0;
    const auto [p, ec] =
        std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
    if (ec != std::errc() || p != size_line.data() + size_line.size() || size_line.empty()) break;
    body.remove_prefix(nl + 1);
    if (size == 0) return {std::move(out), true};
    const std::size_t n = std::min(size, body.size());
    out.append(body.substr(0, n));
    if (n < size) break;
    body.remove_prefix(n);
    // The CRLF after the data.
    if (!body.empty() && body.front() == '\r') body.remove_prefix(1);
    if (!body.empty() && body.front() == '\n') body.remove_prefix(1);
  }
  return {std::move(out), false};
}

HijackedConnection& HijackedConnection::operator=(HijackedConnection&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    leftover_ = std::move(other.leftover_);
  }
  return *this;
}

void HijackedConnection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<HijackedConnection> OpenHijackedConnection(const std::string& socket_path,
                                                  std::string_view target,
                                                  std::chrono::milliseconds timeout) {
  const Steady::time_point deadline = Steady::now() + timeout;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return InvalidArgument(fmt::format("engine socket path \"{}\" is empty or too long",
                                       socket_path.substr(0, 200)));
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Internal(fmt::format("socket: {}", ErrnoText(errno)));
  HijackedConnection conn(fd, "");
  const std::string unreachable = fmt::format("cannot reach the engine at {}", socket_path);

  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  if (rc != 0 && (errno == EINPROGRESS || errno == EAGAIN)) {
    AGENTCORE_RETURN_IF_ERROR(WaitFd(fd, POLLOUT, deadline, unreachable));
    int err = 0;
    socklen_t len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return Unavailable(fmt::format("{}: {}", unreachable, ErrnoText(err)));
  } else if (rc != 0) {
    return Unavailable(fmt::format("{}: {}", unreachable, ErrnoText(errno)));
  }

  const std::string request = fmt::format(
      "POST {} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
      "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n",
      target);
  const std::string what = fmt::format("attach request to the engine at {}", socket_path);
  for (std::string_view rest = request; !rest.empty();) {
    const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      AGENTCORE_RETURN_IF_ERROR(WaitFd(fd, POLLOUT, deadline, what));
      continue;
    }
    if (n < 0) return Unavailable(fmt::format("{}: {}", what, ErrnoText(errno)));
    rest.remove_prefix(static_cast<std::size_t>(n));
  }

  std::string in;
  std::optional<HttpResponseHead> head;
  while (!head) {
    AGENTCORE_RETURN_IF_ERROR(WaitFd(fd, POLLIN, deadline, what));
    AGENTCORE_ASSIGN_OR_RETURN(std::size_t n, ReadSome(fd, &in, what));
    AGENTCORE_ASSIGN_OR_RETURN(head, ParseHttpResponseHead(in));
    if (n == 0 && !head) {
      return Unavailable(fmt::format("{}: the engine closed the connection before answering",
                                     what));
    }
  }
  std::string rest = in.substr(head->size);
  if (head->status == 101 || head->status == 200) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
      return Internal(fmt::format("fcntl: {}", ErrnoText(errno)));
    }
    return HijackedConnection(conn.Release(), std::move(rest));
  }

  // An error: read its body (for the engine's message) for at most the rest of the timeout.
  std::optional<std::size_t> length;
  if (auto cl = head->Header("Content-Length")) {
    std::size_t v = 0;
    const auto [p, ec] = std::from_chars(cl->data(), cl->data() + cl->size(), v);
    if (ec == std::errc() && p == cl->data() + cl->size()) length = v;
  }
  const bool chunked =
      head->Header("Transfer-Encoding").has_value() &&
      EqualsIgnoreCase(TrimSpaces(*head->Header("Transfer-Encoding")), "chunked");
  for (;;) {
    if (rest.size() >= kMaxErrorBodyBytes) break;
    if (length && rest.size() >= *length) break;
    if (chunked && DecodeChunkedPrefix(rest).second) break;
    if (!WaitFd(fd, POLLIN, deadline, what).ok()) break;
    Result<std::size_t> n = ReadSome(fd, &rest, what);
    if (!n.ok() || *n == 0) break;
  }
  HttpResponse response;
  response.status = head->status;
  response.headers = std::move(head->headers);
  response.body = chunked ? DecodeChunkedPrefix(rest).first
                          : rest.substr(0, length ? std::min(*length, rest.size()) : rest.size());
  Status status = EngineStatus(response);
  if (status.ok()) {
    return Internal(fmt::format("the engine answered the attach with {} instead of an upgrade",
                                head->status));
  }
  return status;
}

}  // namespace agentcore::internal
