#!/bin/bash
# cluster_bench.sh: felt-bench against feltd run as a cluster on this machine (issue 14,
# docs/performance.md "Issue 14: a cluster"). It starts its own PostgreSQL (the tests' pg_run),
# a redis-server without persistence and the nodes, all on free loopback ports, waits until every
# table has its owner, runs felt-bench attached to every node (server CPU counted over the nodes,
# redis-server and PostgreSQL's processes, each also reported apart), and stops everything.
#
#   bench/cluster_bench.sh BUILD MODE [felt-bench options...]
#
# BUILD is a build directory (BUILD/server/feltd, BUILD/bench/felt-bench, BUILD/tests/pg_run).
# MODE:
#   one       one node serving every table (the baseline, with the same Redis and PostgreSQL)
#   sharded   two nodes, each serving half of the tables (t0, t2, ... and t1, t3, ...): the
#             throughput of two nodes
#   relayed   two nodes serving every table, each playing half of them (the first up hands
#             half over to the second before felt-bench starts), and felt-bench puts each table's
#             spectators on the node that does not play it (--spectators-on other): every
#             spectator's event crosses Redis ("relayed latency")
#   proxied   as relayed, but the players' sockets are on the node that does not play their
#             table, which carries them to the owner (server/proxy.h), and the spectators are on
#             the owner: every player's ack and event crosses two nodes
# The felt-bench options default to --tables 20 --think-ms 0 --deflate off --poll none --idle 0
# --seconds 8; those given after MODE are added (a later one wins).
set -euo pipefail

BUILD=${1:?usage: cluster_bench.sh BUILD one|sharded|relayed|proxied [felt-bench options]}
MODE=${2:?usage: cluster_bench.sh BUILD one|sharded|relayed|proxied [felt-bench options]}
shift 2
FELTD=$BUILD/server/feltd
BENCH=$BUILD/bench/felt-bench
PG_RUN=$BUILD/tests/pg_run
TMP=$(mktemp -d /tmp/felt-cluster-bench.XXXXXX)
PIDS=()

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    exec 3>&- 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

ARGS=(--tables 20 --think-ms 0 --deflate off --poll none --idle 0 --seconds 8 "$@")
TABLES=$(printf '%s\n' "${ARGS[@]}" | awk 'p{n=$0; p=0} /^--tables$/{p=1} END{print n}')
# The tables and settings felt-bench needs, without its --data (the nodes share PostgreSQL).
mapfile -t FARGS < <("$BENCH" "${ARGS[@]}" --print-feltd-args | tr ' ' '\n' |
                     awk 'skip{skip=0; next} /^--data$/{skip=1; next} NF')

# PostgreSQL: pg_run prints its conninfo and stops the server when its stdin (fd 3) closes.
coproc PG { "$PG_RUN"; }
exec 3>&"${PG[1]}"
read -r CONNINFO <&"${PG[0]}"
PIDS+=("$PG_PID")
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
    >"$TMP/redis.log" 2>&1 &
PIDS+=($!)
REDIS_PID=$!
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" PING >/dev/null 2>&1 && break; sleep 0.1; done

# node NAME PARITY: a node serving every table (PARITY "") or those of that parity.
SERVERS=() NODE_PIDS=()
node() {
    local name=$1 parity=$2 port
    port=$(free_port)
    local args=() i=0 skip=0
    for a in "${FARGS[@]}"; do
        if [ "$skip" = 1 ]; then
            skip=0
            if [ -n "$parity" ]; then
                local n=${a%%:*}; n=${n#t}
                [ $((n % 2)) = "$parity" ] || continue
            fi
            args+=(--table "$a")
            continue
        fi
        if [ "$a" = --table ]; then skip=1; continue; fi
        args+=("$a")
    done
    FELTD_CONFIG= "$FELTD" --port "$port" "${args[@]}" --postgres "$CONNINFO" --node-id "$name" \
        --redis "redis://127.0.0.1:$REDIS_PORT" --advertise "ws://127.0.0.1:$port" \
        >"$TMP/$name.log" 2>&1 &
    PIDS+=($!)
    NODE_PIDS+=($!)
    SERVERS+=(--server "http://127.0.0.1:$port")
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "cluster_bench: node $name did not start:" >&2
    tail -5 "$TMP/$name.log" >&2
    exit 1
}

case $MODE in
one) node n1 "" ;;
sharded) node n1 0; node n2 1 ;;
relayed) node n1 ""; sleep 2; node n2 "" ; ARGS+=(--spectators-on other) ;;
proxied) node n1 ""; sleep 2; node n2 "" ; ARGS+=(--players-on other) ;;
*) echo "cluster_bench: MODE is one, sharded, relayed or proxied" >&2; exit 2 ;;
esac

# Every table owned before felt-bench joins (a join to a table nobody plays yet is refused),
# and, where both nodes serve every table (relayed), spread over both: the first node up hands
# its surplus over between two hands, 7 s after it sees the second (docs/scaling.md), and a
# table handed over during the run would drop its players.
share=$TABLES # the most tables one node may play once they are spread
[ "$MODE" = relayed ] || [ "$MODE" = proxied ] && share=$(((TABLES + 1) / 2))
for _ in $(seq 300); do
    holders=$(for ((i = 0; i < TABLES; i++)); do
        redis-cli -p "$REDIS_PORT" GET "felt:{t$i}:lease" | cut -d' ' -f1
    done | grep -v '^$' | sort | uniq -c)
    owned=$(echo "$holders" | awk '{n += $1} END {print n + 0}')
    most=$(echo "$holders" | awk '$1 > m {m = $1} END {print m + 0}')
    [ "$owned" = "$TABLES" ] && [ "$most" -le "$share" ] && break
    sleep 0.2
done
[ "$owned" = "$TABLES" ] || { echo "cluster_bench: only $owned of $TABLES tables owned" >&2; exit 1; }
[ "$most" -le "$share" ] ||
    { echo "cluster_bench: a node plays $most tables, more than its share $share" >&2; exit 1; }
sleep 1 # the owners' first snapshots and the nodes' map of each other

# PostgreSQL's processes that work for the nodes: their sessions, the WAL writer and the
# checkpointer (the tests' server runs with fsync off: its cost here is a floor).
PG_WORKERS=$(pgrep -f '^postgres: (felt |walwriter|checkpointer)' | head -9 | tr '\n' ' ')
PG_PIDS=$(for p in $PG_WORKERS; do printf -- '--pid %s ' "$p"; done)
# shellcheck disable=SC2086
"$BENCH" "${SERVERS[@]}" $(printf -- '--pid %s ' "${NODE_PIDS[@]}") --pid "$REDIS_PID" \
    $PG_PIDS "${ARGS[@]}"
echo "cluster_bench: $MODE: nodes ${NODE_PIDS[*]}, redis-server $REDIS_PID, PostgreSQL $PG_WORKERS"
