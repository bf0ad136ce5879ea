// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "http/router.hpp"

namespace agentcore::server {

/// The container protocol v3 (spec cast §5.4–§5.6): POST /agents/checkin, POST
/// /agents/heartbeat, GET /agents/status/:agentId. Checkin and heartbeat need the agent's own
/// container token (`Authorization: Container <token>` for exactly that agentId) unless
/// config().compat_open_checkin, as Cast leaves them open (§8 #6).
void RegisterContainerProtocolRoutes(Router& router);

}  // namespace agentcore::server
