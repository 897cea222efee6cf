"""The provider on real Airflow services: API server, scheduler, DAG processor and triggerer.

``dag.test()`` runs triggers inline; here the deferred wait must travel to a separate
triggerer process and back, tasks run in processes the LocalExecutor spawns, and they
reach the connection through the API server. Airflow 3 only: Airflow 2 has neither the
API server nor a separate DAG processor, and cannot run the LocalExecutor on SQLite.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from neev_provider._compat import BaseTrigger
from neev_provider.emulator import EmulatorServer
from tests.integration.services import Airflow, airflow_services
from tests.support.airflow_version import AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS, AIRFLOW_V_3_3_PLUS
from tests.support.task_process import talking_to, wait_until

pytestmark = pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="needs Airflow 3's separate services")

ROOT = Path(__file__).resolve().parents[2]
MAIN_DAG = "neevcloud_scratch_volume_training"
FAILING_DAG = "scratch_volume_failing_work"

#: The console link template of the connection (NeevCloud documents none, so none is built in).
CONSOLE_URL = "https://console.example.com/{org_id}/{project_id}/volumes/{volume_id}"


@pytest.fixture(scope="module", name="airflow")
def fixture_airflow(
    neev_emulator_server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Airflow]:
    home = tmp_path_factory.mktemp("airflow-services")
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(ROOT / "example_dags" / "scratch_volume_training.py", dags)
    shutil.copy(ROOT / "tests" / "dags" / "scratch_volume_failing_work.py", dags)
    shutil.copy(ROOT / "tests" / "dags" / "killed_create.py", dags)
    shutil.copy(ROOT / "tests" / "dags" / "create_with_state_store.py", dags)
    shutil.copy(ROOT / "tests" / "dags" / "four_waits.py", dags)
    for example in ("training_data_volume.py", "train_on_ready_volume.py"):
        shutil.copy(ROOT / "example_dags" / example, dags)
    extra_env = {
        "AIRFLOW_CONN_NEEVCLOUD_DEFAULT": neev_emulator_server.airflow_connection(console_url=CONSOLE_URL),
        "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
        # OpenLineage's console transport: the events land in the task logs.
        "AIRFLOW__OPENLINEAGE__TRANSPORT": '{"type": "console"}',
    }
    with airflow_services(home, dags, extra_env) as airflow:
        yield airflow


@pytest.fixture(name="emulator")
def fixture_emulator(neev_emulator: EmulatorServer) -> EmulatorServer:
    # Long enough that the sensor's first look finds the volume pending, so it defers.
    neev_emulator.configure(bind_delay=4.0)
    return neev_emulator


def test_the_main_example_runs_with_its_wait_in_the_triggerer(
    airflow: Airflow, emulator: EmulatorServer
) -> None:
    airflow.wait_for_dag(MAIN_DAG)

    run = airflow.run_dag(MAIN_DAG)

    assert run["state"] == "success", airflow.log("scheduler")[-3000:]
    assert airflow.task_states(MAIN_DAG, run["dag_run_id"]) == dict.fromkeys(
        ["scratch_volume.create", "train", "scratch_volume.delete"], "success"
    )
    trigger_logs = {
        name: text
        for name, text in airflow.task_logs(MAIN_DAG, run["dag_run_id"], "scratch_volume.create").items()
        if ".trigger." in name
    }
    assert trigger_logs, "the create never deferred its wait to the triggerer"
    (trigger_log,) = trigger_logs.values()
    # The trigger's own progress lines (Airflow 3.1's trigger log does not name the logger).
    assert "waiting for bound" in trigger_log
    assert "Trigger fired event" in trigger_log
    assert emulator.volumes() == []
    assert [e["event"] for e in emulator.events()][:2] == ["created: pending, 100 GB in as-south-1", "bound"]

    # The console link, as the UI gets it from the API server, and the lifecycle in OpenLineage.
    run_id = run["dag_run_id"]
    volume_id = airflow.api(
        "GET",
        f"/api/v2/dags/{MAIN_DAG}/dagRuns/{run_id}/taskInstances/scratch_volume.create/xcomEntries/volume_id",
    ).json()["value"]
    links = airflow.api(
        "GET", f"/api/v2/dags/{MAIN_DAG}/dagRuns/{run_id}/taskInstances/scratch_volume.create/links"
    )
    assert links.json()["extra_links"] == {
        "NeevCloud volume": f"https://console.example.com/org-emulator/prj-emulator/volumes/{volume_id}"
    }
    namespace = "neevcloud://org-emulator/prj-emulator"
    create_events = _lineage(airflow, run_id, "scratch_volume.create")
    delete_events = _lineage(airflow, run_id, "scratch_volume.delete")
    assert ("COMPLETE", "outputs", namespace, "CREATE") in create_events
    assert ("COMPLETE", "inputs", namespace, "DROP") in delete_events


def test_concurrent_deferred_waits_each_log_their_own_volume_only(
    airflow: Airflow, emulator: EmulatorServer
) -> None:
    """Four waits share one client and its batched reads in the triggerer; their logs do not mix."""
    dag_id = "four_concurrent_waits"
    emulator.configure(bind_delay=3600)  # pending until every wait has said so in the triggerer
    airflow.wait_for_dag(dag_id)

    run_id = airflow.start_dag(dag_id)

    def trigger_log(index: int) -> str:
        logs = airflow.task_logs(dag_id, run_id, f"create_{index}")
        return "".join(text for name, text in logs.items() if ".trigger." in name)

    def deferred(index: int) -> bool:
        # Pending in the triggerer, and the scheduler has taken the deferred task's exit: Airflow
        # 3.0 fails a task resumed before its scheduler saw that exit ("killed externally").
        exited = (
            "Received executor event with state success for task instance "
            f"TaskInstanceKey(dag_id='{dag_id}', task_id='create_{index}', run_id='{run_id}'"
        )
        return "status=pending" in trigger_log(index) and exited in airflow.log("scheduler")

    wait_until(lambda: all(deferred(i) for i in range(4)), 180, "four waits pending in the triggerer")
    emulator.advance(3600)
    run = airflow.wait_for_run_to_finish(dag_id, run_id, timeout=300)
    assert run["state"] == "success", airflow.log("scheduler")[-3000:]
    volume_ids = {
        index: airflow.api(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/create_{index}/xcomEntries/volume_id",
        ).json()["value"]
        for index in range(4)
    }
    for index, own in volume_ids.items():
        mentioned = set(re.findall(r"Volume ([0-9a-f-]{36}):", trigger_log(index)))
        assert mentioned == {own}, f"create_{index}: its trigger log names {mentioned}, not only {own}"
    assert emulator.volumes() == []


def _lineage(airflow: Airflow, run_id: str, task_id: str) -> set[tuple[str, str, str, str]]:
    """The OpenLineage events the console transport wrote into a task's log, as
    (event type, side, dataset namespace, lifecycle change)."""
    found = set()
    for text in airflow.task_logs(MAIN_DAG, run_id, task_id).values():
        for line in text.splitlines():
            record = json.loads(line) if line.startswith("{") else {}
            if record.get("logger") != "openlineage.client.transport.console":
                continue
            event = json.loads(record["event"])
            for side in ("inputs", "outputs"):
                for dataset in event.get(side, []):
                    change = dataset.get("facets", {}).get("lifecycleStateChange", {})
                    found.add(
                        (event["eventType"], side, dataset["namespace"], change.get("lifecycleStateChange"))
                    )
    return found


@pytest.mark.skipif(
    not AIRFLOW_V_3_1_PLUS,
    reason="Airflow 3.0 starts an alias-scheduled run without its triggering asset events (the "
    "run has no consumed asset events), so the consumer cannot know its volume",
)
def test_a_bound_volume_schedules_the_dag_waiting_for_it(airflow: Airflow, emulator: EmulatorServer) -> None:
    consumer = "neevcloud_train_on_ready_volume"
    airflow.wait_for_dag(consumer)
    airflow.api("PATCH", f"/api/v2/dags/{consumer}", json={"is_paused": False}).raise_for_status()
    airflow.wait_for_dag("neevcloud_training_data_volume")

    producer = airflow.run_dag("neevcloud_training_data_volume")

    assert producer["state"] == "success"
    run = airflow.wait_for_run(consumer)
    assert run["state"] == "success", airflow.log("scheduler")[-3000:]
    assert airflow.task_states(consumer, run["dag_run_id"]) == {
        "announced_volumes": "success",
        "train": "success",
        "delete_volume": "success",
    }
    assert emulator.volumes() == []


def test_a_failing_training_run_still_ends_with_no_volume(airflow: Airflow, emulator: EmulatorServer) -> None:
    airflow.wait_for_dag(FAILING_DAG)

    run = airflow.run_dag(FAILING_DAG)

    assert run["state"] == "failed"
    states = airflow.task_states(FAILING_DAG, run["dag_run_id"])
    assert states == {
        "create_volume": "success",
        "wait_bound": "success",
        "train": "failed",
        "delete_volume": "success",
    }
    assert emulator.volumes() == []


@pytest.mark.skipif(
    not AIRFLOW_V_3_1_PLUS,
    reason="Airflow 3.0's API server reads a connection form from hook methods only when "
    "flask-appbuilder and wtforms are installed; Airflow 3.0 does not depend on them",
)
def test_the_api_server_serves_the_connection_form(airflow: Airflow) -> None:
    meta = airflow.api("GET", "/ui/connections/hook_meta").json()

    (neevcloud,) = [entry for entry in meta if entry["connection_type"] == "neevcloud"]
    assert neevcloud["hook_class_name"] == "neev_provider.hooks.neevcloud.NeevCloudHook"
    assert neevcloud["standard_fields"]["password"]["title"] == "API token"
    assert {"org_id", "project_id", "region_id", "auth_type", "timeout"} <= set(neevcloud["extra_fields"])


def test_the_provider_is_listed(airflow: Airflow) -> None:
    listed = airflow.cli("providers", "list", "-o", "json")
    assert "airflow-provider-neevcloud" in listed.stdout, listed.stderr


@pytest.mark.skipif(not AIRFLOW_V_3_3_PLUS, reason="the task state store arrived in Airflow 3.3")
def test_a_first_try_creates_with_one_call_through_the_real_task_state_store(
    airflow: Airflow, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neev_provider.client import CreateVolumeRequest
    from neev_provider.hooks.neevcloud import NeevCloudHook

    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection())
    client = NeevCloudHook().client
    for index in range(150):  # two pages: a lookup would cost two list calls
        client.create_volume(CreateVolumeRequest(size_gb=1, region_id="as-south-1", name=f"other-{index}"))
    emulator.clear_requests()
    airflow.wait_for_dag("create_with_state_store")

    run = airflow.run_dag("create_with_state_store")

    assert run["state"] == "success", airflow.log("scheduler")[-3000:]
    assert [r["operation"] for r in emulator.requests()] == ["createNetworkVolume"]


# -- a real task process killed through Airflow's supervisor ------------------------------------
#
# Marking a running task failed makes Airflow 3's supervisor send the task process SIGTERM and,
# five seconds later, SIGKILL. The task runner's SIGTERM handler only calls on_kill (the task goes
# on until the SIGKILL), so on_kill has those five seconds.

KILL_DAG = "killed_create_with_teardown"


def _clear_create(airflow: Airflow, run_id: str) -> None:
    """What a user does with "Clear" on the create task: its next try (and its teardown) runs."""
    body = {
        "dry_run": False,
        "dag_run_id": run_id,
        "task_ids": ["create_volume"],
        "include_downstream": True,
        "only_failed": False,
        "reset_dag_runs": True,
    }
    airflow.api("POST", f"/api/v2/dags/{KILL_DAG}/clearTaskInstances", json=body).raise_for_status()


def _task_process(airflow: Airflow, emulator: EmulatorServer) -> Any:
    port = int(emulator.url.rsplit(":", 1)[1])
    found: list[Any] = []

    def connected() -> bool:
        found[:] = [talking_to([airflow.processes["scheduler"].pid], port)]
        return found[0] is not None

    wait_until(connected, 60, "no task process is talking to the emulator", every=0.02)
    return found[0]


def test_a_create_killed_during_its_post_leaves_nothing_after_the_next_try(
    airflow: Airflow, emulator: EmulatorServer
) -> None:
    emulator.configure(bind_delay=1.0)
    # The POST is held 8 s before the emulator commits it, whatever happens to the client meanwhile.
    emulator.inject("latency", operation="createNetworkVolume", seconds=8.0)
    airflow.wait_for_dag(KILL_DAG)
    run_id = airflow.start_dag(KILL_DAG)
    # A once-only rule leaves the list when it fires: the POST has arrived and is being held.
    wait_until(lambda: emulator.faults() == [], 60, "the create never POSTed", every=0.02)
    task = _task_process(airflow, emulator)

    started = time.monotonic()
    airflow.set_task_state(KILL_DAG, run_id, "create_volume", "failed")
    ended = wait_until(lambda: not psutil.pid_exists(task.pid), 30, "the task outlived its kill", every=0.02)
    # No id was known: on_kill looked its own name up once, found nothing yet, and the POST then
    # committed after the task was gone. The volume is left for the next try.
    wait_until(lambda: len(emulator.volumes()) == 1, 30, "the held POST never committed", every=0.1)
    committed = time.monotonic() - started

    _clear_create(airflow, run_id)
    run = airflow.wait_for_run(KILL_DAG)

    assert run["state"] == "success", airflow.log("scheduler")[-3000:]
    assert emulator.volumes() == []
    assert [r["operation"] for r in emulator.requests()].count("createNetworkVolume") == 1  # adopted
    print(
        f"\nKILL during the POST: task process gone {ended:.2f} s after the kill; the POST committed "
        f"{committed:.2f} s after it; the next try adopted that volume and its teardown deleted it"
    )


@pytest.mark.parametrize("deferrable", [False, True], ids=["in-the-worker", "deferred"])
def test_a_create_killed_while_it_waits_deletes_its_volume_within_the_kill_window(
    airflow: Airflow, emulator: EmulatorServer, deferrable: bool
) -> None:
    if deferrable and not hasattr(BaseTrigger, "on_kill"):
        pytest.skip("triggers get on_kill from Airflow 3.3 on")
    dag_id = "killed_create_deferred" if deferrable else "killed_create_in_worker"
    emulator.configure(bind_delay=600)  # it would wait for ten minutes
    airflow.wait_for_dag(dag_id)
    run_id = airflow.start_dag(dag_id)
    airflow.wait_for_task_state(dag_id, run_id, "create_volume", "deferred" if deferrable else "running")
    wait_until(lambda: len(emulator.volumes()) == 1, 60, "the volume was never created", every=0.05)
    if deferrable:
        # Killed before a triggerer picked the trigger up, no on_kill could run; that window is
        # the reaper's. Here the user acts on a wait that is under way.
        wait_until(
            lambda: any(
                ".trigger." in name and "waiting for bound" in text
                for name, text in airflow.task_logs(dag_id, run_id, "create_volume").items()
            ),
            60,
            "the triggerer never ran the wait",
            every=0.5,
        )

    airflow.set_task_state(dag_id, run_id, "create_volume", "failed")
    deleted = wait_until(lambda: emulator.volumes() == [], 60, "the killed task left its volume", every=0.02)

    assert [r["operation"] for r in emulator.requests()].count("createNetworkVolume") == 1
    where = "in the triggerer" if deferrable else "in the worker"
    print(f"\nKILL while waiting {where}: volume deleted {deleted:.2f} s after the task was marked failed")
