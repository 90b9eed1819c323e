"""A Box-observation env (CartPole-v1) through the runner: steps are collected and train/return appears."""

from __future__ import annotations

import time

from amago_client import Client
from amago_client.gym import run
from conftest import Server, collected_steps, finish


def test_cartpole_steps_are_collected_and_train_return_is_recorded(server: Server, client: Client) -> None:
    overrides = {
        "name": "cartpole-smoke",
        "model": {"d_model": 16, "layers": 1, "heads": 2, "timestep_hidden": 32, "timestep_output": 16,
                  "actor_hidden": 32, "critic_hidden": 32},
        # An epoch is 25 × 4 = 100 collected steps; 300 steps make three epochs of the 50.
        "schedule": {"epochs": 50, "timesteps_per_epoch": 25, "batches_per_epoch": 2, "batch_size": 4,
                     "max_seq_len": 16},
        "exploration": {"kind": "egreedy", "anneal_steps": 100},
        "evaluation": {"interval": 0},
    }
    summary = run(server.url, "CartPole-v1", actors=4, spec_overrides=overrides, max_env_steps=300, progress=False)
    try:
        assert summary.env_steps == 300
        assert summary.status == "running"
        assert len(summary.episode_returns) >= 4, summary.episode_returns
        # Every reported step was recorded: the server counts exactly the steps the runner sent.
        assert collected_steps(client, summary.experiment) == 300
        detail = client.experiment(summary.experiment)
        assert detail["collection"]["epoch_quota"] == 100

        deadline = time.monotonic() + 120
        while "train/return" not in client.metric_keys(summary.experiment):
            assert time.monotonic() < deadline, f"no train/return; keys {client.metric_keys(summary.experiment)}"
            time.sleep(0.2)
        series = client.metric(summary.experiment, "train/return")
        values = [v for v in series.values if v is not None]
        assert values, series
        # The server's training returns are means over the episodes the runner finished.
        low, high = min(summary.episode_returns), max(summary.episode_returns)
        assert all(low - 1e-6 <= v <= high + 1e-6 for v in values), (values, low, high)
    finally:
        finish(client, summary.experiment)
