#!/bin/sh
# cluster_bench_smoke.sh: proves felt-bench drives a cluster end to end (bench/cluster_bench.sh
# relayed: two nodes, each table played by one, its spectators on the other), not how
# fast anything is (no timing thresholds: docs/performance.md has the measured runs).
#
# Passes when the run exits 0 and its JSON shows accepted actions, deliveries, latency samples
# for events relayed through Redis to the other node, and no gap, lost socket or unreadable
# message; and when a sharded run (each node given its own tables) loses no socket over 10 s.
# usage: cluster_bench_smoke.sh CLUSTER_BENCH_SH BUILD_DIR   (needs jq)
set -eu
script=$1
build=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM

fail() {
    echo "cluster_bench_smoke: FAIL: $*" >&2
    exit 1
}

bash "$script" "$build" relayed --tables 2 --players 4 --spectators 2 --seconds 2 \
    --warmup 0.5 --quiet --json-out "$dir/bench.json" >"$dir/out.txt" 2>"$dir/err.txt" ||
    { cat "$dir/out.txt" "$dir/err.txt" >&2; fail "cluster_bench.sh exited with status $?"; }

j="$dir/bench.json"
[ -s "$j" ] || fail "no JSON written"
check() { # jq expression that must be true
    jq -e "$1" "$j" >/dev/null || { cat "$dir/out.txt" >&2; jq . "$j" >&2; fail "$1"; }
}
check '.websocket | length == 1'
check '.websocket[0].ok and .websocket[0].actions > 0 and .websocket[0].deliveries > 0'
check '.websocket[0].relayed_latency_us.samples > 0'
check '.websocket[0].counts.seq_gaps == 0 and .websocket[0].counts.dropped == 0'
check '.websocket[0].counts.unreadable == 0 and .websocket[0].counts.unmatched == 0 and .websocket[0].counts.resyncs == 0'
relayed=$(jq '.websocket[0].relayed_latency_us.samples' "$j")

# Sharded by hand (each node given half the tables): the nodes are not each other's peers, so
# neither hands a table over. Run past the 7 s after which a node over its share would: a
# hand-over would drop the players' sockets.
bash "$script" "$build" sharded --tables 4 --players 4 --spectators 1 --seconds 10 \
    --warmup 0.5 --quiet --json-out "$dir/sharded.json" >"$dir/out.txt" 2>"$dir/err.txt" ||
    { cat "$dir/out.txt" "$dir/err.txt" >&2; fail "cluster_bench.sh sharded exited with status $?"; }
j="$dir/sharded.json"
[ -s "$j" ] || fail "no JSON written (sharded)"
check '.websocket[0].ok and .websocket[0].actions > 0'
check '.websocket[0].counts.seq_gaps == 0 and .websocket[0].counts.dropped == 0 and .websocket[0].counts.resyncs == 0'
echo "cluster_bench_smoke: ok ($relayed relayed deliveries; sharded: no table moved)"
