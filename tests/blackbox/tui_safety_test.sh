#!/usr/bin/env bash
# tui_safety_test.sh: felt never acts on a key the player did not mean as an action (issue 11,
# "Never a mis-click"). Two felt tables in tmux (110x32, --ascii), "tester" and "villain", sit
# heads-up at a real feltd on a free loopback port with no bots, so every action is the test's
# own and each hand's record can be checked action by action. Keys go in with send-keys, the
# screens come back with capture-pane, and the effects are read from the server: the other
# player's screen (what feltd broadcast) and, after each hand, its record from
# `felt history --format json` (GET /api/games/main/hands), whose action list must be exactly
# what was meant, so a stray key that became an action fails the test.
#
# Hand 1 (P acts first, Q second; who is who is read from the screens):
#   chat  P opens the chat line (CHAT on the input row), sends "hello", and the line stays open,
#         so "gl all, nice raise bot" (which as keys would be an all-in: g l space a) is chat;
#         an empty Enter gives the keys back (TABLE); Esc leaves a line unsent.
#   a     asks "All-in for N?"; any other key (x) and Esc answer no: nothing is sent.
#   r     the minimum is put in; typing 120 replaces it (120, not 20120); Enter raises to 120.
#   q     Q's q mid-hand asks "Leave the table?"; a second q answers no (Q stays).
#   K     P's pre-action check, chosen while Q acts on the flop, is sent by itself when Q checks;
#         on the turn it is cancelled (with a message) when Q bets, and nothing is sent for P.
#   C     call any, chosen on the river, stays when Q bets and calls by itself.
#   record: P raise 120, Q call | Q check, P check | Q raise 10, P call | Q raise 50, P call.
# Hand 2 (Q acts first preflop, P is the big blind and acts first after the flop):
#   F     P's check/fold, chosen while Q acts, checks by itself when Q only calls.
#   f     with a free check asks "Fold when you can check?": Esc answers no, c checks.
#   ?     Q's help overlay lists the keys; the f that closes it does nothing else; f f folds.
#   record: Q call, P check | P check, Q fold.
# Hand 3: P's a a goes all-in; Q's q then y leaves, which folds (felt exits 0).
#   record: P all_in, Q fold. Then P, alone, quits with q at once; neither felt wrote a
#   sanitizer report (ASan/UBSan builds) on stderr.
#
# With a third argument moved_on it plays one other scenario instead, with a 5 s action clock:
# hand 1, Q (the big blind) opens the raise prompt on its free check; the clock runs out and
# checks for Q; the flop comes back to Q first. The prompt must close with "the table moved on"
# rather than answer the new decision: Enter then raises nothing, and the record holds only
# P's call and the clock's check before Q's own flop check. (Here felt also sees the update in
# between, where nobody is to act; the prompt's own decision number is what closes it when no
# such update is seen, as after a resume by snapshot.)
#
# usage: tui_safety_test.sh FELTD FELT [moved_on]
# Everything listens on 127.0.0.1; every wait is bounded; the trap kills the tmux server (a
# private socket) and feltd, whatever happens.
set -u
. "$(dirname "$0")/tmux_lib.sh" # tmux_lib_init, wait_for, wait_gone, screen, fail, feltd_start

FELTD=$1
FELT=$2
SCENARIO=${3:-all}
tmux_lib_init felt-tui-safety felt
# feltd dies on its own after this many seconds even if the test is killed before its trap runs;
# the tmux panes end with a bounded sleep.
LIFETIME=290
NAME=(tester villain)

# fail also shows both players' screens as they are now.
show_screens() {
    local w
    for w in 0 1; do
        if "${TMUX_CMD[@]}" capture-pane -p -t "felt:$w" > "$WORK/last.txt" 2>/dev/null; then
            echo "---- ${NAME[$w]}'s screen (felt:$w) ----"
            cat "$WORK/last.txt"
        fi
    done
    echo "------------------------"
}
TMUX_LIB_ON_FAIL=show_screens

# Window W (0 tester, 1 villain) is the pane felt:W (wait_for REGEX SECONDS WHAT felt:W).
# Its bottom rows: the action bar, then the input row (the mode's tag), then the status line.
bar() { screen "felt:$1"; tail -n 3 "$WORK/screen.txt" | head -n 1; }
input_row() { screen "felt:$1"; tail -n 2 "$WORK/screen.txt" | head -n 1; }

# wait_row W ROW REGEX SECONDS WHAT: until window W's bottom row ROW (bar or input_row) shows
# REGEX (extended), else fail.
wait_row() {
    local i=0 n=$(($4 * 5)) line
    while [ $i -lt $n ]; do
        line=$("$2" "$1")
        echo "$line" | grep -Eq -- "$3" && return 0
        sleep 0.2
        i=$((i + 1))
    done
    fail "$5: /$3/ not on ${NAME[$1]}'s $2 within $4 s (it shows: $line)"
}

