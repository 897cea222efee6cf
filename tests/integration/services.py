"""Start Airflow's services as separate processes on loopback, and always stop them.

API server, scheduler (LocalExecutor), DAG processor and triggerer, each in a process group
of its own with its output in ``<AIRFLOW_HOME>/<service>.log``, sharing one configuration
through environment variables. Used by the integration test; Airflow 3 only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import requests

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
#: The part of the API server's health report that covers each service (besides the metadata DB).
_HEALTH_PARTS = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(home: Path, dags: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    """The environment every service and CLI call shares."""
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__WORKERS": "1",
        # Task workers reach the API server through this; without it they cannot report back.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        # Unset, Airflow 3.0 puts `iss: []` in its tokens, which current PyJWT refuses to encode.
        "AIRFLOW__API_AUTH__JWT_ISSUER": "neev-integration-test",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # Free ports, so that test runs side by side (the matrix's cells) do not collide.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        **extra,
    }


class Airflow:
    """A running set of services and a REST client for its API server."""

    def __init__(self, home: Path, env: dict[str, str], port: int) -> None:
        self.home = home
        self.env = env
        self.url = f"http://127.0.0.1:{port}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._token: str | None = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        airflow = str(Path(sys.executable).parent / "airflow")
        return subprocess.run([airflow, *args], env=self.env, capture_output=True, text=True, timeout=300)

    def start(self, services: tuple[str, ...] = SERVICES) -> None:
        airflow = str(Path(sys.executable).parent / "airflow")
        for service in services:
            # The child keeps its own copy of the file descriptor; ours is closed at once.
            with (self.home / f"{service}.log").open("wb") as log:
                self.processes[service] = subprocess.Popen(
                    [airflow, service],
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

    def stop(self) -> None:
        # Airflow 3.3 starts each task process in a process group of its own: collect every
        # descendant first, so that none outlives the services it belongs to.
        descendants = [child for process in self.processes.values() for child in _descendants(process)]
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)
        for child in descendants:
            with contextlib.suppress(psutil.Error):
                child.kill()

    def log(self, service: str) -> str:
        return (self.home / f"{service}.log").read_text(errors="replace")

    def task_logs(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str]:
        """Return the task's log files (the triggerer writes its own, ``*.trigger.*.log``) by name."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return {path.name: path.read_text(errors="replace") for path in sorted(folder.glob("*.log"))}

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self._token is None:
            self._token = requests.get(f"{self.url}/auth/token", timeout=10).json()["access_token"]
        headers = {"Authorization": f"Bearer {self._token}"}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
            except (requests.RequestException, ValueError):
                health = {}
            parts = ("metadatabase", *(_HEALTH_PARTS[s] for s in self.processes if s in _HEALTH_PARTS))
            if health and all(health.get(part, {}).get("status") == "healthy" for part in parts):
                return
            time.sleep(1)
        raise TimeoutError(f"Airflow did not become healthy in {timeout:.0f} s: {health}")

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.api("GET", f"/api/v2/dags/{dag_id}").status_code != 200:
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"the DAG processor did not load {dag_id} in {timeout:.0f} s")
            time.sleep(1)

    def start_dag(self, dag_id: str) -> str:
        """Unpause and trigger ``dag_id``; return the new run's id."""
        self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()
        created = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
        created.raise_for_status()
        run_id: str = created.json()["dag_run_id"]
        return run_id

    def wait_for_task_state(
        self, dag_id: str, run_id: str, task_id: str, state: str, timeout: float = 120
    ) -> None:
        deadline = time.monotonic() + timeout
        while self.task_states(dag_id, run_id).get(task_id) != state:
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{task_id} of {dag_id} not {state} after {timeout:.0f} s")
            time.sleep(0.5)

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """What a user does with "Mark as failed/success" in the UI."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        self.api("PATCH", path, json={"new_state": state}).raise_for_status()

    def run_dag(self, dag_id: str, timeout: float = 300) -> dict[str, Any]:
        """Unpause and trigger ``dag_id``; return the finished run."""
        run_id = self.start_dag(dag_id)
        deadline = time.monotonic() + timeout
        while True:
            run: dict[str, Any] = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()
            if run["state"] in ("success", "failed"):
                return run
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} run {run_id} still {run['state']} after {timeout:.0f} s")
            time.sleep(2)

    def wait_for_run(self, dag_id: str, timeout: float = 180) -> dict[str, Any]:
        """Wait until the scheduler has started a run of ``dag_id`` and it has finished; return it."""
        deadline = time.monotonic() + timeout
        while True:
            runs = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns").json()["dag_runs"]
            if runs and runs[-1]["state"] in ("success", "failed"):
                return dict(runs[-1])
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"no finished run of {dag_id} after {timeout:.0f} s: {runs}")
            time.sleep(2)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        body = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
        return {ti["task_id"]: ti["state"] for ti in body["task_instances"]}

    def _check_alive(self) -> None:
        for service, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(
                    f"airflow {service} exited ({process.returncode}):\n{self.log(service)[-3000:]}"
                )


def _descendants(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    try:
        return list(psutil.Process(process.pid).children(recursive=True))
    except psutil.Error:
        return []


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@contextmanager
def airflow_services(
    home: Path, dags: Path, extra_env: dict[str, str], services: tuple[str, ...] = SERVICES
) -> Iterator[Airflow]:
    """Migrate a fresh metadata DB, start the services, yield them; stop them whatever happens."""
    port = free_port()
    airflow = Airflow(home, service_env(home, dags, port, extra_env), port)
    migrated = airflow.cli("db", "migrate")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    try:
        airflow.start(services)
        airflow.wait_healthy()
        yield airflow
    finally:
        airflow.stop()
