#!/usr/bin/env bash
# tui_test.sh: felt's table in a real terminal. tmux runs felt (100x30, --ascii) against a real
# feltd with two bots, through a loopback TCP proxy the test can kill; keys go in with
# send-keys and the screen comes back with capture-pane. It checks what a person sees: the
# seats with names, our two cards, the action bar on our turn, a call/check and a fold taking
# effect, chat sent with "/text<Enter>" and with "<Enter>text<Enter>" (the line staying open
# until Esc or an empty Enter), the log's scrollback
# (PgUp shows older lines under a "more below" marker that new lines do not move, Home the
# oldest, End back to the newest), the hand history (h: the list of the last hands, Enter a
# step-through replay, Esc back), the status line going to
# "reconnecting" when the connection is cut and back to "connected" (with a chat line typed
# while offline shown as queued, then delivered), re-layout on resize and the "too small"
# message, a spectator's read-only view, the "seat is gone" offer after feltd restarts without
# its data (and j joining again), a clean quit, and a terminal restored after a crash signal.
# feltd keeps its data in a fresh folder under the test's own temporary folder (--data), and
# its restart "without its data" gets another fresh one.
#
# usage: tui_test.sh FELTD FELT PROXY_PY
# Everything listens on 127.0.0.1; every wait is bounded; the trap kills the tmux server (a
# private socket), the proxy and feltd, whatever happens.
set -u
. "$(dirname "$0")/tmux_lib.sh" # tmux_lib_init, wait_for, wait_gone, screen, fail, feltd_start

FELTD=$1
FELT=$2
PROXY=$3
tmux_lib_init felt-tui felt
PROXY_PID=""
# Servers die on their own after this many seconds even if the test is killed before its trap
# runs (timeout passes our TERM on to them otherwise); the tmux panes end with a bounded sleep.
LIFETIME=290
PROXY_PORT=""

# The bar is the third line from the bottom (the status line is the last: status_line).
bar_line() { screen "${1:-felt:0}"; tail -n 3 "$WORK/screen.txt" | head -n 1; }

keys() { "${TMUX_CMD[@]}" send-keys -t felt:0 "$@"; }

# The log pane's rows (between the strip's title row and the action bar, between the first two
# dividers) of the last capture, and the number its "more below" marker gives (empty: none).
log_rows() { awk '/\+-- log -/ { on = 1; next } on' "$WORK/screen.txt" | head -n -3 | awk -F'|' '{ print $2 }'; }
below_count() { sed -n 's/.*-- \([0-9][0-9]*\) more below.*/\1/p' "$WORK/screen.txt" | head -n 1; }

start_proxy() {
    # Emptied here, not by the background job's redirection, which may happen after the wait
    # below has already read the previous proxy's port.
    : > "$WORK/proxy.out"
    timeout "$LIFETIME" "$PYTHON" "$PROXY" "${PROXY_PORT:-0}" "$FELTD_PORT" > "$WORK/proxy.out" 2>&1 &
    PROXY_PID=$!
    # Python can take seconds to start on a loaded machine.
    local i=0
    while [ $i -lt 200 ] && ! grep -Eq '^[0-9]+$' "$WORK/proxy.out"; do sleep 0.1; i=$((i + 1)); done
    grep -Eq '^[0-9]+$' "$WORK/proxy.out" ||
        fail "the proxy did not start within 20 s: $(cat "$WORK/proxy.out")"
    PROXY_PORT=$(head -n 1 "$WORK/proxy.out")
}

stop_proxy() {
    tmux_lib_stop "$PROXY_PID"
    PROXY_PID=""
}
TMUX_LIB_ON_EXIT=stop_proxy

command -v tmux > /dev/null || fail "tmux is not installed (scripts/install-deps.sh installs it)"
command -v python3 > /dev/null || fail "python3 is not installed"
# The interpreter itself, not a version manager's shim (pyenv's can stall for many seconds when
# other Pythons start at the same time).
PYTHON=$(python3 -c 'import sys; print(sys.executable)') || fail "python3 does not run"

