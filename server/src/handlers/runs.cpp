// SPDX-License-Identifier: Apache-2.0
// Platform Agent's `/v1` routes (seed 002, docs/runs.md) and the builder's GET /agents/task.
// Every rule is the run service's (hub/runs.hpp); a route reads the request, makes one call
// and writes the answer. Errors are `{"error":"<code>","message":"…"}` with the service's
// wire code (RunErrorCode) and the HTTP status of its ErrorCode (HttpStatusFor).
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <agentcore/clock.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/hub/runs.hpp>
#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/version.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "run_stream.hpp"
#include "zip_download.hpp"

namespace agentcore::server {
namespace {

constexpr std::string_view kApiKeyHeader = "X-Agent-Api-Key";
constexpr std::string_view kIdempotencyHeader = "Idempotency-Key";

Response RunError(std::string_view what, const Status& status) {
  return RunErrorResponse(what, status);
}

Response Unauthorized(std::string_view message) {
  return CodedError(401, "unauthorized", message);
}

/// The caller of a `/v1` route: `X-Agent-Api-Key` when present (AuthenticateAgentApiKey),
/// else a session cookie or `Authorization: Bearer <API key>`. Container tokens are for
/// agents: never a `/v1` caller.
asio::awaitable<Result<Principal>> V1Caller(RequestContext& ctx) {
  App& app = ctx.app();
  if (auto key = ctx.request().Find(kApiKeyHeader)) {
    auto check = [&runs = app.hub().runs(), value = std::string(*key)] {
      return runs.AuthenticateAgentApiKey(value);
    };
    co_return co_await app.Offload(std::move(check));
  }
  Result<Principal> caller = co_await AuthenticateCaller(ctx);
  if (caller.ok() && caller->kind == Principal::Kind::kContainer) {
    co_return Status(ErrorCode::kUnauthenticated, "Authentication required");
  }
  co_return caller;
}

/// A route of `/v1` behind V1Caller.
using V1Route = asio::awaitable<Response> (*)(RequestContext& ctx, const Principal& caller);

asio::awaitable<Response> RunV1(RequestContext& ctx, V1Route route) {
  Result<Principal> caller = co_await V1Caller(ctx);
  if (!caller.ok()) {
    if (caller.status().code() == ErrorCode::kUnauthenticated) {
      co_return Unauthorized(caller.status().message());
    }
    co_return RunError("authenticate", caller.status());
  }
  co_return co_await route(ctx, *caller);
}

Handler V1(V1Route route) {
  return [route](RequestContext& ctx) { return RunV1(ctx, route); };
}

/// The JSON body of a POST; an empty body is `{}`. Errors: invalid_request.
std::optional<Json> BodyOrEmpty(const Request& request) {
  if (request.body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::Object();
  Result<Json> body = ParseJson(request.body);
  if (!body.ok()) return std::nullopt;
  return std::move(*body);
}

Response NotJson() {
  return CodedError(400, "invalid_request", "request body is not valid JSON");
}

/// `?cursor=&limit=`. Errors: invalid_request for a limit that is not a non-negative integer.
struct PageQuery {
  std::string cursor;
  std::size_t limit = 0;
};
std::optional<PageQuery> ReadPage(const Request& request) {
  PageQuery page;
  page.cursor = request.Query("cursor").value_or("");
  std::string limit = request.Query("limit").value_or("");
  if (!limit.empty()) {
    const char* end = limit.data() + limit.size();
    auto [ptr, ec] = std::from_chars(limit.data(), end, page.limit);
    if (ec != std::errc() || ptr != end) return std::nullopt;
  }
  return page;
}

Response BadLimit() {
  return CodedError(400, "invalid_request", "limit must be a non-negative integer");
}

/// `"nextCursor"`: the cursor of the next page, or null on the last.
void WriteNextCursor(JsonWriter& w, const std::string& cursor) {
  w.Key("nextCursor");
  if (cursor.empty()) {
    w.Null();
  } else {
    w.String(cursor);
  }
}

void WriteProject(JsonWriter& w, const Project& p) {
  w.BeginObject()
      .Field("id", p.id)
      .Field("name", p.name.empty() ? p.id : p.name)
      .Field("channelId", p.channel_id);
  w.Key("settings");
  if (p.settings.is_object()) {
    w.Value(p.settings);
  } else {
    w.BeginObject().EndObject();
  }
  w.Field("createdAt", FormatIsoTimestamp(p.created_at))
      .Field("updatedAt", FormatIsoTimestamp(p.updated_at))
      .EndObject();
}

std::string ProjectBody(const Project& p) {
  std::string body;
  JsonWriter w(&body);
  WriteProject(w, p);
  return body;
}

// --- open routes

asio::awaitable<Response> V1Root(RequestContext&) {
  std::string body;
  JsonWriter(&body)
      .BeginObject()
      .Field("name", "agentcore")
      .Field("version", AGENTCORE_VERSION_STRING)
      .Key("links")
      .BeginObject()
      .Field("health", "/v1/health")
      .Field("capabilities", "/v1/capabilities")
      .Field("projects", "/v1/projects")
      .EndObject()
      .EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> V1Health(RequestContext& ctx) {
  std::string body;
  JsonWriter(&body)
      .BeginObject()
      .Field("status", "ok")
      .Field("version", AGENTCORE_VERSION_STRING)
      .Field("timestamp", FormatIsoTimestamp(ctx.app().clock().NowMillis()))
      .EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> Capabilities(RequestContext& ctx) {
  const RunServiceOptions& o = ctx.app().hub().options().runs;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Field("version", AGENTCORE_VERSION_STRING);
  w.Key("workspaceBackends").BeginArray().String("host").EndArray();
  w.Key("phases").BeginArray().String("plan").String("build").EndArray();
  w.Key("events")
      .BeginArray()
      .String("status")
      .String("token")
      .String("tool")
      .String("done")
      .String("error")
      .EndArray();
  w.Key("features")
      .BeginObject()
      .Field("sse", true)
      .Field("resume", true)  // Last-Event-ID
      .Field("idempotency", true)
      .Field("cancel", true)
      .Field("download", true)
      .Field("webhooks", true)
      .Field("messages", true)
      .EndObject();
  w.Key("limits")
      .BeginObject()
      .Field("maxPromptBytes", o.max_prompt_bytes)
      .Field("maxPageSize", o.max_page)
      .Field("maxAttempts", o.policy.max_attempts)
      .Field("maxConcurrentRuns", o.max_concurrent_runs)
      .Field("planTimeoutMs", o.plan_timeout.count())
      .Field("buildTimeoutMs", o.build_timeout.count())
      .Field("downloadMaxBytes", o.download_max_bytes)
      .Field("downloadMaxEntries", o.download_max_entries)
      .EndObject();
  w.Key("auth")
      .BeginObject()
      .Field("apiKeyHeader", kApiKeyHeader)
      .Field("apiKeyEnabled", !o.agent_api_key.empty())
      .Key("headers")
      .BeginArray()
      .String(kApiKeyHeader)
      .String("Authorization")
      .EndArray()
      .Field("idempotencyHeader", kIdempotencyHeader)
      .EndObject();
  w.EndObject();
  co_return JsonResponse(200, std::move(body));
}

// --- projects

asio::awaitable<Response> CreateProject(RequestContext& ctx, const Principal& caller) {
  std::optional<Json> body = BodyOrEmpty(ctx.request());
  if (!body) co_return NotJson();
  App& app = ctx.app();
  auto work = [&runs = app.hub().runs(), &caller, &body] {
    return runs.CreateProject(caller, *body);
  };
  Result<ProjectResult> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return RunError("create project", out.status());
  co_return JsonResponse(out->created ? 201 : 200, ProjectBody(out->project));
}

asio::awaitable<Response> ListProjects(RequestContext& ctx, const Principal& caller) {
  std::optional<PageQuery> page = ReadPage(ctx.request());
  if (!page) co_return BadLimit();
  App& app = ctx.app();
  auto work = [&runs = app.hub().runs(), &caller, &page] {
    return runs.ListProjects(caller, page->cursor, page->limit);
  };
  Result<ProjectPage> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return RunError("list projects", out.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("projects").BeginArray();
  for (const Project& p : out->projects) WriteProject(w, p);
  w.EndArray();
  WriteNextCursor(w, out->next_cursor);
  w.EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> GetProject(RequestContext& ctx, const Principal& caller) {
  App& app = ctx.app();
  auto work = [&runs = app.hub().runs(), &caller, id = ctx.Param("projectId")] {
    return runs.GetProject(caller, id);
  };
  Result<Project> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return RunError("get project", out.status());
  co_return JsonResponse(200, ProjectBody(*out));
}

// --- runs

/// POST …/runs and POST …/messages: the envelope (202 created, 200 resolved by its key), or
/// with `"stream": true` the new run's event stream.
asio::awaitable<Response> QueueRun(RequestContext& ctx, const Principal& caller,
                                   bool is_message) {
  std::optional<Json> body = BodyOrEmpty(ctx.request());
  if (!body) co_return NotJson();
  App& app = ctx.app();
  std::string key(ctx.request().Find(kIdempotencyHeader).value_or(""));
  std::string project_id = ctx.Param("projectId");
  auto work = [&runs = app.hub().runs(), &caller, &project_id, &key, &body, is_message] {
    return is_message ? runs.PostMessage(caller, project_id, key, *body)
                      : runs.CreateRun(caller, project_id, key, *body);
  };
  Result<RunCreated> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return RunError(is_message ? "post message" : "create run", out.status());
  const Json* stream = body->is_object() ? body->Find("stream") : nullptr;
  if (stream != nullptr && stream->is_bool() && stream->as_bool()) {
    Response r;
    r.status = 200;
    r.upgrade = std::make_shared<RunStreamSession>(&app, caller, std::move(project_id),
                                                   out->run.id, /*after_seq=*/0);
    co_return r;
  }
  Json envelope = app.hub().runs().Envelope(out->run);
  Response r = JsonResponse(out->created ? 202 : 200, ToJson(envelope));
  r.headers.push_back({"Location", "/v1/projects/" + project_id + "/runs/" + out->run.id});
  co_return r;
}

asio::awaitable<Response> CreateRun(RequestContext& ctx, const Principal& caller) {
  co_return co_await QueueRun(ctx, caller, /*is_message=*/false);
}

asio::awaitable<Response> PostMessage(RequestContext& ctx, const Principal& caller) {
  co_return co_await QueueRun(ctx, caller, /*is_message=*/true);
}

asio::awaitable<Response> ListRuns(RequestContext& ctx, const Principal& caller) {
  std::optional<PageQuery> page = ReadPage(ctx.request());
  if (!page) co_return BadLimit();
  App& app = ctx.app();
  auto work = [&runs = app.hub().runs(), &caller, &page, id = ctx.Param("projectId")] {
    return runs.ListRuns(caller, id, page->cursor, page->limit);
  };
  Result<RunPage> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return RunError("list runs", out.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("runs").BeginArray();
  for (const Run& run : out->runs) w.Value(app.hub().runs().Envelope(run));
  w.EndArray();
  WriteNextCursor(w, out->next_cursor);
  w.EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> GetRun(RequestContext& ctx, const Principal& caller) {
  App& app = ctx.app();
  auto work = [&runs = app.hub().runs(), &caller, project = ctx.Param("projectId"),
               run = ctx.Param("runId")] { return runs.GetRun(caller, project, run); };
  Result<Run> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return RunError("get run", out.status());
  co_return JsonResponse(200, ToJson(app.hub().runs().Envelope(*out)));
}

asio::awaitable<Response> RunMessages(RequestContext& ctx, const Principal& caller) {
  App& app = ctx.app();
  auto work = [&runs = app.hub().runs(), &caller, project = ctx.Param("projectId"),
               run = ctx.Param("runId")] { return runs.RunMessages(caller, project, run); };
  Result<Json> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return RunError("run messages", out.status());
  std::string body;
  JsonWriter(&body).BeginObject().Field("messages", *out).EndObject();
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> CancelRun(RequestContext& ctx, const Principal& caller) {
  App& app = ctx.app();
  auto work = [&runs = app.hub().runs(), &caller, project = ctx.Param("projectId"),
               run = ctx.Param("runId")] { return runs.Cancel(caller, project, run); };
  Result<Run> out = co_await app.Offload(std::move(work));
  if (!out.ok()) co_return RunError("cancel run", out.status());
  co_return JsonResponse(200, ToJson(app.hub().runs().Envelope(*out)));
}

/// `Last-Event-ID` (or `?lastEventId=`): the seq of the last event the client has; 0: none.
std::optional<std::uint64_t> LastEventId(const Request& request) {
  std::string text;
  if (auto header = request.Find("Last-Event-ID")) {
    text = std::string(*header);
  } else {
    text = request.Query("lastEventId").value_or("");
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  std::size_t start = text.find_first_not_of(" \t");
  if (start == std::string::npos) return 0;
  std::uint64_t seq = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data() + start, end, seq);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return seq;
}

/// A response that hands the connection to the session `make(app, project, run)` makes, once
/// the run is known to exist for the caller (a 404 before the stream's head otherwise).
template <typename MakeSession>
asio::awaitable<Response> UpgradeForRun(RequestContext& ctx, const Principal& caller,
                                        std::string_view what, MakeSession make) {
  App& app = ctx.app();
  std::string project_id = ctx.Param("projectId");
  std::string run_id = ctx.Param("runId");
  auto work = [&runs = app.hub().runs(), &caller, &project_id, &run_id] {
    return runs.GetRun(caller, project_id, run_id);
  };
  Result<Run> run = co_await app.Offload(std::move(work));
  if (!run.ok()) co_return RunError(what, run.status());
  Response r;
  r.status = 200;
  r.upgrade = make(&app, std::move(project_id), std::move(run_id));
  co_return r;
}

asio::awaitable<Response> StreamRun(RequestContext& ctx, const Principal& caller) {
  std::optional<std::uint64_t> after = LastEventId(ctx.request());
  if (!after) {
    co_return CodedError(400, "invalid_request", "Last-Event-ID must be an event id (a number)");
  }
  const std::uint64_t after_seq = *after;
  co_return co_await UpgradeForRun(ctx, caller, "stream run",
                                   [&](App* app, std::string project, std::string run) {
                                     return std::make_shared<RunStreamSession>(
                                         app, caller, std::move(project), std::move(run),
                                         after_seq);
                                   });
}

asio::awaitable<Response> Download(RequestContext& ctx, const Principal& caller) {
  co_return co_await UpgradeForRun(
      ctx, caller, "download", [&](App* app, std::string project, std::string run) {
        return std::make_shared<ZipDownloadSession>(app, caller, std::move(project),
                                                    std::move(run));
      });
}

// --- the builder's side

/// GET /agents/task (docs/runs.md "Tasks"): the container token as the other /agents/*
/// routes take it (`Container|Agent <token>`), and also as `Bearer <token>`, the form
/// docs/runs.md gives the builder; Cast's texts on refusal. 200 with the task or 204.
asio::awaitable<Response> AgentTask(RequestContext& ctx) {
  App& app = ctx.app();
  std::string_view authorization = ctx.request().Find("Authorization").value_or("");
  std::string as_container;
  if (authorization.size() > 7 && EqualsIgnoreCase(authorization.substr(0, 7), "Bearer ")) {
    as_container = "Container " + std::string(authorization.substr(7));
    authorization = as_container;
  }
  Result<Principal> caller = app.hub().credentials().AuthenticateContainer(authorization);
  if (!caller.ok()) co_return CastError(401, caller.status().message());
  const AgentIdentity& agent = caller->agent;
  auto work = [&runs = app.hub().runs(), &agent] { return runs.TaskFor(agent); };
  Result<std::optional<Json>> task = co_await app.Offload(std::move(work));
  if (!task.ok()) co_return RunError("agent task", task.status());
  if (!task->has_value()) {
    Response r;
    r.status = 204;
    r.content_type.clear();
    co_return r;
  }
  co_return JsonResponse(200, ToJson(**task));
}

}  // namespace

void RegisterRunRoutes(Router& router) {
  constexpr unsigned kCaller = kAuthAgentApiKey | kAuthUser;  // V1's callers
  router.Get("/v1", {.summary = "Platform Agent's root: name, version, links", .tag = "runs",
                     .response = "V1Root"},
             V1Root);
  router.Get("/v1/health", {.summary = "Liveness (Platform Agent's path)", .tag = "runs",
                            .response = "Health"},
             V1Health);
  constexpr RouteDoc kCapabilities = {.summary = "What the run service offers and its limits",
                                      .tag = "runs", .response = "Capabilities"};
  router.Get("/v1/capabilities", kCapabilities, Capabilities);
  router.Get("/capabilities", kCapabilities, Capabilities);  // Cast has no /capabilities
  router.Post("/v1/projects",
              {.summary = "Creates a project (200 and unchanged when the id exists)",
               .tag = "runs", .auth = kCaller, .body = BodyKind::kJson,
               .request = "ProjectCreate", .status = 201, .response = "Project",
               .statuses = {200}},
              V1(CreateProject));
  router.Get("/v1/projects", {.summary = "The caller's projects, by id (cursor, limit)",
                              .tag = "runs", .auth = kCaller, .response = "ProjectList"},
             V1(ListProjects));
  router.Get("/v1/projects/:projectId", {.summary = "A project", .tag = "runs",
                                         .auth = kCaller, .response = "Project"},
             V1(GetProject));
  constexpr std::string_view kIdempotent =
      "Header Idempotency-Key (required): the same key and body answer 200 with the same run, "
      "another body 409 idempotency_conflict. With \"stream\":true the answer is the run's "
      "event stream (text/event-stream).";
  router.Post("/v1/projects/:projectId/runs",
              {.summary = "Starts a run of the project's builder (plan, then build)",
               .tag = "runs", .auth = kCaller, .body = BodyKind::kJson, .request = "RunCreate",
               .status = 202, .response = "Run", .statuses = {200, 409, 503},
               .description = kIdempotent},
              V1(CreateRun));
  router.Get("/v1/projects/:projectId/runs",
             {.summary = "The project's runs, newest first (cursor, limit)", .tag = "runs",
              .auth = kCaller, .response = "RunList"},
             V1(ListRuns));
  router.Post("/v1/projects/:projectId/messages",
              {.summary = "The project's next run, with the earlier turns as its conversation",
               .tag = "runs", .auth = kCaller, .body = BodyKind::kJson,
               .request = "ProjectMessage", .status = 202, .response = "Run",
               .statuses = {200, 409, 503}, .description = kIdempotent},
              V1(PostMessage));
  router.Get("/v1/projects/:projectId/runs/:runId",
             {.summary = "A run's envelope", .tag = "runs", .auth = kCaller, .response = "Run"},
             V1(GetRun));
  router.Get("/v1/projects/:projectId/runs/:runId/messages",
             {.summary = "A run's conversation", .tag = "runs", .auth = kCaller,
              .response = "RunMessages"},
             V1(RunMessages));
  router.Get("/v1/projects/:projectId/runs/:runId/stream",
             {.summary = "A run's events (status, token, tool, done, error), history then live",
              .tag = "runs", .auth = kCaller, .reply = ReplyKind::kEventStream,
              .description = "Resumes after Last-Event-ID (or ?lastEventId=), a sequence number."},
             V1(StreamRun));
  router.Post("/v1/projects/:projectId/runs/:runId/cancel",
              {.summary = "Cancels a run (409 once it has finished)", .tag = "runs",
               .auth = kCaller, .response = "Run", .statuses = {409}},
              V1(CancelRun));
  router.Get("/v1/projects/:projectId/runs/:runId/download.zip",
             {.summary = "The run's workspace as a zip (secret files left out)", .tag = "runs",
              .auth = kCaller, .reply = ReplyKind::kZip, .statuses = {413}},
             V1(Download));
  router.Get("/agents/task",
             {.summary = "The builder's task (204: none)", .tag = "container",
              .auth = kAuthContainer, .response = "AgentTask", .statuses = {204}},
             AgentTask);
}

}  // namespace agentcore::server
