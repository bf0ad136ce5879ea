// SPDX-License-Identifier: Apache-2.0
#pragma once

// UTF-8 helpers shared by the JSON writer, the Tymbal blank-line check, the hub's input rules and
// the C API's.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace agentcore::internal {

// Length (2..4) of the valid UTF-8 sequence starting at the non-ASCII byte `p`, or 0 when it is
// not valid UTF-8 (overlong forms, surrogates and code points above U+10FFFF are invalid).
inline std::size_t Utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  const auto avail = static_cast<std::size_t>(end - p);
  auto cont = [&](std::size_t i) { return i < avail && (p[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  // overlong
    if (c == 0xED && p[1] >= 0xA0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;  // overlong
    if (c == 0xF4 && p[1] >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// True when `s` is valid UTF-8 (NUL bytes included).
inline bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (*p < 0x80) {
      ++p;
      continue;
    }
    const std::size_t n = Utf8SequenceLength(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

// Decodes the valid sequence of length n (from Utf8SequenceLength) at p.
inline std::uint32_t Utf8Decode(const unsigned char* p, std::size_t n) {
  switch (n) {
    case 2: return (std::uint32_t{p[0]} & 0x1F) << 6 | (p[1] & 0x3F);
    case 3: return (std::uint32_t{p[0]} & 0x0F) << 12 | (p[1] & 0x3F) << 6 | (p[2] & 0x3F);
    default:
      return (std::uint32_t{p[0]} & 0x07) << 18 | (p[1] & 0x3F) << 12 | (p[2] & 0x3F) << 6 |
             (p[3] & 0x3F);
  }
}

}  // namespace agentcore::internal
