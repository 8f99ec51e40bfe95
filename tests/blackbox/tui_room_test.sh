#!/usr/bin/env bash
# tui_room_test.sh: felt reads like a poker room, checked in a real terminal. tmux runs three
# felt players against a real feltd (one bot, a free loopback port, nothing stored): one named in
# CJK (24 columns), one with emoji, one with a 24-letter name. Each plays as a calling station
# (c whenever its turn comes), so hands go to a showdown. A fourth felt watches as a spectator
# with --ascii. It checks what a person sees: the rail of the table straight on every row
# whatever wide characters stand left of it, and no name running through it; names too long for
# their box cut with an ellipsis ("…", "..." in ASCII); the log in one vocabulary (posts,
# "bets" or "raises to", amounts with separators, cards with the table's suit symbols, or
# letters under --ascii, shown hands named with their ranks, "wins ... with ..."), a separator
# line per hand, earlier hands still there after the next one starts; empty seats numbered as
# feltd's log numbers the seats it fills.
#
# usage: tui_room_test.sh FELTD FELT
# Everything listens on 127.0.0.1; every wait is bounded; the trap kills the tmux server (a
# private socket) and feltd, whatever happens.
set -u
# grep's bracket expressions below hold suit symbols: they need a UTF-8 locale.
export LC_ALL=C.UTF-8
. "$(dirname "$0")/tmux_lib.sh" # tmux_lib_init, wait_for, screen, fail, feltd_start

FELTD=$1
FELT=$2
tmux_lib_init felt-room room
LIFETIME=280 # feltd dies on its own after this, even if the trap never runs

CJK_NAME="名前が長い名前が長い名前"
EMOJI_NAME="😀🎲party😀"
LONG_NAME="averyveryverylongname_xx"

# fail also shows what was read from the log pane.
show_log() {
    [ -s "$WORK/log.txt" ] || return 0
    echo "---- the log pane read ----"
    cat "$WORK/log.txt"
}
TMUX_LIB_ON_FAIL=show_log

# The felt players answer their turns with c (check or call), so that hands reach a showdown:
# every wait_for plays on, looking every 250 ms. A calling station can lose all its chips (the
# bot raises its strong hands and now and then goes all-in; when all three are called down and
# lose, only the bot has chips and no hand would follow): a player sat out (busted) sits in
# again with s, which buys in again.
play() {
    local w rows
    for w in 0 1 2; do
        # The bottom rows: the action bar, the input row (its key hints), the status line.
        rows=$("${TMUX_CMD[@]}" capture-pane -p -t "room:$w" 2>/dev/null | tail -n 3)
        if head -n 1 <<< "$rows" | grep -q 'f fold'; then
            "${TMUX_CMD[@]}" send-keys -t "room:$w" c
        elif sed -n 2p <<< "$rows" | grep -q ' s sit in '; then
            "${TMUX_CMD[@]}" send-keys -t "room:$w" s
        fi
    done
}
TMUX_LIB_EACH_POLL=play
TMUX_LIB_POLL_MS=250

command -v tmux > /dev/null || fail "tmux is not installed (scripts/install-deps.sh installs it)"
command -v python3 > /dev/null || fail "python3 is not installed"

# ---- feltd and four felts in tmux -----------------------------------------------------------
feltd_start "$WORK/feltd.out" "$WORK/feltd.err" timeout "$LIFETIME" "$FELTD" --port 0 \
    --data :memory: --bots 1 --bot-delay 100 --hand-delay 1500 --action-timeout 60 \
    --seats-per-address 0 --joins-per-minute 0 --max-conns-per-address 0 --sitout-hands 0 ||
    fail "feltd did not start"
URL="ws://127.0.0.1:$FELTD_PORT"
ENV="env LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_STATE_HOME=$WORK/state"
# The first player's window is wide, so that its log pane holds whole lines (the others 100x30).
tmux_lib_new_session 160 40 \
    "$ENV $FELT --server $URL --name '$CJK_NAME' 2> $WORK/felt0.err; sleep 120"
wait_for 'connected' 15 "the first player connected"
"${TMUX_CMD[@]}" new-window -d -t room:1 \
    "$ENV $FELT --server $URL --name '$EMOJI_NAME' 2> $WORK/felt1.err; sleep 120"
"${TMUX_CMD[@]}" resize-window -t room:1 -x 100 -y 30 2> /dev/null
wait_for 'party' 15 "the emoji player seated"
"${TMUX_CMD[@]}" new-window -d -t room:2 \
    "$ENV $FELT --server $URL --name '$LONG_NAME' 2> $WORK/felt2.err; sleep 120"
"${TMUX_CMD[@]}" resize-window -t room:2 -x 100 -y 30 2> /dev/null
wait_for 'averyvery' 15 "the long name seated"
"${TMUX_CMD[@]}" new-window -d -t room:3 \
    "$ENV $FELT --server $URL --spectate --ascii 2> $WORK/felt3.err; sleep 120"
