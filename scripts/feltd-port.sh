# feltd-port.sh: starting feltd in the background and reading the port it listens on, for the
# shell scripts that run it (scripts/run.sh, tests/blackbox/tui_test.sh) and, through feltd_run,
# for the Python tests (tests/blackbox/json_test.py, tls_heartbeat_test.py). Sourced, not run;
# POSIX sh. (The C programs do the same through tests/tools/listenproc.c.)
#
# feltd prints one line on stdout once it accepts connections:
#   feltd: listening on http://HOST:PORT   (https:// with --tls-cert)

# feltd_start OUT ERR COMMAND [ARG...]: runs COMMAND (feltd, or a wrapper such as timeout(1) that
# runs it) in the background with its stdout in the file OUT (emptied first) and its stderr
# appended to ERR, then waits up to 10 s for the listening line. Sets FELTD_PID (the background
# job), FELTD_URL (http://HOST:PORT or https://HOST:PORT) and FELTD_PORT; returns 1, with both
# empty, when feltd exits or stays silent.
feltd_start() {
    _feltd_out=$1
    _feltd_err=$2
    shift 2
    : >"$_feltd_out"
    "$@" >"$_feltd_out" 2>>"$_feltd_err" &
    FELTD_PID=$!
    FELTD_URL=""
    FELTD_PORT=""
    _feltd_n=200
    while [ "$_feltd_n" -gt 0 ]; do
        # Read only once the line is complete (a newline is in the file).
        if [ "$(wc -l <"$_feltd_out")" -ge 1 ]; then
            FELTD_URL=$(sed -n \
                's/.*listening on \(https\{0,1\}:\/\/[^ ]*:[0-9][0-9]*\)$/\1/p' "$_feltd_out")
            if [ -n "$FELTD_URL" ]; then
                FELTD_PORT=${FELTD_URL##*:}
                return 0
            fi
        fi
        kill -0 "$FELTD_PID" 2>/dev/null || return 1
        sleep 0.05
        _feltd_n=$((_feltd_n - 1))
    done
    return 1
}

# feltd_run COMMAND [ARG...]: feltd_start for a program that is not a shell script, run as
#   sh -c '. /path/to/feltd-port.sh && feltd_run "$@"' sh FELTD [ARG...]
# It prints FELTD_URL as the one line on its stdout once feltd listens, and then stands in for
# feltd: SIGTERM (or SIGINT) is passed on to feltd, and it exits with feltd's exit status once
# feltd has exited (128+N if a signal N killed it). feltd's stderr is this shell's; its stdout
# (nothing after the listening line) goes to a file removed at once. When feltd does not start,
# it is killed, nothing is printed and the status is 1. A SIGKILL cannot be passed on: to be sure
# that feltd dies with it, kill the process group (e.g. Python's start_new_session=True, then
# os.killpg).
feltd_run() {
    _feltd_tmp=$(mktemp "${TMPDIR:-/tmp}/feltd-run.XXXXXX") || return 1
    FELTD_PID=""
    # Until FELTD_PID is set the signal only notes a stop (feltd is stopped when it is set).
    trap '_feltd_stop=1; [ -z "$FELTD_PID" ] || kill -TERM "$FELTD_PID" 2>/dev/null' TERM INT
    _feltd_stop=""
    if ! feltd_start "$_feltd_tmp" /dev/stderr "$@"; then
        kill -KILL "$FELTD_PID" 2>/dev/null
        wait "$FELTD_PID" 2>/dev/null
        rm -f "$_feltd_tmp"
        return 1
    fi
    rm -f "$_feltd_tmp"
    [ -z "$_feltd_stop" ] || kill -TERM "$FELTD_PID" 2>/dev/null
    echo "$FELTD_URL"
    # wait returns early (above 128) when a trapped signal arrives; wait again until feltd is
    # gone, which also collects its status.
    while :; do
        wait "$FELTD_PID"
        _feltd_rc=$?
        kill -0 "$FELTD_PID" 2>/dev/null || return "$_feltd_rc"
    done
}
