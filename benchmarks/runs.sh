#!/usr/bin/env bash
# Issue 15's run benchmarks (docs/benchmarks.md, "Runs"):
#   benchmarks/runs.sh [--passes N] [--quick] [--case throughput|sse_fanout|overhead]...
# Starts a private agentcore-server (release build, BUILD_DIR default build/release: SQLite in
# a temp dir, AGENT_API_KEY set, --max-concurrent-runs 64, no per-space agent caps (every
# project has its builder: a pass of 64 projects passes the default 20 running / 50 agents),
# the local runtime running builder-agent, a free loopback port), then runs agentcore-runs-bench's cases against it
# (default: all three; the method is in benchmarks/runs_bench.cpp's header comment) and prints
# their JSON lines: one per pass, then a summary line per case with the medians over the
# passes (default 3). --quick: a smoke run (1 pass, small sizes). Every process it started is
# stopped on exit, and the temp dir deleted.
set -euo pipefail
cd "$(dirname "$0")/.."

passes=3
quick=0
cases=()
while (($#)); do
  case $1 in
    --passes) passes=$2; shift 2 ;;
    --quick) quick=1; passes=1; shift ;;
    --case) cases+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--passes N] [--quick] [--case NAME]..." >&2; exit 2 ;;
  esac
done
((${#cases[@]})) || cases=(throughput sse_fanout overhead)

build="${BUILD_DIR:-build/release}"
server="$build/server/agentcore-server"
builder="$build/server/builder-agent"
bench="$build/benchmarks/agentcore-runs-bench"
for b in "$server" "$builder" "$bench"; do
  [[ -x $b ]] || { echo "runs.sh: no $b (build agentcore-server builder-agent agentcore_runs_bench)" >&2; exit 2; }
done

# 1,000 SSE clients and as many server connections, plus the builders' sockets.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

dir="$(mktemp -d -t agentcore-runs-bench.XXXXXX)"
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # The server stops its builders; if it could not (it crashed), the local runtime's pid files
  # (<data dir>/agents/.../pid, a `pid=N` line) name what is left: a builder-agent leads its
  # own process group.
  while IFS= read -r pidfile; do
    pid="$(sed -n 's/^pid=\([0-9][0-9]*\)$/\1/p' "$pidfile" 2>/dev/null || true)"
    if [[ -n $pid && "$(cat "/proc/$pid/comm" 2>/dev/null)" == builder-agent ]]; then
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done < <(find "$dir/data" -type f -name pid 2>/dev/null)
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
key="runs-bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export AGENT_API_KEY="$key"
JWT_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
CAST_CONTAINER_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
export JWT_SECRET CAST_CONTAINER_SECRET

"$server" --host 127.0.0.1 --port "$port" --database-url "sqlite://$dir/agentcore.db" \
  --data-dir "$dir/data" --max-concurrent-runs 64 \
  --max-agents-per-space 0 --max-running-agents-per-space 0 >"$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { tail -5 "$dir/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null || { echo "runs.sh: server not up" >&2; exit 1; }

common=(--port "$port" --key "$key" --passes "$passes" --prefix "r$$")
for c in "${cases[@]}"; do
  case $c in
    throughput)
      if ((quick)); then extra=(--concurrency "1,8" --runs 16); else extra=(--concurrency "1,8,64" --runs 128); fi ;;
    sse_fanout)
      if ((quick)); then extra=(--clients 50 --clauses 10); else extra=(--clients 1000 --clauses 200); fi ;;
    overhead)
      if ((quick)); then extra=(--builder "$builder" --runs 5); else extra=(--builder "$builder" --runs 20); fi ;;
    *) echo "runs.sh: unknown case $c" >&2; exit 2 ;;
  esac
  "$bench" --case "$c" "${common[@]}" "${extra[@]}"
done
