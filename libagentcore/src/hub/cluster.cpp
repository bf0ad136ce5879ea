// SPDX-License-Identifier: Apache-2.0
// The hub's link to the other nodes (cluster_internal.hpp, docs/cluster.md).

#include "cluster_internal.hpp"

#include <pthread.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <random>
#include <utility>

#include "agents_internal.hpp"

namespace agentcore::hub_internal {

namespace {

/// A kLines event carries at most this much (more lines: several events, in order).
constexpr std::size_t kEventPayloadBytes = 1u << 20;
/// One append writes at most this many events (one INSERT).
constexpr std::size_t kBatchEvents = 256;
/// How often (hub clock, ms) the node holding the janitor lease purges the change log: a
/// minute's rows at a time stay well below the default ten minutes of retention.
constexpr UnixMillis kJanitorEvery = 60'000;
/// How long Start() waits for the other nodes to answer its hello (a node that died a moment
/// ago still holds its node lease and never answers: the wait must stay short).
constexpr std::chrono::milliseconds kJoinWaitMax{2'000};
/// Most node leases read when refreshing the peers (far above any real cluster).
constexpr std::size_t kMaxPeers = 4096;

std::size_t SizeOf(const StoreChange& c) {
  return sizeof(StoreChange) + c.channel_id.size() + c.id.size() + c.cluster.payload.size() +
         c.cluster.origin.size() + c.cluster.channel_id.size() + c.cluster.key.size();
}

}  // namespace

std::string MakeNodeId() {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') std::snprintf(host, 8, "node");
  std::random_device rd;
  char tail[32];
  std::snprintf(tail, sizeof(tail), "-%ld-%06x", static_cast<long>(getpid()),
                static_cast<unsigned>(rd() & 0xffffffu));
  // A node id goes into keys (leases, run worker ids): a long host name is cut, the pid and
  // random part kept; characters outside IsValidNodeId's set become '-'.
  std::string id(host);
  const std::size_t room = kMaxNodeIdBytes - std::string_view(tail).size();
  if (id.size() > room) id.resize(room);
  for (char& c : id) {
    if (!IsValidNodeId(std::string_view(&c, 1))) c = '-';
  }
  return id + tail;
}

bool IsValidNodeId(std::string_view id) {
  if (id.empty() || id.size() > kMaxNodeIdBytes) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string EncodeLines(std::span<const PublishedLine> lines) {
  std::string out;
  std::size_t size = 0;
  for (const PublishedLine& l : lines) size += l.line.size() + l.event_id.size() + 32;
  out.reserve(size);
  for (const PublishedLine& l : lines) {
    out += std::to_string(l.seq);
    out += ':';
    out += l.event_id;
    out += ':';
    out += std::to_string(l.line.size());
    out += ':';
    out += l.line;
  }
  return out;
}

std::optional<std::vector<OwnedLine>> DecodeLines(std::string_view payload) {
  std::vector<OwnedLine> out;
  auto number = [&payload](std::uint64_t* value) {
    const char* end = payload.data() + payload.size();
    auto [ptr, ec] = std::from_chars(payload.data(), end, *value);
    if (ec != std::errc() || ptr == payload.data() || ptr == end || *ptr != ':') return false;
    payload.remove_prefix(static_cast<std::size_t>(ptr - payload.data()) + 1);
    return true;
  };
  while (!payload.empty()) {
    OwnedLine line;
    std::uint64_t length = 0;
    if (!number(&line.seq)) return std::nullopt;
    const std::size_t colon = payload.find(':');
    if (colon == std::string_view::npos || colon > kMaxKeyBytes) return std::nullopt;
    line.event_id = payload.substr(0, colon);
    payload.remove_prefix(colon + 1);
    if (!number(&length) || length > payload.size()) return std::nullopt;
    line.line = payload.substr(0, length);
    payload.remove_prefix(length);
    out.push_back(std::move(line));
  }
  return out;
}

std::string ApiUrlLeaseKey(std::string_view node_id, std::string_view url) {
  std::string key(kApiUrlLeasePrefix);
  key += node_id;
  key += '/';
  key += url;
  return key;
}

std::string AgentLeaseKey(std::string_view channel_id, std::string_view callsign) {
  std::string key = "agent:";
  key += channel_id;
  key += '/';
  key += callsign;
  return key;
}

std::string SessionLeaseKey(std::string_view session_id) {
  return "session:" + std::string(session_id);
}

ClusterLink::ClusterLink(Store& store, Clock& clock, std::string node_id, ClusterOptions options,
                         Sinks sinks)
    : store_(store),
      clock_(clock),
      node_id_(std::move(node_id)),
      node_lease_key_(std::string(kNodeLeasePrefix) + node_id_),
      options_(std::move(options)),
      sinks_(std::move(sinks)) {}

ClusterLink::~ClusterLink() { Close(false); }

Status ClusterLink::Start() {
  Result<std::unique_ptr<StoreSubscription>> sub = store_.Subscribe(this);
  if (!sub.ok()) return sub.status();
  {
    std::lock_guard lock(sub_mu_);
    subscription_ = std::move(sub).value();
  }
  receiver_ = std::thread([this] { Receive(); });  // the answers to the hello arrive there
  // One renewal before the hub is handed out, so that a node is ready (Hub::Ready) as soon as
  // it serves rather than after its appender's first turn. A failure is logged; Ready says so.
  RenewNow();
  // Join (docs/cluster.md "Peers"): the node lease first, then the list of the others, then
  // the hello. Another node starting at the same time either is in the list or reads the
  // hello (its feed began before its lease, its list after it), so each learns of the other.
  if (!HoldOrTake(node_lease_key_)) {
    return Status(ErrorCode::kUnavailable,
                  "cannot take the node lease \"" + node_lease_key_ + "\" (see the log)");
  }
  RefreshPeers(clock_.NowMillis());
  {
    std::lock_guard lock(mu_);
    for (const auto& [peer, hello] : peers_) unanswered_.push_back(peer);
  }
  SendHello({});
  {
    // Until every node has answered, its lines might not reach this node's subscribers; the
    // hub is not handed out (and the server does not listen) before.
    std::unique_lock lock(mu_);
    answered_cv_.wait_for(lock, std::min(options_.lease, kJoinWaitMax),
                          [&] { return unanswered_.empty() || stopping_; });
    if (!unanswered_.empty()) {
      LogAgentError("join the cluster",
                    Status(ErrorCode::kUnavailable,
                           std::to_string(unanswered_.size()) +
                               " node(s) holding a node lease did not answer the hello, among "
                               "them " + unanswered_.front() + " (stopped a moment ago?)"));
      unanswered_.clear();
    }
  }
  thread_ = std::thread([this] { Run(); });
  return Status();
}

void ClusterLink::StopFeed() {
  std::unique_ptr<StoreSubscription> sub;
  {
    std::lock_guard lock(sub_mu_);
    sub = std::move(subscription_);
  }
  sub.reset();  // waits for a running OnChange
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    inbox_.clear();
    inbox_bytes_ = 0;
  }
  in_cv_.notify_all();
  if (receiver_.joinable()) receiver_.join();
}

void ClusterLink::Close(bool release) {
  StopFeed();
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();  // appends what is queued first
  if (release) Drain();
}

// --- Lines ----------------------------------------------------------------------------------

void ClusterLink::Enqueue(std::string_view channel_id, std::span<const PublishedLine> lines) {
  // Alone on the database: nobody reads lines, so none is written (a joining node makes the
  // others publish before it serves: Start()).
  if (!has_peers_.load(std::memory_order_acquire)) {
    lines_unshared_.fetch_add(lines.size(), std::memory_order_relaxed);
    return;
  }
  Pending p;
  p.channel_id = channel_id;
  p.lines.reserve(lines.size());
  for (const PublishedLine& l : lines) {
    p.lines.push_back(OwnedLine{std::string(l.line), std::string(l.event_id), l.seq});
    p.bytes += l.line.size() + l.event_id.size() + sizeof(OwnedLine);
    if (l.event_id.empty()) ++p.live_only;
  }
  p.bytes += channel_id.size();
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    stats_.lines_queued += lines.size();
    queue_bytes_ += p.bytes;
    queue_.push_back(std::move(p));
    if (queue_bytes_ > options_.line_queue_bytes) DropForSpaceLocked();
  }
  cv_.notify_one();
}

void ClusterLink::DropForSpaceLocked() {
  // Live-only lines first, oldest first: a subscriber loses a token or a state, never a
  // stored message it could not replay.
  for (Pending& p : queue_) {
    if (queue_bytes_ <= options_.line_queue_bytes) return;
    if (p.live_only == 0) continue;  // nothing to drop here (cheap under a long overload)
    std::erase_if(p.lines, [&](const OwnedLine& l) {
      if (!l.event_id.empty() || queue_bytes_ <= options_.line_queue_bytes) return false;
      const std::size_t b = l.line.size() + sizeof(OwnedLine);
      p.bytes -= b;
      queue_bytes_ -= b;
      --p.live_only;
      ++stats_.lines_dropped;
      return true;
    });
  }
  // Still over: the oldest calls go whole (their stored messages are in the store).
  while (queue_bytes_ > options_.line_queue_bytes && queue_.size() > 1) {
    stats_.lines_dropped += queue_.front().lines.size();
    queue_bytes_ -= queue_.front().bytes;
    queue_.pop_front();
  }
}

void ClusterLink::Run() {
  ::pthread_setname_np(::pthread_self(), "agentcore-clap");
  const auto renew_every = std::max(options_.lease / 3, std::chrono::milliseconds(1));
  auto next_renew = std::chrono::steady_clock::now() + renew_every;  // Start() renewed once
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_until(lock, next_renew, [&] { return closed_ || !queue_.empty(); });
    // Renewals first when due, even under a steady stream of lines: a node busy publishing
    // must not lose its leases (they wait at most one append).
    if (!closed_ && std::chrono::steady_clock::now() >= next_renew) {
      lock.unlock();
      RenewNow();
      KeepNodeLease();
      RefreshPeers(clock_.NowMillis());
      Janitor(clock_.NowMillis());
      lock.lock();
      next_renew = std::chrono::steady_clock::now() + renew_every;
    }
    if (!queue_.empty()) {
      std::deque<Pending> batch;
      batch.swap(queue_);
      queue_bytes_ = 0;
      lock.unlock();
      AppendBatch(std::move(batch));
      lock.lock();
      continue;
    }
    if (closed_) return;
  }
}

