#!/usr/bin/env bash
# The README's second command, and all that CI runs: installs what is missing, then
#   0. starts a private PostgreSQL server (scripts/pg-test-server.sh; stopped again on exit)
#      for the PostgreSQL tests, and fails loudly if it cannot;
#   1. builds everything in Release with -Werror and runs the unit, PostgreSQL and cluster
#      tests (three servers on the private PostgreSQL), then
#      installs the library and builds two consumers against it (tests/package/run.sh), and
#      runs the embedding example (examples/embed-hub/check.sh), the C API's tests and C
#      example (tests/c_api, examples/c-embed/check.sh) and the Python module's tests,
#      example and installs (bindings/python); then starts a private Podman
#      engine (scripts/podman-test-service.sh; stopped again on exit) and runs the container
#      tests and the server image's check (scripts/check-server-image.sh) against it;
#   2. builds with AddressSanitizer + UndefinedBehaviorSanitizer (clang, the library also
#      instrumented for libFuzzer, so the same tree builds the fuzz targets) and runs them (and
#      the embedding example, the C API's tests and C example) again, all but the cluster tests;
#   3. runs the server tests under ThreadSanitizer;
#   4. runs every libFuzzer target of the sanitizer tree for FUZZ_SECONDS (default 15), one
#      per core at a time.
# Exits non-zero on any failure; the last line is "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
JOBS="$(nproc)"
passed=0
failed=0
failures=()

note() { printf '\n=== %s (%ds)\n' "$*" "$SECONDS"; }
fail() { failures+=("$1"); failed=$((failed + ${2:-1})); }

# Runs a doctest binary and adds its test-case counts to the totals.
run_doctest() {
  local name="$1" binary="$2" log
  log="$(mktemp)"
  "$binary" --no-intro=true >"$log" 2>&1
  local status=$?
  if ((status != 0)); then
    grep -v '^{"event"' "$log" | tail -n 80  # what failed (sanitizer reports, assertions)
  else
    tail -n 3 "$log"
  fi
  local line p f
  line="$(grep -E '^\[doctest\] test cases:' "$log" | tail -n 1)"
  p="$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$line")"
  f="$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"$line")"
  rm -f "$log"
  if [[ -z "$line" ]]; then
    fail "$name: no test summary (crashed?)"
    return
  fi
  passed=$((passed + p))
  if ((status != 0 || f > 0)); then fail "$name: $f failed" "$((f > 0 ? f : 1))"; fi
}

# Configures and builds one tree (all targets, or those in BUILD_TARGETS); records a failure
# and returns 1 if that fails.
build_tree() {
  local name="$1" dir="$2"
  shift 2
  if ! cmake -S . -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1; then
    cat "$dir.configure.log"
    fail "$name: configure"
    return 1
  fi
  local targets=()
  [[ -n "${BUILD_TARGETS:-}" ]] && targets=(--target ${BUILD_TARGETS})
  if ! cmake --build "$dir" -j"$JOBS" "${targets[@]}"; then
    fail "$name: build"
    return 1
  fi
}

note "dependencies"
if ! bash scripts/install-deps.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi
mkdir -p build

# The PostgreSQL tests (agentcore_pg_tests) read AGENTCORE_TEST_PG_DSN and fail without it.
note "private PostgreSQL server"
pg_dir="$(mktemp -d -t agentcore-pg.XXXXXX)"
stop_pg() { scripts/pg-test-server.sh stop "$pg_dir" >/dev/null 2>&1 || rm -rf "$pg_dir"; }
# The private Podman engine of the container tests (started after the release build).
podman_dir=""
stop_podman() { [[ -z "$podman_dir" ]] || scripts/podman-test-service.sh stop "$podman_dir" >/dev/null 2>&1 || true; }
trap 'stop_pg; stop_podman' EXIT
trap 'stop_pg; stop_podman; exit 130' INT TERM
pg_up=0
if AGENTCORE_TEST_PG_DSN="$(scripts/pg-test-server.sh start "$pg_dir")"; then
  export AGENTCORE_TEST_PG_DSN
  pg_up=1
else
  echo "ERROR: the private PostgreSQL server did not start (see above); the PostgreSQL tests" \
    "cannot run" >&2
  fail "postgresql: the private test server did not start"
