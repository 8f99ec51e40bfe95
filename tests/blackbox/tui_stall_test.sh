#!/usr/bin/env bash
# tui_stall_test.sh: felt's table in a real terminal is never stuck (issue 11). tmux runs felt as
# a player and as a spectator (100x30, --ascii) straight against a real feltd with two bots, and
# feltd is stopped with SIGSTOP for 65 s: a server whose sockets stay open and say nothing. Both
# status lines must stop saying "connected" and say "no answer Ns" within 2 ping periods, then
# "reconnecting #N" with N going up while feltd is stopped (felt keeps trying); a chat line typed
# meanwhile shows as queued; after SIGCONT both say "connected" again within 12 s and the chat
# line is delivered once. Then the player leaves with q, starts felt again and is told "You left
# this table. Press j to join again." (not that the server restarted), and j seats it again:
# the same player, with the chips it left with.
#
# usage: tui_stall_test.sh FELTD FELT
# Everything listens on 127.0.0.1; every wait is bounded; the trap kills the tmux server (a
# private socket) and resumes and stops feltd, whatever happens.
set -u
. "$(dirname "$0")/tmux_lib.sh" # tmux_lib_init, wait_for, screen, status_line, fail, feltd_start

FELTD=$1
FELT=$2
tmux_lib_init felt-tui-stall felt
STOP_SECS=65
RECONNECT_BOUND=12

keys() { "${TMUX_CMD[@]}" send-keys -t felt:0 "$@"; }

command -v tmux > /dev/null || fail "tmux is not installed (scripts/install-deps.sh installs it)"

# feltd itself (not under timeout(1)): SIGSTOP must stop the server, not a wrapper. The trap
# kills it; --idle-seat-secs keeps our seat while we do not act.
LIMITS_OFF="--spectator-chat --joins-per-minute 0 --seats-per-address 0 --max-conns-per-address 0 --chat-per-address 0 --chat-per-table 0 --sitout-hands 0 --idle-seat-secs 3600"
mkdir -p "$WORK/data"
feltd_start "$WORK/feltd.out" "$WORK/feltd.err" "$FELTD" --port 0 --data "$WORK/data" --bots 2 \
    --bot-delay 150 --hand-delay 600 --action-timeout 5 $LIMITS_OFF || fail "feltd did not start"

ENV="env LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_STATE_HOME=$WORK/state XDG_CONFIG_HOME=$WORK/config"
URL="ws://127.0.0.1:$FELTD_PORT"
tmux_lib_new_session 100 30 \
    "$ENV $FELT --server $URL --name tester --ascii 2> $WORK/felt.err; echo FELT-EXIT=\$?; sleep 200"
"${TMUX_CMD[@]}" new-window -d -t felt:1 \
    "$ENV $FELT --server $URL --spectate --ascii 2> $WORK/spec.err; echo FELT-EXIT=\$?; sleep 200"

wait_for '\* connected' 15 "the player connected"
wait_for 'tester' 5 "our own seat"
wait_for '\* connected' 15 "the spectator connected" felt:1
wait_for 'SPECTATING' 5 "the spectator's status line" felt:1

# ---- feltd stopped: no answer, then reconnecting, retried while it lasts --------------------
kill -STOP "$FELTD_PID" || fail "cannot stop feltd"
STOPPED=$(date +%s)
wait_for '\* no answer [0-9]+s' 10 "the player's status line once feltd stopped answering"
status_line | grep -q 'connected' && fail "the status line still says connected: $(status_line)"
wait_for '\* no answer [0-9]+s' 5 "the spectator's status line once feltd stopped" felt:1
wait_for 'reconnecting #[0-9]+ in [0-9]+s' 20 "the player reconnecting"
wait_for 'reconnecting #[0-9]+ in [0-9]+s' 10 "the spectator reconnecting" felt:1
keys /
wait_for '^ CHAT +say:' 5 "chat while feltd is stopped"
keys -l 'typed while stopped'
keys Enter
wait_for 'queued: 1' 10 "the chat line shown as queued"
keys Enter
# The attempt number keeps going up while feltd is stopped: felt never stops trying.
first=$(status_line | sed -n 's/.*reconnecting #\([0-9]*\).*/\1/p')
last=$first
while [ $(($(date +%s) - STOPPED)) -lt $STOP_SECS ]; do
    n=$(status_line | sed -n 's/.*reconnecting #\([0-9]*\).*/\1/p')
    [ -n "$n" ] && last=$n
    sleep 1
