// SPDX-License-Identifier: Apache-2.0
#pragma once

// `sessions attach`: the client side of the session attach WebSocket (docs/sessions.md,
// "Attach"): RFC 6455 over a plain TCP socket, frames encoded (masked) and decoded with the
// server's codec (server/src/ws/websocket_codec.hpp, fuzzed), the handshake's response head
// parsed with the library's fuzzed head parser. Binary messages are a type byte and a payload:
// 0x01 stdin (sent), 0x02 stdout, 0x03 stderr, 0x04 exit (int32 BE), 0x05 error, 0x06 stdin
// closed (sent at EOF of our stdin, confirmed by the server).
//
// On a terminal stdin is put in raw mode (restored on every way out) so keys reach the
// session as typed; Ctrl-] detaches. From a pipe, stdin is sent until EOF, then 0x06.

#include <string>

#include "api.hpp"

namespace agentcore::ctl {

/// Attaches to session `id` until it exits, the server closes, or the user detaches.
/// Returns the session command's exit status when it exited, else 0. Throws CtlError.
int AttachSession(const Settings& settings, const std::string& id);

}  // namespace agentcore::ctl
