// SPDX-License-Identifier: Apache-2.0
// spec cast §4.10 (WebSocket /stream) and agentcore's SSE route. The handlers check the
// request and the caller, then hand the connection to a session (ws/websocket_session.hpp,
// sse.hpp) that writes its own response head.
#include "handlers/stream.hpp"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <asio/write.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/channels.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "http/request_context.hpp"
#include "sse.hpp"
#include "ws/websocket_session.hpp"

namespace agentcore::server {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

/// Whether a comma-separated header value (`Connection: keep-alive, Upgrade`) holds `token`.
bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    if (EqualsIgnoreCase(Trim(list.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

/// A Sec-WebSocket-Key is the base64 of 16 bytes: 22 characters and "==" (RFC 6455 §4.1).
bool IsValidWebSocketKey(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  for (char c : key.substr(0, 22)) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

/// Writes fixed bytes and ends the connection: Cast's raw `HTTP/1.1 401 Unauthorized` on a
/// refused upgrade (the socket is closed right after, without a body).
class RawReply final : public Upgrade {
 public:
  explicit RawReply(std::string_view bytes) : bytes_(bytes) {}
  asio::awaitable<void> Run(asio::ip::tcp::socket& socket, std::string) override {
    std::error_code ec;
    co_await asio::async_write(socket, asio::buffer(bytes_),
                               asio::redirect_error(asio::use_awaitable, ec));
    socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  }
  void Stop() override {}

 private:
  std::string_view bytes_;
};

Response RawResponse(std::string_view bytes) {
  Response r;
  r.status = 401;
  r.upgrade = std::make_shared<RawReply>(bytes);
  return r;
}

asio::awaitable<Response> WebSocketHandshake(RequestContext& ctx) {
  const Request& request = ctx.request();
  auto upgrade = request.Find("Upgrade");
  if (!upgrade || !EqualsIgnoreCase(Trim(*upgrade), "websocket")) {
    Response r = CastError(426, "WebSocket upgrade required");
    r.headers.push_back({"Upgrade", "websocket"});
    co_return r;
  }
  auto connection = request.Find("Connection");
  if (!connection || !HasToken(*connection, "upgrade")) {
    co_return CastError(400, "Connection header must include Upgrade");
  }
  // spec cast §4.10: the session is checked at the upgrade; a refusal is a bare 401 head.
  Result<Principal> principal = co_await AuthenticateCaller(ctx);
  if (!principal.ok()) co_return RawResponse("HTTP/1.1 401 Unauthorized\r\n\r\n");
  auto version = request.Find("Sec-WebSocket-Version");
  if (!version || Trim(*version) != "13") {
    // RFC 6455 §4.4: name the version we speak.
    Response r = CastError(426, "Unsupported WebSocket version");
    r.headers.push_back({"Sec-WebSocket-Version", "13"});
    co_return r;
  }
  auto key = request.Find("Sec-WebSocket-Key");
  std::string_view trimmed = key ? Trim(*key) : std::string_view();
  if (!IsValidWebSocketKey(trimmed)) co_return CastError(400, "Invalid Sec-WebSocket-Key");

  Response r;
  r.status = 101;
  r.upgrade = std::make_shared<WebSocketSession>(&ctx.app(), *std::move(principal),
                                                 WebSocketAccept(trimmed));
  co_return r;
}

asio::awaitable<Response> ChannelEvents(RequestContext& ctx) {
  Result<Principal> principal = co_await AuthenticateCaller(ctx);
  if (!principal.ok()) co_return CastError(401, "Authentication required");
  App& app = ctx.app();
  std::string channel_id = ctx.Param("channelId");
  // kNotFound "Channel not found" (also another space's channel, §8 #16) or kInternal.
  auto find = [&channels = app.hub().channels(), &principal, &channel_id] {
    return channels.Find(*principal, channel_id);
  };
  Result<Channel> channel = co_await app.Offload(std::move(find));
  if (!channel.ok()) {
    if (channel.status().code() == ErrorCode::kNotFound) {
      co_return CastError(404, channel.status().message());
    }
    co_return ServerError("Failed to open event stream", channel.status(),
                          CastError(500, "Failed to open event stream"));
  }

  // The EventSource reconnect header, or the query form for clients that cannot set headers.
  std::optional<std::string> last_event_id;
  if (auto header = ctx.request().Find("Last-Event-ID")) {
    last_event_id = std::string(Trim(*header));
  } else if (auto query = ctx.request().Query("lastEventId")) {
    last_event_id = std::move(*query);
  }
  if (last_event_id && last_event_id->empty()) last_event_id.reset();
  // An event id is a message id: one that could not be (IsPossibleId) is refused before the
  // stream starts, rather than handed to the replay's store read.
  if (last_event_id && !IsPossibleId(*last_event_id)) {
    co_return CodedError(400, "invalid_last_event_id", "Last-Event-ID is not a valid event id");
  }

  Response r;
  r.status = 200;
  r.upgrade = std::make_shared<SseSession>(&app, std::move(channel_id), std::move(last_event_id));
  co_return r;
}

}  // namespace

std::optional<Response> CheckWebSocketUpgrade(const Request& request, std::string* accept,
                                              Response (*error)(int, std::string_view)) {
  auto upgrade = request.Find("Upgrade");
  if (!upgrade || !EqualsIgnoreCase(Trim(*upgrade), "websocket")) {
    Response r = error(426, "WebSocket upgrade required");
    r.headers.push_back({"Upgrade", "websocket"});
    return r;
  }
  auto connection = request.Find("Connection");
  if (!connection || !HasToken(*connection, "upgrade")) {
    return error(400, "Connection header must include Upgrade");
  }
  auto version = request.Find("Sec-WebSocket-Version");
  if (!version || Trim(*version) != "13") {
    Response r = error(426, "Unsupported WebSocket version");
    r.headers.push_back({"Sec-WebSocket-Version", "13"});
    return r;
  }
  auto key = request.Find("Sec-WebSocket-Key");
  std::string_view trimmed = key ? Trim(*key) : std::string_view();
  if (!IsValidWebSocketKey(trimmed)) return error(400, "Invalid Sec-WebSocket-Key");
  *accept = WebSocketAccept(trimmed);
  return std::nullopt;
}

void RegisterStreamRoutes(Router& router) {
  router.Get("/stream",
             {.summary = "Live Tymbal frames over a WebSocket (send {\"request\":\"sync\",…})",
              .tag = "live", .auth = kAuthUser, .status = 101, .reply = ReplyKind::kWebSocket},
             WebSocketHandshake);
  router.Get("/channels/:channelId/events",
             {.summary = "Live Tymbal frames as Server-Sent Events (resumes from Last-Event-ID)",
              .tag = "live", .auth = kAuthUser, .reply = ReplyKind::kEventStream},
             ChannelEvents);
}

}  // namespace agentcore::server
