#!/bin/sh
# replay_test.sh: black-box test of `felt replay` (the contract in docs/hand-format.md).
#   usage: replay_test.sh FELT_BINARY EXAMPLES_DIR
# Runs the real binary on the sample hands and on broken input, checking exit statuses, the JSON
# result (with jq) and that errors are one clear line on stderr. Any crash (a signal) fails.
set -u
FELT=$1
EX=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
fails=0

fail() {
    echo "FAIL: $*" >&2
    fails=$((fails + 1))
}

# run EXPECTED_STATUS ARGS...: runs felt with stdout/stderr captured in $TMP/out and $TMP/err.
run() {
    want=$1
    shift
    "$FELT" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    got=$?
    [ "$got" -eq "$want" ] || fail "felt $* exited $got, want $want: $(head -c 300 "$TMP/err")"
}

# check JQ_FILTER DESCRIPTION: the filter must print true for $TMP/out.
check() {
    r=$(jq -e "$1" "$TMP/out" 2>&1) || fail "$2: jq '$1' gave '$r' on $(head -c 400 "$TMP/out")"
}

one_line_error() {
    [ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "$1: stderr is not one line: $(cat "$TMP/err")"
    grep -q '^felt' "$TMP/err" || fail "$1: stderr does not start with felt: $(cat "$TMP/err")"
    [ ! -s "$TMP/out" ] || fail "$1: stdout is not empty"
}

# A complete hand with side pots, as text and as JSON. The text speaks as felt's live log does:
# amounts with separators, the table's suit symbols, "raises to" over the blinds, the hands shown
# at the all-in named once the board is out, the winners named with their hands.
run 0 replay "$EX/side-pots.json"
# lines LINE...: each is a whole line of $TMP/out, in this order (others may come between).
lines() {
    printf '%s\n' "$@" >"$TMP/want"
    awk 'NR == FNR { want[++n] = $0; next }
         i < n && $0 == want[i + 1] { i++ }
         END { exit i < n }' "$TMP/want" "$TMP/out" ||
        fail "text: want the lines $(cat "$TMP/want") in order, got $(cat "$TMP/out")"
}
lines '  seat 4: ivy (1,200) [A♥ Q♦]' 'hal posts the big blind 25 (all-in)' 'ivy raises to 300' \
    'jon calls 240 (all-in)' 'gus raises to 390 (all-in)' 'gus shows A♣ K♦' \
    'River: 2♣ 5♦ 9♥ 8♣ 3♠' 'hal wins 140 from the pot with three of a kind, Nines' \
    'jon wins 645 from side pot 1 with pair of Jacks' 'gus wins 300 from side pot 2 with high card, Ace' \
    'Final stacks: gus 300 hal 140 ivy 800 jon 645 kim 0'
grep -Eq '(raises to|bets|calls|wins) [0-9]{4}|[(][0-9]{4}[)]' "$TMP/out" &&
    fail "side-pots text: an amount without separators: $(cat "$TMP/out")"
grep -Eq '\[[2-9TJQKA][cdhs]|eval|(pair|flush)\)$' "$TMP/out" &&
    fail "side-pots text: old wording: $(cat "$TMP/out")"
# A bet on a street nobody has bet on yet, and the words at a showdown.
run 0 replay "$EX/server-complete.json"
lines 'ann raises to 30' 'Flop: K♣ 7♦ 2♥' 'cat checks' 'ann bets 40' 'cat calls 40' 'cat bets 100' \
    '*** SHOWDOWN ***' 'cat shows Q♠ Q♣ (pair of Queens)' 'ann shows A♥ K♦ (pair of Kings)' \
    'ann wins 345 from the pot with pair of Kings' 'Final stacks: ann 1,175 bob 595 cat 630'
run 0 replay --json "$EX/side-pots.json"
check '.ok == true and .complete == true and .to_act == null' "side-pots json"
check '.stacks == {"gus": 300, "hal": 140, "ivy": 800, "jon": 645, "kim": 0}' "side-pots stacks"
check '[.pots[].amount] == [140, 645, 300]' "side-pots pot amounts"
check '[.pots[].winners] == [["hal"], ["jon"], ["gus"]]' "side-pots winners"
check '(.stacks | add) == 400 + 35 + 1200 + 250' "side-pots chips conserved"

# The same file through standard input.
"$FELT" replay --json - <"$EX/side-pots.json" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 0 ] || fail "stdin replay exited non-zero"
check '.ok == true and .stacks.jon == 645' "stdin replay"

