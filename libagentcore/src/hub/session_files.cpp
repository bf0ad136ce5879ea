// SPDX-License-Identifier: Apache-2.0
// A session's workspace files (docs/sessions.md "Routes": list, download, upload). Every path
// goes through ResolveInWorkspace (workspace/path_policy.hpp): no `..` out of the workspace, no
// symlink pointing out. Secret-looking names are allowed: it is the user's own workspace.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include <agentcore/workspace/path_policy.hpp>

#include "sessions_internal.hpp"

namespace agentcore::hub_internal {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t kChunk = 64 * 1024;

/// ResolveInWorkspace with the service's errors: an escape is kInvalidArgument.
Result<std::string> Resolve(const std::string& root, std::string_view relative) {
  Result<std::string> path = ResolveInWorkspace(root, relative, /*for_write=*/false);
  if (path) return path;
  if (path.status().code() == ErrorCode::kPermissionDenied) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("path \"{}\" leaves the workspace", relative.substr(0, 256)));
  }
  if (path.status().code() == ErrorCode::kNotFound) {
    return Status(ErrorCode::kNotFound, "the session's workspace is gone");
  }
  return path.status();
}

/// The root for "" (and "/", "."), else the resolved path.
Result<std::string> ResolveDir(const std::string& root, std::string_view relative) {
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  if (relative.empty() || relative == ".") {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) {
      return Status(ErrorCode::kNotFound, "the session's workspace is gone");
    }
    return std::string(fs::canonical(root, ec).string());
  }
  return Resolve(root, relative);
}

UnixMillis ModifiedMillis(const fs::file_time_type& t) {
  const auto since = std::chrono::file_clock::to_sys(t).time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(since).count();
}

}  // namespace

Result<std::vector<SessionFileEntry>> SessionServiceImpl::ListFiles(const Principal& caller,
                                                                    std::string_view id,
                                                                    std::string_view dir) {
  AGENTCORE_ASSIGN_OR_RETURN(Session s, Find(caller, id));
  const std::string root = WorkspaceDir(s.id);
  AGENTCORE_ASSIGN_OR_RETURN(std::string path, ResolveDir(root, dir));
  std::error_code ec;
  const fs::path canonical_root = fs::canonical(root, ec);
  if (ec) return Status(ErrorCode::kNotFound, "the session's workspace is gone");
  if (!fs::exists(path, ec)) {
    return Status(ErrorCode::kNotFound, fmt::format("\"{}\" not found", dir.substr(0, 256)));
  }
  if (!fs::is_directory(path, ec)) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("\"{}\" is not a directory", dir.substr(0, 256)));
  }
  std::vector<SessionFileEntry> out;
  fs::directory_iterator it(path, ec);
  if (ec) return Status(ErrorCode::kInternal, "cannot list the directory: " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status(ErrorCode::kInternal, "cannot list the directory: " + ec.message());
    if (out.size() >= options_.max_listed_files) {
      return Status(ErrorCode::kTooLarge,
                    fmt::format("the directory has more than {} entries",
                                options_.max_listed_files));
    }
    const fs::directory_entry& e = *it;
    SessionFileEntry entry;
    entry.path = e.path().lexically_relative(canonical_root).generic_string();
    // Not following symlinks: a link is listed as what it is, never as its target.
    const fs::file_status st = e.symlink_status(ec);
    entry.directory = fs::is_directory(st);
    if (fs::is_regular_file(st)) entry.size = e.file_size(ec);
    const fs::file_time_type t = fs::last_write_time(e.path(), ec);
    if (!ec) entry.modified_at = ModifiedMillis(t);
    ec.clear();
    out.push_back(std::move(entry));
  }
  std::sort(out.begin(), out.end(),
            [](const SessionFileEntry& a, const SessionFileEntry& b) { return a.path < b.path; });
  return out;
}

