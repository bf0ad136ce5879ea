// SPDX-License-Identifier: Apache-2.0
// Invite codes over HTTP for administrators (issue 18: `agentctl invite-codes`): POST, GET
// /v1/invite-codes and DELETE /v1/invite-codes/:id, the same under /api/invite-codes. The
// rules are the library's (hub/accounts.hpp), as for `agentcore invite-codes` on the database;
// only an administrator API key may call them (codes admit new accounts to the server, not to
// one space). Errors are `{"error":"<message>","code":"<code>"}` as for /v1/keys.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <utility>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <agentcore/hub/accounts.hpp>
#include <agentcore/hub/hub.hpp>
#include <agentcore/json.hpp>

#include "app.hpp"
#include "handlers/handler_support.hpp"
#include "handlers/handlers.hpp"
#include "handlers/json_views.hpp"
#include "http/request_context.hpp"

namespace agentcore::server {
namespace {

constexpr std::size_t kMaxInviteBodyBytes = 16 * 1024;

// The caller (the library decides whether it may: AccountService), or the answer refusing an
// unauthenticated request.
asio::awaitable<Result<Principal>> Caller(RequestContext& ctx) {
  Result<Principal> caller = co_await AuthenticateCaller(ctx);
  if (!caller.ok()) {
    co_return Status(ErrorCode::kUnauthenticated, std::string(kAuthenticationRequired));
  }
  co_return caller;
}

Response Refused(const Status& s) { return StatusErrorWithCode("invite codes", s); }

// A whole, non-negative number of a JSON body, or std::nullopt (a double past 2^53 is not
// taken for an integer, and nothing is cast out of range).
std::optional<std::int64_t> WholeNumber(const Json& value) {
  if (!value.is_number()) return std::nullopt;
  const double d = value.as_number();
  if (!(d >= 0 && d <= 9'007'199'254'740'992.0) || d != std::floor(d)) return std::nullopt;
  return static_cast<std::int64_t>(d);
}

// `count` and `ttlHours` (0: never expires) of a body that may be empty; their defaults and
// ranges are the library's (hub/accounts.hpp), which GenerateInviteCodes checks.
Result<std::pair<std::size_t, std::chrono::seconds>> ParseGenerate(const Request& request) {
  std::size_t count = 1;
  std::int64_t ttl_hours = kDefaultInviteCodeTtlHours;
  if (!request.body.empty()) {
    AGENTCORE_ASSIGN_OR_RETURN(Json body, ParseJsonBody(request));
    for (const JsonMember& m : body.as_object()) {
      const std::optional<std::int64_t> n = WholeNumber(m.value);
      if (m.key == "count") {
        if (!n) return InvalidArgument("count must be a whole number");
        count = static_cast<std::size_t>(std::min<std::int64_t>(*n, 1'000'000));
      } else if (m.key == "ttlHours") {
        if (!n) return InvalidArgument("ttlHours must be a whole number");
        ttl_hours = std::min<std::int64_t>(*n, kMaxInviteCodeTtlHours + 1);
      } else {
        return InvalidArgument("unknown member \"" + m.key.substr(0, 64) + "\"");
      }
    }
  }
  AGENTCORE_ASSIGN_OR_RETURN(std::chrono::seconds ttl, InviteCodeTtl(ttl_hours));
  return std::pair{count, ttl};
}

asio::awaitable<Response> Generate(RequestContext& ctx) {
  Result<Principal> caller = co_await Caller(ctx);
  if (!caller.ok()) co_return Refused(caller.status());
  auto parsed = ParseGenerate(ctx.request());
  if (!parsed.ok()) co_return Refused(parsed.status());
  App& app = ctx.app();
  auto work = [&app, who = *caller, in = *parsed] {
    return app.hub().accounts().GenerateInviteCodes(who, in.first, in.second);
  };
  Result<std::vector<GeneratedInviteCode>> codes = co_await app.Offload(std::move(work));
  if (!codes.ok()) co_return Refused(codes.status());
  std::string body = "{\"inviteCodes\":[";
  for (std::size_t i = 0; i < codes->size(); ++i) {
    if (i != 0) body.push_back(',');
    AppendInviteCodeJson((*codes)[i].record, (*codes)[i].code, &body);
  }
  body.append("]}");
  Response r = JsonResponse(201, std::move(body));
  r.headers.push_back({"Cache-Control", "no-store"});  // the codes are in it
  co_return r;
}

asio::awaitable<Response> List(RequestContext& ctx) {
  Result<Principal> caller = co_await Caller(ctx);
  if (!caller.ok()) co_return Refused(caller.status());
  App& app = ctx.app();
  auto work = [&app, who = *caller] { return app.hub().accounts().ListInviteCodes(who); };
  Result<std::vector<InviteCode>> codes = co_await app.Offload(std::move(work));
  if (!codes.ok()) co_return Refused(codes.status());
  std::string body = "{\"inviteCodes\":[";
  for (std::size_t i = 0; i < codes->size(); ++i) {
    if (i != 0) body.push_back(',');
    AppendInviteCodeJson((*codes)[i], {}, &body);
  }
  body.append("]}");
  co_return JsonResponse(200, std::move(body));
}

asio::awaitable<Response> Revoke(RequestContext& ctx) {
  Result<Principal> caller = co_await Caller(ctx);
  if (!caller.ok()) co_return Refused(caller.status());
  App& app = ctx.app();
  auto work = [&app, who = *caller, id = ctx.Param("id")] {
    return app.hub().accounts().RevokeInviteCode(who, id);
  };
  Status revoked = co_await app.Offload(std::move(work));
  if (!revoked.ok()) co_return Refused(revoked);
  Response r;
  r.status = 204;
  r.content_type.clear();
  co_return r;
}

}  // namespace

void RegisterInviteCodeRoutes(Router& router) {
  for (std::string_view prefix : {"/v1/invite-codes", "/api/invite-codes"}) {
    router.Post(std::string(prefix),
                {.summary = "Generates invite codes (each shown once, in `code`)",
                 .tag = "accounts", .auth = kAuthApiKey, .body = BodyKind::kJson,
                 .request = "InviteCodeCreate", .status = 201, .response = "InviteCodeList",
                 .statuses = {403}, .description = "Administrator API keys only; the body may be empty."},
                Generate, kMaxInviteBodyBytes);
    router.Get(std::string(prefix),
               {.summary = "Every invite code (never the codes themselves)", .tag = "accounts",
                .auth = kAuthApiKey, .response = "InviteCodeList", .statuses = {403}},
               List);
    router.Delete(std::string(prefix) + "/:id",
                  {.summary = "Revokes an invite code", .tag = "accounts", .auth = kAuthApiKey,
                   .status = 204, .reply = ReplyKind::kEmpty, .statuses = {403}},
                  Revoke);
  }
}

}  // namespace agentcore::server
