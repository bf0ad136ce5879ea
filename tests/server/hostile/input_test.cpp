// SPDX-License-Identifier: Apache-2.0
// Issue 13 §4 and §5 (callsigns): client input that used to answer 5xx. Every bad input is a
// 4xx with a JSON error body, on every route and transport, and leaves the stored data as it
// was: ids that cannot exist in every path parameter, container tokens of another space, an
// empty dev-login spaceId, impossible WebSocket sync channel ids, callsigns Cast's agentId
// cannot carry; and every 5xx a handler answers logs its cause.

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include <agentcore/json.hpp>
#include <agentcore/status.hpp>

#include "handlers/handler_support.hpp"
#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"
#include "server/stderr_capture.hpp"
#include "server/websocket_test_client.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

// One response read off a raw connection (the request asked for Connection: close).
struct RawReply {
  int status = 0;
  std::string body;
  bool closed = false;
};

// Sends one request byte for byte (no client-side path normalization: `..` stays `..`).
RawReply SendRaw(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& body = {},
                 const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  RawClient c(port);
  REQUIRE(c.connected());
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  REQUIRE(c.Send(request));
  RawReply reply;
  reply.closed = c.WaitClosed(5s);
  const std::string& all = c.received();
  if (all.rfind("HTTP/1.1 ", 0) == 0 && all.size() >= 12) {
    reply.status = std::stoi(all.substr(9, 3));
  }
  std::size_t head_end = all.find("\r\n\r\n");
  if (head_end != std::string::npos) reply.body = all.substr(head_end + 4);
  return reply;
}

// The reply is a client error with a JSON object body naming the error.
void CheckJsonClientError(const RawReply& r) {
  CAPTURE(r.status);
  CAPTURE(r.body);
  CHECK(r.closed);
  CHECK(r.status >= 400);
  CHECK(r.status < 500);
  Result<Json> json = ParseJson(r.body);
  REQUIRE_MESSAGE(json.ok(), r.body);
  CHECK(json->is_object());
  CHECK(json->FindString("error") != nullptr);
}

const std::string kSetFrame =
    R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8J9","t":"2026-01-04T10:00:01.250Z","v":{"type":"agent","content":"Hello","sender":"echo","senderType":"agent"}})";

// Path segments (as sent on the wire) that cannot name anything: empty, too long, NUL, dot
// segments, unicode, spaces, control characters, malformed escapes, injection.
const std::vector<std::string>& BadIds() {
  static const std::vector<std::string> ids = {
      "",
      std::string(300, 'a'),
      std::string(1000, 'b'),
      "%00",
      "a%00b",
      "..",
      "%2e%2e",
      "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
      "%C3%A9t%C3%A9",
      "%F0%9F%98%80",
      "%FF%FE",
      "%20",
      "a%20b",
      "%0d%0aX-Injected:%201",
      "%09",
      "%",
      "%zz",
      "a:b:c",
      "%27%20OR%201=1--",
      "%22%7D%5D",
      "%25" + std::string(298, 'c'),
  };
  return ids;
}

struct Hostile {
  ServerFixture server;
  std::string channel;
  std::string token;
  Hostile() {
    server.Login();
    channel = server.CreateChannel("hostile");
    token = server.ContainerToken(channel, "echo");
    auto posted = server.Call("POST", "/channels/" + channel + "/messages",
                              R"({"sender":"alice","content":"keep me"})");
    REQUIRE_MESSAGE(posted.status == 201, posted.body);
    auto added = server.Call("POST", "/channels/" + channel + "/roster",
                             R"({"callsign":"echo","agentType":"echo"})");
    REQUIRE_MESSAGE(added.status == 201, added.body);
  }
  std::vector<std::pair<std::string, std::string>> Session() const {
    return {{"Cookie", server.cookie()}};
  }
  std::vector<std::pair<std::string, std::string>> Container(const std::string& t) const {
    return {{"Authorization", "Container " + t}};
  }
  // What the channel holds: its messages and roster, as the API shows them.
  std::string Snapshot() {
    auto messages = server.Call("GET", "/channels/" + channel + "/messages?limit=1000");
    auto roster = server.Call("GET", "/channels/" + channel + "/roster");
    auto channels = server.Call("GET", "/channels");
    REQUIRE(messages.status == 200);
    REQUIRE(roster.status == 200);
    REQUIRE(channels.status == 200);
    return messages.body + "\n" + roster.body + "\n" + channels.body;
  }
};

