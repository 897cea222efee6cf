"""Run the system test DAG as its documentation says: ``airflow dags test`` in a fresh AIRFLOW_HOME.

The same DAG file runs against the real API (``test_real_api.py``, with the NEEVCLOUD_*
variables of the caller's environment) and against the emulator (``test_on_emulator.py``, with
the variables pointed at it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from neev_provider.client import DEFAULT_HOST, ClientConfig, NeevCloudClient, TokenAuth, Volume
from neev_provider.volumes.naming import default_volume_name
from tests.support.airflow_cli import AirflowCLI, DagTestRun

DAGS = Path(__file__).resolve().parent / "neevcloud"
DAG_ID = "neevcloud_system_volume_lifecycle"
REQUIRED = ("NEEVCLOUD_TOKEN", "NEEVCLOUD_ORG_ID", "NEEVCLOUD_PROJECT_ID", "NEEVCLOUD_REGION_ID")
#: Every run's volume is named this, then a digest of the run (the create task's default name).
VOLUME_NAME_STEM = default_volume_name("any", DAG_ID, "create_volume", "any run").rsplit("-", 1)[0]


def missing(env: Mapping[str, str]) -> list[str]:
    """The required variables ``env`` lacks."""
    return [name for name in REQUIRED if not env.get(name)]


def run_system_test(env: Mapping[str, str], workdir: Path) -> DagTestRun:
    """Run the DAG once with the NEEVCLOUD_* variables of ``env``; Airflow's files go under ``workdir``."""
    settings = {name: value for name, value in env.items() if name.startswith("NEEVCLOUD_")}
    cli = AirflowCLI(home=workdir / "airflow-home", dags_folder=DAGS, env=settings)
    cli.migrate()
    return cli.dags_test(DAG_ID, log=workdir / "dags-test.log")


def expected_states(*, login: bool) -> dict[str, str]:
    """Every task succeeded; the watcher, with nothing failed, is skipped."""
    tasks = [
        "check_token_accepted",
        "check_error_bodies",
        "create_volume",
        "wait_bound",
        "extend_volume",
        "check_extended",
        "delete_volume",
    ]
    states = dict.fromkeys(tasks + (["check_login"] if login else []), "success")
    return {**states, "watcher": "skipped"}


def leftover_volumes(env: Mapping[str, str]) -> list[Volume]:
    """Volumes of this system test, of any run, still in the project."""
    config = ClientConfig(
        env["NEEVCLOUD_ORG_ID"],
        env["NEEVCLOUD_PROJECT_ID"],
        TokenAuth(env["NEEVCLOUD_TOKEN"]),
        host=env.get("NEEVCLOUD_HOST") or DEFAULT_HOST,
    )
    with NeevCloudClient(config) as client:
        return [volume for volume in client.iter_volumes() if volume.name.startswith(VOLUME_NAME_STEM + "-")]


def report(run: DagTestRun) -> str:
    """A failure message: the states, and where the whole output is."""
    states = ", ".join(f"{task}={state}" for task, state in sorted(run.states.items()))
    return f"`airflow dags test {run.dag_id}` exited {run.returncode}: {states or 'no run'}; log: {run.log}"
