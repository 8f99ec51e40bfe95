# feltd_lib.sh: sourced by the shell black-box tests that start feltd themselves.
#   feltd_start OUT URL_PREFIX ARGS...  starts "$FELTD" ARGS... in the background, stdout in
#       OUT.out and stderr in OUT.err, adds its pid to PIDS (the caller's trap kills them),
#       and waits up to 5 s for its "feltd: listening on URL_PREFIX:PORT" line (URL_PREFIX a
#       sed pattern, e.g. 'http://127\.0\.0\.1'). Sets FELTD_PORT, or returns 1 (FELTD_PORT
#       empty) when it never says so.
feltd_start() {
    local out=$1 prefix=$2
    shift 2
    "$FELTD" "$@" > "$out.out" 2> "$out.err" &
    PIDS+=($!)
    FELTD_PORT=
    for _ in $(seq 50); do
        FELTD_PORT=$(sed -n "s|^feltd: listening on $prefix:\([0-9]*\)\$|\1|p" "$out.out")
        [ -n "$FELTD_PORT" ] && return 0
        sleep 0.1
    done
    return 1
}
