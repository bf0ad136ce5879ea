// SPDX-License-Identifier: Apache-2.0
#pragma once

/// (method, path pattern) -> handler. Patterns are literal segments and `:name` parameters
/// ("/channels/:channelId/messages"); a parameter matches one non-empty segment, URL-decoded.
/// A last segment `*name` ("/sessions/:id/:service/*rest") matches the rest of the path, zero
/// or more segments, and its value is that rest as sent (not decoded, without the leading
/// '/', a trailing '/' kept): a proxy forwards it as it came, a file route decodes it itself.
/// At equal literal segments, a route without a wildcard wins over one with.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <asio/awaitable.hpp>

#include "http/message.hpp"
#include "http/route_doc.hpp"

namespace agentcore::server {

class RequestContext;

/// Receives a request body as it arrives (routes that must not wait for the whole body, such
/// as a minutes-long chunked Tymbal upload). Pieces arrive in order and are only valid during
/// the call.
class BodyConsumer {
 public:
  virtual ~BodyConsumer() = default;
  /// A piece of the body (chunked framing already removed). A non-OK status stops the upload:
  /// the connection answers with `OnEnd`'s response and closes.
  virtual asio::awaitable<Status> OnData(std::string_view bytes) = 0;
  /// The body ended (or OnData failed): the response to send.
  virtual asio::awaitable<Response> OnEnd() = 0;
  /// The connection broke before the body ended (client gone, timeout, server shutdown).
  virtual asio::awaitable<void> OnAbort() = 0;
};

using Handler = std::function<asio::awaitable<Response>(RequestContext&)>;
/// Called when the head is complete; returns an early response (auth failure, unknown
/// channel...) or the consumer of the body.
using StreamingHandler = std::function<
    asio::awaitable<std::variant<Response, std::unique_ptr<BodyConsumer>>>(RequestContext&)>;

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;            // buffered body (the default)
  StreamingHandler streaming;  // set instead of `handler` for streaming bodies
  std::size_t max_body_bytes = 0;  // 0: the server's default limit
  RouteDoc doc;                    // the OpenAPI document's source (route_doc.hpp)
};

class PathParams {
 public:
  void Add(std::string_view name, std::string value) {
    values_.emplace_back(name, std::move(value));
  }
  /// The decoded value of a `:name` parameter; empty if the pattern has none.
  const std::string& Get(std::string_view name) const;
  void Clear() { values_.clear(); }

 private:
  std::vector<std::pair<std::string_view, std::string>> values_;
};

class Router {
 public:
  void Add(Route route);
  // Every route of the server is documented where it is registered (route_doc.hpp).
  void Get(std::string pattern, RouteDoc doc, Handler h) {
    Add({"GET", std::move(pattern), std::move(h), {}, 0, doc});
  }
  void Post(std::string pattern, RouteDoc doc, Handler h, std::size_t max_body = 0) {
    Add({"POST", std::move(pattern), std::move(h), {}, max_body, doc});
  }
  void Put(std::string pattern, RouteDoc doc, Handler h) {
    Add({"PUT", std::move(pattern), std::move(h), {}, 0, doc});
  }
  void Patch(std::string pattern, RouteDoc doc, Handler h) {
    Add({"PATCH", std::move(pattern), std::move(h), {}, 0, doc});
  }
  void Delete(std::string pattern, RouteDoc doc, Handler h) {
    Add({"DELETE", std::move(pattern), std::move(h), {}, 0, doc});
  }

  /// Every route, in registration order (the OpenAPI document's source).
  std::vector<const Route*> routes() const;

  /// Applies `wrap` to every route added so far (App: the failed-authentication throttle
  /// around each handler). Call once all routes are added.
  void WrapAll(const std::function<void(Route&)>& wrap) {
    for (Compiled& c : routes_) wrap(c.route);
  }

  /// kBadParam: the route matched but a parameter decodes to bytes that are not UTF-8 (no
  /// id can be such bytes; answered 400 before any handler sees them).
  enum class MatchKind { kFound, kNoPath, kNoMethod, kBadParam };
  struct Match {
    MatchKind kind = MatchKind::kNoPath;
    const Route* route = nullptr;
  };
  /// Finds the route of `method` + `path` (already without query), filling `params`.
  /// Literal segments win over parameters at the same position.
  Match Find(std::string_view method, std::string_view path, PathParams* params) const;

 private:
  struct Compiled {
    Route route;
    std::vector<std::string> segments;  // ":x" = parameter; "*x" (last only) = the rest
    bool wildcard = false;              // the last segment is "*x"
  };
  std::vector<Compiled> routes_;
};

}  // namespace agentcore::server
