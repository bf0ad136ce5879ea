// SPDX-License-Identifier: Apache-2.0
// Messages and pending deliveries of the SQLite store.
#include <fmt/format.h>

#include <agentcore/json_writer.hpp>
#include <algorithm>

#include "store/record_checks.hpp"
#include "store/sqlite/query.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace agentcore::internal::sqlite {

namespace {

Status MessageNotFound(std::string_view id) {
  return NotFound(fmt::format("message \"{}\" not found", id));
}
Status ChannelNotFound(std::string_view id) {
  return NotFound(fmt::format("channel \"{}\" not found", id));
}

Status SpaceMismatch(std::string_view channel_id, std::string_view space_id) {
  return InvalidArgument(
      fmt::format("channel \"{}\" is not in space \"{}\"", channel_id, space_id));
}

Result<Message> LoadMessage(Connection& c, std::string_view id) {
  static const std::string sql = SelectSql(kMessageColumns, "messages", "WHERE id = ?1");
  return QueryOne<Message>(
      c, sql, MessageFromRow, [&] { return MessageNotFound(id); }, id);
}

std::string JsonStringArray(const std::vector<std::string>& items) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  for (const std::string& s : items) w.String(s);
  w.EndArray();
  return out;
}

std::size_t ClampLimit(std::size_t limit) {
  return std::clamp<std::size_t>(limit, 1, kMaxPageSize);
}

// The SQL for one shape of page read. Only the WHERE clauses and the direction vary; the
// values are always bound (?1 channel, ?2 after, ?3 before, ?4 agent, ?5 types, ?6 limit).
// Every shape walks messages_by_channel (channel_id, seq) from the cursor: keyset pagination,
// so a page costs the same at the end of a million-row channel as at its start. A cursor id
// is resolved to a seq once, through the id's unique index (PageRequest): the message with the
// greatest id at most the cursor; exactly the cursor stands at its seq, a smaller one (the
// cursor names no message) just after it.
std::string PageSql(const PageRequest& page, bool ascending) {
  std::string where = "WHERE channel_id = ?1";
  if (page.after) {
    where +=
        " AND seq > coalesce((SELECT c.seq FROM messages AS c WHERE c.id <= ?2 "
        "ORDER BY c.id DESC LIMIT 1), 0)";
  }
  if (page.before) {
    where +=
        " AND seq < coalesce((SELECT CASE WHEN c.id = ?3 THEN c.seq ELSE c.seq + 1 END "
        "FROM messages AS c WHERE c.id <= ?3 ORDER BY c.id DESC LIMIT 1), 1)";
  }
  if (page.for_agent) {
    where +=
        " AND (sender = ?4 OR EXISTS (SELECT 1 FROM json_each(messages.addressed_agents) "
        "WHERE json_each.value = ?4))";
  }
  if (!page.types.empty()) where += " AND type IN (SELECT value FROM json_each(?5))";
  where += ascending ? " ORDER BY seq ASC LIMIT ?6" : " ORDER BY seq DESC LIMIT ?6";
  return SelectSql(kMessageColumns, "messages", where);
}

}  // namespace

// --- Messages

struct SqliteStore::AppendState {
  Message m;  // content and metadata: the input's JSON, returned on success
  // Encoded on the caller's thread, so the writer only binds and steps.
  std::string content;
  std::optional<std::string> metadata;
  std::optional<std::string> addressed;
  std::optional<std::string> cached_space;  // the channel's space, when known before the write
  std::string requested_space;              // NewMessage::space_id
  bool looked_up = false;                   // the write read the channel's space
};

