#!/usr/bin/env bash
# Holds a live `amago serve` to openapi.yaml with schemathesis (from PyPI):
#   scripts/schemathesis.sh [max examples per operation, default 50]
# Starts the server on a free loopback port with a fresh data folder and a token, trains one tiny
# T-Maze experiment so that checkpoints, sessions and /act have real data to reach, then runs
# every phase (examples, coverage, fuzzing, stateful) with the checks that a server must pass:
# no server error, and statuses, content types, headers and bodies as the contract says.
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-50}"
command -v st >/dev/null || python3 -m pip install -q schemathesis
swift build -c release --product amago >/dev/null
amago="$(swift build -c release --show-bin-path)/amago"

data="$(mktemp -d)"
port=$((20000 + RANDOM % 20000))
token="schemathesis-$RANDOM$RANDOM"
log="$data/server.log"
"$amago" serve --addr "127.0.0.1:$port" --data "$data" --workers 1 --token "$token" --public "$([ -d Public ] && echo Public || echo none)" >"$log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

spec='{"name":"contract-check","environment":{"name":"tmaze_passive","parameters":{"corridor_length":2}},
 "model":{"d_model":16,"heads":2,"layers":1,"d_ff":32,"timestep_hidden":16,"timestep_output":16,"actor_hidden":16,"critic_hidden":16},
 "schedule":{"epochs":1,"parallel_actors":2,"timesteps_per_epoch":8,"batches_per_epoch":2,"batch_size":4,"max_seq_len":8},
 "evaluation":{"interval":1,"timesteps":8,"actors":2},"checkpoints":{"interval":1}}'
id=$(curl -sf -X POST "$base/experiments" -H "Authorization: Bearer $token" -d "$spec" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 600); do
    status=$(curl -sf "$base/experiments/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [ "$status" = succeeded ] && break
    [ "$status" = failed ] && { echo "the seed experiment failed:"; curl -s "$base/experiments/$id"; exit 1; }
    sleep 0.2
done
echo "seed experiment $id: $status"

# The event stream never ends by design; it is held to the contract by the Swift tests.
st run openapi.yaml --url "$base" -H "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --exclude-path '/experiments/{id}/events' -n "$examples" --seed 1 --request-timeout 30
