// SPDX-License-Identifier: Apache-2.0
#include <agentcore/hub/accounts.hpp>

#include <optional>
#include <utility>

#include <fmt/format.h>

#include <agentcore/auth/crypto.hpp>
#include <agentcore/auth/password.hpp>
#include <agentcore/auth/tokens.hpp>
#include <agentcore/hub/channels.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/clock.hpp>
#include <agentcore/json_writer.hpp>

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

// The two seed channels Cast creates with a dev account. `repair`: a channel that exists
// already is fine (a password account's space made again after a partial registration).
Status CreateSeedChannels(Store& store, const std::string& space_id, bool repair) {
  struct Seed {
    const char* name;
    const char* tagline;
  };
  for (Seed seed :
       {Seed{"root", "System configuration"}, Seed{"first-channel", "Your first channel"}}) {
    NewChannel channel;
    channel.space_id = space_id;
    channel.name = seed.name;
    channel.tagline = seed.tagline;
    Result<Channel> created = store.CreateChannel(channel);
    if (created.has_value()) continue;
    if (repair && created.status().code() == ErrorCode::kAlreadyExists) continue;
    return created.status();
  }
  return Status();
}

// The user, the space it owns and the two seed channels Cast creates with a dev account.
Result<Account> CreateDevAccount(Store& store, const User& user, Space space) {
  Result<User> created_user = store.CreateUser(user);
  if (!created_user.has_value()) return created_user.status();
  space.owner_id = created_user->id;
  Result<Space> created_space = store.EnsureSpace(space);
  if (!created_space.has_value()) return created_space.status();
  AGENTCORE_RETURN_IF_ERROR(CreateSeedChannels(store, created_space->id, /*repair=*/false));
  return Account{*std::move(created_user), *std::move(created_space), "dev"};
}

constexpr std::string_view kInviteCodePrefix = "inv_";
constexpr std::size_t kInviteCodeRandomBytes = 16;  // 128 bits: 32 hex digits
constexpr std::size_t kInviteCodeShownPrefix = 8;   // "inv_" and 4 hex digits

Status InviteNotFound(std::string_view id) {
  return NotFound(fmt::format("invite code \"{}\" not found", id));
}

}  // namespace

std::string NormalizeEmail(std::string_view email) { return LowerAscii(TrimAscii(email)); }

Status CheckEmail(std::string_view email) {
  static const Status kInvalid(ErrorCode::kInvalidArgument, "email is invalid");
  if (email.size() < 3 || email.size() > kMaxEmailBytes) return kInvalid;
  const std::size_t at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == email.size()) return kInvalid;
  if (email.find('@', at + 1) != std::string_view::npos) return kInvalid;
  for (char c : email) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return kInvalid;  // blanks and control characters
  }
  return CheckKey("email", email);  // valid UTF-8
}

namespace {
constexpr const char* kTtlRangeMessage = "invite code ttl must be 0 to 876000 hours";
static_assert(kMaxInviteCodeTtlHours == 876000);
}  // namespace

Result<std::chrono::seconds> InviteCodeTtl(std::int64_t hours) {
  if (hours < 0 || hours > kMaxInviteCodeTtlHours) return InvalidArgument(kTtlRangeMessage);
  return std::chrono::seconds(std::chrono::hours(hours));
}

