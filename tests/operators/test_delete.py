"""NeevDeleteVolumeOperator: 404 is done, in-use is waited through, then the volume is gone."""

from __future__ import annotations

from typing import Any

import pytest

from neev_provider.client import CreateVolumeRequest, NotFoundError
from neev_provider.emulator import EmulatorServer
from neev_provider.exceptions import NeevVolumeInUseError
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import NeevDeleteVolumeOperator
from tests.operators.conftest import POLL, calls, run_deferrable
from tests.support.contract import ContractMonitor
from tests.support.emulator_events import detached_once_refused

MISSING = "5f0b7c1e-0000-4000-8000-00000000dead"


@pytest.fixture(name="volume_id")
def fixture_volume_id(emulator: EmulatorServer) -> str:
    volume = NeevCloudHook().client.create_volume(CreateVolumeRequest(size_gb=10, region_id="as-south-1"))
    emulator.advance(60)
    return volume.id


def delete_op(volume_id: str, **kwargs: Any) -> NeevDeleteVolumeOperator:
    values: dict[str, Any] = {"task_id": "delete_volume", "poll_interval": POLL, "timeout": 30}
    values.update(kwargs)
    return NeevDeleteVolumeOperator(volume_id=volume_id, **values)


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_deletes_and_waits_until_gone(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str, deferrable: bool
) -> None:
    emulator.configure(delete_delay=0.2)  # the API keeps showing it "terminated" for a moment

    run_deferrable(delete_op(volume_id, deferrable=deferrable), context)

    assert emulator.volumes() == []
    reads = [r["status"] for r in emulator.requests() if r["operation"] == "getNetworkVolume"]
    assert reads[-1] == 404  # it waited until the API said the volume is gone


def test_a_volume_already_gone_counts_as_deleted(emulator: EmulatorServer, context: dict[str, Any]) -> None:
    delete_op(MISSING).execute(context)
    assert calls(emulator, "deleteNetworkVolume") == 1


def test_a_missing_volume_can_be_an_error(emulator: EmulatorServer, context: dict[str, Any]) -> None:
    with pytest.raises(NotFoundError):
        delete_op(MISSING, not_found_ok=False).execute(context)


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_in_use_is_waited_through_until_detached(
    emulator: EmulatorServer,
    contract_monitor: ContractMonitor,
    context: dict[str, Any],
    volume_id: str,
    deferrable: bool,
) -> None:
    attachment = emulator.attach(volume_id, resource_name="trainer-3")

    with detached_once_refused(emulator, contract_monitor, volume_id, attachment["id"]):
        run_deferrable(delete_op(volume_id, deferrable=deferrable, detach_timeout=20), context)

    assert emulator.volumes() == []
    assert calls(emulator, "deleteNetworkVolume") == 2  # refused while in use, then accepted


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_in_use_past_the_detach_timeout_fails_naming_the_attachments(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str, deferrable: bool
) -> None:
    emulator.attach(volume_id, resource_name="trainer-9", mount_path="/mnt/ckpt")

    with pytest.raises(NeevVolumeInUseError) as caught:
        run_deferrable(delete_op(volume_id, deferrable=deferrable, detach_timeout=0.3), context)

    assert "trainer-9 at /mnt/ckpt (mounted)" in str(caught.value)
    assert len(emulator.volumes()) == 1  # nothing forced


def test_without_waiting_it_returns_after_the_request(
    emulator: EmulatorServer, context: dict[str, Any], volume_id: str
) -> None:
    emulator.configure(delete_delay=3600)
    delete_op(volume_id, wait_for_completion=False).execute(context)
    assert [v["status"] for v in emulator.volumes()] == ["terminated"]
    assert calls(emulator, "getNetworkVolume") == 0
