# Sourced by the scripts that train through a live service (crash-test.sh, cluster-test.sh).
# tiny_tmaze_spec EPOCHS NAME [SEED]: examples/tmaze_passive.json shrunk to a run of ~1 s per
# epoch (short corridor, small model), a checkpoint and an evaluation every epoch. Needs ROOT, jq.
tiny_tmaze_spec() {
    jq -c --argjson epochs "$1" --arg name "$2" --argjson seed "${3:-null}" '.name = $name
        | if $seed == null then . else .seed = $seed end
        | .environment.parameters = {"corridor_length": 8, "penalty": -0.1}
        | .checkpoints.interval = 1 | .evaluation += {"actors": 4, "interval": 1, "timesteps": 20}
        | .exploration += {"anneal_steps": 2000, "rollout_horizon": 10}
        | .model += {"d_model": 64, "layers": 2, "heads": 4, "d_ff": 128, "actor_hidden": 64, "critic_hidden": 64,
                     "timestep_hidden": 64, "timestep_output": 64, "max_time": 64}
        | .agent.bins = 64
        | .schedule += {"epochs": $epochs, "batches_per_epoch": 100, "batch_size": 16, "parallel_actors": 4,
                        "timesteps_per_epoch": 20, "max_seq_len": 16, "warmup_steps": 20, "buffer_capacity": 5000}' \
        "$ROOT/examples/tmaze_passive.json"
}
