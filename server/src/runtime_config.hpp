// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The runtimes the flags and the environment configure (--runtime, --agent-runtime,
/// --agent-command, --agent-image...), as the hub's RuntimeSpecs. One function per runtime, in
/// runtime_config.cpp; the runtimes themselves live in the library (agentcore/runtime/).

#include <map>
#include <string>
#include <vector>

#include <agentcore/hub/runtime_registry.hpp>
#include <agentcore/result.hpp>

#include "config.hpp"

namespace agentcore::server {

/// The specs for `config`: the default runtime (--runtime) takes "*" and every type that
/// --agent-runtime does not send elsewhere. kInvalidArgument for an unknown runtime name or a
/// runtime that lacks its required settings, naming the flag or variable to set.
Result<std::vector<RuntimeSpec>> RuntimeSpecsFrom(const ServerConfig& config);

/// The image of agent types that have no --agent-image (scripts/build-agent-image.sh builds it).
inline constexpr const char* kDefaultAgentImage = "localhost/agentcore-echo-agent:latest";

/// The Docker runtime's image per agent type: --agent-image (AGENT_IMAGE as "*"), and
/// kDefaultAgentImage for "*" when none is given.
std::map<std::string, std::string> EffectiveImages(const ServerConfig& config);

/// The value of the agent containers' instance label: --runtime-instance, else `srv-` and 16
/// hex digits of the SHA-256 of the data directory's absolute path, so that a restart on the
/// same data directory finds (and reaps) what a crashed server left, and two servers with
/// their own data directories never touch each other's containers.
std::string RuntimeInstance(const ServerConfig& config);

/// The session runtimes (hub/sessions.hpp) `config` asks for, into `sessions`: the sandbox
/// stays the hub's default (bubblewrap); --session-runtime docker adds the Docker/Podman
/// engine at DOCKER_HOST for sessions with an image, checked now (kUnavailable naming the
/// engine and the flag when it does not answer). Also the session service's instance (the
/// containers' label, RuntimeInstance) and the running-session cap (--max-running-sessions).
Status ConfigureSessions(const ServerConfig& config, SessionServiceOptions* sessions);

/// One line for the start-up log: which runtime runs which agent types, e.g.
/// `local (*)` or `docker (*: localhost/agentcore-echo-agent:latest), local (dev)`.
std::string DescribeRuntimes(const ServerConfig& config);

}  // namespace agentcore::server
