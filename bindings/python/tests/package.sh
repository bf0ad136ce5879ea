#!/usr/bin/env bash
# The two ways the Python module installs, each into a scratch directory, each then imported
# there by /usr/bin/python3 (parse a frame, open a hub) with nothing else on PYTHONPATH:
#   1. cmake --install BUILD_DIR --component python --prefix <prefix>;
#   2. pip install --no-build-isolation --target <dir> ./bindings/python, offline, reusing
#      BUILD_DIR's compiled module (AGENTCORE_CMAKE_BUILD_DIR; a plain `pip install` configures
#      and builds a tree of its own, the same code path with a fresh directory).
#   bindings/python/tests/package.sh BUILD_DIR
set -euo pipefail
(($# == 1)) || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build="$(cd "$1" && pwd)"
here="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d -t agentcore-python-package.XXXXXX)"
trap 'rm -rf "$work" "$here/build" "$here"/*.egg-info' EXIT

check() {  # DIR: import the package from DIR alone
  (cd "$work" && PYTHONPATH="$1" /usr/bin/python3 -I -c '
import sys, tempfile
sys.path.insert(0, sys.argv[1])
import agentcore
assert agentcore.__file__.startswith(sys.argv[1]), agentcore.__file__
assert agentcore.parse_frame(b"{\"i\":\"a\",\"a\":\"x\"}").text == "x"
with tempfile.TemporaryDirectory() as d, agentcore.open_hub(f"sqlite://{d}/h.db", data_dir=d) as h:
    h.ensure_space("s")
    assert h.create_channel("s", "c").name == "c"
' "$1")
}

cmake --install "$build" --prefix "$work/prefix" --component python >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; exit 1; }
site="$(find "$work/prefix" -name __init__.py -path '*/agentcore/*' -printf '%h\n' | head -n 1)"
[[ -n $site && -f $site/py.typed && -f $site/__init__.pyi ]] || { echo "package: install incomplete" >&2; exit 1; }
check "$(dirname "$site")"
echo "package: cmake --install --component python: ok"

AGENTCORE_CMAKE_BUILD_DIR="$build" PIP_NO_INDEX=1 /usr/bin/python3 -m pip install -q \
  --no-build-isolation --no-deps --target "$work/pip" "$here" >"$work/pip.log" 2>&1 ||
  { cat "$work/pip.log"; exit 1; }
check "$work/pip"
echo "package: pip install --no-build-isolation: ok"
