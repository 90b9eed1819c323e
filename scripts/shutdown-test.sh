#!/usr/bin/env bash
# Shutdown test for `amago serve`: SIGTERM while a job trains, ROUNDS times in a row. Each round
# starts the server on a fresh data folder, submits a run and waits until it trains (a random
# epoch 1..3, then 0-999 ms into it), sends SIGTERM and checks that the process exits 0 after
# printing "stopped", that its output holds nothing a crash leaves (a fatal error, an abort, heap
# corruption), that the experiment is back in the queue (status queued, last history reason
# "server shutdown") in a sound database, and that a restart on the same folder resumes the run
# from its checkpoint and stops cleanly on a second SIGTERM.
#
#   scripts/shutdown-test.sh [ROUNDS]        (default 20)
#
# Environment: AMAGO_BIN (default: the newest .build*/release/amago), SHUTDOWN_SEED (seeds the
# signal points), SHUTDOWN_KEEP=1 (keep every round's data folder; failed rounds are always kept).
# Needs curl, jq and sqlite3 (installed with apt-get when missing). Prints one line per round
# and `N passed, M failed`; exits 1 on failure.
set -u -o pipefail
ROUNDS=${1:-20}
[[ "$ROUNDS" =~ ^[0-9]+$ ]] || { echo "usage: scripts/shutdown-test.sh [ROUNDS]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[[ -n "${SHUTDOWN_SEED:-}" ]] && RANDOM=$SHUTDOWN_SEED
export OPENBLAS_NUM_THREADS=1
tools=(curl jq sqlite3)
source "$ROOT/scripts/serve-setup.sh"
source "$ROOT/scripts/serve-helpers.sh"

# examples/tmaze_passive.json, small and long: it is still training whenever the signal comes.
SPEC=$(jq -c '.name = "shutdown-test"
    | .environment.parameters = {"corridor_length": 8, "penalty": -0.1}
    | .checkpoints.interval = 1 | .evaluation += {"actors": 2, "interval": 2, "timesteps": 20}
    | .model += {"d_model": 32, "layers": 1, "heads": 2, "d_ff": 64, "actor_hidden": 32, "critic_hidden": 32,
                 "timestep_hidden": 32, "timestep_output": 32, "max_time": 64}
    | .agent.bins = 32
    | .schedule += {"epochs": 100000, "batches_per_epoch": 20, "batch_size": 8, "parallel_actors": 2,
                    "timesteps_per_epoch": 20, "max_seq_len": 16, "warmup_steps": 20, "buffer_capacity": 5000}' \
    "$ROOT/examples/tmaze_passive.json") || exit 2

experiment() { api "/experiments/$ID"; }
has_reached_epoch() { [[ "$(experiment | jq -r .status)" == running ]] && (($(experiment | jq '.progress.epoch') >= $1)); }
sql() { sqlite3 "$DATA/amago.sqlite" "$1"; }
crash_marks() { grep -E -i -m1 'fatal error|abort|corrupt|double free|segmentation|illegal instruction' "$LOG.part"; }

# Sends SIGTERM and records what the exit showed; $1 names the stop in problems.
terminate() {
    local marks
    kill -TERM "$SERVER_PID" 2>/dev/null
    STOP_STATUS=0
    wait "$SERVER_PID" || STOP_STATUS=$?
    [[ "$STOP_STATUS" == 0 ]] || problems+=("$1: exit status $STOP_STATUS")
    [[ "$(tail -n 1 "$LOG.part")" == stopped ]] || problems+=("$1: last line '$(tail -n 1 "$LOG.part")', not 'stopped'")
    marks=$(crash_marks) && problems+=("$1: output shows '$marks'")
    keep_log
    SERVER_PID=""
}

run_round() {
    local round=$1 start at delay_ms status reason epoch problems=()
    DATA=$(mktemp -d "${TMPDIR:-/tmp}/amago-shutdown.XXXXXX")
    LOG="$DATA/server.log"
    start=$(now)
    start_server || { echo "round $round: FAIL server did not start (log $LOG)"; return 1; }
    ID=$(curl -sS --max-time 10 -H 'Content-Type: application/json' -d "$SPEC" "http://127.0.0.1:$PORT/experiments" | jq -r .id)
    [[ -n "$ID" && "$ID" != null ]] || { echo "round $round: FAIL POST /experiments"; return 1; }
    at=$((1 + RANDOM % 3)) delay_ms=$((RANDOM % 1000))
    poll "has_reached_epoch $at" 120 || { echo "round $round: FAIL epoch $at never reached ($(experiment | jq -c '{status, progress}'))"; return 1; }
    sleep "$(awk -v ms="$delay_ms" 'BEGIN { print ms / 1000 }')"
    epoch=$(experiment | jq '.progress.epoch')
    terminate "first stop"

    status=$(sql "SELECT status FROM experiments WHERE id = '$ID'")
    reason=$(sql "SELECT reason FROM status_history WHERE experiment_id = '$ID' ORDER BY id DESC LIMIT 1")
    [[ "$status" == queued && "$reason" == "server shutdown" ]] || problems+=("after the stop: $status ($reason)")
    [[ "$(sql 'PRAGMA integrity_check')" == ok ]] || problems+=("integrity check failed")
    [[ -f "$DATA/experiments/$ID/checkpoints/latest.safetensors" ]] || problems+=("no checkpoint written")

    start_server || { echo "round $round: FAIL server did not restart (log $LOG)"; return 1; }
    poll "has_reached_epoch $((epoch + 1))" 120 || problems+=("not training past epoch $epoch after the restart")
    [[ "$(experiment | jq -r '[.status_history[] | .to] | join(">")')" == "queued>running>queued>running" ]] \
        || problems+=("history $(experiment | jq -r '[.status_history[] | .to] | join(">")')")
    terminate "second stop"

    if [[ ${#problems[@]} -eq 0 ]]; then
        printf 'round %2d: PASS SIGTERM at epoch %d (+%3d ms), exit 0, re-queued, resumed past it, exit 0 again, %ss\n' \
            "$round" "$epoch" "$delay_ms" "$(elapsed "$start")"
        [[ -n "${SHUTDOWN_KEEP:-}" ]] || rm -rf "$DATA"
        return 0
    fi
    printf 'round %2d: FAIL %s (kept %s)\n' "$round" "$(IFS=';'; echo "${problems[*]}")" "$DATA"
    return 1
}

passed=0 failed=0
for ((round = 1; round <= ROUNDS; round++)); do
    if run_round "$round"; then passed=$((passed + 1)); else failed=$((failed + 1)); cleanup; SERVER_PID=""; fi
done
echo "$passed passed, $failed failed"
((failed == 0))