"${TMUX_CMD[@]}" resize-window -t room:3 -x 100 -y 30 2> /dev/null
wait_for 'SPECTATING' 15 "the spectator" room:3

# ---- the rail and the names ------------------------------------------------------------------
# check_rail: on the last capture, the table's rail (the rows from its top corner to its bottom
# corner) has its left side in one display column and its right side in another on every row
# where it runs straight, its corners above and below them, and it is never interrupted.
# Display columns count a wide character (East Asian Wide or Fullwidth: CJK, emoji) as two.
check_rail() {
    python3 - "$WORK/screen.txt" "$1" << 'EOF' || fail "the rail is not straight ($2)"
import sys, unicodedata
lines = open(sys.argv[1], encoding='utf-8').read().split('\n')
ascii_mode = sys.argv[2] == 'ascii'
def cols(s):
    out, c = [], 0
    for ch in s:
        out.append(c)
        c += 2 if unicodedata.east_asian_width(ch) in 'WF' else 1
    return out
# The corners with the rail's first stretch (an ASCII '.' alone could be an ellipsis).
tl, bl, side = ('.-', "'-", '|') if ascii_mode else ('\u256d', '\u2570', '\u2502')
top = next((i for i, l in enumerate(lines) if tl in l), None)
bot = next((i for i, l in enumerate(lines) if bl in l), None)
if top is None or bot is None or bot - top < 5:
    sys.exit('no rail found: top %s bottom %s' % (top, bot))
def col_of(i, ch, last=False):
    l = lines[i]; k = l.rfind(ch) if last else l.find(ch)
    return cols(l)[k] if k >= 0 else None
left = {col_of(top, tl), col_of(bot, bl)}
if len(left) != 1: sys.exit('top-left and bottom-left corners in different columns: %s' % left)
sides = []
for i in range(top + 2, bot - 1):
    l = lines[i]
    k1, k2 = l.find(side), l.rfind(side)
    if k1 < 0 or k1 == k2: sys.exit('row %d: the rail is broken: %r' % (i, l))
    c = cols(l)
    sides.append((c[k1], c[k2]))
if len(set(sides)) != 1: sys.exit('the rail zigzags: %s' % sorted(set(sides)))
(lc, rc), = set(sides)
if col_of(top, tl) != lc + 2: sys.exit('top corner at %s, side at %s' % (col_of(top, tl), lc))
rows_with_names = sum(1 for i in range(top, bot + 1) if any(unicodedata.east_asian_width(ch) in 'WF' for ch in lines[i]))
print('rail: rows %d..%d, sides at %d and %d, %d rows with wide characters' % (top, bot, lc, rc, rows_with_names))
EOF
}

for w in 0 1 2; do
    wait_for 'pot [0-9,]+' 30 "a hand running at window $w" room:$w
    screen room:$w
    check_rail utf8 "player window $w"
done
# table_rows: the table's rows of the last capture (above the strip's titles; the log below
# writes names whole).
table_rows() { awk '/── log ─|-- log -/ { exit } { print }' "$WORK/screen.txt"; }
screen room:0
# The CJK name (24 columns) and the long one are cut with an ellipsis; the emoji one fits.
table_rows | grep -q '名前が長い' || fail "the CJK name is not on the table"
table_rows | grep -q '名前が長い名前が長い名前' && fail "the CJK name was not cut to its box"
table_rows | grep -Eq '名前が長い[^ ]*…' || fail "the cut CJK name has no ellipsis"
table_rows | grep -Eq 'averyveryverylong[a-z_]*…' || fail "the long name has no ellipsis"
table_rows | grep -q 'averyveryverylongname_xx' && fail "the long name was not cut to its box"
table_rows | grep -q '😀🎲party😀' || fail "the emoji name is not on the table whole"
# The rows with the wide names keep the rail's column (check_rail above) in every window; the
# ASCII spectator's table too.
screen room:3
check_rail ascii "the ASCII spectator"
table_rows | grep -Eq 'averyveryve[a-z_]*\.\.\.' || fail "the spectator's long name has no '...'"

# ---- seats numbered as feltd numbers them ----------------------------------------------------
# feltd's log says "NAME joined seat N"; the TUI's empty seats must be exactly the others.
screen room:0
taken=$(sed -n 's/.* joined seat \([0-9]*\) as .*/\1/p' "$WORK/feltd.err" | sort -n | tr '\n' ' ')
[ -n "$taken" ] || fail "feltd's log names no seats: $(tail -n 5 "$WORK/feltd.err")"
empty=$(grep -o 'seat [0-9]*: empty' "$WORK/screen.txt" | sed 's/seat \([0-9]*\):.*/\1/' | sort -n | tr '\n' ' ')
[ -n "$empty" ] || fail "no empty seat shown (6 seats, 4 players)"
for s in $empty; do
    case " $taken " in *" $s "*) fail "the TUI shows seat $s empty, feltd's log has it taken ($taken)" ;; esac
