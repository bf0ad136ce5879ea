// SPDX-License-Identifier: Apache-2.0
#pragma once

// A real App on 127.0.0.1:0 (temporary SQLite file, two io threads) for the WebSocket and SSE
// end-to-end tests, with a signed session cookie and helpers that store and publish messages
// directly through the App (independent of the REST handlers). Test support only.

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/json.hpp>
#include <agentcore/store/store.hpp>

#include "app.hpp"
#include "ws/sync_frames.hpp"

namespace agentcore::testing {

class StreamTestServer {
 public:
  explicit StreamTestServer(std::function<void(server::ServerConfig&)> tweak = {}) {
    char templ[] = "/tmp/agentcore-stream-test-XXXXXX";
    REQUIRE(::mkdtemp(templ) != nullptr);
    dir_ = templ;
    server::ServerConfig config;
    config.host = "127.0.0.1";
    config.port = 0;
    config.threads = 2;
    config.blocking_threads = 4;
    config.access_log = false;
    config.auth_mode = "dev";
    config.database_url = "sqlite://" + dir_ + "/db.sqlite";
    config.data_dir = dir_ + "/data";
    config.shutdown_grace = std::chrono::milliseconds(3000);
    if (tweak) tweak(config);
    auto app = server::App::Open(config);
    REQUIRE_MESSAGE(app.ok(), app.status().ToString());
    app_ = std::move(*app);
    REQUIRE(app_->Start().ok());
    Space space;
    space.id = space_id_;
    space.name = "test space";
    REQUIRE(app_->store().EnsureSpace(space).ok());
    cookie_ = Cookie(space_id_);
  }
  ~StreamTestServer() {
    app_->Stop();
    app_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  server::App& app() { return *app_; }
  std::uint16_t port() const { return app_->port(); }
  const std::string& space_id() const { return space_id_; }
  // "Cookie: cast_session=...\r\n" for the default user of the default space.
  const std::string& cookie() const { return cookie_; }

  // A Cookie header line for a session in `space_id`.
  std::string Cookie(std::string_view space_id) const {
    SessionClaims claims;
    claims.user_id = "user-1";
    claims.space_id = std::string(space_id);
    claims.mode = "dev";
    claims.iat = SystemClock()->NowMillis() / 1000;
    claims.exp = claims.iat + kSessionTtlSeconds;
    return "Cookie: theme=dark; cast_session=" + SignSessionToken(app_->jwt_secret(), claims) +
           "\r\n";
  }

  // A new channel; in the default space unless told otherwise.
  std::string NewChannel(std::string_view name, std::string space_id = {}) {
    agentcore::NewChannel in;
    in.space_id = space_id.empty() ? space_id_ : space_id;
    in.name = std::string(name);
    if (space_id.empty() == false) {
      Space space;
      space.id = space_id;
      space.name = space_id;
      REQUIRE(app_->store().EnsureSpace(space).ok());
    }
    auto channel = app_->store().CreateChannel(in);
    REQUIRE_MESSAGE(channel.ok(), channel.status().ToString());
    return channel->id;
  }

  // Stores a user message (the store assigns a ULID and the time).
  Message Store(std::string_view channel_id, std::string_view text, std::string type = "user") {
    agentcore::NewMessage in;
    in.space_id = space_id_;
    in.channel_id = std::string(channel_id);
    in.sender = "alice";
    in.sender_type = "user";
    in.type = std::move(type);
    in.content = Json(std::string(text));
    auto message = app_->store().AppendMessage(in);
    REQUIRE_MESSAGE(message.ok(), message.status().ToString());
    return *message;
  }

  // Broadcasts a stored message as the server does (event id = message id).
  void Publish(const Message& message) {
    app_->Publish(message.channel_id, message.id, server::SetFrameLineForMessage(message),
                  message.seq);
  }
  // Stores and broadcasts.
  Message Post(std::string_view channel_id, std::string_view text) {
    Message m = Store(channel_id, text);
    Publish(m);
    return m;
  }

 private:
  std::string dir_;
  std::string space_id_ = "space-1";
  std::unique_ptr<server::App> app_;
  std::string cookie_;
};

}  // namespace agentcore::testing
