// SPDX-License-Identifier: Apache-2.0
// Fuzzes the Kubernetes watch-stream decoder: feeding the input in chunks whose sizes come
// from the input itself must give exactly what feeding it whole gives (same events, same
// error), and must never crash or run past its line limit.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/json.hpp>

#include "../../libagentcore/src/runtime/kubernetes/watch_stream.hpp"

namespace {

std::string Describe(const std::vector<agentcore::internal::WatchEvent>& events,
                     const agentcore::Status& st) {
  std::string out;
  for (const auto& e : events) out += e.type + agentcore::ToJson(e.object) + "\n";
  out += st.ok() ? "ok" : st.message();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 61;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  agentcore::internal::WatchStreamDecoder streamed;
  std::vector<agentcore::internal::WatchEvent> a;
  agentcore::Status sa;
  for (std::size_t off = 0; off < text.size() && sa.ok(); off += chunk) {
    sa = streamed.Feed(text.substr(off, chunk), &a);
  }
  if (sa.ok()) sa = streamed.Finish();

  agentcore::internal::WatchStreamDecoder whole;
  std::vector<agentcore::internal::WatchEvent> b;
  agentcore::Status sb = whole.Feed(text, &b);
  if (sb.ok()) sb = whole.Finish();

  if (Describe(a, sa) != Describe(b, sb)) std::abort();
  for (const auto& e : a) {
    if (e.type.empty() || !e.object.is_object()) std::abort();
  }
  return 0;
}
