#!/usr/bin/env bash
# The by-id read of bench/app (GET /samples/7) three ways, in one run
# (docs/SCALING.md):
#
#   bench/scale.sh [--wrk-seconds S] [--passes P] [--threads T] [--connections C]
#                  [--pool-size N] [--soom-pool M] [--bouncer-nice K] [--base-port PORT]
#
#   direct    soom -> the primary
#   bouncer   soom (pool.max M, 8 by default) -> PgBouncer (transaction
#             mode, default_pool_size N, 8 by default) -> the primary,
#             database.pooler set: each statement carries the session
#             settings (one pipeline)
#   held      the same, to a database whose role defaults hold the
#             settings (ALTER ROLE ... IN DATABASE ... SET): no statement more
#   replica   soom -> a streaming replica (database.replicas; every by-id
#             read is served by it), the primary beside it
#
# It starts its own primary (tests/support/pg.sh), a replica made with
# pg_basebackup -R, and PgBouncer, on ports from --base-port (25600) on,
# and stops them at the end. The three alternate, P passes of wrk -t1
# -cC -dS each on a fresh server; medians of requests/s and of the server's
# CPU µs per request (soom's own; PgBouncer's beside it for the bouncer),
# and the median of each pass's ratios to direct. PgBouncer is one
# process: on a machine with more runnable tasks than cores the scheduler
# gives it one task's share, which caps what passes through it;
# --bouncer-nice -10 runs it at a higher priority (as root), to tell that
# cap from PgBouncer's own cost.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
WRK_S=5; PASSES=5; THREADS=4; CONNS=32; POOL=8; SOOM_POOL=8; BASE=25600; NICE=0
while [ $# -gt 0 ]; do case $1 in
  --wrk-seconds) WRK_S=$2; shift 2;; --passes) PASSES=$2; shift 2;;
  --threads) THREADS=$2; shift 2;; --connections) CONNS=$2; shift 2;;
  --bouncer-nice) NICE=$2; shift 2;;
  --pool-size) POOL=$2; shift 2;; --soom-pool) SOOM_POOL=$2; shift 2;; --base-port) BASE=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
PG_BIN=/usr/lib/postgresql/15/bin
P_PORT=$((BASE + 1)); R_PORT=$((BASE + 2)); B_PORT=$((BASE + 3)); S_PORT=$((BASE + 4))
tmp=$(mktemp -d); chmod 755 "$tmp"
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
export SOOM_TEST_PG_DIR=$tmp/primary SOOM_TEST_PG_PORT=$P_PORT
cleanup() {
  [ -f "$tmp/bouncer.pid" ] && kill "$(cat "$tmp/bouncer.pid")" 2>/dev/null || true
  as_owner "$PG_BIN/pg_ctl" -D "$tmp/replica" -m fast -w stop >/dev/null 2>&1 || true
  bash "$ROOT/tests/support/pg.sh" stop >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

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
printf '"soom" "soom"\n' >"$tmp/users.txt"
cat >"$tmp/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$P_PORT
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $B_PORT
unix_socket_dir =
auth_type = plain
auth_file = $tmp/users.txt
pool_mode = transaction
default_pool_size = $POOL
max_client_conn = 1000
logfile = $tmp/pgbouncer.log
pidfile = $tmp/bouncer.pid
EOF
[ "$(id -u)" = 0 ] && chown postgres "$tmp/pgbouncer.ini" "$tmp/users.txt"
if [ "$NICE" != 0 ]; then
  nice -n "$NICE" runuser -u postgres -- pgbouncer -d "$tmp/pgbouncer.ini"
else
  as_owner pgbouncer -d "$tmp/pgbouncer.ini"
fi
for _ in $(seq 1 50); do [ -f "$tmp/bouncer.pid" ] && break; sleep 0.1; done
BOUNCER="postgresql://soom:soom@127.0.0.1:$B_PORT/soom"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run_wrk() { # CONFIG -> "rps soom_cpu_us bouncer_cpu_us"
  local env=(SOOM_THREADS=$THREADS DATABASE_URL=$PRIMARY)
  case $1 in
    bouncer) env=(SOOM_THREADS=$THREADS DATABASE_URL=$BOUNCER SOOM_DATABASE__POOLER=pgbouncer-transaction
                  SOOM_POOL__MAX=$SOOM_POOL);;
    held) env=(SOOM_THREADS=$THREADS DATABASE_URL=${BOUNCER}_held
               SOOM_DATABASE__POOLER=pgbouncer-transaction SOOM_POOL__MAX=$SOOM_POOL);;
    replica) env+=(SOOM_DATABASE__REPLICAS=$REPLICA SOOM_DATABASE__MAX_REPLICA_LAG=10);;
  esac
  env "${env[@]}" "$SOOM" run "$HERE/app" --port "$S_PORT" >"$tmp/soom.log" 2>&1 &
  local pid=$! bpid; bpid=$(cat "$tmp/bouncer.pid")
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$S_PORT/samples/1" && break; sleep 0.1; done
  wrk -t1 -c"$CONNS" -d1s "http://127.0.0.1:$S_PORT/samples/7" >/dev/null
  local t0 b0; t0=$(cpu_ticks $pid); b0=$(cpu_ticks "$bpid")
  local out; out=$(wrk -t1 -c"$CONNS" -d"${WRK_S}s" "http://127.0.0.1:$S_PORT/samples/7")
  local t1 b1; t1=$(cpu_ticks $pid); b1=$(cpu_ticks "$bpid")
  kill -TERM $pid; wait $pid 2>/dev/null || true
  if [ "$1" = held ] && ! grep -q "the role's defaults hold" "$tmp/soom.log"; then
    echo "held: the settings were not found held by the role" >&2; grep -v "\"msg\":\"request\"" "$tmp/soom.log" | head -20 >&2; exit 1
  fi
  local reqs rps non2xx hz
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "wrk: $non2xx non-2xx answers ($1)" >&2; exit 1; }
  hz=$(getconf CLK_TCK)
  echo "$rps $(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.2f", d / hz * 1e6 / n}') \
$(awk -v d=$((b1 - b0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.2f", d / hz * 1e6 / n}')"
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
PGBENCH=$PG_BIN/pgbench
psql -qX "$PRIMARY" -c "CREATE DATABASE soom_pgbench" >/dev/null
"$PGBENCH" -i -s 1 -q "${PRIMARY}_pgbench" >/dev/null 2>&1
pgb() { "$PGBENCH" -n -S -M extended -c 8 -j 1 -T "$WRK_S" "$1" 2>/dev/null | awk '/^tps/ {print $3}'; }
pd=""; pb=""
for _ in $(seq 1 "$PASSES"); do pd="$pd $(pgb "${PRIMARY}_pgbench")"; pb="$pb $(pgb "${BOUNCER}_pgbench")"; done
echo
echo "pgbench -S -M extended -c 8, tps per pass: direct$pd; through PgBouncer$pb"

