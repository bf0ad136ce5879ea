// SPDX-License-Identifier: Apache-2.0
#pragma once

// The environment variables agentcore-server reads: the one list of them. main.cpp reads a
// variable only through a name that is in it (EnvName refuses any other at compile time),
// `--help` prints it, and the deployment checks (tests/server/deploy_manifests_test.cpp) hold
// every variable a manifest sets to it.

#include <array>
#include <string_view>

namespace agentcore::server {

struct EnvironmentVariable {
  std::string_view name;
  std::string_view meaning;
};

inline constexpr std::array kServerEnvironment = {
    EnvironmentVariable{"PORT", "listen port (--port)"},
    EnvironmentVariable{"HOST", "listen address (--host)"},
    EnvironmentVariable{"DATABASE_URL", "sqlite:///path or postgres://… (--database-url)"},
    EnvironmentVariable{"AGENTCORE_DATA_DIR", "agent logs, pid files, blobs (--data-dir)"},
    EnvironmentVariable{"AGENTCORE_NODE_ID", "this node's id in a cluster (--node-id)"},
    EnvironmentVariable{"AGENTCORE_LEASE_MS", "lease length in a cluster (--lease-ms)"},
    EnvironmentVariable{"AUTH_MODE", "\"dev\" mounts /auth/dev/* (--auth-mode)"},
    EnvironmentVariable{"SPACE_ID", "space of API keys (--space-id)"},
    EnvironmentVariable{"JWT_SECRET", "signs session cookies (secret)"},
    EnvironmentVariable{"CAST_CONTAINER_SECRET", "signs agents' container tokens (secret)"},
    EnvironmentVariable{"NODE_ENV", "\"production\": real secrets required, Secure cookies"},
    EnvironmentVariable{"PUBLIC_URL", "URL agents use to reach this server (--public-url)"},
    EnvironmentVariable{"METRICS_TOKEN", "bearer token that may read /metrics (secret)"},
    EnvironmentVariable{"SESSION_RUNTIME", "sandbox or docker (--session-runtime)"},
    EnvironmentVariable{"SESSION_IMAGE", "default image of a session (--session-image)"},
    EnvironmentVariable{"AGENT_RUNTIME", "local, docker, kubernetes or fly (--runtime)"},
    EnvironmentVariable{"AGENT_IMAGE", "image of every agent type (--agent-image *=IMAGE)"},
    EnvironmentVariable{"DOCKER_HOST", "engine of the docker runtime (--docker-host)"},
    EnvironmentVariable{"KUBECONFIG", "kubeconfig of the kubernetes runtime (--kube-config)"},
    EnvironmentVariable{"FLY_API_TOKEN", "Fly.io Machines API token (secret)"},
    EnvironmentVariable{"FLY_APP_NAME", "Fly app of the agents' machines (--fly-app)"},
    EnvironmentVariable{"FLY_REGION", "region of new Fly machines (--fly-region)"},
    EnvironmentVariable{"FLY_IMAGE", "image of the agents' Fly machines (--fly-image)"},
    EnvironmentVariable{"AGENT_API_KEY", "the platform agent's API key (secret)"},
    EnvironmentVariable{"AGENT_MAX_CONCURRENT_RUNS", "runs at once (--max-concurrent-runs)"},
    EnvironmentVariable{"AUTO_GIT_COMMIT", "\"false\": runs do not commit their workspace"},
    EnvironmentVariable{"AGENT_GIT_AUTHOR_NAME", "author of run commits"},
    EnvironmentVariable{"AGENT_GIT_AUTHOR_EMAIL", "author email of run commits"},
    EnvironmentVariable{"AGENT_GIT_COMMITTER_NAME", "committer of run commits"},
    EnvironmentVariable{"AGENT_GIT_COMMITTER_EMAIL", "committer email of run commits"},
    EnvironmentVariable{"AGENT_WEBHOOK_SECRET", "signs run webhooks (secret)"},
    EnvironmentVariable{"AGENT_WORKSPACE_BACKEND", "workspace backend of runs (host)"},
    EnvironmentVariable{"WORKSPACE_BACKEND", "older name of AGENT_WORKSPACE_BACKEND"},
};

/// Whether agentcore-server reads the variable `name`.
constexpr bool IsServerEnvironmentVariable(std::string_view name) {
  for (const EnvironmentVariable& v : kServerEnvironment) {
    if (v.name == name) return true;
  }
  return false;
}

/// A name of kServerEnvironment, checked at compile time: reading a variable that is not in
/// the list does not compile ("call to consteval function … is not a constant expression").
class EnvName {
 public:
  consteval EnvName(const char* name) : name_(name) {  // NOLINT: implicit by design
    if (!IsServerEnvironmentVariable(name)) {
      throw "agentcore-server reads an environment variable missing from kServerEnvironment";
    }
  }
  const char* c_str() const { return name_; }

 private:
  const char* name_;
};

}  // namespace agentcore::server
