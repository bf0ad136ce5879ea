// SPDX-License-Identifier: Apache-2.0
// The C API's mentions and routing: wrappers of mention/mention.hpp and mention/router.hpp.

#include <memory>
#include <string>
#include <vector>

#include <agentcore/mention/mention.hpp>
#include <agentcore/mention/router.hpp>

#include "c_common.hpp"

using namespace agentcore;
using namespace agentcore::c_api;

struct ac_mentions_t {
  ParsedMentions parsed;
};

struct ac_roster_t {
  RoutingRoster roster;
};

struct ac_routing_t {
  Routing routing;
  std::vector<std::string> invocations;
};

namespace {

// The i-th string of `list`, or nullptr when out of range.
const char* At(const std::vector<std::string>& list, size_t i) {
  return i < list.size() ? list[i].c_str() : nullptr;
}

// `count` callsigns from a C array; kInvalidArgument for a NULL array or element.
Status ReadCallsigns(std::string_view what, const char* const* array, size_t count,
                     std::vector<std::string>* out) {
  if (count > 0 && array == nullptr) return InvalidArgument(std::string(what) + " must not be NULL");
  for (size_t i = 0; i < count; ++i) {
    if (array[i] == nullptr) {
      return InvalidArgument(std::string(what) + "[" + std::to_string(i) + "] must not be NULL");
    }
    out->emplace_back(array[i]);
  }
  return Status::Ok();
}

}  // namespace

extern "C" {

ac_mentions_t* ac_mentions_parse(const char* content, size_t len, char** errptr) {
  return Guard<ac_mentions_t*>(errptr, nullptr, [&]() -> ac_mentions_t* {
    if (content == nullptr && len > 0) return NullArgument(errptr, "content"), nullptr;
    return new ac_mentions_t{ParseMentions(std::string_view(content == nullptr ? "" : content, len))};
  });
}

void ac_mentions_destroy(ac_mentions_t* mentions) { delete mentions; }

size_t ac_mentions_count(const ac_mentions_t* mentions) {
  return mentions == nullptr ? 0 : mentions->parsed.mentions.size();
}

const char* ac_mentions_name(const ac_mentions_t* mentions, size_t i) {
  return mentions == nullptr ? nullptr : At(mentions->parsed.mentions, i);
}

int ac_mentions_is_channel(const ac_mentions_t* mentions) {
  return mentions != nullptr && mentions->parsed.is_channel_mention ? 1 : 0;
}

char* ac_mentions_strip(const char* content, size_t len, size_t* out_len, char** errptr) {
  return Guard<char*>(errptr, nullptr, [&]() -> char* {
    if (content == nullptr && len > 0) return NullArgument(errptr, "content"), nullptr;
    return CopyOut(StripMentions(std::string_view(content == nullptr ? "" : content, len)), out_len,
                   errptr);
  });
}

int ac_callsign_is_mentionable(const char* callsign) {
  return callsign != nullptr && IsMentionableCallsign(callsign) ? 1 : 0;
}

ac_roster_t* ac_roster_create(const char* const* agents, size_t agent_count, const char* leader,
                              const char* const* users, size_t user_count, char** errptr) {
  return Guard<ac_roster_t*>(errptr, nullptr, [&]() -> ac_roster_t* {
    RoutingRoster roster;
    if (Status s = ReadCallsigns("agents", agents, agent_count, &roster.agents); !s.ok()) {
      return SetError(errptr, s), nullptr;
    }
    if (Status s = ReadCallsigns("users", users, user_count, &roster.users); !s.ok()) {
      return SetError(errptr, s), nullptr;
    }
    roster.leader = View(leader);
    return new ac_roster_t{std::move(roster)};
  });
}

void ac_roster_destroy(ac_roster_t* roster) { delete roster; }

ac_routing_t* ac_route_message(const ac_mentions_t* mentions, int sender_kind,
                               const ac_roster_t* roster, const char* sender_callsign,
                               char** errptr) {
  return Guard<ac_routing_t*>(errptr, nullptr, [&]() -> ac_routing_t* {
    if (mentions == nullptr) return NullArgument(errptr, "mentions"), nullptr;
    if (roster == nullptr) return NullArgument(errptr, "roster"), nullptr;
    if (sender_kind != AC_SENDER_HUMAN && sender_kind != AC_SENDER_AGENT) {
      SetError(errptr, InvalidArgument("unknown sender kind " + std::to_string(sender_kind)));
      return nullptr;
    }
    const SenderKind kind = sender_kind == AC_SENDER_HUMAN ? SenderKind::kHuman : SenderKind::kAgent;
    auto out = std::make_unique<ac_routing_t>();
    out->routing = RouteMessage(mentions->parsed, kind, roster->roster, View(sender_callsign));
    out->invocations = InvocationTargets(out->routing, roster->roster);
    return out.release();
  });
}

void ac_routing_destroy(ac_routing_t* routing) { delete routing; }

size_t ac_routing_target_count(const ac_routing_t* routing) {
  return routing == nullptr ? 0 : routing->routing.targets.size();
}
const char* ac_routing_target(const ac_routing_t* routing, size_t i) {
  return routing == nullptr ? nullptr : At(routing->routing.targets, i);
}
int ac_routing_is_broadcast(const ac_routing_t* routing) {
  return routing != nullptr && routing->routing.is_broadcast ? 1 : 0;
}
size_t ac_routing_invocation_count(const ac_routing_t* routing) {
  return routing == nullptr ? 0 : routing->invocations.size();
}
const char* ac_routing_invocation(const ac_routing_t* routing, size_t i) {
  return routing == nullptr ? nullptr : At(routing->invocations, i);
}

}  // extern "C"
