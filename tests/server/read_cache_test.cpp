// SPDX-License-Identifier: Apache-2.0
// The read cache (server/src/read_cache.hpp): GET /channels/:id/messages pages and POST's
// channel + routing roster are reused only while the store's channel versions are unchanged,
// so every read sees every write acknowledged before it (a POST, a Tymbal set frame, a
// streamed update, a reset, a roster change, an archive). The same tests run on PostgreSQL,
// whose versions are exact for the server's own writes, plus one with a second server on the
// same database, whose writes reach the first one's caches through the change feed. Plus the
// cache unit itself: its byte bound and LRU eviction.
#include "read_cache.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "server/raw_client.hpp"
#include "server/rest_test_client.hpp"

namespace agentcore::testing {
namespace {

using namespace std::chrono_literals;
using server::ReadCache;

struct CachedChannel {
  explicit CachedChannel(std::size_t cache_bytes = 64u << 20)
      : server([cache_bytes](server::ServerConfig& c) { c.read_cache_bytes = cache_bytes; }) {}

  RestServer server;
  RestClient client = server.Login("alice");
  RestClient other = RestClient(server.port(), client.cookie());  // a second connection
  std::string channel = CreateChannel(client, "ops");
  std::string path = "/channels/" + channel + "/messages";

  bool cache_used() { return server.app().store().CurrentChannelVersions(channel).has_value(); }

  // Contents of GET path+query, in order.
  std::vector<std::string> Contents(RestClient& c, std::string_view query = "") {
    RestReply r = c.Get(path + std::string(query));
    REQUIRE_MESSAGE(r.status == 200, r.body);
    std::vector<std::string> out;
    for (const Json& m : At(r.json, "messages").as_array()) {
      const Json& content = At(m, "content");
      out.push_back(content.is_string() ? content.as_string() : ToJson(content));
    }
    return out;
  }
  Json Post(RestClient& c, std::string_view content) {
    return PostMessage(c, channel,
                       R"({"sender":"alice","content":")" + std::string(content) + "\"}");
  }
  std::string Token(const std::string& callsign) {
    return server.app().ContainerToken(
        AgentIdentity{server.app().store().GetChannel(channel)->space_id, channel, callsign});
  }
  int PostFrame(const std::string& frame) {
    HttpRequest req;
    req.method = "POST";
    req.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/tymbal/" + channel;
    req.body = frame;
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("Authorization", "Container " + Token("echo"));
    auto r = NewHttpClient()->Send(req);
    REQUIRE(r.ok());
    return r->status;
  }
};

std::string Addressed(const Json& message) {
  const Json* a = message.Find("addressedAgents");
  return a == nullptr ? "none" : ToJson(*a);
}

}  // namespace

