#!/bin/sh
# json_events_test.sh: what `felt --json` prints, against a real feltd with two fast bots.
#   usage: json_events_test.sh FELTD FELT
# 1. felt's own keep-alive pongs are not printed (its hello ping is answered at once, and it
#    pings every 5 s: 6 s spectating sees several), while a ping the bot sends gets its pong,
#    once, with its id. 2. --json-events street,connection prints only connection lines and
#    street updates, and some of each. 3. An unknown type, an empty list, or --json-events
#    without --json is a usage error (exit 2, one line saying why). Bounded: under 30 s.
set -u
FELTD=$1
FELT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
cleanup() {
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
feltd_start "$TMP/feltd.out" "$TMP/feltd.err" "$FELTD" --port 0 --bots 2 --bot-delay 20 \
    --hand-delay 100 --max-conns-per-address 0 ||
    { echo "FAIL: feltd did not start: $(cat "$TMP/feltd.err")"; exit 1; }
WS="ws://127.0.0.1:$FELTD_PORT"
export XDG_STATE_HOME="$TMP/state"

# 1. Pongs: ours only.
{ sleep 1; echo '{"type":"ping","id":77}'; sleep 5; } |
    timeout 20 "$FELT" --json --spectate --server "$WS" >"$TMP/all" 2>"$TMP/all.err"
st=$?
[ "$st" -eq 0 ] || fail "felt --json --spectate exited $st: $(cat "$TMP/all.err")"
jq -e -s '[.[] | select(.type == "pong")] == [.[] | select(.type == "pong" and .data.id == 77)]
          and ([.[] | select(.type == "pong")] | length) == 1' "$TMP/all" >/dev/null ||
    fail "pongs printed: $(grep '"pong"' "$TMP/all")"
jq -e -s '[.[] | select(.type == "state_update")] | length > 5' "$TMP/all" >/dev/null ||
    fail "too few updates in 6 s: $(wc -l <"$TMP/all") lines"

# 2. --json-events street,connection
sleep 4 | timeout 20 "$FELT" --json --json-events street,connection --spectate --server "$WS" \
    >"$TMP/some" 2>"$TMP/some.err"
st=$?
[ "$st" -eq 0 ] || fail "felt --json-events exited $st: $(cat "$TMP/some.err")"
jq -e -s 'all(.[]; .type == "connection" or (.type == "state_update" and .data.event == "street"))
          and any(.[]; .type == "connection") and any(.[]; .type == "state_update")' \
    "$TMP/some" >/dev/null || fail "--json-events street,connection printed: $(head -c 600 "$TMP/some")"

# 3. Usage errors.
for args in "--json --json-events bogus" "--json --json-events ," "--json-events street"; do
    # shellcheck disable=SC2086
    "$FELT" $args --spectate --server "$WS" </dev/null >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ "$st" -eq 2 ] || fail "felt $args exited $st, want 2"
    grep -q '^felt: .*json-events' "$TMP/err" || fail "felt $args: $(cat "$TMP/err")"
    [ ! -s "$TMP/out" ] || fail "felt $args printed on stdout"
done

[ "$fails" -eq 0 ] || exit 1
echo "json_events_test: ok"
