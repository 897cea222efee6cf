"""Many waits, one client: shared clients, batched reads, each wait in its own log, exactly one event each.

Each numbered defect of the shared machinery has a test here that fails on the poller this
replaced: log lines in the wrong task (1), a lease handed a closed client (2), a long
``Retry-After`` holding waits past their deadlines (3); the list walks (4, 5) are tested in
``test_lookups.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import math
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import requests

from neev_provider.client import AsyncNeevCloudClient, CreateVolumeRequest, Page
from neev_provider.emulator import EmulatorServer
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.triggers import NeevVolumeTrigger, clients as clients_module
from neev_provider.triggers.clients import SharedClients
from neev_provider.triggers.reads import (
    LIST_LIMIT,
    MAX_CONCURRENT_PAGES,
    READ_GRACE_SECONDS,
    BatchedReads,
    watch_volume,
)
from neev_provider.volumes.wait import Target, VolumeWatch
from tests.client.conftest import make_config
from tests.operators.conftest import calls, rebuild
from tests.support.contract import ContractMonitor


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


@contextlib.contextmanager
def on_the_root_logger(handler: logging.Handler) -> Iterator[None]:
    """Let ``handler`` see every INFO line while the block runs."""
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(min(level, logging.INFO) if level else logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


class FirstProgressLines(logging.Handler):
    """Set ``seen`` once every volume of ``volume_ids`` has had a progress line logged."""

    def __init__(self, volume_ids: list[str], seen: asyncio.Event) -> None:
        super().__init__(logging.INFO)
        self.waiting = set(volume_ids)
        self.seen = seen

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno != logging.INFO or "(waiting for" not in message:
            return  # not a read's progress line (a failed read's warning is not one)
        self.waiting -= {v for v in self.waiting if message.startswith(f"Volume {v}: ")}
        if not self.waiting:
            self.seen.set()


async def bound_after_a_pending_read(
    emulator: EmulatorServer,
    group: list[NeevVolumeTrigger],
    run: Callable[[list[NeevVolumeTrigger]], Awaitable[list[dict[str, Any]]]] = first_events,
) -> list[dict[str, Any]]:
    """Run the waits of volumes made with ``bind_delay=3600``; bind them all once each read one pending.

    Every wait then reads its volume pending, then bound, whatever the machine's speed (a
    wall-clock bind delay shorter than the set-up lost that race on a busy machine).
    """
    seen = asyncio.Event()
    handler = FirstProgressLines([t.volume_id for t in group], seen)
    for trigger in group:  # Airflow's trigger loggers may not reach the root logger; these do
        trigger._log = logging.getLogger(f"trigger.{trigger.volume_id}")

    async def bind() -> None:
        await seen.wait()
        await asyncio.to_thread(emulator.advance, 3600)

    with on_the_root_logger(handler):
        binding = asyncio.ensure_future(bind())
        try:
            events = await run(group)  # if they end without it (a timeout), the test's asserts say so
            if binding.done():
                binding.result()  # the clock's move failed: say so, not a timeout
            return events
        finally:
            binding.cancel()
            await asyncio.gather(binding, return_exceptions=True)


# -- batching -------------------------------------------------------------------------------------


def test_waits_in_one_project_are_read_with_list_calls(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=1.2)
    ids = make_volumes(150)
    emulator.clear_requests()

    events = asyncio.run(first_events(triggers(ids)))

    assert [e["status"] for e in events] == ["success"] * 150
    assert {e["volume_id"] for e in events} == set(ids)
    lists, gets = calls(emulator, "listNetworkVolumes"), calls(emulator, "getNetworkVolume")
    # 150 waits on one grid, 2 pages per read, about 4 reads in 1.2 s at 0.5 s: one GET each would be ~600.
    assert gets == 0
    assert lists <= 4 * math.ceil(150 / 100) + 2


def test_a_few_waits_are_read_one_by_one(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=3600)
    ids = make_volumes(2)
    emulator.clear_requests()

    events = asyncio.run(bound_after_a_pending_read(emulator, triggers(ids, poll_interval=0.1)))

    assert [e["status"] for e in events] == ["success", "success"]
    assert calls(emulator, "listNetworkVolumes") == 0
    assert calls(emulator, "getNetworkVolume") >= 4  # each read at least twice: pending, then bound


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


async def _watch_all(
    client: AsyncNeevCloudClient, ids: list[str], poll: float, seconds: float = 30
) -> list[Any]:
    reads = BatchedReads(lambda: client)
    deadline = time.time() + seconds
    watches = [VolumeWatch(vid, Target.BOUND, deadline=deadline, poll_interval=poll) for vid in ids]
    try:
        return await asyncio.gather(*(watch_volume(reads, watch) for watch in watches))
    finally:
        await client.aclose()


class TwoWalksClient(ObservedClient):
    """Sets ``two_walks`` when the eighth page is asked for: two walks of a four-page list."""

    two_walks: asyncio.Event

    async def list_volumes(self, **kwargs: Any) -> Page:
        if len(self.pages_asked) == 7:
            self.two_walks.set()
        return await super().list_volumes(**kwargs)


def test_pages_the_last_batch_saw_are_read_together(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=3600)  # pending until the test moves the emulator's clock
    ids = make_volumes(LIST_LIMIT * 3 + 1)
    client = TwoWalksClient(make_config(emulator))
    client.pages_asked = []
    TwoWalksClient.most_in_flight = 0

    async def scenario() -> list[Any]:
        client.two_walks = asyncio.Event()

        async def bind_after_two_walks() -> None:
            # The first batch learns how many pages there are, the second asks for them together.
            await client.two_walks.wait()
            await asyncio.to_thread(emulator.advance, 3600)

        binding = asyncio.ensure_future(bind_after_two_walks())
        try:
            return await _watch_all(client, ids, poll=0.05)
        finally:
            binding.cancel()

    outcomes = asyncio.run(scenario())

    assert [o.status for o in outcomes] == ["success"] * len(ids)
    assert client.pages_asked[:4] == [1, 2, 3, 4]
    # All of a walk's pages are asked for at once, never more at once than the cap.
    assert TwoWalksClient.most_in_flight == MAX_CONCURRENT_PAGES


def test_batches_that_overlap_share_the_cap_on_pages_in_flight(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list slower than the poll grid: the next batch starts while the last one's pages are out."""
    walks = {"now": 0, "most": 0}
    read_list = BatchedReads._read_list

    async def counted(self: BatchedReads, *args: Any) -> None:
        walks["now"] += 1
        walks["most"] = max(walks["most"], walks["now"])
        try:
            await read_list(self, *args)
        finally:
            walks["now"] -= 1

    monkeypatch.setattr(BatchedReads, "_read_list", counted)
    emulator.configure(bind_delay=3600)  # pending throughout: every wait reads again and again
    ids = make_volumes(LIST_LIMIT * 3 + 1)
    emulator.inject("latency", operation="listNetworkVolumes", seconds=0.5, times=1000)
    client = ObservedClient(make_config(emulator))
    client.pages_asked = []
    ObservedClient.most_in_flight = 0

    outcomes = asyncio.run(_watch_all(client, ids, poll=0.2, seconds=3))

    assert {o.status for o in outcomes} == {"timeout"}
    assert walks["most"] >= 2  # batches did page the project at the same time
    assert ObservedClient.most_in_flight == MAX_CONCURRENT_PAGES