TEST_SUITE("ReadCache") {

TEST_CASE("a GET after a POST sees the new message, from any connection") {
  CachedChannel t;
  CHECK(t.Contents(t.client).empty());
  for (int i = 0; i < 20; ++i) {
    const std::string text = "m" + std::to_string(i);
    // Read twice (the second read can be a hit), then write on one connection and read on
    // the other: the page must include the write the moment the POST was answered.
    (void)t.Contents(t.client);
    (void)t.Contents(t.other);
    t.Post(i % 2 == 0 ? t.client : t.other, text);
    std::vector<std::string> seen = t.Contents(i % 2 == 0 ? t.other : t.client);
    REQUIRE(!seen.empty());
    CHECK(seen.back() == text);
    CHECK(seen.size() == static_cast<std::size_t>(i + 1));
    CHECK(t.Contents(t.client, "?limit=2").back() == text);
  }
  REQUIRE(t.cache_used());  // both stores keep versions
  CHECK(t.server.app().read_cache().hits() > 0);
}

// Polls `done` for up to 10 s: another server's write arrives through the change feed.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST_CASE("PostgreSQL: another server's POSTs and roster changes reach this server's caches") {
  if (!server::testing::ServerFixture::UsePostgres()) {
    MESSAGE("one server per SQLite file: nothing to test on this backend");
    return;
  }
  CachedChannel t;
  const std::string url = t.server.app().config().database_url;
  RestServer second([url](server::ServerConfig& c) { c.database_url = url; });
  RestClient there(second.port(), t.client.cookie());  // the dev session works on both

  t.Post(t.client, "first");
  // Cached on this server: a read is soon a hit (not at once: the feed's echo of the POST and
  // the 1 s resync each invalidate the page once).
  const std::uint64_t hits = t.server.app().read_cache().hits();
  CHECK(Eventually([&] {
    CHECK(t.Contents(t.client) == std::vector<std::string>{"first"});
    return t.server.app().read_cache().hits() > hits;
  }));

  PostMessage(there, t.channel, R"({"sender":"alice","content":"second"})");
  CHECK(Eventually([&] { return t.Contents(t.client).size() == 2; }));
  CHECK(t.Contents(t.other).back() == "second");

  // The routing roster cached by this server's posts follows a roster change made there.
  CHECK(Addressed(t.Post(t.client, "hello")) == "none");
  CHECK(Addressed(t.Post(t.client, "hello")) == "none");
  REQUIRE(there.Post("/channels/" + t.channel + "/roster",
                     R"({"callsign":"fox","agentType":"engineer"})")
              .status == 201);
  CHECK(Eventually([&] { return Addressed(t.Post(t.client, "hello")) == R"(["fox"])"; }));
}

TEST_CASE("writes from another thread between reads are seen: POST on one client, GET on another") {
  CachedChannel t;
  std::atomic<int> acknowledged{0};
  std::thread writer([&] {
    RestClient w(t.server.port(), t.client.cookie());
    for (int i = 0; i < 40; ++i) {
      PostMessage(w, t.channel, R"({"sender":"alice","content":"x"})");
      acknowledged = i + 1;
    }
  });
  int stale = 0;
  while (acknowledged < 40) {
    const int before = acknowledged;  // every POST answered before this GET started
    if (t.Contents(t.other, "?limit=100").size() < static_cast<std::size_t>(before)) ++stale;
  }
  writer.join();
  CHECK(stale == 0);
  CHECK(t.Contents(t.other, "?limit=100").size() == 40);
}