fi
# The embedding example (a hub, the echo agent as a process, an agent in-process) runs and
# prints what examples/embed-hub/check.sh expects.
run_embed_hub() {
  note "example embed-hub ($1)"
  if examples/embed-hub/check.sh "$2"; then
    passed=$((passed + 1))
  else
    fail "example embed-hub ($1)"
  fi
}
# c-api (begin): the C API's C11 test program (its "N passed, N failed" added to the totals)
# and the C example (examples/c-embed/check.sh, counted as one), in the release and sanitizer
# phases (issue 18).
run_c_api() {  # PHASE BUILD_DIR
  note "C API tests ($1)"
  local log status line p f
  log="$(mktemp)"
  "$2/tests/c_api/agentcore_c_api_tests" >"$log" 2>&1
  status=$?
  grep -v '^{"event"' "$log" | tail -n 40  # failures, sanitizer reports, the summary
  line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)"
  rm -f "$log"
  if [[ -z "$line" ]]; then
    fail "C API tests ($1): no summary (crashed?)"
  else
    p="${line%% passed*}"
    f="${line#*, }"
    f="${f%% failed}"
    passed=$((passed + p))
    if ((status != 0 || f > 0)); then fail "C API tests ($1): $f failed, exit $status" "$((f > 0 ? f : 1))"; fi
  fi
  note "example c-embed ($1)"
  if examples/c-embed/check.sh "$2"; then
    passed=$((passed + 1))
  else
    fail "example c-embed ($1)"
  fi
}
# c-api (end)
# The Python module (issue 18, bindings/python): its pytest suite (each test counted), the
# "From Python" example of docs/embedding.md, and its two installs (cmake --install, pip).
# The suite runs on Python's debug allocator in development mode (freed memory poisoned, buffer
# ends guarded, unraisable errors shown), which catches the reference-count mistakes of the C++
# side that ASan cannot see through pymalloc; the module is not run under ASan (an ASan module
# needs an ASan-built library with -fPIC and its runtime preloaded into the interpreter).
run_python() {
  local name="$1" build="$2" log line p f
  note "Python module ($name)"
  log="$(mktemp)"
  PYTHONMALLOC=debug PYTHONPATH="$build/python" /usr/bin/python3 -X dev -m pytest -q \
    -p no:cacheprovider bindings/python/tests >"$log" 2>&1
  local status=$?
  tail -n "$( ((status == 0)) && echo 2 || echo 60)" "$log"
  line="$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$log" | tail -n 1)"
  p="$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)"
  f=0
  for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | grep -oE '[0-9]+'); do f=$((f + n)); done
  rm -f "$log"
  passed=$((passed + p))
  if ((status != 0)); then fail "python tests ($name): $f failed" "$((f > 0 ? f : 1))"; fi
  if PYTHONPATH="$build/python" /usr/bin/python3 bindings/python/examples/quickstart.py |
      tail -n 1 | grep -qx 'quickstart ok'; then
    passed=$((passed + 1))
  else
    fail "python example ($name)"
  fi
  if bindings/python/tests/package.sh "$build"; then
    passed=$((passed + 1))
  else
    fail "python package ($name)"
  fi
}
run_pg_tests() {
  if ((pg_up)); then run_doctest "$1" "$2"; fi
}

note "release build (-Werror)"
if build_tree release build/release -DCMAKE_BUILD_TYPE=Release -DAGENTCORE_WERROR=ON; then
  note "unit tests (release)"
  run_doctest "unit tests (release)" build/release/tests/agentcore_unit_tests
  note "PostgreSQL tests (release)"
  run_pg_tests "pg tests (release)" build/release/tests/agentcore_pg_tests
  # Three agentcore-server processes on one PostgreSQL (issue 17); after the PostgreSQL tests,
  # never beside another phase on the same server.
  note "cluster tests (release)"
  run_pg_tests "cluster tests (release)" build/release/tests/agentcore_cluster_tests
  note "server tests (release)"
  run_doctest "server tests (release)" build/release/tests/agentcore_server_tests
  if ((pg_up)); then
    note "server tests on PostgreSQL (release)"
    export AGENTCORE_SERVER_TEST_BACKEND=postgres
    run_doctest "server tests on PostgreSQL (release)" build/release/tests/agentcore_server_tests
    unset AGENTCORE_SERVER_TEST_BACKEND
  fi
  # The OpenAPI document (docs/api.md, "OpenAPI"): an npm validator (installed once into
  # build/release/openapi-check) and real answers of a running server checked against it; each
  # of its checks counts in the totals.
  note "OpenAPI document (release)"
  openapi_log="$(mktemp)"
  tests/openapi/check.sh build/release >"$openapi_log" 2>&1
  openapi_status=$?
  grep -v '^ok ' "$openapi_log"
  if [[ "$(tail -n 1 "$openapi_log")" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1]))
    if ((openapi_status != 0 || BASH_REMATCH[2] > 0)); then
      fail "OpenAPI document: ${BASH_REMATCH[2]} failed" "$((BASH_REMATCH[2] > 0 ? BASH_REMATCH[2] : 1))"
    fi
  else
    fail "OpenAPI document: no summary (npm ci or the server failed?)"
  fi
  rm -f "$openapi_log"
  # agentctl (issue 18): the built CLI against a real server (tests/agentctl/); release only.
  note "agentctl tests (release)"
  run_doctest "agentctl tests (release)" build/release/tests/agentcore_agentctl_tests
  # The installed library alone: a find_package() and a pkg-config consumer build and run.
  note "package consumers (release)"
  if tests/package/run.sh build/release; then
    passed=$((passed + 1))
  else
    fail "package consumers (release)"
  fi
  run_embed_hub "release" build/release
  run_c_api "release" build/release  # c-api
  run_python "release" build/release
  # Agents in real containers (issue 14): a private Podman engine serving the Docker API, the
  # echo agent's image built into it; the engine tests (the library's Docker runtime) and the
  # end-to-end tests (agentcore-server --runtime docker). Release binaries only.
  note "container tests on a private Podman engine (release)"
  podman_dir="$(mktemp -d -t agentcore-podman.XXXXXX)"
  if AGENTCORE_TEST_DOCKER_HOST="$(BUILD_DIR=build/release scripts/podman-test-service.sh start "$podman_dir")"; then
    export AGENTCORE_TEST_DOCKER_HOST
    run_doctest "engine tests (release)" build/release/tests/agentcore_engine_tests
    run_doctest "container tests (release)" build/release/tests/agentcore_container_tests
    unset AGENTCORE_TEST_DOCKER_HOST
    # The server's own image (scripts/build-server-image.sh) on the same engine: /health
    # answers, non-root, one server per SQLite volume, SIGTERM exits 0.
    note "server image on the private Podman engine (release)"
    if PODMAN_ARGS="$(scripts/podman-test-service.sh env "$podman_dir")" \
        CONTAINERS_CONF="$podman_dir/containers.conf" BUILD_DIR=build/release \
        scripts/check-server-image.sh; then
      passed=$((passed + 1))
    else
      fail "server image (release)"
    fi
  else
    echo "ERROR: the private Podman engine did not start (see above); the container tests" \
      "cannot run" >&2
    fail "podman: the private test engine did not start"
  fi
  stop_podman
  podman_dir=""
