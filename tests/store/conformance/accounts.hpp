// SPDX-License-Identifier: Apache-2.0
// Store conformance cases: password accounts (issue 16): users' emails and password hashes,
// invite codes, registration with an invite in one transaction (exactly one of concurrent
// registrations with one code wins), and migration 0010 going down and up. Included by
// store/store_conformance.hpp only.
#ifndef AGENTCORE_STORE_CASE
#error "include store/store_conformance.hpp, not this part"
#endif

namespace agentcore::conformance {

inline User AccountUser(std::string email, std::string password_hash = "$argon2id$v=19$x") {
  User u;
  u.callsign = email.substr(0, email.find('@'));
  u.email = std::move(email);
  u.password_hash = std::move(password_hash);
  return u;
}

// A stored invite code whose hash is "hash-<n>", expiring at `expires_at` (0: never).
inline InviteCode Invite(Store& store, std::string n, UnixMillis expires_at = 0) {
  InviteCode in;
  in.code_hash = "hash-" + n;
  in.prefix = "inv_" + n;
  in.expires_at = expires_at;
  return Must(store.CreateInviteCode(in));
}

}  // namespace agentcore::conformance

TEST_SUITE("StoreConformance") {
  using namespace agentcore;               // NOLINT: test-local brevity
  using namespace agentcore::conformance;  // NOLINT

  AGENTCORE_STORE_CASE("a user keeps its password hash and is found by its email, exactly") {
    F f;
    User u = Must(f.store().CreateUser(AccountUser("alice@example.com", "$argon2id$hash-a")));
    CHECK(u.password_hash == "$argon2id$hash-a");
    User got = Must(f.store().GetUser(u.id));
    CHECK(got.password_hash == "$argon2id$hash-a");
    CHECK(got.email == "alice@example.com");
    User by_email = Must(f.store().FindUserByEmail("alice@example.com"));
    CHECK(by_email.id == u.id);
    CHECK(by_email.password_hash == "$argon2id$hash-a");
    // Exact: the service lower-cases, the store compares bytes.
    CHECK(CodeOf(f.store().FindUserByEmail("Alice@example.com")) == ErrorCode::kNotFound);
    CHECK(CodeOf(f.store().FindUserByEmail("bob@example.com")) == ErrorCode::kNotFound);
    // A user without a password reads back with none.
    User plain = AccountUser("carol@example.com", "");
    CHECK(Must(f.store().GetUser(Must(f.store().CreateUser(plain)).id)).password_hash.empty());
  }

  AGENTCORE_STORE_CASE("a non-empty email is unique; empty ones are not a value") {
    F f;
    User a = Must(f.store().CreateUser(AccountUser("alice@example.com")));
    User same = AccountUser("alice@example.com");
    same.id = "user-dup";
    Status refused = f.store().CreateUser(same).status();
    CHECK(refused.code() == ErrorCode::kAlreadyExists);
    CHECK(CodeOf(f.store().GetUser("user-dup")) == ErrorCode::kNotFound);
    CHECK(Must(f.store().FindUserByEmail("alice@example.com")).id == a.id);
    User none = AccountUser("");
    none.callsign = "x";
    Must(f.store().CreateUser(none));
    Must(f.store().CreateUser(none));
  }

  AGENTCORE_STORE_CASE("rejects bad email lookups, invite codes and hashes as invalid input") {
    F f;
    const std::string long_key(kMaxKeyBytes + 1, 'h');
    CHECK(CodeOf(f.store().FindUserByEmail("")) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().FindUserByEmail(kBadUtf8)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().FindUserByEmail(long_key)) == ErrorCode::kInvalidArgument);
    User bad_hash = AccountUser("a@example.com", long_key);
    CHECK(CodeOf(f.store().CreateUser(bad_hash)) == ErrorCode::kInvalidArgument);
    bad_hash.password_hash = kBadUtf8;
    CHECK(CodeOf(f.store().CreateUser(bad_hash)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().FindUserByEmail("a@example.com")) == ErrorCode::kNotFound);

    InviteCode in;
    CHECK(CodeOf(f.store().CreateInviteCode(in)) == ErrorCode::kInvalidArgument);  // no hash
    in.code_hash = long_key;
    CHECK(CodeOf(f.store().CreateInviteCode(in)) == ErrorCode::kInvalidArgument);
    in.code_hash = kBadUtf8;
    CHECK(CodeOf(f.store().CreateInviteCode(in)) == ErrorCode::kInvalidArgument);
    in.code_hash = "h";
    in.prefix = kOverlong;
    CHECK(CodeOf(f.store().CreateInviteCode(in)) == ErrorCode::kInvalidArgument);
    in.prefix = "p";
    in.expires_at = -1;
    CHECK(CodeOf(f.store().CreateInviteCode(in)) == ErrorCode::kInvalidArgument);
    in.expires_at = 0;
    in.id = long_key;
    CHECK(CodeOf(f.store().CreateInviteCode(in)) == ErrorCode::kInvalidArgument);
    CHECK(Must(f.store().ListInviteCodes(100)).empty());  // nothing stored

    CHECK(CodeOf(f.store().GetInviteCode("")) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().RevokeInviteCode(kBadUtf8)) == ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().CreateUserWithInvite(AccountUser("b@example.com"), "",
                                                f.clock().NowMillis())) ==
          ErrorCode::kInvalidArgument);
    CHECK(CodeOf(f.store().CreateUserWithInvite(AccountUser("b@example.com"), long_key,
                                                f.clock().NowMillis())) ==
          ErrorCode::kInvalidArgument);
    for (const std::string& meta : SqlMetaStrings()) {
      CAPTURE(meta);
      CHECK(CodeOf(f.store().FindUserByEmail(meta)) == ErrorCode::kNotFound);
      CHECK(CodeOf(f.store().CreateUserWithInvite(AccountUser("c@example.com"), meta,
                                                  f.clock().NowMillis())) == ErrorCode::kNotFound);
    }
    CHECK(CodeOf(f.store().FindUserByEmail("c@example.com")) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("creates, gets, lists and revokes invite codes") {
    F f;
    f.clock().Advance(1000);
    InviteCode in;
    in.code_hash = "hash-1";
    in.prefix = "inv_1";
    in.expires_at = 99'000;
    in.created_at = 5;       // ignored: the store's clock
    in.used_at = 7;          // ignored: new codes are unused
    in.used_by = "someone";  // ignored
    in.revoked = true;       // ignored
    InviteCode a = Must(f.store().CreateInviteCode(in));
    CHECK(IsUlid(a.id));
    CHECK(a.created_at == f.clock().NowMillis());
    CHECK(a.expires_at == 99'000);
    CHECK(a.used_at == 0);
    CHECK(a.used_by.empty());
    CHECK_FALSE(a.revoked);
    InviteCode got = Must(f.store().GetInviteCode(a.id));
    CHECK(got.code_hash == "hash-1");
    CHECK(got.prefix == "inv_1");
    CHECK(got.created_at == a.created_at);
    CHECK(got.used_at == 0);
    CHECK_FALSE(got.revoked);

    f.clock().Advance(1);
    InviteCode b = Invite(f.store(), "2");
    CHECK(CodeOf(f.store().GetInviteCode("missing")) == ErrorCode::kNotFound);
    // A taken id or hash.
    InviteCode same_hash;
    same_hash.code_hash = "hash-1";
    CHECK(CodeOf(f.store().CreateInviteCode(same_hash)) == ErrorCode::kAlreadyExists);
    Status dup = f.store().CreateInviteCode(same_hash).status();
    CHECK(dup.message().find("hash-1") == std::string::npos);  // never echoes a hash
    InviteCode same_id;
    same_id.id = a.id;
    same_id.code_hash = "hash-other";
    CHECK(CodeOf(f.store().CreateInviteCode(same_id)) == ErrorCode::kAlreadyExists);

    std::vector<InviteCode> all = Must(f.store().ListInviteCodes(100));
    REQUIRE(all.size() == 2);
    CHECK(all[0].id == a.id);  // oldest first
    CHECK(all[1].id == b.id);
    CHECK(Must(f.store().ListInviteCodes(1)).size() == 1);
    CHECK(Must(f.store().ListInviteCodes(0)).empty());

    MustOk(f.store().RevokeInviteCode(a.id));
    MustOk(f.store().RevokeInviteCode(a.id));  // idempotent
    CHECK(Must(f.store().GetInviteCode(a.id)).revoked);
    CHECK_FALSE(Must(f.store().GetInviteCode(b.id)).revoked);
    CHECK(CodeOf(f.store().RevokeInviteCode("missing")) == ErrorCode::kNotFound);
  }

  AGENTCORE_STORE_CASE("registering with an invite creates the user and uses the code, once") {
    F f;
    InviteCode code = Invite(f.store(), "1");
    f.clock().Advance(50);
    User u = Must(f.store().CreateUserWithInvite(AccountUser("alice@example.com"), "hash-1",
                                                 f.clock().NowMillis()));
    CHECK(IsUlid(u.id));
    CHECK(u.created_at == f.clock().NowMillis());
    CHECK(Must(f.store().FindUserByEmail("alice@example.com")).id == u.id);
    InviteCode used = Must(f.store().GetInviteCode(code.id));
    CHECK(used.used_at == f.clock().NowMillis());
    CHECK(used.used_by == u.id);

    // The same code again: refused, nothing created.
    Status again =
        f.store()
            .CreateUserWithInvite(AccountUser("bob@example.com"), "hash-1", f.clock().NowMillis())
            .status();
    CHECK(again.code() == ErrorCode::kConflict);
    CHECK(again.message() == "invite code already used");
    CHECK(CodeOf(f.store().FindUserByEmail("bob@example.com")) == ErrorCode::kNotFound);
    CHECK(Must(f.store().GetInviteCode(code.id)).used_by == u.id);
    // Revoking a used code keeps it used.
    MustOk(f.store().RevokeInviteCode(code.id));
    CHECK(Must(f.store().GetInviteCode(code.id)).used_by == u.id);

    Status unknown = f.store()
                         .CreateUserWithInvite(AccountUser("bob@example.com"), "hash-nope",
                                               f.clock().NowMillis())
                         .status();
    CHECK(unknown.code() == ErrorCode::kNotFound);
    CHECK(unknown.message() == "invite code not found");
  }

  AGENTCORE_STORE_CASE("refuses a revoked or expired invite, and leaves the code unused") {
    F f;
    f.clock().Advance(1000);
    InviteCode revoked = Invite(f.store(), "r");
    MustOk(f.store().RevokeInviteCode(revoked.id));
    Status s =
        f.store()
            .CreateUserWithInvite(AccountUser("a@example.com"), "hash-r", f.clock().NowMillis())
            .status();
    CHECK(s.code() == ErrorCode::kConflict);
    CHECK(s.message() == "invite code revoked");

    InviteCode expiring = Invite(f.store(), "e", f.clock().NowMillis() + 100);
    f.clock().Advance(100);  // now == expires_at of "e": expired
    s = f.store()
            .CreateUserWithInvite(AccountUser("a@example.com"), "hash-e", f.clock().NowMillis())
            .status();
    CHECK(s.code() == ErrorCode::kConflict);
    CHECK(s.message() == "invite code expired");
    CHECK(Must(f.store().GetInviteCode(expiring.id)).used_at == 0);
    CHECK(CodeOf(f.store().FindUserByEmail("a@example.com")) == ErrorCode::kNotFound);
    // The caller's `now` decides, not the store's clock: at expires_at - 1 it is valid.
    InviteCode judged = Invite(f.store(), "j", f.clock().NowMillis() - 10);
    CHECK(CodeOf(f.store().CreateUserWithInvite(AccountUser("j@example.com"), "hash-j",
                                                f.clock().NowMillis())) == ErrorCode::kConflict);
    User j = Must(f.store().CreateUserWithInvite(AccountUser("j@example.com"), "hash-j",
                                                 judged.expires_at - 1));
    CHECK(Must(f.store().GetInviteCode(judged.id)).used_at == f.clock().NowMillis());
    CHECK(j.created_at == f.clock().NowMillis());
    // One millisecond before its expires_at a code is still valid.
    Invite(f.store(), "v", f.clock().NowMillis() + 1);
    Must(f.store().CreateUserWithInvite(AccountUser("a@example.com"), "hash-v",
                                        f.clock().NowMillis()));
  }

  AGENTCORE_STORE_CASE("a taken email refuses the registration and leaves the invite unused") {
    F f;
    Must(f.store().CreateUser(AccountUser("alice@example.com")));
    InviteCode code = Invite(f.store(), "1");
    Status s =
        f.store()
            .CreateUserWithInvite(AccountUser("alice@example.com"), "hash-1", f.clock().NowMillis())
            .status();
    CHECK(s.code() == ErrorCode::kAlreadyExists);
    InviteCode still = Must(f.store().GetInviteCode(code.id));
    CHECK(still.used_at == 0);
    CHECK(still.used_by.empty());
    // The code still works for another email.
    User bob = Must(f.store().CreateUserWithInvite(AccountUser("bob@example.com"), "hash-1",
                                                   f.clock().NowMillis()));
    CHECK(Must(f.store().GetInviteCode(code.id)).used_by == bob.id);
    // Invite errors come before the email check: a used code with a taken email says "used".
    s = f.store()
            .CreateUserWithInvite(AccountUser("alice@example.com"), "hash-1", f.clock().NowMillis())
            .status();
    CHECK(s.code() == ErrorCode::kConflict);
  }

  AGENTCORE_STORE_CASE("of concurrent registrations with one code exactly one wins") {
    F f;
    constexpr int kThreads = 8;
    for (int round = 0; round < 3; ++round) {
      const std::string n = std::to_string(round);
      InviteCode code = Invite(f.store(), n);
      std::atomic<int> go{0};
      std::vector<Status> results(kThreads);
      std::vector<std::thread> threads;
      for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
          go.fetch_add(1);
          while (go.load() < kThreads) std::this_thread::yield();
          results[static_cast<std::size_t>(i)] =
              f.store()
                  .CreateUserWithInvite(
                      AccountUser("r" + n + "-" + std::to_string(i) + "@example.com"), "hash-" + n,
                      f.clock().NowMillis())
                  .status();
        });
      }
      for (std::thread& t : threads) t.join();
      int won = 0;
      int winner = -1;
      for (int i = 0; i < kThreads; ++i) {
        const Status& s = results[static_cast<std::size_t>(i)];
        if (s.ok()) {
          ++won;
          winner = i;
        } else {
          CHECK(s.code() == ErrorCode::kConflict);
          CHECK(s.message() == "invite code already used");
        }
      }
      REQUIRE(won == 1);
      InviteCode used = Must(f.store().GetInviteCode(code.id));
      User w =
          Must(f.store().FindUserByEmail("r" + n + "-" + std::to_string(winner) + "@example.com"));
      CHECK(used.used_by == w.id);
      for (int i = 0; i < kThreads; ++i) {
        if (i == winner) continue;
        CHECK(CodeOf(f.store().FindUserByEmail("r" + n + "-" + std::to_string(i) +
                                               "@example.com")) == ErrorCode::kNotFound);
      }
    }
  }

  AGENTCORE_STORE_CASE("migrating below version 10 and back drops invite codes and hashes") {
    F f;
    const int latest = Must(f.store().SchemaVersion());
    REQUIRE(latest >= 10);
    User u = Must(f.store().CreateUser(AccountUser("alice@example.com", "$argon2id$kept?")));
    Invite(f.store(), "1");
    MustOk(f.store().MigrateTo(9));
    CHECK(Must(f.store().SchemaVersion()) == 9);
    MustOk(f.store().MigrateTo(latest));
    User back = Must(f.store().GetUser(u.id));
    CHECK(back.email == "alice@example.com");  // the column predates 0010
    CHECK(back.password_hash.empty());         // 0010's column came back empty
    CHECK(Must(f.store().ListInviteCodes(100)).empty());
    // Usable again, the email's uniqueness included.
    CHECK(CodeOf(f.store().CreateUser(AccountUser("alice@example.com"))) ==
          ErrorCode::kAlreadyExists);
    Invite(f.store(), "2");
    Must(f.store().CreateUserWithInvite(AccountUser("bob@example.com"), "hash-2",
                                        f.clock().NowMillis()));
  }
}
