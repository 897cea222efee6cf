"""With Airflow 3.3's task state store, a create costs the same in any project, still exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from neev_provider.client import CreateVolumeRequest
from neev_provider.emulator import EmulatorServer
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import NeevCreateVolumeOperator
from neev_provider.volumes.records import KEY, RECORD_FORMAT
from tests.operators.conftest import FakeTaskInstance
from tests.support.task_state import InMemoryTaskStateStore


class BrokenStore(InMemoryTaskStateStore):
    def get(self, key: str, default: Any = None) -> Any:
        raise RuntimeError("the state store backend is down")


def create(context: dict[str, Any]) -> dict[str, Any]:
    operator = NeevCreateVolumeOperator(task_id="create_volume", size_gb=10, wait_for_completion=False)
    result: dict[str, Any] = operator.execute(context)
    return result


def operations(emulator: EmulatorServer) -> list[str]:
    return [r["operation"] for r in emulator.requests()]


@pytest.fixture(name="store_context")
def fixture_store_context(context: dict[str, Any]) -> dict[str, Any]:
    return {**context, "task_state_store": InMemoryTaskStateStore()}


@pytest.mark.parametrize("others", [0, 250])
def test_a_first_try_creates_with_one_call_whatever_the_project_holds(
    emulator: EmulatorServer, store_context: dict[str, Any], others: int
) -> None:
    client = NeevCloudHook().client
    for index in range(others):
        client.create_volume(CreateVolumeRequest(size_gb=1, region_id="as-south-1", name=f"other-{index}"))
    emulator.clear_requests()

    result = create(store_context)

    assert operations(emulator) == ["createNetworkVolume"]
    record = store_context["task_state_store"].values[KEY]
    assert record == {
        "format": RECORD_FORMAT,
        "name": result["name"],
        "volume_id": result["id"],
        "ambiguous": False,
    }


def test_a_retry_after_a_committed_create_reads_one_volume(
    emulator: EmulatorServer, store_context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    first = create(store_context)
    emulator.clear_requests()
    ti.try_number = 2

    second = create(store_context)

    assert second["id"] == first["id"]
    assert operations(emulator) == ["getNetworkVolume"]
    assert len(emulator.volumes()) == 1


@pytest.mark.parametrize(
    ("record", "try_number"),
    [
        (None, 2),  # a retry with nothing recorded (or a record cleared on success)
        ({"volume_id": None, "ambiguous": False}, 1),  # an intent without a result: a POST may be out
        ({"volume_id": "7d0d9d4e-1b43-4f3c-9a2e-0c9d1e7a9b11", "ambiguous": True}, 2),
    ],
    ids=["retry-without-record", "intent-only", "ambiguous"],
)
def test_anything_unproven_falls_back_to_the_lookup(
    emulator: EmulatorServer,
    store_context: dict[str, Any],
    ti: FakeTaskInstance,
    record: dict[str, Any] | None,
    try_number: int,
) -> None:
    earlier = create(
        {**store_context, "task_state_store": InMemoryTaskStateStore()}
    )  # an earlier try's volume
    ti.try_number = try_number
    if record is not None:
        store_context["task_state_store"].values[KEY] = {"name": earlier["name"], **record}
    emulator.clear_requests()

    result = create(store_context)

    assert result["id"] == earlier["id"]  # found by the lookup, not created twice
    assert operations(emulator) == ["listNetworkVolumes"]
    assert len(emulator.volumes()) == 1


def test_a_failing_store_falls_back_to_the_lookup(emulator: EmulatorServer, context: dict[str, Any]) -> None:
    create(context)
    emulator.clear_requests()

    create({**context, "task_state_store": BrokenStore()})

    assert operations(emulator) == ["listNetworkVolumes"]
    assert len(emulator.volumes()) == 1


def test_a_recorded_volume_that_failed_is_reconciled(
    emulator: EmulatorServer, store_context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    first = create(store_context)
    emulator.set_state(first["id"], status="failed")
    ti.try_number = 2

    second = create(store_context)

    assert second["id"] != first["id"]
    assert [v["id"] for v in emulator.volumes()] == [second["id"]]
