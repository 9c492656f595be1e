#!/bin/sh
# Auth benchmark: the auth module's JWT verification and password checks
# beside simplejwt, PyJWT and Django (Debian 12's) on the same machine, in
# one run, then callgrind's instruction counts for one HS256 and one RS256
# verification. Builds a release libsoom in build-bench/ at the top of the
# tree (or uses BUILD=<tree>).
#   usage: bench/auth/run.sh [seconds-per-measurement (default 2)]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-2}
cd "$here"
if [ -z "${BUILD:-}" ]; then
    BUILD=$(cd "$here/../.." && pwd)/build-bench
    cmake -S "$here/../.." -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSOOM_TESTS=OFF >/dev/null
    cmake --build "$BUILD" --target libsoom -j2 >/dev/null
fi
make -s BUILD="$BUILD" bench
./bench "$secs"
/usr/bin/python3 bench.py "$secs"
# Instructions per verification, counted inside the verification and the
# release of its claims only (key generation and start-up excluded).
if command -v valgrind >/dev/null; then
    for alg in HS256 RS256 ES256 EdDSA; do
        total=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null \
            --toggle-collect=soom_auth_jwt_verify --toggle-collect=soom_auth_jwt_claims_cleanup \
            ./bench count "$alg" 1000 2>&1 | awk '/Collected/ { gsub(",", "", $NF); print $NF }')
        echo "callgrind $alg $((total / 1000)) instructions per verification"
    done
fi
rm -f bench
