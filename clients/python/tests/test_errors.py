"""Error paths of external experiments against the live server, and the step protocol's edges."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict

import pytest

from amago_client import Client, Conflict, Gone, InvalidInput, NotFound, Step, Unauthorized
from conftest import Server, collected_steps, external_spec, finish, running

OBS = [0.1, 0.2, 0.3]


def _with_parameters(**parameters: Any) -> Dict[str, Any]:
    spec = external_spec()
    spec["environment"]["parameters"] = parameters
    return spec


@pytest.mark.parametrize("parameters, field", [
    ({"observation_size": 3, "action_space": {"kind": "discrete", "n": -1}}, "environment.parameters.action_space.n"),
    ({"observation_size": 3, "action_space": {"kind": "discrete", "n": 5000}}, "environment.parameters.action_space.n"),
    ({"observation_size": 3, "action_space": {"kind": "continuous", "low": [0, 1], "high": [1, 1]}},
     "environment.parameters.action_space"),
    ({"observation_size": 3, "action_space": {"kind": "continuous", "low": [0], "high": [1, 2]}},
     "environment.parameters.action_space"),
    ({"observation_size": 3, "action_space": {"kind": "sideways"}}, "environment.parameters.action_space"),
    ({"observation_size": 3}, "environment.parameters.action_space"),
    ({"action_space": {"kind": "discrete", "n": 2}}, "environment.parameters.observation_size"),
    ({"observation_size": 0, "action_space": {"kind": "discrete", "n": 2}}, "environment.parameters.observation_size"),
    ({"observation_size": 3, "action_space": {"kind": "discrete", "n": 2}, "episodes_per_trial": 0},
     "environment.parameters.episodes_per_trial"),
])
def test_invalid_spaces_are_refused_naming_the_field(client: Client, parameters: Dict[str, Any], field: str) -> None:
    before = [e["id"] for e in client.list_experiments()]
    spec = _with_parameters(**parameters)
    with pytest.raises(InvalidInput) as caught:
        client.create_experiment(spec)
    error = caught.value
    assert (error.status, error.code) == (422, "invalid_spec"), error
    assert any(name.startswith(field) for name in error.field_names), (field, error.field_names)
    verdict = client.validate(spec)
    assert verdict["valid"] is False
    assert any(f["field"].startswith(field) for f in verdict["fields"]), verdict["fields"]
    assert [e["id"] for e in client.list_experiments()] == before


def test_envs_lists_external_with_a_valid_recommended_spec(client: Client) -> None:
    external = next(e for e in client.envs() if e["name"] == "external")
    names = {p["name"] for p in external["parameters"]}
    assert {"observation_size", "action_space", "episodes_per_trial"} <= names
    assert client.validate(external["recommended_spec"])["valid"] is True


def test_wrong_observation_width_is_refused_and_nothing_is_recorded(client: Client) -> None:
    with running(client, external_spec()) as experiment:
        first = client.act(experiment, OBS, reset=True, collect=True)
        second = client.act(experiment, OBS, session=first.session, reward=1.0, collect=True)
        assert second.action in range(3) and second.env_steps == 1
        assert collected_steps(client, experiment) == 1

        with pytest.raises(InvalidInput) as caught:
            client.act(experiment, [0.1, 0.2], session=first.session, collect=True)
        assert (caught.value.status, caught.value.field) == (422, "observation")
        with pytest.raises(InvalidInput) as caught:
            client.act_batch(experiment, [Step(OBS, session=first.session, reward=1.0), Step([1, 2, 3, 4])], collect=True)
        assert (caught.value.status, caught.value.field) == (422, "steps[1].observation")
        status, _, raw = client.raw_request("POST", "/act/batch", {
            "experiment": experiment, "collect": True,
            "steps": [{"session": first.session, "observation": [0, "x", 0]}]})
        assert status == 422 and b"steps[0].observation" in raw, raw

        # Nothing of the refused requests was recorded: the count is unchanged and the session's
        # context grows by one with its next good step.
        assert collected_steps(client, experiment) == 1
        third = client.act(experiment, OBS, session=first.session, reward=0.5, collect=True)
        assert third.context_length == second.context_length + 1
        assert third.env_steps == 2 and collected_steps(client, experiment) == 2


def test_unknown_sessions_and_experiments_are_not_found(client: Client) -> None:
    with pytest.raises(NotFound):
        client.act("no-such-experiment", OBS, reset=True, collect=True)
    with running(client, external_spec()) as experiment:
        with pytest.raises(NotFound) as caught:
            client.act(experiment, OBS, session="no-such-session", collect=True)
        assert caught.value.status == 404
        good = client.act(experiment, OBS, reset=True, collect=True)
        with pytest.raises(NotFound) as caught:
            client.act_batch(experiment, [Step(OBS, session=good.session), Step(OBS, session="nope")], collect=True)
        assert caught.value.field == "steps[1].session"
        assert collected_steps(client, experiment) == 0


def test_collect_needs_a_running_external_experiment(client: Client) -> None:
    builtin_spec = {"name": "builtin", "environment": {"name": "tmaze_passive", "parameters": {"corridor_length": 3}},
                    "model": external_spec()["model"],
                    "schedule": {"epochs": 1000, "timesteps_per_epoch": 10, "batches_per_epoch": 1, "batch_size": 2,
                                 "parallel_actors": 2, "max_seq_len": 8},
                    "evaluation": {"interval": 0}}
    with running(client, builtin_spec) as builtin:
        for options in ({"collect": True}, {"mode": "eval"}):
            with pytest.raises(Conflict) as caught:
                client.act(builtin, [0.0, 1.0], reset=True, **options)
            assert caught.value.status == 409
    external = str(client.create_experiment(external_spec())["id"])
    client.wait(external, "running")
    assert finish(client, external)["status"] == "stopped"
    for options in ({"collect": True}, {"mode": "eval"}):
        with pytest.raises(Conflict):
            client.act(external, OBS, reset=True, **options)
        with pytest.raises(Conflict):
            client.act_batch(external, [Step(OBS, reset=True)], **options)


def test_a_step_after_trial_over_needs_reset(client: Client) -> None:
    with running(client, external_spec()) as experiment:
        start = client.act(experiment, OBS, reset=True, collect=True)
        end = client.act(experiment, OBS, session=start.session, reward=1.0, terminated=True, collect=True)
        assert (end.action, end.episode_over, end.trial_over) == (None, True, True)
        with pytest.raises(Conflict) as caught:
            client.act(experiment, OBS, session=start.session, collect=True)
        assert caught.value.status == 409
        again = client.act(experiment, OBS, session=start.session, reset=True, collect=True)
        assert again.action in range(3) and not again.episode_over and again.context_length == 1
        # In one batch: the trial-ending report, then the same session's reset step.
        batch = client.act_batch(experiment, [
            Step(OBS, session=start.session, reward=2.0, truncated=True),
            Step(OBS, session=start.session, reset=True),
        ], collect=True)
        assert [(r.action is None, r.episode_over, r.trial_over) for r in batch.results] == [
            (True, True, True), (False, False, False)]
        assert batch.results[1].context_length == 1
        assert batch.env_steps == 2


def test_meta_rl_trials_carry_memory_across_episodes(client: Client) -> None:
    spec = external_spec()
    spec["environment"]["parameters"]["episodes_per_trial"] = 2
    with running(client, spec) as experiment:
        start = client.act(experiment, OBS, reset=True, collect=True)
        first_end = client.act(experiment, OBS, session=start.session, reward=1.0, terminated=True, collect=True)
        assert (first_end.action, first_end.episode_over, first_end.trial_over) == (None, True, False)
        # The next episode's first observation, reset false: the context carries on (a new trial's
        # first step has context length 1).
        second = client.act(experiment, OBS, session=start.session, collect=True)
        assert second.action in range(3) and second.context_length >= 2
        second_end = client.act(experiment, OBS, session=start.session, reward=1.0, terminated=True, collect=True)
        assert (second_end.episode_over, second_end.trial_over) == (True, True)
        with pytest.raises(Conflict):
            client.act(experiment, OBS, session=start.session, collect=True)


def test_eval_steps_score_val_return_and_store_nothing(client: Client) -> None:
    spec = external_spec()
    spec["schedule"]["timesteps_per_epoch"] = 3  # an epoch: 3 × 2 collected steps
    with running(client, spec) as experiment:
        start = client.act(experiment, OBS, reset=True, mode="eval")
        assert start.epoch == 0 and start.checkpoint is None
        mid = client.act(experiment, OBS, session=start.session, reward=1.5, mode="eval")
        end = client.act(experiment, OBS, session=mid.session, reward=1.0, terminated=True, success=True, mode="eval")
        assert end.trial_over and end.action is None
        assert collected_steps(client, experiment) == 0
        # Trial outcomes are recorded at the epoch's end: collect one epoch's steps.
        session = client.act(experiment, OBS, reset=True, collect=True).session
        for _ in range(6):
            client.act(experiment, OBS, session=session, collect=True)
        deadline = time.monotonic() + 60
        while "val/return" not in client.metric_keys(experiment):
            assert time.monotonic() < deadline, client.metric_keys(experiment)
            time.sleep(0.1)
        assert client.metric(experiment, "val/return").values == pytest.approx([2.5])
        assert client.metric(experiment, "val/success_rate").values == pytest.approx([1.0])
        assert client.metric(experiment, "val/trials").values == pytest.approx([1.0])


def test_collection_sessions_answer_gone_after_a_restart(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", tmp_path / "serve.log").start()
    try:
        with Client(srv.url) as c:
            experiment = str(c.create_experiment(external_spec())["id"])
            c.wait(experiment, "running")
            session = c.act(experiment, OBS, reset=True, collect=True).session
            c.act(experiment, OBS, session=session, reward=1.0, collect=True)
        assert srv.stop() == 0, srv.log_tail()
        srv.start()
        with Client(srv.url) as c:
            c.wait(experiment, "running", timeout=300)
            with pytest.raises(Gone) as caught:
                c.act(experiment, OBS, session=session, collect=True)
            assert caught.value.status == 410
            with pytest.raises(Gone) as caught:
                c.act_batch(experiment, [Step(OBS, reset=True), Step(OBS, session=session)], collect=True)
            assert caught.value.field == "steps[1].session"
            fresh = c.act(experiment, OBS, reset=True, collect=True)
            assert fresh.session != session and fresh.context_length == 1
            finish(c, experiment)
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_mutating_requests_need_the_token(tmp_path: Path) -> None:
    srv = Server(tmp_path / "data", tmp_path / "serve.log", "--token", "s3cret").start()
    try:
        with Client(srv.url) as anonymous:
            with pytest.raises(Unauthorized) as caught:
                anonymous.create_experiment(external_spec())
            assert caught.value.status == 401
            assert anonymous.list_experiments() == []
        with Client(srv.url, token="s3cret") as c:
            experiment = str(c.create_experiment(external_spec())["id"])
            with Client(srv.url, token="wrong") as wrong, pytest.raises(Unauthorized):
                wrong.stop(experiment)
            finish(c, experiment)
    finally:
        assert srv.stop() == 0, srv.log_tail()


def test_continuous_actions_come_in_the_spec_bounds(client: Client) -> None:
    low, high = [-2.0, 0.0], [2.0, 10.0]
    spec = external_spec(action_space={"kind": "continuous", "low": low, "high": high})
    with running(client, spec) as experiment:
        step = client.act(experiment, OBS, reset=True, collect=True)
        actions = []
        for t in range(30):
            assert isinstance(step.action, list) and len(step.action) == 2, step
            actions.append(step.action)
            step = client.act(experiment, OBS, session=step.session, reward=0.1, collect=True)
        for a in actions:
            assert all(lo - 1e-5 <= x <= hi + 1e-5 for x, lo, hi in zip(a, low, high)), a
        # Exploration spreads them: not all at one point of the box.
        assert len({tuple(round(x, 3) for x in a) for a in actions}) > 1, actions
        with pytest.raises(InvalidInput) as caught:
            client.upload_episodes(experiment, [{"observations": [OBS, OBS], "actions": [[0.0, 11.0]],
                                                 "rewards": [0.0], "terminated": True}])
        assert caught.value.field == "episodes[0].actions[0]"
