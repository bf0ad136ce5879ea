// SPDX-License-Identifier: Apache-2.0
#pragma once

#include "http/router.hpp"

namespace agentcore::server {

/// Tymbal ingest (§4.8): POST /tymbal/:channelId (one frame), /tymbal/:channelId/batch
/// (NDJSON), legacy /thread/:threadId/tymbal, and our /tymbal/:channelId/stream (one long
/// chunked NDJSON upload applied frame by frame as it arrives).
void RegisterTymbalRoutes(Router& router);

}  // namespace agentcore::server
