"""A Box-observation env (CartPole-v1) through the runner: steps are collected and train/return appears."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amago_client import Client
from amago_client.gym import run
from conftest import Server, collected_steps, external_spec, finish, running

SMALL_MODEL = {"d_model": 16, "layers": 1, "heads": 2, "timestep_hidden": 32, "timestep_output": 16,
               "actor_hidden": 32, "critic_hidden": 32}


def test_cartpole_steps_are_collected_and_train_return_is_recorded(server: Server, client: Client) -> None:
    overrides = {
        "name": "cartpole-smoke",
        "model": SMALL_MODEL,
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


def test_amago_gym_command_trains_and_prints_a_summary(server: Server, client: Client, tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.json"
    overrides.write_text(json.dumps({"name": "cli-smoke", "model": SMALL_MODEL, "evaluation": {"interval": 0},
                                     "schedule": {"epochs": 50, "timesteps_per_epoch": 10, "batches_per_epoch": 1,
                                                  "batch_size": 2, "max_seq_len": 8}}))
    script = Path(sys.executable).with_name("amago-gym")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "amago_client.cli"]
    done = subprocess.run(command + ["--url", server.url, "--env", "CartPole-v1", "--actors", "2", "--spec",
                                     str(overrides), "--max-env-steps", "40", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    try:
        assert summary["env_steps"] == 40 and summary["status"] == "running"
        detail = client.experiment(summary["experiment"])
        assert detail["name"] == "cli-smoke" and detail["spec"]["schedule"]["parallel_actors"] == 2
        assert collected_steps(client, summary["experiment"]) == 40
    finally:
        finish(client, summary["experiment"])


def test_amago_gym_command_reports_an_invalid_spec(server: Server, tmp_path: Path) -> None:
    overrides = tmp_path / "bad.json"
    overrides.write_text(json.dumps({"schedule": {"epochs": -3}}))
    done = subprocess.run([sys.executable, "-m", "amago_client.cli", "--url", server.url, "--env", "CartPole-v1",
                           "--spec", str(overrides), "--quiet"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "schedule.epochs" in done.stderr, done.stderr


def test_runner_refuses_to_attach_an_env_of_other_spaces(server: Server, client: Client) -> None:
    with running(client, external_spec(observation_size=3)) as experiment:
        with pytest.raises(ValueError, match="observes 3 numbers; the env gives 4"):
            run(server.url, "CartPole-v1", actors=2, experiment=experiment, progress=False)
        assert collected_steps(client, experiment) == 0
