// SPDX-License-Identifier: Apache-2.0
#include "handlers/frame_ingest.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>

#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/writer.hpp>

#include "app.hpp"

namespace agentcore::server {
namespace {

/// `v[key] ?? fallback` for a column that holds text: strings as they are, other non-null
/// values as their JSON text.
std::string TextOr(const Json& v, std::string_view key, std::string_view fallback) {
  const Json* member = v.is_object() ? v.Find(key) : nullptr;
  if (member == nullptr || member->is_null()) return std::string(fallback);
  if (member->is_string()) return member->as_string();
  return ToJson(*member);
}

Json TymbalMetadata(const Json& v) {
  Json metadata = Json::Object();
  metadata.Set("fromTymbal", true);
  metadata.Set("method", TextOr(v, "method", "agent_output"));
  return metadata;
}

}  // namespace

void NormalizeToolCall(Json* value, bool legacy) {
  if (!value->is_object()) return;
  const std::string* type = value->FindString("type");
  if (type == nullptr || *type != "tool_call") return;
  const Json* input = value->Find("input");
  if (input == nullptr || value->Find("args") != nullptr) return;
  Json args = *input;
  if (!legacy) value->Erase("input");
  value->Set("args", std::move(args));
}

NewMessage MessageFromSetFrame(const TymbalFrame& frame, const IngestTarget& target) {
  const Json& v = frame.value;
  NewMessage m;
  m.id = frame.id;
  m.space_id = target.space_id;
  m.channel_id = target.channel_id;
  m.sender = TextOr(v, "sender", "system");
  m.sender_type = TextOr(v, "senderType", "agent");
  m.type = TextOr(v, "type", "agent");
  const Json* content = v.is_object() ? v.Find("content") : nullptr;
  if (m.type == "tool_call" || m.type == "tool_result" || content == nullptr ||
      content->is_null()) {
    m.content = v;
  } else {
    m.content = *content;
  }
  if (const Json* mentions = v.is_object() ? v.Find("mentions") : nullptr;
      mentions != nullptr && mentions->is_array()) {
    std::vector<std::string> names;
    for (const Json& name : mentions->as_array()) {
      names.push_back(name.is_string() ? name.as_string() : ToJson(name));
    }
    m.addressed_agents = std::move(names);
  }
  m.metadata = TymbalMetadata(v);
  m.is_complete = true;
  return m;
}

bool IsCostFrame(const TymbalFrame& frame) {
  const std::string* type = frame.value.is_object() ? frame.value.FindString("type") : nullptr;
  return type != nullptr && *type == "cost";
}

CostRecord CostFromFrame(const TymbalFrame& frame, const IngestTarget& target) {
  const Json& v = frame.value;
  CostRecord cost;
  cost.space_id = target.space_id;
  cost.channel_id = target.channel_id;
  cost.callsign = TextOr(v, "sender", "");
  if (const Json* usd = v.Find("totalCostUsd"); usd && usd->is_number()) {
    cost.cost_usd = usd->as_number();
  }
  if (const Json* d = v.Find("durationMs"); d && d->is_number()) {
    cost.duration_ms = static_cast<std::int64_t>(d->as_number());
  }
  if (const Json* n = v.Find("numTurns"); n && n->is_number()) {
    cost.num_turns = static_cast<std::int64_t>(n->as_number());
  }
  if (const Json* u = v.Find("usage")) cost.usage = *u;
  if (const Json* mu = v.Find("modelUsage")) cost.model_usage = *mu;
  return cost;
}

Status PersistSetFrame(App& app, const TymbalFrame& frame, const IngestTarget& target,
                       bool* applied) {
  *applied = false;
  if (IsCostFrame(frame)) {
    CostRecord cost = CostFromFrame(frame, target);
    // Cast logs and swallows cost errors (a cost frame without a sender, negative totals);
    // so do we: the frame was still broadcast.
    if (!cost.callsign.empty()) (void)app.store().UpsertCost(cost);
    *applied = true;
    return Status();
  }
  // One write: inserted, or the streamed message completed, or (a retried frame) nothing.
  AGENTCORE_ASSIGN_OR_RETURN(MessageCompletion done,
                             app.store().CompleteMessage(MessageFromSetFrame(frame, target)));
  *applied = done != MessageCompletion::kAlreadyComplete;
  return Status();
}

Status ApplyReset(App& app, const TymbalFrame& frame, const IngestTarget& target) {
  Result<Message> existing = app.store().GetMessage(frame.id);
  if (!existing.ok()) {
    return existing.status().code() == ErrorCode::kNotFound ? Status() : existing.status();
  }
  if (existing->space_id != target.space_id || existing->channel_id != target.channel_id) {
    return Status();  // not ours to delete; like Cast, an unknown id is not an error
  }
  Status s = app.store().DeleteMessage(frame.id);
  return s.code() == ErrorCode::kNotFound ? Status() : s;
}

std::string BroadcastLine(const TymbalFrame& frame, const IngestTarget& target) {
  std::string out;
  AppendBroadcastLine(frame, target, &out);
  return out;
}

void AppendBroadcastLine(const TymbalFrame& frame, const IngestTarget& target, std::string* out) {
  if (target.legacy) {
    AppendFrameLine(frame, out);
    out->pop_back();  // the newline
    return;
  }
  if (frame.FindExtra("c") != nullptr) {  // rare: the frame's own `c` is replaced in place
    TymbalFrame with_channel = frame;
    for (JsonMember& member : with_channel.extra) {
      if (member.key == "c") member.value = target.channel_id;
    }
    AppendFrameLine(with_channel, out);
    out->pop_back();
    return;
  }
  // `c` goes last, after `extra`: what SerializeFrame writes for the frame with `c` appended.
  AppendFrameLine(frame, out);
  out->pop_back();  // "\n"
  out->pop_back();  // "}" (a frame is always a non-empty object)
  out->append(",\"c\":");
  AppendJsonString(target.channel_id, out);
  out->push_back('}');
}

// --- streamed uploads -------------------------------------------------------------------------

namespace {
// Lines of live frames published as one OutFrame at most this big (the subscriber backlog
// bound is checked per OutFrame, so batches stay small next to it).
constexpr std::size_t kMaxBatchBytes = 16 * 1024;
}  // namespace

StreamApplier::StreamApplier(App* app, IngestTarget target)
    : app_(app), target_(std::move(target)) {}

void StreamApplier::Emit(const TymbalFrame& frame, std::size_t write) {
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

void StreamApplier::Accept(const TymbalFrame& frame) {
  if (!failure_.ok()) return;
  ++frames_;
  switch (frame.kind) {
    case FrameKind::kStart: {
      if (finished_.count(frame.id) != 0) return;  // a retry of a finished message
      Result<AssemblyEvent> event = assembler_.Apply(frame);
      if (!event.ok()) {
        failure_ = event.status();
        return;
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
      m.metadata = TymbalMetadata(frame.value);
      m.metadata.Set("streaming", true);
      writes_.push_back(std::move(w));
      dirty_.erase(frame.id);
      Emit(frame, writes_.size());
      return;
    }
    case FrameKind::kAppend: {
      if (finished_.count(frame.id) != 0) return;
      Result<AssemblyEvent> event = assembler_.Apply(frame);
      if (!event.ok()) {
        failure_ = event.status();
        return;
      }
      if (*event == AssemblyEvent::kUpdated) dirty_.insert(frame.id);
      Emit(frame, 0);
      return;
    }
    case FrameKind::kSet: {
      if (finished_.count(frame.id) != 0) return;
      Write w;
      w.kind = FrameKind::kSet;
      w.frame = frame;
      NormalizeToolCall(&w.frame.value, target_.legacy);
      (void)assembler_.Apply(w.frame);
      dirty_.erase(frame.id);
      finished_.insert(frame.id);
      writes_.push_back(std::move(w));
      Emit(writes_.back().frame, writes_.size());
      return;
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
      return;
    }
    case FrameKind::kSyncRequest:
    case FrameKind::kSyncResponse:
    case FrameKind::kError:
    case FrameKind::kArtifact:
      Emit(frame, 0);
      return;
  }
}

bool StreamApplier::Pending() const {
  if (!writes_.empty() || !lines_.empty() || !failure_.ok()) return true;
  return !dirty_.empty() &&
         std::chrono::steady_clock::now() - last_save_ >= app_->config().stream_save_interval;
}

asio::awaitable<Status> StreamApplier::Commit(bool force_save) {
  std::vector<Write> writes;
  writes.swap(writes_);
  std::vector<std::pair<std::string, std::string>> updates;
  auto now = std::chrono::steady_clock::now();
  if (!dirty_.empty() && (force_save || now - last_save_ >= app_->config().stream_save_interval)) {
    last_save_ = now;
    for (const AssembledMessage& open : assembler_.OpenMessages()) {
      if (dirty_.count(open.id) != 0) updates.emplace_back(open.id, open.text);
    }
    dirty_.clear();
  }
  std::size_t done = 0;  // writes that succeeded, in order
  Status status;
  if (!writes.empty() || !updates.empty()) {
    // Resets (rare) read before they delete: such a piece takes the blocking path.
    bool queued = app_->store().HasNativeAsyncWrites() &&
                  std::none_of(writes.begin(), writes.end(),
                               [](const Write& w) { return w.kind == FrameKind::kReset; });
    status = queued ? co_await StoreQueued(writes, updates, &done)
                    : co_await StoreBlocking(writes, updates, &done);
  }
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
      if (w.kind == FrameKind::kStart && w.finished) line.end = line.begin;
    }
    if (!line.id.empty() && !finished_at.empty()) {
      auto it = finished_at.find(line.id);
      if (it != finished_at.end() && line.after > it->second) line.end = line.begin;
    }
  }
  Publish(keep);
  if (!status.ok()) co_return status;
  co_return failure_;
}

namespace {

/// Calls `submit(i, reported)` for i in [0, count) on the calling thread, each submitting one
/// async store write whose callback calls `reported()` once; resumes when all have reported.
/// One wake-up of the awaiting coroutine for the lot, however many writes.
template <typename Submit>
asio::awaitable<void> AwaitAllWrites(App& app, std::size_t count, Submit submit) {
  if (count == 0) co_return;
  auto start = [count, &submit](auto all_done) {
    auto left = std::make_shared<std::atomic<std::size_t>>(count);
    std::function<void()> reported = [left, all_done]() mutable {
      if (left->fetch_sub(1, std::memory_order_acq_rel) == 1) all_done(0);
    };
    for (std::size_t i = 0; i < count; ++i) submit(i, reported);
  };
  (void)co_await app.AwaitCallback<int>(std::move(start));
}

}  // namespace

asio::awaitable<Status> StreamApplier::StoreBlocking(
    std::vector<Write>& writes, const std::vector<std::pair<std::string, std::string>>& updates,
    std::size_t* done) {
  // One hop for the piece: its writes in stream order, then the progress save. Named, not a
  // temporary in the co_await expression: see App::Offload.
  auto run = [this, &writes, &updates, done]() -> Status {
    for (Write& w : writes) {
      Status s;
      if (w.kind == FrameKind::kStart) {
        s = InsertStart(w);
      } else if (w.kind == FrameKind::kSet) {
        s = PersistSetFrame(*app_, w.frame, target_, &w.applied);
      } else {
        s = ApplyReset(*app_, w.frame, target_);
      }
      if (!s.ok()) return s;
      ++*done;
    }
    const auto finished_now = FinishedStarts(writes);
    for (const auto& [id, text] : updates) {
      if (finished_now.count(id) != 0) continue;
      MessagePatch patch;
      patch.content = Json(text);
      Status s = app_->store().UpdateMessage(id, patch).status();
      if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
    }
    return Status();
  };
  co_return co_await app_->Offload(std::move(run));
}

asio::awaitable<Status> StreamApplier::StoreQueued(
    std::vector<Write>& writes, std::vector<std::pair<std::string, std::string>>& updates,
    std::size_t* done) {
  Store& store = app_->store();
  // 1. The piece's frame writes, queued at once from this thread: they commit in this order,
  //    mostly in one transaction of the store's writer, and nothing waits in between.
  std::vector<Status> results(writes.size());
  auto submit_write = [&](std::size_t i, const std::function<void()>& reported) {
    Write& w = writes[i];
    Status* result = &results[i];
    if (w.kind == FrameKind::kStart) {
      store.AppendMessageAsync(w.start, [result, reported](Result<Message> r) {
        *result = r.status();
        reported();
      });
    } else if (IsCostFrame(w.frame)) {
      // As PersistSetFrame: Cast swallows cost errors; the frame is broadcast regardless.
      w.applied = true;
      CostRecord cost = CostFromFrame(w.frame, target_);
      if (cost.callsign.empty()) {
        reported();
        return;
      }
      store.UpsertCostAsync(std::move(cost), [reported](const Status&) { reported(); });
    } else {
      Write* set = &w;
      store.CompleteMessageAsync(
          MessageFromSetFrame(w.frame, target_),
          [set, result, reported](Result<MessageCompletion> r) {
            if (r.ok()) {
              set->applied = *r != MessageCompletion::kAlreadyComplete;
            } else {
              *result = r.status();
            }
            reported();
          });
    }
  };
  co_await AwaitAllWrites(*app_, writes.size(), submit_write);
  // 2. Starts whose id was taken (a retried or resumed upload) are settled with reads on the
  //    pool, as InsertStart does, except when a set frame later in this piece stored the
  //    message: it was open then, and is complete now (a restart would have been overwritten).
  std::vector<std::size_t> taken;
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (writes[i].kind == FrameKind::kStart && results[i].code() == ErrorCode::kAlreadyExists) {
      taken.push_back(i);
    }
  }
  if (!taken.empty()) {
    auto settle = [this, &writes, &results, &taken]() -> Status {
      for (std::size_t i : taken) {
        const std::string& id = writes[i].start.id;
        bool stored_later = std::any_of(writes.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                                        writes.end(), [&id](const Write& w) {
                                          return w.kind == FrameKind::kSet && w.applied &&
                                                 w.frame.id == id;
                                        });
        results[i] = stored_later ? Status() : SettleTakenStart(writes[i]);
      }
      return Status();
    };
    (void)co_await app_->Offload(std::move(settle));
  }
  while (*done < results.size() && results[*done].ok()) ++*done;
  if (*done < results.size()) co_return results[*done];
  // 3. The progress save, after the starts are settled: a message found complete is not ours.
  const auto finished_now = FinishedStarts(writes);
  std::vector<Status> saved(updates.size());
  auto submit_save = [&](std::size_t i, const std::function<void()>& reported) {
    auto& [id, text] = updates[i];
    if (finished_now.count(id) != 0) {
      reported();
      return;
    }
    MessagePatch patch;
    patch.content = Json(std::move(text));
    Status* result = &saved[i];
    store.UpdateMessageAsync(id, std::move(patch), [result, reported](Result<Message> r) {
      *result = r.status();
      reported();
    });
  };
  co_await AwaitAllWrites(*app_, updates.size(), submit_save);
  for (const Status& s : saved) {
    if (!s.ok() && s.code() != ErrorCode::kNotFound) co_return s;
  }
  co_return Status();
}

