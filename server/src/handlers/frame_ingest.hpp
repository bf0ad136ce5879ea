// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The Tymbal ingest rules moved into libagentcore (agentcore/hub/ingest.hpp, `hub.ingest()`);
/// these names stay in the server's namespace for the server tests that build expected lines.

#include <agentcore/hub/ingest.hpp>

namespace agentcore::server {

using agentcore::BroadcastLine;
using agentcore::IngestTarget;

}  // namespace agentcore::server
