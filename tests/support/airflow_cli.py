"""Run DAGs the way a user does: the ``airflow`` command, in an Airflow home of their own.

Shared by everything that must show a DAG working outside the test process: the demo
(``scripts/demo.py``), the check of the built wheel (``scripts/dist_check.py``), the test of
the README's snippet and the system test. Nothing of the caller's Airflow configuration leaks
in: every ``AIRFLOW*`` variable of the calling process is dropped, and the home, the DAGs
folder and the connections are the ones given.

Works with the Airflow 2 and 3 CLIs alike: a run is given an explicit logical date, which
``airflow tasks states-for-dag-run`` accepts on both in place of the run id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

#: Long enough for a DAG run against the emulator; a hung command fails instead of blocking CI.
DEFAULT_TIMEOUT = 900.0


@dataclass(frozen=True)
class DagTestRun:
    """What ``airflow dags test`` did: its exit code, each task's state, and where its output is."""

    dag_id: str
    logical_date: str
    returncode: int
    states: dict[str, str]
    log: Path
    seconds: float


@dataclass
class AirflowCLI:
    """The ``airflow`` command of one virtualenv, in a private ``AIRFLOW_HOME``.

    :param home: the Airflow home (created if missing).
    :param dags_folder: ``[core] dags_folder``.
    :param env: more environment variables, e.g. ``AIRFLOW_CONN_NEEVCLOUD_DEFAULT``.
    :param bin_dir: the virtualenv's ``bin`` directory; default: this interpreter's.
    :param cwd: the working directory of every command; default: ``home``, so that nothing in
        the caller's working directory is importable by accident.
    """

    home: Path
    dags_folder: Path
    env: Mapping[str, str] = field(default_factory=dict)
    bin_dir: Path = field(default_factory=lambda: Path(sys.executable).parent)
    cwd: Path | None = None

    def environment(self) -> dict[str, str]:
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "_AIRFLOW"))}
        return {
            **inherited,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            **self.env,
        }

    def run(
        self, *args: str, log: Path | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run ``airflow *args``; with ``log``, its output goes to that file and a failure is returned.

        Without ``log`` the output is captured, and a non-zero exit raises
        :class:`subprocess.CalledProcessError`.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        command = [str(self.bin_dir / "airflow"), *args]
        cwd = self.cwd or self.home
        env = self.environment()
        if log is None:
            return subprocess.run(
                command, env=env, cwd=cwd, capture_output=True, text=True, check=True, timeout=timeout
            )
        with log.open("w") as out:
            return subprocess.run(
                command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, text=True, timeout=timeout
            )

    def json(self, *args: str) -> list[dict[str, Any]]:
        """Run a command with ``-o json``; return its rows (log lines may precede them)."""
        output = self.run(*args, "-o", "json").stdout
        for line in reversed(output.splitlines()):
            if line.startswith("[{") or line == "[]":
                rows: list[dict[str, Any]] = json.loads(line)
                return rows
        raise RuntimeError(f"no JSON in the output of airflow {' '.join(args)}:\n{output[-3000:]}")

    def migrate(self) -> None:
        """Create the metadata database."""
        self.run("db", "migrate")

    def dags_test(self, dag_id: str, *, log: Path, conf: Mapping[str, Any] | None = None) -> DagTestRun:
        """Run ``airflow dags test`` once; return each task's state afterwards."""
        logical_date = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        args = ["dags", "test", dag_id, logical_date]
        if conf is not None:
            args += ["--conf", json.dumps(conf)]
        started = time.monotonic()
        returncode = self.run(*args, log=log).returncode
        took = time.monotonic() - started
        states = self.task_states(dag_id, logical_date)
        return DagTestRun(dag_id, logical_date, returncode, states, log, took)

    def task_states(self, dag_id: str, logical_date: str) -> dict[str, str]:
        """Return ``{task_id: state}`` of one run (``none`` for a task that never ran)."""
        try:
            rows = self.json("tasks", "states-for-dag-run", dag_id, logical_date)
        except subprocess.CalledProcessError:
            return {}  # the run was never created, e.g. the DAG did not load; the log tells why
        return {row["task_id"]: str(row["state"] or "none") for row in rows}