echo
echo "## GET /samples/7: wrk -t1 -c$CONNS -d${WRK_S}s, $THREADS server threads, the three alternating ($PASSES passes), medians"
echo "(load average before: $(cut -d' ' -f1-3 /proc/loadavg); PgBouncer pool $POOL, soom pool $SOOM_POOL, PgBouncer nice $NICE)"
mkdir -p "$tmp/r"
: >"$tmp/r/direct"; : >"$tmp/r/bouncer"; : >"$tmp/r/replica"; : >"$tmp/r/held"
for _ in $(seq 1 "$PASSES"); do
  for c in direct bouncer held replica; do run_wrk $c >>"$tmp/r/$c"; done
done
med() { sort -g -k"$2" "$1" | awk -v k="$2" '{v[NR]=$k} END {print v[int((NR+1)/2)]}'; }
echo "| path | req/s | ratio to direct | soom CPU µs/req | PgBouncer CPU µs/req |"
echo "|---|---:|---:|---:|---:|"
d=$(med "$tmp/r/direct" 1)
for c in direct bouncer held replica; do
  r=$(med "$tmp/r/$c" 1)
  b="-"
  if [ "$c" = bouncer ] || [ "$c" = held ]; then b=$(med "$tmp/r/$c" 3); fi
  echo "| $c | $r | $(awk -v a="$r" -v b="$d" 'BEGIN{printf "%.3f", a/b}') | $(med "$tmp/r/$c" 2) | $b |"
done
paste -d' ' "$tmp/r/direct" "$tmp/r/bouncer" "$tmp/r/replica" "$tmp/r/held" |
  awk '{print $4 / $1, $7 / $1, $10 / $1}' >"$tmp/ratios"
echo
echo "median of the passes' ratios to direct: bouncer $(sort -g -k1 "$tmp/ratios" | awk '{v[NR]=$1} END {printf "%.3f", v[int((NR+1)/2)]}'), replica $(sort -g -k2 "$tmp/ratios" | awk '{v[NR]=$2} END {printf "%.3f", v[int((NR+1)/2)]}'), held $(sort -g -k3 "$tmp/ratios" | awk '{v[NR]=$3} END {printf "%.3f", v[int((NR+1)/2)]}')"
echo "(each pass, req/s soom-µs bouncer-µs: direct | bouncer | held | replica: $(paste -d'|' "$tmp/r/direct" "$tmp/r/bouncer" "$tmp/r/held" "$tmp/r/replica" | tr '\n' ';'))"
