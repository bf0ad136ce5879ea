// SPDX-License-Identifier: Apache-2.0
// Store::CurrentChannelVersions on PostgreSQL (store/postgres/pg_channel_versions.hpp), which
// the server's GET page cache and the hub's routing roster cache trust: this store's writes
// raise the written channel before they return (exact for own writes); another store's writes
// on the same database raise it once the change feed brings them; reads and failed writes
// raise nothing; and whatever the feed cannot carry is bounded by the periodic resync.
#include <agentcore/store/store.hpp>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include <doctest/doctest.h>

#include "store/pg_test_schema.hpp"
#include "store/postgres/pg_channel_versions.hpp"

namespace agentcore::testing {
namespace {

using namespace std::chrono_literals;

template <typename T>
T Must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

ChannelVersions VersionsOf(Store& store, std::string_view channel_id) {
  std::optional<ChannelVersions> v = store.CurrentChannelVersions(channel_id);
  REQUIRE(v.has_value());
  return *v;
}

Channel MakeChannel(Store& store, const std::string& name) {
  Space space;
  space.id = "acme";
  space.name = "Acme";
  Must(store.EnsureSpace(space));
  NewChannel in;
  in.space_id = "acme";
  in.name = name;
  return Must(store.CreateChannel(in));
}

NewMessage Text(const Channel& ch, std::string text) {
  NewMessage m;
  m.space_id = ch.space_id;
  m.channel_id = ch.id;
  m.sender = "alice";
  m.sender_type = "user";
  m.type = "user";
  m.content = Json(std::move(text));
  return m;
}

NewRosterEntry Agent(const Channel& ch, const std::string& callsign) {
  NewRosterEntry e;
  e.channel_id = ch.id;
  e.callsign = callsign;
  e.agent_type = "engineer";
  return e;
}

// Waits until the change feed delivered every change committed so far (this store's own
// writes come back through it too, and raise their channel once more): appends a message to a
// channel of its own and waits for that message's change, which the feed delivers after
// every earlier one.
class Settler final : public StoreListener {
 public:
  explicit Settler(Store& store) : store_(store) {
    channel_ = MakeChannel(store, "settle");
    sub_ = Must(store.Subscribe(this));
  }
  void Settle() {
    const std::string id = Must(store_.AppendMessage(Text(channel_, "settle"))).id;
    std::unique_lock lock(mu_);
    REQUIRE(cv_.wait_for(lock, 10s, [&] { return seen_ == id; }));
  }
  void OnChange(const StoreChange& change) override {
    if (change.kind != StoreChange::Kind::kMessageCreated) return;
    std::lock_guard lock(mu_);
    seen_ = change.id;
    cv_.notify_all();
  }

 private:
  Store& store_;
  Channel channel_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string seen_;  // guarded by mu_
  std::unique_ptr<StoreSubscription> sub_;  // last: unsubscribed before the rest goes
};

// The channel's versions just before and just after `step`, once the feed has settled. Every
// second the store raises every channel (the resync), which would look like a raise by the
// step: a channel no test writes shows when that happened, and the step is then run again.
std::pair<ChannelVersions, ChannelVersions> Around(Store& store, Settler& settler,
                                                   std::string_view channel_id,
                                                   const std::function<void()>& step) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    settler.Settle();
    const ChannelVersions probe = VersionsOf(store, "resync-probe");
    const ChannelVersions before = VersionsOf(store, channel_id);
    step();
    const ChannelVersions after = VersionsOf(store, channel_id);
    if (VersionsOf(store, "resync-probe") == probe) return {before, after};
  }
  FAIL("a resync fell within every attempt");
  return {};
}

// Polls until `changed` holds (the feed is asynchronous), at most 10 s.
bool Eventually(const std::function<bool()>& changed) {
  for (auto end = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < end;
       std::this_thread::sleep_for(2ms)) {
    if (changed()) return true;
  }
  return false;
}

}  // namespace

