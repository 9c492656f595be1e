#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is
# needed, builds, starts a private PostgreSQL for the tests, runs every test
# (C unit tests, Lua specs, end-to-end HTTP tests, the sample app's tests,
# the JSON Schema conformance run, format and lint checks, and the OpenAPI
# tests with npm's tools and Chromium: label `npm`, skipped with --sanitize)
# and ends with "N passed, N failed".
#
#   tests/run.sh                 # regular build in ./build
#   tests/run.sh --sanitize      # ASan + UBSan build in ./build-asan
#   tests/run.sh --no-scaffold   # without the long scaffold suite (images)
#   tests/run.sh --fuzz          # the libFuzzer harnesses, a few seconds each
#                                # (clang, ASan + UBSan, in ./build-fuzz or
#                                # $SOOM_FUZZ_BUILD)
#
# The scaffold suite (ctest label "scaffold": createapp, its manifests, its
# image built and run) runs in the regular pass only: it tests files and
# images, not the core's memory, and is the slowest part.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

build=build
cmake_args=""
ctest_args=""
fuzz=0
for arg in "$@"; do
  case "$arg" in
    --fuzz) fuzz=1 ;;
    --sanitize)
      build=build-asan
      cmake_args="-DSOOM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug"
      # the scaffold suite, the npm tools and the browser test nothing of the
      # C that the sanitizers watch: they run in the regular pass
      ctest_args="-LE scaffold|npm"
      ;;
    --no-scaffold) ctest_args="-LE scaffold" ;;
    *) echo "usage: tests/run.sh [--sanitize] [--no-scaffold] [--fuzz]" >&2; exit 2 ;;
  esac
done
SOOM_BUILD=$build SOOM_CMAKE_ARGS="$cmake_args" bash .ci/setup

if [ "$fuzz" = 1 ]; then
  # the harnesses only (tests/fuzz/README.md): libsoom built by clang with
  # libFuzzer's coverage and the sanitizers, no database needed
  fb=${SOOM_FUZZ_BUILD:-build-fuzz}
  CC=clang cmake -S . -B "$fb" -DSOOM_FUZZ=ON -DSOOM_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  targets=$(sed -n 's/^set(SOOM_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
  cmake --build "$fb" -j"$(nproc)" --target $(printf 'fuzz_%s ' $targets)
  set +e
  ctest --test-dir "$fb" -L fuzz --output-on-failure 2>&1 | tee "$fb/ctest.log"
  status=${PIPESTATUS[0]}
  set -e
  passed=$(grep -cE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed" "$fb/ctest.log" || true)
  failed=$(grep -cE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Failed|Timeout|Not Run)" \
    "$fb/ctest.log" || true)
  echo "$passed passed, $failed failed"
  exit "$status"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

pg_started=0
if [ -x tests/support/pg.sh ]; then
  tests/support/pg.sh start
  pg_started=1
  DATABASE_URL=$(tests/support/pg.sh url)
  export DATABASE_URL
fi
cleanup() { if [ "$pg_started" = 1 ]; then tests/support/pg.sh stop || true; fi; }
trap cleanup EXIT

set +e
ctest --test-dir "$build" -j2 --output-on-failure --timeout 600 $ctest_args 2>&1 | tee "$build/ctest.log"
status=${PIPESTATUS[0]}
set -e
passed=$(grep -cE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* Passed" "$build/ctest.log" || true)
failed=$(grep -cE "^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*(\*\*\*|Failed|Timeout|Not Run)" "$build/ctest.log" || true)
echo "$passed passed, $failed failed"
exit "$status"