std::unordered_set<std::string_view> StreamApplier::FinishedStarts(
    const std::vector<Write>& writes) {
  std::unordered_set<std::string_view> ids;
  for (const Write& w : writes) {
    if (w.kind == FrameKind::kStart && w.finished) ids.insert(w.start.id);
  }
  return ids;
}

Status StreamApplier::InsertStart(Write& w) {
  Result<Message> inserted = app_->store().AppendMessage(w.start);
  if (inserted.ok()) return Status();
  if (inserted.status().code() != ErrorCode::kAlreadyExists) return inserted.status();
  return SettleTakenStart(w);
}

Status StreamApplier::SettleTakenStart(Write& w) {
  const NewMessage& m = w.start;
  Result<Message> existing = app_->store().GetMessage(m.id);
  if (!existing.ok()) return existing.status();
  if (existing->channel_id != m.channel_id) {
    return AlreadyExists("message id " + m.id + " is taken by another channel");
  }
  if (existing->is_complete) {
    w.finished = true;
    return Status();
  }
  MessagePatch restart;  // start resets a message (§2.10): a resumed upload begins anew
  restart.content = Json("");
  restart.metadata = m.metadata;
  return app_->store().UpdateMessage(m.id, restart).status();
}

void StreamApplier::Publish(std::size_t count) {
  Broadcaster& broadcaster = app_->broadcaster();
  OutFrameBatch batch(target_.channel_id);
  for (std::size_t i = 0; i < count; ++i) {
    const Line& line = lines_[i];
    if (line.end == line.begin) continue;
    std::string_view bytes(line_bytes_.data() + line.begin, line.end - line.begin);
    if (line.event) {
      // A stored set frame: alone, with its id (the SSE replay drops it by id).
      if (!batch.empty()) broadcaster.Publish(batch.Take());
      batch.ExpectBytes(bytes.size());
      batch.Add(bytes, line.id);
      broadcaster.Publish(batch.Take());
      continue;
    }
    // A new batch reserves for the lines left (a batch ends near kMaxBatchBytes).
    if (batch.empty()) {
      batch.ExpectBytes(std::min(line_bytes_.size() - line.begin, kMaxBatchBytes + 1024));
    }
    batch.Add(bytes);
    if (batch.bytes() >= kMaxBatchBytes) broadcaster.Publish(batch.Take());
  }
  if (!batch.empty()) broadcaster.Publish(batch.Take());
  lines_.clear();
  line_bytes_.clear();
  if (line_bytes_.capacity() > 4 * kMaxBatchBytes) std::string().swap(line_bytes_);
}

asio::awaitable<void> StreamApplier::Interrupt() {
  writes_.clear();
  lines_.clear();
  line_bytes_.clear();
  for (const AssembledMessage& open : assembler_.OpenMessages()) dirty_.insert(open.id);
  std::vector<std::pair<std::string, std::string>> open_texts;
  for (const AssembledMessage& open : assembler_.OpenMessages()) {
    open_texts.emplace_back(open.id, open.text);
  }
  dirty_.clear();
  auto mark = [this, open_texts = std::move(open_texts)]() -> Status {
    for (const auto& [id, text] : open_texts) {
      Result<Message> existing = app_->store().GetMessage(id);
      if (!existing.ok() || existing->is_complete) continue;
      MessagePatch patch;
      patch.content = Json(text);
      Json metadata = existing->metadata.is_object() ? existing->metadata : Json::Object();
      metadata.Erase("streaming");
      metadata.Set("interrupted", true);  // the producer went away before its set frame
      patch.metadata = std::move(metadata);
      (void)app_->store().UpdateMessage(id, patch);
    }
    return Status();
  };
  Status marked = co_await app_->Offload(std::move(mark));
  (void)marked;
}

}  // namespace agentcore::server