def test_a_batch_whose_waits_all_gave_up_asks_for_no_more_pages(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=3600)
    ids = make_volumes(LIST_LIMIT * 3 + 1)
    emulator.inject("latency", operation="listNetworkVolumes", seconds=READ_GRACE_SECONDS + 3, times=1000)
    client = ObservedClient(make_config(emulator))
    client.pages_asked = []

    async def scenario() -> list[Any]:
        reads = BatchedReads(lambda: client)
        # Over (deadline and grace) while the first page is still out.
        watches = [
            VolumeWatch(vid, Target.BOUND, deadline=time.time() - READ_GRACE_SECONDS, poll_interval=5)
            for vid in ids
        ]
        try:
            outcomes = await asyncio.gather(*(watch_volume(reads, watch) for watch in watches))
            await asyncio.gather(*reads._running)  # the batch ends on its own: its page 1 answers
            return outcomes
        finally:
            await client.aclose()

    outcomes = asyncio.run(scenario())

    assert {o.status for o in outcomes} == {"timeout"}
    assert client.pages_asked == [1]  # not pages 2 to 4, for waits that are over


def test_a_list_call_that_gives_up_delays_the_waits_without_failing_them(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=0.5)
    ids = make_volumes(LIST_LIMIT * 3 + 1)
    # Enough 503s for one list call to give up after its retries: that batch fails, the waits don't.
    emulator.inject("status", status=503, operation="listNetworkVolumes", times=3)
    client = ObservedClient(make_config(emulator))
    client.pages_asked = []

    outcomes = asyncio.run(_watch_all(client, ids, poll=0.3))

    assert [o.status for o in outcomes] == ["success"] * len(ids)
    statuses = [r["status"] for r in emulator.requests() if r["operation"] == "listNetworkVolumes"]
    assert statuses.count(503) == 3


