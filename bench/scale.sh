#!/usr/bin/env bash
# The by-id read of bench/app (GET /samples/7) several ways, in one run
# (docs/SCALING.md):
#
#   bench/scale.sh [--wrk-seconds S] [--passes P] [--threads T] [--connections C]
#                  [--pool-size N] [--soom-pool M] [--bouncer-soom-pool L]
#                  [--bouncer-nice K] [--base-port PORT]
#                  [--transport tcp|unix] [--bouncer-procs B] [--configs "direct held ..."]
#                  [--skip-pgbench]
#
#   direct    soom (pool.max M, 8 by default) -> the primary
#   bouncer   soom (pool.max L, 16 by default) -> PgBouncer (transaction
#             mode, default_pool_size N, 8 by default) -> the primary,
#             database.pooler set: each statement carries the session
#             settings (one pipeline)
#   held      the same, to a database whose role defaults hold the
#             settings (ALTER ROLE ... IN DATABASE ... SET): no statement
#             more, and the by-id read a shared statement (Bind/Execute
#             only, database.shared_statements)
#   held-unnamed  the same with database.shared_statements = false: the
#             by-id read unnamed (Parse/Bind/Describe/Execute/Sync)
#   replica   soom -> a streaming replica (database.replicas; every by-id
#             read is served by it), the primary beside it
#   unnamed   soom -> the primary, pool.prepared = false: every statement
#             unnamed (Parse/Bind/Describe/Execute/Sync, as through
#             PgBouncer) without PgBouncer, which tells PostgreSQL's
#             parsing and planning apart from PgBouncer's own cost
#
# Each path runs soom sized as docs/SCALING.md says: directly, pool.max is
# the number of PostgreSQL sessions (M = N = 8; 16 were no faster and
# cost more CPU per request); behind PgBouncer, pool.max is
# the requests soom keeps in flight (L) and PgBouncer's default_pool_size
# (N) bounds the server sessions, so both sides run the same N sessions of
# PostgreSQL. With L = N every statement waits out PgBouncer's two extra
# hops holding one of the N sessions' turns; L > N keeps the next
# statement queued at PgBouncer when a server session frees (bench/
# RESULTS.md). --bouncer-soom-pool 8 gives the old, equal sizing.
#
# --configs picks and orders the paths (default "direct bouncer held
# replica"). --transport unix puts every PostgreSQL hop on a unix socket
# (soom -> the primary, soom -> PgBouncer, PgBouncer -> the primary); tcp,
# the default, puts them all on loopback TCP: both sides of a comparison
# cross the same kind of socket. --bouncer-procs 2 runs two PgBouncer
# processes on one TCP port (so_reuseport = 1, each with half of the
# server sessions), PgBouncer's documented way to use more than one core.
#
# It starts its own primary (tests/support/pg.sh), a replica made with
# pg_basebackup -R, and PgBouncer, on ports from --base-port (25600) on,
# and stops them at the end. The paths alternate, P passes of wrk -t1
# -cC -dS each on a fresh server; medians of requests/s and of CPU µs per
# request of soom, PgBouncer (every process), PostgreSQL (every process of
# both servers) and wrk, and the median of each pass's ratios to direct.
# Where they all share the machine's cores, the sum of the four is what a
# request costs; once the cores are saturated, requests/s go as its
# inverse. --bouncer-nice -10 runs PgBouncer at a higher priority (as
# root), to tell a scheduling cap from PgBouncer's own cost.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
WRK_S=5; PASSES=5; THREADS=4; CONNS=32; POOL=8; SOOM_POOL=8; BSOOM_POOL=16; BASE=25600; NICE=0
TRANSPORT=tcp; BPROCS=1; CONFIGS="direct bouncer held replica"; PGBENCH_RUN=1
while [ $# -gt 0 ]; do case $1 in
  --wrk-seconds) WRK_S=$2; shift 2;; --passes) PASSES=$2; shift 2;;
  --threads) THREADS=$2; shift 2;; --connections) CONNS=$2; shift 2;;
  --bouncer-nice) NICE=$2; shift 2;;
  --pool-size) POOL=$2; shift 2;; --soom-pool) SOOM_POOL=$2; shift 2;;
  --bouncer-soom-pool) BSOOM_POOL=$2; shift 2;; --base-port) BASE=$2; shift 2;;
  --transport) TRANSPORT=$2; shift 2;; --bouncer-procs) BPROCS=$2; shift 2;;
  --configs) CONFIGS=$2; shift 2;; --skip-pgbench) PGBENCH_RUN=0; shift;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
