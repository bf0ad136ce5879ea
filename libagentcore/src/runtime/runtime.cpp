// SPDX-License-Identifier: Apache-2.0
#include <agentcore/runtime/runtime.hpp>

#include <string.h>  // sigabbrev_np

#include <filesystem>
#include <string>
#include <system_error>

#include <fmt/format.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/json.hpp>
#include <agentcore/runtime/agent.hpp>
#include <agentcore/runtime/agent_image.hpp>

namespace agentcore {

Runtime::~Runtime() = default;
RuntimeObserver::~RuntimeObserver() = default;

Status ValidateRuntimeAgentId(std::string_view agent_id) {
  auto bad = [&] {
    return InvalidArgument(fmt::format(
        "invalid agent id \"{}\": expected {{spaceId}}:{{channelId}}:{{callsign}}",
        agent_id.substr(0, 100)));
  };
  if (agent_id.size() > kMaxRuntimeAgentIdBytes) return bad();
  if (agent_id.find('\0') != std::string_view::npos) return bad();
  // spec cast §5.1: three non-empty parts. Cast ignores a fourth part; a runtime keys its
  // agents by this string, so it refuses one rather than know an agent under two names.
  std::size_t first = agent_id.find(':');
  if (first == std::string_view::npos || first == 0) return bad();
  std::size_t second = agent_id.find(':', first + 1);
  if (second == std::string_view::npos || second == first + 1) return bad();
  if (second + 1 == agent_id.size()) return bad();
  if (agent_id.find(':', second + 1) != std::string_view::npos) return bad();
  return Status::Ok();
}

Result<RuntimeAgentIdParts> SplitRuntimeAgentId(std::string_view agent_id) {
  AGENTCORE_RETURN_IF_ERROR(ValidateRuntimeAgentId(agent_id));
  const std::size_t first = agent_id.find(':');
  const std::size_t second = agent_id.find(':', first + 1);
  return RuntimeAgentIdParts{agent_id.substr(0, first),
                             agent_id.substr(first + 1, second - first - 1),
                             agent_id.substr(second + 1)};
}

std::string DescribeAgentExit(const AgentExit& exit) {
  if (exit.signal == 0) return fmt::format("exited with code {}", exit.exit_code);
  const char* name = ::sigabbrev_np(exit.signal);
  if (name == nullptr) return fmt::format("killed by signal {}", exit.signal);
  return fmt::format("killed by signal {} (SIG{})", exit.signal, name);
}

std::string_view AgentEventKindName(AgentEventKind kind) {
  switch (kind) {
    case AgentEventKind::kActivating:
      return "activating";
    case AgentEventKind::kOnline:
      return "online";
    case AgentEventKind::kOffline:
      return "offline";
    case AgentEventKind::kFailed:
      return "failed";
  }
  return "unknown";
}

EnvList AgentEnvironment(const ActivateRequest& req, EnvList base, std::string_view callback_url,
                         int port) {
  EnvList env;
  env.reserve(base.size() + req.extra_env.size() + 7);
  auto set = [&env](std::string_view name, std::string value) {
    for (auto& [n, v] : env) {
      if (n == name) {
        v = std::move(value);
        return;
      }
    }
    env.emplace_back(std::string(name), std::move(value));
  };
  for (auto& [n, v] : base) set(n, std::move(v));
  for (const auto& [n, v] : req.extra_env) set(n, v);
  if (port != 0) set("PORT", std::to_string(port));
  set("CAST_API_URL", req.api_url);
  set("CAST_AGENT_ID", req.agent_id);
  set("CAST_AUTH_TOKEN", req.auth_token);
  set("CAST_CALLBACK_URL", std::string(callback_url));
  set("CAST_ROUTE_HINTS", req.route_hints.is_null() ? std::string() : ToJson(req.route_hints));
  if (!req.system_prompt.empty()) set("CAST_SYSTEM_PROMPT", req.system_prompt);
  return env;
}

std::string RuntimeInstanceForDataDir(std::string_view data_dir) {
  std::error_code ec;
  std::filesystem::path dir = std::filesystem::absolute(std::filesystem::path(data_dir), ec);
  if (ec) dir = std::filesystem::path(data_dir);
  std::string text = dir.lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return "srv-" + Sha256Hex(text).substr(0, 16);
}

}  // namespace agentcore
