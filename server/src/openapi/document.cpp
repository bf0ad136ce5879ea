// SPDX-License-Identifier: Apache-2.0
#include "openapi/document.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <utility>
#include <vector>

#include <agentcore/json.hpp>
#include <agentcore/version.hpp>

#include "http/message.hpp"
#include "openapi/schemas.hpp"
#include "rate_limit_guard.hpp"

namespace agentcore::server {
namespace {

constexpr std::string_view kSchemaPrefix = "#/components/schemas/";

Json Ref(std::string_view schema) {
  Json ref = Json::Object();
  ref.Set("$ref", std::string(kSchemaPrefix) + std::string(schema));
  return ref;
}

Json TypedSchema(std::string_view type) {
  Json s = Json::Object();
  s.Set("type", type);
  return s;
}

Json Content(std::string_view media_type, Json schema) {
  Json media = Json::Object();
  media.Set("schema", std::move(schema));
  Json content = Json::Object();
  content.Set(media_type, std::move(media));
  return content;
}

Json Described(std::string_view description) {
  Json r = Json::Object();
  r.Set("description", description);
  return r;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Collects the problems of the route table; the build fails if there is any.
class Problems {
 public:
  void Add(const Route& route, std::string_view what) {
    text_ += (text_.empty() ? "" : "; ") + route.method + " " + route.pattern + ": " +
             std::string(what);
  }
  void Add(std::string what) { text_ += (text_.empty() ? "" : "; ") + what; }
  bool empty() const { return text_.empty(); }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// The security requirements of a route: any one suffices; an empty list means none.
Json Security(unsigned auth) {
  Json any = Json::Array();
  auto one = [&any](std::string_view scheme) {
    Json requirement = Json::Object();
    requirement.Set(scheme, Json::Array());
    any.as_array().push_back(std::move(requirement));
  };
  if (auth & kAuthSession) {
    one("sessionCookie");
    one("sessionJwt");
  }
  if (auth & kAuthApiKey) one("apiKey");
  if (auth & kAuthContainer) one("containerToken");
  if (auth & kAuthAgentApiKey) one("agentApiKey");
  return any;
}

Json SecuritySchemes() {
  auto scheme = [](std::string_view type, std::string_view description) {
    Json s = Described(description);
    s.Set("type", type);
    return s;
  };
  Json cookie = scheme("apiKey", "The session JWT (HS256, 7 days) set by a login");
  cookie.Set("in", "cookie");
  cookie.Set("name", "cast_session");
  Json jwt = scheme("http", "The session JWT as a Bearer token (three dot-separated parts)");
  jwt.Set("scheme", "bearer");
  jwt.Set("bearerFormat", "JWT");
  Json key = scheme("http", "An API key (docs/api.md, \"Rate limits and API keys\")");
  key.Set("scheme", "bearer");
  key.Set("bearerFormat", "API key");
  Json container = scheme("apiKey",
                          "An agent's container token: `Authorization: Container <token>` (or "
                          "`Agent <token>`), for its own channel only");
  container.Set("in", "header");
  container.Set("name", "Authorization");
  Json agent = scheme("apiKey", "Platform Agent's AGENT_API_KEY (the space `platform`)");
  agent.Set("in", "header");
  agent.Set("name", "X-Agent-Api-Key");
  Json schemes = Json::Object();
  schemes.Set("sessionCookie", std::move(cookie));
  schemes.Set("sessionJwt", std::move(jwt));
  schemes.Set("apiKey", std::move(key));
  schemes.Set("containerToken", std::move(container));
  schemes.Set("agentApiKey", std::move(agent));
  return schemes;
}

Json ErrorResponse(int status) {
  Json r = Described(StatusText(status));
  r.Set("content", Content("application/json", Ref("Error")));
  if (status == 429 || status == 503) {
    Json seconds = Described("Seconds to wait before trying again");
    seconds.Set("schema", TypedSchema("integer"));
    Json headers = Json::Object();
    headers.Set("Retry-After", std::move(seconds));
    r.Set("headers", std::move(headers));
  }
  return r;
}

// The success answer of `doc` (with `status`, which may be a second success such as 200
// beside 201).
Json SuccessResponse(const RouteDoc& doc, int status) {
  if (status == 204) return Described("No Content");
  Json binary = TypedSchema("string");
  switch (doc.reply) {
    case ReplyKind::kJson: {
      Json r = Described(StatusText(status));
      r.Set("content", Content("application/json", Ref(doc.response)));
      return r;
    }
    case ReplyKind::kEmpty:
      return Described(StatusText(status));
    case ReplyKind::kText: {
      Json r = Described(StatusText(status));
      r.Set("content", Content("text/plain", TypedSchema("string")));
      return r;
    }
    case ReplyKind::kEventStream: {
      Json r = Described("Server-Sent Events, open until the stream ends or the client leaves");
      r.Set("content", Content("text/event-stream", TypedSchema("string")));
      return r;
    }
    case ReplyKind::kWebSocket:
      return Described("Switching Protocols: the connection is a WebSocket (RFC 6455)");
    case ReplyKind::kZip: {
      binary.Set("contentMediaType", "application/zip");
      Json r = Described(StatusText(status));
      r.Set("content", Content("application/zip", std::move(binary)));
      return r;
    }
    case ReplyKind::kBytes: {
      binary.Set("contentMediaType", "application/octet-stream");
      Json r = Described(StatusText(status));
      r.Set("content", Content("application/octet-stream", std::move(binary)));
      return r;
    }
    case ReplyKind::kProxy: {
      Json r = Described("The proxied service's answer, whatever its status (101 for an upgrade)");
      r.Set("content", Content("*/*", Json::Object()));
      return r;
    }
  }
  return Described(StatusText(status));
}

Json RequestBody(const RouteDoc& doc) {
  Json body = Json::Object();
  body.Set("required", doc.body != BodyKind::kNone && doc.reply != ReplyKind::kProxy);
  switch (doc.body) {
    case BodyKind::kJson:
      body.Set("content", Content("application/json", Ref(doc.request)));
      break;
    case BodyKind::kNdjson:
      body.Set("content", Content("application/x-ndjson", TypedSchema("string")));
      break;
    case BodyKind::kBytes:
    case BodyKind::kNone: {
      Json binary = TypedSchema("string");
      binary.Set("contentMediaType", "application/octet-stream");
      body.Set("content", Content(doc.reply == ReplyKind::kProxy ? "*/*"
                                                                 : "application/octet-stream",
                                  std::move(binary)));
      break;
    }
  }
  return body;
}

// The pattern's parameters: `:name` (one segment) and a last `*name` (the rest).
Json PathParameters(std::string_view pattern) {
  Json params = Json::Array();
  std::size_t i = 0;
  while ((i = pattern.find_first_of(":*", i)) != std::string_view::npos) {
    const bool rest = pattern[i] == '*';
    std::size_t end = pattern.find('/', i);
    if (end == std::string_view::npos) end = pattern.size();
    Json p = Json::Object();
    p.Set("name", pattern.substr(i + 1, end - i - 1));
    p.Set("in", "path");
    p.Set("required", true);
    p.Set("schema", TypedSchema("string"));
    if (rest) {
      p.Set("description",
            "The rest of the path: zero or more segments, '/' included, as sent (not decoded)");
    }
    params.as_array().push_back(std::move(p));
    i = end;
  }
  return params;
}

bool HasPathParameters(std::string_view pattern) {
  return pattern.find_first_of(":*") != std::string_view::npos;
}

Json Operation(const Route& route, const std::set<std::string, std::less<>>& schemas,
               Problems* problems) {
  const RouteDoc& doc = route.doc;
  if (doc.summary.empty()) problems->Add(route, "no summary (an undocumented route)");
  if (doc.tag.empty()) problems->Add(route, "no tag");
  auto check_schema = [&](std::string_view name, std::string_view what) {
    if (name.empty()) {
      problems->Add(route, std::string(what) + " without a schema");
    } else if (!schemas.contains(name)) {
      problems->Add(route, "unknown schema \"" + std::string(name) + "\"");
    }
  };
  if (doc.body == BodyKind::kJson) check_schema(doc.request, "a JSON body");
  if (doc.reply == ReplyKind::kJson) check_schema(doc.response, "a JSON answer");

  Json op = Json::Object();
  op.Set("summary", doc.summary);
  if (!doc.description.empty()) op.Set("description", doc.description);
  std::string id = Lower(route.method);
  for (char c : route.pattern) {
    const bool word = std::isalnum(static_cast<unsigned char>(c)) != 0;
    if (word) id.push_back(c);
    else if (id.back() != '_') id.push_back('_');
  }
  op.Set("operationId", std::move(id));
  Json tags = Json::Array();
  tags.as_array().push_back(doc.tag);
  op.Set("tags", std::move(tags));
  op.Set("security", Security(doc.auth));
  if (HasPathParameters(route.pattern)) op.Set("parameters", PathParameters(route.pattern));
  const bool has_body = doc.body != BodyKind::kNone;
  if (has_body) op.Set("requestBody", RequestBody(doc));

  // Every status the route answers: its success, its own others, then the rule (route_doc.hpp).
  std::set<int> statuses = {doc.status};
  for (int s : doc.statuses) {
    if (s != 0) statuses.insert(s);
  }
  const bool params = HasPathParameters(route.pattern);
  const bool websocket = doc.reply == ReplyKind::kWebSocket;
  if (has_body || params || websocket) statuses.insert(400);
  if (websocket) statuses.insert(426);  // not an upgrade, or not WebSocket version 13
  if (doc.auth != kAuthNone) statuses.insert(401);
  if (params) statuses.insert(404);
  if (has_body) statuses.insert(413);
  if (doc.auth != kAuthNone || IsAuthenticationRoute(route.method, route.pattern)) {
    statuses.insert(429);
  }
  statuses.insert(500);
  Json responses = Json::Object();
  for (int s : statuses) {
    responses.Set(std::to_string(s), s < 400 ? SuccessResponse(doc, s) : ErrorResponse(s));
  }
  op.Set("responses", std::move(responses));
  return op;
}

// Every "$ref" in `schema` names a component.
void CheckRefs(const Json& schema, std::string_view owner,
               const std::set<std::string, std::less<>>& schemas, Problems* problems) {
  if (schema.is_array()) {
    for (const Json& item : schema.as_array()) CheckRefs(item, owner, schemas, problems);
  }
  if (!schema.is_object()) return;
  for (const JsonMember& m : schema.as_object()) {
    if (m.key == "$ref") {
      const std::string ref = m.value.is_string() ? m.value.as_string() : std::string();
      if (!ref.starts_with(kSchemaPrefix) ||
          !schemas.contains(std::string_view(ref).substr(kSchemaPrefix.size()))) {
        problems->Add("schema " + std::string(owner) + ": unknown $ref \"" + ref + "\"");
      }
    } else {
      CheckRefs(m.value, owner, schemas, problems);
    }
  }
}

Json Components(const std::set<std::string, std::less<>>& names, Problems* problems) {
  Json schemas = Json::Object();
  for (const SchemaComponent& c : SchemaComponents()) {
    Result<Json> schema = ParseJson(c.json);
    if (!schema.ok() || !schema->is_object()) {
      problems->Add("schema " + std::string(c.name) + " is not a JSON object");
      continue;
    }
    CheckRefs(*schema, c.name, names, problems);
    schemas.Set(c.name, *std::move(schema));
  }
  Json components = Json::Object();
  components.Set("schemas", std::move(schemas));
  components.Set("securitySchemes", SecuritySchemes());
  return components;
}

}  // namespace

std::string OpenApiPath(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 4);
  bool in_param = false;
  for (char c : pattern) {
    if (in_param && c == '/') {
      out.push_back('}');
      in_param = false;
    }
    if ((c == ':' || c == '*') && (out.empty() || out.back() == '/')) {
      out.push_back('{');
      in_param = true;
      continue;
    }
    out.push_back(c);
  }
  if (in_param) out.push_back('}');
  return out;
}

Result<std::string> BuildOpenApiDocument(const Router& router) {
  Problems problems;
  std::set<std::string, std::less<>> schema_names;
  for (const SchemaComponent& c : SchemaComponents()) {
    if (!schema_names.emplace(c.name).second) {
      problems.Add("schema " + std::string(c.name) + " is defined twice");
    }
  }
  Json paths = Json::Object();
  std::set<std::string, std::less<>> tags;
  for (const Route* route : router.routes()) {
    const std::string path = OpenApiPath(route->pattern);
    const std::string method = Lower(route->method);
    Json* item = paths.Find(path);
    if (item == nullptr) {
      paths.Set(path, Json::Object());
      item = paths.Find(path);
    }
    if (item->Find(method) != nullptr) {
      problems.Add(*route, "registered twice");
      continue;
    }
    item->Set(method, Operation(*route, schema_names, &problems));
    if (!route->doc.tag.empty()) tags.emplace(route->doc.tag);
  }
  Json components = Components(schema_names, &problems);
  if (!problems.empty()) return InvalidArgument("the route table's documentation: " + problems.text());

  Json info = Json::Object();
  info.Set("title", "agentcore-server");
  info.Set("version", AGENTCORE_VERSION_STRING);
  info.Set("summary", "Cast's HTTP API and agentcore's own routes (docs/api.md)");
  Json license = Json::Object();
  license.Set("name", "Apache-2.0");
  license.Set("identifier", "Apache-2.0");
  info.Set("license", std::move(license));
  Json tag_list = Json::Array();
  for (const std::string& t : tags) {
    Json tag = Json::Object();
    tag.Set("name", t);
    tag_list.as_array().push_back(std::move(tag));
  }
  Json doc = Json::Object();
  doc.Set("openapi", "3.1.0");
  doc.Set("info", std::move(info));
  doc.Set("tags", std::move(tag_list));
  doc.Set("paths", std::move(paths));
  doc.Set("components", std::move(components));
  return ToJson(doc);
}

}  // namespace agentcore::server
