"""Airflow 3.3 as a Celery cluster: API server, two schedulers, DAG processor, triggerer, workers.

Every component is a separate process tree (see :mod:`tests.support.processes`) sharing
one configuration through environment variables, exactly what each machine of a real cluster
would be given. The documentation page "Running on a Celery cluster" quotes
:func:`cluster_settings` between its markers, so the page says what this harness runs.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from tests.integration.services import Airflow
from tests.support.processes import ProcessTree, free_port

ROOT = Path(__file__).resolve().parents[2]
WORKER_CONCURRENCY = 4
#: Each service by its node name, and the ``airflow`` command that runs it.
SERVICES = {
    "api-server": "api-server",
    "scheduler-1": "scheduler",
    "scheduler-2": "scheduler",
    "dag-processor": "dag-processor",
    "triggerer": "triggerer",
}


def cluster_settings(*, database_url: str, broker_url: str, api_url: str) -> dict[str, str]:
    """The configuration every component of the cluster shares (as ``AIRFLOW__…`` variables)."""
    # [START celery_cluster_settings]
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        # This installation's own id: what lets the provider clean up by name (docs: Semantics).
        "AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID": "celery-cluster",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
        # psycopg 3 serves Airflow's async engine too (otherwise it would want asyncpg).
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": database_url,
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        # Task results in the metadata database, not in the broker.
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{database_url}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        # A worker takes a message only when a slot is free, so a worker that dies holds back
        # no message it had not started yet.
        "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
        # Every task slot of every scheduler is a worker slot (2 schedulers x 4 = 2 workers x 4):
        # tasks wait in the scheduler, not in the broker, so a queued task does not outlive
        # its queue timeout (below) behind a dead worker.
        "AIRFLOW__CORE__PARALLELISM": str(WORKER_CONCURRENCY),
        # A task whose worker died stops heartbeating; after this many seconds the scheduler
        # fails that try and, with retries left, runs the task again on a live worker.
        # Airflow's default is 300 s.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
        # A task sent to a worker that died before starting it is sent again after this.
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "180",
        "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "15",
        # Workers report to the API server; they never open the metadata database themselves.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
        # Shared secrets: the tokens the API server gives tasks are checked with the first;
        # connections are stored encrypted with the second. Every component needs the same.
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
    }
    # [END celery_cluster_settings]


def cluster_env(home: Path, api_port: int, *, database_url: str, broker_url: str) -> dict[str, str]:
    """The whole environment of every component: the shared settings and this harness's own."""
    api_url = f"http://127.0.0.1:{api_port}"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "NEEV"))}
    return {
        **inherited,
        **cluster_settings(database_url=database_url, broker_url=broker_url, api_url=api_url),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_ISSUER": "neev-celery-cluster",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        # One machine plays every node: each component says which one it is (see node.py).
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "tests.distributed.node.node_name",
        "PYTHONPATH": str(ROOT),
        # Log servers on free ports, so that parallel runs on one machine do not collide.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
    }


class CeleryCluster:
    """The running Airflow components; :attr:`rest` talks to the API server."""

    def __init__(self, home: Path, *, database_url: str, broker_url: str) -> None:
        self.home = home
        self.logs = home / "components"
        self.logs.mkdir(parents=True, exist_ok=True)
        api_port = free_port()
        self.env = cluster_env(home, api_port, database_url=database_url, broker_url=broker_url)
        # Its waits (health, DAG, runs) fail as soon as a component of the cluster has exited.
        self.rest = Airflow(home, self.env, api_port, check_alive=self.check_alive)
        self.components: dict[str, ProcessTree] = {}
        self.killed: list[ProcessTree] = []

    def migrate(self) -> None:
        migrated = self.rest.cli("db", "migrate")
        if migrated.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrated.stdout}{migrated.stderr}")

    def start(self, workers: int = 2) -> None:
        """Start the services and ``workers`` Celery workers; wait until Airflow says it is healthy."""
        for name, command in SERVICES.items():
            self._start(name, [command])
        for number in range(1, workers + 1):
            self.start_worker(f"worker-{number}")
        self.rest.wait_healthy(timeout=240)

    def start_worker(self, name: str) -> ProcessTree:
        """Start a Celery worker named ``name`` (also its node name, so the hostname of its tasks)."""
        return self._start(
            name,
            [
                "celery", "worker",
                "--concurrency", str(WORKER_CONCURRENCY),
                "--celery-hostname", f"{name}@neev-cluster",
                # Every component writes task logs to this machine's one log folder, which the
                # API server reads; a worker on a machine of its own would serve its logs instead.
                "--skip-serve-logs",
            ],
        )  # fmt: skip

    def _start(self, name: str, args: list[str]) -> ProcessTree:
        airflow = str(Path(sys.executable).parent / "airflow")
        env = {**self.env, "NEEV_CLUSTER_NODE": name}
        component = ProcessTree(name, [airflow, *args], self.logs / f"{name}.log", env=env)
        self.components[name] = component
        return component

    def kill(self, name: str) -> ProcessTree:
        """SIGKILL a component's whole process tree; it no longer counts as part of the cluster."""
        component = self.components.pop(name)
        component.kill()
        self.killed.append(component)
        return component

    def check_alive(self) -> None:
        for component in self.components.values():
            component.check_alive()

    def stop(self) -> None:
        """Stop every component: workers first, so no task is left half-way by a missing API server."""
        order = sorted(self.components.values(), key=lambda c: not c.name.startswith("worker"))
        for component in order:
            component.stop(grace=20)
        for component in self.killed:
            component.stop(grace=1)

    def all(self) -> list[ProcessTree]:
        return [*self.components.values(), *self.killed]

    def task_instances(self, dag_id: str, run_id: str, **params: Any) -> list[dict[str, Any]]:
        """Every task instance of the run (mapped ones included), as the REST API lists them."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        found: list[dict[str, Any]] = []
        while True:
            response = self.rest.api("GET", path, params={**params, "limit": 100, "offset": len(found)})
            response.raise_for_status()
            body = response.json()
            found += body["task_instances"]
            if len(found) >= body["total_entries"] or not body["task_instances"]:
                return found
