// SPDX-License-Identifier: Apache-2.0
#include "runtime_config.hpp"

#include <filesystem>
#include <algorithm>
#include <map>
#include <system_error>
#include <utility>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/runtime/kubernetes.hpp>
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
/// The Kubernetes runtime: the cluster from --kube-config (KUBECONFIG) or, by default, the
/// pod's service account, read now so that a server without either refuses to start. Every
/// agent type runs the echo agent's image (the per-type image settings of the Docker wiring
/// apply once they are merged: TODO(#14)).
Result<RuntimeSpec> KubernetesSpec(const ServerConfig& config) {
  KubernetesOptions kube;
  if (!config.kube_config.empty()) {
    Result<KubernetesConnection> c = LoadKubeConfig(config.kube_config, config.kube_context);
    if (!c.ok()) {
      return Status(c.status().code(), "kubernetes runtime: " + c.status().message());
    }
    kube.connection = std::move(*c);
  } else {
    Result<KubernetesConnection> c = InClusterConnection();
    if (!c.ok()) {
      return Status(c.status().code(),
                    "kubernetes runtime: no cluster configuration: set --kube-config or "
                    "KUBECONFIG, or run the server in a pod (" + c.status().message() + ")");
    }
    kube.connection = std::move(*c);
  }
  kube.images["*"].image = "localhost/agentcore-echo-agent:latest";
  // One instance label per data directory, so that a restart on the same data reaps what a
  // crash left, and two servers sharing a cluster never reap each other's pods.
  {
    const std::string data_dir =
        config.data_dir.empty() ? std::string("agentcore-data") : config.data_dir;
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::absolute(data_dir, ec);
    if (ec) dir = data_dir;
    kube.instance = "srv-" + Sha256Hex(dir.lexically_normal().string()).substr(0, 16);
  }
  kube.namespace_prefix = config.kube_namespace_prefix;
  kube.kill_grace = config.agent_kill_grace;
  RuntimeSpec spec;
  spec.name = "kubernetes";
  spec.open = [kube](const RuntimeOptions& options) {
    return NewKubernetesRuntime(kube, options);
  };
  return spec;
}
Result<RuntimeSpec> FlySpec(const ServerConfig&) {
  return InvalidArgument("runtime \"fly\" is not available yet");
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
