"""NeevExtendVolumeOperator: to a target total size, idempotently."""

from __future__ import annotations

from typing import Any

import pytest

from neev_provider._compat import AirflowFailException
from neev_provider.client import CreateVolumeRequest, NeevCloudClient, NeevCloudValidationError
from neev_provider.emulator import EmulatorServer
from neev_provider.exceptions import NeevVolumeConflictError, NeevVolumeFailedError
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import NeevExtendVolumeOperator
from tests.operators.conftest import POLL, calls, run_deferrable


@pytest.fixture(name="client")
def fixture_client(emulator: EmulatorServer) -> NeevCloudClient:
    return NeevCloudHook().client


def new_volume(
    client: NeevCloudClient, emulator: EmulatorServer, size_gb: int = 10, *, bound: bool = True
) -> str:
    volume = client.create_volume(CreateVolumeRequest(size_gb=size_gb, region_id="as-south-1"))
    if bound:
        emulator.advance(60)
    return volume.id


def extend_op(volume_id: str, size_gb: Any, **kwargs: Any) -> NeevExtendVolumeOperator:
    values: dict[str, Any] = {"task_id": "extend", "poll_interval": POLL, "timeout": 30}
    values.update(kwargs)
    return NeevExtendVolumeOperator(volume_id=volume_id, size_gb=size_gb, **values)


@pytest.mark.parametrize("deferrable", [False, True], ids=["worker", "deferred"])
def test_extends_and_waits_for_the_new_size(
    emulator: EmulatorServer, client: NeevCloudClient, context: dict[str, Any], deferrable: bool
) -> None:
    volume_id = new_volume(client, emulator)

    result = run_deferrable(extend_op(volume_id, 40, deferrable=deferrable), context)

    assert (result["sizeGB"], result["actual_sizeGB"], result["extension_status"]) == (40, 40, "succeeded")
    assert calls(emulator, "extendNetworkVolume") == 1


def test_already_at_the_target_succeeds_without_a_call(
    emulator: EmulatorServer, client: NeevCloudClient, context: dict[str, Any]
) -> None:
    volume_id = new_volume(client, emulator, size_gb=50)

    assert extend_op(volume_id, 50).execute(context)["sizeGB"] == 50
    assert extend_op(volume_id, "30").execute(context)["sizeGB"] == 50  # already larger: large enough
    assert calls(emulator, "extendNetworkVolume") == 0


def test_a_shrink_is_refused_before_any_change_when_asked(
    emulator: EmulatorServer, client: NeevCloudClient, context: dict[str, Any]
) -> None:
    volume_id = new_volume(client, emulator, size_gb=50)

    with pytest.raises(NeevVolumeConflictError, match="volumes cannot shrink"):
        extend_op(volume_id, 30, if_larger="fail").execute(context)
    assert calls(emulator, "extendNetworkVolume") == 0


def test_a_running_resize_is_waited_for_then_joined(
    emulator: EmulatorServer, client: NeevCloudClient, context: dict[str, Any]
) -> None:
    volume_id = new_volume(client, emulator)
    client.extend_volume(volume_id, 30)  # somebody else's resize, still running

    result = extend_op(volume_id, 30).execute(context)

    assert result["sizeGB"] == 30
    assert calls(emulator, "extendNetworkVolume") == 1  # only the other one


def test_a_larger_target_than_the_running_resize_extends_after_it(
    emulator: EmulatorServer, client: NeevCloudClient, context: dict[str, Any]
) -> None:
    volume_id = new_volume(client, emulator)
    client.extend_volume(volume_id, 30)

    assert extend_op(volume_id, 60).execute(context)["actual_sizeGB"] == 60
    assert calls(emulator, "extendNetworkVolume") == 2


def test_a_volume_still_being_created_is_waited_for(
    emulator: EmulatorServer, client: NeevCloudClient, context: dict[str, Any]
) -> None:
    volume_id = new_volume(client, emulator, bound=False)

    result = run_deferrable(extend_op(volume_id, 25, deferrable=True), context)
    assert result["actual_sizeGB"] == 25


def test_a_failed_extension_fails_fast(
    emulator: EmulatorServer, client: NeevCloudClient, context: dict[str, Any]
) -> None:
    volume_id = new_volume(client, emulator)
    emulator.script_outcome("extend", "failed")

    with pytest.raises(NeevVolumeFailedError, match="extension"):
        extend_op(volume_id, 80).execute(context)


def test_an_extend_whose_answer_is_lost_is_not_sent_twice(
    emulator: EmulatorServer, client: NeevCloudClient, context: dict[str, Any]
) -> None:
    volume_id = new_volume(client, emulator)
    emulator.inject("commit_then_drop", operation="extendNetworkVolume", times=1)

    assert extend_op(volume_id, 45).execute(context)["actual_sizeGB"] == 45
    assert calls(emulator, "extendNetworkVolume") == 1


@pytest.mark.parametrize(
    ("volume_id", "size", "field"), [("not-a-uuid", 10, "volume_id"), (None, 2000, "size_gb")]
)
def test_bad_arguments_are_refused_before_any_call(
    emulator: EmulatorServer,
    client: NeevCloudClient,
    context: dict[str, Any],
    volume_id: str | None,
    size: int,
    field: str,
) -> None:
    real_id = new_volume(client, emulator)
    before = len(emulator.requests())
    with pytest.raises(AirflowFailException, match=field) as caught:
        extend_op(volume_id or real_id, size).execute(context)
    assert isinstance(caught.value.__cause__, NeevCloudValidationError)
    assert len(emulator.requests()) == before
