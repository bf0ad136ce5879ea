// SPDX-License-Identifier: Apache-2.0
#pragma once

// The Store conformance suite: every case runs against every backend, so SQLite and PostgreSQL
// (and any later Store) are held to one behaviour. Include it in exactly one translation unit
// of a test binary, after defining the fixtures to run:
//
//   #define AGENTCORE_STORE_FIXTURES SqliteFileFixture, SqliteMemoryFixture
//   #include "store/store_conformance.hpp"
//
// A fixture is a default-constructible class that opens a fresh, empty, migrated store whose
// clock is a ManualClock, and offers:
//
//   agentcore::Store& store();
//   agentcore::testing::ManualClock& clock();  // the store's clock (options.clock)
//
// Name it for the test output with TYPE_TO_STRING_AS("sqlite-file", SqliteFileFixture). The
// store's max_content_bytes must be the default (16 MiB). The change feed cases wait up to
// kFeedWait for notifications, so a backend may deliver them asynchronously (LISTEN/NOTIFY).

#include <doctest/doctest.h>

#include <agentcore/json.hpp>
#include <agentcore/store/records.hpp>
#include <agentcore/store/store.hpp>
#include <agentcore/ulid.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/manual_clock.hpp"
#include "support/recording_store_listener.hpp"

#ifndef AGENTCORE_STORE_FIXTURES
#error "define AGENTCORE_STORE_FIXTURES (a list of fixture types) before including this header"
#endif

namespace agentcore::conformance {

inline constexpr std::chrono::seconds kFeedWait{5};

// Strings that would break a query built by concatenation; bound parameters keep them data.
inline const std::vector<std::string>& SqlMetaStrings() {
  static const std::vector<std::string> v = {
      "'; DROP TABLE messages; --",
      "\" OR 1=1 --",
      "Robert'); DELETE FROM channels WHERE ('1'='1",
      "%_\\ LIKE '%' ESCAPE '\\'",
      "?1 ?2 :name @p $q",
      "*/ SELECT * FROM api_keys /*",
  };
  return v;
}

inline const std::string kBadUtf8 = std::string("bad \xff\xfe utf8");
inline const std::string kLoneSurrogate = std::string("\xed\xa0\x80");  // U+D800 in UTF-8
inline const std::string kOverlong = std::string("\xc0\xaf");           // overlong '/'

template <typename T>
T Must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

inline void MustOk(const Status& s) { REQUIRE_MESSAGE(s.ok(), s.ToString()); }

template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  return r.ok() ? ErrorCode::kOk : r.status().code();
}
inline ErrorCode CodeOf(const Status& s) { return s.code(); }

// A space with one channel: most cases start here.
struct World {
  Space space;
  Channel channel;
};

inline World MakeWorld(Store& store, std::string_view space_id = "space-1",
                       std::string_view channel_name = "general") {
  World w;
  Space s;
  s.id = std::string(space_id);
  s.name = "Acme";
  s.owner_callsign = "alice";
  w.space = Must(store.EnsureSpace(s));
  NewChannel c;
  c.space_id = w.space.id;
  c.name = std::string(channel_name);
  c.tagline = "talk";
  w.channel = Must(store.CreateChannel(c));
  return w;
}

inline NewMessage TextMessage(const Channel& ch, std::string text, std::string sender = "alice") {
  NewMessage m;
  m.channel_id = ch.id;
  m.sender = std::move(sender);
  m.sender_type = "user";
  m.type = "user";
  m.content = Json(std::move(text));
  return m;
}

inline NewRosterEntry Agent(const Channel& ch, std::string callsign) {
  NewRosterEntry e;
  e.channel_id = ch.id;
  e.callsign = std::move(callsign);
  e.agent_type = "claude";
  return e;
}

inline std::vector<std::string> Ids(const std::vector<Message>& messages) {
  std::vector<std::string> ids;
  for (const Message& m : messages) ids.push_back(m.id);
  return ids;
}

inline std::size_t MessageCount(Store& store, const std::string& channel_id) {
  std::size_t n = 0;
  PageRequest page;
  page.limit = kMaxPageSize;
  page.after = "";
  for (;;) {
    MessagePage p = Must(store.ListMessages(channel_id, page));
    n += p.messages.size();
    if (!p.has_more) return n;
    page.after = p.messages.back().id;
  }
}

using RecordingListener = testing::RecordingStoreListener;

inline auto Is(StoreChange::Kind kind, std::string id) {
  return [kind, id = std::move(id)](const StoreChange& c) { return c.kind == kind && c.id == id; };
}

}  // namespace agentcore::conformance

namespace doctest {
template <>
struct StringMaker<agentcore::ErrorCode> {
  static String convert(agentcore::ErrorCode c) {
    return std::string(agentcore::ErrorCodeName(c)).c_str();
  }
};
}  // namespace doctest

// Every case (in the parts below) is a template over the fixture types.
#define AGENTCORE_STORE_CASE(name) TEST_CASE_TEMPLATE(name, F, AGENTCORE_STORE_FIXTURES)

#include "store/conformance/accounts.hpp"        // NOLINT: the suite's parts
#include "store/conformance/async_writes.hpp"    // NOLINT
#include "store/conformance/channels.hpp"        // NOLINT
#include "store/conformance/cluster.hpp"         // NOLINT
#include "store/conformance/feed_and_input.hpp"  // NOLINT
#include "store/conformance/messages.hpp"        // NOLINT
#include "store/conformance/records.hpp"         // NOLINT
#include "store/conformance/runs_queue.hpp"      // NOLINT
#include "store/conformance/sessions.hpp"        // NOLINT
#include "store/conformance/users_costs.hpp"     // NOLINT

#undef AGENTCORE_STORE_CASE
