// SPDX-License-Identifier: Apache-2.0
#pragma once

// One hub per SQLite file (docs/cluster.md "One server on SQLite"): an exclusive flock on
// "<file>.hub.lock", held for the hub's life. The kernel drops it when the process dies, so a
// crash never leaves a stale lock; store-only programs (the CLI) do not take it.

#include <memory>
#include <string>

#include <agentcore/result.hpp>

namespace agentcore::hub_internal {

class HubFileLock {
 public:
  /// Locks "<database_file>.hub.lock" (created when missing; the database file's symlinks are
  /// resolved first, so two names of one database share one lock). The descriptor is
  /// close-on-exec: agents the hub starts never hold it. kUnavailable: another hub (this
  /// process or another) holds it, with the message operators see; or the lock file cannot
  /// be opened or locked.
  static Result<std::unique_ptr<HubFileLock>> Take(const std::string& database_file);
  ~HubFileLock();  // unlocks
  HubFileLock(const HubFileLock&) = delete;
  HubFileLock& operator=(const HubFileLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  HubFileLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace agentcore::hub_internal
