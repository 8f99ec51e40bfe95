#!/bin/bash
# completions_test.sh: black-box test of the shell completions in completions/ (felt.bash,
# feltd.bash, _felt, _feltd, felt.fish, feltd.fish), each loaded in its own shell without the
# user's configuration:
#   - bash: the scripts are sourced with and without bash-completion (its _init_completion and
#     _filedir, or the scripts' own fallback), `complete -p` names their functions, and the
#     functions are called with COMP_WORDS, COMP_CWORD, COMP_LINE and COMP_POINT set as bash
#     sets them (a word per blank-separated token, the word breaks ':' and '=' words of their
#     own); COMPREPLY is read back as the words bash would put on the line;
#   - zsh: an interactive `zsh -f -i` under zsh/zpty with compinit and the completions dir on
#     $fpath; each line is typed with a TAB, compadd is wrapped to record the matches it is
#     given (after zsh's own matching), and a key bound to a widget records the line as the
#     TAB left it, so both _felt/_feltd's offers and the real insertion are checked;
#   - fish: `fish --no-config -c 'source ...; complete -C LINE'`.
# The cases in every shell: an option's prefix, the fixed value sets (--transport, --format,
# --event-lib, --data :memory:), the subcommands and their options, files (--config, --ca,
# --tls-cert, replay's FILE) and directories (--data) in a folder made for it, and --game's
# table names from the lobby of a real feltd started here (--server ws://127.0.0.1:PORT, and
# http://; with jq and with the sed fallback; nothing and no error for a closed port), and of
# one serving TLS with a throwaway self-signed certificate (wss:// with --ca CERT, and nothing
# without it). Every long option that `felt --help`, `felt replay --help`, `felt history
# --help` and `feltd --help` print must be offered for `felt --` (and so on) in every shell, so
# an option added without its completion fails here; so must felt --ca, --config, --no-config
# and feltd --config, --no-config, --log-json.
#
#   usage: completions_test.sh SRCDIR FELT FELTD
# Needs bash-completion, zsh, fish, curl, jq and openssl. Talks only to 127.0.0.1; every wait
# is bounded (about 20 s in all); the trap stops the feltds and zsh and removes the folder.
set -u
[ $# = 3 ] || { echo "usage: $0 SRCDIR FELT FELTD" >&2; exit 2; }
# absolute: the bash cases run in a folder of their own
SRC=$(realpath -- "$1") && FELT=$(realpath -- "$2") && FELTD=$(realpath -- "$3") || exit 2
COMP=$SRC/completions
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
WORK=$(mktemp -d "${TMPDIR:-/tmp}/felt-completions.XXXXXX") || exit 1
FELTD_PID=""
ZSH_PID=""
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}" $FELTD_PID $ZSH_PID; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}" $FELTD_PID $ZSH_PID; do wait "$p" 2>/dev/null; done
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
    echo "FAIL: $*"
    exit 1
}
# The lobby requests go straight to 127.0.0.1, whatever proxy the environment names.
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

for tool in zsh fish curl jq openssl timeout; do
    command -v "$tool" >/dev/null || fail "$tool is not installed"
done
TIMEOUT=$(command -v timeout) ZSH=$(command -v zsh) FISH=$(command -v fish)
[ -f "$BASH_COMPLETION" ] || fail "bash-completion is not installed ($BASH_COMPLETION)"
for f in felt.bash feltd.bash _felt _feltd felt.fish feltd.fish; do
    [ -f "$COMP/$f" ] || fail "$COMP/$f is missing"
done

# ---- feltd with two tables on a free port, and one over TLS with a throwaway certificate ----
. "$SRC/scripts/feltd-port.sh" # feltd_start
feltd_start "$WORK/feltd.out" "$WORK/feltd.err" timeout 120 "$FELTD" \
    --port 0 --no-config --data :memory: --table main:6:5/10:1000 --table high:6:50/100:10000 ||
    fail "feltd did not start: $(tail -n 5 "$WORK/feltd.err")"
PIDS+=("$FELTD_PID")
PORT=$FELTD_PORT
echo "feltd listens on $FELTD_URL"
CERT=$WORK/cert.pem
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$CERT" \
    >/dev/null 2>"$WORK/openssl.err" || fail "openssl: $(cat "$WORK/openssl.err")"