Result<SqliteStore::AppendState> SqliteStore::PrepareAppend(NewMessage in) {
  const std::size_t max = options_.max_content_bytes;
  AGENTCORE_RETURN_IF_ERROR(CheckNewMessage(in, max));
  AppendState st;
  AGENTCORE_ASSIGN_OR_RETURN(st.content, EncodeJson("message content", in.content, max));
  AGENTCORE_ASSIGN_OR_RETURN(st.metadata,
                             EncodeNullableJson("message metadata", in.metadata, max));
  if (in.addressed_agents) st.addressed = JsonStringArray(*in.addressed_agents);
  Message& m = st.m;
  m.id = in.id.empty() ? ids_.Next() : std::move(in.id);
  m.channel_id = std::move(in.channel_id);
  m.sender = std::move(in.sender);
  m.sender_type = std::move(in.sender_type);
  m.type = std::move(in.type);
  m.timestamp = in.timestamp ? *in.timestamp : Now();
  m.is_complete = in.is_complete;
  m.addressed_agents = std::move(in.addressed_agents);
  m.state = std::move(in.state);
  m.content = std::move(in.content);
  m.metadata = std::move(in.metadata);
  st.requested_space = std::move(in.space_id);
  st.cached_space = CachedChannelSpace(m.channel_id);
  if (st.cached_space && !st.requested_space.empty() && *st.cached_space != st.requested_space) {
    return SpaceMismatch(m.channel_id, st.requested_space);
  }
  return st;
}

