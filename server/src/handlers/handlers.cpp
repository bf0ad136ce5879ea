// SPDX-License-Identifier: Apache-2.0
#include "handlers/handlers.hpp"

#include "handlers/container_protocol.hpp"
#include "handlers/stream.hpp"
#include "handlers/tymbal.hpp"

namespace agentcore::server {

void RegisterHandlers(Router& router) {
  RegisterHealthRoutes(router);
  RegisterAuthRoutes(router);
  RegisterAccountRoutes(router);
  RegisterChannelRoutes(router);
  RegisterRosterRoutes(router);
  RegisterAgentRoutes(router);
  RegisterAgentLogRoutes(router);
  RegisterMessageRoutes(router);
  RegisterCostRoutes(router);
  RegisterMetricsRoutes(router);
  RegisterContainerProtocolRoutes(router);
  RegisterRunRoutes(router);
  RegisterKeyRoutes(router);
  RegisterInviteCodeRoutes(router);
  RegisterSessionRoutes(router);
  RegisterTymbalRoutes(router);
  RegisterStreamRoutes(router);
  RegisterOpenApiRoutes(router);
}

}  // namespace agentcore::server
