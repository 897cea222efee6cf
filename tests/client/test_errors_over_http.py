"""Each error class, produced by a real answer of the emulator."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from neev_provider.client import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CreateVolumeRequest,
    NeevCloudAPIError,
    NeevCloudClient,
    NeevCloudTimeoutError,
    NeevCloudTransportError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TokenAuth,
    VolumeInUseError,
)
from neev_provider.emulator import EmulatorServer
from tests.client.conftest import make_api, make_config

MISSING = "0b6f0c7e-0000-4000-8000-000000000000"


def test_not_found_carries_status_code_message_and_request_id(api: Any) -> None:
    with pytest.raises(NotFoundError) as caught:
        api.get_volume(MISSING)

    error = caught.value
    assert error.status == 404
    assert error.code
    assert error.message
    assert error.request_id
    assert error.request_id in str(error)
    assert MISSING in error.url


def test_bad_request_from_the_server_is_not_retried(api: Any, neev_emulator: EmulatorServer) -> None:
    with pytest.raises(BadRequestError) as caught:
        api.create_volume(CreateVolumeRequest(size_gb=5, region_id="mars-north-1"))

    assert "regionID" in caught.value.message
    assert len(neev_emulator.requests()) == 1


def test_volume_in_use_is_its_own_error(api: Any, neev_emulator: EmulatorServer) -> None:
    volume = api.create_volume(CreateVolumeRequest(size_gb=5, region_id="as-south-1"))
    neev_emulator.attach(volume.id, resource_name="trainer-7")

    with pytest.raises(VolumeInUseError) as caught:
        api.delete_volume(volume.id)
    assert caught.value.status == 400
    assert "trainer-7" in str(caught.value)


def test_wrong_token_is_an_authentication_error(
    api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    config = make_config(neev_emulator, auth=TokenAuth("pat-nc-not-the-right-one"))
    for api in make_api(api_kind, config, sleeps):
        with pytest.raises(AuthenticationError) as caught:
            api.list_volumes()
        assert caught.value.status == 401
    assert len(neev_emulator.requests()) == 1


@pytest.mark.parametrize(
    ("status", "error_class"),
    [(403, PermissionDeniedError), (409, ConflictError), (500, ServerError), (504, ServerError)],
    ids=["403", "409", "500", "504"],
)
def test_injected_statuses_map_to_their_classes(
    api: Any, neev_emulator: EmulatorServer, status: int, error_class: type[NeevCloudAPIError]
) -> None:
    neev_emulator.inject("status", operation="getNetworkVolume", status=status, times=5)

    with pytest.raises(error_class) as caught:
        api.get_volume(MISSING)
    assert caught.value.status == status


def test_rate_limit_error_carries_retry_after_once_retries_are_spent(
    api: Any, neev_emulator: EmulatorServer
) -> None:
    neev_emulator.inject("status", operation="listNetworkVolumes", status=429, retry_after=3, times=10)

    with pytest.raises(RateLimitError) as caught:
        api.list_volumes()
    assert caught.value.retry_after == 3


def test_a_gateway_html_page_gives_a_readable_error(api: Any, neev_emulator: EmulatorServer) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
    neev_emulator.inject(
        "status", operation="getNetworkVolume", status=502, body=page, content_type="text/html", times=5
    )

    with pytest.raises(ServerError) as caught:
        api.get_volume(MISSING)
    message = str(caught.value)
    assert "non-JSON" in message
    assert "text/html" in message
    assert "502 Bad Gateway" in message
    assert message.startswith(f"reading volume {MISSING} in org 'org-emulator', project 'prj-emulator': ")
    assert len(message) - len(caught.value.context or "") < 400


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_retried_then_reported(
    api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float]
) -> None:
    config = make_config(neev_emulator, host=f"http://127.0.0.1:{_closed_port()}")
    for api in make_api(api_kind, config, sleeps):
        with pytest.raises(NeevCloudTransportError) as caught:
            api.list_volumes()
    assert caught.value.request_sent is False
    assert "refused" in str(caught.value).lower()
    assert len(sleeps) == 2


def test_a_slow_answer_times_out(api_kind: str, neev_emulator: EmulatorServer, sleeps: list[float]) -> None:
    latency = 0.6
    neev_emulator.inject("latency", operation="getNetworkVolume", seconds=latency, times=3)
    config = make_config(neev_emulator, timeout=0.2)
    for api in make_api(api_kind, config, sleeps):
        with pytest.raises(NeevCloudTimeoutError) as caught:
            api.get_volume(MISSING)
    assert caught.value.request_sent is True
    # A GET is safe to replay, so the timeout was retried before giving up.
    assert len(sleeps) == 2
    # Let the abandoned requests finish on the server, so they cannot spill into the next test.
    time.sleep(latency)


def test_the_sync_client_reuses_its_connection(neev_emulator: EmulatorServer) -> None:
    with NeevCloudClient(make_config(neev_emulator)) as client:
        for _ in range(5):
            client.list_volumes(limit=1)
        pool = client._session.get_adapter(neev_emulator.url).poolmanager  # type: ignore[attr-defined]
        connections = sum(p.num_connections for p in pool.pools._container.values())
    assert connections == 1
