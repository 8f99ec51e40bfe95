#!/bin/bash
# feltd_config_test.sh: black-box test of feltd's config file and log (issue 13, "running a
# server as a service"):
#   - --config FILE sets what the command line sets (port, data, tables, bots, flags); the
#     command line wins over it, and a --table or --bots there replaces all of the file's;
#   - a bad file is one line naming FILE:LINE and why, exit 2: an unknown key, a key given
#     twice, a bad value, a flag that is not on/off, a missing --config file; --no-config
#     reads none; $FELTD_CONFIG names the file when --config does not (empty: none); --help
#     names the default file (FELTD_SYSTEM_CONFIG);
#   - the log: "TIME feltd: LEVEL: message" by default; with --log-json every stderr line is a
#     JSON object with ts, level and msg; -q keeps errors and warnings only; when stderr is the
#     systemd journal ($JOURNAL_STREAM names it), lines carry their syslog priority, <6>info: ...
#
#   usage: feltd_config_test.sh FELTD
# Everything listens on loopback; every feltd started here is stopped by the trap.
set -u
FELTD=$1
. "$(dirname "$0")/feltd_lib.sh"
WORK=$(mktemp -d /tmp/felt-conf.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
unset FELT_DATA JOURNAL_STREAM
export FELTD_CONFIG= # no installed /etc/felt/feltd.conf here, except where a case sets one
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
LOCAL='http://127\.0\.0\.1'

# lobby PORT: the lobby's tables as "id:seats:sb/bb:buyin:taken" lines, sorted.
lobby() {
    curl -sf --max-time 5 "http://127.0.0.1:$1/api/games" |
        jq -r '.games[] | "\(.id):\(.seats):\(.small_blind)/\(.big_blind):\(.buy_in):\(.seats_taken)"' |
        sort
}

# stop: stops the feltds started so far and waits for them (their logs are complete then).
stop() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    PIDS=()
}

# 1. Everything from the file.
cat > "$WORK/feltd.conf" <<'CONF'
# a comment
port = 0
data = :memory:
table = alpha:6:5/10:1000
table = beta:4:1/2:100
bots = alpha:2
spectator-chat = on
hand-delay = 600000
log-json = off
CONF
if feltd_start "$WORK/f1" "$LOCAL" --config "$WORK/feltd.conf"; then
    got=$(lobby "$FELTD_PORT")
    want=$'alpha:6:5/10:1000:2\nbeta:4:1/2:100:0'
    [ "$got" = "$want" ] || fail "tables from the file: got '$got', want '$want'"
else
    fail "feltd --config FILE did not start: $(head -c 300 "$WORK/f1.err")"
fi

# 2. The command line wins: --table and --bots replace the file's; --port over the file's.
sed 's/^port = 0$/port = 1/' "$WORK/feltd.conf" > "$WORK/port1.conf"
if feltd_start "$WORK/f2" "$LOCAL" --config "$WORK/port1.conf" --port 0 \
    --table gamma:2:1/2:50 --bots gamma:1; then
    got=$(lobby "$FELTD_PORT")
    [ "$got" = "gamma:2:1/2:50:1" ] || fail "the command line's --table/--bots: got '$got'"
else
    fail "feltd with --port 0 over the file's port 1 did not start: $(head -c 300 "$WORK/f2.err")"
fi
stop

