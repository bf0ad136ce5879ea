// SPDX-License-Identifier: Apache-2.0
// spec cast §4.7, §3: reading and posting messages, mention routing.
#include "handlers/handlers.hpp"

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "server/rest_test_client.hpp"

namespace agentcore::testing {
namespace {

struct MessageChannel {
  RestServer server;
  RestClient client = server.Login("alice");
  std::string channel = CreateChannel(client, "ops");
  std::string path = "/channels/" + channel + "/messages";

  Json Post(std::string_view content, std::string_view extra = "") {
    std::string body = R"({"sender":"alice","content":")" + std::string(content) + "\"" +
                       std::string(extra) + "}";
    return PostMessage(client, channel, body);
  }
  void AddAgent(std::string_view callsign, std::string_view type) {
    REQUIRE(client
                .Post("/channels/" + channel + "/roster",
                      R"({"callsign":")" + std::string(callsign) + R"(","agentType":")" +
                          std::string(type) + R"("})")
                .status == 201);
  }
  // Ids of GET path+query, in order.
  std::vector<std::string> Ids(std::string_view query) {
    RestReply r = client.Get(path + std::string(query));
    REQUIRE_MESSAGE(r.status == 200, r.body);
    std::vector<std::string> ids;
    for (const Json& m : At(r.json, "messages").as_array()) ids.push_back(Str(m, "id"));
    return ids;
  }
};

std::string Addressed(const Json& message) { return ToJson(At(message, "addressedAgents")); }

}  // namespace

