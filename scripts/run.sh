#!/bin/sh
# make run: starts feltd with three bots on loopback port 8000 (or a free one), opens felt at its table, and
# stops the server when felt exits (however it exits).
#
# felt's screen covers the terminal while it runs, so how to watch the same table from another
# terminal (felt --spectate --server ws://127.0.0.1:PORT) is printed before it opens and, when
# this is a terminal, stays there until Enter is pressed; felt's screen is drawn on the terminal's
# alternate screen, so the same lines are back in view when felt exits, under one saying that
# feltd has stopped.
set -eu
BUILD=${1:-build}
FELTD="$BUILD/server/feltd"
FELT="$BUILD/client-tui/felt"
. "$(dirname "$0")/feltd-port.sh"
LOG=$(mktemp "${TMPDIR:-/tmp}/feltd.XXXXXX")
FELTD_PID=""
FELT_RAN=""
# (|| : because set -e also stops a trap's commands at the first failure.)
cleanup() {
    kill "$FELTD_PID" 2>/dev/null || :
    wait "$FELTD_PID" 2>/dev/null || :
    rm -f "$LOG" "$LOG.err"
    if [ -n "$FELT_RAN" ]; then
        echo "felt has exited; feltd on port $FELTD_PORT has stopped with it (make run starts both again)."
    fi
}
trap cleanup EXIT
# A signal ends the script (through cleanup), never only the command it interrupted.
trap 'exit 130' INT
trap 'exit 143' TERM
# Port 8000 when it is free, so felt finds the seat it stored for this server last time (feltd
# keeps tables and chips in ~/.local/share/felt) and `felt --spectate` with felt's default server
# watches this table; any free port otherwise.
if ! feltd_start "$LOG" "$LOG.err" "$FELTD" --port 8000 --bots 3 -q &&
    ! feltd_start "$LOG" "$LOG.err" "$FELTD" --port 0 --bots 3 -q; then
    echo "make run: feltd did not start:" >&2
    cat "$LOG.err" >&2
    exit 1
fi
WATCH="$FELT --spectate --server ws://127.0.0.1:$FELTD_PORT"
echo
echo "feltd is serving table 'main' with 3 bots on 127.0.0.1:$FELTD_PORT."
echo "To watch this table from another terminal while you play:"
echo
echo "    $WATCH"
echo
shift 2>/dev/null || true
if [ -t 0 ] && [ -t 1 ]; then
    printf "Press Enter to sit down at the table (Ctrl-C stops the server). "
    read -r _ || exit 0
fi
# Not exec: cleanup stops feltd once felt has exited, and its last line says so.
FELT_RAN=1
"$FELT" --server "ws://127.0.0.1:$FELTD_PORT" --game main "$@"