feltd_start "$WORK/feltd-tls.out" "$WORK/feltd.err" timeout 120 "$FELTD" \
    --port 0 --no-config --data :memory: --tls-cert "$CERT" --tls-key "$WORK/key.pem" \
    --table secure:6:5/10:1000 || fail "feltd (TLS) did not start: $(tail -n 5 "$WORK/feltd.err")"
TLS_PORT=$FELTD_PORT
echo "feltd listens on $FELTD_URL"

# ---- the long options each --help prints, and those that must be offered anyway ----------------
long_opts() { grep -o -- '--[a-z][a-z0-9-]*' | sort -u; }
# (check reads the HELP_ variables through their names)
HELP_FELT=$(timeout 10 "$FELT" --help | grep -E '^ +-' | long_opts)
# shellcheck disable=SC2034
HELP_REPLAY=$(timeout 10 "$FELT" replay --help | long_opts)
# shellcheck disable=SC2034
HELP_HISTORY=$(timeout 10 "$FELT" history --help | long_opts)
HELP_FELTD=$(timeout 10 "$FELTD" --help | long_opts)
for v in HELP_FELT HELP_REPLAY HELP_HISTORY HELP_FELTD; do
    [ "$(echo "${!v}" | wc -w)" -ge 5 ] || fail "too few options read from --help ($v): ${!v}"
done
HELP_FELT+=$'\n--ca\n--config\n--no-config'
HELP_FELTD+=$'\n--config\n--no-config\n--log-json'

# ---- the cases: LINE|WANT, WANT the words offered (sorted; a directory without its '/'), or
# "help:VAR" (every option in $VAR offered). With a single word in WANT, zsh's line after the
# TAB must be LINE completed with that word and a space (a '/' for a directory).
mkdir -p "$WORK/files/sub" "$WORK/nojq" || fail "cannot create the folders"
: >"$WORK/files/afile"
CASES=(
    "felt --tra|--transport"
    "felt --transport |auto poll ws"
    "felt re|replay"
    "felt |history replay"
    "felt history --format |json pokerstars text"
    "felt history --f|--format"
    "felt replay --st|--steps"
    "felt --json-events snapshot,st|snapshot,state_update snapshot,street"
    "felt --config |afile sub"
    "felt --ca a|afile"
    "felt history --ca a|afile"
    "felt replay |afile sub"
    "felt --server ws://127.0.0.1:$PORT --game |high main"
    "felt history --server http://127.0.0.1:$PORT --game m|main"
    "felt replay --server ws://127.0.0.1:$PORT --game h|high"
    "felt --server ws://127.0.0.1:1 --game |"
    "felt --server wss://127.0.0.1:$TLS_PORT --ca $CERT --game |secure"
    "felt history --ca $CERT --server wss://127.0.0.1:$TLS_PORT --game |secure"
    "felt --server wss://127.0.0.1:$TLS_PORT --game |"
    "feltd --event-lib |libev poll"
    "feltd --data |:memory: sub"
    "feltd --data s|sub"
    "feltd --data :|:memory:"
    "feltd --tls-key a|afile"
    "feltd --config a|afile"
    "felt --|help:HELP_FELT"
    "felt replay --|help:HELP_REPLAY"
    "felt history --|help:HELP_HISTORY"
    "feltd --|help:HELP_FELTD"
)
# Without jq (a PATH of only the tools the scripts and this test use): the sed fallback.
for t in bash zsh fish curl grep sed sort cat cut tr wc mkdir; do
    ln -s "$(command -v "$t")" "$WORK/nojq/$t" || fail "cannot link $t"
done
NOJQ_CASE="felt --server ws://127.0.0.1:$PORT --game |high main"

# check WHO LINE WANT GOT: GOT (the words offered, one a line) against WANT.
check() {
    local who=$1 line=$2 want=$3 got w v
    got=$(printf '%s\n' "$4" | sed 's:/$::' | grep -v '^$' | sort -u | tr '\n' ' ')
    got=${got% }
    case $want in
    help:*)
        v=${want#help:}
        for w in ${!v}; do
            grep -qxF -- "$w" <<<"${got// /$'\n'}" ||
                fail "$who: '$line' does not offer $w (offered: $got)"
        done
        case $line in *" replay --" | *" history --")
            [[ " $got " == *" --transport "* ]] && fail "$who: '$line' offers --transport" ;;
        esac
        echo "ok: $who: '$line' offers every option of --help"
        ;;
    *)
        [ "$got" = "$want" ] || fail "$who: '$line' offers '$got', not '$want'"
        echo "ok: $who: '$line' -> ${want:-nothing}"
        ;;
    esac
}

