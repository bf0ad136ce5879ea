// SPDX-License-Identifier: Apache-2.0
// spec cast §4.7: reading a channel's messages and posting one (mention routing §3).
#include <charconv>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <agentcore/json_writer.hpp>
#include <agentcore/mention/mention.hpp>
#include <agentcore/mention/router.hpp>

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

  Result<Channel> channel = FindChannelInSpace(app, principal, channel_id);
  if (!channel.has_value()) co_return channel.status();
  if (!query.has_value()) co_return query.status();
  if (query->limit == 0) co_return MessagesResponse({});  // Cast: LIMIT 0

  PageRequest page;
  page.limit = query->limit;
  page.after = std::move(query->since);
  page.before = std::move(query->before);
  page.for_agent = std::move(query->for_agent);
  // Without cursors this is the newest `limit` messages, oldest first; Cast returns the
  // oldest ones (§8 #2), which hides a long channel's recent history.
  Result<MessagePage> result = app.store().ListMessages(channel->id, page);
  if (!result.has_value()) co_return StoreError(result.status());
  Response response = MessagesResponse(result->messages);
  if (versions) {
    auto entry = std::make_shared<ReadCache::Page>();
    entry->messages_version = versions->messages;
    entry->space_id = channel->space_id;
    entry->body = response.body;
    cache.PutPage(std::move(key), std::move(entry));
  }
  co_return response;
}

// --- POST /channels/:channelId/messages

struct PostInput {
  std::string sender;
  std::string content;
  std::string sender_type;
  std::string type;
  std::vector<std::string> attach_slugs;
};

// How JavaScript's template literal prints a non-string senderType, near enough for an error.
std::string Display(const Json& value) {
  if (value.is_string()) return value.as_string();
  if (value.is_object()) return "[object Object]";
  return ToJson(value);
}

// Steps 1–4 of Cast's validation order (the request alone, no store).
Result<PostInput> ReadPostBody(const Request& request) {
  Result<Json> body = ParseJsonBody(request);
  if (!body.has_value()) return body.status();
  const std::string* sender = body->FindString("sender");
  const std::string* content = body->FindString("content");
  if (sender == nullptr || sender->empty() || content == nullptr || content->empty()) {
    // Cast's inner "Message content required" cannot be reached behind this check.
    return InvalidArgument("sender and content are required");
  }
  if (Status s = CheckKey("sender", *sender); !s.ok()) return s;
  if (Status s = CheckText("content", *content); !s.ok()) return s;
  PostInput in;
  in.sender = *sender;
  in.content = *content;
  in.sender_type = "user";
  if (const Json* sender_type = body->Find("senderType")) {
    if (!sender_type->is_string() ||
        (sender_type->as_string() != "user" && sender_type->as_string() != "agent")) {
      return InvalidArgument("Invalid senderType: " + Display(*sender_type) +
                             ". Must be 'user' or 'agent'");
    }
    in.sender_type = sender_type->as_string();
  }
  const std::string* type = body->FindString("type");
  in.type = type != nullptr && *type == "event" ? "event"
            : in.sender_type == "user"          ? "user"
                                                : "agent_message";
  const Json* slugs = body->Find("attachSlugs");
  if (slugs != nullptr && !slugs->is_null()) {
    if (!slugs->is_array()) return InvalidArgument("attachSlugs must be an array of strings");
    for (const Json& slug : slugs->as_array()) {
      if (!slug.is_string()) return InvalidArgument("attachSlugs must be an array of strings");
      if (Status s = CheckKey("attachSlugs", slug.as_string()); !s.ok()) return s;
      in.attach_slugs.push_back(slug.as_string());
    }
  }
  return in;
}

// Step 5: each attached slug must be an asset of the channel. `channel` is null when the
// channel is unknown to the caller: then no artifact is visible either.
Status CheckAttachments(App& app, const Channel* channel, const std::vector<std::string>& slugs) {
  for (const std::string& slug : slugs) {
    if (channel == nullptr) return NotFound("Artifact not found: " + slug);
    Result<Artifact> artifact = app.store().GetArtifact(channel->id, slug);
    if (!artifact.has_value()) {
      if (artifact.status().code() == ErrorCode::kNotFound) {
        return NotFound("Artifact not found: " + slug);
      }
      return StoreError(artifact.status());
    }
    if (artifact->type != "asset") {
      return InvalidArgument("Artifact '" + slug + "' is not an asset (type: " + artifact->type +
                             ")");
    }
  }
  return Status();
}