// A route with a path parameter. Besides a 4xx, a route may answer an id it does not know
// with a documented 200 body (Cast's `{"channel":null}` of PUT, `{"ok":true}` of a DELETE
// that matched nothing).
struct RouteCase {
  std::string method;
  std::string path;  // "{id}" is replaced by the bad id
  std::string body;
  std::string unknown_ok = {};
};

void CheckRoute(const RouteCase& route, const std::string& id, const RawReply& r) {
  if (!route.unknown_ok.empty() && r.status == 200) {
    // "*": any JSON object (a cursor is a filter: an id no message has selects by order).
    if (route.unknown_ok == "*") {
      Result<Json> json = ParseJson(r.body);
      CHECK_MESSAGE((json.ok() && json->is_object()), r.body);
    } else {
      CHECK(r.body == route.unknown_ok);
    }
    return;
  }
  // An empty last segment names the route one level up (GET /channels/ lists channels).
  if (id.empty() && r.status == 200) return;
  CheckJsonClientError(r);
}

std::size_t Count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

// A second account (its own space), logged in through the API.
std::string OtherSpace(ServerFixture& server) {
  auto r = server.Call("POST", "/auth/dev/login", R"({"callsign":"mallory"})", false);
  REQUIRE(r.status == 201);
  return *BodyJson(r).FindString("spaceId");
}

// Reads what the subscriber received within `wait`: the frames, or "" when nothing came.
std::string Drain(agentcore::testing::TestWebSocket& ws, std::chrono::milliseconds wait) {
  std::string all;
  while (auto text = ws.NextText(wait)) all += *text + "\n";
  return all;
}

// Subscribes a WebSocket to `channel` (sync) and returns it once the sync reply came.
std::unique_ptr<agentcore::testing::TestWebSocket> Subscribe(ServerFixture& server,
                                                             const std::string& channel) {
  auto ws = std::make_unique<agentcore::testing::TestWebSocket>(server.port());
  REQUIRE(ws->Handshake("/stream", "Cookie: " + server.cookie() + "\r\n").status == 101);
  REQUIRE(ws->SendText(R"({"request":"sync","channelId":")" + channel + R"(","limit":1})"));
  auto reply = ws->NextText();
  REQUIRE(reply.has_value());
  REQUIRE(reply->find("\"sync\"") != std::string::npos);
  return ws;
}

