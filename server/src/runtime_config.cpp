// SPDX-License-Identifier: Apache-2.0
#include "runtime_config.hpp"


#include <algorithm>
#include <filesystem>
#include <map>
#include <string_view>
#include <system_error>
#include <utility>

#include <agentcore/runtime/agent_image.hpp>
#include <agentcore/runtime/docker.hpp>
#include <agentcore/runtime/fly.hpp>
#include <agentcore/runtime/kubernetes.hpp>
#include <agentcore/runtime/runtimes.hpp>
#include <agentcore/runtime/session_runtime.hpp>

namespace agentcore::server {
namespace {

/// `<dir of /proc/self/exe>/<name>` when that file exists, else empty.
std::string DefaultAgentBinary(std::string_view name = "echo-agent") {
  std::error_code ec;
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  std::filesystem::path candidate = exe.parent_path() / name;
  if (!std::filesystem::is_regular_file(candidate, ec) || ec) return {};
  return candidate.string();
}

/// The data directory the runtimes use: "agentcore-data" when unset.
std::string DataDir(const ServerConfig& config) {
  return config.data_dir.empty() ? std::string("agentcore-data") : config.data_dir;
}

/// The local process runtime: --agent-command TYPE=CMD; next to the binary, builder-agent for
/// the run service's type "builder" unless given, and echo-agent for every other type when
/// no command names another type than "builder".
Result<RuntimeSpec> LocalSpec(const ServerConfig& config) {
  LocalProcessOptions local;
  local.data_dir = DataDir(config);
  local.kill_grace = config.agent_kill_grace;
  local.stop_agents_on_destroy = !config.agents_outlive_server;
  for (const auto& [type, argv] : config.agent_commands) {
    if (argv.empty() || argv[0].empty()) {
      return InvalidArgument("agent command for type \"" + type + "\" is empty");
    }
    local.commands[type].argv = argv;
  }
  const bool only_builder = local.commands.empty() ||
                            (local.commands.size() == 1 && local.commands.contains("builder"));
  if (only_builder) {
    std::string echo = DefaultAgentBinary();
    if (!echo.empty()) local.commands["*"].argv = {echo};
  }
  // The builder of every project (hub/runs.hpp, RunServiceOptions::agent_type).
  if (!local.commands.contains("builder")) {
    std::string builder = DefaultAgentBinary("builder-agent");
    if (!builder.empty()) local.commands["builder"].argv = {builder};
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

/// The Docker runtime: --agent-image TYPE=IMAGE (AGENT_IMAGE is "*"), kDefaultAgentImage for
/// every other type; the engine at DOCKER_HOST; one instance label per data directory.
Result<RuntimeSpec> DockerSpec(const ServerConfig& config) {
  DockerOptions docker;
  docker.docker_host = config.docker_host.empty() ? std::string("unix:///var/run/docker.sock")
                                                  : config.docker_host;
  docker.instance = RuntimeInstance(config);
  // Beside the local runtime's files, not among them (its ReapOrphans reads agents/*/pid).
  docker.data_dir = (std::filesystem::path(DataDir(config)) / "docker").string();
  docker.stop_grace = config.agent_kill_grace;
  docker.stop_agents_on_destroy = !config.agents_outlive_server;
  for (const auto& [type, image] : EffectiveImages(config)) {
    DockerAgentType& t = docker.types[type];
    t.image.image = image;
    t.image.env = config.agent_env;
    t.image.cpu_millis = config.agent_cpu_millis;
    t.image.memory_bytes = config.agent_memory_bytes;
    t.network_mode = config.docker_network;
  }
  RuntimeSpec spec;
  spec.name = "docker";
  spec.open = [docker](const RuntimeOptions& options) -> Result<std::unique_ptr<Runtime>> {
    auto runtime = NewDockerRuntime(docker, options);
    if (runtime.ok()) return runtime;
    const Status& s = runtime.status();
    // Refused at start-up, not at the first activation: say how to fix it.
    std::string hint;
    if (s.code() == ErrorCode::kNotFound) {
      hint = s.message().find("build-agent-image.sh") == std::string::npos
                 ? "; build the echo agent's image with `bash scripts/build-agent-image.sh` (or "
                   "pull the image), or name another with --agent-image TYPE=IMAGE"
                 : "; or name another image with --agent-image TYPE=IMAGE";
    } else if (s.code() == ErrorCode::kUnavailable || s.code() == ErrorCode::kDeadlineExceeded) {
      hint = "; is the engine at " + docker.docker_host +
             " running? set DOCKER_HOST=unix:///path/to/docker.sock (podman: `podman system "
             "service --time=0 unix://PATH`)";
    }
    return Status(s.code(), s.message() + hint);
  };
  return spec;
}

/// The Kubernetes runtime: the cluster from --kube-config (KUBECONFIG) or, by default, the
/// pod's service account, read now so that a server without either refuses to start. Images,
/// env and limits per type as the Docker runtime's (--agent-image, --agent-env, --agent-cpus,
/// --agent-memory-mb); the instance label as the Docker runtime's (one per data directory).
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
  for (const auto& [type, image] : EffectiveImages(config)) {
    AgentImage& t = kube.images[type];
    t.image = image;
    t.env = config.agent_env;
    t.cpu_millis = config.agent_cpu_millis;
    t.memory_bytes = config.agent_memory_bytes;
  }
  kube.instance = RuntimeInstance(config);
  kube.namespace_prefix = config.kube_namespace_prefix;
  kube.kill_grace = config.agent_kill_grace;
  RuntimeSpec spec;
  spec.name = "kubernetes";
  spec.open = [kube](const RuntimeOptions& options) {
    return NewKubernetesRuntime(kube, options);
  };
  return spec;
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
  // As the Docker runtime's label: one per data directory, so that servers sharing an app
  // never reap each other's machines.
  fly.instance_name = RuntimeInstance(config);
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

std::map<std::string, std::string> EffectiveImages(const ServerConfig& config) {
  std::map<std::string, std::string> images = config.agent_images;
  if (images.count("*") == 0) images["*"] = kDefaultAgentImage;
  return images;
}

Status ConfigureSessions(const ServerConfig& config, SessionServiceOptions* sessions) {
  if (sessions->data_dir.empty()) sessions->data_dir = DataDir(config);
  if (sessions->instance.empty()) sessions->instance = RuntimeInstance(config);
  sessions->max_running_sessions_per_key = config.max_running_sessions;
  if (config.session_runtime.empty() || config.session_runtime == "sandbox") return Status::Ok();
  if (config.session_runtime != "docker") {
    return InvalidArgument("--session-runtime: unknown runtime \"" + config.session_runtime +
                           "\" (sandbox or docker)");
  }
  DockerSessionRuntimeOptions docker;
  if (!config.docker_host.empty()) docker.docker_host = config.docker_host;
  Result<std::unique_ptr<SessionRuntime>> runtime = OpenDockerSessionRuntime(docker);
  if (!runtime.ok()) {
    return Status(runtime.status().code(),
                  "--session-runtime docker: " + runtime.status().message() +
                      " (start the engine, or set DOCKER_HOST to its socket)");
  }
  sessions->containers = std::shared_ptr<SessionRuntime>(std::move(*runtime));
  return Status::Ok();
}

std::string RuntimeInstance(const ServerConfig& config) {
  if (!config.runtime_instance.empty()) return config.runtime_instance;
  return RuntimeInstanceForDataDir(DataDir(config));
}

std::string DescribeRuntimes(const ServerConfig& config) {
  // The images of the Docker runtime's types: `docker (*: IMAGE, claude: IMAGE)`.
  auto describe = [&](const std::string& runtime, const std::string& types) {
    if (runtime != "docker") return runtime + " (" + types + ")";
    std::map<std::string, std::string> images = EffectiveImages(config);
    if (types != "*") {
      auto it = images.find(types);
      return runtime + " (" + types + ": " + (it != images.end() ? it->second : images["*"]) + ")";
    }
    std::string out = runtime + " (*: " + images["*"];
    for (const auto& [type, image] : images) {
      // Types another runtime runs are described there.
      auto elsewhere = config.agent_runtimes.find(type);
      if (type != "*" && (elsewhere == config.agent_runtimes.end() || elsewhere->second == "docker")) {
        out += ", " + type + ": " + image;
      }
    }
    return out + ")";
  };
  std::string out = describe(config.runtime, "*");
  for (const auto& [type, runtime] : config.agent_runtimes) out += ", " + describe(runtime, type);
  return out;
}

}  // namespace agentcore::server