TEST_CASE("a GET sees a Tymbal set frame, a streamed update and a reset") {
  CachedChannel t;
  const std::string id = "01JGZ5V7A1B2C3D4E5F6G7H8R1";
  CHECK(t.Contents(t.client).empty());
  CHECK(t.Contents(t.client).empty());
  CHECK(t.PostFrame(R"({"i":")" + id +
                    R"(","t":"2026-01-04T10:00:01.250Z","v":{"type":"agent","content":"Hi","sender":"echo","senderType":"agent"}})") ==
        200);
  CHECK(t.Contents(t.client) == std::vector<std::string>{"Hi"});

  // A streamed turn: stored when it starts, updated as it grows and when it completes.
  const std::string sid = "01JGZ5V7A1B2C3D4E5F6G7H8R2";
  const std::string start =
      R"({"i":")" + sid + R"(","m":{"type":"agent","sender":"echo","senderType":"agent"}})" + "\n";
  const std::string append = R"({"i":")" + sid + R"(","a":"Hel"})" + "\n";
  const std::string set =
      R"({"i":")" + sid +
      R"(","t":"2026-01-04T10:00:02.250Z","v":{"type":"agent","content":"Hello","sender":"echo","senderType":"agent"}})" +
      "\n";
  auto upload = [&](const std::string& body) {
    server::testing::RawClient c(t.server.port());
    std::string chunk;
    char size[16];
    std::snprintf(size, sizeof size, "%zx", body.size());
    chunk = std::string(size) + "\r\n" + body + "\r\n";
    REQUIRE(c.Send("POST /tymbal/" + t.channel +
                   "/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Container " + t.Token("echo") +
                   "\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + "0\r\n\r\n"));
    std::string r = c.ReadResponses(1, 10s);
    REQUIRE(r.rfind("HTTP/1.1 200", 0) == 0);
  };
  upload(start + append);
  CHECK(t.Contents(t.client) == std::vector<std::string>{"Hi", "Hel"});
  CHECK(t.Contents(t.other) == std::vector<std::string>{"Hi", "Hel"});
  upload(start + append + set);
  CHECK(t.Contents(t.client) == std::vector<std::string>{"Hi", "Hello"});

  // A message update made through the library (what the stream applier does) is seen too.
  MessagePatch patch;
  patch.content = Json("Hi there");
  REQUIRE(t.server.app().store().UpdateMessage(id, patch).ok());
  CHECK(t.Contents(t.client) == std::vector<std::string>{"Hi there", "Hello"});

  CHECK(t.PostFrame(R"({"i":")" + id + R"(","v":null})") == 200);  // reset: deleted
  CHECK(t.Contents(t.client) == std::vector<std::string>{"Hello"});
}

TEST_CASE("POST routing follows roster changes: added, archived and removed agents") {
  CachedChannel t;
  CHECK(Addressed(t.Post(t.client, "hello")) == "none");
  CHECK(Addressed(t.Post(t.client, "hello again")) == "none");
  REQUIRE(t.client.Post("/channels/" + t.channel + "/roster",
                        R"({"callsign":"fox","agentType":"engineer"})")
              .status == 201);
  // Leader fallback: the only agent gets the human message that mentions nobody.
  CHECK(Addressed(t.Post(t.other, "hello")) == R"(["fox"])");
  CHECK(Addressed(t.Post(t.client, "@owl hi")) == "none");
  REQUIRE(t.client.Post("/channels/" + t.channel + "/roster",
                        R"({"callsign":"owl","agentType":"engineer"})")
              .status == 201);
  CHECK(Addressed(t.Post(t.client, "@owl hi")) == R"(["owl"])");

  RosterPatch archive;
  archive.status = RosterStatus::kArchived;
  REQUIRE(t.server.app().store().UpdateRosterEntry(t.channel, "fox", archive).ok());
  CHECK(Addressed(t.Post(t.other, "@fox hi")) == "none");

  RestReply roster = t.client.Get("/channels/" + t.channel + "/roster");
  REQUIRE(roster.status == 200);
  std::string owl_id;
  for (const Json& e : At(roster.json, "roster").as_array()) {
    if (Str(e, "callsign") == "owl") owl_id = Str(e, "id");
  }
  REQUIRE_FALSE(owl_id.empty());
  REQUIRE(t.client.Delete("/channels/" + t.channel + "/roster/" + owl_id).status < 300);
  CHECK(Addressed(t.Post(t.client, "@owl hi")) == "none");
}

TEST_CASE("an archived or renamed channel answers as without the cache") {
  // The same requests with the cache on and off give the same statuses and errors.
  auto run = [](std::size_t cache_bytes) {
    CachedChannel t(cache_bytes);
    std::vector<std::string> transcript;
    auto note = [&](const RestReply& r) {
      transcript.push_back(std::to_string(r.status) + " " + r.Error());
    };
    t.Post(t.client, "before");
    note(t.client.Get(t.path));
    note(t.client.Get(t.path));
    note(t.client.Put("/channels/" + t.channel, R"({"name":"renamed"})"));
    note(t.client.Post(t.path, R"({"sender":"alice","content":"after rename"})"));
    note(t.client.Put("/channels/" + t.channel, R"({"archived":true})"));
    note(t.client.Get(t.path));
    note(t.client.Post(t.path, R"({"sender":"alice","content":"archived"})"));
    note(t.client.Get("/channels/" + t.channel));
    std::vector<std::string> contents = t.Contents(t.client);
    transcript.insert(transcript.end(), contents.begin(), contents.end());
    return transcript;
  };
  std::vector<std::string> with_cache = run(64u << 20);
  std::vector<std::string> without = run(0);
  CHECK(with_cache == without);
  CHECK(with_cache.size() > 8);
}

TEST_CASE("a cached channel of another space stays not found, with each route's text") {
  CachedChannel t;
  t.Post(t.client, "secret");
  (void)t.Contents(t.client);
  (void)t.Contents(t.client);  // the page is cached now
  t.Post(t.client, "secret 2");  // and the routing records
  RestClient eve = t.server.Login("eve");
  RestReply r = eve.Get(t.path);
  CHECK(r.status == 404);
  CHECK(r.Error() == "Channel not found");
  r = eve.Post(t.path, R"({"sender":"eve","content":"x"})");
  CHECK(r.status == 404);
  CHECK(r.Error() == "Channel not found or has no roster");
  CHECK(t.Contents(t.client) == std::vector<std::string>{"secret", "secret 2"});
  // Bad queries keep their errors whether or not the page is cached.
  r = t.client.Get(t.path + "?limit=abc");
  CHECK(r.status == 400);
  CHECK(r.Error() == "limit must be a non-negative integer");
  CHECK(t.client.Get("/channels/nope/messages").status == 404);
}

TEST_CASE("a cache of 0 bytes is off") {
  CachedChannel t(0);
  t.Post(t.client, "a");
  (void)t.Contents(t.client);
  (void)t.Contents(t.client);
  t.Post(t.client, "b");
  CHECK(t.Contents(t.client) == std::vector<std::string>{"a", "b"});
  CHECK(t.server.app().read_cache().hits() == 0);
  CHECK(t.server.app().read_cache().misses() == 0);
  CHECK(t.server.app().read_cache().bytes() == 0);
}

TEST_CASE("the cache unit keeps within its bytes and evicts the least recently used") {
  ReadCache cache(16 * 64 * 1024);  // pages: 7/8 of it over 16 shards, ~57 KiB each
  REQUIRE(cache.enabled());
  auto page = [](std::size_t bytes) {
    auto p = std::make_shared<ReadCache::Page>();
    p->messages_version = 7;
    p->space_id = "acme";
    p->body.assign(bytes, 'x');
    return p;
  };
  const std::string hot = ReadCache::PageKey("hot", 50, std::nullopt, std::nullopt, std::nullopt);
  cache.PutPage(hot, page(1000));
  for (int i = 0; i < 5000; ++i) {
    cache.PutPage(ReadCache::PageKey("c" + std::to_string(i), 50, std::nullopt, std::nullopt,
                                     std::nullopt),
                  page(1000));
    if (i % 10 == 0) REQUIRE(cache.FindPage(hot) != nullptr);  // kept: recently used
    CHECK(cache.bytes() <= cache.max_bytes());
  }
  CHECK(cache.FindPage(hot) != nullptr);
  CHECK(cache.FindPage(ReadCache::PageKey("c0", 50, std::nullopt, std::nullopt,
                                          std::nullopt)) == nullptr);  // evicted
  CHECK(cache.FindPage(ReadCache::PageKey("c4999", 50, std::nullopt, std::nullopt,
                                          std::nullopt)) != nullptr);
  // Larger than a shard's share: not cached at all.
  cache.PutPage("big", page(1 << 20));
  CHECK(cache.FindPage("big") == nullptr);
  // Keys differ by every part of the request.
  CHECK(ReadCache::PageKey("c", 50, std::string("a"), std::nullopt, std::nullopt) !=
        ReadCache::PageKey("c", 50, std::nullopt, std::string("a"), std::nullopt));
  CHECK(ReadCache::PageKey("c", 5, std::nullopt, std::nullopt, std::nullopt) !=
        ReadCache::PageKey("c", 50, std::nullopt, std::nullopt, std::nullopt));
  CHECK(ReadCache::PageKey("c", 50, std::nullopt, std::nullopt, std::string("")) !=
        ReadCache::PageKey("c", 50, std::nullopt, std::nullopt, std::nullopt));
}

}  // TEST_SUITE

}  // namespace agentcore::testing
