#!/usr/bin/env bash
# What the hardening checks cost per request, function by function
# (callgrind): the request head's checks (http_head.c and the index of the
# fields the core reads), the JSON body's RFC 8259 checks (json_scan.c, the
# walk in json.c, the charset test) and the protected Lua dispatch (the
# guard, the watch of handler_timeout, the counting allocator of
# lua_memory_limit), for GET /json (a Lua resource) and POST /samples (a
# generic create in C) of bench/app, one thread, keep-alive, access log on.
#
#   DATABASE_URL=postgresql://... bench/checks.sh BEFORE_SOOM AFTER_SOOM [--requests N]
#
# Each soom serves 300 requests of each kind to warm up, then N GETs and N
# POSTs, with a callgrind dump (callgrind_control -d) before and after each
# batch: a dump holds its batch only. The whole-process count moves by
# about 1.5% between runs of one binary (the other threads' timers, the
# allocator's state), so what compares is the self cost of the functions
# each check runs, summed per part; `clock` (every clock read of the
# request, the watch's one among them) is shown apart, as it moves by
# some 15 instructions between runs.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
BEFORE=$1 AFTER=$2; shift 2
N=2000
while [ $# -gt 0 ]; do case $1 in
  --requests) N=$2; shift 2;;
  *) echo "unknown argument $1" >&2; exit 2;; esac; done
: "${DATABASE_URL:?set DATABASE_URL}"
PORT=${PORT:-9377}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
export SOOM_ACCESS_LOG=true SOOM_THREADS=1
psql -qX "$DATABASE_URL" -c "CREATE TABLE IF NOT EXISTS sample (id bigserial PRIMARY KEY,
  name text NOT NULL, score int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());" >/dev/null
BODY='{"name": "a sample of some length", "score": 42}'

urls() { # METHOD COUNT FILE: a curl config of COUNT requests
  {
    if [ "$1" = POST ]; then
      printf 'request = "POST"\nheader = "Content-Type: application/json"\ndata = %s\n' \
        "$(printf '%s' "$BODY" | sed 's/"/\\"/g; s/^/"/; s/$/"/')"
      path=/samples
    else
      path=/json
    fi
    for ((i = 0; i < $2; i++)); do
      printf 'url = "http://127.0.0.1:%s%s"\noutput = "/dev/null"\n' "$PORT" "$path"
    done
  } >"$3"
}
urls GET 300 "$tmp/warm-get"; urls POST 300 "$tmp/warm-post"
urls GET "$N" "$tmp/get"; urls POST "$N" "$tmp/post"

dumps() { # SOOM LABEL: $tmp/LABEL.2 holds the GETs, $tmp/LABEL.3 the POSTs
  valgrind --tool=callgrind --callgrind-out-file="$tmp/$2" \
    "$1" run "$HERE/app" --port "$PORT" >"$tmp/$2.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do curl -s -o /dev/null "http://127.0.0.1:$PORT/json" && break; sleep 0.2; done
  curl -s -K "$tmp/warm-get"; curl -s -K "$tmp/warm-post"
  sleep 0.5; callgrind_control -d $pid >/dev/null; sleep 0.5
  curl -s -K "$tmp/get"; sleep 0.3; callgrind_control -d $pid >/dev/null; sleep 0.5
  curl -s -K "$tmp/post"; sleep 0.3; callgrind_control -d $pid >/dev/null; sleep 0.5
  kill -INT $pid; sleep 1; kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
}
dumps "$BEFORE" before
dumps "$AFTER" after

python3 - "$N" "$tmp" <<'PY'
import re, subprocess, sys
n, tmp = float(sys.argv[1]), sys.argv[2]
# the functions each part runs, as callgrind_annotate names them (inlined
# helpers count in their caller; soom_pipeline_begin holds the charset test
# and the head's verdict taken; LuaJIT's allocator shows as two addresses
# between which the counting wrapper moves its work)
PARTS = {
    'head': ['soom_http_head_check', 'soom_request_index_headers', '__strncasecmp_avx2',
             '__memchr_avx2', 'soom_pipeline_identify', 'identify_indexed', 'trim', 'on_uri',
             'on_request', 'check_length', 'soom_pipeline_begin'],
    'json': ['soom_json_parse', 'json_scan', 'scan_string', 'walk_tree', "walk_tree'2", 'walk_root',
             'json_notes_free', 'cJSON_IsNumber', 'cJSON_IsObject', 'cJSON_IsArray',
             'duplicate_name'],
    'lua': ['counted', 'resume', 'resume_watched', 'soom_lua_watch_begin', '__sigsetjmp',
            '__sigjmp_save', 'soom_lua_watch_end', 'soom_lua_dispatch', 'soom_lua_guard_set',
            'soom_fiber_current', 'soom_fiber_local', 'pthread_self', 'soom_request_set_current',
            'run_coroutine', '0x0000000000017b20', '0x000000000000d030'],
    'clock': ['soom_clock_ns', 'clock_gettime@@GLIBC_2.17'],
}
def load(f):
    out = subprocess.run(['callgrind_annotate', '--auto=no', '--threshold=100', f],
                         capture_output=True, text=True).stdout
    d, total = {}, 0
    for line in out.splitlines():
        m = re.match(r'\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$', line)
        if not m:
            continue
        v, name = int(m.group(1).replace(',', '')), m.group(2).strip()
        if 'PROGRAM TOTALS' in name:
            total = v
            continue
        name = re.sub(r' \[.*\]$', '', re.sub(r'^.*?:', '', name, count=1))
        d[name] = d.get(name, 0) + v
    return d, total
print('| endpoint | part | before | after | change |\n|---|---|---:|---:|---:|')
for k, ep in (('2', 'GET /json'), ('3', 'POST /samples')):
    (b, tb), (a, ta) = load(f'{tmp}/before.{k}'), load(f'{tmp}/after.{k}')
    for part, fns in PARTS.items():
        x, y = (sum(d.get(f, 0) for f in fns) / n for d in (b, a))
        # a share of the after's whole request (the before's may hold a stall)
        print(f'| {ep} | {part} | {x:.0f} | {y:.0f} | {y - x:+.0f} ({100 * (y - x) / (ta / n):+.2f}%) |')
    print(f'| {ep} | whole process | {tb / n:.0f} | {ta / n:.0f} | {100 * (ta - tb) / tb:+.2f}% |')
PY
