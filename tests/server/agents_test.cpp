// SPDX-License-Identifier: Apache-2.0
// spec cast §4.6, §5.9: agent lifecycle routes.
#include "handlers/handlers.hpp"

#include <string>

#include <doctest/doctest.h>

#include "server/rest_test_client.hpp"

namespace agentcore::testing {
namespace {

struct AgentChannel {
  RestServer server;
  RestClient client = server.Login("alice");
  std::string channel = CreateChannel(client, "ops");
  std::string base = "/channels/" + channel + "/agents";

  RestReply Add(std::string_view callsign, std::string_view type = "engineer") {
    return client.Post(base, R"({"callsign":")" + std::string(callsign) + R"(","agentType":")" +
                                 std::string(type) + R"("})");
  }
  RestReply Action(std::string_view callsign, std::string_view action) {
    return client.Post(base + "/" + std::string(callsign) + "/" + std::string(action), "");
  }
  RosterEntry Entry(std::string_view callsign) {
    auto e = server.app().store().GetRosterEntry(channel, callsign);
    REQUIRE(e.ok());
    return *e;
  }
};

}  // namespace

TEST_SUITE("AgentRoutes") {
  TEST_CASE("adding an agent stores the entry and a summon message, and sets the readmark") {
    AgentChannel t;
    RestReply r = t.Add("fox");
    REQUIRE(r.status == 201);
    CHECK(At(r.json, "success") == Json(true));
    CHECK(Str(At(r.json, "agent"), "callsign") == "fox");
    CHECK(Str(At(r.json, "agent"), "agentType") == "engineer");
    CHECK(Str(At(r.json, "agent"), "status") == "active");

    RestReply messages = t.client.Get("/channels/" + t.channel + "/messages");
    REQUIRE(messages.status == 200);
    const JsonArray& list = At(messages.json, "messages").as_array();
    REQUIRE(list.size() == 1);
    CHECK(Str(list[0], "type") == "status");
    CHECK(Str(list[0], "sender") == "system");
    CHECK(Str(list[0], "senderType") == "system");
    CHECK(ToJson(At(list[0], "content")) == R"({"action":"summon","callsign":"fox"})");
    CHECK(t.Entry("fox").readmark == Str(list[0], "id"));
  }

  TEST_CASE("add errors come in Cast's order") {
    AgentChannel t;
    REQUIRE(t.Add("fox").status == 201);
    struct Case {
      std::string path;
      std::string body;
      int status;
      std::string error;
    };
    for (const Case& c : {
             Case{t.base, "{", 400, "Invalid JSON body"},
             Case{t.base, R"({"callsign":"owl"})", 400, "callsign and agentType are required"},
             Case{t.base, R"({"callsign":"owl","agentType":false})", 400,
                  "callsign and agentType are required"},
             Case{"/channels/nope/agents", R"({"callsign":"owl","agentType":"x"})", 404,
                  "Channel not found"},
             Case{t.base, R"({"callsign":"owl","agentType":"x","runtimeId":"rt"})", 404,
                  "Runtime not found"},
             Case{t.base, R"({"callsign":"fox","agentType":"x"})", 409, "Agent already in roster"},
         }) {
      CAPTURE(c.body);
      RestReply r = t.client.Post(c.path, c.body);
      CHECK(r.status == c.status);
      CHECK(r.Error() == c.error);
    }
    // A dismissed agent still counts.
    REQUIRE(t.client.Delete(t.base + "/fox").status == 200);
    CHECK(t.Add("fox").Error() == "Agent already in roster");
  }

  TEST_CASE("pause, resume, activate, dismiss and unarchive follow the roster status machine") {
    AgentChannel t;
    REQUIRE(t.Add("fox").status == 201);
    RosterPatch online;
    online.callback_url = "http://127.0.0.1:9/agent";
    REQUIRE(t.server.app().store().UpdateRosterEntry(t.channel, "fox", online).ok());

    RestReply r = t.Action("fox", "resume");
    CHECK(r.status == 400);
    CHECK(r.Error() == "Agent is not paused");

    r = t.Action("fox", "pause");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"success":true,"callsign":"fox","status":"paused"})");
    CHECK(t.Entry("fox").status == RosterStatus::kPaused);
    CHECK_FALSE(t.Entry("fox").callback_url.has_value());  // spec §8 #1 fixed
    CHECK(t.Action("fox", "pause").Error() == "Agent is already paused");

    r = t.Action("fox", "resume");
    CHECK(r.body == R"({"success":true,"callsign":"fox","status":"active"})");
    CHECK(t.Entry("fox").status == RosterStatus::kActive);

    REQUIRE(t.Action("fox", "pause").status == 200);
    r = t.Action("fox", "activate");  // activate overrides pause
    CHECK(r.body == R"({"success":true,"callsign":"fox","status":"active"})");
    CHECK(t.Entry("fox").status == RosterStatus::kActive);

    CHECK(t.Action("fox", "unarchive").Error() == "Agent is not dismissed");
    r = t.client.Delete(t.base + "/fox");
    CHECK(r.status == 200);
    CHECK(r.body == R"({"success":true,"callsign":"fox"})");
    CHECK(t.Entry("fox").status == RosterStatus::kArchived);
    CHECK(t.client.Delete(t.base + "/fox").Error() == "Agent is already dismissed");
    CHECK(t.Action("fox", "pause").Error() == "Cannot pause archived agent");
    CHECK(t.Action("fox", "activate").Error() == "Cannot activate archived agent");
    CHECK(t.Action("fox", "resume").Error() == "Agent is not paused");

    RestReply archived = t.client.Get(t.base + "/archived");
    REQUIRE(archived.status == 200);
    REQUIRE(At(archived.json, "agents").as_array().size() == 1);
    CHECK(Str(At(archived.json, "agents").as_array()[0], "callsign") == "fox");
    CHECK(At(t.client.Get("/channels/" + t.channel + "/roster").json, "roster").as_array().empty());

    r = t.Action("fox", "unarchive");
    CHECK(r.body == R"({"success":true,"callsign":"fox","status":"active"})");
    CHECK(t.Entry("fox").status == RosterStatus::kActive);
    CHECK(At(t.client.Get(t.base + "/archived").json, "agents").as_array().empty());

    // summon + dismiss status messages, in order.
    RestReply history = t.client.Get("/channels/" + t.channel + "/messages");
    const JsonArray& messages = At(history.json, "messages").as_array();
    REQUIRE(messages.size() == 2);
    CHECK(ToJson(At(messages[1], "content")) == R"({"action":"dismiss","callsign":"fox"})");
  }

  TEST_CASE("lifecycle routes answer 404 for unknown agents and foreign channels") {
    AgentChannel t;
    RestClient bob = t.server.Login("bob");
    std::string bobs = CreateChannel(bob, "b");
    REQUIRE(bob.Post("/channels/" + bobs + "/agents", R"({"callsign":"fox","agentType":"x"})")
                .status == 201);
    for (std::string action : {"pause", "resume", "activate", "unarchive"}) {
      CAPTURE(action);
      RestReply r = t.Action("ghost", action);
      CHECK(r.status == 404);
      CHECK(r.Error() == "Agent not found in roster");
      r = t.client.Post("/channels/" + bobs + "/agents/fox/" + action, "");
      CHECK(r.status == 404);
      CHECK(r.Error() == "Agent not found in roster");
    }
    CHECK(t.client.Delete(t.base + "/ghost").Error() == "Agent not found in roster");
    CHECK(t.client.Delete("/channels/" + bobs + "/agents/fox").status == 404);
    CHECK(t.client.Get("/channels/" + bobs + "/agents/archived").status == 404);
    // bob's agent is untouched.
    auto e = t.server.app().store().GetRosterEntry(bobs, "fox");
    REQUIRE(e.ok());
    CHECK(e->status == RosterStatus::kActive);
  }

  TEST_CASE("agent routes require a session") {
    RestServer server;
    RestClient client = server.Anonymous();
    CHECK(client.Post("/channels/c/agents", "{}").status == 401);
    CHECK(client.Get("/channels/c/agents/archived").status == 401);
    CHECK(client.Post("/channels/c/agents/fox/pause", "").status == 401);
    CHECK(client.Delete("/channels/c/agents/fox").status == 401);
  }
}

}  // namespace agentcore::testing
