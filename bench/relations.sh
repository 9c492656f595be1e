#!/usr/bin/env bash
# A page of 20 rows with a to-one relation embedded against the same page
# without it, in one run (after bench/run.sh has set up the peers' database):
#   GET /items?limit=20&after=<random>            the plain keyset page
#   GET /items/embedded?limit=20&after=<random>   each row's owner embedded
# Prints each measurement (measure.py's TSV) and, per pass, the ratio of
# requests/s and the server's CPU µs per request.
#
#   bench/relations.sh [--passes N] [--tag NAME]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS_DIR=${PEERS_DIR:-/tmp/soom-peers}
PASSES=3; TAG="relations-$(date +%Y%m%d-%H%M%S)"
while [ $# -gt 0 ]; do case $1 in
  --passes) PASSES=$2; shift 2;; --tag) TAG=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
. "$PEERS_DIR/env.sh"
export DATABASE_URL="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE"
"$PEERS_DIR/db.sh" start >/dev/null
PG_PID=$(head -1 "$PGDATA_DIR/postmaster.pid")
# the two tables, made once: 100 owners, 10,000 items
psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" <<'SQL'
CREATE TABLE IF NOT EXISTS bench_owner (id serial PRIMARY KEY, name text NOT NULL, city text NOT NULL);
CREATE TABLE IF NOT EXISTS bench_item (id bigserial PRIMARY KEY, name text NOT NULL,
    score integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now(),
    owner_id integer NOT NULL REFERENCES bench_owner (id));
INSERT INTO bench_owner (name, city)
    SELECT 'owner ' || i, 'city ' || (i % 7) FROM generate_series(1, 100) i
    WHERE NOT EXISTS (SELECT 1 FROM bench_owner);
INSERT INTO bench_item (name, score, owner_id)
    SELECT 'item ' || i, i % 100, 1 + i % 100 FROM generate_series(1, 10000) i
    WHERE NOT EXISTS (SELECT 1 FROM bench_item);
ANALYZE bench_owner;
ANALYZE bench_item;
SQL
OUT="$PEERS_DIR/results/$TAG.tsv"
mkdir -p "$PEERS_DIR/results" "$HERE/results"

measure() { # endpoint prefix server_pid
  PREFIX=$2 /usr/bin/python3 "$PEERS_DIR/lib/measure.py" --tag "$TAG" --peer soom \
    --endpoint "$1" --url http://127.0.0.1:9000 --script "$HERE/wrk/items_page.lua" \
    --server-pid "$3" --pg-pid "$PG_PID" --threads 1 --conns 32 --duration 8 | tee -a "$OUT"
}

for pass in $(seq 1 "$PASSES"); do
  "$SOOM" run "$HERE/app" --port 9000 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:9000/items && break; sleep 0.1; done
  PREFIX=/items wrk -t1 -c32 -d2s -s "$HERE/wrk/items_page.lua" http://127.0.0.1:9000 >/dev/null
  PREFIX=/items/embedded wrk -t1 -c32 -d2s -s "$HERE/wrk/items_page.lua" http://127.0.0.1:9000 >/dev/null
  plain=$(measure page_plain /items "$pid")
  embedded=$(measure page_embedded /items/embedded "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # measure.py's columns: 4 requests/s, 11 the server's CPU (% of one core)
  /usr/bin/python3 - "$plain" "$embedded" "$pass" <<'PY'
import sys
p, e, n = sys.argv[1].split("\t"), sys.argv[2].split("\t"), sys.argv[3]
def us(c):
    return float(c[10]) / 100 * 1e6 / float(c[3]) if c[10] else float("nan")
print("pass %s: plain %s req/s (%.1f us server CPU/req), embedded %s req/s (%.1f us), "
      "cost ratio %.3f (requests/s), %.3f (server CPU)" % (
          n, p[3], us(p), e[3], us(e), float(p[3]) / float(e[3]), us(e) / us(p)))
PY
done
cp "$OUT" "$HERE/results/"
echo "results: $OUT"
