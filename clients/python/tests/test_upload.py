"""Offline episodes: uploads to external experiments, refused malformed ones, offline training on them."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict, List

import pytest

from amago_client import Client, Conflict, Episode, InvalidInput
from conftest import Server, external_spec, finish, running


def episode(steps: int, rng: random.Random, width: int = 3, n: int = 3) -> Episode:
    """A random trial of ``steps`` transitions that ends terminated with reward 1."""
    return Episode(
        observations=[[rng.uniform(-1, 1) for _ in range(width)] for _ in range(steps + 1)],
        actions=[rng.randrange(n) for _ in range(steps)],
        rewards=[0.0] * (steps - 1) + [1.0],
        terminated=True,
    )


def buffer_files(server: Server, experiment: str) -> Dict[str, int]:
    """The files of the experiment's replay buffer folder, with their sizes."""
    root = server.data / "experiments" / experiment / "buffer"
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()} if root.exists() else {}


def test_episodes_upload_and_malformed_ones_are_refused_whole(server: Server, client: Client) -> None:
    rng = random.Random(7)
    experiment = str(client.create_experiment(external_spec())["id"])
    client.wait(experiment, "running")
    # Stopped: uploads go straight to the buffer folder, where the test can see them.
    assert finish(client, experiment)["status"] == "stopped"
    before = buffer_files(server, experiment)

    answer = client.upload_episodes(experiment, [episode(2, rng), episode(3, rng), episode(4, rng)])
    assert (answer.accepted, answer.env_steps) == (3, 9)
    stored = buffer_files(server, experiment)
    assert len(stored) > len(before), (before, stored)

    good = episode(3, rng).to_json()
    wrong_width = episode(3, rng).to_json()
    wrong_width["observations"][2] = [0.0, 0.0]
    out_of_range = episode(3, rng).to_json()
    out_of_range["actions"][1] = 3
    short_rewards = episode(3, rng).to_json()
    short_rewards["rewards"] = [0.0]
    cases: List[Any] = [
        ([good, wrong_width], "episodes[1].observations[2]"),
        ([out_of_range], "episodes[0].actions[1]"),
        ([good, good, short_rewards], "episodes[2].rewards"),
        ([{"observations": [[0, 0, 0]], "actions": [], "rewards": []}], "episodes[0].observations"),
    ]
    for episodes, field in cases:
        with pytest.raises(InvalidInput) as caught:
            client.upload_episodes(experiment, episodes)
        assert caught.value.status == 422, caught.value
        assert field in caught.value.field_names, (field, caught.value.field_names)
        assert buffer_files(server, experiment) == stored, f"a refused upload ({field}) changed the buffer"


def test_episodes_need_an_external_experiment(client: Client) -> None:
    builtin = str(client.create_experiment({"environment": {"name": "tmaze_passive"}, "schedule": {"epochs": 1}})["id"])
    try:
        with pytest.raises(Conflict) as caught:
            client.upload_episodes(builtin, [episode(2, random.Random(1), width=2, n=2)])
        assert caught.value.status == 409
    finally:
        finish(client, builtin)


def offline_spec() -> Dict[str, Any]:
    """An external experiment that trains only on uploads: 2 epochs of 3 updates."""
    spec = external_spec()
    spec["schedule"].update({"epochs": 2, "timesteps_per_epoch": 0, "batches_per_epoch": 3})
    return spec


def test_offline_experiment_trains_on_episodes_uploaded_while_stopped(client: Client) -> None:
    rng = random.Random(3)
    experiment = str(client.create_experiment(offline_spec())["id"])
    try:
        assert client.wait(experiment, "running")["progress"]["phase"] in ("waiting_for_data", "starting", None)
        assert finish(client, experiment)["status"] == "stopped"
        answer = client.upload_episodes(experiment, [episode(rng.randint(2, 6), rng) for _ in range(16)])
        assert answer.accepted == 16
        client.resume(experiment)
        done = client.wait(experiment, ["succeeded"], timeout=300)
        assert done["progress"]["grad_steps"] == 2 * 3
        assert done["progress"]["env_steps"] == 0
        # Both epochs trained on the uploaded trials, one buffer file each, and nothing else.
        assert client.metric(experiment, "buffer/files").values == [16, 16]
        assert client.checkpoints(experiment), "no checkpoint after offline training"
    finally:
        finish(client, experiment)


def test_offline_experiment_trains_on_episodes_uploaded_while_running(client: Client) -> None:
    rng = random.Random(4)
    with running(client, offline_spec()) as experiment:
        answer = client.upload_episodes(experiment, [episode(rng.randint(2, 6), rng) for _ in range(16)])
        assert answer.accepted == 16
        done = client.wait(experiment, ["succeeded"], timeout=300)
        assert done["progress"]["grad_steps"] == 2 * 3
        files = client.metric(experiment, "buffer/files").values
        assert len(files) == 2 and all(f is not None and 0 < f <= 16 for f in files), files
