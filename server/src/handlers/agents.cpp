// SPDX-License-Identifier: Apache-2.0
// spec cast §4.6 and §5.9: agent lifecycle. Each route changes the roster, stores and
// broadcasts what Cast does, then calls the runtime seam (agent_hooks.hpp) where Cast calls its
// AgentManager. Which action is allowed in which status, and Cast's refusal texts, come from
// state/agent_state.hpp (NextRosterStatus, RosterRejectionText).
#include <string>
#include <utility>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/json_writer.hpp>
#include <agentcore/state/agent_state.hpp>

#include "app.hpp"
#include "handlers/agent_hooks.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"

namespace agentcore::server {
namespace {

constexpr std::string_view kAgentNotFound = "Agent not found in roster";

// The system status message of a summon or dismiss: type "status", sender and senderType
// "system", content {"action":…,"callsign":…}.
NewMessage SystemStatusMessage(const Channel& channel, std::string id, std::string_view action,
                               std::string_view callsign) {
  NewMessage m;
  m.id = std::move(id);
  m.space_id = channel.space_id;
  m.channel_id = channel.id;
  m.sender = "system";
  m.sender_type = "system";
  m.type = "status";
  Json content = Json::Object();
  content.Set("action", action);
  content.Set("callsign", callsign);
  m.content = std::move(content);
  return m;
}

// Tells clients to add the agent to their roster.
void PublishAgentJoined(App& app, const RosterEntry& entry) {
  app.Publish(entry.channel_id, {},
              AgentJoinedFrameLine(app.NewId(), FormatIsoTimestamp(app.clock().NowMillis()),
                                   entry));
}

AgentRef RefOf(const Channel& channel, std::string_view callsign) {
  return AgentRef{channel.space_id, channel.id, std::string(callsign)};
}

// --- POST /channels/:channelId/agents

struct Summoned {
  RosterEntry entry;
  Message summon;
};

// One blocking call: the roster entry, the summon message, and the entry's readmark set to
// that message (so the agent's first checkin does not replay older history).
Result<Summoned> StoreSummon(Store& store, const NewRosterEntry& in, const NewMessage& summon) {
  Result<RosterEntry> entry = store.AddRosterEntry(in);
  if (!entry.has_value()) return entry.status();
  Result<Message> message = store.AppendMessage(summon);
  if (!message.has_value()) return message.status();
  RosterPatch patch;
  patch.readmark = message->id;
  Result<RosterEntry> marked = store.UpdateRosterEntry(in.channel_id, in.callsign, patch);
  if (!marked.has_value()) return marked.status();
  return Summoned{*std::move(marked), *std::move(message)};
}

asio::awaitable<Result<Response>> AddAgent(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<Json> body = ParseJsonBody(ctx.request());
  if (!body.has_value()) co_return body.status();
  Result<AgentFields> fields = RequireAgentFields(*body);
  if (!fields.has_value()) co_return fields.status();
  const std::string* callsign = fields->callsign;
  const std::string* agent_type = fields->agent_type;
  Result<Channel> channel = FindChannelInSpace(app, principal, ctx.Param("channelId"));
  if (!channel.has_value()) co_return channel.status();
  // No runtime registry yet (spec cast §7.5): every runtimeId is unknown.
  if (IsTruthy(body->Find("runtimeId"))) co_return NotFound("Runtime not found");
  // Archived entries count too: a dismissed agent comes back through unarchive.
  Result<RosterEntry> existing = app.store().GetRosterEntry(channel->id, *callsign);
  if (existing.has_value()) co_return AlreadyExists("Agent already in roster");
  if (existing.status().code() != ErrorCode::kNotFound) co_return StoreError(existing.status());

  NewRosterEntry in;
  in.channel_id = channel->id;
  in.callsign = *callsign;
  in.agent_type = *agent_type;
  NewMessage summon = SystemStatusMessage(*channel, app.NewId(), "summon", *callsign);
  auto store_summon = [&store = app.store(), in, summon] { return StoreSummon(store, in, summon); };
  Result<Summoned> done = co_await app.Offload(std::move(store_summon));
  if (!done.has_value()) {
    if (done.status().code() == ErrorCode::kAlreadyExists) {
      co_return AlreadyExists("Agent already in roster");  // lost a race with another add
    }
    co_return StoreError(done.status());
  }
  PublishMessage(app, done->summon);
  PublishAgentJoined(app, done->entry);
  PublishAgentState(app, channel->id, *callsign, "connecting");
  // Cast swallows activation failures here: the agent is in the roster and a later message
  // activates it again.
  if (Status s = co_await ActivateAgent(app, RefOf(*channel, *callsign)); !s.ok()) {
    LogError("activate agent after add", s);
  }

  std::string out;
  JsonWriter(&out)
      .BeginObject()
      .Field("success", true)
      .Key("agent")
      .BeginObject()
      .Field("id", done->entry.id)
      .Field("callsign", done->entry.callsign)
      .Field("agentType", done->entry.agent_type)
      .Field("status", done->entry.status)
      .EndObject()
      .EndObject();
  co_return JsonResponse(201, std::move(out));
}

// --- GET /channels/:channelId/agents/archived

asio::awaitable<Result<Response>> ListArchived(RequestContext& ctx, const Principal& principal) {
  App& app = ctx.app();
  Result<ChannelWithRoster> loaded = LoadChannelWithRoster(app, principal, ctx.Param("channelId"));
  if (!loaded.has_value()) co_return loaded.status();
  const std::vector<RosterEntry>* roster = &loaded->roster;
  std::string body;
  JsonWriter w(&body);
  w.BeginObject().Key("agents").BeginArray();
  for (const RosterEntry& e : *roster) {
    if (e.status == "archived") WriteRosterEntryJson(w, e);
  }
  w.EndArray().EndObject();
  co_return JsonResponse(200, std::move(body));
}

// --- Lifecycle actions on one agent

// The agent_state each action broadcasts once the roster is updated.
std::string_view BroadcastStateOf(RosterAction action) {
  switch (action) {
    case RosterAction::kPause: return "paused";
    case RosterAction::kResume: return "resumed";
    case RosterAction::kDismiss: return "dismissed";
    case RosterAction::kActivate:
    case RosterAction::kUnarchive:
    case RosterAction::kRemove: return "connecting";
  }
  return "connecting";
}

// The roster change of an allowed action. spec cast §8 #1 fixed: pause, dismiss and activate
// really clear callbackUrl (Cast's "clear" passes undefined and changes nothing), so a stopped
// container is never pushed to.
RosterPatch PatchFor(RosterAction action, RosterStatus from, const RosterTransition& t) {
  RosterPatch patch;
  if (t.to && *t.to != from) patch.status = std::string(RosterStatusName(*t.to));
  patch.clear_callback_url = action == RosterAction::kPause ||
                             action == RosterAction::kDismiss ||
                             action == RosterAction::kActivate;
  return patch;
}

Response LifecycleResponse(RosterAction action, std::string_view callsign,
                           std::string_view status) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Field("success", true).Field("callsign", callsign);
  if (action != RosterAction::kDismiss) w.Field("status", status);
  w.EndObject();
  return JsonResponse(200, std::move(out));
}

asio::awaitable<Result<Response>> RunLifecycle(RequestContext& ctx, const Principal& principal,
                                               RosterAction action) {
  App& app = ctx.app();
  const std::string& callsign = ctx.Param("callsign");
  // Cast looks the entry up by channel id and callsign alone (§8 #16); a channel outside the
  // caller's space has no agents here.
  Result<Channel> channel =
      FindChannelInSpace(app, principal, ctx.Param("channelId"), kAgentNotFound);
  if (!channel.has_value()) co_return channel.status();
  if (!CheckKey("callsign", callsign).ok()) co_return NotFound(std::string(kAgentNotFound));
  Result<RosterEntry> entry = app.store().GetRosterEntry(channel->id, callsign);
  if (!entry.has_value()) {
    if (entry.status().code() == ErrorCode::kNotFound) co_return NotFound(std::string(kAgentNotFound));
    co_return StoreError(entry.status());
  }
  // Statuses other than the six (none are stored through this server) act like "active",
  // as Cast compares only with "paused" and "archived".
  Result<RosterStatus> parsed = ParseRosterStatus(entry->status);
  RosterStatus from = parsed.has_value() ? *parsed : RosterStatus::kActive;
  Result<RosterTransition> transition = NextRosterStatus(from, action);
  if (!transition.has_value()) {
    co_return InvalidArgument(std::string(RosterRejectionText(from, action)));
  }
  AgentRef ref = RefOf(*channel, callsign);
  if (transition->suspend_runtime) {
    if (Status s = co_await SuspendAgent(app, ref); !s.ok()) LogError("suspend agent", s);
  }
  RosterPatch patch = PatchFor(action, from, *transition);
  auto update = [&store = app.store(), ref, patch] {
    return store.UpdateRosterEntry(ref.channel_id, ref.callsign, patch);
  };
  Result<RosterEntry> updated = co_await app.Offload(std::move(update));
  if (!updated.has_value()) co_return StoreError(updated.status());
  PublishAgentState(app, channel->id, callsign, BroadcastStateOf(action));

  if (action == RosterAction::kDismiss) {
    NewMessage dismiss = SystemStatusMessage(*channel, app.NewId(), "dismiss", callsign);
    auto append = [&store = app.store(), dismiss] { return store.AppendMessage(dismiss); };
    Result<Message> stored = co_await app.Offload(std::move(append));
    if (!stored.has_value()) co_return StoreError(stored.status());
    PublishMessage(app, *stored);
  }
  if (transition->activate_runtime) {
    Status activated = co_await ActivateAgent(app, ref);
    if (!activated.ok()) {
      LogError("activate agent", activated);
      // Only the activate route reports the failure; unarchive keeps the agent active and a
      // later message activates it again (Cast).
      if (action == RosterAction::kActivate) {
        PublishAgentState(app, channel->id, callsign, "offline");
        co_return CastError(500, "Failed to spawn container");
      }
    }
  }
  // Cast's literal statuses: "paused" for pause, "active" for the others (activate answers
  // "active" whatever status it kept).
  co_return LifecycleResponse(action, callsign,
                              action == RosterAction::kPause ? "paused" : "active");
}

asio::awaitable<Result<Response>> Pause(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kPause);
}
asio::awaitable<Result<Response>> Resume(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kResume);
}
asio::awaitable<Result<Response>> Activate(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kActivate);
}
asio::awaitable<Result<Response>> Dismiss(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kDismiss);
}
asio::awaitable<Result<Response>> Unarchive(RequestContext& ctx, const Principal& p) {
  return RunLifecycle(ctx, p, RosterAction::kUnarchive);
}

}  // namespace

void RegisterAgentRoutes(Router& router) {
  router.Post("/channels/:channelId/agents", WithSession("Failed to add agent", AddAgent));
  router.Get("/channels/:channelId/agents/archived",
             WithSession("Failed to list archived agents", ListArchived));
  router.Post("/channels/:channelId/agents/:callsign/pause",
              WithSession("Failed to pause agent", Pause));
  router.Post("/channels/:channelId/agents/:callsign/resume",
              WithSession("Failed to resume agent", Resume));
  router.Post("/channels/:channelId/agents/:callsign/activate",
              WithSession("Failed to activate agent", Activate));
  router.Delete("/channels/:channelId/agents/:callsign",
                WithSession("Failed to dismiss agent", Dismiss));
  router.Post("/channels/:channelId/agents/:callsign/unarchive",
              WithSession("Failed to unarchive agent", Unarchive));
}

}  // namespace agentcore::server
