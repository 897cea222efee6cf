"""What a thousand deferred waits cost one triggerer: shared clients and batched reads vs a client each.

For each N (100, 500, 1,000, 2,000) the same workload runs twice, side by side in one run:
``shared`` is the provider's trigger (one client and one poll loop per connection), ``baseline``
is the trigger as it was (each trigger its own hook, connection lookup, HTTP client and GET loop,
built from the same library pieces). Each run is a fresh process (``_density_worker.py``) holding
N waits in one asyncio loop, as Airflow's triggerer does, against the emulator in another process.
The driver creates N pending volumes, waits until every wait has read once, then binds the
volumes in waves over ``--bind-window`` seconds, and counts the API calls from the emulator.

Printed per N and mode: RSS growth per trigger, CPU ms per trigger start and per trigger-minute,
loop lag p99, TCP connections held, API calls per volume per minute, bind-to-event latency p50 and
p99, and events delivered (must equal N, each exactly once); then the shared/baseline ratios. A
last pair of runs repeats N=1,000, shared and baseline, with 10 % of reads answered 503 and a burst
of 429s, once as a rate limiter sends them (every request for 5 s) and once counted (the next 20
requests, however long the client waits between them).

Usage: ``python benchmarks/triggerer_density.py [--sizes 100 500 1000 2000] [--poll 10]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The repository's root, for tests.support: the tests share these helpers with the benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _density_worker import STARTED

from tests.support.emulator_process import EmulatorProcess, emulator_process

HERE = Path(__file__).resolve().parent
READS = ("getNetworkVolume", "listNetworkVolumes")


class JournalTally:
    """A count of the API requests the emulator journals, by operation."""

    def __init__(self, emulator: EmulatorProcess) -> None:
        self.emulator = emulator
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def drain_journal(self) -> None:
        """Count and clear the journal (it keeps only the last 10,000 requests)."""
        with self._lock:
            entries = self.emulator.requests()
            self.emulator.clear_requests()
            self.calls.update(entry["operation"] for entry in entries)


def make_volumes(emulator: EmulatorProcess, count: int) -> list[str]:
    from neev_provider.client import ClientConfig, CreateVolumeRequest, NeevCloudClient, TokenAuth

    emulator.reset()
    emulator.configure(bind_delay=86400)
    config = ClientConfig(
        org_id="org-emulator", project_id="prj-emulator", auth=TokenAuth(emulator.token), host=emulator.url
    )
    with NeevCloudClient(config) as client:
        request = CreateVolumeRequest(size_gb=10, region_id="as-south-1")
        ids = [client.create_volume(request).id for _ in range(count)]
    emulator.clear_requests()
    return ids


def _drain(worker: subprocess.Popen[str], started: threading.Event) -> None:
    assert worker.stdout is not None
    for line in worker.stdout:
        if line.strip() == STARTED:
            started.set()
    started.set()  # the worker ended early: let the driver go on and fail on its result


def bind_in_waves(
    emulator: EmulatorProcess, tally: JournalTally, ids: list[str], window: float, waves: int = 20
) -> dict[str, float]:
    """Bind the volumes in ``waves`` groups spread over ``window`` seconds; return each bind time."""
    bound: dict[str, float] = {}
    per_wave = math.ceil(len(ids) / waves)
    started = time.monotonic()
    for wave in range(waves):
        time.sleep(max(0.0, started + wave * window / waves - time.monotonic()))
        for volume_id in ids[wave * per_wave : (wave + 1) * per_wave]:
            emulator.set_state(volume_id, status="bound")
            bound[volume_id] = time.time()
        tally.drain_journal()
    return bound


READ_FAULTS: dict[str, Any] = {"kind": "status", "status": 503, "method": "GET", "rate": 0.1}
BURST_SECONDS = 5.0
BURST_COUNT = 20


def rate_limit_window(emulator: EmulatorProcess) -> None:
    """Answer every request 429 (``Retry-After: 2``) for a few seconds, as a tripped rate limiter does."""
    emulator.inject("status", status=429, retry_after=2, rate=1.0)
    time.sleep(BURST_SECONDS)
    emulator.clear_faults()
    emulator.inject(**READ_FAULTS)


def rate_limit_count(emulator: EmulatorProcess) -> None:
    """Answer the next requests 429 (``Retry-After: 2``) however long the client waits between them."""
    emulator.inject("status", status=429, retry_after=2, times=BURST_COUNT)


#: The faulty runs: 10 % of reads answered 503 throughout, and one burst of 429s halfway.
FAULT_PLANS: dict[str, Callable[[EmulatorProcess], None]] = {
    f"10 % 503s, every request 429 for {BURST_SECONDS:g} s": rate_limit_window,
    f"10 % 503s, the next {BURST_COUNT} requests 429": rate_limit_count,
}


def run_one(
    emulator: EmulatorProcess, mode: str, count: int, args: argparse.Namespace, faults: str | None = None
) -> dict[str, Any]:
    tally = JournalTally(emulator)
    ids = make_volumes(emulator, count)
    if faults:
        emulator.inject(**READ_FAULTS)
    with tempfile.TemporaryDirectory(prefix="neev-density-") as tmp:
        ids_file = Path(tmp) / "ids.json"
        ids_file.write_text(json.dumps(ids))
        env = {
            **os.environ,
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW_CONN_NEEVCLOUD_DEFAULT": emulator.airflow_connection(),
        }
        deadline = time.time() + 600
        port = int(emulator.url.rsplit(":", 1)[1])
        command = [
            sys.executable,
            str(HERE / "_density_worker.py"),
            mode,
            str(ids_file),
            str(args.poll),
            str(deadline),
            str(port),
        ]
        worker = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        started = threading.Event()
        # The worker logs a line per wait and state: read its output all along, or a full pipe
        # would block its event loop and the measurement with it.
        threading.Thread(target=_drain, args=(worker, started), daemon=True).start()
        started.wait()
        tally.drain_journal()
        tally.calls.clear()
        steady_started = time.monotonic()
        if faults:
            threading.Timer(args.bind_window / 2, FAULT_PLANS[faults], args=(emulator,)).start()
        bound = bind_in_waves(emulator, tally, ids, args.bind_window)
        worker.wait(timeout=600)
        result: dict[str, Any] = json.loads(Path(f"{ids_file}.result").read_text())
        tally.drain_journal()
        minutes = (time.monotonic() - steady_started) / 60
    latencies = sorted(result["event_times"][vid] - bound[vid] for vid in ids if vid in result["event_times"])
    result["calls_per_volume_minute"] = sum(tally.calls[op] for op in READS) / count / minutes
    result["lists"], result["gets"] = tally.calls["listNetworkVolumes"], tally.calls["getNetworkVolume"]
    result["latency_p50"] = statistics.median(latencies) if latencies else float("nan")
    result["latency_p99"] = latencies[int(0.99 * (len(latencies) - 1))] if latencies else float("nan")
    return result


ROWS = [
    ("RSS growth per trigger (KiB)", lambda r: r["rss_growth_per_trigger"] / 1024, "{:.1f}"),
    ("CPU per trigger start (ms)", lambda r: r["cpu_ms_per_start"], "{:.2f}"),
    ("CPU per trigger-minute (ms)", lambda r: r["cpu_ms_per_trigger_minute"], "{:.2f}"),
    ("loop lag p99 (ms)", lambda r: r["lag_p99_ms"], "{:.1f}"),
    ("TCP connections held (max)", lambda r: r["max_tcp"], "{:d}"),
    ("API calls per volume per minute", lambda r: r["calls_per_volume_minute"], "{:.2f}"),
    ("bind-to-event latency p50 (s)", lambda r: r["latency_p50"], "{:.2f}"),
    ("bind-to-event latency p99 (s)", lambda r: r["latency_p99"], "{:.2f}"),
    ("events delivered / exactly once", lambda r: f"{r['events']} / {r['volumes_with_one_event']}", "{}"),
]


def table(results: list[tuple[int, dict[str, Any], dict[str, Any]]], poll: float) -> str:
    lines = [f"{'N':>6}  {'figure':<34} {'shared':>12} {'baseline':>12} {'shared/baseline':>16}"]
    for count, shared, baseline in results:
        for name, get, fmt in ROWS:
            s_value, b_value = get(shared), get(baseline)
            ratio = f"{s_value / b_value:.3f}" if isinstance(s_value, float | int) and b_value else ""
            lines.append(
                f"{count:>6}  {name:<34} {fmt.format(s_value):>12} {fmt.format(b_value):>12} {ratio:>16}"
            )
        calls_per_poll = shared["calls_per_volume_minute"] * count * poll / 60
        goal = math.ceil(count / 100) + 5
        name = "API calls per poll interval (shared)"
        lines.append(f"{count:>6}  {name:<34} {calls_per_poll:>12.1f}   goal <= ceil(N/100) + 5 = {goal}")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000, 2000])
    parser.add_argument("--poll", type=float, default=10.0, help="each wait's poll interval (s)")
    parser.add_argument("--bind-window", type=float, default=30.0, help="seconds over which volumes bind")
    parser.add_argument("--no-faults", action="store_true", help="skip the run with 503s and a 429 burst")
    args = parser.parse_args()
    results = []
    with emulator_process("--bind-delay", "86400") as emulator:
        for count in args.sizes:
            shared = run_one(emulator, "shared", count, args)
            baseline = run_one(emulator, "baseline", count, args)
            results.append((count, shared, baseline))
            print(f"N={count}: done", file=sys.stderr, flush=True)
        faulty = []
        for plan in [] if args.no_faults else FAULT_PLANS:
            shared, baseline = (run_one(emulator, mode, 1000, args, plan) for mode in ("shared", "baseline"))
            faulty.append((plan, shared, baseline))
    print(
        f"Triggerer density: N waits in one asyncio loop, poll interval {args.poll:g} s, "
        f"volumes binding over {args.bind_window:g} s\n"
    )
    print(table(results, args.poll))
    for plan, shared, baseline in faulty:
        print(f"N=1000 under faults ({plan}, Retry-After 2 s):")
        for mode, result in (("shared", shared), ("baseline", baseline)):
            print(
                f"  {mode:<8} events {result['events']} / exactly once {result['volumes_with_one_event']}, "
                f"latency p50 {result['latency_p50']:.2f} s p99 {result['latency_p99']:.2f} s, "
                f"loop lag p99 {result['lag_p99_ms']:.1f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
