// SPDX-License-Identifier: Apache-2.0
// Spaces, channels and roster entries of the SQLite store.
#include <fmt/format.h>

#include <algorithm>

#include "store/record_checks.hpp"
#include "store/sqlite/query.hpp"
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace agentcore::internal::sqlite {

namespace {

Status SpaceNotFound(std::string_view id) {
  return NotFound(fmt::format("space \"{}\" not found", id));
}
Status ChannelNotFound(std::string_view id) {
  return NotFound(fmt::format("channel \"{}\" not found", id));
}
Status RosterNotFound(std::string_view channel_id, std::string_view callsign) {
  return NotFound(
      fmt::format("roster entry \"{}\" not found in channel \"{}\"", callsign, channel_id));
}

Result<Space> LoadSpace(Connection& c, std::string_view id) {
  static const std::string sql = SelectSql(kSpaceColumns, "spaces", "WHERE id = ?1");
  return QueryOne<Space>(
      c, sql, SpaceFromRow, [&] { return SpaceNotFound(id); }, id);
}

Result<Channel> LoadChannel(Connection& c, std::string_view id) {
  static const std::string sql = SelectSql(kChannelColumns, "channels", "WHERE id = ?1");
  return QueryOne<Channel>(
      c, sql, ChannelFromRow, [&] { return ChannelNotFound(id); }, id);
}

Result<RosterEntry> LoadRosterEntry(Connection& c, std::string_view channel_id,
                                    std::string_view callsign) {
  static const std::string sql =
      SelectSql(kRosterColumns, "roster", "WHERE channel_id = ?1 AND callsign = ?2");
  return QueryOne<RosterEntry>(
      c, sql, RosterEntryFromRow, [&] { return RosterNotFound(channel_id, callsign); }, channel_id,
      callsign);
}

Result<bool> ChannelExists(Connection& c, std::string_view id) {
  return Exists(c, "SELECT 1 FROM channels WHERE id = ?1", id);
}

// Binds "set this column" flags with their values for the CASE WHEN ?n THEN ?n+1 pattern, so
// that one cached UPDATE statement serves every combination of patch fields.
template <typename T>
void BindPatch(Statement& st, int i, const std::optional<T>& v) {
  st.Bind(i, v.has_value());
  if (v) {
    st.Bind(i + 1, *v);
  } else {
    st.BindNull(i + 1);
  }
}

}  // namespace

// --- Spaces

Result<Space> SqliteStore::EnsureSpace(const Space& space) {
  AGENTCORE_RETURN_IF_ERROR(CheckSpace(space));
  const UnixMillis now = Now();
  Space out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        AGENTCORE_ASSIGN_OR_RETURN(
            int changed, Execute(ctx.conn(),
                                 "INSERT INTO spaces (id, name, owner_callsign, owner_id, "
                                 "created_at) VALUES (?1, ?2, ?3, ?4, ?5) "
                                 "ON CONFLICT (id) DO NOTHING",
                                 space.id, space.name, space.owner_callsign, space.owner_id, now));
        (void)changed;
        AGENTCORE_ASSIGN_OR_RETURN(out, LoadSpace(ctx.conn(), space.id));
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return out;
}

Result<Space> SqliteStore::GetSpace(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("space id", id));
  return Read([&](Connection& c) { return LoadSpace(c, id); });
}

Result<std::vector<Space>> SqliteStore::ListSpaces(std::size_t limit) {
  static const std::string sql =
      SelectSql(kSpaceColumns, "spaces", "ORDER BY created_at, id LIMIT ?1");
  const std::size_t n = std::min(limit, kMaxPageSize);
  return Read([&](Connection& c) { return QueryAll<Space>(c, sql, SpaceFromRow, n); });
}

// --- Channels

