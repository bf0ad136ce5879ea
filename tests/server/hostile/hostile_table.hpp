// SPDX-License-Identifier: Apache-2.0
#pragma once

// The hostile-input table runner (issue 13, "Keep it that way"). A table is a list of raw
// inputs, each sent on a fresh connection to one server that holds a little data (a channel
// with two messages); for each the runner checks the status (exact or by class), that a body
// expected to be an error is JSON with an "error" string, optionally that the connection
// closes, then that /health still answers 200 and that the stored data (the channel list and
// the channel's messages, read through the API) is byte for byte what it was.
//
// Placeholders in the bytes: {cookie} (a session cookie header value), {channel} (the seeded
// channel's id), {token} (a container token for that channel, callsign "probe"), {space}.
//
// WebSocket cases: the runner upgrades /stream with the session, sends the frames and expects
// a close frame with `close_code` (then the TCP close).

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>

#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"
#include "server/websocket_test_client.hpp"

namespace agentcore::server::testing {

struct HostileCase {
  std::string name;               // what the input is (printed on failure)
  std::vector<std::string> bytes;  // sent in turn on one connection, `gap` apart
  int status = 400;               // the exact status; 0: any of class `status_class`
  int status_class = 4;           // 4: 4xx (used when `status` is 0)
  bool json_error = true;         // the body is JSON with an "error" string
  bool closes = false;            // the server closes the connection after answering
  std::chrono::milliseconds gap{0};
};

struct HostileWsCase {
  std::string name;
  std::string frames;  // raw bytes after a successful upgrade
  std::uint16_t close_code = server::kCloseProtocolError;
};

inline HostileCase Raw(std::string name, std::string bytes, int status = 400,
                       bool closes = false) {
  HostileCase c;
  c.name = std::move(name);
  c.bytes.push_back(std::move(bytes));
  c.status = status;
  c.closes = closes;
  return c;
}

/// A 4xx of any code, JSON error body.
inline HostileCase Any4xx(std::string name, std::string bytes) {
  HostileCase c = Raw(std::move(name), std::move(bytes), 0);
  c.status_class = 4;
  return c;
}

/// A chunk of chunked framing.
inline std::string ChunkOf(std::string_view data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return std::string(size) + std::string(data) + "\r\n";
}

/// The server of a table: short deadlines so slow clients are answered quickly, dev auth, a
/// session, a channel with two messages.
class HostileServer {
 public:
  explicit HostileServer(std::function<void(ServerConfig&)> tweak = {})
      : server_(ServerFixtureOptions{.tweak = [tweak](ServerConfig& c) {
          c.limits.header_timeout = std::chrono::milliseconds(600);
          c.limits.body_timeout = std::chrono::milliseconds(600);
          c.limits.request_timeout = std::chrono::milliseconds(1500);
          c.limits.idle_timeout = std::chrono::milliseconds(3000);
          c.limits.max_header_bytes = 8 * 1024;
          if (tweak) tweak(c);
        }}) {
    server_.Login("hostile");
    channel_ = server_.CreateChannel("hostile-table");
    for (const char* text : {"first message", "second message"}) {
      auto r = server_.Call("POST", "/channels/" + channel_ + "/messages",
                            std::string("{\"content\":\"") + text +
                                "\",\"sender\":\"hostile\",\"senderType\":\"user\"}");
      REQUIRE_MESSAGE(r.status == 201, r.body);
    }
    token_ = server_.ContainerToken(channel_, "probe");
  }

  ServerFixture& server() { return server_; }
  const std::string& channel() const { return channel_; }

  std::string Fill(std::string bytes) const {
    Replace(&bytes, "{cookie}", server_.cookie());
    Replace(&bytes, "{channel}", channel_);
    Replace(&bytes, "{token}", token_);
    Replace(&bytes, "{space}", server_.space_id());
    return bytes;
  }

  /// What a client can read of the stored data.
  std::string Fingerprint() {
    auto channels = server_.Call("GET", "/channels");
    auto messages = server_.Call("GET", "/channels/" + channel_ + "/messages?limit=100");
    return std::to_string(channels.status) + channels.body + std::to_string(messages.status) +
           messages.body;
  }

