"""One async client, and one shared poller, per connection and scope, per event loop.

A triggerer runs up to a thousand triggers in one asyncio loop. Each trigger building its own
hook, connection lookup, HTTP client, TLS context and connection pool costs megabytes and tens
of milliseconds of blocked loop apiece, and a thousand independent retry clocks after a 429.
Instead, triggers :meth:`~ClientRegistry.lease` a :class:`SharedClient` here:

- one per ``(connection id, org override, project override)`` and event loop, reference-counted,
  closed when its last user leaves (never shared across loops or processes);
- the connection is read off the loop, once per connection, and read again when it is older
  than :data:`RECHECK_SECONDS` or the API refused the token; a changed connection (a rotated
  token, say) gets a new client, and waits already running switch to it at their next read;
- concurrent first leases of one connection wait for one lookup, not one each;
- cancellation-safe: a lease is returned whatever happens to the trigger.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from neev_provider._compat import conf
from neev_provider.client.polling import DEFAULT_BATCH_THRESHOLD, SharedPoller
from neev_provider.hooks.neevcloud import NeevCloudHook

if TYPE_CHECKING:
    from neev_provider.client.aio import AsyncNeevCloudClient
    from neev_provider.client.config import ClientConfig

#: A connection is read again after this many seconds when a new wait starts on it.
RECHECK_SECONDS = 60.0
# A client replaced by a newer one is closed after in-flight reads had time to finish.
_RETIRE_AFTER_SECONDS = 30.0

Key = tuple[str, str | None, str | None]


def batch_threshold() -> int:
    """``[neevcloud] poll_batch_threshold``: from how many due waits of a project its list is read."""
    value = conf.getint("neevcloud", "poll_batch_threshold", fallback=DEFAULT_BATCH_THRESHOLD)
    return max(1, int(value))


class ConnectionSetupError(Exception):
    """Raised by :meth:`ClientRegistry.lease` when the connection cannot be read or used."""


@dataclass(eq=False)
class SharedClient:
    """The client and poller that every wait on one connection and scope shares."""

    key: Key
    client: AsyncNeevCloudClient
    fingerprint: str
    checked_at: float
    users: int = 0
    poller: SharedPoller = field(init=False)
    # Clients replaced after a rotation, closed once in-flight reads had time to finish.
    retired: list[AsyncNeevCloudClient] = field(default_factory=list, repr=False)
    _closing: asyncio.Future[None] | None = field(default=None, repr=False)

    registry: ClientRegistry | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.poller = SharedPoller(
            lambda: self.client, on_unauthorized=self._renew, batch_threshold=batch_threshold()
        )

    async def close(self) -> None:
        """Close the client and any it replaced."""
        clients, self.retired = [self.client, *self.retired], []
        await asyncio.gather(*(client.aclose() for client in clients))

    def retire(self, old: AsyncNeevCloudClient) -> None:
        """Keep ``old`` until in-flight reads are done, then close it."""
        self.retired.append(old)

        def close_old() -> None:
            if old in self.retired:
                self.retired.remove(old)
                self._closing = asyncio.ensure_future(old.aclose())

        asyncio.get_running_loop().call_later(_RETIRE_AFTER_SECONDS, close_old)

    async def _renew(self) -> bool:
        """After a 401: read the connection again; return whether the client changed."""
        if self.registry is None:
            return False
        before = self.fingerprint
        await self.registry.refresh(self.key)
        return self.fingerprint != before


class ClientRegistry:
    """The shared clients of one event loop (see the module docstring)."""

    _registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ClientRegistry] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._clients: dict[Key, SharedClient] = {}
        self._locks: dict[Key, asyncio.Lock] = {}

    @classmethod
    def current(cls) -> ClientRegistry:
        """Return the registry of the running event loop (a new one after a fork)."""
        loop = asyncio.get_running_loop()
        registry = cls._registries.get(loop)
        if registry is None or registry._pid != os.getpid():
            registry = cls._registries[loop] = cls()
        return registry

    def __len__(self) -> int:
        return len(self._clients)

    @contextlib.asynccontextmanager
    async def lease(
        self, conn_id: str, org_id: str | None = None, project_id: str | None = None
    ) -> AsyncIterator[SharedClient]:
        """Use the shared client of a connection and scope for the duration of the block."""
        key: Key = (conn_id, org_id, project_id)
        shared = await self._acquire(key)
        try:
            yield shared
        finally:
            shared.users -= 1
            if shared.users <= 0 and self._clients.get(key) is shared:
                del self._clients[key]
                # Shielded: a cancelled trigger must not leave a pool half closed.
                await asyncio.shield(shared.close())

    async def refresh(self, key: Key) -> None:
        """Read the connection again now (after a 401, say); swap the client if it changed."""
        shared = self._clients.get(key)
        if shared is not None:
            shared.checked_at = float("-inf")
            async with self._lock(key):
                await self._recheck(shared)

    # -- internals -------------------------------------------------------------------------------

    def _lock(self, key: Key) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _acquire(self, key: Key) -> SharedClient:
        async with self._lock(key):
            shared = self._clients.get(key)
            try:
                if shared is None:
                    shared = await self._build(key)
                    self._clients[key] = shared
                elif time.monotonic() - shared.checked_at > RECHECK_SECONDS:
                    await self._recheck(shared)
            except Exception as error:
                raise ConnectionSetupError(str(error)) from error
            shared.users += 1
            return shared

    async def _build(self, key: Key) -> SharedClient:
        config, fingerprint = await _read_connection(key)
        return SharedClient(key, await _new_client(config), fingerprint, time.monotonic(), registry=self)

    async def _recheck(self, shared: SharedClient) -> None:
        config, fingerprint = await _read_connection(shared.key)
        shared.checked_at = time.monotonic()
        if fingerprint == shared.fingerprint:
            return
        old, shared.client, shared.fingerprint = shared.client, await _new_client(config), fingerprint
        shared.retire(old)


async def _read_connection(key: Key) -> tuple[ClientConfig, str]:
    """Read the connection of ``key`` off the loop: its client configuration and fingerprint."""
    conn_id, org_id, project_id = key
    return await NeevCloudHook(conn_id, org_id=org_id, project_id=project_id).aget_config()


async def _new_client(config: ClientConfig) -> AsyncNeevCloudClient:
    """Build the client in a worker thread: its TLS context takes long enough to stall the loop."""
    from neev_provider.client.aio import AsyncNeevCloudClient

    return await asyncio.to_thread(AsyncNeevCloudClient, config)
