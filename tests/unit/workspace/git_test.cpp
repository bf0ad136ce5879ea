// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <agentcore/workspace/git.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/run_command.hpp"
#include "support/temp_dir.hpp"

namespace agentcore {
namespace {

using testing::TempDir;

// `git <args>` in `dir` with the host's config out of the way; stdout with the trailing newline
// removed.
std::string Git(const std::string& dir, std::vector<std::string> args) {
  std::vector<std::string> argv = {"git", "-c", "safe.directory=*", "-C", dir};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  const int code = testing::RunCommand(argv, &out);
  CHECK_MESSAGE(code == 0, out);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string Tree(const std::string& dir) {
  return Git(dir, {"ls-tree", "-r", "--name-only", "HEAD"});
}

void WriteExecutable(const std::string& path, const std::string& text) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream(path) << text;
  REQUIRE(::chmod(path.c_str(), 0755) == 0);
}

// Whether `pid` is gone or a zombie (killed, waiting for a reaper that may not exist here).
bool Dead(pid_t pid) {
  if (::kill(pid, 0) != 0) return errno == ESRCH;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const std::size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

TEST_SUITE("workspace/git") {
  TEST_CASE("the first call makes the repository and its first commit on main") {
    TempDir dir("ac-git");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("hello.txt", "hi\n"));
    REQUIRE(dir.Write("src/app.js", "console.log(1)\n"));
    auto r = CommitWorkspace(dir.path(), GitCommitOptions{});
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK((*r)->size() == 40);
    CHECK(Git(dir.path(), {"rev-parse", "HEAD"}) == **r);
    CHECK(Git(dir.path(), {"rev-parse", "--abbrev-ref", "HEAD"}) == "main");
    CHECK(Tree(dir.path()) == "hello.txt\nsrc/app.js");
    CHECK(Git(dir.path(), {"log", "--format=%s"}) == "agentcore: workspace snapshot");
  }

  TEST_CASE("nothing changed: no commit and std::nullopt") {
    TempDir dir("ac-git");
    REQUIRE(!dir.path().empty());
    SUBCASE("an empty workspace") {
      auto r = CommitWorkspace(dir.path(), GitCommitOptions{});
      REQUIRE(r.ok());
      CHECK_FALSE(r->has_value());
      CHECK(std::filesystem::is_directory(dir / ".git"));
    }
    SUBCASE("a second call after a commit") {
      REQUIRE(dir.Write("a.txt", "a"));
      auto first = CommitWorkspace(dir.path(), GitCommitOptions{});
      REQUIRE(first.ok());
      REQUIRE(first->has_value());
      auto again = CommitWorkspace(dir.path(), GitCommitOptions{});
      REQUIRE(again.ok());
      CHECK_FALSE(again->has_value());
      CHECK(Git(dir.path(), {"rev-list", "--count", "HEAD"}) == "1");
    }
    SUBCASE("only a secret changed") {
      REQUIRE(dir.Write("a.txt", "a"));
      REQUIRE(CommitWorkspace(dir.path(), GitCommitOptions{}).ok());
      REQUIRE(dir.Write(".env", "TOKEN=new"));
      auto r = CommitWorkspace(dir.path(), GitCommitOptions{});
      REQUIRE(r.ok());
      CHECK_FALSE(r->has_value());
    }
  }

  TEST_CASE("a second commit records changes, additions and deletions on top of the first") {
    TempDir dir("ac-git");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("keep.txt", "v1"));
    REQUIRE(dir.Write("gone.txt", "bye"));
    auto first = CommitWorkspace(dir.path(), GitCommitOptions{});
    REQUIRE(first.ok());
    REQUIRE(first->has_value());
    REQUIRE(dir.Write("keep.txt", "v2"));
    REQUIRE(dir.Write("new/file.txt", "new"));
    std::filesystem::remove(dir / "gone.txt");
    GitCommitOptions options;
    options.message = "run 01J: build";
    auto second = CommitWorkspace(dir.path(), options);
    REQUIRE(second.ok());
    REQUIRE(second->has_value());
    CHECK(**second != **first);
    CHECK(Git(dir.path(), {"rev-parse", "HEAD~1"}) == **first);
    CHECK(Tree(dir.path()) == "keep.txt\nnew/file.txt");
    CHECK(Git(dir.path(), {"show", "HEAD:keep.txt"}) == "v2");
    CHECK(Git(dir.path(), {"log", "-1", "--format=%s"}) == "run 01J: build");
  }

  TEST_CASE("records the author and committer given, and agentcore by default") {
    TempDir dir("ac-git");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("a.txt", "a"));
    REQUIRE(CommitWorkspace(dir.path(), GitCommitOptions{}).ok());
    CHECK(Git(dir.path(), {"log", "-1", "--format=%an|%ae|%cn|%ce"}) ==
          "agentcore|agentcore@localhost|agentcore|agentcore@localhost");

