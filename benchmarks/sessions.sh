#!/usr/bin/env bash
# Issue 16's session benchmarks (docs/benchmarks.md, "Sessions"), each against the bare tool as
# the limit, in one run:
#   benchmarks/sessions.sh [--passes N] [--quick] [--podman] [--case first_byte|throughput|concurrent]...
# Starts a private agentcore-server (release build, BUILD_DIR default build/release; SQLite in a
# temp dir; an API key made with `agentcore api-key create` whose limits let one client run 200
# sessions and send as many requests as it likes), then for each case and pass runs
# agentcore-sessions-bench against it and against the bare tool (bwrap alone, a pipe alone,
# `podman run` alone), and prints their JSON lines, then one summary line per case with the
# medians over the passes (default 3) and the ratio or overhead the issue's target is about.
# --podman adds the podman first-byte case: it starts the private Podman service of
# scripts/podman-test-service.sh (and builds its test image) and points the server at it.
# --quick: 1 pass, small sizes. Every process it started is stopped on exit, the temp dir
# deleted.
set -euo pipefail
cd "$(dirname "$0")/.."

passes=3
quick=0
podman=0
cases=()
while (($#)); do
  case $1 in
    --passes) passes=$2; shift 2 ;;
    --quick) quick=1; passes=1; shift ;;
    --podman) podman=1; shift ;;
    --case) cases+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--passes N] [--quick] [--podman] [--case NAME]..." >&2; exit 2 ;;
  esac
done
((${#cases[@]})) || cases=(first_byte throughput concurrent)

build="${BUILD_DIR:-build/release}"
server="$build/server/agentcore-server"
cli="$build/tools/agentcore"
bench="$build/benchmarks/agentcore-sessions-bench"
for b in "$server" "$cli" "$bench"; do
  [[ -x $b ]] || { echo "sessions.sh: no $b (build agentcore-server agentcore agentcore_sessions_bench)" >&2; exit 2; }
done
command -v bwrap >/dev/null || { echo "sessions.sh: bwrap missing (apt-get install bubblewrap)" >&2; exit 2; }

n_first=50; mib=256; n_conc=200
((quick)) && { n_first=10; mib=32; n_conc=20; }

dir="$(mktemp -d -t agentcore-sessions-bench.XXXXXX)"
server_pid=""
podman_started=0
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  ((podman_started)) && scripts/podman-test-service.sh stop "$dir/podman" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

server_args=()
image=""
podman_args=""
if ((podman)); then
  mkdir -p "$dir/podman"
  DOCKER_HOST="$(BUILD_DIR="$build" scripts/podman-test-service.sh start "$dir/podman")"
  export DOCKER_HOST
  podman_started=1
  export CONTAINERS_CONF="$dir/podman/containers.conf"
  podman_args="$(scripts/podman-test-service.sh env "$dir/podman")"
  image="localhost/agentcore-session-test:latest"
  server_args+=(--session-runtime docker)
fi

db="sqlite://$dir/agentcore.db"
key="$("$cli" api-key --database-url "$db" create --space-id bench --name bench \
  --requests-per-minute 1000000 --max-running-sessions 1000 |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
JWT_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
CAST_CONTAINER_SECRET="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
export JWT_SECRET CAST_CONTAINER_SECRET
"$server" --host 127.0.0.1 --port "$port" --database-url "$db" --data-dir "$dir/data" \
  "${server_args[@]}" >"$dir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { tail -5 "$dir/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/health" >/dev/null || { echo "sessions.sh: server not up" >&2; exit 1; }

api=(--port "$port" --key "$key")
lines="$dir/lines.jsonl"
: >"$lines"
run() { "$bench" "$@" | tee -a "$lines"; }

for _ in $(seq "$passes"); do
  for c in "${cases[@]}"; do
    case $c in
      first_byte)
        run --case first_byte "${api[@]}" --n "$n_first"
        run --case bare_bwrap --n "$n_first"
        if ((podman)); then
          run --case first_byte "${api[@]}" --n "$n_first" --image "$image"
          run --case bare_podman --n "$n_first" --image "$image" --podman-args "$podman_args"
        fi
        ;;
      throughput)
        run --case throughput "${api[@]}" --mib "$mib"
        run --case bare_pipe --mib "$mib"
        ;;
      concurrent)
        run --case concurrent "${api[@]}" --n "$n_conc" --server-pid "$server_pid"
        ;;
      *) echo "sessions.sh: unknown case $c" >&2; exit 2 ;;
    esac
  done
done

# Summary: medians over the passes, and what the issue's targets compare.
python3 - "$lines" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def med(case, field, runtime=None):
    v = [r[field] for r in rows if r["case"] == case and (runtime is None or r.get("runtime") == runtime)]
    return statistics.median(v) if v else None
out = []
for rt in ("sandbox", "podman"):
    a50, b50 = med("first_byte", "p50_ms", rt), med("bare_first_byte", "p50_ms", rt)
    a99, b99 = med("first_byte", "p99_ms", rt), med("bare_first_byte", "p99_ms", rt)
    if a50 is None or b50 is None:
        continue
    out.append({"summary": "first_byte", "runtime": rt, "agentcore_p50_ms": a50, "bare_p50_ms": b50,
                "overhead_p50_ms": round(a50 - b50, 3), "agentcore_p99_ms": a99, "bare_p99_ms": b99,
                "overhead_p99_ms": round(a99 - b99, 3),
                "overhead_p50_pct": round(100 * (a50 - b50) / b50, 1)})
t, p = med("throughput", "mib_per_s"), med("bare_pipe", "mib_per_s")
if t is not None and p is not None:
    out.append({"summary": "throughput", "attach_mib_per_s": t, "pipe_mib_per_s": p,
                "ratio": round(t / p, 3)})
c = med("concurrent", "all_running_ms")
if c is not None:
    out.append({"summary": "concurrent", "sessions": med("concurrent", "sessions"),
                "all_running_ms": c, "server_rss_mib": med("concurrent", "server_rss_mib"),
                "server_hwm_mib": med("concurrent", "server_hwm_mib")})
for o in out:
    print(json.dumps(o))
EOF
