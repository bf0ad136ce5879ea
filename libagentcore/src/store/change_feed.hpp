// SPDX-License-Identifier: Apache-2.0
#pragma once

// The in-process half of Store::Subscribe(), shared by both backends: a store publishes what a
// commit changed, and one notifier thread ("agentcore-feed") calls every listener for every
// change in commit order. The SQLite store publishes from its writer thread after each commit;
// the PostgreSQL store can publish what its LISTEN loop receives.
//
// Why a thread of its own: listeners then never run on the writer thread, so a slow listener
// delays notifications but never commits, and a listener that calls back into the store (which
// it must not do, per StoreListener, but might) cannot deadlock the writer. Listeners are
// called with no lock held. Thread-safe.

#include <agentcore/store/records.hpp>
#include <agentcore/store/store.hpp>
#include <memory>
#include <vector>

namespace agentcore::internal {

class ChangeFeed {
 public:
  ChangeFeed();
  // Delivers what was already published, then joins the notifier thread. Subscriptions may
  // outlive the feed; they then receive nothing more.
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // Calls `listener` for every change published from now on until the subscription is
  // destroyed. `listener` is not owned and must outlive the subscription. Starts the notifier
  // thread on first use.
  std::unique_ptr<StoreSubscription> Subscribe(StoreListener* listener);

  // Queues `changes` for the listeners and returns at once. A no-op without subscribers.
  void Publish(std::vector<StoreChange> changes);

  // Whether anyone is subscribed, so that a store can skip building changes nobody hears.
  // A store that checks this must make Subscribe() wait for writes already under way (see
  // SqliteStore::Subscribe), or a change committed just after Subscribe() returns could be
  // skipped.
  bool HasSubscribers() const;

  // Blocks until every change published before the call has been delivered. For tests.
  void WaitIdleForTesting();

  struct Core;  // shared with subscriptions, which may outlive the feed

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace agentcore::internal
