// SPDX-License-Identifier: Apache-2.0
// spec cast §4.5: raw roster CRUD.
#include "handlers/handlers.hpp"

#include <string>

#include <doctest/doctest.h>

#include "server/rest_test_client.hpp"

namespace agentcore::testing {

TEST_SUITE("RosterRoutes") {
  TEST_CASE("roster routes require a session") {
    RestServer server;
    RestClient client = server.Anonymous();
    CHECK(client.Get("/channels/c/roster").status == 401);
    CHECK(client.Post("/channels/c/roster", "{}").status == 401);
    CHECK(client.Delete("/channels/c/roster/e").status == 401);
  }

  TEST_CASE("add, list and delete entries") {
    RestServer server;
    RestClient client = server.Login("alice");
    std::string channel = CreateChannel(client, "ops");
    std::string path = "/channels/" + channel + "/roster";
    RestReply added = client.Post(path, R"({"callsign":"fox","agentType":"engineer"})");
    REQUIRE(added.status == 201);
    const Json& entry = At(added.json, "entry");
    CHECK(Str(entry, "callsign") == "fox");
    CHECK(Str(entry, "agentType") == "engineer");
    CHECK(Str(entry, "status") == "active");
    CHECK(Str(entry, "channelId") == channel);
    CHECK(added.body.find("callbackUrl") == std::string::npos);
    RestReply paused = client.Post(path, R"({"callsign":"owl","agentType":"lead","status":"paused"})");
    REQUIRE(paused.status == 201);
    CHECK(Str(At(paused.json, "entry"), "status") == "paused");
    REQUIRE(client.Post(path, R"({"callsign":"old","agentType":"x","status":"archived"})").status ==
            201);

    RestReply list = client.Get(path);
    REQUIRE(list.status == 200);
    const JsonArray& roster = At(list.json, "roster").as_array();
    REQUIRE(roster.size() == 2);  // archived entries are hidden
    CHECK(Str(roster[0], "callsign") == "fox");
    CHECK(Str(roster[1], "callsign") == "owl");
    // GET /channels/:id shows the same entries.
    CHECK(At(client.Get("/channels/" + channel).json, "roster").as_array().size() == 2);

    RestReply removed = client.Delete(path + "/" + Str(entry, "id"));
    CHECK(removed.status == 200);
    CHECK(removed.body == R"({"ok":true})");
    CHECK(At(client.Get(path).json, "roster").as_array().size() == 1);
    // Nothing matched: still ok.
    CHECK(client.Delete(path + "/no-such-entry").body == R"({"ok":true})");
  }

  TEST_CASE("add rejects bad input with Cast's texts") {
    RestServer server;
    RestClient client = server.Login("alice");
    std::string path = "/channels/" + CreateChannel(client, "ops") + "/roster";
    REQUIRE(client.Post(path, R"({"callsign":"fox","agentType":"engineer"})").status == 201);
    struct Case {
      std::string body;
      int status;
      std::string error;
    };
    for (const Case& c : {
             Case{"{", 400, "Invalid JSON body"},
             Case{"{}", 400, "callsign and agentType are required"},
             Case{R"({"callsign":"a"})", 400, "callsign and agentType are required"},
             Case{R"({"callsign":"","agentType":"x"})", 400, "callsign and agentType are required"},
             Case{R"({"callsign":1,"agentType":"x"})", 400, "callsign and agentType are required"},
             Case{R"({"callsign":"a","agentType":"x","status":"sleepy"})", 400,
                  "Invalid status: sleepy. Must be one of active, idle, busy, offline, paused, "
                  "archived"},
             Case{R"({"callsign":"a","agentType":"x","status":3})", 400,
                  "status must be a string"},
             Case{R"({"callsign":"a","agentType":"x","runtimeId":"rt1"})", 404,
                  "Runtime not found"},
             Case{R"({"callsign":")" + std::string(256, 'c') + R"(","agentType":"x"})", 400,
                  "callsign is too long (max 255 bytes)"},
             Case{R"({"callsign":"fox","agentType":"x"})", 409, "Failed to add to roster"},
         }) {
      CAPTURE(c.body);
      RestReply r = client.Post(path, c.body);
      CHECK(r.status == c.status);
      CHECK(r.Error() == c.error);
    }
  }

  TEST_CASE("another space's roster cannot be read or changed") {
    RestServer server;
    RestClient alice = server.Login("alice");
    RestClient bob = server.Login("bob");
    std::string bobs = CreateChannel(bob, "private");
    RestReply added = bob.Post("/channels/" + bobs + "/roster",
                               R"({"callsign":"fox","agentType":"engineer"})");
    REQUIRE(added.status == 201);
    std::string entry = Str(At(added.json, "entry"), "id");
    for (RestReply r :
         {alice.Get("/channels/" + bobs + "/roster"),
          alice.Post("/channels/" + bobs + "/roster", R"({"callsign":"x","agentType":"y"})"),
          alice.Delete("/channels/" + bobs + "/roster/" + entry),
          alice.Get("/channels/unknown/roster")}) {
      CHECK(r.status == 404);
      CHECK(r.Error() == "Channel not found");
    }
    CHECK(At(bob.Get("/channels/" + bobs + "/roster").json, "roster").as_array().size() == 1);
  }
}

}  // namespace agentcore::testing
