// SPDX-License-Identifier: Apache-2.0
#pragma once

// Group commit for AppendMessage, the PostgreSQL way.
//
// Callers queue their (already checked and encoded) messages and wait. The writer thread
// ("agentcore-pgwr0") owns one connection; it takes everything queued (up to max_batch) and
// sends it as one pipeline, in one round trip:
//
//   BEGIN; INSERT all n messages; COMMIT
//
// and acknowledges each caller once COMMIT's result arrived. While a batch is in flight the
// next one queues up, so batches grow with load and a commit's flush is paid once per batch
// instead of once per message. The INSERT carries the batch as one binary array per column
// (unnest): one statement instead of n costs the server less CPU per message, and its statement
// triggers (touching the channels, sending the NOTIFY) run once per batch.
//
// Why batching matters more on PostgreSQL than the flush alone: the NOTIFY every insert sends
// (migration 0004) makes a commit take a database-wide lock until its commit record is flushed,
// so notifying transactions commit strictly one at a time. With one message per transaction
// the store could never ack more messages per second than the disk does flushes. For the same
// reason one writer connection beats two: two split the waiting callers into two batches that
// still commit one after the other, paying two flushes where one would do
// (docs/storage-postgres.md has the measurements).
//
// Failures. A message whose channel is missing or whose id is taken inserts no row instead of
// raising an error (a join and ON CONFLICT DO NOTHING), so it cannot abort the batch; after the
// commit the writer tells the reasons apart (kNotFound, kInvalidArgument for another space,
// kAlreadyExists). Two appends with one id never share a batch (the second waits for the
// next), so "taken" always means taken by a committed message. Any other SQL error aborts the
// batch (nothing of it is applied), and its messages are then retried one per transaction, so
// only the culprit fails. A connection lost before the batch was sent is
// replaced and the batch resent; lost after, every message of the batch gets kUnknownOutcome
// and is never resent: the caller retries with the same id and learns the outcome from
// kAlreadyExists.
//
// Thread-safe.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <agentcore/result.hpp>
#include <agentcore/store/records.hpp>

#include "store/postgres/pg_connection.hpp"

namespace agentcore::internal {

/// Blocks one caller until its batch is done. A mutex and condition variable rather than
/// std::binary_semaphore: libstdc++'s semaphore spins with sched_yield before it sleeps, which
/// with 64 waiting callers on two cores burned a fifth of the client's CPU (perf).
class Waiter {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  void Wake() {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    // Under the lock: once the waiter sees done_ it returns and its Waiter (on its stack) is
    // gone, so nothing may touch cv_ after the mutex is released (ThreadSanitizer found this).
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
};

/// One queued append; lives on the caller's stack while it waits.
struct PendingAppend {
  Message message;           // complete, except space_id when the caller gave none
  std::string content_json;  // message.content, encoded and checked
  std::string metadata_json;
  std::optional<std::string> agents_json;  // message.addressed_agents as a JSON array
  Result<Message> result = Status(ErrorCode::kInternal, "append not run");
  Waiter done;
  // Woken callers wake the rest of their batch as a binary tree: the writer thread releases
  // only the first, and is back at the queue after one wake-up instead of one per message.
  PendingAppend* wake[2] = {nullptr, nullptr};
};

class MessageWriter {
 public:
  /// Starts `connections` writer threads; connections open lazily. `statements` is not owned.
  MessageWriter(std::string conninfo, std::span<const PgStatement> statements, int connections,
                std::size_t max_batch);
  /// Fails what is still queued with kUnavailable and joins the threads.
  ~MessageWriter();
  MessageWriter(const MessageWriter&) = delete;
  MessageWriter& operator=(const MessageWriter&) = delete;

  /// Queues `append` and waits for its commit (or failure).
  Result<Message> Append(PendingAppend* append);

 private:
  void Run(std::size_t index);
  /// Commits `batch` on *conn (replacing it when broken) and fills every result.
  void Commit(std::unique_ptr<PgConnection>* conn, const std::vector<PendingAppend*>& batch);
  enum class Outcome {
    kDone,    // every result is final
    kResend,  // nothing was applied (not sent, or rolled back by a deadlock): send it again
    kSplit,   // a SQL error rolled it back: commit the messages one by one
  };
  /// One attempt on `conn`; fills every result with the latest outcome.
  Outcome TryCommit(PgConnection& conn, const std::vector<PendingAppend*>& batch);
  /// Why an insert found nothing to insert: kAlreadyExists or kNotFound.
  Status Explain(PgConnection& conn, const PendingAppend& append);

  // Constant after construction.
  const std::string conninfo_;
  const std::span<const PgStatement> statements_;
  const std::size_t max_batch_;

  std::mutex mu_;
  std::condition_variable cv_;
  // Guarded by mu_.
  std::deque<PendingAppend*> queue_;
  bool stop_ = false;

  std::vector<std::thread> threads_;
};

}  // namespace agentcore::internal
