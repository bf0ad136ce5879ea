// SPDX-License-Identifier: Apache-2.0
// Artifacts of the SQLite store: metadata rows plus one blob file per version (blob_files.hpp).
#include <fmt/format.h>

#include "store/record_checks.hpp"
#include "store/sqlite/blob_files.hpp"
#include "store/sqlite/query.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace agentcore::internal::sqlite {

namespace {

Status ArtifactNotFound(std::string_view channel_id, std::string_view slug) {
  return NotFound(fmt::format("artifact \"{}\" not found in channel \"{}\"", slug, channel_id));
}

struct StoredArtifact {
  Artifact meta;
  std::string blob_file;
};

Result<StoredArtifact> StoredFromRow(const Statement& row) {
  AGENTCORE_ASSIGN_OR_RETURN(Artifact a, ArtifactFromRow(row));
  return StoredArtifact{std::move(a), row.String(13)};
}

Result<StoredArtifact> LoadArtifact(Connection& c, std::string_view channel_id,
                                    std::string_view slug) {
  static const std::string sql =
      SelectSql(kArtifactColumns, "artifacts", "WHERE channel_id = ?1 AND slug = ?2");
  return QueryOne<StoredArtifact>(
      c, sql, StoredFromRow, [&] { return ArtifactNotFound(channel_id, slug); }, channel_id, slug);
}

}  // namespace

Result<Artifact> SqliteStore::PutArtifact(const Artifact& meta, std::string_view blob) {
  AGENTCORE_RETURN_IF_ERROR(CheckArtifact(meta, options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(
      auto props, EncodeNullableJson("artifact props", meta.props, options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(std::string dir, BlobDir());
  // The blob is durable under its final name before the row that names it commits. If the
  // process dies in between, the file is an orphan that no row references.
  const std::string file = ids_.Next() + ".blob";
  AGENTCORE_RETURN_IF_ERROR(WriteBlobFile(dir, file, blob));

  Artifact out = meta;
  out.size = blob.size();
  const UnixMillis now = Now();
  std::string replaced_file;
  Status status = Write([&](WriteContext& ctx) -> Status {
    Connection& c = ctx.conn();
    replaced_file.clear();
    AGENTCORE_ASSIGN_OR_RETURN(bool channel,
                               Exists(c, "SELECT 1 FROM channels WHERE id = ?1", meta.channel_id));
    if (!channel) return NotFound(fmt::format("channel \"{}\" not found", meta.channel_id));
    auto existing = LoadArtifact(c, meta.channel_id, meta.slug);
    if (!existing && existing.status().code() != ErrorCode::kNotFound) return existing.status();
    if (existing) {
      // A replace keeps the id and created_at and bumps the version.
      out.id = existing->meta.id;
      out.version = existing->meta.version + 1;
      out.created_at = existing->meta.created_at;
      out.updated_at = now;
      replaced_file = existing->blob_file;
      return Execute(c,
                     "UPDATE artifacts SET type = ?3, title = ?4, tldr = ?5, status = ?6, "
                     "content_type = ?7, size = ?8, version = ?9, props = ?10, blob_file = ?11, "
                     "updated_at = ?12 WHERE channel_id = ?1 AND slug = ?2",
                     out.channel_id, out.slug, out.type, out.title, out.tldr, out.status,
                     out.content_type, out.size, out.version, props, file, now)
          .status();
    }
    if (out.id.empty()) out.id = ids_.Next();
    out.version = 1;
    out.created_at = out.updated_at = now;
    auto inserted = Execute(c,
                            "INSERT INTO artifacts (id, channel_id, slug, type, title, tldr, "
                            "status, content_type, size, version, props, blob_file, created_at, "
                            "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                            "?12, ?13, ?13)",
                            out.id, out.channel_id, out.slug, out.type, out.title, out.tldr,
                            out.status, out.content_type, out.size, out.version, props, file, now);
    if (!inserted && inserted.status().code() == ErrorCode::kAlreadyExists) {
      return AlreadyExists(fmt::format("artifact \"{}\" already exists", out.id));
    }
    return inserted.status();
  });
  if (!status.ok()) {
    RemoveBlobFile(dir, file);
    return status;
  }
  // After the commit nothing references the previous version's file.
  if (!replaced_file.empty()) RemoveBlobFile(dir, replaced_file);
  return out;
}

Result<Artifact> SqliteStore::GetArtifact(std::string_view channel_id, std::string_view slug) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact slug", slug));
  AGENTCORE_ASSIGN_OR_RETURN(
      StoredArtifact a, Read([&](Connection& c) { return LoadArtifact(c, channel_id, slug); }));
  return std::move(a.meta);
}

Result<std::string> SqliteStore::ReadArtifactBlob(std::string_view channel_id,
                                                  std::string_view slug) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact slug", slug));
  AGENTCORE_ASSIGN_OR_RETURN(std::string dir, BlobDir());
  // A replace that commits between reading the row and opening the file removes the file the
  // row named; reading the row again then finds the new one. So the read is retried while the
  // row keeps naming new files (replaces in a tight loop can win several times in a row); a
  // file missing while its row still names it was lost outside the store.
  std::string previous;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    AGENTCORE_ASSIGN_OR_RETURN(
        StoredArtifact a, Read([&](Connection& c) { return LoadArtifact(c, channel_id, slug); }));
    auto data = ReadBlobFile(dir, a.blob_file);
    if (data || data.status().code() != ErrorCode::kNotFound) return data;
    if (a.blob_file == previous) break;
    previous = std::move(a.blob_file);
  }
  return Internal(
      fmt::format("blob file of artifact \"{}\" in channel \"{}\" is missing", slug, channel_id));
}

Result<std::vector<Artifact>> SqliteStore::ListArtifacts(std::string_view channel_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact channel id", channel_id));
  static const std::string sql =
      SelectSql(kArtifactColumns, "artifacts", "WHERE channel_id = ?1 ORDER BY slug");
  return Read([&](Connection& c) -> Result<std::vector<Artifact>> {
    AGENTCORE_ASSIGN_OR_RETURN(auto list, QueryAll<Artifact>(c, sql, ArtifactFromRow, channel_id));
    if (list.empty()) {
      AGENTCORE_ASSIGN_OR_RETURN(bool channel,
                                 Exists(c, "SELECT 1 FROM channels WHERE id = ?1", channel_id));
      if (!channel) return NotFound(fmt::format("channel \"{}\" not found", channel_id));
    }
    return list;
  });
}

Status SqliteStore::DeleteArtifact(std::string_view channel_id, std::string_view slug) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact slug", slug));
  std::string file;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        AGENTCORE_ASSIGN_OR_RETURN(
            file,
            QueryOne<std::string>(
                ctx.conn(),
                "DELETE FROM artifacts WHERE channel_id = ?1 AND slug = ?2 RETURNING blob_file",
                [](const Statement& s) { return s.String(0); },
                [&] { return ArtifactNotFound(channel_id, slug); }, channel_id, slug));
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  AGENTCORE_ASSIGN_OR_RETURN(std::string dir, BlobDir());
  RemoveBlobFile(dir, file);
  return Status::Ok();
}

}  // namespace agentcore::internal::sqlite
