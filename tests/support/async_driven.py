"""The async client behind a synchronous face, so one test body exercises both clients."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from neev_provider.client import AsyncNeevCloudClient


class AsyncDriven:
    """Run an async client's methods to completion on a private loop."""

    def __init__(self, client: AsyncNeevCloudClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.config = client.config
        self._loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if inspect.isasyncgen(result):
                return self._loop.run_until_complete(_collect(result))
            return self._loop.run_until_complete(result)

        return run


async def _collect(items: Any) -> list[Any]:
    return [item async for item in items]


@contextmanager
def driven(client: AsyncNeevCloudClient) -> Iterator[AsyncDriven]:
    """Yield ``client`` driven on a new loop; close the client, then the loop as asyncio.run does.

    Closing the loop without ``shutdown_asyncgens`` would leave the HTTP stack's inner stream
    generators (a body abandoned past its cap) to be finalised by the collector after the loop is
    gone: an "Event loop is closed" unraisable in whatever test runs next.
    """
    loop = asyncio.new_event_loop()
    try:
        yield AsyncDriven(client, loop)
    finally:
        try:
            loop.run_until_complete(client.aclose())
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
