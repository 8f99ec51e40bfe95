#!/bin/sh
# history_test.sh: black-box test of `felt history` and `felt replay --hand` against a real feltd
# (GET /api/games/{id}/hands, docs/protocol.md). feltd runs on a free loopback port with a fresh
# --data folder, three bots and one seated player (felt --json that never acts, so it times out and
# folds: its hole cards are its own secret). Once a few hands are complete it checks: the JSON
# lines are valid records with increasing hand_ids; the text and PokerStars forms; `felt replay
# --hand N` prints exactly what `felt replay FILE` prints for the same record (text and --json);
# a hand that does not exist; a bad --limit (felt's usage error, and the server's own message
# above its maximum); a stranger sees hole cards only of players who reached a showdown, while
# the player's stored token shows the player's own cards.
#
#   usage: history_test.sh FELTD FELT
# Needs jq. Everything listens on 127.0.0.1; every wait is bounded; the servers die on their own
# after LIFETIME seconds, and the trap stops them and removes the folder whatever happens.
set -u
. "$(dirname "$0")/../../scripts/feltd-port.sh" # feltd_start

FELTD=$1
FELT=$2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/felt-history.XXXXXX")
LIFETIME=170
FELTD_PID=""
PLAYER_PID=""

# stop PID: TERM, then KILL after 5 s (a process started under timeout(1) gets its TERM passed on).
stop() {
    [ -n "$1" ] || return 0
    kill "$1" 2>/dev/null
    i=0
    while [ $i -lt 50 ] && kill -0 "$1" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

cleanup() {
    exec 3>&- 2>/dev/null
    stop "$PLAYER_PID"
    stop "$FELTD_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL: $*"
    [ -f "$WORK/err" ] && { echo "---- last stderr ----"; head -c 600 "$WORK/err"; echo; }
    [ -f "$WORK/player.err" ] && { echo "---- tester's felt stderr ----"; tail -n 5 "$WORK/player.err"; }
    [ -f "$WORK/feltd.err" ] && { echo "---- feltd stderr (tail) ----"; tail -n 15 "$WORK/feltd.err"; }
    exit 1
}

command -v jq >/dev/null || fail "jq is not installed (scripts/install-deps.sh installs it)"

# felt with its own state folder: STATE is where felt keeps tokens ("$WORK/nobody" has none).
# run_felt STATE WANT_STATUS ARGS...: stdout in $WORK/out, stderr in $WORK/err.
run_felt() {
    state=$1 want=$2
    shift 2
    XDG_STATE_HOME=$state "$FELT" "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
    got=$?
    [ "$got" -eq "$want" ] || fail "felt $* exited $got, want $want"
}

mkdir -p "$WORK/data" "$WORK/nobody" "$WORK/player"
feltd_start "$WORK/feltd.out" "$WORK/feltd.err" timeout "$LIFETIME" "$FELTD" --port 0 \
    --data "$WORK/data" --bots 3 --bot-delay 30 --hand-delay 150 --action-timeout 1 \
    --sitout-hands 0 ||
    fail "feltd did not start"
SERVER=ws://127.0.0.1:$FELTD_PORT
HTTP=http://127.0.0.1:$FELTD_PORT

# The seated player: felt --json, reading a FIFO nobody writes to (it never acts).
mkfifo "$WORK/player.in"
XDG_STATE_HOME=$WORK/player timeout "$LIFETIME" "$FELT" --json --server "$SERVER" \
    --name tester <"$WORK/player.in" >"$WORK/player.out" 2>"$WORK/player.err" &
PLAYER_PID=$!
exec 3>"$WORK/player.in"

# ---- wait for hands: at least 4 complete, and one that tester folded (on the clock) ----------
# tester sits out after a few timeouts: every few seconds it is asked to sit back in (an answer
# that it is not sitting out is harmless). --sitout-hands 0 keeps feltd from standing it up, which
# would end its token, and with it the view of its own cards.
ready=0
i=0
while [ $i -lt 120 ]; do
    if XDG_STATE_HOME=$WORK/nobody "$FELT" history --server "$SERVER" --limit 100 \
        --format json >"$WORK/all.jsonl" 2>"$WORK/err" </dev/null &&
        jq -se '[.[] | select(.status == "complete")] as $c
                | ($c | length) >= 4
                  and any($c[]; any(.actions[]; .name == "tester" and .action == "fold"))' \
            "$WORK/all.jsonl" >/dev/null 2>&1; then
        ready=1
        break
    fi
    # In a subshell: should felt have died, the SIGPIPE ends only that.
    [ $((i % 5)) -eq 4 ] && (echo '{"type":"sit_in"}' >&3) 2>/dev/null
    sleep 1
    i=$((i + 1))
done
[ $ready = 1 ] || fail "no 4 complete hands with one that tester folded in 120 s: \
$(wc -l <"$WORK/all.jsonl" 2>/dev/null) hands listed"

# ---- --format json: one valid record per line, as served, hand_ids increasing --------------
run_felt "$WORK/nobody" 0 history --server "$SERVER" --game main --limit 100 --format json
cp "$WORK/out" "$WORK/all.jsonl"
n=$(wc -l <"$WORK/all.jsonl")
[ "$n" -ge 4 ] || fail "--format json printed $n lines"
while IFS= read -r line; do
    printf '%s\n' "$line" | jq -e 'type == "object" and (.hand_id | type) == "number"
        and .game_id == "main" and (.status == "complete" or .status == "voided")' \
        >/dev/null 2>&1 || fail "not a hand record line: $(printf '%s' "$line" | head -c 300)"
done <"$WORK/all.jsonl"
jq -se '[.[].hand_id] as $ids | $ids == ($ids | sort) and ($ids | unique | length) == ($ids | length)' \
    "$WORK/all.jsonl" >/dev/null || fail "hand_ids do not increase: $(jq -c .hand_id "$WORK/all.jsonl" | tr '\n' ' ')"
# The same hands straight from the server: felt prints each record, compact, one per line.
first=$(head -n 1 "$WORK/all.jsonl" | jq .hand_id)
second=$(sed -n 2p "$WORK/all.jsonl" | jq .hand_id)
run_felt "$WORK/nobody" 0 history --server "$HTTP" --since "$first" --limit 1 --format json
[ "$(wc -l <"$WORK/out")" -eq 1 ] || fail "--since $first --limit 1 printed $(wc -l <"$WORK/out") lines"
[ "$(jq .hand_id "$WORK/out")" = "$second" ] || fail "--since $first gave hand $(jq .hand_id "$WORK/out"), not $second"
cmp -s "$WORK/out" - <<EOF || fail "--since gave a different record for hand $second than the full list"
$(sed -n 2p "$WORK/all.jsonl")
EOF

# ---- --format text ----------------------------------------------------------------------------
# Every hand a stranger sees replays (exit 0), mucked cards and all.
run_felt "$WORK/nobody" 0 history --server "$SERVER" --since $((first - 1)) --limit "$n"
grep -Eq '^Hand #[0-9]+  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC  main  (complete|voided)$' \
    "$WORK/out" || fail "--format text has no header line: $(head -n 2 "$WORK/out")"
[ "$(grep -c '^Hand #' "$WORK/out")" -eq "$n" ] || fail "--format text did not print $n hands"
[ "$(grep -c '^[^ ].* posts the big blind [0-9,]*\( (all-in)\)\{0,1\}$' "$WORK/out")" -eq "$n" ] ||
    fail "--format text does not post one big blind a hand: $(head -n 20 "$WORK/out")"
# The live log's vocabulary: on each street the first bet is "bets" (preflop the blinds are the
# bet: "raises to"); amounts with separators; the table's suit symbols; hands named with ranks.
awk '/^Hand #/ { street = "preflop"; opened = 1; next }
     /^(Flop|Turn|River): / { street = $1; opened = 0; next }
     / (bets|raises to) / { word = ($0 ~ / bets /) ? "bets" : "raises"
                            if (opened == (word == "bets")) { print street ": " $0; bad = 1 }
                            opened = 1 }
     END { exit bad }' "$WORK/out" >"$WORK/bad" ||
    fail "--format text: a bet where it should raise or a raise where it should bet: $(head -n 5 "$WORK/bad")"
grep -Eq '^[^ ].* (bets|raises to) [0-9,]+' "$WORK/out" || fail "--format text: no bet or raise in $n hands"
grep -Eq '(bets|raises to|calls|wins|posts [a-z ]+) [0-9]{4}|[(][0-9]{4}[)]' "$WORK/out" &&
    fail "--format text: an amount without separators: $(grep -E '[0-9]{4}' "$WORK/out" | head -n 3)"
grep -Eq '\[[2-9TJQKA][cdhs]|^\*\*\* (FLOP|TURN|RIVER)|[(](pair|two pair|flush)[)]$' "$WORK/out" &&
    fail "--format text: the old wording: $(grep -E '\[[2-9TJQKA][cdhs]' "$WORK/out" | head -n 3)"
grep -Eq '^Flop: [2-9TJQKA](♣|♦|♥|♠) [2-9TJQKA](♣|♦|♥|♠) [2-9TJQKA](♣|♦|♥|♠)$' "$WORK/out" ||
    fail "--format text: no flop with the table's suit symbols"
run_felt "$WORK/nobody" 0 history --server "$SERVER" --limit 3
[ "$(grep -c '^Hand #' "$WORK/out")" -eq 3 ] || fail "--limit 3 did not print 3 hands"

# ---- --format pokerstars --------------------------------------------------------------------
# The hands of all.jsonl exactly (more are played meanwhile): the n after the one before the first.
run_felt "$WORK/nobody" 0 history --server "$SERVER" --since $((first - 1)) --limit "$n" \
    --format pokerstars
head -n 1 "$WORK/out" | grep -q '^PokerStars Hand #' ||
    fail "--format pokerstars starts with: $(head -n 1 "$WORK/out")"
complete=$(jq -s '[.[] | select(.status == "complete")] | length' "$WORK/all.jsonl")
[ "$(grep -c '^PokerStars Hand #' "$WORK/out")" -eq "$complete" ] ||
    fail "--format pokerstars printed $(grep -c '^PokerStars Hand #' "$WORK/out") hands for $complete complete ones"

# ---- felt replay --hand N == felt replay FILE ------------------------------------------------
hand=$(jq -s '[.[] | select(.status == "complete")][0].hand_id' "$WORK/all.jsonl")
jq -c "select(.hand_id == $hand)" "$WORK/all.jsonl" >"$WORK/hand.json"
run_felt "$WORK/nobody" 0 replay "$WORK/hand.json"
mv "$WORK/out" "$WORK/file.txt"
run_felt "$WORK/nobody" 0 replay --server "$SERVER" --game main --hand "$hand"
cmp -s "$WORK/out" "$WORK/file.txt" || fail "replay --hand $hand differs from replay FILE"
[ -s "$WORK/out" ] || fail "replay --hand $hand printed nothing"
run_felt "$WORK/nobody" 0 replay --json "$WORK/hand.json"
mv "$WORK/out" "$WORK/file.json"
run_felt "$WORK/nobody" 0 replay --json --server "$HTTP" --hand "$hand"
cmp -s "$WORK/out" "$WORK/file.json" || fail "replay --json --hand $hand differs from replay --json FILE"
jq -e '.ok == true and .complete == true' "$WORK/out" >/dev/null || fail "replay --json --hand: $(cat "$WORK/out")"
run_felt "$WORK/nobody" 1 replay --server "$SERVER" --hand 999999
grep -q 'hand 999999 not found' "$WORK/err" || fail "a missing hand: $(cat "$WORK/err")"

# ---- errors: usage, the server's own message, an unknown game, no server ---------------------
run_felt "$WORK/nobody" 2 history --server "$SERVER" --limit 0
run_felt "$WORK/nobody" 2 history --server "$SERVER" --limit many
run_felt "$WORK/nobody" 2 history --format xml
run_felt "$WORK/nobody" 1 history --server "$SERVER" --limit 101
[ "$(wc -l <"$WORK/err")" -eq 1 ] && grep -q '^felt history: HTTP 400: .' "$WORK/err" ||
    fail "--limit 101: not the server's message on one line: $(cat "$WORK/err")"
run_felt "$WORK/nobody" 1 history --server "$SERVER" --game no-such-table
grep -q '^felt history: HTTP 404' "$WORK/err" || fail "an unknown game: $(cat "$WORK/err")"

# ---- hole cards: a stranger sees only cards shown at a showdown; tester sees their own ---------
# Shown means: the seat did not fold and at least two players had not folded when the hand ended.
jq -se '[.[] | select(.status == "complete")
         | ([.actions[] | select(.action == "fold") | .name]) as $folded
         | ([.seats[] | select(.stack > 0)] | length) as $dealt
         | .seats[] | select(.cards != null)
         | select((.name as $n | $folded | index($n)) != null or ($dealt - ($folded | length)) < 2)]
        | length == 0' "$WORK/all.jsonl" >/dev/null ||
    fail "a stranger sees hole cards that were never shown"
