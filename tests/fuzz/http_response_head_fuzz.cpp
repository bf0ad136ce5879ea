// SPDX-License-Identifier: Apache-2.0
// Fuzzes the engine's attach response-head parser (runtime/docker/hijacked_connection.hpp):
// whatever the bytes, it never crashes, a head it returns fits inside the input and the limit,
// its fields hold no CR, LF or NUL, and parsing grows monotonically: every prefix shorter than
// the head is "not yet" (or over the limit), and the input with more bytes after a complete head
// gives the same head.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/docker/hijacked_connection.hpp"

namespace {

bool Clean(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == s.npos; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t max = (data[0] & 1) != 0 ? 64 : agentcore::internal::kMaxResponseHeadBytes;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto whole = agentcore::internal::ParseHttpResponseHead(input, max);
  if (!whole.ok()) {
    const auto code = whole.status().code();
    if (code != agentcore::ErrorCode::kInvalidArgument && code != agentcore::ErrorCode::kTooLarge) {
      std::abort();
    }
  } else if (whole->has_value()) {
    const auto& head = **whole;
    if (head.size == 0 || head.size > input.size() || head.size > max) std::abort();
    if (head.status < 100 || head.status > 999) std::abort();
    if (!Clean(head.reason)) std::abort();
    for (const auto& [name, value] : head.headers) {
      if (name.empty() || !Clean(name) || !Clean(value)) std::abort();
    }
    // The head alone parses the same; so does the head with trailing bytes.
    auto alone = agentcore::internal::ParseHttpResponseHead(input.substr(0, head.size), max);
    if (!alone.ok() || !alone->has_value() || (*alone)->size != head.size ||
        (*alone)->headers != head.headers || (*alone)->status != head.status) {
      std::abort();
    }
    // Any shorter prefix: not complete yet.
    const std::size_t cut = data[0] % (head.size);
    auto prefix = agentcore::internal::ParseHttpResponseHead(input.substr(0, cut), max);
    if (!prefix.ok() || prefix->has_value()) std::abort();
  } else if (input.size() > max) {
    std::abort();  // more than the limit without a head must be kTooLarge
  }
  return 0;
}
