// SPDX-License-Identifier: Apache-2.0
// @mentions and routing in Python (agentcore/mention/mention.hpp, router.hpp). Content may be
// str or bytes (any bytes: a name is ASCII, everything else is never part of one).


#include <optional>
#include <string>
#include <vector>

#include <agentcore/mention/mention.hpp>
#include <agentcore/mention/router.hpp>

#include "convert.hpp"
#include "modules.hpp"

namespace agentcore::python {

namespace {

SenderKind ParseSenderKind(std::string_view kind) {
  if (kind == "human") return SenderKind::kHuman;
  if (kind == "agent") return SenderKind::kAgent;
  throw StatusError(
      InvalidArgument("sender_kind must be \"human\" or \"agent\", not \"" + std::string(kind) + "\""));
}

std::vector<std::string> StringList(py::handle items, const char* what) {
  if (PyUnicode_Check(items.ptr()) || PyBytes_Check(items.ptr())) {
    throw py::type_error(std::string(what) + " must be a list of str, not a single string");
  }
  std::vector<std::string> out;
  for (py::handle item : py::iter(items)) {
    if (!PyUnicode_Check(item.ptr())) {
      throw py::type_error(std::string(what) + " must hold str items");
    }
    out.emplace_back(TextArg(item, what).view());
  }
  return out;
}

// agentcore.RoutingRoster (or any object with agents, leader and users) -> RoutingRoster.
RoutingRoster RosterFromPython(py::handle roster) {
  RoutingRoster r;
  r.agents = StringList(roster.attr("agents"), "roster.agents");
  py::object leader = roster.attr("leader");
  if (!PyUnicode_Check(leader.ptr())) throw py::type_error("roster.leader must be a str");
  r.leader = std::string(TextArg(leader, "roster.leader").view());
  r.users = StringList(roster.attr("users"), "roster.users");
  return r;
}

py::object RosterToPython(const RoutingRoster& r) {
  return Types().routing_roster(py::cast(r.agents), Str(r.leader), py::cast(r.users));
}

py::list NameList(auto&& names) {
  py::list out;
  for (const auto& n : names) out.append(Str(n));
  return out;
}

// Routes with one roster and a reusable scanner: no allocation per message in the library.
class PyRouter {
 public:
  explicit PyRouter(py::handle roster) : router_(RosterFromPython(roster)) {}

  py::object Route(py::handle content, std::string_view sender_kind, std::string_view sender) {
    TextArg text(content, "content");
    const MentionsView mentions = scanner_.Scan(text.view());
    const RoutingView r = router_.Route(mentions, ParseSenderKind(sender_kind), sender);
    return Types().routing(NameList(r.targets), r.is_broadcast);
  }

  py::object roster() const { return RosterToPython(router_.roster()); }

 private:
  MentionScanner scanner_;
  MessageRouter router_;
};

}  // namespace

void RegisterMentions(py::module_& m) {
  m.def(
      "parse_mentions",
      [](py::handle content) {
        TextArg text(content, "content");
        ParsedMentions p = ParseMentions(text.view());
        return Types().mentions(NameList(p.mentions), p.is_channel_mention);
      },
      py::arg("content"),
      "Mentions(mentions, is_channel_mention): distinct lower-cased names in first-seen order "
      "(Cast's /@([a-zA-Z0-9_-]+)/g; @channel sets is_channel_mention instead).");
  m.def(
      "strip_mentions",
      [](py::handle content) -> py::object {
        TextArg text(content, "content");
        std::string stripped = StripMentions(text.view());
        if (text.is_bytes()) return py::bytes(stripped);
        return Str(stripped);
      },
      py::arg("content"),
      "The content without its @mentions, whitespace runs collapsed and trimmed (Cast's "
      "stripMentions); bytes in, bytes out.");
  m.def(
      "is_mentionable_callsign",
      [](py::handle callsign) { return IsMentionableCallsign(TextArg(callsign, "callsign").view()); },
      py::arg("callsign"));
  m.def(
      "route_message",
      [](py::handle content, py::handle roster, std::string_view sender_kind,
         std::string_view sender) {
        TextArg text(content, "content");
        Routing r = RouteMessage(ParseMentions(text.view()), ParseSenderKind(sender_kind),
                                 RosterFromPython(roster), sender);
        return Types().routing(NameList(r.targets), r.is_broadcast);
      },
      py::arg("content"), py::arg("roster"), py::kw_only(), py::arg("sender_kind") = "human",
      py::arg("sender") = "",
      "Routing(targets, is_broadcast) of one message (Cast's determineRouting): @channel, then "
      "mentions on the roster, then the leader for a human sender.");
  m.def(
      "build_routing_roster",
      [](py::iterable entries, std::optional<std::string> space_owner) {
        // Views into these strings are what the library reads; they live until the call ends.
        std::vector<std::string> callsigns;
        std::vector<std::string> types;
        std::vector<RoutingRosterEntry> in;
        for (py::handle e : entries) {
          callsigns.push_back(py::cast<std::string>(e.attr("__getitem__")("callsign")));
          types.push_back(py::cast<std::string>(e.attr("__getitem__")("agent_type")));
          py::object get = e.attr("get");
          in.push_back(RoutingRosterEntry{{}, {}, py::cast<bool>(get("archived", false)),
                                          py::cast<UnixMillis>(get("created_at", 0))});
        }
        for (std::size_t i = 0; i < in.size(); ++i) {
          in[i].callsign = callsigns[i];
          in[i].agent_type = types[i];
        }
        std::optional<std::string_view> owner;
        if (space_owner) owner = *space_owner;
        return RosterToPython(BuildRoutingRoster(in, owner));
      },
      py::arg("entries"), py::arg("space_owner") = py::none(),
      "A RoutingRoster from roster entries (dicts with callsign, agent_type, archived?, "
      "created_at?), as Cast builds it.");
  m.def(
      "invocation_targets",
      [](py::handle routing, py::handle roster) {
        Routing r;
        r.targets = StringList(routing.attr("targets"), "routing.targets");
        r.is_broadcast = py::cast<bool>(routing.attr("is_broadcast"));
        return NameList(InvocationTargets(r, RosterFromPython(roster)));
      },
      py::arg("routing"), py::arg("roster"),
      "The agents to start for a routed message: targets without users and the empty leader.");

  py::class_<PyRouter>(m, "MessageRouter",
                       "Routes many messages against one roster, reusing its buffers.")
      .def(py::init<py::handle>(), py::arg("roster"))
      .def("route", &PyRouter::Route, py::arg("content"), py::kw_only(),
           py::arg("sender_kind") = "human", py::arg("sender") = "")
      .def_property_readonly("roster", &PyRouter::roster);
}

}  // namespace agentcore::python
