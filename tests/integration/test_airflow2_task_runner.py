"""A create killed in Airflow 2's task runner: SIGTERM to the real task process.

``airflow tasks run --local`` starts a LocalTaskJob whose task runner forks the task process; when
a user marks the task failed, the job sends that process SIGTERM (and SIGKILL after
``killed_task_cleanup_time``). Its handler calls ``on_kill`` and ends the task. Here the test sends
the SIGTERM itself, to the process the runner forked. Airflow 2 only: Airflow 3's supervisor is
covered in ``test_airflow_services.py``.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neev_provider.emulator import EmulatorServer
from tests.support.airflow_cli import AirflowCLI
from tests.support.airflow_version import AIRFLOW_V_3_0_PLUS
from tests.support.postgres import PostgresServer
from tests.support.task_process import talking_to, wait_until

pytestmark = pytest.mark.skipif(AIRFLOW_V_3_0_PLUS, reason="Airflow 2's task runner")

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "killed_create_with_teardown"


@pytest.fixture(scope="module", name="cli")
def fixture_cli(
    neev_emulator_server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AirflowCLI]:
    home = tmp_path_factory.mktemp("airflow2-task-runner")
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(ROOT / "tests" / "dags" / "killed_create.py", dags)
    # PostgreSQL, as a deployment has: on SQLite the killed task's write of its failed state met
    # the job's heartbeat on a busy machine ("database is locked") and the state stayed running.
    postgres = PostgresServer(home)
    try:
        postgres.start()  # inside: a start that fails half-way still stops the server it began
        env = {
            "AIRFLOW_CONN_NEEVCLOUD_DEFAULT": neev_emulator_server.airflow_connection(),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": postgres.url("psycopg2"),
            "AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID": "airflow2-task-runner",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        }
        cli = AirflowCLI(home, dags, env)
        cli.migrate()
        cli.run("dags", "reserialize")
        yield cli
    finally:
        postgres.stop()


@pytest.fixture(name="run_id")
def fixture_run_id(cli: AirflowCLI, request: pytest.FixtureRequest) -> str:
    run_id = f"kill-{request.node.name[-40:]}-{time.monotonic_ns()}".replace("[", "-").replace("]", "")
    cli.run("dags", "trigger", DAG_ID, "--run-id", run_id)
    return run_id


@pytest.fixture(name="emulator")
def fixture_emulator(neev_emulator: EmulatorServer) -> EmulatorServer:
    return neev_emulator


def _task_run(cli: AirflowCLI, task_id: str, run_id: str, *extra: str) -> subprocess.Popen[str]:
    """``airflow tasks run --local``, ignoring dependencies: the run is queued, no scheduler runs it."""
    command = [str(cli.bin_dir / "airflow"), "tasks", "run", DAG_ID, task_id, run_id, "--local", "-A", *extra]
    # The child keeps its own copy of the file descriptor; ours is closed at once.
    with (cli.home / f"{task_id}-{run_id}.log").open("w") as log:
        return subprocess.Popen(
            command, env=cli.environment(), cwd=cli.home, stdout=log, stderr=subprocess.STDOUT, text=True
        )


def _state(cli: AirflowCLI, task_id: str, run_id: str) -> str:
    return cli.run("tasks", "state", DAG_ID, task_id, run_id).stdout.strip().splitlines()[-1]


@pytest.fixture(name="runs")
def fixture_runs() -> Iterator[list[subprocess.Popen[str]]]:
    """Every ``tasks run`` the test starts, stopped whatever happens."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _kill_task_process(job: subprocess.Popen[str], emulator: EmulatorServer) -> float:
    """SIGTERM the process the task runner forked (the one talking to the API); return when sent."""
    port = int(emulator.url.rsplit(":", 1)[1])
    found: list[object] = []

    def forked() -> bool:
        found[:] = [talking_to([job.pid], port)]
        return found[0] is not None

    wait_until(forked, 60, "the task runner never forked a task talking to the API", every=0.02)
    task = found[0]
    task.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
    return time.monotonic()


def test_a_create_killed_while_it_waits_deletes_its_volume(
    cli: AirflowCLI, emulator: EmulatorServer, run_id: str, runs: list[subprocess.Popen[str]]
) -> None:
    emulator.configure(bind_delay=600)
    job = _task_run(cli, "create_volume", run_id)
    runs.append(job)
    wait_until(lambda: len(emulator.volumes()) == 1, 120, "the volume was never created", every=0.05)

    killed = _kill_task_process(job, emulator)
    deleted = wait_until(lambda: emulator.volumes() == [], 30, "the killed task left its volume", every=0.02)
    job.wait(60)
    ended = time.monotonic() - killed

    assert _state(cli, "create_volume", run_id) == "failed"
    assert deleted < 5.0
    print(
        f"\nKILL (Airflow 2) while waiting: volume deleted {deleted:.2f} s after SIGTERM, done {ended:.2f} s"
    )


def test_a_create_killed_during_its_post_leaves_nothing_after_the_next_try(
    cli: AirflowCLI, emulator: EmulatorServer, run_id: str, runs: list[subprocess.Popen[str]]
) -> None:
    emulator.configure(bind_delay=1.0)
    emulator.inject("latency", operation="createNetworkVolume", seconds=8.0)
    job = _task_run(cli, "create_volume", run_id)
    runs.append(job)
    # A once-only rule leaves the list when it fires: the POST has arrived and is being held.
    wait_until(lambda: emulator.faults() == [], 120, "the create never POSTed", every=0.02)

    killed = _kill_task_process(job, emulator)
    job.wait(60)
    ended = time.monotonic() - killed
    assert _state(cli, "create_volume", run_id) == "failed"
    wait_until(lambda: len(emulator.volumes()) == 1, 30, "the held POST never committed", every=0.1)

    # The next try (forced: the killed one failed) adopts that volume; the teardown deletes it.
    retry = _task_run(cli, "create_volume", run_id, "-f")
    runs.append(retry)
    assert retry.wait(120) == 0
    teardown = _task_run(cli, "delete_volume", run_id)
    runs.append(teardown)
    assert teardown.wait(120) == 0

    assert emulator.volumes() == []
    assert [r["operation"] for r in emulator.requests()].count("createNetworkVolume") == 1
    print(f"\nKILL (Airflow 2) during the POST: task done {ended:.2f} s after SIGTERM; the next try adopted")
