// SPDX-License-Identifier: Apache-2.0
#pragma once

/// A strict check of HTTP/1.1 request framing (RFC 9112), run over the bytes of each request
/// before http-parser sees them. Debian builds http-parser with HTTP_PARSER_STRICT=0, so the
/// parser itself accepts a space in or before a header name (`Transfer-Encoding : chunked`),
/// bare LF line endings, any bytes after a chunk's data and any one-digit version. Behind a
/// proxy that reads the same bytes differently those are request smuggling; here every one of
/// them is refused with a reason (the connection answers 400 and closes).
///
/// Refused: a request line other than `method SP target SP HTTP/1.0|1.1 CRLF`, control bytes
/// or spaces in the target, a header name that is not a token or is followed by whitespace, a
/// control byte in a header value, obsolete line folding, bare CR or LF, Content-Length that
/// is not 1*DIGIT (at most 2^63-1) or is repeated, Transfer-Encoding other than one `chunked`,
/// both Content-Length and Transfer-Encoding, chunked framing in HTTP/1.0, a chunk size that
/// is not 1-16 hex digits, a chunk line over 1 KiB, chunk data not followed by CRLF.
///
/// The check keeps a few dozen bytes of state and never buffers input. Thread-compatible.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace agentcore::server {

class StrictRequestCheck {
 public:
  struct Step {
    std::size_t consumed = 0;    // bytes of the input that belong to the request (all if !done)
    bool done = false;           // the request ended at `consumed`
    std::string_view error;      // non-empty: the request is malformed (a static text)
  };

  /// Checks the next bytes of the request. Stops at the end of the request (the next one
  /// starts after `Reset`) or at the first violation; after an error it refuses everything.
  Step Feed(std::string_view bytes);

  /// Ready for the next request on the connection.
  void Reset();

  bool done() const { return state_ == State::kDone; }
  /// True once the request head (line and header fields) passed.
  bool head_done() const { return head_done_; }

 private:
  enum class State : std::uint8_t {
    kStart,         // before the request line (empty CRLF lines are skipped)
    kMethod,
    kTarget,
    kVersion,
    kLf,            // a CR was seen: LF must follow
    kFieldStart,    // start of a header line, or CRLF ending the head
    kFieldName,
    kFieldValue,
    kBody,          // Content-Length bytes
    kChunkSize,
    kChunkExt,
    kChunkData,
    kChunkDataCr,   // CR after chunk data
    kTrailerStart,  // after the last chunk: trailer fields, then CRLF
    kDone,
    kError,
  };
  enum class Field : std::uint8_t { kOther, kContentLength, kTransferEncoding };
  enum class AfterLf : std::uint8_t { kField, kHeadEnd, kChunkData, kChunkSize, kTrailerField,
                                      kTrailerEnd };

  std::string_view Fail(std::string_view why);
  std::string_view EndOfLine(AfterLf next);
  std::string_view FinishField();
  std::string_view FinishHead();
  std::string_view AfterLineFeed();

  State state_ = State::kStart;
  AfterLf after_lf_ = AfterLf::kField;
  bool head_done_ = false;
  bool trailer_ = false;
  bool http10_ = false;
  bool method_seen_ = false;  // the request line passed
  int empty_lines_ = 0;
  std::size_t token_length_ = 0;  // method / name / version / chunk line length so far
  char version_[9] = {};
  // The header field being read: its name, matched against the two that frame the body.
  char name_[18] = {};
  Field field_ = Field::kOther;
  char value_[24] = {};  // the framing field's value (trimmed later), bounded
  std::size_t value_length_ = 0;
  bool value_overflow_ = false;
  // What the head said about the body.
  int content_length_count_ = 0;
  int transfer_encoding_count_ = 0;
  bool chunked_ = false;
  std::uint64_t content_length_ = 0;
  std::uint64_t remaining_ = 0;  // body or chunk bytes left
  int chunk_digits_ = 0;
};

}  // namespace agentcore::server
