// SPDX-License-Identifier: Apache-2.0
// spec cast §4.3: health and static info, no authentication. The three stubs answer what
// Cast's frontend expects; their bodies are Cast's fixed ones.
#include <chrono>
#include <string>

#include <agentcore/clock.hpp>
#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handlers.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {
namespace {

// Cast reports this version on both routes; clients compare nothing else.
constexpr std::string_view kCastVersion = "0.0.1";

asio::awaitable<Response> Health(RequestContext& ctx) {
  std::string body;
  JsonWriter(&body)
      .BeginObject()
      .Field("status", "ok")
      .Field("version", kCastVersion)
      .Field("timestamp", FormatIsoTimestamp(ctx.app().clock().NowMillis()))
      .EndObject();
  co_return JsonResponse(200, std::move(body));
}

// docs/cluster.md "Readiness and drain": for the load balancer; no authentication.
asio::awaitable<Response> Ready(RequestContext& ctx) {
  App& app = ctx.app();
  Hub& hub = app.hub();
  // Hub::Ready waits for the store (at most 1 s): off the I/O thread.
  Status ready = co_await app.Offload([&hub] { return hub.Ready(std::chrono::seconds(1)); });
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Field("ready", ready.ok()).Field("node", hub.node_id());
  if (!ready.ok()) w.Field("reason", ready.message());
  w.EndObject();
  co_return JsonResponse(ready.ok() ? 200 : 503, std::move(body));
}

asio::awaitable<Response> Root(RequestContext&) {
  co_return JsonResponse(200, R"({"name":"Cast Backend","version":"0.0.1","docs":"/health"})");
}

asio::awaitable<Response> FocusTypes(RequestContext&) {
  co_return JsonResponse(200, R"({"focusTypes":[{"slug":"general","name":"General",)"
                              R"("description":"Open workspace for any task"}]})");
}

asio::awaitable<Response> AgentTypes(RequestContext&) {
  co_return JsonResponse(
      200, R"({"agentTypes":[{"slug":"engineer","name":"Engineer",)"
           R"("description":"Software engineering agent"},)"
           R"({"slug":"lead","name":"Lead","description":"Team lead agent"}]})");
}

asio::awaitable<Response> Backends(RequestContext&) {
  co_return JsonResponse(
      200,
      R"([{"name":"claude","isBuiltIn":true,"capabilities":)"
      R"({"supportsMcp":true,"supportsTools":true,"supportsVision":true}},)"
      R"({"name":"openai","isBuiltIn":true,"capabilities":)"
      R"({"supportsMcp":true,"supportsTools":true,"supportsVision":true}},)"
      R"({"name":"codex","isBuiltIn":true,"capabilities":)"
      R"({"supportsMcp":true,"supportsTools":true,"supportsVision":false}}])");
}

}  // namespace

void RegisterHealthRoutes(Router& router) {
  router.Get("/health", {.summary = "Liveness: the server answers", .tag = "health",
                         .response = "Health"},
             Health);
  router.Get("/ready",
             {.summary = "Readiness for load balancers (503 while draining or the store is down)",
              .tag = "health", .response = "Ready", .statuses = {503}},
             Ready);
  router.Get("/", {.summary = "The server's name and version", .tag = "health",
                   .response = "Root"},
             Root);
  router.Get("/focus-types", {.summary = "Cast's focus types (static)", .tag = "health",
                              .response = "FocusTypes"},
             FocusTypes);
  router.Get("/agents", {.summary = "Cast's agent types (static)", .tag = "health",
                         .response = "AgentTypes"},
             AgentTypes);
  router.Get("/api/backends", {.summary = "The model backends (static)", .tag = "health",
                               .response = "Backends"},
             Backends);
}

}  // namespace agentcore::server
