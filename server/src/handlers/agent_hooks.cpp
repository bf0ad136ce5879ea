// SPDX-License-Identifier: Apache-2.0
#include "handlers/agent_hooks.hpp"

#include "app.hpp"

namespace agentcore::server {

// TODO: forward to the agent orchestrator (runtimes, push to callback URLs, pending
// deliveries) once it exists; until then the lifecycle routes change only the roster, the
// messages and the broadcasts.

asio::awaitable<Status> ActivateAgent(App& /*app*/, const AgentRef& /*agent*/) {
  co_return Status();
}

asio::awaitable<Status> SuspendAgent(App& /*app*/, const AgentRef& /*agent*/) {
  co_return Status();
}

asio::awaitable<void> DeliverToAgents(App& /*app*/, const Message& /*message*/,
                                      const std::vector<std::string>& /*agents*/) {
  co_return;
}

}  // namespace agentcore::server
