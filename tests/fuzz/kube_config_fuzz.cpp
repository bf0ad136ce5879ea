// SPDX-License-Identifier: Apache-2.0
// Fuzzes the YAML subset that kubeconfig files are read with (mini_yaml): any input is either
// parsed into Json or refused with a line number; never a crash, a hang or unbounded recursion.
// ParseKubeConfig itself is not fuzzed here because it reads the files a kubeconfig names.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <agentcore/json.hpp>

#include "../../libagentcore/src/runtime/kubernetes/mini_yaml.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  agentcore::Result<agentcore::Json> parsed = agentcore::internal::ParseMiniYaml(text);
  if (parsed.ok()) {
    (void)agentcore::ToJson(*parsed);
  } else if (parsed.status().message().empty()) {
    std::abort();  // every refusal says why
  }
  return 0;
}
