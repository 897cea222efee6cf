"""Read many volumes with few calls: the reads of every wait of one client, served in batches.

Each waiting trigger runs its own loop, in its own task and so its own log context: it reads its
volume through :meth:`BatchedReads.read`, judges what it read with its own
:class:`~neev_provider.volumes.wait.VolumeWatch`, logs, and sleeps until its next read. What is
shared is only the fetching: reads asked for within :data:`GATHER_SECONDS` of each other are
served together, a project with many of them by paging through its volume list (100 a page)
instead of a GET each, and the few volumes the list does not show by GETs. Waits of one poll
interval read on a shared grid (multiples of the interval on the loop's monotonic clock), so a
thousand waits started at different moments are read in one batch per interval.

The batch runs in a task of its own with an empty log context: nothing it logs lands in any
one task's log. A failure of a batch (a 503, a closed client, a bug) is the failure of the reads
it served, reported to each of their waits, never the loop's. A ``Retry-After`` pauses the
grid, clamped to the client's ``max_retry_after``; a wait never sleeps past its own deadline.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from neev_provider.client import (
    AuthenticationError,
    NeevCloudAPIError,
    NeevCloudError,
    NeevCloudTimeoutError,
    NeevCloudTransportError,
    Page,
    Volume,
)
from neev_provider.client._aio import within
from neev_provider.client._paging import LIST_LIMIT, PageWalk
from neev_provider.volumes.wait import VolumeWatch, WaitOutcome

if TYPE_CHECKING:
    from neev_provider.client import AsyncNeevCloudClient

log = logging.getLogger(__name__)

#: A project is listed instead of read volume by volume from this many reads on.
DEFAULT_BATCH_THRESHOLD = 3
#: Reads asked for this close together are served by one batch (a triggerer starting hundreds).
GATHER_SECONDS = 0.05
MAX_CONCURRENT_GETS = 8
#: List pages asked for at once, by every batch together (known pages, when a batch says they exist).
MAX_CONCURRENT_PAGES = 4
#: How long past its deadline a wait still waits for a read already under way.
READ_GRACE_SECONDS = 2.0

Scope = tuple[str | None, str | None]
Reader = asyncio.Future["Volume | None"]


@dataclass
class _Batch:
    """The reads waiting for the next batch: per project, per volume, each waiter's future."""

    reads: dict[Scope, dict[str, list[Reader]]] = field(default_factory=dict)

    def add(self, scope: Scope, volume_id: str, future: Reader) -> None:
        self.reads.setdefault(scope, {}).setdefault(volume_id, []).append(future)


class BatchedReads:
    """Serve the volume reads of every wait of one client (see the module docstring).

    :param client: returns the client to read with (looked up for every batch, so that a
        rotated connection's new client is used at once).
    :param batch_threshold: reads of one project from which its list is paged.
    :param max_pause: the longest pause a ``Retry-After`` may ask of the grid, in seconds.
    """

    def __init__(
        self,
        client: Callable[[], AsyncNeevCloudClient],
        *,
        batch_threshold: int = DEFAULT_BATCH_THRESHOLD,
        max_pause: float = 30.0,
    ) -> None:
        self._client = client
        self.batch_threshold = max(1, batch_threshold)
        self.max_pause = max_pause
        self._loop = asyncio.get_running_loop()
        self._epoch = self._loop.time()
        self._next: _Batch | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._pages: dict[Scope, int] = {}
        # Shared by every batch: a list slower than the poll grid has the next batch start while
        # the last one's pages are still out, and the cap is on what the server is asked at once.
        self._page_slots = asyncio.Semaphore(MAX_CONCURRENT_PAGES)
        self._paused_until = 0.0

    async def read(self, volume_id: str, scope: Scope) -> Volume | None:
        """Return the volume as the next batch reads it (``None``: it does not exist).

        :raises NeevCloudError: the read failed (a 503, a timeout, a closed client…).
        """
        future: Reader = self._loop.create_future()
        if self._next is None:
            self._next = _Batch()
            # An empty context: the batch serves many waits, and logs in none of their tasks.
            task = contextvars.Context().run(self._loop.create_task, self._serve(self._next))
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        self._next.add(scope, volume_id, future)
        return await future

    def seconds_to_next_read(self, poll_interval: float) -> float:
        """How long a wait of ``poll_interval`` sleeps before its next read: to the next point of
        its grid, or to the end of a pause the server asked for, whichever is later."""
        now = self._loop.time()
        at = now + poll_interval
        if poll_interval > 0:
            at = self._epoch + (math.floor((now - self._epoch) / poll_interval) + 1) * poll_interval
        return max(at, self._paused_until) - now

    def paused(self) -> bool:
        """Whether the server asked for a pause that has not ended."""
        return self._loop.time() < self._paused_until

    # -- serving a batch ---------------------------------------------------------------------------

    async def _serve(self, batch: _Batch) -> None:
        await asyncio.sleep(GATHER_SECONDS)
        if self._next is batch:
            self._next = None
        await asyncio.gather(*(self._serve_scope(scope, reads) for scope, reads in batch.reads.items()))

    async def _serve_scope(self, scope: Scope, reads: dict[str, list[Reader]]) -> None:
        try:
            if len(reads) >= self.batch_threshold and self._pages.get(scope, 1) <= len(reads):
                await self._read_list(scope, reads)
            semaphore = asyncio.Semaphore(MAX_CONCURRENT_GETS)
            await asyncio.gather(
                *(self._read_one(scope, vid, futures, semaphore) for vid, futures in reads.items())
            )
        except BaseException as error:  # a read's failure, whatever it is: never the loop's
            self._fail([f for futures in reads.values() for f in futures], error)
            if isinstance(error, asyncio.CancelledError):
                raise

    async def _read_list(self, scope: Scope, reads: dict[str, list[Reader]]) -> None:
        """Page through the project while that is cheaper than reading the rest one by one.

        Pages the last batch saw are asked for a few at a time, so that a slow or refused page
        delays its own volumes, not every later one; the answers are taken in page order by one
        guarded walk, which ends whatever the server answers.
        """
        walk = PageWalk(LIST_LIMIT, strict=False)
        page: int | None = 1
        while page is not None and _drop_abandoned(reads):
            known = max(page, self._pages.get(scope, 1))
            asked = list(range(page, min(known, page + MAX_CONCURRENT_PAGES - 1) + 1))
            answers = await asyncio.gather(
                *(self._list_page(scope, n) for n in asked), return_exceptions=True
            )
            for number, answer in zip(asked, answers, strict=True):
                if isinstance(answer, BaseException):
                    raise answer  # the pages before it were taken; the rest fail with it
                page = self._take_page(scope, walk, number, answer, reads)
                if page is None:
                    break
            if page is not None and self._pages.get(scope, 1) - page + 1 > len(reads):
                page = None  # fewer reads left than pages: their GETs are cheaper

    async def _list_page(self, scope: Scope, number: int) -> Page:
        async with self._page_slots:
            return await self._client().list_volumes(
                page=number, limit=LIST_LIMIT, org_id=scope[0], project_id=scope[1]
            )

    def _take_page(
        self, scope: Scope, walk: PageWalk, number: int, answer: Page, reads: dict[str, list[Reader]]
    ) -> int | None:
        """Answer the reads whose volumes page ``number`` shows; return the next page, if any is needed."""
        fresh, next_page = walk.accept(number, answer)
        for volume in fresh:
            for future in reads.pop(volume.id, []):
                _settle(future, volume)
        if answer.total_pages is not None:
            self._pages[scope] = answer.total_pages
        return next_page if reads else None

    async def _read_one(
        self, scope: Scope, volume_id: str, futures: list[Reader], semaphore: asyncio.Semaphore
    ) -> None:
        async with semaphore:
            if _abandoned(futures):
                return  # every wait that asked gave up (its deadline passed) while this queued
            try:
                volume = await self._client().find_volume(volume_id, org_id=scope[0], project_id=scope[1])
            except Exception as error:
                self._fail(futures, error)
                return
        for future in futures:
            _settle(future, volume)

    def _fail(self, futures: list[Reader], error: BaseException) -> None:
        if isinstance(error, NeevCloudAPIError) and error.retry_after:
            # One pause for every wait, instead of a retry clock per wait.
            pause = min(error.retry_after, self.max_pause)
            self._paused_until = max(self._paused_until, self._loop.time() + pause)
        failure = error if isinstance(error, NeevCloudError) else _read_failure(error)
        for future in futures:
            if not future.done():
                future.set_exception(failure)


