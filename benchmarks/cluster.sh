#!/usr/bin/env bash
# Issue 17's cluster benchmarks (docs/cluster.md; docs/benchmarks.md, "Clusters"), in one run
# on a private PostgreSQL (scripts/pg-test-server.sh: fsync and synchronous_commit on):
#   benchmarks/cluster.sh [--passes N] [--duration S] [--only latency,posts,takeover]
#
# 1. latency: agentcore-http-load's fanout case (SUBSCRIBERS WebSocket subscribers, default
#    100, one frame every PERIOD_MS, default 50, for S seconds) with the subscribers on the
#    publisher's server (the reference) and on another server of the same database, passes
#    interleaved: frame -> subscriber latency p50/p99 of both, and their difference.
# 2. posts: acknowledged POST /channels/:id/messages per second with 1, 2 and 3 servers on one
#    database (a fresh database each), wrk spread over the servers (one wrk -t1 per server,
#    64 connections in all), and PostgreSQL's commits per message (pg_stat_database's
#    xact_commit delta of the database over the POSTs that wrk counted).
# 3. takeover: three servers (--lease-ms LEASE_MS, default 2000), the echo agent activated by
#    the first; kill -9 of it, then the time until the agent's lease (table leases) names
#    another node, polled every 20 ms. TAKEOVERS times (default 5), the median.
# Every line is JSON: one per pass, then a summary per case with medians; the last line
# {"summary":true,...} has them all. BUILD_DIR (default build/release) must hold
# agentcore-server, echo-agent and agentcore-http-load (Release). Every process it started is
# stopped on exit, and the temp dir and the PostgreSQL cluster deleted.
set -euo pipefail
cd "$(dirname "$0")/.."

