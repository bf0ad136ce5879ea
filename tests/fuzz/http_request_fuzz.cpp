// SPDX-License-Identifier: Apache-2.0
// Fuzzes the HTTP request path as a connection runs it before any handler: the strict framing
// check, http-parser and routing (HttpServer::ParseForTesting over the server's real routes).
// Any input: no crash, the check and the parser agree on where every request ends, the engine
// refuses only with 400, 413 or 431, and the check gives the same verdict fed whole or a byte
// at a time.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "handlers/handlers.hpp"
#include "http/http_server.hpp"
#include "http/router.hpp"
#include "http/strict_request.hpp"

namespace {

using agentcore::server::HttpServer;
using agentcore::server::HttpServerOptions;
using agentcore::server::Router;
using agentcore::server::StrictRequestCheck;

HttpServer& Server() {
  static Router* router = [] {
    auto* r = new Router();
    agentcore::server::RegisterHandlers(*r);
    return r;
  }();
  static HttpServer* server = [] {
    HttpServerOptions options;
    options.limits.max_header_bytes = 4096;
    options.limits.max_body_bytes = 4096;
    return new HttpServer(options, router, nullptr);
  }();
  return *server;
}

void CheckBytewise(std::string_view bytes) {
  StrictRequestCheck whole;
  StrictRequestCheck::Step all = whole.Feed(bytes);
  StrictRequestCheck single;
  std::size_t consumed = 0;
  std::string_view error;
  bool done = false;
  for (std::size_t i = 0; i < bytes.size() && error.empty() && !done; ++i) {
    StrictRequestCheck::Step step = single.Feed(bytes.substr(i, 1));
    consumed += step.consumed;
    error = step.error;
    done = step.done;
  }
  if (all.error != error || all.done != done) std::abort();
  if (error.empty() && all.consumed != consumed) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  CheckBytewise(bytes);
  bool ambiguous = false;
  auto requests = Server().ParseForTesting(bytes, &ambiguous);
  if (ambiguous) std::abort();
  for (const auto& r : requests) {
    if (r.status != 0 && r.status != 400 && r.status != 413 && r.status != 431) std::abort();
    if (r.status == 0 && (r.method.empty() || r.body_bytes > 4096)) std::abort();
  }
  return 0;
}
