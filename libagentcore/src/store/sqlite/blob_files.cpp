// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/blob_files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agentcore::internal::sqlite {

namespace {

Status FileError(std::string_view what, const std::string& path, int err) {
  return Status(ErrorCode::kUnavailable,
                fmt::format("cannot {} blob file \"{}\": {}", what, path, std::strerror(err)));
}

// Closes on scope exit, so every error path below releases the descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

Status WriteBlobFile(const std::string& dir, const std::string& name, std::string_view data) {
  const std::string path = dir + "/" + name;
  const std::string tmp = path + ".tmp";
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) return FileError("create", tmp, errno);
    std::size_t off = 0;
    while (off < data.size()) {
      const ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return FileError("write", tmp, err);
      }
      off += static_cast<std::size_t>(n);
    }
    // The data must be on disk before the rename makes the name visible, or a crash could
    // leave a committed row pointing at an empty file.
    if (::fsync(fd.get()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return FileError("sync", tmp, err);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return FileError("rename", tmp, err);
  }
  // And the rename itself must be durable before the commit that references the name.
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) return FileError("sync directory of", path, errno);
  return Status::Ok();
}

Result<std::string> ReadBlobFile(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFound(fmt::format("blob file \"{}\" not found", path));
    return FileError("open", path, errno);
  }
  std::string out;
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FileError("read", path, errno);
    if (n == 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

void RemoveBlobFile(const std::string& dir, const std::string& name) {
  ::unlink((dir + "/" + name).c_str());
}

}  // namespace agentcore::internal::sqlite
