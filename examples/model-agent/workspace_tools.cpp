// SPDX-License-Identifier: Apache-2.0
#include "model-agent/workspace_tools.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <utility>

#include <agentcore/workspace/path_policy.hpp>

#include "support/shell_command.hpp"

namespace model_agent {

namespace {

using agentcore::Json;
namespace fs = std::filesystem;

ToolOutcome Error(std::string what) { return ToolOutcome{std::move(what), true}; }

Json Schema(std::vector<std::pair<std::string, std::string>> string_props,
            std::vector<std::string> required, bool with_timeout = false) {
  Json props = Json::Object();
  for (auto& [name, description] : string_props) {
    Json p = Json::Object();
    p.Set("type", "string");
    p.Set("description", description);
    props.Set(name, std::move(p));
  }
  if (with_timeout) {
    Json p = Json::Object();
    p.Set("type", "integer");
    p.Set("description", "milliseconds before the command is killed");
    props.Set("timeout_ms", std::move(p));
  }
  Json req = Json::Array();
  for (auto& r : required) req.as_array().push_back(Json(r));
  Json schema = Json::Object();
  schema.Set("type", "object");
  schema.Set("properties", std::move(props));
  schema.Set("required", std::move(req));
  schema.Set("additionalProperties", false);
  return schema;
}

/// The string argument `name`; "" when absent. False when present but not a string.
bool StringArg(const Json& args, std::string_view name, std::string* out) {
  const Json* v = args.Find(name);
  if (v == nullptr || v->is_null()) {
    out->clear();
    return true;
  }
  if (!v->is_string()) return false;
  *out = v->as_string();
  return true;
}

/// A workspace-relative path from the model: an absolute path inside the workspace is taken
/// relative to it, as models often echo the workspace path they were told.
std::string Relative(const ToolContext& ctx, std::string path) {
  const std::string prefix = ctx.workspace + "/";
  if (path == ctx.workspace) return ".";
  if (path.rfind(prefix, 0) == 0) return path.substr(prefix.size());
  return path;
}

/// The path a resolved path finally names (its symlinks followed), relative to the canonical
/// workspace, for the secret check: a link named `notes` may point at `.env`.
std::string UnderRoot(const ToolContext& ctx, const std::string& resolved) {
  std::error_code ec;
  const std::string root = fs::weakly_canonical(ctx.workspace, ec).string();
  const std::string target = fs::weakly_canonical(resolved, ec).string();
  if (!ec && target.rfind(root + "/", 0) == 0) return target.substr(root.size() + 1);
  return target;
}

ToolOutcome ListDir(const ToolContext& ctx, const Json& args) {
  std::string path;
  if (!StringArg(args, "path", &path)) return Error("list_dir: \"path\" must be a string");
  if (path.empty()) path = ".";
  agentcore::Result<std::string> dir = agentcore::ResolveInWorkspace(ctx.workspace,
                                                                     Relative(ctx, path), false);
  if (!dir.ok()) return Error("list_dir " + path + ": " + dir.status().message());
  std::error_code ec;
  fs::directory_iterator it(*dir, ec);
  if (ec) return Error("list_dir " + path + ": " + ec.message());
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Error("list_dir " + path + ": " + ec.message());
    std::string name = it->path().filename().string();
    if (name == ".git") continue;
    std::error_code type_ec;
    if (it->is_directory(type_ec)) name += "/";
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  std::string out;
  const std::size_t shown = std::min(names.size(), ctx.limits.max_entries);
  for (std::size_t i = 0; i < shown; ++i) out += names[i] + "\n";
  if (names.size() > shown) {
    out += "[" + std::to_string(names.size() - shown) + " more entries not shown]\n";
  }
  if (names.empty()) out = "(empty directory)\n";
  return ToolOutcome{out, false};
}

ToolOutcome ReadFile(const ToolContext& ctx, const Json& args) {
  std::string path;
  if (!StringArg(args, "path", &path) || path.empty()) {
    return Error("read_file: \"path\" must be a non-empty string");
  }
  const std::string relative = Relative(ctx, path);
  agentcore::Result<std::string> file = agentcore::ResolveInWorkspace(ctx.workspace, relative,
                                                                      false);
  if (!file.ok()) return Error("read_file " + path + ": " + file.status().message());
  if (agentcore::IsSecretPath(relative) || agentcore::IsSecretPath(UnderRoot(ctx, *file))) {
    return Error("read_file " + path + ": refused, the file may hold secrets");
  }
  std::error_code ec;
  if (!fs::is_regular_file(*file, ec)) {
    return Error("read_file " + path + ": " + (ec ? ec.message() : "not a regular file"));
  }
  const std::uintmax_t size = fs::file_size(*file, ec);
  if (ec) return Error("read_file " + path + ": " + ec.message());
  std::ifstream in(*file, std::ios::binary);
  if (!in) return Error("read_file " + path + ": cannot open it");
  std::string text(static_cast<std::size_t>(std::min<std::uintmax_t>(size,
                                                                     ctx.limits.max_read_bytes)),
                   '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.find('\0') != std::string::npos) {
    return Error("read_file " + path + ": a binary file (" + std::to_string(size) + " bytes)");
  }
  if (size > text.size()) {
    text += "\n[truncated: the file has " + std::to_string(size) + " bytes, " +
            std::to_string(text.size()) + " shown]\n";
  }
  return ToolOutcome{std::move(text), false};
}

ToolOutcome WriteFile(const ToolContext& ctx, const Json& args) {
  std::string path;
  std::string content;
  if (!StringArg(args, "path", &path) || path.empty()) {
    return Error("write_file: \"path\" must be a non-empty string");
  }
  const Json* c = args.Find("content");
  if (c == nullptr || !c->is_string()) return Error("write_file: \"content\" must be a string");
  content = c->as_string();
  if (content.size() > ctx.limits.max_write_bytes) {
    return Error("write_file " + path + ": content larger than " +
                 std::to_string(ctx.limits.max_write_bytes) + " bytes");
  }
  agentcore::Result<std::string> file = agentcore::ResolveInWorkspace(ctx.workspace,
                                                                      Relative(ctx, path), true);
  if (!file.ok()) return Error("write_file " + path + ": " + file.status().message());
  std::error_code ec;
  if (fs::is_directory(*file, ec)) return Error("write_file " + path + ": is a directory");
  fs::create_directories(fs::path(*file).parent_path(), ec);
  if (ec) return Error("write_file " + path + ": " + ec.message());
  {
    std::ofstream out(*file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    out.close();
    if (!out) return Error("write_file " + path + ": the write failed");
  }
  return ToolOutcome{"wrote " + std::to_string(content.size()) + " bytes to " + path, false};
}

ToolOutcome RunCommand(const ToolContext& ctx, const Json& args) {
  std::string command;
  if (!StringArg(args, "command", &command) || command.empty()) {
    return Error("run_command: \"command\" must be a non-empty string");
  }
  std::chrono::milliseconds timeout = ctx.limits.command_timeout;
  if (const Json* t = args.Find("timeout_ms"); t != nullptr && !t->is_null()) {
    if (!t->is_number() || !(t->as_number() >= 1) || std::isinf(t->as_number())) {
      return Error("run_command: \"timeout_ms\" must be a positive number");
    }
    timeout = std::min(ctx.limits.max_command_timeout,
                       std::chrono::milliseconds(static_cast<std::int64_t>(
                           std::min(t->as_number(), 1e12))));
  }
  example_agent::CommandOptions options;
  options.command = std::move(command);
  options.cwd = ctx.workspace;
  options.deadline = std::chrono::steady_clock::now() + timeout;
  options.stopping = ctx.stopping;
  options.output = ctx.output;
  options.max_streamed_bytes = ctx.limits.max_streamed_bytes;
  options.tail_bytes = ctx.limits.result_tail_bytes;
  agentcore::Result<example_agent::CommandOutcome> ran = example_agent::RunShellCommand(options);
  if (!ran.ok()) return Error("run_command: " + ran.status().message());
  std::string head;
  bool failed = true;
  if (ran->timed_out) {
    head = "timed out after " + std::to_string(timeout.count()) + " ms; killed";
  } else if (ran->stopped) {
    head = "stopped: the phase is ending";
  } else if (ran->signal != 0) {
    head = "killed by signal " + std::to_string(ran->signal);
  } else {
    head = "exit code " + std::to_string(ran->exit_code);
    failed = ran->exit_code != 0;
  }
  return ToolOutcome{head + "\n" + ran->tail, failed};
}

}  // namespace

std::vector<ToolSpec> WorkspaceToolSpecs(bool read_only) {
  std::vector<ToolSpec> specs;
  specs.push_back({"list_dir",
                   "List a directory of the workspace (directories end in /).",
                   Schema({{"path", "directory relative to the workspace; \".\" is its root"}},
                          {"path"})});
  specs.push_back({"read_file", "Read a text file of the workspace.",
                   Schema({{"path", "file path relative to the workspace"}}, {"path"})});
  if (read_only) return specs;
  specs.push_back({"write_file",
                   "Create or replace a file of the workspace with the whole content given; "
                   "directories are created.",
                   Schema({{"path", "file path relative to the workspace"},
                           {"content", "the file's complete new content"}},
                          {"path", "content"})});
  specs.push_back({"run_command",
                   "Run a shell command (/bin/sh -c) in the workspace directory; returns its exit "
                   "code and output.",
                   Schema({{"command", "the shell command"}}, {"command"}, true)});
  return specs;
}

ToolOutcome RunWorkspaceTool(const ToolContext& ctx, std::string_view name, const Json& args) {
  if (!args.is_object()) return Error(std::string(name) + ": the arguments must be an object");
  if (name == "list_dir") return ListDir(ctx, args);
  if (name == "read_file") return ReadFile(ctx, args);
  if (name == "write_file" || name == "run_command") {
    if (ctx.read_only) {
      return Error(std::string(name) + " is not available in the plan phase (read-only)");
    }
    return name == "write_file" ? WriteFile(ctx, args) : RunCommand(ctx, args);
  }
  return Error("unknown tool \"" + std::string(name) +
               "\" (tools: list_dir, read_file, write_file, run_command)");
}

}  // namespace model_agent
