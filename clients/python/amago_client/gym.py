"""Train an AMAGO agent on gymnasium environments stepped here, against an external experiment.

``run`` creates an external experiment whose spaces come from the environment (or attaches to one),
then steps ``actors`` environments with one ``POST /act/batch`` per vector step (``collect: true``),
evaluates the greedy policy every ``evaluation.interval`` epochs, and stops when the experiment is
no longer running or after ``max_env_steps``. Needs gymnasium and numpy (the ``gym`` extra).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

try:
    import gymnasium
    import numpy as np
except ImportError as error:  # pragma: no cover - depends on the installation
    raise ImportError(
        "amago_client.gym needs gymnasium and numpy: pip install 'amago-client[gym]'"
    ) from error

from .client import Client
from .errors import Conflict, Gone
from .models import BatchResult, Step, StepResult
from .spaces import action_space_spec, flatten_observation, observation_size, to_env_action

__all__ = [
    "EnvSource",
    "Evaluation",
    "RunSummary",
    "ProtocolError",
    "make_env_fn",
    "spec_for_env",
    "deep_merge",
    "evaluate",
    "run",
]

#: A gymnasium env id (``"CartPole-v1"``) or a function that makes a fresh env.
EnvSource = Union[str, Callable[[], gymnasium.Env]]


class ProtocolError(RuntimeError):
    """The server's answers contradict the step protocol (e.g. ``trial_over`` when not expected)."""


@dataclass
class Evaluation:
    """One evaluation round: a trial per evaluation env with the greedy policy.

    Attributes:
        epoch: the learner's epoch when it started (None for checkpoint inference).
        env_steps: the experiment's collected env steps then (None for checkpoint inference).
        returns: each trial's return.
        successes: each trial's success, where the env reported one.
    """

    epoch: Optional[int]
    env_steps: Optional[int]
    returns: List[float]
    successes: List[bool] = field(default_factory=list)

    @property
    def mean_return(self) -> float:
        """The mean trial return (NaN for an empty round)."""
        return float(np.mean(self.returns)) if self.returns else float("nan")

    @property
    def success_rate(self) -> Optional[float]:
        """The fraction of successful trials, when the env reports success."""
        return float(np.mean(self.successes)) if self.successes else None


@dataclass
class RunSummary:
    """What a :func:`run` did.

    Attributes:
        experiment: the experiment id.
        env_steps: env steps this run collected.
        episode_returns: the return of every finished collected episode, in order.
        trial_returns: the return of every finished collected trial (equal to episodes when a
            trial is one episode).
        evaluations: every evaluation round.
        epoch: the learner's last reported epoch.
        status: the experiment's status at the end.
        wall_time: seconds the run took.
    """

    experiment: str
    env_steps: int = 0
    episode_returns: List[float] = field(default_factory=list)
    trial_returns: List[float] = field(default_factory=list)
    evaluations: List[Evaluation] = field(default_factory=list)
    epoch: int = 0
    status: str = "running"
    wall_time: float = 0.0

    @property
    def eval_returns(self) -> List[float]:
        """The mean return of each evaluation round."""
        return [e.mean_return for e in self.evaluations]


def make_env_fn(env: EnvSource, env_kwargs: Optional[Mapping[str, Any]] = None) -> Callable[[], gymnasium.Env]:
    """A function making fresh envs: ``gymnasium.make(env, **env_kwargs)`` for an id."""
    if isinstance(env, str):
        env_id, kwargs = env, dict(env_kwargs or {})
        return lambda: gymnasium.make(env_id, **kwargs)
    if env_kwargs:
        raise ValueError("env_kwargs go with an env id, not with an env function")
    if not callable(env):
        raise TypeError(f"env must be a gymnasium env id or a function making an env, not {env!r}")
    return env


