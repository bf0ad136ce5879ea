// SPDX-License-Identifier: Apache-2.0
// PostgresStore: API keys, idempotency records, artifacts.
#include <charconv>
#include <utility>

#include <fmt/format.h>

#include "store/postgres/postgres_store.hpp"
#include "store/record_checks.hpp"

namespace agentcore::internal {

// --- API keys

Result<ApiKey> PostgresStore::CreateApiKey(const ApiKey& key) {
  AGENTCORE_RETURN_IF_ERROR(CheckApiKey(key));
  const std::string id = key.id.empty() ? ids_.Next() : key.id;
  PgParams p;
  p.Text(id).Text(key.space_id).Text(key.name).Text(key.key_hash).Text(key.prefix).Int(Now());
  p.OptInt(key.last_used_at).Bool(key.revoked).Text(key.tier);
  p.Int(static_cast<std::int64_t>(key.requests_per_minute));
  p.Int(static_cast<std::int64_t>(key.max_running_sessions)).Bool(key.admin);
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertApiKey, p));
  if (r.ok()) return DecodeApiKey(PgRow(r.result.get(), 0));
  if (r.status.code() == ErrorCode::kAlreadyExists) {
    if (r.constraint == "api_keys_hash") {
      return AlreadyExists("an api key with that hash already exists");  // never echo a hash
    }
    return AlreadyExists(fmt::format("api key \"{}\" already exists", id));
  }
  return r.status;
}

Result<ApiKey> PostgresStore::FindApiKeyByHash(std::string_view key_hash) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("api key hash", key_hash));
  PgParams p;
  p.Text(key_hash);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kFindApiKeyByHash, p));
  // The hash is a credential: never echo it.
  if (PQntuples(r.get()) == 0) return NotFound("no live api key has that hash");
  return DecodeApiKey(PgRow(r.get(), 0));
}

Result<std::vector<ApiKey>> PostgresStore::ListApiKeys(std::string_view space_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("api key space id", space_id));
  PgParams p;
  p.Text(space_id);
  return QueryAll<ApiKey>(Stmt::kListApiKeys, p, DecodeApiKey);
}

Status PostgresStore::RevokeApiKey(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("api key id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kRevokeApiKey, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("api key \"{}\" not found", id));
  return Status::Ok();
}

Status PostgresStore::TouchApiKey(std::string_view id, UnixMillis used_at) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("api key id", id));
  PgParams p;
  p.Text(id).Int(used_at);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kTouchApiKey, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("api key \"{}\" not found", id));
  return Status::Ok();
}

// --- Idempotency keys

Result<IdempotencyRecord> PostgresStore::PutIdempotency(const IdempotencyRecord& record) {
  AGENTCORE_RETURN_IF_ERROR(CheckIdempotency(record, options_.max_content_bytes));
  PgParams put;
  put.Text(record.scope).Text(record.key).Text(record.request_hash).Int(record.status_code);
  put.Text(record.response_body).Int(Now()).Int(record.expires_at);
  PgParams get;
  get.Text(record.scope).Text(record.key);
  // The upsert replaces only an expired record; when a live one wins, the select (a later
  // statement, so a newer snapshot that sees it) returns it. One round trip either way.
  const PgCall calls[] = {{Index(Stmt::kPutIdempotency), &put},
                          {Index(Stmt::kGetIdempotencyAny), &get}};
  std::vector<PgReply> replies;
  AGENTCORE_RETURN_IF_ERROR(Pipeline(Access::kWrite, calls, &replies));
  for (const PgReply& r : replies) {
    if (!r.ok()) return r.status;
  }
  for (const PgReply& r : replies) {
    if (PQntuples(r.result.get()) == 1) return DecodeIdempotency(PgRow(r.result.get(), 0));
  }
  return Internal(fmt::format("idempotency key \"{}\" neither stored nor found", record.key));
}

