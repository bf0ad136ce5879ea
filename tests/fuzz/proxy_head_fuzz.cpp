// SPDX-License-Identifier: Apache-2.0
// Fuzzes what the session proxies make of a client's request (proxy_session.hpp) and the
// router's trailing wildcard (http/router.hpp). The input is a request head in a simple form:
// the first line is the path, the next ones `name: value` headers (with any bytes in them).
// Invariants: the forwarded head is one request line, then lines with no bare CR or LF, then
// an empty line; exactly one Connection header; no Authorization header; no `cast_session`
// cookie; and the wildcard's value is a suffix of the path that never starts with '/'.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/message.hpp"
#include "http/router.hpp"
#include "proxy_session.hpp"

namespace {

using agentcore::server::EqualsIgnoreCase;
using agentcore::server::ForwardedHead;
using agentcore::server::PathParams;
using agentcore::server::Request;
using agentcore::server::Response;
using agentcore::server::RequestContext;
using agentcore::server::Router;

asio::awaitable<Response> Nothing(RequestContext&) { co_return Response(); }

const Router& Routes() {
  static Router* router = [] {
    auto* r = new Router();
    r->Get("/sessions/:id/:service/*rest", {}, Nothing);
    r->Get("/sessions/:id/terminal", {}, Nothing);
    r->Get("/v1/sessions/:id/files", {}, Nothing);
    r->Get("/v1/sessions/:id/files/*path", {}, Nothing);
    return r;
  }();
  return *router;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::size_t nl = input.find('\n');
  std::string_view path = input.substr(0, nl);
  Request request;
  request.method = "GET";
  request.path.assign(path);
  request.remote_address = "127.0.0.1";
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  while (!rest.empty()) {
    std::size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      request.query.assign(line);
      continue;
    }
    request.headers.push_back({std::string(line.substr(0, colon)),
                               std::string(line.substr(colon + 1))});
  }

  // The router: a wildcard's value is the unmatched rest of the path, as sent.
  PathParams params;
  Router::Match m = Routes().Find("GET", path, &params);
  if (m.kind == Router::MatchKind::kFound && m.route->pattern.ends_with("*rest")) {
    const std::string& wild = params.Get("rest");
    Check(wild.empty() || wild.front() != '/');
    Check(wild.size() <= path.size() && path.ends_with(wild));
  }

  // The forwarded head.
  std::string head = ForwardedHead(request, "/" + params.Get("rest"), size);
  Check(head.size() >= 4 && head.ends_with("\r\n\r\n"));
  std::string_view lines(head);
  lines.remove_suffix(2);  // the empty line's CRLF
  int connection_headers = 0;
  bool first = true;
  while (!lines.empty()) {
    std::size_t crlf = lines.find("\r\n");
    Check(crlf != std::string_view::npos);
    std::string_view line = lines.substr(0, crlf);
    lines.remove_prefix(crlf + 2);
    Check(line.find('\r') == std::string_view::npos && line.find('\n') == std::string_view::npos);
    if (first) {
      first = false;
      continue;
    }
    std::size_t colon = line.find(':');
    Check(colon != std::string_view::npos);
    std::string_view name = line.substr(0, colon);
    Check(!EqualsIgnoreCase(name, "Authorization"));
    if (EqualsIgnoreCase(name, "Connection")) ++connection_headers;
    if (EqualsIgnoreCase(name, "Cookie")) {
      // No pair of the Cookie header is named cast_session.
      std::string_view cookies = line.substr(colon + 1);
      while (!cookies.empty()) {
        std::size_t semi = cookies.find(';');
        std::string_view pair = cookies.substr(0, semi);
        cookies = semi == std::string_view::npos ? std::string_view() : cookies.substr(semi + 1);
        std::string_view pair_name = pair.substr(0, pair.find('='));
        while (!pair_name.empty() && (pair_name.front() == ' ' || pair_name.front() == '\t')) {
          pair_name.remove_prefix(1);
        }
        while (!pair_name.empty() && (pair_name.back() == ' ' || pair_name.back() == '\t')) {
          pair_name.remove_suffix(1);
        }
        Check(pair_name != "cast_session");
      }
    }
  }
  Check(connection_headers == 1);
  return 0;
}