done
[ -n "$first" ] && [ -n "$last" ] && [ "$last" -ge $((first + 2)) ] ||
    fail "the attempts stopped going up while feltd was stopped (#${first:-?} to #${last:-?})"

# ---- feltd continues: connected within 12 s, the chat line delivered once ------------------
kill -CONT "$FELTD_PID" || fail "cannot continue feltd"
wait_for '\* connected' $RECONNECT_BOUND "the player connected again after SIGCONT"
wait_for '\* connected' $RECONNECT_BOUND "the spectator connected again after SIGCONT" felt:1
wait_for 'tester: typed while stopped' 15 "the queued chat line delivered"
wait_for 'queued: 0' 10 "the queue empty after the resume"
sleep 3
screen
[ "$(grep -c 'typed while stopped' "$WORK/screen.txt")" = 1 ] ||
    fail "the chat line typed while feltd was stopped shows $(grep -c 'typed while stopped' "$WORK/screen.txt") times"

# ---- the player leaves, starts felt again, and is told it left ------------------------------
keys q
wait_for 'Leave the table\?|FELT-EXIT=' 10 "the leave question or the exit after q"
grep -q 'Leave the table?' "$WORK/screen.txt" && keys y
wait_for 'FELT-EXIT=0' 10 "felt exits 0 after q"
# A leave in a hand takes effect when the hand ends: wait until the lobby no longer lists us.
i=0
while [ $i -lt 60 ] && python3 -c 'import json, sys, urllib.request
g = json.load(urllib.request.urlopen(sys.argv[1], timeout=5))["games"][0]
sys.exit(0 if any(p["name"] == "tester" for p in g["players"]) else 1)' \
    "http://127.0.0.1:$FELTD_PORT/api/games"; do
    sleep 0.5
    i=$((i + 1))
done
[ $i -lt 60 ] || fail "feltd still seats tester 30 s after the leave"
"${TMUX_CMD[@]}" new-window -d -t felt:2 \
    "$ENV $FELT --server $URL --name tester --ascii 2> $WORK/felt2.err; echo FELT-EXIT=\$?; sleep 200"
wait_for 'You left this table\. Press j to join again\.' 15 "the left-the-table message" felt:2
grep -q 'server restarted' "$WORK/screen.txt" && fail "the restarted felt blames a server restart"
"${TMUX_CMD[@]}" send-keys -t felt:2 j
wait_for '\* connected' 15 "connected after j" felt:2
wait_for 'tester' 10 "our new seat" felt:2
# j sent the old token with the join: feltd seats the same player again, with the chips it left
# with (or the table's buy-in of 1,000 if that is more), as feltd's log says.
left=$(sed -n 's/.*: tester (\([0-9a-f]*\)) left the table with \([0-9]*\)$/\1 \2/p' "$WORK/feltd.err" | tail -n 1)
back=$(sed -n 's/.*: tester came back to seat [0-9]* as \([0-9a-f]*\) with \([0-9]*\)$/\1 \2/p' "$WORK/feltd.err" | tail -n 1)
[ -n "$left" ] || fail "feltd's log does not say tester left: $(tail -n 5 "$WORK/feltd.err")"
want_stack=${left#* }
[ "$want_stack" -ge 1000 ] || want_stack=1000
[ "$back" = "${left% *} $want_stack" ] ||
    fail "tester left as '$left' (id, chips) but came back as '${back:-a new player}'"
echo "tui_stall_test: ok"