Result<IdempotencyRecord> PostgresStore::GetIdempotency(std::string_view scope,
                                                        std::string_view key) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("idempotency scope", scope));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("idempotency key", key));
  PgParams p;
  p.Text(scope).Text(key).Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetIdempotency, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(fmt::format("idempotency key \"{}\" not found in scope \"{}\"", key, scope));
  }
  return DecodeIdempotency(PgRow(r.get(), 0));
}

Result<std::uint64_t> PostgresStore::PurgeExpiredIdempotency(UnixMillis now) {
  PgParams p;
  p.Int(now);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kPurgeIdempotency, p));
  const std::string_view n = PQcmdTuples(r.get());
  std::uint64_t count = 0;
  std::from_chars(n.data(), n.data() + n.size(), count);
  return count;
}

// --- Artifacts

Result<Artifact> PostgresStore::PutArtifact(const Artifact& meta, std::string_view blob) {
  AGENTCORE_RETURN_IF_ERROR(CheckArtifact(meta, options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(std::string props,
                             EncodeJson("artifact props", meta.props, options_.max_content_bytes));
  const std::string id = meta.id.empty() ? ids_.Next() : meta.id;
  PgParams p;
  p.Text(id).Text(meta.channel_id).Text(meta.slug).Text(meta.type).Text(meta.title);
  p.Text(meta.tldr).Text(meta.status).Text(meta.content_type);
  p.Int(static_cast<std::int64_t>(blob.size())).JsonText(props).Int(Now()).Text(blob);
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kPutArtifact, p));
  if (r.ok()) {
    // INSERT ... SELECT FROM channels: no row when the channel is missing.
    if (PQntuples(r.result.get()) == 0) {
      return NotFound(fmt::format("channel \"{}\" not found", meta.channel_id));
    }
    return DecodeArtifact(PgRow(r.result.get(), 0));
  }
  if (r.status.code() == ErrorCode::kNotFound) {
    return NotFound(fmt::format("channel \"{}\" not found", meta.channel_id));
  }
  if (r.status.code() == ErrorCode::kAlreadyExists) {
    return AlreadyExists(fmt::format("artifact \"{}\" already exists", id));
  }
  return r.status;
}

Result<Artifact> PostgresStore::GetArtifact(std::string_view channel_id, std::string_view slug) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact slug", slug));
  PgParams p;
  p.Text(channel_id).Text(slug);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetArtifact, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(fmt::format("artifact \"{}\" not found in channel \"{}\"", slug, channel_id));
  }
  return DecodeArtifact(PgRow(r.get(), 0));
}

Result<std::string> PostgresStore::ReadArtifactBlob(std::string_view channel_id,
                                                    std::string_view slug) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact slug", slug));
  PgParams p;
  p.Text(channel_id).Text(slug);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kReadArtifactBlob, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(fmt::format("artifact \"{}\" not found in channel \"{}\"", slug, channel_id));
  }
  // Text-format bytea is hex ("\x0a1b..."); PQunescapeBytea decodes it.
  std::size_t n = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r.get(), 0, 0)), &n);
  if (raw == nullptr) return Internal("cannot decode artifact blob");
  std::string blob(reinterpret_cast<const char*>(raw), n);
  PQfreemem(raw);
  return blob;
}

Result<std::vector<Artifact>> PostgresStore::ListArtifacts(std::string_view channel_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact channel id", channel_id));
  PgParams p;
  p.Text(channel_id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr rows,
                             ListIfExists(Stmt::kChannelExists, p, Stmt::kListArtifacts, p));
  if (rows == nullptr) return NotFound(fmt::format("channel \"{}\" not found", channel_id));
  return DecodeAll<Artifact>(rows.get(), DecodeArtifact);
}

Status PostgresStore::DeleteArtifact(std::string_view channel_id, std::string_view slug) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("artifact slug", slug));
  PgParams p;
  p.Text(channel_id).Text(slug);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kDeleteArtifact, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(fmt::format("artifact \"{}\" not found in channel \"{}\"", slug, channel_id));
  }
  return Status::Ok();
}

}  // namespace agentcore::internal
