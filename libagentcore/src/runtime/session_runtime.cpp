// SPDX-License-Identifier: Apache-2.0
#include <agentcore/runtime/session_runtime.hpp>

#include <fmt/format.h>

#include <agentcore/status.hpp>

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
  if (name == "none") return SessionNetwork::kNone;
  if (name == "outgoing") return SessionNetwork::kOutgoing;
  if (name == "exposed") return SessionNetwork::kExposed;
  // Bounded: the name comes from a request body.
  constexpr std::size_t kMaxShown = 64;
  return InvalidArgument(fmt::format("unknown network \"{}{}\" (none, outgoing or exposed)",
                                     name.substr(0, kMaxShown),
                                     name.size() > kMaxShown ? "..." : ""));
}

}  // namespace agentcore
