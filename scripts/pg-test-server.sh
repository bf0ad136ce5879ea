#!/usr/bin/env bash
# A private, throwaway PostgreSQL cluster for the tests and the store benchmark.
#
#   scripts/pg-test-server.sh start [DIR]   initdb in DIR (default: a new temp dir), start the
#                                           server on 127.0.0.1 and a free port, create the
#                                           database "agentcore", print its DSN as the only
#                                           line on stdout (the directory goes to stderr)
#   scripts/pg-test-server.sh stop DIR      stop that server and delete DIR
#
# The cluster keeps PostgreSQL's defaults (fsync on, synchronous_commit on), listens on
# 127.0.0.1 only, puts its unix socket inside DIR, and requires a random password (scram) so
# other local users cannot use it. initdb refuses to run as root, so under root the cluster is
# owned by the `postgres` system user. The binaries come from the newest
# /usr/lib/postgresql/<version>/bin, or from PG_BINDIR when set.
set -euo pipefail

die() {
  echo "pg-test-server: $*" >&2
  exit 1
}

find_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then
    echo "$PG_BINDIR"
    return
  fi
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" ]] && best="$d"  # the glob sorts; numeric versions of equal length
  done
  if [[ -z "$best" ]] && command -v initdb >/dev/null 2>&1; then
    best="$(dirname "$(command -v initdb)")"
  fi
  [[ -n "$best" ]] || die "no PostgreSQL server binaries (install the postgresql package)"
  echo "$best"
}

# Runs a command as the cluster owner: `postgres` when we are root, else ourselves.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on now (the server may still lose a race for it;
# start() retries with another one).
free_port() {
  local port i
  for ((i = 0; i < 100; i++)); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
  die "no free port found"
}

start() {
  local dir="${1:-}"
  local bindir
  bindir="$(find_bindir)"
  if [[ -z "$dir" ]]; then
    dir="$(mktemp -d -t agentcore-pg.XXXXXX)"
  else
    mkdir -p "$dir"
    [[ -z "$(ls -A "$dir")" ]] || die "$dir is not empty"
  fi
  if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs the postgres system user"
    chown postgres: "$dir"
    chmod 700 "$dir"
  fi
  local password
  password="$(head -c 18 /dev/urandom | base64 | tr '+/' 'xy')"
  printf '%s\n' "$password" >"$dir/pwfile"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/pwfile"
  if ! as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=scram-sha-256 \
      --pwfile="$dir/pwfile" -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed"
  fi
  rm -f "$dir/pwfile"
  local port attempt
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir \
            -c max_connections=300" start >/dev/null 2>&1; then
      break
    fi
    echo "pg-test-server: start on port $port failed (attempt $attempt)" >&2
    port=""
  done
  if [[ -z "$port" ]]; then
    tail -n 30 "$dir/server.log" >&2 || true
    die "the server did not start"
  fi
  echo "$port" >"$dir/port"
  if ! PGPASSWORD="$password" "$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres \
      -d postgres -c "CREATE DATABASE agentcore" >/dev/null; then
    stop "$dir"
    die "cannot create the database"
  fi
  echo "pg-test-server: cluster in $dir, port $port" >&2
  echo "postgresql://postgres:${password}@127.0.0.1:${port}/agentcore"
}

stop() {
  local dir="${1:-}"
  [[ -n "$dir" && -d "$dir" ]] || die "usage: $0 stop DIR"
  [[ -f "$dir/data/PG_VERSION" || -f "$dir/initdb.log" ]] || die "$dir is not a test cluster"
  if [[ -f "$dir/data/postmaster.pid" ]]; then
    as_owner "$(find_bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  *)
    echo "usage: $0 start [DIR] | stop DIR" >&2
    exit 2
    ;;
esac
