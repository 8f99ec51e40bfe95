#!/bin/bash
# wss_test.sh: felt over TLS end to end (wss:// and https://) against feltd serving a throwaway
# self-signed certificate for localhost and 127.0.0.1, made here with openssl:
#   a. felt --json --ca CERT --transport ws plays a hand against a bot over wss://: its connection
#      lines say "connected" over "ws", feltd counts a player WebSocket meanwhile, felt checks or
#      calls on each of its turns (the server refuses none) and sees the hand end; closing its
#      stdin leaves the table and felt exits 0;
#   b. without --ca felt refuses the certificate (the system's store does not know it): exit 1 and
#      one line naming the URL, saying the certificate could not be verified and pointing at
#      --ca FILE, also on the "failed" connection line; for a new player (the join over https://),
#      the player of a with its stored token (the socket first) and a spectator. A certificate
#      made for another host name is refused even with --ca naming it (the host is checked);
#   c. --transport poll with --ca works over https:// (connected over "poll", a snapshot);
#   d. felt history --server https://... --ca CERT lists the hand of a, felt replay --hand N over
#      wss:// replays it, and without --ca both refuse the certificate;
#   e. a --ca file that does not exist or holds no certificate: one line, exit 2 (felt, felt
#      history, felt replay); the config file's "ca =" is read relative to the config file's
#      folder (felt started elsewhere connects), and a missing one stops felt with FILE:LINE.
#
#   usage: wss_test.sh FELTD FELT
# Needs openssl, jq and curl. Only 127.0.0.1; every wait is bounded (the whole test takes a few
# seconds, at most about a minute when things go wrong); the trap stops feltd and felt and
# removes the temporary folder.
set -u
FELTD=$1
FELT=$2
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../scripts/feltd-port.sh" # feltd_start

# In /tmp, not $TMPDIR: the messages checked below quote paths in it, and felt cuts a message
# at 160 bytes.
WORK=$(mktemp -d /tmp/felt-wss.XXXXXX) || exit 1
PIDS=()
PLAYER_PID=""
cleanup() {
    exec 5<&- 6>&- 7<&- 2>/dev/null
    [ -z "$PLAYER_PID" ] || kill -KILL "$PLAYER_PID" 2>/dev/null
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "FAIL: $*"
    [ -s "$WORK/err" ] && { echo "---- felt's stderr ----"; head -c 600 "$WORK/err"; echo; }
    [ -s "$WORK/player.out" ] && { echo "---- the player's lines (tail) ----"; tail -n 8 "$WORK/player.out"; }
    [ -s "$WORK/player.err" ] && { echo "---- the player's stderr ----"; head -c 600 "$WORK/player.err"; }
    [ -s "$WORK/feltd.err" ] && { echo "---- feltd's stderr (tail) ----"; tail -n 10 "$WORK/feltd.err"; }
    exit 1
}

for tool in openssl jq curl; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/install-deps.sh)"
done

# No config file unless a case writes one; tokens in a folder of our own.
mkdir -p "$WORK/cfg" "$WORK/state" "$WORK/data" || fail "cannot create the folders"
export XDG_CONFIG_HOME=$WORK/cfg XDG_STATE_HOME=$WORK/state

# cert NAME SUBJECT_ALT_NAMES: a self-signed certificate (its own CA) and its key, valid a day.
cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$1" \
        -addext "subjectAltName=$2" -keyout "$WORK/$1.key" -out "$WORK/$1.pem" \
        >/dev/null 2>"$WORK/openssl.err" || fail "openssl: $(cat "$WORK/openssl.err")"
}
cert localhost "DNS:localhost,IP:127.0.0.1"
cert felt.invalid "DNS:felt.invalid"
CERT=$WORK/localhost.pem

LIMITS=(--joins-per-minute 0 --seats-per-address 0 --max-conns-per-address 0)
feltd_start "$WORK/feltd.out" "$WORK/feltd.err" timeout 120 "$FELTD" --port 0 \
    --data "$WORK/data" --tls-cert "$CERT" --tls-key "$WORK/localhost.key" --bots 1 \
    --bot-delay 20 --hand-delay 200 --action-timeout 10 "${LIMITS[@]}" ||
    fail "feltd did not start"
