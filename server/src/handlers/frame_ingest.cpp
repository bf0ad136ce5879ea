// SPDX-License-Identifier: Apache-2.0
#include "handlers/frame_ingest.hpp"

#include <agentcore/tymbal/writer.hpp>

#include "app.hpp"

namespace agentcore::server {
namespace {

/// `v[key] ?? fallback` for a column that holds text: strings as they are, other non-null
/// values as their JSON text.
std::string TextOr(const Json& v, std::string_view key, std::string_view fallback) {
  const Json* member = v.is_object() ? v.Find(key) : nullptr;
  if (member == nullptr || member->is_null()) return std::string(fallback);
  if (member->is_string()) return member->as_string();
  return ToJson(*member);
}

Json TymbalMetadata(const Json& v) {
  Json metadata = Json::Object();
  metadata.Set("fromTymbal", true);
  metadata.Set("method", TextOr(v, "method", "agent_output"));
  return metadata;
}

}  // namespace

void NormalizeToolCall(Json* value, bool legacy) {
  if (!value->is_object()) return;
  const std::string* type = value->FindString("type");
  if (type == nullptr || *type != "tool_call") return;
  const Json* input = value->Find("input");
  if (input == nullptr || value->Find("args") != nullptr) return;
  Json args = *input;
  if (!legacy) value->Erase("input");
  value->Set("args", std::move(args));
}

NewMessage MessageFromSetFrame(const TymbalFrame& frame, const IngestTarget& target) {
  const Json& v = frame.value;
  NewMessage m;
  m.id = frame.id;
  m.space_id = target.space_id;
  m.channel_id = target.channel_id;
  m.sender = TextOr(v, "sender", "system");
  m.sender_type = TextOr(v, "senderType", "agent");
  m.type = TextOr(v, "type", "agent");
  const Json* content = v.is_object() ? v.Find("content") : nullptr;
  if (m.type == "tool_call" || m.type == "tool_result" || content == nullptr ||
      content->is_null()) {
    m.content = v;
  } else {
    m.content = *content;
  }
  if (const Json* mentions = v.is_object() ? v.Find("mentions") : nullptr;
      mentions != nullptr && mentions->is_array()) {
    std::vector<std::string> names;
    for (const Json& name : mentions->as_array()) {
      names.push_back(name.is_string() ? name.as_string() : ToJson(name));
    }
    m.addressed_agents = std::move(names);
  }
  m.metadata = TymbalMetadata(v);
  m.is_complete = true;
  return m;
}

Status PersistSetFrame(App& app, const TymbalFrame& frame, const IngestTarget& target,
                       bool* applied) {
  *applied = false;
  const Json& v = frame.value;
  if (v.is_object()) {
    const std::string* type = v.FindString("type");
    if (type != nullptr && *type == "cost") {
      CostRecord cost;
      cost.space_id = target.space_id;
      cost.channel_id = target.channel_id;
      cost.callsign = TextOr(v, "sender", "");
      if (const Json* usd = v.Find("totalCostUsd"); usd && usd->is_number()) {
        cost.cost_usd = usd->as_number();
      }
      if (const Json* d = v.Find("durationMs"); d && d->is_number()) {
        cost.duration_ms = static_cast<std::int64_t>(d->as_number());
      }
      if (const Json* n = v.Find("numTurns"); n && n->is_number()) {
        cost.num_turns = static_cast<std::int64_t>(n->as_number());
      }
      if (const Json* u = v.Find("usage")) cost.usage = *u;
      if (const Json* mu = v.Find("modelUsage")) cost.model_usage = *mu;
      // Cast logs and swallows cost errors (a cost frame without a sender, negative totals);
      // so do we: the frame was still broadcast.
      if (!cost.callsign.empty()) (void)app.store().UpsertCost(cost);
      *applied = true;
      return Status();
    }
  }
  NewMessage message = MessageFromSetFrame(frame, target);
  Result<Message> inserted = app.store().AppendMessage(message);
  if (inserted.ok()) {
    *applied = true;
    return Status();
  }
  if (inserted.status().code() != ErrorCode::kAlreadyExists) return inserted.status();
  // The id exists: a streamed message to complete, or a retried frame to ignore.
  AGENTCORE_ASSIGN_OR_RETURN(Message existing, app.store().GetMessage(frame.id));
  if (existing.channel_id != target.channel_id || existing.space_id != target.space_id) {
    return AlreadyExists("message id " + frame.id + " is taken by another channel");
  }
  if (existing.is_complete) return Status();
  MessagePatch patch;
  patch.content = std::move(message.content);
  patch.is_complete = true;
  patch.metadata = std::move(message.metadata);
  patch.type = std::move(message.type);
  AGENTCORE_RETURN_IF_ERROR(app.store().UpdateMessage(frame.id, patch).status());
  *applied = true;
  return Status();
}

Status ApplyReset(App& app, const TymbalFrame& frame, const IngestTarget& target) {
  Result<Message> existing = app.store().GetMessage(frame.id);
  if (!existing.ok()) {
    return existing.status().code() == ErrorCode::kNotFound ? Status() : existing.status();
  }
  if (existing->space_id != target.space_id || existing->channel_id != target.channel_id) {
    return Status();  // not ours to delete; like Cast, an unknown id is not an error
  }
  Status s = app.store().DeleteMessage(frame.id);
  return s.code() == ErrorCode::kNotFound ? Status() : s;
}

std::string BroadcastLine(const TymbalFrame& frame, const IngestTarget& target) {
  if (target.legacy) return SerializeFrame(frame);
  TymbalFrame with_channel = frame;
  bool replaced = false;
  for (JsonMember& member : with_channel.extra) {
    if (member.key == "c") {
      member.value = target.channel_id;
      replaced = true;
    }
  }
  if (!replaced) with_channel.extra.push_back({"c", Json(target.channel_id)});
  return SerializeFrame(with_channel);
}

// --- streamed uploads -------------------------------------------------------------------------

StreamApplier::StreamApplier(App* app, IngestTarget target)
    : app_(app), target_(std::move(target)) {}

asio::awaitable<Status> StreamApplier::Apply(TymbalFrame frame) {
  ++frames_;
  switch (frame.kind) {
    case FrameKind::kStart: {
      if (finished_.count(frame.id) != 0) co_return Status();  // a retry of a finished message
      Result<AssemblyEvent> event = assembler_.Apply(frame);
      if (!event.ok()) co_return event.status();
      NewMessage m;
      m.id = frame.id;
      m.space_id = target_.space_id;
      m.channel_id = target_.channel_id;
      m.sender = TextOr(frame.value, "sender", "system");
      m.sender_type = TextOr(frame.value, "senderType", "agent");
      m.type = TextOr(frame.value, "type", "agent");
      m.content = "";
      m.is_complete = false;
      m.metadata = TymbalMetadata(frame.value);
      m.metadata.Set("streaming", true);
      bool finished = false;
      Status s = co_await app_->Offload([this, &m, &finished]() -> Status {
        Result<Message> inserted = app_->store().AppendMessage(m);
        if (inserted.ok()) return Status();
        if (inserted.status().code() != ErrorCode::kAlreadyExists) return inserted.status();
        Result<Message> existing = app_->store().GetMessage(m.id);
        if (!existing.ok()) return existing.status();
        if (existing->channel_id != m.channel_id) {
          return AlreadyExists("message id " + m.id + " is taken by another channel");
        }
        if (existing->is_complete) {
          finished = true;
          return Status();
        }
        MessagePatch restart;  // start resets a message (§2.10): a resumed upload begins anew
        restart.content = Json("");
        restart.metadata = m.metadata;
        return app_->store().UpdateMessage(m.id, restart).status();
      });
      if (!s.ok()) co_return s;
      if (finished) {
        finished_.insert(frame.id);
        assembler_.Abandon(frame.id);
        co_return Status();
      }
      ++persisted_;
      dirty_.erase(frame.id);
      app_->Publish(target_.channel_id, "", BroadcastLine(frame, target_));
      co_return Status();
    }
    case FrameKind::kAppend: {
      if (finished_.count(frame.id) != 0) co_return Status();
      Result<AssemblyEvent> event = assembler_.Apply(frame);
      if (!event.ok()) co_return event.status();
      if (*event == AssemblyEvent::kUpdated) dirty_.insert(frame.id);
      app_->Publish(target_.channel_id, "", BroadcastLine(frame, target_));
      co_return Status();
    }
    case FrameKind::kSet: {
      if (finished_.count(frame.id) != 0) co_return Status();
      NormalizeToolCall(&frame.value, target_.legacy);
      bool applied = false;
      Status s = co_await app_->Offload(
          [this, &frame, &applied] { return PersistSetFrame(*app_, frame, target_, &applied); });
      if (!s.ok()) co_return s;
      (void)assembler_.Apply(frame);
      dirty_.erase(frame.id);
      finished_.insert(frame.id);
      if (!applied) co_return Status();  // a retried frame: already stored and broadcast
      ++persisted_;
      app_->Publish(target_.channel_id, frame.id, BroadcastLine(frame, target_));
      co_return Status();
    }
    case FrameKind::kReset: {
      Status s = co_await app_->Offload(
          [this, &frame] { return ApplyReset(*app_, frame, target_); });
      if (!s.ok()) co_return s;
      (void)assembler_.Apply(frame);
      dirty_.erase(frame.id);
      finished_.erase(frame.id);
      app_->Publish(target_.channel_id, "", BroadcastLine(frame, target_));
      co_return Status();
    }
    case FrameKind::kSyncRequest:
    case FrameKind::kSyncResponse:
    case FrameKind::kError:
    case FrameKind::kArtifact:
      app_->Publish(target_.channel_id, "", BroadcastLine(frame, target_));
      co_return Status();
  }
  co_return Status();
}

asio::awaitable<Status> StreamApplier::SaveProgress(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (dirty_.empty() || (!force && now - last_save_ < std::chrono::milliseconds(100))) {
    co_return Status();
  }
  last_save_ = now;
  std::vector<std::pair<std::string, std::string>> updates;
  for (const AssembledMessage& open : assembler_.OpenMessages()) {
    if (dirty_.count(open.id) != 0) updates.emplace_back(open.id, open.text);
  }
  dirty_.clear();
  // Named, not a temporary in the co_await expression: see App::Offload.
  auto save = [this, updates = std::move(updates)]() -> Status {
    for (const auto& [id, text] : updates) {
      MessagePatch patch;
      patch.content = Json(text);
      Status s = app_->store().UpdateMessage(id, patch).status();
      if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
    }
    return Status();
  };
  Status saved = co_await app_->Offload(std::move(save));
  co_return saved;
}

asio::awaitable<void> StreamApplier::Interrupt() {
  for (const AssembledMessage& open : assembler_.OpenMessages()) dirty_.insert(open.id);
  std::vector<std::pair<std::string, std::string>> open_texts;
  for (const AssembledMessage& open : assembler_.OpenMessages()) {
    open_texts.emplace_back(open.id, open.text);
  }
  dirty_.clear();
  auto mark = [this, open_texts = std::move(open_texts)]() -> Status {
    for (const auto& [id, text] : open_texts) {
      Result<Message> existing = app_->store().GetMessage(id);
      if (!existing.ok() || existing->is_complete) continue;
      MessagePatch patch;
      patch.content = Json(text);
      Json metadata = existing->metadata.is_object() ? existing->metadata : Json::Object();
      metadata.Erase("streaming");
      metadata.Set("interrupted", true);  // the producer went away before its set frame
      patch.metadata = std::move(metadata);
      (void)app_->store().UpdateMessage(id, patch);
    }
    return Status();
  };
  Status marked = co_await app_->Offload(std::move(mark));
  (void)marked;
}

}  // namespace agentcore::server
