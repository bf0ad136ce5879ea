#!/usr/bin/env bash
# The test command's check of agentcore-server's OpenAPI document (docs/api.md, "OpenAPI"):
#   1. installs the validator from npm (package-lock.json, `npm ci`) into BUILD_DIR/openapi-check,
#      once per lock file: a rerun reuses it;
#   2. takes the document `agentcore-server --print-openapi` prints, starts a real server
#      (dev mode, a fresh SQLite file, a free port) and runs validate.mjs against both: the
#      served document is the printed one, @apidevtools/swagger-parser validates it as OpenAPI
#      3.1, and real answers of a sample of routes (successes and errors) validate against
#      the schemas the document gives for their status (ajv, JSON Schema 2020-12);
#   3. runs docs/embedding.md's HTTP example (examples/http/quickstart.sh) against that server.
# Usage: tests/openapi/check.sh BUILD_DIR. Last line "N passed, N failed"; exit status 1 on
# any failure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:?usage: check.sh BUILD_DIR}" && pwd)"
server="$build/server/agentcore-server"
work="$build/openapi-check"
mkdir -p "$work"

lock_sum="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [[ ! -d "$work/node_modules" || "$(cat "$work/lock.sha256" 2>/dev/null)" != "$lock_sum" ]]; then
  cp "$here/package.json" "$here/package-lock.json" "$work/"
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$work/lock.sha256"
fi
cp "$here/validate.mjs" "$work/"

"$server" --print-openapi >"$work/openapi.json"

tmp="$(mktemp -d -t agentcore-openapi.XXXXXX)"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
: >"$tmp/stdout"
AUTH_MODE=dev "$server" --host 127.0.0.1 --port 0 --database-url "sqlite://$tmp/server.db" \
  --data-dir "$tmp/data" --no-access-log >"$tmp/stdout" 2>"$tmp/stderr" &
pid=$!
port=""
for _ in $(seq 100); do
  port="$(sed -nE 's/^\{"event":"listening","port":([0-9]+)\}$/\1/p' "$tmp/stdout" || true)"
  [[ -n "$port" ]] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [[ -z "$port" ]]; then
  echo "agentcore-server did not start:" >&2
  cat "$tmp/stderr" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
base="http://127.0.0.1:$port"
# validate.mjs's checks, then docs/embedding.md's HTTP example against the same server; one
# summary line for both.
set +e
node "$work/validate.mjs" "$work/openapi.json" "$base" >"$tmp/validate.log" 2>&1
set -e
summary="$(tail -n 1 "$tmp/validate.log")"
head -n -1 "$tmp/validate.log"
if [[ ! "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  echo "FAIL validate.mjs ended without a summary: $summary"
  echo "0 passed, 1 failed"
  exit 1
fi
passed="${BASH_REMATCH[1]}"
failed="${BASH_REMATCH[2]}"
expected=$'"openapi":"3.1.0"\n"content":"hello over HTTP"'
if example="$("$here/../../examples/http/quickstart.sh" "$base" 2>&1)" && [[ "$example" == "$expected" ]]; then
  echo "ok   examples/http/quickstart.sh"
  passed=$((passed + 1))
else
  echo "FAIL examples/http/quickstart.sh printed: $example"
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
((failed == 0))
