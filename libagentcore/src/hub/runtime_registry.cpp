// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/runtime_registry.hpp>

#include <set>
#include <utility>

namespace agentcore {

Result<std::unique_ptr<RuntimeRegistry>> RuntimeRegistry::Open(std::vector<RuntimeSpec> specs,
                                                               const RuntimeOptions& options) {
  std::set<std::string, std::less<>> names;
  std::set<std::string, std::less<>> types;
  for (const RuntimeSpec& spec : specs) {
    if (spec.name.empty() || !spec.open) {
      return InvalidArgument("a runtime spec needs a name and an open function");
    }
    if (!names.insert(spec.name).second) {
      return InvalidArgument("runtime \"" + spec.name + "\" is configured twice");
    }
    for (const std::string& type : spec.agent_types) {
      if (!types.insert(type).second) {
        return InvalidArgument("agent type \"" + type + "\" is claimed by two runtimes");
      }
    }
  }
  std::unique_ptr<RuntimeRegistry> registry(new RuntimeRegistry());
  for (RuntimeSpec& spec : specs) {
    Result<std::unique_ptr<Runtime>> runtime = spec.open(options);
    if (!runtime.ok()) {
      return Status(runtime.status().code(),
                    "runtime \"" + spec.name + "\": " + runtime.status().message());
    }
    registry->all_.push_back(runtime->get());
    registry->entries_.push_back(
        Entry{std::move(spec.name), std::move(spec.agent_types), *std::move(runtime)});
  }
  return registry;
}

RuntimeRegistry::~RuntimeRegistry() {
  while (!entries_.empty()) entries_.pop_back();  // reverse order of the specs
}

Runtime* RuntimeRegistry::ForType(std::string_view agent_type) const {
  Runtime* fallback = nullptr;
  for (const Entry& e : entries_) {
    for (const std::string& type : e.agent_types) {
      if (type == agent_type) return e.runtime.get();
      if (type == "*") fallback = e.runtime.get();
    }
  }
  return fallback;
}

Runtime* RuntimeRegistry::Find(std::string_view name) const {
  for (const Entry& e : entries_) {
    if (e.name == name) return e.runtime.get();
  }
  return nullptr;
}

}  // namespace agentcore
