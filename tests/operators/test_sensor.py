"""NeevVolumeSensor: poke, reschedule and deferrable modes; fail fast on failure."""

from __future__ import annotations

from typing import Any

import pytest

from neev_provider._compat import AirflowSensorTimeout, AirflowSkipException, TaskDeferred
from neev_provider.client import CreateVolumeRequest, NeevCloudValidationError
from neev_provider.emulator import EmulatorServer
from neev_provider.exceptions import NeevVolumeFailedError
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.sensors import NeevVolumeSensor
from tests.operators.conftest import POLL, calls, resume
from tests.support.airflow_version import AIRFLOW_V_3_0_PLUS

try:  # Airflow 3.2+
    from airflow.sdk.exceptions import AirflowRescheduleException
except ImportError:
    from airflow.exceptions import AirflowRescheduleException


@pytest.fixture(name="volume_id")
def fixture_volume_id(emulator: EmulatorServer) -> str:
    # Pending until a test moves the emulator's clock: a first look finds it pending however
    # slow the machine (a short wall-clock delay was outrun on a busy one).
    emulator.configure(bind_delay=60)
    return NeevCloudHook().client.create_volume(CreateVolumeRequest(size_gb=10, region_id="as-south-1")).id


def sensor(volume_id: str, **kwargs: Any) -> NeevVolumeSensor:
    values: dict[str, Any] = {"task_id": "wait_bound", "poke_interval": POLL, "timeout": 30}
    values.update(kwargs)
    return NeevVolumeSensor(volume_id=volume_id, **values)


def test_poke_mode_pokes_until_bound_and_returns_the_volume(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    # Pending until the emulator's clock is moved, which happens only after the first poke: the
    # sensor must poke again on its own (a wall-clock delay lost that race on a busy machine).
    emulator.configure(bind_delay=3600)
    volume_id = (
        NeevCloudHook().client.create_volume(CreateVolumeRequest(size_gb=10, region_id="as-south-1")).id
    )
    watcher = sensor(volume_id, mode="poke")
    pokes: list[object] = []
    poke = watcher.poke

    def poke_then_bind(poke_context: Any) -> object:
        pokes.append(poke(poke_context))
        if len(pokes) == 1:
            emulator.advance(3600)
        return pokes[-1]

    watcher.poke = poke_then_bind  # type: ignore[method-assign]
    result = watcher.execute(context)

    assert result["status"] == "bound"
    assert len(pokes) == 2
    assert not pokes[0]  # pending at the first poke, bound at the second
    assert calls(emulator, "getNetworkVolume") == 2


@pytest.mark.skipif(not AIRFLOW_V_3_0_PLUS, reason="Airflow 2 reads a sensor's reschedules from its database")
def test_reschedule_mode_gives_its_slot_back_while_pending(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str
) -> None:
    watcher = sensor(volume_id, mode="reschedule")

    with pytest.raises(AirflowRescheduleException):
        watcher.execute(context)
    emulator.advance(60)
    assert watcher.execute(context)["status"] == "bound"


@pytest.mark.parametrize("status", ["failed", "terminated"])
def test_a_failed_volume_fails_the_sensor_at_once(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str, status: str
) -> None:
    emulator.set_state(volume_id, status=status)

    with pytest.raises(NeevVolumeFailedError, match=f"status={status}"):
        sensor(volume_id).poke(context)
    assert calls(emulator, "getNetworkVolume") == 1


def test_a_failed_extension_fails_an_extended_wait(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str
) -> None:
    emulator.set_state(volume_id, status="bound", extension_status="failed")
    with pytest.raises(NeevVolumeFailedError, match="extension_status=failed"):
        sensor(volume_id, target="extended").poke(context)


def test_a_deleted_volume_fails_the_wait(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str
) -> None:
    NeevCloudHook().client.delete_volume(volume_id)
    with pytest.raises(NeevVolumeFailedError, match="was not found") as caught:
        sensor(volume_id).poke(context)
    assert "org 'org-emulator', project 'prj-emulator'" in str(caught.value)
    assert "quota" not in str(caught.value)


def test_transient_errors_are_waited_through(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str
) -> None:
    emulator.advance(60)  # bound: a poke that met no error would be done
    emulator.inject("status", operation="getNetworkVolume", status=503, times=3)

    assert sensor(volume_id).poke(context).is_done is False  # three 503s: the client gave up
    assert sensor(volume_id).poke(context).is_done is True  # the next poke reads it
    statuses = [r["status"] for r in emulator.requests() if r["operation"] == "getNetworkVolume"]
    assert statuses == [503, 503, 503, 200]


def test_min_size_waits_for_the_capacity(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str
) -> None:
    emulator.advance(60)
    assert sensor(volume_id, min_size_gb="20").poke(context).is_done is False
    NeevCloudHook().client.extend_volume(volume_id, 20)
    emulator.advance(60)
    assert sensor(volume_id, min_size_gb="20").poke(context).is_done is True


def test_deferrable_sensor_returns_at_once_when_already_bound(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str
) -> None:
    emulator.advance(60)
    assert sensor(volume_id, deferrable=True).execute(context)["status"] == "bound"


def test_deferrable_sensor_defers_then_resumes(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str
) -> None:
    watcher = sensor(volume_id, deferrable=True)

    with pytest.raises(TaskDeferred) as caught:
        watcher.execute(context)
    emulator.advance(60)

    assert resume(watcher, caught.value, context)["status"] == "bound"


def test_deferrable_sensor_fails_fast_through_the_trigger(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str
) -> None:
    emulator.script_outcome("bind", "failed")
    watcher = sensor(volume_id, deferrable=True)
    other = NeevCloudHook().client.create_volume(CreateVolumeRequest(size_gb=10, region_id="as-south-1"))
    watcher.volume_id = other.id

    with pytest.raises(TaskDeferred) as caught:
        watcher.execute(context)
    emulator.advance(60)  # its scripted bind: failed
    with pytest.raises(NeevVolumeFailedError, match="failed"):
        resume(watcher, caught.value, context)


@pytest.mark.parametrize(
    ("soft_fail", "error"), [(False, AirflowSensorTimeout), (True, AirflowSkipException)]
)
def test_deferred_timeout_honours_soft_fail(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str, soft_fail: bool, error: type[Exception]
) -> None:
    emulator.set_state(volume_id, status="pending")  # a forced state stays until changed
    watcher = sensor(volume_id, deferrable=True, timeout=0.2, soft_fail=soft_fail)

    with pytest.raises(TaskDeferred) as caught:
        watcher.execute(context)
    with pytest.raises(error, match="not bound after"):
        resume(watcher, caught.value, context)


def test_only_bound_or_extended() -> None:
    with pytest.raises(NeevCloudValidationError, match="target"):
        NeevVolumeSensor(task_id="s", volume_id="x", target="deleted")