    REQUIRE(dir.Write("b.txt", "b"));
    GitCommitOptions options;
    options.author_name = "Ada Lovelace";
    options.author_email = "ada@example.com";
    options.committer_name = "Platform Agent";
    options.committer_email = "runs@example.com";
    REQUIRE(CommitWorkspace(dir.path(), options).ok());
    CHECK(Git(dir.path(), {"log", "-1", "--format=%an|%ae|%cn|%ce"}) ==
          "Ada Lovelace|ada@example.com|Platform Agent|runs@example.com");
  }

  TEST_CASE("never commits secrets, even ones tracked before, and keeps them on disk") {
    TempDir dir("ac-git");
    REQUIRE(!dir.path().empty());
    // A repository an agent made itself, with a secret committed and a line of its own in the
    // exclude file.
    Git(dir.path(), {"init", "-q"});
    REQUIRE(dir.Write(".git/info/exclude", "build/\n"));
    REQUIRE(dir.Write(".env", "TOKEN=tracked"));
    REQUIRE(dir.Write("app.js", "1"));
    Git(dir.path(), {"add", "-A"});
    Git(dir.path(), {"-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q", "-m", "agent"});
    REQUIRE(Tree(dir.path()) == ".env\napp.js");

    REQUIRE(dir.Write(".env.local", "x"));
    REQUIRE(dir.Write("certs/server.pem", "x"));
    REQUIRE(dir.Write("certs/server.KEY", "x"));
    REQUIRE(dir.Write("home/.ssh/ID_RSA", "x"));
    REQUIRE(dir.Write("id_ed25519.pub", "x"));
    REQUIRE(dir.Write(".npmrc", "x"));
    REQUIRE(dir.Write("sub/.netrc", "x"));
    REQUIRE(dir.Write("bundle.p12", "x"));
    REQUIRE(dir.Write("gcp/credentials.json", "x"));
    REQUIRE(dir.Write(".env.d/inner.txt", "x"));
    REQUIRE(dir.Write("build/out.o", "x"));
    REQUIRE(dir.Write("README.md", "ok"));
    auto r = CommitWorkspace(dir.path(), GitCommitOptions{});
    REQUIRE(r.ok());
    REQUIRE(r->has_value());
    CHECK(Tree(dir.path()) == "README.md\napp.js");
    CHECK(std::filesystem::exists(dir / ".env"));
    CHECK(std::filesystem::exists(dir / "certs/server.pem"));

    // The agent's own exclude line stays, and the block is written once however often we run.
    REQUIRE(dir.Write("more.txt", "m"));
    REQUIRE(CommitWorkspace(dir.path(), GitCommitOptions{}).ok());
    std::ifstream in(dir / ".git/info/exclude");
    const std::string exclude((std::istreambuf_iterator<char>(in)), {});
    CHECK(exclude.rfind("build/\n", 0) == 0);
    const std::string marker = "secrets are never committed (begin)";
    const std::size_t at = exclude.find(marker);
    CHECK(at != std::string::npos);
    CHECK(exclude.find(marker, at + 1) == std::string::npos);
  }

  TEST_CASE("runs no hook of the workspace, and a failing hook does not block the commit") {
    TempDir dir("ac-git");
    REQUIRE(!dir.path().empty());
    Git(dir.path(), {"init", "-q"});
    const std::string marker = dir / "hook-ran";
    for (const char* hook : {"pre-commit", "commit-msg", "post-commit", "prepare-commit-msg"}) {
      WriteExecutable(dir / (std::string(".git/hooks/") + hook),
                      "#!/bin/sh\ntouch '" + marker + "'\nexit 1\n");
    }
    REQUIRE(dir.Write("a.txt", "a"));
    auto r = CommitWorkspace(dir.path(), GitCommitOptions{});
    REQUIRE(r.ok());
    CHECK(r->has_value());
    CHECK_FALSE(std::filesystem::exists(marker));
  }

  TEST_CASE("the server's environment and the host's git config do not matter") {
    TempDir dir("ac-git");
    TempDir home("ac-git-home");
    REQUIRE(!dir.path().empty());
    REQUIRE(home.Write(".gitconfig",
                       "[user]\n\tname = Host User\n[commit]\n\tgpgSign = true\n"
                       "[core]\n\thooksPath = /bin\n"));
    const char* old_home = std::getenv("HOME");
    const std::string saved = old_home != nullptr ? old_home : "";
    ::setenv("HOME", home.path().c_str(), 1);
    ::setenv("GIT_DIR", "/nonexistent-git-dir", 1);
    ::setenv("GIT_AUTHOR_NAME", "Env Author", 1);
    REQUIRE(dir.Write("a.txt", "a"));
    auto r = CommitWorkspace(dir.path(), GitCommitOptions{});
    if (old_home != nullptr) {
      ::setenv("HOME", saved.c_str(), 1);
    } else {
      ::unsetenv("HOME");
    }
    ::unsetenv("GIT_DIR");
    ::unsetenv("GIT_AUTHOR_NAME");
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    CHECK(r->has_value());
    CHECK(Git(dir.path(), {"log", "-1", "--format=%an|%cn"}) == "agentcore|agentcore");
  }