def deep_merge(base: Mapping[str, Any], overrides: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """``base`` with ``overrides`` applied: objects merge key by key, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def spec_for_env(
    env: gymnasium.Env, actors: int = 8, overrides: Optional[Mapping[str, Any]] = None, name: Optional[str] = None
) -> Dict[str, Any]:
    """An external experiment spec for ``env``'s spaces, ``actors`` parallel actors, then ``overrides``."""
    env_id = getattr(getattr(env, "spec", None), "id", None)
    spec = {
        "name": name or env_id or "gymnasium",
        "environment": {
            "name": "external",
            "parameters": {
                "observation_size": observation_size(env.observation_space),
                "action_space": action_space_spec(env.action_space),
                "episodes_per_trial": 1,
            },
        },
        "schedule": {"parallel_actors": actors},
    }
    return deep_merge(spec, overrides)


class _Actor:
    """One env with its session and the steps it sends in the next request."""

    def __init__(self, env: gymnasium.Env, episodes_per_trial: int) -> None:
        self.env = env
        self.episodes_per_trial = episodes_per_trial
        self.session: Optional[str] = None
        self.pending: List[Step] = []
        self.episode_return = 0.0
        self.trial_return = 0.0
        self.episodes_in_trial = 0
        self.expect_trial_over = False
        self.finished = False
        self.next_action: Any = None
        self.last_episode_return: Optional[float] = None

    def observe(self, observation: Any) -> List[float]:
        return flatten_observation(self.env.observation_space, observation)

    def begin(self, seed: Optional[int]) -> None:
        """Resets the env and queues the first step of a new trial (a new session)."""
        observation, _ = self.env.reset(seed=seed)
        self.session = None
        self.pending = [Step(self.observe(observation), reset=True)]
        self.episode_return = self.trial_return = 0.0
        self.episodes_in_trial = 0
        self.finished = False

    def accept(self, results: Sequence[StepResult]) -> Any:
        """Checks the answers to this actor's pending steps; the action to take (or None)."""
        for step, result in zip(self.pending, results):
            if step.session is not None and result.session != step.session:
                raise ProtocolError(f"step of session {step.session} answered for session {result.session}")
            self.session = result.session
            ended = step.terminated or step.truncated
            if result.episode_over != ended:
                raise ProtocolError(f"session {self.session}: episode_over {result.episode_over} for a step "
                                    f"with terminated={step.terminated} truncated={step.truncated}")
            if ended and result.trial_over != self.expect_trial_over:
                raise ProtocolError(f"session {self.session}: trial_over {result.trial_over} after episode "
                                    f"{self.episodes_in_trial or self.episodes_per_trial} of {self.episodes_per_trial}")
        last = self.pending[-1]
        self.pending = []
        action = results[-1].action
        if action is None and not (last.terminated or last.truncated):
            raise ProtocolError(f"session {self.session}: no action for a step that did not end an episode")
        return action

    def step(self, action: Any, continue_after_trial: bool, cut: bool = False) -> Optional[float]:
        """Steps the env with the server's action and queues the report; a finished trial's return.

        ``cut`` reports the step as truncated (a runner's time limit) and ends the trial there.
        """
        observation, reward, terminated, truncated, info = self.env.step(to_env_action(self.env.action_space, action))
        reward = float(reward)
        truncated = bool(truncated) or (cut and not terminated)
        self.episode_return += reward
        self.trial_return += reward
        report = Step(self.observe(observation), self.session, reward, bool(terminated), truncated)
        self.pending = [report]
        if not (terminated or truncated):
            return None
        report.success = _success(info)
        self.last_episode_return, self.episode_return = self.episode_return, 0.0
        self.episodes_in_trial += 1
        self.expect_trial_over = self.episodes_in_trial >= self.episodes_per_trial
        if (continue_after_trial if self.expect_trial_over else not cut):
            # Same request, same session: the next episode's first observation follows the report.
            first, _ = self.env.reset()
            self.pending.append(Step(self.observe(first), self.session, reset=self.expect_trial_over))
        if not (self.expect_trial_over or cut):
            return None
        trial_return = self.trial_return
        self.trial_return = 0.0
        self.episodes_in_trial = 0
        return trial_return


def _success(info: Mapping[str, Any]) -> Optional[bool]:
    for key in ("is_success", "success"):
        if key in info and info[key] is not None:
            return bool(np.asarray(info[key]).item())
    return None


def _send(client: Client, experiment: str, actors: Sequence[_Actor], **options: Any) -> BatchResult:
    """One request with every live actor's pending steps; hands each actor its answers' action."""
    steps: List[Step] = []
    owners: List[int] = []
    for i, actor in enumerate(actors):
        steps.extend(actor.pending)
        owners.extend([i] * len(actor.pending))
    batch = client.act_batch(experiment, steps, **options)
    if len(batch.results) != len(steps):
        raise ProtocolError(f"{len(steps)} steps answered with {len(batch.results)} results")
    by_actor: Dict[int, List[StepResult]] = {}
    for owner, result in zip(owners, batch.results):
        by_actor.setdefault(owner, []).append(result)
    for i, results in by_actor.items():
        actors[i].next_action = actors[i].accept(results)
    return batch


def evaluate(
    client: Client,
    experiment: str,
    envs: Sequence[gymnasium.Env],
    episodes_per_trial: int = 1,
    mode: Optional[str] = "eval",
    checkpoint: Optional[str] = None,
    max_steps: int = 10_000,
    seed: Optional[int] = None,
) -> Evaluation:
    """One greedy trial per env, in lockstep, one ``act_batch`` per vector step; nothing is stored.

    ``mode="eval"`` asks the running policy of a running external experiment (its trials become
    ``val/return``); ``mode=None`` with ``checkpoint`` (``latest``, ``best`` or an id) asks a
    checkpoint. A trial still going after ``max_steps`` steps is cut there (reported truncated).
    """
    actors = [_Actor(env, episodes_per_trial) for env in envs]
    for i, actor in enumerate(actors):
        actor.begin(None if seed is None else seed + i)
    options: Dict[str, Any] = {"mode": mode, "checkpoint": checkpoint}
    first = _send(client, experiment, actors, **options)
    returns: List[float] = []
    successes: List[bool] = []
    for t in range(1, max(1, max_steps) + 1):
        live = [a for a in actors if not a.finished]
        for actor in live:
            trial = actor.step(actor.next_action, continue_after_trial=False, cut=t >= max_steps)
            if trial is not None:
                actor.finished = True
                returns.append(trial)
                success = actor.pending[0].success
                if success is not None:
                    successes.append(success)
        # Live actors' next steps; the finished ones' trial-ending reports (the server scores them).
        _send(client, experiment, live, **options)
        if all(a.finished for a in actors):
            break
    return Evaluation(epoch=first.epoch, env_steps=first.env_steps, returns=returns, successes=successes)


class _Progress:
    """A progress line every ``interval`` seconds: env steps, steps/s, epoch, returns."""

    def __init__(self, enabled: bool, epochs: Optional[int], interval: float) -> None:
        self.enabled = enabled
        self.epochs = epochs
        self.interval = interval
        self.started = time.monotonic()
        self.last = self.started

    def maybe(self, summary: RunSummary, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self.last < self.interval):
            return
        self.last = now
        rate = summary.env_steps / max(now - self.started, 1e-9)
        recent = summary.trial_returns[-20:]
        train = f"{np.mean(recent):.3f}" if recent else "-"
        evals = f"{summary.eval_returns[-1]:.3f}" if summary.evaluations else "-"
        epochs = f"/{self.epochs}" if self.epochs else ""
        print(
            f"[amago-gym] {summary.experiment} | env steps {summary.env_steps} | {rate:.0f} steps/s | "
            f"epoch {summary.epoch}{epochs} | train return {train} | eval return {evals}",
            flush=True,
        )


def _parameters(spec: Mapping[str, Any]) -> Mapping[str, Any]:
    environment = spec.get("environment") or {}
    if environment.get("name") != "external":
        raise ValueError(f"experiment environment is {environment.get('name')!r}; the runner needs an external one")
    return environment.get("parameters") or {}


def _check_spaces(parameters: Mapping[str, Any], env: gymnasium.Env) -> None:
    size = observation_size(env.observation_space)
    if int(parameters.get("observation_size", -1)) != size:
        raise ValueError(f"the experiment observes {parameters.get('observation_size')} numbers; the env gives {size}")
    want = action_space_spec(env.action_space)
    have = dict(parameters.get("action_space") or {})
    same = have.get("kind") == want["kind"] and (
        have.get("n") == want.get("n")
        if want["kind"] == "discrete"
        else all(len(have.get(k) or []) == len(want[k]) and np.allclose(have[k], want[k]) for k in ("low", "high"))
    )
    if not same:
        raise ValueError(f"the experiment's action_space {have} differs from the env's {want}")


def run(
    url: str,
    env: EnvSource,
    actors: int = 8,
    spec_overrides: Optional[Mapping[str, Any]] = None,
    experiment: Optional[str] = None,
    token: Optional[str] = None,
    max_env_steps: Optional[int] = None,
    progress: bool = True,
    *,
    env_kwargs: Optional[Mapping[str, Any]] = None,
    name: Optional[str] = None,
    seed: int = 0,
    client: Optional[Client] = None,
    start_timeout: float = 600.0,
    progress_interval: float = 5.0,
) -> RunSummary:
    """Trains an external experiment on gymnasium envs stepped by this process.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8080``.
        env: a gymnasium env id or a function making a fresh env.
        actors: how many envs step in lockstep (one ``act_batch`` per vector step).
        spec_overrides: merged into the spec made from the env's spaces (new experiments only).
        experiment: attach to this experiment instead of creating one.
        token: the server's bearer token.
        max_env_steps: stop after collecting this many env steps (default: until the experiment
            is no longer running).
        progress: print a progress line every ``progress_interval`` seconds.
        env_kwargs: keyword arguments of ``gymnasium.make`` for an env id.
        name: the new experiment's name (default: the env id).
        seed: the first reset of actor i uses ``seed + i``; evaluation round k resets its envs with
            seeds derived from ``seed`` and k.
        client: an existing client to use (then ``url`` and ``token`` are ignored).
        start_timeout: seconds to wait for the experiment to start running.

    Returns:
        a :class:`RunSummary`.
    """
    if not 1 <= actors <= 512:
        # A vector step sends up to two steps per actor; a batch holds at most 1024.
        raise ValueError("actors must be in 1...512")
    make = make_env_fn(env, env_kwargs)
    own_client = client is None
    client = client or Client(url, token=token)
    envs = [make() for _ in range(actors)]
    evaluator: Optional[_Evaluator] = None
    started = time.monotonic()
    try:
        if experiment is None:
            experiment = str(client.create_experiment(spec_for_env(envs[0], actors, spec_overrides, name))["id"])
        spec = client.wait(experiment, ["running"], timeout=start_timeout).get("spec") or {}
        parameters = _parameters(spec)
        _check_spaces(parameters, envs[0])
        episodes_per_trial = int(parameters.get("episodes_per_trial", 1) or 1)
        evaluator = _Evaluator(client, make, spec.get("evaluation") or {}, actors, episodes_per_trial, seed)
        summary = RunSummary(experiment=experiment)
        report = _Progress(progress, (spec.get("schedule") or {}).get("epochs"), progress_interval)
        _collect(client, summary, envs, episodes_per_trial, seed, max_env_steps, report, evaluator)
        summary.status = str(client.experiment(experiment).get("status"))
        summary.wall_time = time.monotonic() - started
        report.maybe(summary, force=True)
        return summary
    finally:
        for e in envs:
            e.close()
        if evaluator is not None:
            evaluator.close()
        if own_client:
            client.close()


class _Evaluator:
    """Runs an evaluation round each time the epoch crosses a multiple of ``evaluation.interval``."""

    def __init__(self, client: Client, make: Callable[[], gymnasium.Env], evaluation: Mapping[str, Any],
                 actors: int, episodes_per_trial: int, seed: int) -> None:
        self.client = client
        self.make = make
        self.interval = int(evaluation.get("interval", 0) or 0)
        self.count = max(1, min(int(evaluation.get("actors", actors) or actors), actors))
        self.max_steps = int(evaluation.get("timesteps", 10_000) or 10_000)
        self.episodes_per_trial = episodes_per_trial
        self.seed = seed
        self.envs: List[gymnasium.Env] = []
        self.due: Optional[int] = None

    def __call__(self, summary: RunSummary) -> bool:
        """Evaluates when due; False when the experiment turned out to be no longer running."""
        if self.interval <= 0:
            return True
        if self.due is None:
            self.due = (summary.epoch // self.interval + 1) * self.interval
        if summary.epoch < self.due:
            return True
        self.due = (summary.epoch // self.interval + 1) * self.interval
        while len(self.envs) < self.count:
            self.envs.append(self.make())
        seed = self.seed + 1_000_003 * (len(summary.evaluations) + 1)
        try:
            result = evaluate(self.client, summary.experiment, self.envs, self.episodes_per_trial, mode="eval",
                              max_steps=self.max_steps, seed=seed)
        except (Conflict, Gone) as error:
            if _ended(self.client, summary.experiment, error):
                return False
            raise
        summary.evaluations.append(result)
        return True

    def close(self) -> None:
        for env in self.envs:
            env.close()


def _ended(client: Client, experiment: str, error: Exception, settle: float = 60.0) -> bool:
    """Whether a 409/410 answer means the experiment stopped running.

    ``not_running`` says so; the experiment's status may trail it by a moment (the run closes
    collection before its job is marked finished), so wait for the status to follow.
    """
    if isinstance(error, Conflict) and error.code == "not_running":
        deadline = time.monotonic() + settle
        while client.experiment(experiment).get("status") == "running" and time.monotonic() < deadline:
            time.sleep(0.1)
        return True
    return client.experiment(experiment).get("status") != "running"


def _collect(
    client: Client,
    summary: RunSummary,
    envs: Sequence[gymnasium.Env],
    episodes_per_trial: int,
    seed: int,
    max_env_steps: Optional[int],
    report: _Progress,
    evaluate_at: Callable[[RunSummary], bool],
) -> None:
    """The collection loop: one ``act_batch`` (``collect: true``) per vector step."""
    actors = [_Actor(env, episodes_per_trial) for env in envs]
    for i, actor in enumerate(actors):
        actor.begin(seed + i)
    while True:
        try:
            batch = _send(client, summary.experiment, actors, collect=True)
        except (Conflict, Gone) as error:
            if _ended(client, summary.experiment, error):
                return
            if isinstance(error, Gone):
                # Sessions expired (idle timeout) while the experiment runs on: start new trials.
                for actor in actors:
                    actor.begin(None)
                continue
            raise
        if batch.epoch is not None:
            summary.epoch = batch.epoch
        if max_env_steps is not None and summary.env_steps >= max_env_steps:
            return
        if not evaluate_at(summary):
            return
        for actor in actors:
            trial = actor.step(actor.next_action, continue_after_trial=True)
            summary.env_steps += 1
            if actor.pending[0].terminated or actor.pending[0].truncated:
                summary.episode_returns.append(float(actor.last_episode_return or 0.0))
            if trial is not None:
                summary.trial_returns.append(trial)
        report.maybe(summary)
