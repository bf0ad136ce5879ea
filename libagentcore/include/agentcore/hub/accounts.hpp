// SPDX-License-Identifier: Apache-2.0
#pragma once

/// Accounts: the users and spaces behind a session, and the session cookie that carries them
/// (spec cast §4.2). The part of credentials (hub/credentials.hpp) that writes: the development
/// login finds or creates a user with the space it owns and signs a session for it; `/auth/me`
/// reads the session's user and space back; the development listing shows the spaces one can
/// log in to.
///
/// Which login modes a server offers is its own decision (Cast mounts the development routes
/// only with AUTH_MODE=dev); the rules here do not depend on it. Errors carry Cast's response
/// text as the status message (kInvalidArgument 400, kUnauthenticated 401, kNotFound 404); an
/// unexpected store failure is kInternal with the store's status in the message: log it and
/// answer the route's fixed 500 text.

#include <string>
#include <string_view>
#include <vector>

#include <agentcore/export.hpp>
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
  /// The session's login mode: "dev" or "workos".
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

 private:
  Result<DevLoginResult> LoginToSpace(const std::string& space_id,
                                      const SessionCookiePolicy& cookie);
  Result<DevLoginResult> CreateAccount(std::string_view raw_callsign, const Json& body,
                                       const SessionCookiePolicy& cookie);
  DevLoginResult SignIn(Account account, bool created, const SessionCookiePolicy& cookie);

  // Constant after construction.
  Hub& hub_;
};

}  // namespace agentcore
