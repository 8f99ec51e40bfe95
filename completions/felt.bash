# felt.bash: bash completion for felt (the terminal client): its options, the `replay` and
# `history` subcommands and their options, the fixed value sets (--transport, --format, the
# --json-events types), files for --config, --ca and replay's FILE, and for --game the tables
# of the running server (GET /api/games on the --server given, else http://127.0.0.1:8000,
# trusting --ca's file; curl for the request, jq or sed for the ids; nothing when the server
# does not answer within a second). Works with or without the bash-completion package. Load
# it with `. completions/felt.bash`, or install it as
# /usr/share/bash-completion/completions/felt (loaded on demand by command name).

# _felt_games SERVER CA: the table ids in the lobby of SERVER (a felt --server URL; ws:// is
# asked over http://, wss:// over https://, trusting the certificates in the file CA if given),
# one a line; nothing, silently, when it cannot be asked.
_felt_games()
{
    local url=${1:-http://127.0.0.1:8000} json cacert=()
    [[ -n $2 ]] && cacert=(--cacert "${2/#\~/$HOME}")
    case $url in
    ws://*) url=http://${url#ws://} ;;
    wss://*) url=https://${url#wss://} ;;
    esac
    type -P curl >/dev/null || return 0
    # HTTP/1.1: feltd's TLS offers h2 (ALPN) but does not serve it
    json=$(curl -fsS --http1.1 --max-time 1 "${cacert[@]}" "${url%/}/api/games" 2>/dev/null) ||
        return 0
    if type -P jq >/dev/null; then
        printf '%s' "$json" | jq -r '.games[]?.id' 2>/dev/null
    else
        printf '%s' "$json" | grep -o '"id" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'
    fi
}

# _felt_words_fallback: cur, prev, words and cword from COMP_LINE up to the cursor, split at
# blanks only (a URL's ':' stays in its word), for when bash-completion is not loaded.
_felt_words_fallback()
{
    local line=${COMP_LINE:0:COMP_POINT}
    read -ra words <<<"$line"
    [[ -z $line || $line == *[[:blank:]] ]] && words+=("")
    cword=$((${#words[@]} - 1))
    cur=${words[cword]}
    prev=${words[cword - 1]:-}
}

# _felt_reply WORDS: COMPREPLY from the words matching $cur; when $cur holds a ':' that bash
# treats as a word break, what precedes it is dropped (bash replaces only the text after it).
_felt_reply()
{
    local IFS=$' \t\n'
    mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
    if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
        local pre=${cur%"${cur##*:}"} i
        for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=${COMPREPLY[i]#"$pre"}; done
    fi
}

# _felt_files: file names completing $cur (bash-completion's _filedir when it is loaded).
_felt_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir
    else
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}

_felt()
{
    local cur prev words cword IFS=$' \t\n'
    if declare -F _init_completion >/dev/null; then
        _init_completion -n := || return
    else
        _felt_words_fallback
    fi
    # --option=value: complete the value as if it were the next word
    if [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
    fi

    local sub="" i server="" ca=""
    [[ $cword -gt 1 && (${words[1]} == replay || ${words[1]} == history) ]] && sub=${words[1]}
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        --server) server=${words[i + 1]} ;;
        --server=*) server=${words[i]#--server=} ;;
        --ca) ca=${words[i + 1]} ;;
        --ca=*) ca=${words[i]#--ca=} ;;
        esac
    done

    case $prev in
    --transport) _felt_reply "auto ws poll"; return ;;
    --format) _felt_reply "text json pokerstars"; return ;;
    --server) _felt_reply "ws://127.0.0.1:8000 http://127.0.0.1:8000"; return ;;
    --config | --ca) _felt_files; return ;;
    --game) _felt_reply "$(_felt_games "$server" "$ca")"; return ;;
    --json-events)
        # a comma-separated list: complete the name after the last comma
        local before=${cur%"${cur##*,}"}
        mapfile -t COMPREPLY < <(compgen -P "$before" -W "connection snapshot state_update
            animation notification chat ack error pong hand_start action street uncalled
            showdown hand_end seat turn your_turn timer_warning" -- "${cur##*,}")
        return
        ;;
    --name | --buy-in | --since | --limit | --hand)
        return # a value of the user's own
        ;;
    esac

    case $sub in
    replay)
        if [[ $cur == -* ]]; then
            _felt_reply "--json --steps --hand --server --game --name --ca -h --help"
        else
            _felt_files
        fi
        ;;
    history)
        _felt_reply "--server --game --name --since --limit --format --ca -h --help"
        ;;
    *)
        if [[ $cword -eq 1 && $cur != -* ]]; then
            _felt_reply "replay history"
        else
            _felt_reply "--server --game --name --buy-in --spectate --json --json-events
                --transport --ascii --no-color --four-color --quiet --color --no-ascii
                --two-color --bell --config --no-config --ca -h --help -V --version"
        fi
        ;;
    esac
}
complete -F _felt felt
