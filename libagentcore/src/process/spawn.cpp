// SPDX-License-Identifier: Apache-2.0
#include "process/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include <agentcore/status.hpp>
#include <system_error>

namespace agentcore::internal {
namespace {

// Owns posix_spawn's attribute objects for one spawn.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

Result<pid_t> SpawnProcess(const SpawnSpec& spec) {
  std::vector<std::string> argv_strings = spec.argv;
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = spec.env;
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);

  SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  if (!spec.log_path.empty()) {
    posix_spawn_file_actions_addopen(&setup.actions, 1, spec.log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);
  } else {
    if (spec.stdout_fd >= 0) posix_spawn_file_actions_adddup2(&setup.actions, spec.stdout_fd, 1);
    if (spec.stderr_fd >= 0) posix_spawn_file_actions_adddup2(&setup.actions, spec.stderr_fd, 2);
  }
  posix_spawn_file_actions_addchdir_np(&setup.actions, spec.cwd.c_str());
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  // The caller's descriptors (sockets, database files) must not leak into the child, whether or
  // not whoever opened them remembered O_CLOEXEC.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
#endif
  sigset_t empty_set, all_signals;
  sigemptyset(&empty_set);
  sigfillset(&all_signals);
  posix_spawnattr_setflags(&setup.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&setup.attr, 0);
  posix_spawnattr_setsigmask(&setup.attr, &empty_set);
  posix_spawnattr_setsigdefault(&setup.attr, &all_signals);

  pid_t pid = 0;
  const int err =
      ::posix_spawnp(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
  if (err != 0) return Internal(std::system_category().message(err));
  return pid;
}

}  // namespace agentcore::internal
