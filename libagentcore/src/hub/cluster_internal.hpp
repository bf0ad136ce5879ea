// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The hub's link to the other nodes on one PostgreSQL database (docs/cluster.md): the line
/// appender (Hub::Publish → ClusterEvent kLines), the feed reader (other nodes' kLines, wakes
/// and run events → this hub's services), the node's leases (take, renew every lease/3, hand
/// back) and the janitor. Two threads of its own: the appender (which also renews) and the
/// receiver (the store's feed thread must not call back into the store, and the run tap
/// does; the receiver keeps log order). Private to libagentcore.
///
/// Not clustered (SQLite, or ClusterOptions::enabled false) nothing of this is made: the hub
/// keeps a null link, and every "do I hold it?" answers yes without a store call.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <agentcore/hub/hub.hpp>
#include <agentcore/hub/publisher.hpp>
#include <agentcore/store/records.hpp>
#include <agentcore/store/store.hpp>

namespace agentcore::hub_internal {

/// Longest node id: it is part of lease owners and run worker ids.
inline constexpr std::size_t kMaxNodeIdBytes = 128;
/// "<hostname>-<pid>-<6 random hex digits>", valid (IsValidNodeId).
std::string MakeNodeId();
/// 1..kMaxNodeIdBytes of [A-Za-z0-9._-] (a host name, a pod name).
bool IsValidNodeId(std::string_view id);

/// A line as the link keeps it: owned copies of PublishedLine's views.
struct OwnedLine {
  std::string line;
  std::string event_id;
  std::uint64_t seq = 0;
};

/// The kLines payload: per line "<seq>:<event id>:<byte length>:<line>" back to back (event
/// ids are ULIDs, without ':'; the length makes any byte of the line safe).
std::string EncodeLines(std::span<const PublishedLine> lines);
/// The inverse; std::nullopt for a malformed payload (nothing is published from it).
std::optional<std::vector<OwnedLine>> DecodeLines(std::string_view payload);

/// The lease keys of docs/cluster.md.
std::string AgentLeaseKey(std::string_view channel_id, std::string_view callsign);
std::string SessionLeaseKey(std::string_view session_id);
inline constexpr std::string_view kJanitorLeaseKey = "janitor";
/// "node:<node id>": held by every node while it runs; the nodes holding one are the peers a
/// node publishes its lines for (none: it publishes none, docs/cluster.md "Peers").
inline constexpr std::string_view kNodeLeasePrefix = "node:";
/// "api-url:<node id>/<url>": held by each node for the API URL it gives its agents, so that a
/// node taking over an agent knows whether the URL that agent was given still reaches a live
/// node (node ids hold no '/').
inline constexpr std::string_view kApiUrlLeasePrefix = "api-url:";
std::string ApiUrlLeaseKey(std::string_view node_id, std::string_view url);

/// What the link counts, for tests and the server's status.
struct ClusterStats {
  std::uint64_t lines_queued = 0;     // lines handed to the appender
  std::uint64_t lines_unshared = 0;   // not appended: no other node was there to read them
  std::uint64_t lines_dropped = 0;    // dropped because the queue was full
  std::uint64_t events_appended = 0;  // kLines events written
  std::uint64_t append_failures = 0;  // AppendClusterEvents calls that failed (lines lost)
  std::uint64_t lines_received = 0;   // other nodes' lines handed to this hub
  std::uint64_t inbox_dropped = 0;    // other nodes' facts dropped: the receiver fell behind
  std::uint64_t renewals = 0;         // RenewLeases calls that succeeded
};

class ClusterLink final : public StoreListener {
 public:
  /// Where the link delivers what other nodes say. Called on the receiver thread, in log
  /// order; each may call the store but should not block for long.
  struct Sinks {
    std::function<void(std::string_view channel_id, std::span<const PublishedLine>)> lines;
    std::function<void(std::string_view channel_id, std::string_view callsign,
                       std::string_view payload)> agent_wake;
    std::function<void(std::string_view run_id, std::uint64_t seq)> run_event;
  };

  ClusterLink(Store& store, Clock& clock, std::string node_id, ClusterOptions options,
              Sinks sinks);
  ~ClusterLink() override;  // Close(false)

  /// Subscribes to the store's feed, takes the node's lease, says hello and waits (at most
  /// two seconds or a lease) until every node holding a node lease has answered (from then
  /// on they publish their lines for this one), then starts the appender.
  Status Start();
  /// Unsubscribes from the feed (waits for a running callback): nothing more reaches the
  /// sinks. Idempotent.
  void StopFeed();
  /// StopFeed, appends what is queued, stops the thread; hands every lease back when
  /// `release` (a clean shutdown; a simulated crash keeps them to expire). Idempotent.
  void Close(bool release);

