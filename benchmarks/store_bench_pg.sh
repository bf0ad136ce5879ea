#!/usr/bin/env bash
# The PostgreSQL store benchmark on a private server:
#   benchmarks/store_bench_pg.sh [BENCH_BINARY] [agentcore-bench store options...]
# starts a throwaway cluster with scripts/pg-test-server.sh (PostgreSQL's defaults: fsync and
# synchronous_commit on), runs `agentcore-bench store --backend postgres --url <it>` with the
# options given (default --writers 64), and stops and deletes the cluster on exit. With
# AGENTCORE_BENCH_PG_URL set it uses that server instead and starts none.
# BENCH_BINARY defaults to build/release/benchmarks/agentcore-bench.
set -euo pipefail
cd "$(dirname "$0")/.."

bench="build/release/benchmarks/agentcore-bench"
if [[ $# -gt 0 && "$1" != --* ]]; then
  bench="$1"
  shift
fi
[[ -x "$bench" ]] || { echo "store_bench_pg: no benchmark binary at $bench (build it first)" >&2; exit 2; }
[[ $# -gt 0 ]] || set -- --writers 64

url="${AGENTCORE_BENCH_PG_URL:-}"
if [[ -z "$url" ]]; then
  dir="$(mktemp -d -t agentcore-pg-bench.XXXXXX)"
  trap 'scripts/pg-test-server.sh stop "$dir" >/dev/null 2>&1 || rm -rf "$dir"' EXIT
  trap 'exit 130' INT TERM
  url="$(scripts/pg-test-server.sh start "$dir")"
fi
"$bench" store --backend postgres --url "$url" "$@"