# ---- feltd, the proxy, felt in tmux -------------------------------------------------------
# Every client here is 127.0.0.1: the per-address limits (docs/security.md) are turned off;
# the spectator chats too.
LIMITS_OFF="--spectator-chat --joins-per-minute 0 --seats-per-address 0 --max-conns-per-address 0 --chat-per-address 0 --chat-per-table 0 --sitout-hands 0"
# start_feltd PORT DATA: feltd for this test on PORT (0: a free one) with its data in the new
# folder DATA, under timeout(1).
start_feltd() {
    mkdir -p "$2" || return 1
    feltd_start "$WORK/feltd.out" "$WORK/feltd.err" timeout "$LIFETIME" "$FELTD" --port "$1" \
        --data "$2" --bots 2 --bot-delay 150 --hand-delay 600 --action-timeout 60 $LIMITS_OFF
}
start_feltd 0 "$WORK/data" || fail "feltd did not start"
start_proxy

ENV="env LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_STATE_HOME=$WORK/state XDG_CONFIG_HOME=$WORK/config"
# Run in a pane after felt exits: prints "icanon echo" when the terminal was restored (and
# "-icanon -echo" when felt left it in curses' raw mode).
STTY_FLAGS="stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo)\$' | tr '\n' ' '; echo"
tmux_lib_new_session 100 30 \
    "$ENV $FELT --server ws://127.0.0.1:$PROXY_PORT --name tester --ascii 2> $WORK/felt.err; echo FELT-EXIT=\$?; sleep 120"

# ---- the table: seats, names, status ------------------------------------------------------
wait_for 'ada-bot' 15 "the first bot's seat"
wait_for 'bo-bot' 5 "the second bot's seat"
wait_for 'tester' 5 "our own seat"
status_line | grep -q 'connected' || fail "the status line does not say connected: $(status_line)"
status_line | grep -q 'queued: 0' || fail "the status line has no queue count"
status_line | grep -q 'main 5/10' || fail "the status line has no table and blinds"

# ---- our cards and our turns ----------------------------------------------------------------
# Over a few turns: the bar shows the legal actions; a raise below the minimum is refused on the
# spot with the reason (nothing is sent); a check or a cheap call, and a fold, show up in the
# log. Expensive calls are folded, so that the bots' all-ins cannot bust us mid-test.
wait_for '^-- [2-9TJQKA][cdhs] [2-9TJQKA][cdhs] --' 30 "our two cards in the hand panel title"
did_raise=0 did_call=0 did_fold=0
for turn in 1 2 3 4 5 6 7 8 9 10; do
    wait_for 'f fold' 60 "the action bar on our turn ($turn)"
    bar=$(bar_line)
    echo "$bar" | grep -Eq 'c (check|call [0-9,]+)' || fail "the bar has no check/call: $bar"
    grep -Eq '> to act [0-9]+s' "$WORK/screen.txt" || fail "our seat shows no clock"
    if [ $did_raise = 0 ] && echo "$bar" | grep -Eq 'r raise [0-9,]+-[0-9,]+'; then
        keys r
        wait_for 'raise to: [0-9]+_ +\(min [0-9,]+, max [0-9,]+\)' 5 "the raise prompt"
        keys BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace BSpace 1
        wait_for 'raise to: 1_' 5 "typing an amount"
        keys Enter
        wait_for 'raise to: 1_.*smallest raise is to' 5 "a refused raise with its reason"
        keys Escape
        wait_gone 'raise to:' 5 "Esc leaves the raise prompt"
        did_raise=1
    fi
    call=$(echo "$bar" | sed -n 's/.*c call \([0-9,]*\).*/\1/p' | tr -d ,)
    if [ $did_call = 0 ] && { echo "$bar" | grep -q 'c check' || [ "${call:-999999}" -le 100 ]; }; then
        keys c
        wait_for 'tester (checks|calls)' 15 "our check/call in the log"
        did_call=1
    else
        keys f
        # With a free check, f asks first (tui_safety_test.sh covers the question): f again.
        if echo "$bar" | grep -q 'c check'; then
            wait_for 'Fold when you can check\?' 5 "the fold question"
            keys f
        fi
        [ $did_fold = 0 ] && wait_for 'tester folds' 15 "our fold in the log"
        did_fold=1
        # Out of the hand: no action bar until the next one (the log line above, or this, shows
        # the fold was applied before the next turn is awaited).
        wait_gone 'f fold' 15 "the bar after our fold"
    fi
    [ $did_raise = 1 ] && [ $did_call = 1 ] && [ $did_fold = 1 ] && break
