"""Freeze what a release persists while its tasks are deferred or retried: the golden samples.

``tests/operators/test_payload_formats.py`` checks that the current code reads every sample here.
The samples are never written by hand: this script runs *a release's own code* (the deferrable
create, extend, delete and sensor, and their trigger) against that release's own emulator, in
this process, and writes what it persisted. To freeze a release before a format changes, put a
checkout of it first on the path, from the repository root::

    git worktree add ../neevcloud-release <commit of the release>
    PYTHONPATH=../neevcloud-release .venv/bin/python tests/golden/make_samples.py
    git worktree remove ../neevcloud-release

It writes ``tests/golden/v<N>/<sample>.json``, ``N`` being the highest format version the
release's payloads carry (0: none), and never over samples already there (``--replace`` does).
Each sample holds the operator's arguments, the trigger's ``serialize()``, the events its
``run()`` yielded, the create's task-state records (every ``set``, in order) and the XComs pushed
before the deferral. The emulator's ids are replaced by ``{volume_id}`` and ``{attachment_id}``,
for the test to put its own in; timestamps (``deadline``, ``started_at``, ``detach_started``) are
kept, with ``captured_at``, for the test to move them by the time passed since.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

# Airflow reads its configuration when first imported: a private home, no examples, and a
# deployment id of its own, so that default volume names are the same on every run.
os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="neev-golden-")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID"] = "golden-samples"

HERE = Path(__file__).resolve().parent
POLL = 0.05
#: The task instance every sample runs as (the test runs as the same one).
TI = {"dag_id": "golden", "task_id": "create_volume", "run_id": "manual__2026-01-01T00:00:00+00:00"}


@dataclass
class TaskInstance:
    """What the operators use of a task instance: its key and XCom."""

    dag_id: str = TI["dag_id"]
    task_id: str = TI["task_id"]
    run_id: str = TI["run_id"]
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def get_first_reschedule_date(self, context: Any) -> None:
        return None


class RecordingStore:
    """Airflow 3.3's task state store, in memory, keeping every value set."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.history: list[Any] = []

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value
        self.history.append(json.loads(json.dumps(value)))


def context_for(ti: TaskInstance, store: RecordingStore | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"ti": ti, "task_instance": ti, "run_id": ti.run_id}
    if store is not None:
        context["task_state_store"] = store
    return context


def deferral(step: Callable[[], Any]) -> Any:
    """Run ``step``, which must defer; return its ``TaskDeferred``."""
    from neev_provider._compat import TaskDeferred

    try:
        step()
    except TaskDeferred as deferred:
        return deferred
    raise AssertionError("the task did not defer")


