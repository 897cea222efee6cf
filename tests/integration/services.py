"""Start Airflow's services as separate processes on loopback, and always stop them.

API server, scheduler (LocalExecutor), DAG processor and triggerer, each a process tree of its
own (:mod:`tests.support.processes`) with its output in ``<AIRFLOW_HOME>/<service>.log``,
sharing one configuration through environment variables. Used by the integration test; Airflow
3 only. :class:`Airflow` is also the REST client, and the one DAG-run poller, of the Celery
cluster harness (``tests/distributed``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import requests
import tenacity

from tests.support.postgres import PostgresServer
from tests.support.processes import ProcessTree, free_port, stop_trees

SERVICES = ("api-server", "scheduler", "dag-processor", "triggerer")
#: The part of the API server's health report that covers each service (besides the metadata DB).
_HEALTH_PARTS = {"scheduler": "scheduler", "triggerer": "triggerer", "dag-processor": "dag_processor"}
#: The states a DAG run ends in.
FINISHED = ("success", "failed")


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
    """A running set of services and a REST client for its API server.

    :param check_alive: called while waiting, besides checking the services started here, to
        fail as soon as another process the run needs has exited (the cluster harness's).
    """

    def __init__(
        self, home: Path, env: dict[str, str], port: int, check_alive: Callable[[], None] | None = None
    ) -> None:
        self.home = home
        self.env = env
        self.url = f"http://127.0.0.1:{port}"
        self.processes: dict[str, ProcessTree] = {}
        self._token: str | None = None
        self._check_others = check_alive

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        airflow = str(Path(sys.executable).parent / "airflow")
        return subprocess.run([airflow, *args], env=self.env, capture_output=True, text=True, timeout=300)

    def start(self, services: tuple[str, ...] = SERVICES) -> None:
        airflow = str(Path(sys.executable).parent / "airflow")
        for service in services:
            log = self.home / f"{service}.log"
            self.processes[service] = ProcessTree(f"airflow {service}", [airflow, service], log, env=self.env)

    def stop(self) -> None:
        """Stop every service together (one grace period), task processes included."""
        stop_trees(list(self.processes.values()), grace=20)

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

    def start_dag(self, dag_id: str, conf: Mapping[str, Any] | None = None) -> str:
        """Unpause and trigger ``dag_id`` (with ``conf``, if given); return the new run's id."""
        self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()
        body: dict[str, Any] = {"logical_date": None}
        if conf is not None:
            body["conf"] = dict(conf)
        created = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)
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
        for attempt in tenacity.Retrying(
            # The default SQLite database: on a busy machine the API server's write can meet the
            # scheduler's lock (a 500); setting a state is idempotent, so a second click is safe.
            retry=tenacity.retry_if_exception(_is_server_error),
            stop=tenacity.stop_after_attempt(5),
            wait=tenacity.wait_exponential(multiplier=0.5, max=4),
            reraise=True,
        ):
            with attempt:
                self.api("PATCH", path, json={"new_state": state}).raise_for_status()

    def run_dag(self, dag_id: str, timeout: float = 300) -> dict[str, Any]:
        """Unpause and trigger ``dag_id``; return the finished run."""
        return self.wait_for_run_to_finish(dag_id, self.start_dag(dag_id), timeout=timeout)

    def wait_for_run(self, dag_id: str, timeout: float = 180) -> dict[str, Any]:
        """Wait until the scheduler has started a run of ``dag_id`` and it has finished; return it."""
        return self.wait_for_run_to_finish(dag_id, None, timeout=timeout)

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The run ``run_id`` of ``dag_id`` as the REST API shows it now."""
        response = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")
        response.raise_for_status()
        run: dict[str, Any] = response.json()
        return run

    def latest_run(self, dag_id: str) -> dict[str, Any] | None:
        """The run of ``dag_id`` started last, or ``None`` before the first."""
        response = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns")
        response.raise_for_status()
        runs = response.json()["dag_runs"]
        return dict(runs[-1]) if runs else None

    def wait_for_run_to_finish(
        self, dag_id: str, run_id: str | None, *, timeout: float, every: float = 2.0
    ) -> dict[str, Any]:
        """Poll the run ``run_id`` (``None``: the latest, once there is one) until it has finished.

        Fails as soon as a watched process has exited, rather than at the end of ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while True:
            run = self.dag_run(dag_id, run_id) if run_id is not None else self.latest_run(dag_id)
            if run is not None and run["state"] in FINISHED:
                return run
            self._check_alive()
            if time.monotonic() > deadline:
                state = run["state"] if run is not None else "not started"
                raise TimeoutError(f"{dag_id} run {run_id or '(latest)'} still {state} after {timeout:.0f} s")
            time.sleep(every)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        body = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
        return {ti["task_id"]: ti["state"] for ti in body["task_instances"]}

    def _check_alive(self) -> None:
        for service in self.processes.values():
            service.check_alive()
        if self._check_others is not None:
            self._check_others()


@contextmanager
def airflow_services(
    home: Path, dags: Path, extra_env: dict[str, str], services: tuple[str, ...] = SERVICES
) -> Iterator[Airflow]:
    """Migrate a fresh metadata DB, start the services, yield them; stop them whatever happens.

    Several services write to the metadata DB at once, which SQLite is not made for: theirs is a
    throwaway PostgreSQL cluster (psycopg2, and asyncpg for Airflow's async engine: drivers every
    supported Airflow 3 takes), unless ``extra_env`` names a database. One service alone keeps
    Airflow's default SQLite file.
    """
    with ExitStack() as stack:
        if len(services) > 1 and "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN" not in extra_env:
            postgres = PostgresServer(home)
            stack.callback(postgres.stop)
            postgres.start()
            extra_env = {
                **extra_env,
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.url("psycopg2"),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": postgres.url("asyncpg"),
            }
        port = free_port()
        airflow = Airflow(home, service_env(home, dags, port, extra_env), port)
        migrated = airflow.cli("db", "migrate")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        stack.callback(airflow.stop)  # before the database stops
        airflow.start(services)
        airflow.wait_healthy()
        yield airflow


def _is_server_error(error: BaseException) -> bool:
    response = getattr(error, "response", None)
    return isinstance(error, requests.HTTPError) and response is not None and response.status_code >= 500