run_felt "$WORK/player" 0 history --server "$SERVER" --name tester --limit 100 --format json
cp "$WORK/out" "$WORK/mine.jsonl"
# Every complete hand tester was dealt in shows tester's cards to tester; those tester folded
# hide them from the stranger.
jq -se '[.[] | select(.status == "complete") | .seats[] | select(.name == "tester" and .stack > 0)]
        | length > 0 and all(.[]; .cards != null)' "$WORK/mine.jsonl" >/dev/null ||
    fail "tester does not see their own cards: $(jq -c '.seats[] | select(.name == "tester")' "$WORK/mine.jsonl" | head -n 3)"
jq -se '[.[] | select(.status == "complete")
         | select(any(.actions[]; .name == "tester" and .action == "fold"))
         | .seats[] | select(.name == "tester")] | length > 0 and all(.[]; .cards == null)' \
    "$WORK/all.jsonl" >/dev/null || fail "the stranger sees the cards tester folded"
jq -se '[.[] | select(.status == "complete")
         | select(any(.actions[]; .name == "tester" and .action == "fold"))
         | .seats[] | select(.name == "tester")] | length > 0 and all(.[]; .cards != null)' \
    "$WORK/mine.jsonl" >/dev/null || fail "tester does not see the cards tester folded"
# Other players' unshown cards stay hidden from tester too.
jq -se '[.[] | select(.status == "complete")
         | ([.actions[] | select(.action == "fold") | .name]) as $folded
         | .seats[] | select(.name != "tester" and .cards != null)
         | select(.name as $n | $folded | index($n))] | length == 0' "$WORK/mine.jsonl" >/dev/null ||
    fail "tester sees another player's folded cards"

