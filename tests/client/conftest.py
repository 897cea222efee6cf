"""Fixtures for the client tests: both clients, pointed at the emulator, behind one face.

Every behaviour test takes ``api``, which is parametrised over the sync client and the
async client (driven on an event loop of its own), so both are held to the same checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from neev_provider.client import AsyncNeevCloudClient, ClientConfig, NeevCloudClient, RetryPolicy, TokenAuth
from neev_provider.emulator import EmulatorServer
from tests.support.async_driven import driven


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

    with driven(AsyncNeevCloudClient(config, sleep=record)) as api:
        yield api


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
