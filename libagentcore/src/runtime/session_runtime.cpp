// SPDX-License-Identifier: Apache-2.0
// The session runtime interface's out-of-line parts (runtime/session_runtime.hpp).
#include <agentcore/runtime/session_runtime.hpp>

#include <fmt/format.h>

namespace agentcore {

SessionOutputSink::~SessionOutputSink() = default;
SessionProcess::~SessionProcess() = default;
SessionRuntime::~SessionRuntime() = default;

std::string_view SessionNetworkName(SessionNetwork network) {
  switch (network) {
    case SessionNetwork::kNone:
      return "none";
    case SessionNetwork::kOutgoing:
      return "outgoing";
    case SessionNetwork::kExposed:
      return "exposed";
  }
  return "unknown";
}

Result<SessionNetwork> ParseSessionNetwork(std::string_view name) {
  for (SessionNetwork n :
       {SessionNetwork::kNone, SessionNetwork::kOutgoing, SessionNetwork::kExposed}) {
    if (name == SessionNetworkName(n)) return n;
  }
  return Status(ErrorCode::kInvalidArgument,
                fmt::format("unknown network \"{}\" (none, outgoing or exposed)",
                            name.substr(0, 64)));
}

}  // namespace agentcore
