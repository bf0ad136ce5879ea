// SPDX-License-Identifier: Apache-2.0
// Fuzzes ParseRateLimitTier, the parser of the server's `--tier NAME=RPM:SESSIONS` flag.
//
// Input: the whole input is the flag's value. Checks, trapping on any violation:
//   * an accepted value has a valid name and limits in range, and printing it back in the
//     canonical form parses to the same tier;
//   * a refused value gets kInvalidArgument with a message naming the expected form.
#include <agentcore/hub/rate_limits.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto tier = agentcore::ParseRateLimitTier(input);
  if (!tier.ok()) {
    Check(tier.status().code() == agentcore::ErrorCode::kInvalidArgument);
    Check(tier.status().message().find("NAME=RPM:SESSIONS") != std::string::npos);
    return 0;
  }
  Check(agentcore::IsValidTierName(tier->first));
  Check(tier->second.requests_per_minute >= 1 &&
        tier->second.requests_per_minute <= agentcore::kMaxRequestsPerMinute);
  Check(tier->second.max_running_sessions <= agentcore::kMaxRunningSessionsLimit);
  const std::string canonical = tier->first + "=" +
                                std::to_string(tier->second.requests_per_minute) + ":" +
                                std::to_string(tier->second.max_running_sessions);
  auto again = agentcore::ParseRateLimitTier(canonical);
  Check(again.ok());
  Check(again->first == tier->first);
  Check(again->second.requests_per_minute == tier->second.requests_per_minute);
  Check(again->second.max_running_sessions == tier->second.max_running_sessions);
  return 0;
}
