// SPDX-License-Identifier: Apache-2.0
#pragma once

/// What the container runtimes (Docker/Podman, Kubernetes, Fly.io Machines) share: how one
/// agent type runs as a container image (`AgentImage`), and the environment every agent gets,
/// whatever starts it (`AgentEnvironment`: the container protocol of cast.md §5.2).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/runtime/agent.hpp>

namespace agentcore {

/// Environment variables, in the order they are set. Names are unique.
using EnvList = std::vector<std::pair<std::string, std::string>>;

/// How to run one agent type as a container. Each runtime maps it onto its own API: Docker's
/// container config, a Kubernetes pod spec, a Fly machine config.
struct AgentImage {
  /// Image reference, e.g. `localhost/agentcore-echo-agent:latest`. Required.
  std::string image;
  /// Command and arguments; empty runs the image's own entrypoint and command.
  std::vector<std::string> command;
  /// Environment of this agent type (model keys, MCP servers...). Values may be secrets: a
  /// runtime passes them to the container and never logs or labels them.
  EnvList env;
  /// CPU limit in thousandths of a CPU (1500 = 1.5 CPUs); 0 means no limit.
  std::int64_t cpu_millis = 0;
  /// Memory limit in bytes; 0 means no limit.
  std::int64_t memory_bytes = 0;
};

/// The environment an agent process or container starts with (cast.md §5.2), in this order,
/// later entries replacing earlier ones of the same name:
///   1. `base` (the variables a runtime inherits or an agent type sets);
///   2. `req.extra_env`;
///   3. `PORT` when `port` is not 0;
///   4. CAST_API_URL, CAST_AGENT_ID, CAST_AUTH_TOKEN, CAST_CALLBACK_URL (`callback_url`),
///      CAST_ROUTE_HINTS (compact JSON of `req.route_hints`, "" for null) and, when the system
///      prompt is not empty, CAST_SYSTEM_PROMPT. These always win.
/// CAST_AUTH_TOKEN is a credential: log names, never values.
AGENTCORE_EXPORT EnvList AgentEnvironment(const ActivateRequest& req, EnvList base,
                                          std::string_view callback_url, int port = 0);

/// The instance name a container runtime labels its agents with (DockerOptions::instance,
/// KubernetesOptions::instance, FlyOptions::instance_name) for a server whose data directory is
/// `data_dir`: `srv-` and 16 hex digits of the SHA-256 of its absolute, normalised path. Stable
/// across restarts on the same data, so the next start reaps what a crash left; distinct for
/// servers with their own data directories, so they never reap each other's agents.
AGENTCORE_EXPORT std::string RuntimeInstanceForDataDir(std::string_view data_dir);

}  // namespace agentcore
