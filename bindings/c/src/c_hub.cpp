// SPDX-License-Identifier: Apache-2.0
// The C API's hub: opening and closing one, channels and posting, subscriptions to what it
// publishes, and the agent calls of the container protocol (hub/hub.hpp and its services).

#include <map>
#include <memory>
#include <string>
#include <utility>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/hub.hpp>

#include "c_common.hpp"
#include "c_subscriptions.hpp"

using namespace agentcore;
using namespace agentcore::c_api;

/// What ac_hub_open needs; HubOptions itself holds a store and is not copyable.
struct ac_hub_options_t {
  std::string store_url = "sqlite://agentcore.db";
  std::string data_dir;
  std::map<std::string, AgentCommand> commands;
  std::string api_url;
};

struct ac_hub_t {
  SubscriptionTable subscriptions;  // the hub's publisher: must outlive it (declared first)
  std::unique_ptr<Hub> hub;
};

struct ac_posted_t {
  PostedMessage posted;
};

namespace {

// A required string argument: not NULL and valid UTF-8.
Status Required(std::string_view what, const char* value) {
  if (value == nullptr) return InvalidArgument(std::string(what) + " must not be NULL");
  return CheckUtf8(what, value);
}

// The caller, as the hub's services see it: a key of `space_id`.
Principal SpaceCaller(const char* space_id) {
  Principal principal;
  principal.kind = Principal::Kind::kApiKey;
  principal.space_id = space_id;
  return principal;
}

// The agent named by an agent id "space:channel:callsign".
Result<AgentIdentity> Agent(const char* agent_id) {
  if (Status s = Required("agent_id", agent_id); !s.ok()) return s;
  return ParseAgentId(agent_id);
}

// Sets a string option after checking it.
int SetOption(ac_hub_options_t* options, std::string ac_hub_options_t::*field, const char* what,
              const char* value, char** errptr) {
  return Guard<int>(errptr, AC_INTERNAL, [&]() -> int {
    if (options == nullptr) return NullArgument(errptr, "options");
    if (Status s = Required(what, value); !s.ok()) return SetError(errptr, s);
    options->*field = value;
    return AC_OK;
  });
}

}  // namespace

extern "C" {

// --- Options

ac_hub_options_t* ac_hub_options_create(void) {
  return Guard<ac_hub_options_t*>(nullptr, nullptr, [] { return new ac_hub_options_t(); });
}

void ac_hub_options_destroy(ac_hub_options_t* options) { delete options; }

int ac_hub_options_set_store_url(ac_hub_options_t* options, const char* url, char** errptr) {
  return SetOption(options, &ac_hub_options_t::store_url, "url", url, errptr);
}

int ac_hub_options_set_data_dir(ac_hub_options_t* options, const char* dir, char** errptr) {
  return SetOption(options, &ac_hub_options_t::data_dir, "dir", dir, errptr);
}

int ac_hub_options_set_api_url(ac_hub_options_t* options, const char* url, char** errptr) {
  return SetOption(options, &ac_hub_options_t::api_url, "url", url, errptr);
}

int ac_hub_options_set_agent_command(ac_hub_options_t* options, const char* agent_type,
                                     const char* const* argv, size_t argc, char** errptr) {
  return Guard<int>(errptr, AC_INTERNAL, [&]() -> int {
    if (options == nullptr) return NullArgument(errptr, "options");
    if (Status s = Required("agent_type", agent_type); !s.ok()) return SetError(errptr, s);
    if (argv == nullptr) return NullArgument(errptr, "argv");
    if (argc == 0) return SetError(errptr, InvalidArgument("argv must hold the program"));
    AgentCommand command;
    for (size_t i = 0; i < argc; ++i) {
      if (argv[i] == nullptr) return NullArgument(errptr, "argv[" + std::to_string(i) + "]");
      command.argv.emplace_back(argv[i]);
    }
    options->commands[agent_type] = std::move(command);
    return AC_OK;
  });
}

// --- Opening and closing

ac_hub_t* ac_hub_open(const ac_hub_options_t* options, char** errptr) {
  return Guard<ac_hub_t*>(errptr, nullptr, [&]() -> ac_hub_t* {
    if (options == nullptr) return NullArgument(errptr, "options"), nullptr;
    auto out = std::make_unique<ac_hub_t>();
    HubOptions hub_options;
    hub_options.store_url = options->store_url;
    hub_options.local_process.data_dir = options->data_dir;
    hub_options.local_process.commands = options->commands;
    hub_options.api_url = options->api_url;
    hub_options.publisher = &out->subscriptions;
    Result<std::unique_ptr<Hub>> hub = OpenHub(std::move(hub_options));
    if (!hub.ok()) return SetError(errptr, hub.status()), nullptr;
    out->hub = *std::move(hub);
    return out.release();
  });
}

void ac_hub_close(ac_hub_t* hub) {
  if (hub == nullptr) return;
  Guard<int>(nullptr, 0, [&] {
    hub->hub->Close();
    delete hub;  // the hub first, then the subscriptions it published to
    return 0;
  });
}

// --- Spaces, channels, messages

int ac_hub_ensure_space(ac_hub_t* hub, const char* space_id, const char* name,
                        const char* owner_callsign, char** errptr) {
  return Guard<int>(errptr, AC_INTERNAL, [&]() -> int {
    if (hub == nullptr) return NullArgument(errptr, "hub");
    if (Status s = Required("space_id", space_id); !s.ok()) return SetError(errptr, s);
    if (Status s = Required("name", name); !s.ok()) return SetError(errptr, s);
    Space space{.id = space_id, .name = name, .owner_callsign = std::string(View(owner_callsign))};
    if (Result<Space> stored = hub->hub->store().EnsureSpace(space); !stored.ok()) {
      return SetError(errptr, stored.status());
    }
    return AC_OK;
  });
}

char* ac_hub_create_channel(ac_hub_t* hub, const char* space_id, const char* name, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (hub == nullptr) return NullArgument(errptr, "hub"), nullptr;
    if (Status s = Required("space_id", space_id); !s.ok()) return SetError(errptr, s), nullptr;
    if (Status s = Required("name", name); !s.ok()) return SetError(errptr, s), nullptr;
    Json body = Json::Object();
    body.Set("name", name);
    Result<Channel> channel = hub->hub->channels().Create(SpaceCaller(space_id), body);
    if (!channel.ok()) return SetError(errptr, channel.status()), nullptr;
    return CopyOut(channel->id, nullptr, errptr);
  });
}

