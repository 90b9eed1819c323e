#!/usr/bin/env bash
# Crash test for `amago serve`: kill -9 the server during training, restart it on the same data
# folder, and check that the experiment resumes from its latest checkpoint and finishes with a
# gap-free, duplicate-free metric history, consistent checkpoint records and a sound database.
#
#   scripts/crash-test.sh [ROUNDS] [--external N]      (defaults: 10 rounds, then 3 external rounds)
#
# External rounds (`--external 0` skips them; `scripts/crash-test.sh 0 --external N` runs only
# them) crash the server while clients collect for an experiment on an external environment: a
# fixed-length corridor stepped by scripts/crash-test-external.py (Python 3 standard library) with
# several sessions over POST /act/batch ("collect": true). The server is killed with SIGKILL at a
# random point of the collection; the round then checks that every trial whose ending step was
# acknowledged (200 with trial_over) is in the replay buffer exactly as played, that every buffer
# file decodes and holds one whole trial that was acknowledged or was in flight at the kill (only
# unfinished trials may be lost), that the restarted server resumes the experiment (recovery in
# its status history), answers 410 to the old session ids, and that new sessions collect until
# the run succeeds with every pre-crash file still in the buffer, a gap-free, duplicate-free
# metric history and a sound database; and that SIGTERM exits 0.
#
# Environment: AMAGO_BIN (default: the newest .build*/release/amago), CRASH_SEED (seeds the kill
# points), CRASH_KEEP=1 (keep every round's data folder; failed rounds are always kept).
# Needs curl, jq and sqlite3, and python3 for external rounds (installed with apt-get when
# missing). Prints one line per round and `N passed, M failed`; exits 1 on failure.
set -u -o pipefail
[[ -n "${CRASH_TRACE:-}" ]] && set -x

usage() { echo "usage: scripts/crash-test.sh [ROUNDS] [--external N]" >&2; exit 2; }
ROUNDS=10 EXTERNAL_ROUNDS=3
while [[ $# -gt 0 ]]; do
    case $1 in
        --external) [[ "${2:-}" =~ ^[0-9]+$ ]] || usage; EXTERNAL_ROUNDS=$2; shift 2 ;;
        --external=*) EXTERNAL_ROUNDS=${1#--external=}; [[ "$EXTERNAL_ROUNDS" =~ ^[0-9]+$ ]] || usage; shift ;;
        *) [[ "$1" =~ ^[0-9]+$ ]] || usage; ROUNDS=$1; shift ;;
    esac
done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
[[ -n "${CRASH_SEED:-}" ]] && RANDOM=$CRASH_SEED
export OPENBLAS_NUM_THREADS=1

tools=(curl jq sqlite3)
((EXTERNAL_ROUNDS > 0)) && tools+=(python3)
# AMAGO (the binary) and the tools above, installed with apt-get when missing.
source "$ROOT/scripts/serve-setup.sh"

EPOCHS=20
# A run of ~20 s: 20 epochs of the tiny T-maze, a checkpoint and an evaluation every epoch.
source "$ROOT/scripts/test-specs.sh"
SPEC=$(tiny_tmaze_spec "$EPOCHS" crash-test) || exit 2

EXT_EPOCHS=16 EXT_LENGTH=8 EXT_CLIENT="$ROOT/scripts/crash-test-external.py"
# External rounds: an external environment with 2-number observations and 2 actions, stepped by
# the corridor client (trials of EXT_LENGTH steps); a tiny model, 16 epochs of 8 x 32 collected
# steps and 10 updates each, a checkpoint every epoch, a buffer that evicts nothing (a run of ~10 s).
EXT_SPEC=$(jq -nc --argjson epochs "$EXT_EPOCHS" '{"name": "crash-test-external", "seed": 1,
    "environment": {"name": "external", "parameters": {"observation_size": 2, "action_space": {"kind": "discrete", "n": 2}}},
    "checkpoints": {"interval": 1}, "evaluation": {"interval": 0},
    "exploration": {"kind": "egreedy", "anneal_steps": 2000},
    "model": {"d_model": 32, "layers": 1, "heads": 2, "d_ff": 64, "actor_hidden": 32, "critic_hidden": 32,
              "timestep_hidden": 32, "timestep_output": 32, "max_time": 16},
    "agent": {"bins": 32},
    "schedule": {"epochs": $epochs, "batches_per_epoch": 10, "batch_size": 16, "parallel_actors": 8, "timesteps_per_epoch": 32,
                 "max_seq_len": 16, "warmup_steps": 10, "buffer_capacity": 100000}}') || exit 2