void ClusterLink::AppendBatch(std::deque<Pending> batch) {
  std::vector<ClusterEvent> events;
  auto flush = [&] {
    if (events.empty()) return;
    const Status s = store_.AppendClusterEvents(events);
    std::lock_guard lock(mu_);
    if (s.ok()) {
      stats_.events_appended += events.size();
    } else {
      ++stats_.append_failures;
    }
    if (!s.ok()) LogAgentError("append cluster lines", s);
    events.clear();
  };
  std::vector<PublishedLine> views;
  for (const Pending& p : batch) {
    std::size_t i = 0;
    while (i < p.lines.size()) {
      views.clear();
      std::size_t bytes = 0;
      // One Publish call is one event unless it is larger than an event may be.
      while (i < p.lines.size() &&
             (views.empty() || bytes + p.lines[i].line.size() <= kEventPayloadBytes)) {
        const OwnedLine& l = p.lines[i++];
        views.push_back(PublishedLine{l.line, l.event_id, l.seq});
        bytes += l.line.size() + l.event_id.size() + 32;
      }
      ClusterEvent e;
      e.kind = ClusterEvent::Kind::kLines;
      e.origin = node_id_;
      e.channel_id = p.channel_id;
      e.payload = EncodeLines(views);
      events.push_back(std::move(e));
      if (events.size() >= kBatchEvents) flush();
    }
  }
  flush();
}

