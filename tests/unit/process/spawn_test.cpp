// SPDX-License-Identifier: Apache-2.0
#include "process/spawn.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/temp_dir.hpp"

namespace {

using agentcore::ErrorCode;
using agentcore::internal::SpawnProcess;
using agentcore::internal::SpawnSpec;

std::string ReadAll(int fd) {
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      return text;
    }
  }
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_SUITE("process/spawn") {
  TEST_CASE("the child gets exactly the argv, environment, directory and pipes given") {
    agentcore::testing::TempDir dir("spawn-test");
    REQUIRE_FALSE(dir.path().empty());
    int out[2];
    int err[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err, O_CLOEXEC) == 0);
    SpawnSpec spec;
    // $1 is the argument after the script name; `cat` reads stdin, which must be empty.
    spec.argv = {"sh", "-c", "echo \"$1 $ONLY\"; pwd; env | wc -l; cat; echo oops >&2", "sh",
                 "first"};
    spec.env = {"ONLY=here", "PATH=/usr/bin:/bin"};
    spec.cwd = dir.path();
    spec.stdout_fd = out[1];
    spec.stderr_fd = err[1];
    agentcore::Result<pid_t> pid = SpawnProcess(spec);
    ::close(out[1]);
    ::close(err[1]);
    REQUIRE(pid.ok());
    const std::string got = ReadAll(out[0]);
    const std::string got_err = ReadAll(err[0]);
    ::close(out[0]);
    ::close(err[0]);
    CHECK(WaitExit(*pid) == 0);
    std::istringstream lines(got);
    std::string line;
    std::getline(lines, line);
    CHECK(line == "first here");
    std::getline(lines, line);
    CHECK(line == std::filesystem::canonical(dir.path()).string());
    std::getline(lines, line);
    // ONLY and PATH, and what sh itself adds (PWD; some shells add SHLVL and _), nothing of ours.
    CHECK(std::stoi(line) <= 5);
    CHECK_FALSE(std::getline(lines, line));
    CHECK(got_err == "oops\n");
  }

  TEST_CASE("the child leads a process group of its own, with no signal blocked") {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    // Blocked here, and so inherited unless the spawn clears the mask.
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    REQUIRE(::pthread_sigmask(SIG_BLOCK, &usr1, &old) == 0);
    SpawnSpec spec;
    spec.argv = {"sh", "-c", "grep SigBlk /proc/self/status; exec sleep 30"};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.cwd = "/";
    spec.stdout_fd = out[1];
    agentcore::Result<pid_t> pid = SpawnProcess(spec);
    ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    ::close(out[1]);
    REQUIRE(pid.ok());
    CHECK(::getpgid(*pid) == *pid);
    std::string got;  // the line grep prints, then the group is killed
    char c = 0;
    while (got.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) got += c;
    CHECK(::kill(-*pid, SIGKILL) == 0);  // the group reaches it
    got += ReadAll(out[0]);
    ::close(out[0]);
    CHECK(got == "SigBlk:\t0000000000000000\n");
    int status = 0;
    CHECK(::waitpid(*pid, &status, 0) == *pid);
    CHECK(WIFSIGNALED(status));
  }

  TEST_CASE("with a log path, stdout and stderr are appended to that file") {
    agentcore::testing::TempDir dir("spawn-test");
    REQUIRE_FALSE(dir.path().empty());
    REQUIRE(dir.Write("log", "before\n"));
    SpawnSpec spec;
    spec.argv = {"sh", "-c", "echo out; echo err >&2"};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.cwd = dir.path();
    spec.log_path = dir / "log";
    agentcore::Result<pid_t> pid = SpawnProcess(spec);
    REQUIRE(pid.ok());
    CHECK(WaitExit(*pid) == 0);
    std::ifstream in(dir / "log");
    std::stringstream text;
    text << in.rdbuf();
    CHECK(text.str() == "before\nout\nerr\n");
  }

  TEST_CASE("a program that cannot be started is kInternal with the errno text") {
    SpawnSpec spec;
    spec.argv = {"/nonexistent/program"};
    spec.cwd = "/";
    agentcore::Result<pid_t> pid = SpawnProcess(spec);
    REQUIRE_FALSE(pid.ok());
    CHECK(pid.status().code() == ErrorCode::kInternal);
    CHECK(pid.status().message() == "No such file or directory");

    SpawnSpec bad_dir;
    bad_dir.argv = {"sh", "-c", "true"};
    bad_dir.env = {"PATH=/usr/bin:/bin"};
    bad_dir.cwd = "/nonexistent-directory";
    agentcore::Result<pid_t> no_dir = SpawnProcess(bad_dir);
    REQUIRE_FALSE(no_dir.ok());
    CHECK(no_dir.status().code() == ErrorCode::kInternal);
  }
}

}  // namespace