case $TRANSPORT in tcp|unix) ;; *) echo "--transport is tcp or unix" >&2; exit 2;; esac
if [ "$TRANSPORT" = unix ] && [ "$BPROCS" != 1 ]; then
  echo "--bouncer-procs above 1 needs --transport tcp (so_reuseport shares a TCP port)" >&2; exit 2
fi
PG_BIN=/usr/lib/postgresql/15/bin
P_PORT=$((BASE + 1)); R_PORT=$((BASE + 2)); B_PORT=$((BASE + 3)); S_PORT=$((BASE + 4))
tmp=$(mktemp -d); chmod 755 "$tmp"
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
export SOOM_TEST_PG_DIR=$tmp/primary SOOM_TEST_PG_PORT=$P_PORT
cleanup() {
  for f in "$tmp"/bouncer*.pid; do [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null; done || true
  as_owner "$PG_BIN/pg_ctl" -D "$tmp/replica" -m fast -w stop >/dev/null 2>&1 || true
  bash "$ROOT/tests/support/pg.sh" stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# URL DBNAME -> the same URL naming database soom_DBNAME
db_url() { case $1 in *\?*) echo "${1%%\?*}_$2?${1#*\?}";; *) echo "${1}_$2";; esac; }

bash "$ROOT/tests/support/pg.sh" start >/dev/null
PRIMARY=$(bash "$ROOT/tests/support/pg.sh" url)
psql -qX "$PRIMARY" >/dev/null <<'SQL'
CREATE TABLE IF NOT EXISTS sample (id bigserial PRIMARY KEY, name text NOT NULL,
  score int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO sample (name, score) SELECT 'n' || g, g % 100 FROM generate_series(1, 100) g
  WHERE NOT EXISTS (SELECT 1 FROM sample);
SQL
psql -qX "$PRIMARY" -c "CREATE DATABASE soom_held TEMPLATE soom" >/dev/null
for setting in "bytea_output = 'hex'" "IntervalStyle = 'iso_8601'" "DateStyle = 'ISO, YMD'" \
  "TimeZone = 'UTC'" "extra_float_digits = 1" "statement_timeout = 30000"; do
  psql -qX "$PRIMARY" -c "ALTER ROLE soom IN DATABASE soom_held SET $setting" >/dev/null
done
[ "$(id -u)" = 0 ] && chown postgres "$tmp"
as_owner "$PG_BIN/pg_basebackup" -h "$tmp/primary/run" -p "$P_PORT" -U postgres -D "$tmp/replica" \
  -R -X stream -c fast
as_owner "$PG_BIN/pg_ctl" -D "$tmp/replica" -l "$tmp/replica.log" \
  -o "-p $R_PORT -k $tmp -c listen_addresses=127.0.0.1" -w start >/dev/null
REPLICA="postgresql://soom:soom@127.0.0.1:$R_PORT/soom"
if [ "$TRANSPORT" = unix ]; then
  PRIMARY="postgresql://soom:soom@/soom?host=$tmp/primary/run&port=$P_PORT"
  REPLICA="postgresql://soom:soom@/soom?host=$tmp&port=$R_PORT"
fi

printf '"soom" "soom"\n' >"$tmp/users.txt"
mkdir -p "$tmp/bsock"
[ "$(id -u)" = 0 ] && chown postgres "$tmp/bsock" "$tmp/users.txt"
for i in $(seq 1 "$BPROCS"); do
  if [ "$TRANSPORT" = unix ]; then
    server="host=$tmp/primary/run port=$P_PORT"; listen_addr=""; sock_dir=$tmp/bsock
  else
    server="host=127.0.0.1 port=$P_PORT"; listen_addr=127.0.0.1; sock_dir=""
  fi
  cat >"$tmp/pgbouncer$i.ini" <<EOF
[databases]
* = $server
[pgbouncer]
listen_addr = $listen_addr
listen_port = $B_PORT
unix_socket_dir = $sock_dir
so_reuseport = $([ "$BPROCS" -gt 1 ] && echo 1 || echo 0)
auth_type = plain
auth_file = $tmp/users.txt
pool_mode = transaction
default_pool_size = $(((POOL + BPROCS - 1) / BPROCS))
max_client_conn = 1000
logfile = $tmp/pgbouncer$i.log
pidfile = $tmp/bouncer$i.pid
EOF
  [ "$(id -u)" = 0 ] && chown postgres "$tmp/pgbouncer$i.ini"
  if [ "$NICE" != 0 ]; then
    nice -n "$NICE" runuser -u postgres -- pgbouncer -d "$tmp/pgbouncer$i.ini"
  else
    as_owner pgbouncer -d "$tmp/pgbouncer$i.ini"
  fi
  for _ in $(seq 1 50); do [ -f "$tmp/bouncer$i.pid" ] && break; sleep 0.1; done
done
BOUNCER="postgresql://soom:soom@127.0.0.1:$B_PORT/soom"
[ "$TRANSPORT" = unix ] && BOUNCER="postgresql://soom:soom@/soom?host=$tmp/bsock&port=$B_PORT"

hz=$(getconf CLK_TCK)
cpu_ticks() { # PID... -> their utime + stime, summed
  local t=0 p
  for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo $t
}
bouncer_pids() { cat "$tmp"/bouncer*.pid; }
pg_pids() { # every process of both servers
  local pm
  for pm in $(head -n1 "$tmp/primary/data/postmaster.pid") $(head -n1 "$tmp/replica/postmaster.pid"); do
    echo "$pm"; pgrep -P "$pm" || true
  done
}
per_req() { awk -v d="$1" -v n="$2" -v hz="$hz" 'BEGIN{printf "%.2f", d / hz * 1e6 / n}'; }
run_wrk() { # CONFIG -> "rps soom_us bouncer_us postgres_us wrk_us"
  local env=(SOOM_THREADS=$THREADS DATABASE_URL=$PRIMARY SOOM_POOL__MAX=$SOOM_POOL)
  case $1 in
    bouncer) env=(SOOM_THREADS=$THREADS DATABASE_URL=$BOUNCER SOOM_DATABASE__POOLER=pgbouncer-transaction
                  SOOM_POOL__MAX=$BSOOM_POOL);;
    held|held-unnamed) env=(SOOM_THREADS=$THREADS DATABASE_URL=$(db_url "$BOUNCER" held)
               SOOM_DATABASE__POOLER=pgbouncer-transaction SOOM_POOL__MAX=$BSOOM_POOL)
      [ "$1" = held-unnamed ] && env+=(SOOM_DATABASE__SHARED_STATEMENTS=false);;
    replica) env+=(SOOM_DATABASE__REPLICAS=$REPLICA SOOM_DATABASE__MAX_REPLICA_LAG=10);;
    unnamed) env+=(SOOM_POOL__PREPARED=false);;
    direct) ;;
    *) echo "unknown path $1" >&2; exit 2;;
  esac
  env "${env[@]}" "$SOOM" run "$HERE/app" --port "$S_PORT" >"$tmp/soom.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$S_PORT/samples/1" && break; sleep 0.1; done
  wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$S_PORT/samples/7" >/dev/null
  local pgs bps; pgs=$(pg_pids); bps=$(bouncer_pids)
  local t0 b0 g0; t0=$(cpu_ticks $pid); b0=$(cpu_ticks $bps); g0=$(cpu_ticks $pgs)
  local out
  out=$(/usr/bin/time -f "wrk-cpu %U %S" wrk -t1 -c"$CONNS" -d"${WRK_S}s" \
    "http://127.0.0.1:$S_PORT/samples/7" 2>&1)
  local t1 b1 g1; t1=$(cpu_ticks $pid); b1=$(cpu_ticks $bps); g1=$(cpu_ticks $pgs)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  if [ "${1%-unnamed}" = held ] && ! grep -q "the role's defaults hold" "$tmp/soom.log"; then
    echo "held: the settings were not found held by the role" >&2; grep -v "\"msg\":\"request\"" "$tmp/soom.log" | head -20 >&2; exit 1
  fi
  local reqs rps non2xx w
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "wrk: $non2xx non-2xx answers ($1)" >&2; exit 1; }
  w=$(echo "$out" | awk -v hz="$hz" '/^wrk-cpu/ {printf "%d", ($2 + $3) * hz}')
  echo "$rps $(per_req $((t1 - t0)) "$reqs") $(per_req $((b1 - b0)) "$reqs")" \
    "$(per_req $((g1 - g0)) "$reqs") $(per_req "$w" "$reqs")"
}

