// SPDX-License-Identifier: Apache-2.0
// execbox's and Octo's session routes (seeds 001 and 003, docs/sessions.md "Routes"): one
// table of routes registered under both `/v1` and `/api`, the attach WebSocket, the events
// stream, the workspace files, usage, and Octo's proxies. Every rule is the session service's
// (hub/sessions.hpp); a route reads the request, makes one call and writes the answer. Errors
// are `{"error":"<message>","code":"<code>"}` with the HTTP status of the ErrorCode.
#include <charconv>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <asio/steady_timer.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <agentcore/hub/credentials.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/hub/sessions.hpp>
#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/stream.hpp"
#include "proxy_session.hpp"
#include "session_events.hpp"
#include "ws/attach_session.hpp"
#include "zip_download.hpp"

namespace agentcore::server {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kAuthRequired = "Authentication required";
constexpr std::string_view kNotRunning = "session is not running";
// The proxy's request bodies are read whole before they are forwarded.
constexpr std::size_t kProxyMaxBody = 32u << 20;
// An upload's body is checked against the service's max_file_bytes as it arrives; the
// engine's own limit for the route only has to be above any sensible setting of it.
constexpr std::size_t kUploadRouteLimit = std::numeric_limits<std::size_t>::max() / 2;
constexpr auto kConnectTimeout = 2s;
constexpr auto kTerminalRetryFor = 10s;
constexpr auto kTerminalRetryPause = 250ms;
// A proxied upgrade (a terminal, an editor's socket) may be quiet for long.
constexpr auto kUpgradedIdle = std::chrono::minutes(30);

SessionService& Sessions(App& app) { return app.hub().sessions(); }

/// The answer to a session service error. 429 carries `Retry-After`. Server-side failures are
/// logged with their cause (`what`); a 500 says only "internal error", a 503 its message (what
/// is missing, e.g. bubblewrap, is the client's to know).
Response SessionError(std::string_view what, const Status& status) {
  Response r = StatusErrorWithCode(what, status, SessionErrorCode(status));
  if (r.status == 429 || r.status == 503) r.headers.push_back({"Retry-After", "1"});
  return r;
}

Response BadRequest(std::string_view message) {
  return ErrorWithCode(400, message, "invalid_argument");
}

Response Unauthenticated() { return ErrorWithCode(401, kAuthRequired, "unauthenticated"); }

Response BadGateway() { return ErrorWithCode(502, kNotRunning, "bad_gateway"); }

/// The caller of a session route: a session cookie or JWT, or `Authorization: Bearer <API
/// key or JWT>`. Container tokens are for agents, never a session caller.
asio::awaitable<Result<Principal>> SessionCaller(RequestContext& ctx) {
  Result<Principal> caller = co_await AuthenticateCaller(ctx);
  if (caller.ok() && caller->kind == Principal::Kind::kContainer) {
    co_return Status(ErrorCode::kUnauthenticated, std::string(kAuthRequired));
  }
  co_return caller;
}

using SessionsRoute = asio::awaitable<Response> (*)(RequestContext& ctx, const Principal& caller);

asio::awaitable<Response> RunAuthenticated(RequestContext& ctx, SessionsRoute route) {
  Result<Principal> caller = co_await SessionCaller(ctx);
  if (!caller.ok()) {
    if (caller.status().code() == ErrorCode::kUnauthenticated) co_return Unauthenticated();
    co_return SessionError("authenticate", caller.status());
  }
  co_return co_await route(ctx, *caller);
}

Handler Authenticated(SessionsRoute route) {
  // Not a coroutine itself: the lambda may go away while RunAuthenticated's frame lives on.
  return [route](RequestContext& ctx) { return RunAuthenticated(ctx, route); };
}

Response EnvelopeResponse(App& app, int status, const Session& session) {
  return JsonResponse(status, ToJson(Sessions(app).Envelope(session)));
}

/// A session call returning a Session, answered with its envelope.
template <typename Call>
asio::awaitable<Response> SessionCall(RequestContext& ctx, std::string_view what, int status,
                                      const Call& call) {
  App& app = ctx.app();
  auto work = [&app, &call, id = ctx.Param("id")] { return call(Sessions(app), id); };
  Result<Session> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return SessionError(what, out.status());
  co_return EnvelopeResponse(app, status, *out);
}

// --- lifecycle

asio::awaitable<Response> Create(RequestContext& ctx, const Principal& caller) {
  const std::string& text = ctx.request().body;
  Json body = Json::Object();
  if (text.find_first_not_of(" \t\r\n") != std::string::npos) {
    Result<Json> parsed = ParseJson(text);
    if (!parsed.ok()) co_return BadRequest("request body is not valid JSON");
    body = std::move(*parsed);
  }
  if (!body.is_object()) co_return BadRequest("request body must be a JSON object");
  App& app = ctx.app();
  auto work = [&app, &caller, &body] { return Sessions(app).Create(caller, body); };
  Result<Session> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return SessionError("create session", out.status());
  Response r = EnvelopeResponse(app, 201, *out);
  std::string_view prefix = ctx.request().path.starts_with("/api/") ? "/api" : "/v1";
  r.headers.push_back({"Location", std::string(prefix) + "/sessions/" + out->id});
  co_return r;
}

asio::awaitable<Response> List(RequestContext& ctx, const Principal& caller) {
  const Request& request = ctx.request();
  std::string status = request.Query("status").value_or("");
  std::string cursor = request.Query("cursor").value_or("");
  std::size_t limit = 0;
  if (std::string text = request.Query("limit").value_or(""); !text.empty()) {
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, limit);
    if (ec != std::errc() || ptr != end) co_return BadRequest("limit must be a number from 1 to 100");
  }
  App& app = ctx.app();
  auto work = [&app, &caller, &status, &cursor, limit] {
    return Sessions(app).List(caller, status, cursor, limit);
  };
  Result<SessionPage> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return SessionError("list sessions", out.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("sessions").BeginArray();
  for (const Session& s : out->sessions) w.Value(Sessions(app).Envelope(s));
  w.EndArray().Key("nextCursor");
  if (out->next_cursor.empty()) {
    w.Null();
  } else {
    w.String(out->next_cursor);
  }
  w.EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> Get(RequestContext& ctx, const Principal& caller) {
  co_return co_await SessionCall(ctx, "get session", 200,
                                 [&caller](SessionService& s, const std::string& id) {
                                   return s.Get(caller, id);
                                 });
}

asio::awaitable<Response> StopSession(RequestContext& ctx, const Principal& caller) {
  co_return co_await SessionCall(ctx, "stop session", 200,
                                 [&caller](SessionService& s, const std::string& id) {
                                   return s.Stop(caller, id);
                                 });
}

asio::awaitable<Response> Resume(RequestContext& ctx, const Principal& caller) {
  co_return co_await SessionCall(ctx, "resume session", 200,
                                 [&caller](SessionService& s, const std::string& id) {
                                   return s.Resume(caller, id);
                                 });
}

asio::awaitable<Response> UpgradeSession(RequestContext& ctx, const Principal& caller) {
  co_return co_await SessionCall(ctx, "upgrade session", 200,
                                 [&caller](SessionService& s, const std::string& id) {
                                   return s.Upgrade(caller, id);
                                 });
}

asio::awaitable<Response> Delete(RequestContext& ctx, const Principal& caller) {
  App& app = ctx.app();
  auto work = [&app, &caller, id = ctx.Param("id")] { return Sessions(app).Delete(caller, id); };
  Status out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return SessionError("delete session", out);
  Response r;
  r.status = 204;
  r.content_type.clear();
  co_return r;
}

asio::awaitable<Response> Usage(RequestContext& ctx, const Principal& caller) {
  App& app = ctx.app();
  std::string key = ctx.request().Query("key").value_or("");
  auto work = [&app, &caller, &key] { return Sessions(app).Usage(caller, key); };
  Result<Json> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return SessionError("usage", out.status());
  co_return JsonResponse(200, ToJson(*out));
}

// --- streams

Response HandshakeError(int status, std::string_view message) {
  return ErrorWithCode(status, message, status == 426 ? "upgrade_required" : "invalid_argument");
}

asio::awaitable<Response> Attach(RequestContext& ctx, const Principal& caller) {
  std::string accept;
  if (auto refused = CheckWebSocketUpgrade(ctx.request(), &accept, HandshakeError)) {
    co_return std::move(*refused);
  }
  App& app = ctx.app();
  auto session = std::make_shared<AttachSession>(&app, std::move(accept), ctx.executor());
  auto wake = session->WakeFunction();
  auto work = [&app, &caller, &wake, id = ctx.Param("id")] {
    return Sessions(app).Attach(caller, id, wake);
  };
  Result<std::unique_ptr<SessionAttachment>> attachment = co_await app.Offload(std::move(work));
  if (!attachment.ok()) co_return SessionError("attach", attachment.status());
  session->Adopt(std::move(*attachment));
  Response r;
  r.status = 101;
  r.upgrade = std::move(session);
  co_return r;
}

asio::awaitable<Response> Events(RequestContext& ctx, const Principal& caller) {
  App& app = ctx.app();
  std::string id = ctx.Param("id");
  auto work = [&app, &caller, &id] { return Sessions(app).Get(caller, id); };
  Result<Session> session = co_await app.Offload(std::move(work));
  if (!session.ok()) co_return SessionError("session events", session.status());
  Response r;
  r.status = 200;
  r.upgrade = std::make_shared<SessionEventsSession>(&app, caller, std::move(id));
  co_return r;
}

// --- files

/// The `*path` of a file route, decoded; nullopt for a bad escape.
std::optional<std::string> FilePath(RequestContext& ctx) {
  return UrlDecode(ctx.Param("path"));
}

asio::awaitable<Response> ListFiles(RequestContext& ctx, const Principal& caller) {
  App& app = ctx.app();
  std::string dir = ctx.request().Query("path").value_or("");
  auto work = [&app, &caller, &dir, id = ctx.Param("id")] {
    return Sessions(app).ListFiles(caller, id, dir);
  };
  Result<std::vector<SessionFileEntry>> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return SessionError("list files", out.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("entries").BeginArray();
  for (const SessionFileEntry& e : *out) {
    w.BeginObject()
        .Field("path", e.path)
        .Field("type", e.directory ? "directory" : "file")
        .Field("size", e.size)
        .Field("modifiedAt", FormatIsoTimestamp(e.modified_at))
        .EndObject();
  }
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> Download(RequestContext& ctx, const Principal& caller) {
  std::optional<std::string> path = FilePath(ctx);
  if (!path) co_return BadRequest("file path has a bad %-escape");
  if (path->empty()) co_return BadRequest("file path is empty");
  App& app = ctx.app();
  DownloadSource source;
  source.content_type = "application/octet-stream";
  source.filename = path->substr(path->rfind('/') == std::string::npos ? 0 : path->rfind('/') + 1);
  source.produce = [&sessions = Sessions(app), caller, id = ctx.Param("id"), file = *path](
                       const std::function<bool(std::string_view)>& sink) {
    return sessions.ReadFile(caller, id, file, [&sink](std::string_view chunk) {
      return sink(chunk) ? Status() : Status(ErrorCode::kUnavailable, "the client went away");
    });
  };
  source.refusal = [](const Status& status) { return SessionError("download file", status); };
  Response r;
  r.status = 200;
  r.upgrade = std::make_shared<ZipDownloadSession>(&app, std::move(source));
  co_return r;
}

/// PUT …/files/*path: the body, up to the service's max_file_bytes (413 from the head's
/// Content-Length, or as soon as the body passes it), then one WriteFile.
class UploadConsumer final : public BodyConsumer {
 public:
  UploadConsumer(App* app, Principal caller, std::string id, std::string path, std::size_t max)
      : app_(app), caller_(std::move(caller)), id_(std::move(id)), path_(std::move(path)),
        max_(max) {}

  asio::awaitable<Status> OnData(std::string_view bytes) override {
    if (body_.size() + bytes.size() > max_) {
      too_large_ = true;
      std::string().swap(body_);
      co_return TooLarge("file is larger than " + std::to_string(max_) + " bytes");
    }
    body_.append(bytes);
    co_return Status();
  }

  asio::awaitable<Response> OnEnd() override {
    if (too_large_) {
      co_return ErrorWithCode(413, "file is larger than " + std::to_string(max_) + " bytes",
                              "too_large");
    }
    App& app = *app_;
    auto work = [&app, this] { return Sessions(app).WriteFile(caller_, id_, path_, body_); };
    Status written = co_await app.Offload(std::move(work));
    if (!written.ok()) co_return SessionError("upload file", written);
    std::string body;
    JsonWriter(&body).BeginObject().Field("path", path_).Field("size", body_.size()).EndObject();
    co_return JsonResponse(201, std::move(body));
  }

  asio::awaitable<void> OnAbort() override { co_return; }

 private:
  App* app_;
  const Principal caller_;
  const std::string id_;
  const std::string path_;
  const std::size_t max_;
  std::string body_;
  bool too_large_ = false;
};

asio::awaitable<std::variant<Response, std::unique_ptr<BodyConsumer>>> Upload(
    RequestContext& ctx) {
  Result<Principal> caller = co_await SessionCaller(ctx);
  if (!caller.ok()) {
    if (caller.status().code() == ErrorCode::kUnauthenticated) co_return Unauthenticated();
    co_return SessionError("authenticate", caller.status());
  }
  std::optional<std::string> path = FilePath(ctx);
  if (!path) co_return BadRequest("file path has a bad %-escape");
  if (path->empty()) co_return BadRequest("file path is empty");
  App& app = ctx.app();
  const std::size_t max = app.hub().options().sessions.max_file_bytes;
  if (auto length = ctx.request().Find("Content-Length")) {
    std::uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(length->data(), length->data() + length->size(), n);
    if (ec == std::errc() && ptr == length->data() + length->size() && n > max) {
      co_return ErrorWithCode(413, "file is larger than " + std::to_string(max) + " bytes",
                              "too_large");
    }
  }
  // The session must exist for this caller before its body is read.
  std::string id = ctx.Param("id");
  auto work = [&app, &caller, &id] { return Sessions(app).Get(*caller, id); };
  Result<Session> session = co_await app.Offload(std::move(work));
  if (!session.ok()) co_return SessionError("upload file", session.status());
  co_return std::make_unique<UploadConsumer>(&app, *std::move(caller), std::move(id),
                                             *std::move(path), max);
}

// --- proxies

/// Connects to the session's service, retrying refused connections until `retry_for` has
/// passed (0: once).
asio::awaitable<Result<asio::ip::tcp::socket>> ConnectWithRetry(RequestContext& ctx,
                                                                const std::string* endpoint,
                                                                std::int64_t retry_for_ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(retry_for_ms);
  for (;;) {
    Result<asio::ip::tcp::socket> socket = co_await ConnectUpstream(
        &ctx.executor(), endpoint, std::chrono::milliseconds(kConnectTimeout).count());
    if (socket.ok() || socket.status().code() != ErrorCode::kUnavailable ||
        std::chrono::steady_clock::now() + kTerminalRetryPause >= until) {
      co_return socket;
    }
    asio::steady_timer pause(ctx.executor(), kTerminalRetryPause);
    std::error_code ec;
    co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

Response ServiceUnavailable(std::string_view message) {
  Response r = ErrorWithCode(503, message, "unavailable");
  r.headers.push_back({"Retry-After", "1"});
  return r;
}

/// `/sessions/:id/:service/*rest` and `/session/:id/term/*rest` (service "terminal").
asio::awaitable<Response> Proxy(RequestContext& ctx, const std::string* service_name) {
  const std::string& service = *service_name;
  Result<Principal> caller = co_await SessionCaller(ctx);
  if (!caller.ok()) {
    if (caller.status().code() == ErrorCode::kUnauthenticated) co_return Unauthenticated();
    co_return SessionError("authenticate", caller.status());
  }
  App& app = ctx.app();
  std::string id = ctx.Param("id");
  // The session first: gone, missing or another space's is Octo's 502; an unknown service
  // of a running session is 404.
  auto get = [&app, &caller, &id] { return Sessions(app).Get(*caller, id); };
  Result<Session> session = co_await app.Offload(std::move(get));
  if (!session.ok()) {
    if (session.status().code() == ErrorCode::kNotFound) co_return BadGateway();
    co_return SessionError("proxy", session.status());
  }
  if (session->state != SessionState::kCreating && session->state != SessionState::kRunning) {
    co_return BadGateway();
  }
  auto resolve = [&app, &caller, &id, &service] {
    return Sessions(app).ServiceEndpoint(*caller, id, service);
  };
  Result<std::string> endpoint = co_await app.Offload(std::move(resolve));
  if (!endpoint.ok()) {
    const ErrorCode code = endpoint.status().code();
    if (code == ErrorCode::kNotFound) {
      co_return ErrorWithCode(404, endpoint.status().message(), "not_found");
    }
    if (code == ErrorCode::kUnavailable) co_return ServiceUnavailable(endpoint.status().message());
    if (code == ErrorCode::kInternal) co_return SessionError("proxy", endpoint.status());
    co_return BadGateway();  // not running (anymore): kFailedPrecondition / kConflict
  }
  const Request& request = ctx.request();
  const bool upgrade = IsUpgradeRequest(request);
  const std::int64_t retry_ms =
      upgrade && service == "terminal"
          ? std::chrono::duration_cast<std::chrono::milliseconds>(kTerminalRetryFor).count()
          : 0;
  Result<asio::ip::tcp::socket> upstream = co_await ConnectWithRetry(ctx, &*endpoint, retry_ms);
  if (!upstream.ok()) {
    if (upstream.status().code() == ErrorCode::kUnavailable) {
      co_return ServiceUnavailable("service \"" + service + "\" is not listening yet");
    }
    co_return SessionError("proxy", upstream.status());
  }
  std::string path = "/" + ctx.Param("rest");
  std::string head = ForwardedHead(request, path, request.body.size());
  const auto idle = upgrade ? std::chrono::duration_cast<std::chrono::milliseconds>(kUpgradedIdle)
                            : app.config().limits.idle_timeout;
  Response r;
  r.status = 200;  // what the access log says; the upstream's own head goes to the client
  r.upgrade = std::make_shared<ProxySession>(*std::move(upstream), std::move(head),
                                             std::move(ctx.request().body), upgrade,
                                             app.config().write_timeout, idle);
  co_return r;
}

asio::awaitable<Response> ProxyNamed(RequestContext& ctx) {
  co_return co_await Proxy(ctx, &ctx.Param("service"));
}

asio::awaitable<Response> ProxyTerminal(RequestContext& ctx) {
  static const std::string kTerminal = "terminal";
  co_return co_await Proxy(ctx, &kTerminal);
}

// --- the table

struct SessionRouteSpec {
  std::string_view method;
  std::string_view path;  // after the family's prefix
  SessionsRoute route;
  RouteDoc doc;
};

// Every session route takes a user credential; 409 covers conflict and port_in_use, 503 an
// unavailable runtime (Retry-After: 1).
constexpr RouteDoc SessionDoc(std::string_view summary, std::string_view response,
                              RouteDoc doc = {}) {
  doc.summary = summary;
  doc.tag = "sessions";
  doc.auth = kAuthUser;
  doc.response = response;
  if (doc.statuses == std::array<int, 4>{}) doc.statuses = {403, 409, 503};
  return doc;
}

constexpr SessionRouteSpec kRoutes[] = {
    {"POST", "/sessions", Create,
     SessionDoc("Starts a session (a command in a sandbox or a container)", "Session",
                {.body = BodyKind::kJson, .request = "SessionCreate", .status = 201})},
    {"GET", "/sessions", List,
     SessionDoc("The caller's sessions, newest first (status, cursor, limit)", "SessionList")},
    {"GET", "/sessions/:id", Get, SessionDoc("A session's envelope", "Session")},
    {"POST", "/sessions/:id/stop", StopSession, SessionDoc("Stops a session", "Session")},
    {"POST", "/sessions/:id/resume", Resume,
     SessionDoc("Starts a stopped session again", "Session")},
    {"POST", "/sessions/:id/upgrade", UpgradeSession,
     SessionDoc("Restarts a session on its image's current version", "Session")},
    {"DELETE", "/sessions/:id", Delete,
     SessionDoc("Kills the session and removes its workspace", "",
                {.status = 204, .reply = ReplyKind::kEmpty})},
    {"GET", "/sessions/:id/attach", Attach,
     SessionDoc("The session's stdio over a binary WebSocket", "",
                {.status = 101, .reply = ReplyKind::kWebSocket,
                 .description = "Messages are a type byte and a payload: 0x01 stdin, 0x02 "
                                "stdout, 0x03 stderr, 0x04 exit (int32 BE), 0x05 error, 0x06 "
                                "stdin closed."})},
    {"GET", "/sessions/:id/events", Events,
     SessionDoc("The session's state changes as Server-Sent Events", "",
                {.reply = ReplyKind::kEventStream})},
    {"GET", "/sessions/:id/files", ListFiles,
     SessionDoc("Lists a workspace directory (?path=)", "FileList")},
    {"GET", "/sessions/:id/files/*path", Download,
     SessionDoc("Downloads a workspace file", "", {.reply = ReplyKind::kBytes})},
    {"GET", "/usage", Usage, SessionDoc("Session usage of the caller's key (?key=)", "Usage")},
};

constexpr std::string_view kFamilies[] = {"/v1", "/api"};
constexpr std::string_view kProxyMethods[] = {"GET",    "HEAD",   "POST",   "PUT",
                                              "PATCH",  "DELETE", "OPTIONS"};

}  // namespace

void RegisterSessionRoutes(Router& router) {
  for (std::string_view family : kFamilies) {
    for (const SessionRouteSpec& spec : kRoutes) {
      router.Add({std::string(spec.method), std::string(family) + std::string(spec.path),
                  Authenticated(spec.route), {}, 0, spec.doc});
    }
    Route upload;
    upload.doc = SessionDoc("Uploads a workspace file (the body is the bytes)", "FileUploaded",
                            {.body = BodyKind::kBytes, .status = 201});
    upload.method = "PUT";
    upload.pattern = std::string(family) + "/sessions/:id/files/*path";
    upload.streaming = Upload;
    upload.max_body_bytes = kUploadRouteLimit;
    router.Add(std::move(upload));
  }
  // Octo's proxies: any method, upgrades included; 502 once the session is not running.
  constexpr RouteDoc kProxy = {
      .summary = "Forwards to the session's port named by the path (Octo's proxy)",
      .tag = "proxy", .auth = kAuthUser, .body = BodyKind::kBytes, .reply = ReplyKind::kProxy,
      .statuses = {502, 503}};
  RouteDoc terminal = kProxy;
  terminal.summary = "Forwards to the session's terminal port (Octo's proxy)";
  for (std::string_view method : kProxyMethods) {
    router.Add({std::string(method), "/sessions/:id/:service/*rest", ProxyNamed, {},
                kProxyMaxBody, kProxy});
    router.Add({std::string(method), "/session/:id/term/*rest", ProxyTerminal, {}, kProxyMaxBody,
                terminal});
  }
}

}  // namespace agentcore::server
