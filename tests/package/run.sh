#!/usr/bin/env bash
# Proves the installed library is usable on its own: installs the component `library` of a
# built tree into a scratch prefix, then builds tests/package/consumer.cpp against that prefix
# twice, through find_package(agentcore) (cmake-consumer/) and through pkg-config
# (pkgconfig-consumer/), runs both and checks the line they print; when the tree built the C API,
# also installs the component `c` and builds and runs tests/package/c-consumer (C11, through the
# same CMake package).
#
#   tests/package/run.sh BUILD_DIR     (a configured and built tree, e.g. build/release)
#
# Uses the tree's C++ compiler (or $CONSUMER_CXX), and ccache when it is installed. Meant for a tree without
# sanitizers (the consumers are built without them). Exits non-zero on the first failure; the
# scratch directory is removed either way.
set -euo pipefail

if (($# != 1)) || [[ ! -f "$1/CMakeCache.txt" ]]; then
  echo "usage: $0 BUILD_DIR (a configured and built tree)" >&2
  exit 2
fi
build="$(cd "$1" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d -t agentcore-package.XXXXXX)"
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

# Runs a step quietly; on failure shows its output and stops.
step() {
  local name="$1" log="$work/step.log"
  shift
  if ! "$@" >"$log" 2>&1; then
    cat "$log"
    echo "package: $name failed" >&2
    exit 1
  fi
}

step "install" cmake --install "$build" --prefix "$prefix" --component library
# c-api (begin): the C API's header and library (component `c`), when the tree built them.
with_c_api=0
if grep -q '^AGENTCORE_BUILD_C_API:BOOL=ON' "$build/CMakeCache.txt"; then
  with_c_api=1
  step "install (c)" cmake --install "$build" --prefix "$prefix" --component c
fi
# c-api (end)

# The tree's own compiler (CMakeLists.txt may have chosen clang without caching it), unless
# CONSUMER_CXX names another: a consumer built by a different compiler than the library is a
# case worth running by hand (the public headers must compile with both).
cxx="${CONSUMER_CXX:-}"
if [[ -z "$cxx" ]]; then
  cxx="$(sed -n 's/^set(CMAKE_CXX_COMPILER "\(.*\)")$/\1/p' \
    "$build"/CMakeFiles/*/CMakeCXXCompiler.cmake | head -n 1)"
fi
[[ -n "$cxx" ]] || cxx=c++
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(ccache)
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)

pc_file="$(find "$prefix" -name agentcore.pc -print -quit)"
[[ -n "$pc_file" ]] || { echo "package: no agentcore.pc under $prefix" >&2; exit 1; }
libdir="$(dirname "$(dirname "$pc_file")")"
# A shared libagentcore is found at run time from the prefix; a static one needs nothing.
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

version="$(sed -n 's/^#define AGENTCORE_VERSION_STRING "\(.*\)"$/\1/p' \
  "$prefix/include/agentcore/version.hpp")"
expected="agentcore $version: tymbal m1, routed to bob,carol, stored 1 message, hub with 1 channel"

# Runs one consumer binary in a fresh scratch directory and compares what it prints.
check() {
  local name="$1" binary="$2" dir="$work/run-$1" out
  mkdir -p "$dir"
  if ! out="$("$binary" "$dir" 2>"$work/$name.err")"; then
    cat "$work/$name.err"
    echo "package: the $name consumer failed" >&2
    exit 1
  fi
  if [[ "$out" != "$expected" ]]; then
    printf 'package: the %s consumer printed\n  %s\nexpected\n  %s\n' "$name" "$out" "$expected" >&2
    exit 1
  fi
  echo "package ($name): $out"
}

# 1. CMake: only the prefix is searched for agentcore (no package registry, no build tree).
cmake_flags=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_COMPILER=$cxx" "-DCMAKE_PREFIX_PATH=$prefix"
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
((${#launcher[@]})) && cmake_flags+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
step "cmake consumer: configure" cmake -S "$here/cmake-consumer" -B "$work/cmake-build" \
  "${generator[@]}" "${cmake_flags[@]}"
found="$(sed -n 's/^agentcore_DIR:[A-Z]*=//p' "$work/cmake-build/CMakeCache.txt")"
if [[ "$found" != "$prefix"/* ]]; then
  echo "package: find_package(agentcore) found '$found', not the package under $prefix" >&2
  exit 1
fi
step "cmake consumer: build" cmake --build "$work/cmake-build"
check cmake "$work/cmake-build/agentcore-consumer"

# 2. pkg-config: a plain Makefile, the compiler line pkg-config gives.
mkdir -p "$work/pkgconfig-build"
step "pkg-config consumer: build" env PKG_CONFIG_PATH="$(dirname "$pc_file")" \
  make -C "$here/pkgconfig-consumer" "CXX=${launcher[*]} $cxx" "OUT=$work/pkgconfig-build"
check pkg-config "$work/pkgconfig-build/agentcore-consumer"

# c-api (begin): 3. C: the C API through the same CMake package (agentcore::agentcore_c), built
# with the tree's C compiler.
if ((with_c_api)); then
  cc="$(sed -n 's/^set(CMAKE_C_COMPILER "\(.*\)")$/\1/p' "$build"/CMakeFiles/*/CMakeCCompiler.cmake |
    head -n 1)"
  [[ -n "$cc" ]] || cc=cc
  c_flags=("${cmake_flags[@]}" "-DCMAKE_C_COMPILER=$cc")
  ((${#launcher[@]})) && c_flags+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache)
  step "C consumer: configure" cmake -S "$here/c-consumer" -B "$work/c-build" \
    "${generator[@]}" "${c_flags[@]}"
  step "C consumer: build" cmake --build "$work/c-build"
  expected="agentcore-c $version: tymbal m1, routed to bob,carol, hub with 1 channel"
  check c "$work/c-build/agentcore-c-consumer"
fi
# c-api (end)
