#!/usr/bin/env bash
# A private PostgreSQL cluster for the test suite.
#
#   tests/support/pg.sh start    initdb on first use, start, create the role and
#                                database `soom` (password `soom`); idempotent
#   tests/support/pg.sh stop     stop the server (the data folder stays)
#   tests/support/pg.sh status   exit 0 when running, 3 when stopped
#   tests/support/pg.sh url      print the DATABASE_URL of the cluster
#   tests/support/pg.sh psql ... run psql on it as `soom`
#
# The data folder and the unix socket live under $SOOM_TEST_PG_DIR (default
# /tmp/soom-test-pg); the server listens on 127.0.0.1:$SOOM_TEST_PG_PORT
# (default 25432, below the kernel's ephemeral ports, so an outgoing
# connection never holds it); $SOOM_TEST_PG_OPTIONS adds server options to
# its start ("-c shared_preload_libraries=pg_stat_statements"). initdb
# refuses to run as root, so as root the server runs as the `postgres`
# system user (the postgresql package creates it) and the folder is given
# to that user. Concurrent `start`s (parallel test runs)
# serialise on a lock file next to the folder.
set -euo pipefail

DIR=${SOOM_TEST_PG_DIR:-/tmp/soom-test-pg}
PORT=${SOOM_TEST_PG_PORT:-25432}
DATA=$DIR/data
SOCK=$DIR/run
LOG=$DIR/postgres.log
URL="postgresql://soom:soom@127.0.0.1:$PORT/soom"

die() {
    echo "pg.sh: $*" >&2
    exit 1
}

# The server binaries: PostgreSQL 15 first, then the newest installed
# version, then whatever pg_ctl is on PATH.
find_bin() {
    if [ -x /usr/lib/postgresql/15/bin/pg_ctl ]; then
        echo /usr/lib/postgresql/15/bin
        return
    fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d/pg_ctl" ]; then
        echo "$d"
        return
    fi
    if command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"
        return
    fi
    die "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH); install them: apt-get install postgresql"
}

is_root() {
    [ "$(id -u)" = 0 ]
}

# Runs a server-side command as the user that owns the cluster.
as_owner() {
    if is_root; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [ -f "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

# psql as the cluster's superuser over the unix socket.
admin_psql() {
    as_owner "$BIN/psql" -X -q -h "$SOCK" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

prepare_dir() {
    if is_root; then
        getent passwd postgres >/dev/null ||
            die "running as root needs the 'postgres' system user to run the server (apt-get install postgresql creates it)"
    fi
    mkdir -p "$DIR"
    if is_root; then
        chown postgres: "$DIR"
    fi
    chmod 700 "$DIR"
    as_owner mkdir -p "$SOCK"
    as_owner test -w "$DIR" || die "$DIR is not writable by the server's user"
}

init_cluster() {
    [ -f "$DATA/PG_VERSION" ] && return
    as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 ||
        die "initdb failed; see $DIR/initdb.log"
    # A throw-away cluster: durability off, room for parallel test pools.
    as_owner sh -c "cat >> '$DATA/postgresql.conf'" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
EOF
}

ensure_role() {
    local has
    has=$(admin_psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'soom'")
    if [ "$has" != 1 ]; then
        admin_psql -c "CREATE ROLE soom LOGIN PASSWORD 'soom' CREATEDB"
    fi
    has=$(admin_psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'soom'")
    if [ "$has" != 1 ]; then
        admin_psql -c "CREATE DATABASE soom OWNER soom"
    fi
}

start() {
    mkdir -p "$(dirname "$DIR")"
    exec 9>"$DIR.lock"
    flock 9
    prepare_dir
    init_cluster
    if ! running; then
        # 9>&-: the server must not inherit the lock
        as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 \
            -o "-p $PORT -k $SOCK ${SOOM_TEST_PG_OPTIONS:-}" start >/dev/null 9>&- ||
            die "the server did not start; see $LOG"
    fi
    local i
    for i in $(seq 1 100); do
        if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
            break
        fi
        sleep 0.1
    done
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" ||
        die "the server runs but does not answer on 127.0.0.1:$PORT; see $LOG"
    ensure_role
    echo "PostgreSQL running: $URL"
}

stop() {
    exec 9>"$DIR.lock"
    flock 9
    if running; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
    fi
    echo "PostgreSQL stopped"
}

BIN=$(find_bin)

case "${1:-}" in
start) start ;;
stop) stop ;;
status)
    if running; then
        echo "running: $URL"
    else
        echo "stopped"
        exit 3
    fi
    ;;
url) echo "$URL" ;;
psql)
    shift
    exec "$BIN/psql" -X "$URL" "$@"
    ;;
*)
    echo "usage: $0 start|stop|status|url|psql [psql arguments]" >&2
    exit 2
    ;;
esac