ac_posted_t* ac_hub_post_message(ac_hub_t* hub, const char* space_id, const char* channel_id,
                                 const char* sender, const char* content,
                                 const char* sender_type, char** errptr) {
  return Guard<ac_posted_t*>(errptr, nullptr, [&]() -> ac_posted_t* {
    if (hub == nullptr) return NullArgument(errptr, "hub"), nullptr;
    for (auto [what, value] : {std::pair{"space_id", space_id}, std::pair{"channel_id", channel_id},
                               std::pair{"sender", sender}, std::pair{"content", content}}) {
      if (Status s = Required(what, value); !s.ok()) return SetError(errptr, s), nullptr;
    }
    if (Status s = CheckUtf8("sender_type", View(sender_type)); !s.ok()) {
      return SetError(errptr, s), nullptr;
    }
    Json body = Json::Object();
    body.Set("sender", sender);
    body.Set("content", content);
    if (sender_type != nullptr) body.Set("senderType", sender_type);
    Result<PostedMessage> posted =
        hub->hub->channels().PostMessage(SpaceCaller(space_id), channel_id, std::move(body));
    if (!posted.ok()) return SetError(errptr, posted.status()), nullptr;
    return new ac_posted_t{*std::move(posted)};
  });
}

void ac_posted_destroy(ac_posted_t* posted) { delete posted; }

const char* ac_posted_id(const ac_posted_t* posted) {
  return posted == nullptr ? "" : posted->posted.message.id.c_str();
}
uint64_t ac_posted_seq(const ac_posted_t* posted) {
  return posted == nullptr ? 0 : posted->posted.message.seq;
}
int ac_posted_is_broadcast(const ac_posted_t* posted) {
  return posted != nullptr && posted->posted.is_broadcast ? 1 : 0;
}
size_t ac_posted_target_count(const ac_posted_t* posted) {
  return posted == nullptr ? 0 : posted->posted.targets.size();
}
const char* ac_posted_target(const ac_posted_t* posted, size_t i) {
  if (posted == nullptr || i >= posted->posted.targets.size()) return nullptr;
  return posted->posted.targets[i].c_str();
}

// --- Subscriptions