# ---- bash ---------------------------------------------------------------------------------------
# bash_offers LINE: the words bash would put on the line for a TAB at the end of LINE, from the
# function `complete -p` names for LINE's command; the function's stderr in $WORK/bash.err.
bash_offers() {
    local line=$1 tok r fn pre
    COMP_WORDBREAKS=$' \t\n"\'><=;|&(:'
    COMP_WORDS=()
    set -f
    for tok in $line; do
        while [ -n "$tok" ]; do
            if [[ $tok == [:=]* ]]; then r=${tok%%[!:=]*}; else r=${tok%%[:=]*}; fi
            COMP_WORDS+=("$r")
            tok=${tok#"$r"}
        done
    done
    set +f
    [[ $line == *' ' ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line
    COMP_POINT=${#line}
    COMPREPLY=()
    fn=$(complete -p "${COMP_WORDS[0]}" | sed -n 's/^complete .*-F \([^ ]*\) .*$/\1/p')
    [ -n "$fn" ] || fail "bash: no completion function for ${COMP_WORDS[0]}"
    "$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" \
        2>>"$WORK/bash.err"
    # bash replaces only the text after the word's last break character
    tok=${line##*[[:blank:]]}
    pre=${tok%"${tok##*[:=]}"}
    [ ${#COMPREPLY[@]} -eq 0 ] || printf '%s\n' "${COMPREPLY[@]/#/"$pre"}"
}

# bash_cases WHO: every case (and the one without jq) in this shell.
bash_cases() {
    local who=$1 c
    [ "$(complete -p felt)" = "complete -F _felt felt" ] || fail "$who: complete -p felt"
    [ "$(complete -p feltd)" = "complete -F _feltd feltd" ] || fail "$who: complete -p feltd"
    echo "ok: $who: complete -p felt and feltd name _felt and _feltd"
    for c in "${CASES[@]}"; do check "$who" "${c%%|*}" "${c#*|}" "$(bash_offers "${c%%|*}")"; done
    c=$NOJQ_CASE
    check "$who without jq" "${c%%|*}" "${c#*|}" "$(PATH=$WORK/nojq bash_offers "${c%%|*}")"
    [ ! -s "$WORK/bash.err" ] ||
        fail "$who: the completion functions wrote: $(head -c 300 "$WORK/bash.err")"
}

cd "$WORK/files" || fail "cannot enter $WORK/files"
(
    unset -f _init_completion _filedir
    . "$COMP/felt.bash" && . "$COMP/feltd.bash" || fail "bash: sourcing the scripts failed"
    bash_cases "bash (no bash-completion)"
) || exit 1
(
    # shellcheck source=/dev/null
    . "$BASH_COMPLETION" || fail "bash: sourcing $BASH_COMPLETION failed"
    declare -F _init_completion >/dev/null || fail "bash-completion has no _init_completion"
    . "$COMP/felt.bash" && . "$COMP/feltd.bash" || fail "bash: sourcing the scripts failed"
    bash_cases "bash (bash-completion)"
) || exit 1

# ---- zsh ----------------------------------------------------------------------------------------
got=$(timeout 10 zsh -f -c 'fpath=("$1" $fpath); autoload -Uz compinit; compinit -u -D
    print -r -- $_comps[felt] $_comps[feltd]' zsh "$COMP" 2>&1)
[ "$got" = "_felt _feltd" ] || fail "zsh: compinit did not find _felt and _feltd: $got"
echo "ok: zsh: compinit takes _felt and _feltd from the completions folder"

# The interactive zsh's setup: compinit, compadd recording the matches (M:WORD) to $OUT, ^T
# recording the line (B:LINE, then E:) and clearing it; no listing to answer or page through.
cat >"$WORK/zsh-setup.zsh" <<'EOF'
PS1='> '
unsetopt zle_bracketed_paste autolist listbeep
LISTMAX=100000
fpath=($COMP $fpath)
autoload -Uz compinit && compinit -u -D
compadd() {
    # _describe and others ask for the matches first (-O, -A, -D): pass those through
    if [[ " ${(j: :)@} " == *\ -[OAD]\ * ]]; then builtin compadd "$@"; return; fi
    local -a __m
    builtin compadd -O __m "$@"
    (( $#__m )) && print -rl -- "M:$IPREFIX"${^__m} >>$OUT
    builtin compadd "$@"
}
_cap_line() { print -r -- "B:$BUFFER" >>$OUT; print -r -- E: >>$OUT; BUFFER= }
zle -N _cap_line
bindkey '^I' complete-word
bindkey '^T' _cap_line
print -r -- READY >>$OUT
EOF
# The driver (zsh -f): types each line of LINES with a TAB and ^T into the interactive zsh.
cat >"$WORK/zsh-drive.zsh" <<'EOF'
zmodload zsh/zpty zsh/zselect || exit 3
export COMP=$1 OUT=$2
local lines=$3 setup=$4 line
: >| $OUT
zpty z zsh -f -i || exit 3
# wait_for PATTERN: until $OUT has a line matching (grep), reading what zsh prints; 10 s at most
wait_for() {
    local i junk
    for i in {1..200}; do
        while zpty -rt z junk 2>/dev/null; do :; done
        grep -q -- "$1" $OUT && return 0
        zselect -t 5
    done
    return 1
}
zpty -w z "source ${(q)setup}"
wait_for '^READY$' || { print -u2 "zsh did not start"; exit 3 }
while IFS= read -r line; do
    print -r -- "L:$line" >>$OUT
    zpty -w -n z "$line"$'\t\x14'
    wait_for '^E:$' || { print -u2 "zsh did not answer '$line'"; exit 3 }
    sed -i 's/^E:$/e:/' $OUT
done <$lines
zpty -d z
EOF

# zsh_run PATH LINE...: the lines typed in one zsh (with this PATH), the record in $WORK/zsh.out.
# (In the background, so that a TERM or INT stops the test at once; the trap stops it too.)
zsh_run() {
    local path=$1 rc
    shift
    printf '%s\n' "$@" >"$WORK/zsh.lines"
    PATH=$path "$TIMEOUT" 60 "$ZSH" -f "$WORK/zsh-drive.zsh" "$COMP" "$WORK/zsh.out" \
        "$WORK/zsh.lines" "$WORK/zsh-setup.zsh" &
    ZSH_PID=$!
    wait "$ZSH_PID"
    rc=$?
    ZSH_PID=""
    [ $rc = 0 ] || fail "zsh: the driver failed (status $rc)"
}
# zsh_cases WHO CASE...: each case checked against the record; a unique WANT also against the
# line the TAB left.
zsh_cases() {
    local who=$1 c line want buf
    shift
    for c in "$@"; do
        line=${c%%|*}
        want=${c#*|}
        check "$who" "$line" "$want" "$(awk -v l="L:$line" '$0 == l { on = 1; next }
            on && /^B:/ { exit } on && /^M:/ { print substr($0, 3) }' "$WORK/zsh.out")"
        if [[ $want != *" "* && $want != help:* && -n $want ]]; then
            buf=$(awk -v l="L:$line" '$0 == l { on = 1; next }
                on && /^B:/ { print substr($0, 3); exit }' "$WORK/zsh.out")
            # a directory ends in '/', anything else in a space
            [[ $buf == "${line%"${line##*[ ,]}"}$want"[/\ ] ]] ||
                fail "$who: '$line' + TAB gives the line '$buf'"
            echo "ok: $who: '$line' + TAB gives '$buf'"
        fi
    done
}
lines=()
for c in "${CASES[@]}"; do lines+=("${c%%|*}"); done
zsh_run "$PATH" "${lines[@]}"
zsh_cases zsh "${CASES[@]}"
zsh_run "$WORK/nojq" "${NOJQ_CASE%%|*}"
zsh_cases "zsh without jq" "$NOJQ_CASE"

# ---- fish ---------------------------------------------------------------------------------------
# fish_offers LINE: the first column of `complete -C LINE` after sourcing both scripts.
fish_offers() {
    "$TIMEOUT" 10 "$FISH" --no-config \
        -c 'source $argv[1]; and source $argv[2]; and complete -C $argv[3]' \
        "$COMP/felt.fish" "$COMP/feltd.fish" "$1" 2>>"$WORK/fish.err" | cut -f1
}
for c in "${CASES[@]}"; do check fish "${c%%|*}" "${c#*|}" "$(fish_offers "${c%%|*}")"; done
c=$NOJQ_CASE
check "fish without jq" "${c%%|*}" "${c#*|}" "$(PATH=$WORK/nojq fish_offers "${c%%|*}")"
[ ! -s "$WORK/fish.err" ] || fail "fish wrote: $(head -c 300 "$WORK/fish.err")"

echo "PASS: completions in bash (with and without bash-completion), zsh and fish"
