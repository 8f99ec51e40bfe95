#!/bin/sh
# make run: starts feltd with three bots on a free loopback port, opens felt at its table, and
# stops the server when felt exits (however it exits).
set -eu
BUILD=${1:-build}
FELTD="$BUILD/server/feltd"
FELT="$BUILD/client-tui/felt"
LOG=$(mktemp "${TMPDIR:-/tmp}/feltd.XXXXXX")
"$FELTD" --port 0 --bots 3 -q >"$LOG" 2>"$LOG.err" &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -f "$LOG" "$LOG.err"' EXIT INT TERM
# feltd prints "feltd: listening on http://127.0.0.1:PORT" once it accepts connections.
i=0
while ! grep -q "listening on" "$LOG"; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$PID" 2>/dev/null; then
        echo "make run: feltd did not start:" >&2
        cat "$LOG.err" >&2
        exit 1
    fi
    sleep 0.05
done
PORT=$(sed -n 's/.*listening on http:\/\/[0-9.]*:\([0-9]*\).*/\1/p' "$LOG")
echo "feltd is serving table 'main' with 3 bots on 127.0.0.1:$PORT"
shift 2>/dev/null || true
"$FELT" --server "ws://127.0.0.1:$PORT" --game main "$@"
