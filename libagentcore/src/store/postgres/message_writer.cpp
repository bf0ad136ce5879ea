// SPDX-License-Identifier: Apache-2.0
#include "store/postgres/message_writer.hpp"

#include <pthread.h>

#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "store/postgres/pg_rows.hpp"
#include "store/postgres/pg_statements.hpp"

namespace agentcore::internal {
namespace {

// The batch as one binary array per column of the insert (kInsertMessages' $1..$12).
void FillInsertParams(const std::vector<PendingAppend*>& batch, PgParams* p) {
  PgArray ids(PgArray::kText), spaces(PgArray::kText), channels(PgArray::kText);
  PgArray senders(PgArray::kText), sender_types(PgArray::kText), types(PgArray::kText);
  PgArray contents(PgArray::kJson), timestamps(PgArray::kInt8), complete(PgArray::kBool);
  PgArray agents(PgArray::kJson), metadata(PgArray::kJson), states(PgArray::kText);
  for (const PendingAppend* a : batch) {
    const Message& m = a->message;
    ids.Add(m.id);
    spaces.Add(m.space_id);
    channels.Add(m.channel_id);
    senders.Add(m.sender);
    sender_types.Add(m.sender_type);
    types.Add(m.type);
    contents.Add(a->content_json);
    timestamps.AddInt64(m.timestamp);
    complete.AddBool(m.is_complete);
    if (a->agents_json) {
      agents.Add(*a->agents_json);
    } else {
      agents.AddNull();
    }
    metadata.Add(a->metadata_json);
    if (m.state) {
      states.Add(*m.state);
    } else {
      states.AddNull();
    }
  }
  for (PgArray* column : {&ids, &spaces, &channels, &senders, &sender_types, &types, &contents,
                          &timestamps, &complete, &agents, &metadata, &states}) {
    p->OwnedBinary(column->Finish());
  }
}

bool Retryable(const PgReply& r) { return r.sqlstate == "40001" || r.sqlstate == "40P01"; }

}  // namespace

MessageWriter::MessageWriter(std::string conninfo, std::span<const PgStatement> statements,
                             int connections, std::size_t max_batch)
    : conninfo_(std::move(conninfo)),
      statements_(statements),
      max_batch_(max_batch < 1 ? 1 : max_batch) {
  const std::size_t n = connections < 1 ? 1 : static_cast<std::size_t>(connections);
  for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this, i] { Run(i); });
}

MessageWriter::~MessageWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
  // The threads finished their batches; nothing queued now has been sent.
  for (PendingAppend* a : queue_) {
    a->result = Unavailable("postgresql store is closing");
    a->done.Wake();  // wake[] is empty: each is woken here
  }
}

Result<Message> MessageWriter::Append(PendingAppend* append) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return Unavailable("postgresql store is closing");
    queue_.push_back(append);
  }
  cv_.notify_one();
  append->done.Wait();
  // The batch-mates below this one are still blocked, so their objects are alive.
  for (PendingAppend* next : append->wake) {
    if (next != nullptr) next->done.Wake();
  }
  return std::move(append->result);
}

void MessageWriter::Run(std::size_t index) {
  pthread_setname_np(pthread_self(), fmt::format("agentcore-pgwr{}", index).c_str());
  std::unique_ptr<PgConnection> conn;
  std::vector<PendingAppend*> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) break;
      // An id already in the batch stays queued for the next one: a batch never holds two
      // appends with one id, so "taken" after the commit means taken by a committed message.
      std::unordered_set<std::string_view> ids;
      for (auto it = queue_.begin(); it != queue_.end() && batch.size() < max_batch_;) {
        if (ids.insert((*it)->message.id).second) {
          batch.push_back(*it);
          it = queue_.erase(it);
        } else {
          ++it;
        }
      }
    }
    // Another writer may be idle while this one commits: let it take what arrives meanwhile.
    cv_.notify_one();
    Commit(&conn, batch);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      batch[i]->wake[0] = 2 * i + 1 < batch.size() ? batch[2 * i + 1] : nullptr;
      batch[i]->wake[1] = 2 * i + 2 < batch.size() ? batch[2 * i + 2] : nullptr;
    }
    batch[0]->done.Wake();
    batch.clear();
  }
}