Result<Channel> SqliteStore::CreateChannel(const NewChannel& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckNewChannel(in, options_.max_content_bytes));
  Channel ch;
  ch.id = in.id.empty() ? ids_.Next() : in.id;
  ch.space_id = in.space_id;
  ch.name = in.name;
  ch.tagline = in.tagline;
  ch.mission = in.mission;
  ch.created_at = ch.updated_at = ch.last_active_at = Now();
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        AGENTCORE_ASSIGN_OR_RETURN(bool space,
                                   Exists(c, "SELECT 1 FROM spaces WHERE id = ?1", ch.space_id));
        if (!space) return SpaceNotFound(ch.space_id);
        AGENTCORE_ASSIGN_OR_RETURN(bool taken, ChannelExists(c, ch.id));
        if (taken) return AlreadyExists(fmt::format("channel \"{}\" already exists", ch.id));
        AGENTCORE_ASSIGN_OR_RETURN(
            bool name_taken, Exists(c, "SELECT 1 FROM channels WHERE space_id = ?1 AND name = ?2",
                                    ch.space_id, ch.name));
        if (name_taken) {
          return AlreadyExists(fmt::format("channel named \"{}\" already exists in space \"{}\"",
                                           ch.name, ch.space_id));
        }
        AGENTCORE_RETURN_IF_ERROR(
            Execute(c,
                    "INSERT INTO channels (id, space_id, name, tagline, mission, archived, "
                    "created_at, updated_at, last_active_at) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?6, ?6)",
                    ch.id, ch.space_id, ch.name, ch.tagline, ch.mission, ch.created_at)
                .status());
        ctx.ChannelWritten(ch.id, ChannelVersionTable::kChannel);
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return ch;
}

Result<Channel> SqliteStore::GetChannel(std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel id", id));
  return Read([&](Connection& c) { return LoadChannel(c, id); });
}

Result<Channel> SqliteStore::FindChannelByName(std::string_view space_id, std::string_view name) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel space id", space_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel name", name));
  static const std::string sql =
      SelectSql(kChannelColumns, "channels", "WHERE space_id = ?1 AND name = ?2");
  return Read([&](Connection& c) {
    return QueryOne<Channel>(
        c, sql, ChannelFromRow,
        [&] {
          return NotFound(
              fmt::format("channel named \"{}\" not found in space \"{}\"", name, space_id));
        },
        space_id, name);
  });
}

Result<std::vector<Channel>> SqliteStore::ListChannels(std::string_view space_id,
                                                       bool include_archived) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel space id", space_id));
  static const std::string sql =
      SelectSql(kChannelColumns, "channels",
                "WHERE space_id = ?1 AND (?2 OR archived = 0) ORDER BY created_at DESC, id DESC");
  return Read([&](Connection& c) -> Result<std::vector<Channel>> {
    AGENTCORE_ASSIGN_OR_RETURN(
        auto channels, QueryAll<Channel>(c, sql, ChannelFromRow, space_id, include_archived));
    if (channels.empty()) {
      AGENTCORE_ASSIGN_OR_RETURN(bool space,
                                 Exists(c, "SELECT 1 FROM spaces WHERE id = ?1", space_id));
      if (!space) return SpaceNotFound(space_id);
    }
    return channels;
  });
}

Result<Channel> SqliteStore::UpdateChannel(std::string_view id, const ChannelPatch& patch) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("channel id", id));
  AGENTCORE_RETURN_IF_ERROR(CheckChannelPatch(patch, options_.max_content_bytes));
  const UnixMillis now = Now();
  Channel out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        AGENTCORE_ASSIGN_OR_RETURN(Channel current, LoadChannel(c, id));
        if (patch.name && *patch.name != current.name) {
          AGENTCORE_ASSIGN_OR_RETURN(
              bool taken, Exists(c, "SELECT 1 FROM channels WHERE space_id = ?1 AND name = ?2",
                                 current.space_id, *patch.name));
          if (taken) {
            return AlreadyExists(fmt::format("channel named \"{}\" already exists in space \"{}\"",
                                             *patch.name, current.space_id));
          }
        }
        AGENTCORE_RETURN_IF_ERROR(
            Execute(
                c,
                "UPDATE channels SET name = coalesce(?2, name), tagline = coalesce(?3, tagline), "
                "mission = coalesce(?4, mission), archived = coalesce(?5, archived), "
                "updated_at = ?6 WHERE id = ?1",
                id, patch.name, patch.tagline, patch.mission,
                patch.archived ? std::optional<std::int64_t>(*patch.archived ? 1 : 0)
                               : std::nullopt,
                now)
                .status());
        AGENTCORE_ASSIGN_OR_RETURN(out, LoadChannel(c, id));
        ctx.ChannelWritten(id, ChannelVersionTable::kChannel);
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return out;
}

