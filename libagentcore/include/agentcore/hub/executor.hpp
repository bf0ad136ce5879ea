// SPDX-License-Identifier: Apache-2.0
#pragma once

/// The executor seam: where the hub runs work that nobody waits for (pushing queued messages
/// to an agent after it came online, restarting an agent whose push failed, handling a runtime
/// event). Such work blocks on the store, the runtime and the network, so it never runs on the
/// caller's thread. The server hands the hub its blocking pool; an embedder with no pool of its
/// own lets the hub start one (NewThreadPoolExecutor, threads named "agentcore-hub").

#include <functional>
#include <memory>

#include <agentcore/export.hpp>

namespace agentcore {

/// Runs tasks on other threads. Thread-safe.
class AGENTCORE_EXPORT Executor {
 public:
  virtual ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Runs `task` soon on a thread of the executor's; never on the calling thread inline. Tasks
  /// may block. After the executor began to shut down, tasks are dropped.
  virtual void Post(std::function<void()> task) = 0;

 protected:
  Executor() = default;
};

/// A pool of `threads` threads (at least one) named "agentcore-hub". The destructor runs the
/// tasks already posted, then joins the threads.
AGENTCORE_EXPORT std::unique_ptr<Executor> NewThreadPoolExecutor(unsigned threads);

}  // namespace agentcore
