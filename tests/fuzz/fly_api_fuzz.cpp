// SPDX-License-Identifier: Apache-2.0
// Fuzzes the Fly runtime's decoders of Machines API answers (machine objects and lists, error
// bodies, Retry-After): any input fails cleanly or gives a machine with a non-empty id, and
// error texts stay short and free of control characters.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "../../libagentcore/src/runtime/fly/fly_api.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  using namespace agentcore::internal;
  if (auto m = ParseFlyMachine(text); m.ok()) {
    if (m->id.empty()) std::abort();
    if (m->exit_signal < 0 || m->exit_signal >= 128) std::abort();
  }
  if (auto list = ParseFlyMachineList(text); list.ok()) {
    for (const FlyMachine& m : *list) {
      if (m.id.empty()) std::abort();
    }
  }
  const std::string err = FlyErrorText(503, text);
  if (err.size() > 4 + 200) std::abort();
  for (char c : err) {
    if (static_cast<unsigned char>(c) < 0x20) std::abort();
  }
  if (auto ra = ParseRetryAfter(text); ra && ra->count() < 0) std::abort();
  return 0;
}
