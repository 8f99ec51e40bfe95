#!/bin/sh
# bench_smoke.sh: proves felt-bench runs end to end, not how fast anything is (no timing
# thresholds: speed is measured by the documented runs in docs/performance.md).
#
# felt-bench starts its own feltd on a free loopback port and drives 2 tables x (4 players + 1
# spectator) over WebSocket (3 s) and over HTTP polling every 250 ms (3 s), after a short idle
# phase. Passes when felt-bench exits 0 and its JSON shows accepted actions and deliveries in
# both transports, action-to-broadcast latency samples over WebSocket, and no socket lost to
# feltd's heartbeat (run at 1 s / 3 s).
# usage: bench_smoke.sh FELT_BENCH FELTD   (needs jq)
set -eu
bench=$1
feltd=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

fail() {
    echo "bench_smoke: FAIL: $*" >&2
    exit 1
}

"$bench" --feltd "$feltd" --feltd-arg -q --feltd-arg --ping-secs --feltd-arg 1 \
    --feltd-arg --hangup-secs --feltd-arg 3 --tables 2 --players 4 --spectators 1 --seconds 3 \
    --warmup 0.3 --deflate off --poll 250 --idle 5 --idle-seconds 0.5 --quiet \
    --json-out "$dir/bench.json" >"$dir/out.txt" 2>"$dir/err.txt" ||
    { cat "$dir/out.txt" "$dir/err.txt" >&2; fail "felt-bench exited with status $?"; }

j="$dir/bench.json"
[ -s "$j" ] || fail "no JSON written"
check() { # jq expression that must be true
    jq -e "$1" "$j" >/dev/null || { jq . "$j" >&2; fail "$1"; }
}
check '.websocket | length == 1'
check '.websocket[0].ok and .websocket[0].actions > 0 and .websocket[0].deliveries > 0'
check '.websocket[0].latency_us.samples > 0'
# feltd pings after 1 s of silence and hangs up after 3 s: spectators, who never send, stay only
# if their pongs count.
check '.websocket[0].counts.dropped == 0'
check '.polling | length == 1'
check '.polling[0].ok and .polling[0].actions > 0 and .polling[0].deliveries > 0'
check '.idle.ok and .idle.connections == 5'
grep -q "targets (benchmarks, not assertions)" "$dir/out.txt" || fail "no table printed"
echo "bench_smoke: ok"
