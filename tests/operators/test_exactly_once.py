"""One volume per task instance, under late commits, failed cleanups, lingering deletes and kills.

Each case reproduces a fault the emulator can produce and checks the end state: exactly one
volume while the task holds it, none once it is deleted, and the right volume id in XCom.
"""

from __future__ import annotations

from typing import Any

import pytest

from neev_provider._compat import TaskDeferred
from neev_provider.deployment import task_volume_name
from neev_provider.emulator import EmulatorServer
from neev_provider.exceptions import NeevVolumeFailedError
from neev_provider.operators import NeevCreateVolumeOperator, NeevDeleteVolumeOperator
from tests.operators.conftest import POLL, FakeTaskInstance, calls, resume, run_deferrable
from tests.support.contract import ContractMonitor
from tests.support.emulator_events import detached_once_refused


def create_op(**kwargs: Any) -> NeevCreateVolumeOperator:
    values: dict[str, Any] = {
        "task_id": "create_volume",
        "size_gb": 20,
        "poll_interval": POLL,
        "timeout": 30,
        "settle_window": 2.0,
    }
    values.update(kwargs)
    return NeevCreateVolumeOperator(**values)


@pytest.fixture(name="short_timeouts")
def fixture_short_timeouts(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    """The connection gives up on an answer after 0.3 s, so a slow commit looks like a lost one."""
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(timeout=0.3))
    return emulator


def own_name(ti: FakeTaskInstance) -> str:
    return task_volume_name(ti)