// --- Receiving ------------------------------------------------------------------------------

void ClusterLink::OnChange(const StoreChange& change) {
  if (change.kind == StoreChange::Kind::kCluster) {
    if (change.cluster.origin == node_id_) return;  // our own lines and wakes
  } else if (change.kind != StoreChange::Kind::kRunEvent) {
    return;  // messages and rosters: the node that wrote them published them as kLines
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    inbox_bytes_ += SizeOf(change);
    inbox_.push_back(change);
    // The receiver fell this far behind: the oldest facts go (subscribers resync from the
    // store on their next reconnect; a wake lost is made up by the owner's next drain).
    while (inbox_bytes_ > options_.line_queue_bytes && inbox_.size() > 1) {
      inbox_bytes_ -= SizeOf(inbox_.front());
      inbox_.pop_front();
      ++stats_.inbox_dropped;
    }
  }
  in_cv_.notify_one();
}

void ClusterLink::Receive() {
  ::pthread_setname_np(::pthread_self(), "agentcore-clrx");
  std::unique_lock lock(mu_);
  for (;;) {
    in_cv_.wait(lock, [&] { return stopping_ || !inbox_.empty(); });
    if (stopping_) return;
    StoreChange c = std::move(inbox_.front());
    inbox_.pop_front();
    inbox_bytes_ -= SizeOf(c);
    lock.unlock();
    if (c.kind == StoreChange::Kind::kRunEvent) {
      if (sinks_.run_event) sinks_.run_event(c.id, c.seq);
    } else if (c.cluster.kind == ClusterEvent::Kind::kNodeHello) {
      OnHello(c.cluster.origin, c.cluster.key);
    } else if (c.cluster.kind == ClusterEvent::Kind::kAgentWake) {
      if (sinks_.agent_wake) sinks_.agent_wake(c.cluster.channel_id, c.cluster.key,
                                               c.cluster.payload);
    } else if (std::optional<std::vector<OwnedLine>> lines = DecodeLines(c.cluster.payload)) {
      std::vector<PublishedLine> views;
      views.reserve(lines->size());
      for (const OwnedLine& l : *lines) views.push_back(PublishedLine{l.line, l.event_id, l.seq});
      if (sinks_.lines && !views.empty()) sinks_.lines(c.cluster.channel_id, views);
      std::lock_guard stats(mu_);
      stats_.lines_received += views.size();
    } else {
      LogAgentError("read cluster lines",
                    Status(ErrorCode::kInvalidArgument, "malformed kLines payload from " +
                                                            c.cluster.origin));
    }
    lock.lock();
  }
}

