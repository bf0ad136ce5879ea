#!/usr/bin/env bash
# One server on PostgreSQL against the same server on SQLite and against the PostgreSQL store
# alone (issue 17), in one run:
#   benchmarks/postgres_server.sh [--build DIR] [--passes N] [--duration S] [--server BIN]
#                                 [--no-build]
#
# 1. Builds agentcore-server, agentcore-http-load and agentcore-bench in DIR (default
#    build/release; --server BIN measures another server binary) and starts a private
#    PostgreSQL (scripts/pg-test-server.sh: PostgreSQL's defaults, fsync and synchronous_commit
#    on), deleted on exit.
# 2. Starts agentcore-server twice, on a fresh SQLite file and on a fresh PostgreSQL database
#    of that cluster, each seeded as http_bench.sh seeds (benchmarks/wrk_cases.sh).
# 3. N passes (default 3), interleaved so that the machine's load moves every case alike:
#    the store bench (`agentcore-bench store --backend postgres --writers 64`, one pass of
#    50,000 messages: acknowledged appends/s, the reference), then `wrk -t2 -c64 -dS` (default
#    10 s) on POST /channels/:id/messages and GET /channels/:id/messages?limit=50, each on
#    SQLite and on PostgreSQL. While PostgreSQL serves, the script counts its commits
#    (pg_stat_database.xact_commit) and the CPU of the server and of PostgreSQL's processes
#    (/proc), reported per request.
# One JSON line per run, one per case with medians, and a last line:
# {"summary":true,"storeAckedPerSec":…,"pgPostRps":…,"pgPostP99Ms":…,"sqlitePostRps":…,
#  "pgGet50Rps":…,"sqliteGet50Rps":…,"postRatio":pgPost/storeAcked,
#  "get50Ratio":pgGet50/sqliteGet50,"targetsMet":{"post>=0.40":…,"get50>=0.25":…,
#  "postP99<10ms":…,"get50P99<10ms":…}}.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build/release
passes=3
duration=10
server_bin=""
no_build=0
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --passes) passes="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --server) server_bin="$2"; shift 2 ;;
    --no-build) no_build=1; shift ;;
    *) echo "usage: $0 [--build DIR] [--passes N] [--duration S] [--server BIN] [--no-build]" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "postgres_server: needs wrk (benchmarks/http_bench.sh installs it)" >&2; exit 2; }

# shellcheck source=benchmarks/wrk_cases.sh
source benchmarks/wrk_cases.sh

if ((!no_build)); then
  if [[ ! -f $build/build.ninja && ! -f $build/Makefile ]]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build" --target agentcore-server agentcore_http_load agentcore-bench >&2
fi
[[ -n $server_bin ]] || server_bin="$build/server/agentcore-server"
load_bin="$build/benchmarks/agentcore-http-load"
bench_bin="$build/benchmarks/agentcore-bench"

tmp=$(mktemp -d -t agentcore-pg-server.XXXXXX)
pgdir=$(mktemp -d -t agentcore-pg-server-db.XXXXXX)  # its own: under root it goes to postgres
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  scripts/pg-test-server.sh stop "$pgdir" >/dev/null 2>&1 || rm -rf "$pgdir"
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1./2. PostgreSQL and the two servers -----------------------------------------------------------
dsn=$(scripts/pg-test-server.sh start "$pgdir")
psql -X -q "${dsn%/agentcore}/postgres" -c "CREATE DATABASE agentcore_server" >/dev/null
server_dsn="${dsn%/agentcore}/agentcore_server"
pg_sql() { psql -X -q -At "$server_dsn" -c "$1"; }

bench_start_server "$server_bin" "$tmp/sqlite" "sqlite://$tmp/sqlite/bench.db"
pids+=("$server_pid")
sqlite_port=$server_port
bench_wrk_setup "$load_bin" "$sqlite_port" "$tmp/sqlite"
sqlite_post=$post_url
sqlite_get=$get_url

bench_start_server "$server_bin" "$tmp/postgres" "$server_dsn"
pids+=("$server_pid")
pg_server_pid=$server_pid
pg_port=$server_port
bench_wrk_setup "$load_bin" "$pg_port" "$tmp/postgres"
pg_post=$post_url
pg_get=$get_url
postmaster=$(head -n 1 "$pgdir/data/postmaster.pid")

echo "{\"event\":\"start\",\"date\":\"$(date -u +%FT%TZ)\",\"commit\":\"$(git rev-parse --short HEAD)\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"cores\":$(nproc)}"
results="$tmp/results.jsonl"
: >"$results"

# CPU ticks (user + system) of a process, or of PostgreSQL's postmaster and all its children.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
  local sum=0 p
  for p in $postmaster $(pgrep -P "$postmaster"); do sum=$((sum + $(ticks "$p"))); done
  echo "$sum"
}
commits() { pg_sql "SELECT xact_commit FROM pg_stat_database WHERE datname = 'agentcore_server'"; }

