// SPDX-License-Identifier: Apache-2.0
#include <agentcore/tymbal/assembler.hpp>

#include <algorithm>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

namespace agentcore {

std::string_view AssemblyEventName(AssemblyEvent event) {
  switch (event) {
    case AssemblyEvent::kIgnored: return "ignored";
    case AssemblyEvent::kOpened: return "opened";
    case AssemblyEvent::kUpdated: return "updated";
    case AssemblyEvent::kCompleted: return "completed";
    case AssemblyEvent::kDeleted: return "deleted";
  }
  return "unknown";
}

Json AssembledMessage::CurrentValue() const {
  if (complete) return value;
  if (metadata.is_object()) {
    Json v = metadata;
    v.Set("content", Json(text));  // spec §2.2: {...m, content: buffer}
    return v;
  }
  if (metadata.is_array()) {
    // {...[a, b]} spreads indices as keys, as JavaScript does.
    Json v = Json::Object();
    const JsonArray& items = metadata.as_array();
    for (std::size_t i = 0; i < items.size(); ++i) v.Set(std::to_string(i), items[i]);
    v.Set("content", Json(text));
    return v;
  }
  // Object mode: the deltas are JSON text; show it once it parses.
  Result<Json> parsed = ParseJson(text);
  return parsed.ok() ? std::move(parsed).value() : Json();
}

struct MessageAssembler::Impl {
  AssemblerOptions options;
  std::unordered_map<std::string, AssembledMessage> open;
  AssembledMessage last;                    // a completed or deleted message, no longer held
  const AssembledMessage* current = &last;  // what message() shows
};

MessageAssembler::MessageAssembler(AssemblerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
}
MessageAssembler::~MessageAssembler() = default;

const AssembledMessage& MessageAssembler::message() const { return *impl_->current; }
std::size_t MessageAssembler::open_messages() const { return impl_->open.size(); }

std::vector<AssembledMessage> MessageAssembler::OpenMessages() const {
  std::vector<AssembledMessage> out;
  out.reserve(impl_->open.size());
  for (const auto& [id, m] : impl_->open) out.push_back(m);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

bool MessageAssembler::Abandon(std::string_view id) {
  auto it = impl_->open.find(std::string(id));
  if (it == impl_->open.end()) return false;
  impl_->open.erase(it);
  impl_->last = AssembledMessage();
  impl_->current = &impl_->last;
  return true;
}

Result<AssemblyEvent> MessageAssembler::Apply(const TymbalFrame& frame) {
  Impl& s = *impl_;
  switch (frame.kind) {
    case FrameKind::kStart: {
      auto it = s.open.find(frame.id);
      if (it == s.open.end()) {
        if (s.open.size() >= s.options.max_open_messages) {
          return TooLarge(fmt::format("more than {} messages streaming at once",
                                      s.options.max_open_messages));
        }
        it = s.open.emplace(frame.id, AssembledMessage()).first;
        it->second.id = frame.id;
      }
      AssembledMessage& m = it->second;  // a repeated start resets the message
      m.metadata = frame.value;
      m.text.clear();
      s.current = &m;
      return AssemblyEvent::kOpened;
    }
    case FrameKind::kAppend: {
      auto it = s.open.find(frame.id);
      if (it == s.open.end()) {
        s.last = AssembledMessage();
        s.current = &s.last;
        return AssemblyEvent::kIgnored;  // spec §2.10: before start or after set
      }
      AssembledMessage& m = it->second;
      if (m.text.size() + frame.text.size() > s.options.max_message_bytes) {
        return TooLarge(fmt::format("message \"{}\" would exceed {} bytes", frame.id,
                                    s.options.max_message_bytes));
      }
      m.text += frame.text;
      s.current = &m;
      return AssemblyEvent::kUpdated;
    }
    case FrameKind::kSet: {
      auto it = s.open.find(frame.id);
      if (it != s.open.end()) {
        s.last = std::move(it->second);
        s.open.erase(it);
      } else {
        s.last = AssembledMessage();  // late join: the set alone makes the message
        s.last.id = frame.id;
      }
      s.last.value = frame.value;
      s.last.timestamp = frame.timestamp;
      s.last.complete = true;
      s.current = &s.last;
      return AssemblyEvent::kCompleted;
    }
    case FrameKind::kReset: {
      s.open.erase(frame.id);
      s.last = AssembledMessage();
      s.last.id = frame.id;
      s.current = &s.last;
      return AssemblyEvent::kDeleted;
    }
    case FrameKind::kSyncRequest:
    case FrameKind::kSyncResponse:
    case FrameKind::kError:
    case FrameKind::kArtifact:
      break;
  }
  s.last = AssembledMessage();
  s.current = &s.last;
  return AssemblyEvent::kIgnored;
}

struct Transcript::Impl {
  explicit Impl(AssemblerOptions o) : assembler(o) {}
  MessageAssembler assembler;
  std::map<std::string, AssembledMessage, std::less<>> done;  // complete messages by id
};

Transcript::Transcript(AssemblerOptions options) : impl_(std::make_unique<Impl>(options)) {}
Transcript::~Transcript() = default;

Result<AssemblyEvent> Transcript::Apply(const TymbalFrame& frame) {
  Result<AssemblyEvent> event = impl_->assembler.Apply(frame);
  if (!event.ok()) return event;
  const AssembledMessage& m = impl_->assembler.message();
  switch (*event) {
    case AssemblyEvent::kOpened:
      impl_->done.erase(m.id);  // a start reopens a completed message
      break;
    case AssemblyEvent::kCompleted:
      impl_->done.insert_or_assign(m.id, m);
      break;
    case AssemblyEvent::kDeleted:
      impl_->done.erase(m.id);
      break;
    case AssemblyEvent::kIgnored:
    case AssemblyEvent::kUpdated:
      break;
  }
  return event;
}

std::vector<AssembledMessage> Transcript::Messages() const {
  std::vector<AssembledMessage> open = impl_->assembler.OpenMessages();
  std::vector<AssembledMessage> out;
  out.reserve(open.size() + impl_->done.size());
  auto o = open.begin();
  for (const auto& [id, m] : impl_->done) {
    while (o != open.end() && o->id < id) out.push_back(std::move(*o++));
    out.push_back(m);
  }
  while (o != open.end()) out.push_back(std::move(*o++));
  return out;
}

}  // namespace agentcore
