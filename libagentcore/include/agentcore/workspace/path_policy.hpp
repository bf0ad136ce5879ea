// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The rules for paths inside a project's workspace (docs/runs.md "Workspaces"). A workspace is
/// a host directory that agents write and clients read and download; a path a client or an
/// agent names is relative to it and must stay inside it, however it is spelled (`..`,
/// symlinks) and whatever is already on disk. `ResolveInWorkspace` turns such a path into the
/// absolute path to open, or refuses it. `IsSecretPath` names the files no download and no
/// commit may contain.
///
/// Both are functions of their arguments and the file system only: safe to call from any
/// thread. The check and the later open are two steps, so a process that can change the
/// workspace between them (swap a directory for a symlink) can still race it; the check keeps
/// out every path that is wrong when it is made.

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <string>
#include <string_view>

namespace agentcore {

/// The absolute path of `relative` inside the workspace `root`.
///
/// `root` must exist; it is canonicalised (symlinks resolved) and the result starts with the
/// canonical root. `relative` is normalised by hand: empty and `.` components are dropped and
/// `..` removes the component before it, so `a/../b` is `b`. Every component of the result that
/// exists is examined; a symlink among them must resolve (fully, through any further symlinks)
/// to the root or a path under it. A path that does not exist yet (a file about to be written)
/// is thus checked through its deepest existing parent. The returned path holds no `.`, `..` or
/// repeated `/`; its existing symlinks point inside the root.
///
/// With `for_write`, the root itself (`""` after normalising, e.g. `a/..`) and `.git` or any
/// path under it (also when reached through a symlink) are refused: agents write files, never
/// the repository's metadata.
///
/// Errors:
/// * kInvalidArgument: `relative` is empty, absolute (starts with `/`) or holds a NUL byte;
/// * kPermissionDenied: a `..` that leaves the root; an existing symlink that resolves outside
///   the root, or does not resolve at all (dangling, a loop); with `for_write`, the root itself
///   or `.git`;
/// * kNotFound: `root` does not exist or is not a directory;
/// * kInternal: any other file system error while examining the path (e.g. no permission to
///   read a directory), with the system's message.
AGENTCORE_EXPORT Result<std::string> ResolveInWorkspace(std::string_view root,
                                                        std::string_view relative, bool for_write);

/// Whether the workspace-relative path `relative` names a secret: a file that a download
/// (workspace/zip.hpp) and a commit (workspace/git.hpp) must never contain. The path is secret
/// when ANY of its `/`-separated components matches one of these names, compared
/// ASCII-case-insensitively (so a directory named `.git` or `.env.d` takes everything under
/// it along):
///
/// | pattern | what it is |
/// |---|---|
/// | `.git` | the repository's metadata (hooks, config with remotes' credentials) |
/// | `.env`, `.env.*` | dotenv files (`.env.local`, `.env.production`) |
/// | `*.pem`, `*.key`, `*.p12` | private keys and certificate bundles |
/// | `id_rsa*`, `id_ed25519*` | SSH keys (and their `.pub`, harmless but not needed) |
/// | `.npmrc`, `.netrc` | registry and host credentials |
/// | `credentials.json` | cloud SDK credentials |
///
/// `relative` is taken as written (a leading `./` is ignored, like empty and `.` components);
/// it is not resolved on disk.
AGENTCORE_EXPORT bool IsSecretPath(std::string_view relative);

}  // namespace agentcore
