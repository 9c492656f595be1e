#!/usr/bin/env bash
# What the OpenAPI document costs, in one run:
#   1. instructions per request (callgrind, one thread): GET /openapi.json
#      against GET /json of bench/app, the same server;
#   2. wrk, keep-alive, 2 connections: requests/s of both, and the server's
#      CPU time per request (utime + stime from /proc over each run);
#   3. start-up with 200 routes (100 files of a generic list and detail): time until /live answers,
#      the document built or turned off
#      (SOOM_OPENAPI__JSON= SOOM_OPENAPI__YAML=), median of 7 each.
#
#   bench/openapi/run.sh [--requests N] [--seconds S]
# Needs DATABASE_URL (tests/support/pg.sh url) for the 200-route app's pool.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
N=3000; SECONDS_RUN=5
while [ $# -gt 0 ]; do case $1 in
  --requests) N=$2; shift 2;; --seconds) SECONDS_RUN=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
: "${DATABASE_URL:?set DATABASE_URL (tests/support/pg.sh url)}"
export DATABASE_URL

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
startup() { # extra env -> milliseconds until the port accepts
  local p=$((40000 + RANDOM % 20000)) t0 t1 pid
  t0=$(date +%s%N)
  env "$@" "$SOOM" run "$app" --port $p >"$tmp/start.log" 2>&1 &
  pid=$!
  until curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$p/live"; do
    kill -0 $pid 2>/dev/null || { cat "$tmp/start.log" >&2; exit 1; }
    sleep 0.002
  done
  t1=$(date +%s%N)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  echo $(( (t1 - t0) / 1000000 ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
on=$(for _ in 1 2 3 4 5 6 7; do startup NOTHING=1; done | median)
off=$(for _ in 1 2 3 4 5 6 7; do startup SOOM_OPENAPI__JSON= SOOM_OPENAPI__YAML=; done | median)
big=$(SOOM_OPENAPI__JSON= "$SOOM" openapi "$app" | wc -c)

cat <<OUT
| measure | /json | /openapi.json | ratio |
|---|---|---|---|
| instructions per request (callgrind, 1 thread) | $json_i | $doc_i | $(awk -v a="$doc_i" -v b="$json_i" 'BEGIN {printf "%.2f", a / b}') |
| requests/s (wrk -t1 -c2, ${SECONDS_RUN}s; /json before and after) | $json_rps / $json_rps2 | $doc_rps | $(awk -v a="$doc_rps" -v b="$json_rps" 'BEGIN {printf "%.2f", a / b}') |
| server CPU µs per request (utime + stime) | $json_cpu / $json_cpu2 | $doc_cpu | $(awk -v a="$doc_cpu" -v b="$json_cpu" 'BEGIN {printf "%.2f", a / b}') |
| response bytes | 27 | $doc_bytes | |

Start-up with 200 routes (median of 7, until the port answers): ${on} ms with the
document (${big} bytes), ${off} ms without: +$((on - off)) ms.
OUT
