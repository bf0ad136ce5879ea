// SPDX-License-Identifier: Apache-2.0
#pragma once

// A non-owning reference to a callable, for callbacks that run before the call that received
// them returns (a write runs on the writer thread while its caller waits). Unlike
// std::function it never allocates. The callable must outlive every call through the ref.

#include <memory>
#include <type_traits>
#include <utility>

namespace agentcore::internal {

template <typename Fn>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  template <typename F,
            std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, FunctionRef>, int> = 0>
  FunctionRef(F&& f)  // NOLINT: implicit, like std::function
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* obj, Args... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(obj))(std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(obj_, std::forward<Args>(args)...); }

 private:
  void* obj_;
  R (*call_)(void*, Args...);
};

}  // namespace agentcore::internal