passes=3
duration=5
only=all
while (($#)); do
  case "$1" in
    --passes) passes="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "usage: $0 [--passes N] [--duration S] [--only latency,posts,takeover]" >&2; exit 2 ;;
  esac
done
want() { [[ $only == all || ,$only, == *,$1,* ]]; }
subscribers="${SUBSCRIBERS:-100}"
period_ms="${PERIOD_MS:-50}"
lease_ms="${LEASE_MS:-2000}"
takeovers="${TAKEOVERS:-5}"

build="${BUILD_DIR:-build/release}"
server_bin="$build/server/agentcore-server"
echo_bin="$build/server/echo-agent"
load_bin="$build/benchmarks/agentcore-http-load"
for b in "$server_bin" "$echo_bin" "$load_bin"; do
  [[ -n $b && -x $b ]] || {
    echo "cluster.sh: missing $b (build agentcore-server echo-agent agentcore_http_load in $build)" >&2
    exit 2
  }
done
server_bin="$(realpath "$server_bin")"
echo_bin="$(realpath "$echo_bin")"
load_bin="$(realpath "$load_bin")"
if want posts && ! command -v wrk >/dev/null; then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "cluster.sh: installing wrk" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
# The fan-out case's frames come from the shared Tymbal corpus (as benchmarks/http_bench.sh).
corpus=/tmp/agentcore-bench/data/timbal.ndjson
if want latency && [[ ! -f $corpus ]]; then
  mkdir -p "$(dirname "$corpus")"
  node "${AGENTCORE_SHARED_DIR:-../shared}/bench/gen/gen_timbal.js" --out "$corpus" --mb 100 \
    --seed 1 >/dev/null || { echo "cluster.sh: cannot generate $corpus (AGENTCORE_SHARED_DIR?)" >&2; exit 2; }
fi

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
tmp="$(mktemp -d -t agentcore-cluster-bench.XXXXXX)"
pg_dir="$(mktemp -d -t agentcore-cluster-pg.XXXXXX)"  # not in $tmp: its owner may be `postgres`
pids=()
all_ports=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  # The echo agents the servers started outlive them (their own process group): those told
  # one of our servers' URLs.
  local port
  for p in $(pgrep -f "^$echo_bin" 2>/dev/null || true); do
    for port in "${all_ports[@]}"; do
      if grep -qzx "CAST_API_URL=http://127.0.0.1:$port" "/proc/$p/environ" 2>/dev/null; then
        kill -9 "$p" 2>/dev/null || true
      fi
    done
  done
  scripts/pg-test-server.sh stop "$pg_dir" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

dsn="$(scripts/pg-test-server.sh start "$pg_dir" 2>"$tmp/pg-start.log")" ||
  { cat "$tmp/pg-start.log" >&2; exit 1; }
export PGOPTIONS="-c client_min_messages=warning"  # no NOTICE of DROP … IF EXISTS
results="$tmp/results.jsonl"
: >"$results"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() {  # port path
  for _ in $(seq 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$1$2" && return 0
    sleep 0.1
  done
  echo "cluster.sh: nothing answers on port $1" >&2
  return 1
}
psql_db() {  # database sql: one value
  psql "${dsn%/*}/$1" -XAtqc "$2"
}
# new_database NAME: a fresh database; sets db_url (the servers' --database-url).
new_database() {
  psql "$dsn" -XAtqc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null
  psql "$dsn" -XAtqc "CREATE DATABASE $1" >/dev/null
  db_url="${dsn%/*}/$1"
}
# A server without the cluster flags (before issue 17) still runs the posts case: the nodes
# then share the database without knowing of each other.
cluster_flags=0
"$server_bin" --help 2>/dev/null | grep -q -- '--node-id' && cluster_flags=1
# start_nodes DATABASE_URL COUNT [server flags...]: COUNT servers on it, started one after the
# other (the first migrates); sets node_ports, node_pids, node_ids.
start_nodes() {
  local url=$1 count=$2 i port dir
  shift 2
  node_ports=() node_pids=() node_ids=()
  for ((i = 0; i < count; i++)); do
    port=$(free_port)
    node_ids+=("node-$i-$RANDOM")
    dir="$tmp/${node_ids[$i]}"
    mkdir -p "$dir"
    local flags=(--agent-command "*=$echo_bin" "$@")
    ((cluster_flags)) && flags+=(--node-id "${node_ids[$i]}")
    (
      exec env AUTH_MODE=dev "$server_bin" --host 127.0.0.1 --port "$port" --database-url "$url" \
        --data-dir "$dir/data" --no-access-log --idle-timeout-ms 600000 "${flags[@]}"
    ) >"$dir/server.log" 2>&1 &
    node_pids+=("$!")
    pids+=("$!")
    node_ports+=("$port")
    all_ports+=("$port")
    wait_http "$port" /health || { tail -n 20 "$dir/server.log" >&2; exit 1; }
  done
}
stop_nodes() {
  local p
  for p in "${node_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${node_pids[@]}"; do wait "$p" 2>/dev/null || true; done
}

echo "{\"event\":\"start\",\"date\":\"$(date -u +%FT%TZ)\",\"commit\":\"$(git rev-parse --short HEAD)\",\"clusterFlags\":$cluster_flags,\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"cores\":$(nproc),\"postgres\":\"$(psql "$dsn" -XAtqc 'SHOW server_version')\"}"

# --- 1. frame -> subscriber latency, same server and across servers ------------------------------
if want latency; then
  new_database cluster_latency
  start_nodes "$db_url" 2
  for pass in $(seq "$passes"); do
    for where in same cross; do
      sub_port=${node_ports[0]}
      [[ $where == cross ]] && sub_port=${node_ports[1]}
      "$load_bin" --case fanout --port "${node_ports[0]}" --subscribe-port "$sub_port" \
        --server-pid "${node_pids[0]}" --subscribers "$subscribers" --period-ms "$period_ms" \
        --duration "$duration" --passes 1 --corpus "$corpus" --callsign "lat$pass$where" |
        grep '"summary"' | sed "s/^{/{\"bench\":\"latency\",\"where\":\"$where\",\"pass\":$pass,/" |
        tee -a "$results"
    done
  done
  stop_nodes
fi

# --- 2. acknowledged POSTs/s with 1, 2, 3 servers, commits per message ----------------------------
if want posts; then
  cat >"$tmp/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"rps":%.1f,"requests":%d,"seconds":%.2f,"p50Ms":%.3f,"p99Ms":%.3f,"non2xx":%d,' ..
    '"socketErrors":%d}\n',
    summary.requests / seconds, summary.requests, seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
EOF
  lua_string() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
  for servers in 1 2 3; do
    new_database "cluster_posts_$servers"
    start_nodes "$db_url" "$servers"
    setup=$("$load_bin" --case setup --port "${node_ports[0]}" --seed-messages 0)
    field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$setup" "$1"; }
    cookie=$(field cookie)
    channel=$(field writeChannel)
    post_body=$(field postBody)
    {
      echo "wrk.method = \"POST\""
      echo "wrk.body = $(lua_string "$post_body")"
      echo "wrk.headers[\"Content-Type\"] = \"application/json\""
      echo "wrk.headers[\"Cookie\"] = \"cast_session=$cookie\""
      cat "$tmp/report.lua"
    } >"$tmp/post.lua"
    for port in "${node_ports[@]}"; do  # every server answers the POST before we measure it
      code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Cookie: cast_session=$cookie" --data "$post_body" \
        "http://127.0.0.1:$port/channels/$channel/messages")
      [[ $code == 201 ]] || { echo "cluster.sh: POST check on port $port answered $code" >&2; exit 1; }
    done
    connections=$((64 / servers))
    for pass in $(seq "$passes"); do
      commits0=$(psql_db "cluster_posts_$servers" \
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
      outs=()
      wrk_pids=()
      for i in "${!node_ports[@]}"; do
        wrk -t1 -c"$connections" -d"${duration}s" -s "$tmp/post.lua" \
          "http://127.0.0.1:${node_ports[$i]}/channels/$channel/messages" >"$tmp/wrk.$i" 2>&1 &
        wrk_pids+=("$!")
      done
      for p in "${wrk_pids[@]}"; do wait "$p"; done
      sleep 0.6  # pg_stat_database is updated by the backends at most every 500 ms
      commits1=$(psql_db "cluster_posts_$servers" \
        "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
      for i in "${!node_ports[@]}"; do outs+=("$(tail -n 1 "$tmp/wrk.$i")"); done
      python3 - "$servers" "$pass" "$((commits1 - commits0))" "${outs[@]}" <<'PY' | tee -a "$results"
import json, sys
servers, pass_, commits = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
runs = [json.loads(x) for x in sys.argv[4:]]
requests = sum(r["requests"] for r in runs)
errors = sum(r["non2xx"] + r["socketErrors"] for r in runs)
acked = requests - errors
print(json.dumps({"bench": "posts", "servers": servers, "pass": pass_,
                  "rps": round(sum(r["rps"] for r in runs), 1),
                  "p99Ms": max(r["p99Ms"] for r in runs), "requests": requests,
                  "errors": errors, "commits": commits,
                  "commitsPerMessage": round(commits / acked, 3) if acked else None}))
PY
    done
    stop_nodes
  done
fi

# --- 3. takeover time after kill -9 of an agent's owner -------------------------------------------
if want takeover && ((cluster_flags == 0)); then
  echo '{"bench":"takeover","skipped":"the server has no --node-id (no cluster mode)"}'
elif want takeover; then
  new_database cluster_takeover
  for run in $(seq "$takeovers"); do
    start_nodes "$db_url" 3 --lease-ms "$lease_ms"
    setup=$("$load_bin" --case setup --port "${node_ports[0]}" --seed-messages 0)
    cookie=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["cookie"])' "$setup")
    channel=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["writeChannel"])' "$setup")
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
      -H "Cookie: cast_session=$cookie" --data '{"callsign":"echo","agentType":"echo"}' \
      "http://127.0.0.1:${node_ports[0]}/channels/$channel/agents")
    [[ $code == 201 ]] || { echo "cluster.sh: adding the agent answered $code" >&2; exit 1; }
    key="agent:$channel/echo"
    owner=""
    for _ in $(seq 500); do
      owner=$(psql_db cluster_takeover "SELECT owner FROM leases WHERE key = '$key'" 2>/dev/null || true)
      [[ $owner == "${node_ids[0]}" ]] && break
      sleep 0.02
    done
    [[ $owner == "${node_ids[0]}" ]] || { echo "cluster.sh: the first node never held $key (owner '$owner')" >&2; exit 1; }
    t0=$(date +%s%N)
    kill -9 "${node_pids[0]}"
    new_owner="$owner"
    while [[ $new_owner == "${node_ids[0]}" || -z $new_owner ]]; do
      sleep 0.02
      new_owner=$(psql_db cluster_takeover "SELECT owner FROM leases WHERE key = '$key'")
      (( $(date +%s%N) - t0 < 60000000000 )) || { echo "cluster.sh: no takeover within 60 s" >&2; exit 1; }
    done
    t1=$(date +%s%N)
    echo "{\"bench\":\"takeover\",\"run\":$run,\"leaseMs\":$lease_ms,\"takeoverMs\":$(((t1 - t0) / 1000000)),\"newOwner\":\"$new_owner\"}" |
      tee -a "$results"
    stop_nodes
  done
fi

echo "{\"event\":\"end\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"

# --- medians ---------------------------------------------------------------------------------------
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
def med(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None
out = {"summary": True}
lat = {w: [r for r in rows if r.get("bench") == "latency" and r["where"] == w] for w in ("same", "cross")}
for w, rs in lat.items():
    if rs:
        line = {"bench": "latency", "where": w, "median": True, "passes": len(rs),
                "p50Ms": med(r["p50Ms"] for r in rs), "p99Ms": med(r["p99Ms"] for r in rs),
                "lost": sum(r["lost"] for r in rs)}
        print(json.dumps(line))
        out[w + "P50Ms"], out[w + "P99Ms"], out[w + "Lost"] = line["p50Ms"], line["p99Ms"], line["lost"]
if lat["same"] and lat["cross"]:
    out["crossMinusSameP50Ms"] = round(out["crossP50Ms"] - out["sameP50Ms"], 3)
    out["crossMinusSameP99Ms"] = round(out["crossP99Ms"] - out["sameP99Ms"], 3)
for n in (1, 2, 3):
    rs = [r for r in rows if r.get("bench") == "posts" and r["servers"] == n]
    if rs:
        line = {"bench": "posts", "servers": n, "median": True, "passes": len(rs),
                "rps": med(r["rps"] for r in rs), "p99Ms": med(r["p99Ms"] for r in rs),
                "commitsPerMessage": med(r["commitsPerMessage"] for r in rs),
                "errors": sum(r["errors"] for r in rs)}
        print(json.dumps(line))
        out[f"posts{n}Rps"] = line["rps"]
        out[f"commitsPerMessage{n}"] = line["commitsPerMessage"]
tk = [r["takeoverMs"] for r in rows if r.get("bench") == "takeover"]
if tk:
    out["takeoverMedianMs"] = med(tk)
    out["takeoverRuns"] = len(tk)
    out["leaseMs"] = next(r["leaseMs"] for r in rows if r.get("bench") == "takeover")
print(json.dumps(out))
PY
