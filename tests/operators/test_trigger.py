"""NeevVolumeTrigger: JSON-safe kwargs without secrets, one event, an absolute deadline."""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from typing import Any

import pytest

from neev_provider.client import CreateVolumeRequest
from neev_provider.emulator import EmulatorServer
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.triggers import NeevVolumeTrigger
from tests.operators.conftest import POLL, calls, rebuild, run_trigger
from tests.support.contract import ContractMonitor


@pytest.fixture(name="volume_id")
def fixture_volume_id(emulator: EmulatorServer) -> str:
    return NeevCloudHook().client.create_volume(CreateVolumeRequest(size_gb=10, region_id="as-south-1")).id


def trigger(volume_id: str, **kwargs: Any) -> NeevVolumeTrigger:
    values: dict[str, Any] = {"target": "bound", "deadline": time.time() + 30, "poll_interval": POLL}
    values.update(kwargs)
    return NeevVolumeTrigger(volume_id=volume_id, **values)


def test_serialized_form_is_json_safe_and_secret_free(emulator: EmulatorServer, volume_id: str) -> None:
    original = trigger(volume_id, min_size_gb=20, org_id="org-x")
    classpath, kwargs = original.serialize()

    assert classpath == "neev_provider.triggers.volume.NeevVolumeTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert emulator.token not in json.dumps(kwargs)
    assert rebuild(original).serialize() == (classpath, kwargs)


@pytest.mark.parametrize(
    ("setup", "status"),
    [
        (lambda e, v: None, "success"),
        (lambda e, v: e.set_state(v, status="failed"), "failed"),
        (lambda e, v: e.set_state(v, status="pending"), "timeout"),
    ],
    ids=["success", "failed", "timeout"],
)
def test_exactly_one_event_per_outcome(
    emulator: EmulatorServer, volume_id: str, setup: Any, status: str
) -> None:
    setup(emulator, volume_id)

    events = run_trigger(trigger(volume_id, deadline=time.time() + 1))

    assert [e["status"] for e in events] == [status]
    assert events[0]["volume_id"] == volume_id
    assert events[0]["message"]


def test_a_deadline_in_the_past_survives_a_restart(emulator: EmulatorServer, volume_id: str) -> None:
    emulator.set_state(volume_id, status="pending")
    now = time.time()
    started = now - 600
    events = run_trigger(trigger(volume_id, started_at=started, deadline=started + 300))
    took = time.time() - now

    assert events[0]["status"] == "timeout"
    said = re.search(r"after (\d+) s", events[0]["message"])
    assert said is not None, events[0]["message"]
    assert 600 <= int(said[1]) <= 600 + math.ceil(took)  # the elapsed time, on a busy machine too
    assert calls(emulator, "getNetworkVolume") == 1  # looked once, then gave up


def test_a_bad_token_is_an_error_event(
    emulator: EmulatorServer, volume_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_NEEVCLOUD_DEFAULT", emulator.airflow_connection(password="pat-nc-wrong"))
    (event,) = run_trigger(trigger(volume_id))
    assert event["status"] == "error"
    assert "401" in event["message"]
    assert "pat-nc-wrong" not in event["message"]


def test_a_missing_connection_is_an_error_event(emulator: EmulatorServer, volume_id: str) -> None:
    (event,) = run_trigger(trigger(volume_id, neev_conn_id="no_such_connection"))
    assert event["status"] == "error"
    assert "no_such_connection" in event["message"]


def test_retry_after_is_honoured_in_the_triggerer(
    emulator: EmulatorServer, volume_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded_sleep(seconds: float, *args: Any) -> Any:
        waits.append(seconds)
        return await real_sleep(0)

    monkeypatch.setattr(asyncio, "sleep", recorded_sleep)
    emulator.inject("status", operation="getNetworkVolume", status=429, retry_after=7, times=1)
    emulator.advance(60)

    (event,) = run_trigger(trigger(volume_id))

    assert event["status"] == "success"
    assert 7 in waits


def test_transient_errors_do_not_end_the_wait(emulator: EmulatorServer, volume_id: str) -> None:
    emulator.inject("status", operation="getNetworkVolume", status=503, times=6)
    (event,) = run_trigger(trigger(volume_id))
    assert event["status"] == "success"
    assert calls(emulator, "getNetworkVolume") > 6


def test_the_event_carries_the_resume_state(emulator: EmulatorServer, volume_id: str) -> None:
    (event,) = run_trigger(trigger(volume_id, resume={"owned": True, "detach_started": 12.5}))
    assert event["resume"] == {"owned": True, "detach_started": 12.5}


@pytest.mark.parametrize(("delete_on_kill", "left"), [(True, 0), (False, 1)], ids=["owned", "not-owned"])
def test_on_kill_deletes_only_an_owned_volume(
    emulator: EmulatorServer,
    contract_monitor: ContractMonitor,
    volume_id: str,
    delete_on_kill: bool,
    left: int,
) -> None:
    emulator.set_state(volume_id, status="pending")  # held pending: the kill lands mid-wait
    rebuilt = rebuild(trigger(volume_id, delete_on_kill=delete_on_kill))
    read = contract_monitor.event_for(lambda exchange: exchange.operation == "getNetworkVolume")

    async def kill_while_waiting() -> None:
        # What the triggerer does when a user marks the deferred task failed: cancel run(), then on_kill().
        task = asyncio.ensure_future(rebuilt.run().__anext__())
        assert await asyncio.to_thread(read.wait, 30)  # the wait is under way
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await rebuilt.on_kill()

    asyncio.run(kill_while_waiting())
    assert len(emulator.volumes()) == left
