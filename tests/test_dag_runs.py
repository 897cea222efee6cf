"""Whole DAGs through ``dag.test()`` against the emulator: task states and volumes left."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from neev_provider.emulator import EmulatorServer
from tests.support.contract import ContractMonitor
from tests.support.emulator_events import detached_once_refused

DAGS = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


@pytest.fixture(scope="session", name="airflow_db")
def fixture_airflow_db() -> None:
    """A fresh metadata database in the session's private AIRFLOW_HOME."""
    from airflow.utils import db

    db.resetdb()


@pytest.fixture(name="neev_connection")
def fixture_neev_connection(neev_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    neev_emulator.configure(bind_delay=0.3, resize_delay=0.3)
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", neev_emulator.airflow_connection())
    return neev_emulator


def load_dags(path: Path) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return {
        value.dag_id: value
        for value in vars(module).values()
        if type(value).__name__ in ("DAG", "SerializedDAG")
    }


def load_dag(path: Path) -> Any:
    (dag,) = load_dags(path).values()
    return dag


def task_states(run: Any) -> dict[str, str]:
    return {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in run.get_task_instances()}


def test_a_failing_work_task_still_ends_with_no_volume(
    airflow_db: None, neev_connection: EmulatorServer
) -> None:
    run = load_dag(DAGS / "scratch_volume_failing_work.py").test()

    assert task_states(run) == {
        "create_volume": "success",
        "wait_bound": "success",
        "train": "failed",
        "delete_volume": "success",
    }
    assert neev_connection.volumes() == []
    assert [r["operation"] for r in neev_connection.requests()].count("createNetworkVolume") == 1


@pytest.fixture(name="instant_emulator")
def fixture_instant_emulator(neev_connection: EmulatorServer) -> EmulatorServer:
    """No lifecycle delays: the examples then run at full speed (deferral has its own test above)."""
    neev_connection.configure(bind_delay=0, resize_delay=0)
    return neev_connection


MAIN_EXAMPLE_TASKS = ["scratch_volume.create", "train", "scratch_volume.delete"]


def test_example_scratch_volume_training(airflow_db: None, instant_emulator: EmulatorServer) -> None:
    run = load_dag(DAGS / "scratch_volume_training.py").test()

    assert task_states(run) == dict.fromkeys(MAIN_EXAMPLE_TASKS, "success")
    assert instant_emulator.volumes() == []
    assert [r["operation"] for r in instant_emulator.requests()].count("createNetworkVolume") == 1


def test_example_scratch_volume_four_tasks(airflow_db: None, instant_emulator: EmulatorServer) -> None:
    run = load_dag(DAGS / "scratch_volume_four_tasks.py").test()

    assert task_states(run) == dict.fromkeys(
        ["create_volume", "wait_bound", "train", "delete_volume"], "success"
    )
    assert instant_emulator.volumes() == []


def test_example_scratch_volume_training_when_training_fails(
    airflow_db: None, instant_emulator: EmulatorServer
) -> None:
    # The second run of `make demo`: the teardown deletes the volume all the same.
    run = load_dag(DAGS / "scratch_volume_training.py").test(run_conf={"fail_training": True})

    assert task_states(run) == {**dict.fromkeys(MAIN_EXAMPLE_TASKS, "success"), "train": "failed"}
    assert instant_emulator.volumes() == []


def test_example_scheduled_provisioning(airflow_db: None, instant_emulator: EmulatorServer) -> None:
    run = load_dag(DAGS / "scheduled_provisioning.py").test()

    assert set(task_states(run).values()) == {"success"}
    extends = [r for r in instant_emulator.requests() if r["operation"] == "extendNetworkVolume"]
    assert [r["status"] for r in extends] == [202]  # 50 GB grown once, to 150 GB
    assert instant_emulator.volumes() == []


# Airflow 3.2's dag.test() spends about 3 s on each task run, so the 25 runs of this DAG take 75 to
# 90 s on an idle machine, and more than the suite's 300 s hang guard on a busy one.
@pytest.mark.timeout(900)
def test_example_fanout_trials(airflow_db: None, instant_emulator: EmulatorServer) -> None:
    run = load_dag(DAGS / "fanout_trials.py").test()

    states = mapped_states(run)
    assert states["trial.run_trial"] == ["success"] * 4 + ["failed"]  # the 0.1 rate diverges
    assert states["trial.scratch_volume.create"] == ["success"] * 5
    assert states["trial.scratch_volume.delete"] == ["success"] * 5  # the failed trial's too
    creates = [r for r in instant_emulator.requests() if r["operation"] == "createNetworkVolume"]
    deletes = [r for r in instant_emulator.requests() if r["operation"] == "deleteNetworkVolume"]
    assert len(creates) == 5
    created = {
        ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index, key="volume_id")
        for ti in run.get_task_instances()
        if ti.task_id == "trial.scratch_volume.create"
    }
    assert len(created) == 5  # a volume per trial
    assert {r["path"].rsplit("/", 1)[1] for r in deletes} == created  # each deleted once, none else
    assert len(deletes) == 5
    assert instant_emulator.volumes() == []


