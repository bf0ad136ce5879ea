// SPDX-License-Identifier: Apache-2.0
#pragma once

// Decoders of the Fly Machines API's answers and the retry policy of the Fly runtime. Internal:
// shared by fly_runtime.cpp, its tests and the fly_api fuzz target.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/result.hpp>

namespace agentcore::internal {

// The fields of a Machines API machine object the runtime reads.
struct FlyMachine {
  std::string id;
  std::string state;  // created, starting, started, stopping, stopped, destroying, destroyed...
  std::string region;
  std::string instance_id;
  std::map<std::string, std::string> metadata;  // config.metadata, string values only
  // From the newest `exit` event (request.exit_event), when there is one.
  std::optional<int> exit_code;
  int exit_signal = 0;  // 0 when none (Fly writes -1)
};

// One machine object; kInvalidArgument when `body` is not a JSON object with a string "id".
Result<FlyMachine> ParseFlyMachine(std::string_view body);
// A JSON array of machine objects; entries that are not machines are skipped.
Result<std::vector<FlyMachine>> ParseFlyMachineList(std::string_view body);
// "<status> <message>" where message is the body's {"error": "..."} or, failing that, the body
// itself cut to 200 bytes with control characters replaced.
std::string FlyErrorText(int status, std::string_view body);
// Retry-After as delta-seconds (RFC 9110); nullopt for anything else (an HTTP date included).
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value);
// The wait before retry `retry` (1-based): full jitter, uniform in [0, min(cap, base*2^(retry-1))]
// drawn from `random`, raised to `retry_after` when given, and never above `cap`.
std::chrono::milliseconds FlyBackoff(int retry, std::chrono::milliseconds base,
                                     std::chrono::milliseconds cap,
                                     std::optional<std::chrono::milliseconds> retry_after,
                                     std::uint64_t random);

}  // namespace agentcore::internal
