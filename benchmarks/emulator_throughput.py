"""How fast the emulator answers, and whether it holds its memory under faults.

The emulator runs in a child process; so does a baseline: a bare ASGI app on the same
uvicorn settings that answers with a fixed JSON volume, or a fixed page of 100, the most any Python
ASGI server can do on this machine. One keep-alive ``http.client`` connection drives both,
alternating in rounds, so the ratio compares them under the same conditions.

Figures printed: get-volume and list (limit 100, over 100 volumes) requests per second for
both and their ratio, and the emulator's resident memory after a warm-up that fills its
bounded request journal, then after 10,000 more requests with faults injected (20 % answered
503 or 429, 1 % of connections dropped).

Targets: >= 1,000 get-volume requests/s, and no memory growth after the warm-up (< 2 MiB).
"""

from __future__ import annotations

import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psutil

# The repository's root, for tests.support: the tests share these helpers with the benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.emulator_process import emulator_process

TOKEN = "benchmark-token"
ROUNDS = 5
PER_ROUND = 1000
ORG, PROJECT = "org-bench", "prj-bench"
BASE = f"/storage/api/v1beta1/orgs/{ORG}/projects/{PROJECT}/volumes"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}

BASELINE_APP = """
import json, sys, uvicorn
body = json.dumps({"id": "1d4f0a8e-5b7c-4e2a-9f3d-6c8b7a9e0f12", "name": "bench", "orgID": "org-bench",
    "projectID": "prj-bench", "regionID": "as-south-1", "sizeGB": 10, "volumeMode": "filesystem",
    "planID": "nv-standard-as-south-1", "status": "bound", "volumeAttachments": [],
    "createdAt": "2026-11-27T00:00:00Z", "updatedAt": "2026-11-27T00:00:00Z"}).encode()
volume = json.loads(body)
page = json.dumps({"volumes": [volume] * 100, "pagination": {"current_page": 1, "items_per_page": 100,
    "total_items": 100, "total_pages": 1}}).encode()
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": page if scope["query_string"] else body})
import socket
sock = socket.socket(); sock.bind(("127.0.0.1", 0)); sock.listen(128)
print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])
"""


@contextmanager
def baseline_process() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-c", BASELINE_APP], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


class Connection:
    """One keep-alive connection that reconnects after a dropped one."""

    def __init__(self, url: str) -> None:
        self.netloc = urlsplit(url).netloc
        self.conn = http.client.HTTPConnection(self.netloc, timeout=10)

    def request(self, method: str, path: str, body: dict[str, object] | None = None) -> tuple[int, bytes]:
        payload = json.dumps(body).encode() if body is not None else None
        headers = {**HEADERS, "Content-Type": "application/json"} if payload else HEADERS
        try:
            self.conn.request(method, path, body=payload, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (ConnectionError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.netloc, timeout=10)
            return 0, b""


def rate(call: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        call()
    return count / (time.perf_counter() - start)


def main() -> int:
    with emulator_process("--bind-delay", "0", token=TOKEN) as emulator, baseline_process() as baseline_url:
        api = Connection(emulator.url)
        base = Connection(baseline_url)
        volume_ids = []
        for index in range(100):
            status, body = api.request(
                "POST",
                BASE,
                {
                    "sizeGB": 10,
                    "regionID": "as-south-1",
                    "volumeMode": "filesystem",
                    "name": f"bench-{index}",
                },
            )
            assert status == 201, body
            volume_ids.append(json.loads(body)["id"])
        get_path = f"{BASE}/{volume_ids[0]}"
        list_path = f"{BASE}?limit=100"
        calls = {
            "get-volume": (lambda: api.request("GET", get_path), lambda: base.request("GET", get_path)),
            "list limit=100": (lambda: api.request("GET", list_path), lambda: base.request("GET", list_path)),
        }
        print(f"{'operation':<16}{'emulator req/s':>16}{'baseline req/s':>16}{'ratio':>8}")
        results = {}
        for name, (emulated, bare) in calls.items():
            rates_e, rates_b = [], []
            for _ in range(ROUNDS):
                rates_e.append(rate(emulated, PER_ROUND))
                rates_b.append(rate(bare, PER_ROUND))
            results[name] = statistics.median(rates_e)
            ratio = results[name] / statistics.median(rates_b)
            print(f"{name:<16}{results[name]:>16,.0f}{statistics.median(rates_b):>16,.0f}{ratio:>8.2f}")

        process = psutil.Process(emulator.pid)
        # Warm-up: fill the bounded request journal, so what follows measures steady state.
        for _ in range(10_000):
            api.request("GET", get_path)
        before = process.memory_info().rss
        emulator.inject("status", status=503, rate=0.1)
        emulator.inject("status", status=429, retry_after=1, rate=0.1)
        emulator.inject("drop", rate=0.01)
        statuses: dict[int, int] = {}
        for index in range(10_000):
            path = get_path if index % 2 else list_path
            status, _ = api.request("GET", path)
            statuses[status] = statuses.get(status, 0) + 1
        after = process.memory_info().rss
        growth = (after - before) / 2**20
        print(f"answers under faults: {dict(sorted(statuses.items()))} (0 = dropped connection)")
        print(
            f"emulator RSS: {before / 2**20:.1f} MiB after warm-up, {after / 2**20:.1f} MiB after "
            f"10,000 faulted requests (growth {growth:+.2f} MiB; target < 2 MiB)"
        )
    ok = results["get-volume"] >= 1000 and growth < 2
    print(
        f"get-volume target >= 1,000 req/s: {'met' if results['get-volume'] >= 1000 else 'MISSED'}; "
        f"memory: {'flat' if growth < 2 else 'GREW'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