PIDS+=("$FELTD_PID")
case $FELTD_URL in
https://127.0.0.1:*) ;;
*) fail "feltd with a certificate listens on '$FELTD_URL', not https://127.0.0.1:PORT" ;;
esac
PORT=$FELTD_PORT
WSS=wss://127.0.0.1:$PORT
HTTPS=https://127.0.0.1:$PORT

# feltd's HTTPS answers a client that would take HTTP/2 (curl offers h2 by ALPN by default):
# feltd offers only http/1.1, which its HTTP handlers speak.
curl -sf --max-time 5 --cacert "$CERT" "$HTTPS/healthz" | grep -q '"ok":true' ||
    fail "curl over https (ALPN h2 offered) gets no /healthz: $(curl -sv --max-time 5 --cacert "$CERT" "$HTTPS/healthz" 2>&1 | tail -3)"

# A FIFO held open for reading and writing: felt's stdin where it must stay open (no EOF) until
# felt ends by itself.
mkfifo "$WORK/hold" || fail "mkfifo"
exec 7<>"$WORK/hold"

# run_felt WANT_STATUS ARGS...: felt (bounded to 15 s) with stdout in $WORK/out and stderr in
# $WORK/err; stdin stays open, so felt --json ends only by failing.
run_felt() {
    local want=$1 got
    shift
    timeout 15 "$FELT" "$@" >"$WORK/out" 2>"$WORK/err" <&7
    got=$?
    [ "$got" = "$want" ] || fail "felt $* exited with $got, not $want"
}

# has_line CONDITION [FILE]: some JSON line of FILE ($WORK/out) makes the jq CONDITION true (jq
# 1.6's -e looks only at the output for the last line, so select() alone would not do).
has_line() {
    jq -n -e "any(inputs; $1)" "${2:-$WORK/out}" >/dev/null
}

# one_line FIXED: felt's stderr is exactly one line and holds FIXED.
one_line() {
    [ "$(wc -l <"$WORK/err")" -eq 1 ] || fail "felt's stderr is not one line"
    grep -qF -- "$1" "$WORK/err" || fail "felt's stderr does not say: $1"
}

UNVERIFIED="(not from a trusted CA, or for another host); if you trust it, use --ca FILE"

# ---- a. a hand over wss:// ---------------------------------------------------------------------
# felt reads its stdin from one FIFO and writes its lines into another, so that this shell can
# answer each turn as it comes and close felt's stdin at the end.
mkfifo "$WORK/to_felt" "$WORK/from_felt" || fail "mkfifo"
"$FELT" --json --json-events connection,snapshot,state_update,ack,error --server "$WSS" \
    --ca "$CERT" --transport ws --name wssbot <"$WORK/to_felt" >"$WORK/from_felt" \
    2>"$WORK/player.err" &
PLAYER_PID=$!
exec 6>"$WORK/to_felt" 5<"$WORK/from_felt"

# One jq per line: "conn STATE TRANSPORT", "me ID", "turn SEQ MOVE" (check if legal, else call),
# "end HAND_ID" (a hand this player was dealt into is over), "refused CODE", "error CODE".
JQ='
def mine: if $me != "" then $me else (.data.you.player_id? // "") end;
if .type == "connection" then "conn \(.state) \(.transport)"
elif .type == "snapshot" or .type == "state_update" then
    (if .type == "snapshot" and .data.you then "me \(.data.you.player_id)" else empty end),
    (mine as $m
     | if $m != "" and .data.to_act != null and .data.to_act.player_id == $m then
           "turn \(.seq) \(if ((.data.to_act.legal // []) | index("check")) then "check"
                          else "call" end)"
       else empty end),
    (mine as $m
     | if .type == "state_update" and .data.event == "hand_end" and $m != ""
          and .data.stacks[$m] != null then "end \(.data.hand_id)"
       else empty end)
