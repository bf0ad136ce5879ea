// SPDX-License-Identifier: Apache-2.0
#pragma once

// The single writer of a SQLite store, with group commit. Callers hand a write (a function
// that runs statements) to Write() and block. The writer thread ("agentcore-sqlw") takes every
// write queued so far (at most max_batch), runs them in one transaction, each inside its own
// SAVEPOINT so that a failing write (a duplicate id, say) is rolled back alone, commits once,
// publishes the changes of the writes that succeeded to the change feed, and only then wakes
// each caller with its own status. While one batch commits, the next one queues up, so under
// load one commit (and with synchronous=FULL one fsync) covers many writes. Thread-safe.
//
// WriteAsync() queues an owning write instead and returns at once; the writer thread calls its
// Done() after the commit that holds it (or with the error that failed it), after the change
// feed got the batch's changes, with no writer lock held. Async and blocking writes share the
// queue and its order: writes submitted by one thread commit, and complete, in that order.

#include <agentcore/clock.hpp>
#include <agentcore/status.hpp>
#include <agentcore/store/records.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "store/change_feed.hpp"
#include "store/channel_versions.hpp"
#include "store/function_ref.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/reader_pool.hpp"

namespace agentcore::internal::sqlite {

// What a write sees: the writer connection, inside a transaction and a savepoint, and two
// effects that only take place if the write succeeds. Used on the writer thread only.
class WriteContext {
 public:
  WriteContext(Connection& conn, bool feed_active) : conn_(conn), feed_active_(feed_active) {}

  Connection& conn() { return conn_; }
  // Publishes a change to the change feed after the commit (nothing is built when no one
  // listens).
  void Changed(StoreChange::Kind kind, std::string_view channel_id, std::string_view id,
               std::uint64_t seq = 0) {
    if (!feed_active_) return;
    changes_.push_back({kind, std::string(channel_id), std::string(id), seq, {}});
  }
  // Publishes a cluster event (Store::AppendClusterEvents) after the commit, as Changed().
  void ChangedCluster(const ClusterEvent& event) {
    if (!feed_active_) return;
    changes_.push_back({StoreChange::Kind::kCluster, event.channel_id, event.key, 0, event});
  }
  // Raises the channel's last_active_at to `at` before the commit. The writer merges these per
  // batch, so a burst of appends to one channel updates its row once per commit, not per
  // message. `channel_id` must stay valid until the write returns (it is the caller's).
  void TouchChannel(std::string_view channel_id, UnixMillis at) {
    touched_.emplace_back(channel_id, at);
  }
  // Raises the channel's version counters (`parts`: ChannelVersionTable::Part bits) after the
  // commit, before any caller of the batch is acknowledged. Every write that changes a
  // channel's messages, row or roster must call it. `channel_id` must stay valid until the
  // write is acknowledged (the blocking caller's frame or the async write's state).
  void ChannelWritten(std::string_view channel_id, unsigned parts) {
    written_.emplace_back(channel_id, parts);
  }

 private:
  friend class Writer;
  Connection& conn_;
  const bool feed_active_;
  std::vector<StoreChange> changes_;
  std::vector<std::pair<std::string_view, UnixMillis>> touched_;
  std::vector<std::pair<std::string_view, unsigned>> written_;
};

// A write that owns what it needs, for Writer::WriteAsync().
class AsyncWrite {
 public:
  virtual ~AsyncWrite() = default;
  // Runs in a batch on the writer thread, like a Write() function.
  virtual Status Run(WriteContext& ctx) = 0;
  // Called once: on the writer thread after the batch committed (the status is Run()'s) or
  // failed (the batch's error), with no writer lock held; or on the submitting thread, inside
  // WriteAsync(), when the writer has stopped (kUnavailable). Must not throw and must not
  // block on another write (a blocking Write() from here would wait for this very thread).
  virtual void Done(Status status) = 0;
};

// An AsyncWrite holding `state`, running run(state, ctx) and then done(state, status).
template <typename State, typename RunFn, typename DoneFn>
std::unique_ptr<AsyncWrite> MakeAsyncWrite(State state, RunFn run, DoneFn done) {
  class Impl final : public AsyncWrite {
   public:
    Impl(State s, RunFn r, DoneFn d)
        : state_(std::move(s)), run_(std::move(r)), done_(std::move(d)) {}
    Status Run(WriteContext& ctx) override { return run_(state_, ctx); }
    void Done(Status status) override { done_(state_, std::move(status)); }

   private:
    State state_;
    RunFn run_;
    DoneFn done_;
  };
  return std::make_unique<Impl>(std::move(state), std::move(run), std::move(done));
}

class Writer {
 public:
  using WriteFn = FunctionRef<Status(WriteContext&)>;
  using ExclusiveFn = FunctionRef<Status(Connection&)>;

  // Writes go to `own`, or, when `own` is null, to the single connection of `shared`, which
  // the writer then leases for each batch (the ":memory:" mode: readers and writer share one
  // connection and so never see an uncommitted batch). `feed` is not owned and must outlive
  // the writer; so is `versions`, whose counters the writer raises after each commit (see
  // WriteContext::ChannelWritten). REQUIRES: exactly one of own/shared; max_batch >= 1.
  Writer(std::unique_ptr<Connection> own, ReaderPool* shared, ChangeFeed* feed,
         ChannelVersionTable* versions, int max_batch);
  // Stop() (the connection is closed here).
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Runs `fn` in the next batch and returns its status once the batch committed, or the
  // commit's error. A write must not start or end transactions itself.
  Status Write(WriteFn fn);
  // Queues `write` for the next batch and returns; see AsyncWrite for when Done() runs.
  void WriteAsync(std::unique_ptr<AsyncWrite> write);
  // Runs `fn` alone between batches, outside any transaction (migrations manage their own).
  Status Exclusive(ExclusiveFn fn);
  // Returns once every write queued before the call has finished.
  void Barrier();

  // Runs what is queued, then joins the thread; later writes fail with kUnavailable.
  // Idempotent.
  void Stop();

  // Transactions committed and writes committed, for tests and benchmarks.
  std::uint64_t commits() const {
    std::lock_guard lock(mu_);
    return commits_;
  }
  std::uint64_t writes() const {
    std::lock_guard lock(mu_);
    return writes_;
  }
  // Writes waiting for the writer thread (not yet taken into a batch).
  std::size_t QueueLengthForTesting() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

 private:
  struct Op;

  Status Submit(Op& op);
  void Run();
  // Wakes the blocked callers of a finished batch and completes its async writes.
  void Complete(const std::vector<Op*>& batch);
  void RunBatch(Connection& conn, const std::vector<Op*>& batch);
  static void Finish(Op& op);

  // Constant after construction.
  std::unique_ptr<Connection> own_;
  ReaderPool* const shared_;
  ChangeFeed* const feed_;
  ChannelVersionTable* const versions_;
  const std::size_t max_batch_;

  // Guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable cv_;  // queue_ grew or stop_ set
  std::deque<Op*> queue_;
  bool stop_ = false;
  std::uint64_t commits_ = 0;
  std::uint64_t writes_ = 0;

  // Writer thread only: Complete()'s split of a batch.
  std::vector<Op*> waiting_;
  std::vector<Op*> async_;
  // Writer thread only: RunBatch()'s channels whose versions the batch raises, merged.
  std::vector<std::pair<std::string_view, unsigned>> written_;

  std::thread thread_;  // last: starts after everything above is ready
};

}  // namespace agentcore::internal::sqlite
