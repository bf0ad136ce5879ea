// SPDX-License-Identifier: Apache-2.0
// spec cast §4.7: reading a channel's messages and posting one (mention routing §3; the
// rules: hub/channels.hpp).
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <agentcore/hub/channels.hpp>
#include <agentcore/json_writer.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"
#include "read_cache.hpp"

namespace agentcore::server {
namespace {

// --- GET /channels/:channelId/messages

// `limit`: digits only. Cast passes parseInt's NaN to SQL and answers 500 (§8 #19); agentcore
// answers 400. Values above kMaxPageSize are clamped by the store.
Result<std::size_t> ParseLimit(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::size_t{50};
  std::size_t limit = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, limit);
  if (ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return InvalidArgument("limit must be a non-negative integer");
  }
  if (ec == std::errc::result_out_of_range) limit = kMaxPageSize;
  return limit;
}

// A message id cursor or a callsign from the query; empty (JavaScript-falsy) means absent.
Result<std::optional<std::string>> QueryKey(const Request& request, std::string_view name) {
  std::optional<std::string> value = request.Query(name);
  if (!value || value->empty()) return std::optional<std::string>();
  if (Status s = CheckKey(name, *value); !s.ok()) return s;
  return value;
}

Response MessagesResponse(const std::vector<Message>& messages) {
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("messages").BeginArray();
  for (const Message& m : messages) WriteMessageJson(w, m);
  w.EndArray().EndObject();
  return JsonResponse(200, std::move(body));
}

// The query of a page request, checked in Cast's order (limit, since, before, forAgent).
struct PageQuery {
  std::size_t limit = 50;
  std::optional<std::string> since;
  std::optional<std::string> before;
  std::optional<std::string> for_agent;
};

Result<PageQuery> ReadPageQuery(const Request& request) {
  PageQuery q;
  Result<std::size_t> limit = ParseLimit(request.Query("limit"));
  if (!limit.has_value()) return limit.status();
  q.limit = *limit;
  Result<std::optional<std::string>> since = QueryKey(request, "since");
  if (!since.has_value()) return since.status();
  q.since = *std::move(since);
  Result<std::optional<std::string>> before = QueryKey(request, "before");
  if (!before.has_value()) return before.status();
  q.before = *std::move(before);
  // Cast's mounted route ignores forAgent (§8 #2); agentcore applies it, before the limit.
  Result<std::optional<std::string>> for_agent = QueryKey(request, "forAgent");
  if (!for_agent.has_value()) return for_agent.status();
  q.for_agent = *std::move(for_agent);
  return q;
}

/// The channel's versions when its reads may be served from the read cache (read_cache.hpp):
/// the cache is on, the store keeps versions, and the id is well-formed. Read before the data.
std::optional<ChannelVersions> CacheableVersions(App& app, std::string_view channel_id) {
  if (!app.read_cache().enabled() || !CheckKey("channelId", channel_id).ok()) return std::nullopt;
  return app.store().CurrentChannelVersions(channel_id);
}

asio::awaitable<Result<Response>> ListMessages(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  const std::string& channel_id = ctx.Param("channelId");
  Result<PageQuery> query = ReadPageQuery(ctx.request());
  // The cache (read_cache.hpp): versions first, then the data. A hit is a page read after
  // every write acknowledged so far. Only well-formed requests are looked up; everything
  // else (and every miss) takes the path below, which answers exactly as without a cache.
  ReadCache& cache = app.read_cache();
  std::optional<ChannelVersions> versions;
  std::string key;
  if (query.has_value()) versions = CacheableVersions(app, channel_id);
  if (versions) {
    key = ReadCache::PageKey(channel_id, query->limit, query->since, query->before,
                             query->for_agent);
    std::shared_ptr<const ReadCache::Page> page = cache.FindPage(key);
    // A channel never changes space: another space's channel falls through to the 404 below.
    if (page != nullptr && page->messages_version == versions->messages &&
        page->space_id == principal.space_id) {
      cache.CountHit();
      co_return JsonResponse(200, page->body);
    }
    cache.CountMiss();
  }

  // A miss reads the store twice (the channel, the page). On PostgreSQL each is a network
  // round trip, so it runs on the blocking pool, as posting does, rather than holding an io
  // thread (and every connection on it) for two round trips. The page is cached back here on
  // the io thread: the cache is per io thread (read_cache.hpp).
  std::string space_id;  // the channel's, once read
  auto read = [&app, &principal, &channel_id, &query, &space_id]() -> Result<Response> {
    Result<Channel> channel = app.hub().channels().Find(principal, channel_id);
    if (!channel.has_value()) return channel.status();
    if (!query.has_value()) return query.status();
    if (query->limit == 0) return MessagesResponse({});  // Cast: LIMIT 0

    PageRequest page;
    page.limit = query->limit;
    page.after = std::move(query->since);
    page.before = std::move(query->before);
    page.for_agent = std::move(query->for_agent);
    // Without cursors this is the newest `limit` messages, oldest first; Cast returns the
    // oldest ones (§8 #2), which hides a long channel's recent history.
    Result<MessagePage> result = app.store().ListMessages(channel->id, page);
    if (!result.has_value()) return StoreError(result.status());
    space_id = channel->space_id;
    return MessagesResponse(result->messages);
  };
  Result<Response> response = Status(ErrorCode::kInternal, "not read");
  if (app.store().HasNativeAsyncWrites()) {
    response = read();  // a local store: its reads are short
  } else {
    response = co_await app.Offload(std::move(read));
  }
  if (versions && response.has_value() && !space_id.empty()) {
    auto entry = std::make_shared<ReadCache::Page>();
    entry->messages_version = versions->messages;
    entry->space_id = std::move(space_id);
    entry->body = response->body;
    cache.PutPage(std::move(key), std::move(entry));
  }
  co_return response;
}

// --- POST /channels/:channelId/messages

/// Posts through the hub (ChannelService: Cast's validation order, routing, store, publish,
/// delivery to the mentioned agents).
/// With a store that queues writes itself (SQLite) the reads run here and the coroutine resumes
/// once the write committed, with no pool thread involved; otherwise (PostgreSQL) the whole
/// blocking call runs on the pool.
asio::awaitable<Result<PostedMessage>> Post(App& app, const Principal& principal,
                                            const std::string& channel_id, Json& body) {
  ChannelService& channels = app.hub().channels();
  if (!app.store().HasNativeAsyncWrites()) {
    auto post = [&channels, &principal, &channel_id, &body] {
      return channels.PostMessage(principal, channel_id, std::move(body));
    };
    co_return co_await app.Offload(std::move(post));
  }
  auto start = [&channels, &principal, &channel_id, &body](auto done) {
    channels.PostMessageAsync(principal, channel_id, std::move(body), std::move(done));
  };
  co_return co_await app.AwaitCallback<Result<PostedMessage>>(std::move(start));
}

asio::awaitable<Result<Response>> PostMessage(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  Result<PostedMessage> posted = co_await Post(app, principal, ctx.Param("channelId"), *body);
  if (!posted.has_value()) co_return posted.status();

  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("message");
  WriteMessageJson(w, posted->message);
  w.Key("attachmentSlugs").BeginArray();
  for (const std::string& slug : posted->attachment_slugs) w.String(slug);
  w.EndArray().EndObject();
  co_return JsonResponse(201, std::move(out));
}

}  // namespace

void RegisterMessageRoutes(Router& router) {
  router.Get("/channels/:channelId/messages",
             {.summary = "A window of the channel's messages, oldest first", .tag = "messages",
              .auth = kAuthUser, .response = "MessageList",
              .description = "Query since, before (message ids, exclusive), limit (default 50, "
                             "at most 1000), forAgent (callsign)."},
             WithSession("Failed to get messages", ListMessages));
  router.Post("/channels/:channelId/messages",
              {.summary = "Posts a message: routed by mentions, stored, broadcast",
               .tag = "messages", .auth = kAuthUser, .body = BodyKind::kJson,
               .request = "MessagePost", .status = 201, .response = "MessagePosted"},
              WithSession("Failed to send message", PostMessage));
}

}  // namespace agentcore::server
