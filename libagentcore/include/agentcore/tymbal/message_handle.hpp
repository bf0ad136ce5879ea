// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The producer side of one streamed message (`shared/spec/cast.md` §2.6, Cast's message
/// handle): an agent streams text deltas, then finalizes the message with its full value, and
/// the handle produces the NDJSON lines to send:
///
///     MessageHandle h(NewUlid(), metadata);   // metadata: {"type":"agent","sender":"echo"}
///     send(*h.Stream("Hel"));                 // start + append lines
///     send(*h.Stream("lo"));                  // append line
///     send(*h.Set(Json::Object(), now_iso));  // set line: {...metadata, content:"Hello"}
///
/// Thread-compatible.

#include <string>
#include <string_view>

#include <agentcore/export.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>

namespace agentcore {

class AGENTCORE_EXPORT MessageHandle {
 public:
  /// `metadata` null (object mode) or an object without a "content" key (text mode).
  explicit MessageHandle(std::string id, Json metadata = nullptr);

  /// Lines for one text delta: the start frame first if the message has not started, then an
  /// append frame. Errors: kConflict "cannot stream to a finalized message"; kInvalidArgument
  /// when the metadata is not an object or holds "content".
  Result<std::string> Stream(std::string_view text);

  /// The set frame that completes the message. If the message started, its value is
  /// `{...metadata, content: <streamed text>, ...value}` (later keys win) in text mode, or
  /// `value` in object mode; if it never started, `value` as is. Errors: kConflict
  /// "cannot set a finalized message"; kInvalidArgument when `value` is not an object.
  Result<std::string> Set(const Json& value, std::string timestamp);

  /// The reset frame that deletes the message; finalizes it.
  std::string Delete();

  const std::string& id() const { return id_; }
  /// The text streamed so far.
  const std::string& text() const { return text_; }
  bool started() const { return started_; }
  bool finalized() const { return finalized_; }

 private:
  std::string id_;
  Json metadata_;
  std::string text_;
  bool started_ = false;
  bool finalized_ = false;
};

}  // namespace agentcore
