#!/bin/sh
# tests/fuzz/run.sh: builds felt's libFuzzer targets with clang (the standalone project in
# tests/fuzz/) and runs each for a short fixed time on a copy of its seed corpus, so the repository
# is never modified. This is what CI runs (ctest -L fuzz); docs/fuzzing.md shows longer runs.
#   sh tests/fuzz/run.sh [BUILD_DIR]     (default build-fuzz/)
#   FELT_FUZZ_SECONDS=N                  seconds per target (default 20)
# Exits non-zero if the build fails or any target finds a crash, a leak, a timeout or runs out of
# memory; the reproducer is kept under BUILD_DIR/artifacts/ and the log under BUILD_DIR/logs/.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build-fuzz}
secs=${FELT_FUZZ_SECONDS:-20}

case $secs in
'' | *[!0-9]*)
    echo "fuzz: FELT_FUZZ_SECONDS must be a whole number of seconds, not '$secs'" >&2
    exit 2
    ;;
esac
if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: FAILED: clang is not installed; the fuzz targets need clang and libFuzzer" >&2
    echo "fuzz: install them with: sh scripts/install-deps.sh (Debian: clang libclang-rt-dev)" >&2
    exit 1
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)
echo "fuzz: building the targets with clang in $build"
if ! CC=clang cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER=clang >"$build/configure.log" 2>&1 ||
    ! cmake --build "$build" -j 2 >"$build/build.log" 2>&1; then
    cat "$build/configure.log" "$build/build.log" 2>/dev/null | tail -n 30 >&2
    echo "fuzz: FAILED: the fuzz targets did not build (logs in $build)" >&2
    exit 1
fi

# Dictionaries: the tokens of each input format, so mutations build well-formed messages sooner.
mkdir -p "$build/dict" "$build/logs" "$build/artifacts"
{
    for t in '{' '}' '[' ']' ':' ',' null true false 0 -1 1e3 1.5 1000000000000 \
        9223372036854775806 9223372036854775807 9223372036854775808 -9223372036854775807 \
        '\\u0000' '\\u001b' '\\u009b' '\\u00a0' '\\u200b' '\\u202e' '\\ud83d\\ude00' '\\ud800' \
        '\\udc00' '\x1b[' '\x1b]' '\xc2\x9b' '\xe2\x80\xae' '\xf0\x9f\x98\x80'; do
        printf '"%s"\n' "$t"
    done
    for w in type hello token last_seq join name buy_in action fold check call raise all_in \
        amount request_id hand_id chat text sit_out sit_in leave ping id snapshot state_update \
        animation notification ack error pong seq timestamp data; do
        printf '"\\"%s\\""\n' "$w"
    done
} >"$build/dict/proto.dict"
{
    for t in '{' '}' '[' ']' ':' ',' null 0 -1 1000000000000 9223372036854775807; do
        printf '"%s"\n' "$t"
    done
    for w in variant nlhe small_blind big_blind ante button seats seat name stack cards board \
        actions action amount fold check call raise all_in hand_id game_id As Kd Tc 2h 9s; do
        printf '"\\"%s\\""\n' "$w"
    done
} >"$build/dict/handrec.dict"

# Runs one target; prints one closing line; returns non-zero on a finding.
run_target() {
    t=$1
    max_len=$2
    corpus="$build/corpus/$t"
    log="$build/logs/$t.log"
    rm -rf "$corpus" "$build/artifacts/$t-"*
    mkdir -p "$corpus"
    cp "$here/corpus/$t/"* "$corpus/"
    seeds=$(ls "$corpus" | wc -l)
    dict=""
    [ -f "$build/dict/$t.dict" ] && dict="-dict=$build/dict/$t.dict"
    rc=0
    # $dict is unquoted on purpose: it is empty or one word.
    UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}" \
        "$build/fuzz_$t" -max_total_time="$secs" -max_len="$max_len" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 $dict \
        -artifact_prefix="$build/artifacts/$t-" "$corpus" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
    now=$(ls "$corpus" | wc -l)
    if [ "$rc" -ne 0 ]; then
        echo "---- fuzz_$t: what failed, then the end of $log ----"
        grep -E 'check failed|round trip|does not|runtime error|ERROR: |SUMMARY' "$log" | head -n 8
        tail -n 60 "$log"
        artifact=$(ls -t "$build/artifacts/$t-"* 2>/dev/null | head -n 1 || true)
        echo "fuzz_$t: FAILED (exit $rc) after ${runs:-?} runs; reproducer: ${artifact:-none};" \
            "replay it with: $build/fuzz_$t ${artifact:-FILE}"
        return 1
    fi
    echo "fuzz_$t: ok: ${runs:-?} runs in ${secs} s, coverage ${cov:-?} edges," \
        "corpus $seeds seeds -> $(echo $now) inputs, no crash, leak or timeout"
}

failed=0
run_target proto 4096 || failed=1
run_target handrec 8192 || failed=1
run_target engine 1024 || failed=1
run_target wire 8192 || failed=1
if [ "$failed" -ne 0 ]; then
    echo "fuzz: FAILED: at least one target found a bug (see above)"
    exit 1
fi
echo "fuzz: all targets ok"
