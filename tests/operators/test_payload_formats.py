"""What earlier releases persisted still resumes here; what this one persists says its format.

A deferred task keeps its trigger's serialized arguments in Airflow's database, the trigger's
event comes back to a worker that may run another release, and a create on Airflow 3.3 keeps a
record in the task state store. The golden samples in ``tests/golden/v<N>/`` were written by
*running* the release of each format (``tests/golden/make_samples.py``), never by hand: format 0
by the release before versions, format 1 by this one. Here, this release's code rebuilds every
sampled trigger and runs it to its event, resumes every operator and the sensor from every
sampled event and finishes, and acts on every sampled record; payloads of a newer format are
refused clearly (trigger, event, resume state) or ignored (record). docs/compatibility.rst.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from neev_provider._compat import AirflowFailException, AirflowSensorTimeout, TaskDeferred
from neev_provider.client import CreateVolumeRequest, NotFoundError
from neev_provider.emulator import EmulatorServer
from neev_provider.exceptions import NeevVolumeError, NeevVolumeFailedError, NeevVolumeTimeoutError
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import (
    NeevCreateVolumeOperator,
    NeevDeleteVolumeOperator,
    NeevExtendVolumeOperator,
)
from neev_provider.operators.base import RESUME_FORMAT, resume_state
from neev_provider.sensors import NeevVolumeSensor
from neev_provider.triggers.volume import TRIGGER_FORMAT, NeevVolumeTrigger
from neev_provider.volumes.records import KEY, RECORD_FORMAT, CreateRecord
from neev_provider.volumes.wait import EVENT_FORMAT, PayloadFormatError, WaitOutcome
from tests.operators.conftest import POLL, FakeTaskInstance, calls, resume
from tests.support.task_state import InMemoryTaskStateStore

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
#: Every format sampled, oldest first: this release must read them all.
VERSIONS = sorted(int(path.name[1:]) for path in GOLDEN.glob("v[0-9]*") if path.is_dir())
#: The fields holding a time, which the test moves by the time passed since the sample was taken.
TIMESTAMPS = ("deadline", "started_at", "detach_started")
OPERATORS: dict[str, type[Any]] = {
    "NeevCreateVolumeOperator": NeevCreateVolumeOperator,
    "NeevExtendVolumeOperator": NeevExtendVolumeOperator,
    "NeevDeleteVolumeOperator": NeevDeleteVolumeOperator,
    "NeevVolumeSensor": NeevVolumeSensor,
}
#: This release's samples: the folder of its newest format.
CURRENT = max(TRIGGER_FORMAT, EVENT_FORMAT, RESUME_FORMAT, RECORD_FORMAT)
SAMPLES = sorted(path.stem for path in (GOLDEN / f"v{VERSIONS[0]}").glob("*.json"))
CREATES = [name for name in SAMPLES if name.startswith("create")]
TOO_NEW = 99


def test_the_formats_of_the_release_before_versions_and_of_this_one_are_sampled() -> None:
    assert VERSIONS[0] == 0
    assert VERSIONS[-1] == CURRENT  # a new format is frozen (make_samples.py) in the release that adds it
    for version in VERSIONS:
        assert sorted(path.stem for path in (GOLDEN / f"v{version}").glob("*.json")) == SAMPLES
    assert {"create", "create_named", "create_ambiguous", "extend", "delete_detach", "sensor"} <= set(SAMPLES)


# -- reading a sample ------------------------------------------------------------------------------


def _rebased(node: Any, shift: float) -> Any:
    if isinstance(node, dict):
        return {
            key: value + shift if key in TIMESTAMPS and isinstance(value, float) else _rebased(value, shift)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rebased(item, shift) for item in node]
    return node


def sample(version: int, name: str, volume_id: str = "", attachment_id: str = "") -> dict[str, Any]:
    """A golden sample with this test's ids in it and its times moved to now."""
    text = (GOLDEN / f"v{version}" / f"{name}.json").read_text()
    data: dict[str, Any] = json.loads(
        text.replace("{volume_id}", volume_id).replace("{attachment_id}", attachment_id)
    )
    rebased: dict[str, Any] = _rebased(data, time.time() - data["captured_at"])
    return rebased


def operator_of(data: dict[str, Any]) -> Any:
    """The operator the sample deferred, built by this release from the same arguments."""
    return OPERATORS[data["operator"]](**data["arguments"])


def context_of(data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    ti = FakeTaskInstance(**data["ti"])
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id, **extra}


