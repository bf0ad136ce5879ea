// SPDX-License-Identifier: Apache-2.0
#include "store/sqlite/writer.hpp"

#include <fmt/format.h>
#include <pthread.h>

#include <algorithm>
#include <cassert>
#include <optional>

namespace agentcore::internal::sqlite {

namespace {

// Runs `sql` through the statement cache (BEGIN, SAVEPOINT and friends run once per write).
Status Simple(Connection& conn, std::string_view sql) {
  auto stmt = conn.Prepare(sql);
  if (!stmt) return stmt.status();
  return stmt->Run();
}

}  // namespace

struct Writer::Op {
  Op(WriteFn w) : write(w) {}          // NOLINT
  Op(ExclusiveFn e) : exclusive(e) {}  // NOLINT
  explicit Op(std::unique_ptr<AsyncWrite> a) : async(std::move(a)) {}

  std::optional<WriteFn> write;
  std::unique_ptr<AsyncWrite> async;  // set: nobody waits; the writer owns (and deletes) the op
  std::optional<ExclusiveFn> exclusive;
  std::vector<StoreChange> changes;  // of a successful write, published after the commit

  // The caller waits on its own op: the signaller sets `done` under `mu`, so the caller cannot
  // return (and destroy the op) before the signaller is done touching it.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Status status;
  // Ops of the same batch that this op's caller wakes once it is woken itself (see Run()).
  Op* wake[2] = {nullptr, nullptr};
};

Writer::Writer(std::unique_ptr<Connection> own, ReaderPool* shared, ChangeFeed* feed,
               ChannelVersionTable* versions, int max_batch)
    : own_(std::move(own)),
      shared_(shared),
      feed_(feed),
      versions_(versions),
      max_batch_(static_cast<std::size_t>(max_batch)),
      thread_([this] {
        pthread_setname_np(pthread_self(), "agentcore-sqlw");
        Run();
      }) {
  assert((own_ != nullptr) != (shared_ != nullptr));
  assert(max_batch >= 1);
}

Writer::~Writer() { Stop(); }

void Writer::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

Status Writer::Write(WriteFn fn) {
  Op op(fn);
  return Submit(op);
}

Status Writer::Exclusive(ExclusiveFn fn) {
  Op op(fn);
  return Submit(op);
}

void Writer::WriteAsync(std::unique_ptr<AsyncWrite> write) {
  auto op = std::make_unique<Op>(std::move(write));
  {
    std::lock_guard lock(mu_);
    if (!stop_) {
      queue_.push_back(op.release());
    }
  }
  if (op == nullptr) {
    cv_.notify_one();
    return;
  }
  op->async->Done(Status(ErrorCode::kUnavailable, "sqlite store is closing"));
}

void Writer::Barrier() {
  (void)Exclusive([](Connection&) { return Status::Ok(); });
}

Status Writer::Submit(Op& op) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return Status(ErrorCode::kUnavailable, "sqlite store is closing");
    queue_.push_back(&op);
  }
  cv_.notify_one();
  Op* wake[2];
  {
    std::unique_lock lock(op.mu);
    op.cv.wait(lock, [&] { return op.done; });
    wake[0] = op.wake[0];
    wake[1] = op.wake[1];
  }
  // Pass the wake-up on: the writer wakes only the first op of a batch, and each woken caller
  // wakes two more, so the futex calls of a 64-write batch do not all fall on the writer.
  for (Op* next : wake) {
    if (next != nullptr) Finish(*next);
  }
  return std::move(op.status);
}

void Writer::Finish(Op& op) {
  std::lock_guard lock(op.mu);
  op.done = true;
  op.cv.notify_one();
}

void Writer::Run() {
  std::vector<Op*> batch;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and every queued write has run
      // Group commit: everything queued now, up to max_batch, goes into one transaction. An
      // exclusive op runs alone, so a batch stops in front of one.
      if (queue_.front()->exclusive) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      } else {
        while (!queue_.empty() && batch.size() < max_batch_ && !queue_.front()->exclusive) {
          batch.push_back(queue_.front());
          queue_.pop_front();
        }
      }
    }
    std::optional<ReaderPool::Lease> lease;
    if (shared_ != nullptr) lease.emplace(shared_->Acquire());
    Connection& conn = lease ? **lease : *own_;
    if (batch.front()->exclusive) {
      Op& op = *batch.front();
      op.status = (*op.exclusive)(conn);
      lease.reset();
      Finish(op);
      continue;
    }
    RunBatch(conn, batch);
    lease.reset();
    Complete(batch);
  }
}

void Writer::Complete(const std::vector<Op*>& batch) {
  // Blocking callers first: op i wakes ops 2i+1 and 2i+2 (a binary tree of depth log2 of
  // their count). The links are written before the root is signalled (under its mutex), so
  // each caller sees its own.
  waiting_.clear();
  async_.clear();
  for (Op* op : batch) (op->async ? async_ : waiting_).push_back(op);
  for (std::size_t i = 0; i < waiting_.size(); ++i) {
    for (std::size_t k = 0; k < 2; ++k) {
      const std::size_t child = 2 * i + 1 + k;
      waiting_[i]->wake[k] = child < waiting_.size() ? waiting_[child] : nullptr;
    }
  }
  if (!waiting_.empty()) Finish(*waiting_.front());
  // Then the async writes, in queue order, on this thread and with no lock held. (Not through
  // `batch`: a woken caller may already have destroyed its op.)
  for (Op* op : async_) {
    std::unique_ptr<Op> owned(op);
    owned->async->Done(std::move(owned->status));
  }
}