EXT_QUOTA=$((8 * 32))

# now, elapsed, api, start_server, keep_log, stop_server, cleanup (trapped on exit), poll.
source "$ROOT/scripts/serve-helpers.sh"

experiment() { api "/experiments/$ID"; }
checkpoint_count() { api "/experiments/$ID/checkpoints" | jq '.checkpoints | length'; }
is_running_with_checkpoint() {
    [[ "$(experiment | jq -r .status)" == running ]] && (($(checkpoint_count) >= 1))
}
has_reached_epoch() { (($(experiment | jq '.progress.epoch') >= $1)); }
is_finished() { [[ "$(experiment | jq -r .status)" =~ ^(succeeded|failed|stopped|cancelled)$ ]]; }

# A value of the metadata of a checkpoint file (safetensors: 8-byte length, JSON header).
file_meta() {
    local length
    length=$(od -An -t u8 -N8 "$1" | tr -d ' ')
    head -c "$((8 + length))" "$1" | tail -c "$length" | jq -r ".__metadata__.$2"
}
file_epoch() { file_meta "$1" epoch; }

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
    local round=$1 start kill_at kill_delay_ms state epoch_at_kill phase_at_kill resumed resumed_wall restart problems=()
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
    resumed=none resumed_wall=0
    [[ -f "$latest" ]] && resumed=$(file_epoch "$latest") && resumed_wall=$(file_meta "$latest" wall_time)

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
    # The restarted process records from the epoch after the checkpoint, never earlier. Its
    # points are those past the checkpoint's wall_time (training seconds since the first start,
    # which the resumed run continues); the killed run's points past it were discarded.
    first_after=$(sqlite3 "$db" "SELECT coalesce(min(p.epoch), 'none') FROM $points WHERE p.wall_time > $resumed_wall")
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

# Starts the corridor client in the background (`collect`, arguments after the summary's path).
start_client() {
    local out=$1; shift
    python3 "$EXT_CLIENT" collect --port "$PORT" --experiment "$ID" --out "$out" --length "$EXT_LENGTH" "$@" \
        >>"$DATA/client.log" 2>&1 &
    CLIENT_PID=$!
}

# Waits up to $1 seconds for the client to end; 0 when it did.
wait_client() {
    local deadline=$((SECONDS + $1))
    while kill -0 "$CLIENT_PID" 2>/dev/null; do
        ((SECONDS > deadline)) && { kill "$CLIENT_PID" 2>/dev/null; wait "$CLIENT_PID" 2>/dev/null; CLIENT_PID=""; return 1; }
        sleep 0.05
    done
    wait "$CLIENT_PID" 2>/dev/null
    CLIENT_PID=""
}

collected_steps() { local n; n=$(experiment 2>/dev/null | jq '.collection.env_steps // 0' 2>/dev/null); echo "${n:-0}"; }