Status SqliteStore::RunAppend(AppendState& st, WriteContext& ctx) {
  Connection& c = ctx.conn();
  Message& m = st.m;
  if (st.cached_space) {
    m.space_id = *st.cached_space;
  } else {
    AGENTCORE_ASSIGN_OR_RETURN(
        m.space_id, QueryOne<std::string>(
                        c, "SELECT space_id FROM channels WHERE id = ?1",
                        [](const Statement& row) { return row.String(0); },
                        [&] { return ChannelNotFound(m.channel_id); }, m.channel_id));
    st.looked_up = true;
    if (!st.requested_space.empty() && m.space_id != st.requested_space) {
      return SpaceMismatch(m.channel_id, st.requested_space);
    }
  }
  AGENTCORE_ASSIGN_OR_RETURN(
      Statement stmt,
      c.Prepare("INSERT INTO messages (seq, id, space_id, channel_id, sender, sender_type, "
                "type, content, timestamp, is_complete, addressed_agents, metadata, state) "
                "VALUES (max(coalesce((SELECT max(seq) FROM messages), 0), "
                "coalesce((SELECT seq FROM message_seq_floor), 0)) + 1, "
                "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
  BindAll(stmt, m.id, m.space_id, m.channel_id, m.sender, m.sender_type, m.type);
  // The JSON texts live in the state until the write returns: no copy.
  stmt.BindStatic(7, st.content);
  stmt.Bind(8, m.timestamp);
  stmt.Bind(9, m.is_complete);
  if (st.addressed) {
    stmt.BindStatic(10, *st.addressed);
  } else {
    stmt.BindNull(10);
  }
  if (st.metadata) {
    stmt.BindStatic(11, *st.metadata);
  } else {
    stmt.BindNull(11);
  }
  stmt.Bind(12, m.state);
  if (Status s = stmt.Run(); !s.ok()) {
    // The foreign key proves the channel exists even when its space came from the cache.
    if (s.code() == ErrorCode::kNotFound) return ChannelNotFound(m.channel_id);
    if (s.code() == ErrorCode::kAlreadyExists) {
      return AlreadyExists(fmt::format("message \"{}\" already exists", m.id));
    }
    return s;
  }
  // seq is the rowid, assigned by this very INSERT (the greatest, or the floor a delete left,
  // plus one: migration 0006): no statement of its own.
  m.seq = static_cast<std::uint64_t>(sqlite3_last_insert_rowid(c.db()));
  // TouchChannel keeps a view of the channel id: the state lives until the batch is done.
  ctx.TouchChannel(m.channel_id, m.timestamp);
  ctx.Changed(StoreChange::Kind::kMessageCreated, m.channel_id, m.id);
  ctx.ChannelWritten(m.channel_id, ChannelVersionTable::kMessages);
  return Status::Ok();
}

Result<Message> SqliteStore::FinishAppend(AppendState& st, Status written) {
  if (st.looked_up && (written.ok() || written.code() != ErrorCode::kNotFound)) {
    CacheChannelSpace(st.m.channel_id, st.m.space_id);
  }
  if (!written.ok()) return written;
  return std::move(st.m);
}

Result<Message> SqliteStore::AppendMessage(const NewMessage& in) {
  AGENTCORE_ASSIGN_OR_RETURN(AppendState st, PrepareAppend(in));
  Status written = Write([&](WriteContext& ctx) { return RunAppend(st, ctx); });
  return FinishAppend(st, std::move(written));
}

void SqliteStore::AppendMessageAsync(NewMessage in, MessageCallback done) {
  Result<AppendState> st = PrepareAppend(std::move(in));
  if (!st.ok()) {
    done(st.status());
    return;
  }
  writer_->WriteAsync(MakeAsyncWrite(
      *std::move(st), [](AppendState& s, WriteContext& ctx) { return RunAppend(s, ctx); },
      [this, done = std::move(done)](AppendState& s, Status written) {
        done(FinishAppend(s, std::move(written)));
      }));
}

Result<Message> SqliteStore::GetMessage(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("message id", id));
  return Read([&](Connection& c) { return LoadMessage(c, id); });
}

struct SqliteStore::UpdateState {
  std::string id;
  std::optional<std::string> content;  // encoded JSON
  std::optional<bool> is_complete;
  std::optional<std::string> state;
  std::optional<std::string> type;
  std::optional<std::optional<std::string>> metadata;
  Message out;
};

Result<SqliteStore::UpdateState> SqliteStore::PrepareUpdate(std::string id,
                                                            const MessagePatch& patch) {
  const std::size_t max = options_.max_content_bytes;
  AGENTCORE_RETURN_IF_ERROR(CheckKey("message id", id));
  AGENTCORE_RETURN_IF_ERROR(CheckMessagePatch(patch, max));
  UpdateState st;
  if (patch.content) {
    AGENTCORE_ASSIGN_OR_RETURN(st.content, EncodeJson("message content", *patch.content, max));
  }
  if (patch.metadata) {
    AGENTCORE_ASSIGN_OR_RETURN(st.metadata,
                               EncodeNullableJson("message metadata", *patch.metadata, max));
  }
  st.id = std::move(id);
  st.is_complete = patch.is_complete;
  st.state = patch.state;
  st.type = patch.type;
  return st;
}

Status SqliteStore::RunMessageUpdate(UpdateState& st, WriteContext& ctx) {
  static const std::string sql = fmt::format(
      "UPDATE messages SET content = coalesce(?2, content), "
      "is_complete = coalesce(?3, is_complete), "
      "metadata = CASE WHEN ?4 THEN ?5 ELSE metadata END, state = coalesce(?6, state), "
      "type = coalesce(?7, type) WHERE id = ?1 RETURNING {}",
      kMessageColumns);
  AGENTCORE_ASSIGN_OR_RETURN(Statement stmt, ctx.conn().Prepare(sql));
  stmt.Bind(1, st.id);
  stmt.Bind(2, st.content);
  if (st.is_complete) {
    stmt.Bind(3, *st.is_complete);
  } else {
    stmt.BindNull(3);
  }
  stmt.Bind(4, st.metadata.has_value());
  if (st.metadata) {
    stmt.Bind(5, *st.metadata);
  } else {
    stmt.BindNull(5);
  }
  stmt.Bind(6, st.state);
  stmt.Bind(7, st.type);
  AGENTCORE_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return MessageNotFound(st.id);
  AGENTCORE_ASSIGN_OR_RETURN(st.out, MessageFromRow(stmt));
  AGENTCORE_RETURN_IF_ERROR(stmt.Run());
  ctx.Changed(StoreChange::Kind::kMessageUpdated, st.out.channel_id, st.out.id);
  ctx.ChannelWritten(st.out.channel_id, ChannelVersionTable::kMessages);
  return Status::Ok();
}

Result<Message> SqliteStore::UpdateMessage(std::string_view id, const MessagePatch& patch) {
  AGENTCORE_ASSIGN_OR_RETURN(UpdateState st, PrepareUpdate(std::string(id), patch));
  AGENTCORE_RETURN_IF_ERROR(Write([&](WriteContext& ctx) { return RunMessageUpdate(st, ctx); }));
  return std::move(st.out);
}

void SqliteStore::UpdateMessageAsync(std::string id, MessagePatch patch, MessageCallback done) {
  Result<UpdateState> st = PrepareUpdate(std::move(id), patch);
  if (!st.ok()) {
    done(st.status());
    return;
  }
  writer_->WriteAsync(MakeAsyncWrite(
      *std::move(st), [](UpdateState& s, WriteContext& ctx) { return RunMessageUpdate(s, ctx); },
      [done = std::move(done)](UpdateState& s, Status written) {
        if (!written.ok()) {
          done(std::move(written));
        } else {
          done(std::move(s.out));
        }
      }));
}

// CompleteMessage: the insert of AppendMessage; if the id is taken, the update that completes
// the streamed message, in the same write (one transaction, one commit).
struct SqliteStore::CompleteState {
  AppendState append;
  UpdateState update;  // here, not on the stack: the write keeps views of its channel id
  CompletedMessage outcome;
};

Result<SqliteStore::CompleteState> SqliteStore::PrepareComplete(NewMessage in) {
  if (in.id.empty()) return InvalidArgument("CompleteMessage needs a message id");
  in.is_complete = true;
  CompleteState st;
  AGENTCORE_ASSIGN_OR_RETURN(st.append, PrepareAppend(std::move(in)));
  return st;
}

Status SqliteStore::RunComplete(CompleteState& st, WriteContext& ctx) {
  Status inserted = RunAppend(st.append, ctx);
  if (inserted.ok()) {
    st.outcome = CompletedMessage{MessageCompletion::kInserted, st.append.m.seq};
    return inserted;
  }
  if (inserted.code() != ErrorCode::kAlreadyExists) return inserted;
  // A failed INSERT rolls back only itself: the transaction goes on. RunAppend resolved the
  // channel's space before inserting, so both are known here.
  const Message& m = st.append.m;
  struct Existing {
    std::string space_id;
    std::string channel_id;
    bool complete = false;
    std::uint64_t seq = 0;
  };
  AGENTCORE_ASSIGN_OR_RETURN(
      Existing existing,
      QueryOne<Existing>(
          ctx.conn(),
          "SELECT space_id, channel_id, is_complete, seq FROM messages WHERE id = ?1",
          [](const Statement& row) -> Result<Existing> {
            return Existing{row.String(0), row.String(1), row.Int(2) != 0,
                            static_cast<std::uint64_t>(row.Int(3))};
          },
          [&] { return MessageNotFound(m.id); }, m.id));
  if (existing.channel_id != m.channel_id || existing.space_id != m.space_id) {
    return AlreadyExists(fmt::format("message id {} is taken by another channel", m.id));
  }
  if (existing.complete) {
    st.outcome = CompletedMessage{MessageCompletion::kAlreadyComplete, existing.seq};
    return Status::Ok();
  }
  UpdateState& update = st.update;
  update.id = m.id;
  update.content = std::move(st.append.content);
  update.is_complete = true;
  update.metadata = std::move(st.append.metadata);
  update.type = m.type;
  AGENTCORE_RETURN_IF_ERROR(RunMessageUpdate(update, ctx));
  st.outcome = CompletedMessage{MessageCompletion::kCompleted, existing.seq};
  return Status::Ok();
}

Result<CompletedMessage> SqliteStore::CompleteMessage(const NewMessage& in) {
  AGENTCORE_ASSIGN_OR_RETURN(CompleteState st, PrepareComplete(in));
  Status written = Write([&](WriteContext& ctx) { return RunComplete(st, ctx); });
  AGENTCORE_RETURN_IF_ERROR(FinishAppend(st.append, std::move(written)).status());
  return st.outcome;
}

void SqliteStore::CompleteMessageAsync(NewMessage in, CompletionCallback done) {
  Result<CompleteState> st = PrepareComplete(std::move(in));
  if (!st.ok()) {
    done(st.status());
    return;
  }
  writer_->WriteAsync(MakeAsyncWrite(
      *std::move(st), [](CompleteState& s, WriteContext& ctx) { return RunComplete(s, ctx); },
      [this, done = std::move(done)](CompleteState& s, Status written) {
        Status finished = FinishAppend(s.append, std::move(written)).status();
        if (!finished.ok()) {
          done(std::move(finished));
        } else {
          done(s.outcome);
        }
      }));
}

Status SqliteStore::DeleteMessage(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("message id", id));
  // Out here: ChannelWritten keeps a view of it until the write is acknowledged.
  std::string channel_id;
  return Write([&](WriteContext& ctx) -> Status {
    AGENTCORE_ASSIGN_OR_RETURN(Statement st,
                               ctx.conn().Prepare("DELETE FROM messages WHERE id = ?1 "
                                                  "RETURNING channel_id, seq"));
    st.Bind(1, id);
    AGENTCORE_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return MessageNotFound(id);
    channel_id = st.String(0);
    const std::int64_t seq = st.Int(1);
    AGENTCORE_RETURN_IF_ERROR(st.Run());
    // Its seq is never handed out again, even if it was the greatest (migration 0006).
    AGENTCORE_RETURN_IF_ERROR(
        Execute(ctx.conn(), "UPDATE message_seq_floor SET seq = max(seq, ?1)", seq).status());
    ctx.Changed(StoreChange::Kind::kMessageDeleted, channel_id, id);
    ctx.ChannelWritten(channel_id, ChannelVersionTable::kMessages);
    return Status::Ok();
  });
}

