// SPDX-License-Identifier: Apache-2.0
#include "handlers/agent_hooks.hpp"

#include <utility>

#include "app.hpp"
#include "orchestrator.hpp"

namespace agentcore::server {

// Each hook runs the orchestrator's blocking call on the pool and resumes on the caller's
// executor (spec cast §3.4, §5.2, §5.8; orchestrator.hpp has the model). The work is a named
// lambda, never a temporary inside co_await (GCC 12 miscompiles that: handler_support.hpp).

asio::awaitable<Status> ActivateAgent(App& app, const AgentRef& agent) {
  auto activate = [&app, agent] { return app.orchestrator().Activate(agent); };
  co_return co_await app.Offload(std::move(activate));
}

asio::awaitable<Status> SuspendAgent(App& app, const AgentRef& agent) {
  auto suspend = [&app, agent] { return app.orchestrator().Suspend(agent, "manual"); };
  co_return co_await app.Offload(std::move(suspend));
}

asio::awaitable<void> DeliverToAgents(App& app, const Message& message,
                                      const std::vector<std::string>& agents) {
  if (agents.empty()) co_return;
  // Awaited: when POST /messages answers, the message is queued for every target, so two
  // messages of one client reach an agent in order. Pushes themselves run later on the pool.
  auto deliver = [&app, message, agents] {
    app.orchestrator().Deliver(message, agents);
    return true;
  };
  (void)co_await app.Offload(std::move(deliver));
}

}  // namespace agentcore::server
