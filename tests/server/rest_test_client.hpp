// SPDX-License-Identifier: Apache-2.0
#pragma once

// A JSON-over-HTTP client for the REST route tests: one call per request, the reply's status,
// headers, raw body and parsed body. Test support only.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <doctest/doctest.h>

#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "app.hpp"
#include "server/server_fixture.hpp"

namespace agentcore::testing {

struct RestReply {
  int status = 0;
  std::string body;
  Json json;  // null when the body is not JSON
  HttpHeaders headers;

  std::optional<std::string_view> Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k.size() == name.size()) {
        bool same = true;
        for (std::size_t i = 0; i < k.size(); ++i) {
          char a = k[i] >= 'A' && k[i] <= 'Z' ? static_cast<char>(k[i] + 32) : k[i];
          char b = name[i] >= 'A' && name[i] <= 'Z' ? static_cast<char>(name[i] + 32) : name[i];
          if (a != b) same = false;
        }
        if (same) return std::string_view(v);
      }
    }
    return std::nullopt;
  }
  // `json["error"]` as a string, or "" when absent.
  std::string Error() const {
    const std::string* e = json.FindString("error");
    return e ? *e : std::string();
  }
};

class RestClient {
 public:
  // `cookie`: the value of a Cookie header ("cast_session=..."); empty sends none.
  RestClient(std::uint16_t port, std::string cookie)
      : base_("http://127.0.0.1:" + std::to_string(port)), cookie_(std::move(cookie)),
        http_(NewHttpClient()) {}

  RestReply Get(std::string_view path) { return Send("GET", path, {}, cookie_); }
  RestReply Post(std::string_view path, std::string_view body) {
    return Send("POST", path, body, cookie_);
  }
  RestReply Put(std::string_view path, std::string_view body) {
    return Send("PUT", path, body, cookie_);
  }
  RestReply Delete(std::string_view path) { return Send("DELETE", path, {}, cookie_); }

  // Any request with an explicit cookie (empty: none).
  RestReply Send(std::string method, std::string_view path, std::string_view body,
                 std::string_view cookie) {
    HttpRequest req;
    req.method = std::move(method);
    req.url = base_ + std::string(path);
    req.body = std::string(body);
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    if (!cookie.empty()) req.headers.emplace_back("Cookie", std::string(cookie));
    Result<HttpResponse> r = http_->Send(req);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    RestReply reply;
    reply.status = r->status;
    reply.body = r->body;
    reply.headers = r->headers;
    if (Result<Json> parsed = ParseJson(reply.body); parsed.ok()) reply.json = *std::move(parsed);
    return reply;
  }

  const std::string& cookie() const { return cookie_; }
  void set_cookie(std::string cookie) { cookie_ = std::move(cookie); }

 private:
  std::string base_;
  std::string cookie_;
  std::unique_ptr<HttpClient> http_;
};

// The lead's ServerFixture (a real App on 127.0.0.1 over a fresh SQLite file, dev auth mode),
// with any number of logged-in clients: the REST tests need users of several spaces at once.
class RestServer {
 public:
  explicit RestServer(std::function<void(server::ServerConfig&)> tweak = {})
      : fixture_(Options(std::move(tweak))) {}

  server::App& app() { return fixture_.app(); }
  std::uint16_t port() { return fixture_.port(); }
  RestClient Anonymous() { return RestClient(port(), ""); }

  // Logs a new user in (creating its space); the client carries the session cookie.
  RestClient Login(std::string_view callsign) {
    RestClient client(port(), "");
    RestReply r = client.Post("/auth/dev/login",
                              std::string(R"({"callsign":")") + std::string(callsign) + "\"}");
    REQUIRE(r.status == 201);
    auto set_cookie = r.Header("Set-Cookie");
    REQUIRE(set_cookie.has_value());
    client.set_cookie(std::string(set_cookie->substr(0, set_cookie->find(';'))));
    return client;
  }

 private:
  static server::testing::ServerFixtureOptions Options(
      std::function<void(server::ServerConfig&)> tweak) {
    server::testing::ServerFixtureOptions options;
    options.tweak = std::move(tweak);
    return options;
  }

  server::testing::ServerFixture fixture_;
};

// `"a":1` style helpers for reading replies.
inline const Json& At(const Json& object, std::string_view key) {
  static const Json kNull;
  const Json* v = object.Find(key);
  return v ? *v : kNull;
}
inline std::string Str(const Json& object, std::string_view key) {
  const std::string* s = object.FindString(key);
  return s ? *s : std::string();
}

// Creates a channel through the API and returns its id.
inline std::string CreateChannel(RestClient& client, std::string_view name) {
  RestReply r = client.Post("/channels", std::string(R"({"name":")") + std::string(name) + "\"}");
  REQUIRE(r.status == 201);
  return Str(At(r.json, "channel"), "id");
}

// Posts a message and returns the stored message object.
inline Json PostMessage(RestClient& client, std::string_view channel_id, std::string_view body) {
  RestReply r = client.Post("/channels/" + std::string(channel_id) + "/messages", body);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  return At(r.json, "message");
}

}  // namespace agentcore::testing
