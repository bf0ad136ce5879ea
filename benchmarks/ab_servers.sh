#!/usr/bin/env bash
# A/B of agentcore-server binaries on one agentcore-http-load case, passes interleaved so that
# the machine's noise moves every binary alike:
#   benchmarks/ab_servers.sh [--rounds N] CASE "LOAD ARGS" SERVER_BIN...
# e.g. two builds of the same tree, one configured with -DAGENTCORE_JEMALLOC=OFF:
#   benchmarks/ab_servers.sh stream_ingest "--uploads 1000 --frames 1000" \
#     build-glibc/server/agentcore-server build-bench/server/agentcore-server
# Each pass gets a fresh server and SQLite file, started as http_bench.sh starts it; with
# PERF_EVENTS set (e.g. syscalls:sys_enter_futex) `perf stat` counts them in the server during
# the pass. Prints one line per pass: the binary, then the case's summary line (and the counts).
# Needs the load tool (LOAD_BIN, default build-bench) and the corpus http_bench.sh generates.
# CASE may also be one of http_bench.sh's wrk cases, post_message or get_messages_50 (LOAD ARGS:
# wrk's, e.g. "-t2 -c64 -d10s"): the pass seeds the database with `--case setup` first and
# prints wrk's JSON line (rps, p50/p99 ms, non-2xx).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=2
if [[ ${1:-} == --rounds ]]; then rounds=$2; shift 2; fi
if (($# < 3)); then
  echo "usage: $0 [--rounds N] CASE \"LOAD ARGS\" SERVER_BIN..." >&2
  exit 2
fi
case_name=$1
load_args=$2
shift 2
load_bin=${LOAD_BIN:-build-bench/benchmarks/agentcore-http-load}
corpus=/tmp/agentcore-bench/data/timbal.ndjson
[[ -x $load_bin ]] || { echo "ab_servers: no load tool at $load_bin" >&2; exit 1; }
[[ -f $corpus ]] || { echo "ab_servers: no corpus; run benchmarks/http_bench.sh once" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# shellcheck source=benchmarks/wrk_cases.sh
source benchmarks/wrk_cases.sh

# run_wrk_case CASE PORT DIR: seeds the server (http_bench.sh's setup) and prints wrk's JSON line
# for the case, run with the load arguments.
run_wrk_case() {
  bench_wrk_setup "$load_bin" "$2" "$3"
  local url=$get_url
  [[ $1 == post_message ]] && url=$post_url
  # shellcheck disable=SC2086  # the load arguments are words
  echo "{\"case\":\"wrk\",$(bench_wrk "$1" "$3" "$url" ${load_args:--t2 -c64 -d10s} | cut -c2-)"
}

for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    dir=$(mktemp -d -t agentcore-ab.XXXXXX)
    bench_start_server "$bin" "$dir" "sqlite://$dir/bench.db"
    port=$server_port
    server=$server_pid
    perf_pid=""
    if [[ -n ${PERF_EVENTS:-} ]]; then
      perf stat -e "$PERF_EVENTS" -p "$server" -o "$dir/perf.txt" &
      perf_pid=$!
    fi
    case $case_name in
      post_message | get_messages_50) line=$(run_wrk_case "$case_name" "$port" "$dir") ;;
      *)
        # shellcheck disable=SC2086  # the load arguments are words
        line=$("$load_bin" --case "$case_name" --port "$port" --server-pid "$server" --passes 1 \
                 --corpus "$corpus" $load_args | grep '"summary"') ;;
    esac
    counts=""
    if [[ -n $perf_pid ]]; then
      kill -INT "$perf_pid"
      wait "$perf_pid" || true
      counts=$(awk '/syscalls|cycles|instructions/ {printf " %s=%s", $2, $1}' "$dir/perf.txt")
    fi
    echo "$bin $line$counts"
    kill "$server"
    wait "$server" 2>/dev/null || true
    rm -rf "$dir"
  done
done
