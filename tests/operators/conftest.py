"""Fixtures for the operator, sensor and trigger tests.

Operators run against the emulator over real HTTP. What is faked is Airflow's plumbing
only: a task instance that records XComs, and the deferral round trip (the trigger is
rebuilt from its serialized form and run to its event, as the triggerer would).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

import pytest

from neev_provider._compat import BaseTrigger, TaskDeferred
from neev_provider.emulator import EmulatorServer

FAST = {"bind_delay": 0.2, "resize_delay": 0.2}
POLL = 0.05


@dataclass
class FakeTaskInstance:
    """The part of a task instance the operators use: ids and XCom."""

    dag_id: str = "ml_training"
    task_id: str = "create_volume"
    run_id: str = "manual__2026-11-27T00:00:00+00:00"
    map_index: int = -1
    try_number: int = 1
    xcoms: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[key] = value

    def get_first_reschedule_date(self, context: Any) -> None:
        """Airflow 3's reschedule-mode sensors ask when the first try began: never rescheduled yet."""
        return None


#: The suites run under every API dialect the emulator speaks: what the spec allows, the
#: provider must hold against (wording, list order, extra fields, HTML gateway pages).
CORE_SUITES = frozenset(
    f"tests.operators.{name}"
    for name in ("test_create", "test_delete", "test_extend", "test_sensor", "test_trigger")
)
DIALECTS = ("native", "generic", "newest-first", "shifting", "extra-fields", "html-errors")
#: Foreign volumes the ``shifting`` dialect moves while a list is paged (two pages' worth).
SHIFTING_VOLUMES = 110


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the core suites once per dialect (``NEEV_TEST_DIALECTS``, comma-separated, narrows it:
    the matrix's cells run the native one, since a dialect is the API's, not Airflow's)."""
    if metafunc.module.__name__ in CORE_SUITES and "dialect" in metafunc.fixturenames:
        chosen = os.environ.get("NEEV_TEST_DIALECTS", "").split(",")
        dialects = [name for name in DIALECTS if name in chosen] or list(DIALECTS)
        metafunc.parametrize("dialect", dialects, indirect=True)


@pytest.fixture(name="dialect")
def fixture_dialect(request: pytest.FixtureRequest) -> str:
    """The API dialect the emulator answers in (``native`` outside the core suites)."""
    return str(getattr(request, "param", "native"))


@pytest.fixture(name="emulator")
def fixture_emulator(
    neev_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch, dialect: str
) -> EmulatorServer:
    """The emulator with short lifecycle delays, and the default connection pointing at it."""
    neev_emulator.configure(**FAST, dialect=dialect)
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", neev_emulator.airflow_connection())
    if dialect == "shifting":
        _seed_shifting_volumes(neev_emulator)
        return _WithoutShiftingVolumes(neev_emulator)  # type: ignore[return-value]
    return neev_emulator


class _WithoutShiftingVolumes:
    """The emulator, whose ``volumes()`` leaves out the foreign volumes the dialect keeps moving."""

    def __init__(self, emulator: EmulatorServer) -> None:
        self._emulator = emulator

    def __getattr__(self, name: str) -> Any:
        return getattr(self._emulator, name)

    def volumes(self) -> list[dict[str, Any]]:
        return [v for v in self._emulator.volumes() if not v["name"].startswith("shift-")]


def _seed_shifting_volumes(emulator: EmulatorServer) -> None:
    from neev_provider.client import ClientConfig, CreateVolumeRequest, NeevCloudClient, TokenAuth

    config = ClientConfig(
        org_id=emulator.org_id,
        project_id=emulator.project_id,
        auth=TokenAuth(emulator.token),
        host=emulator.url,
    )
    with NeevCloudClient(config) as client:
        for index in range(SHIFTING_VOLUMES):
            client.create_volume(
                CreateVolumeRequest(size_gb=1, region_id="as-south-1", name=f"shift-{index:03d}")
            )
    emulator.clear_requests()


@pytest.fixture(name="ti")
def fixture_ti() -> FakeTaskInstance:
    return FakeTaskInstance()


@pytest.fixture(name="context")
def fixture_context(ti: FakeTaskInstance) -> dict[str, Any]:
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id}


def rebuild(trigger: BaseTrigger) -> BaseTrigger:
    """Rebuild a trigger from its serialized form, checking that form is JSON-safe."""
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt: BaseTrigger = getattr(import_module(module), name)(**json.loads(json.dumps(kwargs)))
    return rebuilt


async def _events(trigger: BaseTrigger) -> list[Any]:
    stream: AsyncIterator[Any] = trigger.run()
    return [event async for event in stream]


def run_trigger(trigger: BaseTrigger) -> list[dict[str, Any]]:
    """Run a trigger to completion, as the triggerer would; return its events' payloads."""
    return [event.payload for event in asyncio.run(_events(rebuild(trigger)))]


def resume(operator: Any, deferred: TaskDeferred, context: dict[str, Any]) -> Any:
    """Run the deferred trigger and call the operator back with its single event."""
    (event,) = run_trigger(deferred.trigger)
    return getattr(operator, deferred.method_name)(context, event=event, **(deferred.kwargs or {}))


def run_deferrable(operator: Any, context: dict[str, Any], *, max_deferrals: int = 5) -> Any:
    """Execute an operator, following every deferral through its trigger, until it returns."""
    step = lambda: operator.execute(context)  # noqa: E731
    for _ in range(max_deferrals):
        try:
            return step()
        except TaskDeferred as deferred:
            step = lambda deferred=deferred: resume(operator, deferred, context)  # noqa: E731
    raise AssertionError(f"still deferring after {max_deferrals} deferrals")


def calls(server: EmulatorServer, operation: str) -> int:
    """How many requests of one operation the emulator received."""
    return sum(1 for r in server.requests() if r["operation"] == operation)
