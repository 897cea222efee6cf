"""One async client, and its batched reads, per connection and scope, per event loop.

A triggerer runs up to a thousand triggers in one asyncio loop. Each trigger building its own
hook, connection lookup, HTTP client, TLS context and connection pool costs megabytes and tens
of milliseconds of blocked loop apiece, and a thousand independent retry clocks after a 429.
Instead, triggers :meth:`~SharedClients.lease` a :class:`SharedClient`:

- one per ``(connection id, org override, project override)`` and event loop, counted by its
  users, and closed when the last one leaves; a lease counts itself before it awaits anything,
  so a release meanwhile never closes the client under it;
- the connection is read off the loop, once, by a task of its own: a lease cancelled meanwhile
  does not drop the client half built, and one closed meanwhile is closed once built;
- the connection is read again when it is older than :data:`RECHECK_SECONDS` or the API refused
  the token; a changed connection (a rotated token, say) gets a new client, which the reads
  already running use from their next batch on, and the old one is closed after a grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import time
import weakref
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from neev_provider._compat import conf
from neev_provider.client._aio import finish
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.triggers.reads import DEFAULT_BATCH_THRESHOLD, BatchedReads

if TYPE_CHECKING:
    from neev_provider.client import AsyncNeevCloudClient, ClientConfig

log = logging.getLogger(__name__)

#: A connection is read again after this many seconds when a new wait starts on it.
RECHECK_SECONDS = 60.0
# A client replaced by a newer one is closed after in-flight reads had time to finish.
_RETIRE_AFTER_SECONDS = 30.0

Key = tuple[str, str | None, str | None]


def batch_threshold() -> int:
    """``[neevcloud] poll_batch_threshold``: from how many due reads of a project its list is read."""
    value = conf.getint("neevcloud", "poll_batch_threshold", fallback=DEFAULT_BATCH_THRESHOLD)
    return max(1, int(value))


class ConnectionSetupError(Exception):
    """Raised by :meth:`SharedClients.lease` when the connection cannot be read or used."""


class SharedClient:
    """The client and batched reads that every wait on one connection and scope shares."""

    def __init__(self, key: Key) -> None:
        self.key = key
        self.users = 0
        self.client: AsyncNeevCloudClient | None = None
        self.reads: BatchedReads | None = None
        self._fingerprint = ""
        self._checked_at = 0.0
        self._swapped_at = 0.0  # monotonic time the client was last replaced
        self._build: asyncio.Task[None] | None = None
        self._recheck = asyncio.Lock()
        # Replaced clients still serving reads, each with the timer that will close it.
        self._retiring: dict[AsyncNeevCloudClient, asyncio.TimerHandle] = {}
        self._closers: set[asyncio.Future[None]] = set()

    async def ready(self) -> None:
        """Wait until the client is built (building it once), and fresh enough."""
        if self._build is None or (self._build.done() and self._build.exception() is not None):
            # A task of its own, with an empty log context: no one lease owns the build.
            self._build = contextvars.Context().run(asyncio.get_running_loop().create_task, self._create())
        try:
            await asyncio.shield(self._build)
        except Exception as error:
            raise ConnectionSetupError(str(error)) from error
        if time.monotonic() - self._checked_at > RECHECK_SECONDS:
            try:
                await self.renew()
            except ConnectionSetupError as error:
                # The client built from the last good reading still works: keep it.
                self._checked_at = time.monotonic()
                log.warning(
                    "Reading connection %r again failed; going on with the client as it was: %s",
                    self.key[0],
                    error,
                )

    async def renew(self, since: float | None = None) -> bool:
        """Read the connection again; swap the client if it changed. Return whether it did.

        :param since: when the caller's failed read was asked (``time.monotonic()``): a client
            replaced after that is new to the caller, so it is told to try it, without a new
            reading. Every wait of a batch meets the same 401; one reading serves them all.
        """
        async with self._recheck:
            if since is not None and self._swapped_at > since:
                return True
            try:
                config, fingerprint = await _read_connection(self.key)
                self._checked_at = time.monotonic()
                if fingerprint == self._fingerprint:
                    return False
                new = await _new_client(config)  # e.g. a CA bundle that cannot be loaded
            except Exception as error:
                raise ConnectionSetupError(str(error)) from error
            old, self.client = self.client, new
            self._fingerprint, self._swapped_at = fingerprint, time.monotonic()
            if old is not None:
                self._retire(old)
            return True

    async def close(self) -> None:
        """Close the client (once built, if it is being built) and any it replaced."""
        if self._build is not None:
            await asyncio.wait({self._build})  # built, failed or cancelled: whatever it left
        for timer in self._retiring.values():
            timer.cancel()
        clients = [c for c in (self.client, *self._retiring) if c is not None]
        self._retiring.clear()
        await asyncio.gather(*(client.aclose() for client in clients), *self._closers, return_exceptions=True)

    async def _create(self) -> None:
        config, self._fingerprint = await _read_connection(self.key)
        self._checked_at = time.monotonic()
        self.client = await _new_client(config)
        self.reads = BatchedReads(
            self._current, batch_threshold=batch_threshold(), max_pause=config.retry.max_retry_after
        )

    def _current(self) -> AsyncNeevCloudClient:
        assert self.client is not None  # reads exist only once the client is built
        return self.client

    def _retire(self, old: AsyncNeevCloudClient) -> None:
        """Keep ``old`` until in-flight reads are done, then close it."""

        def close_old() -> None:
            if self._retiring.pop(old, None) is not None:
                closer = asyncio.ensure_future(old.aclose())
                self._closers.add(closer)
                closer.add_done_callback(self._closers.discard)

        self._retiring[old] = asyncio.get_running_loop().call_later(_RETIRE_AFTER_SECONDS, close_old)


class SharedClients:
    """The shared clients of one event loop (see the module docstring)."""

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedClients] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._clients: dict[Key, SharedClient] = {}

    @classmethod
    def current(cls) -> SharedClients:
        """Return the shared clients of the running event loop (new ones after a fork)."""
        loop = asyncio.get_running_loop()
        found = cls._by_loop.get(loop)
        if found is None or found._pid != os.getpid():
            found = cls._by_loop[loop] = cls()
        return found

    @contextlib.asynccontextmanager
    async def lease(
        self, conn_id: str, org_id: str | None = None, project_id: str | None = None
    ) -> AsyncIterator[SharedClient]:
        """Use the shared client of a connection and scope for the duration of the block."""
        key: Key = (conn_id, org_id, project_id)
        shared = self._clients.get(key)
        if shared is None:
            shared = self._clients[key] = SharedClient(key)
        shared.users += 1  # before any await: a release meanwhile must not close it
        try:
            await shared.ready()
            yield shared
        finally:
            shared.users -= 1
            if shared.users == 0:
                if self._clients.get(key) is shared:
                    del self._clients[key]
                # Finished even if the trigger is cancelled meanwhile: no pool left half closed.
                await finish(asyncio.ensure_future(shared.close()))


async def _read_connection(key: Key) -> tuple[ClientConfig, str]:
    """Read the connection of ``key`` off the loop: its client configuration and fingerprint."""
    conn_id, org_id, project_id = key
    return await NeevCloudHook(conn_id, org_id=org_id, project_id=project_id).aget_config()


async def _new_client(config: ClientConfig) -> AsyncNeevCloudClient:
    """Build the client in a worker thread: its TLS context takes long enough to stall the loop."""
    from neev_provider.client import AsyncNeevCloudClient

    return await asyncio.to_thread(AsyncNeevCloudClient, config)