done
[ $(( $(echo $taken | wc -w) + $(echo $empty | wc -w) )) -eq 6 ] ||
    fail "seats taken ($taken) and shown empty ($empty) do not make the table's 6"

# ---- the log's vocabulary ---------------------------------------------------------------------
# Played on until a showdown is in the log with a named hand and a named winner.
HAND='(high card, [A-Z][a-z]+|pair of [A-Z][a-z]+s|two pair, [A-Z][a-z]+s and [A-Z][a-z]+s|three of a kind, [A-Z][a-z]+s|straight, [A-Z][a-z]+ high|flush, [A-Z][a-z]+ high|full house, [A-Z][a-z]+s full of [A-Z][a-z]+s|four of a kind, [A-Z][a-z]+s|straight flush, [A-Z][a-z]+ high|royal flush)'
CARD='[2-9TJQKA][♣♦♥♠]'
wait_for "shows $CARD $CARD \\($HAND" 120 "a shown hand named with its ranks in the log"
wait_for "wins [0-9,]+ from (the pot|side pot [0-9]+) with $HAND" 30 "the winner named with the hand"
# The hand after it starts (the status line's number goes on); the showdown must stay readable.
shown=$(sed -n 's/.*hand #\([0-9][0-9]*\) *$/\1/p' "$WORK/screen.txt" | tail -n 1)
wait_for "hand #$((${shown:-0} + 1)) *\$" 60 "the next hand after the showdown"
# Older lines, scrolled back to (Home, then PgDn page by page, collecting what the log pane
# said): the blinds, the streets with the table's symbols, the bets and raises, the separators.
# The log pane is the field before the chat pane's divider (the own cards left of it are drawn
# with the same line character).
: > "$WORK/log.txt"
"${TMUX_CMD[@]}" send-keys -t room:0 Home
for i in $(seq 1 60); do
    sleep 0.15
    "${TMUX_CMD[@]}" capture-pane -p -t room:0 | awk '/── log ─/ { on = 1; next } on' |
        head -n -3 | awk -F'│' 'NF >= 3 { print $(NF - 1) }' >> "$WORK/log.txt"
    "${TMUX_CMD[@]}" send-keys -t room:0 NPage
done
"${TMUX_CMD[@]}" send-keys -t room:0 End
grep -q '[a-z]' "$WORK/log.txt" || fail "nothing read from the log pane"
grep -Eq -- '^-- Hand #[0-9]+ -- *$' "$WORK/log.txt" || fail "no separator line for a hand in the log"
grep -Eq 'posts the (small|big) blind [0-9,]+ *$' "$WORK/log.txt" || fail "no blinds in the log"
grep -Eq "^Flop: $CARD $CARD $CARD *\$" "$WORK/log.txt" || fail "no flop with the table's suit symbols in the log"
grep -Eq 'Flop: [2-9TJQKA][cdhs] ' "$WORK/log.txt" && fail "cards in letters in the UTF-8 log"
grep -Eq '(raises to|bets) [0-9]{4}' "$WORK/log.txt" && fail "an amount without separators in the log"
grep -Eq '[0-9]{4,} (returned|from)' "$WORK/log.txt" && fail "an amount without separators in the log"
grep -Eq '(calls|raises to|bets) [0-9,]+' "$WORK/log.txt" || fail "no calls, bets or raises in the log"
# "bets" opens a street; the preflop blinds are bets, so nobody "bets" before the flop.
awk '/-- Hand #/ { pre = 1 } /Flop:/ { pre = 0 } pre && / bets [0-9]/ { bad = 1 } END { exit bad }' \
    "$WORK/log.txt" || fail "'bets' before the flop (the blinds are the bet): $(grep ' bets ' "$WORK/log.txt" | head -3)"
# A hand shown stays readable after the next one starts: a separator follows a showdown line.
awk '/ shows / { seen = 1 } seen && /-- Hand #/ { ok = 1 } END { exit !ok }' \
    "$WORK/log.txt" || fail "no hand started after a showdown while the showdown stayed in the log"

# The ASCII spectator's log has the same lines with letters for the suits.
screen room:3
wait_for '(Flop|Turn|River): [2-9TJQKA][cdhs] [2-9TJQKA][cdhs] [2-9TJQKA][cdhs]' 60 \
    "a board in the ASCII spectator's log" room:3
grep -q '[♣♦♥♠]' "$WORK/screen.txt" && fail "suit symbols on the --ascii spectator's screen"

echo "PASS: tui_room_test"
exit 0
