#!/usr/bin/env bash
# The README's first command: installs what is missing, builds in Release and starts
# agentcore-server on its embedded defaults: dev login (AUTH_MODE=dev unless set) on 127.0.0.1
# only (--host or HOST to change it), a SQLite file under $XDG_DATA_HOME/agentcore
# (~/.local/share/agentcore), the local process runtime (agents are child processes; the
# example echo agent by default), port $PORT or 3234. Arguments go to the server (see --help).
# Stop with Ctrl-C: the server stops its agents and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
# clang is chosen by the top-level CMakeLists (GCC 12 miscompiles the server's coroutines).
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release --target agentcore-server echo-agent agentcore_cli -j"$(nproc)"

export AUTH_MODE="${AUTH_MODE:-dev}"
exec build/release/server/agentcore-server "$@"
