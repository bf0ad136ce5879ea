// SPDX-License-Identifier: Apache-2.0
// spec cast §4.7: GET /channels/:id/costs.
#include "handlers/handlers.hpp"

#include <string>

#include <doctest/doctest.h>

#include "server/rest_test_client.hpp"

namespace agentcore::testing {

TEST_SUITE("CostRoutes") {
  TEST_CASE("the tally lists one cumulative row per agent, highest cost first") {
    RestServer server;
    RestClient client = server.Login("alice");
    std::string channel = CreateChannel(client, "ops");
    CHECK(client.Get("/channels/" + channel + "/costs").body == R"({"tally":[]})");
    for (auto [callsign, cost, turns] :
         {std::tuple{"fox", 0.25, 3}, std::tuple{"owl", 1.5, 7}, std::tuple{"fox", 0.75, 5}}) {
      CostRecord record;
      record.channel_id = channel;
      record.callsign = callsign;
      record.cost_usd = cost;
      record.num_turns = turns;
      record.duration_ms = 1000 * turns;
      REQUIRE(server.app().store().UpsertCost(record).ok());
    }
    RestReply r = client.Get("/channels/" + channel + "/costs");
    REQUIRE(r.status == 200);
    CHECK(r.body ==
          R"({"tally":[{"callsign":"owl","totalCostUsd":1.5,"totalTurns":7,"totalDurationMs":7000},)"
          R"({"callsign":"fox","totalCostUsd":0.75,"totalTurns":5,"totalDurationMs":5000}]})");
  }

  TEST_CASE("costs need a session and a channel of the caller's space") {
    RestServer server;
    RestClient alice = server.Login("alice");
    RestClient bob = server.Login("bob");
    std::string bobs = CreateChannel(bob, "ops");
    CHECK(server.Anonymous().Get("/channels/" + bobs + "/costs").status == 401);
    RestReply r = alice.Get("/channels/" + bobs + "/costs");
    CHECK(r.status == 404);
    CHECK(r.Error() == "Channel not found");
    CHECK(alice.Get("/channels/nope/costs").status == 404);
  }
}

}  // namespace agentcore::testing
