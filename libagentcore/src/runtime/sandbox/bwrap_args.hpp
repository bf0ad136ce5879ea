// SPDX-License-Identifier: Apache-2.0
#pragma once

// The bwrap command line of one session process (docs/sessions.md "Sandbox runtime"), and the
// checks a SessionSpec must pass before the sandbox runtime starts it.

#include <string>
#include <string_view>
#include <vector>

#include <agentcore/result.hpp>
#include <agentcore/runtime/session_runtime.hpp>
#include <agentcore/status.hpp>

namespace agentcore::internal {

// The sandbox's PATH unless the spec sets one.
inline constexpr std::string_view kSandboxDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// kInvalidArgument (naming the field) for a spec the sandbox cannot run: no command, an image,
// no session id, a workspace that is not an existing absolute directory, a relative work_dir,
// a bad environment variable name, a NUL byte in an argument, negative resources.
Status ValidateSandboxSpec(const SessionSpec& spec);

// argv for bwrap (argv[0] = `bwrap`): --unshare-all [--share-net] --die-with-parent
// --new-session --cap-drop ALL, --ro-bind for each of `read_only_paths` that exists on the
// host, --proc /proc --dev /dev --tmpfs /tmp, the workspace at /workspace, --chdir, --clearenv
// and the environment (PATH and HOME=/workspace unless the spec sets them), --json-status-fd
// `status_fd`, then "--" and the command. REQUIRES: ValidateSandboxSpec(spec).ok().
std::vector<std::string> BwrapArgs(std::string_view bwrap, const SessionSpec& spec,
                                   const std::vector<std::string>& read_only_paths, int status_fd);

}  // namespace agentcore::internal
