#!/usr/bin/env bash
# Issue 5's server benchmarks, with their reference in the same run:
#   benchmarks/http_bench.sh [--build DIR] [--passes N] [--duration S] [--only wrk|load|CASES]
#
# 1. Installs wrk and nginx-light when missing (apt-get, as scripts/install-deps.sh does),
#    builds agentcore-server and agentcore-http-load (Release) in DIR (default build-bench).
# 2. Starts a private nginx (own prefix and config in a temp dir, `daemon off;`, 2 workers,
#    `location = /ok { return 200 "ok"; }`) and agentcore-server on a fresh SQLite file
#    (AUTH_MODE=dev, --no-access-log), on free loopback ports.
# 3. Logs in (POST /auth/dev/login {"callsign":"bench"}), creates a channel seeded with 1,000
#    messages (read by the GET case) and one for the POST case.
# 4. Runs `wrk -t2 -c64 -d10s` N times (default 3) on each case, passes interleaved so that the
#    machine's load moves all cases alike: nginx /ok, GET /health, POST /channels/:id/messages
#    (~300-byte body, no @mention, cookie; non-2xx counted as errors), GET
#    /channels/:id/messages?limit=50. One JSON line per run, then one per case with medians.
# 5. Runs agentcore-http-load for tymbal_ingest (closed loop, then paced at 35 % of nginx),
#    stream_ingest, fanout and memory, each on a fresh server and database (`ulimit -n`
#    raised as far as the hard limit allows), and prints
#    their lines (per pass and a "summary" line per case, with ratios to nginx where the issue
#    sets one). The fan-out case publishes one frame every FANOUT_PERIOD_MS (default 250: one
#    frame's fan-out is over before the next starts, so its latency is that of one frame).
# Last line: {"summary":true,"nginxOkRps":…,"healthRps":…,"postRps":…,"postP99Ms":…,
# "get50Rps":…, ratios, the load cases' figures, and which targets are met}.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build-bench
passes=3
duration=10
only=all
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --passes) passes="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--passes N] [--duration S] [--only wrk|load|CASE,...]" >&2
       exit 2 ;;
  esac
done
want() { [[ $only == all || ,$only, == *,$1,* ]]; }

# --- 1. tools and build -------------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "http_bench: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

