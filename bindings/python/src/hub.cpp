// SPDX-License-Identifier: Apache-2.0
// The hub in Python (agentcore/hub/hub.hpp): open on a store URL, channels, posting, agents'
// checkin and heartbeat, and subscriptions to the lines it publishes (events.hpp). Every hub
// call releases the GIL (they block on the store, the runtimes and the network).


#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <agentcore/hub/agents.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/hub.hpp>

#include "convert.hpp"
#include "events.hpp"
#include "modules.hpp"

namespace agentcore::python {

namespace {

using std::chrono::milliseconds;

py::object ChannelToPython(const Channel& c) {
  return Types().channel(Str(c.id), Str(c.space_id), Str(c.name), Str(c.tagline), Str(c.mission),
                         c.archived, c.created_at, c.updated_at, c.last_active_at);
}

py::object RosterEntryToPython(const RosterEntry& e) {
  py::object url = e.callback_url ? py::object(Str(*e.callback_url)) : py::none();
  return Types().roster_entry(Str(e.id), Str(e.channel_id), Str(e.callsign), Str(e.agent_type),
                              Str(RosterStatusName(e.status)), e.created_at, url,
                              py::cast(e.last_heartbeat));
}

py::object MessageToPython(const Message& m) {
  py::object addressed = py::none();
  if (m.addressed_agents) {
    py::list names;
    for (const std::string& n : *m.addressed_agents) names.append(Str(n));
    addressed = names;
  }
  return Types().stored_message(Str(m.id), m.seq, Str(m.space_id), Str(m.channel_id),
                                Str(m.sender), Str(m.sender_type), Str(m.type),
                                ToPython(m.content), m.timestamp, m.is_complete, addressed,
                                ToPython(m.metadata));
}

py::list StrList(const std::vector<std::string>& items) {
  py::list out;
  for (const std::string& s : items) out.append(Str(s));
  return out;
}

// The caller the hub's services check: an API-key principal of `space_id`, as an embedder
// that trusts its own code (examples/embed-hub does the same).
Principal SpacePrincipal(std::string space_id) {
  Principal p;
  p.kind = Principal::Kind::kApiKey;
  p.space_id = std::move(space_id);
  return p;
}

class PyHub;

std::set<PyHub*>& OpenHubs() {
  static auto* hubs = new std::set<PyHub*>();  // guarded by the GIL; never freed
  return *hubs;
}

class PyHub {
 public:
  PyHub(std::shared_ptr<Fanout> fanout, std::shared_ptr<Hub> hub)
      : fanout_(std::move(fanout)), hub_(std::move(hub)) {
    OpenHubs().insert(this);
  }
  ~PyHub() {
    Close();
    OpenHubs().erase(this);
  }
  PyHub(const PyHub&) = delete;
  PyHub& operator=(const PyHub&) = delete;

  // The hub for one call (kept alive by the copy even if another thread closes it).
  std::shared_ptr<Hub> hub() const {
    if (!hub_) throw StatusError(Unavailable("the hub is closed"));
    return hub_;
  }

  std::shared_ptr<Subscription> Subscribe(std::optional<std::string> channel_id,
                                          py::object callback, std::size_t max_queued) {
    (void)hub();
    if (max_queued == 0) throw StatusError(InvalidArgument("max_queued must be > 0"));
    if (!callback.is_none() && !PyCallable_Check(callback.ptr())) {
      throw py::type_error("callback must be callable");
    }
    auto sub = std::make_shared<Subscription>(
        fanout_, std::make_shared<EventQueue>(std::move(channel_id), max_queued),
        std::move(callback));
    std::erase_if(subscriptions_, [](const Held& h) {
      const auto s = h.weak.lock();
      return s == nullptr || s->closed();
    });
    // A callback subscription lives until closed, even if its Python object is dropped; an
    // iterator ends with its object.
    subscriptions_.push_back(Held{sub, sub->has_callback() ? sub : nullptr});
    return sub;
  }