  // --- Lines
  /// Queues `lines` of `channel_id` for the other nodes. Never blocks on the store: when the
  /// queue holds more than ClusterOptions::line_queue_bytes, the oldest live-only lines go
  /// first (then the oldest of any kind: stored messages replay from the store), counted.
  void Enqueue(std::string_view channel_id, std::span<const PublishedLine> lines);

  // --- Leases
  /// Whether this node holds `key` (cached, not expired). No store call.
  bool Holds(std::string_view key) const;
  /// Holds(key) with at least a third of a lease left, else AcquireLease: true when this node
  /// holds `key` afterwards. `owner` (when not null) gets the holder (this node or another;
  /// empty on a store error). Draining: only leases still held count, none is taken.
  bool HoldOrTake(std::string_view key, std::string* owner = nullptr);
  /// Gives `key` back (ReleaseLeases) if held.
  void Release(std::string_view key);
  /// The lease `key` as the store has it now (std::nullopt: none, or a store error).
  std::optional<Lease> Holder(std::string_view key);
  /// Expired leases under `prefix` (ListLeases), at most `limit`.
  std::vector<Lease> ListExpired(std::string_view prefix, std::size_t limit);
  /// Renews every lease of the node now (the thread does it every lease/3).
  void RenewNow();
  /// The live node leases of the other nodes become the peer set (the thread does it every
  /// lease/3; a node that said hello since the list was read is kept).
  void RefreshPeers(UnixMillis now);

  // --- Cluster events
  /// Sends kAgentWake for (channel, callsign); `payload` says why ("" drain, "suspend:<why>").
  void SendAgentWake(std::string_view channel_id, std::string_view callsign,
                     std::string_view payload = {});

  // --- Readiness and drain
  /// The hub clock's time of the last successful renewal (0 before the first).
  UnixMillis last_renewed() const;
  bool draining() const;
  /// No new leases; every held one handed back. Idempotent.
  void Drain();

  ClusterStats stats() const;
  /// The other nodes this one publishes its lines for (tests, status).
  std::vector<std::string> peers() const;
  const std::string& node_id() const { return node_id_; }
  const ClusterOptions& options() const { return options_; }

  // StoreListener
  void OnChange(const StoreChange& change) override;

 private:
  struct Pending {
    std::string channel_id;
    std::vector<OwnedLine> lines;
    std::size_t bytes = 0;
    std::size_t live_only = 0;  // lines without an event id (droppable first)
  };
  void Run();
  void Receive();
  void AppendBatch(std::deque<Pending> batch);
  void DropForSpaceLocked();
  void Janitor(UnixMillis now);
  /// A hello from `origin`: a peer from now on; a join (`joiner` empty) is answered.
  void OnHello(std::string_view origin, std::string_view joiner);
  void SendHello(std::string_view joiner);
  /// Takes the node lease again if it was lost (and says hello again).
  void KeepNodeLease();
  UnixMillis Until(UnixMillis now) const { return now + options_.lease.count(); }

  Store& store_;
  Clock& clock_;
  const std::string node_id_;
  const std::string node_lease_key_;  // "node:<node id>"
  const ClusterOptions options_;
  const Sinks sinks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;                 // to append; guarded by mu_
  std::size_t queue_bytes_ = 0;               // guarded by mu_
  std::condition_variable in_cv_;
  std::deque<StoreChange> inbox_;             // to hand to the sinks; guarded by mu_
  std::size_t inbox_bytes_ = 0;               // guarded by mu_
  std::map<std::string, UnixMillis, std::less<>> held_;  // key → expires_at; guarded by mu_
  UnixMillis last_renewed_ = 0;               // guarded by mu_
  UnixMillis last_janitor_ = 0;               // guarded by mu_ (the thread's)
  /// The other nodes → the number of their last hello (0: known from the node leases).
  std::map<std::string, std::uint64_t, std::less<>> peers_;  // guarded by mu_
  std::uint64_t hellos_ = 0;                  // hellos received; guarded by mu_
  std::vector<std::string> unanswered_;       // nodes whose answer Start() waits for; mu_
  std::condition_variable answered_cv_;
  /// !peers_.empty(), read without the lock on every Enqueue.
  std::atomic<bool> has_peers_{false};
  std::atomic<std::uint64_t> lines_unshared_{0};
  bool draining_ = false;                     // guarded by mu_
  bool stopping_ = false;                     // guarded by mu_
  bool closed_ = false;                       // guarded by mu_
  ClusterStats stats_;                        // guarded by mu_
  std::unique_ptr<StoreSubscription> subscription_;  // guarded by sub_mu_
  std::mutex sub_mu_;
  std::thread thread_;
  std::thread receiver_;
};

}  // namespace agentcore::hub_internal
