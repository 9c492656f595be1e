#!/usr/bin/env bash
# Pagination side by side, in one run (after bench/run.sh has installed the peers):
#   - the peers' keyset page of 20 (GET /samples?limit=20&after=<random id>)
#   - Soom's cursor page of 20 at random positions (signed cursors, in C)
#   - page 450 (offset 9,000) by offset and by cursor, on Soom: the keyset advantage
#
#   bench/pages.sh [--passes N] [--tag NAME]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS_DIR=${PEERS_DIR:-/tmp/soom-peers}
PASSES=3; TAG="pages-$(date +%Y%m%d-%H%M%S)"; PEERS="kore fastify falcon-sync"
while [ $# -gt 0 ]; do case $1 in
  --passes) PASSES=$2; shift 2;; --tag) TAG=$2; shift 2;; --peers) PEERS=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
. "$PEERS_DIR/env.sh"
export DATABASE_URL="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE"
"$PEERS_DIR/db.sh" start >/dev/null
"$PEERS_DIR/db.sh" reset >/dev/null || true
PG_PID=$(head -1 "$PGDATA_DIR/postmaster.pid")
OUT="$PEERS_DIR/results/$TAG.tsv"
mkdir -p "$PEERS_DIR/results/raw" "$HERE/results"

measure() { # name endpoint script url server_pid
  PATHS=${PATHS:-} /usr/bin/python3 "$PEERS_DIR/lib/measure.py" --tag "$TAG" --peer "$1" \
    --endpoint "$2" --url "$4" --script "$3" --server-pid "$5" --pg-pid "$PG_PID" \
    --threads 1 --conns 32 --duration 8 | tee -a "$OUT"
}

for pass in $(seq 1 "$PASSES"); do
  for p in $PEERS; do
    (cd "$PEERS_DIR" && ./run.sh --peers "$p" --endpoints page --tag "$TAG" --keep-db --no-smoke)
  done
  "$SOOM" run "$HERE/app" --port 9000 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:9000/json && break; sleep 0.1; done
  # every cursor of a walk of 20-row pages: 500 positions
  paths=$(mktemp)
  url="/cursor?page_size=20"
  while [ -n "$url" ]; do
    echo "$url" >> "$paths"
    url=$(curl -s "http://127.0.0.1:9000$url" | /usr/bin/python3 -c \
      'import json,sys; n=json.load(sys.stdin)["next"]; print(n.split("9000",1)[1] if n else "")')
  done
  deep=$(sed -n 451p "$paths")
  wrk -t1 -c32 -d2s -s "$PEERS_DIR/wrk/samples_page.lua" http://127.0.0.1:9000 >/dev/null
  measure soom page "$PEERS_DIR/wrk/samples_page.lua" http://127.0.0.1:9000 "$pid"
  PATHS=$paths measure soom cursor_random "$HERE/wrk/paths.lua" http://127.0.0.1:9000 "$pid"
  echo "/offset?limit=20&offset=9000" > "$paths.offset"
  PATHS=$paths.offset measure soom offset_9000 "$HERE/wrk/paths.lua" http://127.0.0.1:9000 "$pid"
  echo "$deep" > "$paths.deep"
  PATHS=$paths.deep measure soom cursor_9000 "$HERE/wrk/paths.lua" http://127.0.0.1:9000 "$pid"
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$paths" "$paths.offset" "$paths.deep"
done
cp "$OUT" "$HERE/results/"
echo "results: $OUT"
