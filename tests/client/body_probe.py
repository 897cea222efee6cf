"""One read of a hostile body in a fresh process, measured: run by ``test_bounded_bodies.py``.

``python -m tests.client.body_probe KIND URL`` reads volume :data:`VID` from ``URL`` with the
sync client, the async client or a deferred wait (KIND ``sync``, ``async``, ``trigger``), and
prints one JSON line: the peak RSS growth (MiB), the longest event-loop stall (s, async kinds),
and how it ended (the error's type and message).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from typing import Any

VID = "3f2b6c1e-8a4d-4f7e-9c1b-2d5e6f7a8b9c"
TOKEN = "pat-nc-body-probe"


def _config(url: str) -> Any:
    from neev_provider.client import ClientConfig, RetryPolicy, TokenAuth

    return ClientConfig(
        org_id="o",
        project_id="p",
        auth=TokenAuth(TOKEN),
        host=url,
        timeout=20,
        retry=RetryPolicy(max_retries=0),
    )


async def _ticking(work: Any) -> tuple[Any, float]:
    """Run ``work`` while a ticker measures the longest stall of the loop."""
    longest, last = 0.0, time.perf_counter()

    async def tick() -> None:
        nonlocal longest, last
        while True:
            last = time.perf_counter()
            await asyncio.sleep(0.01)
            longest = max(longest, time.perf_counter() - last - 0.01)

    ticker = asyncio.ensure_future(tick())
    await asyncio.sleep(0)  # the ticker takes its first time before the work can block the loop
    try:
        result = await work
        # The stall the work may have ended with, which the ticker has not woken to see yet.
        return result, max(longest, time.perf_counter() - last - 0.01)
    finally:
        ticker.cancel()


def main(kind: str, url: str) -> dict[str, Any]:
    from neev_provider.client import AsyncNeevCloudClient, NeevCloudClient

    # Everything the read needs is imported and warmed up first, so that only the read is measured.
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    stall, outcome = 0.0, {}
    try:
        if kind == "sync":
            with NeevCloudClient(_config(url)) as client:
                client.get_volume(VID)
        elif kind == "async":

            async def read() -> None:
                async with AsyncNeevCloudClient(_config(url)) as client:
                    await client.get_volume(VID)

            _, stall = asyncio.run(_ticking(read()))
        else:
            event, stall = asyncio.run(_ticking(_trigger(url)))
            outcome = {"error": event["status"], "message": event["message"]}
    except Exception as error:
        outcome = {"error": type(error).__name__, "message": str(error)}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"rss_growth_mib": (peak - start) / 1024, "stall_s": stall, **outcome}


async def _trigger(url: str) -> dict[str, Any]:
    from neev_provider.emulator import airflow_connection
    from neev_provider.triggers import NeevVolumeTrigger

    os.environ["AIRFLOW_CONN_NEEVCLOUD_DEFAULT"] = airflow_connection(
        url, TOKEN, org_id="o", project_id="p", timeout=20, max_retries=0
    )
    trigger = NeevVolumeTrigger(volume_id=VID, target="bound", deadline=time.time() + 10, poll_interval=1)
    (event,) = [event.payload async for event in trigger.run()]
    return dict(event)


if __name__ == "__main__":
    import neev_provider.client
    import neev_provider.triggers  # noqa: F401

    print(json.dumps(main(sys.argv[1], sys.argv[2])))
