"""Fixtures for the client tests: both clients, pointed at the emulator, behind one face.

Every behaviour test takes ``api``, which is parametrised over the sync client and the
async client (driven on an event loop of its own), so both are held to the same checks.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from neev_provider.client import AsyncNeevCloudClient, ClientConfig, NeevCloudClient, RetryPolicy, TokenAuth
from neev_provider.emulator import EmulatorServer


async def _collect(items: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in items]


class AsyncDriven:
    """Run an async client's methods to completion on a private loop, so tests read alike."""

    def __init__(self, client: AsyncNeevCloudClient, loop: asyncio.AbstractEventLoop) -> None:
        self.client = client
        self.config = client.config
        self._loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.client, name)

        def run(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if inspect.isasyncgen(result):
                return iter(self._loop.run_until_complete(_collect(result)))
            return self._loop.run_until_complete(result)

        return run


@pytest.fixture(name="sleeps")
def fixture_sleeps() -> list[float]:
    """The waits the retry policy asked for, recorded instead of slept."""
    return []


def make_config(server: EmulatorServer, **overrides: Any) -> ClientConfig:
    """Return a client configuration for the emulator, with deterministic retry waits."""
    values: dict[str, Any] = {
        "org_id": server.org_id,
        "project_id": server.project_id,
        "auth": TokenAuth(server.token),
        "host": server.url,
        "timeout": 5.0,
        "retry": RetryPolicy(jitter=lambda: 1.0),
    }
    values.update(overrides)
    return ClientConfig(**values)


def make_api(kind: str, config: ClientConfig, sleeps: list[float]) -> Iterator[Any]:
    """Yield a client of ``kind`` ("sync" or "async") that records its retry waits."""
    if kind == "sync":
        with NeevCloudClient(config, sleep=sleeps.append) as client:
            yield client
        return

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    loop = asyncio.new_event_loop()
    client = AsyncNeevCloudClient(config, sleep=record)
    try:
        yield AsyncDriven(client, loop)
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


@pytest.fixture(name="api", params=["sync", "async"])
def fixture_api(
    request: pytest.FixtureRequest, neev_emulator: EmulatorServer, sleeps: list[float]
) -> Iterator[Any]:
    """A sync or an async client on the emulator, with the static token."""
    yield from make_api(request.param, make_config(neev_emulator), sleeps)


@pytest.fixture(name="api_kind", params=["sync", "async"])
def fixture_api_kind(request: pytest.FixtureRequest) -> str:
    """Which client a test that builds its own configuration should use."""
    return str(request.param)
