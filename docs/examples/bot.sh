#!/bin/sh
# bot.sh: a felt bot in POSIX shell and jq. It runs `felt --json` (the felt on $PATH, as
# installed), reads the server's messages one JSON line at a time, and answers on its own turns
# from to_act's "legal" list: check when it can, call small bets (at most $BOT_MAX_CALL chips,
# default 50), fold to anything bigger. It sits back in after busting and joins again if the
# server no longer knows its seat. It says what it does on stdout, one line each ("bot.sh: hand
# 12: call 20"). Stop it with Ctrl-C; closing felt's stdin (which this script does when it
# exits) makes felt leave the table cleanly.
#
#   docs/examples/bot.sh --server ws://127.0.0.1:8000 --game main --name shbot
#
# Needs felt on $PATH (or FELT=/path/to/felt) and jq. The arguments go to felt.
set -eu

FELT=${FELT:-felt}
MAX_CALL=${BOT_MAX_CALL:-50}
command -v jq >/dev/null 2>&1 || { echo "bot.sh: needs jq" >&2; exit 2; }
command -v "$FELT" >/dev/null 2>&1 || {
    echo "bot.sh: no '$FELT' on PATH: install felt (make install) or set FELT=/path/to/felt" >&2
    exit 2
}

say() { printf 'bot.sh: %s\n' "$*"; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
mkfifo "$dir/to_felt"

say "starting $(command -v "$FELT") --json $*"
# felt reads our answers from the FIFO; we read felt's lines from the pipe. Only the lines this
# bot reads are printed by felt (--json-events).
"$FELT" --json --json-events connection,snapshot,state_update,your_turn,ack,error "$@" \
    <"$dir/to_felt" | {
    exec 3>"$dir/to_felt"
    me=""
    acted=""   # seq of the last to_act we answered, so one turn gets one answer
    turn=""    # the last to_act seen for us, with the seq and hand of its message (compact JSON)
    while IFS= read -r line; do
        # One jq per line: print "me ID", "turn JSON", "say TEXT", a command for felt, or nothing.
        out=$(printf '%s\n' "$line" | jq -rc --arg me "$me" '
            if .type == "connection" then
                if .state == "rejected" then {type: "rejoin"} | tojson
                elif .player_id then "me \(.player_id) \(.state)"
                else "say connection \(.state)" end
            elif .type == "snapshot" and .data.you then "me \(.data.you.player_id) seated"
            elif (.type == "snapshot" or .type == "state_update")
                 and .data.to_act != null and .data.to_act.player_id == $me then
                "turn \(.data.to_act + {seq: .seq, hand: .data.hand_id} | tojson)"
            elif .type == "notification" and .data.kind == "your_turn" then "your_turn"
            elif .type == "state_update" and .data.event == "hand_end"
                 and (.data.stacks[$me] != null) then
                "say hand \(.data.hand_id) over: my stack \(.data.stacks[$me])"
            elif .type == "state_update" and .data.event == "seat"
                 and .data.player.player_id == $me and .data.change == "busted" then
                {type: "sit_in"} | tojson
            elif .type == "ack" and .data.status == "rejected" then
                "say refused: \(.data.code // "?") \(.data.message // "")"
            elif .type == "error" then "say error: \(.data.code) \(.data.message)"
            else empty end')
        case $out in
        "") continue ;;
        "me "*)
            id=${out#me }
            id=${id%% *}
            [ "$id" = "$me" ] || say "playing as $id"
            me=$id
            continue ;;
        "say "*) say "${out#say }"; continue ;;
        "turn "*) turn=${out#turn } ;;
        your_turn) ;;  # the cue: answer the to_act we have, unless already answered
        *) say "sending $out"; printf '%s\n' "$out" >&3; continue ;;
        esac
        [ -n "$turn" ] || continue
        seq=$(printf '%s\n' "$turn" | jq -r '.seq')
        [ "$seq" != "$acted" ] || continue
        acted=$seq
        # The move, from "legal": check if it is there, call small bets, else fold.
        move=$(printf '%s\n' "$turn" | jq -r --argjson max "$MAX_CALL" '
            (.legal // []) as $l
            | if ($l | index("check")) then "check"
              elif ($l | index("call")) and .call <= $max then "call"
              else "fold" end')
        hand=$(printf '%s\n' "$turn" | jq -r '.hand')
        call=$(printf '%s\n' "$turn" | jq -r '.call')
        case $move in
        call) say "hand $hand: call $call" ;;
        fold) say "hand $hand: fold (to call: $call)" ;;
        *) say "hand $hand: $move" ;;
        esac
        # "decision" pins the move to this to_act: refused, not applied, if the table moved on.
        printf '%s\n' "$turn" | jq -c --arg move "$move" \
            '{type: "action", action: $move} + (if .decision then {decision} else {} end)' >&3
    done
}