def test_a_create_committed_after_the_client_gave_up_is_found_not_repeated(
    short_timeouts: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    short_timeouts.inject("late_commit", operation="createNetworkVolume", seconds=0.8)

    result = create_op().execute(context)

    assert [v["id"] for v in short_timeouts.volumes()] == [result["id"]]
    assert calls(short_timeouts, "createNetworkVolume") == 1  # looked up over the window, not re-POSTed
    assert ti.xcoms["volume_id"] == result["id"]


def test_a_504_whose_create_commits_later_is_found_not_repeated(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    emulator.inject("error_then_commit", operation="createNetworkVolume", status=504, seconds=0.5)

    result = create_op().execute(context)

    assert [v["id"] for v in emulator.volumes()] == [result["id"]]
    assert calls(emulator, "createNetworkVolume") == 1


def test_a_twin_committed_after_the_settle_window_is_removed(
    short_timeouts: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    # The first POST commits 1.2 s late, after a 0.4 s settle window: a second POST is sent, and the
    # late twin shows up while the task waits for its volume to bind.
    short_timeouts.configure(bind_delay=2.0)
    short_timeouts.inject("late_commit", operation="createNetworkVolume", seconds=1.2)

    result = create_op(settle_window=0.4).execute(context)

    assert calls(short_timeouts, "createNetworkVolume") == 2
    assert [v["id"] for v in short_timeouts.volumes()] == [result["id"]]
    assert ti.xcoms["volume_id"] == result["id"]


def test_a_retry_converges_its_own_duplicates_to_the_healthiest(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    client = create_op().hook.client
    from neev_provider.client import CreateVolumeRequest

    request = CreateVolumeRequest(size_gb=20, region_id="as-south-1", name=own_name(ti))
    older, newer, broken = (client.create_volume(request) for _ in range(3))
    emulator.set_state(older.id, status="pending")
    emulator.set_state(newer.id, status="bound")
    emulator.set_state(broken.id, status="failed")

    ti.try_number = 2
    result = create_op().execute(context)

    assert result["id"] == newer.id  # bound beats pending; failed is deleted
    assert [v["id"] for v in emulator.volumes()] == [newer.id]
    assert calls(emulator, "createNetworkVolume") == 3  # the three made above, none by the task


def test_duplicates_of_a_user_given_name_are_never_deleted(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    from neev_provider.client import CreateVolumeRequest, DuplicateVolumeNameError

    client = create_op().hook.client
    for _ in range(2):
        client.create_volume(CreateVolumeRequest(size_gb=20, region_id="as-south-1", name="shared"))

    with pytest.raises(DuplicateVolumeNameError):
        create_op(name="shared").execute(context)
    assert len(emulator.volumes()) == 2
    assert "volume_id" not in context["ti"].xcoms


def test_a_retry_replaces_its_own_failed_volume_when_the_cleanup_had_failed(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("neev_provider.volumes.cleanup.DEFAULT_CLEANUP_SECONDS", 0)
    emulator.script_outcome("bind", "failed")
    emulator.inject("status", operation="deleteNetworkVolume", status=500, times=3)  # one call, retries

    with pytest.raises(NeevVolumeFailedError):
        create_op().execute(context)
    (failed,) = emulator.volumes()
    assert failed["status"] == "failed"
    assert ti.xcoms["volume_id"] == failed["id"]  # a teardown could clean it up

    ti.try_number = 2
    result = create_op().execute(context)

    assert result["status"] == "bound"
    assert [v["id"] for v in emulator.volumes()] == [result["id"]]
    assert ti.xcoms["volume_id"] == result["id"]


def test_a_retry_waits_out_its_own_terminated_volume_then_creates_anew(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    emulator.configure(delete_delay=1.0)  # a deleted volume shows "terminated" for a second
    emulator.script_outcome("bind", "failed")
    with pytest.raises(NeevVolumeFailedError):
        create_op().execute(context)
    assert [v["status"] for v in emulator.volumes()] == ["terminated"]

    ti.try_number = 2
    result = create_op().execute(context)

    assert result["status"] == "bound"
    assert [v["id"] for v in emulator.volumes()] == [result["id"]]
    assert calls(emulator, "createNetworkVolume") == 2


def test_a_deferred_create_resumes_from_the_event_alone(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    """What ``dag.test()`` on Airflow 3.3 does: the resume call gets the event and nothing else."""
    emulator.script_outcome("bind", "failed")
    operator = create_op(deferrable=True)
    with pytest.raises(TaskDeferred) as caught:
        operator.execute(context)
    assert caught.value.kwargs in (None, {})  # no state in next_kwargs
    assert caught.value.timeout is not None  # the scheduler's backstop
    assert caught.value.timeout.total_seconds() >= 30

    with pytest.raises(NeevVolumeFailedError):
        resume(operator, caught.value, context)
    assert emulator.volumes() == []  # delete_on_failure ran from the event's state


def test_a_deferred_delete_keeps_its_detach_clock_across_resumes(
    emulator: EmulatorServer, contract_monitor: ContractMonitor, context: dict[str, Any]
) -> None:
    volume = create_op(wait_for_completion=False).execute(context)
    attachment = emulator.attach(volume["id"], resource_name="trainer-0", mount_path="/mnt/data")
    with detached_once_refused(emulator, contract_monitor, volume["id"], attachment["id"]):
        run_deferrable(
            NeevDeleteVolumeOperator(
                task_id="delete_volume", volume_id=volume["id"], poll_interval=POLL, deferrable=True
            ),
            context,
        )
    assert emulator.volumes() == []


def test_on_kill_leaves_an_adopted_user_volume_alone(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    from neev_provider.client import CreateVolumeRequest

    existing = create_op().hook.client.create_volume(
        CreateVolumeRequest(size_gb=20, region_id="as-south-1", name="team-data")
    )
    operator = create_op(name="team-data", wait_for_completion=False)
    operator.execute(context)
    operator.on_kill()
    assert [v["id"] for v in emulator.volumes()] == [existing.id]


def test_on_kill_after_the_volume_was_handed_on_deletes_nothing(
    emulator: EmulatorServer, context: dict[str, Any]
) -> None:
    operator = create_op()
    result = operator.execute(context)
    operator.on_kill()
    assert [v["id"] for v in emulator.volumes()] == [result["id"]]
