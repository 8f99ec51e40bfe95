# tmux_lib.sh: what the black-box tests that drive felt in tmux share (tui_test.sh,
# tui_safety_test.sh, tui_room_test.sh, tui_stall_test.sh, tui_equity_test.sh, and
# config_test.sh for its folder, tmux server and trap): a temporary folder and a private tmux
# server per run, feltd started on a free loopback port (feltd_start, from
# scripts/feltd-port.sh, sourced here), the trap that cleans all of it up whatever happens, and
# the screen capture and bounded waits the checks are made of. The setup and teardown are the
# tmux_lib_ functions; what the checks call keeps its short name (fail, screen, status_line,
# wait_for, wait_gone). Sourced by those scripts (bash), not run:
#   . "$(dirname "$0")/tmux_lib.sh"
#   tmux_lib_init felt-tui felt     # $WORK, $TMUX_CMD, the traps; "felt:0" the default pane
#
# What a script may set after tmux_lib_init (the defaults in brackets):
#   TMUX_LIB_POLL_MS    how often wait_for and wait_gone look at the pane, in ms [200]
#   TMUX_LIB_EACH_POLL  a command run before each look (e.g. one that plays the turns) [none]
#   TMUX_LIB_ON_FAIL    a command run by fail to show more (after the screen) [none]
#   TMUX_LIB_ON_EXIT    a command run by the EXIT trap after the tmux server is killed and
#                       before feltd is stopped (e.g. one that stops a proxy) [none]
# fail is defined here; a script that shows something else on failure defines its own after
# sourcing this file. KEEP=1 in the environment keeps $WORK for a look afterwards.

. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/feltd-port.sh" # feltd_start

# tmux_lib_init NAME SESSION: $WORK (a new folder NAME.XXXXXX under $TMPDIR), $TMUX_CMD (tmux
# on the private socket NAME-PID, without the user's configuration), FELTD_PID (empty until
# feltd_start), the default pane SESSION:0, and the traps: tmux_lib_cleanup on exit, and INT or
# TERM exit 1 (which runs it).
tmux_lib_init() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    TMUX_CMD=(tmux -L "$1-$$" -f /dev/null)
    TMUX_LIB_SESSION=$2
    FELTD_PID=""
    TMUX_LIB_POLL_MS=200
    TMUX_LIB_EACH_POLL=""
    TMUX_LIB_ON_FAIL=""
    TMUX_LIB_ON_EXIT=""
    trap tmux_lib_cleanup EXIT
    trap 'exit 1' INT TERM
}

# tmux_lib_stop PID: a process (feltd, or a server started under timeout(1)) at PID: TERM (which
# timeout passes on) and CONT (a stopped feltd gets its TERM), then, if it has not ended within
# 5 s, KILL for its children (the server under timeout) and for it. Nothing for an empty PID.
tmux_lib_stop() {
    local pid=$1 i=0 child
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    kill -CONT "$pid" 2>/dev/null
    while [ $i -lt 50 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$pid" 2>/dev/null; then
        for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill -KILL "$child" 2>/dev/null; done
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
}

# tmux_lib_cleanup: the EXIT trap: the tmux server, $TMUX_LIB_ON_EXIT, feltd, then $WORK.
tmux_lib_cleanup() {
    "${TMUX_CMD[@]}" kill-server 2>/dev/null
    [ -z "$TMUX_LIB_ON_EXIT" ] || $TMUX_LIB_ON_EXIT
    tmux_lib_stop "$FELTD_PID"
    [ -n "${KEEP:-}" ] || rm -rf "$WORK"
}

# tmux_lib_new_session WIDTH HEIGHT COMMAND: the session (its window 0 running COMMAND, a
# WIDTH x HEIGHT terminal) with tmux's own status line off, or fail.
tmux_lib_new_session() {
    "${TMUX_CMD[@]}" new-session -d -s "$TMUX_LIB_SESSION" -x "$1" -y "$2" "$3" ||
        fail "tmux did not start"
    "${TMUX_CMD[@]}" set-option -t "$TMUX_LIB_SESSION" -g status off > /dev/null
}

# What fail shows: the last screen captured, and the end of feltd's stderr.
tmux_lib_show_screen() {
    if [ -f "$WORK/screen.txt" ]; then
        echo "---- the screen was ----"
        cat "$WORK/screen.txt"
        echo "------------------------"
    fi
}
tmux_lib_show_feltd_err() {
    [ -f "$WORK/feltd.err" ] || return 0
    echo "---- feltd stderr (tail) ----"
    tail -n 20 "$WORK/feltd.err"
}

# fail MESSAGE: "FAIL: MESSAGE", the last screen, $TMUX_LIB_ON_FAIL, feltd's stderr; exit 1.
fail() {
    echo "FAIL: $*"
    tmux_lib_show_screen
    [ -z "$TMUX_LIB_ON_FAIL" ] || $TMUX_LIB_ON_FAIL
    tmux_lib_show_feltd_err
    exit 1
}

# screen [TARGET]: the visible text of a tmux pane (the session's window 0 unless TARGET) into
# $WORK/screen.txt.
screen() {
    "${TMUX_CMD[@]}" capture-pane -p -t "${1:-$TMUX_LIB_SESSION:0}" > "$WORK/screen.txt" 2>/dev/null
}

# status_line [TARGET]: the pane's last line, felt's status line.
status_line() { screen "${1:-}"; tail -n 1 "$WORK/screen.txt"; }

# tmux_lib_poll SHOWN REGEX SECONDS [TARGET]: looks at the pane every $TMUX_LIB_POLL_MS ms
# until it shows REGEX (extended; SHOWN 0) or no longer does (SHOWN 1); returns 1 if that has not
# happened within SECONDS.
tmux_lib_poll() {
    local i=0 n=$(($3 * 1000 / TMUX_LIB_POLL_MS)) tick shown
    tick=$(printf '%d.%03d' $((TMUX_LIB_POLL_MS / 1000)) $((TMUX_LIB_POLL_MS % 1000)))
    while [ $i -lt $n ]; do
        [ -z "$TMUX_LIB_EACH_POLL" ] || $TMUX_LIB_EACH_POLL
        screen "${4:-}"
        if grep -Eq -- "$2" "$WORK/screen.txt"; then shown=0; else shown=1; fi
        [ $shown = "$1" ] && return 0
        sleep "$tick"
        i=$((i + 1))
    done
    return 1
}

# wait_for REGEX SECONDS WHAT [TARGET]: until the pane shows REGEX (extended), else fail.
wait_for() {
    tmux_lib_poll 0 "$1" "$2" "${4:-}" || fail "$3: /$1/ not on screen${4:+ $4} within $2 s"
}

# wait_gone REGEX SECONDS WHAT [TARGET]: until the pane no longer shows REGEX, else fail.
wait_gone() {
    tmux_lib_poll 1 "$1" "$2" "${4:-}" || fail "$3: /$1/ still on screen${4:+ $4} after $2 s"
}
