// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The server's error log: one JSON line per server-side failure on stderr, so that every 5xx
/// leaves its cause (issue 13 §4). Used by the HTTP engine and by the handlers.

#include <string_view>

#include <agentcore/status.hpp>

namespace agentcore::server {

/// Writes one JSON line to stderr: {"level":"error","what":...,"status":...}.
void LogError(std::string_view what, const Status& status);

}  // namespace agentcore::server
