// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/sqlite_store.hpp"

#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>
#include <vector>

#include "store/sqlite/migrator.hpp"
#include "store/sqlite/query.hpp"

namespace agentcore::internal::sqlite {

namespace {

constexpr std::string_view kMemoryPath = ":memory:";

Status CheckOptions(const SqliteStoreOptions& o) {
  if (o.path.empty()) return InvalidArgument("sqlite store path is empty");
  if (o.path.find('\0') != std::string::npos) {
    return InvalidArgument("sqlite store path contains a NUL byte");
  }
  if (o.readers < 1 || o.readers > 256) {
    return InvalidArgument(fmt::format("sqlite store readers is {}, not in [1, 256]", o.readers));
  }
  if (o.max_batch < 1) {
    return InvalidArgument(fmt::format("sqlite store max_batch is {}, not >= 1", o.max_batch));
  }
  if (o.checkpoint_pages < 1 || o.checkpoint_pages > (1 << 28)) {
    return InvalidArgument(
        fmt::format("sqlite store checkpoint_pages is {}, not in [1, 2^28]", o.checkpoint_pages));
  }
  if (o.max_content_bytes == 0) return InvalidArgument("sqlite store max_content_bytes is 0");
  return Status::Ok();
}

}  // namespace

SqliteStore::SqliteStore(const SqliteStoreOptions& options, Clock* clock)
    : options_(options), clock_(clock), ids_(clock) {}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const SqliteStoreOptions& options) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptions(options));
  Clock* clock = options.clock != nullptr ? options.clock : SystemClock();
  const bool memory = options.path == kMemoryPath;

  ConnectionOptions writer_options;
  writer_options.synchronous_full = options.synchronous_full;
  AGENTCORE_ASSIGN_OR_RETURN(auto writer_conn, Connection::Open(options.path, writer_options));
  if (!memory) {
    // WAL lets readers see the last commit while the writer works, and makes a commit one
    // sequential append (no fsync at all with synchronous=NORMAL). It is a property of the
    // file, so setting it again on an existing database is a no-op.
    auto mode = QueryOne<std::string>(
        *writer_conn, "PRAGMA journal_mode = WAL", [](const Statement& s) { return s.String(0); },
        [] { return Internal("PRAGMA journal_mode returned no row"); });
    if (!mode) {
      return Status(mode.status().code(), fmt::format("cannot open sqlite database \"{}\": {}",
                                                      options.path, mode.status().message()));
    }
    if (*mode != "wal") {
      return Status(ErrorCode::kUnavailable,
                    fmt::format("sqlite database \"{}\" cannot use WAL mode (journal_mode is {})",
                                options.path, *mode));
    }
  }
  AGENTCORE_RETURN_IF_ERROR(MigrateToLatest(*writer_conn, *clock));

  std::unique_ptr<SqliteStore> store(new SqliteStore(options, clock));
  std::vector<std::unique_ptr<Connection>> readers;
  if (memory) {
    readers.push_back(std::move(writer_conn));
  } else {
    AGENTCORE_ASSIGN_OR_RETURN(store->checkpointer_,
                               Checkpointer::Start(options.path, writer_options,
                                                   options.checkpoint_pages));
    store->checkpointer_->Attach(*writer_conn);
    ConnectionOptions reader_options;
    reader_options.read_only = true;
    for (int i = 0; i < options.readers; ++i) {
      AGENTCORE_ASSIGN_OR_RETURN(auto conn, Connection::Open(options.path, reader_options));
      readers.push_back(std::move(conn));
    }
  }
  store->readers_ = std::make_unique<ReaderPool>(std::move(readers));
  store->writer_ =
      std::make_unique<Writer>(std::move(writer_conn), memory ? store->readers_.get() : nullptr,
                               &store->feed_, &store->versions_, options.max_batch);
  return store;
}

