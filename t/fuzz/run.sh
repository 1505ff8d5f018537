#!/usr/bin/env bash
# Run the libFuzzer targets one after the other, each for a set time.
#   t/fuzz/run.sh SECONDS [TARGET...]      (default: all targets)
# New corpus entries go to build/fuzz-corpus/<target>/ (the seeds in
# t/fuzz/corpus/<target>/ are only read), crash artifacts to
# build/fuzz-artifacts/.  Prints executions and crashes per target; fails
# when any target crashed.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
secs=${1:?usage: t/fuzz/run.sh SECONDS [TARGET...]}
shift
targets=${*:-ndjson json csv multipart jwt}
mkdir -p build/fuzz-artifacts build/fuzz-logs

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

rc=0
summary=""
for t in $targets; do
    bin=build/fuzz/fuzz_$t
    corpus=build/fuzz-corpus/$t
    log=build/fuzz-logs/$t.log
    mkdir -p "$corpus"
    dict=()
    [ -f "t/fuzz/$t.dict" ] && dict=(-dict="t/fuzz/$t.dict")
    echo "== fuzz_$t for ${secs}s"
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -max_len=16384 -print_final_stats=1 "${dict[@]}" \
        -artifact_prefix="build/fuzz-artifacts/$t-" \
        "$corpus" "t/fuzz/corpus/$t" >"$log" 2>&1
    trc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
    units=$(ls "$corpus" | wc -l)
    crashes=0
    if [ $trc -ne 0 ]; then
        rc=1
        crashes=1
        echo "fuzz_$t failed (exit $trc); the end of $log:" >&2
        grep -E 'ERROR|SUMMARY|check failed|differ|Test unit written' "$log" \
            | head -n 20 >&2
    fi
    summary+=$(printf '%-10s %10s execs %7s/s  cov %5s  corpus %5s  crashes %s' \
        "$t" "${execs:-?}" "${speed:-?}" "${cov:-?}" "$units" "$crashes")$'\n'
done
printf '%s' "$summary"
exit $rc
