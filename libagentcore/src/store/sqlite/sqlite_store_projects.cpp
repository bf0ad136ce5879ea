// SPDX-License-Identifier: Apache-2.0
// Projects, model prices and the webhook outbox of the SQLite store (docs/runs.md).
#include <fmt/format.h>

#include <algorithm>

#include "store/record_checks.hpp"
#include "store/sqlite/query.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace agentcore::internal::sqlite {

namespace {

Status WebhookNotFound(std::string_view id) {
  return NotFound(fmt::format("webhook delivery \"{}\" not found", id));
}

}  // namespace

// --- Projects

Result<Project> SqliteStore::CreateProject(const Project& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckProject(in));
  AGENTCORE_ASSIGN_OR_RETURN(auto settings, EncodeNullableJson("project settings", in.settings,
                                                               options_.max_content_bytes));
  Project p = in;
  p.created_at = p.updated_at = Now();
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        auto inserted = Execute(ctx.conn(),
                                "INSERT INTO projects (space_id, id, name, channel_id, settings, "
                                "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                                p.space_id, p.id, p.name, p.channel_id, settings, p.created_at);
        if (!inserted && inserted.status().code() == ErrorCode::kAlreadyExists) {
          return AlreadyExists(
              fmt::format("project \"{}\" already exists in space \"{}\"", p.id, p.space_id));
        }
        return inserted.status();
      });
      !written.ok()) {
    return written;
  }
  return p;
}

Result<Project> SqliteStore::GetProject(std::string_view space_id, std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("project space id", space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckProjectId(id));
  static const std::string sql =
      SelectSql(kProjectColumns, "projects", "WHERE space_id = ?1 AND id = ?2");
  return Read([&](Connection& c) {
    return QueryOne<Project>(
        c, sql, ProjectFromRow,
        [&] {
          return NotFound(fmt::format("project \"{}\" not found in space \"{}\"", id, space_id));
        },
        space_id, id);
  });
}

Result<std::vector<Project>> SqliteStore::ListProjects(const ProjectFilter& filter) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("project space id", filter.space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckOptionalKey("project cursor", filter.after_id));
  const std::size_t limit = std::min(filter.limit, kMaxPageSize);
  if (limit == 0) return std::vector<Project>();
  // The primary key (space_id, id) is the order: a range scan from the cursor.
  static const std::string sql = SelectSql(kProjectColumns, "projects",
                                           "WHERE space_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3");
  return Read([&](Connection& c) {
    return QueryAll<Project>(c, sql, ProjectFromRow, filter.space_id, filter.after_id, limit);
  });
}

// --- Model prices

Status SqliteStore::PutModelPrice(const ModelPrice& price) {
  AGENTCORE_RETURN_IF_ERROR(CheckModelPrice(price));
  const UnixMillis now = Now();
  return Write([&](WriteContext& ctx) -> Status {
    return Execute(ctx.conn(),
                   "INSERT INTO model_prices (provider, model, input_usd_per_mtok, "
                   "output_usd_per_mtok, active, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                   "ON CONFLICT (provider, model) DO UPDATE SET "
                   "input_usd_per_mtok = excluded.input_usd_per_mtok, "
                   "output_usd_per_mtok = excluded.output_usd_per_mtok, "
                   "active = excluded.active, updated_at = excluded.updated_at",
                   price.provider, price.model, price.input_usd_per_mtok, price.output_usd_per_mtok,
                   price.active ? 1 : 0, now)
        .status();
  });
}

Result<ModelPrice> SqliteStore::GetModelPrice(std::string_view provider, std::string_view model) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("model price provider", provider));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("model price model", model));
  static const std::string sql = SelectSql(kModelPriceColumns, "model_prices",
                                           "WHERE provider = ?1 AND model = ?2 AND active <> 0");
  return Read([&](Connection& c) {
    return QueryOne<ModelPrice>(
        c, sql, ModelPriceFromRow,
        [&] {
          return NotFound(fmt::format("no active price for model \"{}/{}\"", provider, model));
        },
        provider, model);
  });
}

Result<std::vector<ModelPrice>> SqliteStore::ListModelPrices() {
  static const std::string sql =
      SelectSql(kModelPriceColumns, "model_prices", "ORDER BY provider, model");
  return Read([&](Connection& c) { return QueryAll<ModelPrice>(c, sql, ModelPriceFromRow); });
}

// --- Webhook outbox

Result<WebhookDelivery> SqliteStore::EnqueueWebhook(const WebhookDelivery& delivery) {
  AGENTCORE_RETURN_IF_ERROR(CheckWebhookDelivery(delivery, options_.max_content_bytes));
  const UnixMillis now = Now();
  WebhookDelivery out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        // An existing id keeps its row: the insert does nothing and the select reads it.
        AGENTCORE_RETURN_IF_ERROR(
            Execute(c,
                    "INSERT INTO webhook_deliveries (id, run_id, url, body, attempts, "
                    "next_attempt_at, delivered_at, gave_up, last_error, created_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (id) DO NOTHING",
                    delivery.id, delivery.run_id, delivery.url, delivery.body, delivery.attempts,
                    delivery.next_attempt_at, delivery.delivered_at, delivery.gave_up ? 1 : 0,
                    delivery.last_error, now)
                .status());
        static const std::string sql =
            SelectSql(kWebhookColumns, "webhook_deliveries", "WHERE id = ?1");
        AGENTCORE_ASSIGN_OR_RETURN(
            out,
            QueryOne<WebhookDelivery>(
                c, sql, WebhookFromRow, [&] { return WebhookNotFound(delivery.id); }, delivery.id));
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return out;
}

Result<std::vector<WebhookDelivery>> SqliteStore::ListDueWebhooks(UnixMillis now,
                                                                  std::size_t limit) {
  const std::size_t n = std::min(limit, kMaxPageSize);
  if (n == 0) return std::vector<WebhookDelivery>();
  // The WHERE repeats webhook_deliveries_due's, so the partial index serves it.
  static const std::string sql =
      SelectSql(kWebhookColumns, "webhook_deliveries",
                "WHERE delivered_at IS NULL AND gave_up = 0 AND next_attempt_at <= ?1 "
                "ORDER BY next_attempt_at, id LIMIT ?2");
  return Read(
      [&](Connection& c) { return QueryAll<WebhookDelivery>(c, sql, WebhookFromRow, now, n); });
}

Status SqliteStore::UpdateWebhook(std::string_view id, const WebhookUpdate& update) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("webhook delivery id", id));
  AGENTCORE_RETURN_IF_ERROR(CheckWebhookUpdate(update, options_.max_content_bytes));
  return Write([&](WriteContext& ctx) -> Status {
    AGENTCORE_ASSIGN_OR_RETURN(
        int n, Execute(ctx.conn(),
                       "UPDATE webhook_deliveries SET attempts = ?2, next_attempt_at = ?3, "
                       "delivered_at = ?4, gave_up = ?5, last_error = ?6 WHERE id = ?1",
                       id, update.attempts, update.next_attempt_at, update.delivered_at,
                       update.gave_up ? 1 : 0, update.last_error));
    return n == 0 ? WebhookNotFound(id) : Status::Ok();
  });
}

}  // namespace agentcore::internal::sqlite