# An external round: clients collect, kill -9 mid-collection, check the buffer against what was
# acknowledged, restart, check the resume and the old sessions, collect to the end, check again.
run_external_round() {
    local round=$1 start problems=() target kill_delay_ms state kill_time steps_at_kill epoch_at_kill resumed
    DATA=$(mktemp -d "${TMPDIR:-/tmp}/amago-crash-ext.XXXXXX")
    LOG="$DATA/server.log"
    start=$(now)
    fail() { echo "external $(printf %2d "$round"): FAIL $1 (data kept in $DATA)"; return 1; }
    start_server || { fail "server did not start (log $LOG)"; return 1; }
    ID=$(curl -sS --max-time 10 -H 'Content-Type: application/json' -d "$EXT_SPEC" "http://127.0.0.1:$PORT/experiments" | jq -r .id)
    [[ -n "$ID" && "$ID" != null ]] || { fail "POST /experiments"; return 1; }
    poll '[[ "$(experiment | jq -r .status)" == running ]]' 60 || { fail "never running ($(experiment | jq -c '{status, progress}'))"; return 1; }

    # Two client threads with four sessions each; the kill comes at a random point of the collection
    # after the first two epochs (so a checkpoint exists), a random 0-199 ms after the server
    # reported that many collected steps.
    start_client "$DATA/before.json" --threads 2 --sessions 4 --first-id 1
    target=$((EXT_QUOTA * (2 + RANDOM % (EXT_EPOCHS - 6)) + RANDOM % EXT_QUOTA))
    kill_delay_ms=$((RANDOM % 200))
    poll '(($(collected_steps) >= target)) || ! kill -0 "$CLIENT_PID" 2>/dev/null' 120 \
        || { fail "$target collected steps never reached ($(experiment | jq -c '{status, progress, collection}'))"; return 1; }
    kill -0 "$CLIENT_PID" 2>/dev/null || { fail "the client stopped before the kill: $(cat "$DATA/client.log" "$DATA/before.json" 2>/dev/null | tail -c 600)"; return 1; }
    state=$(experiment)  # before the delay: a GET waits for the collection's lock, a kill right after it would not be random
    sleep "$(awk -v ms="$kill_delay_ms" 'BEGIN { print ms / 1000 }')"
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
    keep_log
    SERVER_PID=""
    kill_time=$(elapsed "$start")
    steps_at_kill=$(jq '.collection.env_steps' <<<"$state")
    epoch_at_kill=$(jq '.progress.epoch' <<<"$state")
    [[ "$(jq -r .status <<<"$state")" == running ]] || problems+=("status $(jq -r .status <<<"$state") at kill")
    wait_client 30 || { fail "the client did not end after the kill"; return 1; }
    [[ -f "$DATA/before.json" ]] || { fail "no client summary: $(tail -c 600 "$DATA/client.log")"; return 1; }
    local stops
    stops=$(jq -r '.stops | map(select(startswith("connection:") | not)) | join("; ")' "$DATA/before.json")
    [[ -z "$stops" ]] || problems+=("before the kill, a client stopped with: $stops")
    [[ "$(jq '.problems | length' "$DATA/before.json")" == 0 ]] || problems+=("bad answers: $(jq -c .problems "$DATA/before.json")")

    # The buffer as the kill left it: every acknowledged trial, whole and as played; nothing else
    # but trials whose ending step was in flight; every file decodes.
    local buffer="$DATA/experiments/$ID/buffer" after_kill acked acked_transitions files unknown unknown_stored leftover
    after_kill=$(python3 "$EXT_CLIENT" check --buffer "$buffer" --summary "$DATA/before.json" --names-out "$DATA/files-at-kill.txt")
    [[ "$(jq .ok <<<"$after_kill")" == true ]] || problems+=("buffer after the kill: $after_kill")
    read -r acked acked_transitions files unknown unknown_stored leftover < <(jq -r \
        '"\(.acked) \(.acked_transitions) \(.files) \(.unknown) \(.unknown_stored) \(.leftover_count)"' <<<"$after_kill")
    ((acked > 0)) || problems+=("no trial was acknowledged before the kill")
    local latest="$DATA/experiments/$ID/checkpoints/latest.safetensors"
    resumed=none
    [[ -f "$latest" ]] && resumed=$(file_epoch "$latest")

    # Restart: the experiment is recovered and runs again; the old sessions are gone (410).
    start_server || { fail "server did not restart (log $LOG)"; return 1; }
    grep -q "recovered $ID: running → queued" "$LOG.part" || problems+=("no recovery line in the log")
    poll '[[ "$(experiment | jq -r .status)" == running ]]' 60 || problems+=("not running again after the restart: $(experiment | jq -c '{status, progress}')")
    state=$(experiment)
    jq -e '[.status_history[] | select(.reason | startswith("re-queued after restart"))] | length == 1' <<<"$state" >/dev/null \
        || problems+=("no recovery in the status history: $(jq -c '[.status_history[] | .reason]' <<<"$state")")
    local stale sessions old410
    stale=$(python3 "$EXT_CLIENT" stale --port "$PORT" --experiment "$ID" --summary "$DATA/before.json")
    sessions=$(jq .sessions <<<"$stale")
    old410=$(jq '.answers["410 steps[0].session"] // 0' <<<"$stale")
    ((sessions > 0 && old410 == sessions)) || problems+=("old sessions answered $(jq -c .answers <<<"$stale") (of $sessions), want 410")
    [[ "$(experiment | jq '.collection.sessions')" == 0 ]] || problems+=("live sessions after the restart: $(experiment | jq -c .collection)")

    # New sessions collect until the run is over (409 not_running), and the run succeeds.
    start_client "$DATA/after.json" --threads 1 --sessions 4 --first-id 1000000
    wait_client 300 || problems+=("the client of the restarted server did not end within 300 s")
    local after_trials=0
    if [[ -f "$DATA/after.json" ]]; then
        after_trials=$(jq '.acked | length' "$DATA/after.json")
        stops=$(jq -r '.stops | join("; ")' "$DATA/after.json")
        [[ "$stops" == "409 not_running" ]] || problems+=("after the restart the client stopped with: $stops")
        ((after_trials > 0)) || problems+=("no trial collected after the restart")
        [[ "$(jq '.problems | length' "$DATA/after.json")" == 0 ]] || problems+=("bad answers: $(jq -c .problems "$DATA/after.json")")
    else
        problems+=("no client summary after the restart: $(tail -c 600 "$DATA/client.log")")
    fi
    poll is_finished 120 || problems+=("not finished 120 s after the collection ended")
    state=$(experiment)
    [[ "$(jq -r .status <<<"$state")" == succeeded ]] || problems+=("ended $(jq -r '.status + ": " + (.error // "")' <<<"$state")")
    local history
    history=$(jq -r '[.status_history[] | .to] | join(">")' <<<"$state")
    [[ "$history" == "queued>running>queued>running>succeeded" ]] || problems+=("history $history")

    # The finished run's buffer: the files of the kill still there, both clients' trials stored.
    local final
    final=$(python3 "$EXT_CLIENT" check --buffer "$buffer" --summary "$DATA/before.json" --summary "$DATA/after.json" \
        --names-in "$DATA/files-at-kill.txt" 2>&1)
    [[ "$(jq .ok <<<"$final" 2>/dev/null)" == true ]] || problems+=("buffer at the end: $final")

    # Epoch-level series have every epoch once.
    local last=$((EXT_EPOCHS - 1)) key gap
    for key in charts/epoch charts/env_steps buffer/files; do
        gap=$(gap_report "$key" 0 "$last"); [[ -n "$gap" ]] && problems+=("$gap")
    done

    stop_server
    [[ "$STOP_STATUS" == 0 ]] || problems+=("SIGTERM exit status $STOP_STATUS")
    local db="$DATA/amago.sqlite" points="metric_points p JOIN metric_series s ON s.id = p.series_id AND s.experiment_id = '$ID'"
    local duplicates integrity foreign
    duplicates=$(sqlite3 "$db" "SELECT count(*) FROM (SELECT 1 FROM $points GROUP BY s.key, p.epoch HAVING count(*) > 1)")
    ((duplicates == 0)) || problems+=("$duplicates duplicated (key, epoch) pairs")
    integrity=$(sqlite3 "$db" "PRAGMA integrity_check" | tr '\n' ' ' | sed 's/ $//')
    [[ "$integrity" == ok ]] || problems+=("integrity_check: $integrity")
    foreign=$(sqlite3 "$db" "PRAGMA foreign_key_check" | wc -l)
    ((foreign == 0)) || problems+=("$foreign foreign-key violations")

    local verdict=PASS
    ((${#problems[@]} > 0)) && verdict=FAIL
    printf 'external %2d: %s kill at %5ss (+%3d ms after %4d steps, epoch %2d), acknowledged %3d trials/%4d transitions, in flight %d (stored %d, in temporary files %d), %3d files, resumed from checkpoint epoch %s, old sessions 410 %d/%d, %3d trials after the restart, duplicates %s, integrity %s, %.0fs total\n' \
        "$round" "$verdict" "$kill_time" "$kill_delay_ms" "$steps_at_kill" "$epoch_at_kill" "$acked" "$acked_transitions" \
        "$unknown" "$unknown_stored" "$leftover" "$files" "$resumed" "$old410" "$sessions" "$after_trials" \
        "$duplicates" "$integrity" "$(elapsed "$start")"
    for p in "${problems[@]}"; do echo "          - $p"; done
    if [[ "$verdict" == PASS && -z "${CRASH_KEEP:-}" ]]; then rm -rf "$DATA"; else echo "          data kept in $DATA"; fi
    [[ "$verdict" == PASS ]]
}

passed=0 failed=0
for ((round = 1; round <= ROUNDS; round++)); do
    if run_round "$round"; then passed=$((passed + 1)); else failed=$((failed + 1)); cleanup; SERVER_PID=""; fi
done
for ((round = 1; round <= EXTERNAL_ROUNDS; round++)); do
    if run_external_round "$round"; then passed=$((passed + 1)); else failed=$((failed + 1)); cleanup; SERVER_PID=""; fi
done
echo "$passed passed, $failed failed"
((failed == 0))