if [[ ! -f $build/build.ninja && ! -f $build/Makefile ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target agentcore-server agentcore_http_load >&2
server_bin="$(cd "$build" && pwd)/server/agentcore-server"
load_bin="$(cd "$build" && pwd)/benchmarks/agentcore-http-load"

shared="${AGENTCORE_SHARED_DIR:-../shared}"
corpus=/tmp/agentcore-bench/data/timbal.ndjson
if [[ ! -f $corpus ]]; then
  mkdir -p "$(dirname "$corpus")"
  node "$shared/bench/gen/gen_timbal.js" --out "$corpus" --mb 100 --seed 1 2>/dev/null
fi

tmp=$(mktemp -d -t agentcore-http-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_http() {  # port path
  for _ in $(seq 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$1$2" && return 0
    sleep 0.1
  done
  echo "http_bench: nothing answers on port $1" >&2
  return 1
}

# --- 2. nginx and the server ----------------------------------------------------------------------
start_nginx() {
  nginx_port=$(free_port)
  mkdir -p "$tmp/nginx/logs"
  cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  default_type text/plain;
  server {
    listen 127.0.0.1:$nginx_port;
    location = /ok { return 200 "ok"; }
  }
}
EOF
  "$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx/logs/error.log" \
    >"$tmp/nginx/out.log" 2>&1 &
  nginx_pid=$!
  pids+=("$nginx_pid")
  wait_http "$nginx_port" /ok
}

# start_server NAME: a fresh database in $tmp/NAME; sets server_port and server_pid.
start_server() {
  local dir="$tmp/$1"
  mkdir -p "$dir"
  server_port=$(free_port)
  (
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    cd "$dir"
    exec env AUTH_MODE=dev PORT="$server_port" DATABASE_URL="sqlite://$dir/bench.db" \
      "$server_bin" --no-access-log --data-dir "$dir/data" --host 127.0.0.1 \
      --idle-timeout-ms 600000
  ) >"$dir/server.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  wait_http "$server_port" /health
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}

echo "{\"event\":\"start\",\"date\":\"$(date -u +%FT%TZ)\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"cores\":$(nproc)}"

results="$tmp/results.jsonl"
: >"$results"

# --- 3./4. wrk cases ---------------------------------------------------------------------------------
cat >"$tmp/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"rps":%.1f,"requests":%d,"seconds":%.2f,"p50Ms":%.3f,"p90Ms":%.3f,"p99Ms":%.3f,' ..
    '"maxMs":%.3f,"meanMs":%.3f,"non2xx":%d,"socketErrors":%d}\n',
    summary.requests / seconds, summary.requests, seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
EOF

if want wrk; then
  start_nginx
  start_server wrk
  setup=$("$load_bin" --case setup --port "$server_port" --seed-messages 1000)
  field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$setup" "$1"; }
  cookie=$(field cookie)
  read_channel=$(field readChannel)
  write_channel=$(field writeChannel)
  post_body=$(field postBody)
  echo "{\"event\":\"setup\",\"seeded\":1000,\"postBodyBytes\":${#post_body}}"
  # The POST: wrk's status errors are responses >= 400, and this route answers 201 or an error,
  # so non2xx counts every response that is not a 2xx.
  lua_string() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
  cat >"$tmp/post.lua" <<EOF
wrk.method = "POST"
wrk.body = $(lua_string "$post_body")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "cast_session=$cookie"
EOF
  cat "$tmp/report.lua" >>"$tmp/post.lua"
  cat >"$tmp/get.lua" <<EOF
wrk.headers["Cookie"] = "cast_session=$cookie"
EOF
  cat "$tmp/report.lua" >>"$tmp/get.lua"

  # A wrong cookie or route would measure error pages: check each case answers as expected first.
  [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        -H "Cookie: cast_session=$cookie" --data "$post_body" \
        "http://127.0.0.1:$server_port/channels/$write_channel/messages") == 201 ]] ||
    { echo "http_bench: POST check failed" >&2; exit 1; }
  n50=$(curl -s -H "Cookie: cast_session=$cookie" \
        "http://127.0.0.1:$server_port/channels/$read_channel/messages?limit=50" |
        python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))')
  [[ $n50 == 50 ]] || { echo "http_bench: GET check returned $n50 messages" >&2; exit 1; }

  run_wrk() {  # case script url
    local line
    line=$(wrk -t2 -c64 -d"${duration}s" -s "$2" "$3" | tail -n 1)
    echo "{\"case\":\"$1\",\"pass\":$pass,${line#\{}" | tee -a "$results"
  }
  for pass in $(seq "$passes"); do
    run_wrk nginx_ok "$tmp/report.lua" "http://127.0.0.1:$nginx_port/ok"
    run_wrk health "$tmp/report.lua" "http://127.0.0.1:$server_port/health"
    run_wrk post_message "$tmp/post.lua" "http://127.0.0.1:$server_port/channels/$write_channel/messages"
    run_wrk get_messages_50 "$tmp/get.lua" \
      "http://127.0.0.1:$server_port/channels/$read_channel/messages?limit=50"
  done
  echo "{\"event\":\"wrk-done\",\"serverRssMiB\":$(awk '/VmRSS/{printf "%.1f", $2/1024}' /proc/$server_pid/status),\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
  stop_server
fi

