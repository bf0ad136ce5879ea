// SPDX-License-Identifier: Apache-2.0
// PostgresStore: messages and pending deliveries.
#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include <agentcore/json_writer.hpp>

#include "store/postgres/postgres_store.hpp"
#include "store/record_checks.hpp"

namespace agentcore::internal {
namespace {

Status RosterNotFound(std::string_view channel_id, std::string_view callsign) {
  return NotFound(
      fmt::format("roster entry \"{}\" not found in channel \"{}\"", callsign, channel_id));
}

}  // namespace

Result<Message> PostgresStore::AppendMessage(const NewMessage& in) {
  const std::size_t max = options_.max_content_bytes;
  AGENTCORE_RETURN_IF_ERROR(CheckNewMessage(in, max));
  PendingAppend a;
  AGENTCORE_ASSIGN_OR_RETURN(a.content_json, EncodeJson("message content", in.content, max));
  AGENTCORE_ASSIGN_OR_RETURN(a.metadata_json, EncodeJson("message metadata", in.metadata, max));
  if (in.addressed_agents) {
    // Checked by CheckNewMessage; JSON because the insert takes one array per column, and an
    // array of arrays would have to be rectangular.
    std::string agents;
    JsonWriter w(&agents);
    w.BeginArray();
    for (const std::string& callsign : *in.addressed_agents) w.String(callsign);
    w.EndArray();
    a.agents_json = std::move(agents);
  }
  Message& m = a.message;
  m.id = in.id.empty() ? ids_.Next() : in.id;
  m.space_id = in.space_id;
  m.channel_id = in.channel_id;
  m.sender = in.sender;
  m.sender_type = in.sender_type;
  m.type = in.type;
  m.content = in.content;
  m.timestamp = in.timestamp.value_or(Now());
  m.is_complete = in.is_complete;
  m.addressed_agents = in.addressed_agents;
  m.metadata = in.metadata;
  m.state = in.state;
  Result<Message> appended = writer_->Append(&a);
  // Its trigger logged the message (kUnknownOutcome: maybe): wake the listeners.
  if (appended.ok() || appended.status().code() == ErrorCode::kUnknownOutcome) {
    notifier_->Poke();
  }
  ChannelWritten(appended.status(), in.channel_id, ChannelVersionTable::kMessages);
  return appended;
}

Result<Message> PostgresStore::GetMessage(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("message id", id));
  PgParams p;
  p.Text(id);
  AGENTCORE_ASSIGN_OR_RETURN(PgResultPtr r, Query(Access::kRead, Stmt::kGetMessage, p));
  if (PQntuples(r.get()) == 0) return NotFound(fmt::format("message \"{}\" not found", id));
  return DecodeMessage(PgRow(r.get(), 0));
}

Result<Message> PostgresStore::UpdateMessage(std::string_view id, const MessagePatch& patch) {
  const std::size_t max = options_.max_content_bytes;
  AGENTCORE_RETURN_IF_ERROR(CheckKey("message id", id));
  AGENTCORE_RETURN_IF_ERROR(CheckMessagePatch(patch, max));
  std::optional<std::string> content, metadata;
  if (patch.content) {
    AGENTCORE_ASSIGN_OR_RETURN(content, EncodeJson("message content", *patch.content, max));
  }
  if (patch.metadata) {
    AGENTCORE_ASSIGN_OR_RETURN(metadata, EncodeJson("message metadata", *patch.metadata, max));
  }
  PgParams p;
  p.Text(id).OptText(content).OptBool(patch.is_complete).OptText(metadata);
  p.OptText(patch.state).OptText(patch.type);
  Result<PgResultPtr> r = Query(Access::kWrite, Stmt::kUpdateMessage, p);
  if (!r.has_value()) {
    // The channel is in the lost reply: any channel may have changed.
    if (r.status().code() == ErrorCode::kUnknownOutcome) versions_.RaiseAll();
    return r.status();
  }
  if (PQntuples(r->get()) == 0) return NotFound(fmt::format("message \"{}\" not found", id));
  Result<Message> out = DecodeMessage(PgRow(r->get(), 0));
  if (out.has_value()) versions_.Raise(out->channel_id, ChannelVersionTable::kMessages);
  return out;
}

Status PostgresStore::DeleteMessage(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("message id", id));
  PgParams p;
  p.Text(id);
  Result<PgResultPtr> r = Query(Access::kWrite, Stmt::kDeleteMessage, p);
  if (!r.has_value()) {
    if (r.status().code() == ErrorCode::kUnknownOutcome) versions_.RaiseAll();
    return r.status();
  }
  if (PQntuples(r->get()) == 0) return NotFound(fmt::format("message \"{}\" not found", id));
  // The statement returns the deleted message's channel.
  versions_.Raise(PgRow(r->get(), 0).View(0), ChannelVersionTable::kMessages);
  return Status::Ok();
}

