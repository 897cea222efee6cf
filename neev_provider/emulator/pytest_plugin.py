"""Pytest plugin: an emulator for the whole session, reset before every test.

Registered as a pytest11 entry point named after this module, so that it loads once
however it is asked for. Fixtures:

* ``neev_emulator_settings`` (session): the
  :class:`~neev_provider.emulator.settings.EmulatorSettings` to start with; override it in a
  ``conftest.py`` to change delays, token or regions.
* ``neev_emulator_server`` (session): the running :class:`~neev_provider.emulator.server.EmulatorServer`.
* ``neev_emulator`` (function): the same server, reset first, so each test starts empty.

FastAPI and uvicorn are imported only when a fixture is used, so installing the provider
without the ``emulator`` extra does not break unrelated test suites; using the fixture then
fails with a clear message. Loading the plugin twice (entry point plus an explicit
``-p``/``pytest_plugins``/conftest import) is harmless: it only defines fixtures.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from neev_provider.emulator.settings import EmulatorSettings

if TYPE_CHECKING:
    from neev_provider.emulator.server import EmulatorServer


def _server_class() -> type[EmulatorServer]:
    try:
        from neev_provider.emulator.server import EmulatorServer
    except ImportError as exc:
        pytest.fail(
            "the neev_emulator fixture needs the emulator extra: "
            f"pip install 'airflow-provider-neevcloud[emulator]' ({exc})",
            pytrace=False,
        )
    return EmulatorServer


@pytest.fixture(scope="session", name="neev_emulator_settings")
def fixture_neev_emulator_settings() -> EmulatorSettings:
    """Return the settings the session's emulator starts with."""
    return EmulatorSettings()


@pytest.fixture(scope="session", name="neev_emulator_server")
def fixture_neev_emulator_server(neev_emulator_settings: EmulatorSettings) -> Iterator[EmulatorServer]:
    """Run one emulator for the whole session."""
    with _server_class()(neev_emulator_settings) as server:
        yield server


@pytest.fixture(name="neev_emulator")
def fixture_neev_emulator(neev_emulator_server: EmulatorServer) -> EmulatorServer:
    """Return the session's emulator, reset so the test starts from a clean slate."""
    neev_emulator_server.reset()
    return neev_emulator_server
