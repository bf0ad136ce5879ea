// SPDX-License-Identifier: Apache-2.0
#include "ws/websocket_codec.hpp"

#include <wslay/wslay.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

namespace agentcore::server {
namespace {

// --- encoding --------------------------------------------------------------------------------

/// wslay frame contexts kept per thread for encoding: wslay_frame_send leaves one back in its
/// initial state after every whole frame (our send callback takes every byte), so it can be
/// reused, and the broadcaster's hot path pays no 4 KiB malloc + memset per frame. Masked and
/// unmasked frames need separate contexts: wslay sets its "mask the payload" flag on a masked
/// frame and never clears it, so an unmasked frame sent next would get a masked payload.
class FrameEncoder {
 public:
  FrameEncoder() {
    wslay_frame_callbacks callbacks{};
    callbacks.send_callback = &FrameEncoder::Send;
    callbacks.recv_callback = nullptr;
    callbacks.genmask_callback = &FrameEncoder::GenMask;
    if (wslay_frame_context_init(&context_, &callbacks, this) != 0) throw std::bad_alloc();
  }
  ~FrameEncoder() { wslay_frame_context_free(context_); }
  FrameEncoder(const FrameEncoder&) = delete;
  FrameEncoder& operator=(const FrameEncoder&) = delete;

  // Appends the frame to `*out`.
  void EncodeInto(WebSocketOpcode opcode, std::string_view payload, bool fin,
                  std::optional<std::uint32_t> mask_key, std::string* out) {
    const std::size_t start = out->size();
    out->reserve(start + payload.size() + 14);
    out_ = out;
    if (mask_key) {
      for (int i = 0; i < 4; ++i) {
        mask_[i] = static_cast<std::uint8_t>(*mask_key >> (24 - 8 * i));
      }
    }
    wslay_frame_iocb iocb{};
    iocb.fin = fin ? 1 : 0;
    iocb.rsv = WSLAY_RSV_NONE;
    iocb.opcode = static_cast<std::uint8_t>(opcode);
    iocb.payload_length = payload.size();
    iocb.mask = mask_key ? 1 : 0;
    iocb.data = reinterpret_cast<const std::uint8_t*>(payload.data());
    iocb.data_length = payload.size();
    // With a callback that accepts everything, one call writes the header and the whole
    // payload (wslay masks it in 4 KiB pieces, each one callback).
    ssize_t r = wslay_frame_send(context_, &iocb);
    out_ = nullptr;
    if (r < 0) out->resize(start);  // only for a control frame over 125 bytes (a caller bug)
  }

 private:
  static ssize_t Send(const std::uint8_t* data, std::size_t len, int /*flags*/, void* user) {
    auto* self = static_cast<FrameEncoder*>(user);
    self->out_->append(reinterpret_cast<const char*>(data), len);
    return static_cast<ssize_t>(len);
  }
  static int GenMask(std::uint8_t* buf, std::size_t len, void* user) {
    auto* self = static_cast<FrameEncoder*>(user);
    std::memcpy(buf, self->mask_, std::min<std::size_t>(len, 4));
    return 0;
  }

