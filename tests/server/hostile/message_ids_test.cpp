// SPDX-License-Identifier: Apache-2.0
// Issue 13 §3 and §4: agent-chosen message ids. A start or set frame's `i` must be a ULID on
// every Tymbal route (400 invalid_frame otherwise, never a 500), an id of another channel's
// message is a 409 like the streamed route's, and no id an agent picks can reorder a channel:
// pages and cursors follow the server-assigned seq.

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "server/raw_client.hpp"
#include "server/server_fixture.hpp"

namespace agentcore::server::testing {
namespace {

using namespace std::chrono_literals;

const std::string kUlidError = "message id must be a ULID (26 Crockford base32 characters)";

struct Ids {
  ServerFixture server;
  std::string channel;
  std::string token;
  Ids() {
    server.Login();
    channel = server.CreateChannel("ids");
    token = server.ContainerToken(channel, "echo");
  }
  HttpResponse Post(const std::string& path, const std::string& body) {
    return server.Call("POST", path, body, false, {{"Authorization", "Container " + token}});
  }
  std::string Thread() const { return server.space_id() + ":" + channel + ":echo"; }
  std::size_t Stored() {
    auto page = server.app().store().ListMessages(channel, PageRequest{});
    REQUIRE(page.ok());
    return page->messages.size();
  }
  void Healthy() {
    auto health = server.Call("GET", "/health", {}, false);
    CHECK(health.status == 200);
  }
};

/// A set frame with id `id` (JSON-escaped already) and text `content`.
std::string SetFrame(const std::string& id, const std::string& content = "hi") {
  return R"({"i":")" + id + R"(","t":"2026-01-04T10:00:01.250Z","v":{"type":"agent","content":")" +
         content + R"(","sender":"echo","senderType":"agent"}})";
}

struct BadId {
  const char* what;
  std::string id;  // as it appears inside the JSON string
};