elif .type == "ack" and .data.status == "rejected" then "refused \(.data.code // "?")"
elif .type == "error" then "error \(.data.code // "?")"
else empty end'
me="" acted="" moves=0 hand="" connected="" player_conns=""
: >"$WORK/player.out"
deadline=$((SECONDS + 40))
while [ -z "$hand" ] && [ "$SECONDS" -lt "$deadline" ]; do
    IFS= read -r -t 10 line <&5 || break # silent for 10 s, or felt is gone
    printf '%s\n' "$line" >>"$WORK/player.out"
    out=$(printf '%s\n' "$line" | jq -r --arg me "$me" "$JQ") || fail "not JSON: $line"
    while IFS=' ' read -r what a b; do
        case $what in
        conn)
            [ "$b" = ws ] || fail "a connection line over '$b', not ws: $line"
            [ "$a" != connected ] || connected=1
            [ "$a" != failed ] || fail "felt --ca could not connect: $line"
            ;;
        me) me=$a ;;
        turn)
            [ "$a" != "$acted" ] || continue
            acted=$a
            printf '{"type":"action","action":"%s"}\n' "$b" >&6
            moves=$((moves + 1))
            # Meanwhile feltd counts this player's WebSocket (polling would be role "http").
            if [ -z "$player_conns" ]; then
                player_conns=$(curl -s --http1.1 --max-time 5 --cacert "$CERT" "$HTTPS/metrics" |
                    sed -n 's/^felt_connections{role="player"} \([0-9]*\)$/\1/p')
            fi
            ;;
        end) [ "$moves" -ge 1 ] && hand=$a ;;
        refused | error) fail "the server refused the move: $line" ;;
        esac
    done <<<"$out"
done
[ -n "$connected" ] || fail "felt --ca over wss:// never said connected"
[ -n "$me" ] || fail "felt --ca over wss:// got no snapshot with its seat"
[ "$moves" -ge 1 ] || fail "felt never had a turn over wss://"
[ -n "$hand" ] || fail "no hand ended within 40 s over wss:// ($moves moves)"
[ "${player_conns:-0}" -ge 1 ] ||
    fail "feltd's /metrics counted no player WebSocket while felt played ('$player_conns')"
exec 6>&- # stdin closed: felt leaves the table and exits 0
for _ in $(seq 100); do kill -0 "$PLAYER_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PLAYER_PID" 2>/dev/null && fail "felt still runs 10 s after its stdin closed"
wait "$PLAYER_PID"
rc=$?
PLAYER_PID=""
exec 5<&-
[ "$rc" = 0 ] || fail "felt over wss:// exited with $rc after its stdin closed"
echo "a. wss: played hand $hand ($moves moves) over WebSocket"
rm -f "$WORK/player.out" "$WORK/player.err"

# ---- b. refused without --ca, and for another host's certificate ------------------------------
run_felt 1 --json --server "$WSS" --transport ws --name stranger
one_line "felt: cannot verify the TLS certificate of $WSS $UNVERIFIED"
has_line '.type == "connection" and .state == "failed"
          and (.reason | startswith("cannot verify the TLS certificate of wss://"))' ||
    fail "no failed connection line naming the certificate: $(cat "$WORK/out")"
run_felt 1 --json --server "$WSS" --name wssbot # its token: hello over the socket first
one_line "felt: cannot verify the TLS certificate of $WSS $UNVERIFIED"
run_felt 1 --json --spectate --server "$WSS"
one_line "felt: cannot verify the TLS certificate of $WSS $UNVERIFIED"

feltd_start "$WORK/other.out" "$WORK/other.err" timeout 60 "$FELTD" --port 0 --data :memory: \
    --tls-cert "$WORK/felt.invalid.pem" --tls-key "$WORK/felt.invalid.key" "${LIMITS[@]}" ||
    fail "the second feltd did not start: $(cat "$WORK/other.err")"
PIDS+=("$FELTD_PID")
run_felt 1 --json --server "wss://127.0.0.1:$FELTD_PORT" --ca "$WORK/felt.invalid.pem" \
    --transport ws --name elsewhere
