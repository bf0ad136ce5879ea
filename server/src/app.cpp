// SPDX-License-Identifier: Apache-2.0
#include "app.hpp"

#include <cstdio>
#include <fstream>
#include <iterator>
#include <system_error>
#include <mutex>
#include <thread>

#include <agentcore/hub/runs.hpp>
#include <agentcore/json.hpp>
#include <agentcore/json_writer.hpp>

#include "auth_guard.hpp"
#include "rate_limit_guard.hpp"
#include "handlers/handlers.hpp"
#include "openapi/document.hpp"
#include "runtime_config.hpp"
#include "ws/attach_session.hpp"

namespace agentcore::server {
namespace {

/// The hub's parts as the flags and the environment configure them: the store URL, the
/// runtimes (runtime_config.hpp), the agent policy, the secrets.
Result<HubOptions> HubOptionsFrom(const ServerConfig& config) {
  HubOptions o;
  AGENTCORE_ASSIGN_OR_RETURN(o.runtimes, RuntimeSpecsFrom(config));
  o.store_url = config.database_url;
  o.cluster.node_id = config.node_id;
  o.cluster.lease = config.lease;
  o.policy.heartbeat_staleness = config.heartbeat_staleness;
  o.policy.activation_timeout = config.activation_timeout;
  o.push_timeout = config.agent_push_timeout;
  o.jwt_secret = config.jwt_secret;
  o.container_secret = config.container_secret;
  o.stop_agents_on_close = !config.agents_outlive_server;
  o.max_agents_per_space = config.max_agents_per_space;
  o.max_running_agents_per_space = config.max_running_agents_per_space;
  // The routing records' share of the read cache (read_cache.hpp) lives in the hub.
  o.routing_cache_bytes = config.read_cache_bytes / 8;
  o.ingest.stream_save_interval = config.stream_save_interval;
  // The run service (hub/runs.hpp): workspaces under the agents' data directory.
  o.runs.data_dir = config.data_dir;
  o.runs.max_concurrent_runs = config.max_concurrent_runs;
  o.runs.policy.max_attempts = config.run_max_attempts;
  o.runs.plan_timeout = config.run_plan_timeout;
  o.runs.build_timeout = config.run_build_timeout;
  o.runs.auto_git_commit = config.auto_git_commit;
  o.runs.git_author_name = config.git_author_name;
  o.runs.git_author_email = config.git_author_email;
  o.runs.git_committer_name = config.git_committer_name;
  o.runs.git_committer_email = config.git_committer_email;
  o.runs.webhook_secret = config.webhook_secret;
  o.runs.download_max_bytes = config.download_max_mb << 20;
  o.runs.agent_api_key = config.agent_api_key;
  // Rate limit tiers (hub/rate_limits.hpp): the flags' defaults and each --tier.
  o.rate_limit_tiers.defaults = {config.requests_per_minute, config.max_running_sessions};
  for (const std::string& spec : config.tiers) {
    Result<std::pair<std::string, RateLimitTier>> tier = ParseRateLimitTier(spec);
    if (!tier.ok()) return InvalidArgument("--tier: " + tier.status().message());
    if (!o.rate_limit_tiers.tiers.emplace(tier->first, tier->second).second) {
      return InvalidArgument("--tier: tier \"" + tier->first + "\" is given twice");
    }
  }
  // Sessions (hub/sessions.hpp): workspaces under the server's data directory.
  o.sessions = config.sessions;
  AGENTCORE_RETURN_IF_ERROR(ConfigureSessions(config, &o.sessions));
  return o;
}

/// --model-pricing: the file's rows (ParseModelPrices) written to the store. Errors name the
/// file: it cannot be read, is not JSON, or a row is bad (ParseModelPrices' message).
Status LoadModelPricing(const std::string& path, Store& store) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgument("--model-pricing: cannot read \"" + path + "\"");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Result<Json> rows = ParseJson(text);
  if (!rows.ok()) {
    return InvalidArgument("--model-pricing: \"" + path + "\" is not JSON: " +
                           rows.status().message());
  }
  Result<std::vector<ModelPrice>> prices = ParseModelPrices(*rows);
  if (!prices.ok()) {
    return InvalidArgument("--model-pricing: \"" + path + "\": " + prices.status().message());
  }
  for (const ModelPrice& price : *prices) {
    if (Status s = store.PutModelPrice(price); !s.ok()) {
      return Status(s.code(), "--model-pricing: storing " + price.provider + "/" + price.model +
                                  ": " + s.message());
    }
  }
  return Status();
}

}  // namespace

