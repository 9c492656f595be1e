#!/usr/bin/env bash
# Soom side by side with the peer frameworks of ../shared/bench, in one run.
#
#   bench/run.sh [--endpoints "json by_id page post"] [--passes N] [--tag NAME]
#                [--peers "kore ..."] [--soom "async threads"]
#
# Copies the peer harness to $PEERS_DIR (default /tmp/soom-peers; the shared
# folder is read-only), installs it once (root: apt, npm, a private
# PostgreSQL on 127.0.0.1:54329 with 10,000 rows), builds soom, then for each
# pass measures every peer, bare libmicrohttpd (the floor under our own
# overhead) and soom under each of the server models given (async, with
# threads = cores, as "soom"; threads, with threads = 4, as "soom-threads"),
# with the same wrk scripts. Prints the medians with the server's CPU time
# per request (bench/summarize.py); only ratios from the same run mean
# anything on a shared machine.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PEERS_DIR=${PEERS_DIR:-/tmp/soom-peers}
SHARED=${SHARED_BENCH:-$ROOT/../shared/bench}
ENDPOINTS="json"; PASSES=3; TAG="soom-$(date +%Y%m%d-%H%M%S)"
PEERS="nginx-static nginx-lua kore fastify falcon-sync"; MODELS="async"
while [ $# -gt 0 ]; do case $1 in
  --endpoints) ENDPOINTS=$2; shift 2;; --passes) PASSES=$2; shift 2;;
  --tag) TAG=$2; shift 2;; --peers) PEERS=$2; shift 2;; --soom) MODELS=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done

if [ ! -x "$PEERS_DIR/run.sh" ]; then
  mkdir -p "$PEERS_DIR" && cp -r "$SHARED/." "$PEERS_DIR/"
fi
[ -f "$PEERS_DIR/.installed" ] || { (cd "$PEERS_DIR" && ./install.sh) && touch "$PEERS_DIR/.installed"; }

# Built through the project's own setup, after the peers' packages: it
# installs the LuaJIT headers that match whichever LuaJIT they left.
if [ -z "${SOOM_BIN:-}" ]; then
  bash "$ROOT/.ci/setup" >/dev/null
fi
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
MHD=/tmp/soom-mhd-hello
gcc -O2 -o "$MHD" "$SHARED/mhd-ceiling/mhd_hello.c" $(pkg-config --cflags --libs libmicrohttpd)

. "$PEERS_DIR/env.sh"
export DATABASE_URL="postgresql://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE"
"$PEERS_DIR/db.sh" start
cd "$PEERS_DIR"
peer_eps() { case $1 in nginx-static|nginx-lua) echo json;; *) echo "$ENDPOINTS";; esac; }
for pass in $(seq 1 "$PASSES"); do
  for p in $PEERS; do ./run.sh --peers "$p" --endpoints "$(peer_eps "$p")" --tag "$TAG" --keep-db; done
  ./run.sh --url http://127.0.0.1:9001 --name mhd-ceiling --endpoints json --tag "$TAG" \
    --start "$MHD 9001 pool 2"
  for m in $MODELS; do
    # a thread of the threads model waits out each query: it runs 4 on 2 cores
    case $m in async) name=soom; env="SOOM_SERVER=async";;
               threads) name=soom-threads; env="SOOM_SERVER=threads SOOM_THREADS=4";;
               *) name=soom-$m; env="SOOM_SERVER=$m";; esac
    ./run.sh --url http://127.0.0.1:9000 --name "$name" --endpoints "$ENDPOINTS" --tag "$TAG" \
      --start "env -u SOOM_BIN $env $SOOM run $HERE/app --port 9000"
  done
done
mkdir -p "$HERE/results"
cp "results/$TAG.tsv" "$HERE/results/"
/usr/bin/python3 "$HERE/summarize.py" "results/$TAG.tsv" | tee "$HERE/results/$TAG.md"
