// SPDX-License-Identifier: Apache-2.0
#include "proxy_session.hpp"

#include <array>
#include <charconv>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/connect.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

namespace agentcore::server {
namespace {

constexpr std::size_t kPipeBuffer = 16 * 1024;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// The comma-separated tokens of a header value, trimmed, empty ones skipped.
std::vector<std::string_view> Tokens(std::string_view list) {
  std::vector<std::string_view> out;
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view token = Trim(list.substr(0, comma));
    if (!token.empty()) out.push_back(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return out;
}

/// RFC 9110 §7.6.1's hop-by-hop headers, plus what the proxy sets itself (Host is kept,
/// Content-Length is recomputed: the body was read whole, chunked coding removed) and the
/// caller's agentcore credentials (the service inside the session never sees them).
bool DroppedHeader(std::string_view name) {
  static constexpr std::string_view kDropped[] = {
      "Connection",        "Keep-Alive",      "Proxy-Connection", "Proxy-Authenticate",
      "Proxy-Authorization", "TE",            "Trailer",          "Transfer-Encoding",
      "Upgrade",           "Content-Length",  "Authorization",    "X-Forwarded-For",
      "X-Forwarded-Proto", "X-Forwarded-Host"};
  for (std::string_view d : kDropped) {
    if (EqualsIgnoreCase(name, d)) return true;
  }
  return false;
}

/// The Cookie header without the agentcore session cookie (`cast_session`).
std::string CookiesWithoutSession(std::string_view cookies) {
  std::string out;
  while (!cookies.empty()) {
    std::size_t semi = cookies.find(';');
    std::string_view pair = Trim(cookies.substr(0, semi));
    cookies = semi == std::string_view::npos ? std::string_view() : cookies.substr(semi + 1);
    if (pair.empty()) continue;
    std::string_view name = Trim(pair.substr(0, pair.find('=')));
    if (name == "cast_session") continue;
    if (!out.empty()) out.append("; ");
    out.append(pair);
  }
  return out;
}

/// `text` with control bytes, space and DEL %-escaped: what the engine accepts in a target
/// never has them, but the request line upstream must not break whatever comes.
void AppendTargetPart(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) {
      out->push_back('%');
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 0xf]);
    } else {
      out->push_back(c);
    }
  }
}

bool NoLineBreak(std::string_view s) {
  return s.find('\r') == std::string_view::npos && s.find('\n') == std::string_view::npos;
}

}  // namespace

bool IsUpgradeRequest(const Request& request) {
  auto upgrade = request.Find("Upgrade");
  auto connection = request.Find("Connection");
  // An Upgrade value with a line break in it is no upgrade: ForwardedHead repeats the value
  // upstream, where it would end the header line early (found by proxy_head_fuzz).
  if (!upgrade || Trim(*upgrade).empty() || !NoLineBreak(*upgrade) || !connection) return false;
  for (std::string_view token : Tokens(*connection)) {
    if (EqualsIgnoreCase(token, "upgrade")) return true;
  }
  return false;
}

std::string ForwardedHead(const Request& request, std::string_view path, std::size_t body_bytes) {
  const bool upgrade = IsUpgradeRequest(request);
  // Headers the client named in Connection are hop-by-hop too (RFC 9110 §7.6.1).
  std::vector<std::string_view> named;
  if (auto connection = request.Find("Connection")) named = Tokens(*connection);
  std::string head;
  head.reserve(512);
  AppendTargetPart(request.method, &head);
  head.push_back(' ');
  AppendTargetPart(path, &head);
  if (!request.query.empty()) {
    head.push_back('?');
    AppendTargetPart(request.query, &head);
  }
  head.append(" HTTP/1.1\r\n");
  std::string forwarded_for;
  for (const Header& h : request.headers) {
    if (DroppedHeader(h.name) || !NoLineBreak(h.name) || !NoLineBreak(h.value)) continue;
    bool hop = false;
    for (std::string_view n : named) hop = hop || EqualsIgnoreCase(n, h.name);
    if (hop && !(upgrade && EqualsIgnoreCase(h.name, "Upgrade"))) continue;
    if (EqualsIgnoreCase(h.name, "Cookie")) {
      std::string kept = CookiesWithoutSession(h.value);
      if (!kept.empty()) head.append("Cookie: ").append(kept).append("\r\n");
      continue;
    }
    head.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  if (auto prior = request.Find("X-Forwarded-For"); prior && NoLineBreak(*prior)) {
    forwarded_for.assign(Trim(*prior)).append(", ");
  }
  forwarded_for.append(request.remote_address);
  head.append("X-Forwarded-For: ").append(forwarded_for).append("\r\n");
  head.append("X-Forwarded-Proto: http\r\n");
  if (auto host = request.Find("Host"); host && NoLineBreak(*host)) {
    head.append("X-Forwarded-Host: ").append(Trim(*host)).append("\r\n");
  }
  if (upgrade) {
    head.append("Upgrade: ").append(Trim(*request.Find("Upgrade"))).append("\r\n");
    head.append("Connection: Upgrade\r\n");
  } else {
    head.append("Connection: close\r\n");
  }
  if (body_bytes > 0 || (request.method != "GET" && request.method != "HEAD" && !upgrade)) {
    head.append("Content-Length: ").append(std::to_string(body_bytes)).append("\r\n");
  }
  head.append("\r\n");
  return head;
}

asio::awaitable<Result<asio::ip::tcp::socket>> ConnectUpstream(
    const asio::any_io_executor* executor, const std::string* endpoint, std::int64_t timeout_ms) {
  std::string_view text = *endpoint;
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    co_return InvalidArgument("service endpoint \"" + *endpoint + "\" is not host:port");
  }
  std::string_view host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::uint16_t port = 0;
  std::string_view port_text = text.substr(colon + 1);
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  asio::error_code address_ec;
  asio::ip::address address = asio::ip::make_address(std::string(host), address_ec);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port == 0 || address_ec) {
    co_return InvalidArgument("service endpoint \"" + *endpoint + "\" is not host:port");
  }
  // The socket and the timeout's flag are shared with the timer's handler, which may run
  // after this coroutine returned.
  struct Attempt {
    explicit Attempt(const asio::any_io_executor& ex) : socket(ex), timer(ex) {}
    asio::ip::tcp::socket socket;
    asio::steady_timer timer;
    bool timed_out = false;
  };
  auto attempt = std::make_shared<Attempt>(*executor);
  attempt->timer.expires_after(std::chrono::milliseconds(timeout_ms));
  attempt->timer.async_wait([attempt](const std::error_code& e) {
    if (e) return;
    attempt->timed_out = true;
    std::error_code ignored;
    attempt->socket.close(ignored);
  });
  std::error_code connect_ec;
  co_await attempt->socket.async_connect(asio::ip::tcp::endpoint(address, port),
                                         asio::redirect_error(asio::use_awaitable, connect_ec));
  attempt->timer.cancel();
  if (attempt->timed_out) {
    co_return Unavailable("service at " + *endpoint + " did not answer in time");
  }
  if (connect_ec) {
    co_return Unavailable("service at " + *endpoint + " refused: " + connect_ec.message());
  }
  std::error_code ignored;
  attempt->socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  co_return std::move(attempt->socket);
}

