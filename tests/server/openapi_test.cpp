// SPDX-License-Identifier: Apache-2.0
// GET /openapi.json (openapi/document.hpp): generated from the route table, so it covers every
// route and nothing else; its errors, auth, streams and references are checked here, its
// validity as OpenAPI 3.1 by tests/openapi/check.sh (an npm validator).
#include "openapi/document.hpp"

#include <set>
#include <string>
#include <utility>

#include <doctest/doctest.h>

#include "handlers/handlers.hpp"
#include "server/rest_test_client.hpp"

namespace agentcore::testing {
namespace {

using server::BuildOpenApiDocument;
using server::OpenApiPath;
using server::Route;
using server::RouteDoc;
using server::Router;

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

asio::awaitable<server::Response> Nothing(server::RequestContext&) {
  co_return server::Response();
}

Json FetchDocument(RestServer& server) {
  RestReply r = server.Anonymous().Get("/openapi.json");
  REQUIRE(r.status == 200);
  CHECK(r.Header("Content-Type").value_or("") == "application/json");
  REQUIRE(r.json.is_object());
  return r.json;
}

// Every operation of the document as (path, method) with its object.
std::vector<std::pair<std::string, const Json*>> Operations(const Json& doc) {
  std::vector<std::pair<std::string, const Json*>> out;
  for (const JsonMember& path : At(doc, "paths").as_object()) {
    for (const JsonMember& op : path.value.as_object()) {
      out.emplace_back(op.key + " " + path.key, &op.value);
    }
  }
  return out;
}

void CollectRefs(const Json& v, std::vector<std::string>* refs) {
  if (v.is_array()) {
    for (const Json& item : v.as_array()) CollectRefs(item, refs);
  }
  if (!v.is_object()) return;
  for (const JsonMember& m : v.as_object()) {
    if (m.key == "$ref" && m.value.is_string()) {
      refs->push_back(m.value.as_string());
    } else {
      CollectRefs(m.value, refs);
    }
  }
}

}  // namespace

TEST_SUITE("OpenApi") {
  TEST_CASE("GET /openapi.json documents every route of the route table and nothing else") {
    RestServer server;
    Json doc = FetchDocument(server);
    CHECK(Str(doc, "openapi") == "3.1.0");
    Router table;
    server::RegisterHandlers(table);
    std::set<std::string> routes;
    for (const Route* route : table.routes()) {
      const std::string op = Lower(route->method) + " " + OpenApiPath(route->pattern);
      routes.insert(op);
      const Json* path = At(doc, "paths").Find(OpenApiPath(route->pattern));
      CHECK_MESSAGE((path != nullptr && path->Find(Lower(route->method)) != nullptr), op);
    }
    CHECK(routes.size() == table.routes().size());
    CHECK(routes.size() > 90);  // the server's ~100 routes, not an empty table
    for (const auto& [op_name, body] : Operations(doc)) {
      const std::string op = op_name;  // doctest's macros capture it; a binding cannot be
      CHECK_MESSAGE(routes.contains(op), "documented but not routed: " << op);
    }
    CHECK(Operations(doc).size() == routes.size());
    // The same bytes as the document App::Open built.
    CHECK(server.Anonymous().Get("/openapi.json").body == server.app().openapi_document());
  }

  TEST_CASE("every 4xx and 5xx answers the Error schema; 429 and 503 carry Retry-After") {
    RestServer server;
    Json doc = FetchDocument(server);
    const Json& error = At(At(At(doc, "components"), "schemas"), "Error");
    CHECK(At(error, "required").as_array().at(0) == Json("error"));
    int errors = 0;
    for (const auto& [op_name, body] : Operations(doc)) {
      const std::string op = op_name;  // doctest's macros capture it; a binding cannot be
      const Json& responses = At(*body, "responses");
      CHECK_MESSAGE(responses.Find("500") != nullptr, op);
      for (const JsonMember& r : responses.as_object()) {
        if (std::stoi(r.key) < 400) continue;
        ++errors;
        const Json& schema = At(At(At(r.value, "content"), "application/json"), "schema");
        CHECK_MESSAGE(Str(schema, "$ref") == "#/components/schemas/Error", op << " " << r.key);
        if (r.key == "429" || r.key == "503") {
          CHECK_MESSAGE(At(r.value, "headers").Find("Retry-After") != nullptr, op);
        }
      }
      // A route taking credentials can be refused (401) and rate limited (429).
      if (!At(*body, "security").as_array().empty()) {
        CHECK_MESSAGE(responses.Find("401") != nullptr, op);
        CHECK_MESSAGE(responses.Find("429") != nullptr, op);
      }
    }
    CHECK(errors > 300);
    // The authentication routes are limited per IP, without credentials.
    CHECK(At(At(At(At(doc, "paths"), "/api/auth/login"), "post"), "responses").Find("429"));
    CHECK(At(At(At(At(doc, "paths"), "/health"), "get"), "responses").Find("429") == nullptr);
  }

  TEST_CASE("each route's auth is a security requirement on a declared scheme") {
    RestServer server;
    Json doc = FetchDocument(server);
    const Json& schemes = At(At(doc, "components"), "securitySchemes");
    CHECK(Str(At(schemes, "sessionCookie"), "in") == "cookie");
    CHECK(Str(At(schemes, "sessionCookie"), "name") == "cast_session");
    CHECK(Str(At(schemes, "agentApiKey"), "name") == "X-Agent-Api-Key");
    auto schemes_of = [&doc](std::string_view path, std::string_view method) {
      std::set<std::string> names;
      for (const Json& any : At(At(At(At(doc, "paths"), path), method), "security").as_array()) {
        for (const JsonMember& m : any.as_object()) names.insert(m.key);
      }
      return names;
    };
    CHECK(schemes_of("/health", "get").empty());
    CHECK(schemes_of("/openapi.json", "get").empty());
    CHECK(schemes_of("/channels", "get") ==
          std::set<std::string>{"sessionCookie", "sessionJwt", "apiKey"});
    CHECK(schemes_of("/tymbal/{channelId}", "post") == std::set<std::string>{"containerToken"});
    CHECK(schemes_of("/v1/projects", "post").contains("agentApiKey"));
    CHECK(schemes_of("/v1/keys", "get") == std::set<std::string>{"apiKey"});
    for (const auto& [op_name, body] : Operations(doc)) {
      const std::string op = op_name;  // doctest's macros capture it; a binding cannot be
      for (const Json& any : At(*body, "security").as_array()) {
        for (const JsonMember& m : any.as_object()) {
          CHECK_MESSAGE(schemes.Find(m.key) != nullptr, op << " names " << m.key);
        }
      }
    }
  }

  TEST_CASE("SSE, WebSocket and wildcard routes are described as such") {
    RestServer server;
    Json doc = FetchDocument(server);
    const Json& paths = At(doc, "paths");
    auto content_of = [&paths](std::string_view path, std::string_view status) {
      return At(At(At(At(At(paths, path), "get"), "responses"), status), "content");
    };
    CHECK(content_of("/channels/{channelId}/events", "200").Find("text/event-stream"));
    CHECK(content_of("/v1/projects/{projectId}/runs/{runId}/stream", "200")
              .Find("text/event-stream"));
    CHECK(content_of("/v1/sessions/{id}/events", "200").Find("text/event-stream"));
    CHECK(At(At(At(paths, "/stream"), "get"), "responses").Find("101"));
    CHECK(At(At(At(paths, "/stream"), "get"), "responses").Find("426"));  // not an upgrade
    CHECK(At(At(At(paths, "/api/sessions/{id}/attach"), "get"), "responses").Find("101"));
    CHECK(content_of("/v1/projects/{projectId}/runs/{runId}/download.zip", "200")
              .Find("application/zip"));
    // The proxies take every method; their last parameter is the rest of the path.
    const Json& proxy = At(paths, "/sessions/{id}/{service}/{rest}");
    for (const char* method : {"get", "head", "post", "put", "patch", "delete", "options"}) {
      CHECK_MESSAGE(proxy.Find(method) != nullptr, method);
    }
    const Json& params = At(At(proxy, "get"), "parameters");
    REQUIRE(params.as_array().size() == 3);
    CHECK(Str(params.as_array()[2], "name") == "rest");
    CHECK(Str(params.as_array()[2], "description").find("zero or more segments") !=
          std::string::npos);
  }

  TEST_CASE("every $ref of the document names one of its schema components") {
    RestServer server;
    Json doc = FetchDocument(server);
    std::vector<std::string> refs;
    CollectRefs(doc, &refs);
    CHECK(refs.size() > 400);
    const Json& schemas = At(At(doc, "components"), "schemas");
    for (const std::string& ref : refs) {
      REQUIRE_MESSAGE(ref.starts_with("#/components/schemas/"), ref);
      CHECK_MESSAGE(schemas.Find(ref.substr(21)) != nullptr, ref);
    }
  }

  TEST_CASE("a route without documentation cannot be served: the build fails naming it") {
    Router router;
    router.Get("/documented", {.summary = "fine", .tag = "t", .response = "Ok"}, Nothing);
    router.Add({"DELETE", "/things/:id", Nothing, {}, 0, {}});
    Result<std::string> built = BuildOpenApiDocument(router);
    REQUIRE_FALSE(built.ok());
    CHECK(built.status().code() == ErrorCode::kInvalidArgument);
    CHECK(built.status().message().find("DELETE /things/:id: no summary") != std::string::npos);
    CHECK(built.status().message().find("/documented") == std::string::npos);
    // App::Open builds it: an undocumented route would stop the server from starting.
  }

  TEST_CASE("unknown schemas, JSON without a schema and a route added twice fail the build") {
    Router router;
    router.Get("/a", {.summary = "a", .tag = "t", .response = "NoSuchSchema"}, Nothing);
    router.Post("/b", {.summary = "b", .tag = "t", .body = server::BodyKind::kJson,
                       .response = "Ok"},
                Nothing);
    router.Get("/c", {.summary = "c", .tag = "t"}, Nothing);
    router.Get("/d/:x", {.summary = "d", .tag = "t", .response = "Ok"}, Nothing);
    router.Get("/d/:x", {.summary = "d again", .tag = "t", .response = "Ok"}, Nothing);
    router.Get("/e", {.summary = "e", .response = "Ok"}, Nothing);
    Result<std::string> built = BuildOpenApiDocument(router);
    REQUIRE_FALSE(built.ok());
    const std::string m = built.status().message();
    CHECK(m.find("GET /a: unknown schema \"NoSuchSchema\"") != std::string::npos);
    CHECK(m.find("POST /b: a JSON body without a schema") != std::string::npos);
    CHECK(m.find("GET /c: a JSON answer without a schema") != std::string::npos);
    CHECK(m.find("GET /d/:x: registered twice") != std::string::npos);
    CHECK(m.find("GET /e: no tag") != std::string::npos);
  }

  TEST_CASE("a documented table builds; non-JSON answers need no schema") {
    Router router;
    router.Get("/ok", {.summary = "ok", .tag = "t", .response = "Ok"}, Nothing);
    router.Get("/text", {.summary = "text", .tag = "t", .reply = server::ReplyKind::kText},
               Nothing);
    router.Delete("/x/:id", {.summary = "x", .tag = "t", .status = 204,
                             .reply = server::ReplyKind::kEmpty},
                  Nothing);
    Result<std::string> built = BuildOpenApiDocument(router);
    REQUIRE_MESSAGE(built.ok(), built.status().ToString());
    Json doc = ParseJson(*built).value();
    CHECK(At(At(doc, "paths"), "/x/{id}").Find("delete") != nullptr);
    const Json& responses = At(At(At(At(doc, "paths"), "/x/{id}"), "delete"), "responses");
    CHECK(At(responses, "204").Find("content") == nullptr);
    CHECK(responses.Find("404") != nullptr);  // a path parameter: unknown ids
    CHECK(responses.Find("401") == nullptr);  // no credentials taken
  }

  TEST_CASE("OpenApiPath turns :parameters and the *wildcard into templates") {
    CHECK(OpenApiPath("/") == "/");
    CHECK(OpenApiPath("/v1") == "/v1");
    CHECK(OpenApiPath("/channels/:channelId") == "/channels/{channelId}");
    CHECK(OpenApiPath("/channels/:channelId/roster/:entryId") ==
          "/channels/{channelId}/roster/{entryId}");
    CHECK(OpenApiPath("/sessions/:id/:service/*rest") == "/sessions/{id}/{service}/{rest}");
    CHECK(OpenApiPath("/x/a:b/c*d") == "/x/a:b/c*d");  // only whole segments are parameters
  }
}

}  // namespace agentcore::testing
