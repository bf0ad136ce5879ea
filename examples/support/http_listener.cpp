// SPDX-License-Identifier: Apache-2.0
#include "http_listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>

#include <agentcore/json_writer.hpp>
#include <agentcore/status.hpp>

namespace example_http {

namespace {

using Clock = std::chrono::steady_clock;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Whether the comma-separated header value `list` holds `token` (case-insensitive).
bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (EqualsIgnoreCase(Trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

/// RFC 9110 §5.6.2: a header name is a non-empty token.
bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

std::string_view StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

/// The status line, Content-Type, Content-Length, `Connection: close` when closing, and body.
std::string FormatReply(const HttpReply& reply, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " ";
  out.append(StatusText(reply.status));
  out.append("\r\nContent-Type: application/json\r\nContent-Length: ");
  out.append(std::to_string(reply.body.size()));
  out.append(keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
  out.append(reply.body);
  return out;
}

/// Writes all of `data`; false when the peer is gone or too slow (SO_SNDTIMEO).
bool SendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::optional<std::string_view> HttpRequest::Find(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

HttpReply CodedError(int status, std::string_view code, std::string_view message) {
  HttpReply reply{status, {}};
  agentcore::JsonWriter(&reply.body)
      .BeginObject()
      .Field("error", code)
      .Field("message", message)
      .EndObject();
  return reply;
}

/// One connection's read buffer and the reads that fill it, each bounded by a deadline. The
/// request parsing works on the buffer, so pipelined requests and leftovers need no care.
/// Thread-compatible: owned by the connection's thread.
class HttpListener::Connection {
 public:
  /// Why reading a request stopped.
  enum class End {
    kOk,
    kClosed,   // the peer closed (or reset) the connection: nothing to answer
    kTimeout,  // the deadline passed: 408 if a request had begun
    kError,    // an answer (error_) is due, then close
  };

  Connection(int fd, const HttpListenerOptions& options) : fd_(fd), options_(options) {}

  /// Reads the next request into `request`.
  End Read(HttpRequest* request) {
    if (in_.size() == pos_) {
      if (End e = Fill(Clock::now() + options_.idle_timeout); e != End::kOk) return e;
    }
    begun_ = true;
    const Clock::time_point head_deadline = Clock::now() + options_.head_timeout;
    std::size_t head_end;
    while ((head_end = in_.find("\r\n\r\n", pos_)) == std::string::npos) {
      if (in_.size() - pos_ > options_.max_head_bytes) {
        return Fail(431, "headers_too_large", "request head exceeds the agent's limit");
      }
      if (End e = Fill(head_deadline); e != End::kOk) return e;
    }
    if (head_end - pos_ > options_.max_head_bytes) {
      return Fail(431, "headers_too_large", "request head exceeds the agent's limit");
    }
    std::string_view head(in_.data() + pos_, head_end - pos_);
    // RFC 9112 §2.2: empty lines before a request line are ignored.
    while (head.starts_with("\r\n")) head.remove_prefix(2);
    const std::size_t body_start = head_end + 4;
    if (End e = ParseHead(head, request); e != End::kOk) return e;
    pos_ = body_start;
    return ReadBody(request);
  }

  /// Whether bytes of a request arrived since the last Consume() (a timeout then earns a 408).
  bool begun() const { return begun_; }

  /// The error answer after End::kError.
  const HttpReply& error() const { return error_; }

  /// Drops the bytes of the requests read so far.
  void Consume() {
    in_.erase(0, pos_);
    pos_ = 0;
    begun_ = false;
  }

  bool http10() const { return http10_; }

 private:
  End Fail(int status, std::string_view code, std::string_view message) {
    error_ = CodedError(status, code, message);
    return End::kError;
  }

  /// Appends what the socket has, waiting until `deadline` for at least one byte.
  End Fill(Clock::time_point deadline) {
    char buffer[16 * 1024];
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return End::kTimeout;
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1'000'000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return End::kClosed;
      if (ready == 0) continue;  // the loop checks the deadline
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return End::kClosed;
      in_.append(buffer, static_cast<std::size_t>(n));
      return End::kOk;
    }
  }

  /// The request line and headers (RFC 9112 §3, §5): method, target, version, and the headers
  /// this server acts on.
  End ParseHead(std::string_view head, HttpRequest* request) {
    std::size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    std::size_t sp1 = line.find(' ');
    std::size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
      return Fail(400, "bad_request", "malformed request line");
    }
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!IsToken(method) || target.empty() || target.front() != '/') {
      return Fail(400, "bad_request", "malformed request line");
    }
    if (version == "HTTP/1.0") {
      http10_ = true;
    } else if (version == "HTTP/1.1") {
      http10_ = false;
    } else {
      return Fail(400, "bad_request", "unsupported HTTP version");
    }
    request->method = method;
    request->target = target;
    request->path = target.substr(0, target.find('?'));
    request->headers.clear();
    request->body.clear();
    std::string_view rest =
        eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    while (!rest.empty()) {
      std::size_t end = rest.find("\r\n");
      std::string_view field = rest.substr(0, end);
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
      std::size_t colon = field.find(':');
      // No obsolete line folding, no space before the colon (RFC 9112 §5.1, §5.2).
      if (colon == std::string_view::npos || !IsToken(field.substr(0, colon))) {
        return Fail(400, "bad_request", "malformed header field");
      }
      std::string_view value = Trim(field.substr(colon + 1));
      // A lone CR or LF, or NUL, in a value (RFC 9110 §5.5).
      if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
        return Fail(400, "bad_request", "malformed header field");
      }
      request->headers.emplace_back(std::string(field.substr(0, colon)), std::string(value));
    }
    return End::kOk;
  }

  /// The body framing (RFC 9112 §6): chunked, Content-Length, or none.
  End ReadBody(HttpRequest* request) {
    std::optional<std::string_view> coding = request->Find("Transfer-Encoding");
    std::optional<std::size_t> length;
    for (const auto& [key, value] : request->headers) {
      if (!EqualsIgnoreCase(key, "Content-Length")) continue;
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec == std::errc::result_out_of_range) {
        return Fail(413, "body_too_large", "request body exceeds the agent's limit");
      }
      if (ec != std::errc() || end != value.data() + value.size() || (length && *length != n)) {
        return Fail(400, "bad_request", "invalid Content-Length");
      }
      length = n;
    }
    // Both framings at once is how requests are smuggled; refuse it (RFC 9112 §6.3).
    if (coding && length) {
      return Fail(400, "bad_request", "both Transfer-Encoding and Content-Length");
    }
    if (coding) {
      if (!EqualsIgnoreCase(Trim(*coding), "chunked")) {
        return Fail(501, "not_implemented", "only the chunked transfer coding is supported");
      }
      if (End e = Continue(*request); e != End::kOk) return e;
      return ReadChunked(request);
    }
    if (!length || *length == 0) return End::kOk;
    if (*length > options_.max_body_bytes) {
      return Fail(413, "body_too_large", "request body exceeds the agent's limit");
    }
    if (End e = Continue(*request); e != End::kOk) return e;
    while (in_.size() - pos_ < *length) {
      if (End e = Fill(Clock::now() + options_.body_timeout); e != End::kOk) return e;
    }
    request->body.assign(in_, pos_, *length);
    pos_ += *length;
    return End::kOk;
  }

