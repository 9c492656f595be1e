#!/usr/bin/env bash
# The long run of the libFuzzer harnesses (tests/fuzz/): each target in turn,
# one process at a time, for RUNS executions (default 10 million) from its
# seed corpus and what earlier runs found (build-fuzz/fuzz/corpus/<target>),
# then a table of executions, time, coverage (edges and features), corpus
# size and findings. A finding is written to build-fuzz/fuzz/findings/<target>/
# and makes the script exit non-zero; reproduce one with
#   build-fuzz/fuzz/fuzz_<target> build-fuzz/fuzz/findings/<target>/crash-...
#
#   bench/fuzz.sh                 # every target, 10 million executions each
#   RUNS=1000000 bench/fuzz.sh json schema
#   MAX_SECONDS=600 bench/fuzz.sh # each stops at 10 million or 10 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-10000000}
max_seconds=${MAX_SECONDS:-0}
targets=${*:-$(sed -n 's/^set(SOOM_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)}
CC=clang cmake -S . -B build-fuzz -DSOOM_FUZZ=ON -DSOOM_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 --target $(printf 'fuzz_%s ' $targets) >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
report=build-fuzz/fuzz/report.txt
printf '%-8s %12s %8s %8s %8s %8s %8s\n' target executions seconds edges features corpus \
  findings > "$report"
for t in $targets; do
  corpus=build-fuzz/fuzz/corpus/$t findings=build-fuzz/fuzz/findings/$t/
  log=build-fuzz/fuzz/$t.log
  mkdir -p "$corpus" "$findings"
  touch "$corpus.start"
  set +e
  build-fuzz/fuzz/fuzz_$t -runs="$runs" -max_total_time="$max_seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$findings" "$corpus" "tests/fuzz/$t" >"$log" 2>&1
  rc=$?
  set -e
  [ "$rc" = 0 ] || status=1
  # (a run stopped by a finding has no "Done" line: no match is no error)
  done_line=$(grep -E '^Done [0-9]+ runs' "$log" | tail -1 || true)
  last=$(grep -E '(DONE|pulse|NEW|REDUCE|INITED) +cov:' "$log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(echo "$done_line" | sed -n 's/.* in \([0-9]*\) second.*/\1/p')
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
  found=$(find "$findings" -type f -newer "$corpus.start" | wc -l) # this run's only
  printf '%-8s %12s %8s %8s %8s %8s %8s\n' "$t" "${execs:-?}" "${secs:-?}" "${cov:-?}" \
    "${ft:-?}" "${corp:-?}" "$found" >> "$report"
  [ "$rc" = 0 ] || echo "fuzz_$t stopped with a finding: see $log" >&2
done
cat "$report"
exit "$status"
