// SPDX-License-Identifier: Apache-2.0
// spec cast §4.4: channels, scoped to the session's space.
#include "handlers/handlers.hpp"

#include <string>

#include <doctest/doctest.h>

#include "server/rest_test_client.hpp"

namespace agentcore::testing {

TEST_SUITE("ChannelRoutes") {
  TEST_CASE("every channel route requires a session") {
    RestServer server;
    RestClient client = server.Anonymous();
    for (RestReply r : {client.Get("/channels"), client.Post("/channels", R"({"name":"x"})"),
                        client.Get("/channels/abc"), client.Put("/channels/abc", "{}")}) {
      CHECK(r.status == 401);
      CHECK(r.body == R"({"error":"Authentication required"})");
    }
    CHECK(client.Send("GET", "/channels", {}, "cast_session=forged").status == 401);
  }

  TEST_CASE("create, get and list a channel") {
    RestServer server;
    RestClient client = server.Login("alice");
    RestReply created =
        client.Post("/channels", R"({"name":"ops","tagline":"Ops room","mission":"Keep it up"})");
    REQUIRE(created.status == 201);
    const Json& channel = At(created.json, "channel");
    std::string id = Str(channel, "id");
    CHECK(Str(channel, "name") == "ops");
    CHECK(Str(channel, "tagline") == "Ops room");
    CHECK(Str(channel, "mission") == "Keep it up");
    CHECK(At(channel, "archived") == Json(false));
    CHECK(ParseIsoTimestamp(Str(channel, "lastActiveAt")).ok());

    RestReply got = client.Get("/channels/" + id);
    REQUIRE(got.status == 200);
    CHECK(Str(At(got.json, "channel"), "id") == id);
    CHECK(At(got.json, "roster").as_array().empty());

    RestReply list = client.Get("/channels");
    REQUIRE(list.status == 200);
    CHECK(At(list.json, "channels").as_array().size() == 3);  // root, first-channel, ops
  }

  TEST_CASE("optional members are omitted, not null") {
    RestServer server;
    RestClient client = server.Login("alice");
    RestReply created = client.Post("/channels", R"({"name":"bare","tagline":null})");
    REQUIRE(created.status == 201);
    CHECK(created.body.find("tagline") == std::string::npos);
    CHECK(created.body.find("mission") == std::string::npos);
  }

  TEST_CASE("create rejects bad input with Cast's texts") {
    RestServer server;
    RestClient client = server.Login("alice");
    struct Case {
      std::string body;
      int status;
      std::string error;
    };
    for (const Case& c : {
             Case{"{not json", 400, "Invalid JSON body"},
             Case{"[]", 400, "Invalid JSON body"},
             Case{"{}", 400, "Channel name is required"},
             Case{R"({"name":""})", 400, "Channel name is required"},
             Case{R"({"name":42})", 400, "Channel name is required"},
             Case{R"({"name":"x","tagline":7})", 400, "tagline must be a string"},
             Case{R"({"name":"x","mission":{}})", 400, "mission must be a string"},
             Case{R"({"name":")" + std::string(256, 'n') + R"("})", 400,
                  "name is too long (max 255 bytes)"},
             Case{R"({"name":"first-channel"})", 409, "Channel name already exists"},
         }) {
      CAPTURE(c.body);
      RestReply r = client.Post("/channels", c.body);
      CHECK(r.status == c.status);
      CHECK(r.Error() == c.error);
    }
  }

  TEST_CASE("unknown ids and channels of other spaces are not found") {
    RestServer server;
    RestClient alice = server.Login("alice");
    RestClient bob = server.Login("bob");
    std::string bobs = CreateChannel(bob, "secret");
    for (const std::string& id : {std::string("nope"), bobs, std::string(300, 'x')}) {
      RestReply r = alice.Get("/channels/" + id);
      CHECK(r.status == 404);
      CHECK(r.Error() == "Channel not found");
    }
    // Cast's PUT answers an unknown channel with {"channel":null}; bob's channel is unknown to
    // alice and stays unchanged.
    RestReply put = alice.Put("/channels/" + bobs, R"({"name":"stolen"})");
    CHECK(put.status == 200);
    CHECK(put.body == R"({"channel":null})");
    CHECK(Str(At(bob.Get("/channels/" + bobs).json, "channel"), "name") == "secret");
    // Lists are per space.
    RestReply alices = alice.Get("/channels");
    for (const Json& c : At(alices.json, "channels").as_array()) {
      CHECK(Str(c, "id") != bobs);
    }
  }

  TEST_CASE("PUT updates the given members only and archives") {
    RestServer server;
    RestClient client = server.Login("alice");
    std::string id = CreateChannel(client, "ops");
    RestReply r = client.Put("/channels/" + id, R"({"tagline":"new tagline"})");
    REQUIRE(r.status == 200);
    CHECK(Str(At(r.json, "channel"), "name") == "ops");
    CHECK(Str(At(r.json, "channel"), "tagline") == "new tagline");
    r = client.Put("/channels/" + id, R"({"name":"ops2","archived":true})");
    REQUIRE(r.status == 200);
    CHECK(Str(At(r.json, "channel"), "name") == "ops2");
    CHECK(At(At(r.json, "channel"), "archived") == Json(true));
    // Archived channels leave the list but can still be read.
    RestReply list = client.Get("/channels");
    for (const Json& c : At(list.json, "channels").as_array()) {
      CHECK(Str(c, "id") != id);
    }
    CHECK(client.Get("/channels/" + id).status == 200);
  }

  TEST_CASE("PUT rejects bad input") {
    RestServer server;
    RestClient client = server.Login("alice");
    std::string id = CreateChannel(client, "ops");
    struct Case {
      std::string body;
      int status;
      std::string error;
    };
    for (const Case& c : {
             Case{"nope", 400, "Invalid JSON body"},
             Case{R"({"name":""})", 400, "Channel name is required"},
             Case{R"({"name":5})", 400, "name must be a string"},
             Case{R"({"archived":"yes"})", 400, "archived must be a boolean"},
             Case{R"({"tagline":[]})", 400, "tagline must be a string"},
             Case{R"({"name":"root"})", 409, "Channel name already exists"},
         }) {
      CAPTURE(c.body);
      RestReply r = client.Put("/channels/" + id, c.body);
      CHECK(r.status == c.status);
      CHECK(r.Error() == c.error);
    }
  }

  TEST_CASE("the list puts the most recently active channel first") {
    RestServer server;
    RestClient client = server.Login("alice");
    std::string quiet = CreateChannel(client, "quiet");
    std::string busy = CreateChannel(client, "busy");
    std::string older = CreateChannel(client, "older");
    // Make `quiet` the most recently active (the store takes the newest message time).
    NewMessage m;
    m.channel_id = quiet;
    m.sender = "alice";
    m.sender_type = "user";
    m.type = "user";
    m.content = Json("hi");
    m.timestamp = SystemClock()->NowMillis() + 60'000;
    REQUIRE(server.app().store().AppendMessage(m).ok());
    RestReply list = client.Get("/channels");
    REQUIRE(list.status == 200);
    CHECK(Str(At(list.json, "channels").as_array().at(0), "id") == quiet);
    (void)busy;
    (void)older;
  }
}

}  // namespace agentcore::testing
