// SPDX-License-Identifier: Apache-2.0
// Fuzzes ParseNewApiKeyRequest, the decoder of `POST /v1/keys` bodies, and AppendApiKeyJson.
//
// Input: the whole input is the request body. Checks, trapping on any violation:
//   * a refused body gets kInvalidArgument;
//   * an accepted body has a non-empty name that CheckKey accepts, an empty or valid tier, and
//     limits in range;
//   * the record made from it prints as JSON that parses back, holds the key given and never
//     the hash.
#include <agentcore/hub/api_keys.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/json.hpp>
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
  auto request = agentcore::ParseNewApiKeyRequest(input);
  if (!request.ok()) {
    Check(request.status().code() == agentcore::ErrorCode::kInvalidArgument);
    return 0;
  }
  Check(!request->name.empty());
  Check(agentcore::CheckKey("name", request->name).ok());
  Check(request->tier.empty() || agentcore::IsValidTierName(request->tier));
  Check(request->requests_per_minute <= agentcore::kMaxRequestsPerMinute);
  Check(request->max_running_sessions <= agentcore::kMaxRunningSessionsLimit);
  agentcore::ApiKey record;
  record.id = "K1";
  record.space_id = "fuzz";
  record.name = request->name;
  // A hash with control characters: JSON output escapes them, so its raw bytes can only be
  // in the output if the hash itself was written.
  record.key_hash = std::string("\x01hash\x02", 6);
  record.tier = request->tier;
  record.requests_per_minute = request->requests_per_minute;
  record.max_running_sessions = request->max_running_sessions;
  record.admin = request->admin;
  std::string out;
  agentcore::AppendApiKeyJson(record, "ak_fuzz", &out);
  auto parsed = agentcore::ParseJson(out);
  Check(parsed.ok());
  Check(parsed->FindString("name") != nullptr && *parsed->FindString("name") == request->name);
  Check(parsed->FindString("key") != nullptr && *parsed->FindString("key") == "ak_fuzz");
  Check(out.find(record.key_hash) == std::string::npos);
  return 0;
}