  /// `Expect: 100-continue` (RFC 9110 §10.1.1): the client waits for this before its body.
  End Continue(const HttpRequest& request) {
    std::optional<std::string_view> expect = request.Find("Expect");
    if (!expect || !EqualsIgnoreCase(*expect, "100-continue") || http10_) return End::kOk;
    if (in_.size() > pos_) return End::kOk;  // the body is already coming
    return SendAll(fd_, "HTTP/1.1 100 Continue\r\n\r\n") ? End::kOk : End::kClosed;
  }

  /// One CRLF-terminated line starting at pos_ (at most `limit` bytes), consumed.
  End Line(std::size_t limit, std::string_view* line) {
    std::size_t eol;
    while ((eol = in_.find("\r\n", pos_)) == std::string::npos) {
      if (in_.size() - pos_ > limit) return Fail(400, "bad_request", "malformed chunked body");
      if (End e = Fill(Clock::now() + options_.body_timeout); e != End::kOk) return e;
    }
    if (eol - pos_ > limit) return Fail(400, "bad_request", "malformed chunked body");
    *line = std::string_view(in_).substr(pos_, eol - pos_);
    pos_ = eol + 2;
    return End::kOk;
  }

  /// RFC 9112 §7.1: chunk-size [; ext] CRLF data CRLF ... 0 CRLF [trailers] CRLF.
  End ReadChunked(HttpRequest* request) {
    for (;;) {
      std::string_view line;
      if (End e = Line(1024, &line); e != End::kOk) return e;
      std::string_view digits = Trim(line.substr(0, line.find(';')));
      std::size_t size = 0;
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
      if (ec == std::errc::result_out_of_range) {
        return Fail(413, "body_too_large", "request body exceeds the agent's limit");
      }
      if (ec != std::errc() || end != digits.data() + digits.size()) {
        return Fail(400, "bad_request", "malformed chunked body");
      }
      if (size == 0) break;
      if (size > options_.max_body_bytes - request->body.size()) {
        return Fail(413, "body_too_large", "request body exceeds the agent's limit");
      }
      while (in_.size() - pos_ < size + 2) {
        if (End e = Fill(Clock::now() + options_.body_timeout); e != End::kOk) return e;
      }
      if (in_.compare(pos_ + size, 2, "\r\n") != 0) {
        return Fail(400, "bad_request", "malformed chunked body");
      }
      request->body.append(in_, pos_, size);
      pos_ += size + 2;
    }
    // Trailer fields are read and ignored, up to the empty line.
    std::size_t trailer_bytes = 0;
    for (;;) {
      std::string_view line;
      if (End e = Line(options_.max_head_bytes, &line); e != End::kOk) return e;
      if (line.empty()) return End::kOk;
      trailer_bytes += line.size() + 2;
      if (trailer_bytes > options_.max_head_bytes) {
        return Fail(431, "headers_too_large", "request trailers exceed the agent's limit");
      }
    }
  }

