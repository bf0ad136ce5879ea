# shellcheck shell=bash
# The wrk cases of the server benchmarks, sourced by ab_servers.sh and postgres_server.sh:
# a free port, waiting for a server, starting agentcore-server on a database, and the seeded
# POST /channels/:id/messages and GET /channels/:id/messages?limit=50 cases (http_bench.sh's:
# `agentcore-http-load --case setup` logs in as "bench", seeds a channel of 1,000 messages to
# read and one to post to, ~300-byte bodies without @mention).

bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_wait_http() {  # PORT PATH
  for _ in $(seq 200); do
    curl -fs -o /dev/null "http://127.0.0.1:$1$2" && return 0
    sleep 0.1
  done
  echo "bench: nothing answers on port $1" >&2
  return 1
}

# bench_start_server SERVER_BIN DIR DATABASE_URL [server options...]: starts the server as
# http_bench.sh does (AUTH_MODE=dev, no access log, data in DIR) and waits for /health; sets
# server_port and server_pid. The caller stops it.
bench_start_server() {
  local bin dir url
  bin=$(realpath "$1")
  dir=$2
  url=$3
  shift 3
  mkdir -p "$dir"
  server_port=$(bench_free_port)
  (
    ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
    cd "$dir"
    exec env AUTH_MODE=dev PORT="$server_port" DATABASE_URL="$url" "$bin" --no-access-log \
      --data-dir "$dir/data" --host 127.0.0.1 --idle-timeout-ms 600000 "$@"
  ) >"$dir/server.log" 2>&1 &
  server_pid=$!
  bench_wait_http "$server_port" /health
}

# wrk's last line as JSON: requests/s, latency percentiles (ms), non-2xx responses.
bench_wrk_report() {
  cat <<'LUA'
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"rps":%.1f,"p50Ms":%.3f,"p90Ms":%.3f,"p99Ms":%.3f,"maxMs":%.3f,"non2xx":%d,' ..
    '"socketErrors":%d}\n',
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
LUA
}

# bench_wrk_setup LOAD_BIN PORT DIR: seeds the server and writes DIR/post_message.lua and
# DIR/get_messages_50.lua; sets post_url and get_url. Checks that the POST answers 201 and the
# GET 50 messages, so that no run measures error pages.
bench_wrk_setup() {
  local setup cookie body
  setup=$("$1" --case setup --port "$2" --seed-messages 1000)
  field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$setup" "$1"; }
  cookie=$(field cookie)
  body=$(field postBody)
  post_url="http://127.0.0.1:$2/channels/$(field writeChannel)/messages"
  get_url="http://127.0.0.1:$2/channels/$(field readChannel)/messages?limit=50"
  { echo 'wrk.method = "POST"'
    echo "wrk.body = $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$body")"
    echo 'wrk.headers["Content-Type"] = "application/json"'
    echo "wrk.headers[\"Cookie\"] = \"cast_session=$cookie\""
    bench_wrk_report; } >"$3/post_message.lua"
  { echo "wrk.headers[\"Cookie\"] = \"cast_session=$cookie\""
    bench_wrk_report; } >"$3/get_messages_50.lua"
  local code n
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -H "Cookie: cast_session=$cookie" --data "$body" "$post_url")
  [[ $code == 201 ]] || { echo "bench: POST check answered $code" >&2; return 1; }
  n=$(curl -s -H "Cookie: cast_session=$cookie" "$get_url" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))')
  [[ $n == 50 ]] || { echo "bench: GET check returned $n messages" >&2; return 1; }
}

# bench_wrk CASE DIR URL [wrk options, default -t2 -c64 -d10s]: wrk's JSON line for a case
# set up by bench_wrk_setup in DIR.
bench_wrk() {
  local name=$1 dir=$2 url=$3
  shift 3
  (($#)) || set -- -t2 -c64 -d10s
  wrk "$@" -s "$dir/$name.lua" "$url" | tail -n 1
}