  TEST_CASE("a git that outlives the timeout is killed with everything it started") {
    TempDir dir("ac-git");
    TempDir bin("ac-git-bin");
    REQUIRE(!dir.path().empty());
    REQUIRE(!bin.path().empty());
    // A stand-in for git that hangs, as a stuck hook or a network filesystem would, and leaves
    // a child of its own behind.
    WriteExecutable(bin / "slow-git", "#!/bin/sh\nsleep 60 &\necho $! > '" + (bin / "child") +
                                          "'\necho $$ > '" + (bin / "self") + "'\nwait\n");
    GitCommitOptions options;
    options.git_binary = bin / "slow-git";
    options.timeout = std::chrono::milliseconds(300);
    const auto start = std::chrono::steady_clock::now();
    auto r = CommitWorkspace(dir.path(), options);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kDeadlineExceeded);
    CHECK(r.error().message().find("timed out after 300 ms") != std::string::npos);
    CHECK(took < std::chrono::seconds(5));
    std::ifstream child_file(bin / "child");
    std::ifstream self_file(bin / "self");
    pid_t child = 0;
    pid_t self = 0;
    child_file >> child;
    self_file >> self;
    REQUIRE(child > 0);
    REQUIRE(self > 0);
    // The kill is asynchronous for the grandchild: give it a moment.
    for (int i = 0; i < 100 && !Dead(child); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(Dead(child));
    CHECK(Dead(self));
  }

  TEST_CASE("a git failure is kInternal with git's stderr") {
    TempDir dir("ac-git");
    REQUIRE(!dir.path().empty());
    REQUIRE(dir.Write("a.txt", "a"));
    REQUIRE(CommitWorkspace(dir.path(), GitCommitOptions{}).ok());
    REQUIRE(dir.Write(".git/index.lock", ""));  // what a killed git leaves behind
    REQUIRE(dir.Write("b.txt", "b"));
    auto r = CommitWorkspace(dir.path(), GitCommitOptions{});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kInternal);
    CHECK(r.error().message().find("git add") != std::string::npos);
    CHECK(r.error().message().find("index.lock") != std::string::npos);
    CHECK(r.error().message().size() < 2048 + 512);
  }

  TEST_CASE("a missing git binary is kInternal") {
    TempDir dir("ac-git");
    REQUIRE(!dir.path().empty());
    GitCommitOptions options;
    options.git_binary = "/nonexistent/git";
    auto r = CommitWorkspace(dir.path(), options);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kInternal);
    CHECK(r.error().message().find("/nonexistent/git") != std::string::npos);
  }

  TEST_CASE("refuses bad messages and identities, and a missing workspace") {
    TempDir dir("ac-git");
    REQUIRE(!dir.path().empty());
    GitCommitOptions options;
    options.message = "";
    auto r = CommitWorkspace(dir.path(), options);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kInvalidArgument);

    for (const std::string& bad :
         {std::string("a\nb"), std::string("<x>"), std::string("a>"), std::string("a\0b", 3)}) {
      GitCommitOptions o;
      o.author_email = bad;
      auto e = CommitWorkspace(dir.path(), o);
      REQUIRE_FALSE(e.ok());
      CHECK(e.error().code() == ErrorCode::kInvalidArgument);
    }
    CHECK_FALSE(std::filesystem::exists(dir / ".git"));  // refused before running anything

    auto missing = CommitWorkspace(dir / "missing", GitCommitOptions{});
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code() == ErrorCode::kNotFound);
  }

  TEST_CASE("refuses a .git that is a file or a symlink") {
    TempDir dir("ac-git");
    TempDir other("ac-git-other");
    REQUIRE(!dir.path().empty());
    Git(other.path(), {"init", "-q"});
    SUBCASE("a gitdir file") { REQUIRE(dir.Write(".git", "gitdir: " + other / ".git" + "\n")); }
    SUBCASE("a symlink") {
      REQUIRE(::symlink((other / ".git").c_str(), (dir / ".git").c_str()) == 0);
    }
    REQUIRE(dir.Write("a.txt", "a"));
    auto r = CommitWorkspace(dir.path(), GitCommitOptions{});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code() == ErrorCode::kInternal);
    CHECK(r.error().message().find(".git is not a directory") != std::string::npos);
    std::ifstream exclude(other / ".git/info/exclude");
    const std::string text((std::istreambuf_iterator<char>(exclude)), {});
    CHECK(text.find("agentcore") == std::string::npos);
  }

}  // TEST_SUITE

}  // namespace
}  // namespace agentcore
