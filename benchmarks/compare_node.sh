#!/usr/bin/env bash
# Runs the Node peers of shared/bench and agentcore-bench one after the other on the same
# corpora (generated if missing), several passes each, and prints one JSON line with both
# medians, the ratios and whether the checksums agree.
#
#   benchmarks/compare_node.sh [--repeat N] [--build DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

repeat=5
build=build/release
while (($#)); do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    *) echo "usage: $0 [--repeat N] [--build DIR]" >&2; exit 2 ;;
  esac
done

shared="${AGENTCORE_SHARED_DIR:-../shared}"
data=/tmp/agentcore-bench/data
mkdir -p "$data"
[[ -f $data/timbal.ndjson ]] ||
  node "$shared/bench/gen/gen_timbal.js" --out "$data/timbal.ndjson" --mb 100 --seed 1 2>/dev/null
[[ -f $data/messages.ndjson ]] ||
  node "$shared/bench/gen/gen_messages.js" --out "$data/messages.ndjson" --n 1000000 --seed 2 2>/dev/null

if [[ ! -x $build/benchmarks/agentcore-bench ]]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target agentcore_bench >/dev/null
fi
bench="$build/benchmarks/agentcore-bench"

last() { tail -n 1; }
node_tymbal=$(node "$shared/bench/node/parse_ndjson.js" --file "$data/timbal.ndjson" --mode split --repeat "$repeat" | last)
ours_tymbal=$("$bench" tymbal --file "$data/timbal.ndjson" --repeat "$repeat" | last)
node_route=$(node "$shared/bench/node/mentions_bench.js" --file "$data/messages.ndjson" --repeat "$repeat" --route | last)
ours_route=$("$bench" mentions --file "$data/messages.ndjson" --repeat "$repeat" --route | last)

python3 - "$node_tymbal" "$ours_tymbal" "$node_route" "$ours_route" <<'PY'
import json, sys
nt, ot, nr, orr = (json.loads(a) for a in sys.argv[1:])
out = {
  "tymbal": {
    "nodeMBps": nt["medianMBps"], "oursMBps": round(ot["medianMBps"], 1),
    "limitMBps": round(ot["limitMBps"], 1),
    "ratioToNode": round(ot["medianMBps"] / nt["medianMBps"], 2),
    "ratioToLimit": round(ot["ratioToLimit"], 3),
    "countsMatch": nt["counts"] == ot["counts"],
  },
  "mentionsRoute": {
    "nodeMsgsPerSec": nr["medianMsgsPerSec"], "oursMsgsPerSec": orr["medianMsgsPerSec"],
    "ratioToNode": round(orr["medianMsgsPerSec"] / nr["medianMsgsPerSec"], 2),
    "checksumMatch": nr["checksum"] == orr["checksum"],
  },
}
print(json.dumps(out))
PY
