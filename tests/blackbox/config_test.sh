#!/bin/bash
# config_test.sh: black-box test of felt's config file (client-tui/config.c) and of the token
# store's pruning at startup, with the real felt against a real feltd on a free loopback port.
#   - bad files: a bad line is one line on stderr naming FILE:LINE (exit 2, no crash); --help
#     still works; --config FILE that does not exist; --no-config ignores the file; a relative
#     $XDG_CONFIG_HOME is ignored for ~/.config;
#   - precedence: the file's server, name and game are used (felt --json, seen in the token file
#     the join stores, named after server, game and name), --name, --server and --config win;
#   - pruning: a server's old token files go at startup, the current server's and a recent one's
#     stay;
#   - the screen in tmux (spectating): ascii = on draws "* connected", --no-ascii "● connected";
#     color = off draws no colours, --color does; color = on wins over $NO_COLOR, --no-color over
#     the file.
#
#   usage: config_test.sh FELTD FELT
# Everything listens on 127.0.0.1; every wait is bounded; feltd dies on its own after LIFETIME
# seconds, and the trap stops it, kills the private tmux server and removes the folder.
set -u
. "$(dirname "$0")/tmux_lib.sh" # tmux_lib_init, feltd_start

FELTD=$1
FELT=$2
tmux_lib_init felt-config cfg
LIFETIME=110

# fail (tmux_lib.sh's, redefined): felt's stderr and the screen, if there are any.
fail() {
    echo "FAIL: $*"
    [ -f "$WORK/err" ] && { echo "---- felt's stderr ----"; head -c 600 "$WORK/err"; echo; }
    [ -f "$WORK/screen.txt" ] && { echo "---- the screen ----"; cat "$WORK/screen.txt"; }
    exit 1
}

# run_felt WANT_STATUS ARGS...: felt with stdin closed after STDIN_SECS seconds (0: at once),
# the config home $WORK/cfg and the state home $WORK/state unless the caller's environment says
# otherwise; stdout in $WORK/out, stderr in $WORK/err.
STDIN_SECS=0
run_felt() {
    local want=$1 got
    shift
    sleep "$STDIN_SECS" | env XDG_CONFIG_HOME="${CFG_HOME-$WORK/cfg}" \
        XDG_STATE_HOME="$WORK/state" timeout 20 "$FELT" "$@" >"$WORK/out" 2>"$WORK/err"
    got=${PIPESTATUS[1]}
    [ "$got" = "$want" ] || fail "felt $* exited with $got, not $want"
}

# one_line REGEX: felt's stderr is exactly one line and matches REGEX (extended).
one_line() {
    [ "$(wc -l <"$WORK/err")" -eq 1 ] || fail "felt's stderr is not one line"
    grep -Eq "$1" "$WORK/err" || fail "felt's stderr does not match: $1"
}

mkdir -p "$WORK/cfg/felt" "$WORK/state" || fail "cannot create the folders"
CFG=$WORK/cfg/felt/config

# ---- bad files --------------------------------------------------------------------------------
printf '# mine\ncolr = off\n' >"$CFG"
run_felt 2 --json --name x
one_line "^felt: $CFG:2: unknown key 'colr'"
run_felt 0 --help
grep -q -- '--no-config' "$WORK/out" || fail "--help does not list --no-config"
grep -q 'XDG_CONFIG_HOME/felt/config' "$WORK/out" || fail "--help does not name the file"
run_felt 2 --config "$WORK/nothing-here" --json --name x
one_line "^felt: cannot read the config file $WORK/nothing-here: No such file"
# --no-config: the broken file is not read; felt goes on to the (closed) server.
run_felt 1 --no-config --json --name x --server ws://127.0.0.1:1
grep -q 'config' "$WORK/err" && fail "--no-config still read the file"
grep -q 'cannot reach the server' "$WORK/err" || fail "--no-config: felt did not go on"
printf 'name = ok\n\nascii = maybe\n' >"$CFG"
run_felt 2 --json
one_line "^felt: $CFG:3: ascii is on or off, not 'maybe'$"
printf 'name = \033[2J\n' >"$CFG"
run_felt 2 --json
one_line "^felt: $CFG:1: name: give a name of 1 to 24 characters"
printf 'server = ws://127.0.0.1:8000/table\n' >"$CFG"
run_felt 2 --json --name x
one_line "^felt: $CFG:1: server: .*no path"
# A relative $XDG_CONFIG_HOME is ignored (the XDG spec): ~/.config/felt/config is read.
mkdir -p "$WORK/home/.config/felt"
printf 'quiet = loud\n' >"$WORK/home/.config/felt/config"
HOME=$WORK/home CFG_HOME=relative/cfg run_felt 2 --json --name x
one_line "^felt: $WORK/home/.config/felt/config:1: quiet is on or off"
# A usage error is reported as such (with its hint line), not the file's error.
run_felt 2 --config
head -n 1 "$WORK/err" | grep -q "unknown option or missing value: '--config'" ||
    fail "--config without FILE is not a usage error"

# ---- feltd --------------------------------------------------------------------------------------
# Every client here is 127.0.0.1: the per-address limits (docs/security.md) are turned off.
feltd_start "$WORK/feltd.out" "$WORK/feltd.err" env FELT_DATA=:memory: timeout "$LIFETIME" \
    "$FELTD" --port 0 --bots 2 --bot-delay 100 --hand-delay 300 -q --joins-per-minute 0 \
    --seats-per-address 0 --max-conns-per-address 0 ||
    fail "feltd did not start: $(cat "$WORK/feltd.err")"
SERVER=ws://127.0.0.1:$FELTD_PORT
KEY=ws_3a_2f_2f127.0.0.1_3a$FELTD_PORT # the server as the token store's file names spell it

