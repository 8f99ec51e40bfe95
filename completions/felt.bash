# felt.bash: bash completion for felt (the terminal client): its options, the `replay` and
# `history` subcommands and their options, the values with a fixed set (--transport,
# --format) and files for --config. Load it with `. completions/felt.bash`, or install it as
# /usr/share/bash-completion/completions/felt.

_felt()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion || return
    else
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local sub=""
    [ "$cword" -gt 1 ] && case ${words[1]} in replay | history) sub=${words[1]} ;; esac

    case $prev in
    --transport)
        COMPREPLY=($(compgen -W "auto ws poll" -- "$cur"))
        return
        ;;
    --format)
        COMPREPLY=($(compgen -W "text json pokerstars" -- "$cur"))
        return
        ;;
    --server)
        COMPREPLY=($(compgen -W "ws://127.0.0.1:8000 http://127.0.0.1:8000" -- "$cur"))
        return
        ;;
    --config)
        COMPREPLY=($(compgen -f -- "$cur"))
        return
        ;;
    --json-events)
        # a comma-separated list: complete the name after the last comma
        local before=${cur%"${cur##*,}"}
        COMPREPLY=($(compgen -P "$before" -W "connection snapshot state_update animation
            notification chat ack error pong hand_start action street uncalled showdown
            hand_end seat turn your_turn timer_warning" -- "${cur##*,}"))
        return
        ;;
    --game | --name | --buy-in | --since | --limit | --hand)
        return # a value of the user's own
        ;;
    esac

    case $sub in
    replay)
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--json --steps --hand --server --game --name --help" \
                -- "$cur"))
        else
            COMPREPLY=($(compgen -f -- "$cur"))
        fi
        ;;
    history)
        COMPREPLY=($(compgen -W "--server --game --name --since --limit --format --help" \
            -- "$cur"))
        ;;
    *)
        if [ "$cword" -eq 1 ] && [[ $cur != -* ]]; then
            COMPREPLY=($(compgen -W "replay history" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "--server --game --name --buy-in --spectate --json --json-events
                --transport --ascii --no-color --four-color --quiet --color --no-ascii --two-color
                --bell --config --no-config --help --version" -- "$cur"))
        fi
        ;;
    esac
}
complete -F _felt felt
