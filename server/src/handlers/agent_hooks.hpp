// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The single seam between the REST handlers and the agent runtime side (spec cast §3.4 invoker,
/// §4.6 lifecycle side effects, §5.2 activation, §5.8 suspend). The handlers do everything
/// Cast's routes do to the store and to subscribers, then call exactly one of these at the
/// point where Cast calls its AgentManager / invoker.
///
/// agent_hooks.cpp forwards each hook to the App's orchestrator (orchestrator.hpp), on the
/// blocking pool.

#include <string>
#include <vector>

#include <asio/awaitable.hpp>

#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>

namespace agentcore::server {

class App;

/// Which agent: Cast's agent id parts (spec cast §5.1).
struct AgentRef {
  std::string space_id;
  std::string channel_id;
  std::string callsign;
};

/// Starts the agent's container if it is not running (fire-and-forget; it checks in later).
/// Called by add agent, activate and unarchive after the roster is updated. A failure is
/// reported to the caller, which answers per route (activate: broadcast offline, 500
/// "Failed to spawn container"; add agent and unarchive: logged and swallowed).
asio::awaitable<Status> ActivateAgent(App& app, const AgentRef& agent);

/// Stops the agent's container. Called by pause and dismiss before the roster is updated;
/// Cast ignores its errors, so the callers only log them.
asio::awaitable<Status> SuspendAgent(App& app, const AgentRef& agent);

/// Delivers a stored message to the agents it invokes (InvocationTargets: routing targets
/// minus users and the empty leader), as Cast's invoker does: skip paused/archived entries,
/// push to a running container, else activate and leave the message for checkin. Called by
/// POST /channels/:id/messages after the message is stored and broadcast. Failures are per
/// agent and never fail the request.
asio::awaitable<void> DeliverToAgents(App& app, const Message& message,
                                      const std::vector<std::string>& agents);

}  // namespace agentcore::server
