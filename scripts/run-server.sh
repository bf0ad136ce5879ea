#!/usr/bin/env bash
# The README's first command: installs what is missing, builds in Release and runs the main
# program. Until the reference server lands this is the `agentcore` command-line tool; with no
# arguments it validates and assembles the sample Tymbal stream in examples/data/.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target agentcore_cli -j"$(nproc)"

if (($# == 0)); then
  build/release/tools/agentcore tymbal check examples/data/sample.ndjson || true
  exec build/release/tools/agentcore tymbal assemble examples/data/sample.ndjson
fi
exec build/release/tools/agentcore "$@"
