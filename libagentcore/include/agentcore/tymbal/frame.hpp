// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Tymbal is the NDJSON protocol agent containers stream to the server: one JSON object per
/// line, each a *frame*. Message frames carry a message id `i` (a ULID by convention) and build
/// one message: `start` opens it (optionally with metadata `m`), `append` adds a text delta `a`,
/// `set` replaces it with its full value `v` (and completes it), `reset` (`v: null`) deletes
/// it. Control frames carry no `i`: sync requests and responses, errors and artifact notices.
/// The exact classification rules are Cast's (`shared/spec/cast.md` §2.3); parser.hpp
/// implements them, writer.hpp serializes frames back, assembler.hpp turns frames into
/// messages.
///
/// A frame is one flat struct rather than a variant of per-kind structs, so a parser can reuse
/// one frame (and the capacity of its strings) for every line of a stream: see docs/tymbal.md.

#include <cstdint>
#include <string>
#include <string_view>

#include <agentcore/export.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>

namespace agentcore {

enum class FrameKind : std::uint8_t {
  kStart,         // {"i":id} or {"i":id,"m":{...}}
  kAppend,        // {"i":id,"a":"delta"}
  kSet,           // {"i":id,"t":"2026-01-04T10:00:00.000Z","v":{...}}
  kReset,         // {"i":id,"v":null}
  kSyncRequest,   // {"request":"sync",...}
  kSyncResponse,  // {"sync":"<iso time>",...}
  kError,         // {"error":<any>,...}
  kArtifact,      // {"artifact":{"action":..,"channelId":..,"payload":{..}}}
};

/// "start", "append", "set", "reset", "sync_request", "sync_response", "error", "artifact".
AGENTCORE_EXPORT std::string_view FrameKindName(FrameKind kind);

/// True for start, append, set and reset: the frames that carry a message id.
constexpr bool IsMessageFrame(FrameKind kind) {
  return kind == FrameKind::kStart || kind == FrameKind::kAppend || kind == FrameKind::kSet ||
         kind == FrameKind::kReset;
}

/// One Tymbal frame. Which fields are meaningful depends on `kind`:
///
/// | kind          | id  | text | timestamp       | value                          |
/// |---------------|-----|------|-----------------|--------------------------------|
/// | start         | `i` |      |                 | `m` (null when absent)         |
/// | append        | `i` | `a`  |                 |                                |
/// | set           | `i` |      | `t`             | `v` (an object)                |
/// | reset         | `i` |      |                 | null                           |
/// | sync_request  |     |      |                 | null                           |
/// | sync_response |     |      | `sync`          |                                |
/// | error         |     |      |                 | `error` (any JSON value)       |
/// | artifact      |     |      |                 | `artifact` (object or array)   |
///
/// Every other key of the line is kept in `extra`, in order (for a sync request that is every
/// key except `request`: `since`, `before`, `channelId`, `limit`, ...). Serializing writes the
/// kind's own keys first, then `extra`. A plain value type: thread-compatible.
struct TymbalFrame {
  FrameKind kind = FrameKind::kStart;
  std::string id;
  std::string text;
  std::string timestamp;
  Json value;
  JsonObject extra;

  /// The member `key` of `extra`, or nullptr.
  const Json* FindExtra(std::string_view key) const;

  friend bool operator==(const TymbalFrame& a, const TymbalFrame& b) = default;
};

// Frame constructors, one per kind. They build the frame only; writer.hpp serializes it and
// provides Cast's string builders.

/// A start frame; `metadata` null means none. Errors: kInvalidArgument when metadata is not an
/// object (or array) or holds the reserved key "content" (Cast's builder throws there).
AGENTCORE_EXPORT Result<TymbalFrame> MakeStartFrame(std::string id, Json metadata = nullptr);
AGENTCORE_EXPORT TymbalFrame MakeAppendFrame(std::string id, std::string text);
/// REQUIRES: value.is_object().
AGENTCORE_EXPORT TymbalFrame MakeSetFrame(std::string id, std::string timestamp, Json value);
AGENTCORE_EXPORT TymbalFrame MakeResetFrame(std::string id);
/// `since` empty means none (Cast omits a falsy since).
AGENTCORE_EXPORT TymbalFrame MakeSyncRequestFrame(std::string since = {});
AGENTCORE_EXPORT TymbalFrame MakeSyncResponseFrame(std::string timestamp);
/// `message` empty means none.
AGENTCORE_EXPORT TymbalFrame MakeErrorFrame(std::string code, std::string message = {});
/// `payload` holds slug, type, tldr, status and optionally title, path, assignees; `path`
/// defaults to `/{channel_id}/{slug}` as Cast's builder does. REQUIRES: payload.is_object().
AGENTCORE_EXPORT TymbalFrame MakeArtifactFrame(std::string action, std::string channel_id,
                                               Json payload);

}  // namespace agentcore
