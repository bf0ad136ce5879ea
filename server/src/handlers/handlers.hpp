// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Cast's REST routes (spec cast §4.2–4.7), one registration function per resource. Each adds
/// its routes to the router; App::Open calls them once, before the server starts.

#include "http/router.hpp"

namespace agentcore::server {

/// GET /health, GET /, and the stubs GET /focus-types, GET /agents, GET /api/backends (§4.3).
void RegisterHealthRoutes(Router& router);
/// Dev login (§4.2): GET /auth/dev/spaces and POST /auth/dev/login answer only when
/// config().auth_mode == "dev" (otherwise like an unknown route); GET /auth/me and POST
/// /auth/logout always.
void RegisterAuthRoutes(Router& router);
/// Password accounts (issue 16): POST /api/auth/register, POST /api/auth/login (every auth
/// mode). RegisterAuthRoutes mounts Cast's /auth/me and /auth/logout at /api/auth/me and
/// /api/auth/logout too.
void RegisterAccountRoutes(Router& router);
/// GET/POST /channels, GET/PUT /channels/:channelId (§4.4).
void RegisterChannelRoutes(Router& router);
/// GET/POST /channels/:channelId/roster, DELETE /channels/:channelId/roster/:entryId (§4.5).
void RegisterRosterRoutes(Router& router);
/// POST /channels/:channelId/agents, GET …/agents/archived, POST …/agents/:callsign/{pause,
/// resume,activate,unarchive}, DELETE …/agents/:callsign (§4.6).
void RegisterAgentRoutes(Router& router);
/// GET /channels/:channelId/agents/:callsign/logs (ours): the agent's log, once or followed.
void RegisterAgentLogRoutes(Router& router);
/// GET/POST /channels/:channelId/messages (§4.7).
void RegisterMessageRoutes(Router& router);
/// GET /channels/:channelId/costs (§4.7).
void RegisterCostRoutes(Router& router);

/// GET /metrics: Prometheus text (engine counters, connections, subscribers); credentials
/// outside dev mode.
void RegisterMetricsRoutes(Router& router);

/// Platform Agent's routes (docs/runs.md): GET /v1, /v1/health, /v1/capabilities (and
/// /capabilities), the /v1/projects… routes, and the builder's GET /agents/task.
void RegisterRunRoutes(Router& router);

/// API key administration (docs/api.md): POST/GET /v1/keys, DELETE /v1/keys/:id, the same
/// under /api/keys; administrators only.
void RegisterKeyRoutes(Router& router);
/// Invite codes for administrators (agentctl invite-codes): POST/GET /v1/invite-codes,
/// DELETE /v1/invite-codes/:id, the same under /api/invite-codes.
void RegisterInviteCodeRoutes(Router& router);
/// execbox's and Octo's sessions (docs/sessions.md): `/v1/sessions…` and `/api/sessions…`
/// (lifecycle, attach, events, files), `/v1/usage` and `/api/usage`, and Octo's proxies
/// `/sessions/:id/:service/*` and `/session/:id/term`.
void RegisterSessionRoutes(Router& router);

/// GET /openapi.json: the document App::Open built from the route table (openapi/document.hpp).
void RegisterOpenApiRoutes(Router& router);

/// All of the above, in that order, then the Tymbal ingest routes (tymbal.hpp) and the live
/// routes (stream.hpp): every route of the server.
void RegisterHandlers(Router& router);

}  // namespace agentcore::server