# 3. Errors: one line, FILE:LINE and why, exit 2.
# bad LINE-CONTENT PATTERN: a file of "port = 0" then the line; stderr must match PATTERN.
bad() {
    printf 'port = 0\n%s\n' "$1" > "$WORK/bad.conf"
    timeout 10 "$FELTD" --config "$WORK/bad.conf" > "$WORK/bad.out" 2> "$WORK/bad.err"
    local rc=$?
    [ $rc = 2 ] || fail "'$1': exit $rc, want 2 ($(head -c 200 "$WORK/bad.err"))"
    grep -Eq -- "^feltd: $WORK/bad.conf:2: $2" "$WORK/bad.err" ||
        fail "'$1': stderr lacks /$2/: $(head -c 300 "$WORK/bad.err")"
    [ "$(wc -l < "$WORK/bad.err")" = 1 ] || fail "'$1': not one line: $(cat "$WORK/bad.err")"
}
bad "colour = on" "unknown setting 'colour'"
bad "port = 9" "port is set twice"
bad "table = a:6:5/x:100" "bad --table 'a:6:5/x:100': the big blind 'x' is not a whole number"
bad "spectator-chat = maybe" "spectator-chat is on or off, not 'maybe'"
bad "action-timeout = forever" "--action-timeout wants a whole number"
bad "config = /etc/passwd" "unknown setting 'config'"
bad "help = on" "unknown setting 'help'"
bad "event-lib = select" "--event-lib is libev or poll, not 'select'"
bad "no equals sign" "'no equals sign' is not key = value"
timeout 10 "$FELTD" --config "$WORK/absent.conf" > /dev/null 2> "$WORK/absent.err"
rc=$?
[ $rc = 2 ] || fail "a missing --config file: exit $rc, want 2"
grep -q "^feltd: cannot read the config file $WORK/absent.conf: No such file" "$WORK/absent.err" ||
    fail "a missing --config file: $(cat "$WORK/absent.err")"

# --no-config reads none (the bad file is not read), wherever it stands.
if feltd_start "$WORK/f3" "$LOCAL" --port 0 --data :memory: --config "$WORK/bad.conf" \
    --no-config; then
    [ "$(lobby "$FELTD_PORT")" = "main:6:5/10:1000:0" ] || fail "--no-config: $(lobby "$FELTD_PORT")"
else
    fail "--no-config still read the file: $(head -c 300 "$WORK/f3.err")"
fi
# The store: the file's postgres gives way to --data on the command line (one store, the
# command line's); both in one place is an error, exit 1.
printf 'postgres = postgresql://felt@127.0.0.1:1/none?connect_timeout=1\n' > "$WORK/pg.conf"
if feltd_start "$WORK/f9" "$LOCAL" --config "$WORK/pg.conf" --port 0 --data :memory:; then
    grep -q "data in :memory:" "$WORK/f9.err" || fail "--data did not replace the file's postgres"
    stop
else
    fail "--data did not replace the file's postgres: $(head -c 300 "$WORK/f9.err")"
fi
# A connection string libpq cannot parse: refused without quoting it (it may hold a password).
timeout 10 "$FELTD" --no-config --port 0 --postgres 'postgresql://felt:hunter%zz2@127.0.0.1:1/x' \
    > /dev/null 2> "$WORK/malformed.err"
rc=$?
[ $rc = 1 ] && grep -q "connection string is malformed" "$WORK/malformed.err" &&
    ! grep -q hunter "$WORK/malformed.err" ||
    fail "a malformed --postgres: exit $rc, $(cat "$WORK/malformed.err")"
for conf in --no-config "--config $WORK/pg.conf"; do
    # shellcheck disable=SC2086 # two words on purpose
    timeout 10 "$FELTD" $conf --port 0 --data :memory: --postgres postgresql://x/y \
        > /dev/null 2> "$WORK/both.err"
    rc=$?
    [ $rc = 1 ] && grep -q "^feltd: give --data or --postgres, not both$" "$WORK/both.err" ||
        fail "--data with --postgres ($conf): exit $rc, $(cat "$WORK/both.err")"
done

# $FELTD_CONFIG: the file when no --config is given (it must exist); --config wins over it.
if FELTD_CONFIG=$WORK/feltd.conf feltd_start "$WORK/f7" "$LOCAL"; then
    [ "$(lobby "$FELTD_PORT" | cut -d: -f1 | tr '\n' ' ')" = "alpha beta " ] ||
        fail "\$FELTD_CONFIG was not read: $(lobby "$FELTD_PORT")"
else
    fail "feltd with \$FELTD_CONFIG did not start: $(head -c 300 "$WORK/f7.err")"
