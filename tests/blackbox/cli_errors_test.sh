#!/bin/bash
# cli_errors_test.sh: black-box test of feltd's and felt's command-line errors (issue 13's
# "honest errors"): each is one clear line on stderr and a non-zero exit, never a server that
# keeps running without a listener.
#   - -V and --version print the version and exit 0, in felt and feltd alike; an unknown option
#     or a missing value is "PROG: unknown option or missing value: 'X'" and exit 2 in both;
#   - a bad --table names the field that is wrong and why;
#   - a port in use, a host that does not resolve and an address that is not this machine's
#     each stop feltd with one line and exit 1; a host name (localhost) is resolved and printed
#     as given; an IPv6 address is printed in brackets (when this machine has ::1);
#   - a cluster node's options (--node-id, --redis, --advertise) that cannot work;
#   - felt that cannot reach a ws:// server names that URL, not the HTTP one its join uses.
#
#   usage: cli_errors_test.sh FELTD FELT
# Everything listens on loopback; every feltd started here is stopped by the trap.
set -u
FELTD=$1
FELT=$2
. "$(dirname "$0")/feltd_lib.sh"
WORK=$(mktemp -d /tmp/felt-cli.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
export FELT_DATA=:memory:
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect RC PATTERN CMD...: runs CMD (bounded), checks its exit status and that its stderr has
# PATTERN (grep -E) and says it in one line (the log's own "data in"/"stopped" lines aside).
expect() {
    local rc=$1 pat=$2
    shift 2
    timeout 10 "$@" > "$WORK/out" 2> "$WORK/err"
    local got=$?
    [ "$got" = "$rc" ] || fail "$*: exit $got, want $rc ($(head -c 300 "$WORK/err"))"
    grep -Eq -- "$pat" "$WORK/err" || fail "$*: stderr lacks /$pat/: $(head -c 300 "$WORK/err")"
    local lines
    lines=$(grep -vc ' feltd: info: \(data in\|stopped\)' "$WORK/err")
    [ "$lines" -le 2 ] || fail "$*: $lines lines on stderr: $(head -c 400 "$WORK/err")"
}

# -V / --version
for prog in "$FELTD" "$FELT"; do
    name=$(basename "$prog")
    for v in -V --version; do
        out=$(timeout 5 "$prog" $v 2>&1)
        rc=$?
        [ $rc = 0 ] || fail "$name $v: exit $rc"
        echo "$out" | grep -Eq "^$name [0-9]+\.[0-9]+\.[0-9]+" || fail "$name $v printed '$out'"
    done
    expect 2 "^$name: unknown option or missing value: '--bogus'" "$prog" --bogus
done
expect 2 "^feltd: unknown option or missing value: '--port'" "$FELTD" --port
expect 2 "^feltd: unexpected argument 'extra'" "$FELTD" extra

# --table: the field and why
expect 2 "the big blind 'x' is not a whole number" "$FELTD" --table 'a:6:5/x:100'
expect 2 "the seat count 99 is out of range \(2 to 10\)" "$FELTD" --table 'a:99:5/10:100'
expect 2 "the name 'b@d' must be" "$FELTD" --table 'b@d:6:5/10:100'
expect 2 "the small blind \(20\) is more than the big blind \(10\)" "$FELTD" --table 'a:6:20/10:100'
expect 2 "the buy-in \(5\) is less than the big blind \(10\)" "$FELTD" --table 'a:6:5/10:5'
expect 2 "the ante 'x' is not a whole number" "$FELTD" --table 'a:6:5/10:100:x'
expect 2 "nothing after the big blind" "$FELTD" --table 'a:6:5/10'

# Several nodes: the three options go together, with --postgres and libev; each checked
# before anything is opened.
N=(--node-id n1 --redis redis://127.0.0.1:1 --advertise ws://127.0.0.1:1)
expect 2 "^feltd: --node-id, --redis and --advertise go together$" "$FELTD" --node-id n1 \
    --postgres postgresql://x
expect 2 "^feltd: --node-id is 1 to 64 of" "$FELTD" "${N[@]}" --node-id 'n 1' \
    --postgres postgresql://x
expect 2 "^feltd: --advertise takes the ws:// or wss:// URL" "$FELTD" "${N[@]}" \
    --advertise http://127.0.0.1:1 --postgres postgresql://x
expect 2 "^feltd: a Redis URL is redis://HOST\[:PORT\]" "$FELTD" "${N[@]}" --redis tcp://x \
    --postgres postgresql://x
expect 2 "^feltd: the nodes of a cluster share a PostgreSQL database: give --postgres$" \
    "$FELTD" "${N[@]}"
expect 2 "^feltd: the nodes of a cluster run on libev" "$FELTD" "${N[@]}" --event-lib poll \
    --postgres postgresql://x

# felt names the ws:// URL it was given when it cannot reach it (not the HTTP address its join
# goes to), in one line, exit 1. Port 1 on loopback: nothing listens there.
expect 1 "^felt: cannot reach the server at ws://127\.0\.0\.1:1: " \
    "$FELT" --server ws://127.0.0.1:1 --name cli --json --no-config

# Listening: a free port from a first feltd, then the errors against it.
feltd_start "$WORK/first" 'http://127\.0\.0\.1' --port 0 ||
    { fail "the first feltd did not say where it listens"; exit 1; }
port=$FELTD_PORT
expect 1 "^feltd: port $port is in use \(is another feltd running\?\)$" "$FELTD" --port "$port"
expect 1 "^feltd: cannot resolve the host 'nosuch\.invalid'" "$FELTD" --host nosuch.invalid --port 0
expect 1 "^feltd: cannot listen on 192\.0\.2\.1: not an address of this machine$" \
    "$FELTD" --host 192.0.2.1 --port 0

# A name is resolved and printed as given, and it really listens there.
feltd_start "$WORK/lh" 'http://localhost' --host localhost --port 0
lport=$FELTD_PORT
if [ -z "$lport" ]; then
    fail "feltd --host localhost: $(cat "$WORK/lh.out" "$WORK/lh.err" | head -c 300)"
else
    curl -sf --max-time 5 "http://localhost:$lport/healthz" | grep -q '"ok":true' ||
        fail "feltd --host localhost does not answer on localhost:$lport"
fi

# IPv6 in brackets, where the machine has ::1.
if python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    feltd_start "$WORK/v6" 'http://\[::1\]' --host ::1 --port 0
    v6=$FELTD_PORT
    if [ -z "$v6" ]; then
        fail "feltd --host ::1: $(cat "$WORK/v6.out" "$WORK/v6.err" | head -c 300)"
    else
        curl -sf --max-time 5 "http://[::1]:$v6/healthz" | grep -q '"ok":true' ||
            fail "feltd --host ::1 does not answer on [::1]:$v6"
    fi
else
    echo "note: no IPv6 loopback here; the bracket check is skipped"
fi

if [ "$fails" -gt 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "PASS: command-line and listening errors"
