#!/bin/sh
# bot.sh: a felt bot in POSIX shell and jq. It runs `felt --json`, reads the server's messages
# one JSON line at a time, and answers on its own turns: check when it can, call small bets
# (at most $BOT_MAX_CALL chips, default 50), fold to anything bigger. It sits back in after
# busting and joins again if the server no longer knows its seat. Stop it with Ctrl-C; closing
# felt's stdin (which this script does when it exits) makes felt leave the table cleanly.
#
#   docs/examples/bot.sh --server ws://127.0.0.1:8000 --game main --name shbot
#
# Needs felt on $PATH (or FELT=/path/to/felt) and jq.
set -eu

FELT=${FELT:-felt}
MAX_CALL=${BOT_MAX_CALL:-50}
command -v jq >/dev/null 2>&1 || { echo "bot.sh: needs jq" >&2; exit 2; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
mkfifo "$dir/to_felt"

# felt reads our answers from the FIFO; we read felt's lines from the pipe.
"$FELT" --json "$@" <"$dir/to_felt" | {
    exec 3>"$dir/to_felt"
    me=""
    acted=""   # seq of the last to_act we answered, so one turn gets one answer
    turn=""    # the last to_act seen for us, with the seq of its message (compact JSON)
    while IFS= read -r line; do
        # One jq per line: print "me ID", "turn JSON" or a command for felt, or nothing.
        out=$(printf '%s\n' "$line" | jq -rc --arg me "$me" '
            if .type == "connection" then
                if .state == "rejected" then {type: "rejoin"} | tojson
                elif .player_id then "me \(.player_id)" else empty end
            elif .type == "snapshot" and .data.you then "me \(.data.you.player_id)"
            elif (.type == "snapshot" or .type == "state_update")
                 and .data.to_act != null and .data.to_act.player_id == $me then
                "turn \(.data.to_act + {seq: .seq} | tojson)"
            elif .type == "notification" and .data.kind == "your_turn" then "your_turn"
            elif .type == "state_update" and .data.event == "seat"
                 and .data.player.player_id == $me and .data.change == "busted" then
                {type: "sit_in"} | tojson
            else empty end')
        case $out in
        "") continue ;;
        "me "*) me=${out#me }; continue ;;
        "turn "*) turn=${out#turn } ;;
        your_turn) ;;  # the cue: answer the to_act we have, unless already answered
        *) printf '%s\n' "$out" >&3; continue ;;
        esac
        [ -n "$turn" ] || continue
        seq=$(printf '%s\n' "$turn" | jq -r '.seq')
        [ "$seq" != "$acted" ] || continue
        acted=$seq
        printf '%s\n' "$turn" | jq -c --argjson max "$MAX_CALL" '
            if .can_check then {type: "action", action: "check"}
            elif .call <= $max then {type: "action", action: "call"}
            else {type: "action", action: "fold"} end' >&3
    done
}