# absent W REGEX WHAT: window W does not show REGEX now.
absent() {
    screen "felt:$1"
    if grep -Eq -- "$2" "$WORK/screen.txt"; then fail "$3: /$2/ on ${NAME[$1]}'s screen"; fi
}

keys() { "${TMUX_CMD[@]}" send-keys -t "felt:$1" "${@:2}"; }

# first_to_act: the window whose bar offers the actions (the other waits), within 30 s.
first_to_act() {
    local i=0
    while [ $i -lt 150 ]; do
        for w in 0 1; do
            bar "$w" | grep -q 'f fold' && { echo "$w"; return 0; }
        done
        sleep 0.2
        i=$((i + 1))
    done
    return 1
}

# hand_actions N: hand N's actions in feltd's record as "name action [amount]" joined by ", ".
hand_actions() {
    local i=0
    while [ $i -lt 50 ]; do
        if env XDG_STATE_HOME="$WORK/nobody" "$FELT" history --server "ws://127.0.0.1:$FELTD_PORT" \
            --game main --limit 20 --format json > "$WORK/history.json" 2> "$WORK/history.err" &&
            jq -r --argjson id "$1" 'select(.hand_id == $id) | [.actions[] |
                [.name, .action, (.amount // empty | tostring)] | join(" ")] | join(", ")' \
                "$WORK/history.json" > "$WORK/actions.txt" && [ -s "$WORK/actions.txt" ]; then
            cat "$WORK/actions.txt"
            return 0
        fi
        sleep 0.2
        i=$((i + 1))
    done
    echo "(no record of hand $1: $(cat "$WORK/history.err"))"
}

# check_hand N EXPECTED: hand N's record has exactly these actions.
check_hand() {
    local got
    got=$(hand_actions "$1")
    [ "$got" = "$2" ] || fail "hand $1's record: expected \"$2\", got \"$got\""
}

command -v tmux > /dev/null || fail "tmux is not installed (scripts/install-deps.sh installs it)"
command -v jq > /dev/null || fail "jq is not installed (scripts/install-deps.sh installs it)"

# ---- feltd and two players ------------------------------------------------------------------
# No bots; a long clock, so that no action is the server's (moved_on: a short one, which acts
# once on purpose); a short pause between hands.
LIMITS_OFF="--joins-per-minute 0 --seats-per-address 0 --max-conns-per-address 0 --chat-per-address 0 --chat-per-table 0 --sitout-hands 0"
CLOCK=120
[ "$SCENARIO" = moved_on ] && CLOCK=5
feltd_start "$WORK/feltd.out" "$WORK/feltd.err" timeout "$LIFETIME" "$FELTD" --port 0 \
    --data :memory: --hand-delay 300 --action-timeout "$CLOCK" $LIMITS_OFF ||
    fail "feltd did not start"

ENV="env LANG=C.UTF-8 LC_ALL=C.UTF-8"
felt_cmd() {
    echo "$ENV XDG_STATE_HOME=$WORK/state-$1 $FELT --server ws://127.0.0.1:$FELTD_PORT --name $1 --ascii --quiet 2> $WORK/$1.err; echo FELT-EXIT=\$?; sleep 120"
}
tmux_lib_new_session 110 32 "$(felt_cmd tester)"
wait_for 'tester' 15 "tester's seat" felt:0
"${TMUX_CMD[@]}" new-window -d -t felt:1 "$(felt_cmd villain)" || fail "tmux: no second window"
wait_for 'villain' 15 "villain's seat" felt:1
wait_for 'Hand #1' 15 "the first hand" felt:1
wait_row 0 input_row '^ TABLE ' 5 "the TABLE tag on the input row"

P=$(first_to_act) || fail "nobody's bar offers an action in hand 1"
Q=$((1 - P))
PN=${NAME[$P]}
QN=${NAME[$Q]}
echo "hand 1: $PN acts first, $QN second"

# ---- moved_on: the raise prompt belongs to its decision ------------------------------------------
if [ "$SCENARIO" = moved_on ]; then
    keys $P c
    wait_row $Q bar 'f fold  c check  r raise' 5 "the big blind's free check after the call"
    keys $Q r
    wait_row $Q bar 'raise to: 20_' 3 "the raise prompt on the big blind's option"
    # The clock (5 s) checks for Q; the flop is dealt and Q, the big blind, is first to act.
    wait_for "$QN ran out of time" 10 "the clock acting for the big blind" felt:$P
    wait_row $Q bar 'the table moved on while you chose' 3 "the prompt closed with a message"
    wait_row $Q input_row '^ TABLE ' 1 "the keys back at the table, not in the raise prompt"
    wait_row $Q bar 'f fold  c check  r raise 10-' 1 "Q's turn on the flop"
    keys $Q Enter Escape # Enter meant for the old prompt: opens the chat line, Esc closes it
    keys $Q c
    wait_for "$QN checks" 5 "Q's own check on the flop" felt:$P
    absent $P "$QN (bets|raises)" "a bet or raise from the old prompt"
    check_hand_prefix() {
        local got
        got=$(hand_actions "$1")
        case "$got" in "$2"*) ;; *) fail "hand $1's record: expected \"$2...\", got \"$got\"" ;; esac
    }
    keys $P c
    wait_row $Q bar 'f fold  c check' 5 "Q first again on the turn"
    keys $Q f f
    wait_for "$QN folds" 10 "Q folds" felt:$P
    check_hand_prefix 1 "$PN call, $QN check, $QN check, $PN check, $QN fold"
    echo "PASS: tui_safety_test moved_on"
    exit 0
