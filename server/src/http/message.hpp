// SPDX-License-Identifier: Apache-2.0
#pragma once

/// HTTP requests and responses as the server's handlers see them, and the one place where a
/// library `Status` becomes an HTTP status and a JSON error body.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/status.hpp>

namespace agentcore::server {

struct Header {
  std::string name;
  std::string value;
};

/// Case-insensitive ASCII comparison of header names and tokens.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

/// Decodes %XX escapes (and '+' as space when `plus_is_space`); nullopt on a bad escape.
std::optional<std::string> UrlDecode(std::string_view text, bool plus_is_space = false);

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // decoded path, without the query
  std::string query;   // raw query string, without '?'
  std::vector<Header> headers;
  std::string body;  // the whole body for buffered routes; empty for streaming ones
  bool keep_alive = true;
  std::string remote_address;

  /// The first header with that name (case-insensitive).
  std::optional<std::string_view> Find(std::string_view name) const;
  /// A query parameter, URL-decoded; the first one when repeated.
  std::optional<std::string> Query(std::string_view name) const;
};

class Upgrade;

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<Header> headers;
  std::string body;
  /// Set by handlers that take the connection over after the response head (WebSocket, SSE).
  std::shared_ptr<Upgrade> upgrade;
};

/// The reason phrase of a status code ("OK", "Not Found"...).
std::string_view StatusText(int status);

/// Appends the status line, headers (Content-Type, Content-Length, Connection when closing,
/// Date is omitted on purpose: nothing needs it and it costs a clock read per response) and
/// body of `response` to `out`.
void AppendResponse(const Response& response, bool keep_alive, std::string* out);

/// A JSON response from an already-serialized body.
Response JsonResponse(int status, std::string body);

/// Cast's error form `{"error":"<text>"}`.
Response CastError(int status, std::string_view text);
/// Our own routes' form `{"error":"<code>","message":"<text>"}` (also Cast's on a few routes).
Response CodedError(int status, std::string_view code, std::string_view message);
/// execbox's and Octo's form (docs/sessions.md) `{"error":"<text>","code":"<code>"}`.
Response ErrorWithCode(int status, std::string_view message, std::string_view code);

/// ErrorCode -> HTTP status (STYLE.md §2.3): the only mapping in the server.
int HttpStatusFor(ErrorCode code);
/// `CodedError(HttpStatusFor(code), agentcore::ErrorCodeName(code), message)`.
Response StatusError(const Status& status);

}  // namespace agentcore::server
