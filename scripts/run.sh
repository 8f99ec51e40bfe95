#!/bin/sh
# make run: starts feltd with three bots on loopback port 8000 (or a free one), opens felt at its table, and
# stops the server when felt exits (however it exits).
set -eu
BUILD=${1:-build}
FELTD="$BUILD/server/feltd"
FELT="$BUILD/client-tui/felt"
. "$(dirname "$0")/feltd-port.sh"
LOG=$(mktemp "${TMPDIR:-/tmp}/feltd.XXXXXX")
FELTD_PID=""
# (|| : because set -e also stops a trap's commands at the first failure.)
trap 'kill "$FELTD_PID" 2>/dev/null || :; wait "$FELTD_PID" 2>/dev/null || :; rm -f "$LOG" "$LOG.err"' \
    EXIT INT TERM
# Port 8000 when it is free, so felt finds the seat it stored for this server last time (feltd
# keeps tables and chips in ~/.local/share/felt); any free port otherwise.
if ! feltd_start "$LOG" "$LOG.err" "$FELTD" --port 8000 --bots 3 -q &&
    ! feltd_start "$LOG" "$LOG.err" "$FELTD" --port 0 --bots 3 -q; then
    echo "make run: feltd did not start:" >&2
    cat "$LOG.err" >&2
    exit 1
fi
echo "feltd is serving table 'main' with 3 bots on 127.0.0.1:$FELTD_PORT"
shift 2>/dev/null || true
"$FELT" --server "ws://127.0.0.1:$FELTD_PORT" --game main "$@"