// --- Leases ---------------------------------------------------------------------------------

bool ClusterLink::Holds(std::string_view key) const {
  const UnixMillis now = clock_.NowMillis();
  std::lock_guard lock(mu_);
  auto it = held_.find(key);
  return it != held_.end() && it->second > now;
}

bool ClusterLink::HoldOrTake(std::string_view key, std::string* owner) {
  const UnixMillis now = clock_.NowMillis();
  {
    std::lock_guard lock(mu_);
    auto it = held_.find(key);
    const bool fresh = it != held_.end() && it->second - now > options_.lease.count() / 3;
    if (fresh || draining_) {
      const bool held = it != held_.end() && it->second > now;
      if (owner != nullptr) *owner = held ? node_id_ : std::string();
      return held;
    }
  }
  Result<Lease> lease = store_.AcquireLease(key, node_id_, now, Until(now));
  if (!lease.ok()) {
    LogAgentError("acquire lease", lease.status());
    if (owner != nullptr) owner->clear();
    return Holds(key);
  }
  if (owner != nullptr) *owner = lease->owner;
  {
    std::lock_guard lock(mu_);
    auto it = held_.find(key);
    if (lease->owner != node_id_) {
      if (it != held_.end()) held_.erase(it);  // another node took it after ours expired
      return false;
    }
    if (!draining_) {
      held_.insert_or_assign(std::string(key), lease->expires_at);
      return true;
    }
  }
  // Drain ran meanwhile and released what it knew: give this one back too.
  const std::string keys[] = {std::string(key)};
  (void)store_.ReleaseLeases(node_id_, keys);
  if (owner != nullptr) owner->clear();
  return false;
}

void ClusterLink::Release(std::string_view key) {
  {
    std::lock_guard lock(mu_);
    auto it = held_.find(key);
    if (it == held_.end()) return;
    held_.erase(it);
  }
  const std::string keys[] = {std::string(key)};
  if (Status s = store_.ReleaseLeases(node_id_, keys); !s.ok()) LogAgentError("release lease", s);
}

std::optional<Lease> ClusterLink::Holder(std::string_view key) {
  Result<std::vector<Lease>> leases = store_.ListLeases(key, std::nullopt, 1);
  if (!leases.ok()) {
    LogAgentError("read lease", leases.status());
    return std::nullopt;
  }
  if (leases->empty() || leases->front().key != key) return std::nullopt;
  return std::move(leases->front());
}

std::vector<Lease> ClusterLink::ListExpired(std::string_view prefix, std::size_t limit) {
  Result<std::vector<Lease>> leases = store_.ListLeases(prefix, clock_.NowMillis(), limit);
  if (!leases.ok()) {
    LogAgentError("list expired leases", leases.status());
    return {};
  }
  return *std::move(leases);
}

void ClusterLink::RenewNow() {
  const UnixMillis now = clock_.NowMillis();
  {
    std::lock_guard lock(mu_);
    if (draining_) return;
  }
  Result<std::vector<std::string>> kept = store_.RenewLeases(node_id_, Until(now));
  if (!kept.ok()) {
    LogAgentError("renew leases", kept.status());
    return;  // what was held expires at its time: Holds() turns false then
  }
  std::lock_guard lock(mu_);
  if (draining_) return;
  std::map<std::string, UnixMillis, std::less<>> held;
  for (std::string& key : *kept) held.emplace(std::move(key), Until(now));
  held_ = std::move(held);  // a lease another node took is no longer ours
  last_renewed_ = now;
  ++stats_.renewals;
}