  wslay_frame_context_ptr context_ = nullptr;
  std::string* out_ = nullptr;
  std::uint8_t mask_[4] = {0, 0, 0, 0};
};

FrameEncoder& UnmaskedEncoder() {
  thread_local FrameEncoder encoder;
  return encoder;
}

FrameEncoder& MaskedEncoder() {
  thread_local FrameEncoder encoder;
  return encoder;
}

/// Close codes a peer may send (RFC 6455 §7.4.1 and §7.4.2; 1012-1014 are IANA-registered).
bool IsValidReceivedCloseCode(std::uint16_t code) {
  if (code >= 3000 && code <= 4999) return true;
  switch (code) {
    case 1000: case 1001: case 1002: case 1003:
    case 1007: case 1008: case 1009: case 1010: case 1011:
    case 1012: case 1013: case 1014:
      return true;
    default:
      return false;
  }
}

/// The length of the longest prefix of `text` (at most `max` bytes) that ends on a UTF-8
/// character boundary.
std::size_t Utf8Prefix(std::string_view text, std::size_t max) {
  if (text.size() <= max) return text.size();
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace

std::string EncodeWebSocketFrame(WebSocketOpcode opcode, std::string_view payload, bool fin,
                                 std::optional<std::uint32_t> mask_key) {
  FrameEncoder& encoder = mask_key ? MaskedEncoder() : UnmaskedEncoder();
  std::string out;
  encoder.EncodeInto(opcode, payload, fin, mask_key, &out);
  return out;
}

std::string EncodeWebSocketText(std::string_view payload) {
  return EncodeWebSocketFrame(WebSocketOpcode::kText, payload);
}

void AppendWebSocketText(std::string_view payload, std::string* out) {
  UnmaskedEncoder().EncodeInto(WebSocketOpcode::kText, payload, true, std::nullopt, out);
}

std::string EncodeWebSocketClose(std::uint16_t code, std::string_view reason) {
  if (code == kCloseNoStatus) return EncodeWebSocketFrame(WebSocketOpcode::kClose, {});
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload.append(reason.substr(0, Utf8Prefix(reason, 123)));
  return EncodeWebSocketFrame(WebSocketOpcode::kClose, payload);
}

std::string EncodeWebSocketPong(std::string_view payload) {
  return EncodeWebSocketFrame(WebSocketOpcode::kPong, payload.substr(0, 125));
}

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  while (p < end) {
    // ASCII runs, 8 bytes at a time.
    while (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ULL) != 0) break;
      p += 8;
    }
    if (p == end) break;
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    std::size_t need;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte (RFC 3629 table)
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      if (c == 0xE0) lo = 0xA0;  // no overlong forms
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      if (c == 0xF0) lo = 0x90;  // no overlong forms
      if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= need) return false;
    if (p[1] < lo || p[1] > hi) return false;
    for (std::size_t i = 2; i <= need; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
    }
    p += need + 1;
  }
  return true;
}

// --- decoding --------------------------------------------------------------------------------

struct WebSocketDecoder::Context {
  wslay_frame_context_ptr frame = nullptr;
  std::string_view input;  // what Feed was given and wslay has not pulled yet

  static ssize_t Recv(std::uint8_t* buf, std::size_t len, int /*flags*/, void* user) {
    auto* self = static_cast<Context*>(user);
    std::size_t n = std::min(len, self->input.size());
    if (n == 0) return -1;  // wslay turns this into WSLAY_ERR_WANT_READ
    std::memcpy(buf, self->input.data(), n);
    self->input.remove_prefix(n);
    return static_cast<ssize_t>(n);
  }
};

WebSocketDecoder::WebSocketDecoder(std::size_t max_message_bytes, bool require_mask)
    : max_message_bytes_(max_message_bytes), require_mask_(require_mask) {}

WebSocketDecoder::~WebSocketDecoder() {
  if (context_ != nullptr) {
    wslay_frame_context_free(context_->frame);
    delete context_;
  }
}

bool WebSocketDecoder::idle() const {
  return !in_frame_ && !in_message_ && fed_bytes_ == consumed_bytes_;
}

std::size_t WebSocketDecoder::HeapBytesForTesting() const {
  auto heap = [](const std::string& s) {
    return s.capacity() > std::string().capacity() ? s.capacity() : 0;  // beyond the SSO buffer
  };
  std::size_t n = heap(message_) + heap(control_);
  if (context_ != nullptr) n += sizeof(Context) + 4096 + 256;  // wslay's context, roughly
  return n;
}

std::optional<WebSocketError> WebSocketDecoder::Fail(std::uint16_t code, std::string_view reason) {
  finished_ = true;
  message_ = std::string();
  control_ = std::string();
  return WebSocketError{code, reason};
}

