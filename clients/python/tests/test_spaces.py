"""Unit tests without a server: space conversion, flattening, request encoding, error decoding."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from amago_client import Conflict, Episode, Gone, InvalidInput, NotFound, Step, Unauthorized
from amago_client.errors import ServerError, error_for
from amago_client.gym import deep_merge, spec_for_env
from amago_client.spaces import (
    UnsupportedSpace,
    action_space_spec,
    flatten_observation,
    from_env_action,
    observation_size,
    to_env_action,
)


def test_box_observation_flattens_row_major() -> None:
    space = spaces.Box(low=-1, high=1, shape=(2, 3), dtype=np.float32)
    obs = np.arange(6, dtype=np.float32).reshape(2, 3) / 10
    assert observation_size(space) == 6
    assert flatten_observation(space, obs) == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5])


def test_discrete_observation_is_one_hot_from_start() -> None:
    assert observation_size(spaces.Discrete(4)) == 4
    assert flatten_observation(spaces.Discrete(4), 2) == [0.0, 0.0, 1.0, 0.0]
    assert flatten_observation(spaces.Discrete(3, start=5), 5) == [1.0, 0.0, 0.0]


def test_dict_observation_concatenates_sorted_keys() -> None:
    space = spaces.Dict({"b": spaces.Discrete(3), "a": spaces.Box(-5, 5, shape=(2,))})
    assert observation_size(space) == 5
    flat = flatten_observation(space, {"a": np.array([1.5, -2.0], dtype=np.float32), "b": 1})
    assert flat == [1.5, -2.0, 0.0, 1.0, 0.0]


def test_nested_unsupported_observation_names_its_path() -> None:
    space = spaces.Dict({"pos": spaces.Box(-1, 1, shape=(2,)), "note": spaces.Text(5)})
    with pytest.raises(UnsupportedSpace, match=r"observation_space\['note'\]"):
        observation_size(space)
    with pytest.raises(UnsupportedSpace):
        observation_size(spaces.Sequence(spaces.Discrete(2)))


def test_non_finite_observation_is_refused() -> None:
    space = spaces.Box(-np.inf, np.inf, shape=(2,))
    with pytest.raises(ValueError, match="non-finite"):
        flatten_observation(space, np.array([1.0, np.nan]))


def test_discrete_actions() -> None:
    space = spaces.Discrete(3, start=1)
    assert action_space_spec(space) == {"kind": "discrete", "n": 3}
    assert int(to_env_action(space, 0)) == 1
    assert space.contains(to_env_action(space, 2))
    assert from_env_action(space, 3) == 2


def test_box_actions_flatten_bounds_reshape_and_clip() -> None:
    space = spaces.Box(low=np.array([[-1, 0], [2, -3]]), high=np.array([[1, 1], [4, 3]]), dtype=np.float32)
    assert action_space_spec(space) == {"kind": "continuous", "low": [-1, 0, 2, -3], "high": [1, 1, 4, 3]}
    action = to_env_action(space, [1.0000001, 0.5, 3.0, -3.5])
    assert action.shape == (2, 2) and action.dtype == np.float32
    assert space.contains(action)
    assert action.tolist() == [[1.0, 0.5], [3.0, -3.0]]
    assert from_env_action(space, action) == [1.0, 0.5, 3.0, -3.0]


@pytest.mark.parametrize("space, message", [
    (spaces.Box(-np.inf, np.inf, shape=(2,)), "infinite bounds"),
    (spaces.MultiDiscrete([2, 3]), "Discrete or Box"),
    (spaces.Discrete(5000), "1...4096"),
    (spaces.Box(-1, 1, shape=(300,)), "1...256"),
])
def test_unsupported_action_spaces_are_refused(space: gymnasium.Space, message: str) -> None:
    with pytest.raises(UnsupportedSpace, match=message):
        action_space_spec(space)


def test_spec_for_env_reads_spaces_and_merges_overrides() -> None:
    env = gymnasium.make("FrozenLake-v1", is_slippery=False)
    spec = spec_for_env(env, actors=4, overrides={"schedule": {"epochs": 7}, "environment": {"parameters": {
        "episodes_per_trial": 2}}})
    assert spec["name"] == "FrozenLake-v1"
    assert spec["environment"] == {"name": "external", "parameters": {
        "observation_size": 16, "action_space": {"kind": "discrete", "n": 4}, "episodes_per_trial": 2}}
    assert spec["schedule"] == {"parallel_actors": 4, "epochs": 7}
    pendulum = spec_for_env(gymnasium.make("Pendulum-v1"))
    assert pendulum["environment"]["parameters"]["observation_size"] == 3
    assert pendulum["environment"]["parameters"]["action_space"] == {"kind": "continuous", "low": [-2.0], "high": [2.0]}


def test_deep_merge_replaces_non_objects_and_copies() -> None:
    base = {"a": {"b": 1, "c": [1]}, "d": 2}
    merged = deep_merge(base, {"a": {"c": [2], "e": 3}, "d": {"x": 1}})
    assert merged == {"a": {"b": 1, "c": [2], "e": 3}, "d": {"x": 1}}
    assert base == {"a": {"b": 1, "c": [1]}, "d": 2}


def test_step_json_takes_numpy_and_refuses_nan() -> None:
    body = Step(np.array([[1, 2], [3, 4]], dtype=np.int64), session="s", reward=np.float32(0.5), terminated=True,
                success=True).to_json()
    assert body == {"observation": [1.0, 2.0, 3.0, 4.0], "session": "s", "reward": 0.5, "terminated": True,
                    "truncated": False, "reset": False, "success": True}
    json.dumps(body, allow_nan=False)
    with pytest.raises(ValueError, match="non-finite"):
        Step([0.0, math.inf]).to_json()


def test_episode_json() -> None:
    body = Episode(observations=[np.zeros(2), [1, 1]], actions=[np.int64(1)], rewards=[1.0], terminated=True).to_json()
    assert body == {"observations": [[0.0, 0.0], [1.0, 1.0]], "actions": [1], "rewards": [1.0],
                    "terminated": True, "truncated": False}
    assert Episode([[0.0], [1.0]], [np.array([0.25, -1.0])], [0.0]).to_json()["actions"] == [[0.25, -1.0]]


@pytest.mark.parametrize("status, cls", [(400, InvalidInput), (401, Unauthorized), (404, NotFound),
                                         (409, Conflict), (410, Gone), (422, InvalidInput), (503, ServerError)])
def test_error_bodies_decode_to_their_class(status: int, cls: type) -> None:
    raw = json.dumps({"error": {"code": "some_code", "message": "why", "field": "steps[2].observation"}}).encode()
    error = error_for(status, raw)
    assert type(error) is cls
    assert (error.status, error.code, error.message, error.field) == (status, "some_code", "why", "steps[2].observation")


def test_invalid_spec_error_keeps_every_field() -> None:
    raw = json.dumps({"error": {"code": "invalid_spec", "message": "m", "field": "a.b"},
                      "fields": [{"field": "a.b", "expected": "x"}, {"field": "c", "expected": "y"}]}).encode()
    error = error_for(422, raw)
    assert error.field_names == ["a.b", "c"]
    assert error_for(502, b"<html>bad gateway</html>").message == "<html>bad gateway</html>"


def test_core_imports_without_numpy_or_gymnasium() -> None:
    code = "import sys, amago_client; assert not {'numpy', 'gymnasium'} & set(sys.modules), sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
