#!/usr/bin/env bash
# The scaffold/npm fixture: installs the validators of package.json into
# DEST (under the build tree, never committed), unless the same list is
# installed there already.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
dest=$1
mkdir -p "$dest"
if [ -d "$dest/node_modules" ] && cmp -s "$src/package.json" "$dest/.installed.json"; then
  echo "validators already installed in $dest"
  exit 0
fi
command -v npm >/dev/null || { echo "npm is missing: run .ci/setup (as root)" >&2; exit 1; }
cp "$src/package.json" "$dest/package.json"
(cd "$dest" && npm install --no-audit --no-fund --loglevel=error)
cp "$src/package.json" "$dest/.installed.json"
echo "validators installed in $dest"
