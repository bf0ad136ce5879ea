// SPDX-License-Identifier: Apache-2.0
// Fuzzes the session service's create body (execbox's POST /v1/sessions, hub/sessions.hpp;
// ParseSessionBody in src/hub/sessions_internal.hpp), which every create and every stored
// spec (resume, upgrade, the envelope) goes through.
//
// Input: the whole input is the body text; it must be JSON to reach the decoder.
// Checks, trapping on any violation:
//   * failure is kInvalidArgument;
//   * success has a command or an image, ports in 1..65535 with unique names and numbers,
//     non-negative resources, and no NUL in the command;
//   * the stored form (SpecToJson) parses back (SpecFromJson) to the same spec.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <agentcore/json.hpp>

#include "hub/sessions_internal.hpp"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool Same(const agentcore::hub_internal::SessionSpecFields& a,
          const agentcore::hub_internal::SessionSpecFields& b) {
  if (a.image != b.image || a.command != b.command || a.env != b.env ||
      a.work_dir != b.work_dir || a.network != b.network || a.ports.size() != b.ports.size()) {
    return false;
  }
  if (a.resources.cpu_millis != b.resources.cpu_millis ||
      a.resources.memory_mb != b.resources.memory_mb ||
      a.resources.timeout_ms != b.resources.timeout_ms) {
    return false;
  }
  for (std::size_t i = 0; i < a.ports.size(); ++i) {
    if (a.ports[i].name != b.ports[i].name || a.ports[i].port != b.ports[i].port) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace agentcore;               // NOLINT
  using namespace agentcore::hub_internal;  // NOLINT
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Result<Json> body = ParseJson(input);
  if (!body) return 0;
  const bool with_default = size % 2 == 0;
  Result<SessionSpecFields> spec = ParseSessionBody(*body, with_default ? "img:default" : "");
  if (!spec) {
    Check(spec.status().code() == ErrorCode::kInvalidArgument);
    return 0;
  }
  Check(!spec->command.empty() || !spec->image.empty());
  for (const std::string& arg : spec->command) Check(arg.find('\0') == std::string::npos);
  Check(spec->resources.cpu_millis >= 0 && spec->resources.memory_mb >= 0 &&
        spec->resources.timeout_ms >= 0);
  for (std::size_t i = 0; i < spec->ports.size(); ++i) {
    Check(spec->ports[i].port >= 1);
    for (std::size_t j = i + 1; j < spec->ports.size(); ++j) {
      Check(spec->ports[i].port != spec->ports[j].port);
      Check(spec->ports[i].name != spec->ports[j].name);
    }
  }
  Result<SessionSpecFields> back = SpecFromJson(SpecToJson(*spec));
  Check(back.ok());
  Check(Same(*spec, *back));
  return 0;
}
