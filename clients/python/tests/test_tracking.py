"""Studies through the client: sweeps, groups, tags, filtered listings and exports."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any, Dict

import pytest

from amago_client import Client, InvalidInput, TERMINAL_STATUSES

from conftest import external_spec


def tiny_builtin_spec(epochs: int = 2) -> Dict[str, Any]:
    """A T-Maze run of a few seconds, evaluated every epoch."""
    return {
        "name": "sweep-test",
        "environment": {"name": "tmaze_passive", "parameters": {"corridor_length": 3}},
        "model": external_spec()["model"],
        "schedule": {"epochs": epochs, "parallel_actors": 2, "timesteps_per_epoch": 16, "batches_per_epoch": 2,
                     "batch_size": 4, "max_seq_len": 8},
        "evaluation": {"interval": 1, "timesteps": 16, "actors": 2},
    }


def test_a_sweep_runs_in_one_group_with_summaries_aggregates_and_exports(client: Client) -> None:
    group = f"py-sweep-{uuid.uuid4().hex[:8]}"
    sweep = client.create_sweep(tiny_builtin_spec(), {"seed": [1, 2], "agent.gamma": [0.9, 0.99]},
                                group=group, tags=["py", "sweep"], idempotency_key=group)
    experiments = sweep["experiments"]
    assert len(experiments) == 4 and {e["group"] for e in experiments} == {group}
    again = client.create_sweep(tiny_builtin_spec(), {"seed": [1, 2], "agent.gamma": [0.9, 0.99]},
                                group=group, tags=["py", "sweep"], idempotency_key=group)
    assert again["id"] == sweep["id"], "the same key and body answer the same sweep"

    for e in experiments:
        assert client.wait(e["id"], TERMINAL_STATUSES, timeout=600)["status"] == "succeeded"

    listed = client.list_experiments(group=group, tag=["py", "sweep"])
    assert sorted(e["id"] for e in listed) == sorted(e["id"] for e in experiments)
    assert client.list_experiments(group=group, tag="not-a-tag") == []
    assert len(client.list_experiments(sweep=sweep["id"], search="AGENT.GAMMA=0.99")) == 2
    assert any(g["group"] == group and g["experiments"] == 4 for g in client.groups())
    assert {"py", "sweep"} <= {t["tag"] for t in client.tags()}

    summary = client.sweep(sweep["id"], keys=["val/return", "train/critic_loss"])
    assert summary["split_keys"] == ["agent.gamma"]
    for member in summary["experiments"]:
        loss = member["metrics"]["train/critic_loss"]
        assert loss["best_is"] == "min" and loss["best"] == loss["min"] <= loss["last"] <= loss["max"]
        assert member["metrics"]["val/return"]["best_is"] == "max"
        assert member["values"]["seed"] in (1, 2)
    assert client.group(group)["sweeps"] == [sweep["id"]]

    series = client.group_series(group, "train/critic_loss", points=50)
    assert [c["label"] for c in series["curves"]] == ["agent.gamma=0.9", "agent.gamma=0.99"]
    for curve in series["curves"]:
        assert len(curve["experiments"]) == 2
        assert all(p["min"] <= p["mean"] <= p["max"] for p in curve["points"])
    one = client.group_series(group, "train/critic_loss", split=[])
    assert [len(c["experiments"]) for c in one["curves"]] == [4]

    first = experiments[0]["id"]
    rows = list(csv.DictReader(io.StringIO(client.metric_csv(first, "val/return"))))
    points = client.metric(first, "val/return").points
    assert [float(r["value"]) for r in rows] == [p.value for p in points]
    assert [float(r["env_steps"]) for r in rows] == [p.x for p in points]
    lines = [json.loads(line) for line in client.export(first).decode("utf-8").splitlines() if line]
    assert len(lines) > len(rows)
    assert client.export(first, "zip")[:2] == b"PK"


def test_a_sweep_with_one_bad_value_is_refused_whole(client: Client) -> None:
    group = f"py-bad-{uuid.uuid4().hex[:8]}"
    with pytest.raises(InvalidInput) as caught:
        client.create_sweep(tiny_builtin_spec(), {"seed": [1, 2], "agent.gamma": [0.99, 1.5]}, group=group)
    assert caught.value.status == 422
    assert caught.value.field == "agent.gamma"
    assert client.list_experiments(group=group) == []
