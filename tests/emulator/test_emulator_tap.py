"""The observer tap: one immutable Exchange per public-API request, over real HTTP."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator

import httpx
import pytest
import requests

from neev_provider.emulator import EmulatorServer, EmulatorSettings, Exchange, create_app
from neev_provider.emulator.tap import Tap
from tests.emulator.emulator_client import DEFAULT_BODY
from tests.support.contract import ContractMonitor


class Recorder:
    """Keep every exchange, and pass it on to the session's contract check too."""

    def __init__(self, monitor: ContractMonitor) -> None:
        self.monitor = monitor
        self.exchanges: list[Exchange] = []

    def __call__(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        self.monitor.observe(exchange)

    def wait_for(self, count: int, timeout: float = 2.0) -> list[Exchange]:
        deadline = time.monotonic() + timeout
        while len(self.exchanges) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.exchanges


@pytest.fixture(name="recorder", scope="module")
def fixture_recorder(contract_monitor: ContractMonitor) -> Recorder:
    return Recorder(contract_monitor)


@pytest.fixture(name="tapped", scope="module")
def fixture_tapped(recorder: Recorder) -> Iterator[EmulatorServer]:
    with EmulatorServer(EmulatorSettings(), observer=recorder) as server:
        yield server


@pytest.fixture(name="server")
def fixture_server(tapped: EmulatorServer, recorder: Recorder) -> EmulatorServer:
    tapped.reset()
    recorder.exchanges.clear()
    return tapped


def _auth(server: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.token}"}


def test_an_exchange_holds_both_sides(server: EmulatorServer, recorder: Recorder) -> None:
    url = server.api_base() + "/volumes"
    created = requests.post(url, json=DEFAULT_BODY, headers=_auth(server), timeout=10)
    listed = requests.get(url + "?limit=5&available=false", headers=_auth(server), timeout=10)
    create, page = recorder.exchanges
    assert (create.method, create.operation, create.status, create.fault) == (
        "POST",
        "createNetworkVolume",
        201,
        None,
    )
    assert (
        create.path
        == create.raw_path
        == ("/storage/api/v1beta1/orgs/org-emulator/projects/prj-emulator/volumes")
    )
    assert create.request_body == created.request.body
    assert create.request_header("Authorization") == f"Bearer {server.token}"
    assert create.response_body == created.content
    assert create.response_header("x-request-id") == created.headers["x-request-id"]
    assert create.response_header("content-type") == "application/json"
    assert (page.operation, page.query_string, page.request_body) == (
        "listNetworkVolumes",
        "limit=5&available=false",
        b"",
    )
    assert page.response_body == listed.content
    with pytest.raises(dataclasses.FrozenInstanceError):
        page.status = 500  # type: ignore[misc]


def test_the_exchange_is_observed_before_the_client_has_the_answer(
    server: EmulatorServer, recorder: Recorder
) -> None:
    """So a test's exchanges are all queued by the time the test ends."""
    with requests.Session() as session:
        for count in range(1, 51):
            session.get(server.api_base() + "/volumes", headers=_auth(server), timeout=10)
            assert len(recorder.exchanges) == count


def test_the_request_body_is_kept_even_when_the_app_never_reads_it(
    server: EmulatorServer, recorder: Recorder
) -> None:
    response = requests.post(server.api_base() + "/volumes", json=DEFAULT_BODY, timeout=10)
    assert response.status_code == 401
    (exchange,) = recorder.exchanges
    assert exchange.status == 401
    assert exchange.request_body == response.request.body


def test_a_streamed_request_body_reaches_the_app_whole(server: EmulatorServer, recorder: Recorder) -> None:
    chunks = iter([b'{"sizeGB": 10, ', b'"regionID": "as-south-1", ', b'"volumeMode": "block"}'])
    response = requests.post(server.api_base() + "/volumes", data=chunks, headers=_auth(server), timeout=10)
    assert response.status_code == 201, response.text
    assert response.json()["volumeMode"] == "block"
    assert recorder.exchanges[0].request_body.endswith(b'"volumeMode": "block"}')


def test_admin_requests_are_not_observed(server: EmulatorServer, recorder: Recorder) -> None:
    server.volumes()
    server.advance(1)
    server.inject("latency", seconds=0)
    assert recorder.exchanges == []


def test_faults_are_named_and_a_dropped_answer_has_no_status(
    server: EmulatorServer, recorder: Recorder
) -> None:
    server.inject("status", operation="listNetworkVolumes", status=503)
    server.inject("drop", operation="getNetworkVolume")
    assert requests.get(server.api_base() + "/volumes", headers=_auth(server), timeout=10).status_code == 503
    with pytest.raises(requests.ConnectionError):
        requests.get(server.api_base() + "/volumes/3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c", timeout=10)
    faulted, dropped = recorder.wait_for(2)
    assert (faulted.fault, faulted.status, faulted.operation) == ("status", 503, "listNetworkVolumes")
    assert (dropped.fault, dropped.status, dropped.response_body) == ("drop", None, b"")


def test_an_encoded_slash_is_kept_in_the_raw_path(server: EmulatorServer, recorder: Recorder) -> None:
    url = server.url + "/storage/api/v1beta1/orgs/a%2Fb/projects/p/volumes"
    assert requests.get(url, headers=_auth(server), timeout=10).status_code == 200
    (exchange,) = recorder.exchanges
    assert exchange.raw_path == "/storage/api/v1beta1/orgs/a%2Fb/projects/p/volumes"
    assert exchange.path == "/storage/api/v1beta1/orgs/a/b/projects/p/volumes"
    assert exchange.operation == "listNetworkVolumes"


def test_without_an_observer_no_tap_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default costs nothing: the request path never reaches the tap."""

    async def refuse(*args: object, **kwargs: object) -> Tap:
        raise AssertionError("a tap was built without an observer")

    monkeypatch.setattr(Tap, "open", refuse)

    async def scenario() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(EmulatorSettings(token="t")))
        async with httpx.AsyncClient(transport=transport, headers={"Authorization": "Bearer t"}) as client:
            return await client.get("http://emulator/storage/api/v1beta1/orgs/o/projects/p/volumes")

    assert asyncio.run(scenario()).status_code == 200
