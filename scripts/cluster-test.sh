#!/usr/bin/env bash
# Several hosts on one PostgreSQL, on this machine: one `amago serve --workers 0` (the API host)
# and two `amago worker` processes, each with a data folder of its own (they share only the
# database, as separate machines would).
#
#   scripts/cluster-test.sh            the failover test (run by ./dev test)
#   scripts/cluster-test.sh --speedup  4 tiny experiments on 1 worker, then on 2, timed side by side
#
# Failover test: 4 experiments submitted to the API all succeed, spread over both workers; one
# worker is SIGKILLed mid-training and its experiment, once its lease expires, is finished by the
# other from its checkpoint with a gap-free, duplicate-free metric history; `/act` on the API host
# answers from a checkpoint trained on a worker (the API host's folder had no file of it), and a
# second API host answers that session's step with 421 (the session lives on the first).
#
# The database: $AMAGO_TEST_POSTGRES when set (./dev test's throwaway server), else a server
# started here with scripts/postgres-test-server.sh. Each run uses a schema of its own.
# Needs curl, jq and psql (installed with apt-get when missing). Exits 1 on failure.
set -u -o pipefail
[[ -n "${CLUSTER_TRACE:-}" ]] && set -x
MODE=failover
case "${1:-}" in
    "") ;;
    --speedup) MODE=speedup ;;
    *) echo "usage: scripts/cluster-test.sh [--speedup]" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export OPENBLAS_NUM_THREADS=1
tools=(curl jq psql)
source "$ROOT/scripts/serve-setup.sh"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/amago-cluster.XXXXXX")
PIDS=()
OWN_SERVER=""
finish() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
    wait 2>/dev/null
    [[ -n "${DB_URL:-}" ]] && psql -q "$BASE_URL" -c "DROP SCHEMA IF EXISTS $SCHEMA CASCADE" >/dev/null 2>&1
    [[ -n "$OWN_SERVER" ]] && AMAGO_PG_DIR="$WORK/pg" "$ROOT/scripts/postgres-test-server.sh" stop
    [[ "${CLUSTER_KEEP:-}" == 1 || "${FAILED:-0}" == 1 ]] && echo "kept $WORK" || rm -rf "$WORK"
}
trap finish EXIT

BASE_URL=${AMAGO_TEST_POSTGRES:-}
if [[ -z "$BASE_URL" ]]; then
    BASE_URL=$(AMAGO_PG_DIR="$WORK/pg" "$ROOT/scripts/postgres-test-server.sh" start 55433) || exit 2
    OWN_SERVER=1
fi
SCHEMA="cluster_$(date +%s)_$$"
DB_URL="$BASE_URL?schema=$SCHEMA"
LEASE=6

EPOCHS=20
# tiny_tmaze_spec EPOCHS NAME SEED: ~1 s per epoch, a checkpoint and an evaluation every epoch.
source "$ROOT/scripts/test-specs.sh"
spec() { tiny_tmaze_spec "$@"; }

now() { date +%s.%N; }
api() { curl -sS --max-time 20 "http://127.0.0.1:$1$2"; }
post() { curl -sS --max-time 60 -H 'Content-Type: application/json' -d "$3" "http://127.0.0.1:$1$2"; }
poll() {  # poll EXPRESSION SECONDS
    local deadline=$((SECONDS + $2))
    until eval "$1"; do ((SECONDS > deadline)) && return 1; sleep 0.2; done
}

