// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/accounts.hpp>

#include <optional>
#include <utility>

#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/hub.hpp>

namespace agentcore {
namespace {

// A store failure the rule does not expect: kInternal, keeping the store's status for the log.
Status StoreError(const Status& store_status) {
  return Status(ErrorCode::kInternal, store_status.ToString());
}

// JavaScript's trim() for ASCII input: Cast trims the callsign and the space name.
std::string_view TrimAscii(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  std::size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

// JavaScript's toLowerCase() for ASCII; other bytes are kept as they are.
std::string LowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// The user, the space it owns and the two seed channels Cast creates with a dev account.
Result<Account> CreateDevAccount(Store& store, const User& user, Space space) {
  Result<User> created_user = store.CreateUser(user);
  if (!created_user.has_value()) return created_user.status();
  space.owner_id = created_user->id;
  Result<Space> created_space = store.EnsureSpace(space);
  if (!created_space.has_value()) return created_space.status();
  struct Seed {
    const char* name;
    const char* tagline;
  };
  for (Seed seed :
       {Seed{"root", "System configuration"}, Seed{"first-channel", "Your first channel"}}) {
    NewChannel channel;
    channel.space_id = created_space->id;
    channel.name = seed.name;
    channel.tagline = seed.tagline;
    Result<Channel> created = store.CreateChannel(channel);
    if (!created.has_value()) return created.status();
  }
  return Account{*std::move(created_user), *std::move(created_space), "dev"};
}

}  // namespace

AccountService::AccountService(Hub& hub) : hub_(hub) {}

Result<DevLoginResult> AccountService::DevLogin(const Json& body,
                                                const SessionCookiePolicy& cookie) {
  // spec cast §4.2: a string spaceId logs in (even when a callsign is also given), then a
  // string callsign creates an account; anything else is refused. Cast tests `body.spaceId`
  // for truthiness: an empty one is absent.
  if (const std::string* space_id = body.FindString("spaceId"); space_id && !space_id->empty()) {
    return LoginToSpace(*space_id, cookie);
  }
  if (const std::string* callsign = body.FindString("callsign")) {
    return CreateAccount(*callsign, body, cookie);
  }
  return InvalidArgument("Invalid request body. Provide spaceId or callsign.");
}

Result<DevLoginResult> AccountService::LoginToSpace(const std::string& space_id,
                                                    const SessionCookiePolicy& cookie) {
  if (!IsPossibleId(space_id)) return NotFound("Space not found");
  Store& store = hub_.store();
  Result<Space> space = store.GetSpace(space_id);
  if (!space.has_value()) {
    if (space.status().code() == ErrorCode::kNotFound) return NotFound("Space not found");
    return StoreError(space.status());
  }
  if (space->owner_id.empty()) return NotFound("Space owner not found");
  Result<User> owner = store.GetUser(space->owner_id);
  if (!owner.has_value()) {
    if (owner.status().code() == ErrorCode::kNotFound) return NotFound("Space owner not found");
    return StoreError(owner.status());
  }
  return SignIn(Account{*std::move(owner), *std::move(space), "dev"}, /*created=*/false, cookie);
}

Result<DevLoginResult> AccountService::CreateAccount(std::string_view raw_callsign,
                                                     const Json& body,
                                                     const SessionCookiePolicy& cookie) {
  std::string_view trimmed = TrimAscii(raw_callsign);
  if (trimmed.empty()) return InvalidArgument("Callsign is required");
  std::string callsign = LowerAscii(trimmed);
  Result<std::optional<std::string>> space_name = OptionalString(body, "spaceName");
  if (!space_name.has_value()) return space_name.status();
  std::string name(space_name->has_value() ? TrimAscii(**space_name) : std::string_view());
  if (name.empty()) name = callsign + "'s space";
  AGENTCORE_RETURN_IF_ERROR(CheckKey("callsign", callsign));
  AGENTCORE_RETURN_IF_ERROR(CheckKey("spaceName", name));

  User user;
  user.external_id = "dev:" + hub_.NewId();
  user.callsign = callsign;
  Space space;
  space.id = hub_.NewId();
  space.name = std::move(name);
  space.owner_callsign = std::move(callsign);
  Result<Account> account = CreateDevAccount(hub_.store(), user, std::move(space));
  if (!account.has_value()) return StoreError(account.status());
  return SignIn(*std::move(account), /*created=*/true, cookie);
}

DevLoginResult AccountService::SignIn(Account account, bool created,
                                      const SessionCookiePolicy& cookie) {
  SessionClaims claims;
  claims.user_id = account.user.id;
  claims.space_id = account.space.id;
  claims.mode = account.mode;
  claims.iat = hub_.clock().NowMillis() / 1000;
  claims.exp = claims.iat + kSessionTtlSeconds;
  DevLoginResult result;
  result.account = std::move(account);
  result.created = created;
  result.token = SignSessionToken(hub_.jwt_secret(), claims);
  result.set_cookie = SessionCookie(result.token, cookie.secure, cookie.domain);
  return result;
}

Result<Account> AccountService::SessionAccount(std::string_view authorization,
                                               std::string_view cookie_header) {
  Result<Principal> principal = hub_.credentials().Authenticate(authorization, cookie_header);
  if (!principal.has_value() || principal->kind != Principal::Kind::kSession) {
    return Status(ErrorCode::kUnauthenticated, "Not authenticated");
  }
  Store& store = hub_.store();
  Result<User> user = store.GetUser(principal->user_id);
  Result<Space> space = store.GetSpace(principal->space_id);
  for (const Status& s : {user.status(), space.status()}) {
    if (s.ok()) continue;
    if (s.code() != ErrorCode::kNotFound) return StoreError(s);
    // The session names a user or space that no longer exists.
    return NotFound("Session invalid");
  }
  return Account{*std::move(user), *std::move(space), principal->mode};
}

Result<std::vector<SpaceListing>> AccountService::ListDevSpaces() {
  Store& store = hub_.store();
  Result<std::vector<Space>> spaces = store.ListSpaces(kMaxPageSize);
  if (!spaces.has_value()) return StoreError(spaces.status());
  std::vector<SpaceListing> out;
  out.reserve(spaces->size());
  // Cast lists newest first and joins the owner: spaces without one are left out.
  for (auto it = spaces->rbegin(); it != spaces->rend(); ++it) {
    if (it->owner_id.empty()) continue;
    Result<User> owner = store.GetUser(it->owner_id);
    if (!owner.has_value()) {
      if (owner.status().code() == ErrorCode::kNotFound) continue;
      return StoreError(owner.status());
    }
    out.push_back(SpaceListing{std::move(*it), *std::move(owner)});
  }
  return out;
}

std::string AccountService::ClearedCookie(const SessionCookiePolicy& cookie) {
  return ClearedSessionCookie(cookie.secure, cookie.domain);
}

}  // namespace agentcore