TEST_SUITE("MessageRoutes") {
  TEST_CASE("a posted message is stored, returned and readable") {
    MessageChannel t;
    RestReply r = t.client.Post(t.path, R"({"sender":"alice","content":"hello"})");
    REQUIRE(r.status == 201);
    const Json& m = At(r.json, "message");
    CHECK(Str(m, "channelId") == t.channel);
    CHECK(Str(m, "sender") == "alice");
    CHECK(Str(m, "senderType") == "user");
    CHECK(Str(m, "type") == "user");
    CHECK(Str(m, "content") == "hello");
    CHECK(At(m, "isComplete") == Json(true));
    CHECK(ParseIsoTimestamp(Str(m, "timestamp")).ok());
    CHECK(m.Find("addressedAgents") == nullptr);  // no agents: Cast would store [""] (§8 #4)
    CHECK(m.Find("metadata") == nullptr);
    CHECK(ToJson(At(r.json, "attachmentSlugs")) == "[]");

    RestReply list = t.client.Get(t.path);
    REQUIRE(list.status == 200);
    REQUIRE(At(list.json, "messages").as_array().size() == 1);
    CHECK(At(list.json, "messages").as_array()[0] == m);
  }

  TEST_CASE("routing: leader fallback, mentions, @channel, users, unknown names") {
    MessageChannel t;
    t.AddAgent("fox", "engineer");
    t.AddAgent("owl", "Team Lead");
    CHECK(Addressed(t.Post("no mentions")) == R"(["owl"])");
    CHECK(Addressed(t.Post("@fox and @FOX and @owl")) == R"(["fox","owl"])");
    CHECK(Addressed(t.Post("hey @channel @fox")) == R"(["fox","owl"])");
    CHECK(Addressed(t.Post("ping @alice")) == R"(["alice"])");  // the space owner
    CHECK(t.Post("@nobody there").Find("addressedAgents") == nullptr);
    // Agents get no leader fallback.
    CHECK(t.Post("agent talk", R"(,"senderType":"agent")").Find("addressedAgents") == nullptr);
  }

  TEST_CASE("message types follow senderType and type") {
    MessageChannel t;
    CHECK(Str(t.Post("a", R"(,"senderType":"agent")"), "type") == "agent_message");
    CHECK(Str(t.Post("b", R"(,"type":"event")"), "type") == "event");
    CHECK(Str(t.Post("c", R"(,"type":"other")"), "type") == "user");
  }

  TEST_CASE("POST validation runs in Cast's order") {
    MessageChannel t;
    struct Case {
      std::string body;
      int status;
      std::string error;
    };
    for (const Case& c : {
             Case{"{", 400, "Invalid JSON body"},
             Case{"[]", 400, "Invalid JSON body"},
             Case{"{}", 400, "sender and content are required"},
             Case{R"({"sender":"a","content":""})", 400, "sender and content are required"},
             Case{R"({"sender":"","content":"x"})", 400, "sender and content are required"},
             Case{R"({"sender":"a","content":5})", 400, "sender and content are required"},
             // content is checked before senderType, senderType before attachments
             Case{R"({"sender":"a","senderType":"bot"})", 400, "sender and content are required"},
             Case{R"({"sender":"a","content":"x","senderType":"bot","attachSlugs":["z"]})", 400,
                  "Invalid senderType: bot. Must be 'user' or 'agent'"},
             Case{R"({"sender":"a","content":"x","senderType":null})", 400,
                  "Invalid senderType: null. Must be 'user' or 'agent'"},
             Case{R"({"sender":"a","content":"x","attachSlugs":"z"})", 400,
                  "attachSlugs must be an array of strings"},
             Case{R"({"sender":"a","content":"x","attachSlugs":[1]})", 400,
                  "attachSlugs must be an array of strings"},
             Case{R"({"sender":"a","content":"x","attachSlugs":["nope"]})", 404,
                  "Artifact not found: nope"},
             Case{R"({"sender":"a","content":"x\u0000"})", 400,
                  "content must not contain NUL characters"},
             Case{R"({"sender":")" + std::string(256, 's') + R"(","content":"x"})", 400,
                  "sender is too long (max 255 bytes)"},
         }) {
      CAPTURE(c.body);
      RestReply r = t.client.Post(t.path, c.body);
      CHECK(r.status == c.status);
      CHECK(r.Error() == c.error);
    }
    RestReply unknown = t.client.Post("/channels/nope/messages", R"({"sender":"a","content":"x"})");
    CHECK(unknown.status == 404);
    CHECK(unknown.Error() == "Channel not found or has no roster");
    // Attachments are checked before the channel: an unknown channel has no artifacts.
    unknown = t.client.Post("/channels/nope/messages",
                            R"({"sender":"a","content":"x","attachSlugs":["doc"]})");
    CHECK(unknown.Error() == "Artifact not found: doc");
    CHECK(At(t.client.Get(t.path).json, "messages").as_array().empty());
  }

  TEST_CASE("attachments must be assets of the channel") {
    MessageChannel t;
    Artifact doc;
    doc.channel_id = t.channel;
    doc.slug = "notes";
    doc.type = "doc";
    REQUIRE(t.server.app().store().PutArtifact(doc, "text").ok());
    Artifact asset = doc;
    asset.slug = "logo.png";
    asset.type = "asset";
    REQUIRE(t.server.app().store().PutArtifact(asset, "png").ok());
    RestReply r = t.client.Post(t.path, R"({"sender":"a","content":"x","attachSlugs":["notes"]})");
    CHECK(r.status == 400);
    CHECK(r.Error() == "Artifact 'notes' is not an asset (type: doc)");
    r = t.client.Post(t.path, R"({"sender":"a","content":"x","attachSlugs":["logo.png"]})");
    REQUIRE(r.status == 201);
    CHECK(ToJson(At(r.json, "attachmentSlugs")) == R"(["logo.png"])");
    CHECK(ToJson(At(At(r.json, "message"), "metadata")) == R"({"attachmentSlugs":["logo.png"]})");
  }

  TEST_CASE("GET windows: newest page by default, since, before, both, limit") {
    MessageChannel t;
    std::vector<std::string> ids;
    for (int i = 0; i < 8; ++i) ids.push_back(Str(t.Post("m" + std::to_string(i)), "id"));
    auto slice = [&](std::size_t from, std::size_t to) {
      return std::vector<std::string>(ids.begin() + static_cast<std::ptrdiff_t>(from),
                                      ids.begin() + static_cast<std::ptrdiff_t>(to));
    };
    CHECK(t.Ids("") == ids);
    CHECK(t.Ids("?limit=3") == slice(5, 8));  // newest 3, oldest first (§8 #2 fixed)
    CHECK(t.Ids("?since=" + ids[2]) == slice(3, 8));
    CHECK(t.Ids("?since=" + ids[2] + "&limit=2") == slice(3, 5));
    CHECK(t.Ids("?before=" + ids[5]) == slice(0, 5));
    CHECK(t.Ids("?before=" + ids[5] + "&limit=2") == slice(3, 5));
    CHECK(t.Ids("?since=" + ids[1] + "&before=" + ids[6]) == slice(2, 6));
    CHECK(t.Ids("?since=" + ids[1] + "&before=" + ids[6] + "&limit=2") == slice(2, 4));
    CHECK(t.Ids("?since=" + ids[7]).empty());
    CHECK(t.Ids("?limit=0").empty());
    CHECK(t.Ids("?limit=99999999999999999999999") == ids);
    CHECK(t.Ids("?since=&before=") == ids);  // empty cursors are absent
  }

  TEST_CASE("GET rejects a bad limit and over-long cursors") {
    MessageChannel t;
    for (std::string query : {"?limit=abc", "?limit=-1", "?limit=1.5", "?limit=10abc"}) {
      CAPTURE(query);
      RestReply r = t.client.Get(t.path + query);
      CHECK(r.status == 400);
      CHECK(r.Error() == "limit must be a non-negative integer");
    }
    RestReply r = t.client.Get(t.path + "?since=" + std::string(300, 'x'));
    CHECK(r.status == 400);
    CHECK(r.Error() == "since is too long (max 255 bytes)");
  }

  TEST_CASE("forAgent keeps what the agent sent or is addressed in, before the limit") {
    MessageChannel t;
    t.AddAgent("fox", "engineer");
    t.AddAgent("owl", "lead");
    std::string to_fox = Str(t.Post("@fox one"), "id");
    t.Post("to the lead");
    t.Post("@owl only");
    std::string from_fox = Str(PostMessage(t.client, t.channel,
                                           R"({"sender":"fox","content":"x","senderType":"agent"})"),
                               "id");
    std::string all = Str(t.Post("@channel all"), "id");
    t.Post("@owl again");
    CHECK(t.Ids("?forAgent=fox") == std::vector<std::string>{to_fox, from_fox, all});
    CHECK(t.Ids("?forAgent=fox&limit=2") == std::vector<std::string>{from_fox, all});
    CHECK(t.Ids("?forAgent=nobody").empty());
  }

  TEST_CASE("messages need a session and a channel of the caller's space") {
    MessageChannel t;
    t.Post("secret");
    RestClient eve = t.server.Login("eve");
    CHECK(t.server.Anonymous().Get(t.path).status == 401);
    CHECK(t.server.Anonymous().Post(t.path, R"({"sender":"a","content":"x"})").status == 401);
    RestReply r = eve.Get(t.path);
    CHECK(r.status == 404);
    CHECK(r.Error() == "Channel not found");
    r = eve.Post(t.path, R"({"sender":"eve","content":"x"})");
    CHECK(r.status == 404);
    CHECK(r.Error() == "Channel not found or has no roster");
    CHECK(At(t.client.Get(t.path).json, "messages").as_array().size() == 1);
  }
}

}  // namespace agentcore::testing
