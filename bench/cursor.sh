#!/usr/bin/env bash
# The cost of a cursor page (docs/PAGINATION.md), instructions per request
# with callgrind (repeatable on a noisy machine):
#
#   bench/cursor.sh [--requests N]
#
# GET /cursor?page_size=20&cursor=<a position inside the table> of
# bench/app, one thread, keep-alive, access log on: each request opens one
# cursor and seals two (its next and previous links). Prints the total per
# request and the part spent in soom_page_cursor_encode and _decode.
#
# Needs DATABASE_URL (a database where it may create the table "sample").
# SOOM_BIN picks the binary (for a before/after pair).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
N=3000; PORT=${PORT:-9313}
while [ $# -gt 0 ]; do case $1 in
  --requests) N=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
: "${DATABASE_URL:?set DATABASE_URL}"
tmp=$(mktemp -d); [ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT; echo "files: $tmp" >&2
psql -qX "$DATABASE_URL" -c "CREATE TABLE IF NOT EXISTS sample (id bigserial PRIMARY KEY,
  name text NOT NULL, score int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  INSERT INTO sample (name, score) SELECT 'n' || g, g % 100 FROM generate_series(1, 100) g
  WHERE NOT EXISTS (SELECT 1 FROM sample);" >/dev/null
export SOOM_ACCESS_LOG=true SOOM_THREADS=1 SOOM_SECRET_KEY=bench SOOM_CHECK__DRIFT=warn

total() { # idle|load -> "total encode decode"
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
    "$SOOM" run "$HERE/app" --port "$PORT" >"$tmp/log.$1" 2>&1 &
  local pid=$!
  for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$PORT/json" 2>/dev/null && break; sleep 0.2; done
  if [ "$1" = load ]; then
    local next
    next=$(curl -s "http://127.0.0.1:$PORT/cursor?page_size=20" | python3 -c \
      'import json,sys; print(json.load(sys.stdin)["next"])')
    for ((i = 0; i < N; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$next"; done >"$tmp/urls"
    curl -s -K "$tmp/urls"
  fi
  kill -INT $pid; sleep 1; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  callgrind_annotate --inclusive=yes --threshold=100 "$tmp/cg.$1" 2>/dev/null | awk '
    /PROGRAM TOTALS/ {gsub(",", "", $1); t=$1}
    /soom_page_cursor_encode/ && !e {gsub(",", "", $1); e=$1}
    /soom_page_cursor_decode/ && !d {gsub(",", "", $1); d=$1}
    END {print t+0, e+0, d+0}'
}
read -r it ie id < <(total idle)
read -r lt le ld < <(total load)
echo "instructions per request, GET /cursor (one cursor opened, two sealed), $N requests:"
echo "  total  $(( (lt - it) / N ))"
echo "  encode $(( (le - ie) / N )) (two cursors)"
echo "  decode $(( (ld - id) / N ))"
