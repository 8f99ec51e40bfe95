# feltd.bash: bash completion for feltd (the server): its options, the event loops for
# --event-lib, files for --tls-cert, --tls-key and --config, directories (or :memory:) for
# --data; --table NAME:SEATS:SB/BB:BUYIN[:ANTE], --bots [TABLE:]N and the numbers are the
# user's own. Works with or without the bash-completion package. Load it with
# `. completions/feltd.bash`, or install it as
# /usr/share/bash-completion/completions/feltd (loaded on demand by command name).

_feltd()
{
    local cur prev words cword IFS=$' \t\n'
    if declare -F _init_completion >/dev/null; then
        _init_completion -n := || return
    else
        local line=${COMP_LINE:0:COMP_POINT}
        read -ra words <<<"$line"
        [[ -z $line || $line == *[[:blank:]] ]] && words+=("")
        cword=$((${#words[@]} - 1))
        cur=${words[cword]}
        prev=${words[cword - 1]:-}
    fi
    # --option=value: complete the value as if it were the next word
    if [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
    fi

    case $prev in
    --event-lib)
        mapfile -t COMPREPLY < <(compgen -W "libev poll" -- "$cur")
        return
        ;;
    --tls-cert | --tls-key | --config)
        if declare -F _filedir >/dev/null; then
            _filedir
        else
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
        fi
        return
        ;;
    --data)
        if [[ $cur == :* ]]; then
            # bash replaces only what follows the word's last ':' (a word break)
            [[ :memory: == "$cur"* ]] && COMPREPLY=(":memory:")
            [[ $COMP_WORDBREAKS == *:* ]] && COMPREPLY=("${COMPREPLY[@]#"${cur%"${cur##*:}"}"}")
            return
        fi
        if declare -F _filedir >/dev/null; then
            _filedir -d
        else
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        fi
        [[ -z $cur ]] && COMPREPLY+=(":memory:")
        return
        ;;
    --host | --port | --table | --bots | --action-timeout | --hand-delay | --bot-delay | \
        --history | --ping-secs | --hangup-secs | --idle-seat-secs | --sitout-hands | \
        --joins-per-minute | --seats-per-address | --max-conns-per-address | --max-conns | \
        --hello-secs | --chat-per-address | --chat-per-table | --poll-max-events | --trust-proxy | \
        --postgres | --node-id | --redis | --advertise)
        return # a value of the user's own
        ;;
    esac

    mapfile -t COMPREPLY < <(compgen -W "--host --port --table --bots --data --postgres --node-id --redis --advertise
        --action-timeout
        --hand-delay --bot-delay --history --spectator-chat --no-spectator-chat --ping-secs
        --hangup-secs --tls-cert --tls-key --event-lib --idle-seat-secs --sitout-hands
        --joins-per-minute --seats-per-address --max-conns-per-address --max-conns --hello-secs
        --chat-per-address --chat-per-table --poll-max-events --trust-proxy --config --no-config
        --log-json -v --verbose -q --quiet -h --help -V --version" -- "$cur")
}
complete -F _feltd feltd
