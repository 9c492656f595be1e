#!/usr/bin/env bash
# By-id reads behind authentication against the open by-id read, in one run
# (bench/auth/app):
#
#   bench/auth/http.sh [--requests N] [--wrk-seconds S] [--passes P]
#
# 1. Instructions per request (callgrind, one thread, keep-alive, access log
#    on) of GET /samples/7, /token/samples/7 (DRF token, credential cache
#    on) and /jwt/samples/7 (simplejwt HS256 token): the repeatable figure.
# 2. Requests/s and server CPU µs per request with wrk (--threads server
#    threads, 4 by default as bench/app; --connections, 32), the three
#    endpoints alternating, P passes; medians, and the median of each
#    pass's ratios (the machine's load moves between passes).
# Every request carries the same Authorization header, which the open
# endpoint ignores, so the three parse the same bytes.
#
# Needs DATABASE_URL (a database where it may create sample, auth_user and
# authtoken_token when they are missing).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SOOM=${SOOM_BIN:-$ROOT/build/bin/soom}
N=3000; WRK_S=5; PASSES=3; THREADS=4; CONNS=32
while [ $# -gt 0 ]; do case $1 in
  --requests) N=$2; shift 2;; --wrk-seconds) WRK_S=$2; shift 2;; --passes) PASSES=$2; shift 2;;
  --threads) THREADS=$2; shift 2;; --connections) CONNS=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
: "${DATABASE_URL:?set DATABASE_URL}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
SECRET="the benchmark's JWT secret"
psql -qX "$DATABASE_URL" >/dev/null <<'SQL'
CREATE TABLE IF NOT EXISTS sample (id bigserial PRIMARY KEY, name text NOT NULL,
  score int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO sample (name, score) SELECT 'n' || g, g % 100 FROM generate_series(1, 100) g
  WHERE NOT EXISTS (SELECT 1 FROM sample);
CREATE TABLE IF NOT EXISTS auth_user (id serial PRIMARY KEY, password varchar(128) NOT NULL,
  last_login timestamptz, is_superuser boolean NOT NULL, username varchar(150) UNIQUE NOT NULL,
  first_name varchar(150) NOT NULL, last_name varchar(150) NOT NULL, email varchar(254) NOT NULL,
  is_staff boolean NOT NULL, is_active boolean NOT NULL, date_joined timestamptz NOT NULL);
CREATE TABLE IF NOT EXISTS authtoken_token (key varchar(40) PRIMARY KEY,
  created timestamptz NOT NULL, user_id integer UNIQUE NOT NULL REFERENCES auth_user (id));
INSERT INTO auth_user VALUES (1, '!', NULL, false, 'bench', '', '', '', false, true, now())
  ON CONFLICT DO NOTHING;
INSERT INTO authtoken_token VALUES ('b1e7c0ffeeb1e7c0ffeeb1e7c0ffeeb1e7c0ffee', now(), 1)
  ON CONFLICT DO NOTHING;
SQL
TOKEN="Token b1e7c0ffeeb1e7c0ffeeb1e7c0ffeeb1e7c0ffee"
JWT="Bearer $(/usr/bin/python3 -c 'import jwt, sys, time, uuid; print(jwt.encode({"token_type": "access",
  "exp": int(time.time()) + 86400, "iat": int(time.time()), "jti": uuid.uuid4().hex, "user_id": 1},
  sys.argv[1], algorithm="HS256"))' "$SECRET")"
