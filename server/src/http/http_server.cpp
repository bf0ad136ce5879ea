// SPDX-License-Identifier: Apache-2.0
#include "http/http_server.hpp"

#include <fcntl.h>
#include <http_parser.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <unordered_set>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "error_log.hpp"
#include "http/request_context.hpp"
#include "http/strict_request.hpp"

namespace agentcore::server {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct HttpServer::Shard {
  asio::io_context context{1};
  tcp::acceptor acceptor{context};
  std::unordered_set<class HttpConnection*> connections;
  /// A descriptor kept open for the moment the process runs out of them: closed, it makes
  /// room to accept one waiting connection and answer it 503 instead of leaving it (and all
  /// behind it) in the accept queue. -1 when it could not be opened.
  int reserve_fd = -1;
  ~Shard() {
    if (reserve_fd >= 0) ::close(reserve_fd);
  }
};

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kFlushAt = 64 * 1024;

/// A handler threw (they return Status; this is a bug): the cause goes to the log, the client
/// gets a fixed 500 without the exception's text.
Response UncaughtException(const std::exception& e) {
  LogError("uncaught exception in a handler", Status(ErrorCode::kInternal, e.what()));
  return CodedError(500, "internal", "internal server error");
}

}  // namespace

/// One client connection. Lives on its shard's thread only.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
  friend class HttpServer;  // ParseForTesting

 public:
  HttpConnection(HttpServer* server, HttpServer::Shard* shard, tcp::socket socket)
      : server_(server), shard_(shard), socket_(std::move(socket)), timer_(shard->context) {
    http_parser_init(&parser_, HTTP_REQUEST);
    parser_.data = this;
    shard_->connections.insert(this);
    server_->open_connections_.fetch_add(1);
  }
  ~HttpConnection() {
    shard_->connections.erase(this);
    server_->open_connections_.fetch_sub(1);
  }

  void Start() {
    asio::error_code ec;
    socket_.set_option(tcp::no_delay(true), ec);
    socket_.non_blocking(true, ec);
    auto endpoint = socket_.remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
    SetDeadline(Clock::now() + server_->options_.limits.idle_timeout);
    auto self = shared_from_this();
    asio::co_spawn(shard_->context, Watchdog(self), asio::detached);
    asio::co_spawn(shard_->context, Run(self), asio::detached);
  }

  /// Server shutdown: idle connections close now, busy ones after their response, upgraded
  /// ones are asked to say goodbye.
  void Drain() {
    draining_ = true;
    if (upgrade_) {
      upgrade_->Stop();
    } else if (phase_ == Phase::kIdle && in_pos_ == in_.size()) {
      Close();
    }
  }

  void Close() {
    asio::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
    timer_.cancel();
  }

 private:
  enum class Phase { kIdle, kHead, kHeadDone, kBody, kComplete, kHandling };

  // --- deadlines -------------------------------------------------------------------------

  void SetDeadline(Clock::time_point t) {
    bool earlier = t < deadline_;
    deadline_ = t;
    if (earlier) timer_.cancel();
  }

  // `self` keeps the connection alive while the coroutine runs.
  asio::awaitable<void> Watchdog(std::shared_ptr<HttpConnection> /*self*/) {
    while (socket_.is_open()) {
      asio::error_code ec;
      timer_.expires_at(deadline_);
      co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!socket_.is_open()) break;
      if (deadline_ <= Clock::now() && RenewRateWindow()) continue;
      if (deadline_ <= Clock::now()) {
        if (phase_ == Phase::kHead || phase_ == Phase::kBody || phase_ == Phase::kHeadDone) {
          // A slow client: tell it why, without waiting on it, then drop it.
          std::string out;
          AppendResponse(CodedError(408, "request_timeout", "request not received in time"),
                         false, &out);
          socket_.send(asio::buffer(out), 0, ec);
        }
        Close();
        break;
      }
    }
  }

  // --- http-parser callbacks ---------------------------------------------------------------

  static HttpConnection* Self(http_parser* p) { return static_cast<HttpConnection*>(p->data); }

  bool CountHead(std::size_t n) {
    head_bytes_ += n;
    if (head_bytes_ > server_->options_.limits.max_header_bytes) {
      error_status_ = 431;
      return false;
    }
    return true;
  }

  static int OnMessageBegin(http_parser* p) {
    HttpConnection* c = Self(p);
    c->phase_ = Phase::kHead;
    c->head_started_ = Clock::now();
    const HttpLimits& limits = c->server_->options_.limits;
    c->SetDeadline(c->head_started_ + std::min(limits.header_timeout, limits.request_timeout));
    return 0;
  }
  static int OnUrl(http_parser* p, const char* at, std::size_t n) {
    HttpConnection* c = Self(p);
    if (!c->CountHead(n)) return 1;
    c->request_.target.append(at, n);
    return 0;
  }
  static int OnHeaderField(http_parser* p, const char* at, std::size_t n) {
    HttpConnection* c = Self(p);
    if (!c->CountHead(n)) return 1;
    if (c->in_value_ || c->request_.headers.empty()) {
      c->request_.headers.push_back({});
      c->in_value_ = false;
    }
    c->request_.headers.back().name.append(at, n);
    return 0;
  }
  static int OnHeaderValue(http_parser* p, const char* at, std::size_t n) {
    HttpConnection* c = Self(p);
    if (!c->CountHead(n)) return 1;
    c->in_value_ = true;
    if (c->request_.headers.empty()) return 1;
    c->request_.headers.back().value.append(at, n);
    return 0;
  }
  static int OnHeadersComplete(http_parser* p) {
    HttpConnection* c = Self(p);
    c->phase_ = Phase::kHeadDone;
    http_parser_pause(p, 1);  // the coroutine finishes the head (route, limits, streaming)
    return 0;
  }
  static int OnBody(http_parser* p, const char* at, std::size_t n) {
    HttpConnection* c = Self(p);
    c->body_bytes_ += n;
    if (c->body_bytes_ > c->body_limit_) {
      c->error_status_ = 413;
      return 1;
    }
    if (c->consumer_) {
      c->pieces_.emplace_back(at, n);
    } else {
      c->request_.body.append(at, n);
    }
    return 0;
  }
  // A chunk larger than what the route may still take is refused from its size line.
  static int OnChunkHeader(http_parser* p) {
    HttpConnection* c = Self(p);
    if (p->content_length > c->body_limit_ - std::min(c->body_bytes_, c->body_limit_)) {
      c->error_status_ = 413;
      return 1;
    }
    return 0;
  }
  static int OnMessageComplete(http_parser* p) {
    HttpConnection* c = Self(p);
    c->phase_ = Phase::kComplete;
    http_parser_pause(p, 1);
    return 0;
  }

  static const http_parser_settings& Settings() {
    static const http_parser_settings settings = [] {
      http_parser_settings s;
      std::memset(&s, 0, sizeof s);
      s.on_message_begin = &OnMessageBegin;
      s.on_url = &OnUrl;
      s.on_header_field = &OnHeaderField;
      s.on_header_value = &OnHeaderValue;
      s.on_headers_complete = &OnHeadersComplete;
      s.on_body = &OnBody;
      s.on_chunk_header = &OnChunkHeader;
      s.on_message_complete = &OnMessageComplete;
      return s;
    }();
    return settings;
  }

  // --- the connection's life ---------------------------------------------------------------

  asio::awaitable<void> Run(std::shared_ptr<HttpConnection> /*self*/) {
    try {
      co_await Serve();
    } catch (const std::exception&) {
      // A bug or an allocation failure on this connection only: drop it, keep the server.
    }
    if (consumer_) {
      auto consumer = std::move(consumer_);
      try {
        co_await consumer->OnAbort();
      } catch (const std::exception&) {
      }
    }
    Close();
  }

  asio::awaitable<void> Serve() {
    for (;;) {
      if (in_pos_ < in_.size()) {
        // The strict check sees every byte of a request before the parser does, and stops
        // at its end: the parser is never given bytes the check has not passed.
        if (!strict_.done() && checked_ < in_.size()) {
          StrictRequestCheck::Step step =
              strict_.Feed(std::string_view(in_).substr(checked_));
          checked_ += step.consumed;
          if (!step.error.empty()) {
            strict_error_ = step.error;
            co_await FailRequest();
            co_return;
          }
        }
      }
      if (in_pos_ < checked_) {
        std::size_t n = http_parser_execute(&parser_, &Settings(), in_.data() + in_pos_,
                                            checked_ - in_pos_);
        in_pos_ += n;
        http_errno err = HTTP_PARSER_ERRNO(&parser_);
        if (err != HPE_OK && err != HPE_PAUSED) {
          co_await FailRequest();
          co_return;
        }
        if (!pieces_.empty()) {
          for (std::string_view piece : pieces_) {
            Status s = co_await consumer_->OnData(piece);
            if (!s.ok()) {
              pieces_.clear();
              co_await FinishStreaming(/*complete=*/false);
              co_return;
            }
          }
          pieces_.clear();
        }
        if (err == HPE_PAUSED) {
          if (phase_ == Phase::kHeadDone) {
            if (!co_await BeginBody()) co_return;
            http_parser_pause(&parser_, 0);
            continue;
          }
          if (phase_ == Phase::kComplete) {
            if (!co_await Dispatch()) co_return;
            http_parser_pause(&parser_, 0);
            continue;
          }
        }
      }
      if (strict_.done()) {
        // The check saw the request end but the parser did not: never guess which is right.
        strict_error_ = "ambiguous request framing";
        co_await FailRequest();
        co_return;
      }
      // Everything buffered is parsed: send what is pending, then read more.
      if (!out_.empty()) {
        if (!co_await Flush()) co_return;
      }
      if (draining_ && phase_ == Phase::kIdle) co_return;
      if (in_pos_ == in_.size()) {
        std::string().swap(in_);  // idle connections hold no buffer
        in_pos_ = 0;
        checked_ = 0;
      }
      if (!co_await ReadSome()) {
        if (phase_ != Phase::kIdle && phase_ != Phase::kHandling && !timed_out()) {
          // The client went away in the middle of a request.
        }
        co_return;
      }
    }
  }

  bool timed_out() const { return deadline_ <= Clock::now(); }

  asio::awaitable<bool> ReadSome() {
    if (phase_ == Phase::kIdle) {
      SetDeadline(Clock::now() + server_->options_.limits.idle_timeout);
    } else if (phase_ == Phase::kBody) {
      piece_deadline_ = Clock::now() + server_->options_.limits.body_timeout;
      SetDeadline(BodyDeadline());
    }
    for (;;) {
      asio::error_code ec;
      co_await socket_.async_wait(tcp::socket::wait_read,
                                  asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return false;
      if (in_pos_ > 0 && in_pos_ == in_.size()) {
        in_.clear();
        in_pos_ = 0;
        checked_ = 0;
      } else if (in_pos_ > kReadChunk) {
        in_.erase(0, in_pos_);
        checked_ -= in_pos_;
        in_pos_ = 0;
      }
      std::size_t old = in_.size();
      in_.resize(old + kReadChunk);
      std::size_t n = socket_.read_some(asio::buffer(in_.data() + old, kReadChunk), ec);
      in_.resize(old + n);
      if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
      if (ec || n == 0) co_return false;
      co_return true;
    }
  }

  asio::awaitable<bool> Flush() {
    SetDeadline(Clock::now() + server_->options_.limits.write_timeout);
    asio::error_code ec;
    co_await asio::async_write(socket_, asio::buffer(out_),
                               asio::redirect_error(asio::use_awaitable, ec));
    out_.clear();
    if (out_.capacity() > kFlushAt) std::string().swap(out_);
    if (ec) co_return false;
    if (close_after_flush_) co_return false;
    co_return true;
  }

  /// Malformed request (400), head too large (431) or body too large (413): answer and close.
  asio::awaitable<void> FailRequest() {
    int status = error_status_ != 0 ? error_status_ : 400;
    Response r;
    if (status == 431) {
      r = CodedError(431, "headers_too_large", "request head exceeds the server's limit");
    } else if (status == 413) {
      r = CodedError(413, "body_too_large", "request body exceeds this route's limit");
    } else if (!strict_error_.empty()) {
      r = CodedError(400, "bad_request", strict_error_);
    } else {
      r = CodedError(400, "bad_request",
                     http_errno_description(HTTP_PARSER_ERRNO(&parser_)));
    }
    if (consumer_) {
      auto consumer = std::move(consumer_);
      co_await consumer->OnAbort();
    }
    Log(r.status, 0);
    AppendResponse(r, false, &out_);
    close_after_flush_ = true;
    co_await Flush();
  }

  void ParseTarget() {
    std::string_view target = request_.target;
    std::size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    request_.query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
    request_.path.assign(path);
    request_.method = http_method_str(static_cast<http_method>(parser_.method));
    request_.keep_alive = http_should_keep_alive(&parser_) != 0;
    request_.remote_address = remote_;
  }

  /// The head is complete: the route and the body limit. False when the declared body is
  /// over the limit (error_status_ 413).
  bool RouteHead() {
    ParseTarget();
    context_.emplace(&request_, server_->app_, socket_.get_executor());
    match_ = server_->router_->Find(request_.method, request_.path, &context_->params());
    body_limit_ = server_->options_.limits.max_body_bytes;
    if (match_.route != nullptr && match_.route->max_body_bytes != 0) {
      body_limit_ = match_.route->max_body_bytes;
    }
    bool has_length = (parser_.flags & F_CONTENTLENGTH) != 0;
    if (has_length && parser_.content_length > body_limit_) {
      error_status_ = 413;
      return false;
    }
    return true;
  }

  /// The head is complete: find the route, check the body limit, start a streaming body.
  /// Returns false when the connection must close.
  asio::awaitable<bool> BeginBody() {
    if (!RouteHead()) {
      co_await FailRequest();
      co_return false;
    }
    const HttpLimits& limits = server_->options_.limits;
    bool has_length = (parser_.flags & F_CONTENTLENGTH) != 0;
    bool expects_body = (parser_.flags & F_CHUNKED) != 0 || (has_length && parser_.content_length > 0);
    if (match_.route != nullptr && match_.route->streaming) {
      std::variant<Response, std::unique_ptr<BodyConsumer>> started;
      try {
        started = co_await match_.route->streaming(*context_);
      } catch (const std::exception& e) {
        started = UncaughtException(e);
      }
      if (auto* early = std::get_if<Response>(&started)) {
        // Refused before the body: answer, and close since the body was not read.
        Log(early->status, 0);
        AppendResponse(*early, false, &out_);
        close_after_flush_ = true;
        co_await Flush();
        co_return false;
      }
      consumer_ = std::move(std::get<std::unique_ptr<BodyConsumer>>(started));
      streaming_body_ = true;
    }
    if (expects_body) {
      if (auto expect = request_.Find("Expect"); expect && EqualsIgnoreCase(*expect, "100-continue")) {
        out_.append("HTTP/1.1 100 Continue\r\n\r\n");
        if (!co_await Flush()) co_return false;
      }
      phase_ = Phase::kBody;
      rate_mark_bytes_ = body_bytes_;
      rate_check_at_ = Clock::now() + limits.stream_rate_window;
      piece_deadline_ = Clock::now() + limits.body_timeout;
      SetDeadline(BodyDeadline());
    }
    co_return true;
  }

  asio::awaitable<void> FinishStreaming(bool complete) {
    (void)complete;
    auto consumer = std::move(consumer_);
    Response r;
    try {
      r = co_await consumer->OnEnd();
    } catch (const std::exception& e) {
      r = UncaughtException(e);
    }
    Log(r.status, r.body.size());
    AppendResponse(r, false, &out_);
    close_after_flush_ = true;
    co_await Flush();
  }

  /// A whole request is here: run its handler and queue the response. Returns false when the
  /// connection must close (after the pending responses are written).
  asio::awaitable<bool> Dispatch() {
    phase_ = Phase::kHandling;
    SetDeadline(Clock::time_point::max());
    if (!context_) {
      ParseTarget();
      context_.emplace(&request_, server_->app_, socket_.get_executor());
      match_ = server_->router_->Find(request_.method, request_.path, &context_->params());
    }
    Response response;
    try {
      if (consumer_) {
        auto consumer = std::move(consumer_);
        response = co_await consumer->OnEnd();
      } else if (match_.kind == Router::MatchKind::kFound) {
        response = co_await match_.route->handler(*context_);
      } else if (match_.kind == Router::MatchKind::kBadParam) {
        response = CodedError(400, "bad_request",
                              "a path parameter of " + request_.path + " is not UTF-8");
      } else if (match_.kind == Router::MatchKind::kNoMethod) {
        response = CodedError(405, "method_not_allowed",
                              request_.method + " is not allowed on " + request_.path);
      } else {
        response = CodedError(404, "not_found", "no route for " + request_.method + " " +
                                                    request_.path);
      }
    } catch (const std::exception& e) {
      response = UncaughtException(e);
    }
    // CONNECT, or an Upgrade the handler did not take: http-parser treats what follows as
    // another protocol, a proxy may too; reading it as more requests would be a guess.
    bool keep_alive = request_.keep_alive && !draining_ && !server_->stopping_.load() &&
                      response.upgrade == nullptr && parser_.upgrade == 0;
    Log(response.status, response.body.size());
    if (response.upgrade) {
      if (!out_.empty() && !co_await Flush()) co_return false;
      upgrade_ = std::move(response.upgrade);
      std::string leftover = in_.substr(in_pos_);
      // The session owns the socket from here on, for hours maybe: this connection's buffers
      // and request go now (an idle subscriber costs ~6 KB instead of ~23 KB).
      std::string().swap(in_);
      in_pos_ = 0;
      std::string().swap(out_);
      context_.reset();
      request_ = Request();
      SetDeadline(Clock::time_point::max());
      co_await upgrade_->Run(socket_, std::move(leftover));
      co_return false;
    }
    AppendResponse(response, keep_alive, &out_);
    ResetRequest();
    if (!keep_alive) {
      close_after_flush_ = true;
      co_await Flush();
      co_return false;
    }
    if (out_.size() >= kFlushAt && !co_await Flush()) co_return false;
    co_return true;
  }

  /// HttpServer::ParseForTesting: Serve's parsing steps over a buffer, with no socket and no
  /// handler.
  void ParseForTesting(std::string_view bytes, std::vector<ParsedRequest>* out, bool* ambiguous) {
    in_.assign(bytes);
    auto refuse = [&](int status) {
      ParsedRequest r;
      r.status = status;
      out->push_back(std::move(r));
    };
    for (;;) {
      if (!strict_.done() && checked_ < in_.size()) {
        StrictRequestCheck::Step step = strict_.Feed(std::string_view(in_).substr(checked_));
        checked_ += step.consumed;
        if (!step.error.empty()) return refuse(400);
      }
      if (in_pos_ >= checked_) {
        if (strict_.done()) *ambiguous = true;
        return;
      }
      std::size_t n = http_parser_execute(&parser_, &Settings(), in_.data() + in_pos_,
                                          checked_ - in_pos_);
      in_pos_ += n;
      http_errno err = HTTP_PARSER_ERRNO(&parser_);
      if (err != HPE_OK && err != HPE_PAUSED) return refuse(error_status_ != 0 ? error_status_ : 400);
      pieces_.clear();
      if (err != HPE_PAUSED) continue;
      if (phase_ == Phase::kHeadDone) {
        if (!RouteHead()) return refuse(error_status_);
        phase_ = Phase::kBody;
      } else if (phase_ == Phase::kComplete) {
        ParsedRequest r;
        r.method = request_.method;
        r.path = request_.path;
        r.kind = match_.kind;
        r.body_bytes = body_bytes_;
        out->push_back(std::move(r));
        ResetRequest();
      }
      http_parser_pause(&parser_, 0);
    }
  }

  void ResetRequest() {
    request_ = Request();
    context_.reset();
    match_ = {};
    in_value_ = false;
    head_bytes_ = 0;
    body_bytes_ = 0;
    error_status_ = 0;
    phase_ = Phase::kIdle;
    streaming_body_ = false;
    strict_.Reset();
  }

  /// When the body being received is late: the next piece within body_timeout, the whole
  /// request within request_timeout, or for a streamed upload the next rate check.
  Clock::time_point BodyDeadline() const {
    const HttpLimits& limits = server_->options_.limits;
    Clock::time_point t = Clock::now() + limits.body_timeout;
    if (streaming_body_) {
      if (limits.stream_min_bytes_per_second > 0) t = std::min(t, rate_check_at_);
    } else {
      t = std::min(t, head_started_ + limits.request_timeout);
    }
    return t;
  }

  /// The watchdog fired during a streamed upload at its rate check: true (and the next window
  /// starts) when the upload delivered its minimum in the window that ended and no other
  /// deadline passed.
  bool RenewRateWindow() {
    const HttpLimits& limits = server_->options_.limits;
    if (phase_ != Phase::kBody || !streaming_body_ || limits.stream_min_bytes_per_second == 0) {
      return false;
    }
    Clock::time_point now = Clock::now();
    if (now < rate_check_at_ || now >= piece_deadline_) return false;
    auto window_ms = static_cast<std::uint64_t>(limits.stream_rate_window.count());
    std::uint64_t wanted = limits.stream_min_bytes_per_second * window_ms / 1000;
    if (body_bytes_ - rate_mark_bytes_ < wanted) return false;
    rate_mark_bytes_ = body_bytes_;
    rate_check_at_ = now + limits.stream_rate_window;
    deadline_ = std::min(piece_deadline_, rate_check_at_);
    return true;
  }

  void Log(int status, std::size_t response_bytes) {
    HttpStats& stats = server_->stats_;
    int status_class = status / 100;
    stats.requests_by_class[status_class >= 1 && status_class <= 5 ? status_class : 0].fetch_add(
        1, std::memory_order_relaxed);
    stats.bytes_in.fetch_add(head_bytes_ + body_bytes_, std::memory_order_relaxed);
    stats.bytes_out.fetch_add(response_bytes, std::memory_order_relaxed);
    stats.latency_micros_total.fetch_add(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       Clock::now() - head_started_)
                                       .count()),
        std::memory_order_relaxed);
    const auto& log = server_->options_.access_log;
    if (!log) return;
    if (request_.method.empty()) ParseTarget();
    AccessRecord record;
    record.method = request_.method;
    record.path = request_.path;
    record.status = status;
    record.micros = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - head_started_)
            .count());
    record.request_bytes = head_bytes_ + body_bytes_;
    record.response_bytes = response_bytes;
    record.remote = remote_;
    log(record);
  }

  HttpServer* server_;
  HttpServer::Shard* shard_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  http_parser parser_;
  Phase phase_ = Phase::kIdle;
  std::string in_;
  std::size_t in_pos_ = 0;
  std::string out_;
  Request request_;
  std::optional<RequestContext> context_;
  Router::Match match_;
  bool in_value_ = false;
  std::size_t head_bytes_ = 0;
  std::size_t body_bytes_ = 0;
  std::size_t body_limit_ = 0;
  int error_status_ = 0;
  Clock::time_point head_started_ = Clock::now();
  std::unique_ptr<BodyConsumer> consumer_;
  std::vector<std::string_view> pieces_;
  std::shared_ptr<Upgrade> upgrade_;
  bool draining_ = false;
  bool close_after_flush_ = false;
  std::string remote_;
  // Strict framing (strict_request.hpp): bytes of in_ before checked_ passed the check.
  StrictRequestCheck strict_;
  std::size_t checked_ = 0;
  std::string_view strict_error_;
  // Deadlines of the body: the next piece, and a streamed upload's rate windows.
  bool streaming_body_ = false;
  Clock::time_point piece_deadline_ = Clock::time_point::max();
  Clock::time_point rate_check_at_ = Clock::time_point::max();
  std::size_t rate_mark_bytes_ = 0;
};

