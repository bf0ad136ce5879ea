// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The cryptographic building blocks of auth/tokens.hpp, on OpenSSL's libcrypto (which never
/// appears in this header): SHA-256, HMAC-SHA256, base64 and base64url, constant-time
/// comparison, random bytes, and the WebSocket handshake's accept value.
///
/// Bytes travel in `std::string` / `std::string_view` (any byte values, not only text). All
/// functions are pure or use only OpenSSL's thread-safe generator: safe to call from any thread.

#include <agentcore/export.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace agentcore {

/// SHA-256 of `data` as 64 lower-case hex digits.
AGENTCORE_EXPORT std::string Sha256Hex(std::string_view data);

/// HMAC-SHA256 (RFC 2104) of `data` under `key`: the raw 32-byte MAC. Any key length works.
AGENTCORE_EXPORT std::string HmacSha256(std::string_view key, std::string_view data);

/// RFC 4648 §5 base64url of `bytes` (`-` and `_`), without `=` padding, as JWTs and Cast's
/// container tokens write it.
AGENTCORE_EXPORT std::string Base64UrlEncode(std::string_view bytes);

/// Decodes base64url, with or without `=` padding. Returns nullopt for any character outside
/// `A-Z a-z 0-9 - _`, misplaced or excess padding, or a length that no encoding has
/// (4k+1 characters). Like Node's decoder, it ignores set bits below the last whole byte, so a
/// value may have more than one encoding: compare encoded signatures as text, not decoded.
AGENTCORE_EXPORT std::optional<std::string> Base64UrlDecode(std::string_view text);

/// RFC 4648 §4 base64 of `bytes` (`+` and `/`), with `=` padding.
AGENTCORE_EXPORT std::string Base64Encode(std::string_view bytes);

/// Whether `a` and `b` are equal, in time that depends on their length but not their content
/// (different lengths return false at once, as Cast's check does before `timingSafeEqual`).
AGENTCORE_EXPORT bool ConstantTimeEquals(std::string_view a, std::string_view b);

/// `n` bytes from OpenSSL's CSPRNG (`RAND_bytes`). The process aborts if the generator fails
/// (it has no entropy): issuing guessable secrets is worse than stopping.
AGENTCORE_EXPORT std::string RandomBytes(std::size_t n);

/// `n` random bytes as 2n lower-case hex digits (e.g. Cast's 32-hex tunnel hash is
/// `RandomHex(16)`). Aborts as RandomBytes does.
AGENTCORE_EXPORT std::string RandomHex(std::size_t n);

/// Lower-case hex of `bytes`.
AGENTCORE_EXPORT std::string HexEncode(std::string_view bytes);

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2): padded
/// base64 of SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"). The key is used as given
/// (callers trim the header value).
AGENTCORE_EXPORT std::string WebSocketAccept(std::string_view sec_websocket_key);

}  // namespace agentcore