  void Close() {
    for (Held& h : subscriptions_) {
      if (auto sub = h.weak.lock()) sub->Close();
    }
    subscriptions_.clear();
    if (!hub_) return;
    std::shared_ptr<Hub> hub = std::move(hub_);
    py::gil_scoped_release release;
    hub->Close();
    hub.reset();  // the hub itself goes with the last call still using it
  }

  bool closed() const { return !hub_; }

 private:
  std::shared_ptr<Fanout> fanout_;
  std::shared_ptr<Hub> hub_;
  struct Held {
    std::weak_ptr<Subscription> weak;
    std::shared_ptr<Subscription> kept;  // callback subscriptions only
  };
  std::vector<Held> subscriptions_;
};

// Runs `fn(hub)` without the GIL and returns its value.
template <typename Fn>
auto Blocking(const PyHub& self, Fn&& fn) {
  std::shared_ptr<Hub> hub = self.hub();
  py::gil_scoped_release release;
  return fn(*hub);
}

std::unique_ptr<PyHub> Open(std::string store_url, std::optional<std::string> data_dir,
                            std::map<std::string, std::vector<std::string>> agent_commands,
                            std::string container_secret, std::string jwt_secret,
                            std::string api_url, unsigned background_threads,
                            std::int64_t heartbeat_staleness_ms,
                            std::int64_t activation_timeout_ms) {
  if (heartbeat_staleness_ms < 0 || activation_timeout_ms < 0) {
    throw StatusError(InvalidArgument("timeouts must be >= 0"));
  }
  if (background_threads == 0) {
    throw StatusError(InvalidArgument("background_threads must be > 0"));
  }
  auto fanout = std::make_shared<Fanout>();
  HubOptions options;
  options.store_url = std::move(store_url);
  if (data_dir) options.local_process.data_dir = *data_dir;
  for (auto& [type, argv] : agent_commands) {
    if (argv.empty()) throw StatusError(InvalidArgument("agent command of \"" + type + "\" is empty"));
    options.local_process.commands[type].argv = std::move(argv);
  }
  options.publisher = fanout.get();
  options.container_secret = std::move(container_secret);
  options.jwt_secret = std::move(jwt_secret);
  options.api_url = std::move(api_url);
  options.background_threads = background_threads;
  options.policy.heartbeat_staleness = milliseconds(heartbeat_staleness_ms);
  options.policy.activation_timeout = milliseconds(activation_timeout_ms);
  Result<std::unique_ptr<Hub>> opened = [&] {
    py::gil_scoped_release release;
    return OpenHub(std::move(options));
  }();
  // The hub borrows the fan-out: whoever destroys the hub last keeps it alive until then.
  std::shared_ptr<Hub> hub(Unwrap(std::move(opened)).release(),
                           [fanout](Hub* h) { delete h; });
  return std::make_unique<PyHub>(std::move(fanout), std::move(hub));
}

AgentIdentity Agent(std::string space, std::string channel, std::string callsign) {
  return AgentIdentity{std::move(space), std::move(channel), std::move(callsign)};
}

}  // namespace

void RegisterHub(py::module_& m) {
  RegisterSubscription(m);

  py::class_<PyHub>(m, "Hub",
                    "The application (agentcore/hub/hub.hpp): open it with open_hub(); close "
                    "it, or use it as a context manager. Thread-safe.")
      .def("ensure_space",
           [](PyHub& self, std::string id, std::string name, std::string owner) {
             Space space;
             space.id = std::move(id);
             space.name = name.empty() ? space.id : std::move(name);
             space.owner_callsign = std::move(owner);
             Blocking(self, [&](Hub& h) { return Unwrap(h.store().EnsureSpace(space)); });
           },
           py::arg("space_id"), py::kw_only(), py::arg("name") = "", py::arg("owner") = "",
           "Creates the space unless it exists (its owner is the human @mentions may reach).")
      .def("create_channel",
           [](PyHub& self, std::string space, std::string name, std::optional<std::string> tagline,
              std::optional<std::string> mission) {
             Json body = Json::Object();
             body.Set("name", std::move(name));
             if (tagline) body.Set("tagline", std::move(*tagline));
             if (mission) body.Set("mission", std::move(*mission));
             return ChannelToPython(Blocking(self, [&](Hub& h) {
               return Unwrap(h.channels().Create(SpacePrincipal(space), body));
             }));
           },
           py::arg("space_id"), py::arg("name"), py::kw_only(), py::arg("tagline") = py::none(),
           py::arg("mission") = py::none())
      .def("list_channels",
           [](PyHub& self, std::string space) {
             py::list out;
             for (const Channel& c : Blocking(self, [&](Hub& h) {
                    return Unwrap(h.channels().List(SpacePrincipal(space)));
                  })) {
               out.append(ChannelToPython(c));
             }
             return out;
           },
           py::arg("space_id"))
      .def("get_channel",
           [](PyHub& self, std::string space, std::string channel_id) {
             return ChannelToPython(Blocking(self, [&](Hub& h) {
               return Unwrap(h.channels().Find(SpacePrincipal(space), channel_id));
             }));
           },
           py::arg("space_id"), py::arg("channel_id"))
      .def("roster",
           [](PyHub& self, std::string space, std::string channel_id) {
             py::list out;
             for (const RosterEntry& e : Blocking(self, [&](Hub& h) {
                    return Unwrap(h.channels().GetWithRoster(SpacePrincipal(space), channel_id)).roster;
                  })) {
               out.append(RosterEntryToPython(e));
             }
             return out;
           },
           py::arg("space_id"), py::arg("channel_id"), "Every roster entry, archived ones too.")
      .def("post",
           [](PyHub& self, std::string space, std::string channel_id, py::handle content,
              std::string sender, std::string sender_type) {
             Json body = Json::Object();
             body.Set("sender", std::move(sender));
             body.Set("content", ToJson(content));
             body.Set("senderType", std::move(sender_type));
             PostedMessage posted = Blocking(self, [&](Hub& h) {
               return Unwrap(h.channels().PostMessage(SpacePrincipal(space), channel_id, std::move(body)));
             });
             return Types().posted_message(MessageToPython(posted.message), StrList(posted.targets),
                                           posted.is_broadcast, StrList(posted.attachment_slugs));
           },
           py::arg("space_id"), py::arg("channel_id"), py::arg("content"), py::kw_only(),
           py::arg("sender"), py::arg("sender_type") = "user",
           "Posts a message as Cast's POST /channels/:id/messages: validated, routed by its "
           "@mentions, stored, published, delivered to the agents it invokes.")
      .def("messages",
           [](PyHub& self, std::string channel_id, std::size_t limit,
              std::optional<std::string> after, std::optional<std::string> before) {
             PageRequest page;
             page.limit = limit;
             page.after = std::move(after);
             page.before = std::move(before);
             py::list out;
             for (const Message& msg : Blocking(self, [&](Hub& h) {
                    return Unwrap(h.store().ListMessages(channel_id, page)).messages;
                  })) {
               out.append(MessageToPython(msg));
             }
             return out;
           },
           py::arg("channel_id"), py::kw_only(), py::arg("limit") = 50,
           py::arg("after") = py::none(), py::arg("before") = py::none(),
           "A page of the channel's stored messages, oldest first.")
      .def("add_agent",
           [](PyHub& self, std::string space, std::string channel_id, std::string callsign,
              std::string agent_type) {
             Json body = Json::Object();
             body.Set("callsign", std::move(callsign));
             body.Set("agentType", std::move(agent_type));
             return RosterEntryToPython(Blocking(self, [&](Hub& h) {
               return Unwrap(h.agents().AddAgent(SpacePrincipal(space), channel_id, body));
             }));
           },
           py::arg("space_id"), py::arg("channel_id"), py::arg("callsign"), py::arg("agent_type"),
           "Adds an agent to the channel and activates it (Cast's POST /channels/:id/agents).")
      .def("roster_action",
           [](PyHub& self, std::string space, std::string channel_id, std::string callsign,
              std::string_view action) {
             const RosterAction a = Unwrap(ParseRosterAction(action));
             return RosterEntryToPython(Blocking(self, [&](Hub& h) {
               return Unwrap(h.agents().ApplyRosterAction(SpacePrincipal(space), channel_id, callsign, a));
             }));
           },
           py::arg("space_id"), py::arg("channel_id"), py::arg("callsign"), py::arg("action"),
           "pause, resume, activate, dismiss or unarchive an agent.")
      .def("checkin",
           [](PyHub& self, std::string space, std::string channel_id, std::string callsign,
              std::string endpoint, py::handle route_hints) {
             const AgentIdentity agent = Agent(space, channel_id, callsign);
             const Json hints = ToJson(route_hints);
             return Blocking(self, [&](Hub& h) {
               return Unwrap(h.agents().Checkin(agent, endpoint, hints)).delivered;
             });
           },
           py::arg("space_id"), py::arg("channel_id"), py::arg("callsign"), py::arg("endpoint"),
           py::arg("route_hints") = py::none(),
           "An agent checks in at `endpoint` (http://host:port); its queued messages are pushed "
           "to <endpoint>/message before this returns. Returns how many were delivered.")
      .def("heartbeat",
           [](PyHub& self, std::string space, std::string channel_id, std::string callsign) {
             const AgentIdentity agent = Agent(space, channel_id, callsign);
             return Blocking(self, [&](Hub& h) { return Unwrap(h.agents().Heartbeat(agent)); });
           },
           py::arg("space_id"), py::arg("channel_id"), py::arg("callsign"),
           "Records a heartbeat; returns its time (Unix ms).")
      .def("presence",
           [](PyHub& self, std::string space, std::string channel_id, std::string callsign) {
             const AgentIdentity agent = Agent(space, channel_id, callsign);
             AgentPresence p =
                 Blocking(self, [&](Hub& h) { return Unwrap(h.agents().Presence(agent)); });
             py::object endpoint = p.endpoint ? py::object(Str(*p.endpoint)) : py::none();
             return Types().presence(p.online, endpoint, py::cast(p.last_heartbeat));
           },
           py::arg("space_id"), py::arg("channel_id"), py::arg("callsign"))
      .def("container_token",
           [](PyHub& self, std::string space, std::string channel_id, std::string callsign) {
             return Str(self.hub()->ContainerToken(Agent(space, channel_id, callsign)));
           },
           py::arg("space_id"), py::arg("channel_id"), py::arg("callsign"),
           "The container token an agent presents to the server (Authorization: Container).")
      .def("sweep",
           [](PyHub& self, std::optional<UnixMillis> now) {
             Blocking(self, [&](Hub& h) {
               h.agents().Sweep(now ? *now : h.clock().NowMillis());
               return 0;
             });
           },
           py::arg("now") = py::none(),
           "Applies heartbeat staleness and activation timeouts (call it from a timer).")
      .def("subscribe", &PyHub::Subscribe, py::arg("channel_id") = py::none(), py::kw_only(),
           py::arg("callback") = py::none(), py::arg("max_queued") = 10'000,
           "Events the hub publishes, for one channel or all (None).")
      .def("close", &PyHub::Close,
           "Closes the subscriptions, stops the agents the hub started and waits for its work.")
      .def_property_readonly("closed", &PyHub::closed)
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyHub& self, py::args) { self.Close(); });

  m.def("open_hub", &Open, py::arg("store_url") = "sqlite://agentcore.db", py::kw_only(),
        py::arg("data_dir") = py::none(),
        py::arg("agent_commands") = std::map<std::string, std::vector<std::string>>{},
        py::arg("container_secret") = "", py::arg("jwt_secret") = "", py::arg("api_url") = "",
        py::arg("background_threads") = 4,
        py::arg("heartbeat_staleness_ms") = AgentPolicy{}.heartbeat_staleness.count(),
        py::arg("activation_timeout_ms") = AgentPolicy{}.activation_timeout.count(),
        "Opens a hub on a store URL (sqlite:///path, postgres://..., memory:). data_dir: the "
        "agents' files; agent_commands: {agent_type: argv} of agents started as processes "
        "(none: agents start elsewhere and check in).");
  m.def(
      "_close_all_hubs",
      [] {
        const std::set<PyHub*> hubs = OpenHubs();
        for (PyHub* h : hubs) h->Close();
      },
      "Closes every open hub (registered with atexit).");
}

}  // namespace agentcore::python