Result<std::vector<GeneratedInviteCode>> GenerateInviteCodes(Store& store, Clock& clock,
                                                             std::size_t count,
                                                             std::chrono::seconds ttl) {
  if (count == 0 || count > kMaxInviteCodesPerCall) {
    return InvalidArgument(fmt::format("count must be 1 to {}", kMaxInviteCodesPerCall));
  }
  if (ttl.count() < 0) return InvalidArgument("ttl must not be negative");
  if (ttl > std::chrono::hours(kMaxInviteCodeTtlHours)) return InvalidArgument(kTtlRangeMessage);
  const UnixMillis now = clock.NowMillis();
  const UnixMillis expires_at =
      ttl.count() == 0 ? 0
                       : now + std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count();
  std::vector<GeneratedInviteCode> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    GeneratedInviteCode generated;
    generated.code = std::string(kInviteCodePrefix) + RandomHex(kInviteCodeRandomBytes);
    InviteCode record;
    record.code_hash = Sha256Hex(generated.code);
    record.prefix = generated.code.substr(0, kInviteCodeShownPrefix);
    record.expires_at = expires_at;
    Result<InviteCode> stored = store.CreateInviteCode(record);
    if (!stored.has_value()) return stored.status();
    generated.record = *std::move(stored);
    out.push_back(std::move(generated));
  }
  return out;
}

Result<std::vector<InviteCode>> ListInviteCodes(Store& store) {
  return store.ListInviteCodes(kMaxPageSize);
}

void AppendInviteCodeJson(const InviteCode& record, std::string_view code, std::string* out) {
  JsonWriter w(out);
  auto time = [&w](std::string_view key, UnixMillis t) {
    w.Key(key);
    if (t == 0) {
      w.Null();
    } else {
      w.String(FormatIsoTimestamp(t));
    }
  };
  w.BeginObject().Field("id", record.id);
  if (!code.empty()) w.Field("code", code);
  w.Field("prefix", record.prefix);
  time("createdAt", record.created_at);
  time("expiresAt", record.expires_at);
  time("usedAt", record.used_at);
  w.Field("usedBy", record.used_by).Field("revoked", record.revoked).EndObject();
}

Status RevokeInviteCode(Store& store, std::string_view id) {
  if (!IsPossibleId(id)) return InviteNotFound(id);
  return store.RevokeInviteCode(id);
}

AccountService::AccountService(Hub& hub)
    : hub_(hub),
      login_throttle_(
          std::make_unique<AuthThrottle>(hub.options().login_throttle, &hub.clock())) {}

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

// --- Password accounts (issue 16)

namespace {

Status RequireAdministrator(const Principal& caller) {
  if (caller.admin) return Status::Ok();
  return Status(ErrorCode::kPermissionDenied, "administrator API key required");
}

}  // namespace

Result<std::vector<GeneratedInviteCode>> AccountService::GenerateInviteCodes(
    const Principal& caller, std::size_t count, std::chrono::seconds ttl) {
  AGENTCORE_RETURN_IF_ERROR(RequireAdministrator(caller));
  return ::agentcore::GenerateInviteCodes(hub_.store(), hub_.clock(), count, ttl);
}

Result<std::vector<InviteCode>> AccountService::ListInviteCodes(const Principal& caller) {
  AGENTCORE_RETURN_IF_ERROR(RequireAdministrator(caller));
  return ::agentcore::ListInviteCodes(hub_.store());
}

Status AccountService::RevokeInviteCode(const Principal& caller, std::string_view id) {
  AGENTCORE_RETURN_IF_ERROR(RequireAdministrator(caller));
  return ::agentcore::RevokeInviteCode(hub_.store(), id);
}

Result<Space> AccountService::EnsureOwnSpace(const User& user, std::string_view space_name) {
  Store& store = hub_.store();
  Result<Space> existing = store.GetSpace(user.id);
  if (existing.has_value()) return existing;
  if (existing.status().code() != ErrorCode::kNotFound) return existing.status();
  Space space;
  space.id = user.id;
  space.name = std::string(space_name);
  space.owner_callsign = user.callsign;
  space.owner_id = user.id;
  Result<Space> created = store.EnsureSpace(space);
  if (!created.has_value()) return created.status();
  // repair: a registration that stopped half way may have made some of them.
  AGENTCORE_RETURN_IF_ERROR(CreateSeedChannels(store, created->id, /*repair=*/true));
  return created;
}