def mapped_states(run: Any) -> dict[str, list[str]]:
    states: dict[str, list[str]] = {}
    for ti in sorted(run.get_task_instances(), key=lambda ti: (ti.task_id, ti.map_index)):
        states.setdefault(ti.task_id, []).append(str(getattr(ti.state, "value", ti.state)))
    return states


@pytest.mark.parametrize(
    "dag_id",
    [
        "teardown_of_named_volume",
        "teardown_of_named_volume_templated",
        "teardown_of_named_volume_after_a_step",
    ],
    ids=["reference", "template", "after-a-step"],
)
def test_the_teardown_pattern_leaves_a_pre_existing_volume_alone(
    airflow_db: None,
    neev_connection: EmulatorServer,
    dag_id: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from neev_provider.client import CreateVolumeRequest
    from neev_provider.hooks.neevcloud import NeevCloudHook

    request = CreateVolumeRequest(size_gb=50, region_id="as-south-1", name="team-data")
    team_data = NeevCloudHook().client.create_volume(request)

    run = load_dags(DAGS / "teardown_of_named_volume.py")[dag_id].test()

    states = task_states(run)
    assert (states["create_volume"], states["delete_volume"]) == ("success", "skipped")
    assert [v["id"] for v in neev_connection.volumes()] == [team_data.id]
    # Airflow 2 logs through logging, Airflow 3 through structlog to stdout.
    logged = caplog.text + capsys.readouterr().out
    assert f"Volume {team_data.id} was adopted by task create_volume, not created by it" in logged


def test_the_teardown_pattern_deletes_a_volume_its_create_made(
    airflow_db: None, neev_connection: EmulatorServer
) -> None:
    run = load_dags(DAGS / "teardown_of_named_volume.py")["teardown_of_named_volume"].test()

    assert task_states(run) == {"create_volume": "success", "delete_volume": "success"}
    assert neev_connection.volumes() == []


def _team_data(size_gb: int) -> Any:
    from neev_provider.client import CreateVolumeRequest
    from neev_provider.hooks.neevcloud import NeevCloudHook

    request = CreateVolumeRequest(size_gb=size_gb, region_id="as-south-1", name="team-data")
    return NeevCloudHook().client.create_volume(request)


def test_a_scratch_volume_named_after_an_existing_one_uses_it_and_leaves_it(
    airflow_db: None, neev_connection: EmulatorServer
) -> None:
    team_data = _team_data(size_gb=80)

    run = load_dags(DAGS / "scratch_volume_named.py")["scratch_named"].test()

    states = task_states(run)
    assert states == {
        "scratch_volume.create": "success",
        "use": "success",
        "scratch_volume.delete": "skipped",
    }
    assert run.get_task_instance("use").xcom_pull(task_ids="use") == team_data.id
    assert [(v["id"], v["sizeGB"]) for v in neev_connection.volumes()] == [(team_data.id, 80)]


def test_a_scratch_volume_refuses_a_smaller_existing_volume_without_extend_to_fit(
    airflow_db: None, neev_connection: EmulatorServer
) -> None:
    team_data = _team_data(size_gb=20)

    run = load_dags(DAGS / "scratch_volume_named.py")["scratch_named"].test()

    # The create refuses (no retry: nothing would change); the block and the teardown do not run.
    assert task_states(run) == {
        "scratch_volume.create": "failed",
        "use": "upstream_failed",
        "scratch_volume.delete": "upstream_failed",
    }
    assert [(v["id"], v["sizeGB"]) for v in neev_connection.volumes()] == [(team_data.id, 20)]


def test_extend_to_fit_grows_a_smaller_existing_volume_first_and_keeps_it(
    airflow_db: None, neev_connection: EmulatorServer
) -> None:
    team_data = _team_data(size_gb=20)

    run = load_dags(DAGS / "scratch_volume_named.py")["scratch_extend_to_fit"].test()

    assert task_states(run) == {
        "scratch_volume.create": "success",
        "scratch_volume.extend": "success",
        "use": "success",
        "scratch_volume.delete": "skipped",
    }
    assert [(v["id"], v["sizeGB"]) for v in neev_connection.volumes()] == [(team_data.id, 50)]
    extends = [r for r in neev_connection.requests() if r["operation"] == "extendNetworkVolume"]
    assert [r["status"] for r in extends] == [202]


def test_extend_to_fit_on_a_new_volume_creates_it_at_size_and_deletes_it(
    airflow_db: None, neev_connection: EmulatorServer
) -> None:
    run = load_dags(DAGS / "scratch_volume_named.py")["scratch_extend_to_fit"].test()

    assert set(task_states(run).values()) == {"success"}
    assert neev_connection.volumes() == []
    assert [r["operation"] for r in neev_connection.requests()].count("extendNetworkVolume") == 0


def test_a_deferred_create_cleans_up_from_the_event_alone(
    airflow_db: None, neev_connection: EmulatorServer
) -> None:
    neev_connection.script_outcome("bind", "failed")

    run = load_dags(DAGS / "deferred_resume_state.py")["deferred_create_cleans_up"].test()

    assert task_states(run) == {"create_volume": "failed"}
    assert neev_connection.volumes() == []  # delete_on_failure ran on resume


def test_a_deferred_delete_keeps_waiting_for_the_detach(
    airflow_db: None, neev_connection: EmulatorServer, contract_monitor: ContractMonitor
) -> None:
    from neev_provider.client import CreateVolumeRequest
    from neev_provider.hooks.neevcloud import NeevCloudHook

    volume = NeevCloudHook().client.create_volume(CreateVolumeRequest(size_gb=20, region_id="as-south-1"))
    attachment = neev_connection.attach(volume.id, resource_name="trainer-0", mount_path="/mnt/data")
    with detached_once_refused(neev_connection, contract_monitor, volume.id, attachment["id"]):
        dag = load_dags(DAGS / "deferred_resume_state.py")["deferred_delete_waits_for_detach"]
        run = dag.test(run_conf={"volume_id": volume.id})

    assert task_states(run) == {"delete_volume": "success"}
    assert neev_connection.volumes() == []
    deletes = [r["status"] for r in neev_connection.requests() if r["operation"] == "deleteNetworkVolume"]
    assert deletes[0] == 400
    assert deletes[-1] == 204


def test_example_reap_orphaned_volumes_keeps_what_is_young_or_named(
    airflow_db: None, instant_emulator: EmulatorServer
) -> None:
    from neev_provider.client import CreateVolumeRequest
    from neev_provider.deployment import deployment_id
    from neev_provider.hooks.neevcloud import NeevCloudHook
    from neev_provider.volumes.naming import default_volume_name

    client = NeevCloudHook().client
    names = (
        "team-datasets",
        default_volume_name(deployment_id(), "etl", "create_volume", "run-1"),
        default_volume_name("another-airflow", "etl", "create_volume", "run-1"),
    )
    for name in names:
        client.create_volume(CreateVolumeRequest(size_gb=10, region_id="as-south-1", name=name))

    run = load_dag(DAGS / "reap_orphaned_volumes.py").test()

    assert task_states(run) == {"reap_orphaned_volumes": "success"}
    # A person's, this deployment's younger than max_age, and another deployment's.
    assert len(instant_emulator.volumes()) == 3
    # Only this deployment's volume is judged (the others are not its to judge), and kept for its age.
    verdicts = run.get_task_instance("reap_orphaned_volumes").xcom_pull(task_ids="reap_orphaned_volumes")
    assert [(v["name"], v["action"]) for v in verdicts] == [(names[1], "keep")]
    assert "younger than max_age" in verdicts[0]["reason"]


def sync_to_db(dag: Any) -> None:
    """Airflow 2's dag.test() records an alias's event only for a DAG already in the DB (3 syncs itself)."""
    if importlib.util.find_spec("airflow.sdk") is None:
        dag.sync_to_db()


def asset_events(uri: str) -> list[Any]:
    """The asset events (dataset events on Airflow 2) recorded for ``uri``."""
    from airflow.utils.session import create_session
    from sqlalchemy import select

    try:
        from airflow.models.asset import AssetEvent as Event, AssetModel as Model
    except ImportError:  # Airflow 2
        from airflow.models.dataset import (
            DatasetEvent as Event,
            DatasetModel as Model,
        )

    model_id = Event.asset_id if hasattr(Event, "asset_id") else Event.dataset_id
    with create_session() as session:
        events = session.scalars(
            select(Event).join(Model, model_id == Model.id).where(Model.uri == uri)
        ).all()
        return [(event.extra, [alias.name for alias in event.source_aliases]) for event in events]


def test_example_training_data_volume_announces_the_bound_volume(
    airflow_db: None, instant_emulator: EmulatorServer
) -> None:
    dag = load_dag(DAGS / "training_data_volume.py")
    sync_to_db(dag)
    run = dag.test()

    assert task_states(run) == {"create_volume": "success"}
    (volume,) = instant_emulator.volumes()
    uri = f"neevcloud://org-emulator/prj-emulator/{volume['name']}"
    extra = {"volume_id": volume["id"], "size_gb": 50, "region_id": "as-south-1", "created": True}
    assert (extra, ["neevcloud-training-data"]) in [
        ({k: e.get(k) for k in extra}, aliases) for e, aliases in asset_events(uri)
    ]
    # The consumer is scheduled on that alias (Airflow 3 says asset, Airflow 2 dataset).
    timetable = load_dag(DAGS / "train_on_ready_volume.py").timetable
    condition = getattr(timetable, "asset_condition", None) or timetable.dataset_condition
    assert [alias.name for alias in condition.objects] == ["neevcloud-training-data"]


def _event_model() -> tuple[Any, str]:
    """The asset event model and DagRun's relation to the events a run consumed (Airflow 2: datasets)."""
    try:
        from airflow.models.asset import AssetEvent

        return AssetEvent, "consumed_asset_events"
    except ImportError:  # Airflow 2
        from airflow.models.dataset import DatasetEvent

        return DatasetEvent, "consumed_dataset_events"


@contextmanager
def runs_consume_alias_events(dag_id: str, alias: str, after_id: int) -> Iterator[None]:
    """Give a new run of ``dag_id`` the alias's events newer than ``after_id``, as the scheduler does.

    dag.test() starts a manual run, which consumes no event; the scheduler starts an alias-scheduled
    run with every event queued for the DAG since its last run.
    """
    from airflow.models.dagrun import DagRun
    from sqlalchemy import event, select
    from sqlalchemy.orm import Session

    model, relation = _event_model()

    def attach(session: Session, *_: object) -> None:
        for run in [obj for obj in session.new if isinstance(obj, DagRun) and obj.dag_id == dag_id]:
            with session.no_autoflush:
                found = session.scalars(select(model).where(model.id > after_id).order_by(model.id)).all()
                getattr(run, relation).extend(e for e in found if alias in [a.name for a in e.source_aliases])

    event.listen(Session, "before_flush", attach)
    try:
        yield
    finally:
        event.remove(Session, "before_flush", attach)


def _newest_event_id() -> int:
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    model, _ = _event_model()
    with create_session() as session:
        return session.scalar(select(func.max(model.id))) or 0


def _fail_training(*_: object) -> None:
    raise RuntimeError("the training job failed")


@pytest.mark.parametrize("training", ["succeeds", "fails"])
def test_example_consumer_deletes_every_volume_created_for_it(
    airflow_db: None, instant_emulator: EmulatorServer, training: str
) -> None:
    from neev_provider.client import CreateVolumeRequest
    from neev_provider.hooks.neevcloud import NeevCloudHook

    request = CreateVolumeRequest(size_gb=50, region_id="as-south-1", name="team-data")
    team_data = NeevCloudHook().client.create_volume(request)
    before = _newest_event_id()
    producer = load_dag(DAGS / "training_data_volume.py")
    sync_to_db(producer)
    # A copy of the producer that names its volume after the team's: it adopts it, not creates it.
    producer.get_task("create_volume").name = "team-data"
    assert task_states(producer.test()) == {"create_volume": "success"}
    producer.get_task("create_volume").name = None
    # Two producer runs as shipped before the consumer runs: one consumer run is given all events.
    for _ in range(2):
        assert task_states(producer.test()) == {"create_volume": "success"}
    assert len(instant_emulator.volumes()) == 3

    consumer = load_dag(DAGS / "train_on_ready_volume.py")
    sync_to_db(consumer)
    if training == "fails":
        consumer.get_task("train").python_callable = _fail_training
    # As the scheduler of Airflow 2.10, 2.11 and 3.1+ does (3.0's gives none: the test below).
    with runs_consume_alias_events(consumer.dag_id, "neevcloud-training-data", before):
        run = consumer.test()

    assert mapped_states(run) == {
        "announced_volumes": ["success"],
        "train": ["success" if training == "succeeds" else "failed"],
        "delete_volume": ["success", "success"],  # a teardown: whatever the training did
    }
    assert str(getattr(run.state, "value", run.state)) == ("success" if training == "succeeds" else "failed")
    assert [v["id"] for v in instant_emulator.volumes()] == [team_data.id]
    deletes = [r for r in instant_emulator.requests() if r["operation"] == "deleteNetworkVolume"]
    assert len(deletes) == 2


def test_example_consumer_given_no_event_deletes_nothing(
    airflow_db: None, instant_emulator: EmulatorServer
) -> None:
    producer = load_dag(DAGS / "training_data_volume.py")
    sync_to_db(producer)
    assert task_states(producer.test()) == {"create_volume": "success"}

    # A run without its triggering events, as Airflow 3.0 starts one (and as a manual run is).
    run = load_dag(DAGS / "train_on_ready_volume.py").test()

    states = mapped_states(run)
    assert states["announced_volumes"] == ["failed"]
    assert "success" not in states.get("delete_volume", [])
    assert len(instant_emulator.volumes()) == 1
    assert "deleteNetworkVolume" not in [r["operation"] for r in instant_emulator.requests()]


@pytest.mark.skipif(
    importlib.util.find_spec("airflow.sdk") is not None,
    reason="on Airflow 3 the API server reads the link's XCom itself (tests/integration)",
)
def test_on_airflow_2_the_webserver_reads_the_console_link(
    airflow_db: None, instant_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neev_provider.links import NeevVolumeLink

    template = "https://console.example.com/{org_id}/{project_id}/volumes/{volume_id}"
    connection = instant_emulator.airflow_connection(console_url=template)
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", connection)

    dag = load_dag(DAGS / "training_data_volume.py")
    sync_to_db(dag)
    run = dag.test()

    (volume,) = instant_emulator.volumes()
    ti = run.get_task_instance("create_volume")
    link = NeevVolumeLink().get_link(dag.get_task("create_volume"), ti_key=ti.key)
    assert link == f"https://console.example.com/org-emulator/prj-emulator/volumes/{volume['id']}"
