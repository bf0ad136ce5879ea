// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Serializing Tymbal frames, as Cast's `serializeFrame` does (`shared/spec/cast.md` §2.6):
/// compact JSON, the kind's own keys first in the builders' order (start `i,m`; append `i,a`;
/// set `i,t,v`; reset `i,v`; sync request `request`; sync response `sync`; error `error`;
/// artifact `artifact`), then the frame's `extra` members in order. A member of `extra` whose
/// key the kind already wrote is skipped, so the output never repeats a key.
///
/// Round trip: `ParseFrame(SerializeFrame(f)) == f` for every frame the parser can produce.
/// Strings are escaped by `JsonWriter` (json_writer.hpp).

#include <string>

#include <agentcore/export.hpp>
#include <agentcore/tymbal/frame.hpp>

namespace agentcore {

/// Appends the frame's JSON and one `\n` to `*out`.
AGENTCORE_EXPORT void AppendFrameLine(const TymbalFrame& frame, std::string* out);
/// The frame's JSON without a newline (`serializeFrame`).
AGENTCORE_EXPORT std::string SerializeFrame(const TymbalFrame& frame);
/// The frame's JSON followed by `\n` (`serializeFrameLine`).
AGENTCORE_EXPORT std::string SerializeFrameLine(const TymbalFrame& frame);

}  // namespace agentcore
