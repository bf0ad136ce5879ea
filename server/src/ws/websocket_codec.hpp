// SPDX-License-Identifier: Apache-2.0
#pragma once

/// RFC 6455 framing over wslay's frame API (`wslay_frame_send` / `wslay_frame_recv`, fed from
/// and into memory buffers): encoders for what the server sends (unmasked text, close, pong)
/// and for what a client sends (masked, used by tests), and an incremental decoder of client
/// frames that reassembles fragmented messages and enforces the protocol rules a server must
/// (masking, control frame limits, continuation order, message size, UTF-8 in text).
///
/// No asio here: the codec is pure bytes in, bytes/events out, so it is tested byte by byte.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentcore::server {

enum class WebSocketOpcode : std::uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

/// Close codes used by the server (RFC 6455 §7.4.1).
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseGoingAway = 1001;
inline constexpr std::uint16_t kCloseProtocolError = 1002;
inline constexpr std::uint16_t kCloseNoStatus = 1005;  // never sent: "the close had no code"
inline constexpr std::uint16_t kCloseInvalidPayload = 1007;
inline constexpr std::uint16_t kClosePolicyViolation = 1008;
inline constexpr std::uint16_t kCloseMessageTooBig = 1009;
inline constexpr std::uint16_t kCloseInternalError = 1011;

/// One whole frame: FIN set unless `fin` is false, no RSV bits. `mask_key` (4 bytes) masks
/// the payload as a client must; nullopt writes an unmasked (server) frame. Control frames
/// must carry at most 125 bytes (REQUIRES).
std::string EncodeWebSocketFrame(WebSocketOpcode opcode, std::string_view payload, bool fin = true,
                                 std::optional<std::uint32_t> mask_key = std::nullopt);

/// A server text frame carrying `payload` (unmasked, FIN). The broadcaster encodes every frame
/// once with this and shares the bytes among subscribers.
std::string EncodeWebSocketText(std::string_view payload);
/// The same frame appended to `*out` (batches of frames built without a copy per frame).
void AppendWebSocketText(std::string_view payload, std::string* out);
/// A server close frame: the 2-byte code then `reason` (cut to fit in 123 bytes at a UTF-8
/// boundary). `code` kCloseNoStatus writes an empty close frame.
std::string EncodeWebSocketClose(std::uint16_t code, std::string_view reason = {});
/// A server pong echoing a ping's payload (at most 125 bytes).
std::string EncodeWebSocketPong(std::string_view payload);

/// Whether `text` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool IsValidUtf8(std::string_view text);

/// What the decoder produces: a whole data message or one control frame.
struct WebSocketEvent {
  enum class Kind : std::uint8_t { kText, kBinary, kPing, kPong, kClose };
  Kind kind = Kind::kText;
  std::string payload;  // message bytes; ping/pong data; close reason
  std::uint16_t close_code = kCloseNoStatus;  // kClose only: kCloseNoStatus when none was sent
};

/// A violation that ends the connection: send a close frame with `code` and drop it.
struct WebSocketError {
  std::uint16_t code = kCloseProtocolError;  // 1002, 1007 or 1009
  std::string_view reason;                   // a static text for the close frame and logs
};

/// Incremental decoder of the frames a client sends. Feed it whatever the socket returned, in
/// any pieces; it emits whole messages (fragments reassembled) and control frames, which may
/// arrive between the fragments of a message. Errors:
///  * 1002: an unmasked frame (when masking is required), RSV bits, an unknown opcode, a
///    fragmented or oversized (> 125 bytes) control frame, a continuation without a message, a
///    new data frame inside a fragmented message, a non-minimal length, a close frame with a
///    1-byte body or a code that may not be sent;
///  * 1007: a text message or close reason that is not UTF-8;
///  * 1009: a message larger than `max_message_bytes`, seen from the frame header alone: no
///    payload byte of such a frame is waited for or read.
/// Frame headers are checked as soon as their last byte arrives (a scan that runs ahead of
/// wslay, which reports a header only with its first payload byte); frames before a bad
/// header are still decoded first, so errors come in the order of the stream.
/// After an error or a close frame the decoder ignores further input.
///
/// Memory: wslay's frame context (about 4 KiB) exists only while bytes of a frame are in
/// flight; at a frame boundary with nothing buffered it is freed, so an idle connection holds
/// no buffer. Thread-compatible.
class WebSocketDecoder {
 public:
  explicit WebSocketDecoder(std::size_t max_message_bytes, bool require_mask = true);
  ~WebSocketDecoder();
  WebSocketDecoder(const WebSocketDecoder&) = delete;
  WebSocketDecoder& operator=(const WebSocketDecoder&) = delete;

  /// Consumes all of `bytes`, appending complete events to `*events` in order. Returns the
  /// error that ends the connection, if any (events decoded before it are still appended).
  std::optional<WebSocketError> Feed(std::string_view bytes, std::vector<WebSocketEvent>* events);

  /// True when no frame is partly received and no fragmented message is pending.
  bool idle() const;
  /// True once a close frame or an error was seen.
  bool finished() const { return finished_; }
  /// Bytes of memory the decoder holds beyond its own object (tests, memory accounting).
  std::size_t HeapBytesForTesting() const;

 private:
  struct Context;  // the wslay frame context and its callbacks' state

  struct ScanError {
    std::size_t at = 0;  // where, in the bytes scanned, the bad frame's header began
    WebSocketError error;
  };

  std::optional<WebSocketError> Fail(std::uint16_t code, std::string_view reason);
  std::optional<WebSocketError> FeedFrames(std::string_view bytes,
                                           std::vector<WebSocketEvent>* events);
  std::optional<ScanError> ScanHeaders(std::string_view bytes);
  std::optional<WebSocketError> CheckScannedHeader();
  std::optional<WebSocketError> StartFrame(std::uint8_t opcode, bool fin, std::uint8_t rsv,
                                           bool masked, std::uint64_t payload_length);
  std::optional<WebSocketError> FinishFrame(std::vector<WebSocketEvent>* events);
  void ReleaseContextIfIdle();

  // Constant after construction.
  std::size_t max_message_bytes_;
  bool require_mask_;

  Context* context_ = nullptr;  // owned; null while idle
  std::uint64_t fed_bytes_ = 0;      // given to wslay
  std::uint64_t consumed_bytes_ = 0;  // of whole frames wslay finished parsing

  // The frame being received.
  bool in_frame_ = false;
  std::uint8_t frame_opcode_ = 0;
  bool frame_fin_ = false;
  std::uint64_t frame_length_ = 0;
  std::uint64_t frame_received_ = 0;
  std::uint64_t frame_header_bytes_ = 0;
  std::string control_;  // payload of the control frame being received (<= 125 bytes)

  // The data message being reassembled.
  bool in_message_ = false;
  bool message_is_text_ = false;
  std::string message_;

  bool finished_ = false;

  // The header scan (ScanHeaders): the header being read, then the payload bytes to skip.
  std::uint8_t scan_header_[14] = {};
  std::size_t scan_have_ = 0;
  std::size_t scan_need_ = 2;
  std::uint64_t scan_skip_ = 0;
  bool scan_in_message_ = false;
  std::uint64_t scan_message_bytes_ = 0;
};

}  // namespace agentcore::server