done
[ $did_raise = 1 ] || fail "no turn offered a raise in 10 turns"
[ $did_call = 1 ] || fail "no turn offered a check or a cheap call in 10 turns"
[ $did_fold = 1 ] || fail "no fold in 10 turns"

# ---- chat ----------------------------------------------------------------------------------
keys /
wait_for '^ CHAT +say:' 5 "the chat prompt after /"
keys -l 'hello from tmux'
keys Enter
wait_for 'tester: hello from tmux' 10 "our chat line in the chat pane"
wait_for '^ CHAT +say:' 5 "the chat line stays open after a message"
keys Enter
wait_gone '^ CHAT' 5 "an empty Enter closes the chat line"
keys Enter
wait_for '^ CHAT +say:' 5 "the chat prompt after Enter"
keys -l 'second line'
keys Enter
wait_for 'tester: second line' 10 "a chat line started with Enter"
wait_for '^ CHAT +say:' 5 "the chat prompt once more"
keys -l 'never sent'
keys Escape
wait_gone '^ CHAT +say:' 5 "Esc leaves the chat line"
# A line sent after it arrives after it would have: once it is shown, the other is not coming.
keys /
wait_for '^ CHAT +say:' 5 "the chat prompt after Esc"
keys -l 'after escape'
keys Enter
wait_for 'tester: after escape' 10 "the chat line sent after Esc"
grep -q 'never sent' "$WORK/screen.txt" && fail "a chat line left with Esc was sent"
keys Escape
wait_gone '^ CHAT' 5 "Esc gives the keys back to the table"

# ---- the log's scrollback -------------------------------------------------------------------
# A few hands in, the log holds more than its pane shows. PgUp goes back a page under the
# marker; new lines (the bots play on; on our turn we fold) only raise the marker's count, the
# lines shown stay put; Home goes back further, to the oldest; PgDn comes forward; End returns.
wait_for 'hand #([3-9]|[1-9][0-9]+) *$' 60 "a third hand for the log to grow"
keys PPage
wait_for '\|-- [0-9]+ more below, End to return -- *\|' 5 "the scrolled-back marker after PgUp"
back=$(below_count)
[ -n "$back" ] && [ "$back" -gt 0 ] || fail "PgUp: no count in the marker"
log_rows | grep -v 'more below' > "$WORK/log-before.txt"
grep -q '[a-z]' "$WORK/log-before.txt" || fail "PgUp: the log pane is empty"
i=0
while [ $i -lt 300 ]; do
    screen
    now=$(below_count)
    [ -n "$now" ] && [ "$now" -gt "$back" ] && break
    # F: check when it is free, else fold (one key, no question).
    if tail -n 3 "$WORK/screen.txt" | head -n 1 | grep -q 'f fold'; then keys F; sleep 0.5; fi
    sleep 0.2
    i=$((i + 1))
