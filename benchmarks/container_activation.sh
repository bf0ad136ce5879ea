#!/usr/bin/env bash
# Agents in containers (issue 14), on a private Podman engine serving the Docker API:
#   benchmarks/container_activation.sh [RUNS] [CONCURRENT]
# starts an engine with scripts/podman-test-service.sh (the echo agent's image built into it,
# BUILD_DIR default build/release; stopped and deleted on exit) and prints JSON lines:
#   1. bare: RUNS (default 20) `podman run --rm --network host IMAGE --never-checkin` with the
#      CAST_* variables, each timed from the command's start to the echo agent's first output
#      line ("listening on ...": up, about to check in);
#      and create + start through the engine's API with curl until start returns (no podman
#      CLI start-up, no agent output: a lower bound);
#   2. agentcore: RUNS activations one at a time through the Docker runtime
#      (`agentcore-bench agents --runtime docker --one-at-a-time`: POST /channels/:id/agents sent
#      -> agent_state online on the channel's SSE stream, i.e. create + start + the echo agent's
#      checkin), then the overhead of the median over the bare median (target <= 10 %);
#   3. CONCURRENT (default 50) agents added at once: all check in, the time to the last checkin
#      (maxMs), and the resident memory of the process (the in-process server and the bench's
#      subscribers) with every agent online.
# Needs podman and runc (scripts/install-deps.sh) and a release build (agentcore-bench,
# echo-agent).
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-20}"
concurrent="${2:-50}"
build="${BUILD_DIR:-build/release}"
bench="$build/benchmarks/agentcore-bench"
image="localhost/agentcore-echo-agent:latest"
[[ -x "$bench" ]] || { echo "container_activation: no $bench (build it first)" >&2; exit 2; }

dir="$(mktemp -d -t agentcore-podman-bench.XXXXXX)"
trap 'scripts/podman-test-service.sh stop "$dir" >/dev/null 2>&1 || rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
host="$(BUILD_DIR="$build" scripts/podman-test-service.sh start "$dir")"
export CONTAINERS_CONF="$dir/containers.conf"
read -r -a podman <<<"podman $(scripts/podman-test-service.sh env "$dir")"

# Percentile as agentcore-bench computes it: sorted[round(p * (n - 1))].
percentile() {
  local p="$1"
  shift
  printf '%s\n' "$@" | sort -n | awk -v p="$p" '{ v[NR - 1] = $1 } END {
    i = int(p * (NR - 1) + 0.5); printf "%.2f", v[i] }'
}
# The in-process server's per-agent event lines (stderr) are left out; anything else shows.
quiet() { "$@" 2> >(grep -v '^{"event":"agent_' >&2); }
field() { sed -nE "s/.*\"$1\":([0-9.]+).*/\1/p" <<<"$2" | head -n 1; }

# The bare runs start the echo agent as an agent would run, but with --never-checkin and
# nobody to check in with: its first line, "listening on ...", says it is up and about to check
# in. Then the container is removed.
agent_env=(-e CAST_API_URL=http://127.0.0.1:9 -e CAST_AGENT_ID=bench:bare:echo -e CAST_AUTH_TOKEN=x)
bare_run() {  # prints the milliseconds from `podman run` to the container's first line
  local name="bare-$1" fifo="$dir/bare.fifo" t0 t1 pid
  rm -f "$fifo"
  mkfifo "$fifo"
  t0="$(date +%s%N)"
  "${podman[@]}" run --rm --name "$name" --network host "${agent_env[@]}" "$image" \
    --never-checkin >"$fifo" 2>&1 &
  pid=$!
  IFS= read -r _ <"$fifo"
  t1="$(date +%s%N)"
  "${podman[@]}" rm -f -t 0 "$name" >/dev/null 2>&1 || true
  wait "$pid" || true
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'
}
bare_run warmup >/dev/null  # not counted: the first start pays for page cache and storage
bare=()
for ((i = 0; i < runs; i++)); do bare+=("$(bare_run "$i")"); done
bare_p50="$(percentile 0.5 "${bare[@]}")"
bare_p99="$(percentile 0.99 "${bare[@]}")"
echo "{\"bench\":\"bare_podman_run\",\"runs\":$runs,\"p50Ms\":$bare_p50,\"p99Ms\":$bare_p99}"

# The engine's API with curl (no podman CLI start-up): create, then start until it returns (the
# container's process is running; a lower bound, without the agent's own start-up).
sock="${host#unix://}"
api=()
for ((i = 0; i < runs; i++)); do
  t0="$(date +%s%N)"
  id="$(curl -fsS --unix-socket "$sock" -H 'Content-Type: application/json' \
    -d "{\"Image\":\"$image\",\"Cmd\":[\"--never-checkin\"],\"Env\":[\"CAST_API_URL=http://127.0.0.1:9\",\"CAST_AGENT_ID=bench:api:echo\"],\"HostConfig\":{\"NetworkMode\":\"host\"}}" \
    http://d/v1.41/containers/create | sed -nE 's/.*"Id":"([0-9a-f]+)".*/\1/p')"
  curl -fsS --unix-socket "$sock" -X POST "http://d/v1.41/containers/$id/start" >/dev/null
  t1="$(date +%s%N)"
  api+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e6 }')")
  curl -fsS --unix-socket "$sock" -X DELETE "http://d/v1.41/containers/$id?force=1" >/dev/null
done
echo "{\"bench\":\"bare_engine_api\",\"runs\":$runs,\"p50Ms\":$(percentile 0.5 "${api[@]}"),\"p99Ms\":$(percentile 0.99 "${api[@]}")}"

quiet "$bench" agents --runtime docker --docker-host "$host" --agents 1 --messages 1 \
  --interval-ms 0 >/dev/null
line="$(quiet "$bench" agents --runtime docker --docker-host "$host" --agents "$runs" --messages 1 \
  --drivers 1 --interval-ms 0 --one-at-a-time | grep '"agents_activation"')"
echo "$line"
p50="$(field p50Ms "$line")"
p99="$(field p99Ms "$line")"
awk -v a="$p50" -v b="$bare_p50" -v a99="$p99" -v b99="$bare_p99" 'BEGIN {
  printf "{\"bench\":\"container_activation_overhead\",\"agentcoreP50Ms\":%.2f,\"bareP50Ms\":%.2f,\"overheadP50\":%.3f,\"agentcoreP99Ms\":%.2f,\"bareP99Ms\":%.2f,\"overheadP99\":%.3f}\n",
    a, b, (a - b) / b, a99, b99, (a99 - b99) / b99 }'

line="$(quiet "$bench" agents --runtime docker --docker-host "$host" --agents "$concurrent" \
  --messages 1 --drivers "$concurrent" --interval-ms 0 | grep -E '"agents_activation"|"summary"')"
echo "$line"
