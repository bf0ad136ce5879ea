// SPDX-License-Identifier: Apache-2.0
// The C API's Tymbal part: frames, the stream parser, the assembler and the message handle,
// each a thin wrapper of the C++ class of libagentcore/include/agentcore/tymbal/.

#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <agentcore/tymbal/assembler.hpp>
#include <agentcore/tymbal/frame.hpp>
#include <agentcore/tymbal/message_handle.hpp>
#include <agentcore/tymbal/parser.hpp>
#include <agentcore/tymbal/writer.hpp>

#include "c_common.hpp"

using namespace agentcore;
using namespace agentcore::c_api;

/// A frame the caller owns, or one a parser lends to a callback (`frame` points elsewhere).
struct ac_frame_t {
  TymbalFrame owned;
  const TymbalFrame* frame = &owned;

  ac_frame_t() = default;
  explicit ac_frame_t(TymbalFrame f) : owned(std::move(f)) {}
  ac_frame_t(const ac_frame_t&) = delete;
  ac_frame_t& operator=(const ac_frame_t&) = delete;
};

struct ac_frame_parser_t {
  FrameParser parser;
  explicit ac_frame_parser_t(FrameParserOptions options) : parser(options) {}
};

/// An assembled message: the assembler's current one (borrowed) or a copy the caller owns.
struct ac_message_t {
  std::optional<AssembledMessage> owned;
  const AssembledMessage* message = nullptr;
};

struct ac_assembler_t {
  MessageAssembler assembler;
  ac_message_t current;  // points at assembler.message() after every apply
  explicit ac_assembler_t(AssemblerOptions options) : assembler(options) {
    current.message = &assembler.message();
  }
};

struct ac_message_handle_t {
  MessageHandle handle;
  ac_message_handle_t(std::string id, Json metadata) : handle(std::move(id), std::move(metadata)) {}
};

namespace {

// A heap frame for the caller, or nullptr with the error.
ac_frame_t* Hand(Result<TymbalFrame> frame, char** errptr) {
  if (!frame.ok()) {
    SetError(errptr, frame.status());
    return nullptr;
  }
  return new ac_frame_t(*std::move(frame));
}

// Checks a required id (not NULL, valid UTF-8).
Status CheckId(const char* id) {
  if (id == nullptr) return InvalidArgument("id must not be NULL");
  return CheckUtf8("id", id);
}

// Optional JSON metadata: null when `json` is NULL.
Result<Json> OptionalJson(std::string_view what, const char* json) {
  if (json == nullptr) return Json();
  return ParseCallerJson(what, json);
}

// A JSON object given by the caller (a set frame's value).
Result<Json> ObjectJson(std::string_view what, const char* json) {
  if (json == nullptr) return InvalidArgument(std::string(what) + " must not be NULL");
  Result<Json> value = ParseCallerJson(what, json);
  if (value.ok() && !value->is_object()) {
    return InvalidArgument(std::string(what) + " must be a JSON object");
  }
  return value;
}

// Forwards a FrameParser's reports to a C sink, lending each frame through a view.
class CSink final : public FrameSink {
 public:
  explicit CSink(const ac_frame_sink& sink) : sink_(sink) {}
  void OnFrame(const TymbalFrame& frame, std::uint64_t line) override {
    if (sink_.on_frame == nullptr) return;
    ac_frame_t view;
    view.frame = &frame;
    sink_.on_frame(sink_.user, &view, line);
  }
  void OnInvalidLine(std::uint64_t line, std::string_view reason) override {
    if (sink_.on_invalid_line == nullptr) return;
    reason_.assign(reason);  // NUL-terminated for C; its capacity is reused
    sink_.on_invalid_line(sink_.user, line, reason_.c_str());
  }

 private:
  const ac_frame_sink& sink_;
  std::string reason_;
};

const std::string kEmpty;

// The string member `key` of `value`, or nullptr.
const char* StringMember(const Json& value, const char* key, size_t* len) {
  if (key == nullptr) return nullptr;
  const std::string* member = value.FindString(key);
  return member == nullptr ? nullptr : Borrow(*member, len);
}

}  // namespace

