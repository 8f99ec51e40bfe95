#!/usr/bin/env bash
# tui_equity_test.sh: the all-in equity beside each hand in felt's table, in a real terminal.
# tmux runs felt (120x40, --ascii) against a real feltd with one bot; on our turn we go all-in
# (a, then a again to confirm) until the bot calls. Then, once the run-out is over and before the
# next deal, both seats show a percentage on their name row, the bot's and ours adding up to 100
# or less (the rest is the chance of a split), as the server counted it when the hands were
# tabled. A bot that folds just means another hand; at most 12 hands are tried.
#
# usage: tui_equity_test.sh FELTD FELT
# Everything listens on 127.0.0.1; every wait is bounded; the trap kills the tmux server (a
# private socket) and feltd whatever happens.
set -u
. "$(dirname "$0")/tmux_lib.sh" # tmux_lib_init, wait_for, feltd_start

FELTD=$1
FELT=$2
tmux_lib_init felt-tui-eq eq
TMUX_LIB_POLL_MS=100
# fail (tmux_lib.sh's, redefined): on stderr, with the screen as it is now.
fail() {
    echo "FAIL: $*" >&2
    echo "--- screen:" >&2
    "${TMUX_CMD[@]}" capture-pane -p -t eq >&2 2>/dev/null
    exit 1
}
# pane: the screen's text on stdout.
pane() { "${TMUX_CMD[@]}" capture-pane -p -t eq; }

# A long pause between hands: the finished hand stays on the table that long.
feltd_start "$WORK/feltd.out" "$WORK/feltd.err" timeout 120 "$FELTD" --port 0 --bots 1 \
    --bot-delay 100 --hand-delay 4000 --action-timeout 60 ||
    fail "feltd did not start: $(cat "$WORK/feltd.err")"
"${TMUX_CMD[@]}" new-session -d -s eq -x 120 -y 40 \
    "env XDG_STATE_HOME=$WORK/state XDG_CONFIG_HOME=$WORK/config TERM=xterm-256color \
     $FELT --server ws://127.0.0.1:$FELTD_PORT --name me --ascii; sleep 30"

for hand in $(seq 1 12); do
    wait_for 'YOUR TURN' 30 "our turn"
    "${TMUX_CMD[@]}" send-keys -t eq a
    wait_for 'a again to go all-in' 5 "the all-in question"
    "${TMUX_CMD[@]}" send-keys -t eq a
    # The bot calls (a run-out: both hands shown) or folds (we win the blinds).
    i=0
    while [ $i -lt 60 ]; do
        s=$(pane)
        if grep -q 'waiting for the next hand' <<<"$s"; then break; fi
        sleep 0.1
        i=$((i + 1))
    done
    s=$(pane)
    if grep -q 'ada-bot shows' <<<"$s"; then
        # Both name rows carry a percentage: the bot's seat and ours.
        bot=$(grep -E 'ada-bot +[0-9]{1,3}%' <<<"$s" | grep -Eo '[0-9]{1,3}%' | tr -d %)
        me=$(grep -E '^ +(\(D\) )?me +[0-9]{1,3}%' <<<"$s" | grep -Eo '[0-9]{1,3}%' | tr -d %)
        [ -n "$bot" ] || fail "no percentage beside the bot's hand"
        [ -n "$me" ] || fail "no percentage beside our hand"
        [ $((bot + me)) -le 101 ] || fail "the chances add up to $((bot + me))%"
        [ $((bot + me)) -ge 50 ] || fail "the chances add up to only $((bot + me))%"
        # Folded hands and hands not shown get none: only the two seats here.
        [ "$(pane | grep -Ec '[0-9]{1,3}%')" -eq 2 ] || fail "percentages elsewhere"
        echo "tui_equity_test: ok (hand $hand: bot $bot%, me $me%)"
        exit 0
    fi
    grep -q '%' <<<"$s" && fail "a percentage without a run-out"
done
fail "the bot never called an all-in in 12 hands"