# --- 5. load cases -------------------------------------------------------------------------------
run_load() {  # case [options]
  local name=$1
  shift
  start_server "$name"
  "$load_bin" --case "$name" --port "$server_port" --server-pid "$server_pid" \
    --passes "$passes" --corpus "$corpus" "$@" | tee -a "$results"
  stop_server
}
if want load || want tymbal_ingest; then run_load tymbal_ingest --agents 64 --duration "$duration"; fi
# The same agents paced to the issue's throughput target (35 % of this run's nginx /ok, or
# TYMBAL_RATE frames/s): the latency at that offered load, where the closed loop above gives
# the latency at saturation. A paced frame is stamped with its scheduled send time.
if want load || want tymbal_paced; then
  rate=${TYMBAL_RATE:-$(python3 -c '
import json, statistics, sys
v = [json.loads(l)["rps"] for l in open(sys.argv[1]) if l.startswith("{\"case\":\"nginx_ok\"")]
print(round(0.35 * statistics.median(v)) if v else 40000)' "$results")}
  run_load tymbal_ingest --agents 64 --duration "$duration" --rate "$rate"
fi
if want load || want stream_ingest; then run_load stream_ingest --uploads 1000 --frames 1000; fi
if want load || want fanout; then run_load fanout --subscribers 10000 --period-ms "${FANOUT_PERIOD_MS:-250}" --duration 5; fi
if want load || want memory; then run_load memory --subscribers 10000 --idle-agents 1000; fi

echo "{\"event\":\"end\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"

# --- medians, ratios, targets ----------------------------------------------------------------------
python3 - "$results" <<'PY'
import json, statistics, sys
runs, load = {}, {}
for line in open(sys.argv[1]):
    line = line.strip()
    if not line.startswith("{"):
        continue
    d = json.loads(line)
    if "rps" in d:
        runs.setdefault(d["case"], []).append(d)
    elif d.get("summary") and "case" in d:
        load[d["case"]] = d

def med(case, key):
    v = [r[key] for r in runs.get(case, [])]
    return round(statistics.median(v), 3) if v else None

for case, rs in runs.items():
    print(json.dumps({"case": case, "median": True, "passes": len(rs), "rps": med(case, "rps"),
                      "p50Ms": med(case, "p50Ms"), "p99Ms": med(case, "p99Ms"),
                      "non2xx": sum(r["non2xx"] for r in rs),
                      "socketErrors": sum(r["socketErrors"] for r in rs)}))

out = {"summary": True}
nginx = med("nginx_ok", "rps")
if runs:
    out.update({"nginxOkRps": nginx, "healthRps": med("health", "rps"),
                "postRps": med("post_message", "rps"), "postP99Ms": med("post_message", "p99Ms"),
                "get50Rps": med("get_messages_50", "rps")})
targets = {}
def ratio(x):
    return round(x / nginx, 3) if x is not None and nginx else None
if runs:
    out["healthRatio"] = ratio(out["healthRps"])
    out["postRatio"] = ratio(out["postRps"])
    out["get50Ratio"] = ratio(out["get50Rps"])
    out["errors"] = sum(r["non2xx"] + r["socketErrors"] for rs in runs.values() for r in rs)
    targets["health>=0.60"] = out["healthRatio"] is not None and out["healthRatio"] >= 0.60
    targets["post>=0.40"] = out["postRatio"] is not None and out["postRatio"] >= 0.40
    targets["postP99<10ms"] = out["postP99Ms"] is not None and out["postP99Ms"] < 10
    targets["get50>=0.30"] = out["get50Ratio"] is not None and out["get50Ratio"] >= 0.30
t = load.get("tymbal_ingest")
if t:
    out["tymbalFramesPerSec"] = t["framesPerSec"]
    out["tymbalRatio"] = ratio(t["framesPerSec"])
    out["tymbalP99Ms"] = t["p99Ms"]
    out["tymbalLost"] = t["lost"]
    if out["tymbalRatio"] is not None:
        targets["tymbal>=0.35"] = out["tymbalRatio"] >= 0.35
    targets["tymbalP99<5ms"] = t["p99Ms"] < 5
    targets["tymbalLost=0"] = t["lost"] == 0 and t["errors"] == 0
tp = load.get("tymbal_ingest_paced")
if tp:
    out["tymbalPacedOfferedPerSec"] = tp["offeredPerSec"]
    out["tymbalPacedFramesPerSec"] = tp["framesPerSec"]
    out["tymbalPacedP99Ms"] = tp["p99Ms"]
    out["tymbalPacedSetP99Ms"] = tp["setP99Ms"]
    out["tymbalPacedLost"] = tp["lost"]
s = load.get("stream_ingest")
if s:
    out["streamFramesPerSec"] = s["framesPerSec"]
    out["streamLost"] = s["lost"]
    out["streamAllSetFramesStored"] = s["allSetFramesStored"]
    targets["stream>=500k"] = s["framesPerSec"] >= 500000
    targets["streamLost=0"] = s["lost"] == 0 and s["errors"] == 0
    targets["streamSetsStored"] = s["allSetFramesStored"]
f = load.get("fanout")
if f:
    out["fanoutSubscribers"] = f["subscribers"]
    out["fanoutP50Ms"] = f["p50Ms"]
    out["fanoutP99Ms"] = f["p99Ms"]
    out["fanoutLost"] = f["lost"]
    targets["fanoutP99<20ms"] = f["p99Ms"] < 20
    targets["fanoutLost=0"] = f["lost"] == 0
m = load.get("memory")
if m:
    out["memoryRssMiB"] = m["rssMiB"]
    targets["rss<=100MiB"] = m["rssMiB"] <= 100
out["targetsMet"] = targets
print(json.dumps(out))
PY
