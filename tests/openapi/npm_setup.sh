#!/usr/bin/env bash
# Installs the npm tools of the OpenAPI tests (tests/openapi/package.json,
# pinned with integrity hashes by package-lock.json) into $1, a folder of
# the build tree. Idempotent: does nothing when the lock file is unchanged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dest=$1
mkdir -p "$dest"
if [ -f "$dest/node_modules/.soom-lock" ] && cmp -s "$here/package-lock.json" "$dest/node_modules/.soom-lock"; then
  exit 0
fi
command -v npm >/dev/null || { echo "npm is not installed (.ci/setup installs it)" >&2; exit 1; }
cp "$here/package.json" "$here/package-lock.json" "$dest/"
cd "$dest"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
cp package-lock.json node_modules/.soom-lock
echo "npm tools installed in $dest"
