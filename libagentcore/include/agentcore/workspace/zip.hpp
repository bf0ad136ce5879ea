// SPDX-License-Identifier: Apache-2.0
#pragma once

/// A streaming zip writer for downloading a workspace (`GET …/download` in docs/runs.md). The
/// archive is produced in two steps: a walk of the directory tree that checks the size limits
/// BEFORE any byte is produced (so the caller can still answer 413), then the entries, written
/// to a sink chunk by chunk as they are compressed, so memory stays small whatever the size.
///
/// The archive is a plain PKZIP 2.0 file (no ZIP64): deflate (zlib) for files, stored
/// directory entries, a data descriptor after each file (CRC-32 and sizes as actually read),
/// the UTF-8 name flag, Unix permission bits and the extended-timestamp field, sorted paths,
/// and timestamps from the files' mtime (UTC), so the same tree gives the same bytes.
/// `unzip` and Python's zipfile read it.

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/workspace/path_policy.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace agentcore {

/// The largest `max_uncompressed_bytes` honoured (3 GiB): together with deflate's worst-case
/// growth it keeps every offset of the archive below 4 GiB, where ZIP64 would start.
inline constexpr std::uint64_t kZipHardMaxBytes = 3ull * 1024 * 1024 * 1024;
/// The largest `max_entries` honoured: the end record counts entries in 16 bits.
inline constexpr std::uint32_t kZipHardMaxEntries = 65'535;

/// What to put in the archive and the limits to enforce. Plain data; copy freely.
struct ZipOptions {
  /// The sum of the files' sizes (as the walk sees them) may not exceed this. Values above
  /// kZipHardMaxBytes act as kZipHardMaxBytes.
  std::uint64_t max_uncompressed_bytes = 100ull * 1024 * 1024;
  /// Files plus directories (the root is not an entry) may not exceed this. Values above
  /// kZipHardMaxEntries act as kZipHardMaxEntries.
  std::uint32_t max_entries = 20'000;
  /// Called with each entry's root-relative path (no leading or trailing `/`) during the
  /// walk; true leaves the entry out, and an excluded directory is not descended into. The
  /// default, and what an empty function means, is IsSecretPath: a download never carries a
  /// secret by accident. To exclude nothing, pass a function that returns false.
  std::function<bool(std::string_view rel)> exclude = IsSecretPath;
  /// zlib's level: 0 (stored blocks, fastest) to 9 (smallest). 1 is fast and compresses
  /// source text well.
  int deflate_level = 1;
};

/// What an archive held. Plain data.
struct ZipStats {
  /// Entries in the archive: files + directories.
  std::uint32_t entries = 0;
  std::uint32_t files = 0;
  std::uint32_t directories = 0;
  /// Bytes of file content read (what the archive unpacks to).
  std::uint64_t uncompressed_bytes = 0;
  /// Bytes handed to the sink: the whole archive.
  std::uint64_t archive_bytes = 0;
  /// Symlinks, sockets, FIFOs and devices met by the walk: never followed, never archived.
  std::uint32_t skipped = 0;
  /// Paths the exclude function left out (an excluded directory counts once).
  std::uint32_t excluded = 0;
  /// Files that disappeared or stopped being regular files between the walk and the write;
  /// they are left out. A file whose size changed is archived with the bytes read, at most
  /// its size at walk time.
  std::uint32_t vanished = 0;
};

/// Writes a zip archive of the directory `root` (its contents; the root is not an entry) to
/// `sink`, which receives the archive in order, in chunks of up to about 64 KiB, and returns
/// false to stop (the client went away). The view is valid only during the call.
///
/// The walk never follows symlinks; symlinks and special files are skipped, and files are
/// opened without following symlinks at any component, so a tree changed during the write
/// cannot make the archive reach outside `root`. Nothing is passed to `sink` unless the walk
/// succeeds and the limits hold.
///
/// Errors:
/// * kTooLarge: the tree holds more than `max_entries` entries or more than
///   `max_uncompressed_bytes` bytes of files (the message gives the total and the limit);
///   `sink` was not called;
/// * kNotFound: `root` does not exist or is not a directory;
/// * kInvalidArgument: `deflate_level` outside 0..9;
/// * kUnavailable: `sink` returned false; the archive is incomplete;
/// * kInternal: a directory or file could not be read (the message names it; if bytes were
///   sent already, the archive is incomplete), or zlib failed.
///
/// Blocks on disk I/O and on `sink`: call it off any I/O thread. Thread-safe (no shared state).
AGENTCORE_EXPORT Result<ZipStats> ZipDirectory(
    const std::string& root, const ZipOptions& options,
    const std::function<bool(std::string_view chunk)>& sink);

}  // namespace agentcore