SqliteStore::~SqliteStore() {
  // Finish queued writes first; then close the other connections before the writer's, so that
  // its close is the last one and checkpoints the WAL into the database file.
  if (writer_ != nullptr) writer_->Stop();
  checkpointer_.reset();  // no commit can call its hook any more
  readers_.reset();
  writer_.reset();
  if (blob_dir_temp_) {
    std::error_code ec;
    std::filesystem::remove_all(blob_dir_, ec);
  }
}

std::string SqliteStore::DatabaseFile() const {
  return options_.path == kMemoryPath ? std::string() : options_.path;
}

std::optional<StoreWriterStats> SqliteStore::GetWriterStats() const {
  StoreWriterStats stats;
  stats.commits = writer_->commits();
  stats.writes = writer_->writes();
  if (checkpointer_ != nullptr) {
    stats.checkpoints = checkpointer_->background_passes();
    stats.writer_checkpoints = checkpointer_->writer_catch_ups();
  }
  return stats;
}

Result<int> SqliteStore::SchemaVersion() {
  return Read([](Connection& c) { return ReadSchemaVersion(c); });
}

Status SqliteStore::MigrateTo(int version) {
  Status s = writer_->Exclusive([&](Connection& c) {
    Status migrated = sqlite::MigrateTo(c, version, *clock_);
    // Steps may have committed even when a later one failed: any channel may have changed.
    versions_.RaiseAll();
    return migrated;
  });
  // Dropping tables may drop channels; the next append looks its channel up again.
  std::lock_guard lock(channel_spaces_mu_);
  channel_spaces_.clear();
  return s;
}

std::optional<std::string> SqliteStore::CachedChannelSpace(std::string_view channel_id) {
  std::lock_guard lock(channel_spaces_mu_);
  auto it = channel_spaces_.find(channel_id);
  if (it == channel_spaces_.end()) return std::nullopt;
  return it->second;
}

void SqliteStore::CacheChannelSpace(std::string_view channel_id, std::string_view space_id) {
  std::lock_guard lock(channel_spaces_mu_);
  // Bounded: a process that writes to more channels than this just looks some up again.
  if (channel_spaces_.size() >= kMaxCachedChannels) channel_spaces_.clear();
  channel_spaces_.emplace(std::string(channel_id), std::string(space_id));
}

Result<std::unique_ptr<StoreSubscription>> SqliteStore::Subscribe(StoreListener* listener) {
  if (listener == nullptr) return InvalidArgument("store listener is null");
  auto sub = feed_.Subscribe(listener);
  // The writer decides per batch whether to collect changes; waiting for the writes queued
  // now means every write committed after this returns is in a batch that saw the listener.
  writer_->Barrier();
  return sub;
}

Result<std::string> SqliteStore::BlobDir() {
  std::lock_guard lock(blob_mu_);
  if (!blob_dir_.empty()) return blob_dir_;
  std::string dir = options_.blob_dir;
  bool temp = false;
  if (dir.empty() && options_.path == kMemoryPath) {
    // A private in-memory database gets a private blob directory that goes away with it.
    const char* tmpdir = ::getenv("TMPDIR");
    std::string tmpl = fmt::format("{}/agentcore-blobs-XXXXXX",
                                   tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp");
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return Status(ErrorCode::kUnavailable,
                    fmt::format("cannot create a blob directory from \"{}\"", tmpl));
    }
    dir = std::move(tmpl);
    temp = true;
  } else if (dir.empty()) {
    dir = options_.path + ".blobs";
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status(ErrorCode::kUnavailable,
                  fmt::format("cannot create blob directory \"{}\": {}", dir, ec.message()));
  }
  blob_dir_ = dir;
  blob_dir_temp_ = temp;
  return dir;
}

}  // namespace agentcore::internal::sqlite

namespace agentcore {

Result<std::unique_ptr<Store>> OpenSqliteStore(const SqliteStoreOptions& options) {
  AGENTCORE_ASSIGN_OR_RETURN(auto store, internal::sqlite::SqliteStore::Open(options));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace agentcore
