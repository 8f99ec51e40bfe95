# feltd-port.sh: starting feltd in the background and reading the port it listens on, for the
# shell scripts that run it (scripts/run.sh, tests/blackbox/tui_test.sh). Sourced, not run; POSIX
# sh. (The C programs do the same through tests/tools/listenproc.c.)
#
# feltd prints one line on stdout once it accepts connections:
#   feltd: listening on http://HOST:PORT   (https:// with --tls-cert)

# feltd_start OUT ERR COMMAND [ARG...]: runs COMMAND (feltd, or a wrapper such as timeout(1) that
# runs it) in the background with its stdout in the file OUT (emptied first) and its stderr
# appended to ERR, then waits up to 10 s for the listening line. Sets FELTD_PID (the background
# job) and FELTD_PORT; returns 1, with FELTD_PORT empty, when feltd exits or stays silent.
feltd_start() {
    _feltd_out=$1
    _feltd_err=$2
    shift 2
    : >"$_feltd_out"
    "$@" >"$_feltd_out" 2>>"$_feltd_err" &
    FELTD_PID=$!
    FELTD_PORT=""
    _feltd_n=200
    while [ "$_feltd_n" -gt 0 ]; do
        # Read only once the line is complete (a newline is in the file).
        if [ "$(wc -l <"$_feltd_out")" -ge 1 ]; then
            FELTD_PORT=$(sed -n 's/.*listening on https\{0,1\}:\/\/[^ ]*:\([0-9][0-9]*\)$/\1/p' \
                "$_feltd_out")
            [ -n "$FELTD_PORT" ] && return 0
        fi
        kill -0 "$FELTD_PID" 2>/dev/null || return 1
        sleep 0.05
        _feltd_n=$((_feltd_n - 1))
    done
    return 1
}