  const int fd_;
  const HttpListenerOptions& options_;
  std::string in_;
  std::size_t pos_ = 0;  // start of the unread bytes of in_
  bool http10_ = false;
  bool begun_ = false;
  HttpReply error_;
};

HttpListener::HttpListener(HttpListenerOptions options, std::vector<HttpRoute> routes,
                           int listen_fd, std::uint16_t port)
    : options_(std::move(options)),
      routes_(std::move(routes)),
      listen_fd_(listen_fd),
      port_(port) {}

agentcore::Result<std::unique_ptr<HttpListener>> HttpListener::Start(
    HttpListenerOptions options, std::vector<HttpRoute> routes) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(options.port);
  if (::inet_pton(AF_INET, options.host.c_str(), &addr.sin_addr) != 1) {
    return agentcore::InvalidArgument("not an IPv4 address: \"" + options.host + "\"");
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return agentcore::Unavailable(std::string("socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 128) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = std::strerror(errno);
    ::close(fd);
    return agentcore::Unavailable("cannot listen on " + options.host + ":" +
                                  std::to_string(options.port) + ": " + why);
  }
  std::unique_ptr<HttpListener> listener(
      new HttpListener(std::move(options), std::move(routes), fd, ntohs(addr.sin_port)));
  listener->acceptor_ = std::thread([l = listener.get()] { l->AcceptLoop(); });
  return listener;
}

HttpListener::~HttpListener() {
  Stop();
  ::close(listen_fd_);
}

void HttpListener::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    // shutdown() wakes a blocked accept() and recv(); the threads close their own sockets.
    ::shutdown(listen_fd_, SHUT_RDWR);
    for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
  }
  if (acceptor_.joinable()) acceptor_.join();
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return connections_.empty(); });
}

void HttpListener::AcceptLoop() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    const int accept_errno = errno;
    std::unique_lock lock(mu_);
    if (stopping_) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd < 0) {
      lock.unlock();
      if (accept_errno == EMFILE || accept_errno == ENFILE || accept_errno == ENOBUFS ||
          accept_errno == ENOMEM) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // wait for a free fd
      }
      continue;  // EINTR, ECONNABORTED and the like concern one connection only
    }
    if (connections_.size() >= options_.max_connections) {
      lock.unlock();
      SendAll(fd, FormatReply(CodedError(503, "too_many_connections", "connection limit reached"),
                              false));
      ::close(fd);
      continue;
    }
    connections_.insert(fd);
    try {
      std::thread([this, fd] { Serve(fd); }).detach();
    } catch (const std::system_error&) {  // no thread to be had: this connection is refused
      connections_.erase(fd);
      lock.unlock();
      SendAll(fd, FormatReply(CodedError(503, "unavailable", "no thread for the connection"),
                              false));
      ::close(fd);
    }
  }
}

void HttpListener::Serve(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const auto write_ms = options_.write_timeout.count();
  timeval write_timeout{static_cast<time_t>(write_ms / 1000),
                        static_cast<suseconds_t>((write_ms % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &write_timeout, sizeof write_timeout);

  Connection connection(fd, options_);
  HttpRequest request;
  for (;;) {
    Connection::End end = connection.Read(&request);
    if (end == Connection::End::kError) {
      SendAll(fd, FormatReply(connection.error(), false));
      break;
    }
    if (end == Connection::End::kTimeout) {
      // Only a request under way is told why; an idle keep-alive connection just closes.
      if (connection.begun()) {
        SendAll(fd, FormatReply(CodedError(408, "request_timeout", "request not received in time"),
                                false));
      }
      break;
    }
    if (end == Connection::End::kClosed) break;
    connection.Consume();
    std::optional<std::string_view> conn = request.Find("Connection");
    bool keep_alive = connection.http10() ? conn && HasToken(*conn, "keep-alive")
                                          : !(conn && HasToken(*conn, "close"));
    {
      std::lock_guard lock(mu_);
      keep_alive = keep_alive && !stopping_;
    }
    if (!SendAll(fd, FormatReply(Dispatch(request), keep_alive)) || !keep_alive) break;
    request = HttpRequest();
  }
  std::lock_guard lock(mu_);
  connections_.erase(fd);
  ::close(fd);  // under mu_, so that Stop() never shuts down a reused descriptor
  idle_.notify_all();
}

HttpReply HttpListener::Dispatch(const HttpRequest& request) const {
  bool path_known = false;
  for (const HttpRoute& route : routes_) {
    if (route.path != request.path) continue;
    if (route.method == request.method) return route.handler(request);
    path_known = true;
  }
  if (path_known) {
    return CodedError(405, "method_not_allowed",
                      request.method + " is not allowed on " + request.path);
  }
  return CodedError(404, "not_found", "no route for " + request.method + " " + request.path);
}

}  // namespace example_http
