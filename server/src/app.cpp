// SPDX-License-Identifier: Apache-2.0
#include "app.hpp"

#include <cstdio>
#include <system_error>
#include <mutex>
#include <thread>

#include <agentcore/json_writer.hpp>

#include "auth_guard.hpp"
#include "handlers/handlers.hpp"
#include "handlers/stream.hpp"
#include "handlers/tymbal.hpp"
#include "runtime_config.hpp"

namespace agentcore::server {
namespace {

/// The hub's parts as the flags and the environment configure them: the store URL, the
/// runtimes (runtime_config.hpp), the agent policy, the secrets.
Result<HubOptions> HubOptionsFrom(const ServerConfig& config) {
  HubOptions o;
  AGENTCORE_ASSIGN_OR_RETURN(o.runtimes, RuntimeSpecsFrom(config));
  o.store_url = config.database_url;
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
  return o;
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

  RegisterHandlers(app->router_);
  RegisterTymbalRoutes(app->router_);
  RegisterStreamRoutes(app->router_);
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
        hub_->agents().Sweep(clock_->NowMillis());
        sweep_running_ = false;
      });
    }
    ScheduleSweep();
  });
}

void App::Stop() {
  if (stopped_ || !http_) return;
  stopped_ = true;
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
