// SPDX-License-Identifier: Apache-2.0
#include "runtime/sandbox/bwrap_args.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

namespace agentcore::internal {
namespace {

constexpr std::size_t kMaxShown = 100;  // of a bad name in an error message

bool HasNul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

}  // namespace

Status ValidateSandboxSpec(const SessionSpec& spec) {
  if (spec.command.empty()) {
    return InvalidArgument("the sandbox runtime needs a command (a session without an image)");
  }
  if (!spec.image.empty()) {
    return InvalidArgument("the sandbox runtime cannot run an image (use the container runtime)");
  }
  if (spec.session_id.empty() || HasNul(spec.session_id) || HasNul(spec.instance)) {
    return InvalidArgument("a sandbox session needs a session id");
  }
  for (const std::string& arg : spec.command) {
    if (HasNul(arg)) return InvalidArgument("command arguments must not contain NUL bytes");
  }
  struct stat st {};
  if (spec.workspace_dir.empty() || spec.workspace_dir[0] != '/' || HasNul(spec.workspace_dir) ||
      ::stat(spec.workspace_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return InvalidArgument(fmt::format("workspace \"{}\" is not an existing absolute directory",
                                       spec.workspace_dir.substr(0, kMaxShown)));
  }
  if (!spec.work_dir.empty() && (spec.work_dir[0] != '/' || HasNul(spec.work_dir))) {
    return InvalidArgument(
        fmt::format("workDir \"{}\" must be an absolute path", spec.work_dir.substr(0, kMaxShown)));
  }
  for (const auto& [name, value] : spec.env) {
    if (name.empty() || name.find('=') != std::string::npos || HasNul(name) || HasNul(value)) {
      return InvalidArgument(
          fmt::format("invalid environment variable \"{}\"", name.substr(0, kMaxShown)));
    }
  }
  if (spec.resources.memory_mb < 0 || spec.resources.cpu_millis < 0 ||
      spec.resources.timeout_ms < 0) {
    return InvalidArgument("resources must not be negative");
  }
  // RLIMIT_AS in bytes must fit; 2^43 MB is far beyond any machine.
  if (spec.resources.memory_mb > (std::int64_t{1} << 43)) {
    return InvalidArgument("resources.memoryMB is too large");
  }
  return Status::Ok();
}

std::vector<std::string> BwrapArgs(std::string_view bwrap, const SessionSpec& spec,
                                   const std::vector<std::string>& read_only_paths, int status_fd) {
  std::vector<std::string> args = {std::string(bwrap), "--unshare-all"};
  if (spec.network != SessionNetwork::kNone) args.emplace_back("--share-net");
  for (const char* flag : {"--die-with-parent", "--new-session", "--cap-drop", "ALL"}) {
    args.emplace_back(flag);
  }
  for (const std::string& path : read_only_paths) {
    struct stat st {};
    if (path.empty() || path[0] != '/' || ::stat(path.c_str(), &st) != 0) continue;
    args.insert(args.end(), {"--ro-bind", path, path});
  }
  args.insert(args.end(), {"--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"});
  args.insert(args.end(), {"--bind", spec.workspace_dir, "/workspace"});
  args.insert(args.end(), {"--chdir", spec.work_dir.empty() ? "/workspace" : spec.work_dir});
  args.emplace_back("--clearenv");
  bool has_path = false, has_home = false;
  for (const auto& [name, value] : spec.env) {
    has_path = has_path || name == "PATH";
    has_home = has_home || name == "HOME";
  }
  if (!has_path) args.insert(args.end(), {"--setenv", "PATH", std::string(kSandboxDefaultPath)});
  if (!has_home) args.insert(args.end(), {"--setenv", "HOME", "/workspace"});
  for (const auto& [name, value] : spec.env) args.insert(args.end(), {"--setenv", name, value});
  args.insert(args.end(), {"--json-status-fd", std::to_string(status_fd), "--"});
  args.insert(args.end(), spec.command.begin(), spec.command.end());
  return args;
}

}  // namespace agentcore::internal
