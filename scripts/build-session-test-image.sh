#!/usr/bin/env bash
# Builds the session tests' container image with podman, tagged
# localhost/agentcore-session-test:latest: `FROM scratch` with Debian's static busybox
# (busybox-static, /bin/busybox) and a symlink per applet the tests use, so a session has a shell,
# cat, nc and httpd. No registry is needed. The image goes to podman's default storage unless
# PODMAN_ARGS names another (scripts/podman-test-service.sh passes its private --root/--runroot).
#
#   bash scripts/build-session-test-image.sh
#   IMAGE=localhost/my-session:dev  (another tag)   BUSYBOX=/path/to/busybox  (another binary)
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/image-rootfs.sh
source scripts/image-rootfs.sh

image="${IMAGE:-localhost/agentcore-session-test:latest}"
busybox="${BUSYBOX:-/bin/busybox}"

if [[ ! -x "$busybox" ]] || ! { ldd "$busybox" 2>&1 || true; } | grep -q "not a dynamic executable"; then
  echo "build-session-test-image: no static busybox at $busybox (apt-get install busybox-static)" >&2
  exit 1
fi
if ! command -v podman >/dev/null; then
  echo "build-session-test-image: podman is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

ctx="$(mktemp -d -t agentcore-image.XXXXXX)"
trap 'rm -rf "$ctx"' EXIT
mkdir -p "$ctx/rootfs/bin" "$ctx/rootfs/workspace"
cp "$busybox" "$ctx/rootfs/bin/busybox"
for applet in sh cat echo sleep nc httpd ls env pwd head tail yes dd true false kill id wc \
  printf test mkdir rm touch grep sed; do
  ln -s busybox "$ctx/rootfs/bin/$applet"
done
image_rootfs_etc "$ctx/rootfs" 'root:x:0:0:root:/tmp:/bin/sh' 'root:x:0:'
cat >"$ctx/Containerfile" <<'CONTAINERFILE'
FROM scratch
COPY rootfs/ /
ENV PATH=/bin
WORKDIR /workspace
CMD ["/bin/sh"]
CONTAINERFILE
image_build "$ctx" "$image"
echo "$image"
