"""The shared retry policy, observed through real answers of the emulator.

Waits are recorded by the injected ``sleep`` instead of being slept.
"""

from __future__ import annotations

from typing import Any

import pytest

from neev_provider.client import (
    AmbiguousRequestError,
    CreateVolumeRequest,
    NeevCloudTransportError,
    RetryPolicy,
    ServerError,
)
from neev_provider.emulator import EmulatorServer
from tests.client.conftest import make_api, make_config

REQUEST = CreateVolumeRequest(size_gb=10, region_id="as-south-1", name="exactly-once")


def calls(server: EmulatorServer, operation: str) -> int:
    return sum(1 for r in server.requests() if r["operation"] == operation)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_get_is_retried_on_server_errors(
    api: Any, neev_emulator: EmulatorServer, sleeps: list[float], status: int
) -> None:
    volume = api.create_volume(REQUEST)
    neev_emulator.inject("status", operation="getNetworkVolume", status=status, times=2)

    assert api.get_volume(volume.id).id == volume.id
    assert calls(neev_emulator, "getNetworkVolume") == 3
    # Exponential backoff from 0.25 s (jitter pinned to its top).
    assert sleeps == [0.25, 0.5]


def test_retry_after_in_seconds_is_honoured(
    api: Any, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    neev_emulator.inject("status", operation="listNetworkVolumes", status=429, retry_after=7, times=1)

    api.list_volumes()

    assert sleeps == [7.0]


def test_retry_after_is_clamped(api: Any, neev_emulator: EmulatorServer, sleeps: list[float]) -> None:
    neev_emulator.inject("status", operation="listNetworkVolumes", status=503, retry_after=3600, times=1)

    api.list_volumes()

    assert sleeps == [30.0]


def test_giving_up_raises_the_last_error(
    api: Any, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    neev_emulator.inject("status", operation="listNetworkVolumes", status=503, times=10)

    with pytest.raises(ServerError) as caught:
        api.list_volumes()

    assert caught.value.status == 503
    assert calls(neev_emulator, "listNetworkVolumes") == 3
    assert len(sleeps) == 2


def test_attempts_are_configurable(api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float]) -> None:
    neev_emulator.inject("status", operation="listNetworkVolumes", status=503, times=10)
    config = make_config(
        neev_emulator, retry=RetryPolicy(max_retries=4, initial_delay=1.0, max_delay=3.0, jitter=lambda: 1.0)
    )
    for api in make_api(api_kind, config, sleeps):
        with pytest.raises(ServerError):
            api.list_volumes()
    assert calls(neev_emulator, "listNetworkVolumes") == 5
    assert sleeps == [1.0, 2.0, 3.0, 3.0]


def test_a_create_is_not_replayed_after_a_server_error(
    api: Any, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    neev_emulator.inject("status", operation="createNetworkVolume", status=503, times=1)

    with pytest.raises(AmbiguousRequestError) as caught:
        api.create_volume(REQUEST)

    assert isinstance(caught.value.cause, ServerError)
    assert calls(neev_emulator, "createNetworkVolume") == 1
    assert sleeps == []


def test_a_create_whose_answer_is_lost_is_reported_ambiguous_and_can_be_found(
    api: Any, neev_emulator: EmulatorServer
) -> None:
    neev_emulator.inject("commit_then_drop", operation="createNetworkVolume", times=1)

    with pytest.raises(AmbiguousRequestError) as caught:
        api.create_volume(REQUEST)

    assert isinstance(caught.value.cause, NeevCloudTransportError)
    assert caught.value.cause.request_sent is True
    found = api.find_volume_by_name(REQUEST.name)
    assert found is not None
    assert [v["id"] for v in neev_emulator.volumes()] == [found.id]


def test_a_create_refused_by_the_rate_limiter_is_retried(
    api: Any, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    neev_emulator.inject("status", operation="createNetworkVolume", status=429, retry_after=2, times=1)

    api.create_volume(REQUEST)

    assert sleeps == [2.0]
    assert len(neev_emulator.volumes()) == 1


def test_an_extend_is_not_replayed_after_a_dropped_connection(
    api: Any, neev_emulator: EmulatorServer
) -> None:
    volume = api.create_volume(REQUEST)
    neev_emulator.advance(60)
    neev_emulator.inject("drop", operation="extendNetworkVolume", times=1)

    with pytest.raises(AmbiguousRequestError):
        api.extend_volume(volume.id, 20)
    assert calls(neev_emulator, "extendNetworkVolume") == 1


def test_a_dropped_connection_on_a_get_is_retried(api: Any, neev_emulator: EmulatorServer) -> None:
    volume = api.create_volume(REQUEST)
    neev_emulator.inject("drop", operation="getNetworkVolume", times=1)

    assert api.get_volume(volume.id).id == volume.id
    assert calls(neev_emulator, "getNetworkVolume") == 2
