// SPDX-License-Identifier: Apache-2.0
#pragma once

/// A small blocking HTTP/1.1 client. The server uses it to push messages to agent callback
/// URLs, agents use it to check in and to stream Tymbal NDJSON to the server, runtimes use it
/// for container APIs, and tests use it to read SSE streams.
///
/// Three calls cover those uses:
///
/// * `Send`: a whole request body out, a whole response body back;
/// * `SendStreaming`: the request body comes from a producer, chunk by chunk
///   (`Transfer-Encoding: chunked`); each chunk goes on the wire as soon as the producer
///   returns it, so a long-lived upload (an agent streaming its reply) is seen live;
/// * `SendWithBodyCallback`: the response body is handed to a callback as bytes arrive, which
///   may stop the transfer early (SSE, long downloads).
///
/// Every call blocks the calling thread until the response is complete, the transfer is
/// stopped, or an error or timeout ends it; callbacks run on the calling thread. A transfer
/// that fails returns an error `Status`, while any HTTP response (404 and 500 included) is a
/// successful `HttpResponse`: the status code is for the caller to judge.
///
/// Redirects are not followed. Connections are kept alive and reused between calls on the same
/// client. The implementation is libcurl; no libcurl type appears here.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <agentcore/export.hpp>
#include <agentcore/result.hpp>
#include <agentcore/status.hpp>

