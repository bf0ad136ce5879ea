// SPDX-License-Identifier: Apache-2.0
#pragma once

// A real agentcore-server App on 127.0.0.1 (ephemeral port) over a fresh SQLite file, in dev
// auth mode, with an HTTP client and helpers to log in and call the API. One per test case.
// With AGENTCORE_SERVER_TEST_BACKEND=postgres the store is a fresh schema on the PostgreSQL
// server of AGENTCORE_TEST_PG_DSN instead: the test command runs the suite once per backend.

#include <cstdlib>
#include <functional>
#include <string_view>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/http/client.hpp>
#include <agentcore/json.hpp>

#include "app.hpp"
#include "store/temp_dir.hpp"
#if AGENTCORE_SERVER_TESTS_WITH_PG
#include "store/pg_test_schema.hpp"
#endif

namespace agentcore::server::testing {

/// The secrets a fixture outside dev mode runs on (at least 32 bytes, not the public ones).
inline constexpr std::string_view kTestJwtSecret = "test-jwt-secret-0123456789abcdef-0123456789";
inline constexpr std::string_view kTestContainerSecret =
    "test-container-secret-0123456789abcdef-0123456789";

struct ServerFixtureOptions {
  std::string auth_mode = "dev";
  unsigned threads = 2;
  bool compat_open_checkin = false;
  std::function<void(ServerConfig&)> tweak;  // change limits etc. before start
  Clock* clock = nullptr;  // not owned; nullptr: the system clock
};

class ServerFixture {
 public:
  explicit ServerFixture(ServerFixtureOptions options = {}) {
    ServerConfig config;
    config.host = "127.0.0.1";
    config.port = 0;
    config.database_url = "sqlite://" + dir_.path() + "/server.db";
    if (UsePostgres()) {
#if AGENTCORE_SERVER_TESTS_WITH_PG
      pg_ = std::make_unique<agentcore::testing::PgTestSchema>();
      config.database_url = pg_->url();
#else
      FAIL("AGENTCORE_SERVER_TEST_BACKEND=postgres, but built without PostgreSQL");
#endif
    }
    config.data_dir = dir_.path() + "/data";
    config.auth_mode = options.auth_mode;
    config.threads = options.threads;
    config.blocking_threads = 8;
    config.access_log = false;
    config.compat_open_checkin = options.compat_open_checkin;
    if (options.tweak) options.tweak(config);
    // Outside dev mode the server refuses to start on the development secrets (issue 13 §2).
    if (config.auth_mode != "dev") {
      if (config.jwt_secret.empty()) config.jwt_secret = std::string(kTestJwtSecret);
      if (config.container_secret.empty()) {
        config.container_secret = std::string(kTestContainerSecret);
      }
    }
    auto app = App::Open(config, options.clock != nullptr ? options.clock : SystemClock());
    REQUIRE_MESSAGE(app.ok(), app.status().ToString());
    app_ = std::move(*app);
    Status started = app_->Start();
    REQUIRE_MESSAGE(started.ok(), started.ToString());
    base_ = "http://127.0.0.1:" + std::to_string(app_->port());
    client_ = NewHttpClient();
  }
  ~ServerFixture() {
    if (app_) app_->Stop();
  }

  /// AGENTCORE_SERVER_TEST_BACKEND=postgres: the suite runs on PostgreSQL.
  static bool UsePostgres() {
    const char* backend = std::getenv("AGENTCORE_SERVER_TEST_BACKEND");
    return backend != nullptr && std::string_view(backend) == "postgres";
  }

  App& app() { return *app_; }
  const std::string& base_url() const { return base_; }
  std::uint16_t port() const { return app_->port(); }
  HttpClient& client() { return *client_; }
  const std::string& cookie() const { return cookie_; }
  const std::string& space_id() const { return space_id_; }
  const std::string& user_id() const { return user_id_; }

  /// POST /auth/dev/login as a new user; keeps the session cookie for later calls.
  void Login(const std::string& callsign = "alice") {
    HttpResponse r = Call("POST", "/auth/dev/login", "{\"callsign\":\"" + callsign + "\"}",
                          /*with_cookie=*/false);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    auto set_cookie = r.Header("Set-Cookie");
    REQUIRE(set_cookie.has_value());
    std::string value(*set_cookie);
    cookie_ = value.substr(0, value.find(';'));
    Json body = ParseJson(r.body).value();
    space_id_ = body.FindString("spaceId") ? *body.FindString("spaceId") : "";
    user_id_ = body.FindString("userId") ? *body.FindString("userId") : "";
  }

  /// One request; the session cookie is sent when logged in and `with_cookie`.
  HttpResponse Call(const std::string& method, const std::string& path, std::string body = {},
                    bool with_cookie = true,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    HttpRequest req;
    req.method = method;
    req.url = base_ + path;
    req.body = std::move(body);
    req.headers = std::move(headers);
    if (!req.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    if (with_cookie && !cookie_.empty()) req.headers.emplace_back("Cookie", cookie_);
    auto r = client_->Send(req);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    return std::move(*r);
  }

  /// Creates a channel through the API; returns its id.
  std::string CreateChannel(const std::string& name) {
    HttpResponse r = Call("POST", "/channels", "{\"name\":\"" + name + "\"}");
    REQUIRE_MESSAGE(r.status == 201, r.body);
    Json body = ParseJson(r.body).value();
    const Json* channel = body.Find("channel");
    REQUIRE(channel != nullptr);
    return *channel->FindString("id");
  }

  /// The container token of an agent of this space.
  std::string ContainerToken(const std::string& channel_id, const std::string& callsign) {
    return app_->ContainerToken(AgentIdentity{space_id_, channel_id, callsign});
  }

 private:
  agentcore::testing::TempDir dir_;
#if AGENTCORE_SERVER_TESTS_WITH_PG
  std::unique_ptr<agentcore::testing::PgTestSchema> pg_;  // destroyed after app_ (declared first)
#endif
  std::unique_ptr<App> app_;
  std::string base_;
  std::unique_ptr<HttpClient> client_;
  std::string cookie_;
  std::string space_id_;
  std::string user_id_;
};

/// Parses a response body that must be JSON.
inline Json BodyJson(const HttpResponse& r) {
  auto parsed = ParseJson(r.body);
  REQUIRE_MESSAGE(parsed.ok(), r.body);
  return std::move(*parsed);
}

}  // namespace agentcore::server::testing
