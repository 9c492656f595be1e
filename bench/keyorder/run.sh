#!/bin/bash
# Instructions per request (callgrind, one thread, keep-alive curl) of the
# paths JSON key order touches: /json (a Lua table encoded in C), /items (a
# generic list in C, no Lua), /hooked (the same list through a Lua hook:
# rows decoded, kept in order, encoded), /rows (20 soom.db rows encoded).
# Counted as (loaded - idle) / N, as bench/modules.sh does.
#
#   DATABASE_URL=postgresql://.../db bench/keyorder/run.sh [SOOM] [N]
# (the database gets a table `item` of 100 rows, replaced)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SOOM=${1:-$HERE/../../build/bin/soom}
N=${2:-2000}
PORT=${PORT:-28503}
: "${DATABASE_URL:?set DATABASE_URL}"
psql -X -q "$DATABASE_URL" -c "DROP TABLE IF EXISTS item" -c "CREATE TABLE item (id bigserial
  PRIMARY KEY, name text NOT NULL, score integer NOT NULL, created_at timestamptz NOT NULL
  DEFAULT now()); INSERT INTO item (name, score) SELECT 'item ' || n, n % 100
  FROM generate_series(1, 100) n"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
instr() { # path
  : > "$tmp/urls"
  for ((i = 0; i < N; i++)); do
    printf 'url = "http://127.0.0.1:%d%s"\noutput = "/dev/null"\n' "$PORT" "$1" >> "$tmp/urls"
  done
  local totals=()
  for load in 0 1; do
    SOOM_THREADS=1 SOOM_LOG_LEVEL=warn valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
      "$SOOM" run "$HERE" --port "$PORT" >"$tmp/log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT$1" && break; sleep 0.2; done
    [ $load = 1 ] && curl -s -K "$tmp/urls"
    kill -INT $pid; sleep 1; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    totals+=("$(callgrind_annotate "$tmp/cg" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')")
  done
  echo "$1 $(( (totals[1] - totals[0]) / N ))"
}
for p in /json "/items?limit=20" "/hooked?limit=20" /rows; do instr "$p"; done
