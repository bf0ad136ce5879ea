// SPDX-License-Identifier: Apache-2.0
// GET /channels/:channelId/agents/:callsign/logs: an agent's captured stdout and stderr
// (AgentService::ReadLog: the runtime that runs the agent), read once from an offset or
// followed as it grows. A route of our own (Cast has none): errors are
// {"error":"<code>","message":"…"}.
#include <charconv>
#include <string>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/agents.hpp>
#include <agentcore/runtime/runtime.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "log_tail.hpp"

namespace agentcore::server {
namespace {

// A non-negative integer query parameter; `fallback` when absent or empty.
Result<std::uint64_t> UnsignedQuery(const Request& request, std::string_view name,
                                    std::uint64_t fallback) {
  std::optional<std::string> text = request.Query(name);
  if (!text || text->empty()) return fallback;
  std::uint64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ptr != end || ec != std::errc()) {
    return InvalidArgument(std::string(name) + " must be a non-negative integer");
  }
  return value;
}

bool Truthy(const std::optional<std::string>& flag) {
  return flag && (*flag == "1" || *flag == "true");
}

asio::awaitable<Response> AgentLogs(RequestContext& ctx) {
  Result<Principal> principal = co_await AuthenticateCaller(ctx);
  if (!principal.ok()) co_return CodedError(401, "unauthorized", "Authentication required");
  App& app = ctx.app();
  const Request& request = ctx.request();
  Result<std::uint64_t> offset = UnsignedQuery(request, "offset", 0);
  if (!offset.ok()) co_return CodedError(400, "invalid_request", offset.status().message());
  Result<std::uint64_t> limit = UnsignedQuery(request, "limit", kMaxLogChunkBytes);
  if (!limit.ok()) co_return CodedError(400, "invalid_request", limit.status().message());
  const bool follow = Truthy(request.Query("follow"));

  // The agent on the caller's channel's roster (archived too): AgentService::FindRosterAgent.
  auto find = [&agents = app.hub().agents(), &caller = *principal,
               channel_id = ctx.Param("channelId"), callsign = ctx.Param("callsign")] {
    return agents.FindRosterAgent(caller, channel_id, callsign);
  };
  Result<AgentIdentity> agent = co_await app.Offload(std::move(find));
  if (!agent.ok()) {
    if (agent.status().code() == ErrorCode::kNotFound) {
      co_return CodedError(404, "not_found", agent.status().message());
    }
    co_return ServerError("agent logs", agent.status(),
                          CodedError(500, "server_error", "Failed to read agent logs"));
  }

  if (follow) {
    Response r;
    r.upgrade = std::make_shared<LogTailSession>(&app, *std::move(agent), *offset);
    co_return r;
  }
  auto read = [&agents = app.hub().agents(), &id = *agent, from = *offset,
               max_bytes = static_cast<std::size_t>(*limit)] {
    return agents.ReadLog(id, from, max_bytes);
  };
  Result<LogChunk> chunk = co_await app.Offload(std::move(read));
  if (!chunk.ok()) {
    ErrorCode code = chunk.status().code();
    if (code == ErrorCode::kNotFound) {
      co_return CodedError(404, "no_log", "This agent has not written a log yet");
    }
    if (code == ErrorCode::kInvalidArgument) {
      co_return CodedError(400, "invalid_request", chunk.status().message());
    }
    if (code == ErrorCode::kNotSupported) {
      co_return ServerError("agent logs", chunk.status(),
                            CodedError(501, "not_supported", "This runtime keeps no logs"));
    }
    co_return ServerError("agent logs", chunk.status(),
                          CodedError(500, "server_error", "Failed to read agent logs"));
  }
  Response r;
  r.content_type = "text/plain; charset=utf-8";
  // Where to continue (a poll-based tail) and how long the log was when read.
  r.headers.push_back({"X-Log-Next-Offset", std::to_string(chunk->next_offset)});
  r.headers.push_back({"X-Log-Size", std::to_string(chunk->size)});
  r.body = std::move(chunk->data);
  co_return r;
}

}  // namespace

void RegisterAgentLogRoutes(Router& router) {
  router.Get("/channels/:channelId/agents/:callsign/logs",
             {.summary = "The agent's stdout and stderr, once or followed (?follow=1)",
              .tag = "agents", .auth = kAuthUser, .reply = ReplyKind::kText, .statuses = {501},
              .description = "Query offset, limit (at most 1 MiB), follow. Headers "
                             "X-Log-Next-Offset and X-Log-Size without follow."},
             AgentLogs);
}

}  // namespace agentcore::server
