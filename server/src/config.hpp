// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/hub/sessions.hpp>
#include <agentcore/state/run_state.hpp>
#include <agentcore/status.hpp>

#include "http/http_server.hpp"

namespace agentcore::server {

/// Everything the server reads from flags and the environment (main.cpp fills it).
struct ServerConfig {
  /// Listen address. Empty: 127.0.0.1 in dev mode, 0.0.0.0 otherwise (ResolveDefaults).
  std::string host;
  std::uint16_t port = 3234;                    // PORT
  /// DATABASE_URL (a path works too). Empty: `<DefaultDataHome()>/agentcore.db`.
  std::string database_url;
  /// Agent logs, pid files, artifact blobs. Empty: `<DefaultDataHome()>/data`.
  std::string data_dir;
  std::string auth_mode;                        // AUTH_MODE: "dev" mounts /auth/dev/*
  std::string space_id;                         // SPACE_ID: the space of API keys made by the CLI
  /// JWT_SECRET and CAST_CONTAINER_SECRET: required (CheckSecrets, hub/credentials.hpp)
  /// unless in dev mode; empty in dev mode means the public development secrets.
  std::string jwt_secret;
  std::string container_secret;
  bool production = false;  // NODE_ENV=production: Secure cookies; secrets even in dev mode
  /// GET /metrics also accepts `Authorization: Bearer <metrics_token>` (METRICS_TOKEN).
  std::string metrics_token;
  /// Caps per space (HubOptions); 0: no cap.
  std::size_t max_agents_per_space = 50;
  std::size_t max_running_agents_per_space = 20;
  /// Rate limits (docs/api.md "Rate limits and API keys"): requests per minute and running
  /// sessions of callers whose key sets none and names no tier (and of users); the tiers,
  /// each "NAME=RPM:SESSIONS" (--tier); requests per minute per client IP on the
  /// authentication routes. 0 turns a limit off.
  std::uint32_t requests_per_minute = 100;
  std::uint32_t max_running_sessions = 10;
  std::vector<std::string> tiers;
  std::uint32_t ip_requests_per_minute = 60;
  /// Failed authentications per client IP in a window before 429 (AuthThrottle); 0: off.
  std::size_t auth_failure_limit = 20;
  std::chrono::milliseconds auth_failure_window{10'000};
  std::string public_url;                       // the URL agents use to reach us (CAST_API_URL)
  unsigned threads = 0;                         // io threads; 0 = one per core
  unsigned blocking_threads = 64;               // store calls that wait (group commit)
  HttpLimits limits;
  std::size_t tymbal_max_body_bytes = 8 * 1024 * 1024;  // /tymbal/:id/batch
  std::size_t ws_max_message_bytes = 1024 * 1024;        // one message from a WebSocket client
  /// Bytes one WebSocket/SSE connection may have queued (replies, replays, live frames);
  /// a reader behind by more catches up from the store (ws/stream_session.hpp).
  std::size_t subscriber_backlog_bytes = 1024 * 1024;
  /// A WebSocket/SSE connection with bytes queued and none written for this long is closed.
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds sse_heartbeat{15'000};
  /// How often a streamed upload (`/tymbal/:id/stream`) saves the text of its open messages,
  /// so readers and reconnecting clients see progress (live subscribers get every frame).
  std::chrono::milliseconds stream_save_interval{1'000};
  std::chrono::milliseconds shutdown_grace{10'000};
  // --- cluster (docs/cluster.md)
  /// This node's id (--node-id, env AGENTCORE_NODE_ID); empty: "<hostname>-<pid>-<random>".
  /// After App::Open: the hub's, and whether it is clustered (PostgreSQL).
  std::string node_id;
  bool clustered = false;
  /// Lease length (--lease-ms, env AGENTCORE_LEASE_MS), renewed every third of it.
  std::chrono::milliseconds lease{10'000};
  bool compat_open_checkin = false;  // Cast leaves checkin/heartbeat unauthenticated
  // --- agents (libagentcore hub/agents.hpp)
  /// The runtime that starts agents (--runtime): "local" (processes on this machine),
  /// "docker", "kubernetes" or "fly" (runtime_config.hpp).
  std::string runtime = "local";
  /// Agent types started by another runtime than --runtime (--agent-runtime TYPE=RUNTIME).
  std::map<std::string, std::string> agent_runtimes;
  /// argv per agent type (--agent-command TYPE=CMD, CMD split on spaces); "*" is the default
  /// for unlisted types. Empty: every type runs `<dir of the server executable>/echo-agent`
  /// when that file exists.
  std::map<std::string, std::vector<std::string>> agent_commands;
  // --- the Docker runtime (--runtime docker; runtime_config.cpp, agentcore/runtime/docker.hpp)
  /// The engine (DOCKER_HOST, `unix://...`); empty: unix:///var/run/docker.sock.
  std::string docker_host;
  /// Image per agent type (--agent-image TYPE=IMAGE; AGENT_IMAGE is "*"). Types without one
  /// run kDefaultAgentImage.
  std::map<std::string, std::string> agent_images;
  /// Network mode of agent containers (--docker-network); "host" lets them reach a server on
  /// 127.0.0.1 at the public URL.
  std::string docker_network = "host";
  /// Limits of every agent container (--agent-cpus, --agent-memory); 0: none.
  std::int64_t agent_cpu_millis = 0;
  std::int64_t agent_memory_bytes = 0;
  /// Extra environment of every agent container (--agent-env NAME=VALUE). Values may be
  /// secrets: only the names are ever printed.
  std::vector<std::pair<std::string, std::string>> agent_env;
  /// The value of the containers' instance label (--runtime-instance). Empty: derived from
  /// the data directory, so a restart on the same data reaps what a crash left.
  std::string runtime_instance;
  // --- Fly.io Machines runtime (--runtime fly; names as Cast's)
  std::string fly_api_token;  // FLY_API_TOKEN (a secret: never printed)
  std::string fly_app_name;   // FLY_APP_NAME
  std::string fly_region = "iad";  // FLY_REGION
  std::string fly_image;      // FLY_IMAGE: the image of every agent type
  std::string fly_api_url = "https://api.machines.dev/v1";  // --fly-api-url (tests: a fake)
  // --- the Kubernetes runtime (--runtime kubernetes; runtime_config.cpp,
  // agentcore/runtime/kubernetes.hpp)
  /// The kubeconfig file (--kube-config, env KUBECONFIG: its first path); empty: the pod's
  /// in-cluster service account.
  std::string kube_config;
  /// The kubeconfig context (--kube-context); empty: its current-context.
  std::string kube_context;
  /// Prefix of the namespace each space gets (--kube-namespace-prefix).
  std::string kube_namespace_prefix = "agentcore-";
  std::chrono::milliseconds heartbeat_staleness{60'000};   // spec cast §5.7
  std::chrono::milliseconds activation_timeout{180'000};   // spec cast §5.7
  std::chrono::milliseconds agent_sweep_interval{1'000};   // how often timeouts are checked
  std::chrono::milliseconds agent_kill_grace{2'000};       // SIGTERM -> SIGKILL on suspend
  std::chrono::milliseconds agent_push_timeout{10'000};    // POST {callback}/message
  /// Leave agents running at Stop (what a crash leaves; the next start reaps them). Tests of
  /// crash recovery only.
  bool agents_outlive_server = false;
  bool access_log = true;
  /// ReadCache (read_cache.hpp): bytes of serialized message pages and routing records kept
  /// for exact reuse; 0 turns it off. Only a store with channel versions (SQLite) uses it.
  std::size_t read_cache_bytes = 64u << 20;
  // --- runs (hub/runs.hpp, docs/runs.md: Platform Agent's /v1 projects and runs)
  /// `X-Agent-Api-Key` (AGENT_API_KEY, env only: a secret, never printed); empty: the header
  /// is refused (Bearer API keys and sessions still work).
  std::string agent_api_key;
  /// Runs planning or building at once (--max-concurrent-runs, AGENT_MAX_CONCURRENT_RUNS).
  std::size_t max_concurrent_runs = 8;
  /// Attempts per run (--run-max-attempts); at least 1.
  int run_max_attempts = kDefaultRunMaxAttempts;
  std::chrono::milliseconds run_plan_timeout{5 * 60'000};
  std::chrono::milliseconds run_build_timeout{20 * 60'000};
  /// AUTO_GIT_COMMIT=false: a successful build is not committed to the workspace's git.
  bool auto_git_commit = true;
  std::string git_author_name;      // AGENT_GIT_AUTHOR_NAME
  std::string git_author_email;     // AGENT_GIT_AUTHOR_EMAIL
  std::string git_committer_name;   // AGENT_GIT_COMMITTER_NAME
  std::string git_committer_email;  // AGENT_GIT_COMMITTER_EMAIL
  /// Signs webhook deliveries (--webhook-secret, AGENT_WEBHOOK_SECRET; a secret, never
  /// printed); empty: the container secret.
  std::string webhook_secret;
  /// download.zip refuses (413) a workspace larger than this (--download-max-mb).
  std::uint64_t download_max_mb = 100;
  /// --model-pricing FILE: a JSON array of model prices (ParseModelPrices) stored at start.
  std::string model_pricing_file;
  /// AGENT_WORKSPACE_BACKEND / WORKSPACE_BACKEND: only "host" (workspaces on this machine).
  std::string workspace_backend = "host";
  /// execbox's and Octo's sessions (hub/sessions.hpp, docs/sessions.md): caps, timeouts,
  /// buffers, runtimes. An empty `data_dir` is the server's data directory.
  SessionServiceOptions sessions;
  /// --session-runtime: "sandbox" (only sessions without an image, on bubblewrap) or "docker"
  /// (also sessions with an image, on the engine at DOCKER_HOST). runtime_config.hpp
  /// ConfigureSessions.
  std::string session_runtime = "sandbox";
};

/// AUTH_MODE=dev: /auth/dev/* mounted, development secrets allowed (unless production).
bool IsDevMode(const ServerConfig& config);
/// Whether `host` is a loopback address ("127.x.y.z", "::1", "localhost").
bool IsLoopbackHost(std::string_view host);

/// Fills what the flags and environment left empty and refuses an unsafe start (issue 13 §2):
/// the host (127.0.0.1 in dev mode, else 0.0.0.0), the database and data directory (under
/// DefaultDataHome(), created), and real secrets outside dev mode (CheckSecrets; NODE_ENV=
/// production demands them in dev mode too). Errors: CheckSecrets' kInvalidArgument naming
/// the variable; kUnavailable when the default data directory cannot be created.
Status ResolveDefaults(ServerConfig* config);

/// One JSON line stating the security posture: auth mode, bind address, whether the secrets
/// are real or the development fallbacks, who may read /metrics, the caps and the throttle
/// (printed at start-up, after ResolveDefaults).
std::string DescribeSecurity(const ServerConfig& config);

/// The configuration as one JSON object, secrets redacted (printed at start-up).
std::string DescribeConfig(const ServerConfig& config);

}  // namespace agentcore::server
