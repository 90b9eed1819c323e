#!/usr/bin/env bash
# Crash test for `amago serve`: kill -9 the server during training, restart it on the same data
# folder, and check that the experiment resumes from its latest checkpoint and finishes with a
# gap-free, duplicate-free metric history, consistent checkpoint records and a sound database.
#
#   scripts/crash-test.sh [ROUNDS]      (default 10)
#
# Environment: AMAGO_BIN (default: the newest .build*/release/amago), CRASH_SEED (seeds the kill
# points), CRASH_KEEP=1 (keep every round's data folder; failed rounds are always kept).
# Needs curl, jq and sqlite3 (installed with apt-get when missing). Prints one line per round and `N passed, M failed`; exits 1 on failure.
set -u -o pipefail
[[ -n "${CRASH_TRACE:-}" ]] && set -x

ROUNDS=${1:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[[ -n "${CRASH_SEED:-}" ]] && RANDOM=$CRASH_SEED
export OPENBLAS_NUM_THREADS=1

AMAGO=${AMAGO_BIN:-$(ls -t "$ROOT"/.build*/release/amago 2>/dev/null | head -1)}
missing=()
for tool in curl jq sqlite3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "crash-test: installing ${missing[*]}" >&2
    sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null; } \
        || { echo "crash-test: needs ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 2; }
fi
[[ -x "$AMAGO" ]] || { echo "crash-test: no amago binary (build with swift build -c release, or set AMAGO_BIN)" >&2; exit 2; }

EPOCHS=20
# examples/tmaze_passive.json shrunk to a run of ~20 s: short corridor, small model, 20 epochs,
# a checkpoint and an evaluation every epoch.
SPEC=$(jq -c --argjson epochs "$EPOCHS" '.name = "crash-test"
    | .environment.parameters = {"corridor_length": 8, "penalty": -0.1}
    | .checkpoints.interval = 1 | .evaluation += {"actors": 4, "interval": 1, "timesteps": 20}
    | .exploration += {"anneal_steps": 2000, "rollout_horizon": 10}
    | .model += {"d_model": 64, "layers": 2, "heads": 4, "d_ff": 128, "actor_hidden": 64, "critic_hidden": 64,
                 "timestep_hidden": 64, "timestep_output": 64, "max_time": 64}
    | .agent.bins = 64
    | .schedule += {"epochs": $epochs, "batches_per_epoch": 100, "batch_size": 16, "parallel_actors": 4,
                    "timesteps_per_epoch": 20, "max_seq_len": 16, "warmup_steps": 20, "buffer_capacity": 5000}' \
    "$ROOT/examples/tmaze_passive.json") || exit 2

SERVER_PID="" PORT="" DATA="" LOG="" STOP_STATUS=none

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

cleanup() { [[ -n "$SERVER_PID" ]] && kill -9 "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; }
trap cleanup EXIT

# Polls `$1` (a shell expression) every 50 ms until it succeeds or $2 seconds pass.
poll() {
    local deadline=$((SECONDS + $2))
    until eval "$1"; do
        ((SECONDS > deadline)) && return 1
        sleep 0.05
    done
}

experiment() { api "/experiments/$ID"; }
checkpoint_count() { api "/experiments/$ID/checkpoints" | jq '.checkpoints | length'; }
is_running_with_checkpoint() {
    [[ "$(experiment | jq -r .status)" == running ]] && (($(checkpoint_count) >= 1))
}
has_reached_epoch() { (($(experiment | jq '.progress.epoch') >= $1)); }
is_finished() { [[ "$(experiment | jq -r .status)" =~ ^(succeeded|failed|stopped|cancelled)$ ]]; }

# The `epoch` in the metadata of a checkpoint file (safetensors: 8-byte length, JSON header).
file_epoch() {
    local length
    length=$(od -An -t u8 -N8 "$1" | tr -d ' ')
    head -c "$((8 + length))" "$1" | tail -c "$length" | jq -r '.__metadata__.epoch'
}

# The epochs at which `key` was recorded, one per line, as the API reports them.
series_epochs() { api "/experiments/$ID/metrics/$1?x=epoch" | jq -r '.points[].x'; }

# Empty when the epochs of `key` are exactly first..last, else a description of the problem.
gap_report() {
    local key=$1 first=$2 last=$3 got want
    got=$(series_epochs "$key" | tr '\n' ' ')
    want=$(seq "$first" "$last" | tr '\n' ' ')
    [[ "$got" == "$want" ]] || echo "$key epochs [$got] != [$want]"
}

run_round() {
    local round=$1 start kill_at kill_delay_ms state epoch_at_kill phase_at_kill resumed restart problems=()
    DATA=$(mktemp -d "${TMPDIR:-/tmp}/amago-crash.XXXXXX")
    LOG="$DATA/server.log"
    start=$(now)
    start_server || { echo "round $round: FAIL server did not start (log $LOG)"; return 1; }
    ID=$(curl -sS --max-time 10 -H 'Content-Type: application/json' -d "$SPEC" "http://127.0.0.1:$PORT/experiments" | jq -r .id)
    [[ -n "$ID" && "$ID" != null ]] || { echo "round $round: FAIL POST /experiments"; return 1; }

    if ! poll is_running_with_checkpoint 120; then
        echo "round $round: FAIL never running with a checkpoint ($(experiment | jq -c '{status, progress}'))"; return 1
    fi
    # A random point of the run: a random epoch in 1..EPOCHS-6, then a random 0-999 ms into it.
    kill_at=$((1 + RANDOM % (EPOCHS - 6)))
    kill_delay_ms=$((RANDOM % 1000))
    poll "has_reached_epoch $kill_at" 180 || { echo "round $round: FAIL epoch $kill_at never reached"; return 1; }
    sleep "$(awk -v ms="$kill_delay_ms" 'BEGIN { print ms / 1000 }')"
    state=$(experiment)
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
    keep_log
    SERVER_PID=""
    local kill_time
    kill_time=$(elapsed "$start")
    epoch_at_kill=$(jq '.progress.epoch' <<<"$state")
    phase_at_kill=$(jq -r '.progress.phase' <<<"$state")
    [[ "$(jq -r .status <<<"$state")" == running ]] || problems+=("status $(jq -r .status <<<"$state") at kill")
    local latest="$DATA/experiments/$ID/checkpoints/latest.safetensors"
    resumed=none
    [[ -f "$latest" ]] && resumed=$(file_epoch "$latest")

    restart=$(date +%s.%N)
    start_server || { echo "round $round: FAIL server did not restart (log $LOG)"; return 1; }
    grep -q "recovered $ID: running → queued" "$LOG.part" || problems+=("no recovery line in the log")
    poll is_finished 300 || problems+=("not finished 300 s after the restart")
    state=$(experiment)
    [[ "$(jq -r .status <<<"$state")" == succeeded ]] || problems+=("ended $(jq -r '.status + ": " + (.error // "")' <<<"$state")")

    # Status history: running → queued (crash recovery) → running → succeeded.
    local history
    history=$(jq -r '[.status_history[] | .to] | join(">")' <<<"$state")
    [[ "$history" == "queued>running>queued>running>succeeded" ]] || problems+=("history $history")
    jq -e '.status_history[2].reason | startswith("re-queued after restart")' <<<"$state" >/dev/null \
        || problems+=("recovery reason: $(jq -r '.status_history[2].reason' <<<"$state")")

    # Metric history: epoch-level series have every epoch once; no (key, epoch) recorded twice.
    local last=$((EPOCHS - 1)) key gap
    for key in charts/epoch charts/env_steps charts/gradient_steps buffer/files; do
        gap=$(gap_report "$key" 0 "$last"); [[ -n "$gap" ]] && problems+=("$gap")
    done
    gap=$(gap_report val/return 0 "$EPOCHS"); [[ -n "$gap" ]] && problems+=("$gap")
    local checkpoints
    checkpoints=$(api "/experiments/$ID/checkpoints")
    [[ "$(jq -c '[.checkpoints[].epoch]' <<<"$checkpoints")" == "$(seq 0 "$last" | jq -sc .)" ]] \
        || problems+=("checkpoint epochs $(jq -c '[.checkpoints[].epoch]' <<<"$checkpoints")")

    stop_server
    [[ "$STOP_STATUS" == 0 ]] || problems+=("SIGTERM exit status $STOP_STATUS")

    local db="$DATA/amago.sqlite" points="metric_points p JOIN metric_series s ON s.id = p.series_id AND s.experiment_id = '$ID'"
    local duplicates first_after integrity
    duplicates=$(sqlite3 "$db" "SELECT count(*) FROM (SELECT 1 FROM $points GROUP BY s.key, p.epoch HAVING count(*) > 1)")
    ((duplicates == 0)) || problems+=("$duplicates duplicated (key, epoch) pairs: $(sqlite3 "$db" \
        "SELECT group_concat(k, ' ') FROM (SELECT s.key || '@' || p.epoch AS k FROM $points GROUP BY s.key, p.epoch HAVING count(*) > 1 LIMIT 5)")")
    # The restarted process records from the epoch after the checkpoint, never earlier.
    first_after=$(sqlite3 "$db" "SELECT coalesce(min(p.epoch), 'none') FROM $points WHERE p.wall_time >= $restart")
    if [[ "$resumed" =~ ^[0-9]+$ ]] && ((resumed < last)) && [[ "$first_after" != $((resumed + 1)) ]]; then
        problems+=("the restarted run first recorded epoch $first_after, expected $((resumed + 1))")
    fi
    # Checkpoint records agree with the step counters recorded for their epoch.
    local mismatched
    mismatched=$(sqlite3 "$db" "SELECT group_concat(c.epoch || ':' || c.env_steps || '/' || c.grad_steps, ' ') FROM checkpoints c
        WHERE c.experiment_id = '$ID' AND (
          c.env_steps IS NOT (SELECT p.value FROM $points WHERE s.key = 'charts/env_steps' AND p.epoch = c.epoch)
          OR c.grad_steps IS NOT (SELECT p.value FROM $points WHERE s.key = 'charts/gradient_steps' AND p.epoch = c.epoch))")
    [[ -z "$mismatched" ]] || problems+=("checkpoint records with wrong steps (epoch:env/grad) $mismatched")
    integrity=$(sqlite3 "$db" "PRAGMA integrity_check" | tr '\n' ' ' | sed 's/ $//')
    [[ "$integrity" == ok ]] || problems+=("integrity_check: $integrity")
    local foreign
    foreign=$(sqlite3 "$db" "PRAGMA foreign_key_check" | wc -l)
    ((foreign == 0)) || problems+=("$foreign foreign-key violations")

    local gaps=0
    for p in "${problems[@]}"; do [[ "$p" == *"epochs ["* ]] && gaps=$((gaps + 1)); done
    local verdict=PASS
    ((${#problems[@]} > 0)) && verdict=FAIL
    printf 'round %2d: %s kill at %5ss (epoch %2d, %-13s +%3d ms), resumed from checkpoint epoch %s, first re-recorded epoch %s, duplicates %s, gappy series %d, integrity %s, %.0fs total\n' \
        "$round" "$verdict" "$kill_time" "$epoch_at_kill" "$phase_at_kill" "$kill_delay_ms" "$resumed" "$first_after" \
        "$duplicates" "$gaps" "$integrity" "$(elapsed "$start")"
    for p in "${problems[@]}"; do echo "          - $p"; done
    if [[ "$verdict" == PASS && -z "${CRASH_KEEP:-}" ]]; then rm -rf "$DATA"; else echo "          data kept in $DATA"; fi
    [[ "$verdict" == PASS ]]
}

passed=0 failed=0
for ((round = 1; round <= ROUNDS; round++)); do
    if run_round "$round"; then passed=$((passed + 1)); else failed=$((failed + 1)); cleanup; SERVER_PID=""; fi
done
echo "$passed passed, $failed failed"
((failed == 0))