Result<MessagePage> SqliteStore::ListMessages(std::string_view channel_id,
                                              const PageRequest& page) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckPageRequest(page));
  const std::size_t limit = ClampLimit(page.limit);
  // `after` reads forward from the cursor; `before` alone and no cursor read backward from the
  // end (newest first) and the page is reversed to oldest first.
  const bool ascending = page.after.has_value();
  const std::string sql = PageSql(page, ascending);
  std::optional<std::string> types;
  if (!page.types.empty()) types = JsonStringArray(page.types);
  return Read([&](Connection& c) -> Result<MessagePage> {
    AGENTCORE_ASSIGN_OR_RETURN(Statement st, c.Prepare(sql));
    st.Bind(1, channel_id);
    if (page.after) st.Bind(2, *page.after);
    if (page.before) st.Bind(3, *page.before);
    if (page.for_agent) st.Bind(4, *page.for_agent);
    if (types) st.Bind(5, *types);
    st.Bind(6, limit + 1);  // one extra row tells whether there is more
    MessagePage out;
    out.messages.reserve(limit);
    for (;;) {
      AGENTCORE_ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) break;
      if (out.messages.size() == limit) {
        out.has_more = true;
        break;
      }
      AGENTCORE_ASSIGN_OR_RETURN(Message m, MessageFromRow(st));
      out.messages.push_back(std::move(m));
    }
    if (!ascending) std::reverse(out.messages.begin(), out.messages.end());
    if (out.messages.empty()) {
      // Only an empty page pays for telling "no such channel" from "no messages".
      AGENTCORE_ASSIGN_OR_RETURN(bool channel,
                                 Exists(c, "SELECT 1 FROM channels WHERE id = ?1", channel_id));
      if (!channel) return ChannelNotFound(channel_id);
    }
    return out;
  });
}

