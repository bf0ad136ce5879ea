// SPDX-License-Identifier: Apache-2.0
#include "runtime_config.hpp"

#include <filesystem>
#include <algorithm>
#include <map>
#include <system_error>
#include <utility>

#include <agentcore/runtime/fly.hpp>
#include <agentcore/runtime/runtimes.hpp>

namespace agentcore::server {
namespace {

/// `<dir of /proc/self/exe>/echo-agent` when that file exists, else empty.
std::string DefaultAgentBinary() {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  std::filesystem::path candidate = exe.parent_path() / "echo-agent";
  if (!std::filesystem::is_regular_file(candidate, ec) || ec) return {};
  return candidate.string();
}

/// The local process runtime: --agent-command TYPE=CMD, the echo-agent next to the binary for
/// every type when none is given.
Result<RuntimeSpec> LocalSpec(const ServerConfig& config) {
  LocalProcessOptions local;
  local.data_dir = config.data_dir.empty() ? std::string("agentcore-data") : config.data_dir;
  local.kill_grace = config.agent_kill_grace;
  local.stop_agents_on_destroy = !config.agents_outlive_server;
  for (const auto& [type, argv] : config.agent_commands) {
    if (argv.empty() || argv[0].empty()) {
      return InvalidArgument("agent command for type \"" + type + "\" is empty");
    }
    local.commands[type].argv = argv;
  }
  if (local.commands.empty()) {
    std::string echo = DefaultAgentBinary();
    if (!echo.empty()) local.commands["*"].argv = {echo};
  }
  RuntimeSpec spec;
  spec.name = "local";
  // As the hub's default: the types it has commands for ("*" included), so that an agent of
  // another type is left to start elsewhere and check in.
  for (const auto& [type, command] : local.commands) spec.agent_types.push_back(type);
  spec.open = [local](const RuntimeOptions& options) {
    return NewLocalProcessRuntime(local, options);
  };
  return spec;
}

// The container runtimes (issue 14) fill these in.
Result<RuntimeSpec> DockerSpec(const ServerConfig&) {
  return InvalidArgument("runtime \"docker\" is not available yet");
}
Result<RuntimeSpec> KubernetesSpec(const ServerConfig&) {
  return InvalidArgument("runtime \"kubernetes\" is not available yet");
}
/// The Fly.io Machines runtime: FLY_API_TOKEN, FLY_APP_NAME, FLY_IMAGE required, FLY_REGION.
Result<RuntimeSpec> FlySpec(const ServerConfig& config) {
  if (config.fly_api_token.empty()) {
    return InvalidArgument("runtime \"fly\" needs FLY_API_TOKEN (a Fly API token)");
  }
  if (config.fly_app_name.empty()) {
    return InvalidArgument("runtime \"fly\" needs FLY_APP_NAME (or --fly-app)");
  }
  if (config.fly_image.empty()) {
    return InvalidArgument("runtime \"fly\" needs FLY_IMAGE (or --fly-image)");
  }
  FlyOptions fly;
  fly.api_url = config.fly_api_url;
  fly.api_token = config.fly_api_token;
  fly.app_name = config.fly_app_name;
  fly.region = config.fly_region;
  fly.images["*"].image = config.fly_image;
  fly.stop_agents_on_destroy = !config.agents_outlive_server;
  RuntimeSpec spec;
  spec.name = "fly";
  spec.open = [fly](const RuntimeOptions& options) { return NewFlyRuntime(fly, options); };
  return spec;
}

Result<RuntimeSpec> SpecNamed(const std::string& name, const ServerConfig& config) {
  if (name == "local") return LocalSpec(config);
  if (name == "docker") return DockerSpec(config);
  if (name == "kubernetes") return KubernetesSpec(config);
  if (name == "fly") return FlySpec(config);
  return InvalidArgument("unknown runtime \"" + name +
                         "\" (expected local, docker, kubernetes or fly)");
}

}  // namespace

Result<std::vector<RuntimeSpec>> RuntimeSpecsFrom(const ServerConfig& config) {
  // Which agent types each runtime runs: the default runtime gets "*", --agent-runtime sends
  // named types elsewhere.
  std::map<std::string, std::vector<std::string>> types;
  types[config.runtime].push_back("*");
  for (const auto& [type, runtime] : config.agent_runtimes) {
    if (type.empty() || type == "*") {
      return InvalidArgument("--agent-runtime wants a named agent type; use --runtime for \"*\"");
    }
    types[runtime].push_back(type);
  }
  std::vector<RuntimeSpec> specs;
  for (auto& [name, agent_types] : types) {
    AGENTCORE_ASSIGN_OR_RETURN(RuntimeSpec spec, SpecNamed(name, config));
    if (name == "local") {
      // The local runtime runs the types it has commands for, whatever --runtime says, plus
      // those --agent-runtime sends to it.
      for (const std::string& type : agent_types) {
        if (type != "*") spec.agent_types.push_back(type);
      }
      if (config.runtime != "local") std::erase(spec.agent_types, "*");
    } else {
      spec.agent_types = std::move(agent_types);
    }
    specs.push_back(std::move(spec));
  }
  return specs;
}

std::string DescribeRuntimes(const ServerConfig& config) {
  std::string out = config.runtime + " (*)";
  for (const auto& [type, runtime] : config.agent_runtimes) out += ", " + runtime + " (" + type + ")";
  return out;
}

}  // namespace agentcore::server
