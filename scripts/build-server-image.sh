#!/usr/bin/env bash
# Builds agentcore-server's container image with podman, tagged
# localhost/agentcore-server:latest (docs/deployment.md "Container image").
#
# No registry is needed: the image is `FROM scratch` with the release agentcore-server and the
# echo agent beside it (its default agent command) from the build directory (BUILD_DIR,
# default build/release; built here when missing), their shared libraries (from ldd) and the
# loader (scripts/image-rootfs.sh). The server runs as uid/gid 65532 ("agentcore"), listens on
# 0.0.0.0:3234 and keeps its data in /data (SQLite database, agent logs, blobs); mount a volume
# there, or give DATABASE_URL=postgres://… for several servers. The image goes to podman's
# default storage unless PODMAN_ARGS names another (the test command passes its private
# --root/--runroot).
#
#   bash scripts/build-server-image.sh
#   IMAGE=localhost/agentcore-server:dev  (another tag)
#   podman run -d -p 3234:3234 -v agentcore:/data -e JWT_SECRET=… -e CAST_CONTAINER_SECRET=… \
#     localhost/agentcore-server:latest
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/image-rootfs.sh
source scripts/image-rootfs.sh

build_dir="${BUILD_DIR:-build/release}"
image="${IMAGE:-localhost/agentcore-server:latest}"
server="$build_dir/server/agentcore-server"
agent="$build_dir/server/echo-agent"
uid=65532

if ! command -v podman >/dev/null; then
  echo "build-server-image: podman is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi
if [[ ! -x "$server" || ! -x "$agent" ]]; then
  if [[ ! -f "$build_dir/build.ninja" ]]; then
    cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  fi
  cmake --build "$build_dir" --target agentcore-server echo-agent >&2
fi

ctx="$(mktemp -d -t agentcore-image.XXXXXX)"
trap 'rm -rf "$ctx"' EXIT
image_rootfs_add_binary "$ctx/rootfs" "$server" /usr/local/bin/agentcore-server
image_rootfs_add_binary "$ctx/rootfs" "$agent" /usr/local/bin/echo-agent
image_rootfs_etc "$ctx/rootfs" \
  "agentcore:x:$uid:$uid:agentcore:/data:/usr/local/bin/agentcore-server" "agentcore:x:$uid:"
mkdir -p "$ctx/data"
cat >"$ctx/Containerfile" <<CONTAINERFILE
FROM scratch
COPY rootfs/ /
COPY --chown=$uid:$uid data/ /data/
ENV HOST=0.0.0.0 PORT=3234 AGENTCORE_DATA_DIR=/data DATABASE_URL=sqlite:///data/agentcore.db
USER $uid:$uid
WORKDIR /data
EXPOSE 3234
ENTRYPOINT ["/usr/local/bin/agentcore-server"]
CONTAINERFILE
image_build "$ctx" "$image"
echo "$image"
