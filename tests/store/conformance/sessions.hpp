// SPDX-License-Identifier: Apache-2.0
// Store conformance cases: migration 0008's session columns, FindSessions (filters and pages,
// newest first), CountSessions and SumSessionUsage (issue 16, docs/sessions.md "Model").
// Included by store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

namespace agentcore::conformance {

inline Session MakeSession(std::string id, std::string owner, std::string key, SessionState state) {
  Session s;
  s.id = std::move(id);
  s.owner_id = std::move(owner);
  s.api_key_id = std::move(key);
  s.state = state;
  s.generation = 1;
  s.instance = "inst-a";
  return s;
}

inline std::vector<std::string> SessionIds(const std::vector<Session>& sessions) {
  std::vector<std::string> out;
  for (const Session& s : sessions) out.push_back(s.id);
  return out;
}

}  // namespace agentcore::conformance

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

  AGENTCORE_STORE_CASE("keeps a session's service columns through put and get") {
    F f;
    Session s = MakeSession("s-1", "space-1", "key-1", SessionState::kStopped);
    s.spec = Json::Object();
    s.spec.Set("command", Json::Array());
    s.exit_code = -3;
    s.reason = "exited with code 3";
    s.started_at = 1000;
    s.stopped_at = 4000;
    s.running_ms = 3000;
    s.cpu_millis = 500;
    s.memory_mb = 256;
    Must(f.store().PutSession(s));
    Session got = Must(f.store().GetSession("s-1"));
    CHECK(got.api_key_id == "key-1");
    CHECK(got.instance == "inst-a");
    CHECK(got.spec == s.spec);
    REQUIRE(got.exit_code.has_value());
    CHECK(*got.exit_code == -3);
    CHECK(got.reason == "exited with code 3");
    CHECK(got.started_at == std::optional<UnixMillis>(1000));
    CHECK(got.stopped_at == std::optional<UnixMillis>(4000));
    CHECK(got.running_ms == 3000);
    CHECK(got.cpu_millis == 500);
    CHECK(got.memory_mb == 256);
    // Cleared optionals read back as absent.
    s.exit_code.reset();
    s.started_at.reset();
    s.stopped_at.reset();
    s.spec = Json();
    Must(f.store().PutSession(s));
    got = Must(f.store().GetSession("s-1"));
    CHECK_FALSE(got.exit_code.has_value());
    CHECK_FALSE(got.started_at.has_value());
    CHECK_FALSE(got.stopped_at.has_value());
    CHECK(got.spec.is_null());
  }

  AGENTCORE_STORE_CASE("finds sessions newest first by filter, in pages before an id") {
    F f;
    Must(f.store().PutSession(MakeSession("s-01", "space-1", "k1", SessionState::kRunning)));
    Must(f.store().PutSession(MakeSession("s-02", "space-1", "k1", SessionState::kStopped)));
    Must(f.store().PutSession(MakeSession("s-03", "space-1", "k2", SessionState::kDeleted)));
    Must(f.store().PutSession(MakeSession("s-04", "space-1", "k2", SessionState::kCreating)));
    Session other = MakeSession("s-05", "space-2", "k1", SessionState::kRunning);
    other.instance = "inst-b";
    Must(f.store().PutSession(other));

    SessionFilter all;
    all.owner_id = "space-1";
    CHECK(SessionIds(Must(f.store().FindSessions(all))) ==
          std::vector<std::string>{"s-04", "s-02", "s-01"});  // deleted left out
    SessionFilter page = all;
    page.limit = 2;
    CHECK(SessionIds(Must(f.store().FindSessions(page))) ==
          std::vector<std::string>{"s-04", "s-02"});
    page.before_id = "s-02";
    CHECK(SessionIds(Must(f.store().FindSessions(page))) == std::vector<std::string>{"s-01"});
    page.before_id = "s-01";
    CHECK(Must(f.store().FindSessions(page)).empty());

    SessionFilter running = all;
    running.states = {SessionState::kRunning, SessionState::kCreating};
    CHECK(SessionIds(Must(f.store().FindSessions(running))) ==
          std::vector<std::string>{"s-04", "s-01"});
    SessionFilter deleted = all;
    deleted.states = {SessionState::kDeleted};
    CHECK(SessionIds(Must(f.store().FindSessions(deleted))) == std::vector<std::string>{"s-03"});

    SessionFilter by_instance;
    by_instance.instance = "inst-b";
    CHECK(SessionIds(Must(f.store().FindSessions(by_instance))) ==
          std::vector<std::string>{"s-05"});
    SessionFilter by_key;
    by_key.api_key_id = "k1";
    CHECK(SessionIds(Must(f.store().FindSessions(by_key))) ==
          std::vector<std::string>{"s-05", "s-02", "s-01"});
    SessionFilter nobody;
    nobody.owner_id = "nobody";
    CHECK(Must(f.store().FindSessions(nobody)).empty());
  }

  AGENTCORE_STORE_CASE("counts sessions by owner, key and state") {
    F f;
    Must(f.store().PutSession(MakeSession("s-1", "space-1", "k1", SessionState::kRunning)));
    Must(f.store().PutSession(MakeSession("s-2", "space-1", "k1", SessionState::kCreating)));
    Must(f.store().PutSession(MakeSession("s-3", "space-1", "k1", SessionState::kFailed)));
    Must(f.store().PutSession(MakeSession("s-4", "space-1", "k2", SessionState::kDeleted)));
    Must(f.store().PutSession(MakeSession("s-5", "space-2", "k1", SessionState::kRunning)));
    SessionFilter live;
    live.api_key_id = "k1";
    live.states = {SessionState::kCreating, SessionState::kRunning};
    CHECK(Must(f.store().CountSessions(live)) == 3);
    SessionFilter space;
    space.owner_id = "space-1";
    CHECK(Must(f.store().CountSessions(space)) == 3);  // not the deleted one
    space.before_id = "s-2";  // ignored by a count
    space.limit = 1;
    CHECK(Must(f.store().CountSessions(space)) == 3);
    SessionFilter none;
    none.api_key_id = "k9";
    CHECK(Must(f.store().CountSessions(none)) == 0);
  }

  AGENTCORE_STORE_CASE("sums a key's session usage, deleted ones included, running ones to now") {
    F f;
    Session ended = MakeSession("s-1", "space-1", "k1", SessionState::kDeleted);
    ended.running_ms = 10'000;
    ended.cpu_millis = 500;
    ended.memory_mb = 100;
    Must(f.store().PutSession(ended));
    Session running = MakeSession("s-2", "space-1", "k1", SessionState::kRunning);
    running.running_ms = 1'000;  // an earlier process of it
    running.started_at = 50'000;
    running.cpu_millis = 1000;
    running.memory_mb = 10;
    Must(f.store().PutSession(running));
    Session creating = MakeSession("s-3", "space-1", "k1", SessionState::kCreating);
    creating.started_at = 1;  // a resume: not running yet, no time counted
    Must(f.store().PutSession(creating));
    Must(f.store().PutSession(MakeSession("s-4", "space-1", "k2", SessionState::kRunning)));

    SessionUsage u = Must(f.store().SumSessionUsage("k1", 60'000));
    CHECK(u.sessions == 3);
    CHECK(u.running == 2);
    CHECK(u.running_ms == 10'000 + 1'000 + 10'000);
    CHECK(u.cpu_milli_ms == 10'000 * 500 + 11'000 * 1000);
    CHECK(u.memory_mb_ms == 10'000 * 100 + 11'000 * 10);
    // A clock behind started_at counts nothing extra.
    CHECK(Must(f.store().SumSessionUsage("k1", 10)).running_ms == 11'000);
    SessionUsage none = Must(f.store().SumSessionUsage("nobody", 60'000));
    CHECK(none.sessions == 0);
    CHECK(none.running_ms == 0);
  }

  AGENTCORE_STORE_CASE("refuses malformed session filters and keys") {
    F f;
    SessionFilter bad;
    bad.owner_id = std::string(kBadUtf8);
    CHECK(CodeOf(f.store().FindSessions(bad)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().CountSessions(bad)) == ErrorCode::kInvalidArgument);
    SessionFilter state;
    state.states = {static_cast<SessionState>(17)};
    CHECK(CodeOf(f.store().FindSessions(state)) == ErrorCode::kInvalidArgument);
    SessionFilter cursor;
    cursor.before_id = std::string(kBadUtf8);
    CHECK(CodeOf(f.store().FindSessions(cursor)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().SumSessionUsage("", 0)) == ErrorCode::kInvalidArgument);
    Session s = MakeSession("s-1", "space-1", std::string(kBadUtf8), SessionState::kRunning);
    CHECK(CodeOf(f.store().PutSession(s)) == ErrorCode::kInvalidArgument);
    s.api_key_id = "k1";
    s.reason = std::string(kBadUtf8);
    CHECK(CodeOf(f.store().PutSession(s)) == ErrorCode::kInvalidArgument);
    // SQL in the values stays data.
    for (const std::string& meta : SqlMetaStrings()) {
      SessionFilter f2;
      f2.owner_id = meta;
      CHECK(Must(f.store().FindSessions(f2)).empty());
    }
  }

  AGENTCORE_STORE_CASE("migrating below version 8 and back keeps sessions, drops their columns") {
    F f;
    const int latest = Must(f.store().SchemaVersion());
    REQUIRE(latest >= 8);
    Session s = MakeSession("s-1", "space-1", "k1", SessionState::kRunning);
    s.reason = "ready";
    Must(f.store().PutSession(s));
    MustOk(f.store().MigrateTo(7));
    MustOk(f.store().MigrateTo(latest));
    Session got = Must(f.store().GetSession("s-1"));
    CHECK(got.state == SessionState::kRunning);
    CHECK(got.api_key_id.empty());
    CHECK(got.reason.empty());
    s.id = "s-2";
    Must(f.store().PutSession(s));
    CHECK(Must(f.store().GetSession("s-2")).api_key_id == "k1");
  }

}  // TEST_SUITE("StoreConformance")
