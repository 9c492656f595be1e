#!/usr/bin/env bash
# Where POST /samples's slow requests come from: one soom run under perf.
#
#   bench/tail.sh [--seconds S] [--out DIR]
#
# Uses the peers' PostgreSQL as bench/run.sh leaves it ($PEERS_DIR, default
# /tmp/soom-peers: run bench/run.sh once first), starts soom (async) on
# bench/app, warms it up, then records the scheduler's switches and
# wake-ups and every fdatasync (PostgreSQL's WAL flush) machine-wide while
# wrk -t1 -c32 posts for S seconds (8). bench/tail.py then lists the
# longest gaps between two completed requests in the access log and what
# covered each: a WAL flush in progress, soom's threads, wrk or soom's
# PostgreSQL backends runnable but not running (waiting for a core), and
# how evenly soom's worker threads shared the connections. Needs root
# (perf on sched and syscall tracepoints).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS_DIR=${PEERS_DIR:-/tmp/soom-peers}
SECONDS_RUN=8; OUT=/tmp/soom-tail-$(date +%H%M%S)
while [ $# -gt 0 ]; do case $1 in
  --seconds) SECONDS_RUN=$2; shift 2;; --out) OUT=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
. "$PEERS_DIR/env.sh"
export DATABASE_URL="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE"
"$PEERS_DIR/db.sh" start && "$PEERS_DIR/db.sh" reset
mkdir -p "$OUT"
URL=http://127.0.0.1:9000
SCRIPT="$PEERS_DIR/wrk/post_sample.lua"
setsid env SOOM_SERVER=async "$SOOM" run "$HERE/app" --port 9000 > "$OUT/server.log" 2>&1 &
PID=$!
trap 'kill -TERM -- -$PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null -m 1 "$URL/json" && break; sleep 0.2; done
wrk -t1 -c32 -d2s -s "$SCRIPT" "$URL" > /dev/null
# the access log's wall-clock times against perf's monotonic ones
/usr/bin/python3 -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC), time.time())' \
  > "$OUT/clock"
ls "/proc/$PID/task" > "$OUT/tids"
perf record -q -k CLOCK_MONOTONIC -a -o "$OUT/perf.data" \
  -e sched:sched_switch,sched:sched_wakeup \
  -e syscalls:sys_enter_fdatasync,syscalls:sys_exit_fdatasync -- \
  wrk -t1 -c32 -d"${SECONDS_RUN}s" --latency -s "$SCRIPT" "$URL" > "$OUT/wrk.txt"
perf script -i "$OUT/perf.data" -F comm,tid,time,event,trace --ns 2> /dev/null > "$OUT/script.txt"
grep -E "Latency|99%|Requests/sec" "$OUT/wrk.txt"
/usr/bin/python3 "$HERE/tail.py" "$OUT"
