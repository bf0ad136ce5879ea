// SPDX-License-Identifier: Apache-2.0
// Store::CurrentChannelVersions on the SQLite store (a file and ":memory:"): which writes raise
// which counter, that reads and other channels' writes raise none, and that a write is visible
// in the versions by the time its caller is acknowledged (blocking and async forms).
#include <agentcore/store/store.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store/temp_dir.hpp"

namespace {

using namespace agentcore;  // NOLINT: test-local brevity
using agentcore::testing::TempDir;

template <typename T>
T Must(Result<T> r) {
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return std::move(r).value();
}

void MustOk(const Status& s) { REQUIRE_MESSAGE(s.ok(), s.ToString()); }

class FileStore {
 public:
  FileStore() {
    SqliteStoreOptions options;
    options.path = dir_.File("store.db");
    store_ = Must(OpenSqliteStore(options));
  }
  Store& store() { return *store_; }

 private:
  TempDir dir_;
  std::unique_ptr<Store> store_;
};

class MemoryStore {
 public:
  MemoryStore() {
    SqliteStoreOptions options;
    options.path = ":memory:";
    store_ = Must(OpenSqliteStore(options));
  }
  Store& store() { return *store_; }

 private:
  std::unique_ptr<Store> store_;
};

ChannelVersions VersionsOf(Store& store, std::string_view channel_id) {
  std::optional<ChannelVersions> v = store.CurrentChannelVersions(channel_id);
  REQUIRE(v.has_value());
  return *v;
}

Channel MakeChannel(Store& store, const std::string& name) {
  Space space;
  space.id = "acme";
  space.name = "Acme";
  space.owner_callsign = "alice";
  Must(store.EnsureSpace(space));
  NewChannel in;
  in.space_id = "acme";
  in.name = name;
  return Must(store.CreateChannel(in));
}

NewMessage Text(const Channel& ch, std::string text, std::string id = "") {
  NewMessage m;
  m.id = std::move(id);
  m.channel_id = ch.id;
  m.sender = "alice";
  m.sender_type = "user";
  m.type = "user";
  m.content = Json(std::move(text));
  return m;
}

RosterEntry AddAgent(Store& store, const Channel& ch, const std::string& callsign) {
  NewRosterEntry e;
  e.channel_id = ch.id;
  e.callsign = callsign;
  e.agent_type = "engineer";
  return Must(store.AddRosterEntry(e));
}

}  // namespace

TYPE_TO_STRING_AS("sqlite-file", FileStore);
TYPE_TO_STRING_AS("sqlite-memory", MemoryStore);

