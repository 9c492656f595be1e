#!/usr/bin/env bash
# The cost of reading JSON bodies (docs/GUIDE.md, "JSON bodies"):
# instructions per request (callgrind, one thread, keep-alive, access log on)
# of POST /samples (a generic create, parsed, validated and written in C)
# and GET /json (no body), for the soom given as SOOM_BIN and, to compare,
# as BASE_BIN when set.
#
#   BASE_BIN=/path/to/old/soom bench/json.sh [--requests N]
#
# With CG_KEEP=<dir>, the callgrind files are kept there, for
# callgrind_annotate --inclusive=yes (soom_json_parse, the pipeline's steps).
#
# Needs DATABASE_URL (a database where it may create the table "sample").
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
N=2000
while [ $# -gt 0 ]; do case $1 in
  --requests) N=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
: "${DATABASE_URL:?set DATABASE_URL}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
psql -qX "$DATABASE_URL" -c "CREATE TABLE IF NOT EXISTS sample (id bigserial PRIMARY KEY,
  name text NOT NULL, score int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());" >/dev/null
export SOOM_ACCESS_LOG=true SOOM_THREADS=1
BODY='{"name": "a sample of some length", "score": 42}'

instr() { # BIN METHOD PATH PORT LABEL
  local bin=$1 method=$2 path=$3 port=$4 label=$5
  {
    # curl applies these to every URL of the file (one body, not one per URL)
    if [ "$method" = POST ]; then
      printf 'request = "POST"\nheader = "Content-Type: application/json"\ndata = %s\n' \
        "$(printf '%s' "$BODY" | sed 's/"/\\"/g; s/^/"/; s/$/"/')"
    fi
    for ((i = 0; i < N; i++)); do
      printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "$port" "$path"
    done
  } >"$tmp/urls"
  total() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
      "$bin" run "$HERE/app" --port "$port" >"$tmp/log.$1" 2>&1 &
    local pid=$!
    for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$port/json" 2>/dev/null && break; sleep 0.2; done
    [ "$1" = load ] && curl -s -K "$tmp/urls"
    kill -INT $pid; sleep 1; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    [ -n "${CG_KEEP:-}" ] && cp "$tmp/cg.$1" "$CG_KEEP/$label.$method.$1"
    callgrind_annotate "$tmp/cg.$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); v=$1} END {print v}'
  }
  local idle load
  idle=$(total idle); load=$(total load)
  echo $(( (load - idle) / N ))
}
echo "## instructions per request (callgrind, $N keep-alive requests, 1 thread)"
echo "| endpoint | base | this | ratio |"
echo "|---|---:|---:|---:|"
for ep in "POST /samples" "GET /json"; do
  set -- $ep
  this=$(instr "$SOOM" "$1" "$2" 9321 this)
  base=-
  [ -n "${BASE_BIN:-}" ] && base=$(instr "$BASE_BIN" "$1" "$2" 9321 base)
  ratio=$(awk -v a="$this" -v b="$base" 'BEGIN{if (b+0 > 0) printf "%.4f", a/b; else print "-"}')
  echo "| $ep | $base | $this | $ratio |"
done