def rebuild_as_airflow_does(trigger: dict[str, Any]) -> NeevVolumeTrigger:
    """``cls(**kwargs)`` from the stored class path and keyword arguments, as the triggerer does."""
    module, _, name = trigger["classpath"].rpartition(".")
    rebuilt: NeevVolumeTrigger = getattr(import_module(module), name)(**trigger["kwargs"])
    return rebuilt


def run_to_event(trigger: NeevVolumeTrigger) -> dict[str, Any]:
    async def events() -> list[Any]:
        stream: AsyncIterator[Any] = trigger.run()
        return [event async for event in stream]

    (event,) = asyncio.run(events())
    payload: dict[str, Any] = event.payload
    return payload


def store_with(values: dict[str, Any] | None = None) -> InMemoryTaskStateStore:
    """Airflow 3.3's task state store as the create sees it, holding ``values``."""
    store = InMemoryTaskStateStore()
    store.values.update(values or {})
    return store


@pytest.fixture(autouse=True)
def _deployment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment the samples were taken in, so that default volume names are theirs."""
    monkeypatch.setenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID", "golden-samples")


# -- volumes on the emulator, in the state each sample waited for -------------------------------------


def new_volume(emulator: EmulatorServer, *, name: str | None = None, bound: bool = True) -> str:
    volume = NeevCloudHook().client.create_volume(
        CreateVolumeRequest(size_gb=10, region_id="as-south-1", name=name)
    )
    if bound:
        emulator.advance(60)
    return str(volume.id)


def volume_for(emulator: EmulatorServer, data: dict[str, Any]) -> str:
    """A volume on which the sampled trigger's wait ends in success."""
    kwargs = data["trigger"]["kwargs"]
    target = kwargs["target"]
    name = kwargs["resume"].get("name")
    volume_id = new_volume(emulator, name=name, bound=target != "bound")
    if target == "extended":
        NeevCloudHook().client.extend_volume(volume_id, kwargs["min_size_gb"])
        emulator.advance(60)
    elif target == "deleted":
        NeevCloudHook().client.delete_volume(volume_id)
    return volume_id


def ids(emulator: EmulatorServer) -> list[str]:
    return sorted(volume["id"] for volume in emulator.volumes())


# -- the trigger's serialized arguments --------------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLES)
@pytest.mark.parametrize("version", VERSIONS)
def test_a_trigger_deferred_by_any_release_is_rebuilt_and_runs_to_its_event(
    emulator: EmulatorServer, version: int, name: str
) -> None:
    volume_id = volume_for(emulator, sample(version, name))
    data = sample(version, name, volume_id)
    stored = data["trigger"]

    trigger = rebuild_as_airflow_does(stored)
    event = run_to_event(trigger)

    assert (event["status"], event["volume_id"], event["format"]) == ("success", volume_id, EVENT_FORMAT)
    assert event["resume"] == stored["kwargs"]["resume"]  # echoed as it was sent
    classpath, kwargs = trigger.serialize()
    assert classpath == stored["classpath"]
    assert kwargs["format"] == TRIGGER_FORMAT
    # Read as it was written: every old argument kept its name and its value, except format 0's
    # claim to delete on kill a volume it only had a name for (tested below).
    reread = {"format", "delete_on_kill"} if version == 0 else {"format"}
    assert {key: kwargs[key] for key in stored["kwargs"] if key not in reread} == {
        key: value for key, value in stored["kwargs"].items() if key not in reread
    }


# -- the events, and the state each operator deferred with: resuming and finishing -------------------


@pytest.mark.parametrize("name", CREATES)
@pytest.mark.parametrize("version", VERSIONS)
def test_a_create_resumes_from_a_success_and_returns_the_bound_volume(
    emulator: EmulatorServer, version: int, name: str
) -> None:
    volume_id = volume_for(emulator, sample(version, name))
    data = sample(version, name, volume_id)
    resume_with = data["events"]["success"]
    ambiguous = resume_with["resume"]["ambiguous"]
    twin = new_volume(emulator, name=resume_with["resume"]["name"]) if ambiguous else None
    operator, context = operator_of(data), context_of(data)

    returned = operator.execute_complete(context, event=resume_with)

    # The return value (the XCom downstream tasks pull) is the bound volume, JSON-safe, the one
    # whose id the earlier release pushed before deferring.
    assert (returned["id"], returned["status"]) == (volume_id, "bound")
    assert returned["name"] == resume_with["resume"]["name"]
    assert json.loads(json.dumps(returned)) == returned
    assert data["xcoms"]["volume_id"] == volume_id
    # After an ambiguous create, the late twin under the task's own name is removed; a given
    # name proves nothing, nor does a default name of the release before deployment ids
    # (format 0), so their namesakes stay.
    own_name = "name" not in data["arguments"] and version > 0
    assert ids(emulator) == sorted([volume_id] if twin is None or own_name else [volume_id, twin])


