#!/usr/bin/env bash
# agentcore from any language: plain HTTP against a running agentcore-server in dev mode
# (docs/embedding.md, "From any language: HTTP"). Prints two lines: the document's OpenAPI
# version and the content of the message it posted, read back from the history.
# Usage: examples/http/quickstart.sh [BASE_URL]   (default http://127.0.0.1:3234)
set -euo pipefail
base="${1:-http://127.0.0.1:3234}"
jar="$(mktemp)"
trap 'rm -f "$jar"' EXIT
json=(-H 'Content-Type: application/json')

# What the server offers, every route with its bodies: generate a client from it, or read it.
curl -fsS "$base/openapi.json" | grep -o '"openapi":"3.1.0"'
# A session: the development login sets the cast_session cookie (an API key works the same
# way as `Authorization: Bearer <key>`).
curl -fsS -c "$jar" "${json[@]}" -d '{"callsign":"ada"}' "$base/auth/dev/login" >/dev/null
# A channel, a message in it, and the channel's history.
channel="$(curl -fsS -b "$jar" "${json[@]}" -d '{"name":"from-http"}' "$base/channels" |
  sed -E 's/^\{"channel":\{"id":"([^"]+)".*/\1/')"
curl -fsS -b "$jar" "${json[@]}" -d '{"sender":"ada","content":"hello over HTTP"}' \
  "$base/channels/$channel/messages" >/dev/null
curl -fsS -b "$jar" "$base/channels/$channel/messages" | grep -o '"content":"hello over HTTP"'
