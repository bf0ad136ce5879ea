// SPDX-License-Identifier: Apache-2.0
// spec cast §4.7: GET /channels/:id/costs, one cumulative row per agent, highest cost first.
#include <string>
#include <utility>
#include <vector>

#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

asio::awaitable<Result<Response>> ListCosts(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<Channel> channel = app.hub().channels().Find(principal, ctx.Param("channelId"));
  if (!channel.has_value()) co_return channel.status();
  Result<std::vector<CostRecord>> costs = app.store().ListCosts(channel->id);
  if (!costs.has_value()) co_return StoreError(costs.status());
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("tally").BeginArray();
  for (const CostRecord& c : *costs) WriteCostTallyJson(w, c);
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

}  // namespace

void RegisterCostRoutes(Router& router) {
  router.Get("/channels/:channelId/costs",
             {.summary = "The channel's cost tally per agent", .tag = "channels",
              .auth = kAuthUser, .response = "CostTally"},
             WithSession("Failed to get costs", ListCosts));
}

}  // namespace agentcore::server