extern "C" {

// --- Frames

ac_frame_t* ac_frame_parse(const char* line, size_t len, char** errptr) {
  return Guard<ac_frame_t*>(errptr, nullptr, [&]() -> ac_frame_t* {
    if (line == nullptr && len > 0) return NullArgument(errptr, "line"), nullptr;
    return Hand(ParseFrame(std::string_view(line == nullptr ? "" : line, len)), errptr);
  });
}

ac_frame_t* ac_frame_new_start(const char* id, const char* metadata_json, char** errptr) {
  return Guard<ac_frame_t*>(errptr, nullptr, [&]() -> ac_frame_t* {
    if (Status s = CheckId(id); !s.ok()) return SetError(errptr, s), nullptr;
    Result<Json> metadata = OptionalJson("metadata", metadata_json);
    if (!metadata.ok()) return SetError(errptr, metadata.status()), nullptr;
    return Hand(MakeStartFrame(id, *std::move(metadata)), errptr);
  });
}

ac_frame_t* ac_frame_new_append(const char* id, const char* text, size_t text_len,
                                char** errptr) {
  return Guard<ac_frame_t*>(errptr, nullptr, [&]() -> ac_frame_t* {
    if (Status s = CheckId(id); !s.ok()) return SetError(errptr, s), nullptr;
    if (text == nullptr && text_len > 0) return NullArgument(errptr, "text"), nullptr;
    const std::string_view delta(text == nullptr ? "" : text, text_len);
    if (Status s = CheckUtf8("text", delta); !s.ok()) return SetError(errptr, s), nullptr;
    return new ac_frame_t(MakeAppendFrame(id, std::string(delta)));
  });
}

ac_frame_t* ac_frame_new_set(const char* id, const char* timestamp, const char* value_json,
                             char** errptr) {
  return Guard<ac_frame_t*>(errptr, nullptr, [&]() -> ac_frame_t* {
    if (Status s = CheckId(id); !s.ok()) return SetError(errptr, s), nullptr;
    if (timestamp == nullptr) return NullArgument(errptr, "timestamp"), nullptr;
    if (Status s = CheckUtf8("timestamp", timestamp); !s.ok()) return SetError(errptr, s), nullptr;
    Result<Json> value = ObjectJson("value", value_json);
    if (!value.ok()) return SetError(errptr, value.status()), nullptr;
    return new ac_frame_t(MakeSetFrame(id, timestamp, *std::move(value)));
  });
}

ac_frame_t* ac_frame_new_reset(const char* id, char** errptr) {
  return Guard<ac_frame_t*>(errptr, nullptr, [&]() -> ac_frame_t* {
    if (Status s = CheckId(id); !s.ok()) return SetError(errptr, s), nullptr;
    return new ac_frame_t(MakeResetFrame(id));
  });
}

ac_frame_t* ac_frame_new_error(const char* code, const char* message, char** errptr) {
  return Guard<ac_frame_t*>(errptr, nullptr, [&]() -> ac_frame_t* {
    if (code == nullptr) return NullArgument(errptr, "code"), nullptr;
    if (Status s = CheckUtf8("code", code); !s.ok()) return SetError(errptr, s), nullptr;
    if (Status s = CheckUtf8("message", View(message)); !s.ok()) {
      return SetError(errptr, s), nullptr;
    }
    return new ac_frame_t(MakeErrorFrame(code, std::string(View(message))));
  });
}

ac_frame_t* ac_frame_copy(const ac_frame_t* frame) {
  if (frame == nullptr) return nullptr;
  return Guard<ac_frame_t*>(nullptr, nullptr, [&] { return new ac_frame_t(*frame->frame); });
}

void ac_frame_destroy(ac_frame_t* frame) { delete frame; }

int ac_frame_kind_of(const ac_frame_t* frame) {
  return frame == nullptr ? -1 : static_cast<int>(frame->frame->kind);
}

const char* ac_frame_kind_name(int kind) {
  if (kind < 0 || kind > static_cast<int>(FrameKind::kArtifact)) return "unknown";
  return FrameKindName(static_cast<FrameKind>(kind)).data();  // static literals
}

const char* ac_frame_id(const ac_frame_t* frame, size_t* len) {
  return Borrow(frame == nullptr ? kEmpty : frame->frame->id, len);
}
const char* ac_frame_text(const ac_frame_t* frame, size_t* len) {
  return Borrow(frame == nullptr ? kEmpty : frame->frame->text, len);
}
const char* ac_frame_timestamp(const ac_frame_t* frame, size_t* len) {
  return Borrow(frame == nullptr ? kEmpty : frame->frame->timestamp, len);
}

char* ac_frame_value_json(const ac_frame_t* frame, size_t* len, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (frame == nullptr) return NullArgument(errptr, "frame"), nullptr;
    return CopyOut(ToJson(frame->frame->value), len, errptr);
  });
}

