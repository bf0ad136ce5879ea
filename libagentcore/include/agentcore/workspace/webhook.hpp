// SPDX-License-Identifier: Apache-2.0
#pragma once

/// What a webhook sender needs (docs/runs.md "Webhook"): a run created with `webhookUrl` gets
/// one POST of its envelope when it reaches a final state, signed so the receiver can check it
/// came from this server and is fresh, and retried with backoff until a 2xx.
///
/// The signature header is `X-Agentcore-Signature: t=<unix seconds>,v1=<hex>`, where `<hex>`
/// is the lower-case hex HMAC-SHA256, under the webhook's secret, of `<t>.<body>` (the
/// decimal timestamp, a dot, and the exact body bytes). A receiver recomputes it, compares in
/// constant time, and rejects a `t` too far from its own clock (replays).
///
/// Everything here is a pure function except `PostWebhook`, which does one HTTP request. All
/// are safe to call from any thread. The durable outbox and the retry loop belong to the
/// caller (the run service).

#include <agentcore/clock.hpp>
#include <agentcore/export.hpp>
#include <agentcore/status.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentcore {

/// How many times a webhook delivery is attempted before it is given up (about 40 minutes of
/// backoff in the worst case with WebhookRetryDelay).
inline constexpr std::uint32_t kWebhookMaxAttempts = 12;

/// The header names PostWebhook sends.
inline constexpr std::string_view kWebhookSignatureHeaderName = "X-Agentcore-Signature";
inline constexpr std::string_view kWebhookEventIdHeaderName = "X-Agentcore-Event-Id";

/// The `X-Agentcore-Signature` value for `body` sent at `now`:
/// `t=<now / 1000>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. `now` before the epoch counts
/// as 0. The secret does not appear in the result.
AGENTCORE_EXPORT std::string WebhookSignatureHeader(std::string_view secret, UnixMillis now,
                                                    std::string_view body);

/// Whether `header` is a valid signature of `body` under `secret` at `now`: it holds a
/// `t=<decimal seconds>` within `tolerance` of `now` (either side) and at least one `v1=<64 hex
/// digits>` equal (compared in constant time, hex case ignored) to the HMAC of `<t>.<body>`.
/// Fields are separated by `,` with optional spaces around them; unknown fields are ignored, a
/// repeated `t`, a malformed field or a header over 4 KiB makes it false. For receivers and
/// tests: the header is untrusted input.
AGENTCORE_EXPORT bool VerifyWebhookSignature(std::string_view secret, std::string_view header,
                                             std::string_view body, UnixMillis now,
                                             std::chrono::seconds tolerance);

/// How long to wait before the next delivery attempt after `attempts` failed ones (1 = the
/// first attempt failed): "full jitter" over an exponential ceiling, that is
/// `random % (ceiling + 1)` milliseconds with ceiling = min(1 s * 2^(attempts - 1), 10 min).
/// `random` is any uniformly random value the caller draws (e.g. from std::mt19937_64), which
/// keeps this function pure and testable. `attempts` 0 counts as 1.
AGENTCORE_EXPORT std::chrono::milliseconds WebhookRetryDelay(std::uint32_t attempts,
                                                             std::uint64_t random);

/// The ceiling WebhookRetryDelay draws under: min(1 s * 2^(attempts - 1), 10 min).
AGENTCORE_EXPORT std::chrono::milliseconds WebhookRetryCeiling(std::uint32_t attempts);

/// POSTs `body` to `url` once, with `Content-Type: application/json`,
/// `X-Agentcore-Event-Id: <event_id>` (the same on every retry of one event, so the receiver
/// can deduplicate) and `X-Agentcore-Signature: <signature_header>`. Redirects are not
/// followed.
///
/// Returns OK when the receiver answers 2xx. Errors:
/// * kInvalidArgument: `url` is not an absolute `http://` or `https://` URL, or `event_id` or
///   `signature_header` holds CR, LF or NUL;
/// * kUnavailable: any other HTTP status (the message gives it and at most 256 bytes of the
///   response body), or the connection failed;
/// * kDeadlineExceeded: no complete answer within `timeout`;
/// * kInternal: any other transfer failure (TLS included).
/// Messages name only the URL's scheme, host and port: a path or query may hold a token.
/// Blocks for up to `timeout`: call it off any I/O thread.
AGENTCORE_EXPORT Status PostWebhook(const std::string& url, std::string_view body,
                                    std::string_view event_id, std::string_view signature_header,
                                    std::chrono::milliseconds timeout);

}  // namespace agentcore
