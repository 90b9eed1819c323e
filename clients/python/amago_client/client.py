"""The HTTP client of the Amago service (standard library only)."""

from __future__ import annotations

import json
import time
import urllib.parse
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import UnexpectedStatus, error_for
from .models import (
    ActResult,
    BatchResult,
    Checkpoint,
    Episode,
    MetricSeries,
    Step,
    UploadResult,
)
from .transport import Connection

__all__ = ["Client", "TERMINAL_STATUSES"]

#: Statuses an experiment never leaves on its own.
TERMINAL_STATUSES = ("succeeded", "failed", "stopped", "cancelled")

JSON = Dict[str, Any]


class Client:
    """A client of one Amago server over one keep-alive connection.

    Every method raises an :class:`~amago_client.errors.AmagoError` subclass for an error answer
    (``NotFound``, ``Gone``, ``Conflict``, ``InvalidInput``, ``Unauthorized``, …) and
    :class:`~amago_client.errors.TransportError` when no answer arrives. A client may be shared
    between threads; its requests then take turns on the connection.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8080``.
        token: the bearer token the server was started with (sent on every request), if any.
        timeout: seconds to wait for a connection or an answer.
    """

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 60.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._connection = Connection(self.url, timeout)

    def close(self) -> None:
        """Closes the connection; a later request opens a new one."""
        self._connection.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # MARK: requests

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Union[None, Mapping[str, Any], Sequence[Tuple[str, Any]]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Any:
        """Sends one request and returns the decoded JSON answer (None for an empty body).

        Raises the matching ``AmagoError`` subclass for a status of 400 or above.
        """
        status, _, data = self.raw_request(method, path, body, query, headers)
        if status >= 400:
            raise error_for(status, data)
        if not data:
            return None
        return json.loads(data.decode("utf-8"))

    def raw_request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Union[None, Mapping[str, Any], Sequence[Tuple[str, Any]]] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Tuple[int, Dict[str, str], bytes]:
        """Sends one request; the status, headers and raw body, whatever the status.

        ``query`` is a mapping, or a sequence of pairs for a parameter that repeats; None values
        are left out.
        """
        if query:
            items = query.items() if isinstance(query, Mapping) else query
            pairs = [(k, _query_value(v)) for k, v in items if v is not None]
            if pairs:
                path = path + "?" + urllib.parse.urlencode(pairs)
        all_headers: Dict[str, str] = {"Accept": "application/json"}
        payload: Optional[bytes] = None
        if body is not None:
            payload = json.dumps(body, allow_nan=False, separators=(",", ":")).encode("utf-8")
            all_headers["Content-Type"] = "application/json"
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        return self._connection.request(method, path, payload, all_headers)

    # MARK: experiments

    def create_experiment(self, spec: Mapping[str, Any], idempotency_key: Optional[str] = None) -> JSON:
        """Validates ``spec`` and queues it; the experiment (with ``id`` and ``status``)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(self.request("POST", "/experiments", dict(spec), headers=headers))

    def validate(self, spec: Mapping[str, Any]) -> JSON:
        """Checks ``spec`` without queuing it: ``valid``, invalid ``fields``, the normalized ``spec``."""
        return dict(self.request("POST", "/experiments/validate", dict(spec)))

    def experiment(self, experiment_id: str) -> JSON:
        """One experiment: status, spec, history, progress, latest metrics (and ``collection``)."""
        return dict(self.request("GET", f"/experiments/{_quote(experiment_id)}"))

    def list_experiments(
        self,
        status: Optional[str] = None,
        limit: Optional[int] = None,
        tag: Union[None, str, Sequence[str]] = None,
        group: Optional[str] = None,
        environment: Optional[str] = None,
        search: Optional[str] = None,
        sweep: Optional[str] = None,
    ) -> List[JSON]:
        """Experiments, newest first; every page unless ``limit`` caps the count.

        Every filter given must hold: ``tag`` (one, or several that must all be carried), ``group``,
        ``environment``, ``search`` (a part of the name, any case) and ``sweep`` (a sweep's id).
        """
        tags = [tag] if isinstance(tag, str) else list(tag or [])
        out: List[JSON] = []
        cursor: Optional[str] = None
        while True:
            page_size = 1000 if limit is None else min(1000, limit - len(out))
            query: List[Tuple[str, Any]] = [("status", status), ("limit", page_size), ("cursor", cursor), ("group", group),
                                            ("environment", environment), ("q", search), ("sweep", sweep)]
            query += [("tag", t) for t in tags]
            page = self.request("GET", "/experiments", query=query)
            out.extend(page.get("experiments", []))
            cursor = page.get("next_cursor")
            if not cursor or (limit is not None and len(out) >= limit):
                return out

    def stop(self, experiment_id: str) -> JSON:
        """Cancels a queued experiment or stops a running one gracefully."""
        return dict(self.request("POST", f"/experiments/{_quote(experiment_id)}/stop"))

    def resume(self, experiment_id: str) -> JSON:
        """Queues a stopped or failed experiment again from its latest checkpoint."""
        return dict(self.request("POST", f"/experiments/{_quote(experiment_id)}/resume"))

    def delete(self, experiment_id: str) -> None:
        """Removes a finished experiment with its metrics, checkpoints and files."""
        self.request("DELETE", f"/experiments/{_quote(experiment_id)}")

    def wait(
        self,
        experiment_id: str,
        statuses: Union[str, Iterable[str]] = ("running",),
        timeout: float = 600.0,
        interval: float = 0.25,
    ) -> JSON:
        """Polls the experiment until its status is one of ``statuses``; returns it then.

        Raises :class:`~amago_client.errors.UnexpectedStatus` when it reaches a terminal status that
        is not wanted, and ``TimeoutError`` after ``timeout`` seconds.
        """
        wanted = [statuses] if isinstance(statuses, str) else list(statuses)
        deadline = time.monotonic() + timeout
        while True:
            experiment = self.experiment(experiment_id)
            status = experiment.get("status")
            if status in wanted:
                return experiment
            if status in TERMINAL_STATUSES:
                raise UnexpectedStatus(experiment, wanted)
            if time.monotonic() >= deadline:
                raise TimeoutError(f"experiment {experiment_id} still {status} after {timeout:g} s; waited for {wanted}")
            time.sleep(interval)

    def envs(self) -> List[JSON]:
        """The environments with their parameters and a recommended spec."""
        return list(self.request("GET", "/envs").get("environments", []))

    def ready(self) -> bool:
        """Whether ``GET /readyz`` answers 200 (the database answers and the workers run)."""
        status, _, _ = self.raw_request("GET", "/readyz")
        return status == 200

    # MARK: metrics and checkpoints

    def metric_keys(self, experiment_id: str) -> List[str]:
        """The metric keys recorded for the experiment."""
        return list(self.request("GET", f"/experiments/{_quote(experiment_id)}/metrics").get("keys", []))

    def metric(
        self,
        experiment_id: str,
        key: str,
        x: str = "env_steps",
        max_points: Optional[int] = None,
        after: Optional[float] = None,
    ) -> MetricSeries:
        """One metric's series against ``x``, downsampled to ``max_points`` buckets when given."""
        path = f"/experiments/{_quote(experiment_id)}/metrics/{urllib.parse.quote(key, safe='/')}"
        body = self.request("GET", path, query={"x": x, "max_points": max_points, "after": after})
        return MetricSeries.from_json(body)

    def metric_csv(self, experiment_id: str, key: str, x: str = "env_steps") -> str:
        """Every point of one metric as CSV text (``env_steps,grad_steps,epoch,wall_time,value``), in increasing ``x``."""
        path = f"/experiments/{_quote(experiment_id)}/metrics/{urllib.parse.quote(key, safe='/')}.csv"
        return self._download(path, {"x": x}).decode("utf-8")

    def export(self, experiment_id: str, format: str = "jsonl") -> bytes:
        """The whole experiment: spec, status history, checkpoint list and every series.

        ``format`` is ``"jsonl"`` (one JSON object per line) or ``"zip"`` (JSON files and one CSV per key).
        """
        return self._download(f"/experiments/{_quote(experiment_id)}/export", {"format": format})

    def _download(self, path: str, query: Mapping[str, Any]) -> bytes:
        status, _, data = self.raw_request("GET", path, query=query)
        if status >= 400:
            raise error_for(status, data)
        return data

    # MARK: studies

    def create_sweep(
        self,
        spec: Mapping[str, Any],
        grid: Mapping[str, Sequence[Any]],
        name: Optional[str] = None,
        group: Optional[str] = None,
        tags: Optional[Sequence[str]] = None,
        idempotency_key: Optional[str] = None,
    ) -> JSON:
        """One experiment per point of ``grid`` over ``spec``, all in one group.

        ``grid`` maps spec field paths (``"seed"``, ``"agent.gamma"``) to the values to try. Every
        point is validated before any is queued: one bad value raises :class:`InvalidInput` naming
        its path, and nothing is created. Answers the sweep with its ``experiments``.
        """
        body: Dict[str, Any] = {"spec": dict(spec), "grid": {k: list(v) for k, v in grid.items()}}
        for field, value in (("name", name), ("group", group), ("tags", None if tags is None else list(tags))):
            if value is not None:
                body[field] = value
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(self.request("POST", "/sweeps", body, headers=headers))

    def sweep(self, sweep_id: str, keys: Optional[Sequence[str]] = None) -> JSON:
        """A sweep and its points: status, sweep values and per metric count, last, best, min, max."""
        query = {"keys": ",".join(keys)} if keys else None
        return dict(self.request("GET", f"/sweeps/{_quote(sweep_id)}", query=query))

    def group(self, group: str, keys: Optional[Sequence[str]] = None) -> JSON:
        """A group's experiments with, per metric, count, last, best, min and max."""
        query = {"keys": ",".join(keys)} if keys else None
        return dict(self.request("GET", f"/groups/{_quote(group)}", query=query))

    def groups(self) -> List[JSON]:
        """Every group with its experiment count per status."""
        return list(self.request("GET", "/groups").get("groups", []))

    def tags(self) -> List[JSON]:
        """Every tag in use with how many experiments carry it."""
        return list(self.request("GET", "/tags").get("tags", []))

    def group_series(
        self,
        group: str,
        key: str,
        x: str = "env_steps",
        points: Optional[int] = None,
        split: Optional[Sequence[str]] = None,
    ) -> JSON:
        """One metric averaged across a group's runs: a curve per value of the ``split`` paths
        (by default the sweep's paths other than ``seed``; ``[]`` for one curve), each point with
        ``mean``, ``min``, ``max``, ``std`` and ``count`` on a common x grid."""
        path = f"/groups/{_quote(group)}/series/{urllib.parse.quote(key, safe='/')}"
        query = {"x": x, "points": points, "split": None if split is None else ",".join(split)}
        return dict(self.request("GET", path, query=query))

    def checkpoints(self, experiment_id: str) -> List[Checkpoint]:
        """The experiment's checkpoints, oldest first."""
        body = self.request("GET", f"/experiments/{_quote(experiment_id)}/checkpoints")
        return [Checkpoint.from_json(c) for c in body.get("checkpoints", [])]

    # MARK: acting

    def act(
        self,
        experiment: str,
        observation: Any,
        session: Optional[str] = None,
        reward: float = 0.0,
        terminated: bool = False,
        truncated: bool = False,
        reset: bool = False,
        success: Optional[bool] = None,
        collect: bool = False,
        mode: Optional[str] = None,
        sample: bool = False,
        checkpoint: Optional[str] = None,
    ) -> ActResult:
        """One step of a session (``POST /act``); opens a session when ``session`` is None.

        Args:
            experiment: the experiment id.
            observation: what ``env.reset()`` (with ``reset``) or ``env.step()`` returned.
            session: the session, or None to open one.
            reward, terminated, truncated: the outcome of the previous action.
            reset: the observation starts a new trial.
            success: whether the episode succeeded (on its last step), if known.
            collect: record the step for training (running external experiments).
            mode: ``"train"`` or ``"eval"`` (greedy running policy; nothing stored).
            sample: sample the action instead of taking the most likely one.
            checkpoint: for inference from a checkpoint: ``latest``, ``best`` or an id.
        """
        body = Step(observation, session, reward, terminated, truncated, reset, success).to_json()
        body["experiment"] = experiment
        _add_options(body, collect, mode, checkpoint, sample)
        return ActResult.from_json(self.request("POST", "/act", body))

    def act_batch(
        self,
        experiment: str,
        steps: Sequence[Union[Step, Mapping[str, Any]]],
        collect: bool = False,
        mode: Optional[str] = None,
        checkpoint: Optional[str] = None,
        sample: bool = False,
    ) -> BatchResult:
        """Several sessions' steps in one request (``POST /act/batch``), answered in order.

        A session may appear more than once; its steps apply in order (e.g. an episode-ending
        report followed by the ``reset`` step of its next trial). A bad element fails the whole
        request with nothing recorded; the error's ``field`` names it (``steps[3].observation``).
        """
        body: JSON = {"experiment": experiment, "steps": [Step.coerce(s).to_json() for s in steps]}
        _add_options(body, collect, mode, checkpoint, sample)
        return BatchResult.from_json(self.request("POST", "/act/batch", body))

    def session(self, session_id: str) -> JSON:
        """A session's record: checkpoint, context length, steps."""
        return dict(self.request("GET", f"/sessions/{_quote(session_id)}"))

    def close_session(self, session_id: str) -> None:
        """Ends a session and frees its context."""
        self.request("DELETE", f"/sessions/{_quote(session_id)}")

    def upload_episodes(self, experiment: str, episodes: Sequence[Union[Episode, Mapping[str, Any]]]) -> UploadResult:
        """Uploads offline trials to an external experiment; all are stored or (422) none.

        The error of a bad episode names it, e.g. ``episodes[2].actions[5]``.
        """
        body = {"episodes": [Episode.coerce(e) for e in episodes]}
        answer = self.request("POST", f"/experiments/{_quote(experiment)}/episodes", body)
        return UploadResult(accepted=int(answer.get("accepted", 0)), env_steps=int(answer.get("env_steps", 0)))


def _add_options(body: JSON, collect: bool, mode: Optional[str], checkpoint: Optional[str], sample: bool) -> None:
    if collect:
        body["collect"] = True
    if mode is not None:
        body["mode"] = mode
    if checkpoint is not None:
        body["checkpoint"] = checkpoint
    if sample:
        body["sample"] = True


def _quote(segment: str) -> str:
    return urllib.parse.quote(str(segment), safe="")


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