NewMessage BuildMessage(App& app, const Channel& channel, PostInput in, const Routing& routing) {
  NewMessage m;
  m.id = app.NewId();
  m.space_id = channel.space_id;
  m.channel_id = channel.id;
  m.sender = std::move(in.sender);
  m.sender_type = std::move(in.sender_type);
  m.type = std::move(in.type);
  m.content = Json(std::move(in.content));
  // Cast stores [""] for a human message in a channel without agents (the empty leader, §8 #4);
  // agentcore stores no empty callsign, so that message is addressed to nobody.
  std::vector<std::string> addressed;
  for (const std::string& target : routing.targets) {
    if (!target.empty()) addressed.push_back(target);
  }
  if (!addressed.empty()) m.addressed_agents = std::move(addressed);
  if (!in.attach_slugs.empty()) {
    JsonArray slugs(in.attach_slugs.begin(), in.attach_slugs.end());
    Json metadata = Json::Object();
    metadata.Set("attachmentSlugs", Json(std::move(slugs)));
    m.metadata = std::move(metadata);
  }
  return m;
}

asio::awaitable<Result<Response>> PostMessage(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<PostInput> in = ReadPostBody(ctx.request());
  if (!in.has_value()) co_return in.status();
  constexpr std::string_view kNotFoundText = "Channel not found or has no roster";
  const std::string& channel_id = ctx.Param("channelId");
  // The channel and its routing roster, from the cache (read_cache.hpp) while the channel's
  // version (row and roster) is the one read before them; else from the store, then cached.
  ReadCache& cache = app.read_cache();
  std::optional<ChannelVersions> versions = CacheableVersions(app, channel_id);
  std::shared_ptr<const ReadCache::Routing> cached;
  if (versions) {
    cached = cache.FindRouting(channel_id);
    if (cached != nullptr && cached->channel_version != versions->channel) cached.reset();
    cached != nullptr ? cache.CountHit() : cache.CountMiss();
  }
  std::optional<Channel> loaded;
  const Channel* channel = nullptr;
  Status channel_status;
  if (cached != nullptr) {
    // spec cast §8 #16: another space's channel is answered like a missing one.
    if (cached->channel.space_id == principal.space_id) {
      channel = &cached->channel;
    } else {
      channel_status = NotFound(std::string(kNotFoundText));
    }
  } else {
    Result<Channel> found = FindChannelInSpace(app, principal, channel_id, kNotFoundText);
    if (found.has_value()) {
      channel = &loaded.emplace(*std::move(found));
    } else {
      channel_status = found.status();
    }
  }
  if (channel == nullptr && channel_status.code() != ErrorCode::kNotFound) {
    co_return channel_status;
  }
  if (Status s = CheckAttachments(app, channel, in->attach_slugs); !s.ok()) co_return s;
  if (channel == nullptr) co_return channel_status;  // step 6

  std::optional<RoutingRoster> loaded_roster;
  const RoutingRoster* roster = nullptr;
  if (cached != nullptr) {
    roster = &cached->roster;
  } else {
    Result<RoutingRoster> built = LoadRoutingRoster(app, *channel);
    if (!built.has_value()) co_return built.status();
    roster = &loaded_roster.emplace(*std::move(built));
    if (versions) {
      auto entry = std::make_shared<ReadCache::Routing>();
      entry->channel_version = versions->channel;
      entry->channel = *channel;
      entry->roster = *roster;
      cache.PutRouting(channel_id, std::move(entry));
    }
  }
  // spec cast §3.4: a human sender gets the leader fallback; the sender is never excluded.
  SenderKind kind = in->sender_type == "user" ? SenderKind::kHuman : SenderKind::kAgent;
  Routing routing = RouteMessage(ParseMentions(in->content), kind, *roster);
  std::vector<std::string> attach_slugs = in->attach_slugs;
  NewMessage message = BuildMessage(app, *channel, *std::move(in), routing);
  // Awaits the commit without a pool thread (SQLite: the writer thread posts the result back).
  Result<Message> stored = co_await app.AppendMessage(std::move(message));
  if (!stored.has_value()) co_return StoreError(stored.status());
  PublishMessage(app, *stored, routing.is_broadcast);
  // spec cast §3.4: awaited, so that when POST /messages answers the message is queued for
  // every target and two messages of one client reach an agent in order; no pool hop when
  // nobody is invoked.
  if (std::vector<std::string> targets = InvocationTargets(routing, *roster); !targets.empty()) {
    auto deliver = [&agents = app.hub().agents(), &message = *stored, &targets] {
      agents.Deliver(message, targets);
      return true;
    };
    (void)co_await app.Offload(std::move(deliver));
  }

  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("message");
  WriteMessageJson(w, *stored);
  w.Key("attachmentSlugs").BeginArray();
  for (const std::string& slug : attach_slugs) w.String(slug);
  w.EndArray().EndObject();
  co_return JsonResponse(201, std::move(body));
}

}  // namespace

void RegisterMessageRoutes(Router& router) {
  router.Get("/channels/:channelId/messages", WithSession("Failed to get messages", ListMessages));
  router.Post("/channels/:channelId/messages",
              WithSession("Failed to send message", PostMessage));
}

}  // namespace agentcore::server