Result<LoginResult> AccountService::Register(const Registration& registration,
                                             const SessionCookiePolicy& cookie) {
  const std::string_view code = TrimAscii(registration.invite_code);
  if (code.empty()) return InvalidArgument("inviteCode is required");
  const std::string email = NormalizeEmail(registration.email);
  AGENTCORE_RETURN_IF_ERROR(CheckEmail(email));
  AGENTCORE_RETURN_IF_ERROR(CheckPassword(registration.password));
  std::string_view name = TrimAscii(registration.name);
  if (name.empty()) name = std::string_view(email).substr(0, email.find('@'));
  std::string callsign = LowerAscii(name);
  AGENTCORE_RETURN_IF_ERROR(CheckKey("name", callsign));
  std::string space_name = std::string(name) + "'s space";
  AGENTCORE_RETURN_IF_ERROR(CheckKey("name", space_name));

  Result<std::string> hash = HashPassword(registration.password);
  if (!hash.has_value()) return hash.status();
  User user;
  user.callsign = std::move(callsign);
  user.email = email;
  user.password_hash = *std::move(hash);
  Result<User> created =
      hub_.store().CreateUserWithInvite(user, Sha256Hex(code), hub_.clock().NowMillis());
  if (!created.has_value()) {
    const Status& s = created.status();
    if (s.code() == ErrorCode::kNotFound) return InvalidArgument("invalid or expired invite code");
    if (s.code() == ErrorCode::kConflict) {
      if (s.message() == "invite code already used") {
        return Status(ErrorCode::kConflict, "invite code already used");
      }
      return InvalidArgument("invalid or expired invite code");  // revoked or expired
    }
    if (s.code() == ErrorCode::kAlreadyExists) {
      return Status(ErrorCode::kAlreadyExists, "email already registered");
    }
    return StoreError(s);
  }
  Result<Space> space = EnsureOwnSpace(*created, space_name);
  if (!space.has_value()) return StoreError(space.status());
  return SignIn(Account{*std::move(created), *std::move(space), "password"}, /*created=*/true,
                cookie);
}

const std::string& AccountService::DummyHash() {
  std::call_once(dummy_once_, [this] {
    Result<std::string> hash = HashPassword(RandomHex(16));
    // Out of memory: an empty hash makes an unknown email's check fast, nothing worse.
    if (hash.has_value()) dummy_hash_ = *std::move(hash);
  });
  return dummy_hash_;
}

std::chrono::milliseconds AccountService::LoginRetryAfter(std::string_view email) {
  return login_throttle_->RetryAfter(NormalizeEmail(email));
}

Result<LoginResult> AccountService::Login(std::string_view raw_email, std::string_view password,
                                          const SessionCookiePolicy& cookie) {
  const Status invalid(ErrorCode::kUnauthenticated, std::string(kInvalidCredentialsMessage));
  const std::string email = NormalizeEmail(raw_email);
  if (!CheckEmail(email).ok()) {
    (void)VerifyPassword(password, DummyHash());  // the same time as any other failure
    return invalid;
  }
  AGENTCORE_RETURN_IF_ERROR(login_throttle_->Check(email));
  Store& store = hub_.store();
  Result<User> user = store.FindUserByEmail(email);
  if (!user.has_value() && user.status().code() != ErrorCode::kNotFound) {
    return StoreError(user.status());
  }
  const bool known = user.has_value() && !user->password_hash.empty();
  // An unknown email costs one Argon2id verification too, so timing does not tell it apart.
  const bool match = VerifyPassword(password, known ? user->password_hash : DummyHash()) && known;
  if (!match) {
    login_throttle_->RecordFailure(email);
    return invalid;
  }
  Result<Space> space = EnsureOwnSpace(*user, user->callsign + "'s space");
  if (!space.has_value()) return StoreError(space.status());
  return SignIn(Account{*std::move(user), *std::move(space), "password"}, /*created=*/false,
                cookie);
}

}  // namespace agentcore