TEST_SUITE("ChannelVersions") {

TEST_CASE_TEMPLATE("reads leave the versions unchanged", F, FileStore, MemoryStore) {
  F f;
  Store& store = f.store();
  Channel ch = MakeChannel(store, "general");
  Must(store.AppendMessage(Text(ch, "hello")));
  AddAgent(store, ch, "echo");
  const ChannelVersions before = VersionsOf(store, ch.id);
  CHECK(VersionsOf(store, ch.id) == before);
  PageRequest page;
  page.limit = 50;
  CHECK(Must(store.ListMessages(ch.id, page)).messages.size() == 1);
  Must(store.GetChannel(ch.id));
  Must(store.ListRoster(ch.id));
  Must(store.GetSpace("acme"));
  CHECK(VersionsOf(store, ch.id) == before);
}

TEST_CASE_TEMPLATE("an append raises the messages counter only, before it returns", F, FileStore,
                   MemoryStore) {
  F f;
  Store& store = f.store();
  Channel ch = MakeChannel(store, "general");
  const ChannelVersions before = VersionsOf(store, ch.id);
  Must(store.AppendMessage(Text(ch, "hello")));
  const ChannelVersions after = VersionsOf(store, ch.id);
  CHECK(after.messages != before.messages);
  CHECK(after.channel == before.channel);
}

TEST_CASE_TEMPLATE("an async append raises the counter before its callback runs", F, FileStore,
                   MemoryStore) {
  F f;
  Store& store = f.store();
  Channel ch = MakeChannel(store, "general");
  const ChannelVersions before = VersionsOf(store, ch.id);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::optional<ChannelVersions> seen;
  store.AppendMessageAsync(Text(ch, "hello"), [&](Result<Message> m) {
    CHECK(m.ok());
    // On the writer thread: the acknowledgement itself.
    std::optional<ChannelVersions> v = store.CurrentChannelVersions(ch.id);
    std::lock_guard lock(mu);
    seen = v;
    done = true;
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  REQUIRE(seen.has_value());
  CHECK(seen->messages != before.messages);
  CHECK(seen->channel == before.channel);
}

TEST_CASE_TEMPLATE("message updates and deletes raise the messages counter", F, FileStore,
                   MemoryStore) {
  F f;
  Store& store = f.store();
  Channel ch = MakeChannel(store, "general");
  Message m = Must(store.AppendMessage(Text(ch, "hel")));

  ChannelVersions before = VersionsOf(store, ch.id);
  MessagePatch patch;
  patch.content = Json("hello");
  Must(store.UpdateMessage(m.id, patch));
  ChannelVersions after = VersionsOf(store, ch.id);
  CHECK(after.messages != before.messages);
  CHECK(after.channel == before.channel);

  SUBCASE("async update") {
    before = after;
    std::atomic<bool> raised{false};
    std::atomic<bool> done{false};
    patch.content = Json("hello!");
    store.UpdateMessageAsync(m.id, patch, [&](Result<Message> r) {
      CHECK(r.ok());
      raised = store.CurrentChannelVersions(ch.id)->messages != before.messages;
      done = true;
    });
    while (!done) std::this_thread::yield();
    CHECK(raised);
  }
  SUBCASE("delete") {
    before = after;
    MustOk(store.DeleteMessage(m.id));
    after = VersionsOf(store, ch.id);
    CHECK(after.messages != before.messages);
    CHECK(after.channel == before.channel);
  }
}

TEST_CASE_TEMPLATE("roster changes raise the channel counter only", F, FileStore, MemoryStore) {
  F f;
  Store& store = f.store();
  Channel ch = MakeChannel(store, "general");
  ChannelVersions before = VersionsOf(store, ch.id);
  AddAgent(store, ch, "echo");
  ChannelVersions after = VersionsOf(store, ch.id);
  CHECK(after.channel != before.channel);
  CHECK(after.messages == before.messages);

  before = after;
  RosterPatch patch;
  patch.status = RosterStatus::kArchived;
  Must(store.UpdateRosterEntry(ch.id, "echo", patch));
  after = VersionsOf(store, ch.id);
  CHECK(after.channel != before.channel);
  CHECK(after.messages == before.messages);

  before = after;
  MustOk(store.RemoveRosterEntry(ch.id, "echo"));
  after = VersionsOf(store, ch.id);
  CHECK(after.channel != before.channel);
  CHECK(after.messages == before.messages);
}

TEST_CASE_TEMPLATE("channel creation, updates and archiving raise the channel counter", F,
                   FileStore, MemoryStore) {
  F f;
  Store& store = f.store();
  // Created with a chosen id: the versions of an id not yet used change when it is created.
  const ChannelVersions unseen = VersionsOf(store, "chosen-id");
  CHECK(VersionsOf(store, "chosen-id") == unseen);
  Space space;
  space.id = "acme";
  space.name = "Acme";
  Must(store.EnsureSpace(space));
  NewChannel in;
  in.id = "chosen-id";
  in.space_id = "acme";
  in.name = "general";
  Must(store.CreateChannel(in));
  ChannelVersions before = VersionsOf(store, "chosen-id");
  CHECK(before.channel != unseen.channel);

  ChannelPatch rename;
  rename.name = "ops";
  Must(store.UpdateChannel("chosen-id", rename));
  ChannelVersions after = VersionsOf(store, "chosen-id");
  CHECK(after.channel != before.channel);
  CHECK(after.messages == before.messages);

  before = after;
  ChannelPatch archive;
  archive.archived = true;
  Must(store.UpdateChannel("chosen-id", archive));
  after = VersionsOf(store, "chosen-id");
  CHECK(after.channel != before.channel);
}

TEST_CASE_TEMPLATE("writes to other channels and failed writes leave a channel's versions alone",
                   F, FileStore, MemoryStore) {
  F f;
  Store& store = f.store();
  Channel a = MakeChannel(store, "a");
  Channel b = MakeChannel(store, "b");
  Message m = Must(store.AppendMessage(Text(a, "first")));
  const ChannelVersions before = VersionsOf(store, a.id);

  Must(store.AppendMessage(Text(b, "other")));
  AddAgent(store, b, "echo");
  ChannelPatch rename;
  rename.name = "b2";
  Must(store.UpdateChannel(b.id, rename));
  CHECK(VersionsOf(store, a.id) == before);

  // Failures: a taken message id, a taken callsign, a rename onto a taken name.
  AddAgent(store, a, "echo");
  const ChannelVersions with_agent = VersionsOf(store, a.id);
  CHECK(store.AppendMessage(Text(a, "again", m.id)).status().code() == ErrorCode::kAlreadyExists);
  NewRosterEntry dup;
  dup.channel_id = a.id;
  dup.callsign = "echo";
  dup.agent_type = "engineer";
  CHECK(store.AddRosterEntry(dup).status().code() == ErrorCode::kAlreadyExists);
  rename.name = "b2";
  CHECK(store.UpdateChannel(a.id, rename).status().code() == ErrorCode::kAlreadyExists);
  CHECK(VersionsOf(store, a.id) == with_agent);
}

TEST_CASE_TEMPLATE("a migration raises every channel's versions, seen or not", F, FileStore,
                   MemoryStore) {
  F f;
  Store& store = f.store();
  Channel ch = MakeChannel(store, "general");
  Must(store.AppendMessage(Text(ch, "hello")));
  const ChannelVersions seen = VersionsOf(store, ch.id);
  const ChannelVersions unseen = VersionsOf(store, "never-written");
  const int version = Must(store.SchemaVersion());
  MustOk(store.MigrateTo(version));
  CHECK(VersionsOf(store, ch.id).messages != seen.messages);
  CHECK(VersionsOf(store, ch.id).channel != seen.channel);
  CHECK(VersionsOf(store, "never-written").messages != unseen.messages);
  CHECK(VersionsOf(store, "never-written").channel != unseen.channel);
}

TEST_CASE("every acknowledged append is in the versions, with 8 writers and a reader") {
  FileStore f;
  Store& store = f.store();
  Channel ch = MakeChannel(store, "general");
  constexpr int kWriters = 8;
  constexpr int kPerWriter = 50;
  std::atomic<int> stale{0};
  std::atomic<bool> stop{false};
  // A reader polling meanwhile: the counter only grows.
  std::thread reader([&] {
    std::uint64_t last = 0;
    while (!stop) {
      std::uint64_t now = store.CurrentChannelVersions(ch.id)->messages;
      if (now < last) ++stale;
      last = now;
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kPerWriter; ++i) {
        const std::uint64_t before = store.CurrentChannelVersions(ch.id)->messages;
        if (!store.AppendMessage(Text(ch, "m")).ok()) ++stale;
        if (store.CurrentChannelVersions(ch.id)->messages == before) ++stale;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  stop = true;
  reader.join();
  CHECK(stale == 0);
}

TEST_CASE("two openings of one database start their counters apart") {
  TempDir dir;
  SqliteStoreOptions options;
  options.path = dir.File("store.db");
  ChannelVersions first;
  {
    auto store = Must(OpenSqliteStore(options));
    first = VersionsOf(*store, "c");
  }
  auto store = Must(OpenSqliteStore(options));
  // Random 62-bit starts: equal with probability 2^-62.
  CHECK(VersionsOf(*store, "c") != first);
}

}  // TEST_SUITE
