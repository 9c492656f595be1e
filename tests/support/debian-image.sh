#!/usr/bin/env bash
# Makes the Debian 12 base image the Containerfiles start from,
# docker.io/library/debian:bookworm-slim, from Debian's own packages with
# mmdebstrap, and imports it into podman's local store, unless it is there
# already (so a test run builds it once). Machines without a registry get the
# image this way; elsewhere podman or docker pull the official one.
#
# Like the official slim image: minbase, merged /usr, without manuals,
# translations and documentation (the copyright files stay), no apt lists.
set -euo pipefail
IMAGE=docker.io/library/debian:bookworm-slim
lock=${TMPDIR:-/tmp}/soom-debian-image.lock
exec 9>"$lock"
flock 9
if podman image exists "$IMAGE"; then
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=minbase --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/apt/* "$1"/var/log/*.log' \
  bookworm "$work/bookworm.tar" >"$work/mmdebstrap.log" 2>&1 || {
  cat "$work/mmdebstrap.log" >&2
  exit 1
}
podman import --change 'CMD ["bash"]' "$work/bookworm.tar" "$IMAGE" >/dev/null
echo "imported $IMAGE"
