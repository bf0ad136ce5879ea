// SPDX-License-Identifier: Apache-2.0
#include <fmt/format.h>
#include <sys/stat.h>

#include <agentcore/workspace/path_policy.hpp>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agentcore {
namespace {

// realpath(3) into a std::string; nullopt with errno set on failure. The buffer is malloc'ed
// by realpath itself (PATH_MAX-free form).
std::optional<std::string> RealPath(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> buf(::realpath(path.c_str(), nullptr), &std::free);
  if (buf == nullptr) return std::nullopt;
  return std::string(buf.get());
}

// Splits `relative` on '/', dropping empty and "." components.
std::vector<std::string_view> Components(std::string_view relative) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i <= relative.size()) {
    std::size_t j = relative.find('/', i);
    if (j == std::string_view::npos) j = relative.size();
    std::string_view part = relative.substr(i, j - i);
    if (!part.empty() && part != ".") out.push_back(part);
    i = j + 1;
  }
  return out;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && EqualsNoCase(s.substr(0, prefix.size()), prefix);
}

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsNoCase(s.substr(s.size() - suffix.size()), suffix);
}

bool IsSecretComponent(std::string_view c) {
  return EqualsNoCase(c, ".git") || EqualsNoCase(c, ".env") || StartsWithNoCase(c, ".env.") ||
         EndsWithNoCase(c, ".pem") || EndsWithNoCase(c, ".key") || EndsWithNoCase(c, ".p12") ||
         StartsWithNoCase(c, "id_rsa") || StartsWithNoCase(c, "id_ed25519") ||
         EqualsNoCase(c, ".npmrc") || EqualsNoCase(c, ".netrc") ||
         EqualsNoCase(c, "credentials.json");
}

// `path` relative to `root` when it is the root or under it ("" for the root itself).
std::optional<std::string_view> InsideRoot(std::string_view root, std::string_view path) {
  if (path == root) return std::string_view();
  // The canonical root "/" is a prefix of every absolute path.
  if (root == "/") return path.substr(1);
  if (path.size() > root.size() && path.substr(0, root.size()) == root &&
      path[root.size()] == '/') {
    return path.substr(root.size() + 1);
  }
  return std::nullopt;
}

bool IsGitMetadata(std::string_view rel) {
  const std::vector<std::string_view> parts = Components(rel);
  return !parts.empty() && EqualsNoCase(parts.front(), ".git");
}

Status Denied(std::string msg) { return Status(ErrorCode::kPermissionDenied, std::move(msg)); }

}  // namespace

Result<std::string> ResolveInWorkspace(std::string_view root, std::string_view relative,
                                       bool for_write) {
  if (relative.empty()) return InvalidArgument("workspace path is empty");
  if (relative.find('\0') != std::string_view::npos) {
    return InvalidArgument("workspace path holds a NUL byte");
  }
  if (relative.front() == '/') {
    return InvalidArgument(fmt::format("workspace path \"{}\" is absolute", relative));
  }
  if (root.empty() || root.find('\0') != std::string_view::npos) {
    return NotFound("workspace root is empty or holds a NUL byte");
  }

  const std::optional<std::string> canonical_root = RealPath(std::string(root));
  if (!canonical_root) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return NotFound(fmt::format("workspace root \"{}\" does not exist", root));
    }
    return Internal(fmt::format("workspace root \"{}\": {}", root, std::strerror(err)));
  }
  struct stat root_st {};
  if (::stat(canonical_root->c_str(), &root_st) != 0 || !S_ISDIR(root_st.st_mode)) {
    return NotFound(fmt::format("workspace root \"{}\" is not a directory", root));
  }

  // Lexical normalisation: ".." pops the previous component and may never pop past the root.
  std::vector<std::string_view> parts;
  for (std::string_view c : Components(relative)) {
    if (c == "..") {
      if (parts.empty()) {
        return Denied(fmt::format("workspace path \"{}\" leaves the workspace", relative));
      }
      parts.pop_back();
    } else {
      parts.push_back(c);
    }
  }

  if (for_write) {
    if (parts.empty()) {
      return Denied(fmt::format("workspace path \"{}\" is the workspace root", relative));
    }
    if (EqualsNoCase(parts.front(), ".git")) {
      return Denied(fmt::format("workspace path \"{}\" is inside .git", relative));
    }
  }

  // Walk the existing prefix. Every component that is a symlink is resolved in full (realpath
  // follows any chain) and must land inside the root; the first component that does not exist
  // ends the walk, since nothing below it exists either.
  std::string path = *canonical_root;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (path != "/") path += '/';
    path.append(parts[i]);
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      const int err = errno;
      // ENOTDIR: a parent is a regular file; the path cannot exist, and nothing that exists
      // was reached through a symlink that escapes.
      if (err == ENOENT || err == ENOTDIR) break;
      if (err == ELOOP) {
        return Denied(fmt::format("workspace path \"{}\" goes through a symlink loop", relative));
      }
      return Internal(fmt::format("workspace path \"{}\": {}", relative, std::strerror(err)));
    }
    if (!S_ISLNK(st.st_mode)) continue;
    const std::optional<std::string> target = RealPath(path);
    if (!target) {
      return Denied(
          fmt::format("workspace path \"{}\" goes through a symlink that does not "
                      "resolve ({})",
                      relative, std::strerror(errno)));
    }
    const std::optional<std::string_view> inside = InsideRoot(*canonical_root, *target);
    if (!inside) {
      return Denied(fmt::format("workspace path \"{}\" goes through a symlink out of the workspace",
                                relative));
    }
    // Where the path really lands: the symlink's target plus the components after it.
    std::string effective(*inside);
    for (std::size_t j = i + 1; j < parts.size(); ++j) {
      if (!effective.empty()) effective += '/';
      effective.append(parts[j]);
    }
    if (for_write && (effective.empty() || IsGitMetadata(effective))) {
      return Denied(fmt::format(
          "workspace path \"{}\" goes through a symlink to the workspace root or .git", relative));
    }
  }

  std::string out = *canonical_root;
  for (std::string_view c : parts) {
    if (out != "/") out += '/';
    out.append(c);
  }
  return out;
}

bool IsSecretPath(std::string_view relative) {
  for (std::string_view c : Components(relative)) {
    if (IsSecretComponent(c)) return true;
  }
  return false;
}

}  // namespace agentcore
