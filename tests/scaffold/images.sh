#!/usr/bin/env bash
# The scaffold/images fixture: the Debian 12 base image (made locally, see
# tests/support/debian-image.sh) and soom's two images built from the source
# tree, soom:VERSION and soom-dev:VERSION, the ones a generated app's
# Containerfile starts from. podman's layer cache keeps what did not change,
# so the suite builds them once per run.
set -euo pipefail
source=$1
version=$2
"$source/tests/support/debian-image.sh"
podman build --isolation chroot --pull=never --quiet -t "localhost/soom:$version" "$source" >/dev/null
podman build --isolation chroot --pull=never --quiet --target dev -t "localhost/soom-dev:$version" \
  "$source" >/dev/null
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "/soom(-dev)?:$version " || true
