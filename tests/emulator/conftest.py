"""Fixtures for the emulator tests: the plugin's server and a spec-checking API client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from neev_provider.emulator.server import EmulatorServer
from tests.emulator.emulator_client import ApiClient


@pytest.fixture(name="api")
def fixture_api(neev_emulator: EmulatorServer) -> Iterator[ApiClient]:
    """Return an authenticated client of a freshly reset emulator."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {neev_emulator.token}"
        yield ApiClient(neev_emulator, session)