namespace {

const std::string& TooManyConnections() {
  static const std::string bytes = [] {
    std::string out;
    AppendResponse(CodedError(503, "too_many_connections", "connection limit reached"), false,
                   &out);
    return out;
  }();
  return bytes;
}

int OpenReserve() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

/// The process is out of descriptors: spends the shard's reserve descriptor to accept each
/// waiting connection, answer it 503 and close it, so none waits in the queue for a
/// descriptor to come free. False when there is no reserve to spend.
bool RefuseWaiting(HttpServer::Shard* shard, HttpStats* stats) {
  if (shard->reserve_fd < 0) shard->reserve_fd = OpenReserve();
  if (shard->reserve_fd < 0) return false;
  int listener = shard->acceptor.native_handle();
  for (;;) {
    ::close(shard->reserve_fd);
    shard->reserve_fd = -1;
    int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      stats->connections_refused.fetch_add(1, std::memory_order_relaxed);
      const std::string& out = TooManyConnections();
      ssize_t sent = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
      (void)sent;
      ::close(fd);
    }
    shard->reserve_fd = OpenReserve();
    if (fd < 0 || shard->reserve_fd < 0) break;  // queue empty (EAGAIN), or reserve lost
  }
  return shard->reserve_fd >= 0;
}

// Coroutine parameters are pointers and numbers only: GCC 12 miscompiles a class-type argument
// passed as a temporary to a coroutine's by-value parameter (docs/threading.md).
asio::awaitable<void> AcceptLoop(HttpServer* server, HttpServer::Shard* shard,
                                 const std::atomic<bool>* stopping, std::size_t max_connections,
                                 const std::atomic<std::size_t>* open_connections,
                                 HttpStats* stats) {
  for (;;) {
    asio::error_code ec;
    tcp::socket socket = co_await shard->acceptor.async_accept(
        asio::redirect_error(asio::use_awaitable, ec));
    if (stopping->load() || !shard->acceptor.is_open()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      if ((ec == asio::error::no_descriptors || ec.value() == ENFILE) && RefuseWaiting(shard, stats)) {
        continue;  // the queue is empty again; wait for the next connection
      }
      // Out of memory or similar: back off instead of spinning.
      asio::steady_timer pause(shard->context, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (open_connections->load() >= max_connections) {
      stats->connections_refused.fetch_add(1, std::memory_order_relaxed);
      socket.non_blocking(true, ec);
      socket.send(asio::buffer(TooManyConnections()), 0, ec);
      socket.close(ec);
      continue;
    }
    stats->connections_accepted.fetch_add(1, std::memory_order_relaxed);
    std::make_shared<HttpConnection>(server, shard, std::move(socket))->Start();
  }
}

}  // namespace

HttpServer::HttpServer(HttpServerOptions options, const Router* router, App* app)
    : options_(std::move(options)), router_(router), app_(app) {
  if (options_.threads == 0) options_.threads = 1;
  for (unsigned i = 0; i < options_.threads; ++i) shards_.push_back(std::make_unique<Shard>());
}

HttpServer::~HttpServer() { Stop(std::chrono::milliseconds(0)); }

std::vector<ParsedRequest> HttpServer::ParseForTesting(std::string_view bytes, bool* ambiguous) {
  std::vector<ParsedRequest> out;
  *ambiguous = false;
  HttpConnection connection(this, shards_[0].get(), tcp::socket(shards_[0]->context));
  connection.ParseForTesting(bytes, &out, ambiguous);
  return out;
}

asio::io_context& HttpServer::context(unsigned i) { return shards_[i]->context; }

Status HttpServer::Start() {
  asio::error_code ec;
  auto address = asio::ip::make_address(options_.host, ec);
  if (ec) return InvalidArgument("bad listen address \"" + options_.host + "\"");
  std::uint16_t port = options_.port;
  for (auto& shard : shards_) {
    tcp::endpoint endpoint(address, port);
    shard->acceptor.open(endpoint.protocol(), ec);
    if (!ec) shard->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      int one = 1;
      ::setsockopt(shard->acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
      shard->acceptor.bind(endpoint, ec);
    }
    if (!ec) shard->acceptor.listen(4096, ec);
    if (ec) {
      return Unavailable("cannot listen on " + options_.host + ":" + std::to_string(port) +
                              ": " + ec.message());
    }
    port = shard->acceptor.local_endpoint().port();  // the other shards share the port
  }
  port_ = port;
  if (options_.limits.max_connections == 0) options_.limits.max_connections = DefaultMaxConnections();
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    s->acceptor.non_blocking(true, ec);  // RefuseWaiting's accept4 must never block
    s->reserve_fd = OpenReserve();
    asio::co_spawn(s->context,
                   AcceptLoop(this, s, &stopping_, options_.limits.max_connections,
                              &open_connections_, &stats_),
                   asio::detached);
    threads_.emplace_back([s] {
      auto guard = asio::make_work_guard(s->context);
      s->context.run();
    });
  }
  return Status();
}

