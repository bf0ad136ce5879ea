#!/usr/bin/env bash
# Shared by the image scripts (build-agent-image.sh, build-server-image.sh); source it. A
# `FROM scratch` image is a directory of binaries with their shared libraries and the loader
# at the paths ldd resolved them to, a few /etc files libc's name service reads, and a
# Containerfile; no registry, no base image.

# image_rootfs_add_binary ROOTFS BINARY DEST: copies BINARY to ROOTFS/DEST and every library
# it loads (and the loader) to the same path under ROOTFS.
image_rootfs_add_binary() {
  local rootfs="$1" binary="$2" dest="$3" lib
  mkdir -p "$rootfs$(dirname "$dest")"
  cp "$binary" "$rootfs$dest"
  while read -r lib; do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done < <(ldd "$binary" | grep -oE '/[^ ]+' | sort -u)
}

# image_rootfs_etc ROOTFS PASSWD_LINE GROUP_LINE: /etc/passwd and /etc/group with one entry
# each, and hosts and nsswitch.conf; without them getpwuid and getaddrinfo("localhost") fail.
image_rootfs_etc() {
  local rootfs="$1"
  mkdir -p "$rootfs/etc" "$rootfs/tmp"
  chmod 1777 "$rootfs/tmp"
  printf '%s\n' "$2" >"$rootfs/etc/passwd"
  printf '%s\n' "$3" >"$rootfs/etc/group"
  printf '127.0.0.1 localhost\n::1 localhost\n' >"$rootfs/etc/hosts"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
}

# image_build CONTEXT IMAGE: podman build of CONTEXT/Containerfile, tagged IMAGE, into the
# storage PODMAN_ARGS names (podman's default without it).
image_build() {
  local podman_args=()
  read -r -a podman_args <<<"${PODMAN_ARGS:-}"
  podman "${podman_args[@]}" build --quiet -t "$2" "$1" >/dev/null
}
