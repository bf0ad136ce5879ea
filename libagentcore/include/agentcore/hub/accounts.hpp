// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Accounts: the users and spaces behind a session, and the session cookie that carries them
/// (spec cast §4.2). The part of credentials (hub/credentials.hpp) that writes: the development
/// login finds or creates a user with the space it owns and signs a session for it; `/auth/me`
/// reads the session's user and space back; the development listing shows the spaces one can
/// log in to.
///
/// Password accounts (issue 16, Octo's model): an administrator generates invite codes (shown
/// once, stored hashed); one registers with a code, an email and a password (Argon2id, auth/
/// password.hpp), which creates the user and a space of its own, as the development login
/// does; one logs in with the email and the password. Both answer the same session JWT (mode
/// "password") and cookie as the development login: the JWT is accepted as the `cast_session`
/// cookie and as `Authorization: Bearer <jwt>` (CredentialService::Authenticate).
///
/// Which login modes a server offers is its own decision (Cast mounts the development routes
/// only with AUTH_MODE=dev); the rules here do not depend on it. Errors carry Cast's response
/// text as the status message (kInvalidArgument 400, kUnauthenticated 401, kNotFound 404); an
/// unexpected store failure is kInternal with the store's status in the message: log it and
/// answer the route's fixed 500 text.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/hub/auth_throttle.hpp>
#include <agentcore/hub/credentials.hpp>
#include <agentcore/json.hpp>
#include <agentcore/result.hpp>
#include <agentcore/store/records.hpp>

