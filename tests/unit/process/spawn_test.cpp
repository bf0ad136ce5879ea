// SPDX-License-Identifier: Apache-2.0
#include "process/spawn.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
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
  TEST_CASE("stdin comes from the descriptor given, and inherited descriptors become 3, 4, ...") {
    int in[2], out[2], extra_a[2], extra_b[2];
    REQUIRE(::pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(extra_a, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(extra_b, O_CLOEXEC) == 0);
    SpawnSpec spec;
    // Reads a line from stdin, writes "a" to fd 3 and "b" to fd 4; fd 5 must be closed.
    spec.argv = {"sh", "-c",
                 "read line; echo \"$line\"; echo a >&3; echo b >&4; "
                 "(echo c >&5) 2>/dev/null && echo fd5-open || echo fd5-closed"};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.cwd = "/";
    spec.stdin_fd = in[0];
    spec.stdout_fd = out[1];
    spec.inherit_fds = {extra_a[1], extra_b[1]};
    agentcore::Result<pid_t> pid = SpawnProcess(spec);
    for (int fd : {in[0], out[1], extra_a[1], extra_b[1]}) ::close(fd);
    REQUIRE(pid.ok());
    REQUIRE(::write(in[1], "typed\n", 6) == 6);
    ::close(in[1]);
    CHECK(ReadAll(out[0]) == "typed\nfd5-closed\n");
    CHECK(ReadAll(extra_a[0]) == "a\n");
    CHECK(ReadAll(extra_b[0]) == "b\n");
    for (int fd : {out[0], extra_a[0], extra_b[0]}) ::close(fd);
    CHECK(WaitExit(*pid) == 0);
  }

  TEST_CASE("inherited descriptors that sit where others go are moved without loss") {
    // Two pipes whose write ends are 3 and 4 in this process would collide if given as
    // {4, 3}: the child must still see the first at 3 and the second at 4.
    int a[2], b[2];
    REQUIRE(::pipe2(a, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(b, O_CLOEXEC) == 0);
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    SpawnSpec spec;
    spec.argv = {"sh", "-c", "echo first >&3; echo second >&4"};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.cwd = "/";
    spec.inherit_fds = {b[1], a[1]};
    spec.stdout_fd = out[1];
    spec.rlimits.push_back({RLIMIT_NOFILE, 64});  // the fork path does the same
    agentcore::Result<pid_t> pid = SpawnProcess(spec);
    for (int fd : {a[1], b[1], out[1]}) ::close(fd);
    REQUIRE(pid.ok());
    CHECK(ReadAll(b[0]) == "first\n");
    CHECK(ReadAll(a[0]) == "second\n");
    for (int fd : {a[0], b[0], out[0]}) ::close(fd);
    CHECK(WaitExit(*pid) == 0);
  }

  TEST_CASE("resource limits are set in the child before exec, for it and its children") {
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    SpawnSpec spec;
    spec.argv = {"sh", "-c", "ulimit -v; sh -c 'ulimit -n'; grep SigBlk /proc/self/status"};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.cwd = "/";
    spec.stdout_fd = out[1];
    spec.rlimits.push_back({RLIMIT_AS, rlim_t{256} << 20});
    spec.rlimits.push_back({RLIMIT_NOFILE, 100});
    agentcore::Result<pid_t> pid = SpawnProcess(spec);
    ::close(out[1]);
    REQUIRE(pid.ok());
    CHECK(::getpgid(*pid) == *pid);
    CHECK(ReadAll(out[0]) == "262144\n100\nSigBlk:\t0000000000000000\n");
    ::close(out[0]);
    CHECK(WaitExit(*pid) == 0);
    struct rlimit mine {};
    ::getrlimit(RLIMIT_NOFILE, &mine);
    CHECK(mine.rlim_cur != 100);  // this process's own limits are untouched
  }

  TEST_CASE("the fork path reports what cannot be started as kInternal with the errno text") {
    SpawnSpec spec;
    spec.argv = {"/nonexistent/program"};
    spec.cwd = "/";
    spec.rlimits.push_back({RLIMIT_NOFILE, 64});
    agentcore::Result<pid_t> pid = SpawnProcess(spec);
    REQUIRE_FALSE(pid.ok());
    CHECK(pid.status().code() == ErrorCode::kInternal);
    CHECK(pid.status().message() == "No such file or directory");

    SpawnSpec bad_dir;
    bad_dir.argv = {"sh", "-c", "true"};
    bad_dir.env = {"PATH=/usr/bin:/bin"};
    bad_dir.cwd = "/nonexistent-directory";
    bad_dir.rlimits.push_back({RLIMIT_NOFILE, 64});
    agentcore::Result<pid_t> no_dir = SpawnProcess(bad_dir);
    REQUIRE_FALSE(no_dir.ok());
    CHECK(no_dir.status().message() == "No such file or directory");

    SpawnSpec too_high;  // raising a hard limit needs privilege we may have: use a bad resource
    too_high.argv = {"sh", "-c", "true"};
    too_high.env = {"PATH=/usr/bin:/bin"};
    too_high.cwd = "/";
    too_high.rlimits.push_back({9999, 1});
    agentcore::Result<pid_t> bad_limit = SpawnProcess(too_high);
    REQUIRE_FALSE(bad_limit.ok());
    CHECK(bad_limit.status().message() == "Invalid argument");
  }

  TEST_CASE("FindProgram resolves a name through PATH, and a path only when executable") {
    CHECK(agentcore::internal::FindProgram("sh").find("/sh") != std::string::npos);
    CHECK(agentcore::internal::FindProgram("/bin/sh") == "/bin/sh");
    CHECK(agentcore::internal::FindProgram("/nonexistent/sh").empty());
    CHECK(agentcore::internal::FindProgram("no-such-program-anywhere").empty());
  }
}

}  // namespace
