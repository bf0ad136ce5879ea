#!/usr/bin/env bash
# Builds the echo agent's container image with podman, tagged
# localhost/agentcore-echo-agent:latest (what `agentcore-server --runtime docker` runs for every
# agent type that has no --agent-image TYPE=IMAGE).
#
# No registry is needed: the image is `FROM scratch` with the echo-agent binary from the build
# directory (BUILD_DIR, default build/release), the shared libraries it links (from ldd) and the
# loader (scripts/image-rootfs.sh). Run it after building. The image goes to podman's default
# storage unless PODMAN_ARGS names another (the test command passes its private
# --root/--runroot).
#
#   BUILD_DIR=build/release bash scripts/build-agent-image.sh
#   IMAGE=localhost/my-echo:dev  (another tag)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/image-rootfs.sh
source scripts/image-rootfs.sh

build_dir="${BUILD_DIR:-build/release}"
image="${IMAGE:-localhost/agentcore-echo-agent:latest}"
agent="$build_dir/server/echo-agent"

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
image_rootfs_add_binary "$ctx/rootfs" "$agent" /usr/local/bin/echo-agent
image_rootfs_etc "$ctx/rootfs" 'root:x:0:0:root:/tmp:/usr/local/bin/echo-agent' 'root:x:0:'
cat >"$ctx/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY rootfs/ /
WORKDIR /tmp
ENTRYPOINT ["/usr/local/bin/echo-agent"]
CONTAINERFILE
image_build "$ctx" "$image"
echo "$image"