def run_trigger(classpath: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Rebuild a trigger from its serialized form, as the triggerer does; return its one event."""
    module, _, name = classpath.rpartition(".")
    trigger = getattr(import_module(module), name)(**json.loads(json.dumps(kwargs)))

    async def events() -> list[Any]:
        return [event async for event in trigger.run()]

    (event,) = asyncio.run(events())
    payload: dict[str, Any] = event.payload
    return payload


class Sample:
    """One sample: a deferred task's trigger, the events it yielded, and what the task kept."""

    def __init__(self, name: str, operator: str, arguments: dict[str, Any]) -> None:
        self.name = name
        ti = {**TI, "task_id": arguments["task_id"]}
        self.data: dict[str, Any] = {"operator": operator, "arguments": arguments, "ti": ti}
        self.ids: dict[str, str] = {}
        self.classpath = ""
        self.kwargs: dict[str, Any] = {}

    def deferred(self, deferred: Any, ti: TaskInstance | None = None) -> None:
        self.classpath, self.kwargs = deferred.trigger.serialize()
        self.data["trigger"] = {"classpath": self.classpath, "kwargs": self.kwargs}
        self.data["method_name"] = deferred.method_name
        self.data["captured_at"] = time.time()
        if ti is not None:
            self.data["xcoms"] = dict(ti.xcoms)

    def event(self, outcome: str, **changes: Any) -> dict[str, Any]:
        """Run the trigger (with ``changes`` to its arguments); keep its event as ``outcome``."""
        event = run_trigger(self.classpath, {**self.kwargs, **changes})
        assert event["status"] == outcome, event
        self.data.setdefault("events", {})[outcome] = event
        return event

    def write(self, folder: Path) -> None:
        text = json.dumps(self.data, indent=2, sort_keys=True) + "\n"
        for real, placeholder in self.ids.items():
            text = text.replace(real, placeholder)
        (folder / f"{self.name}.json").write_text(text)


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(POLL)


def status_of(emulator: Any, volume_id: str) -> dict[str, Any] | None:
    return next((v for v in emulator.volumes() if v["id"] == volume_id), None)


def new_volume(emulator: Any, size_gb: int = 10) -> str:
    from neev_provider.client import CreateVolumeRequest
    from neev_provider.hooks.neevcloud import NeevCloudHook

    volume = NeevCloudHook().client.create_volume(
        CreateVolumeRequest(size_gb=size_gb, region_id="as-south-1")
    )
    wait_until(lambda: (status_of(emulator, volume.id) or {}).get("status") == "bound", "bound")
    return str(volume.id)


def creates(emulator: Any) -> list[Sample]:
    """The create, deferred: with its default name, a given name, and after an ambiguous POST."""
    from neev_provider.operators import NeevCreateVolumeOperator

    samples = []
    for name, extra in [
        ("create", {}),
        ("create_named", {"name": "golden-named-volume"}),
        ("create_ambiguous", {"settle_window": 5.0}),
    ]:
        emulator.reset()
        emulator.configure(bind_delay=0.2, resize_delay=0.2)
        if name == "create_ambiguous":
            emulator.inject("commit_then_drop", operation="createNetworkVolume", times=1)
        arguments = {"task_id": TI["task_id"], "size_gb": 10, "deferrable": True, "poll_interval": POLL}
        arguments.update(extra)
        sample = Sample(name, "NeevCreateVolumeOperator", arguments)
        ti, store = TaskInstance(), RecordingStore()
        operator = NeevCreateVolumeOperator(**arguments)
        sample.deferred(deferral(lambda: operator.execute(context_for(ti, store))), ti)  # noqa: B023
        sample.data["records"] = store.history
        sample.ids[sample.kwargs["volume_id"]] = "{volume_id}"
        sample.event("success")
        if name == "create":
            volume_id = sample.kwargs["volume_id"]
            emulator.set_state(volume_id, status="failed")
            sample.event("failed")
            emulator.set_state(volume_id, status="pending")
            past = time.time() - 1
            sample.event("timeout", deadline=past, started_at=past - 60)
            sample.event("error", neev_conn_id="golden_no_such_connection")
        samples.append(sample)
    return samples


def extend(emulator: Any) -> Sample:
    """The extend, deferred while the extension runs."""
    from neev_provider.operators import NeevExtendVolumeOperator

    emulator.reset()
    emulator.configure(bind_delay=0.2, resize_delay=0.2)
    volume_id = new_volume(emulator)
    arguments = {
        "task_id": "extend_volume",
        "volume_id": volume_id,
        "size_gb": 20,
        "deferrable": True,
        "poll_interval": POLL,
    }
    sample = Sample("extend", "NeevExtendVolumeOperator", arguments)
    sample.ids[volume_id] = "{volume_id}"
    operator = NeevExtendVolumeOperator(**arguments)
    sample.deferred(deferral(lambda: operator.execute(context_for(TaskInstance(task_id="extend_volume")))))
    sample.event("success")
    return sample


def deletes(emulator: Any) -> list[Sample]:
    """The delete, deferred while the volume is attached, then again until it is gone."""
    from neev_provider.operators import NeevDeleteVolumeOperator

    emulator.reset()
    emulator.configure(bind_delay=0.2, resize_delay=0.2)
    volume_id = new_volume(emulator)
    attachment = emulator.attach(volume_id, resource_name="trainer-0")
    arguments = {
        "task_id": "delete_volume",
        "volume_id": volume_id,
        "deferrable": True,
        "poll_interval": POLL,
    }
    ids = {volume_id: "{volume_id}", attachment["id"]: "{attachment_id}"}
    context = context_for(TaskInstance(task_id="delete_volume"))
    operator = NeevDeleteVolumeOperator(**arguments)
    detach = Sample("delete_detach", "NeevDeleteVolumeOperator", arguments)
    detach.ids.update(ids)
    detach.deferred(deferral(lambda: operator.execute(context)))
    emulator.detach(volume_id, attachment["id"])
    event = detach.event("success")
    gone = Sample("delete_gone", "NeevDeleteVolumeOperator", arguments)
    gone.ids.update(ids)
    resume = getattr(operator, detach.data["method_name"])
    gone.deferred(deferral(lambda: resume(context, event=event)))
    gone.event("success")
    return [detach, gone]


def sensor(emulator: Any) -> Sample:
    """The sensor, deferred while the volume binds."""
    from neev_provider.client import CreateVolumeRequest
    from neev_provider.hooks.neevcloud import NeevCloudHook
    from neev_provider.sensors import NeevVolumeSensor

    emulator.reset()
    emulator.configure(bind_delay=1.0)
    volume = NeevCloudHook().client.create_volume(CreateVolumeRequest(size_gb=10, region_id="as-south-1"))
    arguments = {
        "task_id": "wait_for_volume",
        "volume_id": volume.id,
        "deferrable": True,
        "poke_interval": POLL,
        "timeout": 60,
    }
    sample = Sample("sensor", "NeevVolumeSensor", arguments)
    sample.ids[volume.id] = "{volume_id}"
    operator = NeevVolumeSensor(**arguments)
    sample.deferred(deferral(lambda: operator.execute(context_for(TaskInstance(task_id="wait_for_volume")))))
    sample.event("success")
    emulator.set_state(volume.id, status="failed")
    sample.event("failed")
    emulator.set_state(volume.id, status="pending")
    past = time.time() - 1
    sample.event("timeout", deadline=past, started_at=past - 60)
    return sample


def format_of(node: Any) -> int:
    """The highest format version in the payloads of a sample (0 where none says one)."""
    if isinstance(node, dict):
        return max([node.get("format", 0), *(format_of(value) for value in node.values())])
    if isinstance(node, list):
        return max([0, *(format_of(item) for item in node)])
    return 0


def main() -> None:
    import neev_provider
    from neev_provider.emulator import EmulatorServer, EmulatorSettings

    with EmulatorServer(EmulatorSettings(bind_delay=0.2, resize_delay=0.2)) as emulator:
        os.environ["AIRFLOW_CONN_NEEVCLOUD_DEFAULT"] = emulator.airflow_connection()
        samples = [*creates(emulator), extend(emulator), *deletes(emulator), sensor(emulator)]
    version = max(format_of(sample.data) for sample in samples)
    folder = HERE / f"v{version}"
    if folder.exists() and "--replace" not in sys.argv:
        sys.exit(f"{folder} exists: the samples of a released format never change (--replace to redo them)")
    folder.mkdir(exist_ok=True)
    source = Path(neev_provider.__file__).parent
    describe = ["git", "-C", str(source), "describe", "--always", "--dirty"]
    commit = subprocess.run(describe, capture_output=True, text=True, check=False).stdout.strip()
    for sample in samples:
        sample.data["release"] = {"version": neev_provider.__version__, "commit": commit or None}
        sample.write(folder)
    print(f"{len(samples)} samples of format {version} in {folder}", file=sys.stderr)


if __name__ == "__main__":
    main()
