// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Which runtime starts which agent type. The hub opens every configured runtime with itself
/// as the observer, then asks the registry, for each activation, which runtime runs the
/// agent's type. Today the local process runtime is built in (NewLocalProcessRuntime); Docker,
/// Kubernetes and Fly runtimes plug in here as further specs, and an embedder adds its own
/// (examples/embed-hub: agents implemented in the embedding process).

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/runtime/runtime.hpp>

namespace agentcore {

/// How to open one runtime and which agent types it runs.
struct RuntimeSpec {
  /// Unique among the specs, e.g. "local", "docker".
  std::string name;
  /// The agent types this runtime starts; "*" matches every type no other spec names. An
  /// empty list: the runtime starts nothing (its agents are started elsewhere and only check
  /// in), but it still reaps what an earlier process left and stops agents at shutdown.
  std::vector<std::string> agent_types;
  /// Opens the runtime; the options carry the hub as observer and the hub's clock.
  std::function<Result<std::unique_ptr<Runtime>>(const RuntimeOptions&)> open;
};

/// The opened runtimes. Immutable after Open (thread-safe); owns the runtimes and destroys them
/// in reverse order of the specs.
class AGENTCORE_EXPORT RuntimeRegistry {
 public:
  /// Opens every spec in order. kInvalidArgument for a spec without a name or `open`, for a
  /// name used twice, or for an agent type claimed by two specs ("*" included); the first
  /// error of a spec's `open` otherwise (runtimes opened before it are destroyed).
  static Result<std::unique_ptr<RuntimeRegistry>> Open(std::vector<RuntimeSpec> specs,
                                                       const RuntimeOptions& options);
  ~RuntimeRegistry();
  RuntimeRegistry(const RuntimeRegistry&) = delete;
  RuntimeRegistry& operator=(const RuntimeRegistry&) = delete;

  /// The runtime that starts agents of `agent_type`: the spec naming the type, else the one
  /// with "*". nullptr when none does: such agents start elsewhere and check in.
  Runtime* ForType(std::string_view agent_type) const;
  /// The runtime of the spec named `name`; nullptr when there is none.
  Runtime* Find(std::string_view name) const;
  /// Every runtime, in spec order.
  std::span<Runtime* const> All() const { return all_; }

 private:
  RuntimeRegistry() = default;
  struct Entry {
    std::string name;
    std::vector<std::string> agent_types;
    std::unique_ptr<Runtime> runtime;
  };
  std::vector<Entry> entries_;
  std::vector<Runtime*> all_;
};

}  // namespace agentcore