ProxySession::ProxySession(asio::ip::tcp::socket upstream, std::string head, std::string body,
                           bool tunnel_client, std::chrono::milliseconds write_timeout,
                           std::chrono::milliseconds idle_timeout)
    : write_timeout_(write_timeout),
      idle_timeout_(idle_timeout),
      tunnel_client_(tunnel_client),
      upstream_(std::move(upstream)),
      head_(std::move(head)),
      body_(std::move(body)) {}

void ProxySession::CloseBoth() {
  if (closed_) return;
  closed_ = true;
  std::error_code ec;
  upstream_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  upstream_.close(ec);
  if (client_ != nullptr) client_->cancel(ec);  // the connection closes it after Run
  if (timer_) timer_->cancel();
  if (done_) done_->cancel();
}

void ProxySession::Stop() { CloseBoth(); }

asio::awaitable<bool> ProxySession::WriteAll(asio::ip::tcp::socket* to, std::string_view bytes) {
  if (bytes.empty()) co_return !closed_;
  std::error_code ec;
  ++writes_pending_;
  co_await asio::async_write(*to, asio::buffer(bytes.data(), bytes.size()),
                             asio::redirect_error(asio::use_awaitable, ec));
  --writes_pending_;
  if (ec || closed_) co_return false;
  last_progress_ = SteadyClock::now();
  co_return true;
}

asio::awaitable<void> ProxySession::Pipe(asio::ip::tcp::socket* from, asio::ip::tcp::socket* to) {
  std::array<char, kPipeBuffer> buffer;
  while (!closed_) {
    std::error_code ec;
    std::size_t n = co_await from->async_read_some(asio::buffer(buffer),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec || closed_) break;
    last_progress_ = SteadyClock::now();
    if (!co_await WriteAll(to, std::string_view(buffer.data(), n))) break;
  }
  --pipes_running_;
  CloseBoth();  // either side ended: the tunnel ends
  if (done_) done_->cancel();  // Run may be waiting for this pipe
}

asio::awaitable<void> ProxySession::Watchdog() {
  while (!closed_) {
    const auto limit = writes_pending_ > 0 ? write_timeout_ : idle_timeout_;
    const auto deadline = last_progress_ + limit;
    if (SteadyClock::now() >= deadline) {
      CloseBoth();
      co_return;
    }
    timer_->expires_at(deadline);
    std::error_code ec;
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<void> ProxySession::Run(asio::ip::tcp::socket& socket, std::string leftover) {
  client_ = &socket;
  const auto executor = socket.get_executor();
  timer_ = std::make_unique<asio::steady_timer>(executor);
  done_ = std::make_unique<asio::steady_timer>(executor);
  auto self = shared_from_this();
  last_progress_ = SteadyClock::now();
  asio::co_spawn(executor, [self]() { return self->Watchdog(); }, asio::detached);

  bool ok = co_await WriteAll(&upstream_, head_);
  if (ok) ok = co_await WriteAll(&upstream_, body_);
  if (ok && tunnel_client_) ok = co_await WriteAll(&upstream_, leftover);
  std::string().swap(head_);
  std::string().swap(body_);
  std::string().swap(leftover);
  if (ok) {
    if (tunnel_client_) {
      ++pipes_running_;
      asio::co_spawn(executor, [self]() { return self->Pipe(self->client_, &self->upstream_); },
                     asio::detached);
    }
    ++pipes_running_;
    co_await Pipe(&upstream_, client_);
  }
  CloseBoth();
  // The client's pipe reads client_: it must end before the connection closes the socket.
  while (pipes_running_ > 0) {
    done_->expires_at(SteadyClock::time_point::max());
    std::error_code ec;
    co_await done_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  client_ = nullptr;
}

}  // namespace agentcore::server
