// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Committing a workspace to git after a run succeeds (docs/runs.md "Workspaces"). The
/// workspace is a git repository that the server owns: `CommitWorkspace` creates it on first
/// use, stages everything except secrets (workspace/path_policy.hpp's IsSecretPath), and
/// commits under a fixed identity, so that each successful run is one commit a user can
/// inspect, diff or revert.
///
/// It runs the real `git` binary: posix_spawn with an argument vector (never a shell) and an
/// environment built from scratch, so neither the host's git configuration nor the server's
/// environment (`GIT_DIR`, `HOME`...) changes what happens. Hooks, fsmonitor and commit signing
/// are switched off for these commands: a hook in the workspace was written by an agent, and
/// the server must not run it on the host.

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <chrono>
#include <optional>
#include <string>

namespace agentcore {

/// How to commit. Plain data; copy freely.
struct GitCommitOptions {
  /// The commit message; must not be empty.
  std::string message = "agentcore: workspace snapshot";
  /// The identity the commit records, as GIT_AUTHOR_* and GIT_COMMITTER_*. None may hold a
  /// newline, `<`, `>` or NUL.
  std::string author_name = "agentcore";
  std::string author_email = "agentcore@localhost";
  std::string committer_name = "agentcore";
  std::string committer_email = "agentcore@localhost";
  /// Limit on the whole call (every git command it runs); when it expires, the running git
  /// and everything it started are killed.
  std::chrono::milliseconds timeout{30'000};
  /// The git program: a path, or a name looked up in the server's PATH.
  std::string git_binary = "git";
};

/// Commits the current contents of the directory `root`, which becomes a git repository
/// (`git init`, branch `main`) if `root/.git` does not exist yet.
///
/// Before staging, the secret patterns (IsSecretPath's list) are written to
/// `.git/info/exclude` (in a marked block; lines already there are kept), and after `git add
/// -A` any staged path that IsSecretPath names (one tracked before, or added by hand) is
/// removed from the index again, so no commit made here carries a secret. The files
/// themselves stay in the workspace.
///
/// Returns the new commit's full hash (hex), or std::nullopt when the index matches HEAD
/// (nothing changed, or an empty workspace's first call): no empty commits are made.
///
/// Errors:
/// * kInvalidArgument: an empty message, or an identity field with a newline, `<`, `>` or NUL;
/// * kNotFound: `root` does not exist or is not a directory;
/// * kDeadlineExceeded: `timeout` expired (git was killed; the repository may hold a stale
///   `index.lock`, which the next call reports as a git error);
/// * kInternal: git could not be started, or a git command failed; the message carries the
///   command and the start of git's stderr (at most 2 KiB).
///
/// Blocks for as long as git runs (up to `timeout`): call it off any I/O thread. Thread-safe,
/// but two concurrent calls on the same `root` make git fail on its index lock; callers
/// serialise commits of one workspace (the run service runs one run per project at a time).
AGENTCORE_EXPORT Result<std::optional<std::string>> CommitWorkspace(
    const std::string& root, const GitCommitOptions& options);

}  // namespace agentcore
