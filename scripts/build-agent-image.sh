#!/usr/bin/env bash
# Builds the echo agent's container image with podman, tagged
# localhost/agentcore-echo-agent:latest (what `agentcore-server --runtime docker` runs for every
# agent type that has no --agent-image TYPE=IMAGE).
#
# No registry is needed: the image is `FROM scratch` with the echo-agent binary from the build
# directory (BUILD_DIR, default build/release), the shared libraries it links (from ldd) and the
# loader. Run it after building. The image goes to podman's default storage unless PODMAN_ARGS
# names another (the test command passes its private --root/--runroot).
#
#   BUILD_DIR=build/release bash scripts/build-agent-image.sh
#   IMAGE=localhost/my-echo:dev  (another tag)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir="${BUILD_DIR:-build/release}"
image="${IMAGE:-localhost/agentcore-echo-agent:latest}"
agent="$build_dir/server/echo-agent"
read -r -a podman_args <<<"${PODMAN_ARGS:-}"

if [[ ! -x "$agent" ]]; then
  echo "build-agent-image: no echo agent at $agent; build first (cmake --build $build_dir)" >&2
  exit 1
fi
if ! command -v podman >/dev/null; then
  echo "build-agent-image: podman is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

ctx="$(mktemp -d -t agentcore-image.XXXXXX)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/usr/local/bin" "$ctx/rootfs/tmp" "$ctx/rootfs/etc"
cp "$agent" "$ctx/rootfs/usr/local/bin/echo-agent"
# Every library the agent loads, and the loader, at the paths ldd resolved them to.
while read -r lib; do
  mkdir -p "$ctx/rootfs$(dirname "$lib")"
  cp -L "$lib" "$ctx/rootfs$lib"
done < <(ldd "$agent" | grep -oE '/[^ ]+' | sort -u)
# libc's name service reads these; without them getpwuid and getaddrinfo("localhost") fail.
printf 'root:x:0:0:root:/tmp:/usr/local/bin/echo-agent\n' >"$ctx/rootfs/etc/passwd"
printf 'root:x:0:\n' >"$ctx/rootfs/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$ctx/rootfs/etc/hosts"
printf 'hosts: files dns\n' >"$ctx/rootfs/etc/nsswitch.conf"
cat >"$ctx/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY rootfs/ /
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/echo-agent"]
CONTAINERFILE
podman "${podman_args[@]}" build --quiet -t "$image" "$ctx" >/dev/null
echo "$image"