run_case() {  # CASE BACKEND DIR URL
  local line extra=""
  if [[ $2 == postgres ]]; then
    local s0 p0 c0 s1 p1 c1 hz
    hz=$(getconf CLK_TCK)
    s0=$(ticks "$pg_server_pid"); p0=$(pg_ticks); c0=$(commits)
    line=$(bench_wrk "$1" "$3" "$4" -t2 -c64 "-d${duration}s")
    s1=$(ticks "$pg_server_pid"); p1=$(pg_ticks); c1=$(commits)
    extra=$(python3 -c '
import json, sys
line = json.loads(sys.argv[1]); hz, d = float(sys.argv[2]), float(sys.argv[3])
n = line["rps"] * d
ds, dp, dc = (float(sys.argv[i + 1]) - float(sys.argv[i]) for i in (4, 6, 8))
print(",\"serverCpuUs\":%.1f,\"postgresCpuUs\":%.1f,\"commitsPerRequest\":%.2f" %
      (ds / hz / n * 1e6, dp / hz / n * 1e6, dc / n))' \
      "$line" "$hz" "$duration" "$s0" "$s1" "$p0" "$p1" "$c0" "$c1")
  else
    line=$(bench_wrk "$1" "$3" "$4" -t2 -c64 "-d${duration}s")
  fi
  echo "{\"case\":\"$1\",\"backend\":\"$2\",\"pass\":$pass,${line#\{}" | sed "s/}\$/$extra}/" |
    tee -a "$results"
}

# --- 3. passes ----------------------------------------------------------------------------------------
for pass in $(seq "$passes"); do
  "$bench_bin" store --backend postgres --url "$dsn" --writers 64 --messages 50000 --repeat 1 \
    --raw-seconds 1 | grep -v '"summary"' | sed "s/^{/{\"case\":\"store\",/" |
    tee -a "$results"
  run_case post_message sqlite "$tmp/sqlite" "$sqlite_post"
  run_case post_message postgres "$tmp/postgres" "$pg_post"
  run_case get_messages_50 sqlite "$tmp/sqlite" "$sqlite_get"
  run_case get_messages_50 postgres "$tmp/postgres" "$pg_get"
done
echo "{\"event\":\"end\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"pgServerRssMiB\":$(awk '/VmRSS/{printf "%.1f", $2/1024}' "/proc/$pg_server_pid/status")}"

# --- medians, ratios, targets --------------------------------------------------------------------------
python3 - "$results" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    runs.setdefault((d["case"], d.get("backend", "")), []).append(d)

def med(key, field):
    v = [r[field] for r in runs.get(key, []) if field in r]
    return round(statistics.median(v), 3) if v else None

for (case, backend), rs in runs.items():
    out = {"case": case, "backend": backend, "median": True, "passes": len(rs)}
    if case == "store":
        out.update({"ackedPerSec": med((case, backend), "ackedPerSec"),
                    "p99Ms": med((case, backend), "p99Ms")})
    else:
        for f in ("rps", "p50Ms", "p99Ms", "serverCpuUs", "postgresCpuUs", "commitsPerRequest"):
            if med((case, backend), f) is not None:
                out[f] = med((case, backend), f)
        out["errors"] = sum(r["non2xx"] + r["socketErrors"] for r in rs)
    print(json.dumps(out))

s = {"summary": True,
     "storeAckedPerSec": med(("store", "postgres"), "ackedPerSec"),
     "pgPostRps": med(("post_message", "postgres"), "rps"),
     "pgPostP99Ms": med(("post_message", "postgres"), "p99Ms"),
     "sqlitePostRps": med(("post_message", "sqlite"), "rps"),
     "pgGet50Rps": med(("get_messages_50", "postgres"), "rps"),
     "pgGet50P99Ms": med(("get_messages_50", "postgres"), "p99Ms"),
     "sqliteGet50Rps": med(("get_messages_50", "sqlite"), "rps")}
ratio = lambda a, b: round(a / b, 3) if a is not None and b else None
s["postRatio"] = ratio(s["pgPostRps"], s["storeAckedPerSec"])
s["get50Ratio"] = ratio(s["pgGet50Rps"], s["sqliteGet50Rps"])
s["errors"] = sum(r.get("non2xx", 0) + r.get("socketErrors", 0) for rs in runs.values() for r in rs)
s["targetsMet"] = {
    "post>=0.40": s["postRatio"] is not None and s["postRatio"] >= 0.40,
    "get50>=0.25": s["get50Ratio"] is not None and s["get50Ratio"] >= 0.25,
    "postP99<10ms": s["pgPostP99Ms"] is not None and s["pgPostP99Ms"] < 10,
    "get50P99<10ms": s["pgGet50P99Ms"] is not None and s["pgGet50P99Ms"] < 10,
    "noErrors": s["errors"] == 0}
print(json.dumps(s))
PY
