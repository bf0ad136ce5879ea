#!/usr/bin/env bash
# The test command's check of agentcore-server's image (scripts/build-server-image.sh) on a
# Podman engine (the private one of scripts/podman-test-service.sh: PODMAN_ARGS and
# CONTAINERS_CONF name it). Builds the image, then:
#   1. runs it with AUTH_MODE=dev on a fresh volume at /data, port 3234 published on 127.0.0.1:
#      GET /health answers 200 within 30 s, then GET /ready 200 (a node ready for traffic);
#   2. the server process runs as uid 65532, not root, and listens on 0.0.0.0:3234;
#   3. a second container on the same volume exits 1 with the SQLite refusal (one server per
#      SQLite file, docs/cluster.md), while the first still answers;
#   4. podman stop (SIGTERM) ends the first with exit code 0 (a graceful stop).
# Prints one line per check; exits 1 on the first failure, after removing what it made.
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -a podman_args <<<"${PODMAN_ARGS:-}"
pm() { podman "${podman_args[@]}" "$@"; }
image="${IMAGE:-localhost/agentcore-server:latest}"
name="agentcore-image-check-$$"
volume="$name-data"
fail() {
  echo "check-server-image: FAILED: $*" >&2
  pm logs "$name" 2>&1 | tail -n 20 >&2 || true
  exit 1
}
cleanup() {
  pm rm -f -t 0 "$name" "$name-second" >/dev/null 2>&1 || true
  pm volume rm -f "$volume" >/dev/null 2>&1 || true
}
trap cleanup EXIT

IMAGE="$image" bash scripts/build-server-image.sh >/dev/null || fail "the image did not build"
echo "check-server-image: built $image"

pm volume create "$volume" >/dev/null
pm run -d --name "$name" -e AUTH_MODE=dev -v "$volume:/data" -p 127.0.0.1::3234 "$image" \
  >/dev/null || fail "podman run"
address="$(pm port "$name" 3234/tcp | head -n 1)"
[[ -n "$address" ]] || fail "port 3234 is not published"
health=""
for _ in $(seq 300); do
  if health="$(curl -fsS --max-time 2 "http://$address/health" 2>/dev/null)"; then break; fi
  [[ "$(pm inspect --format '{{.State.Running}}' "$name")" == true ]] || fail "the server exited"
  sleep 0.1
done
[[ "$health" == *'"status":"ok"'* ]] || fail "GET /health did not answer 200 ok: $health"
echo "check-server-image: GET /health on $address: $health"
ready="$(curl -fsS --max-time 3 "http://$address/ready")" || fail "GET /ready did not answer 200"
echo "check-server-image: GET /ready: $ready"

# The process as the host sees it (the image has no ps for `podman top`); no user namespace
# here, so the host's uid is the container's.
pid="$(pm inspect --format '{{.State.Pid}}' "$name")"
uid="$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")"
[[ "$uid" == 65532 ]] || fail "the server runs as uid '$uid', not 65532"
config="$(pm logs "$name" 2>/dev/null | grep -m 1 '"event":"config"' || true)"
[[ "$config" == *'"host":"0.0.0.0"'* && "$config" == *'"port":3234'* ]] ||
  fail "the server does not listen on 0.0.0.0:3234: $config"
echo "check-server-image: uid $uid, listening on 0.0.0.0:3234"

set +e
second="$(timeout 60 podman "${podman_args[@]}" run --name "$name-second" -e AUTH_MODE=dev \
  -v "$volume:/data" "$image" 2>&1)"
status=$?
set -e
refusal="another agentcore server uses /data/agentcore.db: SQLite serves one server"
[[ $status == 1 && "$second" == *"$refusal"* ]] ||
  fail "a second server on the volume was not refused (exit $status): $second"
curl -fsS --max-time 2 "http://$address/health" >/dev/null ||
  fail "the first server stopped answering"
echo "check-server-image: a second server on the same SQLite file exits 1, the first serves on"

pm stop -t 30 "$name" >/dev/null
code="$(pm inspect --format '{{.State.ExitCode}}' "$name")"
[[ "$code" == 0 ]] || fail "SIGTERM ended the server with exit code $code, not 0"
echo "check-server-image: SIGTERM stops it with exit code 0"
