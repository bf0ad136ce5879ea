// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Stored messages as the Tymbal lines Cast's `/stream` sync sends (spec cast §4.10): the
/// WebSocket sync reply and the SSE replay after a reconnect use the same lines.

#include <cstddef>
#include <string>
#include <string_view>

#include <agentcore/store/records.hpp>

namespace agentcore::server {

/// `{"i":id,"t":<stored timestamp, ISO>,"v":V,"c":channel id}` without a newline, where V is
/// (spec cast §4.10):
///  * `tool_call`: `{type, sender, senderType, toolCallId, name, args}` read from the stored
///    value (the whole SetFrame value is stored as content for tool calls);
///  * `tool_result`: `{type, sender, senderType, toolCallId, content, isError}` likewise;
///  * otherwise `{type, content, sender, senderType}` plus `method` from the metadata when
///    set and `attachmentSlugs` from the metadata when it is a non-empty array.
/// Keys absent from the stored value are left out, as JSON.stringify drops `undefined`.
std::string SetFrameLineForMessage(const Message& message);
/// Appends the same line to `*out`.
void AppendSetFrameLine(const Message& message, std::string* out);

/// The sync reply's last line: `{"sync":now,"hasMore":has_more,"oldestId":oldest_id}`, with
/// `oldestId` left out when empty (no messages).
std::string SyncResponseLine(std::string_view now_iso, bool has_more, std::string_view oldest_id);

}  // namespace agentcore::server
