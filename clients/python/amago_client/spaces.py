"""Gymnasium spaces as the service's external-environment parameters (needs gymnasium and numpy).

Observations become one vector of floats: ``Box``, ``Discrete`` (one-hot), ``MultiBinary``,
``MultiDiscrete`` (one-hot per entry) and ``Dict``/``Tuple`` of those, flattened with
``gymnasium.spaces.flatten``. Actions: ``Discrete(n, start)`` becomes ``{"kind": "discrete", "n": n}``
and ``Box`` with finite bounds ``{"kind": "continuous", "low": [...], "high": [...]}``.
"""

from __future__ import annotations

from typing import Any, Dict, List

import gymnasium
import numpy as np
from gymnasium import spaces

__all__ = [
    "UnsupportedSpace",
    "check_observation_space",
    "observation_size",
    "flatten_observation",
    "action_space_spec",
    "to_env_action",
    "from_env_action",
]


class UnsupportedSpace(ValueError):
    """The gymnasium space has no fixed-size representation the service accepts."""


_FLAT_LEAVES = (spaces.Box, spaces.Discrete, spaces.MultiBinary, spaces.MultiDiscrete)


def check_observation_space(space: gymnasium.Space[Any], path: str = "observation_space") -> None:
    """Raises :class:`UnsupportedSpace` unless ``space`` flattens to a fixed-size float vector."""
    if isinstance(space, _FLAT_LEAVES):
        return
    if isinstance(space, spaces.Dict):
        for key, sub in space.spaces.items():
            check_observation_space(sub, f"{path}[{key!r}]")
        return
    if isinstance(space, spaces.Tuple):
        for i, sub in enumerate(space.spaces):
            check_observation_space(sub, f"{path}[{i}]")
        return
    raise UnsupportedSpace(
        f"{path} is {space!r}: only Box, Discrete, MultiBinary, MultiDiscrete and Dict/Tuple of them "
        "flatten to the fixed-size vector an external experiment observes"
    )


def observation_size(space: gymnasium.Space[Any]) -> int:
    """The width of the flattened observation (the spec's ``observation_size``)."""
    check_observation_space(space)
    size = int(spaces.flatdim(space))
    if not 1 <= size <= 65536:
        raise UnsupportedSpace(f"the flattened observation has {size} numbers; the service takes 1...65536")
    return size


def flatten_observation(space: gymnasium.Space[Any], observation: Any) -> List[float]:
    """``observation`` as one list of finite floats (``Discrete`` one-hot, ``Dict`` concatenated)."""
    flat = np.asarray(spaces.flatten(space, observation), dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(flat)):
        raise ValueError(f"observation holds non-finite numbers: {flat.tolist()}")
    return flat.tolist()


def action_space_spec(space: gymnasium.Space[Any]) -> Dict[str, Any]:
    """The spec's ``action_space`` for a gymnasium action space."""
    if isinstance(space, spaces.Discrete):
        n = int(space.n)
        if not 1 <= n <= 4096:
            raise UnsupportedSpace(f"action_space is Discrete({n}); the service takes 1...4096 actions")
        return {"kind": "discrete", "n": n}
    if isinstance(space, spaces.Box):
        low = np.asarray(space.low, dtype=np.float64).reshape(-1)
        high = np.asarray(space.high, dtype=np.float64).reshape(-1)
        if not 1 <= low.size <= 256:
            raise UnsupportedSpace(f"action_space {space!r} has {low.size} dimensions; the service takes 1...256")
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise UnsupportedSpace(
                f"action_space {space!r} has infinite bounds; wrap the env in "
                "gymnasium.wrappers.RescaleAction or ClipAction to give it finite ones"
            )
        if not np.all(low < high):
            raise UnsupportedSpace(f"action_space {space!r} needs low < high in every dimension")
        return {"kind": "continuous", "low": low.tolist(), "high": high.tolist()}
    raise UnsupportedSpace(
        f"action_space is {space!r}: external experiments take Discrete or Box actions only"
    )


def to_env_action(space: gymnasium.Space[Any], action: Any) -> Any:
    """The service's action (an index, or values in ``[low, high]``) as ``env.step`` takes it."""
    if isinstance(space, spaces.Discrete):
        return np.int64(int(space.start) + int(action))
    if isinstance(space, spaces.Box):
        values = np.asarray(action, dtype=np.float64).reshape(space.shape)
        # Rescaled by the server in float32; clip the last ulp back into the box.
        return np.clip(values, space.low, space.high).astype(space.dtype)
    raise UnsupportedSpace(f"action_space is {space!r}: external experiments take Discrete or Box actions only")


def from_env_action(space: gymnasium.Space[Any], action: Any) -> Any:
    """An env action as the service takes it in uploaded episodes (index, or flat values)."""
    if isinstance(space, spaces.Discrete):
        return int(action) - int(space.start)
    if isinstance(space, spaces.Box):
        return np.asarray(action, dtype=np.float64).reshape(-1).tolist()
    raise UnsupportedSpace(f"action_space is {space!r}: external experiments take Discrete or Box actions only")