fi

# ---- hand 1: chat stays chat ----------------------------------------------------------------
keys $P Enter
wait_row $P input_row '^ CHAT +say:' 5 "the CHAT tag after Enter"
keys $P -l 'hello'
keys $P Enter
wait_for "$PN: hello" 10 "the first chat line in the chat pane" felt:$P
wait_row $P input_row '^ CHAT +say:' 5 "the chat line still open after a message"
# Typed as keys, these words would be an all-in (g, l, space, a) and more: they must be chat.
keys $P -l 'gl all, nice raise bot'
keys $P Enter
wait_for "$PN: gl all, nice raise bot" 10 "the second chat line at the other seat" felt:$Q
sleep 1
wait_row $P bar 'f fold' 1 "still our turn after the chat (nothing was sent)"
absent $Q "$PN (folds|checks|calls|bets|raises)" "an action from the chat words"
bar $Q | grep -q 'f fold' && fail "the other player's turn came: the chat became an action"
keys $P Enter # an empty line gives the keys back to the table
wait_row $P input_row '^ TABLE ' 5 "the TABLE tag after an empty Enter"
keys $P /
wait_row $P input_row '^ CHAT +say:' 5 "the CHAT tag after /"
keys $P -l 'never sent'
keys $P Escape
wait_row $P input_row '^ TABLE ' 5 "the TABLE tag after Esc"

# ---- hand 1: all-in asks, raise replaces ----------------------------------------------------
keys $P a
wait_row $P bar 'All-in for [0-9,]+\?  a again' 5 "the all-in question"
keys $P x
wait_row $P bar 'f fold' 5 "any other key answers no to the all-in"
keys $P a
wait_row $P bar 'All-in for' 5 "the all-in question again"
keys $P Escape
wait_row $P bar 'f fold' 5 "Esc answers no to the all-in"
keys $P r
wait_row $P bar 'raise to: 20_' 5 "the raise prompt with the minimum put in"
keys $P 1 2 0
wait_row $P bar 'raise to: 120_' 5 "typing replaces the amount put in"
keys $P Enter
wait_for "$PN raises to 120" 10 "the raise to 120 at the other seat" felt:$Q
absent $Q "never sent" "a chat line left with Esc"
absent $Q '\(all-in\)' "an all-in"

# ---- hand 1: q mid-hand asks for y, q answers no ----------------------------------------------
wait_row $Q bar 'f fold' 10 "the second player's turn"
keys $Q q
wait_row $Q bar 'Leave the table\?' 5 "the leave question"
keys $Q q
wait_row $Q bar 'f fold' 5 "q answers no to the leave question"
absent $Q 'FELT-EXIT' "felt quit on q q"
keys $Q c
wait_for "$QN calls 110" 10 "the call" felt:$P

