// SPDX-License-Identifier: Apache-2.0
#include "config.hpp"

#include <agentcore/json_writer.hpp>

namespace agentcore::server {

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
      .Field("runtime", c.runtime)
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
      .Field("maxConnections", c.limits.max_connections)
      .Field("wsMaxMessageBytes", c.ws_max_message_bytes)
      .Field("subscriberBacklogBytes", c.subscriber_backlog_bytes)
      .Field("writeTimeoutMs", c.write_timeout.count())
      .Field("sseHeartbeatMs", c.sse_heartbeat.count())
      .Field("streamSaveIntervalMs", c.stream_save_interval.count())
      .Field("shutdownGraceMs", c.shutdown_grace.count())
      .Field("compatOpenCheckin", c.compat_open_checkin)
      .Field("accessLog", c.access_log)
      .Field("readCacheBytes", c.read_cache_bytes)
      .EndObject();
  return out;
}

}  // namespace agentcore::server
