// SPDX-License-Identifier: Apache-2.0
// Out-of-line destructors, so each interface's vtable has one home in the library.
#include <agentcore/store/store.hpp>

namespace agentcore {

StoreListener::~StoreListener() = default;
StoreSubscription::~StoreSubscription() = default;
Store::~Store() = default;

}  // namespace agentcore
