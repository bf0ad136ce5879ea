// SPDX-License-Identifier: Apache-2.0
// agentcore-server: flags and environment -> ServerConfig, App, wait for SIGTERM/SIGINT,
// graceful stop. Exit codes: 0 after a clean stop, 1 when the configuration or the start fails.

#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include <agentcore/json_writer.hpp>
#include <agentcore/version.hpp>

#include "app.hpp"
#include "environment.hpp"

namespace {

/// A variable of kServerEnvironment (environment.hpp), or `fallback` when unset or empty.
std::string Env(agentcore::server::EnvName name, std::string fallback = {}) {
  const char* value = std::getenv(name.c_str());
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

/// Splits one `KEY=VALUE` of a repeatable flag. nullopt, after saying on stderr what `flag`
/// wants (`form`), when KEY is empty or VALUE is, unless `secret`: then VALUE may be empty and
/// only KEY is ever printed.
std::optional<std::pair<std::string, std::string>> SplitAssignment(const std::string& spec,
                                                                    const char* flag,
                                                                    const char* form,
                                                                    bool secret = false) {
  const std::size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0 || (!secret && eq + 1 == spec.size())) {
    const std::string shown = secret ? spec.substr(0, eq) : spec;
    std::fprintf(stderr, "%s wants %s, got \"%s\"\n", flag, form, shown.c_str());
    return std::nullopt;
  }
  return std::make_pair(spec.substr(0, eq), spec.substr(eq + 1));
}

}  // namespace

