#!/usr/bin/env bash
# Installs, from Debian's packages, whatever the build, the tests and the server need and is
# missing. Safe to run again: it only calls apt-get when a package is not installed yet.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libsimdjson-dev libfmt-dev libcli11-dev doctest-dev libbenchmark-dev
  libsqlite3-dev libpq-dev postgresql libssl-dev
  libasio-dev libhttp-parser-dev libwslay-dev libcurl4-openssl-dev libjemalloc-dev pybind11-dev
  zlib1g-dev unzip python3
  clang libclang-rt-14-dev llvm
  podman runc curl
  busybox-static
  bubblewrap
  libargon2-dev
  zsh
  python3-dev python3-pytest python3-setuptools python3-wheel python3-pip  # bindings/python
)
# The OpenAPI check's validator comes from npm (tests/openapi/check.sh): Debian's nodejs and
# npm, unless a node that ships its own npm (NodeSource's, which conflicts with Debian's npm
# package) is there already.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
if [[ "${1:-}" == "--print" ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