_LATE = NeevCloudTimeoutError("no answer before the wait's deadline", method="GET", url="", request_sent=True)


def _drop_abandoned(reads: dict[str, list[Reader]]) -> bool:
    """Forget the reads whose waits have all given up; return whether any read is left.

    A batch pages on only for waits still waiting: the pages of one that is over would hold
    slots the live batches need.
    """
    for volume_id in [vid for vid, futures in reads.items() if _abandoned(futures)]:
        del reads[volume_id]
    return bool(reads)


def _abandoned(futures: list[Reader]) -> bool:
    """Whether every wait that asked for a read has stopped waiting for it."""
    return all(future.done() for future in futures)


def _settle(future: Reader, volume: Volume | None) -> None:
    if not future.done():
        future.set_result(volume)


def _read_failure(error: BaseException) -> NeevCloudError:
    """A failure outside the client's error tree (a closed client, a bug), as one read's failure."""
    if isinstance(error, asyncio.CancelledError):
        message = "the shared read was cancelled (the triggerer is stopping)"
    else:
        message = f"the shared read failed ({type(error).__name__}: {str(error)[:200] or 'no message'})"
    return NeevCloudTransportError(message, method="GET", url="", request_sent=False)


async def watch_volume(
    reads: BatchedReads,
    watch: VolumeWatch,
    scope: Scope = (None, None),
    *,
    renew: Callable[[float], Awaitable[bool]] | None = None,
) -> WaitOutcome:
    """Read, judge and log, in the calling task (its log context), until the wait is over.

    :param renew: after a ``401``, given when the failed read was asked (``time.monotonic()``),
        reads the connection again; returns whether there are new credentials to try (the read
        is then made again at once, the deadline permitting).
    """
    while True:
        if reads.paused() and (expired := watch.timeout_if_due()) is not None:
            return expired  # the server asked for a pause that outlasts the deadline
        try:
            # However long the shared read takes (a server's retries), the deadline holds.
            timeout = max(0.0, watch.deadline - time.time()) + READ_GRACE_SECONDS
            asked = time.monotonic()
            outcome = watch.observe(await within(reads.read(watch.volume_id, scope), timeout))
        except asyncio.TimeoutError:
            late = NeevCloudTimeoutError(
                "no answer before the wait's deadline", method="GET", url="", request_sent=True
            )
            outcome = watch.observe_error(late)
        except AuthenticationError as error:
            renewed = renew is not None and await renew(asked)
            outcome = watch.timeout_if_due() if renewed else watch.observe_error(error)
            if renewed and outcome is None:
                continue
        except NeevCloudError as error:
            outcome = watch.observe_error(error)
        if outcome is not None:
            return outcome
        # Until the next read of its grid or the end of the server's pause: only the deadline is sooner.
        left = max(0.0, watch.deadline - time.time())
        await asyncio.sleep(min(reads.seconds_to_next_read(watch.poll_interval), left))
