// SPDX-License-Identifier: Apache-2.0
#pragma once

// How the library starts a child process (the local runtime's agents, git for a workspace
// commit, the sandbox runtime's bwrap): posix_spawnp, which is safe in a threaded program where
// fork() followed by anything but async-signal-safe calls is not (glibc implements it with
// clone(CLONE_VFORK)). posix_spawn cannot set resource limits, so a spec with `rlimits` is
// started with fork() and only async-signal-safe calls in the child (everything it needs,
// including the program's path, is prepared before the fork).

#include <sys/types.h>

#include <sys/resource.h>

#include <agentcore/result.hpp>
#include <cstdint>
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
  // The child's stdin: this descriptor (the caller's copy stays open); -1: /dev/null.
  int stdin_fd = -1;
  // Descriptors the child keeps, as its 3, 4, ... in this order (the caller's copies stay
  // open). Every other descriptor from 3 up is closed in the child.
  std::vector<int> inherit_fds;
  // Resource limits set (soft and hard) in the child before exec; its children inherit them.
  struct ResourceLimit {
    int resource = 0;  // RLIMIT_AS, RLIMIT_NOFILE, ...
    rlim_t value = 0;
  };
  std::vector<ResourceLimit> rlimits;
};

// Starts `spec.argv` with stdin from /dev/null (or `stdin_fd`), the `inherit_fds` as 3, 4, ...,
// every other descriptor from 3 up closed
// (glibc 2.34 and later; before, only the O_CLOEXEC ones), in a process group of its own
// (pgid = pid, so that kill(-pid, ...) reaches whatever it starts) with default signal
// dispositions and an empty signal mask (ignored signals and the mask survive exec). Returns
// its pid. Errors: kInternal whose message is only the errno text of the failure (the caller
// says what it was starting).
Result<pid_t> SpawnProcess(const SpawnSpec& spec);

// What execvp would run: `name` itself when it contains a '/' (if executable), else the first
// executable match in this process's PATH (default "/usr/bin:/bin"). Empty when there is none.
std::string FindProgram(const std::string& name);

}  // namespace agentcore::internal