TEST_SUITE("hostile/input") {
  TEST_CASE("every 5xx a handler answers goes through one helper that logs its cause once") {
    StderrCapture log;
    Response answer =
        ServerError("Failed to list things", Status(ErrorCode::kInternal, "disk on fire"),
                    CastError(500, "Failed to list things"));
    CHECK(answer.status == 500);
    CHECK(answer.body == R"({"error":"Failed to list things"})");
    // RespondWith maps the error codes: 5xx through ServerError (logged, fixed text), 4xx
    // with the status message (not logged).
    Response mapped = RespondWith(Status(ErrorCode::kUnavailable, "pool exhausted"), "Failed x");
    CHECK(mapped.status == 500);
    CHECK(mapped.body == R"({"error":"Failed x"})");
    Response client = RespondWith(Status(ErrorCode::kNotFound, "Channel not found"), "Failed y");
    CHECK(client.status == 404);
    CHECK(client.body == R"({"error":"Channel not found"})");
    const std::string text = log.Text();
    CHECK(Count(text, "disk on fire") == 1);
    CHECK(Count(text, "pool exhausted") == 1);
    CHECK(text.find("Failed to list things") != std::string::npos);
    CHECK(text.find("Failed y") == std::string::npos);
  }

  TEST_CASE("a 500 on the wire leaves its cause in the log (an agent that cannot start)") {
    ServerFixture server(ServerFixtureOptions{.tweak = [](ServerConfig& c) {
      c.agent_commands["*"] = {"/nonexistent/agentcore-no-such-agent"};
    }});
    server.Login();
    const std::string channel = server.CreateChannel("spawn");
    REQUIRE(server
                .Call("POST", "/channels/" + channel + "/roster",
                      R"({"callsign":"ghost","agentType":"echo"})")
                .status == 201);
    StderrCapture log;
    auto r = server.Call("POST", "/channels/" + channel + "/agents/ghost/activate");
    CHECK(r.status == 500);
    CHECK(r.body == R"({"error":"Failed to spawn container"})");
    const std::string text = log.Text();
    CAPTURE(text);
    CHECK(Count(text, R"("what":"Failed to spawn container")") == 1);
    CHECK(text.find("cannot start agent") != std::string::npos);
  }

  TEST_CASE("bad ids in every session route's path parameters are 4xx JSON, never 5xx") {
    Hostile t;
    const std::string before = t.Snapshot();
    const std::string c = t.channel;
    const std::string kNull = R"({"channel":null})";
    const std::string kOk = R"({"ok":true})";
    const std::vector<RouteCase> routes = {
        {"GET", "/channels/{id}", ""},
        {"PUT", "/channels/{id}", R"({"name":"renamed"})", kNull},
        {"GET", "/channels/{id}/events", ""},
        {"GET", "/channels/{id}/messages", ""},
        {"POST", "/channels/{id}/messages", R"({"sender":"alice","content":"x"})"},
        {"GET", "/channels/{id}/roster", ""},
        {"POST", "/channels/{id}/roster", R"({"callsign":"bob","agentType":"echo"})"},
        {"DELETE", "/channels/{id}/roster/entry", ""},
        {"POST", "/channels/{id}/agents", R"({"callsign":"bob","agentType":"echo"})"},
        {"GET", "/channels/{id}/agents/archived", ""},
        {"POST", "/channels/{id}/agents/echo/pause", ""},
        {"POST", "/channels/{id}/agents/echo/resume", ""},
        {"POST", "/channels/{id}/agents/echo/activate", ""},
        {"POST", "/channels/{id}/agents/echo/unarchive", ""},
        {"DELETE", "/channels/{id}/agents/echo", ""},
        {"GET", "/channels/{id}/agents/echo/logs", ""},
        {"GET", "/channels/{id}/costs", ""},
        // The second parameter, on a real channel of the caller.
        {"POST", "/channels/" + c + "/agents/{id}/pause", ""},
        {"POST", "/channels/" + c + "/agents/{id}/resume", ""},
        {"POST", "/channels/" + c + "/agents/{id}/activate", ""},
        {"POST", "/channels/" + c + "/agents/{id}/unarchive", ""},
        {"DELETE", "/channels/" + c + "/agents/{id}", ""},
        {"GET", "/channels/" + c + "/agents/{id}/logs", ""},
        {"DELETE", "/channels/" + c + "/roster/{id}", "", kOk},
        // Query parameters that are ids (message cursors, the SSE resume id).
        {"GET", "/channels/" + c + "/messages?since={id}", "", "*"},
        {"GET", "/channels/" + c + "/messages?before={id}", "", "*"},
    };
    for (const RouteCase& route : routes) {
      for (const std::string& id : BadIds()) {
        if (id.empty() && route.path.find('?') != std::string::npos) continue;  // no filter
        std::string path = route.path;
        path.replace(path.find("{id}"), 4, id);
        CAPTURE(route.method);
        CAPTURE(path);
        CheckRoute(route, id,
                   SendRaw(t.server.port(), route.method, path, route.body, t.Session()));
      }
    }
    CHECK(t.Snapshot() == before);
    CHECK(t.server.Call("GET", "/health", {}, false).status == 200);
  }

  TEST_CASE("bad ids in the container routes' path parameters are 4xx JSON, never 5xx") {
    Hostile t;
    const std::string before = t.Snapshot();
    const std::string offline =
        R"({"agentId":"{id}","status":"offline","endpoint":null,"lastActivity":null})";
    const std::vector<RouteCase> routes = {
        {"POST", "/tymbal/{id}", kSetFrame},
        {"POST", "/tymbal/{id}/batch", kSetFrame},
        {"POST", "/tymbal/{id}/stream", kSetFrame},
        {"POST", "/thread/{id}/tymbal", kSetFrame},
        {"POST", "/thread/" + t.server.space_id() + ":{id}/tymbal", kSetFrame},
    };
    for (const RouteCase& route : routes) {
      for (const std::string& id : BadIds()) {
        std::string path = route.path;
        path.replace(path.find("{id}"), 4, id);
        CAPTURE(route.method);
        CAPTURE(path);
        // With the real channel's token, and with a token correctly signed for the decoded
        // bad id itself (what anyone holding the container secret could make).
        std::optional<std::string> decoded = UrlDecode(id);
        const std::string signed_for_id = t.server.ContainerToken(decoded ? *decoded : id, "echo");
        for (const std::string& token : {t.token, signed_for_id}) {
          CAPTURE(token);
          CheckRoute(route, id,
                     SendRaw(t.server.port(), route.method, path, route.body, t.Container(token)));
        }
      }
    }
    // The agent status route answers an agent it does not know with Cast's offline 200.
    for (const std::string& id : BadIds()) {
      for (const std::string& agent :
           {id, t.server.space_id() + ":" + t.channel + ":" + id, "s:" + id + ":echo"}) {
        CAPTURE(agent);
        RawReply r = SendRaw(t.server.port(), "GET", "/agents/status/" + agent);
        CHECK(r.status != 0);
        CHECK(r.status < 500);
        Result<Json> json = ParseJson(r.body);
        REQUIRE_MESSAGE(json.ok(), r.body);
        if (r.status == 200) {
          CHECK(*json->FindString("status") == "offline");
        } else {
          CHECK(json->FindString("error") != nullptr);
        }
      }
    }
    (void)offline;
    CHECK(t.Snapshot() == before);
    CHECK(t.server.Call("GET", "/health", {}, false).status == 200);
  }

  TEST_CASE("a container token of another space is refused with 403 on every ingest route") {
    Hostile t;
    const std::string other_space = OtherSpace(t.server);
    // Correctly signed, for this very channel, but for a space that does not hold it.
    const std::string foreign =
        t.server.app().ContainerToken(AgentIdentity{other_space, t.channel, "echo"});
    const std::string unknown_space =
        t.server.app().ContainerToken(AgentIdentity{"no-such-space", t.channel, "echo"});
    auto subscriber = Subscribe(t.server, t.channel);
    const std::string before = t.Snapshot();
    const std::string append = R"({"i":"01JGZ5V7A1B2C3D4E5F6G7H8J9","a":"text","d":"injected"})";
    for (const std::string& token : {foreign, unknown_space}) {
      for (const std::string& body : {kSetFrame, append}) {
        for (const std::string& suffix : {"", "/batch", "/stream"}) {
          CAPTURE(suffix);
          CAPTURE(body);
          RawReply r = SendRaw(t.server.port(), "POST", "/tymbal/" + t.channel + suffix, body,
                               t.Container(token));
          CHECK(r.status == 403);
          CHECK(r.body ==
                R"({"error":"forbidden","message":"container token is for another space"})");
        }
      }
    }
    // Nothing stored, nothing published to the channel's subscribers.
    CHECK(Drain(*subscriber, 300ms).empty());
    CHECK(t.Snapshot() == before);
    // The channel's own token still works.
    RawReply ok =
        SendRaw(t.server.port(), "POST", "/tymbal/" + t.channel, append, t.Container(t.token));
    CHECK(ok.status == 200);
    CHECK(Drain(*subscriber, 2000ms).find("injected") != std::string::npos);
  }

  TEST_CASE("a container token for a channel that does not exist is a 404") {
    Hostile t;
    const std::string before = t.Snapshot();
    for (const std::string& channel : {std::string("NOPE"), std::string(300, 'x')}) {
      const std::string token = t.server.ContainerToken(channel, "echo");
      for (const std::string& suffix : {"", "/batch", "/stream"}) {
        CAPTURE(suffix);
        RawReply r = SendRaw(t.server.port(), "POST", "/tymbal/" + channel + suffix, kSetFrame,
                             t.Container(token));
        CHECK(r.status == 404);
        CHECK(r.body == R"({"error":"Channel not found"})");
      }
    }
    CHECK(t.Snapshot() == before);
  }

  TEST_CASE("dev login treats an empty spaceId as absent, as Cast does") {
    Hostile t;
    auto call = [&](const std::string& body) {
      return SendRaw(t.server.port(), "POST", "/auth/dev/login", body,
                     {{"Content-Type", "application/json"}});
    };
    RawReply empty = call(R"({"spaceId":""})");
    CHECK(empty.status == 400);
    CHECK(empty.body == R"({"error":"Invalid request body. Provide spaceId or callsign."})");
    RawReply with_callsign = call(R"({"spaceId":"","callsign":"zed"})");
    CHECK(with_callsign.status == 201);
    CHECK(with_callsign.body.find(R"("callsign":"zed")") != std::string::npos);
    // Ids that cannot name a space: Cast's 404.
    for (const std::string& id : {std::string(300, 's'), std::string("\\u0000"),
                                  std::string("a\\u0001b"), std::string("..")}) {
      CAPTURE(id);
      RawReply r = call(R"({"spaceId":")" + id + R"("})");
      CHECK(r.status == 404);
      CHECK(r.body == R"({"error":"Space not found"})");
    }
    // A lone surrogate is not JSON text.
    RawReply surrogate = call(R"({"spaceId":"\ud800"})");
    CHECK(surrogate.status == 400);
    CHECK(surrogate.body == R"({"error":"Invalid JSON body"})");
    // Callsigns a user cannot have: 400 with a JSON error.
    for (const std::string& callsign : {std::string("\\u0000"), std::string("\\ud800x"),
                                        std::string(300, 'c'), std::string("   ")}) {
      CAPTURE(callsign);
      CheckJsonClientError(call(R"({"callsign":")" + callsign + R"("})"));
    }
  }

  TEST_CASE("an SSE resume id that could not be an event id is a 400 before the stream") {
    Hostile t;
    const std::string path = "/channels/" + t.channel + "/events";
    for (const std::string& id : {std::string(300, 'e'), std::string("a%00b"), std::string("%FF"),
                                  std::string("%01"), std::string("a%7Fb")}) {
      CAPTURE(id);
      RawReply query =
          SendRaw(t.server.port(), "GET", path + "?lastEventId=" + id, {}, t.Session());
      CHECK(query.status == 400);
      CHECK(
          query.body ==
          R"({"error":"invalid_last_event_id","message":"Last-Event-ID is not a valid event id"})");
    }
    // The header form (no NUL or control characters can travel in a header value).
    std::vector<std::pair<std::string, std::string>> headers = t.Session();
    headers.emplace_back("Last-Event-ID", std::string(300, 'e'));
    RawReply header = SendRaw(t.server.port(), "GET", path, {}, headers);
    CHECK(header.status == 400);
    headers.back().second = "\xff\xfe";
    CHECK(SendRaw(t.server.port(), "GET", path, {}, headers).status == 400);
  }

  TEST_CASE("a WebSocket sync for an impossible channel id is channel_not_found") {
    Hostile t;
    agentcore::testing::TestWebSocket ws(t.server.port());
    REQUIRE(ws.Handshake("/stream", "Cookie: " + t.server.cookie() + "\r\n").status == 101);
    const std::string not_found = R"({"error":"channel_not_found","message":"Channel not found"})";
    for (const std::string& id :
         {std::string(1000, 'w'), std::string(256, 'w'), std::string("\\u0000"),
          std::string("a\\u0000b"), std::string("a\\u0007b"), std::string("\\n"), std::string(".."),
          std::string("\\u00e9t\\u00e9")}) {
      CAPTURE(id);
      REQUIRE(ws.SendText(R"({"request":"sync","channelId":")" + id + R"("})"));
      CHECK(ws.NextText() == not_found);
    }
    // A lone surrogate is not JSON text: the request is ignored, as every unparsable one.
    REQUIRE(ws.SendText(R"({"request":"sync","channelId":"\ud800"})"));
    CHECK_FALSE(ws.NextText(300ms).has_value());
    // The connection is still usable.
    REQUIRE(ws.SendText(R"({"request":"sync","channelId":")" + t.channel + R"("})"));
    auto reply = ws.NextText();
    REQUIRE(reply.has_value());
    CHECK(reply->find("keep me") != std::string::npos);
  }

  TEST_CASE("a WebSocket sync with an impossible since or before cursor is invalid_request") {
    Hostile t;
    agentcore::testing::TestWebSocket ws(t.server.port());
    REQUIRE(ws.Handshake("/stream", "Cookie: " + t.server.cookie() + "\r\n").status == 101);
    for (const std::string& key : {"since", "before"}) {
      for (const std::string& cursor : {std::string(300, 'c'), std::string("\\u0000"),
                                        std::string("a\\u0007b")}) {
        CAPTURE(key);
        CAPTURE(cursor);
        REQUIRE(ws.SendText(R"({"request":"sync","channelId":")" + t.channel + R"(",")" + key +
                            R"(":")" + cursor + R"("})"));
        auto reply = ws.NextText();
        REQUIRE(reply.has_value());
        CHECK(reply->rfind(R"({"error":"invalid_request","message":")", 0) == 0);
      }
    }
    // The connection is still usable.
    REQUIRE(ws.SendText(R"({"request":"sync","channelId":")" + t.channel + R"("})"));
    auto reply = ws.NextText();
    REQUIRE(reply.has_value());
    CHECK(reply->find("keep me") != std::string::npos);
  }

  TEST_CASE("callsigns Cast's agentId cannot carry are refused at add, nothing stored") {
    Hostile t;
    const std::string before = t.Snapshot();
    for (const std::string& route : {"/roster", "/agents"}) {
      for (const std::string& callsign :
           {std::string("a:b"), std::string(":"), std::string("fox:"), std::string(":fox"),
            std::string("a\\tb"), std::string("a\\nb"), std::string("\\u0001"),
            std::string("a\\u007fb")}) {
        CAPTURE(route);
        CAPTURE(callsign);
        RawReply r =
            SendRaw(t.server.port(), "POST", "/channels/" + t.channel + route,
                    R"({"callsign":")" + callsign + R"(","agentType":"echo"})", t.Session());
        CHECK(r.status == 400);
        CHECK(r.body == R"({"error":"callsign must not contain ':' or control characters"})");
      }
    }
    CHECK(t.Snapshot() == before);
    // Ordinary callsigns still work, unicode and punctuation included.
    for (const std::string& ok : {"fox-2", "owl_1", "\\u00e9t\\u00e9", "a.b"}) {
      CAPTURE(ok);
      RawReply r =
          SendRaw(t.server.port(), "POST", "/channels/" + t.channel + "/roster",
                  R"({"callsign":")" + std::string(ok) + R"(","agentType":"echo"})", t.Session());
      CHECK(r.status == 201);
    }
  }
}

}  // namespace
}  // namespace agentcore::server::testing