# the replica really serves the reads: its sessions are soom's
env DATABASE_URL="$PRIMARY" SOOM_DATABASE__REPLICAS="$REPLICA" "$SOOM" run "$HERE/app" \
  --port "$S_PORT" >"$tmp/check.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$S_PORT/samples/1" && break; sleep 0.1; done
curl -s -o /dev/null "http://127.0.0.1:$S_PORT/samples/7"
on_replica=$(psql -AtX "$REPLICA" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'soom'")
kill -TERM $pid; wait $pid 2>/dev/null || true
echo "soom sessions on the replica after one by-id read: $on_replica"

# PgBouncer's own ceiling on this machine: pgbench's select-only script
# (extended protocol, 8 clients as soom's pool), directly and through it
if [ "$PGBENCH_RUN" = 1 ]; then
  PGBENCH=$PG_BIN/pgbench
  psql -qX "$PRIMARY" -c "CREATE DATABASE soom_pgbench" >/dev/null
  "$PGBENCH" -i -s 1 -q "$(db_url "$PRIMARY" pgbench)" >/dev/null 2>&1
  # -M prepared directly is what soom's direct path does (named statements)
  pgb() { "$PGBENCH" -n -S -M "$2" -c 8 -j 1 -T "$WRK_S" "$1" 2>/dev/null | awk '/^tps/ {print $3}'; }
  pp=""; pd=""; pb=""
  for _ in $(seq 1 "$PASSES"); do
    pp="$pp $(pgb "$(db_url "$PRIMARY" pgbench)" prepared)"
    pd="$pd $(pgb "$(db_url "$PRIMARY" pgbench)" extended)"
    pb="$pb $(pgb "$(db_url "$BOUNCER" pgbench)" extended)"
  done
  echo
  echo "pgbench -S -c 8, tps per pass: direct -M prepared$pp; direct -M extended$pd;" \
    "through PgBouncer -M extended$pb"
fi

echo
echo "## GET /samples/7: wrk -t1 -c$CONNS -d${WRK_S}s, $THREADS server threads, alternating ($PASSES passes), medians"
echo "(load average before: $(cut -d' ' -f1-3 /proc/loadavg); transport $TRANSPORT; PgBouncer pool $POOL" \
  "over $BPROCS process(es), soom pool $SOOM_POOL (behind PgBouncer $BSOOM_POOL), PgBouncer nice $NICE)"
mkdir -p "$tmp/r"
for c in $CONFIGS; do : >"$tmp/r/$c"; done
for _ in $(seq 1 "$PASSES"); do
  for c in $CONFIGS; do run_wrk "$c" >>"$tmp/r/$c"; done
done
med() { sort -g -k"$2" "$1" | awk -v k="$2" '{v[NR]=$k} END {print v[int((NR+1)/2)]}'; }
first=${CONFIGS%% *}
echo "| path | req/s | ratio to $first | soom CPU µs/req | PgBouncer | PostgreSQL | wrk | sum |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for c in $CONFIGS; do
  # the pass's ratio to the first path, then the medians
  paste -d' ' "$tmp/r/$first" "$tmp/r/$c" | awk '{print $6 / $1}' >"$tmp/r/$c.ratio"
  awk '{print $2 + $3 + $4 + $5}' "$tmp/r/$c" >"$tmp/r/$c.sum"
  echo "| $c | $(med "$tmp/r/$c" 1) | $(med "$tmp/r/$c.ratio" 1) | $(med "$tmp/r/$c" 2) |" \
    "$(med "$tmp/r/$c" 3) | $(med "$tmp/r/$c" 4) | $(med "$tmp/r/$c" 5) | $(med "$tmp/r/$c.sum" 1) |"
done
echo
echo "(ratio: the median of the passes' ratios; CPU columns: µs per request, medians)"
for c in $CONFIGS; do echo "$c, each pass (req/s soom bouncer postgres wrk): $(tr '\n' ';' <"$tmp/r/$c")"; done