// --- Roster

Result<RosterEntry> SqliteStore::AddRosterEntry(const NewRosterEntry& in) {
  AGENTCORE_RETURN_IF_ERROR(CheckNewRosterEntry(in, options_.max_content_bytes));
  AGENTCORE_ASSIGN_OR_RETURN(
      auto props, EncodeNullableJson("roster props", in.props, options_.max_content_bytes));
  RosterEntry e;
  e.id = in.id.empty() ? ids_.Next() : in.id;
  e.channel_id = in.channel_id;
  e.callsign = in.callsign;
  e.agent_type = in.agent_type;
  e.status = in.status;
  e.created_at = Now();
  e.props = in.props;
  e.runtime_id = in.runtime_id;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        AGENTCORE_ASSIGN_OR_RETURN(bool channel, ChannelExists(c, e.channel_id));
        if (!channel) return ChannelNotFound(e.channel_id);
        AGENTCORE_ASSIGN_OR_RETURN(
            bool taken, Exists(c, "SELECT 1 FROM roster WHERE channel_id = ?1 AND callsign = ?2",
                               e.channel_id, e.callsign));
        if (taken) {
          return AlreadyExists(
              fmt::format("callsign \"{}\" is already on the roster of channel \"{}\"", e.callsign,
                          e.channel_id));
        }
        AGENTCORE_ASSIGN_OR_RETURN(bool id_taken,
                                   Exists(c, "SELECT 1 FROM roster WHERE id = ?1", e.id));
        if (id_taken) return AlreadyExists(fmt::format("roster entry \"{}\" already exists", e.id));
        AGENTCORE_RETURN_IF_ERROR(
            Execute(c,
                    "INSERT INTO roster (id, channel_id, callsign, agent_type, status, created_at, "
                    "props, runtime_id, container_token_hash) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, '')",
                    e.id, e.channel_id, e.callsign, e.agent_type, RosterStatusName(e.status),
                    e.created_at, props, e.runtime_id)
                .status());
        ctx.Changed(StoreChange::Kind::kRosterChanged, e.channel_id, e.callsign);
        ctx.ChannelWritten(e.channel_id, ChannelVersionTable::kChannel);
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return e;
}

Result<RosterEntry> SqliteStore::GetRosterEntry(std::string_view channel_id,
                                                std::string_view callsign) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster callsign", callsign));
  return Read([&](Connection& c) { return LoadRosterEntry(c, channel_id, callsign); });
}

Result<std::vector<RosterEntry>> SqliteStore::ListRoster(std::string_view channel_id) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster channel id", channel_id));
  static const std::string sql =
      SelectSql(kRosterColumns, "roster", "WHERE channel_id = ?1 ORDER BY created_at, rowid");
  return Read([&](Connection& c) -> Result<std::vector<RosterEntry>> {
    AGENTCORE_ASSIGN_OR_RETURN(auto entries,
                               QueryAll<RosterEntry>(c, sql, RosterEntryFromRow, channel_id));
    if (entries.empty()) {
      AGENTCORE_ASSIGN_OR_RETURN(bool channel, ChannelExists(c, channel_id));
      if (!channel) return ChannelNotFound(channel_id);
    }
    return entries;
  });
}

