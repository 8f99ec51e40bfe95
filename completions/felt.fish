# felt.fish: fish completion for felt (the terminal client): its options, the `replay` and
# `history` subcommands and their options, the fixed value sets (--transport, --format, the
# --json-events types), files for --config, --ca and replay's FILE, and for --game the tables
# of the running server (GET /api/games on the --server given, else http://127.0.0.1:8000,
# trusting --ca's file; curl for the request, jq or sed for the ids; nothing when the server
# does not answer within a second). Load it with `source completions/felt.fish`, or install it as
# /usr/share/fish/vendor_completions.d/felt.fish (loaded on demand by command name).

# __felt_sub [NAME]: the command line's first argument is the subcommand NAME (replay or
# history), or, without NAME, there is no subcommand.
function __felt_sub
    set -l t (commandline -opc)
    if set -q argv[1]
        test "$t[2]" = "$argv[1]"
    else
        not contains -- "$t[2]" replay history
    end
end

# __felt_games: the table ids in the lobby of the --server on the command line (ws:// asked
# over http://, wss:// over https://, trusting --ca's file), one a line; nothing, silently, when
# it cannot be asked.
function __felt_games
    set -l url http://127.0.0.1:8000
    set -l ca
    set -l t (commandline -opc)
    for i in (seq (count $t))
        switch $t[$i]
            case --server
                set -q t[(math $i + 1)]; and set url $t[(math $i + 1)]
            case '--server=*'
                set url (string replace -- --server= '' $t[$i])
            case --ca
                set -q t[(math $i + 1)]; and set ca $t[(math $i + 1)]
            case '--ca=*'
                set ca (string replace -- --ca= '' $t[$i])
        end
    end
    set -q ca[1]; and set ca --cacert (string replace -r '^~/' ~/ -- $ca)
    set url (string replace -r '^ws://' http:// -- $url | string replace -r '^wss://' https://)
    command -q curl; or return 0
    # HTTP/1.1: feltd's TLS offers h2 (ALPN) but does not serve it
    set -l json (curl -fsS --http1.1 --max-time 1 $ca (string trim -r -c / -- $url)/api/games \
        2>/dev/null | string collect); or return 0
    if command -q jq
        printf '%s' $json | jq -r '.games[]?.id' 2>/dev/null
    else
        printf '%s' $json | grep -o '"id" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
    end
end

complete -c felt -f
complete -c felt -n '__felt_sub; and test (count (commandline -opc)) -eq 1' \
    -a 'replay\t"replay a hand record" history\t"a table\'s past hands"'

# in every form
complete -c felt -l server -x -a 'ws://127.0.0.1:8000 http://127.0.0.1:8000' -d 'the server'
complete -c felt -l game -x -a '(__felt_games)' -d 'the table'
complete -c felt -l name -x -d 'your name (the seat token to use)'
complete -c felt -l ca -r -F -d 'trust the certificates in this file (wss://, https://)'
complete -c felt -s h -l help -d usage

# felt (the table)
complete -c felt -n __felt_sub -l buy-in -x -d 'chips to sit down with'
complete -c felt -n __felt_sub -l spectate -d 'watch without a seat'
complete -c felt -n __felt_sub -l json -d 'JSON lines for bots'
complete -c felt -n __felt_sub -l json-events -x -d 'with --json, print only these types' \
    -a '(__fish_append , connection snapshot state_update animation notification chat ack \
        error pong hand_start action street uncalled showdown hand_end seat turn your_turn \
        timer_warning)'
complete -c felt -n __felt_sub -l transport -x -a 'auto ws poll' -d 'the connection'
complete -c felt -n __felt_sub -l ascii -d 'cards as text'
complete -c felt -n __felt_sub -l no-color -d 'no colours'
complete -c felt -n __felt_sub -l four-color -d 'a four-colour deck'
complete -c felt -n __felt_sub -l quiet -d 'no bell on your turn'
complete -c felt -n __felt_sub -l color -d "colours, over the config file's color = off"
complete -c felt -n __felt_sub -l no-ascii -d "suit symbols, over the config file's ascii = on"
complete -c felt -n __felt_sub -l two-color -d "two colours, over the config's four-color = on"
complete -c felt -n __felt_sub -l bell -d "the bell, over the config file's quiet = on"
complete -c felt -n __felt_sub -l config -r -F -d 'settings from this file'
complete -c felt -n __felt_sub -l no-config -d 'read no config file'
complete -c felt -n __felt_sub -s V -l version -d 'print the version'

# felt replay [--json [--steps]] FILE|-  /  --hand N
complete -c felt -n '__felt_sub replay' -F
complete -c felt -n '__felt_sub replay' -l json -d 'print the result as one JSON object'
complete -c felt -n '__felt_sub replay' -l steps -d 'with --json: the state after each action'
complete -c felt -n '__felt_sub replay' -l hand -x -d "hand N of the server's history"

# felt history
complete -c felt -n '__felt_sub history' -l since -x -d 'the hands after this hand id'
complete -c felt -n '__felt_sub history' -l limit -x -d 'at most this many hands'
complete -c felt -n '__felt_sub history' -l format -x -a 'text json pokerstars' -d 'output form'
