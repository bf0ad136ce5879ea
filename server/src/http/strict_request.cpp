// SPDX-License-Identifier: Apache-2.0
#include "http/strict_request.hpp"

#include <algorithm>
#include <cstring>

namespace agentcore::server {
namespace {

constexpr char kCr = '\r';
constexpr char kLf = '\n';
constexpr std::size_t kMaxChunkLine = 1024;  // size, extensions and CRLF of one chunk line

// RFC 9110 §5.6.2 tchar.
bool IsTokenChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// field-vchar / SP / HTAB (RFC 9110 §5.5); obs-text (0x80-0xFF) is accepted.
bool IsFieldValueChar(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7F); }

// The request target: visible ASCII, or bytes >= 0x80 (raw UTF-8 paths reach the router,
// which decides); never a space or a control byte.
bool IsTargetChar(unsigned char c) { return c > 0x20 && c != 0x7F; }

int HexDigit(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool EqualsLower(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

void StrictRequestCheck::Reset() { *this = StrictRequestCheck(); }

std::string_view StrictRequestCheck::Fail(std::string_view why) {
  state_ = State::kError;
  return why;
}

std::string_view StrictRequestCheck::EndOfLine(AfterLf next) {
  after_lf_ = next;
  state_ = State::kLf;
  return {};
}

std::string_view StrictRequestCheck::FinishField() {
  if (trailer_ || field_ == Field::kOther) return {};
  if (value_overflow_) {
    return Fail(field_ == Field::kContentLength ? "invalid Content-Length"
                                                : "unsupported Transfer-Encoding");
  }
  std::string_view value(value_, value_length_);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (field_ == Field::kContentLength) {
    if (++content_length_count_ > 1) return Fail("more than one Content-Length");
    if (value.empty() || value.size() > 19) return Fail("invalid Content-Length");
    std::uint64_t n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return Fail("invalid Content-Length");
      n = n * 10 + static_cast<std::uint64_t>(c - '0');  // 19 digits fit in 64 bits
    }
    if (n > (std::uint64_t{1} << 63) - 1) return Fail("invalid Content-Length");
    content_length_ = n;
    return {};
  }
  if (++transfer_encoding_count_ > 1) return Fail("more than one Transfer-Encoding");
  if (!EqualsLower(value, "chunked")) return Fail("unsupported Transfer-Encoding");
  chunked_ = true;
  return {};
}

std::string_view StrictRequestCheck::FinishHead() {
  head_done_ = true;
  if (chunked_ && content_length_count_ > 0) {
    return Fail("both Content-Length and Transfer-Encoding");
  }
  if (chunked_) {
    if (http10_) return Fail("Transfer-Encoding in an HTTP/1.0 request");
    state_ = State::kChunkSize;
    token_length_ = 0;
    chunk_digits_ = 0;
    remaining_ = 0;
    return {};
  }
  remaining_ = content_length_;
  state_ = remaining_ > 0 ? State::kBody : State::kDone;
  return {};
}

std::string_view StrictRequestCheck::AfterLineFeed() {
  switch (after_lf_) {
    case AfterLf::kField:
    case AfterLf::kTrailerField:
      state_ = trailer_ ? State::kTrailerStart : State::kFieldStart;
      return {};
    case AfterLf::kHeadEnd:
      return FinishHead();
    case AfterLf::kChunkData:
      state_ = State::kChunkData;
      return {};
    case AfterLf::kChunkSize:
      state_ = State::kChunkSize;
      token_length_ = 0;
      chunk_digits_ = 0;
      remaining_ = 0;
      return {};
    case AfterLf::kTrailerEnd:
      state_ = State::kDone;
      return {};
  }
  return {};
}

StrictRequestCheck::Step StrictRequestCheck::Feed(std::string_view bytes) {
  Step step;
  if (state_ == State::kError) {
    step.error = "malformed request";
    return step;
  }
  std::size_t i = 0;
  while (i < bytes.size() && state_ != State::kDone) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    std::string_view error;
    switch (state_) {
      case State::kStart:
        if (c == kCr) {
          // Empty lines before the request line are ignored (RFC 9112 §2.2), a few of them.
          if (++empty_lines_ > 8) {
            error = Fail("too many empty lines before the request");
          } else {
            state_ = State::kLf;  // method_seen_ is false: kLf returns here
          }
          break;
        }
        if (!IsTokenChar(c)) {
          error = Fail(c == kLf ? "bare LF line ending" : "invalid method");
          break;
        }
        state_ = State::kMethod;
        token_length_ = 1;
        break;
      case State::kMethod:
        if (c == ' ') {
          state_ = State::kTarget;
          token_length_ = 0;
        } else if (!IsTokenChar(c)) {
          error = Fail("invalid method");
        } else {
          ++token_length_;
        }
        break;
      case State::kTarget:
        if (c == ' ') {
          if (token_length_ == 0) {
            error = Fail("invalid request target");
          } else {
            state_ = State::kVersion;
            token_length_ = 0;
          }
        } else if (!IsTargetChar(c)) {
          error = Fail("invalid character in the request target");
        } else {
          ++token_length_;
        }
        break;
      case State::kVersion:
        if (c == kCr) {
          std::string_view version(version_, token_length_);
          if (version == "HTTP/1.1") {
            http10_ = false;
          } else if (version == "HTTP/1.0") {
            http10_ = true;
          } else {
            error = Fail("unsupported HTTP version");
            break;
          }
          method_seen_ = true;
          error = EndOfLine(AfterLf::kField);
        } else if (c == kLf) {
          error = Fail("bare LF line ending");
        } else if (token_length_ >= 8) {
          error = Fail("unsupported HTTP version");
        } else {
          version_[token_length_++] = static_cast<char>(c);
        }
        break;
      case State::kLf:
        if (c != kLf) {
          error = Fail("CR not followed by LF");
        } else if (!method_seen_) {
          state_ = State::kStart;  // an empty line before the request line
        } else {
          error = AfterLineFeed();
        }
        break;
      case State::kFieldStart:
      case State::kTrailerStart:
        if (c == kCr) {
          error = EndOfLine(state_ == State::kFieldStart ? AfterLf::kHeadEnd : AfterLf::kTrailerEnd);
        } else if (c == ' ' || c == '\t') {
          error = Fail("obsolete line folding");
        } else if (c == kLf) {
          error = Fail("bare LF line ending");
        } else if (!IsTokenChar(c)) {
          error = Fail(c == ':' ? "empty header name" : "invalid character in a header name");
        } else {
          state_ = State::kFieldName;
          token_length_ = 0;
          name_[token_length_++] = static_cast<char>(c);
        }
        break;
      case State::kFieldName:
        if (c == ':') {
          std::string_view name(name_, std::min(token_length_, sizeof name_));
          field_ = token_length_ > sizeof name_      ? Field::kOther
                   : EqualsLower(name, "content-length")    ? Field::kContentLength
                   : EqualsLower(name, "transfer-encoding") ? Field::kTransferEncoding
                                                            : Field::kOther;
          value_length_ = 0;
          value_overflow_ = false;
          state_ = State::kFieldValue;
        } else if (c == ' ' || c == '\t') {
          error = Fail("whitespace in or after a header name");
        } else if (c == kCr || c == kLf) {
          error = Fail("header line without a colon");
        } else if (!IsTokenChar(c)) {
          error = Fail("invalid character in a header name");
        } else {
          if (token_length_ < sizeof name_) name_[token_length_] = static_cast<char>(c);
          ++token_length_;
        }
        break;
      case State::kFieldValue:
        if (c == kCr) {
          error = FinishField();
          if (error.empty()) error = EndOfLine(trailer_ ? AfterLf::kTrailerField : AfterLf::kField);
        } else if (c == kLf) {
          error = Fail("bare LF line ending");
        } else if (!IsFieldValueChar(c)) {
          error = Fail("control character in a header value");
        } else if (field_ != Field::kOther && !(value_length_ == 0 && (c == ' ' || c == '\t'))) {
          if (value_length_ < sizeof value_) {
            value_[value_length_++] = static_cast<char>(c);
          } else {
            value_overflow_ = true;
          }
        }
        break;
      case State::kBody: {
        std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, bytes.size() - i));
        remaining_ -= n;
        i += n;
        if (remaining_ == 0) state_ = State::kDone;
        continue;
      }
      case State::kChunkSize:
        if (++token_length_ > kMaxChunkLine) {
          error = Fail("chunk line too long");
        } else if (int d = HexDigit(c); d >= 0) {
          if (++chunk_digits_ > 16) {
            error = Fail("chunk size too large");
          } else {
            remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(d);
          }
        } else if (chunk_digits_ == 0) {
          error = Fail("invalid chunk size");
        } else if (c == ';') {
          state_ = State::kChunkExt;
        } else if (c == kCr) {
          error = EndOfLine(remaining_ == 0 ? AfterLf::kTrailerField : AfterLf::kChunkData);
          if (remaining_ == 0) trailer_ = true;
        } else {
          error = Fail("invalid chunk size");
        }
        if (error.empty() && remaining_ > (std::uint64_t{1} << 62)) {
          error = Fail("chunk size too large");
        }
        break;
      case State::kChunkExt:
        if (++token_length_ > kMaxChunkLine) {
          error = Fail("chunk line too long");
        } else if (c == kCr) {
          error = EndOfLine(remaining_ == 0 ? AfterLf::kTrailerField : AfterLf::kChunkData);
          if (remaining_ == 0) trailer_ = true;
        } else if (!IsFieldValueChar(c)) {
          error = Fail("control character in a chunk extension");
        }
        break;
      case State::kChunkData: {
        std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(remaining_, bytes.size() - i));
        remaining_ -= n;
        i += n;
        if (remaining_ == 0) state_ = State::kChunkDataCr;
        continue;
      }
      case State::kChunkDataCr:
        if (c != kCr) {
          error = Fail("chunk data not followed by CRLF");
        } else {
          error = EndOfLine(AfterLf::kChunkSize);
        }
        break;
      case State::kDone:
      case State::kError:
        break;
    }
    if (!error.empty()) {
      step.consumed = i;
      step.error = error;
      return step;
    }
    ++i;
  }
  step.consumed = i;
  step.done = state_ == State::kDone;
  return step;
}

}  // namespace agentcore::server
