"""Many waits, one client and one poll loop: shared clients, batched reads, exactly one event each."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest
import requests

from neev_provider.client import CreateVolumeRequest
from neev_provider.emulator import EmulatorServer
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.triggers import NeevVolumeTrigger
from neev_provider.triggers import registry as registry_module
from neev_provider.triggers.registry import ClientRegistry
from tests.operators.conftest import calls, rebuild


def make_volumes(count: int, **request: Any) -> list[str]:
    client = NeevCloudHook().client
    values = {"size_gb": 10, "region_id": "as-south-1", **request}
    return [client.create_volume(CreateVolumeRequest(**values)).id for _ in range(count)]


def triggers(volume_ids: list[str], **kwargs: Any) -> list[NeevVolumeTrigger]:
    values: dict[str, Any] = {"target": "bound", "deadline": time.time() + 30, "poll_interval": 0.5}
    values.update(kwargs)
    return [rebuild(NeevVolumeTrigger(volume_id=vid, **values)) for vid in volume_ids]  # type: ignore[misc]


async def first_events(group: list[NeevVolumeTrigger]) -> list[dict[str, Any]]:
    async def one(trigger: NeevVolumeTrigger) -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    results = await asyncio.gather(*(one(t) for t in group))
    for events in results:
        assert len(events) == 1  # exactly one event per trigger
    return [events[0] for events in results]


def test_waits_in_one_project_are_read_with_list_calls(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=1.2)
    ids = make_volumes(150)
    emulator.clear_requests()

    events = asyncio.run(first_events(triggers(ids)))

    assert [e["status"] for e in events] == ["success"] * 150
    assert {e["volume_id"] for e in events} == set(ids)
    lists, gets = calls(emulator, "listNetworkVolumes"), calls(emulator, "getNetworkVolume")
    # 150 waits, 2 pages per round, about 4 rounds in 1.2 s at 0.5 s: one GET each would be ~600.
    assert gets == 0
    assert lists <= 4 * math.ceil(150 / 100) + 2


def test_a_few_waits_are_read_one_by_one(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=0.3)
    ids = make_volumes(2)
    emulator.clear_requests()

    events = asyncio.run(first_events(triggers(ids, poll_interval=0.1)))

    assert [e["status"] for e in events] == ["success", "success"]
    assert calls(emulator, "listNetworkVolumes") == 0
    assert calls(emulator, "getNetworkVolume") >= 2


def test_each_wait_keeps_its_own_target_and_outcome(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=0.3)
    bound, failed, deleted, slow = (make_volumes(1)[0] for _ in range(4))
    emulator.set_state(failed, status="failed")
    emulator.set_state(slow, status="pending")
    NeevCloudHook().client.delete_volume(deleted)
    group = [
        *triggers([bound, failed]),
        *triggers([deleted], target="deleted"),
        *triggers([slow], deadline=time.time() + 1.0),
    ]

    events = asyncio.run(first_events(group))

    assert [e["status"] for e in events] == ["success", "failed", "success", "timeout"]


def test_triggers_of_one_connection_share_one_client_and_close_it(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=0.6)
    ids = make_volumes(5)

    async def scenario() -> tuple[int, int, bool]:
        registry = ClientRegistry.current()
        tasks = [asyncio.ensure_future(first_events([t])) for t in triggers(ids)]
        await asyncio.sleep(0.3)
        shared = list(registry._clients.values())
        clients, users = len(shared), shared[0].users
        await asyncio.gather(*tasks)
        return clients, users, shared[0].client._http.is_closed

    clients, users, closed = asyncio.run(scenario())
    assert (clients, users) == (1, 5)
    assert closed  # the last trigger to leave closed it


def test_a_cancelled_trigger_returns_its_lease(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=60)
    (volume_id,) = make_volumes(1)

    async def scenario() -> int:
        registry = ClientRegistry.current()
        task = asyncio.ensure_future(first_events(triggers([volume_id])))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return len(registry)

    assert asyncio.run(scenario()) == 0


def test_a_rotated_token_is_picked_up_by_running_waits(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user rotates the connection's token; the old one then expires: the wait carries on."""
    emulator.configure(bind_delay=4.5, token_ttl=3)
    login = requests.post(
        emulator.url + "/tenant/api/v1/auth/login",
        json={"email": "user@example.com", "password": "emulator-password"},
        timeout=10,
    )
    short_lived = login.json()["access_token"]  # a JWT valid for 2 to 3 seconds
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(password=short_lived))
    (volume_id,) = make_volumes(1)

    async def scenario() -> list[dict[str, Any]]:
        waiting = asyncio.ensure_future(first_events(triggers([volume_id], poll_interval=0.3)))
        await asyncio.sleep(0.5)
        monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection())  # rotated
        return await waiting

    (event,) = asyncio.run(scenario())
    assert event["status"] == "success", event["message"]
    statuses = [r["status"] for r in emulator.requests() if r["operation"] == "getNetworkVolume"]
    assert 401 in statuses  # it did meet the expired token


def test_a_rate_limit_pauses_the_shared_poller_once(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=0.5)
    ids = make_volumes(20)
    emulator.inject("status", status=429, retry_after=1, operation="listNetworkVolumes", times=4)

    started = time.monotonic()
    events = asyncio.run(first_events(triggers(ids, poll_interval=0.2)))

    assert [e["status"] for e in events] == ["success"] * 20
    assert time.monotonic() - started < 10  # one pause, not one per wait
    lists = [r for r in emulator.requests() if r["operation"] == "listNetworkVolumes"]
    assert sum(1 for r in lists if r["status"] == 429) == 4


def test_registries_are_per_event_loop() -> None:
    async def current() -> ClientRegistry:
        return ClientRegistry.current()

    assert asyncio.run(current()) is not asyncio.run(current())
    assert registry_module.RECHECK_SECONDS > 0


def test_the_batch_threshold_is_a_configuration_option(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__NEEVCLOUD__POLL_BATCH_THRESHOLD", "50")  # more than the waits below
    emulator.configure(bind_delay=0.6)
    ids = make_volumes(10)
    emulator.clear_requests()

    events = asyncio.run(first_events(triggers(ids, poll_interval=0.3)))

    assert [e["status"] for e in events] == ["success"] * 10
    assert calls(emulator, "listNetworkVolumes") == 0
    assert calls(emulator, "getNetworkVolume") >= 10