TEST_SUITE("PostgresChannelVersions") {

TEST_CASE("reads and writes of other channels leave a channel's versions unchanged") {
  PgTestSchema db;
  auto store = db.Open();
  Settler settler(*store);
  Channel ch = MakeChannel(*store, "general");
  Channel other = MakeChannel(*store, "random");
  Must(store->AppendMessage(Text(ch, "hello")));
  int n = 0;
  auto [before, after] = Around(*store, settler, ch.id, [&] {
    PageRequest page;
    page.limit = 50;
    CHECK(Must(store->ListMessages(ch.id, page)).messages.size() == 1);
    Must(store->GetChannel(ch.id));
    Must(store->ListRoster(ch.id));
    Must(store->AppendMessage(Text(other, "elsewhere")));
    Must(store->AddRosterEntry(Agent(other, "echo" + std::to_string(n++))));
  });
  CHECK(after == before);
}

TEST_CASE("this store's message writes raise the messages counter before they return") {
  PgTestSchema db;
  auto store = db.Open();
  Settler settler(*store);
  Channel ch = MakeChannel(*store, "general");
  auto raises_messages_only = [&](const std::function<void()>& write) {
    auto [before, after] = Around(*store, settler, ch.id, write);
    CHECK(after.messages != before.messages);
    CHECK(after.channel == before.channel);
  };
  Message m = Must(store->AppendMessage(Text(ch, "hel")));
  raises_messages_only([&] { Must(store->AppendMessage(Text(ch, "hello"))); });
  raises_messages_only([&] {
    MessagePatch patch;
    patch.content = Json("hello");
    Must(store->UpdateMessage(m.id, patch));
  });
  raises_messages_only([&] {
    // Repeatable: a message of its own to delete.
    const std::string id = Must(store->AppendMessage(Text(ch, "doomed"))).id;
    settler.Settle();
    const ChannelVersions before = VersionsOf(*store, ch.id);
    REQUIRE(store->DeleteMessage(id).ok());
    CHECK(VersionsOf(*store, ch.id).messages != before.messages);
  });
}

TEST_CASE("this store's channel and roster writes raise the channel counter before they return") {
  PgTestSchema db;
  auto store = db.Open();
  Settler settler(*store);
  Channel ch = MakeChannel(*store, "general");
  auto raises_channel_only = [&](const std::function<void()>& write) {
    auto [before, after] = Around(*store, settler, ch.id, write);
    CHECK(after.channel != before.channel);
    CHECK(after.messages == before.messages);
  };
  int n = 0;  // steps may run again (Around): each adds, updates and removes its own entry
  raises_channel_only([&] { Must(store->AddRosterEntry(Agent(ch, "echo" + std::to_string(++n)))); });
  raises_channel_only([&] {
    RosterPatch patch;
    patch.agent_type = "reviewer";
    Must(store->UpdateRosterEntry(ch.id, "echo" + std::to_string(n), patch));
  });
  raises_channel_only([&] {
    Must(store->AddRosterEntry(Agent(ch, "gone" + std::to_string(++n))));
    settler.Settle();
    const ChannelVersions before = VersionsOf(*store, ch.id);
    REQUIRE(store->RemoveRosterEntry(ch.id, "gone" + std::to_string(n)).ok());
    CHECK(VersionsOf(*store, ch.id).channel != before.channel);
  });
  raises_channel_only([&] {
    ChannelPatch patch;
    patch.name = "renamed" + std::to_string(++n);
    Must(store->UpdateChannel(ch.id, patch));
  });
}

TEST_CASE("failed and refused writes raise nothing") {
  PgTestSchema db;
  auto store = db.Open();
  Settler settler(*store);
  Channel ch = MakeChannel(*store, "general");
  Must(store->AddRosterEntry(Agent(ch, "echo")));
  auto [before, after] = Around(*store, settler, ch.id, [&] {
    // Taken callsign, missing entry, bad input: answered without changing the channel.
    CHECK(store->AddRosterEntry(Agent(ch, "echo")).status().code() == ErrorCode::kAlreadyExists);
    CHECK(store->RemoveRosterEntry(ch.id, "nobody").code() == ErrorCode::kNotFound);
    CHECK(store->AddRosterEntry(Agent(ch, "")).status().code() == ErrorCode::kInvalidArgument);
    CHECK(store->UpdateMessage("no-such-message", MessagePatch{}).status().code() ==
          ErrorCode::kNotFound);
    CHECK(store->DeleteMessage("no-such-message").code() == ErrorCode::kNotFound);
    NewMessage empty = Text(ch, "");
    empty.sender = "";
    CHECK_FALSE(store->AppendMessage(empty).ok());
    // A message for a channel that does not exist is refused.
    Channel ghost = ch;
    ghost.id = "no-such-channel";
    CHECK(store->AppendMessage(Text(ghost, "lost")).status().code() == ErrorCode::kNotFound);
  });
  CHECK(after == before);
}

TEST_CASE("another store's writes on the same database raise the counters through the feed") {
  PgTestSchema db;
  auto mine = db.Open();
  auto theirs = db.Open();  // another server: its writes reach `mine` only through the feed
  Channel ch = MakeChannel(*theirs, "general");

  ChannelVersions before = VersionsOf(*mine, ch.id);
  Message m = Must(theirs->AppendMessage(Text(ch, "from another server")));
  CHECK(Eventually([&] { return VersionsOf(*mine, ch.id).messages != before.messages; }));
  CHECK(VersionsOf(*mine, ch.id).channel == before.channel);

  before = VersionsOf(*mine, ch.id);
  MessagePatch patch;
  patch.content = Json("edited elsewhere");
  Must(theirs->UpdateMessage(m.id, patch));
  CHECK(Eventually([&] { return VersionsOf(*mine, ch.id).messages != before.messages; }));

  before = VersionsOf(*mine, ch.id);
  REQUIRE(theirs->DeleteMessage(m.id).ok());
  CHECK(Eventually([&] { return VersionsOf(*mine, ch.id).messages != before.messages; }));

  before = VersionsOf(*mine, ch.id);
  Must(theirs->AddRosterEntry(Agent(ch, "echo")));
  CHECK(Eventually([&] { return VersionsOf(*mine, ch.id).channel != before.channel; }));

  before = VersionsOf(*mine, ch.id);
  REQUIRE(theirs->RemoveRosterEntry(ch.id, "echo").ok());
  CHECK(Eventually([&] { return VersionsOf(*mine, ch.id).channel != before.channel; }));
}

TEST_CASE("a write by hand (psql) is seen through the feed too") {
  PgTestSchema db;
  auto store = db.Open();
  Channel ch = MakeChannel(*store, "general");
  Message m = Must(store->AppendMessage(Text(ch, "hello")));
  const ChannelVersions before = VersionsOf(*store, ch.id);
  db.Query("DELETE FROM messages WHERE id = '" + m.id + "'");
  CHECK(Eventually([&] { return VersionsOf(*store, ch.id).messages != before.messages; }));
}

TEST_CASE("the resync raises every channel once per period, and only then") {
  internal::PgChannelVersions versions(400ms);
  const ChannelVersions a = versions.Get("c1");
  const ChannelVersions b = versions.Get("c2");
  CHECK(versions.Get("c1") == a);  // well within the period
  std::this_thread::sleep_for(450ms);
  const ChannelVersions a2 = versions.Get("c1");
  CHECK(a2.messages != a.messages);
  CHECK(a2.channel != a.channel);
  CHECK(versions.Get("c2") != b);  // raised by the same resync
  CHECK(versions.Get("c1") == a2);
}

TEST_CASE("feed changes raise the counter of their kind; run and cluster events none") {
  internal::PgChannelVersions versions(1h);
  const ChannelVersions before = versions.Get("c1");
  StoreChange change;
  change.channel_id = "c1";
  change.kind = StoreChange::Kind::kRunEvent;
  versions.OnChange(change);
  change.kind = StoreChange::Kind::kCluster;
  versions.OnChange(change);
  CHECK(versions.Get("c1") == before);
  change.kind = StoreChange::Kind::kMessageCreated;
  versions.OnChange(change);
  ChannelVersions after = versions.Get("c1");
  CHECK(after.messages == before.messages + 1);
  CHECK(after.channel == before.channel);
  change.kind = StoreChange::Kind::kRosterChanged;
  versions.OnChange(change);
  CHECK(versions.Get("c1").channel == before.channel + 1);
}

}  // TEST_SUITE

}  // namespace agentcore::testing
