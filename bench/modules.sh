#!/usr/bin/env bash
# What native modules cost, measured in one run on bench/app:
#
#   1. instructions per request (callgrind, repeatable on a noisy machine),
#      GET /json with an allowed Origin on one thread: no module; the noop
#      test module (a middleware at every phase that does nothing); cors (a
#      simple GET: Access-Control-Allow-Origin and Vary: Origin added)
#   2. wrk -t1 -c32 for the same three, requests/s with the server's CPU
#      microseconds per request, median of the passes
#   3. compress on the 20-row page (GET /samples?limit=20&after=<random>,
#      the peers' page): response sizes and throughput without compression,
#      gzip and zstd
#
#   DATABASE_URL=postgresql://... bench/modules.sh [--passes N] [--requests N] [--instructions]
#
# (--instructions: part 1 only, N callgrind requests each)
#
# The page reads the peers' table `sample` (10,000 rows); it is made in
# DATABASE_URL's database when missing. Builds nothing: run after a
# RelWithDebInfo build (SOOM_BUILD, default ./build).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BUILD=${SOOM_BUILD:-$ROOT/build}
SOOM=$BUILD/bin/soom
PASSES=3; N=3000; ONLY_INSTR=0
while [ $# -gt 0 ]; do case $1 in
  --passes) PASSES=$2; shift 2;; --requests) N=$2; shift 2;; --instructions) ONLY_INSTR=1; shift;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
: "${DATABASE_URL:?set DATABASE_URL}"
PORT=9100
ORIGIN="https://bench.example"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# ---- the table and the app variants -----------------------------------------
if ! psql -X -q "$DATABASE_URL" -c "SELECT 1 FROM sample LIMIT 1" >/dev/null 2>&1; then
  psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" <<'SQL'
CREATE TABLE sample (id bigserial primary key, name text not null, score integer not null,
                     created_at timestamptz not null default now());
INSERT INTO sample (name, score) SELECT 'item-' || n, n % 101 FROM generate_series(1, 10000) n;
VACUUM ANALYZE sample;
SQL
fi

variant() { # name modules-table
  local d=$tmp/$1
  mkdir -p "$d"
  ln -s "$HERE/app/models" "$d/models"
  ln -s "$HERE/app/resources" "$d/resources"
  cp "$HERE/app/app.lua" "$d/app.lua"
  printf 'return { pool = { max = 8 }, modules = %s }\n' "$2" > "$d/settings.lua"
}
variant base "{}"
variant noop "{ noop = { path = \"$BUILD/tests/modules/noop.so\" } }"
variant cors "{ cors = { origins = { \"$ORIGIN\" } } }"
variant cors_any "{ cors = { origins = \"*\" } }"
variant compress "{ compress = {} }"

start() { # app threads; sets $pid
  SOOM_THREADS=$2 "$SOOM" run "$tmp/$1" --port $PORT >"$tmp/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/json" && return; sleep 0.1; done
  echo "soom did not start: $(cat "$tmp/$1.log")" >&2; exit 1
}
stop() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# ---- 1. instructions per request ------------------------------------------------
# (loaded - idle) / N, as ../shared/bench/mhd-ceiling/instr-per-request.sh
# counts them, with request headers
instr() { # app header...
  local app=$1; shift
  local conf=$tmp/urls
  : > "$conf"
  for h in "$@"; do printf 'header = "%s"\n' "$h" >> "$conf"; done # for every URL
  for ((i = 0; i < N; i++)); do
    printf 'url = "http://127.0.0.1:%d/json"\noutput = "/dev/null"\n' $PORT >> "$conf"
  done
  local totals=()
  for load in 0 1; do
    SOOM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
      "$SOOM" run "$tmp/$app" --port $PORT >"$tmp/cg.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/json" && break; sleep 0.2; done
    [ $load = 1 ] && curl -s -K "$conf"
    kill -INT $pid; sleep 1; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    totals+=("$(callgrind_annotate "$tmp/cg" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')")
  done
  echo $(( (totals[1] - totals[0]) / N ))
}