Result<MessagePage> PostgresStore::ListMessages(std::string_view channel_id,
                                                const PageRequest& page) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckPageRequest(page));
  const std::size_t limit = std::clamp<std::size_t>(page.limit, 1, kMaxPageSize);
  Stmt stmt = Stmt::kPageNewest;
  bool descending = true;
  PgParams p;
  p.Text(channel_id);
  if (page.after) {
    stmt = page.before ? Stmt::kPageBetween : Stmt::kPageAfter;
    descending = false;
    p.Text(*page.after);
  } else if (page.before) {
    stmt = Stmt::kPageBefore;
    p.Text(*page.before);
  } else {
    p.Null();
  }
  // One row more than the page tells whether there are more.
  p.OptText(page.for_agent).TextArray(page.types).Int(static_cast<std::int64_t>(limit) + 1);
  if (stmt == Stmt::kPageBetween) p.Text(*page.before);
  PgParams channel;
  channel.Text(channel_id);
  // The channel check rides in the same pipeline: no extra round trip.
  const PgCall calls[] = {{Index(Stmt::kChannelExists), &channel}, {Index(stmt), &p}};
  std::vector<PgReply> replies;
  AGENTCORE_RETURN_IF_ERROR(Pipeline(Access::kRead, calls, &replies));
  for (const PgReply& r : replies) {
    if (!r.ok()) return r.status;
  }
  if (PQntuples(replies[0].result.get()) == 0) {
    return NotFound(fmt::format("channel \"{}\" not found", channel_id));
  }
  const PGresult* rows = replies[1].result.get();
  const int n = PQntuples(rows);
  MessagePage out;
  out.has_more = static_cast<std::size_t>(n) > limit;
  const int take = std::min(n, static_cast<int>(limit));
  out.messages.reserve(static_cast<std::size_t>(take));
  for (int i = 0; i < take; ++i) {
    AGENTCORE_ASSIGN_OR_RETURN(Message m, DecodeMessage(PgRow(rows, i)));
    out.messages.push_back(std::move(m));
  }
  if (descending) std::reverse(out.messages.begin(), out.messages.end());
  return out;
}

// --- Pending deliveries

Status PostgresStore::EnqueuePending(const PendingDelivery& delivery) {
  AGENTCORE_RETURN_IF_ERROR(CheckPendingDelivery(delivery));
  PgParams p;
  p.Text(delivery.channel_id).Text(delivery.callsign).Text(delivery.message_id).Int(Now());
  AGENTCORE_ASSIGN_OR_RETURN(PgReply r, Exec(Access::kWrite, Stmt::kEnqueuePending, p));
  const PgRow flags(r.result.get(), 0);
  if (r.ok() && !flags.Bool(0)) {
    return RosterNotFound(delivery.channel_id, delivery.callsign);
  }
  if (r.ok() && !flags.Bool(1)) {
    return NotFound(fmt::format("message \"{}\" not found in channel \"{}\"", delivery.message_id,
                                delivery.channel_id));
  }
  // kNotFound here: the entry or message was deleted between the check and the insert.
  return r.ok() ? Status::Ok() : r.status;
}

Result<std::vector<PendingDelivery>> PostgresStore::TakePending(std::string_view channel_id,
                                                                std::string_view callsign,
                                                                std::size_t limit) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery callsign", callsign));
  const std::size_t n = std::min(limit, kMaxPageSize);
  if (n == 0) return std::vector<PendingDelivery>();
  PgParams entry;
  entry.Text(channel_id).Text(callsign);
  PgParams p;
  p.Text(channel_id).Text(callsign).Int(static_cast<std::int64_t>(n));
  // One pipeline, one transaction: the entry check and the take.
  const PgCall calls[] = {{Index(Stmt::kRosterExists), &entry}, {Index(Stmt::kTakePending), &p}};
  std::vector<PgReply> replies;
  AGENTCORE_RETURN_IF_ERROR(Pipeline(Access::kWrite, calls, &replies));
  for (const PgReply& r : replies) {
    if (!r.ok()) return r.status;
  }
  if (PQntuples(replies[0].result.get()) == 0) return RosterNotFound(channel_id, callsign);
  std::vector<PendingDelivery> out;
  const PGresult* rows = replies[1].result.get();
  for (int i = 0; i < PQntuples(rows); ++i) out.push_back(DecodePendingDelivery(PgRow(rows, i)));
  // UPDATE ... RETURNING has no order of its own.
  std::sort(out.begin(), out.end(), [](const PendingDelivery& a, const PendingDelivery& b) {
    return a.message_id < b.message_id;
  });
  return out;
}

Status PostgresStore::AckPending(std::string_view channel_id, std::string_view callsign,
                                 const std::vector<std::string>& message_ids) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery callsign", callsign));
  for (const std::string& id : message_ids) {
    AGENTCORE_RETURN_IF_ERROR(CheckKey("delivery message id", id));
  }
  if (message_ids.empty()) return Status::Ok();
  PgParams p;
  p.Text(channel_id).Text(callsign).TextArray(message_ids);
  return Query(Access::kWrite, Stmt::kAckPending, p).status();
}

}  // namespace agentcore::internal
