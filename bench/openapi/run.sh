#!/usr/bin/env bash
# What the OpenAPI document costs, in one run:
#   1. instructions per request (callgrind, one thread): GET /openapi.json
#      against GET /json of bench/app, the same server;
#   2. wrk, keep-alive, 2 connections: requests/s of both, and the server's
#      CPU time per request (utime + stime from /proc over each run);
#   3. start-up with 200 routes (100 files of a generic list and detail): time until /live answers,
#      and the server's CPU time by then, the document built or turned off
#      (SOOM_OPENAPI__JSON= SOOM_OPENAPI__YAML=), alternating, median of 7 each.
#
#   bench/openapi/run.sh [--requests N] [--seconds S] [--startup]   (--startup: part 3 only)
# Needs DATABASE_URL (tests/support/pg.sh url) for the 200-route app's pool.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
N=3000; SECONDS_RUN=5; STARTUP_ONLY=0
while [ $# -gt 0 ]; do case $1 in
  --requests) N=$2; shift 2;; --seconds) SECONDS_RUN=$2; shift 2;; --startup) STARTUP_ONLY=1; shift;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
: "${DATABASE_URL:?set DATABASE_URL (tests/support/pg.sh url)}"
export DATABASE_URL

if [ $STARTUP_ONLY = 0 ]; then
# ---- 1. instructions per request ------------------------------------------------
instr() { # URL PORT
  for ((i = 0; i < N; i++)); do printf 'url = "%s"\noutput = "/dev/null"\n' "$1"; done >"$tmp/urls"
  local idle load
  idle=$(cg idle "$1" "$2"); load=$(cg load "$1" "$2")
  echo $(( (load - idle) / N ))
}
cg() { # idle|load URL PORT
  SOOM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
    "$SOOM" run "$ROOT/bench/app" --port "$3" >"$tmp/log.$1" 2>&1 &
  local pid=$!
  for _ in $(seq 1 150); do curl -s -o /dev/null "$2" 2>/dev/null && break; sleep 0.2; done
  if [ "$1" = load ]; then curl -s -K "$tmp/urls"; fi
  kill -INT $pid; wait $pid 2>/dev/null || true
  callgrind_annotate "$tmp/cg.$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); t=$1} END {print t}'
}
port=$((20000 + RANDOM % 20000))
json_i=$(instr "http://127.0.0.1:$port/json" $port)
doc_i=$(instr "http://127.0.0.1:$port/openapi.json" $port)
doc_bytes=$(curl -s "http://127.0.0.1:$port/openapi.json" 2>/dev/null | wc -c || true)

# ---- 2. wrk and server CPU per request -------------------------------------------
"$SOOM" run "$ROOT/bench/app" --port $port >"$tmp/wrk.log" 2>&1 &
srv=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/json" && break; sleep 0.1; done
doc_bytes=$(curl -s "http://127.0.0.1:$port/openapi.json" | wc -c)
cpu() { awk '{print $14 + $15}' "/proc/$srv/stat"; }
measure() { # PATH -> "req/s cpu_us_per_req"
  local before after out reqs
  before=$(cpu)
  out=$(wrk -t1 -c2 -d"${SECONDS_RUN}s" "http://127.0.0.1:$port$1")
  after=$(cpu)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(awk -v t=$((after - before)) -v r="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", t / hz * 1e6 / r}')"
}
read -r json_rps json_cpu <<<"$(measure /json)"
read -r doc_rps doc_cpu <<<"$(measure /openapi.json)"
read -r json_rps2 json_cpu2 <<<"$(measure /json)"
kill -TERM $srv; wait $srv 2>/dev/null || true
fi

# ---- 3. start-up with 200 routes ----------------------------------------------------
app=$tmp/routes200
mkdir -p "$app/models" "$app/resources"
cat >"$app/models/item.lua" <<'LUA'
local soom = require "soom"
return soom.model { table = "item", fields = {
    id = soom.f.bigserial(), name = soom.f.text(), score = soom.f.integer(),
    created_at = soom.f.timestamptz { default = "now()", read_only = true } } }
LUA
for i in $(seq -w 1 100); do
  cat >"$app/resources/r$i.lua" <<LUA
local soom = require "soom"
local Item = require "models.item"
return {
    soom.ListCreateResource { route = "/r$i", model = Item, filter_fields = { "score", "name" },
        ordering_fields = { "id", "score" }, pagination = soom.pagination.cursor { ordering = { "-id" } } },
    soom.RetrieveUpdateDestroyResource { route = "/r$i/{id:int}", model = Item },
}
LUA
done
startup() { # extra env -> "ms cpu_ms": wall time until /live answers, and the CPU time
  # the server used by then (less shaken by a busy machine than the wall time)
  local p=$((40000 + RANDOM % 20000)) t0 t1 pid cpu
  t0=$(date +%s%N)
  env "$@" "$SOOM" run "$app" --port $p >"$tmp/start.log" 2>&1 &
  pid=$!
  until curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$p/live"; do
    if ! kill -0 $pid 2>/dev/null; then
      # another process took the random port: again on another one
      grep -q "Address already in use" "$tmp/start.log" && { startup "$@"; return; }
      cat "$tmp/start.log" >&2; exit 1
    fi
    sleep 0.002
  done
  t1=$(date +%s%N)
  # the whole process's utime + stime, which keeps the time of threads that
  # have ended (the one that loads the worker states while the document is
  # built): 10 ms ticks
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%d", ($14 + $15) * 1000 / hz}' /proc/$pid/stat)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  echo "$(( (t1 - t0) / 1000000 )) $cpu"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# on and off alternate, so a change in the machine's load weighs on both
for _ in 1 2 3 4 5 6 7; do
  echo "on $(startup NOTHING=1)" >>"$tmp/startup"
  echo "off $(startup SOOM_OPENAPI__JSON= SOOM_OPENAPI__YAML=)" >>"$tmp/startup"
done
col() { awk -v w="$1" -v c="$2" '$1 == w {print $c}' "$tmp/startup" | median; }
on=$(col on 2); off=$(col off 2); on_cpu=$(col on 3); off_cpu=$(col off 3)
big=$(SOOM_OPENAPI__JSON= "$SOOM" openapi "$app" | wc -c)

[ $STARTUP_ONLY = 1 ] || cat <<OUT
| measure | /json | /openapi.json | ratio |
|---|---|---|---|
| instructions per request (callgrind, 1 thread) | $json_i | $doc_i | $(awk -v a="$doc_i" -v b="$json_i" 'BEGIN {printf "%.2f", a / b}') |
| requests/s (wrk -t1 -c2, ${SECONDS_RUN}s; /json before and after) | $json_rps / $json_rps2 | $doc_rps | $(awk -v a="$doc_rps" -v b="$json_rps" 'BEGIN {printf "%.2f", a / b}') |
| server CPU µs per request (utime + stime) | $json_cpu / $json_cpu2 | $doc_cpu | $(awk -v a="$doc_cpu" -v b="$json_cpu" 'BEGIN {printf "%.2f", a / b}') |
| response bytes | 27 | $doc_bytes | |

OUT
cat <<OUT
Start-up with 200 routes (median of 7, alternating, until /live answers): ${on} ms with the
document (${big} bytes), ${off} ms without: +$((on - off)) ms; the server's CPU time by then
${on_cpu} ms against ${off_cpu} ms: +$((on_cpu - off_cpu)) ms.
OUT
