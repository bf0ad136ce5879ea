// SPDX-License-Identifier: Apache-2.0
// IngestSession: a streamed upload's frames, applied one body piece at a time (ingest.hpp).
#include <agentcore/hub/ingest.hpp>

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <utility>

#include <agentcore/hub/hub.hpp>

#include "hub/ingest_rules.hpp"

namespace agentcore {

using internal::TextOr;

/// One store write of the piece, in stream order.
struct IngestSession::Write {
  FrameKind kind = FrameKind::kStart;
  NewMessage start;       // kStart
  TymbalFrame frame;      // kSet, kReset
  bool finished = false;  // kStart: the message is already complete in the store
  bool applied = false;   // kSet: stored now (false: a retried frame)
  std::uint64_t seq = 0;  // kSet: the stored message's seq
  Status result;          // the queued path: what the store reported
};

/// One line to publish, in line_bytes_[begin, end).
struct IngestSession::Line {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::string id;         // message id (empty for control frames)
  std::size_t write = 0;  // 1 + index of the write this frame made; 0 for none
  std::size_t after = 0;  // writes queued before this frame's own
  bool event = false;     // a set frame: published with its id as event id
  std::uint64_t seq = 0;  // a stored set frame: its message's seq (set by Finish)
};

/// One Commit in flight. Its stages run one after another (each on the thread the previous one
/// reported on), so only `left` is shared between threads.
struct IngestSession::Piece {
  IngestSession* session = nullptr;
  std::vector<Write> writes;
  std::vector<std::pair<std::string, std::string>> updates;  // progress save: id, text
  std::vector<Status> saved;
  std::atomic<std::size_t> left{0};  // async writes not yet reported
  std::size_t done = 0;              // writes that succeeded, in order
  Status status;
  std::function<void(Status)> report;
};

namespace {

/// Ids of the piece's starts that found their message complete in the store (a retried
/// upload): the progress save leaves those messages alone.
template <typename Writes>
std::unordered_set<std::string_view> FinishedStarts(const Writes& writes) {
  std::unordered_set<std::string_view> ids;
  for (const auto& w : writes) {
    if (w.kind == FrameKind::kStart && w.finished) ids.insert(w.start.id);
  }
  return ids;
}

}  // namespace

IngestSession::IngestSession(Hub* hub, const IngestOptions* options, IngestTarget target,
                             Executor* resume)
    : hub_(hub),
      options_(options),
      target_(std::move(target)),
      resume_(resume),
      last_save_ms_(hub->clock().NowMillis()) {}

IngestSession::~IngestSession() = default;

void IngestSession::Emit(const TymbalFrame& frame, std::size_t write) {
  Line line;
  line.begin = line_bytes_.size();
  AppendBroadcastLine(frame, target_, &line_bytes_);
  line.end = line_bytes_.size();
  if (IsMessageFrame(frame.kind)) line.id = frame.id;
  line.write = write;
  line.after = write == 0 ? writes_.size() : write - 1;
  line.event = frame.kind == FrameKind::kSet;
  lines_.push_back(std::move(line));
}

Status IngestSession::Accept(const TymbalFrame& frame) {
  if (!failure_.ok()) return Status();
  AGENTCORE_RETURN_IF_ERROR(CheckMessageId(frame));
  ++frames_;
  switch (frame.kind) {
    case FrameKind::kStart: {
      if (finished_.count(frame.id) != 0) return Status();  // a retry of a finished message
      Result<AssemblyEvent> event = assembler_.Apply(frame);
      if (!event.ok()) {
        failure_ = event.status();
        return Status();
      }
      Write w;
      w.kind = FrameKind::kStart;
      NewMessage& m = w.start;
      m.id = frame.id;
      m.space_id = target_.space_id;
      m.channel_id = target_.channel_id;
      m.sender = TextOr(frame.value, "sender", "system");
      m.sender_type = TextOr(frame.value, "senderType", "agent");
      m.type = TextOr(frame.value, "type", "agent");
      m.content = "";
      m.is_complete = false;
      m.metadata = internal::TymbalMetadata(frame.value);
      m.metadata.Set("streaming", true);
      writes_.push_back(std::move(w));
      dirty_.erase(frame.id);
      Emit(frame, writes_.size());
      return Status();
    }
    case FrameKind::kAppend: {
      if (finished_.count(frame.id) != 0) return Status();
      Result<AssemblyEvent> event = assembler_.Apply(frame);
      if (!event.ok()) {
        failure_ = event.status();
        return Status();
      }
      if (*event == AssemblyEvent::kUpdated) dirty_.insert(frame.id);
      Emit(frame, 0);
      return Status();
    }
    case FrameKind::kSet: {
      if (finished_.count(frame.id) != 0) return Status();
      Write w;
      w.kind = FrameKind::kSet;
      w.frame = frame;
      NormalizeToolCall(&w.frame.value, target_.legacy);
      (void)assembler_.Apply(w.frame);
      dirty_.erase(frame.id);
      finished_.insert(frame.id);
      writes_.push_back(std::move(w));
      Emit(writes_.back().frame, writes_.size());
      return Status();
    }
    case FrameKind::kReset: {
      Write w;
      w.kind = FrameKind::kReset;
      w.frame = frame;
      writes_.push_back(std::move(w));
      (void)assembler_.Apply(frame);
      dirty_.erase(frame.id);
      finished_.erase(frame.id);
      Emit(frame, writes_.size());
      return Status();
    }
    case FrameKind::kSyncRequest:
    case FrameKind::kSyncResponse:
    case FrameKind::kError:
    case FrameKind::kArtifact:
      Emit(frame, 0);
      return Status();
  }
  return Status();
}

bool IngestSession::Pending() const {
  if (!writes_.empty() || !lines_.empty() || !failure_.ok()) return true;
  return !dirty_.empty() &&
         hub_->clock().NowMillis() - last_save_ms_ >= options_->stream_save_interval.count();
}

void IngestSession::Commit(bool force_save, std::function<void(Status)> done) {
  auto piece = std::make_unique<Piece>();
  piece->session = this;
  piece->report = std::move(done);
  piece->writes.swap(writes_);
  const std::int64_t now = hub_->clock().NowMillis();
  if (!dirty_.empty() &&
      (force_save || now - last_save_ms_ >= options_->stream_save_interval.count())) {
    last_save_ms_ = now;
    for (const AssembledMessage& open : assembler_.OpenMessages()) {
      if (dirty_.count(open.id) != 0) piece->updates.emplace_back(open.id, open.text);
    }
    dirty_.clear();
  }
  if (piece->writes.empty() && piece->updates.empty()) {
    return Finish(piece.release());  // lines only (appends): published now, no hop
  }
  // Resets (rare) read before they delete: such a piece takes the blocking path.
  const bool queued = options_->async_writes && hub_->store().HasNativeAsyncWrites() &&
                      std::none_of(piece->writes.begin(), piece->writes.end(),
                                   [](const Write& w) { return w.kind == FrameKind::kReset; });
  if (queued) {
    StoreQueued(piece.release());
  } else {
    StoreBlocking(piece.release());
  }
}

void IngestSession::StoreBlocking(Piece* piece) {
  // One hop for the piece: its writes in stream order, then the progress save.
  hub_->Post([piece] {
    IngestSession& self = *piece->session;
    Store& store = self.hub_->store();
    auto run = [&]() -> Status {
      for (Write& w : piece->writes) {
        Status s;
        if (w.kind == FrameKind::kStart) {
          s = self.InsertStart(w);
        } else if (w.kind == FrameKind::kSet) {
          s = internal::PersistSetFrame(store, w.frame, self.target_, &w.applied, &w.seq);
        } else {
          s = internal::ApplyReset(store, w.frame, self.target_);
        }
        if (!s.ok()) return s;
        ++piece->done;
      }
      const auto finished_now = FinishedStarts(piece->writes);
      for (const auto& [id, text] : piece->updates) {
        if (finished_now.count(id) != 0) continue;
        MessagePatch patch;
        patch.content = Json(text);
        Status s = store.UpdateMessage(id, patch).status();
        if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
      }
      return Status();
    };
    piece->status = run();
    self.Resume(piece);
  });
}

void IngestSession::StoreQueued(Piece* piece) {
  // The piece's frame writes, queued at once from this thread: they commit in this order,
  // mostly in one transaction of the store's writer, and nothing waits in between. Each
  // callback captures two pointers: held inline by std::function, no allocation per write.
  if (piece->writes.empty()) return AfterQueuedWrites(piece);  // a progress save alone
  Store& store = hub_->store();
  piece->left.store(piece->writes.size(), std::memory_order_relaxed);
  for (Write& write : piece->writes) {
    Write* w = &write;
    if (w->kind == FrameKind::kStart) {
      store.AppendMessageAsync(w->start, [piece, w](Result<Message> r) {
        w->result = r.status();
        Reported(piece);
      });
    } else if (IsCostFrame(w->frame)) {
      // As PersistSetFrame: Cast swallows cost errors; the frame is published regardless.
      w->applied = true;
      CostRecord cost = CostFromFrame(w->frame, target_);
      if (cost.callsign.empty()) {
        Reported(piece);
        continue;
      }
      store.UpsertCostAsync(std::move(cost), [piece](const Status&) { Reported(piece); });
    } else {
      store.CompleteMessageAsync(MessageFromSetFrame(w->frame, target_),
                                 [piece, w](Result<CompletedMessage> r) {
                                   if (r.ok()) {
                                     w->applied = r->outcome != MessageCompletion::kAlreadyComplete;
                                     w->seq = r->seq;
                                   } else {
                                     w->result = r.status();
                                   }
                                   Reported(piece);
                                 });
    }
  }
}

void IngestSession::Reported(Piece* piece) {
  if (piece->left.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    piece->session->AfterQueuedWrites(piece);
  }
}

void IngestSession::AfterQueuedWrites(Piece* piece) {
  // Starts whose id was taken (a retried or resumed upload) are settled with reads on the
  // executor, as InsertStart does, except when a set frame later in this piece stored the
  // message: it was open then, and is complete now (a restart would have been overwritten).
  std::vector<Write>& writes = piece->writes;
  bool taken = std::any_of(writes.begin(), writes.end(), [](const Write& w) {
    return w.kind == FrameKind::kStart && w.result.code() == ErrorCode::kAlreadyExists;
  });
  auto save = [](Piece* p) {
    std::vector<Write>& ws = p->writes;
    while (p->done < ws.size() && ws[p->done].result.ok()) ++p->done;
    if (p->done < ws.size()) {
      p->status = ws[p->done].result;
      return p->session->Resume(p);
    }
    p->session->SaveQueued(p);
  };
  if (!taken) return save(piece);
  hub_->Post([piece, save] {
    std::vector<Write>& ws = piece->writes;
    for (std::size_t i = 0; i < ws.size(); ++i) {
      Write& w = ws[i];
      if (w.kind != FrameKind::kStart || w.result.code() != ErrorCode::kAlreadyExists) continue;
      const std::string& id = w.start.id;
      bool stored_later = std::any_of(
          ws.begin() + static_cast<std::ptrdiff_t>(i) + 1, ws.end(), [&id](const Write& later) {
            return later.kind == FrameKind::kSet && later.applied && later.frame.id == id;
          });
      w.result = stored_later ? Status() : piece->session->SettleTakenStart(w);
    }
    save(piece);
  });
}

void IngestSession::SaveQueued(Piece* piece) {
  // The progress save, after the starts are settled: a message found complete is not ours.
  const auto finished_now = FinishedStarts(piece->writes);
  std::vector<std::pair<std::string, std::string>>& updates = piece->updates;
  std::erase_if(updates, [&finished_now](const auto& u) { return finished_now.count(u.first); });
  if (updates.empty()) return Resume(piece);
  piece->saved.resize(updates.size());
  piece->left.store(updates.size(), std::memory_order_relaxed);
  Store& store = hub_->store();
  for (std::size_t i = 0; i < updates.size(); ++i) {
    MessagePatch patch;
    patch.content = Json(std::move(updates[i].second));
    Status* result = &piece->saved[i];
    store.UpdateMessageAsync(updates[i].first, std::move(patch),
                             [piece, result](Result<Message> r) {
                               *result = r.status();
                               if (piece->left.fetch_sub(1, std::memory_order_acq_rel) != 1) {
                                 return;
                               }
                               for (const Status& s : piece->saved) {
                                 if (!s.ok() && s.code() != ErrorCode::kNotFound) {
                                   piece->status = s;
                                   break;
                                 }
                               }
                               piece->session->Resume(piece);
                             });
  }
}

void IngestSession::Resume(Piece* piece) {
  if (resume_ == nullptr) return Finish(piece);
  Executor* resume = resume_;  // `piece` (and the session) belong to the task once posted
  resume->Post([piece] { piece->session->Finish(piece); });
}

void IngestSession::Finish(Piece* raw) {
  std::unique_ptr<Piece> piece(raw);
  std::vector<Write>& writes = piece->writes;
  // The blocking path counted its successes; a piece without writes has none to count.
  const std::size_t done = piece->done;
  // Outcomes, in order: a start that found its message complete makes the message a retry
  // (its lines from there on are dropped).
  std::unordered_map<std::string, std::size_t> finished_at;  // id -> index of its start write
  for (std::size_t i = 0; i < done; ++i) {
    Write& w = writes[i];
    if (w.kind == FrameKind::kStart) {
      if (w.finished) {
        finished_.insert(w.start.id);
        assembler_.Abandon(w.start.id);
        dirty_.erase(w.start.id);
        finished_at.emplace(w.start.id, i);
      } else {
        ++persisted_;
      }
    } else if (w.kind == FrameKind::kSet && w.applied) {
      ++persisted_;
    }
  }
  // Lines of frames before the first failed write are published; the rest are not applied.
  std::size_t keep = 0;
  for (Line& line : lines_) {
    if (line.after > done || (line.write != 0 && line.write > done)) break;
    ++keep;
    if (line.write != 0) {
      const Write& w = writes[line.write - 1];
      if (w.kind == FrameKind::kSet && !w.applied) line.end = line.begin;  // a retried frame
      if (w.kind == FrameKind::kSet) line.seq = w.seq;
      if (w.kind == FrameKind::kStart && w.finished) line.end = line.begin;
    }
    if (!line.id.empty() && !finished_at.empty()) {
      auto it = finished_at.find(line.id);
      if (it != finished_at.end() && line.after > it->second) line.end = line.begin;
    }
  }
  Publish(keep);
  Status status = !piece->status.ok() ? std::move(piece->status) : failure_;
  std::function<void(Status)> report = std::move(piece->report);
  piece.reset();
  report(std::move(status));
}

void IngestSession::Publish(std::size_t count) {
  // One call for the piece, in order: the publisher batches live lines and sends each line
  // with an event id (a stored set frame) alone.
  published_.clear();
  for (std::size_t i = 0; i < count; ++i) {
    const Line& line = lines_[i];
    if (line.end == line.begin) continue;
    std::string_view bytes(line_bytes_.data() + line.begin, line.end - line.begin);
    published_.push_back(PublishedLine{
        bytes, line.event ? std::string_view(line.id) : std::string_view(), line.event ? line.seq : 0});
  }
  hub_->Publish(target_.channel_id, published_);
  published_.clear();
  lines_.clear();
  line_bytes_.clear();
  if (line_bytes_.capacity() > 64 * 1024) std::string().swap(line_bytes_);
}

Status IngestSession::InsertStart(Write& w) {
  Result<Message> inserted = hub_->store().AppendMessage(w.start);
  if (inserted.ok()) return Status();
  if (inserted.status().code() != ErrorCode::kAlreadyExists) return inserted.status();
  return SettleTakenStart(w);
}

Status IngestSession::SettleTakenStart(Write& w) {
  const NewMessage& m = w.start;
  Result<Message> existing = hub_->store().GetMessage(m.id);
  if (!existing.ok()) return existing.status();
  if (existing->channel_id != m.channel_id) {
    return AlreadyExists("message id " + m.id + " is taken by another channel");
  }
  if (existing->is_complete) {
    w.finished = true;
    return Status();
  }
  MessagePatch restart;  // start resets a message (spec cast §2.10): a resumed upload begins anew
  restart.content = Json("");
  restart.metadata = m.metadata;
  return hub_->store().UpdateMessage(m.id, restart).status();
}

void IngestSession::Interrupt(std::function<void()> done) {
  writes_.clear();
  lines_.clear();
  line_bytes_.clear();
  std::vector<std::pair<std::string, std::string>> open_texts;
  for (const AssembledMessage& open : assembler_.OpenMessages()) {
    open_texts.emplace_back(open.id, open.text);
  }
  dirty_.clear();
  hub_->Post([this, open_texts = std::move(open_texts), done = std::move(done)]() mutable {
    Store& store = hub_->store();
    for (const auto& [id, text] : open_texts) {
      Result<Message> existing = store.GetMessage(id);
      if (!existing.ok() || existing->is_complete) continue;
      MessagePatch patch;
      patch.content = Json(text);
      Json metadata = existing->metadata.is_object() ? existing->metadata : Json::Object();
      metadata.Erase("streaming");
      metadata.Set("interrupted", true);  // the producer went away before its set frame
      patch.metadata = std::move(metadata);
      (void)store.UpdateMessage(id, patch);
    }
    if (resume_ == nullptr) return done();
    Executor* resume = resume_;
    resume->Post(std::move(done));
  });
}

}  // namespace agentcore
