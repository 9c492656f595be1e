#!/usr/bin/env bash
# The cost of the operations built in (docs/OPERATIONS.md), in one run:
#
#   bench/ops.sh [--requests N] [--wrk-seconds S]
#
# 1. Instructions per request (callgrind, repeatable on a noisy machine) of
#    GET /json and GET /samples/<id> of bench/app, metrics on against off
#    (SOOM_METRICS__ENABLED), one thread, keep-alive, access log on.
# 2. Requests/s and server CPU µs per request with wrk, on against off,
#    alternating, same run.
# 3. A scrape of an app with 200 routes that have all been requested:
#    the median and the worst of 50 scrapes.
#
# Needs DATABASE_URL (a database where it may create the table "sample").
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
N=3000; WRK_S=5
while [ $# -gt 0 ]; do case $1 in
  --requests) N=$2; shift 2;; --wrk-seconds) WRK_S=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
: "${DATABASE_URL:?set DATABASE_URL}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
psql -qX "$DATABASE_URL" -c "CREATE TABLE IF NOT EXISTS sample (id bigserial PRIMARY KEY,
  name text NOT NULL, score int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
  INSERT INTO sample (name, score) SELECT 'n' || g, g % 100 FROM generate_series(1, 100) g
  WHERE NOT EXISTS (SELECT 1 FROM sample);" >/dev/null
export SOOM_ACCESS_LOG=true SOOM_THREADS=1

# --- 1. instructions per request -------------------------------------------
instr() { # URL METRICS(true|false) PORT
  local url=$1 on=$2 port=$3
  for ((i = 0; i < N; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done >"$tmp/urls"
  total() {
    SOOM_METRICS__ENABLED=$on valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
      "$SOOM" run "$HERE/app" --port "$port" >"$tmp/log.$1" 2>&1 &
    local pid=$!
    for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$port/json" 2>/dev/null && break; sleep 0.2; done
    [ "$1" = load ] && curl -s -K "$tmp/urls"
    kill -INT $pid; sleep 1; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    callgrind_annotate "$tmp/cg.$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); v=$1} END {print v}'
  }
  local idle load
  idle=$(total idle); load=$(total load)
  echo $(( (load - idle) / N ))
}
echo "## instructions per request (callgrind, $N keep-alive requests, 1 thread)"
echo "| endpoint | metrics off | metrics on | ratio |"
echo "|---|---:|---:|---:|"
for ep in /json /samples/7; do
  off=$(instr "http://127.0.0.1:9311$ep" false 9311)
  on=$(instr "http://127.0.0.1:9311$ep" true 9311)
  echo "| GET $ep | $off | $on | $(awk -v a="$on" -v b="$off" 'BEGIN{printf "%.4f", a/b}') |"
done

# --- 2. throughput and CPU per request ----------------------------------------
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run_wrk() { # ENDPOINT METRICS -> "rps cpu_us_per_request"
  SOOM_METRICS__ENABLED=$2 SOOM_THREADS=2 "$SOOM" run "$HERE/app" --port 9312 >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:9312/json && break; sleep 0.1; done
  wrk -t1 -c16 -d1s "http://127.0.0.1:9312$1" >/dev/null
  local t0; t0=$(cpu_ticks $pid)
  local out; out=$(wrk -t1 -c16 -d"${WRK_S}s" "http://127.0.0.1:9312$1")
  local t1; t1=$(cpu_ticks $pid)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  local reqs; reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local hz; hz=$(getconf CLK_TCK)
  echo "$rps $(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.2f", d / hz * 1e6 / n}')"
}
echo
echo "## wrk -t1 -c16 -d${WRK_S}s, 2 threads, on and off alternating (3 pairs), medians"
echo "| endpoint | off req/s | on req/s | ratio | off CPU µs/req | on CPU µs/req |"
echo "|---|---:|---:|---:|---:|---:|"
for ep in /json /samples/7; do
  : >"$tmp/off"; : >"$tmp/on"
  for _ in 1 2 3; do run_wrk "$ep" false >>"$tmp/off"; run_wrk "$ep" true >>"$tmp/on"; done
  med() { sort -n -k"$2" "$1" | awk -v k="$2" 'NR==2 {print $k}'; }
  offr=$(med "$tmp/off" 1); onr=$(med "$tmp/on" 1); offc=$(med "$tmp/off" 2); onc=$(med "$tmp/on" 2)
  echo "| GET $ep | $offr | $onr | $(awk -v a="$onr" -v b="$offr" 'BEGIN{printf "%.3f", a/b}') | $offc | $onc |"
done

# --- 3. a scrape of 200 routes -----------------------------------------------------
mkdir -p "$tmp/app200/resources"
{
  echo 'local soom = require "soom"'
  echo 'local r = {}'
  echo 'for i = 1, 200 do r[i] = soom.Resource { route = "/r" .. i .. "/{id:int}", get = function() return { i = i } end } end'
  echo 'return r'
} >"$tmp/app200/resources/many.lua"
SOOM_THREADS=2 "$SOOM" run "$tmp/app200" --port 9313 >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:9313/r1/1 && break; sleep 0.1; done
for i in $(seq 1 200); do printf 'url = "http://127.0.0.1:9313/r%d/1"\noutput = "/dev/null"\n' "$i"; done >"$tmp/u200"
curl -s -K "$tmp/u200"; curl -s -X POST -K "$tmp/u200"   # GET 200 and 405 on every route
for i in $(seq 1 50); do curl -s -o /dev/null -w '%{time_total}\n' http://127.0.0.1:9313/metrics; done >"$tmp/scrapes"
bytes=$(curl -s http://127.0.0.1:9313/metrics | wc -c)
kill -TERM $pid; wait $pid 2>/dev/null || true
echo
echo "## scrape of an app with 200 routes (each requested: GET 200 and POST 405), 50 scrapes"
sort -n "$tmp/scrapes" | awk -v b="$bytes" '{t[NR]=$1} END {printf "median %.2f ms, worst %.2f ms, %d bytes\n", t[int((NR+1)/2)]*1000, t[NR]*1000, b}'