int main(int argc, char** argv) {
  using agentcore::server::ServerConfig;
  ServerConfig config;
  // The environment gives the defaults (Cast's variable names); flags override it.
  config.port = static_cast<std::uint16_t>(std::stoi(Env("PORT", "3234")));
  config.database_url = Env("DATABASE_URL", config.database_url);
  config.auth_mode = Env("AUTH_MODE");
  config.space_id = Env("SPACE_ID");
  config.jwt_secret = Env("JWT_SECRET");
  config.container_secret = Env("CAST_CONTAINER_SECRET");
  config.production = Env("NODE_ENV") == "production";
  config.data_dir = Env("AGENTCORE_DATA_DIR", config.data_dir);
  config.public_url = Env("PUBLIC_URL");
  config.host = Env("HOST");
  config.metrics_token = Env("METRICS_TOKEN");

  CLI::App cli{"agentcore-server: Cast-compatible agent backend"};
  {
    std::string footer = "Environment (flags win over it):";
    for (const agentcore::server::EnvironmentVariable& v : agentcore::server::kServerEnvironment) {
      footer += "\n  " + std::string(v.name) + ": " + std::string(v.meaning);
    }
    cli.footer(footer);
  }
  cli.set_version_flag("--version", std::string(AGENTCORE_VERSION_STRING));
  cli.add_option("--host", config.host,
                 "Listen address (env HOST; default 127.0.0.1 in dev mode, else 0.0.0.0)");
  cli.add_option("--port", config.port, "Listen port (env PORT)");
  cli.add_option("--database-url", config.database_url,
                 "sqlite:///path, a path, or postgres://... (env DATABASE_URL)");
  cli.add_option("--data-dir", config.data_dir,
                 "Agent logs, pid files, blobs (env AGENTCORE_DATA_DIR; default: "
                 "$XDG_DATA_HOME/agentcore/data, the database beside it)");
  cli.add_option("--metrics-token", config.metrics_token,
                 "Bearer token that may read /metrics (env METRICS_TOKEN)");
  cli.add_option("--max-agents-per-space", config.max_agents_per_space,
                 "Agents (not archived) a space may have; 0: no cap");
  cli.add_option("--max-running-agents-per-space", config.max_running_agents_per_space,
                 "Agents a space may run (starting or online) at once; 0: no cap");
  cli.add_option("--auth-failure-limit", config.auth_failure_limit,
                 "Failed authentications per client IP in a window before 429; 0: off");
  cli.add_option("--requests-per-minute", config.requests_per_minute,
                 "Requests per minute of an API key or user without a limit of its own or a "
                 "tier (token bucket; 0: off)");
  cli.add_option("--max-running-sessions", config.max_running_sessions,
                 "Running sessions of an API key without a cap of its own or a tier");
  cli.add_option("--tier", config.tiers,
                 "A tier of API keys, NAME=RPM:SESSIONS (e.g. pro=600:50); repeatable");
  // Sessions (docs/sessions.md).
  config.session_runtime = Env("SESSION_RUNTIME", config.session_runtime);
  cli.add_option("--session-runtime", config.session_runtime,
                 "sandbox: sessions run on bubblewrap; docker: sessions with an image run on the "
                 "engine at DOCKER_HOST too (env SESSION_RUNTIME)");
  config.sessions.default_image = Env("SESSION_IMAGE");
  cli.add_option("--session-image", config.sessions.default_image,
                 "Image of a session created with neither image nor command (env SESSION_IMAGE)");
  cli.add_option("--max-sessions-per-space", config.sessions.max_sessions_per_space,
                 "Sessions (not deleted) a space may have; 0: no cap");
  std::int64_t session_idle_ms = config.sessions.idle_timeout.count();
  cli.add_option("--session-idle-timeout-ms", session_idle_ms,
                 "A running session with no client, output or call for this long is stopped; 0: "
                 "never");
  cli.add_option("--ip-requests-per-minute", config.ip_requests_per_minute,
                 "Requests per minute per client IP on the authentication routes (login, "
                 "register, dev login); 0: off");
  cli.add_option("--auth-mode", config.auth_mode, "\"dev\" mounts /auth/dev/* (env AUTH_MODE)");
  cli.add_option("--space-id", config.space_id, "Space of API keys (env SPACE_ID)");
  cli.add_option("--public-url", config.public_url, "URL agents use to reach this server");
  cli.add_option("--threads", config.threads, "io threads (0: one per core)");
  cli.add_option("--blocking-threads", config.blocking_threads, "Threads for blocking store calls");
  cli.add_option("--max-connections", config.limits.max_connections,
                 "Open connections at most (0: from RLIMIT_NOFILE, see docs/deployment.md)");
  cli.add_option("--max-header-bytes", config.limits.max_header_bytes, "Request head limit (431)");
  cli.add_option("--max-body-bytes", config.limits.max_body_bytes, "Default body limit (413)");
  cli.add_option("--subscriber-backlog-bytes", config.subscriber_backlog_bytes,
                 "Unsent bytes a WebSocket/SSE connection may hold (then it catches up)");
  cli.add_option("--read-cache-bytes", config.read_cache_bytes,
                 "Exact cache of message pages and routing reads, bytes (0: off; SQLite only)");
  bool no_access_log = false;
  cli.add_flag("--no-access-log", no_access_log, "Do not write the JSON access log");
  cli.add_flag("--compat-open-checkin", config.compat_open_checkin,
               "Accept checkin/heartbeat/legacy ingest without a container token (as Cast)");
  config.runtime = Env("AGENT_RUNTIME", config.runtime);
  cli.add_option("--runtime", config.runtime,
                 "Runtime that starts agents: local, docker, kubernetes or fly (env AGENT_RUNTIME)");
  std::vector<std::string> agent_runtimes;
  cli.add_option("--agent-runtime", agent_runtimes,
                 "TYPE=RUNTIME: agents of TYPE run on another runtime than --runtime; repeatable")
      ->take_all();
  // Fly.io Machines runtime (--runtime fly)
  config.fly_api_token = Env("FLY_API_TOKEN");
  config.fly_app_name = Env("FLY_APP_NAME");
  config.fly_region = Env("FLY_REGION", config.fly_region);
  config.fly_image = Env("FLY_IMAGE");
  cli.add_option("--fly-app", config.fly_app_name,
                 "Fly app of the agents' machines (env FLY_APP_NAME)");
  cli.add_option("--fly-region", config.fly_region, "Region of new Fly machines (env FLY_REGION)");
  cli.add_option("--fly-image", config.fly_image,
                 "Image of the agents' Fly machines (env FLY_IMAGE)");
  cli.add_option("--fly-api-url", config.fly_api_url, "Fly Machines API base URL (tests: a fake)");
  config.kube_config = Env("KUBECONFIG");
  config.kube_config = config.kube_config.substr(0, config.kube_config.find(':'));
  cli.add_option("--kube-config", config.kube_config,
                 "kubeconfig of the kubernetes runtime (env KUBECONFIG, its first path); "
                 "default: the in-cluster service account");
  cli.add_option("--kube-context", config.kube_context,
                 "kubeconfig context (default: its current-context)");
  cli.add_option("--kube-namespace-prefix", config.kube_namespace_prefix,
                 "Prefix of the namespace each space's agents run in (kubernetes runtime)");
  std::vector<std::string> agent_commands;
  cli.add_option("--agent-command", agent_commands,
                 "TYPE=CMD: command line for agents of TYPE (\"*\": every other type); "
                 "repeatable; default: builder-agent for type builder, echo-agent for the "
                 "others, next to this binary")
      ->take_all();
  // The Docker runtime (docs/runtimes.md "Selection").
  config.docker_host = Env("DOCKER_HOST");
  cli.add_option("--docker-host", config.docker_host,
                 "Docker/Podman engine, unix:///path (env DOCKER_HOST; default "
                 "unix:///var/run/docker.sock)");
  std::vector<std::string> agent_images;
  if (std::string image = Env("AGENT_IMAGE"); !image.empty()) config.agent_images["*"] = image;
  cli.add_option("--agent-image", agent_images,
                 "TYPE=IMAGE: container image for agents of TYPE (\"*\": every other type; env "
                 "AGENT_IMAGE); repeatable; default: localhost/agentcore-echo-agent:latest")
      ->take_all();
  cli.add_option("--docker-network", config.docker_network,
                 "Network mode of agent containers (default host: they reach --public-url)");
  double agent_cpus = 0;
  long long agent_memory_mb = 0;
  cli.add_option("--agent-cpus", agent_cpus, "CPU limit of each agent container (0: none)");
  cli.add_option("--agent-memory-mb", agent_memory_mb,
                 "Memory limit of each agent container in MiB (0: none)");
  std::vector<std::string> agent_env;
  cli.add_option("--agent-env", agent_env,
                 "NAME=VALUE: environment of every agent container (values never printed); "
                 "repeatable")
      ->take_all();
  cli.add_option("--runtime-instance", config.runtime_instance,
                 "Instance label of this server's containers (default: derived from the data "
                 "directory, so a restart reaps what a crash left)");
  long long staleness_ms = config.heartbeat_staleness.count();
  long long activation_timeout_ms = config.activation_timeout.count();
  cli.add_option("--heartbeat-staleness-ms", staleness_ms, "Agent heartbeat staleness");
  cli.add_option("--activation-timeout-ms", activation_timeout_ms,
                 "An agent that has not checked in by then is stopped and marked failed");
  long long header_timeout_ms = config.limits.header_timeout.count();
  long long body_timeout_ms = config.limits.body_timeout.count();
  long long idle_timeout_ms = config.limits.idle_timeout.count();
  long long grace_ms = config.shutdown_grace.count();
  long long auth_window_ms = config.auth_failure_window.count();
  cli.add_option("--auth-failure-window-ms", auth_window_ms,
                 "The window of --auth-failure-limit, and how long a blocked IP waits");
  long long stream_save_ms = config.stream_save_interval.count();
  long long write_timeout_ms = config.write_timeout.count();
  cli.add_option("--write-timeout-ms", write_timeout_ms,
                 "A WebSocket/SSE connection that takes no byte for this long is closed");
  cli.add_option("--stream-save-interval-ms", stream_save_ms,
                 "How often a streamed Tymbal upload saves its open messages' text");
  cli.add_option("--header-timeout-ms", header_timeout_ms, "Request head deadline (408)");
  cli.add_option("--body-timeout-ms", body_timeout_ms, "Deadline between body pieces (408)");
  cli.add_option("--idle-timeout-ms", idle_timeout_ms, "Keep-alive idle deadline");
  cli.add_option("--shutdown-grace-ms", grace_ms, "In-flight requests get this long at stop");
  // Clusters (docs/cluster.md).
  config.node_id = Env("AGENTCORE_NODE_ID");
  cli.add_option("--node-id", config.node_id,
                 "This node's id in leases and published facts (env AGENTCORE_NODE_ID; default "
                 "<hostname>-<pid>-<random>, new at every start)");
  long long lease_ms = config.lease.count();
  if (std::string n = Env("AGENTCORE_LEASE_MS"); !n.empty()) {
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), lease_ms);
    if (ec != std::errc() || end != n.data() + n.size()) {
      std::fprintf(stderr, "AGENTCORE_LEASE_MS wants an integer, got \"%s\"\n", n.c_str());
      return 1;
    }
  }
  cli.add_option("--lease-ms", lease_ms,
                 "Lease of what this node drives (agents, sessions), renewed every third of it "
                 "(env AGENTCORE_LEASE_MS; 30 to 3600000; PostgreSQL clusters)");
  long long request_timeout_ms = config.limits.request_timeout.count();
  long long stream_rate_window_ms = config.limits.stream_rate_window.count();
  cli.add_option("--request-timeout-ms", request_timeout_ms,
                 "Whole-request deadline, head and body, for non-streaming routes (408)");
  cli.add_option("--stream-min-bytes-per-second", config.limits.stream_min_bytes_per_second,
                 "Slowest streamed upload accepted, averaged over --stream-rate-window-ms (0: off)");
  cli.add_option("--stream-rate-window-ms", stream_rate_window_ms,
                 "Window of the streamed upload rate check");
  // Runs (docs/runs.md). AGENT_API_KEY is a secret: environment only, never printed.
  config.agent_api_key = Env("AGENT_API_KEY");
  if (std::string n = Env("AGENT_MAX_CONCURRENT_RUNS"); !n.empty()) {
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), config.max_concurrent_runs);
    if (ec != std::errc() || end != n.data() + n.size()) {
      std::fprintf(stderr, "AGENT_MAX_CONCURRENT_RUNS wants a non-negative integer, got \"%s\"\n",
                   n.c_str());
      return 1;
    }
  }
  cli.add_option("--max-concurrent-runs", config.max_concurrent_runs,
                 "Runs planning or building at once (env AGENT_MAX_CONCURRENT_RUNS; 0: this "
                 "server only serves the API)");
  cli.add_option("--run-max-attempts", config.run_max_attempts,
                 "Attempts per run before it fails (at least 1)");
  long long run_plan_timeout_ms = config.run_plan_timeout.count();
  long long run_build_timeout_ms = config.run_build_timeout.count();
  cli.add_option("--run-plan-timeout-ms", run_plan_timeout_ms,
                 "A run's plan phase that has not ended by then fails the attempt");
  cli.add_option("--run-build-timeout-ms", run_build_timeout_ms,
                 "A run's build phase that has not ended by then fails the attempt");
  config.auto_git_commit = Env("AUTO_GIT_COMMIT") != "false";
  config.git_author_name = Env("AGENT_GIT_AUTHOR_NAME");
  config.git_author_email = Env("AGENT_GIT_AUTHOR_EMAIL");
  config.git_committer_name = Env("AGENT_GIT_COMMITTER_NAME");
  config.git_committer_email = Env("AGENT_GIT_COMMITTER_EMAIL");
  config.webhook_secret = Env("AGENT_WEBHOOK_SECRET");
  cli.add_option("--webhook-secret", config.webhook_secret,
                 "Signs run webhooks (env AGENT_WEBHOOK_SECRET; never printed; default: the "
                 "container secret)");
  cli.add_option("--download-max-mb", config.download_max_mb,
                 "download.zip refuses (413) a workspace larger than this many MiB");
  cli.add_option("--model-pricing", config.model_pricing_file,
                 "JSON array of model prices ({provider, model, inputUsdPerMTok, "
                 "outputUsdPerMTok, active?}) stored at start");
  config.workspace_backend = Env("AGENT_WORKSPACE_BACKEND", Env("WORKSPACE_BACKEND", "host"));
  CLI11_PARSE(cli, argc, argv);
  config.run_plan_timeout = std::chrono::milliseconds(run_plan_timeout_ms);
  config.sessions.idle_timeout = std::chrono::milliseconds(session_idle_ms);
  config.run_build_timeout = std::chrono::milliseconds(run_build_timeout_ms);
  config.access_log = !no_access_log;
  // Descriptors: the soft limit goes up to the hard one, and the connection limit, unless
  // given, leaves room below it for the store, agents and logs (issue 13 §5).
  std::uint64_t nofile = agentcore::server::RaiseFileLimit();
  if (config.limits.max_connections == 0) {
    config.limits.max_connections = agentcore::server::DefaultMaxConnections(nofile);
  }
  config.limits.header_timeout = std::chrono::milliseconds(header_timeout_ms);
  config.limits.body_timeout = std::chrono::milliseconds(body_timeout_ms);
  config.limits.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  config.shutdown_grace = std::chrono::milliseconds(grace_ms);
  config.lease = std::chrono::milliseconds(lease_ms);
  config.auth_failure_window = std::chrono::milliseconds(auth_window_ms);
  config.limits.request_timeout = std::chrono::milliseconds(request_timeout_ms);
  config.limits.stream_rate_window = std::chrono::milliseconds(stream_rate_window_ms);
  config.stream_save_interval = std::chrono::milliseconds(stream_save_ms);
  config.write_timeout = std::chrono::milliseconds(write_timeout_ms);
  config.heartbeat_staleness = std::chrono::milliseconds(staleness_ms);
  config.activation_timeout = std::chrono::milliseconds(activation_timeout_ms);
  for (const std::string& spec : agent_commands) {
    auto kv = SplitAssignment(spec, "--agent-command", "TYPE=CMD");
    if (!kv) return 1;
    std::vector<std::string> argv_words;
    std::string word;
    for (char ch : kv->second) {
      if (ch == ' ' || ch == '\t') {
        if (!word.empty()) argv_words.push_back(std::move(word));
        word.clear();
      } else {
        word.push_back(ch);
      }
    }
    if (!word.empty()) argv_words.push_back(std::move(word));
    config.agent_commands[kv->first] = std::move(argv_words);
  }
  for (const std::string& spec : agent_runtimes) {
    auto kv = SplitAssignment(spec, "--agent-runtime", "TYPE=RUNTIME");
    if (!kv) return 1;
    config.agent_runtimes[kv->first] = kv->second;
  }
  // Per type over AGENT_IMAGE's "*" (a flag for "*" replaces it; later flags win).
  for (const std::string& spec : agent_images) {
    auto kv = SplitAssignment(spec, "--agent-image", "TYPE=IMAGE");
    if (!kv) return 1;
    config.agent_images[kv->first] = kv->second;
  }
  for (const std::string& spec : agent_env) {
    auto kv = SplitAssignment(spec, "--agent-env", "NAME=VALUE", /*secret=*/true);
    if (!kv) return 1;
    config.agent_env.push_back(std::move(*kv));
  }
  if (agent_cpus < 0 || agent_memory_mb < 0) {
    std::fprintf(stderr, "--agent-cpus and --agent-memory-mb must not be negative\n");
    return 1;
  }
  config.agent_cpu_millis = static_cast<std::int64_t>(agent_cpus * 1000 + 0.5);
  config.agent_memory_bytes = static_cast<std::int64_t>(agent_memory_mb) << 20;
  if (config.public_url.empty()) {
    config.public_url = "http://127.0.0.1:" + std::to_string(config.port);
  }

  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto app = agentcore::server::App::Open(config);
  if (!app.ok()) {
    // JSON-escaped: the message may quote names (e.g. an unknown --runtime).
    std::string line;
    agentcore::JsonWriter(&line)
        .BeginObject()
        .Field("event", "error")
        .Field("message", app.status().ToString())
        .EndObject();
    std::fprintf(stderr, "%s\n", line.c_str());
    return 1;
  }
  std::printf("%s\n", agentcore::server::DescribeConfig((*app)->config()).c_str());
  std::printf("%s\n", agentcore::server::DescribeSecurity((*app)->config()).c_str());
  // Out before the port opens: whoever sees /health answer can read the configuration.
  std::fflush(stdout);
  if (agentcore::Status s = (*app)->Start(); !s.ok()) {
    std::fprintf(stderr, "{\"event\":\"error\",\"message\":\"%s\"}\n", s.ToString().c_str());
    return 1;
  }
  std::printf("{\"event\":\"listening\",\"port\":%u}\n", unsigned((*app)->port()));
  std::fflush(stdout);

  // The access log is written with buffered stdio (a write per line would cost a syscall per
  // request); this thread pushes it out every 200 ms so a tail or a collector sees it soon.
  std::mutex flush_mu;
  std::condition_variable flush_cv;
  bool flush_stop = false;
  std::thread flusher([&] {
    std::unique_lock lock(flush_mu);
    while (!flush_cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return flush_stop; })) {
      std::fflush(stdout);
    }
  });

  int received = 0;
  sigwait(&signals, &received);
  std::printf("{\"event\":\"stopping\",\"signal\":%d}\n", received);
  std::fflush(stdout);
  // /ready turns 503 and the node's leases go back first: other nodes take over at once.
  (*app)->hub().Drain();
  (*app)->Stop();
  {
    std::lock_guard lock(flush_mu);
    flush_stop = true;
  }
  flush_cv.notify_one();
  flusher.join();
  std::printf("{\"event\":\"stopped\"}\n");
  return 0;
}
