#!/usr/bin/env bash
# One command to try Soom on Debian 12: installs the dependencies (as root,
# or says which are missing), builds, and serves an example app, the sample
# by default, on http://127.0.0.1:8000 with its own PostgreSQL under
# apps/<app>/.soom when DATABASE_URL is unset. Ctrl-C stops it.
#
#   bash apps/run.sh                 # the sample app
#   bash apps/run.sh sample --port 9000
set -euo pipefail
cd "$(dirname "$0")/.."
app=sample
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  app=$1
  shift
fi
[ -d "apps/$app" ] || { echo "apps/$app is not an app folder" >&2; exit 2; }
bash .ci/setup
exec ./build/bin/soom run "apps/$app" "$@"