char* ac_frame_extra_json(const ac_frame_t* frame, size_t* len, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (frame == nullptr) return NullArgument(errptr, "frame"), nullptr;
    return CopyOut(ToJson(Json(frame->frame->extra)), len, errptr);
  });
}

const char* ac_frame_value_string(const ac_frame_t* frame, const char* key, size_t* len) {
  return frame == nullptr ? nullptr : StringMember(frame->frame->value, key, len);
}

char* ac_frame_serialize(const ac_frame_t* frame, size_t* len, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (frame == nullptr) return NullArgument(errptr, "frame"), nullptr;
    return CopyOut(SerializeFrame(*frame->frame), len, errptr);
  });
}

// --- The stream parser

ac_frame_parser_t* ac_frame_parser_create(size_t max_line_bytes) {
  return Guard<ac_frame_parser_t*>(nullptr, nullptr, [&] {
    FrameParserOptions options;
    if (max_line_bytes > 0) options.max_line_bytes = max_line_bytes;
    return new ac_frame_parser_t(options);
  });
}

void ac_frame_parser_destroy(ac_frame_parser_t* parser) { delete parser; }

int ac_frame_parser_feed(ac_frame_parser_t* parser, const char* data, size_t len,
                         const ac_frame_sink* sink, char** errptr) {
  return Guard<int>(errptr, AC_INTERNAL, [&]() -> int {
    if (parser == nullptr) return NullArgument(errptr, "parser");
    if (sink == nullptr) return NullArgument(errptr, "sink");
    if (data == nullptr && len > 0) return NullArgument(errptr, "data");
    CSink forward(*sink);
    parser->parser.Feed(std::string_view(data == nullptr ? "" : data, len), forward);
    return AC_OK;
  });
}

int ac_frame_parser_finish(ac_frame_parser_t* parser, const ac_frame_sink* sink, char** errptr) {
  return Guard<int>(errptr, AC_INTERNAL, [&]() -> int {
    if (parser == nullptr) return NullArgument(errptr, "parser");
    if (sink == nullptr) return NullArgument(errptr, "sink");
    CSink forward(*sink);
    parser->parser.Finish(forward);
    return AC_OK;
  });
}

uint64_t ac_frame_parser_lines(const ac_frame_parser_t* parser) {
  return parser == nullptr ? 0 : parser->parser.lines();
}

// --- The assembler and assembled messages

ac_assembler_t* ac_assembler_create(size_t max_open_messages, size_t max_message_bytes) {
  return Guard<ac_assembler_t*>(nullptr, nullptr, [&] {
    AssemblerOptions options;
    if (max_open_messages > 0) options.max_open_messages = max_open_messages;
    if (max_message_bytes > 0) options.max_message_bytes = max_message_bytes;
    return new ac_assembler_t(options);
  });
}

void ac_assembler_destroy(ac_assembler_t* assembler) { delete assembler; }

int ac_assembler_apply(ac_assembler_t* assembler, const ac_frame_t* frame, char** errptr) {
  return Guard<int>(errptr, -1, [&]() -> int {
    if (assembler == nullptr) return NullArgument(errptr, "assembler"), -1;
    if (frame == nullptr) return NullArgument(errptr, "frame"), -1;
    Result<AssemblyEvent> event = assembler->assembler.Apply(*frame->frame);
    assembler->current.message = &assembler->assembler.message();
    if (!event.ok()) return SetError(errptr, event.status()), -1;
    return static_cast<int>(*event);
  });
}

const ac_message_t* ac_assembler_message(const ac_assembler_t* assembler) {
  return assembler == nullptr ? nullptr : &assembler->current;
}

size_t ac_assembler_open_messages(const ac_assembler_t* assembler) {
  return assembler == nullptr ? 0 : assembler->assembler.open_messages();
}

int ac_assembler_abandon(ac_assembler_t* assembler, const char* id) {
  if (assembler == nullptr || id == nullptr) return 0;
  const bool was_open = assembler->assembler.Abandon(id);
  assembler->current.message = &assembler->assembler.message();
  return was_open ? 1 : 0;
}

ac_message_t* ac_message_copy(const ac_message_t* message) {
  if (message == nullptr || message->message == nullptr) return nullptr;
  return Guard<ac_message_t*>(nullptr, nullptr, [&] {
    auto copy = std::make_unique<ac_message_t>();
    copy->owned.emplace(*message->message);
    copy->message = &*copy->owned;
    return copy.release();
  });
}