# Every sample replays without a crash, with a status of 0 or 1.
for f in "$EX"/*.json; do
    "$FELT" replay --json "$f" >"$TMP/out" 2>"$TMP/err"
    st=$?
    [ "$st" -le 1 ] || fail "$f: exit $st"
    check 'has("ok")' "$f"
done

# A split pot: the odd chip goes whole to the first winner left of the button.
run 0 replay --json "$EX/split-pot.json"
check '.stacks == {"oli": 1002, "pam": 995, "quy": 1003}' "split pot"

# A record that stops before the end: the options of the player to act.
run 0 replay --json "$EX/unfinished.json"
check '.complete == false and .to_act.name == "max" and .to_act.call == 0' "unfinished"
check '.to_act.can_check == true and .to_act.min_raise_to == 20' "unfinished raise"
check '.to_act.max_raise_to == 1940 and (.to_act | keys | length) == 6' "unfinished shape"
check '.to_act.legal == ["fold", "check", "raise", "all_in"]' "unfinished legal"

# --json --steps: one line per action (and one before the first), each the state then; the
# last is --json's result plus the step fields.
n=$(jq '.actions | length' "$EX/issue-example-legal.json")
run 0 replay --json --steps "$EX/issue-example-legal.json"
[ "$(wc -l <"$TMP/out")" -eq $((n + 1)) ] || fail "steps: $(wc -l <"$TMP/out") lines for $n actions"
r=$(jq -s -e --argjson n "$n" '[.[].step] == [range(0; $n + 1)]
    and .[0].action == null and .[0].street == "preflop" and .[0].board == []
    and all(.[1:][]; .action.name != null and .action.action != null)
    and all(.[:-1][]; .complete == false and (.to_act.legal | length) >= 2 and (.cards | length) == 2)
    and .[-1].complete == true and .[-1].to_act == null and .[-1].cards == null' "$TMP/out" 2>&1) ||
    fail "steps shape: $r"
jq -c 'del(.step, .action, .street, .board, .cards)' "$TMP/out" | tail -n 1 >"$TMP/last"
"$FELT" replay --json "$EX/issue-example-legal.json" | jq -c . >"$TMP/whole"
cmp -s "$TMP/last" "$TMP/whole" || fail "steps: the last line is not replay --json's result"
run 1 replay --json --steps "$EX/illegal-raise.json"
r=$(jq -s -e '(.[-1].ok == false and .[-1].error.code == "raise_too_small")
    and ([.[:-1][].step] == [0, 1])' "$TMP/out" 2>&1) || fail "steps illegal: $r"
run 2 replay --steps "$EX/issue-example-legal.json"
one_line_error "steps without --json"

# An illegal action: exit 1 with the error object.
run 1 replay --json "$EX/illegal-raise.json"
check '.ok == false and .error.index == 1 and .error.code == "raise_too_small"' "illegal json"
check '(.error.message | length) > 10 and (keys | length) == 2' "illegal message"
run 1 replay "$EX/illegal-raise.json"
grep -q 'raise_too_small' "$TMP/out" || fail "illegal text: no code"

# The issue's example acts out of turn: the button (bob) is first to act before the flop.
run 1 replay --json "$EX/issue-example.json"
check '.error.index == 0 and .error.code == "not_your_turn"' "issue example"
run 0 replay --json "$EX/issue-example-legal.json"
check '.stacks == {"ann": 960, "bob": 930, "cat": 0}' "issue example, legal order"

# Malformed records: exit 2, one line on stderr, nothing on stdout, no crash.
printf '{"small_blind": 5, "big_blind": 10' >"$TMP/trunc.json"
printf '\001\002\377binary\000garbage' >"$TMP/bin.json"
printf '{"small_blind": 5, "big_blind": 10, "button": 0, "seats": [{"seat": 0, "name": "a", "stack": 100}, {"seat": 11, "name": "b", "stack": 100}], "actions": []}' >"$TMP/seat.json"
printf '{"small_blind": 5, "big_blind": 10, "button": 0, "seats": [{"seat": 0, "name": "a", "stack": 100}, {"seat": 1, "name": "b", "stack": 100}], "actions": [{"name": "zed", "action": "call"}]}' >"$TMP/name.json"
printf '{"small_blind": 5, "big_blind": 10, "button": 0, "seats": [{"seat": 0, "name": "a", "stack": 100}, {"seat": 1, "name": "b", "stack": 100}], "actions": [{"name": "a", "action": "all_in"}, {"name": "b", "action": "call"}]}' >"$TMP/nocards.json"
: >"$TMP/empty.json"
head -c 1100000 /dev/zero | tr '\0' ' ' >"$TMP/huge.json"
for f in trunc bin seat name nocards empty huge; do
    run 2 replay --json "$TMP/$f.json"
    one_line_error "$f"
done
run 2 replay --json "$TMP/nocards.json"
grep -q 'missing_cards' "$TMP/err" || fail "nocards: no missing_cards code"
run 2 replay "$TMP/name.json"
grep -q 'unknown_name' "$TMP/err" || fail "name: no unknown_name code"

# Usage errors.
run 2 replay
one_line_error "no file"
run 2 replay "$TMP/does-not-exist.json"
one_line_error "missing file"
run 2 replay --bogus "$EX/side-pots.json"
one_line_error "unknown option"
run 2 replay "$EX/side-pots.json" "$EX/split-pot.json"
one_line_error "two files"
run 0 replay --help
grep -q 'usage: felt replay' "$TMP/out" || fail "replay --help"
run 0 --version
grep -q '^felt [0-9]' "$TMP/out" || fail "--version"

if [ "$fails" -ne 0 ]; then
    echo "replay_test: $fails failure(s)" >&2
    exit 1
fi
echo "replay_test: all checks passed"