// --- Pending deliveries

Status SqliteStore::EnqueuePending(const PendingDelivery& d) {
  AGENTCORE_RETURN_IF_ERROR(CheckPendingDelivery(d));
  const UnixMillis now = Now();
  return Write([&](WriteContext& ctx) -> Status {
    Connection& c = ctx.conn();
    AGENTCORE_ASSIGN_OR_RETURN(
        bool entry, Exists(c, "SELECT 1 FROM roster WHERE channel_id = ?1 AND callsign = ?2",
                           d.channel_id, d.callsign));
    if (!entry) {
      return NotFound(
          fmt::format("roster entry \"{}\" not found in channel \"{}\"", d.callsign, d.channel_id));
    }
    AGENTCORE_ASSIGN_OR_RETURN(bool message,
                               Exists(c, "SELECT 1 FROM messages WHERE id = ?1 AND channel_id = ?2",
                                      d.message_id, d.channel_id));
    if (!message) {
      return NotFound(
          fmt::format("message \"{}\" not found in channel \"{}\"", d.message_id, d.channel_id));
    }
    return Execute(c,
                   "INSERT INTO pending_deliveries (channel_id, callsign, message_id, "
                   "enqueued_at, attempts) VALUES (?1, ?2, ?3, ?4, 0) ON CONFLICT DO NOTHING",
                   d.channel_id, d.callsign, d.message_id, now)
        .status();
  });
}

