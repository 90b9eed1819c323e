"""Learning on a real gymnasium env through the live server: FrozenLake 4x4, not slippery.

The observation is the agent's cell, one-hot (16 numbers); 4 actions; reward 1 at the goal, 0 in a
hole or after gymnasium's 100-step limit. The greedy policy of a fresh agent does not reach the
goal; after training it must (return ≥ 0.8 over the evaluation envs).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import gymnasium

from amago_client import Client
from amago_client.gym import evaluate, run, spec_for_env
from conftest import Server, finish

ACTORS = 8

SPEC: dict = {
    "name": "frozenlake-learning",
    "agent": {"gamma": 0.99, "reward_multiplier": 10},
    "model": {"encoder": "transformer", "d_model": 32, "layers": 1, "heads": 2, "timestep_hidden": 64,
              "timestep_output": 32, "actor_hidden": 64, "critic_hidden": 64, "dropout": 0.0},
    # An epoch is 25 × 8 = 200 collected steps, then 30 updates.
    "schedule": {"epochs": 40, "parallel_actors": ACTORS, "timesteps_per_epoch": 25, "batches_per_epoch": 30,
                 "batch_size": 24, "max_seq_len": 16, "learning_rate": 0.001, "warmup_steps": 50},
    # Exploration's step count is collected steps / parallel actors: 25 per epoch, annealed over 20 epochs.
    "exploration": {"kind": "egreedy", "eps_start": 1.0, "eps_end": 0.05, "anneal_steps": 500},
    "evaluation": {"interval": 10, "actors": ACTORS, "timesteps": 100},
}


def make_lake() -> gymnasium.Env:
    return gymnasium.make("FrozenLake-v1", is_slippery=False)


def test_frozen_lake_is_learned_through_the_server(server: Server, client: Client,
                                                  record_property: Callable[[str, Any], None]) -> None:
    spec = spec_for_env(make_lake(), actors=ACTORS, overrides=SPEC)
    experiment = str(client.create_experiment(spec)["id"])
    eval_envs = [make_lake() for _ in range(ACTORS)]
    try:
        client.wait(experiment, "running")
        untrained = evaluate(client, experiment, eval_envs, mode="eval", max_steps=100)
        assert untrained.epoch == 0 and len(untrained.returns) == ACTORS

        started = time.monotonic()
        summary = run(server.url, make_lake, actors=ACTORS, experiment=experiment, progress=True,
                      progress_interval=10.0)
        wall = time.monotonic() - started
        assert summary.status == "succeeded", summary.status
        assert summary.env_steps >= SPEC["schedule"]["epochs"] * 25 * ACTORS

        # The final policy, greedy, from the last checkpoint.
        final = evaluate(client, experiment, eval_envs, mode=None, checkpoint="latest", max_steps=100)
    finally:
        finish(client, experiment)
        for env in eval_envs:
            env.close()
    line = (f"FrozenLake-v1 (4x4, not slippery): untrained greedy return {untrained.mean_return:.3f}, "
            f"final {final.mean_return:.3f}, runner evals {[round(r, 3) for r in summary.eval_returns]}, "
            f"{summary.env_steps} env steps, {len(summary.episode_returns)} episodes, {wall:.1f} s")
    print("\n" + line)
    record_property("untrained_return", untrained.mean_return)
    record_property("final_return", final.mean_return)
    record_property("wall_seconds", round(wall, 1))
    assert final.mean_return >= 0.8, line
    assert final.mean_return > untrained.mean_return, line
