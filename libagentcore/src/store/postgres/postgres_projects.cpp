// SPDX-License-Identifier: Apache-2.0
// PostgresStore: projects, model prices and the webhook outbox (docs/runs.md).
#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "store/postgres/postgres_store.hpp"
#include "store/record_checks.hpp"

namespace agentcore::internal {

// --- Projects

Result<Project> PostgresStore::CreateProject(const Project& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckProject(in));
  AGENTCORE_ASSIGN_OR_RETURN(std::string settings, EncodeJson("project settings", in.settings,
                                                              options_.max_content_bytes));
  PgParams p;
  p.Text(in.space_id).Text(in.id).Text(in.name).Text(in.channel_id).JsonText(settings);
  p.Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kInsertProject, p));
  if (r.ok()) return DecodeProject(PgRow(r.result.get(), 0));
  if (r.status.code() == ErrorCode::kAlreadyExists) {
    return AlreadyExists(
        fmt::format("project \"{}\" already exists in space \"{}\"", in.id, in.space_id));
  }
  return r.status;
}

Result<Project> PostgresStore::GetProject(std::string_view space_id, std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("project space id", space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckProjectId(id));
  PgParams p;
  p.Text(space_id).Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetProject, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(fmt::format("project \"{}\" not found in space \"{}\"", id, space_id));
  }
  return DecodeProject(PgRow(r.get(), 0));
}

Result<std::vector<Project>> PostgresStore::ListProjects(const ProjectFilter& filter) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("project space id", filter.space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("project cursor", filter.after_id));
  const std::size_t limit = std::min(filter.limit, kMaxPageSize);
  if (limit == 0) return std::vector<Project>();
  PgParams p;
  p.Text(filter.space_id).Text(filter.after_id).Int(static_cast<std::int64_t>(limit));
  return QueryAll<Project>(Stmt::kListProjects, p, DecodeProject);
}

// --- Model prices

Status PostgresStore::PutModelPrice(const ModelPrice& price) {
  AGENTCORE_RETURN_IF_ERROR(CheckModelPrice(price));
  PgParams p;
  p.Text(price.provider).Text(price.model).Double(price.input_usd_per_mtok);
  p.Double(price.output_usd_per_mtok).Bool(price.active).Int(Now());
  return Query(Access::kWrite, Stmt::kPutModelPrice, p).status();
}

Result<ModelPrice> PostgresStore::GetModelPrice(std::string_view provider, std::string_view model) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("model price provider", provider));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("model price model", model));
  PgParams p;
  p.Text(provider).Text(model);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetModelPrice, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(fmt::format("no active price for model \"{}/{}\"", provider, model));
  }
  return DecodeModelPrice(PgRow(r.get(), 0));
}

Result<std::vector<ModelPrice>> PostgresStore::ListModelPrices() {
  PgParams none;
  return QueryAll<ModelPrice>(Stmt::kListModelPrices, none, DecodeModelPrice);
}

// --- Webhook outbox

Result<WebhookDelivery> PostgresStore::EnqueueWebhook(const WebhookDelivery& delivery) {
  AGENTCORE_RETURN_IF_ERROR(CheckWebhookDelivery(delivery, options_.max_content_bytes));
  PgParams p;
  p.Text(delivery.id).Text(delivery.run_id).Text(delivery.url).Text(delivery.body);
  p.Int(delivery.attempts).Int(delivery.next_attempt_at).OptInt(delivery.delivered_at);
  p.Bool(delivery.gave_up).Text(delivery.last_error).Int(Now());
  // Twice at most: when a concurrent enqueue of the same id commits between the insert's and
  // the select's snapshots, the first run sees neither row.
  for (int attempt = 0; attempt < 2; ++attempt) {
    AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kEnqueueWebhook, p));
    if (PQntuples(r.get()) == 1) return DecodeWebhook(PgRow(r.get(), 0));
  }
  return Internal(fmt::format("webhook delivery \"{}\" neither inserted nor found", delivery.id));
}

Result<std::vector<WebhookDelivery>> PostgresStore::ListDueWebhooks(UnixMillis now,
                                                                    std::size_t limit) {
  const std::size_t n = std::min(limit, kMaxPageSize);
  if (n == 0) return std::vector<WebhookDelivery>();
  PgParams p;
  p.Int(now).Int(static_cast<std::int64_t>(n));
  return QueryAll<WebhookDelivery>(Stmt::kListDueWebhooks, p, DecodeWebhook);
}

Status PostgresStore::UpdateWebhook(std::string_view id, const WebhookUpdate& update) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("webhook delivery id", id));
  AGENTCORE_RETURN_IF_ERROR(CheckWebhookUpdate(update, options_.max_content_bytes));
  PgParams p;
  p.Text(id).Int(update.attempts).Int(update.next_attempt_at).OptInt(update.delivered_at);
  p.Bool(update.gave_up).Text(update.last_error);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kWrite, Stmt::kUpdateWebhook, p));
  if (PQntuples(r.get()) == 0) {
    return NotFound(fmt::format("webhook delivery \"{}\" not found", id));
  }
  return Status::Ok();
}

}  // namespace agentcore::internal
