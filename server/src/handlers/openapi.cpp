// SPDX-License-Identifier: Apache-2.0
// GET /openapi.json: the OpenAPI 3.1 document of the route table (openapi/document.hpp).
#include "app.hpp"
#include "handlers/handlers.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {
namespace {

asio::awaitable<Response> OpenApi(RequestContext& ctx) {
  co_return JsonResponse(200, ctx.app().openapi_document());
}

}  // namespace

void RegisterOpenApiRoutes(Router& router) {
  router.Get("/openapi.json",
             {.summary = "This OpenAPI 3.1 document, generated from the route table",
              .tag = "openapi", .response = "OpenApiDocument"},
             OpenApi);
}

}  // namespace agentcore::server