fi

note "sanitizer build (address, undefined; with the fuzz targets)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# One tree for the sanitized tests and the fuzzers: the fuzzers need the same sanitizers and
# clang, and a second build of the library and the server for them cost ~6 minutes of CI.
asan_built=0
if build_tree asan build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGENTCORE_WERROR=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DAGENTCORE_FUZZ=ON \
    "-DAGENTCORE_SANITIZE=address;undefined" -DAGENTCORE_BUILD_BENCHMARKS=OFF \
    -DAGENTCORE_BUILD_TOOLS=OFF -DAGENTCORE_BUILD_PYTHON=OFF; then
  asan_built=1
  note "unit tests (address, undefined)"
  run_doctest "unit tests (asan)" build/asan/tests/agentcore_unit_tests
  note "PostgreSQL tests (address, undefined)"
  run_pg_tests "pg tests (asan)" build/asan/tests/agentcore_pg_tests
  # The three-server cluster tests run in the release phase only: the library code they drive
  # (the cluster link, leases, the change log) runs under ASan in the PostgreSQL tests above
  # (HubCluster, PostgresChangeLog), and three sanitized servers with their agents on two
  # cores would add minutes to a CI run that must stay under 40.
  note "server tests (address, undefined)"
  run_doctest "server tests (asan)" build/asan/tests/agentcore_server_tests
  run_embed_hub "asan" build/asan
  run_c_api "asan" build/asan  # c-api
fi

# The server is the multi-threaded part (io threads, blocking pool, broadcaster): its tests run
# once more under ThreadSanitizer.
note "thread sanitizer build (server)"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
if BUILD_TARGETS="agentcore_server_tests" build_tree tsan build/tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAGENTCORE_WERROR=ON -DAGENTCORE_SANITIZE=thread -DAGENTCORE_BUILD_BENCHMARKS=OFF \
    -DAGENTCORE_BUILD_TOOLS=OFF -DAGENTCORE_BUILD_PYTHON=OFF; then
  note "server tests (thread)"
  run_doctest "server tests (tsan)" build/tsan/tests/agentcore_server_tests
fi

note "fuzz targets (clang, libFuzzer, ${FUZZ_SECONDS}s each)"
if ((asan_built)); then
  # One fuzzer per core at a time: they are independent, and the time is their sum otherwise.
  run_fuzzer() {  # NAME BINARY -> build/fuzz-NAME.log, build/fuzz-NAME.status
    local corpus
    corpus="$(mktemp -d)"
    cp tests/data/fuzz/"$1"/* "$corpus"/ 2>/dev/null || true
    "$2" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=4096 -timeout=10 -print_final_stats=0 \
      "$corpus" >"build/fuzz-$1.log" 2>&1
    echo $? >"build/fuzz-$1.status"
    rm -rf "$corpus"
  }
  fuzzers=()
  for fuzzer in build/asan/tests/fuzz/*_fuzz; do
    [[ -x "$fuzzer" ]] || continue
    name="$(basename "$fuzzer" _fuzz)"
    fuzzers+=("$name")
    rm -f "build/fuzz-$name.status"
    while (($(jobs -rp | wc -l) >= JOBS)); do wait -n; done
    run_fuzzer "$name" "$fuzzer" &
  done
  wait
  for name in "${fuzzers[@]}"; do
    echo "--- $name"
    if [[ "$(cat "build/fuzz-$name.status" 2>/dev/null)" == 0 ]]; then
      passed=$((passed + 1))
      tail -n 2 "build/fuzz-$name.log"
    else
      tail -n 40 "build/fuzz-$name.log"
      fail "fuzz $name"
    fi
  done
fi

note "summary"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "${passed} passed, ${failed} failed"
((failed == 0))