void ClusterLink::Janitor(UnixMillis now) {
  {
    std::lock_guard lock(mu_);
    if (last_janitor_ != 0 && now - last_janitor_ < kJanitorEvery) {
      return;
    }
    last_janitor_ = now;
  }
  if (!HoldOrTake(kJanitorLeaseKey)) return;  // another node keeps the log short
  Result<std::uint64_t> purged = store_.PurgeChangeLog(now - options_.retention.count());
  if (!purged.ok()) LogAgentError("purge change log", purged.status());
}

// --- Cluster events -------------------------------------------------------------------------

void ClusterLink::SendAgentWake(std::string_view channel_id, std::string_view callsign,
                                std::string_view payload) {
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::kAgentWake;
  e.origin = node_id_;
  e.channel_id = channel_id;
  e.key = callsign;
  e.payload = payload;
  if (Status s = store_.AppendClusterEvents(std::span<const ClusterEvent>(&e, 1)); !s.ok()) {
    LogAgentError("send agent wake", s);
  }
}

// --- Readiness and drain --------------------------------------------------------------------

UnixMillis ClusterLink::last_renewed() const {
  std::lock_guard lock(mu_);
  return last_renewed_;
}

bool ClusterLink::draining() const {
  std::lock_guard lock(mu_);
  return draining_;
}

void ClusterLink::Drain() {
  {
    std::lock_guard lock(mu_);
    if (draining_) return;
    draining_ = true;
    held_.clear();
  }
  // Every lease of the node, including one taken by a call racing with this one.
  if (Status s = store_.ReleaseLeases(node_id_, {}); !s.ok()) LogAgentError("release leases", s);
}

ClusterStats ClusterLink::stats() const {
  std::lock_guard lock(mu_);
  ClusterStats out = stats_;
  out.lines_unshared = lines_unshared_.load(std::memory_order_relaxed);
  return out;
}

// --- Peers ----------------------------------------------------------------------------------

std::vector<std::string> ClusterLink::peers() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [peer, hello] : peers_) out.push_back(peer);
  return out;
}

void ClusterLink::RefreshPeers(UnixMillis now) {
  std::uint64_t listed_after = 0;  // hellos numbered above this arrived after the list was read
  {
    std::lock_guard lock(mu_);
    listed_after = hellos_;
  }
  Result<std::vector<Lease>> leases = store_.ListLeases(kNodeLeasePrefix, std::nullopt, kMaxPeers);
  if (!leases.ok()) {
    LogAgentError("list the nodes", leases.status());
    return;  // the peers stay as they were: publishing for a dead node costs, missing one loses
  }
  std::map<std::string, std::uint64_t, std::less<>> peers;
  for (Lease& l : *leases) {
    if (l.key == node_lease_key_ || l.expires_at <= now) continue;
    peers.emplace(l.key.substr(kNodeLeasePrefix.size()), 0);
  }
  std::lock_guard lock(mu_);
  // A node whose hello arrived while the list was read is kept (its lease may be newer).
  for (const auto& [peer, hello] : peers_) {
    if (hello > listed_after) peers.insert_or_assign(peer, hello);
  }
  peers_ = std::move(peers);
  has_peers_.store(!peers_.empty(), std::memory_order_release);
}

void ClusterLink::OnHello(std::string_view origin, std::string_view joiner) {
  {
    std::lock_guard lock(mu_);
    peers_.insert_or_assign(std::string(origin), ++hellos_);
    has_peers_.store(true, std::memory_order_release);  // before the answer below is sent
    if (joiner == node_id_) {
      std::erase(unanswered_, origin);
      if (unanswered_.empty()) answered_cv_.notify_all();
    }
  }
  if (joiner.empty()) SendHello(origin);
}

void ClusterLink::SendHello(std::string_view joiner) {
  ClusterEvent e;
  e.kind = ClusterEvent::Kind::kNodeHello;
  e.origin = node_id_;
  e.channel_id = node_id_;
  e.key = joiner;
  if (Status s = store_.AppendClusterEvents(std::span<const ClusterEvent>(&e, 1)); !s.ok()) {
    LogAgentError("say hello to the other nodes", s);
  }
}

void ClusterLink::KeepNodeLease() {
  if (Holds(node_lease_key_) || draining()) return;
  // Lost (the node stalled past its lease, or the database was away): the others may have
  // stopped publishing for this node; take it again and say hello so that they start again.
  if (HoldOrTake(node_lease_key_)) SendHello({});
}

}  // namespace agentcore::hub_internal
