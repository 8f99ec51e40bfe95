#!/bin/sh
# bot_test.sh: docs/examples/bot.sh against a real feltd, with felt installed the way a user has
# it: the only felt is `felt` in a bin folder on $PATH (a copy of the built one), FELT unset.
#   usage: bot_test.sh FELTD FELT
# feltd runs on a free loopback port with one fast bot. bot.sh joins as shbot and must: say
# what it does (starting, playing as ID, one line per move with the hand and the amount), play
# several hands (its moves are ones "legal" offered, the server refuses none: no "refused" or
# "error" line), and, stopped with SIGINT like Ctrl-C, leave the table (the lobby no longer
# lists shbot). Bounded: every wait has a deadline, the whole test is under a minute.
set -u
FELTD=$1
FELT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
BOT_PID=""
cleanup() {
    [ -z "$BOT_PID" ] || kill -KILL "-$BOT_PID" 2>/dev/null
    [ -z "${FELTD_PID:-}" ] || { kill -TERM "$FELTD_PID" 2>/dev/null; wait "$FELTD_PID" 2>/dev/null; }
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fails=0
fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# shellcheck source=../../scripts/feltd-port.sh
. "$HERE/../../scripts/feltd-port.sh"
feltd_start "$TMP/feltd.out" "$TMP/feltd.err" "$FELTD" --port 0 --bots 1 --bot-delay 20 \
    --hand-delay 100 --action-timeout 5 --joins-per-minute 0 --seats-per-address 0 \
    --max-conns-per-address 0 || { echo "FAIL: feltd did not start: $(cat "$TMP/feltd.err")"; exit 1; }
WS="ws://127.0.0.1:$FELTD_PORT"

# felt "installed": a bin folder of its own, ahead of the system's (which has no felt).
mkdir -p "$TMP/bin" "$TMP/state"
cp "$FELT" "$TMP/bin/felt"
unset FELT

# bot.sh in a session of its own, so SIGINT reaches it and its felt like a Ctrl-C would.
PATH="$TMP/bin:/usr/local/bin:/usr/bin:/bin" XDG_STATE_HOME="$TMP/state" \
    setsid sh "$HERE/../../docs/examples/bot.sh" --server "$WS" --name shbot \
    >"$TMP/bot.out" 2>"$TMP/bot.err" </dev/null &
BOT_PID=$!

# Until it has made at least 4 moves and seen 2 hands end (at most 40 s).
n=0
while [ "$n" -lt 400 ]; do
    moves=$(grep -c '^bot.sh: hand [0-9]*: ' "$TMP/bot.out")
    ends=$(grep -c '^bot.sh: hand [0-9]* over: my stack ' "$TMP/bot.out")
    [ "$moves" -ge 4 ] && [ "$ends" -ge 2 ] && break
    kill -0 "$BOT_PID" 2>/dev/null || break
    sleep 0.1
    n=$((n + 1))
done
[ "$moves" -ge 4 ] || fail "bot.sh made $moves moves: $(tail -n 20 "$TMP/bot.out") $(cat "$TMP/bot.err")"
[ "$ends" -ge 2 ] || fail "bot.sh saw $ends hands end"
grep -q "^bot.sh: starting $TMP/bin/felt --json --server $WS --name shbot\$" "$TMP/bot.out" ||
    fail "bot.sh did not say which felt it starts: $(head -n 2 "$TMP/bot.out")"
grep -q '^bot.sh: playing as [0-9a-f]\{16\}$' "$TMP/bot.out" || fail "bot.sh did not say who it is"
grep -q '^bot.sh: hand [0-9]*: \(check\|call [0-9]*\|fold (to call: [0-9]*)\)$' "$TMP/bot.out" ||
    fail "bot.sh's moves are not said as documented"
if grep -q '^bot.sh: \(refused\|error\)' "$TMP/bot.out"; then
    fail "the server refused a move: $(grep '^bot.sh: \(refused\|error\)' "$TMP/bot.out")"
fi
curl -s "http://127.0.0.1:$FELTD_PORT/api/games" >"$TMP/lobby" || fail "no lobby"
jq -e '[.games[0].players[].name] | index("shbot") != null' "$TMP/lobby" >/dev/null ||
    fail "shbot is not seated: $(cat "$TMP/lobby")"

# Ctrl-C: bot.sh and felt stop, and felt leaves the table (within 15 s).
kill -INT "-$BOT_PID"
n=0
while kill -0 "$BOT_PID" 2>/dev/null && [ "$n" -lt 150 ]; do
    sleep 0.1
    n=$((n + 1))
done
if kill -0 "$BOT_PID" 2>/dev/null; then
    fail "bot.sh still runs 15 s after SIGINT"
else
    wait "$BOT_PID" 2>/dev/null
    BOT_PID=""
fi
n=0
while [ "$n" -lt 100 ]; do
    curl -s "http://127.0.0.1:$FELTD_PORT/api/games" >"$TMP/lobby"
    jq -e '[.games[0].players[].name] | index("shbot") == null' "$TMP/lobby" >/dev/null && break
    sleep 0.1
    n=$((n + 1))
done
jq -e '[.games[0].players[].name] | index("shbot") == null' "$TMP/lobby" >/dev/null ||
    fail "shbot still seated after Ctrl-C: $(cat "$TMP/lobby")"

[ "$fails" -eq 0 ] || { echo "--- bot.sh said:"; cat "$TMP/bot.out" "$TMP/bot.err"; exit 1; }
echo "bot_test: ok ($moves moves, $ends hands)"