std::optional<WebSocketError> WebSocketDecoder::StartFrame(std::uint8_t opcode, bool fin,
                                                           std::uint8_t rsv, bool masked,
                                                           std::uint64_t payload_length) {
  // No extension is ever negotiated, so every RSV bit must be clear (RFC 6455 §5.2).
  if (rsv != 0) return Fail(kCloseProtocolError, "reserved bits set");
  // §5.1: a server must close the connection on an unmasked client frame.
  if (require_mask_ && !masked) return Fail(kCloseProtocolError, "client frames must be masked");
  switch (opcode) {
    case static_cast<std::uint8_t>(WebSocketOpcode::kContinuation):
      if (!in_message_) return Fail(kCloseProtocolError, "continuation without a message");
      break;
    case static_cast<std::uint8_t>(WebSocketOpcode::kText):
    case static_cast<std::uint8_t>(WebSocketOpcode::kBinary):
      if (in_message_) return Fail(kCloseProtocolError, "new message inside a fragmented one");
      in_message_ = true;
      message_is_text_ = opcode == static_cast<std::uint8_t>(WebSocketOpcode::kText);
      message_.clear();
      break;
    case static_cast<std::uint8_t>(WebSocketOpcode::kClose):
    case static_cast<std::uint8_t>(WebSocketOpcode::kPing):
    case static_cast<std::uint8_t>(WebSocketOpcode::kPong):
      // wslay already refused fragmented control frames and bodies over 125 bytes.
      control_.clear();
      break;
    default:
      return Fail(kCloseProtocolError, "unknown opcode");
  }
  bool is_data = opcode < 0x8;
  if (is_data && (payload_length > max_message_bytes_ ||
                  message_.size() > max_message_bytes_ - payload_length)) {
    return Fail(kCloseMessageTooBig, "message too big");
  }
  in_frame_ = true;
  frame_opcode_ = opcode;
  frame_fin_ = fin;
  frame_length_ = payload_length;
  frame_received_ = 0;
  frame_header_bytes_ = 2 + (payload_length >= 126 ? (payload_length >= 65536 ? 8 : 2) : 0) +
                        (masked ? 4 : 0);
  return std::nullopt;
}

std::optional<WebSocketError> WebSocketDecoder::FinishFrame(std::vector<WebSocketEvent>* events) {
  in_frame_ = false;
  consumed_bytes_ += frame_header_bytes_ + frame_length_;
  switch (frame_opcode_) {
    case static_cast<std::uint8_t>(WebSocketOpcode::kClose): {
      WebSocketEvent event;
      event.kind = WebSocketEvent::Kind::kClose;
      if (control_.size() == 1) return Fail(kCloseProtocolError, "close frame of 1 byte");
      if (control_.size() >= 2) {
        auto code = static_cast<std::uint16_t>(
            (static_cast<unsigned char>(control_[0]) << 8) | static_cast<unsigned char>(control_[1]));
        if (!IsValidReceivedCloseCode(code)) return Fail(kCloseProtocolError, "invalid close code");
        std::string_view reason = std::string_view(control_).substr(2);
        if (!IsValidUtf8(reason)) return Fail(kCloseInvalidPayload, "close reason is not UTF-8");
        event.close_code = code;
        event.payload.assign(reason);
      }
      events->push_back(std::move(event));
      finished_ = true;  // spec: nothing after a close frame is read
      control_ = std::string();
      message_ = std::string();
      return std::nullopt;
    }
    case static_cast<std::uint8_t>(WebSocketOpcode::kPing):
    case static_cast<std::uint8_t>(WebSocketOpcode::kPong): {
      WebSocketEvent event;
      event.kind = frame_opcode_ == static_cast<std::uint8_t>(WebSocketOpcode::kPing)
                       ? WebSocketEvent::Kind::kPing
                       : WebSocketEvent::Kind::kPong;
      event.payload = std::move(control_);
      control_ = std::string();
      events->push_back(std::move(event));
      return std::nullopt;
    }
    default:
      break;
  }
  if (!frame_fin_) return std::nullopt;  // more fragments to come
  if (message_is_text_ && !IsValidUtf8(message_)) {
    return Fail(kCloseInvalidPayload, "text message is not UTF-8");
  }
  WebSocketEvent event;
  event.kind = message_is_text_ ? WebSocketEvent::Kind::kText : WebSocketEvent::Kind::kBinary;
  event.payload = std::move(message_);
  message_ = std::string();  // an idle connection keeps no message buffer
  in_message_ = false;
  events->push_back(std::move(event));
  return std::nullopt;
}

