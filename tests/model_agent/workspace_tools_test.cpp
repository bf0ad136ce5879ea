// SPDX-License-Identifier: Apache-2.0
#include "model-agent/workspace_tools.hpp"

#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

namespace fs = std::filesystem;
using agentcore::Json;
using model_agent::RunWorkspaceTool;
using model_agent::ToolContext;
using model_agent::ToolOutcome;

struct Workspace {
  Workspace() {
    char tmpl[] = "/tmp/model-agent-tools-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    root = tmpl;
    outside = root + "-outside";
    fs::create_directories(root + "/src");
    fs::create_directories(outside);
    Write("README.md", "hello\n");
    Write("src/main.c", "int main(){}\n");
    Write(".env", "SECRET=1\n");
    fs::create_directories(root + "/.git");
    std::ofstream(outside + "/secret.txt") << "outside";
    ctx.workspace = root;
  }
  ~Workspace() {
    std::error_code ec;
    fs::remove_all(root, ec);
    fs::remove_all(outside, ec);
  }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(root + "/" + rel, std::ios::binary) << text;
  }
  std::string Read(const std::string& rel) {
    std::ifstream in(root + "/" + rel, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  ToolOutcome Run(std::string_view tool, std::string_view args_json) {
    agentcore::Result<Json> args = agentcore::ParseJson(args_json);
    REQUIRE(args.ok());
    return RunWorkspaceTool(ctx, tool, *args);
  }

  std::string root;
  std::string outside;
  ToolContext ctx;
};

}  // namespace