void HttpServer::Stop(std::chrono::milliseconds deadline) {
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true);
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    asio::post(s->context, [s] {
      asio::error_code ec;
      s->acceptor.close(ec);
      std::vector<HttpConnection*> all(s->connections.begin(), s->connections.end());
      for (HttpConnection* c : all) c->Drain();
    });
  }
  auto until = Clock::now() + deadline;
  while (open_connections_.load() > 0 && Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    asio::post(s->context, [s] {
      std::vector<HttpConnection*> all(s->connections.begin(), s->connections.end());
      for (HttpConnection* c : all) c->Close();
    });
  }
  // Closed sockets complete their pending operations; give the coroutines a moment to unwind
  // before the contexts stop.
  auto settle = Clock::now() + std::chrono::milliseconds(500);
  while (open_connections_.load() > 0 && Clock::now() < settle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& shard : shards_) shard->context.stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace agentcore::server

namespace agentcore::server {

std::size_t DefaultMaxConnections(std::uint64_t nofile) {
  constexpr std::uint64_t kKept = 64;  // store, logs, agents' pipes, epoll and eventfds
  constexpr std::uint64_t kMinimum = 8;
  std::uint64_t headroom = kKept + nofile / 8;
  if (nofile <= headroom + kMinimum) return kMinimum;
  std::uint64_t n = nofile - headroom;
  return static_cast<std::size_t>(std::min<std::uint64_t>(n, std::numeric_limits<std::size_t>::max()));
}

std::size_t DefaultMaxConnections() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) {
    return DefaultMaxConnections(1 << 20);
  }
  return DefaultMaxConnections(static_cast<std::uint64_t>(limit.rlim_cur));
}

std::uint64_t RaiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? std::uint64_t{1} << 20
                                         : static_cast<std::uint64_t>(limit.rlim_cur);
}

}  // namespace agentcore::server