void WebSocketDecoder::ReleaseContextIfIdle() {
  // wslay keeps up to 4 KiB of read-ahead inside its context; when every byte given to it
  // belongs to a frame already finished, that buffer is empty and the context is back in
  // its initial state, so it can go and be made again for the next frame.
  if (context_ == nullptr || in_frame_ || fed_bytes_ != consumed_bytes_) return;
  wslay_frame_context_free(context_->frame);
  delete context_;
  context_ = nullptr;
  fed_bytes_ = consumed_bytes_ = 0;
}

std::optional<WebSocketError> WebSocketDecoder::CheckScannedHeader() {
  const std::uint8_t* h = scan_header_;
  const bool fin = (h[0] & 0x80) != 0;
  const std::uint8_t rsv = (h[0] >> 4) & 0x7;
  const std::uint8_t opcode = h[0] & 0xF;
  const bool masked = (h[1] & 0x80) != 0;
  const std::uint8_t length7 = h[1] & 0x7F;
  std::uint64_t length = length7;
  if (length7 == 126) {
    length = (std::uint64_t{h[2]} << 8) | h[3];
    if (length < 126) return WebSocketError{kCloseProtocolError, "malformed frame header"};
  } else if (length7 == 127) {
    length = 0;
    for (int i = 2; i < 10; ++i) length = (length << 8) | h[i];
    if ((length >> 63) != 0 || length < 65536) {
      return WebSocketError{kCloseProtocolError, "malformed frame header"};
    }
  }
  // The same rules, in the same order, as StartFrame (which sees the frame later).
  if (rsv != 0) return WebSocketError{kCloseProtocolError, "reserved bits set"};
  if (require_mask_ && !masked) {
    return WebSocketError{kCloseProtocolError, "client frames must be masked"};
  }
  switch (opcode) {
    case static_cast<std::uint8_t>(WebSocketOpcode::kContinuation):
      if (!scan_in_message_) {
        return WebSocketError{kCloseProtocolError, "continuation without a message"};
      }
      break;
    case static_cast<std::uint8_t>(WebSocketOpcode::kText):
    case static_cast<std::uint8_t>(WebSocketOpcode::kBinary):
      if (scan_in_message_) {
        return WebSocketError{kCloseProtocolError, "new message inside a fragmented one"};
      }
      scan_message_bytes_ = 0;
      break;
    case static_cast<std::uint8_t>(WebSocketOpcode::kClose):
    case static_cast<std::uint8_t>(WebSocketOpcode::kPing):
    case static_cast<std::uint8_t>(WebSocketOpcode::kPong):
      if (!fin || length > 125) return WebSocketError{kCloseProtocolError, "malformed frame header"};
      break;
    default:
      return WebSocketError{kCloseProtocolError, "unknown opcode"};
  }
  if (opcode < 0x8) {
    if (length > max_message_bytes_ || scan_message_bytes_ > max_message_bytes_ - length) {
      return WebSocketError{kCloseMessageTooBig, "message too big"};
    }
    scan_message_bytes_ += length;
    scan_in_message_ = !fin;
  }
  scan_skip_ = length;
  return std::nullopt;
}