Result<RosterEntry> SqliteStore::UpdateRosterEntry(std::string_view channel_id,
                                                   std::string_view callsign,
                                                   const RosterPatch& patch) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster callsign", callsign));
  AGENTCORE_RETURN_IF_ERROR(CheckRosterPatch(patch, options_.max_content_bytes));
  const std::size_t max = options_.max_content_bytes;
  // Each JSON field: unset leaves it, Json null clears it (NULL), a value replaces it.
  using Encoded = std::optional<std::optional<std::string>>;
  auto encode = [&](std::string_view what, const std::optional<Json>& v) -> Result<Encoded> {
    if (!v) return Encoded();
    AGENTCORE_ASSIGN_OR_RETURN(auto text, EncodeNullableJson(what, *v, max));
    return Encoded(std::move(text));
  };
  AGENTCORE_ASSIGN_OR_RETURN(Encoded route_hints, encode("roster route hints", patch.route_hints));
  AGENTCORE_ASSIGN_OR_RETURN(Encoded current, encode("roster current", patch.current));
  AGENTCORE_ASSIGN_OR_RETURN(Encoded props, encode("roster props", patch.props));
  std::optional<std::string_view> status;
  if (patch.status) status = RosterStatusName(*patch.status);
  std::optional<std::optional<std::string>> callback;
  if (patch.clear_callback_url) {
    callback.emplace(std::nullopt);
  } else if (patch.callback_url) {
    callback.emplace(*patch.callback_url);
  }
  RosterEntry out;
  if (Status written = Write([&](WriteContext& ctx) -> Status {
        Connection& c = ctx.conn();
        AGENTCORE_ASSIGN_OR_RETURN(
            Statement st,
            c.Prepare("UPDATE roster SET "
                      "status = CASE WHEN ?3 THEN ?4 ELSE status END, "
                      "agent_type = CASE WHEN ?5 THEN ?6 ELSE agent_type END, "
                      "callback_url = CASE WHEN ?7 THEN ?8 ELSE callback_url END, "
                      "readmark = CASE WHEN ?9 THEN ?10 ELSE readmark END, "
                      "last_heartbeat = CASE WHEN ?11 THEN ?12 ELSE last_heartbeat END, "
                      "last_message_routed_at = CASE WHEN ?13 THEN ?14 ELSE last_message_routed_at "
                      "END, "
                      "route_hints = CASE WHEN ?15 THEN ?16 ELSE route_hints END, "
                      "current = CASE WHEN ?17 THEN ?18 ELSE current END, "
                      "props = CASE WHEN ?19 THEN ?20 ELSE props END, "
                      "container_token_hash = CASE WHEN ?21 THEN ?22 ELSE container_token_hash END "
                      "WHERE channel_id = ?1 AND callsign = ?2"));
        st.Bind(1, channel_id);
        st.Bind(2, callsign);
        BindPatch(st, 3, status);
        BindPatch(st, 5, patch.agent_type);
        BindPatch(st, 7, callback);
        BindPatch(st, 9, patch.readmark);
        BindPatch(st, 11, patch.last_heartbeat);
        BindPatch(st, 13, patch.last_message_routed_at);
        BindPatch(st, 15, route_hints);
        BindPatch(st, 17, current);
        BindPatch(st, 19, props);
        BindPatch(st, 21, patch.container_token_hash);
        AGENTCORE_RETURN_IF_ERROR(st.Run());
        if (sqlite3_changes(c.db()) == 0) return RosterNotFound(channel_id, callsign);
        AGENTCORE_ASSIGN_OR_RETURN(out, LoadRosterEntry(c, channel_id, callsign));
        ctx.Changed(StoreChange::Kind::kRosterChanged, out.channel_id, out.callsign);
        ctx.ChannelWritten(channel_id, ChannelVersionTable::kChannel);
        return Status::Ok();
      });
      !written.ok()) {
    return written;
  }
  return out;
}

Status SqliteStore::RemoveRosterEntry(std::string_view channel_id, std::string_view callsign) {
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster channel id", channel_id));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("roster callsign", callsign));
  return Write([&](WriteContext& ctx) -> Status {
    // Pending deliveries go with the entry (ON DELETE CASCADE).
    AGENTCORE_ASSIGN_OR_RETURN(
        int removed,
        Execute(ctx.conn(), "DELETE FROM roster WHERE channel_id = ?1 AND callsign = ?2",
                channel_id, callsign));
    if (removed == 0) return RosterNotFound(channel_id, callsign);
    ctx.Changed(StoreChange::Kind::kRosterChanged, channel_id, callsign);
    ctx.ChannelWritten(channel_id, ChannelVersionTable::kChannel);
    return Status::Ok();
  });
}

}  // namespace agentcore::internal::sqlite
