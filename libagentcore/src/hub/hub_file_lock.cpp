// SPDX-License-Identifier: Apache-2.0
#include "hub/hub_file_lock.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

namespace agentcore::hub_internal {

namespace {

/// The database's real name: "db" and a symlink to it lock the same "<real>.hub.lock".
/// weakly_canonical, because at the first start the file does not exist yet.
std::string LockPathOf(const std::string& database_file) {
  std::error_code ec;
  std::filesystem::path real = std::filesystem::weakly_canonical(database_file, ec);
  if (ec || real.empty()) real = database_file;
  return real.string() + ".hub.lock";
}

}  // namespace

Result<std::unique_ptr<HubFileLock>> HubFileLock::Take(const std::string& database_file) {
  std::string path = LockPathOf(database_file);
  int fd = -1;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot open the hub lock \"{}\": {}", path, std::strerror(errno)));
  }
  // flock, not fcntl: its lock belongs to this open file description, so a second hub in the
  // same process is refused too, and closing another descriptor of the file keeps it.
  int rc = -1;
  do {
    rc = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) {
      return Status(ErrorCode::kUnavailable,
                    fmt::format("another agentcore server uses {}: SQLite serves one server; use "
                                "PostgreSQL (--database-url postgres://…) for several",
                                database_file));
    }
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot lock \"{}\": {}", path, std::strerror(error)));
  }
  return std::unique_ptr<HubFileLock>(new HubFileLock(fd, std::move(path)));
}

HubFileLock::~HubFileLock() { ::close(fd_); }  // closing the last descriptor unlocks

}  // namespace agentcore::hub_internal
