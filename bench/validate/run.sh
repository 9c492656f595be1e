#!/bin/sh
# Validation benchmark: Soom's C validator against Ajv 8 (Node.js), same
# schema, same documents, validation only. Builds a release libsoom in
# ./build (or uses BUILD=<tree>), installs Ajv into ./node_modules on first
# use, runs both and prints docs/s and the ratio.
#   usage: bench/validate/run.sh [seconds-per-measurement]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-2}
cd "$here"
if [ -z "${BUILD:-}" ]; then
    BUILD="$here/build"
    cmake -S "$here/../.." -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSOOM_TESTS=OFF >/dev/null
    cmake --build "$BUILD" --target libsoom -j2 >/dev/null
fi
make -s BUILD="$BUILD" bench
[ -d node_modules/ajv ] || npm install --silent --no-audit --no-fund >/dev/null
soom=$(./bench "$here" "$secs")
ajv=$(node bench.js "$here" "$secs")
echo "$soom"
echo "$ajv"
rate() { echo "$1" | awk -v k="$2" '$2 == k { print $3 }'; }
for kind in valid invalid; do
    s=$(rate "$soom" "$kind")
    a=$(echo "$ajv" | awk -v k="$kind" '$2 == k { print $3 }')
    awk -v s="$s" -v a="$a" -v k="$kind" 'BEGIN { printf "ratio %-7s soom/ajv = %.2fx\n", k, s / a }'
done
