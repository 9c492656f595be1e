#!/usr/bin/env bash
# The cost of Idempotency-Key (docs/DATABASE.md), instructions per request
# with callgrind (repeatable on a noisy machine):
#
#   bench/idempotency.sh [--requests N]
#
# POST /samples of bench/app (a generic create, in C), one thread,
# keep-alive, access log on: without a key (what every POST pays), with a
# new key each time (stored with the response), and the same key each
# time (replays). SOOM_BIN picks the binary (a before/after pair: a binary
# without the feature ignores the header).
#
# Needs DATABASE_URL (a database where it may create the table "sample").
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
N=2000; PORT=${PORT:-9314}; MODES=${MODES:-"none new same"}
while [ $# -gt 0 ]; do case $1 in
  --requests) N=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
: "${DATABASE_URL:?set DATABASE_URL}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
psql -qX "$DATABASE_URL" -c "CREATE TABLE IF NOT EXISTS sample (id bigserial PRIMARY KEY,
  name text NOT NULL, score int NOT NULL, created_at timestamptz NOT NULL DEFAULT now())" >/dev/null
export SOOM_ACCESS_LOG=true SOOM_THREADS=1 SOOM_CHECK__DRIFT=warn

urls() { # MODE -> a curl config of N POSTs
  local run=$RANDOM$RANDOM
  for ((i = 0; i < N; i++)); do
    printf 'url = "http://127.0.0.1:%s/samples"\noutput = "/dev/null"\n' "$PORT"
    printf 'header = "Content-Type: application/json"\ndata = "{\\"name\\":\\"n\\",\\"score\\":7}"\n'
    case $1 in
      new) printf 'header = "Idempotency-Key: %s-%d"\n' "$run" "$i";;
      same) printf 'header = "Idempotency-Key: same-%s"\n' "$run";;
    esac
    if [ "$i" -lt $((N - 1)) ]; then printf 'next\n'; fi
  done
}

total() { # MODE load|idle -> instructions
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$2" \
    "$SOOM" run "$HERE/app" --port "$PORT" >"$tmp/log.$2" 2>&1 &
  local pid=$!
  for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$PORT/json" 2>/dev/null && break; sleep 0.2; done
  # the first keyed request makes the table: outside the count
  curl -s -o /dev/null -H 'Content-Type: application/json' -H "Idempotency-Key: warm-$RANDOM$RANDOM" \
    -d '{"name":"n","score":7}' "http://127.0.0.1:$PORT/samples"
  if [ "$2" = load ]; then
    urls "$1" >"$tmp/urls"
    curl -s -K "$tmp/urls"
  fi
  kill -INT $pid; sleep 1; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
  callgrind_annotate --inclusive=yes --threshold=100 "$tmp/cg.$2" 2>/dev/null | awk '
    /PROGRAM TOTALS/ {gsub(",", "", $1); t=$1}
    /pipeline_idem_begin/ && !b {gsub(",", "", $1); b=$1}
    END {print t+0, b+0}'
}
echo "instructions per request, POST /samples, $N requests:"
echo "  (mode: total, of which pipeline_idem_begin)"
for mode in $MODES; do
  read -r it ib < <(total "$mode" idle)
  read -r lt lb < <(total "$mode" load)
  echo "  $mode $(( (lt - it) / N )) $(( (lb - ib) / N ))"
done