done
[ -n "$now" ] && [ "$now" -gt "$back" ] || fail "no new log lines under the marker in 60 s"
log_rows | grep -v 'more below' > "$WORK/log-after.txt"
cmp -s "$WORK/log-before.txt" "$WORK/log-after.txt" ||
    fail "new log lines moved the scrolled-back view: $(diff "$WORK/log-before.txt" "$WORK/log-after.txt")"
keys Home
i=0
while [ $i -lt 25 ]; do
    screen
    oldest=$(below_count)
    [ -n "$oldest" ] && [ "$oldest" -gt "$now" ] && break
    sleep 0.2
    i=$((i + 1))
done
[ -n "$oldest" ] && [ "$oldest" -gt "$now" ] || fail "Home did not go back further than PgUp"
keys NPage
i=0
while [ $i -lt 25 ]; do
    screen
    fwd=$(below_count)
    [ -n "$fwd" ] && [ "$fwd" -lt "$oldest" ] && break
    sleep 0.2
    i=$((i + 1))
done
[ -n "$fwd" ] && [ "$fwd" -lt "$oldest" ] || fail "PgDn did not come forward from the oldest page"
keys End
wait_gone 'more below' 5 "End returns to the newest lines"

# ---- the hand history ------------------------------------------------------------------------
# h lists the table's last hands (newest first, selected); Enter replays one step by step
# (Right/n and Left/p); Esc goes back to the list, then to the table.
keys h
wait_for 'Hand history: main' 10 "the hand history after h"
wait_for '^ > #[0-9]+ +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} ' 15 "the newest hand in the list, selected"
grep -q 'could not load' "$WORK/screen.txt" && fail "the hand history could not be loaded"
keys Enter
wait_for 'Hand #[0-9]+ .*step 1/[0-9]+' 5 "the replay's first step"
wait_for 'The deal:' 5 "the deal in the replay"
grep -Eq 'posts the (small|big) blind' "$WORK/screen.txt" || fail "the deal shows no blinds"
keys Right
wait_for 'step 2/[0-9]+' 5 "the next step with Right"
grep -Eq '(folds|checks|calls|raises to)' "$WORK/screen.txt" || fail "the step shows no action"
keys p
wait_for 'step 1/[0-9]+' 5 "the previous step with p"
keys Escape
wait_for '^ > #[0-9]+ ' 5 "Esc back to the list"
keys Escape
wait_gone 'Hand history' 5 "Esc back to the table"
wait_for 'ada-bot' 5 "the table after the hand history"

# ---- the connection is cut, typing goes on, the connection comes back -----------------------
stop_proxy
wait_for 'reconnecting #[0-9]+ in [0-9]+s' 15 "the status line while the connection is cut"
keys /
wait_for '^ CHAT +say:' 5 "chat while offline"
keys -l 'typed offline'
keys Enter
wait_for 'queued: 1' 10 "the chat line shown as queued while offline"
keys Enter
wait_gone '^ CHAT' 5 "an empty Enter closes the chat line while offline"
start_proxy
wait_for '\* connected' 30 "the status line back to connected"
wait_for 'tester: typed offline' 15 "the queued chat line delivered after the resume"
wait_for 'queued: 0' 10 "the queue empty after the resume"
wait_for 'ada-bot' 5 "the table after the resume"

# ---- resize: re-layout, too small, back ----------------------------------------------------
"${TMUX_CMD[@]}" resize-window -t felt -x 80 -y 24
wait_for '^-- ' 5 "the strip at 80x24"
screen
[ "$(wc -l < "$WORK/screen.txt")" -le 24 ] || fail "more than 24 lines at 80x24"
grep -q 'ada-bot' "$WORK/screen.txt" || fail "seats missing at 80x24"
grep -q 'connected' "$WORK/screen.txt" || fail "status missing at 80x24"
"${TMUX_CMD[@]}" resize-window -t felt -x 60 -y 20
wait_for 'Terminal too small: 60x20' 5 "the too-small message"
"${TMUX_CMD[@]}" resize-window -t felt -x 100 -y 30
wait_for 'ada-bot' 5 "the table back at 100x30"
wait_gone 'too small' 5 "the too-small message gone"

