// SPDX-License-Identifier: Apache-2.0
#include <agentcore/tymbal/writer.hpp>

#include <agentcore/json_writer.hpp>

namespace agentcore {

namespace {

void WriteFrame(const TymbalFrame& f, JsonWriter& w) {
  // Keys this kind writes itself; an extra member with one of them is skipped.
  std::string_view own[3];
  std::size_t n_own = 0;
  auto key = [&](std::string_view k) -> JsonWriter& {
    own[n_own++] = k;
    return w.Key(k);
  };
  w.BeginObject();
  switch (f.kind) {
    case FrameKind::kStart:
      key("i").String(f.id);
      if (!f.value.is_null()) key("m").Value(f.value);
      break;
    case FrameKind::kAppend:
      key("i").String(f.id);
      key("a").String(f.text);
      break;
    case FrameKind::kSet:
      key("i").String(f.id);
      key("t").String(f.timestamp);
      key("v").Value(f.value);
      break;
    case FrameKind::kReset:
      key("i").String(f.id);
      key("v").Null();
      break;
    case FrameKind::kSyncRequest:
      key("request").String("sync");
      break;
    case FrameKind::kSyncResponse:
      key("sync").String(f.timestamp);
      break;
    case FrameKind::kError:
      key("error").Value(f.value);
      break;
    case FrameKind::kArtifact:
      key("artifact").Value(f.value);
      break;
  }
  for (const JsonMember& m : f.extra) {
    bool taken = false;
    for (std::size_t i = 0; i < n_own; ++i) taken = taken || own[i] == m.key;
    if (!taken) w.Key(m.key).Value(m.value);
  }
  w.EndObject();
}

}  // namespace

void AppendFrameLine(const TymbalFrame& frame, std::string* out) {
  JsonWriter w(out);
  WriteFrame(frame, w);
  out->push_back('\n');
}

std::string SerializeFrame(const TymbalFrame& frame) {
  std::string out;
  JsonWriter w(&out);
  WriteFrame(frame, w);
  return out;
}

std::string SerializeFrameLine(const TymbalFrame& frame) {
  std::string out;
  AppendFrameLine(frame, &out);
  return out;
}

}  // namespace agentcore