def test_the_batch_threshold_is_a_configuration_option(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__NEEVCLOUD__POLL_BATCH_THRESHOLD", "50")  # more than the waits below
    emulator.configure(bind_delay=3600)
    ids = make_volumes(10)
    emulator.clear_requests()

    events = asyncio.run(bound_after_a_pending_read(emulator, triggers(ids, poll_interval=0.3)))

    assert [e["status"] for e in events] == ["success"] * 10
    assert calls(emulator, "listNetworkVolumes") == 0
    assert calls(emulator, "getNetworkVolume") >= 20  # each read at least twice, by GET


# -- 1. each wait logs in its own context -----------------------------------------------------------

#: What Airflow's triggerer routes a trigger's log lines by: a context variable of its task.
TRIGGER_OF_TASK: contextvars.ContextVar[str] = contextvars.ContextVar("trigger_of_task", default="triggerer")


class ContextRecorder(logging.Handler):
    """Record each volume line with the context it was logged in, as the triggerer would route it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((TRIGGER_OF_TASK.get(), record.getMessage()))


@pytest.fixture(name="recorder")
def fixture_recorder() -> Iterator[ContextRecorder]:
    recorder = ContextRecorder()
    with on_the_root_logger(recorder):
        yield recorder


def test_each_wait_logs_its_progress_in_its_own_context(
    emulator: EmulatorServer, recorder: ContextRecorder
) -> None:
    emulator.configure(bind_delay=3600)
    ids = make_volumes(4)

    async def in_its_own_context(trigger: NeevVolumeTrigger) -> dict[str, Any]:
        TRIGGER_OF_TASK.set(trigger.volume_id)  # what the triggerer sets before running a trigger
        trigger._log = logging.getLogger(f"trigger.{trigger.volume_id}")  # a stdlib logger, recorded
        return (await first_events([trigger]))[0]

    async def each_in_its_own_context(group: list[NeevVolumeTrigger]) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(in_its_own_context(t) for t in group)))

    group = triggers(ids, poll_interval=0.2)
    events = asyncio.run(bound_after_a_pending_read(emulator, group, each_in_its_own_context))
    assert [e["status"] for e in events] == ["success"] * 4
    progress = [(context, line) for context, line in recorder.lines if line.startswith("Volume ")]
    for volume_id in ids:
        mine = [context for context, line in progress if line.startswith(f"Volume {volume_id}")]
        assert len(mine) >= 2  # pending, then bound
        assert set(mine) == {volume_id}  # never in another wait's log, nor the triggerer's own


# -- 2. leases without races ------------------------------------------------------------------------


def test_a_lease_taken_while_the_last_one_is_released_gets_a_live_client(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The new lease re-reads the connection (stale) while the last user leaves: no closed client."""
    monkeypatch.setattr(clients_module, "RECHECK_SECONDS", 0.0)
    reading = asyncio.Event
    original = clients_module._read_connection

    async def scenario() -> tuple[bool, bool, int]:
        started, release = reading(), reading()

        async def slow_read(key: Any) -> Any:
            started.set()
            await release.wait()
            return await original(key)

        shared = SharedClients.current()
        first = shared.lease("neevcloud_default")
        await first.__aenter__()
        monkeypatch.setattr(clients_module, "_read_connection", slow_read)
        second = asyncio.ensure_future(_use(shared))
        await started.wait()  # the second lease is re-reading the connection
        await first.__aexit__(None, None, None)  # the first user leaves meanwhile
        release.set()
        return await second

    closed, registered, users = asyncio.run(scenario())
    assert not closed
    assert registered
    assert users == 1


async def _use(shared: SharedClients) -> tuple[bool, bool, int]:
    async with shared.lease("neevcloud_default") as lease:
        assert lease.client is not None
        await lease.client.list_volumes(limit=1)  # a closed client would fail here
        return lease.client.closed, ("neevcloud_default", None, None) in shared._clients, lease.users


def test_a_lease_cancelled_while_the_client_is_built_leaves_nothing_open(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[AsyncNeevCloudClient] = []
    original = clients_module._new_client

    async def slow_build(config: Any) -> AsyncNeevCloudClient:
        await asyncio.sleep(0)  # the lease is cancelled while this is under way
        client = await original(config)
        built.append(client)
        return client

    monkeypatch.setattr(clients_module, "_new_client", slow_build)

    async def scenario() -> int:
        shared = SharedClients.current()
        task = asyncio.ensure_future(_use(shared))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return len(shared._clients)

    assert asyncio.run(scenario()) == 0
    assert [client.closed for client in built] == [True]


@pytest.mark.filterwarnings("error::ResourceWarning")
@pytest.mark.parametrize("cancels", [1, 2])
def test_a_lease_cancelled_while_it_closes_the_client_finishes_closing_it(
    cancels: int, emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncio.run cancels every task left at its end, then closes the loop: a close left to go on
    behind a cancelled lease never ends, and its sockets surface as "unclosed transport" warnings
    wherever the collector finds them (the short chaos run met one)."""
    original = AsyncNeevCloudClient.aclose

    async def scenario() -> None:
        started, release = asyncio.Event(), asyncio.Event()

        async def slow_close(self: AsyncNeevCloudClient) -> None:
            started.set()
            await release.wait()
            await original(self)

        monkeypatch.setattr(AsyncNeevCloudClient, "aclose", slow_close)
        task = asyncio.ensure_future(_use(SharedClients.current()))
        await started.wait()  # the last user left; its client is being closed
        for _ in range(cancels):
            task.cancel()
            for _ in range(10):  # loop turns, not time: a lease that does not finish closing ends now
                await asyncio.sleep(0)
        if not task.done():
            release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
        # and asyncio.run ends here, as a triggerer's loop does

    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    gc.disable()  # the sockets die with the collector's pass below, not at a random moment
    try:
        asyncio.run(scenario())
    finally:
        gc.enable()
    gc.collect()

    assert [str(item.exc_value) for item in unraisable] == []


def test_triggers_of_one_connection_share_one_client_and_close_it(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=0.6)
    ids = make_volumes(5)

    async def scenario() -> tuple[int, int, bool, int]:
        shared = SharedClients.current()
        started = asyncio.Event()
        original = BatchedReads.read

        async def first_read(self: BatchedReads, volume_id: str, scope: Any) -> Any:
            started.set()
            return await original(self, volume_id, scope)

        BatchedReads.read = first_read  # type: ignore[method-assign]
        try:
            tasks = [asyncio.ensure_future(first_events([t])) for t in triggers(ids)]
            await started.wait()
            entries = list(shared._clients.values())
            await asyncio.gather(*tasks)
        finally:
            BatchedReads.read = original  # type: ignore[method-assign]
        assert entries[0].client is not None
        left = len([t for t in asyncio.all_tasks() if t is not asyncio.current_task()])
        return len(entries), entries[0].users, entries[0].client.closed, left

    clients, users, closed, tasks_left = asyncio.run(scenario())
    assert (clients, users) == (1, 0)
    assert closed  # the last trigger to leave closed it
    assert tasks_left == 0  # nothing of the shared reads lingers after its client


def test_shared_clients_are_per_event_loop() -> None:
    async def current() -> SharedClients:
        return SharedClients.current()

    assert asyncio.run(current()) is not asyncio.run(current())


@pytest.mark.parametrize("waits", [1, 5])
def test_a_rotated_token_is_picked_up_by_running_waits(
    emulator: EmulatorServer, contract_monitor: ContractMonitor, monkeypatch: pytest.MonkeyPatch, waits: int
) -> None:
    """The user rotates the connection's token; the old one then expires: every wait carries on."""
    # The token expires, and the volumes bind, when the test moves the emulator's clock: only
    # after the rotation, however slowly a busy machine runs the waits up to it.
    emulator.configure(bind_delay=600, token_ttl=300)
    ids = make_volumes(waits)
    login = requests.post(
        emulator.url + "/tenant/api/v1/auth/login",
        json={"email": "user@example.com", "password": "emulator-password"},
        timeout=10,
    )
    short_lived = login.json()["access_token"]  # a JWT valid for 300 s of the emulator's clock
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(password=short_lived))

    reads = ("getNetworkVolume", "listNetworkVolumes")  # one by one, or the project's list
    read = contract_monitor.event_for(lambda exchange: exchange.operation in reads)

    async def scenario() -> list[dict[str, Any]]:
        waiting = asyncio.ensure_future(first_events(triggers(ids, poll_interval=0.3)))
        assert await asyncio.to_thread(read.wait, 30)  # the waits have read with the old token
        monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection())  # rotated
        await asyncio.to_thread(emulator.advance, 900)  # the old token expires; the volumes bind
        return await waiting

    events = asyncio.run(scenario())
    assert [event["status"] for event in events] == ["success"] * waits, [e["message"] for e in events]
    statuses = [r["status"] for r in emulator.requests() if r["operation"] in reads]
    assert 401 in statuses  # they did meet the expired token


def test_a_connection_that_cannot_be_read_again_leaves_the_working_client_in_use(
    emulator: EmulatorServer, contract_monitor: ContractMonitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clients_module, "RECHECK_SECONDS", 0.0)  # every new wait reads it again
    emulator.configure(bind_delay=1.5)
    first, second = make_volumes(2)
    read = contract_monitor.event_for(lambda exchange: exchange.operation == "getNetworkVolume")

    async def scenario() -> list[dict[str, Any]]:
        waiting = asyncio.ensure_future(first_events(triggers([first], poll_interval=0.2)))
        assert await asyncio.to_thread(read.wait, 30)  # the client is built and in use
        monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", "{not json")  # a bad edit, or a secrets outage
        late = await first_events(triggers([second], poll_interval=0.2))
        return [*await waiting, *late]

    events = asyncio.run(scenario())
    assert [event["status"] for event in events] == ["success", "success"], [e["message"] for e in events]


def test_a_connection_that_reads_but_builds_no_client_leaves_the_working_one_in_use(
    emulator: EmulatorServer,
    contract_monitor: ContractMonitor,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    monkeypatch.setattr(clients_module, "RECHECK_SECONDS", 0.0)
    emulator.configure(bind_delay=1.5)
    first, second = make_volumes(2)
    read = contract_monitor.event_for(lambda exchange: exchange.operation == "getNetworkVolume")

    async def scenario() -> list[dict[str, Any]]:
        waiting = asyncio.ensure_future(first_events(triggers([first], poll_interval=0.2)))
        assert await asyncio.to_thread(read.wait, 30)
        # A CA bundle path that exists but is no bundle: the connection reads, the client fails.
        monkeypatch.setenv(
            "AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(verify=str(tmp_path))
        )
        late = await first_events(triggers([second], poll_interval=0.2))
        return [*await waiting, *late]

    events = asyncio.run(scenario())
    assert [event["status"] for event in events] == ["success", "success"], [e["message"] for e in events]


def test_a_burst_of_waits_meeting_an_expired_token_logs_in_once(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=0)
    ids = make_volumes(6)
    config = make_config(
        emulator,
        auth=__import__("neev_provider.client", fromlist=["LoginAuth"]).LoginAuth(
            "user@example.com", "emulator-password"
        ),
    )
    emulator.clear_requests()

    async def scenario() -> list[Any]:
        async with AsyncNeevCloudClient(config) as client:
            return await asyncio.gather(*(client.find_volume(vid) for vid in ids))

    assert [v.id for v in asyncio.run(scenario())] == ids
    assert calls(emulator, "login") == 1


# -- 3. deadlines hold whatever the server says -------------------------------------------------


def test_a_retry_after_of_an_hour_ends_waits_at_their_deadlines(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=600)
    ids = make_volumes(3)
    emulator.inject("status", status=429, retry_after=3600, operation="getNetworkVolume", rate=1.0)
    emulator.inject("status", status=429, retry_after=3600, operation="listNetworkVolumes", rate=1.0)
    deadline = time.time() + 5

    started = time.monotonic()
    events = asyncio.run(first_events(triggers(ids, deadline=deadline, poll_interval=0.5)))
    took = time.monotonic() - started

    assert [e["status"] for e in events] == ["timeout"] * 3
    assert took < 5 + 4  # the deadline plus the read grace, whatever the server asked for


def test_a_wait_reads_again_only_when_the_servers_pause_is_over(
    emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No retries in the client: each 429 comes back to the shared reads, which pause for it.
    connection = emulator.airflow_connection(max_retries=0)
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", connection)
    emulator.configure(bind_delay=0)
    ids = make_volumes(1)
    emulator.inject("status", status=429, retry_after=2, operation="getNetworkVolume", times=2)

    started = time.monotonic()
    events = asyncio.run(first_events(triggers(ids, poll_interval=0.1)))
    took = time.monotonic() - started

    assert [e["status"] for e in events] == ["success"]
    assert calls(emulator, "getNetworkVolume") == 3  # not one per poll interval while paused
    assert took >= 2 * 2 - 0.5  # two pauses of the 2 s asked for


def test_a_rate_limit_pauses_the_shared_reads_once(emulator: EmulatorServer) -> None:
    emulator.configure(bind_delay=0.5)
    ids = make_volumes(20)
    emulator.inject("status", status=429, retry_after=1, operation="listNetworkVolumes", times=4)

    events = asyncio.run(first_events(triggers(ids, poll_interval=0.2)))

    assert [e["status"] for e in events] == ["success"] * 20
    lists = [r for r in emulator.requests() if r["operation"] == "listNetworkVolumes"]
    assert sum(1 for r in lists if r["status"] == 429) == 4
    # One pause for the batch, not a retry clock per wait: 20 waits paused cost no GETs.
    assert calls(emulator, "getNetworkVolume") == 0
