// SPDX-License-Identifier: Apache-2.0
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <agentcore/workspace/zip.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace agentcore {
namespace {

// Output is gathered into chunks of this size before it goes to the sink; file data is read
// in blocks of the same size.
constexpr std::size_t kChunkBytes = 64 * 1024;

constexpr std::uint16_t kFlagDataDescriptor = 0x0008;  // APPNOTE 4.4.4 bit 3
constexpr std::uint16_t kFlagUtf8 = 0x0800;            // APPNOTE 4.4.4 bit 11
constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kMethodDeflate = 8;
constexpr std::uint16_t kVersionNeeded = 20;             // 2.0: deflate, directories
constexpr std::uint16_t kVersionMadeBy = (3 << 8) | 20;  // host 3 = Unix, so mode bits count
constexpr std::uint16_t kExtTimestampId = 0x5455;        // "UT": Unix mtime, 1-second precision
constexpr std::uint16_t kExtTimestampLen = 9;            // id(2) + size(2) + flags(1) + mtime(4)

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

struct Entry {
  std::string name;  // the zip name: root-relative, directories end with '/'
  bool dir = false;
  std::uint64_t size = 0;  // at walk time
  std::int64_t mtime = 0;
  std::uint32_t mode = 0;  // permission bits
};

// Opens `rel` (a '/'-separated path with no empty, "." or ".." components) below the directory
// `root_fd`, refusing a symlink at every component: what the walk saw as a directory cannot
// have been swapped for a link out of the tree by the time a file is read. The last component
// is opened O_NONBLOCK so that a FIFO swapped in does not block the open; callers check the
// type with fstat. Returns -1 with errno set on failure.
int OpenBeneath(int root_fd, std::string_view rel, bool directory) {
  constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  if (rel.empty()) return ::openat(root_fd, ".", kDirFlags);
  Fd cur(::openat(root_fd, ".", kDirFlags));
  if (cur.fd < 0) return -1;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = rel.find('/', start);
    const std::string part(
        rel.substr(start, slash == std::string_view::npos ? rel.npos : slash - start));
    if (slash == std::string_view::npos) {
      const int flags = directory ? kDirFlags : (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      return ::openat(cur.fd, part.c_str(), flags);
    }
    Fd next(::openat(cur.fd, part.c_str(), kDirFlags));
    if (next.fd < 0) return -1;
    std::swap(cur.fd, next.fd);
    start = slash + 1;
  }
}

bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

struct DosTime {
  std::uint16_t time = 0;
  std::uint16_t date = 0;
};

// MS-DOS date and time of a Unix time, in UTC so that the archive does not depend on the
// host's zone; clamped to the format's range 1980..2107.
DosTime ToDosTime(std::int64_t unix_seconds) {
  std::tm tm{};
  const auto t = static_cast<std::time_t>(unix_seconds);
  if (::gmtime_r(&t, &tm) == nullptr || tm.tm_year < 80) {
    return DosTime{0, static_cast<std::uint16_t>((1 << 5) | 1)};  // 1980-01-01 00:00:00
  }
  if (tm.tm_year > 207) {
    return DosTime{static_cast<std::uint16_t>((23 << 11) | (59 << 5) | 29),
                   static_cast<std::uint16_t>((127 << 9) | (12 << 5) | 31)};
  }
  DosTime d;
  d.time = static_cast<std::uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  d.date =
      static_cast<std::uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  return d;
}

std::uint32_t ClampToInt32(std::int64_t v) {
  v = std::clamp<std::int64_t>(v, 0, std::numeric_limits<std::int32_t>::max());
  return static_cast<std::uint32_t>(v);
}

// The byte stream to the sink, gathered into chunks. After the sink refuses, every call is a
// no-op and ok() stays false.
class Output {
 public:
  explicit Output(const std::function<bool(std::string_view)>& sink) : sink_(sink) {
    buf_.reserve(kChunkBytes + 1024);
  }

  std::uint64_t offset() const { return sent_ + buf_.size(); }
  bool ok() const { return ok_; }

  void Bytes(std::string_view b) {
    buf_.append(b);
    if (buf_.size() >= kChunkBytes) Flush();
  }
  void U16(std::uint16_t v) {
    const char b[2] = {static_cast<char>(v & 0xFF), static_cast<char>(v >> 8)};
    buf_.append(b, 2);
  }
  void U32(std::uint32_t v) {
    const char b[4] = {static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF),
                       static_cast<char>((v >> 16) & 0xFF), static_cast<char>(v >> 24)};
    buf_.append(b, 4);
  }

  void Flush() {
    if (!ok_ || buf_.empty()) return;
    if (!sink_(buf_)) ok_ = false;
    sent_ += buf_.size();
    buf_.clear();
  }

 private:
  const std::function<bool(std::string_view)>& sink_;
  std::string buf_;
  std::uint64_t sent_ = 0;
  bool ok_ = true;
};

struct Written {
  const Entry* entry = nullptr;
  std::uint16_t flags = 0;
  std::uint16_t method = 0;
  std::uint32_t crc = 0;
  std::uint32_t compressed = 0;
  std::uint32_t uncompressed = 0;
  std::uint32_t offset = 0;
};

class ZStream {
 public:
  ZStream() = default;
  ZStream(const ZStream&) = delete;
  ZStream& operator=(const ZStream&) = delete;
  ~ZStream() {
    if (init_) deflateEnd(&z_);
  }
  bool Init(int level) {
    // Raw deflate (negative window bits): zip stores no zlib header or trailer.
    init_ = deflateInit2(&z_, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    return init_;
  }
  z_stream* get() { return &z_; }

 private:
  z_stream z_{};
  bool init_ = false;
};

Status WalkTree(int root_fd, const std::string& root, const ZipOptions& options,
                std::uint32_t max_entries, std::vector<Entry>* entries, std::uint64_t* total_bytes,
                ZipStats* stats) {
  std::vector<std::string> pending{std::string()};
  while (!pending.empty()) {
    const std::string rel = std::move(pending.back());
    pending.pop_back();
    const int fd = OpenBeneath(root_fd, rel, /*directory=*/true);
    if (fd < 0) {
      const int err = errno;
      // Gone or replaced by something else since its parent was read: as if never there.
      if (err == ENOENT || err == ENOTDIR || err == ELOOP) continue;
      return Internal(
          fmt::format("cannot read directory \"{}\" in \"{}\": {}", rel, root, std::strerror(err)));
    }
    std::unique_ptr<DIR, decltype(&::closedir)> dir(::fdopendir(fd), &::closedir);
    if (dir == nullptr) {
      const int err = errno;
      ::close(fd);
      return Internal(
          fmt::format("cannot read directory \"{}\" in \"{}\": {}", rel, root, std::strerror(err)));
    }
    for (;;) {
      errno = 0;
      const dirent* ent = ::readdir(dir.get());
      if (ent == nullptr) {
        if (errno != 0) {
          return Internal(fmt::format("cannot read directory \"{}\" in \"{}\": {}", rel, root,
                                      std::strerror(errno)));
        }
        break;
      }
      const std::string_view name(ent->d_name);
      if (name == "." || name == "..") continue;
      std::string child = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
      if (options.exclude(child)) {
        ++stats->excluded;
        continue;
      }
      struct stat st {};
      if (::fstatat(::dirfd(dir.get()), ent->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return Internal(
            fmt::format("cannot stat \"{}\" in \"{}\": {}", child, root, std::strerror(errno)));
      }
      const bool is_dir = S_ISDIR(st.st_mode);
      // A name the zip format cannot hold (16-bit length) is skipped like a special file.
      if ((!is_dir && !S_ISREG(st.st_mode)) || child.size() + 1 > 0xFFFF) {
        ++stats->skipped;
        continue;
      }
      if (entries->size() >= max_entries) {
        return TooLarge(
            fmt::format("directory \"{}\" holds more than {} entries, over the limit "
                        "of {}",
                        root, max_entries, max_entries));
      }
      Entry e;
      e.dir = is_dir;
      e.mtime = st.st_mtim.tv_sec;
      e.mode = st.st_mode & 07777u;
      if (is_dir) {
        pending.push_back(child);
        e.name = std::move(child);
        e.name += '/';
      } else {
        e.size = static_cast<std::uint64_t>(st.st_size);
        *total_bytes += e.size;
        e.name = std::move(child);
      }
      entries->push_back(std::move(e));
    }
  }
  return Status();
}

void LocalHeader(Output& out, const Written& w) {
  const Entry& e = *w.entry;
  const DosTime dt = ToDosTime(e.mtime);
  out.U32(0x04034b50);
  out.U16(kVersionNeeded);
  out.U16(w.flags);
  out.U16(w.method);
  out.U16(dt.time);
  out.U16(dt.date);
  out.U32(0);  // CRC-32 and sizes: in the data descriptor (files) or zero (directories)
  out.U32(0);
  out.U32(0);
  out.U16(static_cast<std::uint16_t>(e.name.size()));
  out.U16(kExtTimestampLen);
  out.Bytes(e.name);
  out.U16(kExtTimestampId);
  out.U16(5);
  out.Bytes(std::string_view("\x01", 1));  // flags: mtime present
  out.U32(ClampToInt32(e.mtime));
}

void CentralHeader(Output& out, const Written& w) {
  const Entry& e = *w.entry;
  const DosTime dt = ToDosTime(e.mtime);
  out.U32(0x02014b50);
  out.U16(kVersionMadeBy);
  out.U16(kVersionNeeded);
  out.U16(w.flags);
  out.U16(w.method);
  out.U16(dt.time);
  out.U16(dt.date);
  out.U32(w.crc);
  out.U32(w.compressed);
  out.U32(w.uncompressed);
  out.U16(static_cast<std::uint16_t>(e.name.size()));
  out.U16(kExtTimestampLen);
  out.U16(0);  // comment length
  out.U16(0);  // disk number
  out.U16(0);  // internal attributes
  const std::uint32_t type = e.dir ? S_IFDIR : S_IFREG;
  out.U32(((type | e.mode) << 16) | (e.dir ? 0x10u : 0u));  // Unix mode; MS-DOS directory bit
  out.U32(w.offset);
  out.Bytes(e.name);
  out.U16(kExtTimestampId);
  out.U16(5);
  out.Bytes(std::string_view("\x01", 1));
  out.U32(ClampToInt32(e.mtime));
}

// Reads at most e.size bytes of the open file `fd` and writes them deflated, then the data
// descriptor with the CRC and sizes as read.
Status WriteFileData(Output& out, ZStream& zs, int fd, const Entry& e, Written* w,
                     std::vector<char>* in, std::vector<char>* zbuf) {
  z_stream* z = zs.get();
  if (deflateReset(z) != Z_OK) return Internal("zlib deflateReset failed");
  std::uint64_t remaining = e.size;
  std::uint64_t read_total = 0;
  std::uint64_t compressed = 0;
  uLong crc = crc32(0L, Z_NULL, 0);
  bool eof = false;
  for (;;) {
    std::size_t n = 0;
    if (!eof && remaining > 0) {
      const ssize_t r = ::read(fd, in->data(), std::min<std::uint64_t>(in->size(), remaining));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Internal(fmt::format("cannot read \"{}\": {}", e.name, std::strerror(errno)));
      }
      if (r == 0) eof = true;
      n = static_cast<std::size_t>(r);
      remaining -= n;
      read_total += n;
      crc = crc32(crc, reinterpret_cast<const Bytef*>(in->data()), static_cast<uInt>(n));
    }
    const bool last = eof || remaining == 0;
    z->next_in = reinterpret_cast<Bytef*>(in->data());
    z->avail_in = static_cast<uInt>(n);
    int ret = Z_OK;
    do {
      z->next_out = reinterpret_cast<Bytef*>(zbuf->data());
      z->avail_out = static_cast<uInt>(zbuf->size());
      ret = deflate(z, last ? Z_FINISH : Z_NO_FLUSH);
      if (ret == Z_STREAM_ERROR) return Internal("zlib deflate failed");
      const std::size_t produced = zbuf->size() - z->avail_out;
      out.Bytes(std::string_view(zbuf->data(), produced));
      compressed += produced;
      if (!out.ok()) return Status(ErrorCode::kUnavailable, "zip stream stopped by its consumer");
    } while (z->avail_out == 0 || (last && ret != Z_STREAM_END));
    if (last) break;
  }
  w->crc = static_cast<std::uint32_t>(crc);
  w->compressed = static_cast<std::uint32_t>(compressed);
  w->uncompressed = static_cast<std::uint32_t>(read_total);
  out.U32(0x08074b50);
  out.U32(w->crc);
  out.U32(w->compressed);
  out.U32(w->uncompressed);
  return Status();
}

}  // namespace

Result<ZipStats> ZipDirectory(const std::string& root, const ZipOptions& options,
                              const std::function<bool(std::string_view chunk)>& sink) {
  if (options.deflate_level < 0 || options.deflate_level > 9) {
    return InvalidArgument(
        fmt::format("zip deflate level {} is outside 0..9", options.deflate_level));
  }
  ZipOptions opts = options;
  if (!opts.exclude) opts.exclude = IsSecretPath;
  const std::uint64_t max_bytes = std::min(opts.max_uncompressed_bytes, kZipHardMaxBytes);
  const std::uint32_t max_entries = std::min(opts.max_entries, kZipHardMaxEntries);

  Fd root_fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (root_fd.fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return NotFound(fmt::format("directory \"{}\" does not exist", root));
    }
    return Internal(fmt::format("cannot open directory \"{}\": {}", root, std::strerror(err)));
  }

  // 1. Walk and check the limits: nothing reaches the sink before both hold.
  ZipStats stats;
  std::vector<Entry> entries;
  std::uint64_t total = 0;
  AGENTCORE_RETURN_IF_ERROR(
      WalkTree(root_fd.fd, root, opts, max_entries, &entries, &total, &stats));
  if (total > max_bytes) {
    return TooLarge(
        fmt::format("directory \"{}\" holds {} bytes in its files, over the limit "
                    "of {} bytes",
                    root, total, max_bytes));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });

  // 2. Entries, in sorted order.
  ZStream zs;
  if (!zs.Init(opts.deflate_level)) return Internal("zlib deflateInit2 failed");
  std::vector<char> in(kChunkBytes);
  std::vector<char> zbuf(kChunkBytes);
  Output out(sink);
  std::vector<Written> written;
  written.reserve(entries.size());
  for (const Entry& e : entries) {
    Written w;
    w.entry = &e;
    w.flags = IsValidUtf8(e.name) ? kFlagUtf8 : 0;
    if (e.dir) {
      w.method = kMethodStored;
      w.offset = static_cast<std::uint32_t>(out.offset());
      LocalHeader(out, w);
      ++stats.directories;
    } else {
      Fd fd(OpenBeneath(root_fd.fd, std::string_view(e.name), /*directory=*/false));
      struct stat st {};
      if (fd.fd < 0 || ::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        const int err = errno;
        if (fd.fd >= 0 || err == ENOENT || err == ENOTDIR || err == ELOOP || err == ENXIO) {
          ++stats.vanished;
          continue;
        }
        return Internal(
            fmt::format("cannot open \"{}\" in \"{}\": {}", e.name, root, std::strerror(err)));
      }
      w.method = kMethodDeflate;
      w.flags |= kFlagDataDescriptor;
      w.offset = static_cast<std::uint32_t>(out.offset());
      LocalHeader(out, w);
      AGENTCORE_RETURN_IF_ERROR(WriteFileData(out, zs, fd.fd, e, &w, &in, &zbuf));
      ++stats.files;
      stats.uncompressed_bytes += w.uncompressed;
    }
    if (!out.ok()) return Status(ErrorCode::kUnavailable, "zip stream stopped by its consumer");
    written.push_back(w);
  }

  // 3. Central directory and its end record.
  const std::uint64_t cd_start = out.offset();
  for (const Written& w : written) CentralHeader(out, w);
  const std::uint64_t cd_end = out.offset();
  if (cd_end > std::numeric_limits<std::uint32_t>::max()) {
    return Internal(fmt::format("zip of \"{}\" grew past 4 GiB", root));
  }
  out.U32(0x06054b50);
  out.U16(0);  // this disk
  out.U16(0);  // disk of the central directory
  out.U16(static_cast<std::uint16_t>(written.size()));
  out.U16(static_cast<std::uint16_t>(written.size()));
  out.U32(static_cast<std::uint32_t>(cd_end - cd_start));
  out.U32(static_cast<std::uint32_t>(cd_start));
  out.U16(0);  // comment length
  out.Flush();
  if (!out.ok()) return Status(ErrorCode::kUnavailable, "zip stream stopped by its consumer");
  stats.entries = static_cast<std::uint32_t>(written.size());
  stats.archive_bytes = out.offset();
  return stats;
}

}  // namespace agentcore
