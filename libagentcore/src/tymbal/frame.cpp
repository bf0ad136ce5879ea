// SPDX-License-Identifier: Apache-2.0
#include <agentcore/tymbal/frame.hpp>

#include <cassert>

namespace agentcore {

std::string_view FrameKindName(FrameKind kind) {
  switch (kind) {
    case FrameKind::kStart: return "start";
    case FrameKind::kAppend: return "append";
    case FrameKind::kSet: return "set";
    case FrameKind::kReset: return "reset";
    case FrameKind::kSyncRequest: return "sync_request";
    case FrameKind::kSyncResponse: return "sync_response";
    case FrameKind::kError: return "error";
    case FrameKind::kArtifact: return "artifact";
  }
  return "unknown";
}

const Json* TymbalFrame::FindExtra(std::string_view key) const {
  for (const JsonMember& m : extra) {
    if (m.key == key) return &m.value;
  }
  return nullptr;
}

Result<TymbalFrame> MakeStartFrame(std::string id, Json metadata) {
  if (!metadata.is_null()) {
    if (!metadata.is_object() && !metadata.is_array()) {
      return InvalidArgument("metadata must be an object");
    }
    if (metadata.Find("content") != nullptr) {
      return InvalidArgument("metadata cannot contain reserved key \"content\"");
    }
  }
  TymbalFrame f;
  f.kind = FrameKind::kStart;
  f.id = std::move(id);
  f.value = std::move(metadata);
  return f;
}

TymbalFrame MakeAppendFrame(std::string id, std::string text) {
  TymbalFrame f;
  f.kind = FrameKind::kAppend;
  f.id = std::move(id);
  f.text = std::move(text);
  return f;
}

TymbalFrame MakeSetFrame(std::string id, std::string timestamp, Json value) {
  assert(value.is_object());
  TymbalFrame f;
  f.kind = FrameKind::kSet;
  f.id = std::move(id);
  f.timestamp = std::move(timestamp);
  f.value = std::move(value);
  return f;
}

TymbalFrame MakeResetFrame(std::string id) {
  TymbalFrame f;
  f.kind = FrameKind::kReset;
  f.id = std::move(id);
  return f;
}

TymbalFrame MakeSyncRequestFrame(std::string since) {
  TymbalFrame f;
  f.kind = FrameKind::kSyncRequest;
  if (!since.empty()) f.extra.push_back(JsonMember{"since", Json(std::move(since))});
  return f;
}

TymbalFrame MakeSyncResponseFrame(std::string timestamp) {
  TymbalFrame f;
  f.kind = FrameKind::kSyncResponse;
  f.timestamp = std::move(timestamp);
  return f;
}

TymbalFrame MakeErrorFrame(std::string code, std::string message) {
  TymbalFrame f;
  f.kind = FrameKind::kError;
  f.value = Json(std::move(code));
  if (!message.empty()) f.extra.push_back(JsonMember{"message", Json(std::move(message))});
  return f;
}

TymbalFrame MakeArtifactFrame(std::string action, std::string channel_id, Json payload) {
  assert(payload.is_object());
  // Cast's builder writes slug, type, title?, tldr, status, path, assignees? in that order.
  Json p = Json::Object();
  auto copy = [&](std::string_view key) {
    if (const Json* v = payload.Find(key)) p.Set(key, *v);
  };
  copy("slug");
  copy("type");
  copy("title");
  copy("tldr");
  copy("status");
  if (const Json* path = payload.Find("path")) {
    p.Set("path", *path);
  } else {
    const std::string* slug = payload.FindString("slug");
    p.Set("path", Json("/" + channel_id + "/" + (slug ? *slug : std::string())));
  }
  copy("assignees");
  Json artifact = Json::Object();
  artifact.Set("action", Json(std::move(action)));
  artifact.Set("channelId", Json(std::move(channel_id)));
  artifact.Set("payload", std::move(p));
  TymbalFrame f;
  f.kind = FrameKind::kArtifact;
  f.value = std::move(artifact);
  return f;
}

}  // namespace agentcore
