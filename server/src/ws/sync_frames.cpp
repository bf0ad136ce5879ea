// SPDX-License-Identifier: Apache-2.0
#include "ws/sync_frames.hpp"

#include <agentcore/clock.hpp>
#include <agentcore/json_writer.hpp>

namespace agentcore::server {
namespace {

/// JavaScript truthiness of a JSON value (Cast writes `...(x && {k: x})`).
bool Truthy(const Json& v) {
  switch (v.type()) {
    case JsonType::kNull:
      return false;
    case JsonType::kBool:
      return v.as_bool();
    case JsonType::kNumber:
      return v.as_number() != 0 && v.as_number() == v.as_number();
    case JsonType::kString:
      return !v.as_string().empty();
    case JsonType::kArray:
    case JsonType::kObject:
      return true;
  }
  return false;
}

/// Writes `key: stored[key]` when the stored value is an object that has the key.
void CopyField(JsonWriter& w, const Json& stored, std::string_view key) {
  if (const Json* v = stored.Find(key)) w.Field(key, *v);
}

}  // namespace

void AppendSetFrameLine(const Message& message, std::string* out) {
  JsonWriter w(out);
  w.BeginObject();
  w.Field("i", message.id);
  w.Field("t", FormatIsoTimestamp(message.timestamp));
  w.Key("v").BeginObject();
  w.Field("type", message.type);
  if (message.type == "tool_call") {
    w.Field("sender", message.sender);
    w.Field("senderType", message.sender_type);
    CopyField(w, message.content, "toolCallId");
    CopyField(w, message.content, "name");
    CopyField(w, message.content, "args");
  } else if (message.type == "tool_result") {
    w.Field("sender", message.sender);
    w.Field("senderType", message.sender_type);
    CopyField(w, message.content, "toolCallId");
    CopyField(w, message.content, "content");
    CopyField(w, message.content, "isError");
  } else {
    w.Field("content", message.content);
    w.Field("sender", message.sender);
    w.Field("senderType", message.sender_type);
    if (const Json* method = message.metadata.Find("method"); method && Truthy(*method)) {
      w.Field("method", *method);
    }
    if (const Json* slugs = message.metadata.Find("attachmentSlugs");
        slugs && slugs->is_array() && !slugs->as_array().empty()) {
      w.Field("attachmentSlugs", *slugs);
    }
  }
  w.EndObject();
  w.Field("c", message.channel_id);
  w.EndObject();
}

std::string SetFrameLineForMessage(const Message& message) {
  std::string line;
  line.reserve(160);
  AppendSetFrameLine(message, &line);
  return line;
}

std::string SyncResponseLine(std::string_view now_iso, bool has_more, std::string_view oldest_id) {
  std::string line;
  JsonWriter w(&line);
  w.BeginObject().Field("sync", now_iso).Field("hasMore", has_more);
  if (!oldest_id.empty()) w.Field("oldestId", oldest_id);
  w.EndObject();
  return line;
}

}  // namespace agentcore::server