# ---- 2. and 3. wrk with the server's CPU ---------------------------------------
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
wrk_run() { # pid path-or-script header... -> "rps us_per_request"
  local pid=$1 target=$2; shift 2
  local hdrs=() script=()
  for h in "$@"; do hdrs+=(-H "$h"); done
  local url="http://127.0.0.1:$PORT$target"
  if [ "${target%.lua}" != "$target" ]; then script=(-s "$target"); url="http://127.0.0.1:$PORT"; fi
  wrk -t1 -c32 -d2s "${hdrs[@]}" "${script[@]}" "$url" >/dev/null
  local t0; t0=$(ticks "$pid")
  local out; out=$(wrk -t1 -c32 -d8s "${hdrs[@]}" "${script[@]}" "$url")
  local t1; t1=$(ticks "$pid")
  local reqs; reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%d", $2}')
  echo "$rps $(awk -v t=$((t1 - t0)) -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.2f", t * 1e6 / hz / n}')"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A RPS US
[ $ONLY_INSTR = 1 ] && PASSES=0
for pass in $(seq 1 "$PASSES"); do
  for v in base noop cors; do
    start $v 2
    read -r rps us < <(wrk_run "$pid" /json "Origin: $ORIGIN")
    RPS[$v]+="$rps "; US[$v]+="$us "
    stop "$pid"
  done
  start compress 4
  for enc in identity gzip zstd; do
    read -r rps us < <(wrk_run "$pid" "$HERE/wrk/page.lua" "Accept-Encoding: $enc")
    RPS[page_$enc]+="$rps "; US[page_$enc]+="$us "
  done
  stop "$pid"
done

size() { curl -s -H "Accept-Encoding: $1" -o /dev/null -w '%{size_download}' \
  "http://127.0.0.1:$PORT/samples?limit=20&after=5000"; }
if [ $ONLY_INSTR = 0 ]; then
  start compress 2
  plain=$(size identity); gz=$(size gzip); zs=$(size zstd)
  stop "$pid"
fi

echo "instructions per request, GET /json, one thread ($N requests):"
# the same request for all three (with an allowed Origin): only the modules differ
base_i=$(instr base "Origin: $ORIGIN"); noop_i=$(instr noop "Origin: $ORIGIN")
cors_i=$(instr cors "Origin: $ORIGIN"); any_i=$(instr cors_any "Origin: $ORIGIN")
awk -v b="$base_i" -v n="$noop_i" -v c="$cors_i" -v a="$any_i" 'BEGIN {
  printf "  no module                   %8d\n", b
  printf "  noop, every phase           %8d  (%+d, %+.2f%%)\n", n, n - b, 100 * (n - b) / b
  printf "  cors, a list of origins     %8d  (%+d, %+.2f%%)\n", c, c - b, 100 * (c - b) / b
  printf "  cors, origins = \"*\"         %8d  (%+d, %+.2f%%)\n", a, a - b, 100 * (a - b) / b }'

[ $ONLY_INSTR = 1 ] && exit 0
echo "wrk -t1 -c32 -d8s, medians of $PASSES passes: requests/s, server CPU us/request"
for v in base noop cors page_identity page_gzip page_zstd; do
  r=$(echo ${RPS[$v]} | tr ' ' '\n' | median); u=$(echo ${US[$v]} | tr ' ' '\n' | median)
  printf "  %-14s %8d req/s  %6.2f us/req   (passes: %s)\n" "$v" "$r" "$u" "${RPS[$v]}"
done
awk -v p="$plain" -v g="$gz" -v z="$zs" 'BEGIN {
  printf "20-row page: %d bytes; gzip %d (%.2fx); zstd %d (%.2fx)\n", p, g, p / g, z, p / z }'
