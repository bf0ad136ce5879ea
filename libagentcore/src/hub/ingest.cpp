// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/ingest.hpp>

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/tymbal/writer.hpp>
#include <agentcore/ulid.hpp>

#include "hub/ingest_rules.hpp"

namespace agentcore {
namespace internal {

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

Status PersistSetFrame(Store& store, const TymbalFrame& frame, const IngestTarget& target,
                       bool* applied, std::uint64_t* seq) {
  *applied = false;
  *seq = 0;
  if (IsCostFrame(frame)) {
    CostRecord cost = CostFromFrame(frame, target);
    // spec cast §4.8.1: cost errors (no sender, negative totals) are logged and swallowed; the
    // frame is still published.
    if (!cost.callsign.empty()) (void)store.UpsertCost(cost);
    *applied = true;
    return Status();
  }
  // One write: inserted, or the streamed message completed, or (a retried frame) nothing.
  AGENTCORE_ASSIGN_OR_RETURN(CompletedMessage done,
                             store.CompleteMessage(MessageFromSetFrame(frame, target)));
  *applied = done.outcome != MessageCompletion::kAlreadyComplete;
  *seq = done.seq;
  return Status();
}

Status ApplyReset(Store& store, const TymbalFrame& frame, const IngestTarget& target) {
  Result<Message> existing = store.GetMessage(frame.id);
  if (!existing.ok()) {
    return existing.status().code() == ErrorCode::kNotFound ? Status() : existing.status();
  }
  if (existing->space_id != target.space_id || existing->channel_id != target.channel_id) {
    return Status();  // not ours to delete; like Cast, an unknown id is not an error
  }
  Status s = store.DeleteMessage(frame.id);
  return s.code() == ErrorCode::kNotFound ? Status() : s;
}

}  // namespace internal

using internal::TextOr;

Status CheckMessageId(const TymbalFrame& frame) {
  if (frame.kind != FrameKind::kStart && frame.kind != FrameKind::kSet) return Status();
  if (IsUlid(frame.id)) return Status();
  return InvalidArgument(std::string(kMessageIdNotUlid));
}

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
  m.metadata = internal::TymbalMetadata(v);
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

std::string BroadcastLine(const TymbalFrame& frame, const IngestTarget& target) {
  std::string out;
  AppendBroadcastLine(frame, target, &out);
  return out;
}

void AppendBroadcastLine(const TymbalFrame& frame, const IngestTarget& target, std::string* out) {
  if (target.legacy) {  // spec cast §4.8: the legacy route broadcasts without `c`
    AppendFrameLine(frame, out);
    out->pop_back();  // the newline
    return;
  }
  if (frame.FindExtra("c") != nullptr) {  // rare: the frame's own `c` is replaced in place (§2.9)
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

// --- Ingest -------------------------------------------------------------------------------------

// The space of each channel a target named. A channel never changes space and is never
// deleted, so an entry stays true for good: only the first frame of a channel (per shard
// flush) reads the store. Missing channels are not remembered. 16 shards, each emptied when
// full, so memory is bounded whatever ids clients send.
class Ingest::KnownChannels {
 public:
  std::optional<std::string> Find(std::string_view channel_id) {
    Shard& shard = ShardOf(channel_id);
    std::lock_guard lock(shard.mu);
    auto it = shard.spaces.find(channel_id);
    if (it == shard.spaces.end()) return std::nullopt;
    return it->second;
  }

  void Put(std::string_view channel_id, std::string space_id) {
    Shard& shard = ShardOf(channel_id);
    Map dropped;  // released after the lock
    std::lock_guard lock(shard.mu);
    if (shard.spaces.size() >= kPerShard) dropped.swap(shard.spaces);
    shard.spaces.emplace(std::string(channel_id), std::move(space_id));
  }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  using Map = std::unordered_map<std::string, std::string, Hash, std::equal_to<>>;
  struct Shard {
    std::mutex mu;
    Map spaces;  // guarded by mu
  };
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kPerShard = 4096;

  Shard& ShardOf(std::string_view key) { return shards_[Hash()(key) % kShards]; }

  std::array<Shard, kShards> shards_;
};

Ingest::Ingest(Hub* hub, IngestOptions options)
    : hub_(hub), options_(std::move(options)), known_(std::make_unique<KnownChannels>()) {}

Ingest::~Ingest() = default;

Status Ingest::CheckChannelSpace(std::string_view channel_id, std::string_view space_id,
                                 std::string_view foreign_text) const {
  // An id that could not name a channel never reaches the store (it would answer a store
  // error for it).
  if (!IsPossibleId(channel_id)) return NotFound(std::string(kChannelNotFoundText));
  std::optional<std::string> known = known_->Find(channel_id);
  if (!known) {
    Result<Channel> channel = hub_->store().GetChannel(channel_id);
    if (!channel.ok()) {
      if (channel.status().code() == ErrorCode::kNotFound) {
        return NotFound(std::string(kChannelNotFoundText));
      }
      return Internal("read channel: " + channel.status().ToString());
    }
    known_->Put(channel_id, channel->space_id);
    known = std::move(channel->space_id);
  }
  // Frames go into the channel's own space or nowhere: a token signed for another space (the
  // container secret leaked, or the public development secret in use) must not write into it.
  if (*known != space_id) return Status(ErrorCode::kPermissionDenied, std::string(foreign_text));
  return Status();
}

bool Ingest::ChannelTargetReadsStore(std::string_view channel_id) const {
  return IsPossibleId(channel_id) && !known_->Find(channel_id).has_value();
}

Result<IngestTarget> Ingest::ChannelTarget(std::string_view authorization,
                                           std::string_view channel_id) const {
  AGENTCORE_ASSIGN_OR_RETURN(AgentIdentity id,
                             ParseContainerAuthorization(hub_->container_secret(), authorization));
  // Cast only takes the space from the token (§8 #6); we require this very channel.
  if (id.channel_id != channel_id) {
    return Status(ErrorCode::kPermissionDenied, "container token is for another channel");
  }
  AGENTCORE_RETURN_IF_ERROR(
      CheckChannelSpace(channel_id, id.space_id, "container token is for another space"));
  IngestTarget target;
  target.space_id = std::move(id.space_id);
  target.channel_id = std::string(channel_id);
  return target;
}

Result<IngestTarget> Ingest::StreamTarget(std::string_view authorization,
                                          std::string_view channel_id) const {
  return ChannelTarget(authorization, channel_id);
}

Result<IngestTarget> Ingest::LegacyTarget(std::string_view thread_id,
                                          std::string_view authorization, bool open) const {
  std::size_t colon = thread_id.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= thread_id.size()) {
    return InvalidArgument("Thread ID must be spaceId:channelId[:callsign]");
  }
  std::string_view channel = thread_id.substr(colon + 1);
  channel = channel.substr(0, channel.find(':'));
  IngestTarget target;
  target.space_id = std::string(thread_id.substr(0, colon));
  target.channel_id = std::string(channel);
  target.legacy = true;
  if (open) {
    // Cast leaves the route open (we do only with --compat-open-checkin) and trusts the
    // thread id; a channel the named space does not hold is answered like a missing one.
    Status s = CheckChannelSpace(channel, target.space_id, kChannelNotFoundText);
    if (s.code() == ErrorCode::kPermissionDenied) {
      return NotFound(std::string(kChannelNotFoundText));
    }
    AGENTCORE_RETURN_IF_ERROR(s);
  } else {
    AGENTCORE_ASSIGN_OR_RETURN(IngestTarget checked, ChannelTarget(authorization, channel));
    if (checked.space_id != target.space_id) {
      return Status(ErrorCode::kPermissionDenied, "container token is for another space");
    }
  }
  return target;
}

void Ingest::Publish(const TymbalFrame& frame, const IngestTarget& target, bool with_event_id,
                     std::uint64_t seq) {
  if (!hub_->HasSubscribers()) return;  // nobody to build the line for
  // One buffer per thread: the publisher copies what it keeps, so a line costs no allocation.
  thread_local std::string line;
  line.clear();
  AppendBroadcastLine(frame, target, &line);
  hub_->Publish(target.channel_id, line, with_event_id ? std::string_view(frame.id) : "",
                with_event_id ? seq : 0);
  if (line.capacity() > 64 * 1024) std::string().swap(line);
}

Status Ingest::Apply(TymbalFrame frame, const IngestTarget& target) {
  AGENTCORE_RETURN_IF_ERROR(CheckMessageId(frame));
  bool applied = true;  // whether to publish: a retried set frame is not
  std::uint64_t seq = 0;
  if (frame.kind == FrameKind::kSet) {
    NormalizeToolCall(&frame.value, target.legacy);
    AGENTCORE_RETURN_IF_ERROR(
        internal::PersistSetFrame(hub_->store(), frame, target, &applied, &seq));
  } else if (frame.kind == FrameKind::kReset) {
    AGENTCORE_RETURN_IF_ERROR(internal::ApplyReset(hub_->store(), frame, target));
  }
  if (applied) Publish(frame, target, frame.kind == FrameKind::kSet, seq);
  return Status();
}

/// One ApplyAsync in flight: one allocation for the whole frame, so the store's callback and
/// the resume task capture one pointer (held inline by std::function, no allocation of theirs).
struct Ingest::Op {
  Ingest* ingest;
  TymbalFrame frame;
  const IngestTarget* target;
  Executor* resume;
  std::function<void(Status)> done;
  Status status;
  bool applied = true;
  std::uint64_t seq = 0;  // the stored message's
};

void Ingest::ApplyAsync(TymbalFrame frame, const IngestTarget& target, Executor* resume,
                        std::function<void(Status)> done) {
  if (Status refused = CheckMessageId(frame); !refused.ok()) {
    done(std::move(refused));
    return;
  }
  if (!Stores(frame)) {
    Publish(frame, target, false, 0);
    done(Status());
    return;
  }
  if (frame.kind == FrameKind::kSet) NormalizeToolCall(&frame.value, target.legacy);
  Store& store = hub_->store();
  const bool queued = options_.async_writes && store.HasNativeAsyncWrites();
  Op* op = new Op{this, std::move(frame), &target, resume, std::move(done), Status(), true, 0};
  // After the store reported: publish and report on `resume`, else right here.
  auto next = [](Op* op) {
    if (op->resume == nullptr) return Finish(op);
    Executor* resume = op->resume;  // `op` belongs to the task once posted
    resume->Post([op] { Finish(op); });
  };
  if (op->frame.kind == FrameKind::kSet && IsCostFrame(op->frame)) {
    CostRecord cost = CostFromFrame(op->frame, target);
    if (cost.callsign.empty()) return Finish(op);  // published, not stored (§4.8.1)
    if (queued) {
      // Cast swallows cost errors (§4.8.1): the frame is published regardless.
      store.UpsertCostAsync(std::move(cost), [op, next](const Status&) { next(op); });
      return;
    }
  } else if (op->frame.kind == FrameKind::kSet && queued) {
    store.CompleteMessageAsync(MessageFromSetFrame(op->frame, target),
                               [op, next](Result<CompletedMessage> r) {
                                 if (r.ok()) {
                                   op->applied = r->outcome != MessageCompletion::kAlreadyComplete;
                                   op->seq = r->seq;
                                 } else {
                                   op->status = r.status();
                                 }
                                 next(op);
                               });
    return;
  }
  // The blocking path (a store without native async writes, a reset: it reads first).
  hub_->Post([op, next] {
    Store& s = op->ingest->hub_->store();
    op->status = op->frame.kind == FrameKind::kSet
                     ? internal::PersistSetFrame(s, op->frame, *op->target, &op->applied,
                                                 &op->seq)
                     : internal::ApplyReset(s, op->frame, *op->target);
    next(op);
  });
}

void Ingest::Finish(Op* op) {
  std::unique_ptr<Op> owned(op);
  if (op->status.ok() && op->applied) {
    op->ingest->Publish(op->frame, *op->target, op->frame.kind == FrameKind::kSet, op->seq);
  }
  std::function<void(Status)> done = std::move(op->done);
  Status status = std::move(op->status);
  owned.reset();
  done(std::move(status));
}

std::unique_ptr<IngestSession> Ingest::NewSession(IngestTarget target, Executor* resume) {
  return std::unique_ptr<IngestSession>(
      new IngestSession(hub_, &options_, std::move(target), resume));
}

}  // namespace agentcore