std::optional<WebSocketDecoder::ScanError> WebSocketDecoder::ScanHeaders(std::string_view bytes) {
  std::size_t i = 0;
  std::size_t header_start = 0;  // a header begun in an earlier piece starts "at 0" here
  while (i < bytes.size()) {
    if (scan_skip_ > 0) {
      std::uint64_t take = std::min<std::uint64_t>(scan_skip_, bytes.size() - i);
      scan_skip_ -= take;
      i += static_cast<std::size_t>(take);
      continue;
    }
    if (scan_have_ == 0) header_start = i;
    scan_header_[scan_have_++] = static_cast<std::uint8_t>(bytes[i++]);
    if (scan_have_ == 2) {
      std::uint8_t length7 = scan_header_[1] & 0x7F;
      scan_need_ = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) +
                   ((scan_header_[1] & 0x80) != 0 ? 4 : 0);
    }
    if (scan_have_ >= 2 && scan_have_ == scan_need_) {
      scan_have_ = 0;
      scan_need_ = 2;
      if (auto error = CheckScannedHeader()) return ScanError{header_start, *error};
    }
  }
  return std::nullopt;
}

std::optional<WebSocketError> WebSocketDecoder::Feed(std::string_view bytes,
                                                     std::vector<WebSocketEvent>* events) {
  if (finished_ || bytes.empty()) return std::nullopt;
  // Headers first: a bad one ends the stream where it begins, after the frames before it.
  std::optional<ScanError> scanned = ScanHeaders(bytes);
  std::string_view good = scanned ? bytes.substr(0, scanned->at) : bytes;
  if (!good.empty()) {
    if (auto error = FeedFrames(good, events)) return error;
    if (finished_) return std::nullopt;  // a close frame came first
  }
  if (scanned) return Fail(scanned->error.code, scanned->error.reason);
  return std::nullopt;
}

std::optional<WebSocketError> WebSocketDecoder::FeedFrames(std::string_view bytes,
                                                           std::vector<WebSocketEvent>* events) {
  if (context_ == nullptr) {
    auto context = std::make_unique<Context>();
    wslay_frame_callbacks callbacks{};
    callbacks.recv_callback = &Context::Recv;
    if (wslay_frame_context_init(&context->frame, &callbacks, context.get()) != 0) {
      return Fail(kCloseInternalError, "out of memory");
    }
    context_ = context.release();
  }
  context_->input = bytes;
  fed_bytes_ += bytes.size();
  for (;;) {
    wslay_frame_iocb iocb{};
    ssize_t r = wslay_frame_recv(context_->frame, &iocb);
    if (r == WSLAY_ERR_PROTO) {
      // Control frame fragmented or over 125 bytes, non-minimal or 64-bit-overflowing length.
      return Fail(kCloseProtocolError, "malformed frame header");
    }
    if (r < 0) {
      // WSLAY_ERR_WANT_READ: wslay asks for more only once our input is used up.
      if (!context_->input.empty()) return Fail(kCloseInternalError, "decoder stalled");
      break;
    }
    if (!in_frame_) {
      if (auto error = StartFrame(iocb.opcode, iocb.fin != 0, iocb.rsv, iocb.mask != 0,
                                  iocb.payload_length)) {
        return error;
      }
    }
    if (iocb.data_length > 0) {
      const char* data = reinterpret_cast<const char*>(iocb.data);
      if (frame_opcode_ >= 0x8) {
        control_.append(data, iocb.data_length);
      } else {
        message_.append(data, iocb.data_length);
      }
      frame_received_ += iocb.data_length;
    }
    if (frame_received_ == frame_length_) {
      if (auto error = FinishFrame(events)) return error;
      if (finished_) return std::nullopt;
    }
  }
  context_->input = {};
  ReleaseContextIfIdle();
  return std::nullopt;
}

}  // namespace agentcore::server