port_in() { sed -n 's/^amago listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1"; }

# start_api NAME: `amago serve --workers 0` on a free port; sets API_PID, API_PORT.
start_api() {
    "$AMAGO" serve --addr 127.0.0.1:0 --data "$WORK/$1" --database "$DB_URL" --workers 0 --public none \
        --lease "$LEASE" >"$WORK/$1.log" 2>&1 &
    API_PID=$!
    PIDS+=("$API_PID")
    local log="$WORK/$1.log"
    poll '[[ -n "$(port_in "$log")" ]]' 60 || { echo "FAIL: $1 did not start: $(cat "$log")"; exit 1; }
    API_PORT=$(port_in "$log")
}

# start_worker NAME [THREADS]: `amago worker` with one job at a time; sets WORKER_PID.
start_worker() {
    local threads=()
    [[ -n "${2:-}" ]] && threads=(--threads "$2")
    "$AMAGO" worker --database "$DB_URL" --data "$WORK/$1" --workers 1 --lease "$LEASE" "${threads[@]}" >"$WORK/$1.log" 2>&1 &
    WORKER_PID=$!
    PIDS+=("$WORKER_PID")
    local log="$WORK/$1.log"
    poll 'grep -q "^amago worker training" "$log"' 60 || { echo "FAIL: $1 did not start: $(cat "$log")"; exit 1; }
}

submit() {  # submit COUNT EPOCHS PREFIX: prints the ids
    local i id
    for ((i = 1; i <= $1; i++)); do
        id=$(post "$API_PORT" /experiments "$(spec "$2" "$3-$i" "$i")" | jq -r .id)
        [[ -n "$id" && "$id" != null ]] || { echo "FAIL: POST /experiments" >&2; exit 1; }
        echo "$id"
    done
}
status() { api "$API_PORT" "/experiments/$1" | jq -r .status; }
all_finished() {
    local id
    for id in "$@"; do [[ "$(status "$id")" =~ ^(succeeded|failed|stopped|cancelled)$ ]] || return 1; done
}
# The pid in the worker id of the claim that last took experiment $1 ("claimed by host-pid123-…").
claimer_pid() {
    api "$API_PORT" "/experiments/$1" | jq -r '[.status_history[] | select(.reason | startswith("claimed by"))] | last | .reason' \
        | sed -n 's/.*-pid\([0-9]*\)-.*/\1/p'
}

if [[ "$MODE" == speedup ]]; then
    # The same 4 experiments, on one worker (its jobs use every core, as on a host of its own)
    # and then on two sharing this machine (each job given its half of the cores).
    start_api api
    cores=$(nproc)
    run_batch() {  # run_batch WORKERS: prints the seconds until all 4 succeed
        local n=$1 i started ids
        for ((i = 1; i <= n; i++)); do start_worker "speed$n-w$i" $((cores / n > 0 ? cores / n : 1)); done
        started=$(now)
        mapfile -t ids < <(submit 4 8 "speed$n")
        poll 'all_finished "${ids[@]}"' 900 || { echo "FAIL: batch of $n did not finish" >&2; exit 1; }
        for id in "${ids[@]}"; do [[ "$(status "$id")" == succeeded ]] || { echo "FAIL: $id $(status "$id")" >&2; exit 1; }; done
        awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'
        for ((i = 0; i < n; i++)); do
            kill -TERM "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null; unset 'PIDS[-1]'
        done
    }
    one=$(run_batch 1) || exit 1
    two=$(run_batch 2) || exit 1
    ratio=$(awk -v a="$one" -v b="$two" 'BEGIN { printf "%.2f", b / a }')
    echo "4 experiments of 8 epochs: 1 worker ${one}s, 2 workers ${two}s, ratio $ratio (target <= 0.60)"
    awk -v r="$ratio" 'BEGIN { exit !(r <= 0.6) }' || { FAILED=1; exit 1; }
    exit 0
fi

problems=()
start_api api
start_worker w1; W1=$WORKER_PID
start_worker w2; W2=$WORKER_PID
mapfile -t IDS < <(submit 4 "$EPOCHS" cluster)
echo "submitted ${IDS[*]} to the API host (port $API_PORT); workers pid $W1 and $W2; lease ${LEASE}s"

# The victim: an experiment of w1's, killed once it has a checkpoint and reached epoch 3.
victim_ready() {
    local id
    for id in "${IDS[@]}"; do
        if [[ "$(status "$id")" == running && "$(claimer_pid "$id")" == "$W1" ]] \
            && (($(api "$API_PORT" "/experiments/$id" | jq '.progress.epoch') >= 3)); then
            VICTIM=$id; return 0
        fi
    done
    return 1
}
VICTIM=""
poll victim_ready 300 || { FAILED=1; echo "FAIL: w1 never trained an experiment to epoch 3"; exit 1; }
kill -9 "$W1"
wait "$W1" 2>/dev/null
killed_epoch=$(api "$API_PORT" "/experiments/$VICTIM" | jq '.progress.epoch')
echo "SIGKILLed w1 (pid $W1) while it trained $VICTIM at epoch $killed_epoch"

poll 'all_finished "${IDS[@]}"' 900 || problems+=("not all finished 900 s after the kill")
for id in "${IDS[@]}"; do
    [[ "$(status "$id")" == succeeded ]] || problems+=("$id ended $(status "$id")")
done

# Spread: the claims over all experiments name both workers.
claimers=$(for id in "${IDS[@]}"; do
    api "$API_PORT" "/experiments/$id" | jq -r '.status_history[] | select(.reason | startswith("claimed by")) | .reason' \
        | sed -n 's/.*-pid\([0-9]*\)-.*/\1/p'
done | sort | uniq -c | awk '{printf "%s pid %s; ", $1, $2}')
for pid in "$W1" "$W2"; do
    [[ "$claimers" == *"pid $pid;"* ]] || problems+=("no claim by pid $pid (claims: $claimers)")
done

# The victim: taken over after its lease expired, finished by w2 from its checkpoint.
state=$(api "$API_PORT" "/experiments/$VICTIM")
history=$(jq -r '[.status_history[] | .to] | join(">")' <<<"$state")
[[ "$history" == "queued>running>queued>running>succeeded" ]] || problems+=("victim history $history")
takeover=$(jq -r '.status_history[2].reason' <<<"$state")
[[ "$takeover" == "re-queued after its lease expired"* ]] || problems+=("takeover reason: $takeover")
[[ "$(claimer_pid "$VICTIM")" == "$W2" ]] || problems+=("victim last claimed by pid $(claimer_pid "$VICTIM"), not w2")
own=$(ls "$WORK/w2/experiments/$VICTIM/checkpoints" 2>/dev/null | sed -n 's/^epoch_0*\([0-9][0-9]*\)\.safetensors$/\1/p' | sort -n | head -1)
# Its earliest file there is the checkpoint it resumed from, fetched from the database.
[[ -n "$own" ]] && ((own > 0)) || problems+=("w2's first checkpoint of the victim is epoch '${own:-none}' (a fresh start, not a resume)")

# Metric history: epoch-level series hold every epoch once.
gap_report() {  # gap_report KEY FIRST LAST
    local got want
    got=$(api "$API_PORT" "/experiments/$VICTIM/metrics/$1?x=epoch" | jq -r '.points[].x' | tr '\n' ' ')
    want=$(seq "$2" "$3" | tr '\n' ' ')
    [[ "$got" == "$want" ]] || echo "$1 epochs [$got] != [$want]"
}
for key in charts/epoch charts/env_steps charts/gradient_steps; do
    gap=$(gap_report "$key" 0 $((EPOCHS - 1))); [[ -n "$gap" ]] && problems+=("$gap")
done
gap=$(gap_report val/return 0 "$EPOCHS"); [[ -n "$gap" ]] && problems+=("$gap")
duplicates=$(psql -qtA "$BASE_URL" -c "SELECT count(*) FROM (SELECT 1 FROM $SCHEMA.metric_points p
    JOIN $SCHEMA.metric_series s ON s.id = p.series_id WHERE s.experiment_id = '$VICTIM'
    GROUP BY s.key, p.epoch HAVING count(*) > 1) d")
((duplicates == 0)) || problems+=("$duplicates duplicated (key, epoch) pairs")
points=$(psql -qtA "$BASE_URL" -c "SELECT count(*) FROM $SCHEMA.metric_points p JOIN $SCHEMA.metric_series s
    ON s.id = p.series_id WHERE s.experiment_id = '$VICTIM'")

# /act on the API host, from a checkpoint trained on a worker.
latest=$(api "$API_PORT" "/experiments/$VICTIM/checkpoints" | jq -r '.checkpoints | last')
checkpoint_id=$(jq -r .id <<<"$latest")
checkpoint_file="experiments/$VICTIM/checkpoints/$(printf 'epoch_%06d.safetensors' "$(jq -r .epoch <<<"$latest")")"
[[ -f "$WORK/w2/$checkpoint_file" ]] || problems+=("w2 has no $checkpoint_file")
file_before=$([[ -f "$WORK/api/$checkpoint_file" ]] && echo present || echo absent)
act=$(post "$API_PORT" /act "{\"experiment\":\"$VICTIM\",\"observation\":[0,1],\"reset\":true}")
session=$(jq -r .session <<<"$act")
[[ "$(jq -r '.action != null and .checkpoint == "'"$checkpoint_id"'"' <<<"$act")" == true ]] \
    || problems+=("/act answered $act")
[[ "$file_before" == absent ]] || problems+=("the API host had the checkpoint file before /act")
api "$API_PORT" "/checkpoints/$checkpoint_id" >"$WORK/downloaded.safetensors"
difference=$(cmp "$WORK/downloaded.safetensors" "$WORK/w2/$checkpoint_file" 2>&1) \
    || problems+=("GET /checkpoints/$checkpoint_id differs from the worker's file: $difference")

[[ -f "$WORK/api/$checkpoint_file" ]] || problems+=("the API host did not keep its copy of $checkpoint_file")

# A second API host: the session lives on the first, so its step there is a 421.
FIRST_PORT=$API_PORT
start_api api2
code=$(curl -sS -o "$WORK/421.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"experiment\":\"$VICTIM\",\"session\":\"$session\",\"observation\":[0,1]}" "http://127.0.0.1:$API_PORT/act")
[[ "$code" == 421 && "$(jq -r .error.code "$WORK/421.json")" == session_on_another_host ]] \
    || problems+=("the second API host answered $code $(cat "$WORK/421.json")")
API_PORT=$FIRST_PORT
next=$(post "$API_PORT" /act "{\"experiment\":\"$VICTIM\",\"session\":\"$session\",\"observation\":[1,0]}")
[[ "$(jq -r .context_length <<<"$next")" == 2 ]] || problems+=("the first API host's next step answered $next")

echo "experiments: $(for id in "${IDS[@]}"; do printf '%s %s; ' "$id" "$(status "$id")"; done)"
echo "claims: $claimers"
echo "victim $VICTIM: $history; takeover: $takeover"
echo "victim metrics: $points points, duplicates $duplicates, w2 resumed it from checkpoint epoch $own (fetched from the database)"
echo "/act on the API host: checkpoint $checkpoint_id (file $file_before before the call), action $(jq -c .action <<<"$act"); second API host: HTTP $code $(jq -r .error.code "$WORK/421.json")"
if ((${#problems[@]})); then
    FAILED=1
    printf 'FAIL: %s\n' "${problems[@]}"
    for log in "$WORK"/*.log; do echo "---- $log"; tail -20 "$log"; done
    exit 1
fi
echo "cluster test passed"
