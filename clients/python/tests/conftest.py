"""Fixtures: a live ``amago serve`` on a free loopback port, and experiments on it.

The server binary is ``$AMAGO_BIN``, by default the release build of the repository this folder
sits in (``<repo>/.build/release/amago``); nothing is built here.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

import pytest

from amago_client import TERMINAL_STATUSES, Client, TransportError

REPO = Path(__file__).resolve().parents[3]
DEFAULT_BIN = REPO / ".build" / "release" / "amago"


def amago_bin() -> Path:
    """The server binary the tests run."""
    return Path(os.environ.get("AMAGO_BIN") or DEFAULT_BIN)


class Server:
    """One ``amago serve`` subprocess on ``127.0.0.1:0`` with its own data folder."""

    def __init__(self, data: Path, log: Path, *extra: str) -> None:
        self.data = data
        self.log_path = log
        self.extra = list(extra)
        self.process: Optional["subprocess.Popen[str]"] = None
        self.url = ""
        self.lines: List[str] = []

    def start(self, timeout: float = 60.0) -> "Server":
        """Starts the server, reads its port from the first stdout line and waits for ``/readyz``."""
        binary = amago_bin()
        if not binary.exists():
            pytest.fail(f"no amago binary at {binary}: build it (swift build -c release) or set AMAGO_BIN")
        args = [str(binary), "serve", "--addr", "127.0.0.1:0", "--data", str(self.data), "--workers", "1",
                "--public", "none", *self.extra]
        stderr = open(self.log_path, "a", encoding="utf-8")
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1)
        stderr.close()
        first = self._first_line(timeout)
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        if not match:
            self.process.kill()
            pytest.fail(f"unexpected first line of amago serve: {first!r}\n{self.log_tail()}")
        self.url = f"http://127.0.0.1:{match.group(1)}"
        threading.Thread(target=self._drain, daemon=True).start()
        self._wait_ready(timeout)
        return self

    def _first_line(self, timeout: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            if not selector.select(timeout):
                self.process.kill()
                pytest.fail(f"amago serve printed nothing in {timeout:g} s\n{self.log_tail()}")
        line = self.process.stdout.readline()
        self.lines.append(line)
        return line

    def _drain(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def _wait_ready(self, timeout: float) -> None:
        client = Client(self.url, timeout=5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                with contextlib.suppress(TransportError):
                    if client.ready():
                        return
                if self.process is not None and self.process.poll() is not None:
                    pytest.fail(f"amago serve exited with {self.process.returncode}\n{self.log_tail()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"/readyz not 200 after {timeout:g} s\n{self.log_tail()}")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 120.0) -> int:
        """SIGTERM, then the exit code (killed after ``timeout`` seconds)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"amago serve did not exit {timeout:g} s after SIGTERM\n{self.log_tail()}")
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's stderr and its stdout lines, for failure messages."""
        try:
            err = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        except OSError:
            err = []
        return "stdout:\n" + "".join(self.lines[-lines:]) + "\nstderr:\n" + "\n".join(err)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The session's server; its clean exit on SIGTERM is checked at the end."""
    root = tmp_path_factory.mktemp("amago")
    srv = Server(root / "data", root / "serve.log").start()
    yield srv
    code = srv.stop()
    assert code == 0, f"amago serve exited with {code} after SIGTERM\n{srv.log_tail()}"


@pytest.fixture()
def client(server: Server) -> Iterator[Client]:
    """A client of the session's server."""
    with Client(server.url, timeout=120) as c:
        yield c


def external_spec(observation_size: int = 3, action_space: Optional[Mapping[str, Any]] = None,
                  **sections: Any) -> Dict[str, Any]:
    """A small external experiment spec; ``sections`` replace whole spec sections."""
    spec: Dict[str, Any] = {
        "name": "client-test",
        "environment": {"name": "external", "parameters": {
            "observation_size": observation_size,
            "action_space": dict(action_space or {"kind": "discrete", "n": 3}),
            "episodes_per_trial": 1,
        }},
        "model": {"d_model": 16, "layers": 1, "heads": 2, "timestep_hidden": 32, "timestep_output": 16,
                  "actor_hidden": 32, "critic_hidden": 32},
        "schedule": {"epochs": 5, "parallel_actors": 2, "timesteps_per_epoch": 1000, "batches_per_epoch": 2,
                     "batch_size": 4, "max_seq_len": 8},
        "evaluation": {"interval": 0},
    }
    spec.update(sections)
    return spec


@contextlib.contextmanager
def running(client: Client, spec: Mapping[str, Any], wait: bool = True) -> Iterator[str]:
    """Creates the experiment, waits until it runs, yields its id, then stops it and waits it out."""
    experiment = str(client.create_experiment(spec)["id"])
    try:
        if wait:
            client.wait(experiment, "running", timeout=300)
        yield experiment
    finally:
        finish(client, experiment)


def finish(client: Client, experiment: str) -> Dict[str, Any]:
    """Stops the experiment unless it already ended; waits for a terminal status."""
    status = client.experiment(experiment)["status"]
    if status not in TERMINAL_STATUSES and status != "stopping":
        with contextlib.suppress(Exception):
            client.stop(experiment)
    return client.wait(experiment, TERMINAL_STATUSES, timeout=300)


def collected_steps(client: Client, experiment: str) -> int:
    """The experiment's collected env steps, as ``GET /experiments/{id}`` reports them."""
    detail = client.experiment(experiment)
    collection = detail.get("collection")
    assert isinstance(collection, dict), f"running external experiment without collection: {detail}"
    return int(collection["env_steps"])