Status SessionServiceImpl::ReadFile(const Principal& caller, std::string_view id,
                                    std::string_view path,
                                    const std::function<Status(std::string_view)>& sink) {
  AGENTCORE_ASSIGN_OR_RETURN(Session s, Find(caller, id));
  AGENTCORE_ASSIGN_OR_RETURN(std::string file, Resolve(WorkspaceDir(s.id), path));
  std::error_code ec;
  const fs::file_status st = fs::status(file, ec);
  if (ec || !fs::exists(st)) {
    return Status(ErrorCode::kNotFound, fmt::format("file \"{}\" not found", path.substr(0, 256)));
  }
  if (!fs::is_regular_file(st)) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("\"{}\" is not a file", path.substr(0, 256)));
  }
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec) return Status(ErrorCode::kInternal, "cannot read the file: " + ec.message());
  if (size > options_.max_file_bytes) {
    return Status(ErrorCode::kTooLarge, fmt::format("file is larger than {} bytes",
                                                    options_.max_file_bytes));
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(file.c_str(), "rb"), &std::fclose);
  if (f == nullptr) return Status(ErrorCode::kInternal, "cannot open the file");
  std::string buf(kChunk, '\0');
  std::size_t sent = 0;
  for (;;) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n > 0) {
      sent += n;
      // The file grew after the size check: the limit still holds.
      if (sent > options_.max_file_bytes) {
        return Status(ErrorCode::kTooLarge, fmt::format("file is larger than {} bytes",
                                                        options_.max_file_bytes));
      }
      AGENTCORE_RETURN_IF_ERROR(sink(std::string_view(buf.data(), n)));
    }
    if (n < buf.size()) {
      if (std::ferror(f.get()) != 0) return Status(ErrorCode::kInternal, "cannot read the file");
      return Status();
    }
  }
}

Status SessionServiceImpl::WriteFile(const Principal& caller, std::string_view id,
                                     std::string_view path, std::string_view bytes) {
  AGENTCORE_ASSIGN_OR_RETURN(Session s, Find(caller, id));
  if (bytes.size() > options_.max_file_bytes) {
    return Status(ErrorCode::kTooLarge, fmt::format("file is larger than {} bytes",
                                                    options_.max_file_bytes));
  }
  const std::string root = WorkspaceDir(s.id);
  AGENTCORE_ASSIGN_OR_RETURN(std::string file, Resolve(root, path));
  std::error_code ec;
  const fs::path canonical_root = fs::canonical(root, ec);
  if (ec) return Status(ErrorCode::kNotFound, "the session's workspace is gone");
  if (fs::path(file) == canonical_root) {
    return Status(ErrorCode::kInvalidArgument, "the path names the workspace itself");
  }
  if (fs::is_directory(file, ec)) {
    return Status(ErrorCode::kInvalidArgument,
                  fmt::format("\"{}\" is a directory", path.substr(0, 256)));
  }
  fs::create_directories(fs::path(file).parent_path(), ec);
  if (ec) {
    return Status(ErrorCode::kInvalidArgument,
                  "cannot create the file's directory: " + ec.message());
  }
  // Written beside it, then renamed: a reader never sees half a file.
  const std::string tmp = file + ".agentcore-upload";
  {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(tmp.c_str(), "wb"),
                                                      &std::fclose);
    if (f == nullptr) return Status(ErrorCode::kInternal, "cannot create the file");
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
      f.reset();
      fs::remove(tmp, ec);
      return Status(ErrorCode::kInternal, "cannot write the file");
    }
    if (std::fclose(f.release()) != 0) {
      fs::remove(tmp, ec);
      return Status(ErrorCode::kInternal, "cannot write the file");
    }
  }
  fs::rename(tmp, file, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return Status(ErrorCode::kInternal, "cannot write the file: " + ec.message());
  }
  std::shared_ptr<LiveSession> live = LiveFor(s);
  std::lock_guard lock(live->mu);
  live->last_activity = Now();
  return Status();
}

}  // namespace agentcore::hub_internal
