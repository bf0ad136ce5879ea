// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The runtimes the flags and the environment configure (--runtime, --agent-runtime,
/// --agent-command, --agent-image...), as the hub's RuntimeSpecs. One function per runtime, in
/// runtime_config.cpp; the runtimes themselves live in the library (agentcore/runtime/).

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

/// One line for the start-up log: which runtime runs which agent types, e.g.
/// `local (*)` or `docker (*: localhost/agentcore-echo-agent:latest), local (dev)`.
std::string DescribeRuntimes(const ServerConfig& config);

}  // namespace agentcore::server
