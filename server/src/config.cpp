// SPDX-License-Identifier: Apache-2.0
#include "config.hpp"

#include <filesystem>
#include <system_error>

#include <agentcore/hub/credentials.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/json_writer.hpp>

#include "runtime_config.hpp"

namespace agentcore::server {

bool IsDevMode(const ServerConfig& config) { return config.auth_mode == "dev"; }

bool IsLoopbackHost(std::string_view host) {
  return host.starts_with("127.") || host == "::1" || host == "localhost";
}

Status ResolveDefaults(ServerConfig* c) {
  // One rule (hub/credentials.hpp): real secrets unless in dev mode; production always.
  AGENTCORE_RETURN_IF_ERROR(
      CheckSecrets(IsDevMode(*c) && !c->production, c->jwt_secret, c->container_secret));
  // Runs (docs/runs.md): workspaces live on this machine; there is no other backend here.
  if (c->workspace_backend.empty()) c->workspace_backend = "host";
  if (c->workspace_backend != "host") {
    return InvalidArgument("workspace backend \"" + c->workspace_backend +
                           "\" is not supported (AGENT_WORKSPACE_BACKEND): only \"host\"");
  }
  if (c->run_max_attempts < 1) return InvalidArgument("--run-max-attempts must be at least 1");
  if (c->run_plan_timeout.count() <= 0 || c->run_build_timeout.count() <= 0) {
    return InvalidArgument("--run-plan-timeout-ms and --run-build-timeout-ms must be positive");
  }
  // Dev mode lets anyone who reaches the port log in as anyone: loopback unless told.
  if (c->host.empty()) c->host = IsDevMode(*c) ? "127.0.0.1" : "0.0.0.0";
  if (c->database_url.empty() || c->data_dir.empty()) {
    const std::string home = DefaultDataHome();
    std::error_code ec;
    std::filesystem::create_directories(home, ec);
    if (ec) {
      return Status(ErrorCode::kUnavailable, "cannot create the data directory \"" + home +
                                                 "\" (" + ec.message() +
                                                 "); set DATABASE_URL and AGENTCORE_DATA_DIR");
    }
    if (c->database_url.empty()) c->database_url = "sqlite://" + home + "/agentcore.db";
    if (c->data_dir.empty()) c->data_dir = home + "/data";
  }
  return Status();
}

std::string DescribeSecurity(const ServerConfig& c) {
  const bool dev = IsDevMode(c);
  const bool loopback = IsLoopbackHost(c.host);
  std::string_view secrets = "real";
  if (c.jwt_secret.empty() || c.container_secret.empty()) {
    secrets = "public development fallbacks";
  } else if (!CheckSecrets(false, c.jwt_secret, c.container_secret).ok()) {
    secrets = "weak (dev mode only)";
  }
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Field("event", "security")
      .Field("authMode", dev ? "dev" : (c.auth_mode.empty() ? "keys" : c.auth_mode))
      .Field("host", c.host)
      .Field("loopbackOnly", loopback)
      .Field("devLogin", dev)
      .Field("secrets", secrets)
      .Field("metrics", dev && loopback ? "open (dev mode on loopback)"
                        : c.metrics_token.empty() ? "session or API key"
                                                  : "session, API key or metrics token")
      .Field("maxAgentsPerSpace", c.max_agents_per_space)
      .Field("maxRunningAgentsPerSpace", c.max_running_agents_per_space)
      .Field("authFailureLimit", c.auth_failure_limit)
      .Field("authFailureWindowMs", c.auth_failure_window.count());
  if (dev && !loopback) {
    w.Field("warning",
            "dev mode on a non-loopback address: anyone who reaches this port can log in as any "
            "user");
  }
  w.EndObject();
  return out;
}

std::string DescribeConfig(const ServerConfig& c) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject()
      .Field("event", "config")
      .Field("host", c.host)
      .Field("port", c.port)
      .Field("databaseUrl", c.database_url.rfind("postgres", 0) == 0 ? "postgres://(redacted)"
                                                                      : c.database_url)
      .Field("dataDir", c.data_dir)
      .Field("runtime", DescribeRuntimes(c))
      .Field("authMode", c.auth_mode.empty() ? "keys" : c.auth_mode)
      .Field("spaceId", c.space_id)
      .Field("jwtSecret", c.jwt_secret.empty() ? "dev fallback" : "set")
      .Field("containerSecret", c.container_secret.empty() ? "dev fallback" : "set")
      .Field("production", c.production)
      .Field("publicUrl", c.public_url)
      .Field("threads", c.threads)
      .Field("blockingThreads", c.blocking_threads)
      .Field("maxHeaderBytes", c.limits.max_header_bytes)
      .Field("maxBodyBytes", c.limits.max_body_bytes)
      .Field("tymbalMaxBodyBytes", c.tymbal_max_body_bytes)
      .Field("headerTimeoutMs", c.limits.header_timeout.count())
      .Field("bodyTimeoutMs", c.limits.body_timeout.count())
      .Field("idleTimeoutMs", c.limits.idle_timeout.count())
      .Field("requestTimeoutMs", c.limits.request_timeout.count())
      .Field("streamMinBytesPerSecond", c.limits.stream_min_bytes_per_second)
      .Field("streamRateWindowMs", c.limits.stream_rate_window.count())
      .Field("maxConnections", c.limits.max_connections)
      .Field("wsMaxMessageBytes", c.ws_max_message_bytes)
      .Field("subscriberBacklogBytes", c.subscriber_backlog_bytes)
      .Field("writeTimeoutMs", c.write_timeout.count())
      .Field("sseHeartbeatMs", c.sse_heartbeat.count())
      .Field("streamSaveIntervalMs", c.stream_save_interval.count())
      .Field("shutdownGraceMs", c.shutdown_grace.count())
      .Field("node", c.node_id)
      .Field("clustered", c.clustered)
      .Field("leaseMs", c.lease.count())
      .Field("compatOpenCheckin", c.compat_open_checkin)
      .Field("accessLog", c.access_log)
      .Field("readCacheBytes", c.read_cache_bytes)
      .Field("maxAgentsPerSpace", c.max_agents_per_space)
      .Field("maxRunningAgentsPerSpace", c.max_running_agents_per_space)
      .Field("authFailureLimit", c.auth_failure_limit)
      .Field("authFailureWindowMs", c.auth_failure_window.count())
      .Field("requestsPerMinute", c.requests_per_minute)
      .Field("maxRunningSessions", c.max_running_sessions)
      .Field("tiers", static_cast<std::uint64_t>(c.tiers.size()))
      .Field("ipRequestsPerMinute", c.ip_requests_per_minute)
      .Field("metricsToken", c.metrics_token.empty() ? "none" : "set")
      .Field("agentApiKey", c.agent_api_key.empty() ? "not set" : "set")
      .Field("maxConcurrentRuns", c.max_concurrent_runs)
      .Field("runMaxAttempts", c.run_max_attempts)
      .Field("runPlanTimeoutMs", c.run_plan_timeout.count())
      .Field("runBuildTimeoutMs", c.run_build_timeout.count())
      .Field("autoGitCommit", c.auto_git_commit)
      .Field("webhookSecret", c.webhook_secret.empty() ? "container secret" : "set")
      .Field("downloadMaxMb", c.download_max_mb)
      .Field("modelPricing", c.model_pricing_file.empty() ? "none" : c.model_pricing_file)
      .Field("workspaceBackend", c.workspace_backend)
      .EndObject();
  return out;
}

}  // namespace agentcore::server