# ---- precedence ---------------------------------------------------------------------------------
# token_file NAME: the token file felt stored for this server, table main and NAME.
token_file() { echo "$WORK/state/felt/$KEY+main+$1.json"; }
printf '# felt settings\nserver = ws://127.0.0.1:1\nname = cfgname\ngame = main\n' >"$CFG"
STDIN_SECS=1
run_felt 0 --json --server "$SERVER"
[ -f "$(token_file cfgname)" ] || fail "the config file's name was not used (no $(token_file cfgname))"
grep -q '"name":"cfgname"' "$WORK/out" || fail "the table does not show cfgname"
run_felt 0 --json --server "$SERVER" --name cliname
[ -f "$(token_file cliname)" ] || fail "--name did not win over the config file"
grep -q '"name":"cliname"' "$WORK/out" || fail "the table does not show cliname"
STDIN_SECS=0
run_felt 1 --json
grep -q 'cannot reach the server at ws://127.0.0.1:1' "$WORK/err" ||
    fail "the config file's server was not used"
printf 'name = othername\nserver = %s\n' "$SERVER" >"$WORK/other.conf"
STDIN_SECS=1
run_felt 0 --json --config "$WORK/other.conf"
[ -f "$(token_file othername)" ] || fail "--config FILE was not read"

# ---- pruning ------------------------------------------------------------------------------------
# Another server not seen for 40 days (two seats, one a leftover temporary file), another seen
# 10 days ago, and this server's token aged a year: only the first server's files go.
OLD=$WORK/state/felt/ws_3a_2f_2fold.example_3a8000
RECENT=$WORK/state/felt/ws_3a_2f_2frecent_3a8000+main+ann.json
echo '{"player_id":"p1","token":"t1","seat":1}' >"$OLD+main+ann.json"
echo '{"player_id":"p2","token":"t2","seat":2}' >"$OLD+side+bob.json.4242.tmp"
echo '{"player_id":"p3","token":"t3","seat":3}' >"$RECENT"
echo 'not ours' >"$WORK/state/felt/notes.txt"
touch -d '40 days ago' "$OLD+main+ann.json" "$OLD+side+bob.json.4242.tmp" "$WORK/state/felt/notes.txt"
touch -d '10 days ago' "$RECENT"
touch -d '365 days ago' "$(token_file cliname)"
run_felt 0 --json --config "$WORK/other.conf" --name pruner
[ -e "$OLD+main+ann.json" ] && fail "an old server's token was not removed"
[ -e "$OLD+side+bob.json.4242.tmp" ] && fail "an old server's leftover file was not removed"
[ -f "$RECENT" ] || fail "a server seen 10 days ago lost its token"
[ -f "$(token_file cliname)" ] || fail "the current server's old token was removed"
[ -f "$WORK/state/felt/notes.txt" ] || fail "a file that is not a token was removed"

# ---- the screen ---------------------------------------------------------------------------------
command -v tmux >/dev/null || fail "tmux is not installed (scripts/install-deps.sh installs it)"
# screen_of EXTRA_ENV ARGS...: spectates in a fresh 100x30 tmux pane until the status line says
# connected; the pane's text with its colours (capture-pane -e) is left in $WORK/screen.txt.
screen_of() {
    local extra=$1 i=0
    shift
    # A session of its own holds the server open: killing the server's last session ends the
    # server, and the new-session just after could reach it while it exits ("server exited
    # unexpectedly", about one time in 30).
    "${TMUX_CMD[@]}" has-session -t hold 2>/dev/null ||
        "${TMUX_CMD[@]}" new-session -d -s hold "sleep 120" || fail "tmux did not start"
    "${TMUX_CMD[@]}" kill-session -t cfg 2>/dev/null
    "${TMUX_CMD[@]}" new-session -d -s cfg -x 100 -y 30 \
        "env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=xterm-256color XDG_CONFIG_HOME=$WORK/cfg XDG_STATE_HOME=$WORK/state $extra $FELT --spectate --server $SERVER $* 2>$WORK/err; sleep 60" ||
        fail "tmux did not start"
    while [ $i -lt 75 ]; do
        "${TMUX_CMD[@]}" capture-pane -e -p -t cfg:0 >"$WORK/screen.txt" 2>/dev/null
        grep -q 'connected' "$WORK/screen.txt" && return 0
        sleep 0.2
        i=$((i + 1))
    done
    fail "felt $* did not show 'connected' within 15 s"
}
# has_colour: the screen sets a foreground or background colour (SGR 30-37, 40-47, 38;, 48;).
has_colour() { grep -Eq $'\e\\[([0-9;]*;)?([34][0-7]|[34]8;)[0-9;]*m' "$WORK/screen.txt"; }

printf 'ascii = on\ncolour = off\n' >"$CFG"
screen_of ""
grep -q '\* connected' "$WORK/screen.txt" || fail "ascii = on: no '* connected'"
grep -q '●' "$WORK/screen.txt" && fail "ascii = on: a Unicode dot on the screen"
has_colour && fail "colour = off: the screen has colours"
screen_of "" --no-ascii --color
grep -q '● connected' "$WORK/screen.txt" || fail "--no-ascii did not win over ascii = on"
has_colour || fail "--color did not win over colour = off"
printf 'color = on\n' >"$CFG"
screen_of "NO_COLOR=1"
has_colour || fail "color = on did not win over \$NO_COLOR"
screen_of "NO_COLOR=1" --no-color
has_colour && fail "--no-color did not win over color = on"
: >"$CFG"
screen_of "NO_COLOR=1"
has_colour && fail "\$NO_COLOR alone did not turn the colours off"
rm -f "$WORK/screen.txt"
echo "config_test: OK"