# ---- a hand cut short by a crash is voided when feltd starts again on the same --data --------
# feltd is killed (SIGKILL: no clean shutdown) while the table plays, and restarted. A kill may
# fall between two hands (nothing to void): then the restarted feltd plays a little and is
# killed again, five times at most.
voided=""
try=0
while [ -z "$voided" ] && [ $try -lt 5 ]; do
    for pid in $(ps -o pid= --ppid "$FELTD_PID" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    wait "$FELTD_PID" 2>/dev/null
    FELTD_PID=""
    feltd_start "$WORK/feltd.out" "$WORK/feltd.err" timeout "$LIFETIME" "$FELTD" --port 0 \
        --data "$WORK/data" --bots 3 --bot-delay 30 --hand-delay 150 ||
        fail "feltd did not start again on its data"
    SERVER=ws://127.0.0.1:$FELTD_PORT
    run_felt "$WORK/nobody" 0 history --server "$SERVER" --limit 100 --format json
    voided=$(jq -s '[.[] | select(.status == "voided")][0].hand_id // empty' "$WORK/out")
    [ -n "$voided" ] || sleep 1
    try=$((try + 1))
done
[ -n "$voided" ] || fail "no voided hand after feltd was killed and restarted 5 times"
run_felt "$WORK/nobody" 0 history --server "$SERVER" --since $((voided - 1)) --limit 1
head -n 1 "$WORK/out" | grep -q "^Hand #$voided  .*  main  voided\$" ||
    fail "the voided hand's header: $(head -n 1 "$WORK/out")"
grep -q '^voided (server restart): chips returned$' "$WORK/out" ||
    fail "the voided hand does not say so: $(tail -n 2 "$WORK/out")"
run_felt "$WORK/nobody" 0 history --server "$SERVER" --since $((voided - 1)) --limit 1 \
    --format pokerstars
[ ! -s "$WORK/out" ] || fail "--format pokerstars printed a voided hand"
grep -q "hand #$voided was voided" "$WORK/err" || fail "no note on the voided hand: $(cat "$WORK/err")"

echo "history_test: ok ($n hands, hand $voided voided)"
exit 0