fi
FELTD_CONFIG=$WORK/absent.conf timeout 10 "$FELTD" > /dev/null 2> "$WORK/env.err"
rc=$?
[ $rc = 2 ] && grep -q "cannot read the config file $WORK/absent.conf" "$WORK/env.err" ||
    fail "a missing \$FELTD_CONFIG file: exit $rc, $(cat "$WORK/env.err")"
if FELTD_CONFIG=$WORK/absent.conf feltd_start "$WORK/f8" "$LOCAL" --config "$WORK/feltd.conf"; then
    :
else
    fail "--config does not win over \$FELTD_CONFIG: $(head -c 300 "$WORK/f8.err")"
fi
stop
"$FELTD" --help | grep -q " /.*/felt/feltd.conf if it exists" ||
    fail "--help does not name the default config file"

# 4. The log. Text: "TIME feltd: info: data in ...".
stop
grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8} feltd: info: data in :memory:' "$WORK/f3.err" ||
    fail "text log: $(head -c 300 "$WORK/f3.err")"
grep -Eq 'feltd: info: stopped$' "$WORK/f3.err" || fail "text log lacks 'info: stopped'"

# JSON: every line an object with ts (UTC), level and msg; bots joined, the run stopped.
if feltd_start "$WORK/f4" "$LOCAL" --port 0 --data :memory: --bots 2 --log-json -v; then
    for _ in $(seq 50); do # the bots sit down just after feltd starts listening
        [ "$(lobby "$FELTD_PORT")" = "main:6:5/10:1000:2" ] && break
        sleep 0.1
    done
    stop
    lines=$(wc -l < "$WORK/f4.err")
    objs=$(jq -c 'select((.ts | test("^[0-9-]{10}T[0-9:.]{12}Z$")) and
                         (.level | IN("error", "warning", "info", "debug")) and
                         (.msg | type == "string"))' "$WORK/f4.err" 2>/dev/null | wc -l)
    [ "$lines" -ge 4 ] && [ "$objs" = "$lines" ] ||
        fail "--log-json: $objs of $lines lines are log objects: $(head -c 400 "$WORK/f4.err")"
    # (jq -e looks at the last line only: count the matches instead)
    [ "$(jq -c 'select(.level == "info" and (.msg | test("ada-bot joined")))' "$WORK/f4.err" |
        wc -l)" = 1 ] || fail "--log-json: no info line for the bot's join"
    [ "$(jq -c 'select(.msg == "stopped")' "$WORK/f4.err" | wc -l)" = 1 ] ||
        fail "--log-json: no 'stopped'"
else
    fail "feltd --log-json did not start: $(head -c 300 "$WORK/f4.err")"
fi

# -q: no info lines.
if feltd_start "$WORK/f5" "$LOCAL" --port 0 --data :memory: --bots 2 -q; then
    stop
    [ ! -s "$WORK/f5.err" ] || fail "-q still logs: $(head -c 300 "$WORK/f5.err")"
else
    fail "feltd -q did not start"
fi

# The journal: $JOURNAL_STREAM names stderr (device:inode), so lines carry their priority.
: > "$WORK/f6.err"
export JOURNAL_STREAM
JOURNAL_STREAM=$(stat -c '%d:%i' "$WORK/f6.err")
"$FELTD" --port 0 --data :memory: --bots 1 > "$WORK/f6.out" 2>> "$WORK/f6.err" &
PIDS+=($!)
for _ in $(seq 50); do
    grep -q "listening on" "$WORK/f6.out" && break
    sleep 0.1
done
stop
unset JOURNAL_STREAM
grep -q '^<6>info: data in :memory:' "$WORK/f6.err" && grep -q '^<6>info: stopped$' "$WORK/f6.err" ||
    fail "journal lines: $(head -c 300 "$WORK/f6.err")"
grep -vq '^<[0-7]>' "$WORK/f6.err" && fail "a journal line without its priority: $(cat "$WORK/f6.err")"

if [ "$fails" -gt 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "PASS: feltd's config file and log"