ac_subscription_t* ac_hub_subscribe(ac_hub_t* hub, const char* channel_id, ac_event_fn fn,
                                    void* user, char** errptr) {
  return Guard<ac_subscription_t*>(errptr, nullptr, [&]() -> ac_subscription_t* {
    if (hub == nullptr) return NullArgument(errptr, "hub"), nullptr;
    if (channel_id == nullptr) return NullArgument(errptr, "channel_id"), nullptr;
    if (fn == nullptr) return NullArgument(errptr, "fn"), nullptr;
    const std::string_view channel(channel_id);
    if (channel != kEveryChannel) {
      // Only a channel that exists: a typo would otherwise wait forever for nothing.
      if (!IsPossibleId(channel)) {
        return SetError(errptr, NotFound(std::string(kChannelNotFoundText))), nullptr;
      }
      if (Result<Channel> found = hub->hub->store().GetChannel(channel); !found.ok()) {
        Status why = found.status().code() == ErrorCode::kNotFound
                         ? NotFound(std::string(kChannelNotFoundText))
                         : found.status();
        return SetError(errptr, why), nullptr;
      }
    }
    return hub->subscriptions.Add(std::string(channel), fn, user);
  });
}

void ac_hub_unsubscribe(ac_hub_t* hub, ac_subscription_t* subscription) {
  if (hub == nullptr || subscription == nullptr) return;
  Guard<int>(nullptr, 0, [&] {
    hub->subscriptions.Remove(subscription);
    return 0;
  });
}

// --- Agents

int ac_hub_add_agent(ac_hub_t* hub, const char* agent_id, const char* agent_type, char** errptr) {
  return Guard<int>(errptr, AC_INTERNAL, [&]() -> int {
    if (hub == nullptr) return NullArgument(errptr, "hub");
    Result<AgentIdentity> agent = Agent(agent_id);
    if (!agent.ok()) return SetError(errptr, agent.status());
    if (Status s = Required("agent_type", agent_type); !s.ok()) return SetError(errptr, s);
    Result<RosterEntry> entry = hub->hub->agents().AddAgent(*agent, agent_type);
    if (!entry.ok()) return SetError(errptr, entry.status());
    return AC_OK;
  });
}

int ac_hub_agent_checkin(ac_hub_t* hub, const char* agent_id, const char* endpoint,
                         char** errptr) {
  return Guard<int>(errptr, -1, [&]() -> int {
    if (hub == nullptr) return NullArgument(errptr, "hub"), -1;
    Result<AgentIdentity> agent = Agent(agent_id);
    if (!agent.ok()) return SetError(errptr, agent.status()), -1;
    if (Status s = Required("endpoint", endpoint); !s.ok()) return SetError(errptr, s), -1;
    Result<CheckinOutcome> outcome = hub->hub->agents().Checkin(*agent, endpoint, Json());
    if (!outcome.ok()) return SetError(errptr, outcome.status()), -1;
    return outcome->delivered;
  });
}

int ac_hub_agent_heartbeat(ac_hub_t* hub, const char* agent_id, int64_t* at_ms, char** errptr) {
  return Guard<int>(errptr, AC_INTERNAL, [&]() -> int {
    if (hub == nullptr) return NullArgument(errptr, "hub");
    Result<AgentIdentity> agent = Agent(agent_id);
    if (!agent.ok()) return SetError(errptr, agent.status());
    Result<UnixMillis> at = hub->hub->agents().Heartbeat(*agent);
    if (!at.ok()) return SetError(errptr, at.status());
    if (at_ms != nullptr) *at_ms = *at;
    return AC_OK;
  });
}

int ac_hub_agent_is_online(ac_hub_t* hub, const char* agent_id, char** errptr) {
  return Guard<int>(errptr, -1, [&]() -> int {
    if (hub == nullptr) return NullArgument(errptr, "hub"), -1;
    Result<AgentIdentity> agent = Agent(agent_id);
    if (!agent.ok()) return SetError(errptr, agent.status()), -1;
    Result<AgentPresence> presence = hub->hub->agents().Presence(*agent);
    if (!presence.ok()) return SetError(errptr, presence.status()), -1;
    return presence->online ? 1 : 0;
  });
}

char* ac_hub_container_token(ac_hub_t* hub, const char* agent_id, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (hub == nullptr) return NullArgument(errptr, "hub"), nullptr;
    Result<AgentIdentity> agent = Agent(agent_id);
    if (!agent.ok()) return SetError(errptr, agent.status()), nullptr;
    return CopyOut(hub->hub->ContainerToken(*agent), nullptr, errptr);
  });
}

void ac_hub_sweep(ac_hub_t* hub) {
  if (hub == nullptr) return;
  Guard<int>(nullptr, 0, [&] {
    // What agentcore-server's timer does (server/src/app.cpp).
    const UnixMillis now = hub->hub->clock().NowMillis();
    hub->hub->agents().Sweep(now);
    hub->hub->runs().Sweep(now);
    hub->hub->sessions().Sweep(now);
    return 0;
  });
}

}  // extern "C"