Result<std::vector<PendingDelivery>> SqliteStore::TakePending(std::string_view channel_id,
                                                              std::string_view callsign,
                                                              std::size_t limit) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery callsign", callsign));
  const std::size_t n = std::min(limit, kMaxPageSize);
  std::vector<PendingDelivery> out;
  if (n == 0) return out;
  // A write: handing a delivery out raises its attempt count.
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        AGENTCORE_ASSIGN_OR_RETURN(
            bool entry, Exists(c, "SELECT 1 FROM roster WHERE channel_id = ?1 AND callsign = ?2",
                               channel_id, callsign));
        if (!entry) {
          return NotFound(
              fmt::format("roster entry \"{}\" not found in channel \"{}\"", callsign, channel_id));
        }
        static const std::string sql = fmt::format(
            "UPDATE pending_deliveries SET attempts = attempts + 1 "
            "WHERE channel_id = ?1 AND callsign = ?2 AND message_id IN ("
            "SELECT message_id FROM pending_deliveries WHERE channel_id = ?1 AND callsign = ?2 "
            "ORDER BY message_id LIMIT ?3) RETURNING {}",
            kPendingColumns);
        AGENTCORE_ASSIGN_OR_RETURN(
            out, QueryAll<PendingDelivery>(c, sql, PendingFromRow, channel_id, callsign, n));
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  // RETURNING has no defined order.
  std::sort(out.begin(), out.end(), [](const PendingDelivery& a, const PendingDelivery& b) {
    return a.message_id < b.message_id;
  });
  return out;
}

Status SqliteStore::AckPending(std::string_view channel_id, std::string_view callsign,
                               const std::vector<std::string>& message_ids) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery callsign", callsign));
  for (const std::string& id : message_ids) {
    AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery message id", id));
  }
  if (message_ids.empty()) return Status::Ok();
  return Write([&](WriteContext& ctx) -> Status {
    for (const std::string& id : message_ids) {
      AGENTCORE_RETURN_IF_ERROR(
          Execute(ctx.conn(),
                  "DELETE FROM pending_deliveries WHERE channel_id = ?1 AND callsign = ?2 AND "
                  "message_id = ?3",
                  channel_id, callsign, id)
              .status());
    }
    return Status::Ok();
  });
}

}  // namespace agentcore::internal::sqlite
