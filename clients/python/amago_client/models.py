"""Small dataclasses for the requests and answers of the service.

Observations are anything iterable of numbers (lists, tuples, numpy arrays); they are sent as JSON
arrays of floats. Actions come back as an ``int`` (discrete), a ``list`` of floats (continuous,
already rescaled to the spec's ``[low, high]``) or ``None`` (the step ended the episode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

__all__ = [
    "Action",
    "Step",
    "ActResult",
    "StepResult",
    "BatchResult",
    "Episode",
    "UploadResult",
    "MetricPoint",
    "MetricSeries",
    "Checkpoint",
    "numbers",
]

#: An action as the service answers it: a discrete index, continuous values, or None.
Action = Union[int, List[float], None]


def numbers(values: Iterable[Any], name: str = "observation") -> List[float]:
    """``values`` as a list of finite floats (numpy arrays are flattened); ValueError otherwise."""
    tolist = getattr(values, "tolist", None)
    items = tolist() if callable(tolist) else values
    if isinstance(items, (int, float)):
        items = [items]
    out: List[float] = []
    for x in _flat(items):
        f = float(x)
        if not math.isfinite(f):
            raise ValueError(f"{name} holds a non-finite number ({f}); the service takes finite numbers only")
        out.append(f)
    return out


def _flat(items: Iterable[Any]) -> Iterable[Any]:
    for x in items:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


@dataclass
class Step:
    """One element of ``POST /act/batch`` (and the fields of ``POST /act``).

    Attributes:
        observation: the environment's observation (``observation_size`` numbers).
        session: the session it belongs to; None opens a new one (a new trial).
        reward: the reward that followed the previous action.
        terminated: the episode ended in a terminal state (gymnasium's ``terminated``).
        truncated: the episode was cut short, e.g. by a time limit (gymnasium's ``truncated``).
        reset: this observation is the first of a new trial (``env.reset()``).
        success: whether the episode succeeded, on its last step; None when unknown.
    """

    observation: Any
    session: Optional[str] = None
    reward: float = 0.0
    terminated: bool = False
    truncated: bool = False
    reset: bool = False
    success: Optional[bool] = None

    def to_json(self) -> Dict[str, Any]:
        """The JSON object the service expects for this step."""
        body: Dict[str, Any] = {
            "observation": numbers(self.observation),
            "reward": float(self.reward),
            "terminated": bool(self.terminated),
            "truncated": bool(self.truncated),
            "reset": bool(self.reset),
        }
        if self.session is not None:
            body["session"] = self.session
        if self.success is not None:
            body["success"] = bool(self.success)
        return body

    @staticmethod
    def coerce(step: Union["Step", Mapping[str, Any]]) -> "Step":
        """A :class:`Step` from a Step or a mapping with the same keys."""
        if isinstance(step, Step):
            return step
        return Step(**dict(step))


def _action(value: Any) -> Action:
    if value is None:
        return None
    if isinstance(value, list):
        return [float(x) for x in value]
    return int(value)


@dataclass
class StepResult:
    """The answer to one step of a batch.

    Attributes:
        action: the action to take next, or None when the step ended the episode.
        session: the session of the step (new when the step opened one).
        context_length: the steps the policy now sees in its context.
        episode_over: the step reported ``terminated`` or ``truncated``.
        trial_over: the trial's last episode ended; the session's next step must be ``reset``.
    """

    action: Action
    session: str
    context_length: int
    episode_over: bool = False
    trial_over: bool = False

    @staticmethod
    def from_json(body: Mapping[str, Any]) -> "StepResult":
        """Decodes one element of a batch answer's ``results``."""
        return StepResult(
            action=_action(body.get("action")),
            session=str(body["session"]),
            context_length=int(body.get("context_length") or 0),
            episode_over=bool(body.get("episode_over", False)),
            trial_over=bool(body.get("trial_over", False)),
        )


@dataclass
class ActResult(StepResult):
    """The answer of ``POST /act``.

    Attributes (beyond :class:`StepResult`'s):
        experiment: the experiment id.
        checkpoint: the checkpoint that answered, or None for the running policy (collect/eval).
        epoch: the learner's epoch (collect and eval calls only).
        env_steps: the experiment's collected env steps (collect and eval calls only).
    """

    experiment: str = ""
    checkpoint: Optional[str] = None
    epoch: Optional[int] = None
    env_steps: Optional[int] = None

    @staticmethod
    def from_json(body: Mapping[str, Any]) -> "ActResult":
        """Decodes the answer of ``POST /act``."""
        base = StepResult.from_json(body)
        return ActResult(
            action=base.action,
            session=base.session,
            context_length=base.context_length,
            episode_over=base.episode_over,
            trial_over=base.trial_over,
            experiment=str(body.get("experiment", "")),
            checkpoint=body.get("checkpoint"),
            epoch=_optional_int(body.get("epoch")),
            env_steps=_optional_int(body.get("env_steps")),
        )


@dataclass
class BatchResult:
    """The answer of ``POST /act/batch``: one :class:`StepResult` per step, in order.

    Attributes:
        experiment: the experiment id.
        checkpoint: the checkpoint that answered, or None for the running policy.
        epoch: the learner's epoch (collect and eval calls).
        env_steps: the experiment's collected env steps (collect and eval calls).
        results: the answers, in the order of the steps.
    """

    experiment: str
    checkpoint: Optional[str]
    epoch: Optional[int]
    env_steps: Optional[int]
    results: List[StepResult] = field(default_factory=list)

    @staticmethod
    def from_json(body: Mapping[str, Any]) -> "BatchResult":
        """Decodes the answer of ``POST /act/batch``."""
        return BatchResult(
            experiment=str(body.get("experiment", "")),
            checkpoint=body.get("checkpoint"),
            epoch=_optional_int(body.get("epoch")),
            env_steps=_optional_int(body.get("env_steps")),
            results=[StepResult.from_json(r) for r in body.get("results", [])],
        )


@dataclass
class Episode:
    """One offline trial for ``POST /experiments/{id}/episodes``.

    Attributes:
        observations: T+1 observations (the first is the reset observation).
        actions: T actions: ints (discrete) or lists in the spec's ``[low, high]`` (continuous).
        rewards: T rewards; ``rewards[t]`` followed ``actions[t]``.
        terminated: the last transition is terminal.
        truncated: the episode was cut short.
    """

    observations: Sequence[Any]
    actions: Sequence[Any]
    rewards: Sequence[float]
    terminated: bool = False
    truncated: bool = False

    def to_json(self) -> Dict[str, Any]:
        """The JSON object the service expects for this episode."""
        return {
            "observations": [numbers(o, "observations") for o in self.observations],
            "actions": [_action_json(a) for a in self.actions],
            "rewards": numbers(self.rewards, "rewards"),
            "terminated": bool(self.terminated),
            "truncated": bool(self.truncated),
        }

    @staticmethod
    def coerce(episode: Union["Episode", Mapping[str, Any]]) -> Dict[str, Any]:
        """The JSON of an :class:`Episode`, or a mapping passed through as it is."""
        if isinstance(episode, Episode):
            return episode.to_json()
        return dict(episode)


def _action_json(action: Any) -> Any:
    tolist = getattr(action, "tolist", None)
    value = tolist() if callable(tolist) else action
    if isinstance(value, (list, tuple)):
        return numbers(value, "actions")
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class UploadResult:
    """The answer of an episode upload: episodes accepted and the transitions they hold."""

    accepted: int
    env_steps: int


@dataclass
class MetricPoint:
    """One point (or downsampled bucket) of a metric series."""

    x: Optional[float]
    value: Optional[float]
    count: int = 1
    min: Optional[float] = None
    max: Optional[float] = None


@dataclass
class MetricSeries:
    """A metric's series against one x axis (``env_steps``, ``grad_steps``, ``epoch``, ``wall_time``)."""

    key: str
    x: str
    points: List[MetricPoint]
    downsampled: bool = False
    point_count: int = 0
    last_x: Optional[float] = None

    @property
    def xs(self) -> List[Optional[float]]:
        """The points' x values."""
        return [p.x for p in self.points]

    @property
    def values(self) -> List[Optional[float]]:
        """The points' values (None for NaN)."""
        return [p.value for p in self.points]

    @staticmethod
    def from_json(body: Mapping[str, Any]) -> "MetricSeries":
        """Decodes ``GET /experiments/{id}/metrics/{key}``."""
        points = [
            MetricPoint(x=p.get("x"), value=p.get("value"), count=int(p.get("count", 1)), min=p.get("min"), max=p.get("max"))
            for p in body.get("points", [])
        ]
        return MetricSeries(
            key=str(body.get("key", "")),
            x=str(body.get("x", "env_steps")),
            points=points,
            downsampled=bool(body.get("downsampled", False)),
            point_count=int(body.get("point_count", len(points))),
            last_x=body.get("last_x"),
        )


@dataclass
class Checkpoint:
    """A checkpoint record; ``url`` is its download path."""

    id: str
    experiment_id: str
    epoch: int
    env_steps: int
    grad_steps: int
    created_at: Optional[str]
    url: str
    eval_return: Optional[float] = None
    size_bytes: Optional[int] = None

    @staticmethod
    def from_json(body: Mapping[str, Any]) -> "Checkpoint":
        """Decodes one element of ``GET /experiments/{id}/checkpoints``."""
        return Checkpoint(
            id=str(body["id"]),
            experiment_id=str(body.get("experiment_id", "")),
            epoch=int(body.get("epoch", 0)),
            env_steps=int(body.get("env_steps", 0)),
            grad_steps=int(body.get("grad_steps", 0)),
            created_at=body.get("created_at"),
            url=str(body.get("url", "")),
            eval_return=body.get("eval_return"),
            size_bytes=_optional_int(body.get("size_bytes")),
        )


def _optional_int(value: Any) -> Optional[int]:
    return None if value is None else int(value)
