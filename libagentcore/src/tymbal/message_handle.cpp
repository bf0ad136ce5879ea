// SPDX-License-Identifier: Apache-2.0
#include <agentcore/tymbal/message_handle.hpp>

#include <agentcore/tymbal/frame.hpp>
#include <agentcore/tymbal/writer.hpp>

namespace agentcore {

MessageHandle::MessageHandle(std::string id, Json metadata)
    : id_(std::move(id)), metadata_(std::move(metadata)) {}

Result<std::string> MessageHandle::Stream(std::string_view text) {
  if (finalized_) return Conflict("cannot stream to a finalized message");
  std::string lines;
  if (!started_) {
    Result<TymbalFrame> start = MakeStartFrame(id_, metadata_);
    if (!start.ok()) return start.status();
    AppendFrameLine(*start, &lines);
    started_ = true;
  }
  text_.append(text);
  AppendFrameLine(MakeAppendFrame(id_, std::string(text)), &lines);
  return lines;
}

Result<std::string> MessageHandle::Set(const Json& value, std::string timestamp) {
  if (finalized_) return Conflict("cannot set a finalized message");
  if (!value.is_object()) return InvalidArgument("a set value must be an object");
  Json final_value = value;
  if (started_ && metadata_.is_object()) {
    final_value = metadata_;
    final_value.Set("content", Json(text_));
    for (const JsonMember& m : value.as_object()) final_value.Set(m.key, m.value);
  }
  finalized_ = true;
  return SerializeFrameLine(MakeSetFrame(id_, std::move(timestamp), std::move(final_value)));
}

std::string MessageHandle::Delete() {
  finalized_ = true;
  return SerializeFrameLine(MakeResetFrame(id_));
}

}  // namespace agentcore