  bool Healthy() {
    HttpRequest req;
    req.url = server_.base_url() + "/health";
    req.timeout = std::chrono::seconds(3);
    auto r = server_.client().Send(req);
    return r.ok() && r->status == 200;
  }

 private:
  static void Replace(std::string* s, std::string_view from, const std::string& to) {
    for (std::size_t at = s->find(from); at != std::string::npos; at = s->find(from, at)) {
      s->replace(at, from.size(), to);
      at += to.size();
    }
  }

  ServerFixture server_;
  std::string channel_;
  std::string token_;
};

/// The status of the first response in `raw` (0: none).
inline int FirstStatus(const std::string& raw) {
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || raw.size() < 12) return 0;
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    char c = raw[static_cast<std::size_t>(i)];
    if (c < '0' || c > '9') return 0;
    status = status * 10 + (c - '0');
  }
  return status;
}

/// The body of the first response in `raw` (by Content-Length).
inline std::string FirstBody(const std::string& raw) {
  std::size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return {};
  std::string_view head(raw.data(), end);
  std::size_t cl = head.find("Content-Length: ");
  std::size_t length = 0;
  if (cl != std::string_view::npos) {
    for (std::size_t i = cl + 16; i < head.size() && head[i] >= '0' && head[i] <= '9'; ++i) {
      length = length * 10 + static_cast<std::size_t>(head[i] - '0');
    }
  }
  return raw.substr(end + 4, length);
}

/// Runs every case; returns how many ran. Each failure names its case.
inline int RunHostileTable(HostileServer& hs, const std::vector<HostileCase>& cases) {
  using namespace std::chrono_literals;
  const std::string before = hs.Fingerprint();
  int ran = 0;
  for (const HostileCase& c : cases) {
    INFO("hostile case: ", c.name);
    RawClient client(hs.server().port());
    REQUIRE(client.connected());
    for (std::size_t i = 0; i < c.bytes.size(); ++i) {
      if (i > 0 && c.gap.count() > 0) std::this_thread::sleep_for(c.gap);
      if (!client.Send(hs.Fill(c.bytes[i]))) break;  // the server may close early
    }
    client.ReadResponses(1, 5s);
    const std::string& raw = client.received();
    int status = FirstStatus(raw);
    if (c.status != 0) {
      CHECK_MESSAGE(status == c.status, raw.substr(0, 300));
    } else {
      CHECK_MESSAGE(status / 100 == c.status_class, raw.substr(0, 300));
    }
    if (c.json_error) {
      auto body = ParseJson(FirstBody(raw));
      CHECK_MESSAGE(body.ok(), raw.substr(0, 300));
      if (body.ok()) CHECK_MESSAGE(body->FindString("error") != nullptr, raw.substr(0, 300));
    }
    if (c.closes) CHECK_MESSAGE(client.WaitClosed(3s), "the connection stays open");
    CHECK(hs.Healthy());
    CHECK(hs.Fingerprint() == before);
    ++ran;
  }
  return ran;
}

/// Runs WebSocket cases: upgrade, send the frames, expect a close frame with the code.
inline int RunHostileWsTable(HostileServer& hs, const std::vector<HostileWsCase>& cases) {
  using namespace std::chrono_literals;
  const std::string before = hs.Fingerprint();
  int ran = 0;
  for (const HostileWsCase& c : cases) {
    INFO("hostile ws case: ", c.name);
    agentcore::testing::TestWebSocket ws(hs.server().port());
    auto head = ws.Handshake("/stream", "Cookie: " + hs.server().cookie() + "\r\n");
    REQUIRE(head.status == 101);
    ws.SendRaw(c.frames);
    std::uint16_t code = 0;
    for (int i = 0; i < 20; ++i) {
      auto event = ws.Next(3s);
      if (!event) break;
      if (event->kind == server::WebSocketEvent::Kind::kClose) {
        code = event->close_code;
        break;
      }
    }
    CHECK(code == c.close_code);
    CHECK(ws.WaitClosed(3s));
    CHECK(hs.Healthy());
    CHECK(hs.Fingerprint() == before);
    ++ran;
  }
  return ran;
}

}  // namespace agentcore::server::testing
