"""Name lookups and batched reads that cannot miss or stall: shifting lists, malformed neighbours.

A create's lookup decides whether a second volume is made, so it must not miss the task's own
volume when other volumes are deleted and created while it pages (4), and one malformed volume of
somebody else's in the project must not break it, nor any batched wait (5).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from neev_provider.client import CreateVolumeRequest
from neev_provider.deployment import task_volume_name
from neev_provider.emulator import EmulatorServer
from neev_provider.emulator.connection import airflow_connection
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.operators import NeevCreateVolumeOperator
from neev_provider.triggers import NeevVolumeTrigger
from tests.hostile.bad_server import Answer, BadServer, Request, json_answer, volume
from tests.operators.conftest import POLL, FakeTaskInstance, calls, rebuild


def create_op(**kwargs: Any) -> NeevCreateVolumeOperator:
    values: dict[str, Any] = {"task_id": "create_volume", "size_gb": 10, "poll_interval": POLL, "timeout": 30}
    values.update(kwargs)
    return NeevCreateVolumeOperator(**values)


def test_a_retry_finds_its_volume_while_the_list_shifts_under_it(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    """Its volume is the first of page 2 when page 1 is read; a deletion moves it back to page 1."""
    emulator.configure(bind_delay=0, dialect="shifting")
    client = NeevCloudHook().client

    def make(name: str) -> str:
        return client.create_volume(CreateVolumeRequest(size_gb=10, region_id="as-south-1", name=name)).id

    for index in range(100):
        make(f"shift-{index:03d}")
    own = make(task_volume_name(ti))
    for index in range(100, 150):
        make(f"shift-{index:03d}")
    emulator.clear_requests()

    ti.try_number = 2  # an earlier try created it, and died before telling anyone
    result = create_op().execute(context)

    assert result["id"] == own
    assert calls(emulator, "createNetworkVolume") == 0  # adopted, not made twice
    assert calls(emulator, "listNetworkVolumes") == 4  # two walks of two pages: the first missed it


# -- a malformed volume of somebody else's --------------------------------------------------------

OWN = "00000000-0000-4000-8000-000000000001"
FOREIGN = {"id": "00000000-0000-4000-8000-0000000000ff", "name": "someone-elses", "status": "bound"}


@pytest.fixture(name="project_with_a_malformed_volume")
def fixture_project(monkeypatch: pytest.MonkeyPatch, ti: FakeTaskInstance) -> Iterator[BadServer]:
    """A project listing a malformed foreign volume (no planID, no sizeGB...) beside others."""
    name = task_volume_name(ti)
    state = {"posted": False}

    def route(request: Request) -> Answer:
        listed = [FOREIGN, *([volume(OWN, name, status="bound")] if state["posted"] else [])]
        listed += [volume(f"00000000-0000-4000-8000-{i:012d}", f"other-{i}") for i in range(2, 6)]
        if request.method == "GET" and request.path.endswith("/volumes"):
            return json_answer(
                {"volumes": listed, "pagination": {"total_items": len(listed), "total_pages": 1}}
            )
        if request.method == "POST":
            state["posted"] = True
            return json_answer(volume(OWN, json.loads(request.body)["name"], status="pending"), 201)
        found = [item for item in listed if item["id"] == request.path.rsplit("/", 1)[1]]
        return json_answer(found[0]) if found else json_answer({"code": "not_found", "message": "no"}, 404)

    with BadServer() as server:
        server.serve(route)
        connection = airflow_connection(server.url, "pat-nc-lookups", org_id="org-bad", project_id="prj-bad")
        monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", connection)
        yield server


def test_a_create_succeeds_beside_a_malformed_foreign_volume(
    project_with_a_malformed_volume: BadServer, context: dict[str, Any]
) -> None:
    result = create_op().execute(context)

    assert result["id"] == OWN
    assert result["status"] == "bound"


def test_batched_waits_succeed_beside_a_malformed_foreign_volume(
    project_with_a_malformed_volume: BadServer,
) -> None:
    server = project_with_a_malformed_volume
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(2, 6)]  # four waits: the list is read
    waits = [
        rebuild(
            NeevVolumeTrigger(volume_id=vid, target="bound", deadline=time.time() + 10, poll_interval=0.2)
        )
        for vid in ids
    ]

    async def events() -> list[dict[str, Any]]:
        async def one(trigger: Any) -> dict[str, Any]:
            (event,) = [event.payload async for event in trigger.run()]
            return dict(event)

        return list(await asyncio.gather(*(one(t) for t in waits)))

    assert [e["status"] for e in asyncio.run(events())] == ["success"] * 4
    assert any(r.path.endswith("/volumes") for r in server.requests)  # read by the list, not GETs


def test_a_lookup_rides_out_transient_errors_like_a_wait(
    emulator: EmulatorServer, context: dict[str, Any], ti: FakeTaskInstance
) -> None:
    """One lookup meets a 429, a 502 and a 504 in a row (the client's own retries run out)."""
    for status in (429, 502, 504):
        emulator.inject("status", status=status, retry_after=0, operation="listNetworkVolumes", times=1)
    ti.try_number = 2  # a retry looks its name up first

    result = create_op().execute(context)

    assert result["status"] == "bound"
    statuses = [r["status"] for r in emulator.requests() if r["operation"] == "listNetworkVolumes"]
    assert statuses[:4] == [429, 502, 504, 200]
    assert calls(emulator, "createNetworkVolume") == 1
