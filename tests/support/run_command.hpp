// SPDX-License-Identifier: Apache-2.0
#pragma once

// Runs a program (argument vector, no shell) for tests and returns its exit code, with its
// stdout and stderr together in `*out` when given. Test support only: no timeout, so run only
// programs that end (unzip, git, python3).

#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace agentcore::testing {

inline int RunCommand(const std::vector<std::string>& argv, std::string* out = nullptr,
                      const std::string& cwd = "") {
  int pipefd[2];
  if (::pipe(pipefd) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) ::_exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (out != nullptr) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace agentcore::testing
