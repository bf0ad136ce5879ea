// SPDX-License-Identifier: Apache-2.0
// Out-of-line destructors, so each interface's vtable has one home in the library, and the
// default implementations that compose other Store calls.
#include <agentcore/store/store.hpp>

#include <string>

namespace agentcore {

StoreListener::~StoreListener() = default;
StoreSubscription::~StoreSubscription() = default;
Store::~Store() = default;

Result<std::vector<RunEventRecord>> Store::AppendRunEvents(
    std::string_view run_id, std::span<const std::pair<std::string, Json>> events) {
  std::vector<RunEventRecord> out;
  out.reserve(events.size());
  for (const auto& [type, data] : events) {
    AGENTCORE_ASSIGN_OR_RETURN(RunEventRecord e, AppendRunEvent(run_id, type, data));
    out.push_back(std::move(e));
  }
  return out;
}

Result<CompletedMessage> Store::CompleteMessage(const NewMessage& in) {
  if (in.id.empty()) return InvalidArgument("CompleteMessage needs a message id");
  NewMessage complete = in;
  complete.is_complete = true;
  Result<Message> inserted = AppendMessage(complete);
  if (inserted.ok()) return CompletedMessage{MessageCompletion::kInserted, inserted->seq};
  if (inserted.status().code() != ErrorCode::kAlreadyExists) return inserted.status();
  AGENTCORE_ASSIGN_OR_RETURN(Message existing, GetMessage(in.id));
  if (existing.channel_id != in.channel_id ||
      (!in.space_id.empty() && existing.space_id != in.space_id)) {
    return AlreadyExists("message id " + in.id + " is taken by another channel");
  }
  if (existing.is_complete) {
    return CompletedMessage{MessageCompletion::kAlreadyComplete, existing.seq};
  }
  MessagePatch patch;
  patch.content = complete.content;
  patch.is_complete = true;
  patch.metadata = complete.metadata;
  patch.type = complete.type;
  AGENTCORE_RETURN_IF_ERROR(UpdateMessage(in.id, patch).status());
  return CompletedMessage{MessageCompletion::kCompleted, existing.seq};
}

}  // namespace agentcore