App::App(ServerConfig config, Clock* clock)
    : config_(std::move(config)),
      clock_(clock),
      // 7/8 of --read-cache-bytes for pages; the hub's routing cache has the other eighth.
      read_cache_(config_.read_cache_bytes - config_.read_cache_bytes / 8, config_.threads),
      blocking_(config_.blocking_threads == 0 ? 1 : config_.blocking_threads) {}

App::~App() { Stop(); }

Result<std::unique_ptr<App>> App::Open(ServerConfig config, Clock* clock) {
  // Host, data location, and real secrets outside dev mode (issue 13 §2).
  AGENTCORE_RETURN_IF_ERROR(ResolveDefaults(&config));
  if (config.threads == 0) {
    config.threads = std::max(1u, std::thread::hardware_concurrency());
  }
  std::unique_ptr<App> app(new App(std::move(config), clock));
  AGENTCORE_ASSIGN_OR_RETURN(HubOptions hub_options, HubOptionsFrom(app->config_));
  hub_options.clock = clock;
  hub_options.publisher = &app->publisher_;
  hub_options.executor = &app->executor_;
  AGENTCORE_ASSIGN_OR_RETURN(app->hub_, OpenHub(std::move(hub_options)));
  app->config_.node_id = app->hub_->node_id();
  app->config_.clustered = app->hub_->clustered();
  if (!app->config_.model_pricing_file.empty()) {
    AGENTCORE_RETURN_IF_ERROR(LoadModelPricing(app->config_.model_pricing_file, app->store()));
  }

  RegisterHandlers(app->router_);
  // Built before the guards wrap the handlers (they change no documentation); a route without
  // its documentation fails here, so the server cannot serve an undocumented route.
  AGENTCORE_ASSIGN_OR_RETURN(app->openapi_document_, BuildOpenApiDocument(app->router_));
  // Request rate limits per API key, user and (authentication routes) client IP, inside the
  // failed-authentication throttle, so a blocked IP's credentials are never looked up
  // (rate_limit_guard.hpp).
  app->caller_limiter_ = std::make_unique<RateLimiter>(RateLimiterOptions{}, clock);
  app->address_limiter_ = std::make_unique<RateLimiter>(RateLimiterOptions{}, clock);
  app->rate_limit_guard_.callers = app->caller_limiter_.get();
  app->rate_limit_guard_.addresses = app->address_limiter_.get();
  app->rate_limit_guard_.defaults = {app->config_.requests_per_minute,
                                     app->config_.max_running_sessions};
  app->rate_limit_guard_.ip_requests_per_minute = app->config_.ip_requests_per_minute;
  app->router_.WrapAll([g = &app->rate_limit_guard_](Route& route) {
    GuardWithRateLimits(route, g);
  });
  // Per-IP throttling of failed authentication around every route (auth_guard.hpp).
  AuthThrottleOptions throttle;
  throttle.max_failures = app->config_.auth_failure_limit;
  throttle.window = app->config_.auth_failure_window;
  app->auth_throttle_ = std::make_unique<AuthThrottle>(throttle, clock);
  app->router_.WrapAll(
      [t = app->auth_throttle_.get()](Route& route) { GuardWithThrottle(route, t); });

  HttpServerOptions options;
  options.host = app->config_.host;
  options.port = app->config_.port;
  options.threads = app->config_.threads;
  options.limits = app->config_.limits;
  if (app->config_.access_log) {
    App* raw = app.get();
    options.access_log = [raw](const AccessRecord& r) { raw->WriteAccessLog(r); };
  }
  app->http_ = std::make_unique<HttpServer>(std::move(options), &app->router_, app.get());
  for (unsigned i = 0; i < app->config_.threads; ++i) {
    app->broadcaster_.AddContext(&app->http_->context(i));
  }
  return app;
}