std::vector<BadId> BadIds() {
  return {
      {"empty", ""},
      {"25 characters", "01JGZ5V7A1B2C3D4E5F6G7H8J"},
      {"27 characters", "01JGZ5V7A1B2C3D4E5F6G7H8J9K"},
      {"lower case", "01jgz5v7a1b2c3d4e5f6g7h8j9"},
      {"U is not Crockford base32", "01JGZ5V7A1B2C3D4E5F6G7H8JU"},
      {"I is not Crockford base32", "01JGZ5V7A1B2C3D4E5F6G7H8JI"},
      {"a NUL", "01JGZ5V7A1B2C3D4E5F6G7\\u0000H8J"},
      {"300 bytes", std::string(300, 'A')},
      {"unicode, 26 bytes", "ÀÀÀÀÀÀÀÀÀÀÀÀÀ"},
      {"time beyond 48 bits", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ"},
      {"Cast's test id", "01J001"},
      {"sorts after every ULID", "ZZZZ-agent-chosen"},
  };
}

TEST_SUITE("hostile/message_ids") {
  TEST_CASE("a set frame whose id is not a ULID is 400 invalid_frame on the single and legacy routes") {
    Ids t;
    for (const BadId& bad : BadIds()) {
      CAPTURE(bad.what);
      for (const std::string& path : {"/tymbal/" + t.channel, "/thread/" + t.Thread() + "/tymbal"}) {
        CAPTURE(path);
        auto r = t.Post(path, SetFrame(bad.id));
        CHECK(r.status == 400);
        CHECK(r.body == R"({"error":"invalid_frame","message":")" + kUlidError + R"("})");
      }
    }
    CHECK(t.Stored() == 0);
    t.Healthy();
  }

  TEST_CASE("a start frame whose id is not a ULID is 400 invalid_frame too") {
    Ids t;
    auto r = t.Post("/tymbal/" + t.channel,
                    R"({"i":"m1","t":"2026-01-04T10:00:01.250Z","m":{"sender":"echo"}})");
    CHECK(r.status == 400);
    CHECK(r.body == R"({"error":"invalid_frame","message":")" + kUlidError + R"("})");
  }

  TEST_CASE("batch lines whose set frame id is not a ULID fail alone with invalid_frame") {
    Ids t;
    const std::string good = "01JGZ5V7A1B2C3D4E5F6G7H8J9";
    std::string body = SetFrame(good) + "\n";
    for (const BadId& bad : BadIds()) body += SetFrame(bad.id) + "\n";
    auto r = t.Post("/tymbal/" + t.channel + "/batch", body);
    REQUIRE(r.status == 200);
    Json j = BodyJson(r);
    const std::size_t n = BadIds().size() + 1;
    CHECK(j.Find("ok")->as_bool() == false);
    CHECK(j.Find("total")->as_number() == static_cast<double>(n));
    CHECK(j.Find("succeeded")->as_number() == 1);
    CHECK(j.Find("failed")->as_number() == static_cast<double>(n - 1));
    const auto& results = j.Find("results")->as_array();
    REQUIRE(results.size() == n);
    CHECK(results[0].Find("ok")->as_bool());
    for (std::size_t i = 1; i < n; ++i) {
      CAPTURE(BadIds()[i - 1].what);
      CHECK(results[i].Find("ok")->as_bool() == false);
      REQUIRE(results[i].FindString("error") != nullptr);
      CHECK(*results[i].FindString("error") == "invalid_frame");
      REQUIRE(results[i].FindString("message") != nullptr);
      CHECK(*results[i].FindString("message") == kUlidError);
    }
    CHECK(t.Stored() == 1);
    t.Healthy();
  }

  TEST_CASE("a streamed upload reports frames whose id is not a ULID as invalid and stores none") {
    Ids t;
    std::string lines = R"({"i":"m1","t":"2026-01-04T10:00:01.250Z","m":{"sender":"echo"}})"
                        "\n" +
                        SetFrame("m1") + "\n";
    RawClient c(t.server.port());
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", lines.size());
    REQUIRE(c.Send("POST /tymbal/" + t.channel + "/stream HTTP/1.1\r\nHost: x\r\nAuthorization: " +
                   "Container " + t.token + "\r\nTransfer-Encoding: chunked\r\n\r\n" + size +
                   lines + "\r\n0\r\n\r\n"));
    std::string r = c.ReadResponses(1, 10s);
    CHECK(r.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(r.find("\"invalid\":2") != std::string::npos);
    CHECK(r.find(kUlidError) != std::string::npos);
    CHECK(t.Stored() == 0);
  }

  TEST_CASE("a set frame naming another channel's message is 409 on every route, nothing changed") {
    Ids t;
    std::string other = t.server.CreateChannel("other");
    const std::string id = "01JGZ5V7A1B2C3D4E5F6G7H8J9";
    auto first = t.server.Call("POST", "/tymbal/" + other, SetFrame(id, "theirs"), false,
                               {{"Authorization", "Container " + t.server.ContainerToken(other, "fox")}});
    REQUIRE(first.status == 200);
    const std::string expected =
        R"({"error":"already_exists","message":"message id )" + id + R"( is taken by another channel"})";
    for (const std::string& path : {"/tymbal/" + t.channel, "/thread/" + t.Thread() + "/tymbal"}) {
      CAPTURE(path);
      auto r = t.Post(path, SetFrame(id, "mine"));
      CHECK(r.status == 409);
      CHECK(r.body == expected);
    }
    auto batch = t.Post("/tymbal/" + t.channel + "/batch", SetFrame(id, "mine"));
    REQUIRE(batch.status == 200);
    const Json j = BodyJson(batch);
    const Json& line = j.Find("results")->as_array().at(0);
    CHECK(line.Find("ok")->as_bool() == false);
    CHECK(*line.FindString("error") == "already_exists");
    auto m = t.server.app().store().GetMessage(id);
    REQUIRE(m.ok());
    CHECK(m->channel_id == other);
    CHECK(m->content == Json("theirs"));
    CHECK(t.Stored() == 0);
    t.Healthy();
  }

  TEST_CASE("a set frame repeating an id of the same channel is answered 200 and changes nothing") {
    Ids t;
    const std::string id = "01JGZ5V7A1B2C3D4E5F6G7H8J9";
    REQUIRE(t.Post("/tymbal/" + t.channel, SetFrame(id, "first")).status == 200);
    auto again = t.Post("/tymbal/" + t.channel, SetFrame(id, "second"));
    CHECK(again.status == 200);
    CHECK(again.body == R"({"ok":true})");
    auto m = t.server.app().store().GetMessage(id);
    REQUIRE(m.ok());
    CHECK(m->content == Json("first"));
    CHECK(t.Stored() == 1);
  }

  TEST_CASE("a future-time ULID from an agent neither takes the newest slot nor hides later messages") {
    Ids t;
    // The largest ULID there is: before, it sorted after every message the server made.
    const std::string future = "7ZZZZZZZZZZZZZZZZZZZZZZZZZ";
    REQUIRE(t.Post("/tymbal/" + t.channel, SetFrame(future, "from the future")).status == 200);
    auto posted = t.server.Call("POST", "/channels/" + t.channel + "/messages",
                                R"({"content":"newest","sender":"alice"})");
    REQUIRE(posted.status == 201);
    const std::string newest = *BodyJson(posted).Find("message")->FindString("id");

    auto last = t.server.Call("GET", "/channels/" + t.channel + "/messages?limit=1");
    REQUIRE(last.status == 200);
    const Json last_body = BodyJson(last);
    const auto& page = last_body.Find("messages")->as_array();
    REQUIRE(page.size() == 1);
    CHECK(*page[0].FindString("id") == newest);

    auto since = t.server.Call("GET", "/channels/" + t.channel + "/messages?since=" + future);
    REQUIRE(since.status == 200);
    const Json since_body = BodyJson(since);
    const auto& after = since_body.Find("messages")->as_array();
    REQUIRE(after.size() == 1);
    CHECK(*after[0].FindString("id") == newest);

    auto before = t.server.Call("GET", "/channels/" + t.channel + "/messages?before=" + newest);
    REQUIRE(before.status == 200);
    const Json before_body = BodyJson(before);
    const auto& earlier = before_body.Find("messages")->as_array();
    REQUIRE(earlier.size() == 1);
    CHECK(*earlier[0].FindString("id") == future);
  }
}

}  // namespace
}  // namespace agentcore::server::testing
