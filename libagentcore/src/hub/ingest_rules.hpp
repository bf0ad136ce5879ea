// SPDX-License-Identifier: Apache-2.0
#pragma once

// The store steps of Tymbal ingest shared by the single-frame path (ingest.cpp) and streamed
// uploads (stream_ingest.cpp). Blocking: they call the store's blocking methods.

#include <string>
#include <string_view>

#include <agentcore/hub/ingest.hpp>
#include <agentcore/json.hpp>
#include <agentcore/store/store.hpp>

namespace agentcore::internal {

/// `v[key] ?? fallback` for a column that holds text: strings as they are, other non-null
/// values as their JSON text.
std::string TextOr(const Json& v, std::string_view key, std::string_view fallback);

/// `{"fromTymbal": true, "method": v.method ?? "agent_output"}` (spec cast §4.8.1).
Json TymbalMetadata(const Json& v);

/// Stores a (normalized) set frame: a cost record for `v.type == "cost"` (errors swallowed),
/// else a message. Idempotent on the frame id: an incomplete (streamed) message with that id is
/// completed; a complete one is left alone and `*applied` is false (a retried frame). `*seq`:
/// the message's seq (0 for a cost frame).
Status PersistSetFrame(Store& store, const TymbalFrame& frame, const IngestTarget& target,
                       bool* applied, std::uint64_t* seq);

/// Deletes the message a reset frame names, if it is in the target's space and channel; an
/// unknown id is not an error (spec cast §4.8.1).
Status ApplyReset(Store& store, const TymbalFrame& frame, const IngestTarget& target);

}  // namespace agentcore::internal