Status App::Start() {
  // Agents an earlier process left running are ended before anything can reach them.
  if (Status s = hub_->agents().Reconcile(); !s.ok()) {
    std::fprintf(stderr, "{\"event\":\"error\",\"what\":\"reconcile agents\",\"message\":\"%s\"}\n",
                 s.ToString().c_str());
  }
  AGENTCORE_RETURN_IF_ERROR(http_->Start());
  // Agents learn the API URL (CAST_API_URL) only now that the port is bound.
  const std::string& url = config_.public_url;
  hub_->agents().SetApiUrl(!url.empty() && !url.ends_with(":0")
                               ? url
                               : "http://127.0.0.1:" + std::to_string(port()));
  // Runs an earlier process of this instance held are requeued, then runs are claimed: only
  // now, since a claimed run activates its builder, which must be told the API URL.
  AGENTCORE_RETURN_IF_ERROR(hub_->runs().Start());
  sweep_timer_ = std::make_unique<asio::steady_timer>(http_->context(0));
  ScheduleSweep();
  return Status();
}

void App::ScheduleSweep() {
  sweep_timer_->expires_after(config_.agent_sweep_interval);
  sweep_timer_->async_wait([this](std::error_code ec) {
    if (ec) return;  // cancelled: the io context stops
    if (!sweep_running_.exchange(true)) {
      asio::post(blocking_, [this] {
        const UnixMillis now = clock_->NowMillis();
        hub_->agents().Sweep(now);
        hub_->runs().Sweep(now);
        hub_->sessions().Sweep(now);
        sweep_running_ = false;
      });
    }
    ScheduleSweep();
  });
}

void App::Stop() {
  if (stopped_ || !http_) return;
  stopped_ = true;
  // Attached clients hear 1001 (going away) before their sessions are stopped: a session's
  // exit must not overtake it as an exit frame and a normal close.
  AttachSession::StopAll(std::chrono::milliseconds(1000));
  // Agents first: their uploads end (interrupted) while the server still handles them.
  hub_->Close();
  http_->Stop(config_.shutdown_grace);
  blocking_.join();  // every offloaded store call (and sweep) has returned
  hub_.reset();      // closes the store: the SQLite writer commits what it holds
}

void App::WriteAccessLog(const AccessRecord& r) {
  std::string line;
  line.reserve(160);
  JsonWriter(&line)
      .BeginObject()
      .Field("t", FormatIsoTimestamp(clock_->NowMillis()))
      .Field("method", r.method)
      .Field("path", r.path)
      .Field("status", r.status)
      .Field("us", r.micros)
      .Field("in", r.request_bytes)
      .Field("out", r.response_bytes)
      .Field("remote", r.remote)
      .EndObject();
  line.push_back('\n');
  std::fwrite(line.data(), 1, line.size(), stdout);  // one write per line: lines never interleave
}

Result<Principal> App::Authenticate(const Request& request) {
  return hub_->credentials().Authenticate(request.Find("Authorization").value_or(""),
                                          request.Find("Cookie").value_or(""));
}

Result<AgentIdentity> App::AuthenticateContainer(const Request& request) {
  AGENTCORE_ASSIGN_OR_RETURN(
      Principal caller,
      hub_->credentials().AuthenticateContainer(request.Find("Authorization").value_or("")));
  return std::move(caller.agent);
}

}  // namespace agentcore::server
