# Sourced by the scripts that drive a live `amago serve` (crash-test.sh, shutdown-test.sh):
# starting and stopping the server over $DATA with its log in $LOG, the API on $PORT, polling.
# State: SERVER_PID, PORT, DATA, LOG, STOP_STATUS, CLIENT_PID; needs AMAGO (serve-setup.sh).
SERVER_PID="" PORT="" DATA="" LOG="" STOP_STATUS=none CLIENT_PID=""

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
api() { curl -sS --max-time 10 "http://127.0.0.1:$PORT$1"; }

# Starts `amago serve` on a free loopback port over $DATA; waits for its "listening" line.
start_server() {
    : >"$LOG.part"
    "$AMAGO" serve --addr 127.0.0.1:0 --data "$DATA" --workers 1 --public none >"$LOG.part" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + 60))
    until PORT=$(sed -n 's/^amago listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG.part") && [[ -n "$PORT" ]]; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null || ((SECONDS > deadline)); then
            keep_log; return 1
        fi
        sleep 0.05
    done
}

keep_log() {  # appends the current server's output to $LOG
    { echo "---- server $SERVER_PID"; cat "$LOG.part"; } >>"$LOG" 2>/dev/null
}

stop_server() {  # SIGTERM; sets STOP_STATUS to the exit status
    STOP_STATUS=none
    [[ -z "$SERVER_PID" ]] && return
    kill -TERM "$SERVER_PID" 2>/dev/null
    STOP_STATUS=0
    wait "$SERVER_PID" || STOP_STATUS=$?
    keep_log
    SERVER_PID=""
}

cleanup() {
    [[ -n "$CLIENT_PID" ]] && kill "$CLIENT_PID" 2>/dev/null && wait "$CLIENT_PID" 2>/dev/null
    [[ -n "$SERVER_PID" ]] && kill -9 "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    CLIENT_PID=""
}
trap cleanup EXIT

# Polls `$1` (a shell expression) every 50 ms until it succeeds or $2 seconds pass.
poll() {
    local deadline=$((SECONDS + $2))
    until eval "$1"; do
        ((SECONDS > deadline)) && return 1
        sleep 0.05
    done
}

