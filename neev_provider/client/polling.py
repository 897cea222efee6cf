"""Observe many waits with few reads: one shared poll loop per client, batching by project.

A :class:`SharedPoller` holds every wait of one async client. Its loop wakes when reads are due
and, for each project with enough due waits, pages through the project's volume list (limit 100)
instead of reading the volumes one by one; the few volumes the list does not show, and projects
with few waits, are read with GETs. Each wait keeps its own :class:`~neev_provider.client.waiting.VolumeWatch`
(deadline, target, progress lines) and ends exactly once, with the watch's outcome.

Waits of the same poll interval are read on a shared grid (multiples of the interval since the
poller started), so that a thousand waits started at different moments are read in one go per
interval, not in a thousand; the grid never delays a read by more than one interval. A 429 that
outlasts the client's own retries pauses the whole poller once, for the ``Retry-After`` asked.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from neev_provider.client.errors import AuthenticationError, NeevCloudAPIError, NeevCloudError
from neev_provider.client.models import Page, Volume
from neev_provider.client.paging import PageWalk

if TYPE_CHECKING:
    from neev_provider.client.aio import AsyncNeevCloudClient
    from neev_provider.client.waiting import VolumeWatch, WaitOutcome

log = logging.getLogger(__name__)

#: A project is listed instead of read volume by volume from this many due waits on.
DEFAULT_BATCH_THRESHOLD = 3
LIST_LIMIT = 100
# New waits arriving together (a triggerer starting hundreds) are gathered this long, so that
# their first reads are batched too.
GATHER_SECONDS = 0.05
MAX_CONCURRENT_GETS = 8
# Pages of one project's list asked for at once, when the last round says they exist.
MAX_CONCURRENT_PAGES = 4
# The first retry of a failed read, in seconds; it doubles while reads keep failing.
RETRY_AFTER_FAILURE = 1.0

Scope = tuple[str | None, str | None]


@dataclass(eq=False)
class _Wait:
    watch: VolumeWatch
    scope: Scope
    future: asyncio.Future[WaitOutcome]
    due: float = 0.0


@dataclass
class PollStats:
    """What the poller did, for benchmarks and the curious."""

    ticks: int = 0
    list_calls: int = 0
    get_calls: int = 0
    pauses: int = 0
    pages_by_scope: dict[Scope, int] = field(default_factory=dict)


class SharedPoller:
    """Run the reads of every wait of one client in one loop.

    :param client: returns the client to read with (looked up on every round, so that a
        registry can swap in a client with rotated credentials).
    :param on_unauthorized: called after a 401; returns whether new credentials are in place
        (the waits then carry on at their next read instead of failing).
    :param batch_threshold: due waits of one project from which its list is read.
    """

    def __init__(
        self,
        client: Callable[[], AsyncNeevCloudClient],
        *,
        on_unauthorized: Callable[[], Awaitable[bool]] | None = None,
        batch_threshold: int = DEFAULT_BATCH_THRESHOLD,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._on_unauthorized = on_unauthorized
        self.batch_threshold = max(1, batch_threshold)
        self._clock = clock
        self._sleep = sleep or asyncio.sleep
        self._waits: set[_Wait] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._epoch = clock()
        self._paused_until = 0.0
        self._failed_rounds = 0
        self._pages: dict[Scope, int] = {}
        self.stats = PollStats()

    def __len__(self) -> int:
        return len(self._waits)

    async def wait(
        self, watch: VolumeWatch, *, org_id: str | None = None, project_id: str | None = None
    ) -> WaitOutcome:
        """Wait until ``watch`` says the wait is over; return its outcome (exactly once)."""
        entry = _Wait(watch, (org_id, project_id), asyncio.get_running_loop().create_future())
        entry.due = self._clock()
        self._waits.add(entry)
        self._ensure_running()
        self._wake.set()
        try:
            return await entry.future
        finally:
            self._waits.discard(entry)

    # -- the loop --------------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="neevcloud-poller")

    async def _run(self) -> None:
        try:
            while self._waits:
                await self._until_due()
                due = [w for w in self._waits if w.due <= self._clock() and not w.future.done()]
                if due:
                    await self._round(due)
        except Exception as error:  # a bug here must end the waits with a clear error, not hang them
            log.exception("The shared poller failed")
            for entry in list(self._waits):
                if not entry.future.done():
                    entry.future.set_exception(error)

    async def _until_due(self) -> None:
        now = self._clock()
        next_due = max(min((w.due for w in self._waits), default=now), self._paused_until)
        self._wake.clear()
        if next_due > now:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=next_due - now)
            except asyncio.TimeoutError:
                return
        if self._paused_until > self._clock():
            await self._sleep(self._paused_until - self._clock())
        await self._sleep(GATHER_SECONDS)

    async def _round(self, due: list[_Wait]) -> None:
        self.stats.ticks += 1
        by_scope: dict[Scope, list[_Wait]] = {}
        for entry in due:
            by_scope.setdefault(entry.scope, []).append(entry)
        await asyncio.gather(*(self._read_scope(scope, waits) for scope, waits in by_scope.items()))

    async def _read_scope(self, scope: Scope, waits: list[_Wait]) -> None:
        pending: dict[str, list[_Wait]] = {}
        for entry in waits:
            pending.setdefault(entry.watch.volume_id, []).append(entry)
        if len(pending) >= self.batch_threshold and self._pages.get(scope, 1) <= len(pending):
            try:
                await self._read_list(scope, pending)
            except NeevCloudError as error:
                await self._failed(error, [w for group in pending.values() for w in group])
                return
        semaphore = asyncio.Semaphore(MAX_CONCURRENT_GETS)
        await asyncio.gather(*(self._read_one(scope, group, semaphore) for group in pending.values()))

    async def _read_list(self, scope: Scope, pending: dict[str, list[_Wait]]) -> None:
        """Page through the project while that is cheaper than reading the rest one by one.

        Pages the last round saw are asked for a few at a time, so that a slow or refused page
        (a 503 retried, a 429's ``Retry-After``) delays its own volumes, not every later page.
        The answers are still taken in page order by one guarded walk
        (:class:`~neev_provider.client.paging.PageWalk`): a server whose pages do not advance
        ends it with an error, never a loop.
        """
        walk = PageWalk(LIST_LIMIT)
        page: int | None = 1
        while page is not None and pending:
            known = max(page, self._pages.get(scope, 1))
            asked = list(range(page, min(known, page + MAX_CONCURRENT_PAGES - 1) + 1))
            answers = await asyncio.gather(
                *(self._list_page(scope, number) for number in asked), return_exceptions=True
            )
            for number, answer in zip(asked, answers, strict=True):
                if isinstance(answer, BaseException):
                    raise answer  # the pages before it were taken; the round fails from here on
                page = self._take_page(scope, walk, number, answer, pending)
                if page is None:
                    break
            if page is not None and self._pages.get(scope, 1) - page + 1 > len(pending):
                page = None  # fewer waits left than pages: their GETs are cheaper
        self.stats.pages_by_scope[scope] = self._pages.get(scope, 1)

    async def _list_page(self, scope: Scope, number: int) -> Page:
        result = await self._client().list_volumes(
            page=number, limit=LIST_LIMIT, org_id=scope[0], project_id=scope[1]
        )
        self.stats.list_calls += 1
        return result

    def _take_page(
        self, scope: Scope, walk: PageWalk, number: int, result: Page, pending: dict[str, list[_Wait]]
    ) -> int | None:
        """Observe the waits whose volumes page ``number`` shows; return the next page, if any is needed."""
        fresh, next_page = walk.accept(number, result)
        for volume in fresh:
            for entry in pending.pop(volume.id, []):
                self._observe(entry, volume)
        if result.total_pages is not None:
            self._pages[scope] = result.total_pages
        return next_page if pending else None

    async def _read_one(self, scope: Scope, group: list[_Wait], semaphore: asyncio.Semaphore) -> None:
        async with semaphore:
            try:
                volume = await self._client().find_volume(
                    group[0].watch.volume_id, org_id=scope[0], project_id=scope[1]
                )
            except NeevCloudError as error:
                await self._failed(error, group)
                return
            self.stats.get_calls += 1
        for entry in group:
            self._observe(entry, volume)

    # -- outcomes --------------------------------------------------------------------------------

    def _observe(self, entry: _Wait, volume: Volume | None) -> None:
        self._failed_rounds = 0
        self._settle(entry, entry.watch.observe(volume))

    async def _failed(self, error: NeevCloudError, entries: list[_Wait]) -> None:
        if isinstance(error, AuthenticationError) and await self._renewed():
            for entry in entries:
                entry.due = self._clock()  # read again at once, with the new credentials
            return
        if isinstance(error, NeevCloudAPIError) and error.retry_after:
            # One pause for every wait, instead of a retry clock per wait.
            self.stats.pauses += 1
            self._paused_until = max(self._paused_until, self._clock() + error.retry_after)
        # A failed read is tried again before the next grid point, backing off while failures
        # last: a short outage must not cost every wait a whole poll interval.
        self._failed_rounds += 1
        retry_in = RETRY_AFTER_FAILURE * 2 ** min(self._failed_rounds - 1, 6)
        for entry in entries:
            self._settle(entry, entry.watch.observe_error(error))
            if not entry.future.done():
                soon = max(self._paused_until, self._clock() + retry_in)
                entry.due = min(entry.due, soon)

    async def _renewed(self) -> bool:
        if self._on_unauthorized is None:
            return False
        try:
            return await self._on_unauthorized()
        except Exception:  # reading the connection failed: the 401 stands
            log.warning("Reading the connection again after a 401 failed", exc_info=True)
            return False

    def _settle(self, entry: _Wait, outcome: WaitOutcome | None) -> None:
        if entry.future.done():
            return
        if outcome is not None:
            entry.future.set_result(outcome)
            return
        entry.due = self._next_read(entry)

    def _next_read(self, entry: _Wait) -> float:
        """The next grid point of the wait's interval, or its deadline if that comes first."""
        now = self._clock()
        interval = entry.watch.poll_interval
        delay = entry.watch.next_delay()
        if interval <= 0 or delay < interval:
            return now + delay
        steps = math.floor((now - self._epoch) / interval) + 1
        return self._epoch + steps * interval
