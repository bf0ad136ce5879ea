// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The Fly.io Machines runtime: each agent is a Fly Machine in one Fly app, created through the
/// Machines REST API (cast.md §7.3 describes Cast's FlyRuntime, the model).
///
/// Activate() creates a machine (POST /apps/APP/machines) with the agent type's image, the
/// environment of cast.md §5.2 (AgentEnvironment; PORT is the machine's internal port), the
/// guest size, `restart: no`, `auto_destroy: true`, one TCP service (443 tls+http, 80 http) and
/// metadata naming the server instance, space, channel, callsign and agent id. It returns once
/// Fly has accepted the create, with status kActivating and the machine id as instance_id; the
/// agent checks in on its own. The machine id is the agent's route hint: RouteHints() returns
/// `{"fly-force-instance-id": "<machine id>"}`, which the hub sends as a header with every push
/// so that Fly's proxy delivers to that machine (§5.3). CAST_ROUTE_HINTS carries
/// ActivateRequest::route_hints: the machine id is not known before the create (a machine reads
/// its own id from FLY_MACHINE_ID, which Fly sets).
///
/// One runtime thread ("agentcore-fly") watches the machines: every `poll_interval` it lists
/// this instance's machines (GET /apps/APP/machines?metadata.agentcore_instance=...) and
///   - a machine still `created`/`starting` after `start_timeout` is destroyed and reported
///     kFailed ("machine ... did not start within ...");
///   - a machine that stopped or vanished unasked is reported kOffline (exit code 0) or kFailed,
///     with the exit code from the machine's `exit` event when Fly has one.
/// Events go to the observer from that thread, in order.
///
/// Suspend() stops the machine (POST .../stop), waits for `stopped` (GET .../wait), then
/// destroys it (DELETE ...?force=true): a suspended agent leaves nothing behind, and the next
/// activation creates a fresh machine. The hub's 180 s activation timeout calls Suspend(), so a
/// machine that never checks in is destroyed.
///
/// Every API call has a timeout (`request_timeout`). Answers 429 and 5xx, and failed
/// connections, are retried for idempotent calls (GET, stop, wait, DELETE) with exponential
/// backoff and full jitter, capped at `backoff_cap`, honouring a Retry-After of delta-seconds
/// (also capped), at most `max_attempts` attempts in all. A create is retried on 429 only (after
/// a 5xx or a broken connection the machine may exist). Errors carry Fly's own message, e.g.
/// `fly: create machine for "s:c:x": 422 invalid image`; the API token appears in no message.
///
/// ReadLog() is kNotSupported: the Machines API serves no logs (use `fly logs -a APP`).
/// ReapOrphans() destroys the machines of this app whose metadata names this server instance
/// and that this runtime did not start. Shutdown() suspends every running machine in parallel.

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/agent_image.hpp>
#include <agentcore/runtime/runtime.hpp>

namespace agentcore {

/// A machine's size (Fly's `guest`).
struct FlyGuest {
  /// "shared" or "performance".
  std::string cpu_kind = "shared";
  int cpus = 1;
  int memory_mb = 256;
};

/// Options of NewFlyRuntime().
struct FlyOptions {
  /// Machines API base URL, without a trailing slash; tests point it at a fake.
  std::string api_url = "https://api.machines.dev/v1";
  /// Sent as `Authorization: Bearer <token>` (FLY_API_TOKEN). Required. A secret: never logged
  /// nor put in an error message.
  std::string api_token;
  /// The Fly app the machines are created in (FLY_APP_NAME). Required.
  std::string app_name;
  /// Region of new machines (FLY_REGION), e.g. "iad"; empty lets Fly choose.
  std::string region;
  /// Image per ActivateRequest::agent_type; the entry "*" serves the types not listed
  /// (FLY_IMAGE). AgentImage::command becomes the machine's `init.cmd`; cpu_millis and
  /// memory_bytes, when not 0, set the guest's cpus (rounded up) and memory_mb (rounded up).
  std::map<std::string, AgentImage> images;
  /// Guest size where the AgentImage sets none.
  FlyGuest guest;
  /// CAST_CALLBACK_URL when ActivateRequest::callback_url is empty; empty means
  /// `https://<app_name>.fly.dev` (Fly's proxy, steered by the route hint).
  std::string callback_url;
  /// Port the agent listens on inside the machine (PORT, the service's internal_port).
  int internal_port = 8080;
  /// Names this server in every machine's metadata (`agentcore_instance`): ReapOrphans() only
  /// touches machines of the same instance. Servers sharing an app need distinct names.
  std::string instance_name = "agentcore";
  /// Limit on one API call (the wait calls get their wait time on top).
  std::chrono::milliseconds request_timeout{30'000};
  /// Attempts per API call, the first included (>= 1).
  int max_attempts = 4;
  /// Backoff before retry n (1-based): a random delay in [0, min(cap, base * 2^(n-1))].
  std::chrono::milliseconds backoff_base{500};
  std::chrono::milliseconds backoff_cap{8'000};
  /// A machine not `started` this long after its create is destroyed and reported kFailed.
  std::chrono::milliseconds start_timeout{120'000};
  /// How often the runtime thread lists the machines.
  std::chrono::milliseconds poll_interval{2'000};
  /// Suspend: how long the machine may take to stop before it is destroyed by force.
  std::chrono::milliseconds stop_grace{10'000};
  /// What the destructor does when Shutdown() was not called. true: it calls Shutdown().
  /// false: it stops its thread and leaves the machines running, as a crash would; a later
  /// runtime of the same instance_name destroys them with ReapOrphans().
  bool stop_agents_on_destroy = true;
};

/// The Fly.io Machines runtime (see the top of this file). Thread-safe, like every Runtime; it
/// owns its HTTP client and its thread ("agentcore-fly"), which Shutdown() or the destructor
/// joins. Errors: kInvalidArgument when api_token, app_name or instance_name is empty, an image
/// is empty, or a duration or count is out of range. Makes no API call.
AGENTCORE_EXPORT Result<std::unique_ptr<Runtime>> NewFlyRuntime(
    const FlyOptions& options, const RuntimeOptions& runtime_options = {});

}  // namespace agentcore
