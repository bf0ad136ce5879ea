#!/usr/bin/env bash
# A private, throwaway Podman engine serving the Docker Engine API, for the container tests and
# benchmarks (the Docker runtime is tested against a real engine).
#
#   scripts/podman-test-service.sh start [DIR]  start `podman system service` on DIR/podman.sock
#                                               (DIR default: a new temp dir) with its own
#                                               storage under DIR, build the echo agent's image
#                                               into it (scripts/build-agent-image.sh, BUILD_DIR)
#                                               and the session tests' busybox image
#                                               (scripts/build-session-test-image.sh),
#                                               and print DOCKER_HOST (unix://DIR/podman.sock) as
#                                               the only line on stdout
#   scripts/podman-test-service.sh stop DIR     remove every container, stop the service, delete
#                                               DIR
#   scripts/podman-test-service.sh env DIR      print the podman arguments of that engine
#                                               (--root/--runroot), for `podman $(... env DIR) ps`
#
# What these machines need (measured; see docs/runtimes.md): runc instead of Debian's default
# crun ("cgroups in hybrid mode not supported"), and default ulimits no higher than ours (no
# CAP_SYS_RESOURCE here). Both go into DIR/containers.conf, used through CONTAINERS_CONF.
# Set SKIP_IMAGE=1 to start the engine without building the images.
set -euo pipefail
cd "$(dirname "$0")/.."

die() {
  echo "podman-test-service: $*" >&2
  exit 1
}

podman_args() { echo "--root $1/root --runroot $1/run --tmpdir $1/tmp"; }

start() {
  local dir="${1:-}"
  command -v podman >/dev/null || die "podman is not installed (scripts/install-deps.sh)"
  if [[ -z "$dir" ]]; then dir="$(mktemp -d -t agentcore-podman.XXXXXX)"; fi
  mkdir -p "$dir/root" "$dir/run" "$dir/tmp"
  cat >"$dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
  export CONTAINERS_CONF="$dir/containers.conf"
  local sock="$dir/podman.sock"
  # shellcheck disable=SC2046
  setsid podman $(podman_args "$dir") system service --time=0 "unix://$sock" \
    >"$dir/service.log" 2>&1 </dev/null &
  echo $! >"$dir/service.pid"
  local i
  for ((i = 0; i < 100; i++)); do
    if curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  curl -fsS --unix-socket "$sock" http://d/_ping >/dev/null 2>&1 ||
    { cat "$dir/service.log" >&2; stop "$dir"; die "the engine did not answer on $sock"; }
  if [[ "${SKIP_IMAGE:-0}" != 1 ]]; then
    PODMAN_ARGS="$(podman_args "$dir")" bash scripts/build-agent-image.sh >/dev/null ||
      { stop "$dir"; die "could not build the echo agent's image"; }
    PODMAN_ARGS="$(podman_args "$dir")" bash scripts/build-session-test-image.sh >/dev/null ||
      { stop "$dir"; die "could not build the session tests' image"; }
  fi
  echo "podman-test-service: engine in $dir" >&2
  echo "unix://$sock"
}

stop() {
  local dir="${1:?usage: $0 stop DIR}"
  [[ -d "$dir" ]] || return 0
  export CONTAINERS_CONF="$dir/containers.conf"
  # shellcheck disable=SC2046
  podman $(podman_args "$dir") rm -af -t 0 >/dev/null 2>&1 || true
  if [[ -f "$dir/service.pid" ]]; then
    local pid
    pid="$(cat "$dir/service.pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Storage may hold overlay mounts; podman's own reset unmounts them before we delete.
  # shellcheck disable=SC2046
  podman $(podman_args "$dir") system reset -f >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  env) echo "$(podman_args "${2:?usage: $0 env DIR}")" ;;
  *) die "usage: $0 start [DIR] | stop DIR | env DIR" ;;
esac