# ---- a spectator: same table, read-only, counted --------------------------------------------
"${TMUX_CMD[@]}" new-window -d -t felt:1 \
    "$ENV $FELT --server ws://127.0.0.1:$PROXY_PORT --spectate --ascii 2> $WORK/spec.err; echo FELT-EXIT=\$?; $STTY_FLAGS; sleep 120"
wait_for 'SPECTATING' 15 "the spectator's status line" felt:1
wait_for 'tester' 5 "our seat seen by the spectator" felt:1
wait_for 'ada-bot' 5 "a bot seen by the spectator" felt:1
screen felt:1
grep -q 'f fold' "$WORK/screen.txt" && fail "the spectator has an action bar"
# The spectator's own snapshot counts it. (feltd sends the count in snapshots only, so our
# status line catches up at our next snapshot, not checked here.)
wait_for 'spectators: 1' 5 "the spectator counted in its status line" felt:1
# Spectators may chat at this table.
"${TMUX_CMD[@]}" send-keys -t felt:1 /
wait_for '^ CHAT +say:' 5 "the spectator's chat prompt" felt:1
"${TMUX_CMD[@]}" send-keys -t felt:1 -l 'hi from the rail'
"${TMUX_CMD[@]}" send-keys -t felt:1 Enter
wait_for 'hi from the rail' 10 "the spectator's chat line" felt:1
wait_for 'spectator \(watching\): hi from the rail' 10 "the spectator's chat at our seat"
# Ctrl-C quits and gives the terminal back.
"${TMUX_CMD[@]}" send-keys -t felt:1 C-c
wait_for 'FELT-EXIT=0' 10 "the spectator quits with Ctrl-C" felt:1
wait_for '^icanon echo' 5 "the terminal back in canonical mode with echo after Ctrl-C" felt:1

# ---- feltd restarts without its data: the seat is gone, and j joins again -------------------
tmux_lib_stop "$FELTD_PID"
FELTD_PID=""
OLD_PORT=$FELTD_PORT
start_feltd "$OLD_PORT" "$WORK/data-after-restart" && [ "$FELTD_PORT" = "$OLD_PORT" ] || fail "feltd did not restart on port $OLD_PORT"
wait_for 'Your seat is gone \(server restarted\)\. Press j to join again, q to quit' 30 \
    "the plain message when the server no longer knows our token"
keys j
wait_gone 'Your seat is gone' 15 "j joins again"
wait_for '\* connected' 15 "connected after joining again"
wait_for 'tester' 10 "our new seat"

# ---- q leaves the table cleanly ---------------------------------------------------------------
# In a hand, q asks first (y leaves); between hands it quits at once.
keys q
wait_for 'Leave the table\?|FELT-EXIT=' 10 "the leave question or the exit after q"
if grep -q 'Leave the table?' "$WORK/screen.txt"; then
    keys y
fi
wait_for 'FELT-EXIT=0' 10 "felt exits 0 after q"

# ---- a crash signal still restores the terminal -------------------------------------------------
"${TMUX_CMD[@]}" new-window -d -t felt:2 \
    "sh -c 'echo \$\$ > $WORK/crash.pid; exec $ENV $FELT --server ws://127.0.0.1:$PROXY_PORT --name crasher --ascii 2> $WORK/crash.err'; echo FELT-EXIT=\$?; $STTY_FLAGS; sleep 120"
wait_for 'crasher' 15 "the second player's table" felt:2
kill -SEGV "$(cat "$WORK/crash.pid")"
wait_for 'FELT-EXIT=139' 10 "felt dies of SIGSEGV" felt:2
wait_for '^icanon echo' 5 "the terminal back in canonical mode with echo after the crash" felt:2

echo "PASS: tui_test"
exit 0
