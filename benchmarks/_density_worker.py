"""One measured process of ``triggerer_density.py``: N volume waits in one asyncio loop.

Run by the driver as ``python _density_worker.py MODE IDS_FILE POLL_INTERVAL DEADLINE``, with the
connection in ``AIRFLOW_CONN_NEEVCLOUD_DEFAULT``. MODE is ``shared`` (the provider's trigger:
shared client and batched poller) or ``baseline`` (what each trigger did before: its own hook,
connection lookup, HTTP client and GET loop, built from the same library pieces). It prints
:data:`STARTED` once every wait has read its volume once, and writes its measurements as JSON to
``IDS_FILE.result`` when every wait has ended.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
import time
from typing import Any

import psutil

from neev_provider.client import AsyncNeevCloudClient, NeevCloudError
from neev_provider.hooks.neevcloud import NeevCloudHook
from neev_provider.triggers import NeevVolumeTrigger
from neev_provider.volumes.wait import Target, VolumeWatch, WaitOutcome

LAG_TICK = 0.02
STARTED = "neev-density: every wait has read once"


class Probe:
    """What the run measures from inside: first reads, events, loop lag, CPU, memory, sockets."""

    def __init__(self, count: int, emulator_port: int) -> None:
        self.count = count
        self.port = emulator_port
        self.process = psutil.Process()
        self.first_read: dict[str, float] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.event_times: dict[str, float] = {}
        self.lags: list[float] = []
        self.max_tcp = 0
        self.all_started = asyncio.Event()
        observe, observe_error = VolumeWatch.observe, VolumeWatch.observe_error

        def first(watch: VolumeWatch) -> None:
            if watch.volume_id not in self.first_read:
                self.first_read[watch.volume_id] = time.process_time()
                if len(self.first_read) == self.count:
                    self.all_started.set()

        def counted_observe(watch: VolumeWatch, volume: Any) -> WaitOutcome | None:
            first(watch)
            return observe(watch, volume)

        def counted_error(watch: VolumeWatch, error: Any) -> WaitOutcome | None:
            first(watch)
            return observe_error(watch, error)

        # Instrumentation only: every wait, shared or not, reads through VolumeWatch.
        VolumeWatch.observe = counted_observe  # type: ignore[method-assign]
        VolumeWatch.observe_error = counted_error  # type: ignore[method-assign]

    def cpu(self) -> float:
        return time.process_time()

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def tcp(self) -> int:
        connections = self.process.net_connections(kind="tcp")
        return sum(1 for c in connections if c.raddr and c.raddr.port == self.port)

    async def watch_loop(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(LAG_TICK)
            self.lags.append(time.perf_counter() - started - LAG_TICK)
            if len(self.lags) % 25 == 0:
                self.max_tcp = max(self.max_tcp, self.tcp())

    def record(self, payload: dict[str, Any]) -> None:
        volume_id = str(payload["volume_id"])
        self.events.setdefault(volume_id, []).append(payload)
        self.event_times.setdefault(volume_id, time.time())


async def baseline_wait(volume_id: str, poll: float, deadline: float) -> dict[str, Any]:
    """The trigger before shared clients: its own hook, connection lookup, client, pool and GET loop."""
    config, _ = await NeevCloudHook().aget_config()
    async with AsyncNeevCloudClient(config) as client:
        watch = VolumeWatch(volume_id, Target.BOUND, deadline=deadline, poll_interval=poll)
        while True:
            try:
                outcome = watch.observe(await client.find_volume(volume_id))
            except NeevCloudError as error:
                outcome = watch.observe_error(error)
            if outcome is not None:
                return outcome.to_event()
            await asyncio.sleep(watch.next_delay())


async def shared_wait(volume_id: str, poll: float, deadline: float) -> dict[str, Any]:
    trigger = NeevVolumeTrigger(volume_id=volume_id, target="bound", deadline=deadline, poll_interval=poll)
    events = [event.payload async for event in trigger.run()]
    assert len(events) == 1
    return dict(events[0])


async def main(mode: str, ids: list[str], poll: float, deadline: float, port: int) -> dict[str, Any]:
    gc.collect()
    probe = Probe(len(ids), port)
    monitor = asyncio.ensure_future(probe.watch_loop())
    rss0, cpu0, wall0 = probe.rss(), probe.cpu(), time.monotonic()
    wait = shared_wait if mode == "shared" else baseline_wait

    async def one(volume_id: str) -> None:
        probe.record(await wait(volume_id, poll, deadline))

    tasks = [asyncio.ensure_future(one(volume_id)) for volume_id in ids]
    await probe.all_started.wait()
    cpu_started, start_seconds = probe.cpu(), time.monotonic() - wall0
    gc.collect()
    rss_started = probe.rss()
    print(STARTED, flush=True)
    steady_cpu0, steady_wall0 = probe.cpu(), time.monotonic()
    await asyncio.gather(*tasks)
    steady_cpu, steady_wall = probe.cpu() - steady_cpu0, time.monotonic() - steady_wall0
    monitor.cancel()
    lags = sorted(probe.lags) or [0.0]
    return {
        "mode": mode,
        "n": len(ids),
        "rss_growth_per_trigger": (rss_started - rss0) / len(ids),
        "cpu_ms_per_start": 1000 * (cpu_started - cpu0) / len(ids),
        "start_seconds": start_seconds,
        "cpu_ms_per_trigger_minute": 1000 * steady_cpu / (len(ids) * steady_wall / 60),
        "lag_p99_ms": 1000 * lags[int(0.99 * (len(lags) - 1))],
        "lag_max_ms": 1000 * lags[-1],
        "max_tcp": probe.max_tcp,
        "statuses": sorted({e[0]["status"] for e in probe.events.values()}),
        "events": sum(len(v) for v in probe.events.values()),
        "volumes_with_one_event": sum(1 for v in probe.events.values() if len(v) == 1),
        "event_times": probe.event_times,
    }


if __name__ == "__main__":
    mode_arg, ids_file, poll_arg, deadline_arg, port_arg = sys.argv[1:6]
    with open(ids_file) as handle:
        volume_ids = json.load(handle)
    result = asyncio.run(main(mode_arg, volume_ids, float(poll_arg), float(deadline_arg), int(port_arg)))
    with open(ids_file + ".result", "w") as handle:
        json.dump(result, handle)