TEST_SUITE("model_agent/workspace_tools") {
  TEST_CASE("offers read-only tools in the plan phase and all four in the build phase") {
    auto names = [](bool read_only) {
      std::string out;
      for (const auto& t : model_agent::WorkspaceToolSpecs(read_only)) {
        out += t.name + ",";
        CHECK(t.parameters.is_object());
        CHECK(*t.parameters.FindString("type") == "object");
      }
      return out;
    };
    CHECK(names(true) == "list_dir,read_file,");
    CHECK(names(false) == "list_dir,read_file,write_file,run_command,");
  }

  TEST_CASE("list_dir lists sorted entries, directories marked, without .git") {
    Workspace w;
    ToolOutcome out = w.Run("list_dir", R"({"path":"."})");
    CHECK_FALSE(out.is_error);
    CHECK(out.output == ".env\nREADME.md\nsrc/\n");
    CHECK(w.Run("list_dir", "{}").output == out.output);
    CHECK(w.Run("list_dir", R"({"path":"src"})").output == "main.c\n");
    CHECK(w.Run("list_dir", R"({"path":")" + w.root + R"(/src"})").output == "main.c\n");
  }

  TEST_CASE("read_file returns a file's text and refuses secrets, binaries and missing files") {
    Workspace w;
    CHECK(w.Run("read_file", R"({"path":"README.md"})").output == "hello\n");
    ToolOutcome secret = w.Run("read_file", R"({"path":".env"})");
    CHECK(secret.is_error);
    CHECK(secret.output.find("secrets") != std::string::npos);
    fs::create_symlink(w.root + "/.env", w.root + "/innocent");
    CHECK(w.Run("read_file", R"({"path":"innocent"})").is_error);
    w.Write("bin", std::string("a\0b", 3));
    CHECK(w.Run("read_file", R"({"path":"bin"})").output.find("binary") != std::string::npos);
    CHECK(w.Run("read_file", R"({"path":"nope.txt"})").is_error);
    CHECK(w.Run("read_file", R"({"path":"src"})").is_error);
    CHECK(w.Run("read_file", "{}").is_error);
    CHECK(w.Run("read_file", R"({"path":5})").is_error);
  }

  TEST_CASE("read_file truncates a large file with a note") {
    Workspace w;
    w.ctx.limits.max_read_bytes = 10;
    w.Write("big.txt", std::string(100, 'x'));
    ToolOutcome out = w.Run("read_file", R"({"path":"big.txt"})");
    CHECK_FALSE(out.is_error);
    CHECK(out.output.rfind(std::string(10, 'x') + "\n[truncated: the file has 100 bytes", 0) == 0);
  }

  TEST_CASE("paths leaving the workspace are refused, by .. and by symlink") {
    Workspace w;
    fs::create_symlink(w.outside, w.root + "/out");
    CHECK(w.Run("read_file", R"({"path":"../x"})").is_error);
    CHECK(w.Run("read_file", R"({"path":"out/secret.txt"})").is_error);
    CHECK(w.Run("list_dir", R"({"path":"out"})").is_error);
    CHECK(w.Run("read_file", R"({"path":"/etc/passwd"})").is_error);
    CHECK(w.Run("write_file", R"({"path":"out/new.txt","content":"x"})").is_error);
    CHECK_FALSE(fs::exists(w.outside + "/new.txt"));
    CHECK(w.Run("write_file", R"({"path":".git/config","content":"x"})").is_error);
  }

  TEST_CASE("write_file creates directories and replaces files, and refuses bad arguments") {
    Workspace w;
    ToolOutcome out = w.Run("write_file", R"({"path":"a/b/c.txt","content":"one"})");
    CHECK_FALSE(out.is_error);
    CHECK(out.output == "wrote 3 bytes to a/b/c.txt");
    CHECK(w.Read("a/b/c.txt") == "one");
    CHECK_FALSE(w.Run("write_file", R"({"path":"a/b/c.txt","content":""})").is_error);
    CHECK(w.Read("a/b/c.txt").empty());
    CHECK(w.Run("write_file", R"({"path":"a/b/c.txt"})").is_error);
    CHECK(w.Run("write_file", R"({"path":"src","content":"x"})").is_error);
    w.ctx.limits.max_write_bytes = 2;
    CHECK(w.Run("write_file", R"({"path":"x","content":"abc"})").is_error);
  }

  TEST_CASE("write and command tools are refused in the plan phase") {
    Workspace w;
    w.ctx.read_only = true;
    ToolOutcome out = w.Run("write_file", R"({"path":"x","content":"y"})");
    CHECK(out.is_error);
    CHECK(out.output.find("read-only") != std::string::npos);
    CHECK(w.Run("run_command", R"({"command":"touch y"})").is_error);
    CHECK_FALSE(fs::exists(w.root + "/x"));
    CHECK_FALSE(fs::exists(w.root + "/y"));
    CHECK(w.Run("rm_rf", "{}").output.find("unknown tool") != std::string::npos);
  }

  TEST_CASE("run_command runs in the workspace, streams its output and reports the exit code") {
    Workspace w;
    std::string streamed;
    w.ctx.output = [&](std::string_view stream, std::string_view text) {
      streamed += std::string(stream) + ":" + std::string(text);
    };
    ToolOutcome out = w.Run("run_command", R"({"command":"cat README.md; echo oops >&2; exit 3"})");
    CHECK(out.is_error);
    CHECK(out.output.rfind("exit code 3\n", 0) == 0);
    CHECK(out.output.find("hello") != std::string::npos);
    CHECK(streamed.find("stdout:hello\n") != std::string::npos);
    CHECK(streamed.find("stderr:oops\n") != std::string::npos);
    ToolOutcome ok = w.Run("run_command", R"({"command":"pwd"})");
    CHECK_FALSE(ok.is_error);
    CHECK(ok.output.find(fs::canonical(w.root).string()) != std::string::npos);
  }

  TEST_CASE("run_command hides secrets from the command's environment") {
    Workspace w;
    setenv("OPENAI_API_KEY", "sk-hidden", 1);
    setenv("CAST_AUTH_TOKEN", "tok-hidden", 1);
    setenv("MODEL_AGENT_TEST_VISIBLE", "yes", 1);
    ToolOutcome out = w.Run("run_command", R"({"command":"env"})");
    unsetenv("OPENAI_API_KEY");
    unsetenv("CAST_AUTH_TOKEN");
    unsetenv("MODEL_AGENT_TEST_VISIBLE");
    CHECK(out.output.find("MODEL_AGENT_TEST_VISIBLE=yes") != std::string::npos);
    CHECK(out.output.find("hidden") == std::string::npos);
  }

  TEST_CASE("run_command kills a command past its timeout, and when the phase stops") {
    Workspace w;
    const auto start = std::chrono::steady_clock::now();
    ToolOutcome out = w.Run("run_command", R"({"command":"sleep 30","timeout_ms":200})");
    CHECK(out.is_error);
    CHECK(out.output.rfind("timed out after 200 ms", 0) == 0);
    bool stop = false;
    w.ctx.stopping = [&] { return stop = std::chrono::steady_clock::now() - start >
                                         std::chrono::milliseconds(600); };
    ToolOutcome stopped = w.Run("run_command", R"({"command":"sleep 30"})");
    CHECK(stopped.output.rfind("stopped", 0) == 0);
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    CHECK(w.Run("run_command", R"({"command":""})").is_error);
    CHECK(w.Run("run_command", R"({"command":"true","timeout_ms":-5})").is_error);
  }
}