namespace agentcore {

class Hub;

/// How the session cookie is set: `Secure` (production), and a `Domain` attribute (empty:
/// none, the cookie belongs to the host that set it). Value type.
struct SessionCookiePolicy {
  bool secure = false;
  std::string domain;
};

/// A session's user and the space it is logged in to.
struct Account {
  User user;
  Space space;
  /// The session's login mode: "dev", "password" or "workos".
  std::string mode;
};

/// What a development login produced.
struct DevLoginResult {
  Account account;
  /// True when the login created the user and its space (Cast answers 201), false when it
  /// logged in to an existing space (200).
  bool created = false;
  /// The session JWT (mode "dev", valid kSessionTtlSeconds from now on the hub's clock).
  std::string token;
  /// The `Set-Cookie` value that carries `token` (SessionCookie, auth/tokens.hpp).
  std::string set_cookie;
};

/// What any login produced (development, password, registration): the account, whether it
/// was created, the session JWT and its `Set-Cookie` value.
using LoginResult = DevLoginResult;

/// A registration (POST /api/auth/register), as the client sent it.
struct Registration {
  std::string invite_code;
  std::string email;
  std::string password;
  /// How the user is called (its callsign, lower-cased) and its space ("<name>'s space");
  /// empty: the email's local part.
  std::string name;
};

/// A new invite code: its stored record and the code itself, which exists nowhere else (the
/// store keeps its SHA-256): show it once.
struct GeneratedInviteCode {
  InviteCode record;
  std::string code;
};

/// The most codes one GenerateInviteCodes call makes.
inline constexpr std::size_t kMaxInviteCodesPerCall = 100;
/// How long an invite code stays valid unless asked otherwise (a week), and the longest
/// allowed (a hundred years; 0 means never expiring).
inline constexpr std::int64_t kDefaultInviteCodeTtlHours = 24 * 7;
inline constexpr std::int64_t kMaxInviteCodeTtlHours = 24 * 365 * 100;
/// Longest email accepted, in bytes (RFC 5321's path limit).
inline constexpr std::size_t kMaxEmailBytes = 254;
/// The one answer to a failed password login, whatever failed (unknown email, wrong password,
/// a user without a password), so that it tells nobody whether an email is registered.
inline constexpr std::string_view kInvalidCredentialsMessage = "invalid email or password";

/// The email as accounts store it: trimmed of ASCII blanks and lower-cased (ASCII letters).
/// Pure.
AGENTCORE_EXPORT std::string NormalizeEmail(std::string_view email);

/// Whether a normalized email is acceptable: 3 to kMaxEmailBytes bytes, one '@' with a
/// non-empty local part before it and a domain after it, no blank or control character.
/// kInvalidArgument "email is invalid" otherwise. Pure.
AGENTCORE_EXPORT Status CheckEmail(std::string_view email);

/// Makes `count` invite codes valid for `ttl` (0: never expiring) from now on `clock`, each a
/// new random "inv_" + 32 hex digits, stored by its SHA-256 (Store::CreateInviteCode). For
/// tools without a hub (the CLI); AccountService::GenerateInviteCodes calls it. Errors:
/// kInvalidArgument "count must be 1 to 100", "ttl must not be negative", "invite code ttl must
/// be 0 to 876000 hours" (over kMaxInviteCodeTtlHours); the store's errors
/// (codes made before a failure stay stored).
AGENTCORE_EXPORT Result<std::vector<GeneratedInviteCode>> GenerateInviteCodes(
    Store& store, Clock& clock, std::size_t count, std::chrono::seconds ttl);

/// `hours` as the ttl of GenerateInviteCodes (0: never expiring): kInvalidArgument "invite
/// code ttl must be 0 to 876000 hours" outside 0..kMaxInviteCodeTtlHours. Pure.
AGENTCORE_EXPORT Result<std::chrono::seconds> InviteCodeTtl(std::int64_t hours);

/// Every invite code, oldest first, at most kMaxPageSize (Store::ListInviteCodes). The codes
/// themselves are not stored: a listing shows ids, prefixes and states.
AGENTCORE_EXPORT Result<std::vector<InviteCode>> ListInviteCodes(Store& store);

/// Revokes the invite code with id `id` (Store::RevokeInviteCode): kNotFound "invite code
/// \"<id>\" not found" (also for an id that could not name one), the store's errors.
AGENTCORE_EXPORT Status RevokeInviteCode(Store& store, std::string_view id);

/// An invite code as JSON (the wire form of `agentcore invite-codes list` and of
/// /v1/invite-codes): `id`, `prefix`, `createdAt`, `expiresAt` and `usedAt` (ISO times; null
/// for never / not yet), `usedBy`, `revoked`, and `code` only when `code` is not empty (a new
/// code, shown once). Never the hash. Appends to `out`.
AGENTCORE_EXPORT void AppendInviteCodeJson(const InviteCode& record, std::string_view code,
                                           std::string* out);

/// A space one can log in to, with the user who owns it.
struct SpaceListing {
  Space space;
  User owner;
};

/// Development login, session accounts and the space listing. Thread-safe; every method may
/// block on the store. Owned by the Hub (Hub::accounts()); it borrows the hub's store, clock,
/// ids and session secret.
class AGENTCORE_EXPORT AccountService {
 public:
  /// `hub`: not owned; must outlive the service.
  explicit AccountService(Hub& hub);
  AccountService(const AccountService&) = delete;
  AccountService& operator=(const AccountService&) = delete;

  /// POST /auth/dev/login (spec cast §4.2) from its parsed body, in Cast's order:
  ///   1. a non-empty string `spaceId` logs in as that space's owner (even when a callsign is
  ///      given too; Cast tests it for truthiness, so "" is absent): kNotFound "Space not
  ///      found" (unknown, or an id that could not name one: IsPossibleId), kNotFound "Space owner
  ///      not found" (no owner, or the owner's user is gone);
  ///   2. otherwise a string `callsign` creates a user (the callsign trimmed of ASCII blanks
  ///      and lower-cased), a space named `spaceName` (trimmed; absent, null or blank:
  ///      "<callsign>'s space") owned by it, and the seed channels "root" and "first-channel":
  ///      kInvalidArgument "Callsign is required" (blank), "spaceName must be a string", then
  ///      CheckKey's texts for callsign and spaceName;
  ///   3. otherwise kInvalidArgument "Invalid request body. Provide spaceId or callsign.".
  /// Then signs a session for the account and makes its cookie with `cookie`. kInternal on a
  /// store failure (an account half created stays: Cast does the same).
  Result<DevLoginResult> DevLogin(const Json& body, const SessionCookiePolicy& cookie);