one_line "felt: cannot verify the TLS certificate of wss://127.0.0.1:$FELTD_PORT with the CA file '$WORK/felt.invalid.pem' (not signed by it, or for another host)"
echo "b. refused: no --ca, and a certificate for another host"

# ---- c. HTTP polling over https:// -------------------------------------------------------------
# stdin closes after 3 s (felt then leaves): by then it must have connected and had a snapshot.
sleep 3 | timeout 15 "$FELT" --json --server "$WSS" --ca "$CERT" --transport poll \
    --name pollbot >"$WORK/out" 2>"$WORK/err"
rc=${PIPESTATUS[1]}
[ "$rc" = 0 ] || fail "felt --transport poll --ca exited with $rc"
has_line '.type == "connection" and .state == "connected" and .transport == "poll"' ||
    fail "felt --transport poll over https:// never connected"
has_line '.type == "snapshot" and .data.you.name == "pollbot"' ||
    fail "felt --transport poll over https:// got no snapshot"
has_line '.type == "connection" and .transport != "poll"' &&
    fail "felt --transport poll used another transport"
echo "c. polling over https: connected, snapshot"

# ---- d. felt history and felt replay over https:// ---------------------------------------------
run_felt 0 history --server "$HTTPS" --ca "$CERT" --format json --limit 100
has_line ".hand_id == $hand" ||
    fail "felt history over https:// does not list hand $hand: $(head -c 300 "$WORK/out")"
run_felt 0 replay --hand "$hand" --server "$WSS" --ca "$CERT" --json
jq -e '.ok == true and .complete == true and (.stacks | has("wssbot"))' "$WORK/out" >/dev/null ||
    fail "felt replay --hand $hand over wss:// printed no result: $(head -c 300 "$WORK/out")"
run_felt 1 history --server "$HTTPS"
one_line "felt history: cannot verify the TLS certificate of $HTTPS $UNVERIFIED"
run_felt 1 replay --hand "$hand" --server "$WSS"
one_line "felt replay: cannot verify the TLS certificate of $HTTPS $UNVERIFIED"
echo "d. history and replay over https: hand $hand"

# ---- e. bad --ca files, and the config file's ca ------------------------------------------------
run_felt 2 --json --server "$WSS" --ca "$WORK/missing.pem" --name x
one_line "felt: --ca: cannot read the CA file '$WORK/missing.pem': No such file or directory"
run_felt 2 --json --server "$WSS" --ca "$WORK/localhost.key" --name x
one_line "felt: --ca: the CA file '$WORK/localhost.key' holds no PEM certificate"
run_felt 2 history --server "$HTTPS" --ca "$WORK/missing.pem"
one_line "felt history: --ca: cannot read the CA file '$WORK/missing.pem'"
run_felt 2 replay --hand 1 --server "$WSS" --ca "$WORK/missing.pem"
one_line "felt replay: --ca: cannot read the CA file '$WORK/missing.pem'"

mkdir -p "$WORK/cfg/felt" && cp "$CERT" "$WORK/cfg/felt/server.pem" || fail "cp"
printf 'server = %s\nca = server.pem\n' "$WSS" >"$WORK/cfg/felt/config"
(cd / && sleep 3 | timeout 15 "$FELT" --json --spectate --transport ws >"$WORK/out" 2>"$WORK/err")
rc=$?
[ "$rc" = 0 ] || fail "felt with the config file's ca exited with $rc"
has_line '.type == "connection" and .state == "connected" and .transport == "ws"' ||
    fail "felt with the config file's ca = server.pem never connected"
printf 'server = %s\nca = nope.pem\n' "$WSS" >"$WORK/cfg/felt/config"
run_felt 2 --json --spectate
one_line "felt: $WORK/cfg/felt/config:2: ca: cannot read the CA file '"
grep -qF "nope.pem': No such file or directory" "$WORK/err" ||
    fail "the config file's missing ca is not said to be missing"
grep -qF "'$WORK/cfg/felt/nope.pem'" "$WORK/err" ||
    fail "the config file's ca is not looked up in the config's folder"
echo "e. bad --ca files refused (exit 2); the config file's ca works"

echo "wss_test: ok"
