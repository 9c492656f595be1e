#!/usr/bin/env bash
# The scaffold/images fixture: the Debian 12 base image (made locally, see
# tests/support/debian-image.sh) and soom's two images built from the source
# tree, soom:VERSION and soom-dev:VERSION, the ones a generated app's
# Containerfile starts from. podman's layer cache keeps what did not change,
# so the suite builds them once per run; the images they replace are removed.
set -euo pipefail
source=$1
version=$2
"$source/tests/support/debian-image.sh"
build() { # TAG [podman build arguments]
  local tag=$1 old
  shift
  old=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
  podman build --isolation chroot --pull=never --quiet -t "$tag" "$@" "$source" >/dev/null
  if [ -n "$old" ] && [ "$old" != "$(podman image inspect --format '{{.Id}}' "$tag")" ]; then
    podman rmi "$old" >/dev/null 2>&1 || true # still a cached layer of another image
  fi
}
t0=$(date +%s)
build "localhost/soom:$version"
build "localhost/soom-dev:$version" --target dev
echo "built soom:$version and soom-dev:$version in $(($(date +%s) - t0)) s"
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "/soom(-dev)?:$version " || true
