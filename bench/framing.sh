#!/usr/bin/env bash
# What the request head's checks cost (core/src/http/http_head.c, issue 17):
# instructions per request (callgrind, repeatable on a noisy machine) of two
# soom binaries on bench/app, one thread, keep-alive, access log on:
#   GET /json, and POST /samples (a row inserted: the peers' POST)
#
#   DATABASE_URL=postgresql://... bench/framing.sh BEFORE_SOOM AFTER_SOOM [--requests N]
#
# (loaded - idle) / N, as bench/modules.sh counts them. The table `sample`
# is made in DATABASE_URL's database when missing.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BEFORE=$1 AFTER=$2; shift 2
N=3000
while [ $# -gt 0 ]; do case $1 in
  --requests) N=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
: "${DATABASE_URL:?set DATABASE_URL}"
PORT=${PORT:-9107}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! psql -X -q "$DATABASE_URL" -c "SELECT 1 FROM sample LIMIT 1" >/dev/null 2>&1; then
  psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" <<'SQL'
CREATE TABLE sample (id bigserial primary key, name text not null, score integer not null,
                     created_at timestamptz not null default now());
SQL
fi

urls() { # endpoint -> a curl config of N requests
  local conf=$tmp/$1.conf
  : > "$conf"
  for ((i = 0; i < N; i++)); do
    [ $i -gt 0 ] && echo next
    if [ "$1" = post ]; then
      printf 'url = "http://127.0.0.1:%d/samples"\nheader = "Content-Type: application/json"\n' $PORT
      printf 'data = "{\\"name\\":\\"bench\\",\\"score\\":42}"\noutput = "/dev/null"\n'
    else
      printf 'url = "http://127.0.0.1:%d/json"\noutput = "/dev/null"\n' $PORT
    fi
  done >> "$conf"
  echo "$conf"
}

instr() { # soom endpoint
  local conf totals=()
  conf=$(urls "$2")
  for load in 0 1; do
    SOOM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
      "$1" run "$HERE/app" --port $PORT >"$tmp/cg.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/json" && break; sleep 0.2; done
    [ $load = 1 ] && curl -s -K "$conf"
    kill -INT $pid; sleep 1; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    totals+=("$(callgrind_annotate "$tmp/cg" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')")
  done
  echo $(((totals[1] - totals[0]) / N))
}

printf '| endpoint | before | after | change |\n|---|---:|---:|---:|\n'
for ep in json post; do
  b=$(instr "$BEFORE" $ep)
  a=$(instr "$AFTER" $ep)
  printf '| %s | %d | %d | %+.2f%% |\n' "$ep" "$b" "$a" "$(echo "($a - $b) * 100 / $b" | bc -l)"
done
