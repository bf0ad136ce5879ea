// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The Docker Engine API runtime: each agent is a container on a Docker or Podman engine,
/// reached over a unix socket (`DOCKER_HOST=unix:///path`, API version v1.41; Docker 20.10+
/// and Podman 4.x serve it). Cast runs every agent this way (cast.md §7.1).
///
/// Activate() creates and starts a container, fire-and-forget; the agent checks in on its own.
/// The container gets the environment of cast.md §5.2 (AgentEnvironment: CAST_* plus the
/// type's env and ActivateRequest::extra_env), the type's command, CPU (NanoCpus) and memory
/// limits, network mode and mounts. Values of the environment are secrets: they are never
/// logged, labelled or put in an error message.
///
/// Every container carries these labels, so that a runtime finds its own containers:
///
///   agentcore.instance   DockerOptions::instance
///   agentcore.space      the agent id's space part
///   agentcore.channel    the agent id's channel part
///   agentcore.callsign   the agent id's callsign part
///   agentcore.agent-id   the whole agent id
///   agentcore.agent-type ActivateRequest::agent_type
///
/// The container's name is `agentcore-<instance>-<hash of the agent id>` (made valid for the
/// engine), so a stale container of the same agent (a crash, a stop that failed) is found by
/// name and replaced at the next activation.
///
/// Exits are watched on one runtime-owned thread ("agentcore-docker") following the engine's
/// `/events` stream, filtered to this instance's label and to `die` events. It reconnects with
/// a bounded backoff and, after a reconnect, lists the containers again so that no exit is
/// missed. Exit code 0 or a requested stop gives kOffline, anything else kFailed.
///
/// Suspend() stops the container (the engine sends SIGTERM, then SIGKILL after stop_grace),
/// appends its logs to `data_dir/agents/<agent dir>/log` (the same layout as the local process
/// runtime) and removes it, so no stopped containers pile up. ReadLog() reads that archive
/// followed by the live container's logs; logs survive exits and restarts of the server.
///
/// ReapOrphans() stops and removes (archiving the logs of) every container labelled with this
/// instance that this process did not start. Containers of other instances are never touched.
/// Shutdown() stops and removes every container this runtime started, in parallel.
///
/// Every engine call has a timeout (api_timeout): a dead engine gives kUnavailable (socket
/// missing or refused) or kDeadlineExceeded (accepts but never answers), never a hang.
/// Engine errors keep the engine's message: 404 kNotFound, 409 kConflict, 5xx kInternal, e.g.
/// `docker: create container for "s:c:echo": 404 no such image: localhost/x:latest`.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/agent_image.hpp>
#include <agentcore/runtime/runtime.hpp>

namespace agentcore {

/// A bind mount of a host path into an agent's container.
struct DockerMount {
  /// Absolute path on the engine's host. Required.
  std::string source;
  /// Absolute path in the container. Required.
  std::string target;
  bool read_only = false;
};

/// How one agent type runs on the engine.
struct DockerAgentType {
  /// Image (required), command (empty: the image's entrypoint), env (may hold secrets), CPU and
  /// memory limits.
  AgentImage image;
  /// The container's NetworkMode. "host" (the default) lets the agent reach a server listening
  /// on 127.0.0.1 and the server reach the agent's callback port; "bridge" or a network name
  /// needs an api_url the container can reach.
  std::string network_mode = "host";
  /// Extra bind mounts.
  std::vector<DockerMount> mounts;
};

/// Options of NewDockerRuntime().
struct DockerOptions {
  /// `unix:///path/to/socket`. Empty: $DOCKER_HOST, else unix:///var/run/docker.sock. Other
  /// schemes (tcp://, ssh://) are refused with kInvalidArgument.
  std::string docker_host;
  /// Value of the agentcore.instance label. Required; [A-Za-z0-9_.-], at most 64 bytes. Must be
  /// stable across restarts of one server (ReapOrphans finds containers by it) and distinct
  /// between servers sharing one engine.
  std::string instance;
  /// Root for archived logs (`data_dir/agents/<agent dir>/log`). Created if missing. Required.
  std::string data_dir;
  /// Per ActivateRequest::agent_type; the entry "*" is used for types not listed. Without it
  /// an unlisted type is refused with kInvalidArgument.
  std::map<std::string, DockerAgentType> types;
  /// Time between the engine's SIGTERM and SIGKILL in Suspend(), Shutdown(), ReapOrphans().
  std::chrono::milliseconds stop_grace{2'000};
  /// Timeout of each engine call (a stop waits stop_grace on top of it).
  std::chrono::milliseconds api_timeout{10'000};
  /// As LocalProcessOptions::suggest_callback_port: when ActivateRequest::callback_url is
  /// empty, pick a free port on 127.0.0.1 and pass CAST_CALLBACK_URL and PORT. Meaningful with
  /// network_mode "host".
  bool suggest_callback_port = true;
  /// What the destructor does when Shutdown() was not called. true: it calls Shutdown().
  /// false: it stops its thread and leaves the containers running, as a crash would; a later
  /// runtime with the same instance ends them with ReapOrphans(). Meant for tests.
  bool stop_agents_on_destroy = true;
  /// The factory pings the engine and inspects every configured image: a missing image gives
  /// kNotFound naming the image and how to build or pull it.
  bool check_images = true;
};

/// The Docker Engine API runtime (see the top of this file). Errors: kInvalidArgument for a
/// bad docker_host, instance, data_dir or type (no image, relative mount paths, negative
/// limits); with check_images, kUnavailable when the engine cannot be reached,
/// kDeadlineExceeded when it does not answer within api_timeout, kNotFound for a missing image;
/// kInternal when data_dir cannot be created. The returned runtime has started its two threads
/// ("agentcore-docker" follows the engine's events, "agentcore-dockev" calls the observer).
AGENTCORE_EXPORT Result<std::unique_ptr<Runtime>> NewDockerRuntime(
    const DockerOptions& options, const RuntimeOptions& runtime_options = {});

}  // namespace agentcore
