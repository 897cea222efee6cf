"""Pytest plugin: an emulator for the whole session, reset before every test.

Registered as a pytest11 entry point named after this module, so that it loads once
however it is asked for. Fixtures:

* ``neev_emulator_settings`` (session): the
  :class:`~neev_provider.emulator.settings.EmulatorSettings` to start with; override it in a
  ``conftest.py`` to change delays, token, regions or dialect. By default its dialect comes from
  the command-line option ``--neev-emulator-dialect`` (e.g. ``generic,newest-first``), so that a
  whole suite can be run again against another spec-valid API behaviour without editing it.
* ``neev_emulator_server`` (session): the running :class:`~neev_provider.emulator.server.EmulatorServer`.
* ``neev_emulator`` (function): the same server, reset first, so each test starts empty.

FastAPI and uvicorn are imported only when a fixture is used, so installing the provider
without the ``emulator`` extra does not break unrelated test suites; using the fixture then
fails with a clear message. Loading the plugin twice (entry point plus an explicit
``-p``/``pytest_plugins``/conftest import) is harmless: it only defines fixtures.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from neev_provider.emulator.dialects import DIALECTS, NATIVE, dialect_names
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


DIALECT_OPTION = "--neev-emulator-dialect"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--neev-emulator-dialect``: the API dialect of the session's emulator."""
    # A conftest that also imports this module's names would add the option a second time.
    with contextlib.suppress(ValueError):
        parser.getgroup("neev_emulator", "NeevCloud emulator").addoption(
            DIALECT_OPTION,
            default=NATIVE,
            metavar="NAMES",
            help=f"API dialect(s) of the neev_emulator fixture, comma-separated: {', '.join(DIALECTS)}",
        )


@pytest.fixture(scope="session", name="neev_emulator_settings")
def fixture_neev_emulator_settings(pytestconfig: pytest.Config) -> EmulatorSettings:
    """Return the settings the session's emulator starts with (dialect from the command line)."""
    chosen = str(pytestconfig.getoption(DIALECT_OPTION, default=NATIVE))
    try:
        return EmulatorSettings(dialect=dialect_names(chosen))
    except ValueError as exc:
        raise pytest.UsageError(f"{DIALECT_OPTION}: {exc}") from None


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