# ---- hand 1: pre-actions ------------------------------------------------------------------------
# Flop: Q (the big blind) acts first. P chooses check; Q checks; P's check goes by itself.
wait_row $Q bar 'f fold' 10 "the second player first on the flop"
wait_for "Flop: " 10 "the flop at the first seat" felt:$P
wait_row $P bar 'F \[ \] check/fold  K \[ \] check  C \[ \] call any' 5 "the pre-actions offered"
keys $P K
wait_row $P bar 'K \[x\] check' 5 "check chosen, shown while armed"
keys $Q c
wait_for "Turn: " 10 "the turn card after both checked" felt:$Q
wait_row $Q bar 'f fold' 10 "the second player first on the turn"
wait_for "Turn: " 10 "the turn card at the first seat" felt:$P
# Turn: P chooses check again; Q bets; the check is cancelled and nothing is sent.
keys $P K
wait_row $P bar 'K \[x\] check' 5 "check chosen on the turn"
keys $Q r
wait_row $Q bar 'raise to: 10_' 5 "the bet prompt"
keys $Q Enter
wait_row $P bar 'check cancelled: the bet changed' 10 "the check cancelled by the bet"
wait_row $P bar 'f fold  c call 10' 5 "our turn, facing the bet, nothing sent"
sleep 1
wait_row $P bar 'f fold  c call 10' 1 "still our turn a second later"
keys $P c
# River: P chooses call any; Q bets 50; the call goes by itself.
wait_for "River: " 10 "the river" felt:$Q
wait_row $Q bar 'f fold' 10 "the second player first on the river"
wait_for "River: " 10 "the river at the first seat" felt:$P
keys $P C
wait_row $P bar 'C \[x\] call any' 5 "call any chosen"
keys $Q r 5 0 Enter
wait_for "$PN calls 50" 10 "call any sent by itself after the bet" felt:$Q
wait_for "Hand #2" 15 "the second hand" felt:$P
check_hand 1 "$PN raise 120, $QN call, $QN check, $PN check, $QN raise 10, $PN call, $QN raise 50, $PN call"

# ---- hand 2: check/fold, the fold question, the help ---------------------------------------------
# The button moved: Q acts first preflop, P is the big blind.
wait_row $Q bar 'f fold' 10 "the second player first in hand 2"
keys $P F
wait_row $P bar 'F \[x\] check/fold' 5 "check/fold chosen"
keys $Q c
# Q only called: the bet did not change, so P's check/fold checks by itself; P is first on the flop.
# (Preflop the big blind's smallest raise is to 20; a bet of 10 is offered only on the flop.)
wait_row $P bar 'f fold  c check  r raise 10-' 10 "our turn on the flop of hand 2, a free check"
keys $P f
wait_row $P bar 'Fold when you can check\?  f again to fold,  c to check' 5 "the fold question"
keys $P Escape
wait_row $P bar 'f fold  c check' 5 "Esc answers no to the fold question"
absent $Q "$PN folds" "a fold after Esc"
keys $P f
wait_row $P bar 'Fold when you can check\?' 5 "the fold question again"
keys $P c
wait_row $Q bar 'f fold  c check' 10 "the second player's turn after our check"
keys $Q '?'
wait_for 'any key closes this help' 5 "the help overlay" felt:$Q
for want in 'check/fold, check, call any' 'Enter  /' 'PgUp/PgDn' 'all-in \(asks' 'Raising'; do
    grep -Eq -- "$want" "$WORK/screen.txt" || fail "the help does not list /$want/"
done
keys $Q f # closes the help and does nothing else
wait_gone 'any key closes this help' 5 "the help closing after a key" felt:$Q
sleep 0.5
wait_row $Q bar 'f fold  c check' 1 "the key that closed the help did not act or ask"
keys $Q f
wait_row $Q bar 'Fold when you can check\?' 5 "the fold question at the second seat"
keys $Q f
wait_for "$QN folds" 10 "f again folds" felt:$P
wait_for "Hand #3" 15 "the third hand" felt:$P
check_hand 2 "$QN call, $PN check, $PN check, $QN fold"

# ---- hand 3: a a goes all-in; q then y leaves -------------------------------------------------
wait_row $P bar 'f fold' 15 "the first player's turn in hand 3"
keys $P a
wait_row $P bar 'All-in for' 5 "the all-in question in hand 3"
keys $P a
wait_for "$PN raises to [0-9,]+ \(all-in\)" 10 "a a goes all-in" felt:$Q
wait_row $Q bar 'f fold' 10 "the second player's turn facing the all-in"
keys $Q q
wait_row $Q bar 'Leave the table\? +y leave' 5 "the leave question in hand 3"
keys $Q y
wait_for 'FELT-EXIT=0' 10 "y leaves and felt exits 0" felt:$Q
check_hand 3 "$PN all_in, $QN fold"

# ---- the end: alone at the table, q quits at once; nothing on either felt's stderr ----------------
wait_row $P bar 'waiting for the next hand' 15 "the first player alone after the other left"
keys $P q
wait_for 'FELT-EXIT=0' 10 "q between hands quits at once" felt:$P
for n in tester villain; do
    if grep -Eq 'Sanitizer|runtime error' "$WORK/$n.err"; then
        fail "$n's felt reported: $(head -n 5 "$WORK/$n.err")"
    fi
done

echo "PASS: tui_safety_test"
exit 0
