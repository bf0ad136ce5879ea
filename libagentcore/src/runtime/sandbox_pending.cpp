// SPDX-License-Identifier: Apache-2.0
// TEMPORARY (branch i16-service only): OpenSandboxRuntime until branch i16-sandbox lands with
// the bubblewrap runtime. The hub opens it by default; until then sandbox sessions are refused
// with this kUnavailable. Removed by the merge of i16-sandbox.
#include <agentcore/runtime/session_runtime.hpp>

namespace agentcore {

Result<std::unique_ptr<SessionRuntime>> OpenSandboxRuntime(SandboxRuntimeOptions /*options*/) {
  return Status(ErrorCode::kUnavailable,
                "the sandbox runtime is not built into this library (bubblewrap runtime pending)");
}

}  // namespace agentcore