void ac_message_destroy(ac_message_t* message) {
  // A borrowed message (the assembler's) is not the caller's to free.
  if (message != nullptr && message->owned.has_value()) delete message;
}

const char* ac_message_id(const ac_message_t* message, size_t* len) {
  return Borrow(message == nullptr ? kEmpty : message->message->id, len);
}
const char* ac_message_text(const ac_message_t* message, size_t* len) {
  return Borrow(message == nullptr ? kEmpty : message->message->text, len);
}
const char* ac_message_timestamp(const ac_message_t* message, size_t* len) {
  return Borrow(message == nullptr ? kEmpty : message->message->timestamp, len);
}
int ac_message_is_complete(const ac_message_t* message) {
  return message != nullptr && message->message->complete ? 1 : 0;
}

const char* ac_message_value_string(const ac_message_t* message, const char* key, size_t* len) {
  if (message == nullptr || !message->message->complete) return nullptr;
  return StringMember(message->message->value, key, len);
}

char* ac_message_value_json(const ac_message_t* message, size_t* len, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (message == nullptr) return NullArgument(errptr, "message"), nullptr;
    return CopyOut(ToJson(message->message->CurrentValue()), len, errptr);
  });
}

// --- The message handle

ac_message_handle_t* ac_message_handle_create(const char* id, const char* metadata_json,
                                              char** errptr) {
  return Guard<ac_message_handle_t*>(errptr, nullptr, [&]() -> ac_message_handle_t* {
    if (Status s = CheckId(id); !s.ok()) return SetError(errptr, s), nullptr;
    Result<Json> metadata = OptionalJson("metadata", metadata_json);
    if (!metadata.ok()) return SetError(errptr, metadata.status()), nullptr;
    // The start frame's rules (an object without "content") are the handle's: refuse bad
    // metadata now rather than at the first stream.
    if (Result<TymbalFrame> start = MakeStartFrame(id, *metadata); !start.ok()) {
      return SetError(errptr, start.status()), nullptr;
    }
    return new ac_message_handle_t(id, *std::move(metadata));
  });
}

void ac_message_handle_destroy(ac_message_handle_t* handle) { delete handle; }

char* ac_message_handle_stream(ac_message_handle_t* handle, const char* text, size_t text_len,
                               size_t* len, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (handle == nullptr) return NullArgument(errptr, "handle"), nullptr;
    if (text == nullptr && text_len > 0) return NullArgument(errptr, "text"), nullptr;
    const std::string_view delta(text == nullptr ? "" : text, text_len);
    if (Status s = CheckUtf8("text", delta); !s.ok()) return SetError(errptr, s), nullptr;
    Result<std::string> lines = handle->handle.Stream(delta);
    if (!lines.ok()) return SetError(errptr, lines.status()), nullptr;
    return CopyOut(*lines, len, errptr);
  });
}

char* ac_message_handle_set(ac_message_handle_t* handle, const char* value_json,
                            const char* timestamp, size_t* len, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (handle == nullptr) return NullArgument(errptr, "handle"), nullptr;
    if (timestamp == nullptr) return NullArgument(errptr, "timestamp"), nullptr;
    if (Status s = CheckUtf8("timestamp", timestamp); !s.ok()) return SetError(errptr, s), nullptr;
    Result<Json> value = ObjectJson("value", value_json);
    if (!value.ok()) return SetError(errptr, value.status()), nullptr;
    Result<std::string> line = handle->handle.Set(*value, timestamp);
    if (!line.ok()) return SetError(errptr, line.status()), nullptr;
    return CopyOut(*line, len, errptr);
  });
}

char* ac_message_handle_delete(ac_message_handle_t* handle, size_t* len, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (handle == nullptr) return NullArgument(errptr, "handle"), nullptr;
    return CopyOut(handle->handle.Delete(), len, errptr);
  });
}

const char* ac_message_handle_id(const ac_message_handle_t* handle) {
  return handle == nullptr ? "" : handle->handle.id().c_str();
}
const char* ac_message_handle_text(const ac_message_handle_t* handle, size_t* len) {
  return Borrow(handle == nullptr ? kEmpty : handle->handle.text(), len);
}
int ac_message_handle_started(const ac_message_handle_t* handle) {
  return handle != nullptr && handle->handle.started() ? 1 : 0;
}
int ac_message_handle_finalized(const ac_message_handle_t* handle) {
  return handle != nullptr && handle->handle.finalized() ? 1 : 0;
}

}  // extern "C"