void MessageWriter::Commit(std::unique_ptr<PgConnection>* conn,
                           const std::vector<PendingAppend*>& batch) {
  // Resending is safe only while nothing of the batch can have been applied: it was not sent,
  // or the server rolled it back (deadlock, serialization failure). Three tries at most.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (*conn == nullptr || !(*conn)->CheckAlive()) {
      conn->reset();
      Result<std::unique_ptr<PgConnection>> fresh = PgConnection::Connect(conninfo_, statements_);
      if (!fresh) {
        for (PendingAppend* a : batch) a->result = fresh.error();
        return;
      }
      *conn = std::move(fresh).value();
    }
    switch (TryCommit(**conn, batch)) {
      case Outcome::kDone:
        return;
      case Outcome::kResend:
        break;
      case Outcome::kSplit:
        // A SQL error rolled the batch back: run each message alone so only the culprit fails.
        for (PendingAppend* a : batch) Commit(conn, {a});
        return;
    }
  }
}

MessageWriter::Outcome MessageWriter::TryCommit(PgConnection& conn,
                                                const std::vector<PendingAppend*>& batch) {
  PgParams none;
  PgParams insert;
  FillInsertParams(batch, &insert);
  // BEGIN/COMMIT rather than the pipeline's implicit transaction, so that the commit has a
  // result of its own. The insert's triggers touch the channels and send the NOTIFY.
  const PgCall calls[] = {{Index(Stmt::kBegin), &none},
                          {Index(Stmt::kInsertMessages), &insert},
                          {Index(Stmt::kCommit), &none}};

  std::vector<PgReply> replies;
  const Status sent = conn.Run(calls, &replies);
  if (!sent.ok()) {
    for (PendingAppend* a : batch) a->result = sent;
    return sent.code() == ErrorCode::kUnavailable ? Outcome::kResend : Outcome::kDone;
  }
  if (!replies.back().ok()) {
    // Rolled back: nothing of the batch was applied. Find the statement that failed.
    const PgReply* failed = nullptr;
    for (const PgReply& r : replies) {
      if (!r.status.ok()) {
        failed = &r;
        break;
      }
    }
    const Status why = failed != nullptr ? failed->status : Internal("postgresql batch failed");
    for (PendingAppend* a : batch) a->result = why;
    if (failed != nullptr && Retryable(*failed)) return Outcome::kResend;
    return batch.size() == 1 ? Outcome::kDone : Outcome::kSplit;
  }
  // Committed. RETURNING lists the messages that went in, with their channel's space.
  std::unordered_map<std::string_view, PendingAppend*> by_id;
  for (PendingAppend* a : batch) by_id.emplace(a->message.id, a);
  const PGresult* inserted = replies[1].result.get();
  for (int i = 0; i < PQntuples(inserted); ++i) {
    const PgRow row(inserted, i);
    auto it = by_id.find(row.View(0));
    if (it == by_id.end()) continue;
    it->second->message.space_id = row.Str(1);
    it->second->message.seq = static_cast<std::uint64_t>(row.Int(2));
    it->second->result = std::move(it->second->message);
    by_id.erase(it);
  }
  for (auto& [id, a] : by_id) a->result = Explain(conn, *a);
  return Outcome::kDone;
}

Status MessageWriter::Explain(PgConnection& conn, const PendingAppend& a) {
  PgParams by_channel;
  by_channel.Text(a.message.channel_id);
  const PgCall calls[] = {{Index(Stmt::kGetChannel), &by_channel}};
  std::vector<PgReply> replies;
  Status s = conn.Run(calls, &replies);
  if (!s.ok()) {
    // The insert itself committed as "nothing inserted", so the outcome is known; only the
    // reason is not.
    return Unavailable(fmt::format("message \"{}\" was not appended, and the reason could not "
                                   "be read: {}",
                                   a.message.id, s.message()));
  }
  for (const PgReply& r : replies) {
    if (!r.ok()) return r.status;
  }
  // The same order of reasons as the SQLite store: channel, space, then id.
  if (PQntuples(replies[0].result.get()) == 0) {
    return NotFound(fmt::format("channel \"{}\" not found", a.message.channel_id));
  }
  const Channel channel = DecodeChannel(PgRow(replies[0].result.get(), 0));
  if (!a.message.space_id.empty() && channel.space_id != a.message.space_id) {
    return InvalidArgument(fmt::format("channel \"{}\" is not in space \"{}\"",
                                       a.message.channel_id, a.message.space_id));
  }
  // The id was taken (or was, and that message has been deleted since).
  return AlreadyExists(fmt::format("message \"{}\" already exists", a.message.id));
}

}  // namespace agentcore::internal
