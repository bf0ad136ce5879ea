// SPDX-License-Identifier: Apache-2.0
// Placeholder so that the header links while the implementation lands (next commits).
#include <agentcore/runtime/docker.hpp>

namespace agentcore {

Result<std::unique_ptr<Runtime>> NewDockerRuntime(const DockerOptions&, const RuntimeOptions&) {
  return Unavailable("docker runtime: not implemented yet");
}

}  // namespace agentcore
