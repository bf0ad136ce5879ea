// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Umbrella header: the whole public API of libagentcore.

#include <agentcore/auth/crypto.hpp>
#include <agentcore/auth/tokens.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/http/client.hpp>
#include <agentcore/hub/accounts.hpp>
#include <agentcore/hub/agent_transport.hpp>
#include <agentcore/hub/api_keys.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/hub/agents.hpp>
#include <agentcore/hub/auth_throttle.hpp>
#include <agentcore/hub/event_frames.hpp>
#include <agentcore/hub/executor.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/hub/ingest.hpp>
#include <agentcore/hub/publisher.hpp>
#include <agentcore/hub/rate_limits.hpp>
#include <agentcore/hub/runtime_registry.hpp>
#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/mention/mention.hpp>
#include <agentcore/mention/router.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/agent.hpp>
#include <agentcore/runtime/runtime.hpp>
#include <agentcore/runtime/runtimes.hpp>
#include <agentcore/state/agent_state.hpp>
#include <agentcore/state/run_state.hpp>
#include <agentcore/state/session_state.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>
#include <agentcore/store/store.hpp>
#include <agentcore/tymbal/assembler.hpp>
#include <agentcore/tymbal/frame.hpp>
#include <agentcore/tymbal/message_handle.hpp>
#include <agentcore/tymbal/parser.hpp>
#include <agentcore/tymbal/writer.hpp>
#include <agentcore/ulid.hpp>
#include <agentcore/version.hpp>
#include <agentcore/workspace/git.hpp>
#include <agentcore/workspace/path_policy.hpp>
#include <agentcore/workspace/webhook.hpp>
#include <agentcore/workspace/zip.hpp>
