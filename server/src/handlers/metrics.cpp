// SPDX-License-Identifier: Apache-2.0
// GET /metrics: Prometheus text exposition of the engine's counters and the live gauges. It
// needs credentials (a session, an API key, or --metrics-token as a Bearer token) unless the
// server runs in dev mode on a loopback address.

#include <fmt/format.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/hub/channels.hpp>

#include "app.hpp"
#include "handlers/handlers.hpp"
#include "handlers/handler_support.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {
namespace {

/// One sample with its HELP and TYPE lines; `type` is "counter" or "gauge".
void Metric(std::string* out, std::string_view type, std::string_view name, std::string_view help,
            std::uint64_t value) {
  fmt::format_to(std::back_inserter(*out), "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}\n", name,
                 help, type, value);
}

void Counter(std::string* out, std::string_view name, std::string_view help, std::uint64_t value) {
  Metric(out, "counter", name, help, value);
}

void Gauge(std::string* out, std::string_view name, std::string_view help, std::uint64_t value) {
  Metric(out, "gauge", name, help, value);
}

// `Authorization: Bearer <token>` with the configured --metrics-token (compared in constant
// time); false when no token is configured.
bool HasMetricsToken(const ServerConfig& config, const Request& request) {
  if (config.metrics_token.empty()) return false;
  std::optional<std::string_view> auth = request.Find("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || !auth->starts_with(kBearer)) return false;
  return ConstantTimeEquals(auth->substr(kBearer.size()), config.metrics_token);
}

asio::awaitable<Response> Metrics(RequestContext& ctx) {
  App& app = ctx.app();
  const ServerConfig& config = app.config();
  // Open only in dev mode on a loopback address (issue 13 §2); otherwise the metrics token,
  // or a session or API key of any space.
  if (!(IsDevMode(config) && IsLoopbackHost(config.host)) &&
      !HasMetricsToken(config, ctx.request())) {
    // An API key is looked up in the store: AuthenticateCaller does that on the pool.
    Result<Principal> principal = co_await AuthenticateCaller(ctx);
    if (!principal.has_value()) co_return CastError(401, kAuthenticationRequired);
  }
  std::string out;
  const HttpStats* stats = app.http_stats();
  if (stats != nullptr) {
    out.append("# HELP agentcore_http_requests_total Requests answered, by status class.\n"
               "# TYPE agentcore_http_requests_total counter\n");
    static constexpr const char* kClasses[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 0; i < 6; ++i) {
      fmt::format_to(std::back_inserter(out), "agentcore_http_requests_total{{class=\"{}\"}} {}\n",
                     kClasses[i], stats->requests_by_class[i].load(std::memory_order_relaxed));
    }
    Counter(&out, "agentcore_http_request_bytes_total", "Request bytes read (head and body).",
            stats->bytes_in.load(std::memory_order_relaxed));
    Counter(&out, "agentcore_http_response_bytes_total", "Response body bytes written.",
            stats->bytes_out.load(std::memory_order_relaxed));
    Counter(&out, "agentcore_http_request_duration_microseconds_total",
            "Sum of request latencies (first byte to response queued).",
            stats->latency_micros_total.load(std::memory_order_relaxed));
    Counter(&out, "agentcore_http_connections_accepted_total", "Connections accepted.",
            stats->connections_accepted.load(std::memory_order_relaxed));
    Counter(&out, "agentcore_http_connections_refused_total",
            "Connections refused over --max-connections.",
            stats->connections_refused.load(std::memory_order_relaxed));
  }
  Gauge(&out, "agentcore_http_open_connections", "Open client connections.",
        app.open_connections());
  Gauge(&out, "agentcore_subscribers", "WebSocket and SSE subscribers.",
        app.broadcaster().SubscriberCount());
  // The page cache (server) and the routing cache (the hub's channel service), as one.
  const ChannelService::CacheStats routing = app.hub().channels().routing_cache_stats();
  Counter(&out, "agentcore_read_cache_hits_total",
          "Message pages and routing reads answered from the read cache.",
          app.read_cache().hits() + routing.hits);
  Counter(&out, "agentcore_read_cache_misses_total",
          "Cacheable reads that went to the store (SQLite; PostgreSQL never caches).",
          app.read_cache().misses() + routing.misses);
  Gauge(&out, "agentcore_read_cache_bytes", "Bytes held by the read cache.",
        app.read_cache().bytes() + routing.bytes);
  if (std::optional<StoreWriterStats> w = app.store().GetWriterStats()) {
    Counter(&out, "agentcore_store_commits_total",
            "Write transactions committed (a group commit counts once).", w->commits);
    Counter(&out, "agentcore_store_writes_total", "Writes those transactions held.", w->writes);
    Counter(&out, "agentcore_store_checkpoints_total",
            "SQLite WAL checkpoint passes run in the background.", w->checkpoints);
    Counter(&out, "agentcore_store_writer_checkpoints_total",
            "SQLite WAL checkpoints the writer finished itself to rewind the WAL.",
            w->writer_checkpoints);
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = std::move(out);
  co_return r;
}

}  // namespace

void RegisterMetricsRoutes(Router& router) {
  router.Get("/metrics",
             {.summary = "Prometheus text: engine, subscribers, read cache, store counters",
              .tag = "health", .auth = kAuthUser, .reply = ReplyKind::kText,
              .description = "Open without credentials in dev mode on a loopback address; "
                             "--metrics-token as a Bearer token works too."},
             Metrics);
}

}  // namespace agentcore::server
