// SPDX-License-Identifier: Apache-2.0
#pragma once

// How the library starts a child process (the local runtime's agents, git for a workspace
// commit): posix_spawnp, which is safe in a threaded program where fork() followed by anything
// but async-signal-safe calls is not (glibc implements it with clone(CLONE_VFORK)).

#include <sys/types.h>

#include <agentcore/result.hpp>
#include <string>
#include <vector>

namespace agentcore::internal {

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH. REQUIRES: not empty
  std::vector<std::string> env;   // the child's whole environment, "NAME=value" each
  std::string cwd;                // the child's working directory
  // The child's stdout and stderr: the descriptors given (the caller's copies stay open), or,
  // when `log_path` is not empty, that file opened for appending (created 0644) as both.
  int stdout_fd = -1;
  int stderr_fd = -1;
  std::string log_path;
};

// Starts `spec.argv` with stdin from /dev/null, every other descriptor from 3 up closed
// (glibc 2.34 and later; before, only the O_CLOEXEC ones), in a process group of its own
// (pgid = pid, so that kill(-pid, ...) reaches whatever it starts) with default signal
// dispositions and an empty signal mask (ignored signals and the mask survive exec). Returns
// its pid. Errors: kInternal whose message is only the errno text of the failure (the caller
// says what it was starting).
Result<pid_t> SpawnProcess(const SpawnSpec& spec);

}  // namespace agentcore::internal