namespace agentcore {

/// Header fields in the order sent or received. Names keep the case they were written in.
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse;

/// One request. Plain data; copy freely.
struct HttpRequest {
  /// Any token: GET, HEAD, POST, PUT, PATCH, DELETE...
  std::string method = "GET";
  /// Absolute `http://` or `https://` URL, query included.
  std::string url;
  /// Sent as given, after the client's own (Host, Content-Length or Transfer-Encoding). A
  /// header given here replaces the client's default of the same name. No `Content-Type` is
  /// sent unless given here.
  HttpHeaders headers;
  /// The request body for `Send` and `SendWithBodyCallback`; ignored by `SendStreaming`. A
  /// non-empty body is sent with `Content-Length`, whatever the method.
  std::string body;
  /// Limit on the whole call, from connecting until the last response byte. Zero means no
  /// limit, which long-lived streams (SSE, an agent's streaming reply) need.
  std::chrono::milliseconds timeout{30'000};
  /// Limit on name resolution plus the TCP (and TLS) handshake. Zero means libcurl's default
  /// (300 s).
  std::chrono::milliseconds connect_timeout{5'000};
  /// `Send` and `SendStreaming` fail with kTooLarge once the response body grows past this;
  /// the limit protects callers that talk to untrusted peers. `SendWithBodyCallback` keeps no
  /// body and ignores it.
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  /// When non-empty, connect to this Unix domain socket instead of the URL's host and port
  /// (the Docker Engine API). The URL still gives the path and the Host header, e.g.
  /// `http://localhost/v1.43/containers/json`.
  std::string unix_socket_path;
  /// TLS: CA certificates (PEM) the server's certificate must chain to, from a file
  /// (`ca_file`) or inline (`ca_pem`, e.g. a kubeconfig's certificate-authority-data). Both
  /// empty: the system's CA store. A failed verification is kInternal with libcurl's message.
  std::string ca_file;
  std::string ca_pem;
  /// TLS client certificate and its private key, PEM, inline; both or neither. Secrets: never
  /// logged.
  std::string client_cert_pem;
  std::string client_key_pem;
  /// Skip verifying the server's certificate and host name (a kubeconfig's
  /// insecure-skip-tls-verify). For tests and clusters that ask for it; off by default.
  bool insecure_skip_tls_verify = false;
  /// When set, polled about once a second while the call waits, and whenever data moves;
  /// returning true abandons the call, which then fails with kUnavailable ("cancelled"). Lets
  /// a thread stop a long-lived stream that may be silent (a Kubernetes watch). Called on the
  /// calling thread.
  std::function<bool()> cancelled;
  /// `SendWithBodyCallback` only: when set, called once with the final response's status and
  /// headers as soon as they are complete, before any body byte goes to the sink (an empty
  /// body included; never for an interim 1xx); returning false stops the transfer there, as
  /// the sink returning false does. Lets a streaming caller keep an error answer (a JSON body)
  /// apart from the stream it asked for, and know it is connected before the first event.
  /// Called on the calling thread.
  std::function<bool(const HttpResponse& head)> on_response_head;
};

/// One response. Plain data; copy freely.
struct HttpResponse {
  /// The HTTP status code, e.g. 200.
  int status = 0;
  /// Header fields of the final response (those of any `100 Continue` are dropped), values with
  /// surrounding whitespace trimmed.
  HttpHeaders headers;
  /// The body; empty after `SendWithBodyCallback`, which hands the body to its callback.
  std::string body;

  /// The value of the first header named `name`, compared case-insensitively, or nullopt.
  /// The view points into `headers` and is valid until this response is changed or destroyed.
  std::optional<std::string_view> Header(std::string_view name) const;
};

/// Produces a streaming request body: each call returns the next chunk, blocking until one is
/// ready if need be, or nullopt at the end. An empty chunk is skipped (a zero-length chunk
/// would end the body on the wire).
using HttpChunkSource = std::function<std::optional<std::string>()>;

/// Consumes a response body as it arrives: returns true to keep reading, false to stop. The
/// view is valid only during the call.
using HttpBodySink = std::function<bool(std::string_view)>;

/// An HTTP/1.1 client with a cache of kept-alive connections.
///
/// Thread-safe: calls may run concurrently from several threads; each call uses a connection
/// that no concurrent call is using, and idle connections are reused by later calls. Callbacks
/// run on the thread that made the call and must not call back into the same transfer.
/// An exception thrown by a callback aborts the transfer and is rethrown to the caller.
///
/// Errors, for all three calls:
/// * kUnavailable: the connection could not be made (refused, unreachable, name not resolved)
///   or broke before the response was complete; retrying later may work;
/// * kDeadlineExceeded: `timeout` or `connect_timeout` expired;
/// * kInvalidArgument: malformed URL, a scheme other than http and https, or a header name or
///   value holding CR or LF (or a name holding ':');
/// * kTooLarge: the response body exceeded `max_response_bytes`;
/// * kInternal: any other failure, with libcurl's message (TLS errors included).
/// A request that fails after bytes were sent may or may not have been acted on by the peer.
class AGENTCORE_EXPORT HttpClient {
 public:
  virtual ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `req` with its `body` and returns the whole response.
  virtual Result<HttpResponse> Send(const HttpRequest& req) = 0;

  /// Sends `req` with a chunked body taken from `next_chunk` (`req.body` is ignored). Each
  /// chunk is written to the connection before `next_chunk` is called again. `timeout`
  /// includes the time the producer takes, so long streams want a zero timeout. Returns the
  /// whole response once the body is finished and the response read. The peer may answer
  /// before the body ends (an error status, say); the body is still sent to the end.
  /// REQUIRES: next_chunk is callable.
  virtual Result<HttpResponse> SendStreaming(const HttpRequest& req,
                                             HttpChunkSource next_chunk) = 0;

  /// Sends `req` and hands the response body to `on_data` as it arrives, in order, in pieces
  /// of any size. When `on_data` returns false the connection is closed and the call returns
  /// OK with the status and headers received; `body` is always empty. Use a zero `timeout` for
  /// streams that stay open.
  /// REQUIRES: on_data is callable.
  virtual Result<HttpResponse> SendWithBodyCallback(const HttpRequest& req,
                                                    HttpBodySink on_data) = 0;

 protected:
  HttpClient() = default;
};

/// A client backed by libcurl. The caller owns it. It closes its connections when destroyed;
/// REQUIRES: no call is running on it then.
AGENTCORE_EXPORT std::unique_ptr<HttpClient> NewHttpClient();

/// Percent-encodes `s` for use as one URL component (a path segment or a query value): the
/// RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~) are kept, every other byte becomes
/// `%XX` with upper-case hex. E.g. `s:c:echo` -> `s%3Ac%3Aecho`.
AGENTCORE_EXPORT std::string UrlEncodeComponent(std::string_view s);

}  // namespace agentcore