@pytest.mark.parametrize(
    ("outcome", "error", "deleted"),
    [
        ("failed", NeevVolumeFailedError, True),
        ("timeout", NeevVolumeTimeoutError, True),
        ("error", NeevVolumeError, False),
    ],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_a_create_resumes_from_a_failure_and_cleans_up_what_it_owns(
    emulator: EmulatorServer, version: int, outcome: str, error: type[Exception], deleted: bool
) -> None:
    volume_id = volume_for(emulator, sample(version, "create"))
    data = sample(version, "create", volume_id)

    with pytest.raises(error) as raised:
        operator_of(data).execute_complete(context_of(data), event=data["events"][outcome])

    assert not isinstance(raised.value, AirflowFailException)  # an old error may be retried
    # Format 0's default names prove nothing (no deployment in them): its volumes are kept.
    assert ids(emulator) == ([] if deleted and version > 0 else [volume_id])


@pytest.mark.parametrize("version", VERSIONS)
def test_an_extend_resumes_and_finishes_without_asking_again(emulator: EmulatorServer, version: int) -> None:
    volume_id = volume_for(emulator, sample(version, "extend"))
    data = sample(version, "extend", volume_id)
    emulator.clear_requests()

    returned = operator_of(data).execute_complete(context_of(data), event=data["events"]["success"])

    assert (returned["id"], returned["sizeGB"]) == (volume_id, data["arguments"]["size_gb"])
    assert calls(emulator, "extendNetworkVolume") == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_a_delete_resumes_after_the_detach_and_the_volume_is_gone(
    emulator: EmulatorServer, version: int
) -> None:
    volume_id = new_volume(emulator)
    data = sample(version, "delete_detach", volume_id)
    operator, context = operator_of(data), context_of(data)

    with pytest.raises(TaskDeferred) as deferred:  # deleted; now it waits until the volume is gone
        operator.execute_complete(context, event=data["events"]["success"])
    assert resume(operator, deferred.value, context) is None

    assert ids(emulator) == []
    with pytest.raises(NotFoundError):
        NeevCloudHook().client.get_volume(volume_id)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_delete_resumes_once_the_volume_is_gone(emulator: EmulatorServer, version: int) -> None:
    volume_id = volume_for(emulator, sample(version, "delete_gone"))
    data = sample(version, "delete_gone", volume_id)

    assert operator_of(data).execute_complete(context_of(data), event=data["events"]["success"]) is None
    assert ids(emulator) == []


@pytest.mark.parametrize(
    ("outcome", "error"),
    [("success", None), ("failed", NeevVolumeFailedError), ("timeout", AirflowSensorTimeout)],
)
@pytest.mark.parametrize("version", VERSIONS)
def test_the_sensor_resumes_from_every_outcome(
    emulator: EmulatorServer, version: int, outcome: str, error: type[Exception] | None
) -> None:
    volume_id = new_volume(emulator)
    data = sample(version, "sensor", volume_id)
    sensor, context, event = operator_of(data), context_of(data), data["events"][outcome]

    if error is None:
        assert sensor.execute_complete(context, event=event)["id"] == volume_id
    else:
        with pytest.raises(error, match=volume_id):
            sensor.execute_complete(context, event=event)


# -- the create's record in the task state store (Airflow 3.3) --------------------------------------


def records(version: int, name: str) -> list[dict[str, Any]]:
    """Every record the sampled create wrote, in order (format 0: under default names only)."""
    recorded: list[dict[str, Any]] = sample(version, name)["records"]
    return recorded


ADOPTABLE = [
    pytest.param(version, name)
    for version in VERSIONS
    for name in CREATES
    if records(version, name) and not records(version, name)[-1]["ambiguous"]
]


def retry_with(data: dict[str, Any], record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A later try of the sampled create, with ``record`` in its state store; its result and context."""
    context = context_of(data, task_state_store=store_with({KEY: record}))
    context["ti"].try_number = 2
    arguments = {**data["arguments"], "wait_for_completion": False}
    result: dict[str, Any] = OPERATORS[data["operator"]](**arguments).execute(context)
    return result, context


@pytest.mark.parametrize(("version", "name"), ADOPTABLE)
def test_a_retry_reads_a_record_with_the_volume_id_and_adopts_it_with_one_get(
    emulator: EmulatorServer, version: int, name: str
) -> None:
    volume_id = volume_for(emulator, sample(version, name))
    data = sample(version, name, volume_id)
    emulator.clear_requests()

    result, context = retry_with(data, data["records"][-1])

    assert result["id"] == volume_id
    assert [r["operation"] for r in emulator.requests()] == ["getNetworkVolume"]
    assert context["ti"].xcoms["volume_ownership"] == {"volume_id": volume_id, "created": True}
    assert ids(emulator) == [volume_id]


@pytest.mark.parametrize("first_try", [True, False], ids=["first-try", "retry"])
@pytest.mark.parametrize(
    ("version", "name", "index"),
    [
        (version, name, index)
        for version in VERSIONS
        for name in CREATES
        for index, record in enumerate(records(version, name))
        if record["volume_id"] is None or record["ambiguous"]
    ],
)
def test_a_record_of_an_intent_or_an_ambiguous_create_leads_to_the_lookup(
    version: int, name: str, index: int, first_try: bool
) -> None:
    record = sample(version, name, "3b4e0a64-0000-4000-8000-000000000001")["records"][index]

    step = CreateRecord(store_with({KEY: record}), first_try=first_try).next_step(record["name"])

    assert step.action == "lookup"


@pytest.mark.parametrize("version", [v for v in VERSIONS if records(v, "create_named")])
def test_a_retry_with_a_recorded_intent_adopts_a_volume_under_a_given_name_without_owning_it(
    emulator: EmulatorServer, version: int
) -> None:
    volume_id = new_volume(emulator, name="golden-named-volume")
    data = sample(version, "create_named", volume_id)
    intent = data["records"][0]
    assert intent["volume_id"] is None  # written before the POST
    emulator.clear_requests()

    result, context = retry_with(data, intent)

    assert result["id"] == volume_id
    assert calls(emulator, "listNetworkVolumes") == 1
    assert calls(emulator, "createNetworkVolume") == 0
    # Found under a name the user gave, with no id recorded: adopted, never owned.
    assert context["ti"].xcoms["volume_ownership"] == {"volume_id": volume_id, "created": False}


@pytest.mark.parametrize("name", ["create", "create_ambiguous"])
def test_format_0_ownership_under_a_default_name_of_that_release_is_not_taken_on_trust(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # That name carries no deployment: another installation running the same DAG makes it too.
    monkeypatch.delenv("AIRFLOW__NEEVCLOUD__DEPLOYMENT_ID")
    volume_id = volume_for(emulator, sample(0, name))
    data = sample(0, name, volume_id)
    timeout = {**data["events"]["success"], "status": "timeout", "message": "the wait timed out"}
    assert data["trigger"]["kwargs"]["delete_on_kill"] is True  # what format 0 wrote

    assert resume_state(timeout)["owned"] is False
    assert rebuild_as_airflow_does(data["trigger"]).delete_on_kill is False
    with pytest.raises(NeevVolumeTimeoutError):
        operator_of(data).execute_complete(context_of(data), event=timeout)
    assert ids(emulator) == [volume_id]  # kept, maybe another installation's


def test_format_0_never_owns_a_volume_found_by_a_given_name_after_an_ambiguous_create(
    emulator: EmulatorServer,
) -> None:
    # Format 0 wrote owned=True here too; the release wrote the name the user gave it into the
    # same fields as its default name (the sample is the default-name one with that name put in).
    volume_id = new_volume(emulator, name="team-data")
    data = json.loads(
        json.dumps(sample(0, "create_ambiguous", volume_id)).replace(
            "golden-create-volume-5a19de681349d2", "team-data"
        )
    )
    data["arguments"]["name"] = "team-data"
    failed = {**data["events"]["success"], "status": "failed", "message": "the volume failed"}

    assert resume_state(failed)["owned"] is False
    assert rebuild_as_airflow_does(data["trigger"]).delete_on_kill is False
    with pytest.raises(NeevVolumeFailedError):
        operator_of(data).execute_complete(context_of(data), event=failed)
    assert ids(emulator) == [volume_id]  # maybe another run's: kept


# -- this release's formats ---------------------------------------------------------------------


def test_what_this_release_persists_carries_its_format(emulator: EmulatorServer) -> None:
    store = store_with()
    operator = NeevCreateVolumeOperator(
        task_id="create_volume", size_gb=10, deferrable=True, poll_interval=POLL
    )
    ti = FakeTaskInstance()
    context = {"ti": ti, "task_instance": ti, "run_id": ti.run_id, "task_state_store": store}

    with pytest.raises(TaskDeferred) as deferred:
        operator.execute(context)
    classpath, kwargs = deferred.value.trigger.serialize()
    event = run_to_event(
        rebuild_as_airflow_does({"classpath": classpath, "kwargs": json.loads(json.dumps(kwargs))})
    )

    assert kwargs["format"] == TRIGGER_FORMAT
    assert kwargs["resume"]["format"] == RESUME_FORMAT
    assert event["format"] == EVENT_FORMAT
    assert store.values[KEY]["format"] == RECORD_FORMAT
    assert resume_state(event) == {key: v for key, v in kwargs["resume"].items() if key != "format"}


@pytest.mark.parametrize("name", SAMPLES)
def test_this_release_writes_at_least_the_fields_of_its_frozen_samples(name: str) -> None:
    """Renaming or dropping a field of this release's formats breaks this: add fields, or bump."""
    frozen = sample(CURRENT, name, "7c0e1f4a-0000-4000-8000-000000000002")
    kwargs = frozen["trigger"]["kwargs"]
    assert set(kwargs) <= set(NeevVolumeTrigger(**kwargs).serialize()[1])
    for event in frozen["events"].values():
        outcome = WaitOutcome.from_event(event)
        assert set(event) - {"resume"} <= set(outcome.to_event())
        assert outcome.status == event["status"]
    for record in frozen.get("records", []):
        rewritten = store_with()
        remembered = CreateRecord(rewritten, first_try=True)
        remembered.remember(record["name"], record["volume_id"], ambiguous=record["ambiguous"])
        assert record.items() <= rewritten.values[KEY].items()


def test_an_event_round_trips() -> None:
    outcome = WaitOutcome("error", "vol", "the connection breaks a rule", {"id": "vol"}, retryable=False)
    event = json.loads(json.dumps(outcome.to_event()))
    assert event["format"] == EVENT_FORMAT
    assert WaitOutcome.from_event(event) == outcome
    assert WaitOutcome.from_event(event).retryable is False


# -- payloads of a newer release ------------------------------------------------------------------


def test_a_trigger_of_a_newer_format_is_refused_with_what_to_do() -> None:
    kwargs = sample(CURRENT, "create", "vol-1")["trigger"]["kwargs"]

    with pytest.raises(
        PayloadFormatError, match=rf"vol-1 has format {TOO_NEW}, .* a newer release wrote it"
    ) as raised:
        NeevVolumeTrigger(**{**kwargs, "format": TOO_NEW})

    assert "Finish the upgrade" in str(raised.value)
    assert "roll all of them back" in str(raised.value)
    # Airflow's triggerer fails the task on a TypeError from rebuilding a trigger, and on nothing else.
    assert isinstance(raised.value, TypeError)


def test_arguments_a_newer_release_added_without_a_new_format_are_ignored() -> None:
    kwargs = sample(CURRENT, "create", "vol-1")["trigger"]["kwargs"]
    trigger = NeevVolumeTrigger(**kwargs, added_by_a_later_minor=True)
    assert trigger.serialize()[1] == kwargs


@pytest.mark.parametrize("outcome", ["success", "failed"])
def test_an_event_of_a_newer_format_fails_the_resume_clearly_and_deletes_nothing(
    emulator: EmulatorServer, outcome: str
) -> None:
    volume_id = volume_for(emulator, sample(CURRENT, "create"))
    data = sample(CURRENT, "create", volume_id)
    event = {**data["events"][outcome], "format": TOO_NEW}

    with pytest.raises(
        NeevVolumeError, match=rf"the trigger's event has format {TOO_NEW}, .* Finish the upgrade"
    ):
        operator_of(data).execute_complete(context_of(data), event=event)

    assert ids(emulator) == [volume_id]


@pytest.mark.parametrize("value", [TOO_NEW, "1", -1, True])
def test_a_resume_state_of_a_newer_or_unknown_format_is_refused(value: Any) -> None:
    with pytest.raises(PayloadFormatError, match="The state this task deferred with has format"):
        resume_state({"status": "success", "resume": {"format": value, "owned": True}})


@pytest.mark.parametrize("first_try", [True, False])
def test_a_record_of_a_newer_format_is_ignored_for_the_lookup(first_try: bool) -> None:
    record = {"format": TOO_NEW, "name": "golden-named-volume", "volume_id": "vol-1", "ambiguous": False}
    step = CreateRecord(store_with({KEY: record}), first_try=first_try).next_step("golden-named-volume")
    assert step.action == "lookup"