export SOOM_ACCESS_LOG=true SOOM_JWT__SIGNING_KEY="$SECRET"
header_of() { case $1 in /token/*) echo "$TOKEN";; /jwt/*) echo "$JWT";; *) echo "$TOKEN";; esac; }

# --- 1. instructions per request -----------------------------------------------
instr() { # PATH PORT
  local path=$1 port=$2 h; h=$(header_of "$1")
  # (a header line in curl's config would apply to every request of it)
  for ((i = 0; i < N; i++)); do
    printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "$port" "$path"
  done >"$tmp/urls"
  total() {
    SOOM_THREADS=1 valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$1" \
      "$SOOM" run "$HERE/app" --port "$port" >"$tmp/log.$1" 2>&1 &
    local pid=$!
    for _ in $(seq 1 150); do curl -s -o /dev/null "http://127.0.0.1:$port/samples/1" 2>/dev/null && break; sleep 0.2; done
    [ "$1" = load ] && curl -s -H "Authorization: $h" -K "$tmp/urls"
    kill -INT $pid; sleep 1; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    callgrind_annotate "$tmp/cg.$1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); v=$1} END {print v}'
  }
  local idle load
  idle=$(total idle); load=$(total load)
  echo $(( (load - idle) / N ))
}
echo "## instructions per request (callgrind, $N keep-alive requests, 1 thread)"
echo "| endpoint | instructions | ratio to open |"
echo "|---|---:|---:|"
open=$(instr /samples/7 9321)
echo "| GET /samples/7 | $open | 1 |"
for ep in /token/samples/7 /jwt/samples/7; do
  v=$(instr "$ep" 9321)
  echo "| GET $ep | $v | $(awk -v a="$open" -v b="$v" 'BEGIN{printf "%.3f", a/b}') |"
done

# --- 2. throughput and CPU per request ------------------------------------------------
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run_wrk() { # PATH -> "rps cpu_us_per_request"
  SOOM_THREADS=$THREADS "$SOOM" run "$HERE/app" --port 9322 >/dev/null 2>&1 &
  local pid=$! h; h=$(header_of "$1")
  for _ in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:9322/samples/1 && break; sleep 0.1; done
  wrk -t1 -c"$CONNS" -d1s -H "Authorization: ${h}" "http://127.0.0.1:9322$1" >/dev/null
  local t0; t0=$(cpu_ticks $pid)
  local out; out=$(wrk -t1 -c"$CONNS" -d"${WRK_S}s" -H "Authorization: ${h}" "http://127.0.0.1:9322$1")
  local t1; t1=$(cpu_ticks $pid)
  kill -TERM $pid; wait $pid 2>/dev/null || true
  local reqs; reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  [ -z "$non2xx" ] || { echo "wrk: $non2xx non-2xx answers on $1" >&2; exit 1; }
  local hz; hz=$(getconf CLK_TCK)
  echo "$rps $(awk -v d=$((t1 - t0)) -v n="$reqs" -v hz="$hz" 'BEGIN{printf "%.2f", d / hz * 1e6 / n}')"
}
echo
echo "## wrk -t1 -c$CONNS -d${WRK_S}s, $THREADS server threads, the three alternating ($PASSES passes), medians"
: >"$tmp/open"; : >"$tmp/token"; : >"$tmp/jwt"
for _ in $(seq 1 "$PASSES"); do
  run_wrk /samples/7 >>"$tmp/open"
  run_wrk /token/samples/7 >>"$tmp/token"
  run_wrk /jwt/samples/7 >>"$tmp/jwt"
done
med() { sort -n -k"$2" "$1" | awk -v k="$2" '{v[NR]=$k} END {print v[int((NR+1)/2)]}'; }
echo "| endpoint | req/s | ratio to open | server CPU µs/req |"
echo "|---|---:|---:|---:|"
o=$(med "$tmp/open" 1)
for e in open token jwt; do
  r=$(med "$tmp/$e" 1); c=$(med "$tmp/$e" 2)
  echo "| $e | $r | $(awk -v a="$r" -v b="$o" 'BEGIN{printf "%.3f", a/b}') | $c |"
done
paste -d' ' "$tmp/open" "$tmp/token" "$tmp/jwt" | awk '{print $3 / $1, $5 / $1}' >"$tmp/ratios"
echo
echo "median of the passes' ratios: token $(sort -n -k1 "$tmp/ratios" | awk '{v[NR]=$1} END {printf "%.3f", v[int((NR+1)/2)]}'), jwt $(sort -n -k2 "$tmp/ratios" | awk '{v[NR]=$2} END {printf "%.3f", v[int((NR+1)/2)]}')"
echo "(each pass, req/s and CPU µs: $(paste -d' ' "$tmp/open" "$tmp/token" "$tmp/jwt" | tr '\n' ';'))"
