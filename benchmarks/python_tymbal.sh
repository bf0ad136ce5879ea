#!/usr/bin/env bash
# Tymbal parsing through the Python module against json.loads per line (issue 18), on the
# shared 100 MB Tymbal corpus (generated as benchmarks/http_bench.sh does when missing).
#   benchmarks/python_tymbal.sh [--passes N]        (BUILD_DIR, default build/release)
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build/release}"
if [[ ! -f $build/build.ninja && ! -f $build/Makefile ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target _agentcore >&2
corpus=/tmp/agentcore-bench/data/timbal.ndjson
if [[ ! -f $corpus ]]; then
  mkdir -p "$(dirname "$corpus")"
  node "${AGENTCORE_SHARED_DIR:-../shared}/bench/gen/gen_timbal.js" --out "$corpus" --mb 100 --seed 1 >/dev/null
fi
PYTHONPATH="$build/python" exec /usr/bin/python3 benchmarks/python_tymbal.py --file "$corpus" "$@"
