// SPDX-License-Identifier: Apache-2.0
#include "model-agent/workspace_tools.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>

#include <agentcore/workspace/path_policy.hpp>

extern char** environ;

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

/// Holds back a UTF-8 sequence cut at the end of a read, so that each piece streamed is
/// whole (bytes that are not UTF-8 at all pass; the frame writer replaces them).
class Utf8Pieces {
 public:
  std::string Take(std::string_view bytes, bool last) {
    pending_.append(bytes);
    if (last) return std::exchange(pending_, std::string());
    std::size_t keep = 0;
    for (std::size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
      const auto c = static_cast<unsigned char>(pending_[pending_.size() - back]);
      if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
      const std::size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                                                         : (c & 0xF8) == 0xF0 ? 4 : 1;
      if (need > back) keep = back;
      break;
    }
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
  }

 private:
  std::string pending_;
};

bool SecretVariable(std::string_view entry) {
  const std::string_view name = entry.substr(0, entry.find('='));
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
  };
  return name == "CAST_AUTH_TOKEN" || ends("_API_KEY") || ends("_TOKEN") || ends("_SECRET");
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
  // Everything the child needs is made before fork: after it, only async-signal-safe calls.
  std::vector<char*> envp;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!SecretVariable(*e)) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c";
  char* argv[] = {sh.data(), dash_c.data(), command.data(), nullptr};
  const std::string cwd = ctx.workspace;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Error(std::string("pipe: ") + std::strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Error(std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // the agent's death takes the command along
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);  // the agent blocks SIGTERM/SIGINT in threads
    signal(SIGPIPE, SIG_DFL);
    const int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    if (chdir(cwd.c_str()) != 0) _exit(127);
    execve("/bin/sh", argv, envp.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    return Error(std::string("fork: ") + std::strerror(errno));
  }
  setpgid(pid, pid);

  struct Stream {
    int fd;
    const char* name;
    Utf8Pieces pieces;
  };
  Stream streams[2] = {{out_pipe[0], "stdout", {}}, {err_pipe[0], "stderr", {}}};
  std::string tail;
  std::size_t streamed = 0;
  bool truncated = false;
  auto emit = [&](Stream& s, std::string_view bytes, bool last) {
    std::string text = s.pieces.Take(bytes, last);
    if (text.empty()) return;
    tail += text;
    if (tail.size() > 2 * ctx.limits.result_tail_bytes) {
      tail.erase(0, tail.size() - ctx.limits.result_tail_bytes);
    }
    if (!ctx.output) return;
    if (streamed >= ctx.limits.max_streamed_bytes) {
      if (!truncated) ctx.output(s.name, "[output truncated]\n");
      truncated = true;
      return;
    }
    streamed += text.size();
    ctx.output(s.name, text);
  };

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  bool exited = false, timed_out = false, stopped = false;
  int status = 0;
  Clock::time_point exited_at;
  for (;;) {
    pollfd fds[2];
    Stream* polled[2];
    nfds_t n = 0;
    for (Stream& s : streams) {
      if (s.fd < 0) continue;
      fds[n] = {s.fd, POLLIN, 0};
      polled[n++] = &s;
    }
    if (n == 0) break;
    if (Clock::now() >= deadline) {
      timed_out = true;
      break;
    }
    if (ctx.stopping && ctx.stopping()) {
      stopped = true;
      break;
    }
    // A command that left a background child holding its pipes is over 500 ms after it.
    if (exited && Clock::now() - exited_at > std::chrono::milliseconds(500)) break;
    const int ready = poll(fds, n, 100);
    if (ready < 0 && errno != EINTR) break;
    for (nfds_t k = 0; ready > 0 && k < n; ++k) {
      if ((fds[k].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      char buf[4096];
      const ssize_t got = read(fds[k].fd, buf, sizeof buf);
      if (got > 0) {
        emit(*polled[k], std::string_view(buf, static_cast<std::size_t>(got)), false);
      } else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
        emit(*polled[k], {}, true);
        close(polled[k]->fd);
        polled[k]->fd = -1;
      }
    }
    if (!exited && waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      exited_at = Clock::now();
    }
  }
  kill(-pid, SIGKILL);  // whatever is left of the command's process group
  if (!exited) {
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  for (Stream& s : streams) {
    if (s.fd >= 0) {
      emit(s, {}, true);
      close(s.fd);
    }
  }
  if (tail.size() > ctx.limits.result_tail_bytes) {
    tail.erase(0, tail.size() - ctx.limits.result_tail_bytes);
  }
  std::string head;
  bool failed = true;
  if (timed_out) {
    head = "timed out after " + std::to_string(timeout.count()) + " ms; killed";
  } else if (stopped) {
    head = "stopped: the phase is ending";
  } else if (WIFEXITED(status)) {
    head = "exit code " + std::to_string(WEXITSTATUS(status));
    failed = WEXITSTATUS(status) != 0;
  } else if (WIFSIGNALED(status)) {
    head = "killed by signal " + std::to_string(WTERMSIG(status));
  }
  return ToolOutcome{head + "\n" + tail, failed};
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