void Writer::RunBatch(Connection& conn, const std::vector<Op*>& batch) {
  auto fail_all = [&](const Status& why) {
    for (Op* op : batch) {
      if (op->status.ok()) op->status = why;
    }
  };
  // IMMEDIATE takes the write lock now, so another process's writer cannot make our first
  // statement fail with SQLITE_BUSY halfway through a batch (busy_timeout waits for it here).
  if (Status s = Simple(conn, "BEGIN IMMEDIATE"); !s.ok()) {
    fail_all(Status(ErrorCode::kUnavailable, fmt::format("cannot begin a write: {}", s.message())));
    return;
  }
  // A batch touches few channels: a flat list beats a map and allocates once.
  std::vector<std::pair<std::string_view, UnixMillis>> touched;
  written_.clear();
  // Checked once per batch: Subscribe() waits for the batch in progress (Barrier()), so a
  // listener never misses a write committed after it subscribed.
  const bool feed_active = feed_->HasSubscribers();
  for (Op* op : batch) {
    Status s = Simple(conn, "SAVEPOINT w");
    WriteContext ctx(conn, feed_active);
    if (s.ok()) op->status = op->async ? op->async->Run(ctx) : (*op->write)(ctx);
    const bool ok = s.ok() && op->status.ok();
    if (s.ok() && !ok) s = Simple(conn, "ROLLBACK TO w");
    if (s.ok()) s = Simple(conn, "RELEASE w");
    // Some errors (disk full, I/O) make SQLite roll back the whole transaction; then the
    // writes before this one are gone too and the batch fails as a whole.
    if (!s.ok() || sqlite3_get_autocommit(conn.db()) != 0) {
      if (!s.ok() && op->status.ok()) op->status = s;
      Status why =
          Status(ErrorCode::kUnavailable, fmt::format("write transaction aborted: {}",
                                                      s.ok() ? op->status.message() : s.message()));
      for (Op* o : batch) o->status = why;
      if (sqlite3_get_autocommit(conn.db()) == 0) (void)Simple(conn, "ROLLBACK");
      return;
    }
    if (!ok) continue;
    op->changes = std::move(ctx.changes_);
    for (const auto& entry : ctx.touched_) {
      // Not a structured binding: clang 14 (the fuzz build) cannot capture those in a lambda.
      const auto& channel = entry.first;
      const auto at = entry.second;
      auto it = std::find_if(touched.begin(), touched.end(),
                             [&](const auto& t) { return t.first == channel; });
      if (it == touched.end()) {
        touched.emplace_back(channel, at);
      } else if (it->second < at) {
        it->second = at;
      }
    }
    for (const auto& entry : ctx.written_) {
      const auto& channel = entry.first;
      auto it = std::find_if(written_.begin(), written_.end(),
                             [&](const auto& w) { return w.first == channel; });
      if (it == written_.end()) {
        written_.push_back(entry);
      } else {
        it->second |= entry.second;
      }
    }
  }
  Status s;
  for (const auto& [channel, at] : touched) {
    auto stmt =
        conn.Prepare("UPDATE channels SET last_active_at = max(last_active_at, ?2) WHERE id = ?1");
    if (!stmt) {
      s = stmt.status();
      break;
    }
    stmt->Bind(1, channel);
    stmt->Bind(2, at);
    s = stmt->Run();
    if (!s.ok()) break;
  }
  if (s.ok()) s = Simple(conn, "COMMIT");
  if (!s.ok()) {
    if (sqlite3_get_autocommit(conn.db()) == 0) (void)Simple(conn, "ROLLBACK");
    fail_all(Status(ErrorCode::kUnavailable, fmt::format("commit failed: {}", s.message())));
    // Nothing should have changed, but a version raised for nothing costs only a cache miss.
    for (const auto& [channel, parts] : written_) versions_->Raise(channel, parts);
    written_.clear();
    return;
  }
  std::vector<StoreChange> changes;
  std::uint64_t committed = 0;
  for (Op* op : batch) {
    if (!op->status.ok()) continue;
    ++committed;
    for (StoreChange& c : op->changes) changes.push_back(std::move(c));
  }
  {
    std::lock_guard lock(mu_);
    ++commits_;
    writes_ += committed;
  }
  // Committed, and no caller of the batch acknowledged yet (Complete() runs after this): a
  // cache validated by these versions never outlives an acknowledged write. The views point
  // into the writes' callers and states, alive until Complete().
  for (const auto& [channel, parts] : written_) versions_->Raise(channel, parts);
  written_.clear();
  // Published before the callers wake: when a write call returns, its change is queued.
  feed_->Publish(std::move(changes));
}

}  // namespace agentcore::internal::sqlite
