"""What the client costs on top of the HTTP library, and next to Airflow's HttpHook.

2,000 get-volume calls each for three callers, interleaved in rounds in one run against
the emulator (in a child process): this provider's ``NeevCloudClient``, a bare
``requests.Session`` loop that does the least a correct caller must (auth header, status
check, JSON decode), and ``HttpHook.run`` from apache-airflow-providers-http on an ``http``
connection to the same URL. Prints the per-call times and two ratios, and for information a
third: against a bare loop that, like the client, skips requests' per-call environment lookups.

Targets: client / bare <= 1.15, and client / HttpHook < 1.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The repository's root, for tests.support: the tests share these helpers with the benchmarks.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.emulator_process import emulator_process

CALLS = 2000
ROUNDS = 20
ORG, PROJECT = "org-bench", "prj-bench"


def main() -> int:
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="neev-bench-"))
    import requests
    from airflow.providers.http.hooks.http import HttpHook

    from neev_provider.client import ClientConfig, CreateVolumeRequest, NeevCloudClient, TokenAuth

    with emulator_process() as emulator:
        config = ClientConfig(
            org_id=ORG, project_id=PROJECT, auth=TokenAuth(emulator.token), host=emulator.url
        )
        client = NeevCloudClient(config)
        volume = client.create_volume(CreateVolumeRequest(size_gb=10, region_id="as-south-1", name="bench"))
        path = f"/storage/api/v1beta1/orgs/{ORG}/projects/{PROJECT}/volumes/{volume.id}"

        session = requests.Session()
        headers = {"Authorization": f"Bearer {emulator.token}", "Accept": "application/json"}

        def bare() -> None:
            response = session.get(emulator.url + path, headers=headers, timeout=30)
            response.raise_for_status()
            response.json()

        # The client reads proxy settings once instead of on every call (requests' trust_env);
        # this loop does the same, to show what the client's own layers cost.
        lean_session = requests.Session()
        lean_session.trust_env = False

        def bare_lean() -> None:
            response = lean_session.get(emulator.url + path, headers=headers, timeout=30)
            response.raise_for_status()
            response.json()

        os.environ["AIRFLOW_CONN_BENCH_HTTP"] = json.dumps({"conn_type": "http", "host": emulator.url})
        hook = HttpHook(method="GET", http_conn_id="bench_http")

        def http_hook() -> None:
            hook.run(path, headers=headers).json()

        callers: dict[str, Callable[[], object]] = {
            "client": lambda: client.get_volume(volume.id),
            "bare": bare,
            "bare_lean": bare_lean,
            "httphook": http_hook,
        }
        for call in callers.values():  # warm up connections, caches and imports
            for _ in range(50):
                call()
        per_round = CALLS // ROUNDS
        samples: dict[str, list[float]] = {name: [] for name in callers}
        for _ in range(ROUNDS):
            for name, call in callers.items():
                start = time.perf_counter()
                for _ in range(per_round):
                    call()
                samples[name].append((time.perf_counter() - start) / per_round)
        client.close()

    # The median of the rounds resists the odd hiccup of a shared machine.
    per_call = {name: statistics.median(values) for name, values in samples.items()}
    for name, seconds in per_call.items():
        print(f"{name:>9}: {seconds * 1e6:8.1f} µs per get-volume ({CALLS} calls in {ROUNDS} rounds)")
    vs_bare = per_call["client"] / per_call["bare"]
    vs_hook = per_call["client"] / per_call["httphook"]
    print(f"client / bare requests loop = {vs_bare:.3f}  (target <= 1.15)")
    print(f"client / HttpHook.run       = {vs_hook:.3f}  (target < 1)")
    lean = per_call["client"] / per_call["bare_lean"]
    print(f"client / bare loop without per-call environment lookups = {lean:.3f}  (for information)")
    return 0 if vs_bare <= 1.15 and vs_hook < 1 else 1


if __name__ == "__main__":
    sys.exit(main())