  /// GET /auth/me (spec cast §4.2): the caller's session account. `authorization` and
  /// `cookie_header` as for CredentialService::Authenticate. Errors: kUnauthenticated "Not
  /// authenticated" unless the caller has a valid session (an API key is not a session);
  /// kNotFound "Session invalid" when the session's user or space no longer exists (Cast
  /// answers 401 and clears the cookie, ClearedCookie); kInternal.
  Result<Account> SessionAccount(std::string_view authorization, std::string_view cookie_header);

  /// GET /auth/dev/spaces: the spaces one can log in to, newest first, each with its owner;
  /// spaces without an owner, or whose owner's user is gone, are left out (Cast joins them).
  /// At most kMaxPageSize spaces are considered. kInternal on a store failure.
  Result<std::vector<SpaceListing>> ListDevSpaces();

  /// The `Set-Cookie` value that deletes the session cookie (logout, an invalid session).
  static std::string ClearedCookie(const SessionCookiePolicy& cookie);

  // --- Password accounts (issue 16)

  /// The free functions above on the hub's store and clock, for an administrator: invite
  /// codes admit new accounts to the server, not to one space. kPermissionDenied
  /// "administrator API key required" when `caller` is not an administrator (the CLI, acting
  /// on the database as its operator, calls the free functions).
  Result<std::vector<GeneratedInviteCode>> GenerateInviteCodes(const Principal& caller,
                                                               std::size_t count,
                                                               std::chrono::seconds ttl);
  Result<std::vector<InviteCode>> ListInviteCodes(const Principal& caller);
  Status RevokeInviteCode(const Principal& caller, std::string_view id);

  /// POST /api/auth/register: checks, in this order, kInvalidArgument "inviteCode is
  /// required", CheckEmail's text, CheckPassword's texts (auth/password.hpp), CheckKey's for
  /// the name; then creates the user (email normalized, password hashed) and uses the code in
  /// one store transaction (Store::CreateUserWithInvite; of two registrations with one code
  /// exactly one succeeds): kInvalidArgument "invalid or expired invite code" (unknown,
  /// revoked or expired), kConflict "invite code already used", kAlreadyExists "email already
  /// registered" (the code stays unused). Then the user's own space (its id is the user's id,
  /// with the seed channels of a development account) and a session as for DevLogin, mode
  /// "password", created = true. kInternal on a store failure (a user whose space could not be
  /// made gets it at its next login).
  Result<LoginResult> Register(const Registration& registration,
                               const SessionCookiePolicy& cookie);

  /// POST /api/auth/login: the user with that email (NormalizeEmail) whose password matches
  /// gets a session (mode "password", created = false) in its own space (made again if it is
  /// missing). Errors: kUnauthenticated kInvalidCredentialsMessage for an unknown email, a
  /// wrong password or a user without one (the same text, and about the same time: an unknown
  /// email is checked against a dummy hash); kRateLimited (AuthThrottle's text) once an email
  /// had HubOptions::login_throttle's failures in its window, without checking the password;
  /// kInternal on a store failure.
  Result<LoginResult> Login(std::string_view email, std::string_view password,
                            const SessionCookiePolicy& cookie);

  /// How long a throttled email must wait (AuthThrottle::RetryAfter), for Retry-After.
  std::chrono::milliseconds LoginRetryAfter(std::string_view email);

 private:
  // The user's own space (id = the user's id) with the seed channels, made when missing.
  Result<Space> EnsureOwnSpace(const User& user, std::string_view space_name);
  // An Argon2id hash of a random password: what an unknown email's login is checked against.
  const std::string& DummyHash();

  Result<DevLoginResult> LoginToSpace(const std::string& space_id,
                                      const SessionCookiePolicy& cookie);
  Result<DevLoginResult> CreateAccount(std::string_view raw_callsign, const Json& body,
                                       const SessionCookiePolicy& cookie);
  DevLoginResult SignIn(Account account, bool created, const SessionCookiePolicy& cookie);

  // Constant after construction.
  Hub& hub_;
  // Failed password logins per normalized email (thread-safe on its own).
  std::unique_ptr<AuthThrottle> login_throttle_;
  std::once_flag dummy_once_;
  std::string dummy_hash_;  // written once under dummy_once_
};

}  // namespace agentcore
