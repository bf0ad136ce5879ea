// SPDX-License-Identifier: Apache-2.0
#include "support/shell_command.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "support/temp_dir.hpp"

namespace {

using example_agent::CommandOptions;
using example_agent::CommandOutcome;
using example_agent::IsSecretVariable;
using example_agent::RunShellCommand;
using Clock = std::chrono::steady_clock;

/// Runs `command` in a fresh directory and keeps what was streamed, "<stream>:<text>" a piece.
struct Run {
  agentcore::testing::TempDir dir{"shell-command-test"};
  CommandOptions options;
  std::string streamed;
  std::string out;  // stdout's text alone
  std::string err;  // stderr's text alone

  explicit Run(std::string command) {
    REQUIRE_FALSE(dir.path().empty());
    options.command = std::move(command);
    options.cwd = dir.path();
    options.deadline = Clock::now() + std::chrono::seconds(20);
    options.output = [this](std::string_view stream, std::string_view text) {
      CHECK_FALSE(text.empty());
      streamed += std::string(stream) + ":" + std::string(text);
      (stream == "stdout" ? out : err) += text;
    };
  }

  CommandOutcome Go() {
    agentcore::Result<CommandOutcome> r = RunShellCommand(options);
    REQUIRE(r.ok());
    return *r;
  }
};

TEST_SUITE("examples/shell_command") {
  TEST_CASE("a command runs in the directory given, its output streamed by stream and kept") {
    Run r("pwd; echo oops >&2; exit 3");
    CommandOutcome o = r.Go();
    CHECK(o.exit_code == 3);
    CHECK(o.signal == 0);
    CHECK_FALSE(o.timed_out);
    CHECK_FALSE(o.stopped);
    const std::string cwd = std::filesystem::canonical(r.dir.path()).string();
    CHECK(r.out == cwd + "\n");
    CHECK(r.err == "oops\n");
    CHECK(r.streamed.find("stdout:" + cwd + "\n") != std::string::npos);
    CHECK(r.streamed.find("stderr:oops\n") != std::string::npos);
    CHECK(o.tail.find(cwd + "\n") != std::string::npos);
    CHECK(o.tail.find("oops\n") != std::string::npos);
  }

  TEST_CASE("stdin is empty, so a command reading it ends at once") {
    Run r("cat; echo done");
    CommandOutcome o = r.Go();
    CHECK(o.exit_code == 0);
    CHECK(r.out == "done\n");
  }

  TEST_CASE("a command ended by a signal reports it as the shell would (128 + N)") {
    Run r("kill -TERM $$");
    CommandOutcome o = r.Go();
    CHECK(o.signal == SIGTERM);
    CHECK(o.exit_code == 128 + SIGTERM);
  }

  TEST_CASE("a directory that does not exist is exit code 127, not a start error") {
    Run r("echo never");
    r.options.cwd = r.dir.path() + "/missing";
    CommandOutcome o = r.Go();
    CHECK(o.exit_code == 127);
    CHECK(r.out.empty());
  }

  TEST_CASE("output that is not UTF-8 is made valid; a sequence split between reads stays whole") {
    // \342\202\254 is the euro sign, written in two parts with a pause so two reads see it.
    Run r(R"(printf 'caf\303\251 \377!'; printf '\342\202'; sleep 0.3; printf '\254.';)"
          R"( printf '\342\202' >&2)");
    CommandOutcome o = r.Go();
    CHECK(o.exit_code == 0);
    CHECK(r.out == "caf\xC3\xA9 \xEF\xBF\xBD!\xE2\x82\xAC.");
    CHECK(r.err == "\xEF\xBF\xBD\xEF\xBF\xBD");  // cut short at the end: each byte replaced
    CHECK(o.tail.find("\xE2\x82\xAC.") != std::string::npos);
  }

  TEST_CASE("secrets are not in the command's environment; other variables are") {
    CHECK(IsSecretVariable("CAST_AUTH_TOKEN=abc"));
    CHECK(IsSecretVariable("OPENAI_API_KEY=sk-1"));
    CHECK(IsSecretVariable("GITHUB_TOKEN=x"));
    CHECK(IsSecretVariable("AWS_SECRET"));
    CHECK_FALSE(IsSecretVariable("CAST_API_URL=http://x"));
    CHECK_FALSE(IsSecretVariable("TOKEN_FILE=/x"));
    CHECK_FALSE(IsSecretVariable("PATH=/usr/bin:_TOKEN"));
    setenv("RUN_COMMAND_TEST_API_KEY", "hidden-1", 1);
    setenv("CAST_AUTH_TOKEN", "hidden-2", 1);
    setenv("RUN_COMMAND_TEST_VISIBLE", "yes", 1);
    Run r("env");
    CommandOutcome o = r.Go();
    unsetenv("RUN_COMMAND_TEST_API_KEY");
    unsetenv("CAST_AUTH_TOKEN");
    unsetenv("RUN_COMMAND_TEST_VISIBLE");
    CHECK(o.exit_code == 0);
    CHECK(r.out.find("RUN_COMMAND_TEST_VISIBLE=yes") != std::string::npos);
    CHECK(r.out.find("hidden") == std::string::npos);
  }

  TEST_CASE("the deadline kills the command and what it started in the background") {
    Run r("sleep 30 & echo started; sleep 30");
    r.options.deadline = Clock::now() + std::chrono::milliseconds(300);
    const auto start = Clock::now();
    CommandOutcome o = r.Go();
    CHECK(Clock::now() - start < std::chrono::seconds(5));
    CHECK(o.timed_out);
    CHECK_FALSE(o.stopped);
    CHECK(o.signal == SIGKILL);
    CHECK(r.out == "started\n");
  }

  TEST_CASE("stopping kills the command; a deadline already past is a time-out") {
    Run r("sleep 30");
    const auto start = Clock::now();
    int polls = 0;
    r.options.stopping = [&] {
      ++polls;
      return Clock::now() - start > std::chrono::milliseconds(300);
    };
    CommandOutcome o = r.Go();
    CHECK(o.stopped);
    CHECK_FALSE(o.timed_out);
    CHECK(polls > 1);
    CHECK(Clock::now() - start < std::chrono::seconds(5));

    Run late("echo never > file");
    late.options.deadline = Clock::now();
    CommandOutcome l = late.Go();
    CHECK(l.timed_out);
    CHECK_FALSE(l.stopped);
  }

  TEST_CASE("a background child that keeps the pipes open does not hold the command up") {
    Run r("sleep 30 & echo left");
    const auto start = Clock::now();
    CommandOutcome o = r.Go();
    CHECK(Clock::now() - start < std::chrono::seconds(5));
    CHECK(o.exit_code == 0);
    CHECK_FALSE(o.timed_out);
    CHECK(r.out == "left\n");
  }

  TEST_CASE("streamed output stops at its limit with one note; the tail keeps the end") {
    // Pieces 0.1 s apart, so that they come in several reads.
    Run r(
        "i=0; while [ $i -lt 4 ]; do printf '%0200d\\n' $i; sleep 0.1; i=$((i+1)); done;"
        " echo last-line");
    r.options.max_streamed_bytes = 100;
    r.options.tail_bytes = 16;
    CommandOutcome o = r.Go();
    CHECK(o.exit_code == 0);
    CHECK(r.out == std::string(200, '0') + "\n[output truncated]\n");
    CHECK(o.tail.size() == 16);
    CHECK(o.tail.substr(o.tail.size() - 10) == "last-line\n");
  }

  TEST_CASE("without an output sink the tail still has the output") {
    Run r("echo only-the-tail");
    r.options.output = nullptr;
    CommandOutcome o = r.Go();
    CHECK(o.exit_code == 0);
    CHECK(o.tail == "only-the-tail\n");
  }
}

}  // namespace
