"""The shared poller on its own: how it pages through a project's list, against the emulator."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from neev_provider.client import AsyncNeevCloudClient, CreateVolumeRequest, NeevCloudClient
from neev_provider.client.models import Page
from neev_provider.client.polling import LIST_LIMIT, MAX_CONCURRENT_PAGES, SharedPoller
from neev_provider.client.readiness import Target
from neev_provider.client.waiting import VolumeWatch, WaitOutcome
from neev_provider.emulator import EmulatorServer
from tests.client.conftest import make_config

PAGES = 4


class ObservedClient(AsyncNeevCloudClient):
    """The real async client, counting how many list calls are on the wire at once."""

    in_flight = 0
    most_in_flight = 0
    pages_asked: list[int]

    async def list_volumes(self, **kwargs: Any) -> Page:
        type(self).in_flight += 1
        type(self).most_in_flight = max(type(self).most_in_flight, type(self).in_flight)
        self.pages_asked.append(kwargs["page"])
        try:
            return await super().list_volumes(**kwargs)
        finally:
            type(self).in_flight -= 1


def make_volumes(emulator: EmulatorServer, count: int) -> list[str]:
    with NeevCloudClient(make_config(emulator)) as client:
        request = CreateVolumeRequest(size_gb=10, region_id="as-south-1")
        return [client.create_volume(request).id for _ in range(count)]


async def wait_all(client: AsyncNeevCloudClient, ids: list[str], poll: float) -> list[WaitOutcome]:
    poller = SharedPoller(lambda: client)
    deadline = time.time() + 30
    watches = [VolumeWatch(vid, Target.parse("bound"), deadline=deadline, poll_interval=poll) for vid in ids]
    try:
        return await asyncio.gather(*(poller.wait(watch) for watch in watches))
    finally:
        await client.aclose()


def test_pages_the_last_round_saw_are_read_together(neev_emulator: EmulatorServer) -> None:
    neev_emulator.configure(bind_delay=1.0)
    ids = make_volumes(neev_emulator, LIST_LIMIT * (PAGES - 1) + 1)
    # Each list answer takes a while, so that pages asked for together are seen overlapping.
    neev_emulator.inject("latency", operation="listNetworkVolumes", seconds=0.1)
    client = ObservedClient(make_config(neev_emulator))
    client.pages_asked = []
    ObservedClient.most_in_flight = 0

    outcomes = asyncio.run(wait_all(client, ids, poll=0.3))

    assert [o.status for o in outcomes] == ["success"] * len(ids)
    assert sorted(o.volume_id for o in outcomes) == sorted(ids)
    # The first round learns how many pages there are one page at a time; later rounds ask for
    # them together, never more at once than the cap.
    assert client.pages_asked[:PAGES] == [1, 2, 3, 4]
    assert ObservedClient.most_in_flight == min(PAGES, MAX_CONCURRENT_PAGES)


def test_a_list_call_that_gives_up_delays_the_waits_without_failing_them(
    neev_emulator: EmulatorServer,
) -> None:
    neev_emulator.configure(bind_delay=0.5)
    ids = make_volumes(neev_emulator, LIST_LIMIT * (PAGES - 1) + 1)
    # Enough 503s for one list call to give up after its retries: the round fails, the waits don't.
    neev_emulator.inject("status", status=503, operation="listNetworkVolumes", times=3)
    client = ObservedClient(make_config(neev_emulator))
    client.pages_asked = []

    outcomes = asyncio.run(wait_all(client, ids, poll=0.3))

    assert [o.status for o in outcomes] == ["success"] * len(ids)
    statuses = [r["status"] for r in neev_emulator.requests() if r["operation"] == "listNetworkVolumes"]
    assert statuses.count(503) == 3
